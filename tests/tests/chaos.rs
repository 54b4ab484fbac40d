//! Chaos with real processes on loopback: `rectify-office serve` and five phones driven through the
//! `rectify` CLI, each its own process on its own SQLite file. Phones report, strike off and judge while
//! `rectify sync` processes are killed with SIGKILL at random moments and the office is killed and started
//! again under load. Then the network stays up, everyone syncs until quiet, and the invariants of
//! `rectify_tests::invariants` must hold. The seed (choices and timings) is printed; `CHAOS_SEED=…` reruns it.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use rectify_core::ledger::Ledger;
use rectify_core::store::OpenMode;
use rectify_tests::SplitMix;
use rectify_tests::office::{OfficeProcess, field_photo, point_in, test_clock, village_codes, workspace_bin};

fn rectify(db: &Path, args: &[&str]) -> Option<serde_json::Value> {
    let output = Command::new(workspace_bin("rectify")).arg("--db").arg(db).arg("--json").args(args).output().unwrap();
    output.status.success().then(|| serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null))
}

/// Runs `rectify sync`, killing it with SIGKILL after `kill_after` when given.
fn sync_process(db: &Path, kill_after: Option<Duration>) -> bool {
    let mut child = Command::new(workspace_bin("rectify"))
        .arg("--db")
        .arg(db)
        .args(["--json", "sync", "--attempts", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(delay) = kill_after {
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        return false;
    }
    child.wait().is_ok_and(|status| status.success())
}

struct Phone {
    db: PathBuf,
    role: &'static str,
    villages: Vec<String>,
}

#[test]
fn processes_killed_at_random_leave_nothing_lost_or_doubled() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(rectify_tests::seed_from_clock);
    println!("chaos seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let office = Mutex::new(OfficeProcess::start(&dir.path().join("office"), 3));
    let codes = village_codes(3);
    let url = office.lock().unwrap().url.clone();
    let cast: Vec<(&str, &'static str, Vec<String>)> = vec![
        ("inspector-a", "inspector", vec![]),
        ("inspector-b", "inspector", vec![]),
        ("secretary-1", "secretary", vec![codes[0].clone()]),
        ("secretary-23", "secretary", vec![codes[1].clone(), codes[2].clone()]),
        ("acceptor", "acceptor", vec![]),
    ];
    let mut phones = Vec::new();
    for (name, role, villages) in cast {
        let village_args: Vec<&str> = villages.iter().map(String::as_str).collect();
        let code = office.lock().unwrap().enrollment_code(name, role, &village_args);
        let db = dir.path().join(format!("{name}.db"));
        rectify(&db, &["enroll", "--server", &url, "--code", &code]).expect("enroll");
        phones.push(Phone { db, role, villages });
    }
    let points: Vec<(String, (f64, f64))> = {
        let ledger = Ledger::open(&phones[0].db, OpenMode::MustExist, test_clock()).unwrap();
        codes.iter().map(|code| (code.clone(), point_in(&ledger, code))).collect()
    };

    let steps = 30;
    let kills = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (index, phone) in phones.iter().enumerate() {
            let (points, kills) = (&points, &kills);
            let dir = dir.path();
            scope.spawn(move || {
                let mut rng = SplitMix::new(seed ^ (index as u64 + 1));
                for step in 0..steps {
                    let (code, (lat, lon)) = match phone.role {
                        "secretary" => {
                            let code = &phone.villages[rng.below(phone.villages.len() as u64) as usize];
                            points.iter().find(|(known, _)| known == code).unwrap().clone()
                        }
                        _ => points[rng.below(points.len() as u64) as usize].clone(),
                    };
                    if rng.below(2) == 0 {
                        let kill = (rng.below(100) < 40).then(|| Duration::from_millis(rng.below(60)));
                        if kill.is_some() {
                            kills.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        sync_process(&phone.db, kill);
                        continue;
                    }
                    let photo = field_photo(
                        dir,
                        &format!("{index}-{step}.jpg"),
                        (index * 100 + step) as u32,
                        lat,
                        lon,
                        (320, 240),
                    );
                    let photo = photo.to_str().unwrap();
                    let issues = rectify(&phone.db, &["list"]).unwrap_or_default();
                    let pick = issues.as_array().and_then(|items| {
                        (!items.is_empty())
                            .then(|| items[rng.below(items.len() as u64) as usize]["id"].as_str().unwrap().to_string())
                    });
                    match (phone.role, pick) {
                        // Corrections race with the acceptor's: both inspectors and the acceptor edit notes.
                        ("inspector" | "acceptor", Some(issue)) if rng.below(4) == 0 => {
                            rectify(&phone.db, &["edit", &issue, "--note", &format!("corrected by {index} at {step}")]);
                        }
                        ("inspector", _) => {
                            rectify(
                                &phone.db,
                                &[
                                    "report",
                                    "--category",
                                    "village.scattered_garbage",
                                    "--village",
                                    &code,
                                    "--lat",
                                    &lat.to_string(),
                                    "--lon",
                                    &lon.to_string(),
                                    "--not-duplicate",
                                    "--photo",
                                    photo,
                                ],
                            );
                        }
                        ("secretary", Some(issue)) => {
                            rectify(&phone.db, &["strike-off", &issue, "--photo", photo]);
                        }
                        ("acceptor", Some(issue)) => {
                            if rng.below(2) == 0 {
                                rectify(&phone.db, &["accept", &issue]);
                            } else {
                                rectify(&phone.db, &["reject", &issue, "--reason", "not yet"]);
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
        // The office dies under load, three times.
        let mut rng = SplitMix::new(seed);
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(200 + rng.below(600)));
            let mut office = office.lock().unwrap();
            office.kill9();
            std::thread::sleep(Duration::from_millis(rng.below(300)));
            office.restart();
        }
    });

    // Quiet: everyone syncs until nothing moves.
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut moved = false;
        for phone in &phones {
            let report = rectify(&phone.db, &["sync"])
                .unwrap_or_else(|| panic!("seed {seed}: {} cannot sync", phone.db.display()));
            moved |= ["pushed", "pulled", "photos_up", "pending"].iter().any(|key| report[key].as_u64() != Some(0));
        }
        if !moved {
            break;
        }
        assert!(rounds <= 6, "seed {seed}: not quiet after {rounds} rounds");
    }
    let office = office.into_inner().unwrap();
    let data = office.data.clone();
    drop(office);
    let paths: Vec<&Path> = phones.iter().map(|phone| phone.db.as_path()).collect();
    let events = rectify_tests::invariants::check_converged(&format!("chaos seed {seed}"), &data, &paths);
    let kills = kills.into_inner();
    println!(
        "chaos seed {seed}: {events} events at the office, all accounted for; {kills} sync processes and the office 3 times killed with SIGKILL"
    );
    assert!(events > 10, "the run produced too little to mean anything");
}
