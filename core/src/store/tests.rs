//! Store tests on real files: opening, refusing foreign and newer files untouched, and migrations.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use super::fixtures::build_v1;
use super::*;
use crate::clock::ManualClock;
use crate::ledger::Ledger;
use crate::store::events;

fn file_bytes(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()
}

#[test]
fn a_fresh_file_gets_the_latest_schema_and_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = Store::open(&path, OpenMode::CreateIfMissing).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mode: String = store.read(|conn| conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))).unwrap();
    assert_eq!(mode, "wal");
    store.integrity_check().unwrap();
}

#[test]
fn a_missing_file_is_not_created_when_it_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = Store::open(&path, OpenMode::MustExist).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(!path.exists());
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, "shopping list: brooms, bin lids\n").unwrap();
    for mode in [OpenMode::MustExist, OpenMode::CreateIfMissing] {
        let err = Store::open(&path, mode).unwrap_err();
        assert!(matches!(err, StoreError::NotRectifyDatabase { .. }), "{err}");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
    assert_eq!(file_bytes(&path), b"shopping list: brooms, bin lids\n");
}

#[test]
fn another_programs_sqlite_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    Connection::open(&path).unwrap().execute_batch("CREATE TABLE songs (title TEXT)").unwrap();
    let before = file_bytes(&path);
    let err = Store::open(&path, OpenMode::MustExist).unwrap_err();
    assert!(matches!(err, StoreError::NotRectifyDatabase { .. }), "{err}");
    assert_eq!(file_bytes(&path), before);
    assert!(!dir.path().join("other.db-wal").exists());
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(Store::open(&path, OpenMode::CreateIfMissing).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 7).unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let before = file_bytes(&path);
    let err = Store::open(&path, OpenMode::MustExist).unwrap_err();
    assert!(err.to_string().contains(&format!("version {}", SCHEMA_VERSION + 7)), "{err}");
    assert!(matches!(err, StoreError::NewerSchema { .. }));
    assert_eq!(file_bytes(&path), before);
}

fn schema_of(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut statement = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Tables with their columns (name, type, not null, default, primary key), and index names with columns.
fn shape_of(conn: &Connection) -> BTreeSet<String> {
    let mut shape = BTreeSet::new();
    for (kind, name, table, _) in schema_of(conn) {
        let pragma = if kind == "table" { "table_info" } else { "index_info" };
        let mut columns = conn.prepare(&format!("SELECT * FROM pragma_{pragma}(?1)")).unwrap();
        let count = columns.column_count();
        let described: Vec<String> = columns
            .query_map([&name], |row| {
                Ok((0..count).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect::<Vec<_>>().join(" "))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        shape.insert(format!("{kind} {name} on {table}: {}", described.join(" | ")));
    }
    shape
}

#[test]
fn schema_sql_describes_the_migrated_schema() {
    let store = Store::open_in_memory().unwrap();
    let migrated = store.read(|conn| Ok::<_, rusqlite::Error>(shape_of(conn))).unwrap();
    let documented = Connection::open_in_memory().unwrap();
    documented.execute_batch(include_str!("schema.sql")).unwrap();
    assert_eq!(shape_of(&documented), migrated);
}

#[test]
fn a_version_1_file_with_unsynced_work_upgrades_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v1.db");
    let fixture = build_v1(&old, 5).unwrap();
    let version: u32 =
        Connection::open(&old).unwrap().pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    assert_eq!(version, 1);

    let clock = Arc::new(ManualClock::new(chrono::DateTime::parse_from_rfc3339("2026-11-03T08:00:00+08:00").unwrap()));
    let ledger = Ledger::open(&old, OpenMode::MustExist, clock).unwrap();
    assert_eq!(ledger.store().schema_version().unwrap(), SCHEMA_VERSION);
    ledger.store().integrity_check().unwrap();

    // Every pending event is still there, byte for byte as the domain sees it, and still queued.
    let outbox = ledger.outbox().unwrap();
    assert_eq!(outbox.pending_events, fixture.pending.len() as u64);
    let pending = ledger.store().read(|conn| events::pending(conn, 1000)).unwrap();
    assert_eq!(pending, fixture.pending);

    // The village kept its id and its code moved into the history.
    let list = ledger.negative_list(&fixture.village_code).unwrap();
    assert_eq!(list.village.id, fixture.village_id);
    assert_eq!(list.village.codes.len(), 1);
    assert_eq!(list.items.len(), fixture.issues.len());
    assert_eq!(list.awaiting_acceptance, 5);

    // The profile survived and the device carries on its sequence without a gap.
    let profile = ledger.profile().unwrap();
    assert_eq!(profile.device_id, fixture.device_id);
    assert_eq!(profile.villages, vec![fixture.village_id]);

    // The upgraded file has exactly the schema a fresh file gets.
    let fresh_path = dir.path().join("fresh.db");
    drop(Store::open(&fresh_path, OpenMode::CreateIfMissing).unwrap());
    let upgraded = schema_of(&Connection::open(&old).unwrap());
    let fresh = schema_of(&Connection::open(&fresh_path).unwrap());
    assert_eq!(upgraded, fresh);
}

#[test]
fn interrupt_stops_a_long_read_and_a_long_write_from_another_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("long.db"), OpenMode::CreateIfMissing).unwrap();
    let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n";
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // sqlite3_interrupt only reaches statements already running, so keep asking until both stop.
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(10));
                store.interrupt();
            }
        });
        let read = store.read(|conn| conn.query_row(endless, [], |row| row.get::<_, i64>(0)));
        let write = store.write(|tx| tx.query_row(endless, [], |row| row.get::<_, i64>(0)));
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        for outcome in [read, write] {
            let err = crate::RectifyError::from(outcome.unwrap_err());
            assert!(matches!(err, crate::RectifyError::Interrupted { .. }), "{err:?}");
        }
    });
    // The connections are usable afterwards.
    assert_eq!(store.read(|conn| conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))).unwrap(), 1);
}
