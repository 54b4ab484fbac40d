//! Time. Wall clocks on phones are wrong often enough that nothing decides a winner by them; the ledger
//! orders a device's own events with a hybrid logical clock (HLC) that never runs backwards, even across
//! restarts, and the office's sequence number orders everything once it has been synced.

use std::fmt;
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset, Local, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// Where "now" comes from. The real clock in the apps; a scripted one in tests and the demo.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The device's wall-clock time with its UTC offset.
    fn now(&self) -> DateTime<FixedOffset>;
}

/// The operating system's clock in the local time zone.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }
}

/// A clock that only moves when told to, for tests, benchmarks and the scripted demo.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<FixedOffset>>,
}

impl ManualClock {
    pub fn new(start: DateTime<FixedOffset>) -> Self {
        Self { now: Mutex::new(start) }
    }

    pub fn set(&self, to: DateTime<FixedOffset>) {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<FixedOffset> {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A hybrid logical clock reading: milliseconds since the Unix epoch in the high 48 bits and a counter in
/// the low 16, so readings compare as plain integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hlc(u64);

const COUNTER_BITS: u32 = 16;
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;

impl Hlc {
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    pub const fn raw(self) -> u64 {
        self.0
    }

    pub const fn physical_ms(self) -> u64 {
        self.0 >> COUNTER_BITS
    }

    pub const fn counter(self) -> u64 {
        self.0 & COUNTER_MASK
    }

    fn from_parts(physical_ms: u64, counter: u64) -> Self {
        Self((physical_ms << COUNTER_BITS) | (counter & COUNTER_MASK))
    }

    /// The next reading after `self` for a local event at wall time `wall`: never smaller than anything seen.
    pub fn tick(self, wall: DateTime<FixedOffset>) -> Self {
        let wall_ms = u64::try_from(wall.timestamp_millis()).unwrap_or(0);
        if wall_ms > self.physical_ms() {
            Self::from_parts(wall_ms, 0)
        } else if self.counter() < COUNTER_MASK {
            Self(self.0 + 1)
        } else {
            // The counter is exhausted within one millisecond: borrow the next millisecond.
            Self::from_parts(self.physical_ms() + 1, 0)
        }
    }

    /// Folds in a reading received from elsewhere, so later local events sort after it.
    pub fn observe(self, remote: Hlc) -> Self {
        self.max(remote)
    }

    /// The physical part as a UTC time, for display.
    pub fn as_utc(self) -> DateTime<Utc> {
        let ms = i64::try_from(self.physical_ms()).unwrap_or(i64::MAX);
        Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:04x}", self.physical_ms(), self.counter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn hlc_never_runs_backwards_when_the_wall_clock_does() {
        let first = Hlc::default().tick(at("2026-11-02T09:00:00+08:00"));
        let second = first.tick(at("2026-11-01T09:00:00+08:00"));
        let third = second.tick(at("2026-11-01T09:00:00+08:00"));
        assert!(first < second && second < third);
        assert_eq!(second.physical_ms(), first.physical_ms());
        assert_eq!(third.counter(), 2);
    }

    #[test]
    fn hlc_moves_to_a_later_wall_clock_and_past_observed_readings() {
        let local = Hlc::default().tick(at("2026-11-01T09:00:00+08:00"));
        let remote = Hlc::default().tick(at("2026-11-05T09:00:00+08:00"));
        let merged = local.observe(remote).tick(at("2026-11-01T09:00:01+08:00"));
        assert!(merged > remote);
    }

    #[test]
    fn exhausted_counter_borrows_the_next_millisecond() {
        let full = Hlc::from_parts(1_000, COUNTER_MASK);
        let next = full.tick(at("1970-01-01T00:00:00+00:00"));
        assert_eq!((next.physical_ms(), next.counter()), (1_001, 0));
    }
}
