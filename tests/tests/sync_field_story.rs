//! The field story over real HTTP on loopback, every party a real process: an office (`rectify-office
//! serve`) and four phones driven through the `rectify` CLI, each with its own SQLite file.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rectify_core::ledger::Ledger;
use rectify_core::store::OpenMode;
use rectify_tests::office::{OfficeProcess, field_photo, point_in, test_clock, village_codes, workspace_bin};
use serde_json::Value;

struct Phone {
    db: PathBuf,
}

impl Phone {
    fn run(&self, args: &[&str]) -> Value {
        let output =
            Command::new(workspace_bin("rectify")).arg("--db").arg(&self.db).arg("--json").args(args).output().unwrap();
        assert!(
            output.status.success(),
            "rectify {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
    }

    fn sync(&self) -> Value {
        self.run(&["sync"])
    }

    /// (id, status, rework count) of every issue the phone holds, sorted.
    fn states(&self) -> Vec<(String, String, u64)> {
        let list = self.run(&["list"]);
        let mut states: Vec<_> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                (
                    item["id"].as_str().unwrap().to_string(),
                    item["status"].as_str().unwrap().to_string(),
                    item["rework_count"].as_u64().unwrap(),
                )
            })
            .collect();
        states.sort();
        states
    }

    fn ledger(&self) -> Ledger {
        Ledger::open(&self.db, OpenMode::MustExist, test_clock()).unwrap()
    }
}

fn enroll(office: &OfficeProcess, dir: &Path, name: &str, role: &str, villages: &[&str]) -> Phone {
    let code = office.enrollment_code(name, role, villages);
    let phone = Phone { db: dir.join(format!("{name}.db")) };
    let answer = phone.run(&["enroll", "--server", &office.url, "--code", &code]);
    assert_eq!(answer["user"], name);
    phone
}

#[test]
fn inspector_secretary_and_acceptor_converge_through_the_office() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 4);
    let codes = village_codes(4);
    let (home, elsewhere) = (codes[0].as_str(), codes[1].as_str());

    // 1. An inspector reports 3 issues with photos in the secretary's village (and one elsewhere), offline.
    let inspector = enroll(&office, dir.path(), "inspector-li", "inspector", &[]);
    let (lat, lon) = point_in(&inspector.ledger(), home);
    let mut reported = Vec::new();
    for n in 0..3 {
        let photo =
            field_photo(dir.path(), &format!("before-{n}.jpg"), 10 + n, lat, lon + f64::from(n) * 0.0005, (800, 600));
        let state = inspector.run(&[
            "report",
            "--category",
            "waste.bin_overflowing",
            "--lat",
            &lat.to_string(),
            "--lon",
            &(lon + f64::from(n) * 0.0005).to_string(),
            "--not-duplicate",
            "--photo",
            photo.to_str().unwrap(),
        ]);
        reported.push(state["issue_id"].as_str().unwrap().to_string());
    }
    let (other_lat, other_lon) = point_in(&inspector.ledger(), elsewhere);
    inspector.run(&[
        "report",
        "--category",
        "village.three_piles",
        "--lat",
        &other_lat.to_string(),
        "--lon",
        &other_lon.to_string(),
    ]);
    assert_eq!(inspector.run(&["status"])["outbox"]["pending_events"], 4);
    let report = inspector.sync();
    assert_eq!(report["pushed"], 4, "{report}");
    assert_eq!(report["photos_up"], 3, "{report}");
    assert_eq!(report["pending"], 0);

    // 2. The secretary of that village pulls, and gets only his village's issues.
    let secretary = enroll(&office, dir.path(), "secretary-wang", "secretary", &[home]);
    let seen: Vec<String> = secretary.states().into_iter().map(|(id, _, _)| id).collect();
    let mut expected = reported.clone();
    expected.sort();
    assert_eq!(seen, expected, "the secretary sees exactly his village's three issues");

    // 3. He strikes them off offline with after-photos, then syncs.
    for (n, id) in reported.iter().enumerate() {
        let after = field_photo(dir.path(), &format!("after-{n}.jpg"), 50 + n as u32, lat, lon, (800, 600));
        secretary.run(&["strike-off", id, "--photo", after.to_str().unwrap(), "--note", "cleared"]);
    }
    let report = secretary.sync();
    assert_eq!((report["pushed"].as_u64(), report["photos_up"].as_u64()), (Some(3), Some(3)), "{report}");

    // 4. An acceptor accepts one and rejects one.
    let acceptor = enroll(&office, dir.path(), "acceptor-zhao", "acceptor", &[]);
    acceptor.run(&["accept", &reported[0]]);
    acceptor.run(&["reject", &reported[1], "--reason", "the bin is still overflowing"]);
    assert_eq!(acceptor.sync()["pushed"], 2);

    // 5. Everyone syncs; every replica then shows identical states.
    let admin = enroll(&office, dir.path(), "admin-sun", "admin", &[]);
    for phone in [&inspector, &secretary, &acceptor, &admin] {
        let report = phone.sync();
        assert_eq!(report["pending"], 0, "{report}");
        assert!(report["rejected"].as_array().unwrap().is_empty(), "{report}");
    }
    let office_issues: Value = serde_json::from_str(&office.admin(&["issues"], &["--json"])).unwrap();
    let mut office_states: Vec<(String, String, u64)> = office_issues
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| {
            (
                issue["id"].as_str().unwrap().to_string(),
                issue["status"].as_str().unwrap().to_string(),
                issue["rework_count"].as_u64().unwrap(),
            )
        })
        .collect();
    office_states.sort();
    assert_eq!(office_states.len(), 4);
    let district = inspector.states();
    assert_eq!(district, office_states, "inspector and office agree");
    assert_eq!(acceptor.states(), office_states, "acceptor and office agree");
    assert_eq!(admin.states(), office_states, "admin and office agree");
    let village_only: Vec<_> = office_states.iter().filter(|(id, _, _)| reported.contains(id)).cloned().collect();
    assert_eq!(secretary.states(), village_only, "secretary and office agree on his village");
    let status_of = |id: &str| office_states.iter().find(|(issue, _, _)| issue == id).unwrap().1.clone();
    assert_eq!(status_of(&reported[0]), "accepted");
    assert_eq!(status_of(&reported[1]), "rejected");
    assert_eq!(status_of(&reported[2]), "strike_off_requested");

    // The office's negative lists and rates agree with the devices'.
    let office_ledger = Ledger::open(&office.data.join("office.db"), OpenMode::MustExist, test_clock()).unwrap();
    for code in [home, elsewhere] {
        let at_office = serde_json::to_value(office_ledger.negative_list(code).unwrap()).unwrap();
        for phone in [&inspector, &acceptor, &admin] {
            let on_phone = phone.run(&["negative", code]);
            for field in ["found", "rectified", "awaiting_acceptance", "remaining", "overdue", "rectification_rate"] {
                assert_eq!(on_phone[field], at_office[field], "{field} of {code}");
            }
        }
    }
    let on_secretary = secretary.run(&["negative", home]);
    let at_office = serde_json::to_value(office_ledger.negative_list(home).unwrap()).unwrap();
    assert_eq!(on_secretary["rectification_rate"], at_office["rectification_rate"]);
    assert_eq!(at_office["found"], 3);
    assert_eq!(at_office["rectified"], 1);

    // Photos crossed: the secretary has the thumbnails of the inspector's before-photos, and the photos
    // the phones took are confirmed, so pruning frees them.
    let detail = secretary.run(&["show", &reported[0]]);
    let photos = detail["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2, "before and after photos: {detail}");
    assert!(photos.iter().all(|photo| photo["photo"]["thumbnail"].is_object()), "{detail}");
    let pruned = inspector.run(&["photo", "prune"]);
    assert_eq!(pruned["photos"], 3, "{pruned}");
    // Full images come on request: the acceptor fetches the six evidence files, checked against their hashes.
    let full = acceptor.run(&["sync", "--full-photos"]);
    assert_eq!(full["photos_down"], 6, "{full}");
    let usage = acceptor.run(&["photo", "usage"]);
    assert!(usage["usage"]["evidence_bytes"].as_u64().unwrap() > 100_000, "{usage}");
}
