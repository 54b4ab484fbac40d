//! Scores, rankings, red/black lists, escalations, rectification rates and overdue lists, computed from
//! the ledger's issues under a set of [`Rules`]. Pure functions over a [`Snapshot`] (issues and places read
//! once), so the phone and the office run the same code, and the result depends only on the folded issues —
//! never on the order their events arrived in.
//!
//! Definitions (see `docs/rules.md`):
//! - an issue is *found* when reported, unless it was withdrawn (false report or duplicate);
//! - it is *rectified* only once accepted; a strike-off waiting for acceptance does not count;
//! - a round's score is the round's points less, per category, the spots found in that round times their
//!   deduction, capped per category (a veto item takes the whole cap), less any overdue deduction;
//! - a month's score is the mean of its rounds; villages are ranked within their town (or zone).

pub mod rules;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::domain::category::Catalogue;
use crate::domain::issue::Status;
use crate::domain::round::RoundSchedule;
use crate::ids::{IssueId, VillageId};
pub use rules::{Action, Level, Rules, Window};

/// A village and the groups it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub village: VillageId,
    pub code: String,
    pub name: String,
    pub town: Option<String>,
    pub zone: Option<String>,
}

/// One issue as scoring sees it (a row of the materialised `issues` table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueFact {
    pub id: IssueId,
    pub village: VillageId,
    pub category: String,
    pub status: Status,
    pub reported_ms: i64,
    pub deadline_ms: i64,
    pub accepted_ms: Option<i64>,
    pub withdrawn_ms: Option<i64>,
    pub lat: f64,
    pub lon: f64,
    pub note: Option<String>,
}

impl IssueFact {
    /// Found, and not withdrawn.
    pub fn counts(&self) -> bool {
        self.withdrawn_ms.is_none()
    }

    /// Accepted at or before `at_ms` (and still accepted).
    pub fn accepted_by(&self, at_ms: i64) -> bool {
        self.accepted_ms.is_some_and(|accepted| accepted < at_ms)
    }

    /// Deadline passed at `at_ms` and not accepted by then.
    pub fn overdue_at(&self, at_ms: i64) -> bool {
        self.counts() && self.reported_ms < at_ms && self.deadline_ms < at_ms && !self.accepted_by(at_ms)
    }
}

/// What scoring reads from a ledger, once.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub places: Vec<Place>,
    pub issues: Vec<IssueFact>,
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a month like 2023-07");
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        let (year, month) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Self { year, month })
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self { year: self.year + 1, month: 1 }
        } else {
            Self { year: self.year, month: self.month + 1 }
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self { year: self.year - 1, month: 12 }
        } else {
            Self { year: self.year, month: self.month - 1 }
        }
    }

    pub fn of(day: NaiveDate) -> Self {
        Self { year: day.year(), month: day.month() }
    }

    pub fn label(self) -> String {
        format!("{}-{:02}", self.year, self.month)
    }
}

/// Start of a local day, in milliseconds since the epoch.
pub fn day_start_ms(day: NaiveDate, offset: FixedOffset) -> i64 {
    offset
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map_or(0, |at| at.timestamp_millis())
}

/// The local day of an instant.
pub fn local_day(ms: i64, offset: FixedOffset) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&offset).date_naive()
}

/// Points lost for one problem type in one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProblemDeduction {
    pub problem_type: String,
    pub name: String,
    pub spots: u32,
    pub per_spot: f64,
    pub veto: bool,
    pub lost: f64,
}

/// Points lost in one category in one round: the sum of its problems, capped (a veto takes the cap).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryDeduction {
    pub category: String,
    pub cap: f64,
    pub uncapped: f64,
    pub lost: f64,
    pub veto: bool,
    pub problems: Vec<ProblemDeduction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundScore {
    pub round: u8,
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub points: f64,
    pub categories: Vec<CategoryDeduction>,
    pub overdue_items: u32,
    pub overdue_lost: f64,
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageMonth {
    pub village: Place,
    pub month: String,
    /// The mean of the month's rounds.
    pub score: f64,
    /// Rank within its group (1 = best; equal scores share a rank).
    pub rank: usize,
    pub group: String,
    pub group_size: usize,
    pub rounds: Vec<RoundScore>,
}

impl VillageMonth {
    /// The problems that cost the most this month, for a one-line reason.
    pub fn worst_problems(&self, count: usize) -> Vec<(String, u32, f64)> {
        let mut by_type: BTreeMap<&str, (u32, f64)> = BTreeMap::new();
        for round in &self.rounds {
            for category in &round.categories {
                for problem in &category.problems {
                    let entry = by_type.entry(problem.name.as_str()).or_default();
                    entry.0 += problem.spots;
                    entry.1 += if problem.veto { category.lost } else { problem.lost };
                }
            }
        }
        let mut worst: Vec<(String, u32, f64)> =
            by_type.into_iter().map(|(name, (spots, lost))| (name.to_string(), spots, lost)).collect();
        worst.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
        worst.truncate(count);
        worst
    }

    /// "乱搭乱建 ×3 (−9.0); 黑臭水体 ×1 (−3.0)", or "无扣分" (no deductions).
    pub fn reason(&self) -> String {
        let worst = self.worst_problems(3);
        if worst.is_empty() {
            return "无扣分".to_string();
        }
        worst.iter().map(|(name, spots, lost)| format!("{name} ×{spots} (−{lost:.1})")).collect::<Vec<_>>().join("; ")
    }
}

/// The month's scores for every village, ranked within its group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthScores {
    pub rules_version: String,
    pub month: String,
    pub level: Level,
    pub villages: Vec<VillageMonth>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListEntry {
    pub rank: usize,
    pub code: String,
    pub name: String,
    pub score: f64,
    /// For the black list: the worst problems of the month.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupLists {
    pub group: String,
    pub villages: usize,
    pub red: Vec<ListEntry>,
    pub black: Vec<ListEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthLists {
    pub rules_version: String,
    pub month: String,
    pub level: Level,
    pub groups: Vec<GroupLists>,
}

impl MonthLists {
    pub fn black_codes(&self) -> BTreeSet<&str> {
        self.groups.iter().flat_map(|group| group.black.iter().map(|entry| entry.code.as_str())).collect()
    }

    pub fn red_codes(&self) -> BTreeSet<&str> {
        self.groups.iter().flat_map(|group| group.red.iter().map(|entry| entry.code.as_str())).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalation {
    pub code: String,
    pub name: String,
    pub group: String,
    pub action: Action,
    pub action_zh: String,
    pub who: String,
    /// "2 consecutive months on the black list".
    pub because: String,
    /// The months, oldest first, of the last twelve this village was on the black list.
    pub black_months: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalations {
    pub rules_version: String,
    pub month: String,
    pub escalations: Vec<Escalation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TownQuarter {
    pub rank: usize,
    pub town: String,
    pub villages: usize,
    pub score: f64,
    pub praised: bool,
    pub bottom: bool,
    pub criticised: bool,
    pub interview: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TownRanking {
    pub rules_version: String,
    pub quarter: String,
    pub towns: Vec<TownQuarter>,
}

/// Accepted ÷ found for one group over one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub group: String,
    pub found: u32,
    pub accepted: u32,
    /// Percent, `None` when nothing was found.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueItem {
    pub issue: IssueId,
    pub code: String,
    pub village: String,
    pub zone: Option<String>,
    pub category: String,
    pub status: Status,
    pub deadline: DateTime<Utc>,
    pub days_overdue: i64,
}

/// Percent to one decimal, or `None` of nothing.
pub fn percent(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0)
}

/// Rounds to two decimals, so sums of halves print and compare cleanly.
fn cents(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Everything scoring needs, indexed once.
#[derive(Debug)]
pub struct Scorer<'a> {
    pub rules: &'a Rules,
    offset: FixedOffset,
    places: &'a [Place],
    issues: &'a [IssueFact],
    /// Issues found, by the month they were found in and village, with the round each fell in.
    found: HashMap<(Month, VillageId), Vec<(u8, &'a IssueFact)>>,
    by_village: HashMap<VillageId, Vec<&'a IssueFact>>,
    /// The Chinese names of the problem types the issues carry, looked up in the category table once.
    names: HashMap<String, String>,
    /// Months already scored: escalations and bulletins reuse them.
    months: Mutex<BTreeMap<Month, Arc<MonthScores>>>,
}

impl<'a> Scorer<'a> {
    pub fn new(rules: &'a Rules, catalogue: &'a Catalogue, snapshot: &'a Snapshot) -> Result<Self, String> {
        let offset = rules.offset().map_err(|err| err.to_string())?;
        let schedule = RoundSchedule { per_month: rules.rounds_per_month };
        let mut found: HashMap<(Month, VillageId), Vec<(u8, &IssueFact)>> = HashMap::new();
        let mut by_village: HashMap<VillageId, Vec<&IssueFact>> = HashMap::new();
        let mut names: HashMap<String, String> = HashMap::new();
        for issue in &snapshot.issues {
            if !names.contains_key(&issue.category) {
                let name =
                    catalogue.problem_type(&issue.category).map_or(issue.category.clone(), |(_, p)| p.zh.clone());
                names.insert(issue.category.clone(), name);
            }
            if !issue.counts() {
                continue;
            }
            let day = local_day(issue.reported_ms, offset);
            let round = schedule.round_of(day).index;
            found.entry((Month::of(day), issue.village)).or_default().push((round, issue));
            by_village.entry(issue.village).or_default().push(issue);
        }
        Ok(Self {
            rules,
            offset,
            places: &snapshot.places,
            issues: &snapshot.issues,
            found,
            by_village,
            names,
            months: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    fn group_of(&self, place: &Place) -> String {
        let group = match self.rules.lists.level {
            Level::Town => &place.town,
            Level::Zone => &place.zone,
        };
        group.clone().unwrap_or_else(|| "(no group)".to_string())
    }

    /// A problem type's Chinese name (its code when the category table does not know it).
    pub fn problem_name(&self, code: &str) -> String {
        self.names.get(code).cloned().unwrap_or_else(|| code.to_string())
    }

    /// The rounds of a month: (index, first day, last day, label).
    fn rounds(&self, month: Month) -> Vec<(u8, NaiveDate, NaiveDate, String)> {
        let schedule = RoundSchedule { per_month: self.rules.rounds_per_month };
        let mut rounds: Vec<(u8, NaiveDate, NaiveDate, String)> = Vec::new();
        let mut day = month.first_day();
        while Month::of(day) == month {
            let round = schedule.round_of(day);
            match rounds.last_mut() {
                Some(last) if last.0 == round.index => last.2 = day,
                _ => rounds.push((round.index, day, day, round.label())),
            }
            day = day.succ_opt().unwrap_or(day);
            if day == month.first_day() {
                break;
            }
        }
        rounds
    }

    fn round_score(&self, place: &Place, month: Month, round: &(u8, NaiveDate, NaiveDate, String)) -> RoundScore {
        let (index, from, to, label) = round;
        let (index, from, to) = (*index, *from, *to);
        // Few problem types per village and round: small vectors beat maps here.
        let mut spots: Vec<(&str, u32)> = Vec::new();
        for (round, issue) in self.found.get(&(month, place.village)).into_iter().flatten() {
            if *round == index {
                match spots.iter_mut().find(|(problem, _)| *problem == issue.category) {
                    Some((_, count)) => *count += 1,
                    None => spots.push((issue.category.as_str(), 1)),
                }
            }
        }
        spots.sort_unstable();
        let mut categories: Vec<CategoryDeduction> = Vec::new();
        for (problem, count) in spots {
            let Some((task, rule, per_spot, veto)) = self.rules.deduction(problem) else { continue };
            let at = match categories.iter().position(|category| category.category == task) {
                Some(at) => at,
                None => {
                    categories.push(CategoryDeduction {
                        category: task.to_string(),
                        cap: rule.cap,
                        uncapped: 0.0,
                        lost: 0.0,
                        veto: false,
                        problems: Vec::new(),
                    });
                    categories.len() - 1
                }
            };
            let entry = &mut categories[at];
            let lost = f64::from(count) * per_spot;
            entry.uncapped += lost;
            entry.veto |= veto;
            entry.problems.push(ProblemDeduction {
                problem_type: problem.to_string(),
                name: self.problem_name(problem),
                spots: count,
                per_spot,
                veto,
                lost: cents(lost),
            });
        }
        categories.sort_by(|a, b| a.category.cmp(&b.category));
        for category in &mut categories {
            category.uncapped = cents(category.uncapped);
            category.lost = if category.veto { category.cap } else { category.uncapped.min(category.cap) };
        }
        let round_end = day_start_ms(to.succ_opt().unwrap_or(to), self.offset);
        let overdue_items = if self.rules.overdue.per_item > 0.0 {
            let village = self.by_village.get(&place.village).map(Vec::as_slice).unwrap_or_default();
            village.iter().filter(|issue| issue.overdue_at(round_end)).count() as u32
        } else {
            0
        };
        let overdue_lost = (f64::from(overdue_items) * self.rules.overdue.per_item).min(self.rules.overdue.cap);
        let lost: f64 = categories.iter().map(|category| category.lost).sum::<f64>() + overdue_lost;
        RoundScore {
            round: index,
            label: label.clone(),
            from,
            to,
            points: self.rules.points_per_round,
            categories,
            overdue_items,
            overdue_lost: cents(overdue_lost),
            score: cents((self.rules.points_per_round - lost).max(0.0)),
        }
    }

    /// Every village's score for `month`, ranked within its group, best first.
    pub fn month_scores(&self, month: Month) -> MonthScores {
        MonthScores::clone(&self.scored(month))
    }

    /// [`Scorer::month_scores`], computed once per month and shared.
    pub fn scored(&self, month: Month) -> Arc<MonthScores> {
        let cached = self.months.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&month).cloned();
        if let Some(scores) = cached {
            return scores;
        }
        let scores = Arc::new(self.compute_month(month));
        self.months.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(month, scores.clone());
        scores
    }

    fn compute_month(&self, month: Month) -> MonthScores {
        let rounds = self.rounds(month);
        let mut villages: Vec<VillageMonth> = self
            .places
            .iter()
            .map(|place| {
                let rounds: Vec<RoundScore> =
                    rounds.iter().map(|round| self.round_score(place, month, round)).collect();
                let score = cents(rounds.iter().map(|round| round.score).sum::<f64>() / rounds.len().max(1) as f64);
                VillageMonth {
                    village: place.clone(),
                    month: month.label(),
                    score,
                    rank: 0,
                    group: self.group_of(place),
                    group_size: 0,
                    rounds,
                }
            })
            .collect();
        villages.sort_by(|a, b| {
            a.group.cmp(&b.group).then(b.score.total_cmp(&a.score)).then(a.village.code.cmp(&b.village.code))
        });
        let mut start = 0;
        while start < villages.len() {
            let group = villages[start].group.clone();
            let end = start + villages[start..].iter().take_while(|village| village.group == group).count();
            for index in start..end {
                let rank = if index > start && villages[index].score == villages[index - 1].score {
                    villages[index - 1].rank
                } else {
                    index - start + 1
                };
                villages[index].rank = rank;
                villages[index].group_size = end - start;
            }
            start = end;
        }
        MonthScores {
            rules_version: self.rules.version.clone(),
            month: month.label(),
            level: self.rules.lists.level,
            villages,
        }
    }

    /// The month's red and black lists per group. The black list is the bottom of the group among
    /// villages that lost points; the red list is the top, leaving out anyone on the black list; sizes
    /// from [`list_sizes`].
    pub fn lists_from(&self, scores: &MonthScores) -> MonthLists {
        let mut groups: BTreeMap<&str, Vec<&VillageMonth>> = BTreeMap::new();
        for village in &scores.villages {
            groups.entry(village.group.as_str()).or_default().push(village);
        }
        let entry = |village: &VillageMonth, reason: bool| ListEntry {
            rank: village.rank,
            code: village.village.code.clone(),
            name: village.village.name.clone(),
            score: village.score,
            reason: reason.then(|| village.reason()),
        };
        let groups = groups
            .into_iter()
            .map(|(group, ranked)| {
                let points = self.rules.points_per_round;
                let (red_size, black_size) = list_sizes(self.rules.lists.red, self.rules.lists.black, ranked.len());
                let black: Vec<&VillageMonth> =
                    ranked.iter().rev().filter(|village| village.score < points).take(black_size).copied().collect();
                let black_codes: BTreeSet<&str> = black.iter().map(|village| village.village.code.as_str()).collect();
                let red = ranked
                    .iter()
                    .filter(|village| !black_codes.contains(village.village.code.as_str()))
                    .take(red_size)
                    .map(|village| entry(village, false))
                    .collect();
                GroupLists {
                    group: group.to_string(),
                    villages: ranked.len(),
                    red,
                    black: black.iter().map(|village| entry(village, true)).collect(),
                }
            })
            .collect();
        MonthLists {
            rules_version: self.rules.version.clone(),
            month: scores.month.clone(),
            level: scores.level,
            groups,
        }
    }

    pub fn lists(&self, month: Month) -> MonthLists {
        self.lists_from(&self.scored(month))
    }

    /// Villages whose black-list placements up to `month` meet an escalation rule; the strongest action
    /// each has earned, with its placements over the last twelve months.
    pub fn escalations(&self, month: Month) -> Escalations {
        let mut months = vec![month];
        while months.len() < 12 {
            let earlier = months[months.len() - 1].previous();
            months.push(earlier);
        }
        months.reverse();
        let lists: Vec<(Month, MonthLists)> = months.iter().map(|month| (*month, self.lists(*month))).collect();
        let black: Vec<(Month, BTreeSet<&str>)> =
            lists.iter().map(|(month, lists)| (*month, lists.black_codes())).collect();
        let mut escalations = Vec::new();
        for place in self.places {
            let on_black: Vec<Month> = black
                .iter()
                .filter(|(_, codes)| codes.contains(place.code.as_str()))
                .map(|(month, _)| *month)
                .collect();
            if on_black.last() != Some(&month) {
                continue;
            }
            let mut run = 0;
            let mut cursor = month;
            while on_black.contains(&cursor) {
                run += 1;
                cursor = cursor.previous();
            }
            let in_year = on_black.iter().filter(|black| black.year == month.year).count() as u32;
            let earned = self
                .rules
                .escalations
                .iter()
                .filter(|rule| match rule.window {
                    Window::Consecutive => run >= rule.count,
                    Window::CumulativeInYear => in_year >= rule.count,
                })
                .max_by_key(|rule| (rule.action, rule.count));
            if let Some(rule) = earned {
                let because = match rule.window {
                    Window::Consecutive => format!("{run} consecutive months on the black list"),
                    Window::CumulativeInYear => format!("{in_year} months on the black list in {}", month.year),
                };
                escalations.push(Escalation {
                    code: place.code.clone(),
                    name: place.name.clone(),
                    group: self.group_of(place),
                    action: rule.action,
                    action_zh: rule.action.zh().to_string(),
                    who: rule.who.clone(),
                    because,
                    black_months: on_black.iter().map(|month| month.label()).collect(),
                });
            }
        }
        escalations.sort_by(|a, b| b.action.cmp(&a.action).then(a.code.cmp(&b.code)));
        Escalations { rules_version: self.rules.version.clone(), month: month.label(), escalations }
    }

    /// Towns' mean village score over a quarter's months, ranked city-wide (1 = best).
    fn quarter_scores(&self, year: i32, quarter: u32) -> Vec<(String, usize, f64)> {
        let first = Month { year, month: (quarter - 1) * 3 + 1 };
        let months = [first, first.next(), first.next().next()];
        let mut per_village: BTreeMap<String, (String, f64)> = BTreeMap::new();
        for month in months {
            for village in &self.scored(month).villages {
                let Some(town) = village.village.town.clone() else { continue };
                per_village.entry(village.village.code.clone()).or_insert((town, 0.0)).1 += village.score / 3.0;
            }
        }
        let mut towns: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        for (town, score) in per_village.into_values() {
            let entry = towns.entry(town).or_default();
            entry.0 += 1;
            entry.1 += score;
        }
        let mut ranked: Vec<(String, usize, f64)> =
            towns.into_iter().map(|(town, (count, sum))| (town, count, cents(sum / count as f64))).collect();
        ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        ranked
    }

    /// The city's quarterly ranking of towns: the top praised; the bottom group criticised when under the
    /// threshold; an interview after enough consecutive quarters in the bottom group.
    pub fn town_ranking(&self, year: i32, quarter: u32) -> Result<TownRanking, String> {
        if !(1..=4).contains(&quarter) {
            return Err(format!("quarter {quarter} does not exist: use 1 to 4"));
        }
        let rule = &self.rules.town_ranking;
        let bottom_of = |ranked: &[(String, usize, f64)]| -> BTreeSet<String> {
            ranked.iter().rev().take(rule.criticised_bottom).map(|(town, _, _)| town.clone()).collect()
        };
        let ranked = self.quarter_scores(year, quarter);
        let bottom = bottom_of(&ranked);
        let mut history: Vec<BTreeSet<String>> = Vec::new();
        let (mut y, mut q) = (year, quarter);
        for _ in 1..rule.interview_after {
            (y, q) = if q == 1 { (y - 1, 4) } else { (y, q - 1) };
            history.push(bottom_of(&self.quarter_scores(y, q)));
        }
        let mut towns = Vec::new();
        for (index, (town, villages, score)) in ranked.iter().enumerate() {
            let rank = match towns.last() {
                Some(TownQuarter { score: last, rank, .. }) if last == score => *rank,
                _ => index + 1,
            };
            let in_bottom = bottom.contains(town);
            towns.push(TownQuarter {
                rank,
                town: town.clone(),
                villages: *villages,
                score: *score,
                praised: index < rule.praised_top && !in_bottom,
                bottom: in_bottom,
                criticised: in_bottom && *score < rule.criticised_below,
                interview: in_bottom && history.iter().all(|earlier| earlier.contains(town)),
            });
        }
        Ok(TownRanking { rules_version: self.rules.version.clone(), quarter: format!("{year}-Q{quarter}"), towns })
    }

    /// Accepted ÷ found per group, over issues found in `[from, to)` (`from` = `None`: since the start),
    /// accepted before `to`.
    pub fn rates(&self, level: Option<Level>, from_ms: Option<i64>, to_ms: i64) -> Vec<Rate> {
        let mut groups: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for place in self.places {
            let (mut found, mut accepted) = (0, 0);
            for issue in self.issues_of(place.village) {
                if issue.reported_ms >= to_ms || from_ms.is_some_and(|from| issue.reported_ms < from) {
                    continue;
                }
                found += 1;
                accepted += u32::from(issue.accepted_by(to_ms));
            }
            let entry = groups.entry(group_name(place, level)).or_default();
            entry.0 += found;
            entry.1 += accepted;
        }
        groups
            .into_iter()
            .map(|(group, (found, accepted))| Rate { group, found, accepted, rate: percent(accepted, found) })
            .collect()
    }

    /// Issues past their deadline at `at` and not accepted, most overdue first: the interview candidates.
    pub fn overdue(&self, at: DateTime<Utc>) -> Vec<OverdueItem> {
        let at_ms = at.timestamp_millis();
        let places: BTreeMap<VillageId, &Place> = self.places.iter().map(|place| (place.village, place)).collect();
        let mut items: Vec<OverdueItem> = self
            .issues
            .iter()
            .filter(|issue| issue.overdue_at(at_ms) && issue.status.on_negative_list())
            .filter_map(|issue| {
                let place = places.get(&issue.village)?;
                let deadline = DateTime::<Utc>::from_timestamp_millis(issue.deadline_ms)?;
                Some(OverdueItem {
                    issue: issue.id,
                    code: place.code.clone(),
                    village: place.name.clone(),
                    zone: place.zone.clone(),
                    category: issue.category.clone(),
                    status: issue.status,
                    deadline,
                    days_overdue: (at - deadline + Duration::hours(23)).num_days().max(1),
                })
            })
            .collect();
        items.sort_by(|a, b| b.days_overdue.cmp(&a.days_overdue).then(a.code.cmp(&b.code)).then(a.issue.cmp(&b.issue)));
        items
    }

    pub fn places(&self) -> &[Place] {
        self.places
    }

    pub fn issues_of(&self, village: VillageId) -> &[&'a IssueFact] {
        self.by_village.get(&village).map(Vec::as_slice).unwrap_or_default()
    }
}

/// How many of a group of `villages` go on the red and the black list. When the lists would overlap (a
/// small town), the group is shared between them in the rules' proportion, e.g. 10 + 5 over 12 villages
/// gives 8 red and 4 black, over 4 villages 3 and 1.
pub fn list_sizes(red: usize, black: usize, villages: usize) -> (usize, usize) {
    if red + black <= villages {
        return (red, black);
    }
    let black = ((villages * black) as f64 / (red + black) as f64).round() as usize;
    (villages - black, black)
}

/// The group a village counts in for rates: the district, its town or zone, or itself.
pub fn group_name(place: &Place, level: Option<Level>) -> String {
    match level {
        None => format!("{} {}", place.code, place.name),
        Some(Level::Town) => place.town.clone().unwrap_or_else(|| "(no town)".to_string()),
        Some(Level::Zone) => place.zone.clone().unwrap_or_else(|| "(no zone)".to_string()),
    }
}

/// Reads the issues and places a ledger holds, for scoring: everything but the notes, straight from the
/// covering index `issues_scoring`.
pub fn snapshot(conn: &rusqlite::Connection) -> rusqlite::Result<Snapshot> {
    read_snapshot(conn, false)
}

/// [`snapshot`] with every issue's note, for the exports.
pub fn snapshot_with_notes(conn: &rusqlite::Connection) -> rusqlite::Result<Snapshot> {
    read_snapshot(conn, true)
}

fn read_snapshot(conn: &rusqlite::Connection, notes: bool) -> rusqlite::Result<Snapshot> {
    let places = conn
        .prepare(
            "SELECT v.id, (SELECT code FROM village_codes c WHERE c.village_id = v.id ORDER BY position DESC LIMIT 1)
                 AS current, v.name, t.name, z.name
             FROM villages v LEFT JOIN towns t ON t.id = v.town_id LEFT JOIN zones z ON z.id = v.zone_id
             ORDER BY current",
        )?
        .query_map([], |row| {
            Ok(Place {
                village: crate::store::parse_id(&row.get::<_, String>(0)?, "village id")?,
                code: row.get(1)?,
                name: row.get(2)?,
                town: row.get(3)?,
                zone: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let sql = if notes {
        "SELECT id, village_id, category, status, reported_ms, deadline_ms, accepted_ms, withdrawn_ms, lat, lon, note
         FROM issues ORDER BY id"
    } else {
        "SELECT id, village_id, category, status, reported_ms, deadline_ms, accepted_ms, withdrawn_ms, lat, lon, NULL
         FROM issues INDEXED BY issues_scoring"
    };
    let issues = conn
        .prepare(sql)?
        .query_map([], |row| {
            let text = |column: usize| -> rusqlite::Result<&str> { Ok(row.get_ref(column)?.as_str()?) };
            Ok(IssueFact {
                id: crate::store::parse_id(text(0)?, "issue id")?,
                village: crate::store::parse_id(text(1)?, "village id")?,
                category: row.get(2)?,
                status: {
                    let stored = text(3)?;
                    Status::ALL.into_iter().find(|status| status.as_str() == stored).ok_or_else(|| {
                        let err = format!("unknown status `{stored}`");
                        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, err.into())
                    })?
                },
                reported_ms: row.get(4)?,
                deadline_ms: row.get(5)?,
                accepted_ms: row.get(6)?,
                withdrawn_ms: row.get(7)?,
                lat: row.get(8)?,
                lon: row.get(9)?,
                note: row.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Snapshot { places, issues })
}

#[cfg(test)]
mod tests;
