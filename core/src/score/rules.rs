//! The assessment rules (考评办法) as data: deductions per problem type, caps per category, veto items,
//! rounds, list sizes, escalations and the towns' quarterly ranking. The shipped defaults are
//! `core/data/rules.json`; a district loads its own file with the same shape (`--rules FILE`). Every
//! published table records the `version` of the rules it was computed with. Documented in `docs/rules.md`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use crate::domain::category::Catalogue;
use crate::domain::validate::ValidationError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Named in every published table.
    pub version: String,
    #[serde(default)]
    pub about: String,
    /// The district's clock, for rounds, months, weeks and quarters ("+08:00").
    pub utc_offset: String,
    pub points_per_round: f64,
    pub rounds_per_month: u8,
    /// By task code (`village`, `waste`, …).
    pub categories: BTreeMap<String, CategoryRule>,
    #[serde(default)]
    pub overdue: OverdueRule,
    pub lists: ListRule,
    pub escalations: Vec<EscalationRule>,
    pub town_ranking: TownRankingRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// The most one round can lose in this category; a veto item loses all of it.
    pub cap: f64,
    /// Points lost per spot found, unless the problem type says otherwise.
    pub per_spot: f64,
    #[serde(default)]
    pub problem_types: BTreeMap<String, ProblemRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemRule {
    #[serde(default)]
    pub per_spot: Option<f64>,
    /// Found once in a round, the category scores zero for that round.
    #[serde(default)]
    pub veto: bool,
}

/// Extra points lost in a round for each issue overdue at the round's end (0 = none), capped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueRule {
    pub per_item: f64,
    pub cap: f64,
}

/// Which group villages are ranked in, and how many go on each monthly list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRule {
    pub level: Level,
    pub red: usize,
    pub black: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Town,
    Zone,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    pub window: Window,
    /// Months on the black list (consecutive, or counted in the calendar year) that trigger the action.
    pub count: u32,
    pub action: Action,
    #[serde(default)]
    pub who: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Consecutive,
    CumulativeInYear,
}

/// What an escalation leads to, mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Interview,
    OrganisationalHandling,
}

impl Action {
    pub fn zh(self) -> &'static str {
        match self {
            Action::Interview => "约谈",
            Action::OrganisationalHandling => "组织处理",
        }
    }
}

/// The city's quarterly ranking of towns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TownRankingRule {
    pub praised_top: usize,
    /// Criticised: in the bottom `criticised_bottom` *and* scoring under `criticised_below`.
    pub criticised_bottom: usize,
    pub criticised_below: f64,
    /// Consecutive quarters in the bottom group that summon the town's secretary for an interview.
    pub interview_after: u32,
}

impl Rules {
    /// Parses and checks a rules file against the category table it will score.
    pub fn from_json(text: &str, catalogue: &Catalogue) -> Result<Self, ValidationError> {
        let bad = |why: String| ValidationError::BadRules(why);
        let rules: Rules = serde_json::from_str(text).map_err(|err| bad(err.to_string()))?;
        rules.offset()?;
        if !(rules.points_per_round > 0.0 && rules.points_per_round.is_finite()) {
            return Err(bad(format!("points_per_round must be above 0, not {}", rules.points_per_round)));
        }
        if !(1..=6).contains(&rules.rounds_per_month) {
            return Err(bad(format!("rounds_per_month must be 1 to 6, not {}", rules.rounds_per_month)));
        }
        for (task, category) in &rules.categories {
            let Some(known) = catalogue.tasks.iter().find(|known| &known.code == task) else {
                return Err(bad(format!("category `{task}` is not a task of category table {}", catalogue.version)));
            };
            let amounts = [category.cap, category.per_spot]
                .into_iter()
                .chain(category.problem_types.values().filter_map(|problem| problem.per_spot));
            for amount in amounts {
                if !(amount >= 0.0 && amount.is_finite()) {
                    return Err(bad(format!("category `{task}` has a negative or unreadable amount {amount}")));
                }
            }
            for code in category.problem_types.keys() {
                if !known.problem_types.iter().any(|problem| &problem.code == code) {
                    return Err(bad(format!("problem type `{code}` is not in task `{task}`")));
                }
            }
        }
        if rules.escalations.iter().any(|rule| rule.count == 0) || rules.town_ranking.interview_after == 0 {
            return Err(bad("escalation counts start at 1".to_string()));
        }
        if !(rules.overdue.per_item >= 0.0 && rules.overdue.cap >= 0.0) {
            return Err(bad("overdue amounts cannot be negative".to_string()));
        }
        Ok(rules)
    }

    /// The rules that ship with the app.
    pub fn builtin() -> &'static Rules {
        static BUILTIN: OnceLock<Rules> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // Checked by a unit test, so failing here is a build defect.
            #[allow(clippy::expect_used)]
            Rules::from_json(include_str!("../../data/rules.json"), Catalogue::builtin())
                .expect("built-in rules.json is valid")
        })
    }

    pub fn offset(&self) -> Result<FixedOffset, ValidationError> {
        self.utc_offset.parse::<FixedOffset>().map_err(|err| {
            ValidationError::BadRules(format!("utc_offset `{}` is not like +08:00: {err}", self.utc_offset))
        })
    }

    /// What one spot of `problem` costs, and whether it is a veto item. Unknown types cost their
    /// category's default; types of a category without rules cost nothing.
    pub fn deduction(&self, problem: &str) -> Option<(&str, &CategoryRule, f64, bool)> {
        let task = problem.split('.').next()?;
        let (task, category) = self.categories.get_key_value(task)?;
        let rule = category.problem_types.get(problem);
        let per_spot = rule.and_then(|rule| rule.per_spot).unwrap_or(category.per_spot);
        Some((task.as_str(), category, per_spot, rule.is_some_and(|rule| rule.veto)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rules_are_valid_and_follow_the_domain_defaults() {
        let rules = Rules::builtin();
        assert_eq!(rules.points_per_round, 100.0);
        assert_eq!(rules.rounds_per_month, 2);
        assert_eq!((rules.lists.red, rules.lists.black), (10, 5));
        let (_, _, _, veto) = rules.deduction("village.open_burning").unwrap();
        assert!(veto, "open burning is a veto item");
        let caps: f64 = rules.categories.values().map(|category| category.cap).sum();
        assert_eq!(caps, 100.0, "the categories share the round's 100 points");
        assert_eq!(rules.town_ranking.criticised_below, 80.0);
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let text = include_str!("../../data/rules.json");
        let cases = [
            (text.replace("\"rounds_per_month\": 2", "\"rounds_per_month\": 0"), "rounds_per_month"),
            (text.replace("\"courtyard\"", "\"gardens\""), "gardens"),
            (text.replace("\"village.open_burning\"", "\"village.open_fire\""), "village.open_fire"),
            (text.replace("\"+08:00\"", "\"Beijing\""), "utc_offset"),
            (text.replace("\"cap\": 10, \"per_spot\": 0.5", "\"cap\": 10, \"per_spot\": -1"), "negative"),
            (text.replace("\"overdue\"", "\"overdew\""), "overdew"),
            (text.replace("\"count\": 2", "\"count\": 0"), "start at 1"),
        ];
        for (bad, needle) in cases {
            let err = Rules::from_json(&bad, Catalogue::builtin()).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
