//! The office as the ledger's sequencer. A push is judged event by event in one transaction: who sent it
//! (the token's device and user), where it stands in the device's sequence, whether the user's role and
//! villages allow it, and whether the issue's state machine does. Every event that reaches its turn gets
//! the next server_seq in the same transaction that stores it; a refused event is stored too (with its
//! reason) and still consumes its device_seq, so no device can wedge on it.

use rectify_core::domain::event::{Event, EventBody, Verdict};
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::policy::{Action, authorize};
use rectify_core::ids::VillageId;
use rectify_core::store::{events, issues, places};
use rectify_core::sync::wire::{PhotoManifest, PushRequest, PushResponse, PushResult, ScopeTally, event_digest};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Credential, Office, OfficeError};

/// Pushes waiting to be committed. Concurrent pushes share one transaction (group commit): whoever finds no
/// commit under way runs every waiting push, each in its own savepoint, and commits them with one fsync.
#[derive(Debug, Default)]
pub(crate) struct PushQueue {
    state: Mutex<QueueState>,
    settled: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    waiting: Vec<(u64, Credential, PushRequest)>,
    answers: HashMap<u64, Result<PushResponse, OfficeError>>,
    committing: bool,
    next_ticket: u64,
}

/// Pushes committed together at most; more wait for the next group.
const MAX_GROUP: usize = 64;

impl Office {
    /// Judges and stores a device's batch. Safe to repeat: anything already judged gets its stored answer.
    pub fn push(&self, credential: &Credential, request: PushRequest) -> Result<PushResponse, OfficeError> {
        let queue = &self.pushes;
        let lock = || queue.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut state = lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push((ticket, credential.clone(), request));
        loop {
            if let Some(answer) = state.answers.remove(&ticket) {
                return answer;
            }
            if state.committing {
                state = queue.settled.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            state.committing = true;
            let take = state.waiting.len().min(MAX_GROUP);
            let group: Vec<_> = state.waiting.drain(..take).collect();
            drop(state);
            let tickets: Vec<u64> = group.iter().map(|(ticket, _, _)| *ticket).collect();
            // A panic while committing must not leave `committing` set: every later push would wait forever.
            let answers = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit_group(group)))
                .unwrap_or_else(|_| {
                    let failed = || Err(OfficeError::Internal("the office failed while storing this push".into()));
                    tickets.into_iter().map(|ticket| (ticket, failed())).collect()
                });
            state = lock();
            state.answers.extend(answers);
            state.committing = false;
            queue.settled.notify_all();
        }
    }

    /// Runs pushes in one transaction, each in a savepoint so that one failing leaves the others standing.
    fn commit_group(
        &self,
        group: Vec<(u64, Credential, PushRequest)>,
    ) -> Vec<(u64, Result<PushResponse, OfficeError>)> {
        let now = self.now().to_rfc3339();
        let tickets: Vec<u64> = group.iter().map(|(ticket, _, _)| *ticket).collect();
        let outcome = self.store().write(|tx| {
            let mut answers = Vec::with_capacity(group.len());
            for (ticket, credential, request) in group {
                tx.execute_batch("SAVEPOINT push")?;
                let answer = push_in(tx, &credential, request, &now);
                let end = if answer.is_ok() { "RELEASE push" } else { "ROLLBACK TO push; RELEASE push" };
                tx.execute_batch(end)?;
                answers.push((ticket, answer));
            }
            Ok::<_, OfficeError>(answers)
        });
        match outcome {
            Ok(answers) => answers,
            Err(err) => {
                let reason = format!("the push could not be committed: {err}");
                tickets.into_iter().map(|ticket| (ticket, Err(OfficeError::Internal(reason.clone())))).collect()
            }
        }
    }
}

/// One push inside the group's transaction.
fn push_in(
    tx: &Transaction<'_>,
    credential: &Credential,
    request: PushRequest,
    now: &str,
) -> Result<PushResponse, OfficeError> {
    let mut batch = request.events;
    batch.sort_by_key(|event| event.device_seq);
    let device = credential.device_id.to_string();
    let mut acked: u64 = tx
        .query_row("SELECT acked_through FROM office_devices WHERE device_id = ?1", [&device], |row| {
            row.get::<_, i64>(0)
        })
        .map(|seq| seq as u64)?;
    let mut head = head(tx)?;
    announce_photos(tx, &request.photos, &batch, now)?;
    let mut results = Vec::with_capacity(batch.len());
    let mut resend_from = None;
    for mut event in batch {
        if event.device_id != credential.device_id {
            results.push(refused(&event, None, "the event was recorded by another device than this token's"));
            continue;
        }
        if event.device_seq <= acked {
            results.push(earlier_answer(tx, &event)?);
            continue;
        }
        if event.device_seq > acked + 1 {
            resend_from = Some(acked + 1);
            break;
        }
        acked += 1;
        if let Some(seq) = stored_seq(tx, &event)? {
            let reason = format!("event id {} is already in the ledger (server_seq {seq})", event.event_id);
            tx.execute(
                "INSERT INTO office_refusals (device_id, device_seq, event_id, reason) VALUES (?1, ?2, ?3, ?4)",
                params![device, event.device_seq as i64, event.event_id.to_string(), reason],
            )?;
            results.push(refused(&event, None, &reason));
            continue;
        }
        head += 1;
        // Numbered before it is judged, so the issue's state records where in the office's order it stands.
        event.server_seq = Some(head);
        let state = issues::load_state(tx, event.issue_id)?;
        let (verdict, village, next) = judge(tx, credential, &event, state.as_ref())?;
        event.verdict = Some(verdict.clone());
        events::insert(tx, &event)?;
        record_sequence(tx, &event, head, village)?;
        let next = match verdict {
            Verdict::Stored => next,
            Verdict::Refused { .. } => state.and_then(|state| IssueState::fold_one(Some(state), &event)),
        };
        if let Some(next) = next {
            issues::save_state(tx, &next)?;
        }
        results.push(PushResult {
            event_id: event.event_id,
            device_seq: event.device_seq,
            server_seq: Some(head),
            verdict,
            seq_taken: false,
        });
    }
    tx.execute(
        "UPDATE office_devices SET acked_through = ?2, last_seen_at = ?3 WHERE device_id = ?1",
        params![device, acked as i64, now],
    )?;
    Ok(PushResponse { acked_through: acked, results, resend_from })
}

/// The newest server_seq.
pub(crate) fn head(conn: &rusqlite::Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT coalesce(max(server_seq), 0) FROM office_sequence", [], |row| row.get::<_, i64>(0))
        .map(|seq| seq as u64)
}

fn refused(event: &Event, server_seq: Option<u64>, reason: &str) -> PushResult {
    PushResult {
        event_id: event.event_id,
        device_seq: event.device_seq,
        server_seq,
        verdict: Verdict::Refused { reason: reason.to_string() },
        seq_taken: false,
    }
}

fn stored_seq(tx: &Transaction<'_>, event: &Event) -> rusqlite::Result<Option<u64>> {
    tx.prepare_cached("SELECT server_seq FROM events WHERE event_id = ?1")?
        .query_row([event.event_id.to_string()], |row| row.get::<_, Option<i64>>(0))
        .optional()
        .map(|found| found.map(|seq| seq.unwrap_or(0) as u64))
}

/// The answer already given for a device_seq at or below `acked_through`.
fn earlier_answer(tx: &Transaction<'_>, event: &Event) -> Result<PushResult, OfficeError> {
    let device = event.device_id.to_string();
    let stored: Option<(String, Option<i64>, Option<String>)> = tx
        .prepare_cached("SELECT event_id, server_seq, verdict FROM events WHERE device_id = ?1 AND device_seq = ?2")?
        .query_row(params![device, event.device_seq as i64], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    if let Some((event_id, server_seq, verdict)) = stored {
        if event_id != event.event_id.to_string() {
            let mut answer = refused(
                event,
                None,
                &format!("device_seq {} of this device is already taken by event {event_id}", event.device_seq),
            );
            answer.seq_taken = true;
            return Ok(answer);
        }
        let verdict = verdict.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or(Verdict::Stored);
        return Ok(PushResult {
            event_id: event.event_id,
            device_seq: event.device_seq,
            server_seq: server_seq.map(|seq| seq as u64),
            verdict,
            seq_taken: false,
        });
    }
    let refusal: Option<String> = tx
        .prepare_cached("SELECT reason FROM office_refusals WHERE device_id = ?1 AND device_seq = ?2")?
        .query_row(params![device, event.device_seq as i64], |row| row.get(0))
        .optional()?;
    Ok(refused(event, None, &refusal.unwrap_or_else(|| "this device_seq was already judged".to_string())))
}

/// The office's verdict on one event, the village it belongs to, and the issue's next state when stored.
fn judge(
    tx: &Transaction<'_>,
    credential: &Credential,
    event: &Event,
    state: Option<&IssueState>,
) -> Result<(Verdict, Option<VillageId>, Option<IssueState>), OfficeError> {
    let refuse = |reason: String, village| Ok((Verdict::Refused { reason }, village, None));
    let village = match (&event.body, state) {
        (EventBody::Reported(body), _) => body.village_id,
        (_, Some(state)) => state.village_id,
        (_, None) => return refuse(format!("issue {} is not known to the office", event.issue_id), None),
    };
    let Some(place) = places::village(tx, village)? else {
        return refuse(format!("village {village} is not known to the office"), None);
    };
    if event.author != credential.user_id {
        return refuse(format!("the event names author {}, not the enrolled user", event.author), Some(village));
    }
    if let Some(action) = Action::of(&event.body)
        && let Err(err) = authorize(&credential.profile(), action, village, place.code(), state)
    {
        return refuse(err.to_string(), Some(village));
    }
    match IssueState::transition(state, event) {
        Ok(next) => Ok((Verdict::Stored, Some(village), Some(next))),
        Err(err) => refuse(err.to_string(), Some(village)),
    }
}

/// Gives the event its place in the office's order, with the running tallies pull pages report.
fn record_sequence(tx: &Transaction<'_>, event: &Event, seq: u64, village: Option<VillageId>) -> rusqlite::Result<()> {
    let digest = event_digest(event.event_id, seq);
    let last_global: i64 = tx
        .prepare_cached("SELECT global_sum FROM office_sequence ORDER BY server_seq DESC LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    let mut village_tally = ScopeTally::default();
    if let Some(village) = village {
        let last: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT village_count, village_sum FROM office_sequence WHERE village_id = ?1
                 ORDER BY server_seq DESC LIMIT 1",
            )?
            .query_row([village.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((count, sum)) = last {
            village_tally = ScopeTally { count: count as u64, sum: sum as u64 };
        }
        village_tally.add(event.event_id, seq);
    }
    tx.prepare_cached(
        "INSERT INTO office_sequence (server_seq, event_id, village_id, village_count, village_sum, global_sum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        seq as i64,
        event.event_id.to_string(),
        village.map(|village| village.to_string()),
        village_tally.count as i64,
        village_tally.sum as i64,
        (last_global as u64).wrapping_add(digest) as i64,
    ])?;
    Ok(())
}

/// Records the photos a batch brings, so their uploads are expected. Manifests for photos no event of the
/// batch names are ignored.
fn announce_photos(
    tx: &Transaction<'_>,
    manifests: &[PhotoManifest],
    batch: &[Event],
    now: &str,
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO office_photos (hash, kind, photo, length, manifest, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for manifest in manifests {
        if !batch.iter().any(|event| event.photos.contains(&manifest.hash)) {
            continue;
        }
        let text = serde_json::to_string(manifest).unwrap_or_default();
        let photo = manifest.hash.as_str();
        insert.execute(params![photo, "evidence", photo, manifest.bytes as i64, text, now])?;
        if let Some(thumb) = &manifest.thumbnail {
            insert.execute(params![
                thumb.hash.as_str(),
                "thumbnail",
                photo,
                thumb.bytes as i64,
                None::<String>,
                now
            ])?;
        }
    }
    Ok(())
}
