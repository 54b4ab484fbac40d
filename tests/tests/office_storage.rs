//! The office's storage backends, held to one standard. The same suite runs against SQLite and against a
//! throwaway PostgreSQL: real `rectify-office` processes on loopback, real device ledgers syncing with the
//! core's client (which checks every pull page's tally itself), hand-made requests where a device would
//! not misbehave on its own.
//!
//! PostgreSQL also gets what only it can have: pulls racing several concurrent writers (a pull must never
//! pass over a number that commits later), and two office processes on one database with one killed by
//! SIGKILL in the middle of a sync.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rectify_core::domain::issue::Status;
use rectify_core::ids::IssueId;
use rectify_core::ledger::{Command, Ledger};
use rectify_core::store::{OpenMode, events};
use rectify_core::sync::wire::{PushRequest, PushResponse};
use rectify_core::sync::{HttpRequest, HttpResponse, HttpTransport, Method, Quiet, Transport, TransportError};
use rectify_office::{Database, Office};
use rectify_tests::inproc::{Direct, OfficeNode};
use rectify_tests::objects::TestObjectStore;
use rectify_tests::office::{
    OfficeProcess, enrolled_device, fast_options, field_photo, point_in, raw_request, record_issues, report_with_photo,
    sync, test_clock, token_of, village_codes,
};
use rectify_tests::postgres::TestPostgres;
use rectify_tests::web::WebClient;

#[test]
fn sqlite_backend_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(dir.path(), None);
}

#[test]
fn postgres_backend_conforms() {
    let Some(server) = TestPostgres::start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = server.database("conformance");
    conformance(dir.path(), Some(&url));
    // The schema is versioned: a second process on the same database migrates nothing and agrees.
    assert_eq!(server.psql(&url, "SELECT string_agg(version::text, ',' ORDER BY version) FROM office_schema"), "1,2");
    assert_eq!(server.psql(&url, "SELECT count(*) FROM office_meta"), "1");
}

/// The same suite with photo files in S3-compatible object storage instead of the data directory.
#[test]
fn object_storage_for_photos_conforms() {
    let Some(objects) = TestObjectStore::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    conformance_with(dir.path(), None, photos_on(&objects, "conformance"));
    let kept = objects.keys("conformance/photos/");
    assert!(kept.len() >= 4, "evidence and thumbnails are in the bucket: {kept:?}");
    assert!(objects.keys("conformance/uploads/").is_empty(), "finished uploads leave no chunks behind");
    assert!(!dir.path().join("office/photos").exists(), "nothing went to the data directory");
}

/// The environment that puts an office's photos under `prefix` in the test bucket.
fn photos_on(objects: &TestObjectStore, prefix: &str) -> Vec<(String, String)> {
    let mut env = objects.env();
    env.push(("RECTIFY_PHOTOS_URL".to_string(), objects.url(prefix)));
    env
}

fn conformance(dir: &Path, database: Option<&str>) {
    conformance_with(dir, database, Vec::new());
}

fn conformance_with(dir: &Path, database: Option<&str>, env: Vec<(String, String)>) {
    let office = OfficeProcess::start_with(&dir.join("office"), 4, database, env);
    enrollment_and_tokens(&office, dir);
    field_story(&office, dir);
    exactly_once_under_a_lossy_network(&office, dir);
}

fn device(dir: &Path, name: &str) -> Ledger {
    Ledger::open(&dir.join(format!("{name}.db")), OpenMode::CreateIfMissing, test_clock()).unwrap()
}

/// Codes work once, for one device; unknown villages are refused; revoked tokens stop working.
fn enrollment_and_tokens(office: &OfficeProcess, dir: &Path) {
    let code = office.enrollment_code("Gao Inspector", "inspector", &[]);
    let first = device(dir, "gao-1");
    first.enroll(&office.transport(), &office.url, &code).unwrap();
    // The same device may redeem its code again (its first answer may have been lost).
    first.enroll(&office.transport(), &office.url, &code).unwrap();
    let second = device(dir, "gao-2");
    let refused = second.enroll(&office.transport(), &office.url, &code).unwrap_err().to_string();
    assert!(refused.contains("already used"), "{refused}");
    let unknown = office.admin_output(&["enroll"], &["--user", "Nobody", "--role", "secretary", "--village", "999"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no village with code 999"), "{unknown:?}");

    sync(&first, office).unwrap();
    let devices: serde_json::Value = serde_json::from_str(&office.admin(&["devices"], &["--json"])).unwrap();
    let id = first.profile().unwrap().device_id.to_string();
    let row = devices.as_array().unwrap().iter().find(|row| row["device_id"] == id.as_str()).unwrap();
    assert_eq!(row["user"], "Gao Inspector");
    assert!(row["revoked_at"].is_null());
    office.admin(&["revoke"], &["--device", &id]);
    let err = sync(&first, office).unwrap_err().to_string();
    assert!(err.contains("revoked") || err.contains("unauthor"), "{err}");
}

/// Reports with photos, scoped pulls, a strike-off and its acceptance, small pull pages, a photo only its
/// village can fetch.
fn field_story(office: &OfficeProcess, dir: &Path) {
    let codes = village_codes(4);
    let inspector = enrolled_device(office, dir, "inspector", "inspector", &[]);
    let secretary_1 = enrolled_device(office, dir, "secretary-1", "secretary", &[&codes[0]]);
    let secretary_2 = enrolled_device(office, dir, "secretary-2", "secretary", &[&codes[1]]);
    let acceptor = enrolled_device(office, dir, "acceptor", "acceptor", &[]);

    let in_1 = report_with_photo(&inspector, dir, &codes[0], 1, (640, 480)).id;
    let in_2 = report_with_photo(&inspector, dir, &codes[1], 2, (640, 480)).id;
    let elsewhere = record_issues(&inspector, &codes[2], 6, 2);
    sync(&inspector, office).unwrap();
    assert_eq!(inspector.outbox().unwrap().pending_events, 0);

    sync(&secretary_1, office).unwrap();
    sync(&secretary_2, office).unwrap();
    assert_eq!(ids(&secretary_1), vec![in_1], "secretary 1 holds only village 1's issue");
    assert_eq!(ids(&secretary_2), vec![in_2], "secretary 2 holds only village 2's issue");

    // Secretary 1 strikes the issue off with an after-photo; the acceptor accepts it.
    let (lat, lon) = point_in(&secretary_1, &codes[0]);
    let after = field_photo(dir, "after-1.jpg", 11, lat, lon, (640, 480));
    secretary_1.act(in_1, &Command::StrikeOff { photos: vec![after], note: Some("cleared".into()) }).unwrap();
    sync(&secretary_1, office).unwrap();
    sync(&acceptor, office).unwrap();
    acceptor.act(in_1, &Command::Accept { note: None }).unwrap();
    sync(&acceptor, office).unwrap();
    for ledger in [&inspector, &secretary_1] {
        sync(ledger, office).unwrap();
        assert_eq!(ledger.issue(in_1).unwrap().state.status, Status::Accepted);
    }

    // A secretary's device will not report outside its villages; a hand-made push that does is judged,
    // numbered and refused by the office.
    let rogue = enrolled_device(office, dir, "rogue", "secretary", &[&codes[1]]);
    let profile = rogue.profile().unwrap();
    let mut event = inspector.store().read(|conn| events::for_issue(conn, in_2)).unwrap().remove(0);
    let foreign = IssueId::new();
    event.event_id = rectify_core::ids::EventId::new();
    event.issue_id = foreign;
    event.device_id = profile.device_id;
    event.author = profile.user_id;
    event.device_seq = 1;
    event.server_seq = None;
    event.verdict = None;
    if let rectify_core::domain::event::EventBody::Reported(body) = &mut event.body {
        body.village_id = secretary_1.profile().unwrap().villages[0];
    }
    let body = serde_json::to_vec(&PushRequest { events: vec![event], photos: Vec::new() }).unwrap();
    let answer = office.transport().send(&raw_request(&token_of(&rogue), Method::Post, "/v1/push", body)).unwrap();
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let answer: PushResponse = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer.acked_through, 1);
    assert!(answer.results[0].server_seq.is_some(), "a refused event is numbered too");
    match &answer.results[0].verdict {
        rectify_core::domain::event::Verdict::Refused { reason } => assert!(reason.contains("outside"), "{reason}"),
        other => panic!("the office stored a report outside the secretary's villages: {other:?}"),
    }

    // A fresh district device pulling five events a page gets everything, tallies checked page by page.
    let code = office.enrollment_code("Late Inspector", "inspector", &[]);
    let late = device(dir, "late");
    late.enroll(&office.transport(), &office.url, &code).unwrap();
    let mut options = fast_options();
    options.page_size = 5;
    late.sync(&office.transport(), options, &Quiet).unwrap();
    let mut expected = vec![in_1, in_2];
    expected.extend(&elsewhere);
    expected.sort();
    assert_eq!(ids(&late), expected, "the refused report made no issue");
    assert!(!expected.contains(&foreign));
    let head = head_of(office);
    assert_eq!(numbered_events(&late), head, "the late device holds every numbered event");

    // The evidence photo: its village's secretary may fetch it, another village's may not.
    let photo = inspector.issue(in_1).unwrap().state.before_photos[0].clone();
    let path = format!("/v1/photos/{photo}");
    let mine = office.transport().send(&raw_request(&token_of(&secretary_1), Method::Get, &path, Vec::new())).unwrap();
    assert_eq!(mine.status, 200);
    assert_eq!(rectify_core::domain::photo::PhotoHash::of_bytes(&mine.body), photo);
    let theirs =
        office.transport().send(&raw_request(&token_of(&secretary_2), Method::Get, &path, Vec::new())).unwrap();
    assert_eq!(theirs.status, 404, "a photo outside the scope is answered like an absent one");

    // The dashboard: an acceptor logs in and accepts secretary 2's strike-off in the browser.
    let (lat, lon) = point_in(&secretary_2, &codes[1]);
    let after = field_photo(dir, "after-2.jpg", 12, lat, lon, (640, 480));
    secretary_2.act(in_2, &Command::StrikeOff { photos: vec![after], note: None }).unwrap();
    sync(&secretary_2, office).unwrap();
    let password = web_user(office, "Zhao Web", "acceptor");
    let mut browser = WebClient::new(&office.url);
    assert_eq!(browser.log_in("Zhao Web", &password).status, 303);
    let overview = browser.get("/");
    assert_eq!(overview.status, 200);
    assert!(overview.text().contains("Test village 2"), "the overview names the villages");
    let csrf = browser.csrf(&format!("/issues/{in_2}"));
    let answer = browser.post_form(&format!("/issues/{in_2}/accept"), &[("csrf", &csrf)]);
    assert_eq!(answer.status, 303, "{}", answer.text());
    sync(&inspector, office).unwrap();
    assert_eq!(inspector.issue(in_2).unwrap().state.status, Status::Accepted, "the browser's decision synced");
}

/// Adds a dashboard user; returns the generated password.
fn web_user(office: &OfficeProcess, name: &str, role: &str) -> String {
    let out = office.admin(&["users", "add"], &["--name", name, "--role", role, "--json"]);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    value["password"].as_str().unwrap().to_string()
}

/// Nothing left to push, and every evidence photo confirmed by the office.
fn drained(ledger: &Ledger) -> bool {
    let outbox = ledger.outbox().unwrap();
    outbox.pending_events == 0 && outbox.unconfirmed_photo_bytes == 0
}

fn ids(ledger: &Ledger) -> Vec<IssueId> {
    let mut ids: Vec<IssueId> =
        ledger.list(&Default::default()).unwrap().into_iter().map(|summary| summary.id).collect();
    ids.sort();
    ids
}

fn numbered_events(ledger: &Ledger) -> u64 {
    ledger
        .store()
        .read(|conn| conn.query_row("SELECT count(*) FROM events WHERE server_seq IS NOT NULL", [], |row| row.get(0)))
        .map(|count: i64| count as u64)
        .unwrap()
}

fn head_of(office: &OfficeProcess) -> u64 {
    let answer = office.transport().send(&HttpRequest::new(Method::Get, "/healthz")).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    body["server_seq"].as_u64().unwrap()
}

/// A network that acts and then loses the answer, and sends some requests twice.
struct Lossy<T> {
    inner: T,
    count: AtomicUsize,
}

impl<T: Transport> Transport for Lossy<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        if n % 5 == 1 {
            let _ = self.inner.send(request);
        }
        let answer = self.inner.send(request)?;
        if n % 3 == 2 {
            return Err(TransportError::Broken("the answer was lost after the office acted".into()));
        }
        Ok(answer)
    }
}

/// Lost answers and doubled requests store nothing twice; a hand-made resend gets the same answers, and a
/// batch that skips ahead is told where to resume.
fn exactly_once_under_a_lossy_network(office: &OfficeProcess, dir: &Path) {
    let codes = village_codes(4);
    let before = head_of(office);
    let ledger = enrolled_device(office, dir, "lossy", "inspector", &[]);
    let issues = record_issues(&ledger, &codes[3], 8, 3);
    let mut options = fast_options();
    options.push_events = 7;
    let lossy = Lossy { inner: office.transport(), count: AtomicUsize::new(0) };
    let mut attempts = 0;
    while ledger.outbox().unwrap().pending_events > 0 {
        attempts += 1;
        assert!(attempts < 30, "the outbox does not drain");
        let _ = ledger.sync(&lossy, options, &Quiet);
    }
    sync(&ledger, office).unwrap();
    assert_eq!(head_of(office) - before, (issues.len() * 4) as u64, "each event stored once");

    // The same batch again, by hand: the stored answers come back unchanged.
    let sent: Vec<_> = ledger.store().read(|conn| events::for_issue(conn, issues[0])).unwrap();
    let body = serde_json::to_vec(&PushRequest { events: sent.clone(), photos: Vec::new() }).unwrap();
    let token = token_of(&ledger);
    let answer = office.transport().send(&raw_request(&token, Method::Post, "/v1/push", body)).unwrap();
    assert_eq!(answer.status, 200);
    let answer: PushResponse = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer.results.len(), sent.len(), "one answer per event sent again");
    for (event, result) in sent.iter().zip(&answer.results) {
        assert_eq!(result.server_seq, event.server_seq, "a resend keeps its number");
    }
    // A batch that starts beyond what the office has: resume where it stands.
    let mut ahead = sent[0].clone();
    ahead.device_seq = answer.acked_through + 5;
    ahead.event_id = rectify_core::ids::EventId::new();
    let body = serde_json::to_vec(&PushRequest { events: vec![ahead], photos: Vec::new() }).unwrap();
    let answer = office.transport().send(&raw_request(&token, Method::Post, "/v1/push", body)).unwrap();
    let answer: PushResponse = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(answer.resend_from, Some(answer.acked_through + 1));
    assert!(answer.results.is_empty());
}

/// Writers on several office instances (each its own connection pool, as separate processes would have)
/// push while a district reader pulls as fast as it can. Every page must continue the sequence without a
/// gap: a number the reader passed over would be one committed after a higher one.
#[test]
fn postgres_pulls_never_skip_a_number_under_concurrent_writers() {
    let Some(server) = TestPostgres::start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = server.database("race");
    let office = OfficeProcess::start_on(&dir.path().join("office"), 3, Some(&url));
    let codes = village_codes(3);
    const WRITERS: usize = 4;
    const ROUNDS: usize = 6;
    const ISSUES: usize = 4;
    let writers: Vec<(Ledger, OfficeNode)> = (0..WRITERS)
        .map(|n| {
            let ledger = enrolled_device(&office, dir.path(), &format!("writer-{n}"), "inspector", &[]);
            let node = OfficeNode::open_with(&office.data, &Database::Postgres(url.clone()));
            (ledger, node)
        })
        .collect();
    let reader_ledger = enrolled_device(&office, dir.path(), "reader", "inspector", &[]);
    let reader_office = Office::open_with(&office.data, &Database::Postgres(url.clone())).unwrap();
    let credential = reader_office.authenticate(&token_of(&reader_ledger)).unwrap();
    let start = head_of(&office);
    let done = AtomicBool::new(false);
    let pages = AtomicUsize::new(0);

    std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .into_iter()
            .enumerate()
            .map(|(n, (ledger, node))| {
                let code = codes[n % codes.len()].clone();
                scope.spawn(move || {
                    let node = Mutex::new(node);
                    for _ in 0..ROUNDS {
                        record_issues(&ledger, &code, ISSUES, 1);
                        ledger.sync(&Direct(&node), fast_options(), &Quiet).unwrap();
                    }
                })
            })
            .collect();
        scope.spawn(|| {
            let mut seen = start;
            let mut cursor = String::new();
            loop {
                let finished = done.load(Ordering::Acquire);
                let page = reader_office.pull(&credential, &cursor, 17).unwrap();
                pages.fetch_add(1, Ordering::Relaxed);
                for event in &page.events {
                    let seq = event.server_seq.unwrap();
                    if seq > start {
                        assert_eq!(seq, seen + 1, "the pull passed over server_seq {}", seen + 1);
                        seen = seq;
                    }
                }
                assert!(page.through >= seen);
                assert_eq!(page.scope.count, page.through, "a district tally counts every number");
                cursor = page.cursor;
                if finished && !page.more {
                    assert_eq!(seen, page.through);
                    break;
                }
            }
        });
        for handle in handles {
            handle.join().unwrap();
        }
        done.store(true, Ordering::Release);
    });
    let expected = (WRITERS * ROUNDS * ISSUES * 2) as u64;
    assert_eq!(head_of(&office) - start, expected);
    assert!(pages.load(Ordering::Relaxed) > 10, "the reader raced the writers");
    assert_eq!(server.psql(&url, "SELECT count(*) = count(DISTINCT event_id) FROM office_events"), "t");
}

/// Sends each request to the next live office in turn, as a load balancer would; an office that refuses a
/// connection is taken out of the rotation.
struct Balancer {
    offices: Vec<HttpTransport>,
    live: Vec<AtomicBool>,
    next: AtomicUsize,
}

impl Transport for Balancer {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last = None;
        for step in 0..self.offices.len() {
            let n = (turn + step) % self.offices.len();
            if !self.live[n].load(Ordering::Relaxed) {
                continue;
            }
            match self.offices[n].send(request) {
                Ok(answer) => return Ok(answer),
                Err(err) => {
                    // The request may have been cut mid-way; the device's client retries it.
                    self.live[n].store(false, Ordering::Relaxed);
                    last = Some(err);
                    break;
                }
            }
        }
        Err(last.unwrap_or_else(|| TransportError::Broken("no office is live".into())))
    }
}

/// Two office processes share one database and one photo folder behind a balancer; one is killed with
/// SIGKILL while devices sync through both. Every event ends up stored exactly once, every photo arrives.
#[test]
fn postgres_two_processes_lose_nothing_when_one_is_killed() {
    let Some(server) = TestPostgres::start(false) else { return };
    two_processes_one_killed(&server, Vec::new());
}

/// The same with photos in object storage: chunks sent to the killed process are finished through the
/// other one.
#[test]
fn postgres_and_object_storage_lose_nothing_when_a_process_is_killed() {
    let Some(server) = TestPostgres::start(false) else { return };
    let Some(objects) = TestObjectStore::start() else { return };
    let photos = two_processes_one_killed(&server, photos_on(&objects, "pair"));
    let kept = objects.keys("pair/photos/");
    assert!(kept.len() >= photos, "every evidence photo is in the bucket: {kept:?}");
    assert!(objects.keys("pair/uploads/").is_empty(), "finished uploads leave no chunks behind");
}

/// Returns the number of evidence photos the devices took.
fn two_processes_one_killed(server: &TestPostgres, env: Vec<(String, String)>) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let url = server.database("pair");
    let mut first = OfficeProcess::start_with(&dir.path().join("office"), 4, Some(&url), env);
    let second = first.another();
    let codes = village_codes(4);
    const DEVICES: usize = 6;
    let devices: Vec<Ledger> =
        (0..DEVICES).map(|n| enrolled_device(&first, dir.path(), &format!("phone-{n}"), "inspector", &[])).collect();
    let mut photos = 0;
    for (n, ledger) in devices.iter().enumerate() {
        record_issues(ledger, &codes[n % 4], 25, 3);
        for p in 0..2 {
            report_with_photo(ledger, dir.path(), &codes[(n + p) % 4], (n * 10 + p) as u32, (1600, 1200));
            photos += 1;
        }
    }
    let recorded = (DEVICES * (25 * 4 + 2)) as u64;
    let balancer = Arc::new(Balancer {
        offices: vec![first.transport(), second.transport()],
        live: vec![AtomicBool::new(true), AtomicBool::new(true)],
        next: AtomicUsize::new(0),
    });
    let start = head_of(&second);
    std::thread::scope(|scope| {
        for ledger in &devices {
            let balancer = balancer.clone();
            scope.spawn(move || {
                let mut options = fast_options();
                options.push_events = 10;
                options.chunk_bytes = 16 << 10;
                for _ in 0..20 {
                    if ledger.sync(balancer.as_ref(), options, &Quiet).is_ok() && drained(ledger) {
                        return;
                    }
                }
                panic!("a device could not finish syncing through the surviving office");
            });
        }
        // Kill the first office once part of the pushes are in, while the rest are in flight.
        let mut waited = 0;
        while head_of(&second) - start < recorded / 4 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            waited += 1;
            assert!(waited < 20_000, "the pushes do not arrive");
        }
        let at_kill = head_of(&second) - start;
        first.kill9();
        println!("killed the first office with {at_kill} of {recorded} events in");
        assert!(at_kill < recorded, "the kill came after the sync, not in the middle of it");
    });
    assert!(head_of(&second) - start >= recorded, "nothing lost");
    assert_eq!(
        server.psql(&url, "SELECT count(*) - count(DISTINCT event_id), count(*) - count(DISTINCT (device_id, device_seq)) FROM office_events"),
        "0|0",
        "nothing stored twice"
    );
    assert_eq!(server.psql(&url, "SELECT count(*) FROM office_events"), (head_of(&second)).to_string());
    assert_eq!(
        server.psql(&url, "SELECT count(*) FROM office_photos WHERE kind = 'evidence' AND present"),
        photos.to_string(),
        "every photo arrived"
    );
    for ledger in &devices {
        assert!(drained(ledger));
        assert!(numbered_events(ledger) >= 25 * 4 + 2);
    }
    // A device that joins afterwards pulls everything from the survivor, tallies checked.
    let late = enrolled_device(&second, dir.path(), "late", "inspector", &[]);
    assert_eq!(numbered_events(&late), head_of(&second));
    photos
}

/// Two office processes on one database serve one dashboard: a session opened on one works on the other,
/// failed logins count across both, and each shows what devices pushed through the other. The second has a
/// data directory of its own, so its read copy of the ledger is built from the database alone.
#[test]
fn postgres_dashboard_sessions_and_login_limits_span_processes() {
    let Some(server) = TestPostgres::start(false) else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = server.database("dashboard");
    let first = OfficeProcess::start_on(&dir.path().join("office"), 3, Some(&url));
    let second = first.another_in(&dir.path().join("elsewhere"));
    let codes = village_codes(3);
    let inspector = enrolled_device(&first, dir.path(), "inspector", "inspector", &[]);
    let issue = report_with_photo(&inspector, dir.path(), &codes[2], 5, (640, 480)).id;
    sync(&inspector, &first).unwrap();

    let password = web_user(&first, "Admin Web", "admin");
    let mut on_first = WebClient::new(&first.url);
    assert_eq!(on_first.log_in("Admin Web", &password).status, 303);
    let mut on_second = WebClient::new(&second.url);
    on_second.cookies = on_first.cookies.clone();
    let page = on_second.get(&format!("/issues/{issue}"));
    assert_eq!(page.status, 200, "a session opened on one process works on the other: {}", page.text());
    assert!(page.text().contains("Test village 3"));
    // Logging out on the second ends the session on the first too.
    let csrf = on_second.csrf("/");
    assert_eq!(on_second.post_form("/logout", &[("csrf", &csrf)]).status, 303);
    let after = on_first.get("/");
    assert_eq!(after.status, 303, "the ended session still opened a page");

    // Five wrong passwords through the first process lock the name at this address on the second too.
    for _ in 0..5 {
        assert_eq!(WebClient::new(&first.url).log_in("Admin Web", "wrong password!").status, 401);
    }
    let locked = WebClient::new(&second.url).log_in("Admin Web", &password);
    assert_eq!(locked.status, 429, "the limit holds across processes");
    assert!(locked.header("retry-after").is_some());
}
