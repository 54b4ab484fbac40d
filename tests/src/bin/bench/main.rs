//! The benchmark harness: `bench -- <suite> [--quick]`. Prints one JSON object per line:
//! `{"suite","metric","value","unit","anchor","anchor_value","ratio","note"}`. Every suite measures its
//! anchor in the same run on the same machine, so ratios stay meaningful on a noisy shared host.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration};
use rectify_core::clock::{Hlc, ManualClock};
use rectify_core::domain::event::{Comment, Event, EventBody, Reported};
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::role::Role;
use rectify_core::domain::validate::Location;
use rectify_core::ids::{DeviceId, EventId, IssueId, UserId, VillageId};
use rectify_core::ledger::{Ledger, NewReport, NewVillage};
use rectify_core::store::OpenMode;
use serde_json::json;

#[cfg(feature = "ffi")]
mod ffi;
mod fleet;
mod geo;
mod office_pages;
mod office_pg;
mod photo;
mod score;
mod sync;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn main() -> Outcome {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    let suites: Vec<&str> = args.iter().map(String::as_str).filter(|arg| !arg.starts_with("--")).collect();
    if args.first().map(String::as_str) == Some("__measure") {
        return photo::measure_child(&args[1..]);
    }
    match suites.as_slice() {
        ["ledger"] => ledger(quick),
        ["photo"] => photo::run(quick),
        ["geo"] => geo::run(quick),
        ["sync"] => sync::run(quick),
        ["score"] => score::run(quick),
        ["office-pages"] => office_pages::run(quick),
        ["office-pg"] => office_pg::run(quick),
        #[cfg(feature = "ffi")]
        ["ffi"] => ffi::run(quick),
        _ => {
            Err("usage: bench <suite> [--quick]; suites: ledger, photo, geo, sync, score, office-pages, office-pg, ffi"
                .into())
        }
    }
}

struct Line<'a> {
    metric: &'a str,
    value: f64,
    unit: &'a str,
    note: String,
}

/// Prints a line whose ratio compares `value` (a time per operation, in ms) with the time the anchor
/// takes per row (1000 / rows_per_s ms).
fn emit(suite: &str, anchor: &str, rows_per_s: f64, line: Line<'_>) {
    let per_row_ms = 1000.0 / rows_per_s;
    println!(
        "{}",
        json!({
            "suite": suite, "metric": line.metric, "value": round(line.value), "unit": line.unit,
            "anchor": anchor, "anchor_value": round(rows_per_s), "ratio": round(line.value / per_row_ms), "note": line.note,
        })
    );
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let index = ((sorted_ms.len() - 1) as f64 * p).round() as usize;
    sorted_ms[index]
}

fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// The anchor: plain SQLite inserting rows shaped like ledger events, all in one transaction.
fn raw_bulk_insert(dir: &Path, rows: usize, body: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let mut conn = rusqlite::Connection::open(dir.join("anchor.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE rows (id TEXT PRIMARY KEY, issue TEXT NOT NULL, device TEXT NOT NULL, seq INTEGER NOT NULL,
                            kind TEXT NOT NULL, body TEXT NOT NULL, hlc INTEGER NOT NULL, at TEXT NOT NULL)",
    )?;
    let start = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO rows VALUES (?1, ?2, ?3, ?4, 'reported', ?5, ?6, '2026-11-02T09:00:00+08:00')")?;
        let device = DeviceId::new().to_string();
        for seq in 0..rows {
            insert.execute(rusqlite::params![
                EventId::new().to_string(),
                IssueId::new().to_string(),
                device,
                seq as i64,
                body,
                seq as i64
            ])?;
        }
    }
    tx.commit()?;
    Ok(rows as f64 / start.elapsed().as_secs_f64())
}

fn ledger(quick: bool) -> Outcome {
    let suite = "ledger";
    let anchor = "raw SQLite bulk insert of event-sized rows, one transaction (rows/s)";
    let (appends, issues_total, list_runs, fold_runs) =
        if quick { (100, 5_000, 20, 100) } else { (2_000, 100_000, 200, 2_000) };
    let dir = tempfile::tempdir()?;
    let start = DateTime::parse_from_rfc3339("2026-11-02T09:00:00+08:00")?;
    let clock = Arc::new(ManualClock::new(start));

    // Anchor rows carry a body the size of a real report body.
    let sample_body = serde_json::to_string(
        &EventBody::Reported(Reported {
            village_id: VillageId::new(),
            category: "waste.bin_overflowing".into(),
            location: Location::new(36.46, 120.51, Some(5.0))?,
            note: Some("Two bins overflowing at the east gate of the village".into()),
            deadline: start.to_utc(),
            catalogue_version: 1,
            placement: None,
        })
        .to_raw()
        .data,
    )?;
    let rows_per_s = raw_bulk_insert(dir.path(), if quick { 5_000 } else { 50_000 }, &sample_body)?;

    // Single appends, each its own committed transaction, on a file with synchronous=NORMAL.
    let ledger = Ledger::open(&dir.path().join("appends.db"), OpenMode::CreateIfMissing, clock.clone())?;
    let villages = 200;
    let codes: Vec<String> = (0..villages).map(|i| format!("9900010{:05}", i)).collect();
    for (i, code) in codes.iter().enumerate() {
        ledger.upsert_village(&NewVillage {
            code: code.clone(),
            name: format!("Bench village {i}"),
            town: Some("Bench town".into()),
            zone: Some(format!("Zone {}", i % 10)),
            ..NewVillage::default()
        })?;
    }
    ledger.init("bench inspector", Role::Inspector, &[])?;
    let report = |i: usize| NewReport {
        category: "waste.bin_overflowing".into(),
        village_code: Some(codes[i % villages].clone()),
        lat: 36.46,
        lon: 120.51,
        accuracy_m: Some(5.0),
        note: Some(format!("Bench issue {i}: two bins overflowing at the east gate")),
        photos: Vec::new(),
        village_reason: None,
    };
    let mut times = Vec::with_capacity(appends);
    for i in 0..appends {
        clock.advance(Duration::seconds(1));
        let t = Instant::now();
        ledger.report(&report(i))?;
        times.push(elapsed_ms(t));
    }
    times.sort_by(f64::total_cmp);
    let note = format!(
        "{appends} reports, each its own transaction (event + outbox + issue state), WAL, synchronous=NORMAL; target p95 <= 2 ms"
    );
    emit(
        suite,
        anchor,
        rows_per_s,
        Line { metric: "append_p50", value: percentile(&times, 0.5), unit: "ms", note: note.clone() },
    );
    emit(suite, anchor, rows_per_s, Line { metric: "append_p95", value: percentile(&times, 0.95), unit: "ms", note });

    // Folding one issue of 50 events from scratch.
    let history = fifty_events(start);
    let mut fold_times = Vec::with_capacity(fold_runs);
    for _ in 0..fold_runs {
        let t = Instant::now();
        let state = IssueState::fold(&history);
        fold_times.push(elapsed_ms(t));
        if state.map(|s| s.event_count) != Some(50) {
            return Err("the fold lost events".into());
        }
    }
    fold_times.sort_by(f64::total_cmp);
    emit(
        suite,
        anchor,
        rows_per_s,
        Line {
            metric: "fold_50_events_p50",
            value: percentile(&fold_times, 0.5),
            unit: "ms",
            note: format!("median of {fold_runs} full folds of a 50-event issue (dedupe, sort, apply)"),
        },
    );

    // The negative list of one village among many issues.
    let big = Ledger::open(&dir.path().join("big.db"), OpenMode::CreateIfMissing, clock.clone())?;
    for (i, code) in codes.iter().enumerate() {
        big.upsert_village(&NewVillage {
            code: code.clone(),
            name: format!("Bench village {i}"),
            ..NewVillage::default()
        })?;
    }
    big.init("bench inspector", Role::Acceptor, &[])?;
    let t = Instant::now();
    for chunk in (0..issues_total).collect::<Vec<_>>().chunks(5_000) {
        big.batch(|batch| {
            for &i in chunk {
                let state = batch.report(&report(i))?;
                // Some issues are withdrawn, so the list really filters by status.
                if i % 4 == 0 {
                    batch.act(state.id, &rectify_core::ledger::Command::Withdraw { duplicate_of: None, note: None })?;
                }
            }
            Ok(())
        })?;
    }
    let load_s = t.elapsed().as_secs_f64();
    let mut list_times = Vec::with_capacity(list_runs);
    let mut listed = 0;
    for run in 0..list_runs {
        let t = Instant::now();
        let list = big.negative_list(&codes[run % villages])?;
        list_times.push(elapsed_ms(t));
        listed = list.items.len();
    }
    list_times.sort_by(f64::total_cmp);
    let note = format!(
        "{issues_total} issues in {villages} villages ({listed} on one village's list); loaded in {load_s:.1} s in batches of 5000; target <= 5 ms"
    );
    emit(
        suite,
        anchor,
        rows_per_s,
        Line { metric: "negative_list_p50", value: percentile(&list_times, 0.5), unit: "ms", note: note.clone() },
    );
    emit(
        suite,
        anchor,
        rows_per_s,
        Line { metric: "negative_list_p95", value: percentile(&list_times, 0.95), unit: "ms", note },
    );
    Ok(())
}

/// The events one device records for one issue: a report in `village`, then comments, a minute apart, each
/// naming the one before as its parent; device_seq from `first_seq`.
pub(crate) fn issue_events(
    device: DeviceId,
    author: UserId,
    village: VillageId,
    first_seq: u64,
    count: u64,
    start: DateTime<chrono::FixedOffset>,
) -> Vec<Event> {
    let issue = IssueId::new();
    let mut hlc = Hlc::default();
    let mut events: Vec<Event> = Vec::with_capacity(count as usize);
    for i in 0..count {
        let at = start + Duration::minutes(i as i64);
        hlc = hlc.tick(at);
        let body = if i == 0 {
            EventBody::Reported(Reported {
                village_id: village,
                category: "waste.bin_overflowing".into(),
                location: Location { lat: 36.46, lon: 120.51, accuracy_m: None },
                note: Some("bins".into()),
                deadline: at.to_utc() + Duration::days(1),
                catalogue_version: 1,
                placement: None,
            })
        } else {
            EventBody::Comment(Comment { text: format!("comment {i}") })
        };
        events.push(Event {
            event_id: EventId::new(),
            issue_id: issue,
            device_id: device,
            device_seq: first_seq + i,
            author,
            body,
            hlc,
            recorded_at: at,
            parents: events.last().map(|last| vec![last.event_id]).unwrap_or_default(),
            photos: Vec::new(),
            server_seq: None,
            verdict: None,
        });
    }
    events
}

/// Fifty events of one issue as the office numbered them, delivered newest first.
fn fifty_events(start: DateTime<chrono::FixedOffset>) -> Vec<Event> {
    let mut events = issue_events(DeviceId::new(), UserId::new(), VillageId::new(), 1, 50, start);
    for event in &mut events {
        event.server_seq = Some(event.device_seq);
    }
    events.reverse();
    events
}
