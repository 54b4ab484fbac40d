//! `bench -- score`: month scores with their deductions, red/black lists for twelve months, the escalation
//! list, a weekly bulletin and the cumulative rates, for a district of 1,000 villages (10 towns, 40 zones)
//! over 2025 with 200,000 issues and 1,000,000 events, read from a ledger file. Anchor: a plain SQL
//! `GROUP BY` count over the same events (`SELECT issue_id, count(*) FROM events GROUP BY issue_id`), in the
//! same run. Target: at most 3× the anchor.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use rectify_core::clock::{Hlc, ManualClock};
use rectify_core::domain::category::Catalogue;
use rectify_core::domain::event::{Accepted, Comment, Event, EventBody, Reported, StrikeOffRequested};
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::role::Role;
use rectify_core::domain::validate::Location;
use rectify_core::ids::{DeviceId, EventId, IssueId, UserId, VillageId};
use rectify_core::ledger::{Ledger, NewVillage};
use rectify_core::report::{Week, bulletin};
use rectify_core::score::{Month, Rules, Scorer};
use rectify_core::store::{OpenMode, events, issues};
use rectify_tests::SplitMix;
use serde_json::json;

use crate::{Outcome, elapsed_ms, round};

const CATEGORIES: [&str; 8] = [
    "waste.bin_overflowing",
    "village.scattered_garbage",
    "village.illegal_shed",
    "sewage.flowing",
    "roads.roadside_garbage",
    "courtyard.messy",
    "toilets.public_dirty",
    "village.open_burning",
];

/// Five events on average: report, strike-off, acceptance for most, comments for the rest.
fn issue(rng: &mut SplitMix, device: DeviceId, author: UserId, village: VillageId, seq: &mut u64) -> Vec<Event> {
    let id = IssueId::new();
    let start: DateTime<FixedOffset> =
        Utc.with_ymd_and_hms(2025, 1, 1, 1, 0, 0).single().unwrap_or_default().fixed_offset();
    let reported = start + Duration::minutes(rng.below(364 * 24 * 60) as i64);
    let category = CATEGORIES[(rng.below(100) as usize * CATEGORIES.len() / 100).min(CATEGORIES.len() - 1)];
    let accepted = rng.below(100) < 90;
    let mut bodies = vec![EventBody::Reported(Reported {
        village_id: village,
        category: category.into(),
        location: Location { lat: 36.4, lon: 120.5, accuracy_m: None },
        note: None,
        deadline: reported.to_utc() + Duration::days(3),
        catalogue_version: 1,
        placement: None,
    })];
    bodies.push(EventBody::Comment(Comment { text: "seen".into() }));
    if accepted {
        bodies.push(EventBody::StrikeOffRequested(StrikeOffRequested { note: None }));
        bodies.push(EventBody::Accepted(Accepted { note: None }));
    } else {
        bodies.push(EventBody::Comment(Comment { text: "still there".into() }));
        bodies.push(EventBody::Comment(Comment { text: "again".into() }));
    }
    bodies.push(EventBody::Comment(Comment { text: "checked".into() }));
    let mut hlc = Hlc::default();
    let mut out: Vec<Event> = Vec::with_capacity(bodies.len());
    for (n, body) in bodies.into_iter().enumerate() {
        let at = reported + Duration::hours(n as i64 * 20);
        hlc = hlc.tick(at);
        *seq += 1;
        out.push(Event {
            event_id: EventId::new(),
            issue_id: id,
            device_id: device,
            device_seq: *seq,
            author,
            body,
            hlc,
            recorded_at: at,
            parents: out.last().map(|last| vec![last.event_id]).unwrap_or_default(),
            photos: Vec::new(),
            server_seq: Some(*seq),
            verdict: None,
        });
    }
    out
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn run(quick: bool) -> Outcome {
    let (villages, issue_count, runs): (usize, usize, usize) =
        if quick { (100, 4_000, 3) } else { (1_000, 200_000, 5) };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("district.db");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).single().unwrap_or_default().fixed_offset(),
    ));
    let ledger = Ledger::open(&path, OpenMode::CreateIfMissing, clock)?;
    let mut ids = Vec::with_capacity(villages);
    for n in 0..villages {
        let village = ledger.upsert_village(&NewVillage {
            code: format!("37021{:03}{:04}", n / 100, n % 100 + 1),
            name: format!("bench village {n}"),
            town: Some(format!("town {}", n / 100)),
            zone: Some(format!("zone {}", n / 25)),
            ..NewVillage::default()
        })?;
        ids.push(village.id);
    }
    ledger.init("bench admin", Role::Admin, &[])?;
    let built = Instant::now();
    let mut rng = SplitMix::new(7);
    let (device, author) = (DeviceId::new(), UserId::new());
    let mut seq = 0;
    let mut event_count = 0;
    for chunk in 0..issue_count.div_ceil(10_000) {
        let batch: Vec<Vec<Event>> = (chunk * 10_000..((chunk + 1) * 10_000).min(issue_count))
            .map(|n| issue(&mut rng, device, author, ids[n % villages], &mut seq))
            .collect();
        event_count += batch.iter().map(Vec::len).sum::<usize>();
        ledger.store().write(|tx| {
            for history in &batch {
                for event in history {
                    events::insert(tx, event)?;
                }
                if let Some(state) = IssueState::fold(history) {
                    issues::save_state(tx, &state)?;
                }
            }
            Ok::<_, rusqlite::Error>(())
        })?;
    }
    eprintln!("built {issue_count} issues, {event_count} events in {:.1} s", elapsed_ms(built) / 1000.0);

    let anchor = median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                let groups: usize = ledger
                    .store()
                    .read(|conn| {
                        let mut statement = conn.prepare("SELECT issue_id, count(*) FROM events GROUP BY issue_id")?;
                        let rows = statement.query_map([], |row| row.get::<_, i64>(1))?;
                        rows.map(|row| row.map(|_| 1)).sum::<rusqlite::Result<usize>>()
                    })
                    .unwrap_or(0);
                assert_eq!(groups, issue_count);
                elapsed_ms(started)
            })
            .collect(),
    );
    let rules = Rules::builtin();
    let mut loads = Vec::new();
    let mut totals = Vec::new();
    let mut check = (0, 0.0);
    for _ in 0..runs {
        let started = Instant::now();
        let snapshot = ledger.scoring_snapshot()?;
        loads.push(elapsed_ms(started));
        let scorer = Scorer::new(rules, Catalogue::builtin(), &snapshot)?;
        let mut month = Month { year: 2025, month: 1 };
        let mut black = 0;
        for _ in 0..12 {
            let scores = scorer.scored(month);
            black += scorer.lists_from(&scores).black_codes().len();
            month = month.next();
        }
        let escalations = scorer.escalations(Month { year: 2025, month: 12 });
        let weekly = bulletin(&scorer, Week::parse("2025-W50")?, &|_| true);
        let rates = scorer.rates(
            None,
            None,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default().timestamp_millis(),
        );
        totals.push(elapsed_ms(started));
        check = (black + escalations.escalations.len() + rates.len(), weekly.total.rate.unwrap_or(0.0));
    }
    let (load, total) = (median(loads), median(totals));
    let note = format!(
        "{villages} villages, {issue_count} issues, {event_count} events; 12 months of scores and lists, escalations, \
         a bulletin (district rate {:.1}%), cumulative rates; median of {runs}; scoring reads the materialised issue rows, \
         loading them took {} ms",
        check.1,
        round(load)
    );
    println!(
        "{}",
        json!({
            "suite": "score", "metric": "scores_lists_bulletin_12_months", "value": round(total), "unit": "ms",
            "anchor": "sql_group_by_count_over_events", "anchor_value": round(anchor), "ratio": round(total / anchor),
            "note": note,
        })
    );
    if check.0 == 0 {
        return Err("the bench computed empty lists".into());
    }
    Ok(())
}
