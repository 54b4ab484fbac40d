//! Where the office keeps what devices share: users and their devices, the sequenced ledger, photo uploads.
//! `OfficeStore` is that storage as the sync API needs it, with two backends: SQLite (the default, one
//! file beside the photos) and PostgreSQL (several stateless office processes on one database).
//!
//! The sequencer's algorithm is written once, in `push_in`, over `SequencerTx`: the handful of reads and
//! writes it makes inside one transaction. Each backend supplies those in its own SQL, and its own way of
//! keeping server_seq in commit order (SQLite has one writer; PostgreSQL takes a transaction lock).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rectify_core::domain::event::{Event, EventBody, Verdict};
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::photo::PhotoHash;
use rectify_core::domain::policy::{Action, authorize};
use rectify_core::domain::role::Role;
use rectify_core::ids::{DeviceId, IssueId, VillageId};
use rectify_core::sync::wire::{PhotoManifest, PushRequest, PushResponse, PushResult, ScopeTally};

use crate::{Credential, DeviceRow, OfficeError};

pub mod postgres;
pub(crate) mod sqlite;

/// How a credential is looked up.
#[derive(Debug, Clone, Copy)]
pub enum CredentialKey<'a> {
    Device(DeviceId),
    /// The SHA-256 of a bearer token; revoked devices are not found this way.
    TokenHash(&'a str),
}

/// A user and their one-time code, as the admin issues them.
#[derive(Debug, Clone)]
pub struct NewEnrollment<'a> {
    pub user: &'a str,
    pub role: Role,
    pub village_codes: &'a [String],
    pub code_hash: String,
    pub now: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

/// One page of the sequenced ledger, read in one consistent view.
#[derive(Debug, Clone)]
pub struct StoredPage {
    /// The newest server_seq in that view.
    pub head: u64,
    /// Up to `limit + 1` events after the cursor, in server_seq order (one more than asked tells whether
    /// there is more).
    pub events: Vec<Event>,
    /// The tally of everything in scope through `through`.
    pub scope: ScopeTally,
    pub through: u64,
    pub more: bool,
    pub photos: Vec<PhotoManifest>,
}

/// An announced photo file and how far its upload is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRow {
    pub length: u64,
    pub received: u64,
    pub present: bool,
    /// Where the photo store keeps it, once present.
    pub path: Option<String>,
    /// The evidence photo this file is (or is the thumbnail of).
    pub photo: String,
    /// The evidence's manifest as the device announced it (JSON).
    pub manifest: Option<String>,
}

/// A dashboard user saved by the admin: a new password, role and villages.
#[derive(Debug, Clone)]
pub struct WebUserUpdate<'a> {
    pub name: &'a str,
    pub role: Role,
    pub village_codes: &'a [String],
    pub password_hash: String,
    /// The token hash of the decisions device if one must be created: a token nobody is ever given.
    pub unusable_token_hash: String,
    pub now: String,
}

/// A login session as stored, with its user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: String,
    pub name: String,
    pub role: String,
    pub web_device: Option<String>,
    pub csrf: String,
    pub expires_at: String,
    pub villages: Vec<VillageId>,
}

/// A count of failed logins that an attempt belongs to, and how many it may hold in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginKey {
    pub key: String,
    pub limit: usize,
}

/// A lock held while one photo's upload is being written; released when dropped.
pub type UploadLock = Box<dyn Send>;

/// The storage the office's sync API runs on.
pub trait OfficeStore: Send + Sync + std::fmt::Debug {
    /// `sqlite` or `postgresql`.
    fn backend(&self) -> &'static str;

    /// The office's epoch: cursors from another epoch are refused.
    fn epoch(&self) -> &str;

    /// Replaces the epoch (after a restore); devices pull again from zero.
    fn set_epoch(&self, epoch: &str) -> Result<(), OfficeError>;

    /// Makes `body` (reference data as JSON, `version`) what every office process on this storage serves,
    /// and its villages what they judge against. SQLite needs nothing: its ledger is the places' home.
    fn publish_reference(&self, version: &str, body: &[u8]) -> Result<(), OfficeError>;

    /// Creates or updates the user and stores a one-time code (as its hash) for one of their devices.
    fn add_enrollment(&self, enrollment: &NewEnrollment<'_>) -> Result<(), OfficeError>;

    /// Swaps a code (by hash) for a token (by hash) bound to `device`.
    fn redeem_enrollment(
        &self,
        code_hash: &str,
        device: DeviceId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), OfficeError>;

    fn credential(&self, key: CredentialKey<'_>) -> Result<Option<Credential>, OfficeError>;

    /// Revokes an unrevoked device; false when there was none.
    fn revoke(&self, device: &str, now: &str) -> Result<bool, OfficeError>;

    fn devices(&self) -> Result<Vec<DeviceRow>, OfficeError>;

    /// Push groups one process commits at once. SQLite has one writer; PostgreSQL lets a group prepare
    /// its transaction while another holds the sequencer lock.
    fn concurrent_groups(&self) -> usize {
        1
    }

    /// Judges and stores pushes in one transaction, each in a savepoint: one answer per push, in order.
    /// The error is for the transaction as a whole (nothing of the group was stored).
    fn commit_pushes(
        &self,
        group: Vec<(Credential, PushRequest)>,
        now: &str,
    ) -> Result<Vec<Result<PushResponse, OfficeError>>, OfficeError>;

    /// The events in scope after `after`, at most `limit`; `Conflict` when `after` is beyond the head.
    fn pull(&self, scope: Option<&[VillageId]>, after: u64, limit: usize) -> Result<StoredPage, OfficeError>;

    /// The newest server_seq.
    fn head(&self) -> Result<u64, OfficeError>;

    /// How far the office has judged this device's events, and the ledger's head.
    fn position(&self, device: DeviceId) -> Result<(u64, u64), OfficeError>;

    /// The reference data devices work from (places, boundaries, categories) as JSON, and its version.
    fn reference(&self) -> Result<(String, Arc<Vec<u8>>), OfficeError>;

    fn photo(&self, hash: &PhotoHash) -> Result<Option<PhotoRow>, OfficeError>;

    /// Records upload progress; `present_at` is where the complete, verified file was stored.
    fn set_photo_progress(
        &self,
        hash: &PhotoHash,
        received: u64,
        present_at: Option<&str>,
        now: &str,
    ) -> Result<(), OfficeError>;

    /// Whether an event in one of `villages` brings the evidence photo `photo`.
    fn photo_in_scope(&self, photo: &str, villages: &[VillageId]) -> Result<bool, OfficeError>;

    /// Holds off every other writer of this photo's upload, in this process and any other.
    fn lock_upload(&self, hash: &PhotoHash) -> Result<UploadLock, OfficeError>;

    /// The hash of an evidence photo's thumbnail, when the office holds its file.
    fn thumbnail_of(&self, photo: &str) -> Result<Option<String>, OfficeError>;

    /// A counter bumped whenever places, boundaries or photo files change (what cached views read
    /// besides events).
    fn views_version(&self) -> Result<i64, OfficeError>;

    /// Creates or updates a dashboard user, with a decisions device if they have none; ends their sessions.
    fn save_web_user(&self, user: &WebUserUpdate<'_>) -> Result<(), OfficeError>;

    /// A user's id and password hash (if they may log in), by name.
    fn password_of(&self, name: &str) -> Result<Option<(String, Option<String>)>, OfficeError>;

    /// Stores a session (by token hash); expired sessions are dropped on the way.
    fn open_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), OfficeError>;

    /// The session with this token hash, whose user's decisions device is not revoked.
    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, OfficeError>;

    fn end_session(&self, token_hash: &str) -> Result<(), OfficeError>;

    fn users(&self) -> Result<Vec<crate::web::auth::UserRow>, OfficeError>;

    /// (user id, name) of every user.
    fn user_names(&self) -> Result<Vec<(String, String)>, OfficeError>;

    /// Counts a login attempt against every key, unless one of them already holds its limit of failures
    /// within `window_ms` before `now_ms`: then `Ok(Err(seconds to wait))` and nothing is counted. One
    /// decision for all office processes.
    fn login_attempt(&self, keys: &[LoginKey], now_ms: i64, window_ms: i64) -> Result<Result<(), u64>, OfficeError>;

    /// Takes back the newest attempt counted against each key.
    fn login_forget(&self, keys: &[String]) -> Result<(), OfficeError>;

    /// Forgets every failure counted against `key`.
    fn login_forgive(&self, key: &str) -> Result<(), OfficeError>;
}

/// The seconds to wait before the oldest of `count` failures (at `oldest_ms`) leaves the window, when
/// `count` has reached `limit`.
pub(crate) fn login_wait(count: usize, limit: usize, oldest_ms: i64, now_ms: i64, window_ms: i64) -> Option<u64> {
    (count >= limit).then(|| (((oldest_ms + window_ms - now_ms).max(0) as u64).div_ceil(1000)).max(1))
}

/// An event the office already judged, as stored.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub event_id: String,
    pub server_seq: Option<u64>,
    /// The verdict as JSON.
    pub verdict: Option<String>,
}

/// The reads and writes the sequencer makes inside one transaction.
pub(crate) trait SequencerTx {
    /// Reads ahead what the batch's events will need (a backend may do it in fewer round trips).
    fn prepare(&mut self, _batch: &[Event]) -> Result<(), OfficeError> {
        Ok(())
    }
    /// Writes what was held back; called once per push, before `set_acked`.
    fn finish(&mut self) -> Result<(), OfficeError> {
        Ok(())
    }
    fn acked_through(&mut self, device: DeviceId) -> Result<u64, OfficeError>;
    fn head(&mut self) -> Result<u64, OfficeError>;
    fn announce_photo(
        &mut self,
        hash: &str,
        kind: &str,
        photo: &str,
        length: u64,
        manifest: Option<&str>,
        now: &str,
    ) -> Result<(), OfficeError>;
    /// The stored event at this device_seq: (event_id, server_seq, verdict JSON).
    fn event_at(&mut self, device: DeviceId, device_seq: u64) -> Result<Option<Judged>, OfficeError>;
    fn refusal_at(&mut self, device: DeviceId, device_seq: u64) -> Result<Option<String>, OfficeError>;
    /// The server_seq of an event already in the ledger under this id.
    fn stored_seq(&mut self, event: &Event) -> Result<Option<u64>, OfficeError>;
    fn record_refusal(&mut self, event: &Event, reason: &str) -> Result<(), OfficeError>;
    fn issue_state(&mut self, issue: IssueId) -> Result<Option<IssueState>, OfficeError>;
    /// The village's current code, when the office knows the village.
    fn village_label(&mut self, village: VillageId) -> Result<Option<String>, OfficeError>;
    /// Stores the numbered, judged event with its place in the sequence and the running tallies.
    fn store_event(&mut self, event: &Event, seq: u64, village: Option<VillageId>) -> Result<(), OfficeError>;
    fn save_state(&mut self, state: &IssueState) -> Result<(), OfficeError>;
    fn set_acked(&mut self, device: DeviceId, acked: u64, now: &str) -> Result<(), OfficeError>;
}

/// One push inside the group's transaction: a verdict for every event that reaches its turn.
pub(crate) fn push_in(
    tx: &mut impl SequencerTx,
    credential: &Credential,
    request: PushRequest,
    now: &str,
) -> Result<PushResponse, OfficeError> {
    let mut batch = request.events;
    batch.sort_by_key(|event| event.device_seq);
    let mut acked = tx.acked_through(credential.device_id)?;
    let mut head = tx.head()?;
    tx.prepare(&batch)?;
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
        if let Some(seq) = tx.stored_seq(&event)? {
            let reason = format!("event id {} is already in the ledger (server_seq {seq})", event.event_id);
            tx.record_refusal(&event, &reason)?;
            results.push(refused(&event, None, &reason));
            continue;
        }
        head += 1;
        // Numbered before it is judged, so the issue's state records where in the office's order it stands.
        event.server_seq = Some(head);
        let state = tx.issue_state(event.issue_id)?;
        let (verdict, village, next) = judge(tx, credential, &event, state.as_ref())?;
        event.verdict = Some(verdict.clone());
        tx.store_event(&event, head, village)?;
        let next = match verdict {
            Verdict::Stored => next,
            Verdict::Refused { .. } => state.and_then(|state| IssueState::fold_one(Some(state), &event)),
        };
        if let Some(next) = next {
            tx.save_state(&next)?;
        }
        results.push(PushResult {
            event_id: event.event_id,
            device_seq: event.device_seq,
            server_seq: Some(head),
            verdict,
            seq_taken: false,
        });
    }
    tx.finish()?;
    tx.set_acked(credential.device_id, acked, now)?;
    Ok(PushResponse { acked_through: acked, results, resend_from })
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

/// The answer already given for a device_seq at or below `acked_through`.
fn earlier_answer(tx: &mut impl SequencerTx, event: &Event) -> Result<PushResult, OfficeError> {
    if let Some(Judged { event_id, server_seq, verdict }) = tx.event_at(event.device_id, event.device_seq)? {
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
            server_seq,
            verdict,
            seq_taken: false,
        });
    }
    let refusal = tx.refusal_at(event.device_id, event.device_seq)?;
    Ok(refused(event, None, &refusal.unwrap_or_else(|| "this device_seq was already judged".to_string())))
}

/// The office's verdict on one event, the village it belongs to, and the issue's next state when stored.
fn judge(
    tx: &mut impl SequencerTx,
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
    let Some(label) = tx.village_label(village)? else {
        return refuse(format!("village {village} is not known to the office"), None);
    };
    if event.author != credential.user_id {
        return refuse(format!("the event names author {}, not the enrolled user", event.author), Some(village));
    }
    if let Some(action) = Action::of(&event.body)
        && let Err(err) = authorize(&credential.profile(), action, village, &label, state)
    {
        return refuse(err.to_string(), Some(village));
    }
    match IssueState::transition(state, event) {
        Ok(next) => Ok((Verdict::Stored, Some(village), Some(next))),
        Err(err) => refuse(err.to_string(), Some(village)),
    }
}

/// Records the photos a batch brings, so their uploads are expected. Manifests for photos no event of the
/// batch names are ignored.
fn announce_photos(
    tx: &mut impl SequencerTx,
    manifests: &[PhotoManifest],
    batch: &[Event],
    now: &str,
) -> Result<(), OfficeError> {
    for manifest in manifests {
        if !batch.iter().any(|event| event.photos.contains(&manifest.hash)) {
            continue;
        }
        let text = serde_json::to_string(manifest).unwrap_or_default();
        let photo = manifest.hash.as_str();
        tx.announce_photo(photo, "evidence", photo, manifest.bytes, Some(&text), now)?;
        if let Some(thumb) = &manifest.thumbnail {
            tx.announce_photo(thumb.hash.as_str(), "thumbnail", photo, thumb.bytes, None, now)?;
        }
    }
    Ok(())
}

/// A village's running tally after this event (`before` is the village's tally so far).
pub(crate) fn village_tally_after(before: ScopeTally, event: &Event, seq: u64) -> ScopeTally {
    let mut tally = before;
    tally.add(event.event_id, seq);
    tally
}

/// The whole ledger's running digest sum after this event.
pub(crate) fn global_sum_after(before: u64, event: &Event, seq: u64) -> u64 {
    before.wrapping_add(rectify_core::sync::wire::event_digest(event.event_id, seq))
}

/// Ids the database keeps as text, read back.
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, OfficeError> {
    text.parse().map_err(|_| OfficeError::Internal(format!("bad stored id {text}")))
}

/// Cuts a page read with one extra event down to `limit`, and says how far it reaches.
pub(crate) fn trim_page(events: &mut Vec<Event>, limit: usize, head: u64) -> (u64, bool) {
    let more = events.len() > limit;
    events.truncate(limit);
    let through = match (more, events.last()) {
        (true, Some(last)) => last.server_seq.unwrap_or(head),
        _ => head,
    };
    (through, more)
}
