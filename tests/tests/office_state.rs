//! Regression: the office once judged an event before numbering it, so the issue state it saved said the
//! last event applied was still pending (no `server_seq`), and its state JSON differed from every device's
//! (found by the seeded simulation while the sync was built). The office's saved state must record the office
//! number of the last event applied, exactly as the devices fold it.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use rectify_core::domain::role::Role;
use rectify_core::ledger::{Command, Ledger};
use rectify_core::store::OpenMode;
use rectify_core::sync::Quiet;
use rectify_tests::inproc::{Direct, OfficeNode};
use rectify_tests::office::{fast_options, fixed_clock, record_issues, village_codes, villages_geojson};

#[test]
fn the_office_saves_each_state_with_the_office_number_of_its_last_event() {
    let dir = tempfile::tempdir().unwrap();
    let node = OfficeNode::open(&dir.path().join("office"));
    node.office.ledger().import_boundaries(&villages_geojson(dir.path(), 2), &Default::default()).unwrap();
    let code = node.office.issue_enrollment("li", Role::Inspector, &[]).unwrap();
    let office = Mutex::new(node);
    let phone =
        Ledger::open(&dir.path().join("li.db"), OpenMode::CreateIfMissing, fixed_clock("2026-11-02T09:00:00+08:00"))
            .unwrap();
    phone.enroll(&Direct(&office), "inproc://office", &code).unwrap();
    phone.sync(&Direct(&office), fast_options(), &Quiet).unwrap();
    let issues = record_issues(&phone, &village_codes(1)[0], 2, 1);
    phone.sync(&Direct(&office), fast_options(), &Quiet).unwrap();
    phone.act(issues[0], &Command::Comment { text: "again".into() }).unwrap();
    phone.sync(&Direct(&office), fast_options(), &Quiet).unwrap();

    let db = rusqlite::Connection::open(dir.path().join("office").join("office.db")).unwrap();
    for issue in &issues {
        let (state, last): (String, i64) = db
            .query_row(
                "SELECT state, (SELECT max(server_seq) FROM events WHERE issue_id = ?1) FROM issues WHERE id = ?1",
                [issue.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let state: serde_json::Value = serde_json::from_str(&state).unwrap();
        assert_eq!(state["applied_through"]["server_seq"].as_i64(), Some(last), "issue {issue}: {state}");
        let on_phone = phone.issue(*issue).unwrap().state;
        assert_eq!(serde_json::to_value(&on_phone).unwrap(), state, "issue {issue} differs between phone and office");
    }
}
