//! Exactly-once delivery over real HTTP on loopback. The office commits, then the answer is lost; batches
//! arrive twice; resends overlap and skip ahead. Whatever happens, no event is stored twice, every event
//! keeps one server_seq everywhere, and the outbox drains.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rectify_core::ledger::Ledger;
use rectify_core::store::events;
use rectify_core::sync::wire::{PushRequest, PushResponse};
use rectify_core::sync::{HttpRequest, HttpResponse, Method, Quiet, Transport, TransportError};
use rectify_tests::SplitMix;
use rectify_tests::office::{
    OfficeProcess, enrolled_device, fast_options, raw_request, record_issues, seed_note, token_of, village_codes,
};

/// Loses answers after the office acted on the request, and sends requests twice.
struct Unreliable<T> {
    inner: T,
    rng: Mutex<SplitMix>,
    lose_answer: u64,
    send_twice: u64,
    lost: AtomicU64,
    doubled: AtomicU64,
}

impl<T: Transport> Unreliable<T> {
    fn new(inner: T, seed: u64, lose_answer_percent: u64, send_twice_percent: u64) -> Self {
        Self {
            inner,
            rng: Mutex::new(SplitMix::new(seed)),
            lose_answer: lose_answer_percent,
            send_twice: send_twice_percent,
            lost: AtomicU64::new(0),
            doubled: AtomicU64::new(0),
        }
    }

    fn roll(&self, percent: u64) -> bool {
        self.rng.lock().unwrap().below(100) < percent
    }
}

impl<T: Transport> Transport for Unreliable<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.roll(self.send_twice) {
            self.doubled.fetch_add(1, Ordering::Relaxed);
            let _ = self.inner.send(request);
        }
        let response = self.inner.send(request)?;
        if self.roll(self.lose_answer) {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return Err(TransportError::Broken("the answer was lost after the office acted".into()));
        }
        Ok(response)
    }
}

/// (event_id, server_seq) of every event the office holds, and whether any event is there twice.
fn office_events(office: &OfficeProcess) -> Vec<(String, i64)> {
    let db = office.db();
    let (all, distinct): (i64, i64) = db
        .query_row("SELECT count(*), count(DISTINCT event_id) FROM events", [], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap();
    assert_eq!(all, distinct, "an event is stored twice");
    let mut statement = db.prepare("SELECT event_id, server_seq FROM events ORDER BY server_seq").unwrap();
    statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
}

fn device_events(ledger: &Ledger) -> Vec<(String, Option<i64>)> {
    ledger
        .store()
        .read(|conn| {
            let mut statement =
                conn.prepare("SELECT event_id, server_seq FROM events ORDER BY server_seq, event_id")?;
            statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
}

#[test]
fn lost_answers_and_doubled_batches_store_every_event_once() {
    let seed = rectify_tests::seed_from_clock();
    seed_note(seed);
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 2);
    let code = &village_codes(2)[0];
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let reader = enrolled_device(&office, dir.path(), "reader", "acceptor", &[]);
    record_issues(&inspector, code, 60, 4);
    assert_eq!(inspector.outbox().unwrap().pending_events, 300);

    let unreliable = Unreliable::new(office.transport(), seed, 40, 30);
    let options = rectify_core::sync::SyncOptions { push_events: 17, page_size: 23, ..fast_options() };
    let mut rounds = 0;
    while inspector.sync(&unreliable, options, &Quiet).is_err() {
        rounds += 1;
        assert!(rounds < 200, "the sync never got through (seed {seed})");
    }
    assert!(unreliable.lost.load(Ordering::Relaxed) > 5, "the test lost too few answers to mean anything");
    assert!(unreliable.doubled.load(Ordering::Relaxed) > 5);
    assert_eq!(inspector.outbox().unwrap().pending_events, 0, "the outbox drains");

    let at_office = office_events(&office);
    assert_eq!(at_office.len(), 300, "every event once (seed {seed})");
    let on_device = device_events(&inspector);
    let acked: Vec<(String, i64)> = on_device.iter().map(|(id, seq)| (id.clone(), seq.expect("sequenced"))).collect();
    assert_eq!(acked, at_office, "the device knows each event by the office's server_seq");
    let verdicts: i64 = office
        .db()
        .query_row("SELECT count(*) FROM events WHERE json_extract(verdict, '$.verdict') != 'stored'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(verdicts, 0, "nothing was refused");
    let acked_through: i64 =
        office.db().query_row("SELECT max(acked_through) FROM office_devices", [], |row| row.get(0)).unwrap();
    assert_eq!(acked_through, 300);

    // Another device pulls everything through the same bad network and holds each event once.
    let mut rounds = 0;
    while reader.sync(&unreliable, options, &Quiet).is_err() {
        rounds += 1;
        assert!(rounds < 200, "the pull never got through (seed {seed})");
    }
    let pulled: Vec<(String, i64)> = device_events(&reader).into_iter().map(|(id, seq)| (id, seq.unwrap())).collect();
    assert_eq!(pulled, at_office);
    let states = |ledger: &Ledger| {
        let mut list: Vec<_> = ledger
            .list(&Default::default())
            .unwrap()
            .into_iter()
            .map(|item| (item.id, item.status, item.unsynced_events))
            .collect();
        list.sort_by_key(|item| item.0);
        list
    };
    assert_eq!(states(&reader), states(&inspector));
}

fn push(office: &OfficeProcess, token: &str, events: &[rectify_core::domain::event::Event]) -> (u16, PushResponse) {
    let body = serde_json::to_vec(&PushRequest { events: events.to_vec(), photos: Vec::new() }).unwrap();
    let response = office.transport().send(&raw_request(token, Method::Post, "/v1/push", body)).unwrap();
    let answer = serde_json::from_slice(&response.body)
        .unwrap_or_else(|err| panic!("{err}: {} {}", response.status, String::from_utf8_lossy(&response.body)));
    (response.status, answer)
}

#[test]
fn overlapping_and_skipping_resends_are_answered_from_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 1);
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    record_issues(&inspector, &village_codes(1)[0], 6, 4);
    let pending = inspector.store().read(|conn| events::pending(conn, 100)).unwrap();
    assert_eq!(pending.len(), 30);
    let token = token_of(&inspector);
    let slice = |from: usize, to: usize| pending[from - 1..to].to_vec();

    let (_, first) = push(&office, &token, &slice(1, 10));
    assert_eq!(first.acked_through, 10);
    let (_, overlap) = push(&office, &token, &slice(5, 15));
    assert_eq!(overlap.acked_through, 15);
    for result in &overlap.results {
        if let Some(earlier) = first.results.iter().find(|earlier| earlier.event_id == result.event_id) {
            assert_eq!(earlier, result, "a resend gets the stored answer");
        }
    }
    let (_, again) = push(&office, &token, &slice(1, 15));
    assert_eq!(again.results.len(), 15);
    assert!(again.results.iter().all(|result| result.server_seq.is_some()));
    // A batch that skips ahead is not stored: the office asks for what it lacks.
    let (_, gap) = push(&office, &token, &slice(21, 30));
    assert_eq!((gap.acked_through, gap.resend_from), (15, Some(16)));
    assert!(gap.results.is_empty());
    assert_eq!(office_events(&office).len(), 15);
    // The same batch twice in one request is judged once.
    let mut doubled = slice(16, 18);
    doubled.extend(slice(16, 18));
    let (_, twice) = push(&office, &token, &doubled);
    assert_eq!(twice.acked_through, 18);
    assert_eq!(office_events(&office).len(), 18);

    // The device's own sync then finishes the job: the hand-sent events are acknowledged from the office's
    // stored answers and nothing is stored twice.
    let report = rectify_tests::office::sync(&inspector, &office).unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(report.pushed, 30);
    let at_office = office_events(&office);
    assert_eq!(at_office.len(), 30);
    let on_device: Vec<(String, i64)> =
        device_events(&inspector).into_iter().map(|(id, seq)| (id, seq.unwrap())).collect();
    assert_eq!(on_device, at_office);
}
