//! Inspection rounds (检查轮次). The area inspects every village twice a month by default, once in the
//! first part (上旬) and once in the last part (下旬); the number per month is a setting.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// How a month is divided into rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundSchedule {
    pub per_month: u8,
}

impl Default for RoundSchedule {
    fn default() -> Self {
        Self { per_month: 2 }
    }
}

/// One inspection round: the `index`-th (from 1) of its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Round {
    pub year: i32,
    pub month: u32,
    pub index: u8,
    pub per_month: u8,
}

impl RoundSchedule {
    /// The round a calendar day falls in. Days are shared out as evenly as the month allows.
    pub fn round_of(&self, day: NaiveDate) -> Round {
        let per_month = self.per_month.max(1);
        let days = days_in_month(day.year(), day.month());
        let index = ((day.day() - 1) * u32::from(per_month) / days) as u8 + 1;
        Round { year: day.year(), month: day.month(), index, per_month }
    }
}

impl Round {
    /// A label a person reads, e.g. `2026-11 上旬` or `2026-11 round 3/4`.
    pub fn label(&self) -> String {
        match (self.per_month, self.index) {
            (2, 1) => format!("{}-{:02} 上旬", self.year, self.month),
            (2, _) => format!("{}-{:02} 下旬", self.year, self.month),
            _ => format!("{}-{:02} round {}/{}", self.year, self.month, self.index, self.per_month),
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(next_year, next_month, 1).and_then(|first| first.pred_opt()).map_or(30, |last| last.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn two_rounds_split_the_month_in_halves() {
        let schedule = RoundSchedule::default();
        assert_eq!(schedule.round_of(day("2026-11-01")).index, 1);
        assert_eq!(schedule.round_of(day("2026-11-15")).index, 1);
        assert_eq!(schedule.round_of(day("2026-11-16")).index, 2);
        assert_eq!(schedule.round_of(day("2026-11-30")).index, 2);
        assert_eq!(schedule.round_of(day("2024-02-29")).index, 2);
        assert_eq!(schedule.round_of(day("2026-11-16")).label(), "2026-11 下旬");
    }

    #[test]
    fn other_schedules_cover_every_day_once() {
        let schedule = RoundSchedule { per_month: 3 };
        let indexes: Vec<u8> = (1..=31).map(|d| schedule.round_of(day(&format!("2026-12-{d:02}"))).index).collect();
        assert_eq!(indexes.first(), Some(&1));
        assert_eq!(indexes.last(), Some(&3));
        assert!(indexes.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
