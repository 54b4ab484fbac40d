//! What must hold once devices and the office are quiet, read straight from their SQLite files: every event
//! a device committed is at the office; each device holds exactly the office's events for its scope, folded
//! into the same states; outboxes are empty; cursors stand at the office's head; every photo an event
//! brings is at the office under its hash; every event that did not take effect, and every edit whose value
//! a concurrent edit replaced, is shown as a conflict on its issue, with both events kept. Shared by the
//! simulation and the chaos run. [`check_cursor`] holds at any moment, not only when quiet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

fn open(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn rows(conn: &Connection, sql: &str) -> BTreeMap<String, String> {
    let mut statement = conn.prepare(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .map(|row| row.unwrap_or_else(|err| panic!("{sql}: {err}")))
        .collect()
}

/// Checks the invariants for the office data directory `office` and the device databases `devices`;
/// `label` (a seed, a run name) prefixes every failure. Returns the number of events at the office.
pub fn check_converged(label: &str, office: &Path, devices: &[&Path]) -> usize {
    let db = open(&office.join("office.db"));
    let office_events = rows(&db, "SELECT event_id, server_seq || '/' || coalesce(verdict, '') FROM events");
    let office_states = rows(&db, "SELECT id, state FROM issues");
    let scoped = rows(&db, "SELECT event_id, coalesce(village_id, '') FROM office_sequence");
    let head: i64 = db
        .query_row("SELECT coalesce(max(server_seq), 0) FROM office_sequence", [], |row| row.get(0))
        .unwrap_or_else(|err| panic!("{err}"));
    for path in devices {
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let conn = open(path);
        let (device, role): (String, String) = conn
            .query_row("SELECT device_id, role FROM device", [], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap_or_else(|err| panic!("{label}: {name}: {err}"));
        let scope: BTreeSet<String> =
            rows(&conn, "SELECT village_id, village_id FROM device_villages").into_keys().collect();
        let own = rows(&conn, &format!("SELECT event_id, device_seq || '' FROM events WHERE device_id = '{device}'"));
        let held = rows(&conn, "SELECT event_id, server_seq || '/' || coalesce(verdict, '') FROM events");
        let states = rows(&conn, "SELECT id, state FROM issues");
        let outbox: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |row| row.get(0)).unwrap_or(-1);
        let cursor: String = conn.query_row("SELECT cursor FROM sync_state", [], |row| row.get(0)).unwrap_or_default();
        assert_eq!(outbox, 0, "{label}: {name}'s outbox did not drain");
        for event in own.keys() {
            assert!(office_events.contains_key(event), "{label}: {name}'s event {event} never reached the office");
        }
        let in_scope: BTreeMap<&String, &String> = office_events
            .iter()
            .filter(|(event, _)| {
                role != "secretary" || scoped.get(*event).is_some_and(|village| scope.contains(village))
            })
            .collect();
        let compared: BTreeMap<&String, &String> =
            held.iter().filter(|(event, _)| in_scope.contains_key(event) || !own.contains_key(*event)).collect();
        assert_eq!(compared, in_scope, "{label}: {name} does not hold exactly the office's events for its scope");
        for (issue, state) in &states {
            assert_eq!(Some(state), office_states.get(issue), "{label}: {name} folds issue {issue} differently");
        }
        assert!(cursor.ends_with(&format!(".{head}")), "{label}: {name}'s cursor {cursor} is not at the head {head}");
    }
    check_conflicts(label, &db);
    let referenced: Vec<String> = rows(&db, "SELECT DISTINCT hash, hash FROM event_photos").into_keys().collect();
    let present = rows(&db, "SELECT hash, coalesce(path, '') FROM office_photos WHERE present = 1");
    for hash in referenced {
        let path = present.get(&hash).unwrap_or_else(|| panic!("{label}: photo {hash} never arrived"));
        let bytes = std::fs::read(office.join("photos").join(path)).unwrap_or_else(|err| panic!("{label}: {err}"));
        assert_eq!(rectify_core::domain::photo::PhotoHash::of_bytes(&bytes).as_str(), hash, "{label}: photo file");
    }
    office_events.len()
}

/// Every issue's fold accounts for each of its events, and shows as a conflict each event that did not take
/// effect (refused by the office, or illegal where it landed) and each edit replaced without being seen;
/// the events on both sides of every conflict are kept.
fn check_conflicts(label: &str, db: &Connection) {
    let events = rows(db, "SELECT event_id, issue_id FROM events");
    let refused =
        rows(db, "SELECT event_id, issue_id FROM events WHERE json_extract(verdict, '$.verdict') = 'refused'");
    let states = rows(db, "SELECT id, state FROM issues");
    for (issue, state) in &states {
        let state: serde_json::Value =
            serde_json::from_str(state).unwrap_or_else(|err| panic!("{label}: issue {issue}: {err}"));
        let held = events.values().filter(|of| *of == issue).count() as u64;
        assert_eq!(state["event_count"].as_u64(), Some(held), "{label}: issue {issue} does not fold all its events");
        let conflicts = state["conflicts"].as_array().cloned().unwrap_or_default();
        let named = |key: &str| -> Vec<String> {
            conflicts.iter().filter_map(|conflict| conflict[key].as_str().map(str::to_string)).collect()
        };
        for event in named("event_id").iter().chain(&named("superseded_by")) {
            assert!(events.contains_key(event), "{label}: issue {issue} names a conflict with {event}, which is gone");
        }
        for (event, _) in refused.iter().filter(|(_, of)| *of == issue) {
            assert!(
                named("event_id").contains(event),
                "{label}: the refused event {event} is not shown as a conflict on issue {issue}"
            );
        }
    }
}

/// The device's cursor never stands ahead of what it applied: every event of its scope that the office
/// numbered at or below the cursor is in the device's ledger.
pub fn check_cursor(label: &str, office: &Path, device: &Path) {
    let db = open(&office.join("office.db"));
    let conn = open(device);
    let cursor: String = conn.query_row("SELECT cursor FROM sync_state", [], |row| row.get(0)).unwrap_or_default();
    let Some(through) = cursor.rsplit_once('.').and_then(|(_, seq)| seq.parse::<i64>().ok()) else {
        return;
    };
    let role: String = conn.query_row("SELECT role FROM device", [], |row| row.get(0)).unwrap_or_default();
    let scope: BTreeSet<String> =
        rows(&conn, "SELECT village_id, village_id FROM device_villages").into_keys().collect();
    let held = rows(&conn, "SELECT event_id, '' FROM events");
    let numbered = rows(
        &db,
        &format!("SELECT event_id, coalesce(village_id, '') FROM office_sequence WHERE server_seq <= {through}"),
    );
    for (event, village) in numbered {
        if role == "secretary" && !scope.contains(&village) {
            continue;
        }
        assert!(
            held.contains_key(&event),
            "{label}: {}'s cursor {cursor} is past event {event}, which it never applied",
            device.display()
        );
    }
}
