//! `bench -- sync`: the office and devices over loopback HTTP, in one process (the office on its own tokio
//! runtime). Pull: one device pushes N events, another pulls them. Ingest: 200 simulated devices push at
//! once. The anchor is a raw SQLite bulk insert of the same events into a table shaped like `events`, on
//! the same disk, in the same run.

use std::sync::Arc;
use std::time::Instant;

use rectify_core::clock::SystemClock;
use rectify_core::domain::event::Event;
use rectify_core::domain::role::Role;
use rectify_core::ids::VillageId;
use rectify_core::ledger::{Command, Ledger, NewReport};
use rectify_core::store::OpenMode;
use rectify_core::sync::{HttpTransport, Quiet, SyncOptions};
use rectify_office::Office;
use serde_json::json;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn line(metric: &str, value: f64, unit: &str, anchor: &str, anchor_value: f64, ratio: f64, note: String) {
    let round = |value: f64| (value * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "suite": "sync", "metric": metric, "value": round(value), "unit": unit, "anchor": anchor,
            "anchor_value": round(anchor_value), "ratio": round(ratio), "note": note,
        })
    );
}

/// The office on loopback, with `villages` synthetic villages.
struct Served {
    office: Arc<Office>,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

fn serve(dir: &std::path::Path, villages: usize) -> Result<Served, Box<dyn std::error::Error>> {
    let office = Office::open(&dir.join("office"))?;
    let named: Vec<(String, String)> =
        (1..=villages).map(|n| (format!("370215400{n:03}"), format!("Bench village {n}"))).collect();
    let (_, shapes) = rectify_core::geo::synthetic::for_villages(&named, 36.38, 120.45, 900.0, 3);
    let file = dir.join("villages.geojson");
    std::fs::write(&file, rectify_core::geo::synthetic::labelled_feature_collection(&shapes).to_string())?;
    office.ledger().import_boundaries(&file, &Default::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(rectify_office::http::serve(office.clone(), listener, std::future::pending()));
    Ok(Served { office, url, _runtime: runtime })
}

fn device(
    served: &Served,
    dir: &std::path::Path,
    name: &str,
    role: Role,
) -> Result<Ledger, Box<dyn std::error::Error>> {
    let code = served.office.issue_enrollment(name, role, &[])?;
    let ledger = Ledger::open(&dir.join(format!("{name}.db")), OpenMode::CreateIfMissing, Arc::new(SystemClock))?;
    let transport = HttpTransport::new(&served.url);
    ledger.enroll(&transport, &served.url, &code)?;
    ledger.sync(&transport, SyncOptions::default(), &Quiet)?;
    Ok(ledger)
}

/// The anchor: the same events inserted into a plain table shaped like `events`, one transaction.
fn raw_insert(dir: &std::path::Path, events: &[Event]) -> Result<f64, Box<dyn std::error::Error>> {
    let mut conn = rusqlite::Connection::open(dir.join("anchor.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE events (event_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, device_id TEXT NOT NULL,
             device_seq INTEGER NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL, body_version INTEGER NOT NULL,
             body TEXT NOT NULL, hlc INTEGER NOT NULL, recorded_at TEXT NOT NULL, parents TEXT NOT NULL,
             photos TEXT NOT NULL, server_seq INTEGER UNIQUE, verdict TEXT, UNIQUE (device_id, device_seq))",
    )?;
    // Rows are prepared (as a sync page would have them decoded) before the clock starts.
    let rows: Vec<_> = events
        .iter()
        .map(|event| {
            let raw = event.body.to_raw();
            (
                event.event_id.to_string(),
                event.issue_id.to_string(),
                event.device_id.to_string(),
                event.device_seq as i64,
                event.author.to_string(),
                raw.kind,
                raw.data.to_string(),
                event.hlc.raw() as i64,
                event.recorded_at.to_rfc3339(),
                serde_json::to_string(&event.parents).unwrap_or_default(),
                event.server_seq.map(|seq| seq as i64),
            )
        })
        .collect();
    let start = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, '[]', ?11, '{\"verdict\":\"stored\"}')",
        )?;
        for row in &rows {
            insert.execute(rusqlite::params![
                row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, row.10
            ])?;
        }
    }
    tx.commit()?;
    Ok(rows.len() as f64 / start.elapsed().as_secs_f64())
}

pub fn run(quick: bool) -> Outcome {
    let dir = tempfile::tempdir()?;
    let served = serve(dir.path(), 20)?;
    let issues = if quick { 1_000 } else { 10_000 };
    let writer = device(&served, dir.path(), "writer", Role::Admin)?;
    let reader = device(&served, dir.path(), "reader", Role::Acceptor)?;

    // Five events per issue: reported, assigned, commented, struck off, accepted.
    let places: Vec<(String, f64, f64)> = writer.store().read(|conn| {
        use geo::InteriorPoint;
        let all = rectify_core::store::boundaries::all(conn)?;
        Ok::<_, rusqlite::Error>(
            all.into_iter()
                .filter_map(|boundary| {
                    boundary.shape.interior_point().map(|point| (boundary.code, point.y(), point.x()))
                })
                .collect(),
        )
    })?;
    let started = Instant::now();
    for block in 0..issues / 500 {
        writer.batch(|batch| {
            for n in 0..500 {
                let index = block * 500 + n;
                let (code, lat, lon) = &places[index % places.len()];
                let state = batch.report(&NewReport {
                    category: "waste.bin_overflowing".into(),
                    village_code: Some(code.clone()),
                    lat: *lat,
                    lon: *lon,
                    note: Some("Bins overflowing by the east gate".into()),
                    ..NewReport::default()
                })?;
                batch.act(state.id, &Command::Assign { deadline: None })?;
                batch.act(state.id, &Command::Comment { text: "village told by phone".into() })?;
                batch.act(state.id, &Command::StrikeOff { photos: Vec::new(), note: Some("emptied".into()) })?;
                batch.act(state.id, &Command::Accept { note: None })?;
            }
            Ok(())
        })?;
    }
    let recorded_s = started.elapsed().as_secs_f64();
    let total = writer.outbox()?.pending_events;

    let transport = HttpTransport::new(&served.url);
    let options = SyncOptions { push_events: 1000, page_size: 5000, ..SyncOptions::default() };
    let started = Instant::now();
    let pushed = writer.sync(&transport, options, &Quiet)?;
    let push_s = started.elapsed().as_secs_f64();
    if pushed.pushed != total || pushed.pending != 0 {
        return Err(format!("pushed {} of {total} events", pushed.pushed).into());
    }
    let started = Instant::now();
    let pulled = reader.sync(&transport, options, &Quiet)?;
    let pull_s = started.elapsed().as_secs_f64();
    if pulled.pulled != total {
        return Err(format!("pulled {} of {total} events", pulled.pulled).into());
    }
    let held =
        reader.store().read(|conn| conn.query_row("SELECT count(*) FROM events", [], |row| row.get::<_, i64>(0)))?;
    if held as u64 != total {
        return Err(format!("the reader holds {held} events, not {total}").into());
    }
    let events = reader.store().read(|conn| {
        let sql = format!("SELECT {} FROM events ORDER BY server_seq", rectify_core::store::events::COLUMNS);
        conn.prepare(&sql)?.query_map([], rectify_core::store::events::from_row)?.collect::<rusqlite::Result<Vec<_>>>()
    })?;
    let plain_bytes: usize =
        events.iter().map(|event| serde_json::to_vec(event).map(|bytes| bytes.len()).unwrap_or(0)).sum();
    let anchor_dir = tempfile::tempdir_in(dir.path())?;
    let anchor = raw_insert(anchor_dir.path(), &events)?;
    let anchor_name =
        "raw SQLite bulk insert of the same events into an events-shaped table, one transaction (events/s)";
    let pull_rate = total as f64 / pull_s;
    let push_rate = total as f64 / push_s;
    line(
        "pull_events_per_s",
        pull_rate,
        "events/s",
        anchor_name,
        anchor,
        pull_rate / anchor,
        format!(
            "{total} events of {issues} issues pulled over loopback HTTP in pages of 5000 (gzip), applied with \
             cursor and tally in each page's transaction; includes the office's reads; target ratio >= 0.25"
        ),
    );
    line(
        "push_events_per_s",
        push_rate,
        "events/s",
        anchor_name,
        anchor,
        push_rate / anchor,
        format!(
            "{total} events pushed in batches of 1000, judged and sequenced by the office; recording them took {recorded_s:.1} s"
        ),
    );
    let per_event = pulled.bytes_down as f64 / total as f64;
    line(
        "pull_bytes_per_event",
        per_event,
        "bytes",
        "the same events as uncompressed JSON (bytes/event)",
        plain_bytes as f64 / total as f64,
        per_event / (plain_bytes as f64 / total as f64),
        "bytes received by the pulling device (pages, hello, reference data) per event; target <= 150".to_string(),
    );

    ingest(&served, if quick { 20 } else { 100 }, anchor, anchor_name)
}

/// 200 simulated devices pushing prebuilt batches at once; their events are valid (enrolled users,
/// known villages), so the office judges and stores every one.
fn ingest(served: &Served, per_device: usize, anchor: f64, anchor_name: &str) -> Outcome {
    let devices = 200;
    let batch = 25;
    let village: VillageId = {
        let villages = served.office.ledger().villages()?;
        villages.first().map(|view| view.village.id).ok_or("no village")?
    };
    let fleet =
        crate::fleet::enroll(&served.office, std::slice::from_ref(&served.url), devices, per_device, batch, village)?;
    let (latencies, wall) = crate::fleet::push_all(&fleet)?;
    let total = devices * per_device;
    let stored: i64 = served.office.ledger().store().read(|conn| {
        conn.query_row("SELECT count(*) FROM events WHERE device_id IN (SELECT device_id FROM office_devices d JOIN office_users u ON u.id = d.user_id WHERE u.name LIKE 'field-%')", [], |row| row.get(0))
    })?;
    if stored as usize != total {
        return Err(format!("the office stored {stored} of {total} events").into());
    }
    let pick = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    let rate = total as f64 / wall;
    line(
        "office_ingest_events_per_s",
        rate,
        "events/s",
        anchor_name,
        anchor,
        rate / anchor,
        format!(
            "{devices} devices at once, {per_device} events each in gzip batches of {batch}, each judged (role, village, \
             state machine) and sequenced with synchronous=FULL; target >= 10000 events/s"
        ),
    );
    let batch_anchor_ms = batch as f64 / anchor * 1000.0;
    line(
        "office_push_p99_ms",
        pick(0.99),
        "ms",
        "raw SQLite insert time of one batch at the anchor's rate (ms)",
        batch_anchor_ms,
        pick(0.99) / batch_anchor_ms,
        format!("p50 {:.1} ms over {} pushes from {devices} concurrent devices", pick(0.5), latencies.len()),
    );
    Ok(())
}
