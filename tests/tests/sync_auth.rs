//! The office authorises every event itself, whatever the device claims. Each refusal comes back as a
//! verdict (or, for a bad credential, a 401), nothing refused is applied, and the device carries on.

#![allow(clippy::unwrap_used)]

use rectify_core::RectifyError;
use rectify_core::domain::issue::Status;
use rectify_core::domain::role::Role;
use rectify_core::ledger::{Command, Ledger};
use rectify_core::store::events;
use rectify_core::sync::wire::{PushRequest, PushResponse};
use rectify_core::sync::{Method, Transport};
use rectify_tests::office::{
    OfficeProcess, enrolled_device, raw_request, record_issues, sync, token_of, village_codes,
};

fn office_status(office: &OfficeProcess, issue: rectify_core::ids::IssueId) -> Option<String> {
    office.db().query_row("SELECT status FROM issues WHERE id = ?1", [issue.to_string()], |row| row.get(0)).ok()
}

fn office_event_count(office: &OfficeProcess) -> i64 {
    office.db().query_row("SELECT count(*) FROM events", [], |row| row.get(0)).unwrap()
}

/// Changes a device's own idea of who it is, behind the ledger's back (a tampered or buggy app).
fn tamper(ledger: &Ledger, sql: &str) {
    let db = rusqlite::Connection::open(ledger.store().path().unwrap()).unwrap();
    db.execute_batch(sql).unwrap();
}

#[test]
fn the_office_refuses_what_a_role_or_village_does_not_allow_and_devices_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 2);
    let codes = village_codes(2);
    let (mine, theirs) = (codes[0].as_str(), codes[1].as_str());
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let in_mine = record_issues(&inspector, mine, 1, 0)[0];
    sync(&inspector, &office).unwrap();
    let secretary = enrolled_device(&office, dir.path(), "secretary", "secretary", &[mine]);

    // A secretary's app that lets him act in another village: the office refuses it.
    let theirs_id = secretary.list(&Default::default()).unwrap();
    assert_eq!(theirs_id.len(), 1, "the secretary holds only his village's issue");
    let other_village =
        secretary.store().read(|conn| rectify_core::store::places::village_by_code(conn, theirs)).unwrap().unwrap().id;
    tamper(&secretary, &format!("INSERT INTO device_villages (village_id) VALUES ('{other_village}')"));
    let forged = record_issues(&secretary, theirs, 1, 0)[0];
    let before = office_event_count(&office);
    let answer = sync(&secretary, &office).unwrap();
    assert_eq!(answer.rejected.len(), 1, "{answer:?}");
    assert!(answer.rejected[0].reason.contains(theirs), "{}", answer.rejected[0].reason);
    assert_eq!(answer.pending, 0, "a refused event leaves the outbox");
    assert_eq!(office_status(&office, forged), None, "the refused report made no issue at the office");
    assert_eq!(office_event_count(&office), before + 1, "the refusal is on record");
    assert!(secretary.issue(forged).is_err(), "nor on the phone, once refused");
    assert_eq!(secretary.profile().unwrap().villages.len(), 1, "the office's villages are restored");

    // He carries on in his own village.
    let after = rectify_tests::office::field_photo(dir.path(), "after.jpg", 9, 36.38, 120.45, (320, 240));
    secretary.act(in_mine, &Command::StrikeOff { photos: vec![after], note: None }).unwrap();
    let answer = sync(&secretary, &office).unwrap();
    assert!(answer.rejected.is_empty(), "{answer:?}");
    assert_eq!(office_status(&office, in_mine).as_deref(), Some("strike_off_requested"));

    // An inspector's app that thinks it may accept: refused, and the issue stays where it was.
    sync(&inspector, &office).unwrap();
    tamper(&inspector, "UPDATE device SET role = 'acceptor'");
    inspector.act(in_mine, &Command::Accept { note: None }).unwrap();
    let answer = sync(&inspector, &office).unwrap();
    assert_eq!(answer.rejected.len(), 1, "{answer:?}");
    assert!(answer.rejected[0].reason.contains("may not accept"), "{}", answer.rejected[0].reason);
    assert_eq!(office_status(&office, in_mine).as_deref(), Some("strike_off_requested"));
    let state = inspector.issue(in_mine).unwrap().state;
    assert_eq!(state.status, Status::StrikeOffRequested, "the phone folds the refusal in");
    assert_eq!(state.conflicts.len(), 1);
    assert_eq!(inspector.profile().unwrap().role, Role::Inspector, "the office's role is restored");
    assert_eq!(inspector.outbox().unwrap().pending_events, 0);

    // Photos follow the same scope: the secretary cannot fetch a photo of the other village's issue.
    let elsewhere = rectify_tests::office::report_with_photo(&inspector, dir.path(), theirs, 21, (320, 240));
    assert_eq!(sync(&inspector, &office).unwrap().photos_up, 1);
    let hash = &elsewhere.before_photos[0];
    let fetch = |ledger: &Ledger| {
        let request = raw_request(&token_of(ledger), Method::Get, &format!("/v1/photos/{hash}"), Vec::new());
        office.transport().send(&request).unwrap().status
    };
    assert_eq!(fetch(&secretary), 404, "outside the secretary's villages");

    // The office's states and the phones' agree after all of it.
    let acceptor = enrolled_device(&office, dir.path(), "acceptor", "acceptor", &[]);
    assert_eq!(fetch(&acceptor), 200, "the district's acceptor sees it");
    for ledger in [&inspector, &secretary, &acceptor] {
        sync(ledger, &office).unwrap();
        assert_eq!(ledger.issue(in_mine).unwrap().state.status, Status::StrikeOffRequested);
    }
}

#[test]
fn revoked_forged_and_borrowed_credentials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let code = village_codes(1)[0].clone();
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let other = enrolled_device(&office, dir.path(), "other", "inspector", &[]);

    // A forged, a malformed and a missing token get a 401 with a readable body.
    for token in ["0123456789abcdef".repeat(4), "not-a-token".to_string()] {
        let response =
            office.transport().send(&raw_request(&token, Method::Get, "/v1/sync/state", Vec::new())).unwrap();
        assert_eq!(response.status, 401);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["error"], "unauthorised");
        assert!(body["message"].as_str().unwrap().contains("token"));
    }

    // One device replaying another's events under its own token: refused, nothing stored, nothing consumed.
    for _ in 0..3 {
        record_issues(&inspector, &code, 1, 0);
    }
    let borrowed = inspector.store().read(|conn| events::pending(conn, 10)).unwrap();
    let before = office_event_count(&office);
    let body = serde_json::to_vec(&PushRequest { events: borrowed, photos: Vec::new() }).unwrap();
    let response = office.transport().send(&raw_request(&token_of(&other), Method::Post, "/v1/push", body)).unwrap();
    assert_eq!(response.status, 200);
    let answer: PushResponse = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(answer.results.len(), 3);
    assert!(answer.results.iter().all(|result| result.server_seq.is_none()
        && matches!(&result.verdict, rectify_core::domain::event::Verdict::Refused { reason } if reason.contains("another device"))));
    assert_eq!(answer.acked_through, 0, "the other device's sequence did not move");
    assert_eq!(office_event_count(&office), before);
    let report_of_owner = sync(&inspector, &office).unwrap();
    assert_eq!((report_of_owner.pushed, report_of_owner.rejected.len()), (3, 0), "the real owner is not wedged");

    // A revoked device is refused and keeps its events; enrolled again, it sends them.
    let device = inspector.profile().unwrap().device_id.to_string();
    office.admin(&["revoke"], &["--device", &device]);
    record_issues(&inspector, &code, 1, 0);
    let before = office_event_count(&office);
    let err = sync(&inspector, &office).unwrap_err();
    assert!(matches!(err, RectifyError::NotPermitted { .. }), "{err}");
    assert!(err.to_string().contains("enroll"), "{err}");
    assert_eq!(office_event_count(&office), before);
    assert_eq!(inspector.outbox().unwrap().pending_events, 1);
    let code_again = office.enrollment_code("inspector", "inspector", &[]);
    inspector.enroll(&office.transport(), &office.url, &code_again).unwrap();
    let answer = sync(&inspector, &office).unwrap();
    assert_eq!((answer.pushed, answer.pending), (1, 0));
    // A used code does not work twice.
    let err = other.enroll(&office.transport(), &office.url, &code_again).unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}

#[test]
fn the_enrollment_link_for_a_qr_code_enrolls_a_phone_and_a_bad_server_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let link = office.enrollment_link("Zheng Inspector", "inspector", &[]);
    let query = link.strip_prefix("rectify://enroll?").unwrap_or_else(|| panic!("not an enrollment link: {link}"));
    let value = |name: &str| {
        let raw = query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap();
        // Only the URL's own punctuation is escaped in these values.
        raw.replace("%3A", ":").replace("%2F", "/")
    };
    assert_eq!(value("server"), office.url);
    let phone = Ledger::open(
        &dir.path().join("phone.db"),
        rectify_core::store::OpenMode::CreateIfMissing,
        std::sync::Arc::new(rectify_core::clock::SystemClock),
    )
    .unwrap();
    phone.enroll(&office.transport(), &value("server"), &value("code")).unwrap();
    assert_eq!(phone.profile().unwrap().user_name, "Zheng Inspector");

    let refused =
        office.admin_output(&["enroll"], &["--user", "Li", "--role", "inspector", "--server", "office.example.org"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--server must be the office's address"), "{stderr}");
}
