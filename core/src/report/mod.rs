//! What the office publishes, built on [`crate::score`]: the weekly bulletin (通报), tables as CSV and
//! XLSX (a sheet per table, Chinese headers, frozen header row, set column widths), the issues as GeoJSON
//! and as an Open311 GeoReport v2 view. Every table carries the rules version it was computed with.

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "xlsx")]
pub mod xlsx;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::issue::Status;
use crate::score::{IssueFact, Month, MonthLists, Place, Scorer, day_start_ms, local_day, percent};

/// An ISO week, e.g. `2023-W28`: Monday to Sunday in the district's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    pub year: i32,
    pub week: u32,
}

impl Week {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not an ISO week like 2023-W28");
        let (year, week) = text.trim().split_once("-W").ok_or_else(bad)?;
        let week = Self { year: year.parse().map_err(|_| bad())?, week: week.parse().map_err(|_| bad())? };
        NaiveDate::from_isoywd_opt(week.year, week.week, Weekday::Mon).ok_or_else(bad)?;
        Ok(week)
    }

    pub fn of(day: NaiveDate) -> Self {
        let iso = day.iso_week();
        Self { year: iso.year(), week: iso.week() }
    }

    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).unwrap_or_default()
    }

    pub fn label(self) -> String {
        format!("{}-W{:02}", self.year, self.week)
    }
}

/// One village's line of the weekly bulletin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulletinRow {
    pub no: usize,
    pub code: String,
    pub village: String,
    pub town: Option<String>,
    pub zone: Option<String>,
    pub new_this_week: u32,
    pub total_assigned: u32,
    pub accepted_this_week: u32,
    pub total_accepted: u32,
    pub open: u32,
    pub overdue: u32,
    /// Cumulative accepted ÷ assigned, percent to one decimal; `None` when nothing was ever found.
    pub rate: Option<f64>,
    pub rank: usize,
    /// "red" or "black" on the latest monthly lists.
    pub list: Option<String>,
    pub typical_problems: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bulletin {
    pub rules_version: String,
    pub week: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The month whose red/black lists the bulletin shows.
    pub lists_month: String,
    pub rows: Vec<BulletinRow>,
    pub total: BulletinRow,
}

/// The weekly bulletin for the whole district, or for one town or one zone named as the villages name it;
/// a name no village has is refused rather than giving an empty bulletin.
pub fn area_bulletin(
    scorer: &Scorer<'_>,
    places: &[Place],
    week: Week,
    town: Option<&str>,
    zone: Option<&str>,
) -> crate::Result<Bulletin> {
    type Group = fn(&Place) -> &Option<String>;
    let wanted: [(Option<&str>, &str, Group); 2] =
        [(town, "town", |place| &place.town), (zone, "zone", |place| &place.zone)];
    for (given, what, group) in wanted {
        if let Some(name) = given
            && !places.iter().any(|place| group(place).as_deref() == Some(name))
        {
            return Err(crate::RectifyError::not_found(format!("no {what} named `{name}` among the villages")));
        }
    }
    let keep = |place: &Place| {
        wanted.iter().all(|(given, _, group)| given.is_none_or(|name| group(place).as_deref() == Some(name)))
    };
    Ok(bulletin(scorer, week, &keep))
}

/// The weekly bulletin for the villages `keep` admits (all, a town, a zone), ranked by rate.
pub fn bulletin(scorer: &Scorer<'_>, week: Week, keep: &dyn Fn(&Place) -> bool) -> Bulletin {
    let offset = scorer.offset();
    let from = week.monday();
    let to = from + Duration::days(6);
    let (start, end) = (day_start_ms(from, offset), day_start_ms(to + Duration::days(1), offset));
    let lists_month = Month::of(from).previous();
    let lists = scorer.lists(lists_month);
    let (red, black) = (lists.red_codes(), lists.black_codes());
    let mut rows: Vec<BulletinRow> = scorer
        .places()
        .iter()
        .filter(|place| keep(place))
        .map(|place| {
            let issues: Vec<&IssueFact> =
                scorer.issues_of(place.village).iter().copied().filter(|issue| issue.reported_ms < end).collect();
            let count = |test: &dyn Fn(&IssueFact) -> bool| issues.iter().filter(|issue| test(issue)).count() as u32;
            let total_assigned = issues.len() as u32;
            let total_accepted = count(&|issue| issue.accepted_by(end));
            let open_issues: Vec<&&IssueFact> = issues.iter().filter(|issue| !issue.accepted_by(end)).collect();
            let mut kinds: BTreeMap<&str, u32> = BTreeMap::new();
            for issue in &open_issues {
                *kinds.entry(issue.category.as_str()).or_default() += 1;
            }
            let mut kinds: Vec<(&str, u32)> = kinds.into_iter().collect();
            kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let typical_problems = kinds
                .iter()
                .take(2)
                .map(|(code, count)| format!("{}×{count}", scorer.problem_name(code)))
                .collect::<Vec<_>>()
                .join("、");
            BulletinRow {
                no: 0,
                code: place.code.clone(),
                village: place.name.clone(),
                town: place.town.clone(),
                zone: place.zone.clone(),
                new_this_week: count(&|issue| issue.reported_ms >= start),
                total_assigned,
                accepted_this_week: count(&|issue| issue.accepted_ms.is_some_and(|at| at >= start && at < end)),
                total_accepted,
                open: open_issues.len() as u32,
                overdue: open_issues.iter().filter(|issue| issue.overdue_at(end)).count() as u32,
                rate: percent(total_accepted, total_assigned),
                rank: 0,
                list: if black.contains(place.code.as_str()) {
                    Some("black".to_string())
                } else if red.contains(place.code.as_str()) {
                    Some("red".to_string())
                } else {
                    None
                },
                typical_problems,
            }
        })
        .collect();
    // Best first: the highest rate (nothing ever found counts as fully rectified), then fewer open items.
    let key = |row: &BulletinRow| (row.rate.unwrap_or(100.0), row.open);
    rows.sort_by(|a, b| key(b).0.total_cmp(&key(a).0).then(key(a).1.cmp(&key(b).1)).then(a.code.cmp(&b.code)));
    for index in 0..rows.len() {
        rows[index].no = index + 1;
        rows[index].rank =
            if index > 0 && key(&rows[index]) == key(&rows[index - 1]) { rows[index - 1].rank } else { index + 1 };
    }
    let sum = |field: fn(&BulletinRow) -> u32| rows.iter().map(field).sum::<u32>();
    let total = BulletinRow {
        no: 0,
        code: String::new(),
        village: "合计".to_string(),
        town: None,
        zone: None,
        new_this_week: sum(|row| row.new_this_week),
        total_assigned: sum(|row| row.total_assigned),
        accepted_this_week: sum(|row| row.accepted_this_week),
        total_accepted: sum(|row| row.total_accepted),
        open: sum(|row| row.open),
        overdue: sum(|row| row.overdue),
        rate: percent(sum(|row| row.total_accepted), sum(|row| row.total_assigned)),
        rank: 0,
        list: None,
        typical_problems: String::new(),
    };
    Bulletin {
        rules_version: scorer.rules.version.clone(),
        week: week.label(),
        from,
        to,
        lists_month: lists_month.label(),
        rows,
        total,
    }
}

/// A table as offices print it: a title, Chinese headers, rows of cells, and column widths.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The sheet name (≤ 31 characters).
    pub title: String,
    pub headers: Vec<&'static str>,
    pub widths: Vec<f64>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    fn text(value: impl Into<String>) -> Self {
        Cell::Text(value.into())
    }

    fn count(value: u32) -> Self {
        Cell::Number(f64::from(value))
    }

    fn optional(value: Option<f64>) -> Self {
        value.map_or(Cell::Empty, Cell::Number)
    }
}

const RULES_HEADER: &str = "规则版本";

impl Table {
    /// The table as CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheet programs read the Chinese).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        let line = |cells: Vec<String>| cells.iter().map(|cell| csv_field(cell)).collect::<Vec<_>>().join(",");
        out.push_str(&line(self.headers.iter().map(|header| header.to_string()).collect()));
        out.push_str("\r\n");
        for row in &self.rows {
            let cells = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(text) => text.clone(),
                    Cell::Number(number) => format_number(*number),
                    Cell::Empty => String::new(),
                })
                .collect();
            out.push_str(&line(cells));
            out.push_str("\r\n");
        }
        out
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

fn format_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 { format!("{}", number as i64) } else { format!("{number}") }
}

impl Bulletin {
    pub fn table(&self) -> Table {
        let list = |list: &Option<String>| match list.as_deref() {
            Some("red") => "红榜",
            Some("black") => "黑榜",
            _ => "",
        };
        let row = |row: &BulletinRow, no: Cell| {
            vec![
                no,
                Cell::text(if row.code.is_empty() {
                    row.village.clone()
                } else {
                    format!("{} {}", row.village, row.code)
                }),
                Cell::count(row.new_this_week),
                Cell::count(row.total_assigned),
                Cell::count(row.accepted_this_week),
                Cell::count(row.total_accepted),
                Cell::count(row.open),
                Cell::count(row.overdue),
                Cell::optional(row.rate),
                if row.rank == 0 { Cell::Empty } else { Cell::Number(row.rank as f64) },
                Cell::text(list(&row.list)),
                Cell::text(row.typical_problems.clone()),
                Cell::text(self.rules_version.clone()),
            ]
        };
        let mut rows: Vec<Vec<Cell>> = self.rows.iter().map(|r| row(r, Cell::Number(r.no as f64))).collect();
        rows.push(row(&self.total, Cell::Empty));
        Table {
            title: format!("{} 周通报", self.week),
            headers: vec![
                "序号",
                "村居",
                "本周新增",
                "累计交办",
                "本周销号",
                "累计销号",
                "未整改",
                "其中逾期",
                "整改率(%)",
                "排名",
                "红黑榜",
                "典型问题",
                RULES_HEADER,
            ],
            widths: vec![6.0, 28.0, 10.0, 10.0, 10.0, 10.0, 9.0, 9.0, 10.0, 7.0, 8.0, 36.0, 10.0],
            rows,
        }
    }
}

/// The month's scores, a line per village with its rank and the deductions that make up its score.
pub fn scores_table(scores: &crate::score::MonthScores) -> Table {
    let rows = scores
        .villages
        .iter()
        .map(|village| {
            let rounds: Vec<String> = village.rounds.iter().map(|round| format!("{:.2}", round.score)).collect();
            vec![
                Cell::text(village.group.clone()),
                Cell::Number(village.rank as f64),
                Cell::text(format!("{} {}", village.village.name, village.village.code)),
                Cell::Number(village.score),
                Cell::text(rounds.join(" / ")),
                Cell::text(village.reason()),
                Cell::text(scores.rules_version.clone()),
            ]
        })
        .collect();
    Table {
        title: format!("{} 月度得分", scores.month),
        headers: vec!["镇街/管区", "排名", "村居", "月得分", "各轮得分", "主要扣分", RULES_HEADER],
        widths: vec![16.0, 7.0, 28.0, 9.0, 16.0, 48.0, 10.0],
        rows,
    }
}

/// The red and black lists, one table each.
pub fn list_tables(lists: &MonthLists) -> Vec<Table> {
    let table = |title: &str, black: bool| {
        let rows = lists
            .groups
            .iter()
            .flat_map(|group| {
                let entries = if black { &group.black } else { &group.red };
                entries.iter().map(move |entry| {
                    vec![
                        Cell::text(group.group.clone()),
                        Cell::Number(entry.rank as f64),
                        Cell::text(format!("{} {}", entry.name, entry.code)),
                        Cell::Number(entry.score),
                        Cell::text(entry.reason.clone().unwrap_or_default()),
                        Cell::text(lists.rules_version.clone()),
                    ]
                })
            })
            .collect();
        Table {
            title: format!("{} {title}", lists.month),
            headers: vec!["镇街/管区", "排名", "村居", "月得分", "原因", RULES_HEADER],
            widths: vec![16.0, 7.0, 28.0, 9.0, 48.0, 10.0],
            rows,
        }
    };
    vec![table("红榜", false), table("黑榜", true)]
}

pub fn escalation_table(escalations: &crate::score::Escalations) -> Table {
    let rows = escalations
        .escalations
        .iter()
        .map(|item| {
            vec![
                Cell::text(item.group.clone()),
                Cell::text(format!("{} {}", item.name, item.code)),
                Cell::text(item.action_zh.clone()),
                Cell::text(item.who.clone()),
                Cell::text(item.because.clone()),
                Cell::text(item.black_months.join("、")),
                Cell::text(escalations.rules_version.clone()),
            ]
        })
        .collect();
    Table {
        title: format!("{} 约谈", escalations.month),
        headers: vec!["镇街/管区", "村居", "处理", "对象", "依据", "上黑榜月份", RULES_HEADER],
        widths: vec![16.0, 28.0, 10.0, 20.0, 30.0, 40.0, 10.0],
        rows,
    }
}

/// The issues as a GeoJSON FeatureCollection of points (WGS-84), with their status and village.
pub fn issues_geojson(scorer: &Scorer<'_>, issues: &[IssueFact]) -> Value {
    let places: BTreeMap<_, _> = scorer.places().iter().map(|place| (place.village, place)).collect();
    let features: Vec<Value> = issues
        .iter()
        .map(|issue| {
            let place = places.get(&issue.village);
            json!({
                "type": "Feature",
                "id": issue.id.to_string(),
                "geometry": {"type": "Point", "coordinates": [issue.lon, issue.lat]},
                "properties": {
                    "village": place.map(|place| place.code.clone()),
                    "village_name": place.map(|place| place.name.clone()),
                    "category": issue.category,
                    "status": issue.status.as_str(),
                    "reported": millis(issue.reported_ms),
                    "deadline": millis(issue.deadline_ms),
                    "accepted": issue.accepted_ms.map(millis),
                    "note": issue.note,
                },
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "rules_version": scorer.rules.version, "features": features})
}

/// The issues as Open311 GeoReport v2 service requests. "closed" only once accepted; withdrawn reports
/// are closed with a note saying so.
pub fn issues_open311(scorer: &Scorer<'_>, issues: &[IssueFact]) -> Value {
    let places: BTreeMap<_, _> = scorer.places().iter().map(|place| (place.village, place)).collect();
    let requests: Vec<Value> = issues
        .iter()
        .map(|issue| {
            let place = places.get(&issue.village);
            let name = scorer.problem_name(&issue.category);
            let (status, notes) = match issue.status {
                Status::Accepted => ("closed", "accepted (验收通过)"),
                Status::Withdrawn => ("closed", "withdrawn: false report or duplicate"),
                Status::StrikeOffRequested => ("open", "strike-off requested, awaiting acceptance"),
                Status::Rejected => ("open", "strike-off rejected, rework"),
                Status::Assigned => ("open", "assigned to the village"),
                Status::Reported => ("open", "reported"),
            };
            let updated = issue.accepted_ms.or(issue.withdrawn_ms).unwrap_or(issue.reported_ms);
            json!({
                "service_request_id": issue.id.to_string(),
                "status": status,
                "status_notes": notes,
                "service_name": name,
                "service_code": issue.category,
                "description": issue.note.clone().unwrap_or_default(),
                "agency_responsible": place.map(|place| format!("{} {}", place.name, place.code)),
                "requested_datetime": millis(issue.reported_ms),
                "updated_datetime": millis(updated),
                "expected_datetime": millis(issue.deadline_ms),
                "address": place.map(|place| place.name.clone()),
                "lat": issue.lat,
                "long": issue.lon,
                "media_url": Value::Null,
            })
        })
        .collect();
    Value::Array(requests)
}

fn millis(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|at| at.to_rfc3339()).unwrap_or_default()
}

/// The week an instant falls in, in the rules' clock.
pub fn week_of(scorer: &Scorer<'_>, at: DateTime<Utc>) -> Week {
    Week::of(local_day(at.timestamp_millis(), scorer.offset()))
}

/// The week a person named (`2023-W28`), or by default last week in the district's time.
pub fn week_or_last(text: Option<&str>, scorer: &Scorer<'_>, now: DateTime<Utc>) -> crate::Result<Week> {
    match text {
        Some(text) => Week::parse(text).map_err(crate::RectifyError::invalid),
        None => Ok(week_of(scorer, now - Duration::days(7))),
    }
}

/// The month a person named (`2023-07`), or by default last month in the district's time.
pub fn month_or_last(text: Option<&str>, scorer: &Scorer<'_>, now: DateTime<Utc>) -> crate::Result<Month> {
    match text {
        Some(text) => Month::parse(text).map_err(crate::RectifyError::invalid),
        None => Ok(Month::of(now.with_timezone(&scorer.offset()).date_naive()).previous()),
    }
}
