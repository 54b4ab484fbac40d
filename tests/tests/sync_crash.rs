//! Kill -9 the office while several devices are in the middle of syncing, start it again, sync again: no
//! event the office acknowledged is lost, and none is stored twice.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rectify_core::ledger::Ledger;
use rectify_core::sync::{Quiet, RetryPolicy, SyncOptions};
use rectify_tests::office::{OfficeProcess, enrolled_device, record_issues, village_codes};

/// (event_id → server_seq) of a device's own events the office has acknowledged, read from its file.
fn acknowledged(path: &std::path::Path) -> BTreeMap<String, i64> {
    let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut statement = db
        .prepare(
            "SELECT event_id, server_seq FROM events
             WHERE server_seq IS NOT NULL AND device_id = (SELECT device_id FROM device)",
        )
        .unwrap();
    statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn killing_the_office_mid_sync_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut office = OfficeProcess::start(&dir.path().join("office"), 4);
    let codes = village_codes(4);
    let devices: Vec<Ledger> = (0..4)
        .map(|n| {
            let ledger = enrolled_device(&office, dir.path(), &format!("inspector-{n}"), "inspector", &[]);
            record_issues(&ledger, &codes[n], 100, 3);
            ledger
        })
        .collect();
    let total = 4 * 400;
    let paths: Vec<_> = devices.iter().map(|ledger| ledger.store().path().unwrap().to_path_buf()).collect();
    let url = office.url.clone();
    let options = SyncOptions {
        push_events: 5,
        retry: RetryPolicy {
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(300),
            max_attempts: 50,
        },
        ..SyncOptions::default()
    };

    let (killed_at, snapshots) = std::thread::scope(|scope| {
        for ledger in &devices {
            let url = url.clone();
            scope.spawn(move || {
                let transport = rectify_core::sync::HttpTransport::new(&url);
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    match ledger.sync(&transport, options, &Quiet) {
                        Ok(report) if report.pending == 0 => break,
                        _ => std::thread::sleep(Duration::from_millis(50)),
                    }
                    assert!(Instant::now() < deadline, "a device never finished syncing");
                }
            });
        }
        // Kill the office once it holds a good part, but not all, of the events.
        let stored =
            || office.db().query_row("SELECT count(*) FROM events", [], |row| row.get::<_, i64>(0)).unwrap_or(0);
        let started = Instant::now();
        while stored() < 300 {
            assert!(started.elapsed() < Duration::from_secs(60), "the devices never got going");
            std::thread::sleep(Duration::from_millis(2));
        }
        office.kill9();
        // Nothing can be acknowledged while the office is down: what the devices hold now is the set of
        // acknowledged events that must survive.
        let snapshots: Vec<_> = paths.iter().map(|path| acknowledged(path)).collect();
        let killed_at = office.db().query_row("SELECT count(*) FROM events", [], |row| row.get::<_, i64>(0)).unwrap();
        std::thread::sleep(Duration::from_millis(400));
        office.restart();
        (killed_at, snapshots)
    });
    println!("the office was killed holding {killed_at} of {total} events");
    assert!(killed_at < total, "the kill came after everything was in ({killed_at}); it proved nothing");

    let db = office.db();
    let (all, distinct): (i64, i64) = db
        .query_row("SELECT count(*), count(DISTINCT event_id) FROM events", [], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    assert_eq!((all, distinct), (total, total), "every event exactly once");
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let at_office: BTreeMap<String, i64> = {
        let mut statement = db.prepare("SELECT event_id, server_seq FROM events").unwrap();
        statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    for (n, snapshot) in snapshots.iter().enumerate() {
        assert!(!snapshot.is_empty() || n > 0 || killed_at == 0);
        for (event, seq) in snapshot {
            assert_eq!(at_office.get(event), Some(seq), "acknowledged event {event} of device {n} survived as it was");
        }
        let now = acknowledged(&paths[n]);
        assert_eq!(now.len(), 400, "device {n} has every event acknowledged");
        for (event, seq) in &now {
            assert_eq!(at_office.get(event), Some(seq));
        }
        assert_eq!(devices[n].outbox().unwrap().pending_events, 0);
    }
}
