//! `bench -- office-pg`: the office on PostgreSQL against the office on SQLite, in the same run, on the
//! same machine, both as real `rectify-office serve` processes on loopback.
//!
//! - Ingest: 200 devices push at once (gzip batches of 25, each event judged and sequenced). SQLite with
//!   one process is the anchor for PostgreSQL with one process; PostgreSQL with one process is the anchor
//!   for PostgreSQL with two processes behind a round-robin split of the devices.
//! - Pull: a ledger of 1,000,000 sequenced events (20,000 with --quick) loaded straight into each
//!   backend's tables, then pages of 1,000 pulled over HTTP at random cursors, for the whole district and
//!   for one village's secretary. SQLite's latency is the anchor.
//!
//! Both databases run durable: SQLite with synchronous=FULL (the office's setting), PostgreSQL with fsync
//! and synchronous_commit on.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use rectify_core::domain::event::{Event, Verdict};
use rectify_core::domain::role::Role;
use rectify_core::ids::{DeviceId, VillageId};
use rectify_core::sync::wire::{Cursor, PROTOCOL_HEADER, ScopeTally, event_digest};
use rectify_core::sync::{HttpRequest, HttpTransport, Method, Transport};
use rectify_office::{Database, Office};
use rectify_tests::office::OfficeProcess;
use rectify_tests::postgres::TestPostgres;
use serde_json::json;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn line(metric: &str, value: f64, unit: &str, anchor: &str, anchor_value: f64, note: String) {
    let round = |value: f64| (value * 1000.0).round() / 1000.0;
    let ratio = if anchor_value > 0.0 { value / anchor_value } else { 0.0 };
    println!(
        "{}",
        json!({
            "suite": "office-pg", "metric": metric, "value": round(value), "unit": unit, "anchor": anchor,
            "anchor_value": round(anchor_value), "ratio": round(ratio), "note": note,
        })
    );
}

pub fn run(quick: bool) -> Outcome {
    let server = TestPostgres::start(true).ok_or("PostgreSQL is not installed (Debian's postgresql package)")?;
    let dir = tempfile::tempdir()?;
    let per_device = if quick { 20 } else { 250 };

    // Each configuration runs `reps` times, interleaved so that a noisy stretch of the shared machine hits
    // all alike, each after a checkpoint (so no run pays for the writes of the one before); the median run
    // is reported, and every run's rate is in the note.
    let reps = if quick { 1 } else { 3 };
    let (mut sqlite, mut pg_one, mut pg_two, mut pg_one_single, mut pg_two_single) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        let path = |name: &str| {
            server.checkpoint();
            dir.path().join(format!("ingest-{name}-{rep}"))
        };
        sqlite.push(ingest(&path("sqlite"), None, 1, per_device, None)?);
        pg_one.push(ingest(&path("pg-one"), Some(&server.database("ingest")), 1, per_device, None)?);
        pg_two.push(ingest(&path("pg-two"), Some(&server.database("ingest")), 2, per_device, None)?);
        pg_one_single.push(ingest(&path("pg-one-single"), Some(&server.database("ingest")), 1, per_device, Some(1))?);
        pg_two_single.push(ingest(&path("pg-two-single"), Some(&server.database("ingest")), 2, per_device, Some(1))?);
    }
    let (sqlite, pg_one, pg_two) = (median(sqlite), median(pg_one), median(pg_two));
    let (pg_one_single, pg_two_single) = (median(pg_one_single), median(pg_two_single));
    let shape = format!(
        "200 devices at once, {per_device} events each in gzip batches of 25, judged and sequenced; median of {reps} runs"
    );
    line(
        "sqlite_ingest_events_per_s",
        sqlite.rate,
        "events/s",
        "sqlite_ingest_events_per_s",
        sqlite.rate,
        format!(
            "{shape}; one office process on SQLite (synchronous=FULL); push p99 {:.1} ms; runs {}",
            sqlite.p99_ms, sqlite.runs
        ),
    );
    line(
        "pg_ingest_events_per_s",
        pg_one.rate,
        "events/s",
        "sqlite_ingest_events_per_s",
        sqlite.rate,
        format!(
            "{shape}; one office process on PostgreSQL; push p99 {:.1} ms; runs {}; target ratio >= 0.5",
            pg_one.p99_ms, pg_one.runs
        ),
    );
    line(
        "pg_two_process_ingest_events_per_s",
        pg_two.rate,
        "events/s",
        "pg_ingest_events_per_s",
        pg_one.rate,
        format!(
            "{shape}; two office processes on one PostgreSQL, devices split between them; push p99 {:.1} ms; \
             runs {}; target ratio >= 1.5",
            pg_two.p99_ms, pg_two.runs
        ),
    );
    line(
        "pg_one_group_ingest_events_per_s",
        pg_one_single.rate,
        "events/s",
        "sqlite_ingest_events_per_s",
        sqlite.rate,
        format!(
            "{shape}; one office process on PostgreSQL committing one push group at a time (--push-groups 1); \
             runs {}",
            pg_one_single.runs
        ),
    );
    line(
        "pg_two_process_one_group_ingest_events_per_s",
        pg_two_single.rate,
        "events/s",
        "pg_one_group_ingest_events_per_s",
        pg_one_single.rate,
        format!(
            "{shape}; two office processes on one PostgreSQL, one push group at a time each (--push-groups 1); \
             push p99 {:.1} ms; runs {}",
            pg_two_single.p99_ms, pg_two_single.runs
        ),
    );

    let events = if quick { 20_000 } else { 1_000_000 };
    let sqlite = pulls(&dir.path().join("pull-sqlite"), None, &server, events)?;
    let pg_url = server.database("pull");
    let pg = pulls(&dir.path().join("pull-pg"), Some(&pg_url), &server, events)?;
    for (metric, scope, anchor, value) in [
        ("pull_page_p50_ms", "district", sqlite.district.0, pg.district.0),
        ("pull_page_p99_ms", "district", sqlite.district.1, pg.district.1),
        ("village_pull_page_p50_ms", "one village", sqlite.village.0, pg.village.0),
        ("village_pull_page_p99_ms", "one village", sqlite.village.1, pg.village.1),
    ] {
        line(
            &format!("pg_{metric}"),
            value,
            "ms",
            &format!("sqlite_{metric}"),
            anchor,
            format!(
                "pages of up to 1000 events ({scope} scope, gzip) at random cursors over a ledger of {events} events \
                 in 50 villages; loaded in {:.0} s (PostgreSQL, COPY) and {:.0} s (SQLite, one transaction)",
                pg.load_s, sqlite.load_s
            ),
        );
    }
    Ok(())
}

struct Ingest {
    rate: f64,
    p99_ms: f64,
    /// Every run's rate, for the note: the shared machine is noisy.
    runs: String,
}

/// The run with the median rate.
fn median(mut runs: Vec<Ingest>) -> Ingest {
    runs.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let all = runs.iter().map(|run| format!("{:.0}", run.rate)).collect::<Vec<_>>().join(", ");
    let middle = runs.len() / 2;
    let mut chosen = runs.swap_remove(middle);
    chosen.runs = all;
    chosen
}

/// A fresh office on `database` served by `processes` processes; 200 devices push at once.
fn ingest(
    data: &std::path::Path,
    database: Option<&str>,
    processes: usize,
    per_device: usize,
    push_groups: Option<usize>,
) -> Result<Ingest, Box<dyn std::error::Error>> {
    let env = push_groups.map(|groups| ("RECTIFY_PUSH_GROUPS".to_string(), groups.to_string())).into_iter().collect();
    let first = OfficeProcess::start_with(data, 20, database, env);
    let mut offices = vec![first];
    while offices.len() < processes {
        let another = offices[0].another();
        offices.push(another);
    }
    let office = Office::open_with(data, &Database::from_url(database)?)?;
    let village: VillageId = office.ledger().villages()?.first().map(|view| view.village.id).ok_or("no village")?;
    let devices = 200;
    let urls: Vec<String> = offices.iter().map(|office| office.url.clone()).collect();
    let fleet = crate::fleet::enroll(&office, &urls, devices, per_device, 25, village)?;
    let before = office.backend().head()?;
    let (latencies, wall) = crate::fleet::push_all(&fleet)
        .map_err(|err| format!("{err} (on {}, {processes} process(es))", office.backend().backend()))?;
    let total = (devices * per_device) as u64;
    let stored = office.backend().head()? - before;
    if stored != total {
        return Err(format!("the office sequenced {stored} of {total} events").into());
    }
    Ok(Ingest { rate: total as f64 / wall, p99_ms: crate::percentile(&latencies, 0.99), runs: String::new() })
}

struct Pulls {
    load_s: f64,
    /// (p50, p99) in ms.
    district: (f64, f64),
    village: (f64, f64),
}

/// An office holding `count` sequenced events, loaded straight into its tables, then timed pulls.
fn pulls(
    data: &std::path::Path,
    database: Option<&str>,
    server: &TestPostgres,
    count: u64,
) -> Result<Pulls, Box<dyn std::error::Error>> {
    let served = OfficeProcess::start_on(data, 50, database);
    let office = Office::open_with(data, &Database::from_url(database)?)?;
    let villages: Vec<VillageId> = office.ledger().villages()?.iter().map(|view| view.village.id).collect();
    let code = office.issue_enrollment("district", Role::Inspector, &[])?;
    let (district, _) = office.enroll(&code, DeviceId::new())?;
    let first_code =
        office.ledger().villages()?.first().map(|view| view.village.code().to_string()).unwrap_or_default();
    let code = office.issue_enrollment("village", Role::Secretary, &[first_code])?;
    let (village, _) = office.enroll(&code, DeviceId::new())?;

    let started = Instant::now();
    let rows = LedgerRows::new(&villages, count);
    match database {
        Some(url) => load_postgres(server, url, rows)?,
        None => load_sqlite(&office, rows)?,
    }
    let load_s = started.elapsed().as_secs_f64();
    if office.backend().head()? != count {
        return Err(format!("the load left head at {}, not {count}", office.backend().head()?).into());
    }
    let epoch = office.epoch().to_string();
    let transport = HttpTransport::new(&served.url);
    let mut rng = rectify_tests::SplitMix::new(7);
    let mut time = |token: &str, span: u64| -> Result<(f64, f64), Box<dyn std::error::Error>> {
        let mut ms = Vec::new();
        for _ in 0..200 {
            let through = rng.below(span.saturating_sub(1000).max(1));
            let cursor = Cursor { epoch: epoch.clone(), through }.encode();
            let request = HttpRequest::new(Method::Get, format!("/v1/pull?cursor={cursor}&limit=1000"))
                .header(PROTOCOL_HEADER, "1")
                .header("authorization", format!("Bearer {token}"))
                .header("accept-encoding", "gzip");
            let sent = Instant::now();
            let response = transport.send(&request)?;
            if response.status != 200 {
                return Err(
                    format!("pull answered {}: {}", response.status, String::from_utf8_lossy(&response.body)).into()
                );
            }
            ms.push(sent.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        Ok((crate::percentile(&ms, 0.5), crate::percentile(&ms, 0.99)))
    };
    let district = time(&district, count)?;
    let village = time(&village, count)?;
    Ok(Pulls { load_s, district, village })
}

/// Sequenced events with their running tallies, made as the office would have numbered them.
struct LedgerRows<'a> {
    villages: &'a [VillageId],
    count: u64,
    seq: u64,
    pending: std::vec::IntoIter<Event>,
    tallies: Vec<ScopeTally>,
    global: u64,
    device: DeviceId,
    device_seq: u64,
}

struct Row {
    event: Event,
    village: usize,
    village_tally: ScopeTally,
    global: u64,
}

impl<'a> LedgerRows<'a> {
    fn new(villages: &'a [VillageId], count: u64) -> Self {
        Self {
            villages,
            count,
            seq: 0,
            pending: Vec::new().into_iter(),
            tallies: vec![ScopeTally::default(); villages.len()],
            global: 0,
            device: DeviceId::new(),
            device_seq: 0,
        }
    }
}

impl Iterator for LedgerRows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.seq >= self.count {
            return None;
        }
        let event = match self.pending.next() {
            Some(event) => event,
            None => {
                // A new issue of five events in the next village, from a new device every 1000 events.
                if self.device_seq >= 1000 {
                    self.device = DeviceId::new();
                    self.device_seq = 0;
                }
                let village = self.villages[(self.seq / 5) as usize % self.villages.len()];
                let user = rectify_core::ids::UserId::new();
                let now = chrono::Utc::now().fixed_offset();
                self.pending = crate::issue_events(self.device, user, village, self.device_seq + 1, 5, now).into_iter();
                self.device_seq += 5;
                self.pending.next()?
            }
        };
        self.seq += 1;
        let village = (((self.seq - 1) / 5) as usize) % self.villages.len();
        let mut event = event;
        event.server_seq = Some(self.seq);
        event.verdict = Some(Verdict::Stored);
        self.tallies[village].add(event.event_id, self.seq);
        self.global = self.global.wrapping_add(event_digest(event.event_id, self.seq));
        Some(Row { event, village, village_tally: self.tallies[village], global: self.global })
    }
}

fn csv(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

/// Streams the rows into `office_events` with COPY.
fn load_postgres(server: &TestPostgres, url: &str, rows: LedgerRows<'_>) -> Outcome {
    let villages: Vec<String> = rows.villages.iter().map(ToString::to_string).collect();
    let mut child = Command::new(server.program("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c"])
        .arg(
            "COPY office_events (server_seq, event_id, device_id, device_seq, issue_id, village_id, body, verdict, \
             village_count, village_sum, global_sum) FROM STDIN WITH (FORMAT csv)",
        )
        .stdin(Stdio::piped())
        .spawn()?;
    {
        let mut input = std::io::BufWriter::new(child.stdin.take().ok_or("no stdin")?);
        for row in rows {
            let event = &row.event;
            writeln!(
                input,
                "{},{},{},{},{},{},{},{},{},{},{}",
                event.server_seq.unwrap_or(0),
                event.event_id,
                event.device_id,
                event.device_seq,
                event.issue_id,
                villages[row.village],
                csv(&serde_json::to_string(event)?),
                csv(&serde_json::to_string(&event.verdict)?),
                row.village_tally.count as i64,
                row.village_tally.sum as i64,
                row.global as i64,
            )?;
        }
    }
    if !child.wait()?.success() {
        return Err("COPY into office_events failed".into());
    }
    server.psql(url, "ANALYZE office_events");
    Ok(())
}

/// Inserts the rows into the office's `events` and `office_sequence` in one transaction.
fn load_sqlite(office: &Office, rows: LedgerRows<'_>) -> Outcome {
    let villages: Vec<String> = rows.villages.iter().map(ToString::to_string).collect();
    office.ledger().store().write(|tx| {
        let mut sequence = tx.prepare(
            "INSERT INTO office_sequence (server_seq, event_id, village_id, village_count, village_sum, global_sum)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for row in rows {
            rectify_core::store::events::insert(tx, &row.event)?;
            sequence.execute(rusqlite::params![
                row.event.server_seq.unwrap_or(0) as i64,
                row.event.event_id.to_string(),
                villages[row.village],
                row.village_tally.count as i64,
                row.village_tally.sum as i64,
                row.global as i64,
            ])?;
        }
        Ok::<_, rusqlite::Error>(())
    })?;
    Ok(())
}
