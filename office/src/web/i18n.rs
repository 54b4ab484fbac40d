//! The dashboard's words in Chinese (the default) and English. A page asks `tr.t("key")`; a key missing
//! from the table shows itself, so a forgotten label is visible rather than blank.

/// The language a page is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "zh" | "zh-CN" | "zh-Hans" => Some(Lang::Zh),
            "en" | "en-US" | "en-GB" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// Labels in one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        match LABELS.iter().find(|(name, _, _)| *name == key) {
            Some((_, zh, en)) => match self.lang {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => "⟨missing label⟩",
        }
    }

    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }

    /// A problem type's name in this language (its code when the catalogue does not know it).
    pub fn problem(&self, catalogue: &rectify_core::domain::category::Catalogue, code: &str) -> String {
        match catalogue.problem_type(code) {
            Ok((_, problem)) if self.is_en() => problem.en.clone(),
            Ok((_, problem)) => problem.zh.clone(),
            Err(_) => code.to_string(),
        }
    }

    /// A status in this language.
    pub fn status(&self, status: &rectify_core::domain::issue::Status) -> &'static str {
        let status = *status;
        match self.lang {
            Lang::Zh => status.zh(),
            Lang::En => match status {
                rectify_core::domain::issue::Status::Reported => "reported",
                rectify_core::domain::issue::Status::Assigned => "being fixed",
                rectify_core::domain::issue::Status::StrikeOffRequested => "awaiting acceptance",
                rectify_core::domain::issue::Status::Rejected => "rejected, rework",
                rectify_core::domain::issue::Status::Accepted => "accepted",
                rectify_core::domain::issue::Status::Withdrawn => "withdrawn",
            },
        }
    }

    /// An evidence flag, described in this language.
    pub fn flag(&self, flag: &rectify_core::domain::evidence::EvidenceFlag) -> String {
        match self.lang {
            Lang::Zh => flag.describe_zh(),
            Lang::En => flag.describe(),
        }
    }

    /// An escalation's action in this language.
    pub fn action(&self, zh: &str, action: &rectify_core::score::Action) -> String {
        match self.lang {
            Lang::Zh => zh.to_string(),
            Lang::En => format!("{action:?}").chars().fold(String::new(), |mut out, c| {
                if c.is_uppercase() && !out.is_empty() {
                    out.push(' ');
                }
                out.push(c.to_ascii_lowercase());
                out
            }),
        }
    }

    /// A role in this language.
    pub fn role(&self, role: rectify_core::domain::role::Role) -> &'static str {
        match self.lang {
            Lang::Zh => role.zh(),
            Lang::En => role.as_str(),
        }
    }
}

/// (key, Chinese, English)
const LABELS: &[(&str, &str, &str)] = &[
    ("app", "农村人居环境整治 · 区环卫办", "Village environment campaign · district office"),
    ("overview", "总览", "Overview"),
    ("ranking", "村庄排名", "Village ranking"),
    ("bulletin", "周通报", "Weekly bulletin"),
    ("escalations", "约谈问责", "Escalations"),
    ("queue", "待验收", "Acceptance queue"),
    ("map", "地图", "Map"),
    ("log_in", "登录", "Log in"),
    ("log_out", "退出", "Log out"),
    ("user_name", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("found", "发现问题", "Found"),
    ("accepted", "已销号", "Accepted"),
    ("open", "未销号", "Open"),
    ("overdue", "逾期", "Overdue"),
    ("awaiting", "待验收", "Awaiting acceptance"),
    ("weekly_rate", "每周整改率（累计销号÷累计交办）", "Weekly rectification rate (accepted ÷ assigned, cumulative)"),
    ("next", "下一期", "Next"),
    ("rank", "排名", "Rank"),
    ("village", "村居", "Village"),
    ("score", "得分", "Score"),
    ("group", "排名组", "Group"),
    ("red_list", "红榜", "Red list"),
    ("black_list", "黑榜", "Black list"),
    ("reason", "原因", "Reason"),
    ("no_entries", "无", "None"),
    ("negative_list", "负面清单", "Negative list"),
    ("category", "问题类型", "Problem"),
    ("status", "状态", "Status"),
    ("deadline", "整改期限", "Deadline"),
    ("reported_at", "发现时间", "Reported"),
    ("note", "说明", "Note"),
    ("rate", "整改率", "Rectification rate"),
    ("remaining", "未整改", "Remaining"),
    ("rectified", "已整改", "Rectified"),
    ("download_csv", "下载 CSV", "Download CSV"),
    ("download_xlsx", "下载 Excel", "Download XLSX"),
    ("new_this_week", "本周新增", "New this week"),
    ("total_assigned", "累计交办", "Assigned in total"),
    ("accepted_this_week", "本周销号", "Accepted this week"),
    ("total_accepted", "累计销号", "Accepted in total"),
    ("typical_problems", "典型问题", "Typical problems"),
    ("list", "红黑榜", "List"),
    ("total", "合计", "Total"),
    ("action", "处理", "Action"),
    ("who", "对象", "Who"),
    ("because", "依据", "Because"),
    ("black_months", "上黑榜月份", "Months on the black list"),
    ("history", "台账记录", "Ledger history"),
    ("before", "整改前", "Before"),
    ("after", "整改后", "After"),
    ("evidence_flags", "照片核验提示", "Evidence flags"),
    ("no_flags", "无异常", "None raised"),
    ("no_photo", "照片尚未上传", "Photo not uploaded yet"),
    ("when", "时间", "When"),
    ("event", "事项", "Event"),
    ("by", "操作人", "By"),
    ("verdict", "区办判定", "Office verdict"),
    ("stored", "已记录", "stored"),
    ("refused", "已拒收", "refused"),
    ("accept", "验收通过", "Accept"),
    ("reject", "验收不通过", "Reject"),
    ("reject_reason", "不通过原因（必填）", "Reason for rejecting (required)"),
    ("accept_note", "备注（可选）", "Note (optional)"),
    ("queue_empty", "没有待验收的销号申请。", "No strike-offs wait for acceptance."),
    ("strike_off_note", "销号说明", "Strike-off note"),
    (
        "map_note",
        "村界为合成示意（非真实边界），底图离线绘制。",
        "Village outlines are synthetic where marked; drawn offline, no tile server.",
    ),
    ("legend_open", "整改中", "being fixed"),
    ("legend_overdue", "逾期", "overdue"),
    ("legend_awaiting", "待验收", "awaiting acceptance"),
    ("legend_accepted", "已销号", "accepted"),
    ("forbidden", "无权访问", "Not allowed"),
    ("forbidden_text", "您的角色无权查看此页面或执行此操作。", "Your role may not see this page or take this action."),
    ("not_found", "未找到", "Not found"),
    ("bad_request", "请求有误", "Bad request"),
    ("signed_in_as", "当前用户", "Signed in as"),
    ("language", "English", "中文"),
    ("open_issue", "查看", "Open"),
    ("decided_accept", "已验收通过", "Accepted"),
    ("decided_reject", "已退回整改", "Rejected and sent back"),
    ("escalation_none", "本月无约谈问责。", "No escalations this month."),
    ("rules", "规则版本", "Rules"),
    ("rework", "返工次数", "Reworks"),
    ("server_error", "系统错误", "Server error"),
    (
        "server_error_text",
        "处理请求时出错，已记录日志。请稍后再试。",
        "Something went wrong on the office's side; it is logged. Please try again later.",
    ),
    ("seq", "区办序号", "Office seq"),
    ("last_rejection", "上次不通过原因", "Last rejection"),
    ("nothing_listed", "暂无数据。", "Nothing to show."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_both_languages_are_filled() {
        for (index, (key, zh, en)) in LABELS.iter().enumerate() {
            assert!(!zh.is_empty() && !en.is_empty(), "{key}");
            assert!(LABELS[index + 1..].iter().all(|(other, _, _)| other != key), "{key} twice");
        }
        assert_eq!(Tr { lang: Lang::En }.t("queue"), "Acceptance queue");
        assert_eq!(Tr { lang: Lang::Zh }.t("queue"), "待验收");
        assert_eq!(Tr { lang: Lang::Zh }.t("no such key"), "⟨missing label⟩");
    }

    #[test]
    fn every_label_a_template_asks_for_exists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut asked = 0;
        for entry in std::fs::read_dir(&dir).expect("templates folder") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template");
            for piece in text.split("t(\"").skip(1) {
                let key = piece.split('"').next().unwrap_or_default();
                assert!(
                    LABELS.iter().any(|(name, _, _)| *name == key),
                    "{} asks for a missing label {key}",
                    path.display()
                );
                asked += 1;
            }
        }
        assert!(asked > 100, "only {asked} labels found: is the pattern still right?");
        // And every label is asked for somewhere: by a template, or by the code.
        let mut sources = String::new();
        for folder in ["templates", "src/web"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
            for entry in std::fs::read_dir(&dir).expect("folder") {
                let path = entry.expect("entry").path();
                if path.file_name().is_some_and(|name| name != "i18n.rs") {
                    sources.push_str(&std::fs::read_to_string(&path).expect("source"));
                }
            }
        }
        for (key, _, _) in LABELS {
            assert!(sources.contains(&format!("\"{key}\"")), "label {key} is never used");
        }
        // Labels chosen in code rather than in a template.
        for key in [
            "forbidden",
            "not_found",
            "bad_request",
            "decided_accept",
            "decided_reject",
            "forbidden_text",
            "server_error",
            "server_error_text",
        ] {
            assert!(LABELS.iter().any(|(name, _, _)| *name == key), "{key}");
        }
    }
}
