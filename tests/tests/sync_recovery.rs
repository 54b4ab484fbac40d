//! Silent loss is detected and repaired: a page that arrives short fails the scope tally and the device
//! pulls again; an office restored from a backup announces a new epoch, and devices pull again from zero
//! and send again what the office lost; a secretary given another village receives its history.

#![allow(clippy::unwrap_used)]

use rectify_core::ledger::{Command, Ledger};
use rectify_core::sync::wire::PullPage;
use rectify_core::sync::{HttpRequest, HttpResponse, Quiet, Transport, TransportError};
use rectify_tests::office::{OfficeProcess, enrolled_device, fast_options, record_issues, sync, village_codes};

fn held(ledger: &Ledger) -> i64 {
    ledger.store().read(|conn| conn.query_row("SELECT count(*) FROM events", [], |row| row.get(0))).unwrap()
}

/// Loses one event out of the first pull page that carries any (a proxy or an office bug), once.
struct LosesOneEvent<T> {
    inner: T,
    done: std::sync::atomic::AtomicBool,
}

impl<T: Transport> Transport for LosesOneEvent<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut response = self.inner.send(request)?;
        if request.path.starts_with("/v1/pull") && !self.done.load(std::sync::atomic::Ordering::Relaxed) {
            let plain = rectify_core::sync::wire::gunzip(&response.body, 64 << 20).unwrap();
            let mut page: PullPage = serde_json::from_slice(&plain).unwrap();
            if page.events.len() > 1 {
                page.events.remove(1);
                self.done.store(true, std::sync::atomic::Ordering::Relaxed);
                response.body = rectify_core::sync::wire::gzip(&serde_json::to_vec(&page).unwrap());
            }
        }
        Ok(response)
    }
}

#[test]
fn a_short_page_fails_the_tally_and_the_device_pulls_again() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let code = &village_codes(1)[0];
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    record_issues(&inspector, code, 5, 0);
    sync(&inspector, &office).unwrap();
    let acceptor = enrolled_device(&office, dir.path(), "acceptor", "acceptor", &[]);
    assert_eq!(held(&acceptor), 5);

    record_issues(&inspector, code, 5, 0);
    sync(&inspector, &office).unwrap();
    let lossy = LosesOneEvent { inner: office.transport(), done: Default::default() };
    let answer = acceptor.sync(&lossy, fast_options(), &Quiet).unwrap();
    assert!(lossy.done.load(std::sync::atomic::Ordering::Relaxed), "the transport did drop an event");
    assert!(answer.repaired, "the tally caught the loss: {answer:?}");
    assert_eq!(held(&acceptor), 10, "after pulling again the device holds every event");
    assert_eq!(acceptor.list(&Default::default()).unwrap().len(), 10);
}

#[test]
fn an_office_restored_from_backup_gets_back_what_it_lost() {
    restored_office(true);
}

#[test]
fn an_office_restored_without_a_new_epoch_is_caught_by_the_cursor() {
    restored_office(false);
}

fn restored_office(announced: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut office = OfficeProcess::start(&dir.path().join("office"), 1);
    let code = &village_codes(1)[0];
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let acceptor = enrolled_device(&office, dir.path(), "acceptor", "acceptor", &[]);
    let kept = record_issues(&inspector, code, 1, 0)[0];
    sync(&inspector, &office).unwrap();

    // Back up the office (stopped, so the copy is consistent), then let work go on.
    office.kill9();
    let backup = dir.path().join("backup");
    copy_dir(&office.data, &backup);
    office.restart();
    let lost = record_issues(&inspector, code, 1, 0)[0];
    inspector.act(kept, &Command::Comment { text: "also after the backup".into() }).unwrap();
    sync(&inspector, &office).unwrap();
    sync(&acceptor, &office).unwrap();
    assert_eq!(held(&acceptor), 3);

    // Disaster: the office is restored from the backup and starts a new epoch.
    office.kill9();
    std::fs::remove_dir_all(&office.data).unwrap();
    copy_dir(&backup, &office.data);
    if announced {
        office.admin(&["new-epoch"], &[]);
    }
    office.restart();
    let events_at_office =
        || office.db().query_row("SELECT count(*) FROM events", [], |row| row.get::<_, i64>(0)).unwrap();
    assert_eq!(events_at_office(), 1, "the restored office lost two events");

    if !announced {
        // Unannounced, the acceptor's cursor is ahead of the restored ledger: refused, and it pulls again.
        let answer = sync(&acceptor, &office).unwrap();
        assert!(answer.repaired, "{answer:?}");
        assert_eq!(held(&acceptor), 3, "it keeps what it held");
    }
    let answer = sync(&inspector, &office).unwrap();
    assert_eq!(answer.epoch_changed, announced, "{answer:?}");
    assert_eq!(answer.pushed, 2, "the inspector sends again what the office lost");
    assert_eq!(events_at_office(), 3);
    let answer = sync(&acceptor, &office).unwrap();
    assert_eq!(answer.epoch_changed, announced, "{answer:?}");
    assert_eq!(held(&acceptor), 3, "nothing doubled on the acceptor's phone");
    let status = |ledger: &Ledger, issue| ledger.issue(issue).unwrap().state.comment_count;
    assert_eq!(status(&acceptor, kept), 1);
    assert!(acceptor.issue(lost).is_ok());
    let office_seqs: Vec<i64> = {
        let db = office.db();
        let mut statement = db.prepare("SELECT server_seq FROM events ORDER BY server_seq").unwrap();
        statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(office_seqs, vec![1, 2, 3]);
    for ledger in [&inspector, &acceptor] {
        let seqs: Vec<i64> = ledger
            .store()
            .read(|conn| {
                let mut statement = conn.prepare("SELECT server_seq FROM events ORDER BY server_seq")?;
                statement.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()
            })
            .unwrap();
        assert_eq!(seqs, office_seqs, "every replica numbers the events as the restored office does");
    }
}

#[test]
fn a_secretary_given_another_village_receives_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 2);
    let codes = village_codes(2);
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    record_issues(&inspector, &codes[0], 1, 0);
    record_issues(&inspector, &codes[1], 1, 0);
    sync(&inspector, &office).unwrap();
    let secretary = enrolled_device(&office, dir.path(), "secretary", "secretary", &[&codes[0]]);
    assert_eq!(secretary.list(&Default::default()).unwrap().len(), 1);

    // The office gives him the second village too (a merger); his next sync brings its history.
    office.enrollment_code("secretary", "secretary", &[&codes[0], &codes[1]]);
    let answer = sync(&secretary, &office).unwrap();
    assert!(answer.repaired, "the wider scope's tally differs, so the pull starts over: {answer:?}");
    assert_eq!(secretary.list(&Default::default()).unwrap().len(), 2);
    assert_eq!(secretary.profile().unwrap().villages.len(), 2);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_phone_restored_from_an_older_copy_renumbers_its_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let code = &village_codes(1)[0];
    let path = dir.path().join("inspector.db");
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    record_issues(&inspector, code, 1, 0);
    sync(&inspector, &office).unwrap();
    drop(inspector);
    let backup = dir.path().join("inspector-backup.db");
    std::fs::copy(&path, &backup).unwrap();

    let inspector =
        Ledger::open(&path, rectify_core::store::OpenMode::MustExist, rectify_tests::office::test_clock()).unwrap();
    record_issues(&inspector, code, 2, 0);
    sync(&inspector, &office).unwrap();
    drop(inspector);

    // The phone is restored from the older copy and its user carries on.
    std::fs::copy(&backup, &path).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("inspector.db{suffix}")));
    }
    let inspector =
        Ledger::open(&path, rectify_core::store::OpenMode::MustExist, rectify_tests::office::test_clock()).unwrap();
    let fresh = record_issues(&inspector, code, 1, 0)[0];
    let answer = sync(&inspector, &office).unwrap();
    assert!(answer.rejected.is_empty(), "the new report is not refused: {answer:?}");
    assert_eq!(answer.pending, 0);
    let office_has = |issue: rectify_core::ids::IssueId| -> i64 {
        office
            .db()
            .query_row("SELECT count(*) FROM events WHERE issue_id = ?1", [issue.to_string()], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(office_has(fresh), 1, "the report made after the restore reached the office");
    assert!(inspector.issue(fresh).is_ok());
    assert_eq!(held(&inspector), 4, "the phone pulled back the two events it had lost, and kept the new one");
    let seqs: Vec<i64> = office
        .db()
        .prepare("SELECT device_seq FROM events ORDER BY device_seq")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4], "the new event took the next free number");
}
