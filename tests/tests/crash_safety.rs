//! Crash safety: a child process writes bursts into a real SQLite file and is killed with SIGKILL at
//! random moments, many times over the same file. After each kill the database must open, pass
//! `PRAGMA integrity_check`, hold every write the child acknowledged, and hold no write half-done: each
//! issue's stored state equals the fold of its stored events, every event is in the outbox, the device
//! sequence has no gap, and every photo row has its whole file.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rectify_core::clock::SystemClock;
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::role::Role;
use rectify_core::ids::IssueId;
use rectify_core::ledger::{Ledger, NewVillage};
use rectify_core::store::{OpenMode, events, issues};
use rectify_tests::SplitMix;

const VILLAGE: &str = "990001001001";
const KILLS: usize = 25;

#[test]
fn acknowledged_writes_survive_sigkill_whole() {
    let seed =
        std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rectify_tests::seed_from_clock);
    println!("crash test seed {seed} (rerun with CRASH_SEED={seed})");
    let mut rng = SplitMix::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("device.db");
    {
        let ledger = Ledger::open(&db, OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
        ledger
            .upsert_village(&NewVillage { code: VILLAGE.into(), name: "Crash Village".into(), ..NewVillage::default() })
            .unwrap();
        ledger.init("crash tester", Role::Inspector, &[]).unwrap();
    }
    let mut acknowledged: HashMap<IssueId, u32> = HashMap::new();
    let mut total_acks = 0usize;
    for kill in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
            .arg(&db)
            .arg(VILLAGE)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let acks = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let acks = acks.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    acks.lock().unwrap().push(line);
                }
            })
        };
        // Wait for the child to get going, then kill it a random while later, mid-burst.
        let started = Instant::now();
        while acks.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(20) {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("writer exited early with {status}: {err} (seed {seed})");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(rng.below(60_000)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();

        for line in acks.lock().unwrap().iter() {
            let mut parts = line.split_whitespace();
            assert_eq!(parts.next(), Some("ack"), "unexpected output {line:?}");
            let issue: IssueId = parts.next().unwrap().parse().unwrap();
            let events: u32 = parts.next().unwrap().parse().unwrap();
            let seen = acknowledged.entry(issue).or_default();
            *seen = (*seen).max(events);
            total_acks += 1;
        }
        check(&db, &acknowledged, seed, kill);
    }
    assert!(total_acks >= KILLS, "the writer should have acknowledged work before most kills (seed {seed})");
    println!("{KILLS} kills, {total_acks} acknowledged writes, {} issues, all intact", acknowledged.len());
}

fn check(db: &std::path::Path, acknowledged: &HashMap<IssueId, u32>, seed: u64, kill: usize) {
    let context = format!("after kill {kill} (seed {seed})");
    let ledger = Ledger::open(db, OpenMode::MustExist, Arc::new(SystemClock)).unwrap();
    ledger.store().integrity_check().unwrap_or_else(|err| panic!("{context}: {err}"));
    ledger
        .store()
        .read(|conn| {
            for (issue, events_acked) in acknowledged {
                let state = issues::load_state(conn, *issue)?
                    .unwrap_or_else(|| panic!("{context}: acknowledged issue {issue} lost"));
                assert!(state.event_count >= *events_acked, "{context}: issue {issue} lost events");
            }
            let ids: Vec<String> =
                conn.prepare("SELECT id FROM issues")?.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
            for id in ids {
                let id: IssueId = id.parse().unwrap();
                let stored = issues::load_state(conn, id)?.unwrap();
                let history = events::for_issue(conn, id)?;
                assert_eq!(
                    Some(stored),
                    IssueState::fold(&history),
                    "{context}: issue {id} state differs from its events"
                );
            }
            let (events, outbox, max_seq, next_seq): (i64, i64, i64, i64) = conn.query_row(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM outbox),
                        (SELECT coalesce(max(device_seq), 0) FROM events), (SELECT next_device_seq FROM device)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )?;
            assert_eq!(events, outbox, "{context}: every local event is queued");
            assert_eq!(events, max_seq, "{context}: device_seq has no gaps");
            assert_eq!(next_seq, max_seq + 1, "{context}: the device counter matches the last event");
            let photos: Vec<(String, i64)> = conn
                .prepare("SELECT path, byte_size FROM photos")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let store = ledger.photo_store().unwrap();
            for (path, size) in photos {
                let on_disk = std::fs::metadata(store.path_of(&path)).map(|meta| meta.len() as i64);
                assert_eq!(on_disk.ok(), Some(size), "{context}: photo {path} is missing or partial");
            }
            Ok::<_, rusqlite::Error>(())
        })
        .unwrap();
}
