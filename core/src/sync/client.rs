//! The device's sync as a state machine: it says which request to send next, and takes the response.
//! The driver ([`run`]) moves bytes through a [`Transport`] and retries with capped exponential backoff.
//! Every step can be repeated safely, so a retry (or a new sync after a crash) resumes where the last one
//! stopped: pushes are idempotent on the office, pulls start from the cursor stored with the last page,
//! uploads from the office's offset.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::apply::{self, PageError, PageOutcome};
use super::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use super::wire::*;
use crate::domain::event::Event;
use crate::domain::photo::PhotoHash;
use crate::ledger::Ledger;
use crate::store::photo_transfer::{self, OwedUpload, WantedFile};
use crate::store::{events, profile, sync as sync_store};
use crate::{RectifyError, Result};

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Failed attempts in a row (without any progress) before the sync gives up for now.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { first_delay: Duration::from_millis(250), max_delay: Duration::from_secs(30), max_attempts: 8 }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt` (1-based) after a failure: doubling, capped, with up to a quarter
    /// of jitter so that many phones coming back online do not knock in step.
    pub fn delay(&self, attempt: u32, jitter_seed: u64) -> Duration {
        let doubled = self.first_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = doubled.min(self.max_delay);
        let jitter = capped.as_millis() as u64 / 4;
        capped + Duration::from_millis(if jitter == 0 { 0 } else { jitter_seed % jitter })
    }
}

/// What a sync should do besides the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Also fetch full evidence images of other devices' photos (thumbnails always come).
    pub full_photos: bool,
    /// Events per pull page asked for (the office may send fewer).
    pub page_size: usize,
    /// Events per push (the office may allow fewer).
    pub push_events: usize,
    /// Bytes per upload chunk (the office may allow fewer).
    pub chunk_bytes: usize,
    pub retry: RetryPolicy,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            full_photos: false,
            page_size: 2000,
            push_events: 500,
            chunk_bytes: 256 << 10,
            retry: RetryPolicy::default(),
        }
    }
}

/// The stages of one sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Hello,
    Reference,
    Push,
    PhotosUp,
    Pull,
    PhotosDown,
    Done,
}

/// Where a sync stands, for a progress bar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub phase: Option<Phase>,
    pub events_up: u64,
    pub events_down: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub photos_up: u64,
    pub photos_down: u64,
    /// Events still waiting to be pushed.
    pub pending: u64,
}

/// Told about progress after every exchange with the office, and asked before each one whether the
/// person still wants the sync: a sync stops between two exchanges, so nothing is left half-applied.
pub trait SyncProgress: Send + Sync {
    fn progress(&self, progress: &Progress);

    /// True once the sync should stop; it then ends with [`RectifyError::Interrupted`].
    fn cancelled(&self) -> bool {
        false
    }
}

/// No progress wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl SyncProgress for Quiet {
    fn progress(&self, _: &Progress) {}
}

/// What one sync moved and what is left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub pushed: u64,
    pub pulled: u64,
    pub photos_up: u64,
    pub photos_down: u64,
    pub rejected: Vec<RejectedEvent>,
    /// Events still waiting for the office.
    pub pending: u64,
    /// Seconds since the oldest of them was recorded.
    pub oldest_pending_age_s: Option<i64>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// The office's data set changed (restored from backup): the device pulled again from zero.
    pub epoch_changed: bool,
    /// The device found it did not hold what the office said it had sent, and pulled again from zero.
    pub repaired: bool,
    /// Photos that could not be sent or fetched this time, and why; the next sync tries again.
    pub photo_problems: Vec<String>,
}

/// An upload under way: the file, and the office's offset when known.
#[derive(Debug, Clone)]
struct Upload {
    owed: OwedUpload,
    offset: Option<u64>,
}

/// One sync, step by step.
#[derive(Debug)]
pub struct SyncSession<'a> {
    ledger: &'a Ledger,
    options: SyncOptions,
    phase: Phase,
    token: String,
    hello: Option<SyncHello>,
    /// Events of the push in flight.
    in_flight: Vec<Event>,
    uploads: VecDeque<Upload>,
    downloads: VecDeque<WantedFile>,
    repairs: u32,
    /// At most this many events per push (lowered when the office finds a batch too large).
    push_cap: usize,
    progress: Progress,
    report: SyncReport,
}

impl<'a> SyncSession<'a> {
    pub fn new(ledger: &'a Ledger, options: SyncOptions) -> Result<Self> {
        let state = ledger.store().read(|conn| Ok::<_, RectifyError>(sync_store::load(conn)?))?.ok_or_else(|| {
            RectifyError::NotInitialised {
                reason: "this device is not enrolled with an office: run `rectify enroll --server URL --code CODE`"
                    .into(),
            }
        })?;
        Ok(Self {
            ledger,
            options,
            phase: Phase::Hello,
            token: state.token,
            hello: None,
            in_flight: Vec::new(),
            uploads: VecDeque::new(),
            downloads: VecDeque::new(),
            repairs: 0,
            push_cap: usize::MAX,
            progress: Progress::default(),
            report: SyncReport::default(),
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    fn request(&self, method: Method, path: String) -> HttpRequest {
        HttpRequest::new(method, path)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept-encoding", "gzip")
    }

    fn limits(&self) -> Limits {
        self.hello.as_ref().map(|hello| hello.limits).unwrap_or_default()
    }

    /// The next request to send, or `None` when the sync is complete.
    pub fn next_request(&mut self) -> Result<Option<HttpRequest>> {
        loop {
            self.progress.phase = Some(self.phase);
            match self.phase {
                Phase::Hello => return Ok(Some(self.request(Method::Get, "/v1/sync/state".into()))),
                Phase::Reference => return Ok(Some(self.request(Method::Get, "/v1/reference".into()))),
                Phase::Push => {
                    if let Some(request) = self.push_request()? {
                        return Ok(Some(request));
                    }
                    self.enter_photos_up()?;
                }
                Phase::PhotosUp => {
                    if let Some(request) = self.upload_request()? {
                        return Ok(Some(request));
                    }
                    self.phase = Phase::Pull;
                }
                Phase::Pull => {
                    let cursor = self
                        .ledger
                        .store()
                        .read(|conn| Ok::<_, RectifyError>(sync_store::load(conn)?.map(|state| state.cursor)))?
                        .unwrap_or_default();
                    return Ok(Some(self.pull_request(&cursor)));
                }
                Phase::PhotosDown => {
                    if let Some((_, file, _, _)) = self.downloads.front() {
                        return Ok(Some(self.request(Method::Get, format!("/v1/photos/{file}"))));
                    }
                    self.phase = Phase::Done;
                }
                Phase::Done => return Ok(None),
            }
        }
    }

    /// The request failed without an answer: forget what the office may have changed meanwhile.
    pub fn on_transport_failure(&mut self) {
        if let Some(upload) = self.uploads.front_mut() {
            upload.offset = None;
        }
    }

    /// Takes the office's answer to the last request.
    pub fn handle(&mut self, response: HttpResponse) -> Result<()> {
        self.handle_fetched(response, None)
    }

    /// [`SyncSession::handle`] for an answer whose pull page was already decoded (off this thread).
    fn handle_fetched(&mut self, response: HttpResponse, page: Option<Result<PullPage>>) -> Result<()> {
        self.progress.bytes_down += response.body.len() as u64;
        self.report.bytes_down += response.body.len() as u64;
        if matches!(response.status, 401 | 403) {
            let message = error_message(&response);
            return Err(RectifyError::NotPermitted {
                reason: format!("the office refused this device ({message}); enroll it again with a new code"),
            });
        }
        match self.phase {
            Phase::Hello => self.on_hello(&response),
            Phase::Reference => self.on_reference(&response),
            Phase::Push => self.on_push(&response),
            Phase::PhotosUp => self.on_upload(&response),
            Phase::Pull => self.on_pull(&response, page),
            Phase::PhotosDown => self.on_download(&response),
            Phase::Done => Ok(()),
        }
    }

    fn on_hello(&mut self, response: &HttpResponse) -> Result<()> {
        let hello: SyncHello = decode(response)?;
        if hello.protocol != PROTOCOL_VERSION {
            return Err(RectifyError::Sync {
                reason: format!("the office speaks protocol {}, this app {PROTOCOL_VERSION}", hello.protocol),
            });
        }
        let ledger = self.ledger;
        let epoch_changed = ledger.store().write(|tx| {
            let state = sync_store::load(tx)?.ok_or_else(|| RectifyError::Sync { reason: "not enrolled".into() })?;
            let (profile, counters) = profile::load(tx)?.ok_or_else(crate::ledger::not_initialised)?;
            let changed = state.epoch != hello.epoch;
            // The office holds less of this device than the device thinks it acknowledged (it was restored,
            // or lost its last writes): send those events again.
            let mut touched = Vec::new();
            if sync_store::acked_through(tx, counters.next_device_seq)? > hello.acked_through {
                touched.extend(sync_store::requeue_from(tx, profile.device_id, hello.acked_through + 1)?);
            }
            if changed {
                apply::restart_from_zero(tx, &hello.epoch)?;
            } else {
                apply::refold(tx, touched)?;
            }
            Ok::<_, RectifyError>(changed && !state.epoch.is_empty())
        })?;
        self.report.epoch_changed |= epoch_changed;
        let reference_current = ledger
            .store()
            .read(|conn| Ok::<_, RectifyError>(sync_store::load(conn)?.map(|state| state.reference_version)))?
            .is_some_and(|version| version == hello.reference_version);
        self.hello = Some(hello);
        if reference_current {
            self.update_profile()?;
            self.phase = Phase::Push;
        } else {
            self.phase = Phase::Reference;
        }
        Ok(())
    }

    fn update_profile(&mut self) -> Result<()> {
        let Some(hello) = &self.hello else { return Ok(()) };
        let now = self.ledger.now();
        self.ledger.store().write(|tx| apply::profile_from_office(tx, hello.role, &hello.villages, now))
    }

    fn on_reference(&mut self, response: &HttpResponse) -> Result<()> {
        let data: ReferenceData = decode(response)?;
        let now = self.ledger.now().to_rfc3339();
        self.ledger.store().write(|tx| apply::reference(tx, &data, &now))?;
        self.update_profile()?;
        self.phase = Phase::Push;
        Ok(())
    }

    fn push_request(&mut self) -> Result<Option<HttpRequest>> {
        let limits = self.limits();
        let max_events = self.options.push_events.min(self.push_cap);
        let (batch, manifests) = self.ledger.store().read(|conn| {
            let batch = events::pending(conn, limits.max_push_events.min(max_events).max(1))?;
            let mut manifests = Vec::new();
            for hash in batch.iter().flat_map(|event| event.photos.iter()) {
                if !manifests.iter().any(|known: &PhotoManifest| &known.hash == hash)
                    && let Some(manifest) = photo_transfer::manifest(conn, hash)?
                {
                    manifests.push(manifest);
                }
            }
            Ok::<_, RectifyError>((batch, manifests))
        })?;
        // Manifests count towards the office's byte limit too: drop events from the end until it fits.
        let (batch, manifests) = fit_push(batch, manifests, limits.max_push_bytes);
        if batch.is_empty() {
            return Ok(None);
        }
        let body = serde_json::to_vec(&PushRequest { events: batch.clone(), photos: manifests })
            .map_err(|err| RectifyError::Sync { reason: format!("could not encode the push: {err}") })?;
        let packed = gzip(&body);
        self.progress.bytes_up += packed.len() as u64;
        self.report.bytes_up += packed.len() as u64;
        self.in_flight = batch;
        Ok(Some(
            self.request(Method::Post, "/v1/push".into())
                .header("content-type", JSON)
                .header("content-encoding", "gzip")
                .body(packed),
        ))
    }

    fn on_push(&mut self, response: &HttpResponse) -> Result<()> {
        if response.status == 413 && self.in_flight.len() > 1 {
            // Too large for the office after all: halve the batches for the rest of this sync.
            self.push_cap = (self.in_flight.len() / 2).max(1);
            self.in_flight.clear();
            return Ok(());
        }
        let answer: PushResponse = decode(response)?;
        let device = self.ledger.profile()?.device_id;
        let sent = std::mem::take(&mut self.in_flight);
        let applied = self.ledger.store().write(|tx| apply::push_response(tx, &sent, &answer, device))?;
        if applied.acknowledged == 0 && !applied.requeued {
            return Err(RectifyError::Sync {
                reason: format!(
                    "the office acknowledged none of {} events (it holds this device through {}); try again later",
                    sent.len(),
                    answer.acked_through
                ),
            });
        }
        self.report.pushed += applied.acknowledged;
        self.progress.events_up += applied.acknowledged;
        self.report.rejected.extend(applied.rejected);
        Ok(())
    }

    fn enter_photos_up(&mut self) -> Result<()> {
        let owed = self.ledger.store().read(|conn| Ok::<_, RectifyError>(photo_transfer::owed_uploads(conn)?))?;
        self.uploads = owed.into_iter().map(|owed| Upload { owed, offset: None }).collect();
        self.phase = Phase::PhotosUp;
        Ok(())
    }

    fn upload_request(&mut self) -> Result<Option<HttpRequest>> {
        let chunk_limit = self.options.chunk_bytes.min(self.limits().max_chunk_bytes).max(1);
        let files = self.ledger.photo_store().ok_or_else(|| RectifyError::Sync { reason: "no photo store".into() })?;
        let (path, offset, length, chunk) = loop {
            let Some(upload) = self.uploads.front() else { return Ok(None) };
            let path = format!("/v1/photos/{}", upload.owed.hash);
            let Some(offset) = upload.offset else { return Ok(Some(self.request(Method::Head, path))) };
            let length = upload.owed.bytes;
            match read_chunk(&files.path_of(&upload.owed.path), offset, chunk_limit) {
                Ok(chunk) if chunk.is_empty() && offset < length => {
                    let reason =
                        format!("its file on this device is shorter than recorded ({offset} of {length} bytes)");
                    self.skip_upload(&reason);
                }
                Ok(chunk) => break (path, offset, length, chunk),
                Err(err) => self.skip_upload(&err.to_string()),
            }
        };
        self.progress.bytes_up += chunk.len() as u64;
        self.report.bytes_up += chunk.len() as u64;
        Ok(Some(
            self.request(Method::Patch, path)
                .header("content-type", OCTETS)
                .header(UPLOAD_OFFSET, offset.to_string())
                .header(UPLOAD_LENGTH, length.to_string())
                .header(UPLOAD_CHECKSUM, chunk_checksum(&chunk))
                .body(chunk),
        ))
    }

    fn on_upload(&mut self, response: &HttpResponse) -> Result<()> {
        let Some(upload) = self.uploads.front_mut() else { return Ok(()) };
        if response.status == 404 {
            // The office does not expect this photo (it lost the manifest with a restore): next sync.
            self.skip_upload("the office does not expect it");
            return Ok(());
        }
        if response.status == 409 {
            // Our idea of the offset was stale (an earlier chunk landed but its answer was lost).
            upload.offset = None;
            return Ok(());
        }
        if (400..500).contains(&response.status) {
            // Something wrong with this one photo (its length, its content): the others, and the pull, go on.
            self.skip_upload(&error_message(response));
            return Ok(());
        }
        let status = upload_status(response)?;
        if status.present {
            let done = self.uploads.pop_front().map(|upload| upload.owed);
            if let Some(done) = done.filter(|done| !done.is_thumbnail) {
                self.ledger.confirm_photos(std::slice::from_ref(&done.photo))?;
                self.report.photos_up += 1;
                self.progress.photos_up += 1;
            }
            return Ok(());
        }
        if status.offset > upload.owed.bytes {
            return Err(RectifyError::Sync {
                reason: format!("the office holds more of photo {} than it has bytes", upload.owed.hash),
            });
        }
        upload.offset = Some(status.offset);
        Ok(())
    }

    /// Leaves the current upload for a later sync, saying why in the report.
    fn skip_upload(&mut self, reason: &str) {
        if let Some(upload) = self.uploads.pop_front() {
            self.report.photo_problems.push(format!("photo {} was not sent: {reason}", upload.owed.photo));
        }
    }

    fn on_pull(&mut self, response: &HttpResponse, decoded: Option<Result<PullPage>>) -> Result<()> {
        if response.status == 409 {
            // The office does not know the cursor (another epoch, or ahead of its ledger: restored without a
            // new epoch). Pull again from zero, once per sync.
            self.repairs += 1;
            if self.repairs > 1 {
                return Err(RectifyError::Sync {
                    reason: format!("the office refused the pull position twice: {}", error_message(response)),
                });
            }
            self.report.repaired = true;
            let epoch = self.hello.as_ref().map(|hello| hello.epoch.clone()).unwrap_or_default();
            self.ledger.store().write(|tx| apply::restart_from_zero(tx, &epoch))?;
            return Ok(());
        }
        let page = decoded.unwrap_or_else(|| decode_page(response))?;
        let now = self.ledger.now().to_rfc3339();
        let outcome = self.ledger.store().write(|tx| {
            let state = sync_store::load(tx)?.ok_or_else(|| RectifyError::Sync { reason: "not enrolled".into() })?;
            if state.epoch != page.epoch {
                return Ok(None);
            }
            apply::pull_page(tx, &page, state.tally, &now).map(Some)
        });
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(PageError::Renumbered) => {
                Some(PageOutcome::Mismatch { expected: page.scope, found: ScopeTally::default() })
            }
            Err(PageError::Failed(err)) => return Err(err),
        };
        match outcome {
            None => self.phase = Phase::Hello,
            Some(PageOutcome::Applied { new_events }) => {
                self.report.pulled += new_events;
                self.progress.events_down += page.events.len() as u64;
                if !page.more {
                    self.enter_photos_down()?;
                }
            }
            Some(PageOutcome::Mismatch { expected, found }) => {
                self.repairs += 1;
                if self.repairs > 1 {
                    return Err(RectifyError::Sync {
                        reason: format!(
                            "after pulling again from zero the device still holds {} events in scope where the office counts {}",
                            found.count, expected.count
                        ),
                    });
                }
                self.report.repaired = true;
                let epoch = page.epoch.clone();
                self.ledger.store().write(|tx| apply::restart_from_zero(tx, &epoch))?;
            }
        }
        Ok(())
    }

    /// The request for the page after this answer's, when the office says there is one: the driver fetches
    /// it while this page is applied.
    fn pull_after(&self, response: &HttpResponse) -> Option<HttpRequest> {
        if self.phase != Phase::Pull || response.status != 200 || response.header(PULL_MORE) != Some("yes") {
            return None;
        }
        let cursor = response.header(PULL_CURSOR)?;
        Some(self.pull_request(cursor))
    }

    fn pull_request(&self, cursor: &str) -> HttpRequest {
        let limit = self.options.page_size.min(self.limits().max_pull_events).max(1);
        self.request(Method::Get, format!("/v1/pull?cursor={cursor}&limit={limit}"))
    }

    fn enter_photos_down(&mut self) -> Result<()> {
        let full = self.options.full_photos;
        let wanted =
            self.ledger.store().read(|conn| Ok::<_, RectifyError>(photo_transfer::wanted_downloads(conn, full)))??;
        self.downloads = wanted.into();
        self.phase = Phase::PhotosDown;
        Ok(())
    }

    fn on_download(&mut self, response: &HttpResponse) -> Result<()> {
        let Some((photo, file, _, is_thumbnail)) = self.downloads.pop_front() else { return Ok(()) };
        if response.status == 404 {
            // Not uploaded to the office yet: a later sync fetches it.
            return Ok(());
        }
        if response.status != 200 {
            self.report
                .photo_problems
                .push(format!("photo file {file} could not be fetched: {}", error_message(response)));
            return Ok(());
        }
        if PhotoHash::of_bytes(&response.body) != file {
            self.report.photo_problems.push(format!("photo file {file} arrived with other content; it was not kept"));
            return Ok(());
        }
        let files = self.ledger.photo_store().ok_or_else(|| RectifyError::Sync { reason: "no photo store".into() })?;
        let stored = files.put_bytes(&response.body)?;
        self.ledger.store().write(|tx| {
            Ok::<_, RectifyError>(photo_transfer::set_downloaded(tx, &photo, &stored.relative_path, is_thumbnail)?)
        })?;
        self.report.photos_down += 1;
        self.progress.photos_down += 1;
        Ok(())
    }

    /// Finishes the report with what is still pending.
    fn finish(mut self, error: Option<&RectifyError>) -> Result<SyncReport> {
        let now = self.ledger.now();
        let summary = self.ledger.outbox()?;
        self.report.pending = summary.pending_events;
        self.report.oldest_pending_age_s = summary
            .oldest_recorded_at
            .as_deref()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| (now - at.with_timezone(&chrono::Utc)).num_seconds().max(0));
        let message = error.map(ToString::to_string);
        self.ledger
            .store()
            .write(|tx| Ok::<_, RectifyError>(sync_store::save_outcome(tx, &now.to_rfc3339(), message.as_deref())?))?;
        Ok(self.report)
    }
}

/// Runs a whole sync through `transport`. On failure the error says why, and everything done before it
/// stays done.
pub fn run(
    ledger: &Ledger,
    transport: &dyn Transport,
    options: SyncOptions,
    progress: &dyn SyncProgress,
) -> Result<SyncReport> {
    let mut session = SyncSession::new(ledger, options)?;
    let outcome = drive(&mut session, transport, options.retry, progress);
    let report = session.finish(outcome.as_ref().err())?;
    outcome.map(|()| report)
}

/// Drops events (and the manifests only they name) from the end of a batch until its JSON fits in nine
/// tenths of `max_bytes`; one event always stays, so an oversized one gets the office's own refusal.
fn fit_push(
    mut batch: Vec<Event>,
    mut manifests: Vec<PhotoManifest>,
    max_bytes: usize,
) -> (Vec<Event>, Vec<PhotoManifest>) {
    fn json_len<T: Serialize>(value: &T) -> usize {
        serde_json::to_vec(value).map(|bytes| bytes.len()).unwrap_or(0)
    }
    let budget = max_bytes / 10 * 9;
    let mut total: usize = batch.iter().map(json_len).sum::<usize>() + manifests.iter().map(json_len).sum::<usize>();
    while total > budget && batch.len() > 1 {
        let Some(dropped) = batch.pop() else { break };
        total = total.saturating_sub(json_len(&dropped));
        manifests.retain(|manifest| {
            let still_named = batch.iter().any(|event| event.photos.contains(&manifest.hash));
            if !still_named {
                total = total.saturating_sub(json_len(manifest));
            }
            still_named
        });
    }
    (batch, manifests)
}

/// An answer, with its pull page already decoded when it is one.
struct Fetched {
    response: Result<HttpResponse, TransportError>,
    page: Option<Result<PullPage>>,
}

fn fetch(transport: &dyn Transport, request: &HttpRequest, pull: bool) -> Fetched {
    let response = transport.send(request);
    let page = match &response {
        Ok(answer) if pull && answer.status == 200 => Some(decode_page(answer)),
        _ => None,
    };
    Fetched { response, page }
}

fn drive(
    session: &mut SyncSession<'_>,
    transport: &dyn Transport,
    retry: RetryPolicy,
    progress: &dyn SyncProgress,
) -> Result<()> {
    // While one pull page is applied, the next is fetched and decoded on another thread: the office, the
    // network and the device's disk work at the same time.
    std::thread::scope(|scope| {
        let mut ahead: Option<(HttpRequest, std::thread::ScopedJoinHandle<'_, Fetched>)> = None;
        let mut failures = 0u32;
        let mut jitter = session.ledger.now().timestamp_subsec_nanos() as u64;
        while let Some(request) = session.next_request()? {
            if progress.cancelled() {
                return Err(cancelled());
            }
            let fetched = match ahead.take() {
                Some((asked, handle)) if asked == request => handle.join().unwrap_or_else(|_| Fetched {
                    response: Err(TransportError::Broken("the page fetch failed".into())),
                    page: None,
                }),
                _ => fetch(transport, &request, session.phase() == Phase::Pull),
            };
            let failure = match fetched.response {
                Ok(response) if is_transient(response.status) => {
                    format!("the office answered {} ({})", response.status, error_message(&response))
                }
                Ok(response) => {
                    // Only an answer that moves the sync on resets the count: a HEAD that succeeds before
                    // every chunk fails must not keep a hopeless upload going forever.
                    if (200..300).contains(&response.status) && request.method != Method::Head {
                        failures = 0;
                    }
                    if let Some(next) = session.pull_after(&response) {
                        let sent = next.clone();
                        ahead = Some((next, scope.spawn(move || fetch(transport, &sent, true))));
                    }
                    session.handle_fetched(response, fetched.page)?;
                    session.progress.pending = session.ledger.outbox()?.pending_events;
                    progress.progress(&session.progress);
                    continue;
                }
                Err(err) => err.to_string(),
            };
            failures += 1;
            session.report.retries += 1;
            session.on_transport_failure();
            if failures >= retry.max_attempts {
                return Err(RectifyError::Sync {
                    reason: format!(
                        "gave up after {failures} attempts in a row: {failure}; the next sync resumes here"
                    ),
                });
            }
            jitter = jitter.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            pause(retry.delay(failures, jitter >> 33), progress)?;
        }
        progress.progress(&session.progress);
        Ok(())
    })
}

/// Waits out a retry delay in short steps, so a cancel does not wait for the whole backoff.
fn pause(delay: Duration, progress: &dyn SyncProgress) -> Result<()> {
    let step = Duration::from_millis(50);
    let mut left = delay;
    while !left.is_zero() {
        if progress.cancelled() {
            return Err(cancelled());
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    Ok(())
}

fn cancelled() -> RectifyError {
    RectifyError::Interrupted {
        reason: "the sync was cancelled; everything it finished is kept and the next sync resumes from there".into(),
    }
}

fn decode_page(response: &HttpResponse) -> Result<PullPage> {
    let body = decoded_body(response)?;
    serde_json::from_slice(&body)
        .map_err(|err| RectifyError::Sync { reason: format!("the office sent a page this app cannot read: {err}") })
}

fn is_transient(status: u16) -> bool {
    // 460: a chunk arrived damaged; reading it again from disk and resending is the cure.
    matches!(status, 408 | 429 | 460 | 500..=599)
}

fn decoded_body(response: &HttpResponse) -> Result<Vec<u8>> {
    if !(200..300).contains(&response.status) {
        return Err(unexpected(response));
    }
    if response.header("content-encoding").is_some_and(|encoding| encoding.eq_ignore_ascii_case("gzip")) {
        if !response.body.starts_with(&[0x1f, 0x8b]) {
            // The usual cause is a platform HTTP stack (URLSession) that inflated the body itself but kept
            // the header: say so, since the fix is in the app's transport.
            return Err(RectifyError::Sync {
                reason: "the answer says it is gzip-compressed but is not; an HTTP stack that decompresses \
                         bodies itself must drop the Content-Encoding header"
                    .into(),
            });
        }
        gunzip(&response.body, 512 << 20).map_err(|reason| RectifyError::Sync { reason })
    } else {
        Ok(response.body.clone())
    }
}

fn decode<T: serde::de::DeserializeOwned>(response: &HttpResponse) -> Result<T> {
    let body = decoded_body(response)?;
    serde_json::from_slice(&body)
        .map_err(|err| RectifyError::Sync { reason: format!("the office sent an answer this app cannot read: {err}") })
}

/// Where an upload stands, from the headers of a HEAD or PATCH answer.
fn upload_status(response: &HttpResponse) -> Result<UploadStatus> {
    if !(200..300).contains(&response.status) {
        return Err(unexpected(response));
    }
    let number = |name: &str| response.header(name).and_then(|value| value.trim().parse::<u64>().ok());
    match (number(UPLOAD_OFFSET), number(UPLOAD_LENGTH)) {
        (Some(offset), Some(length)) => Ok(UploadStatus {
            offset,
            length,
            present: response.header("photo-present").is_some_and(|value| value.trim() == "yes"),
        }),
        _ => Err(RectifyError::Sync { reason: "the office's upload answer lacks its offset and length".into() }),
    }
}

fn error_message(response: &HttpResponse) -> String {
    serde_json::from_slice::<ErrorBody>(&response.body)
        .map(|body| body.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&response.body).chars().take(200).collect())
}

fn unexpected(response: &HttpResponse) -> RectifyError {
    RectifyError::Sync { reason: format!("the office answered {}: {}", response.status, error_message(response)) }
}

fn read_chunk(path: &std::path::Path, offset: u64, limit: usize) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let failed =
        |err: std::io::Error| RectifyError::Storage { reason: format!("cannot read {}: {err}", path.display()) };
    let mut file = std::fs::File::open(path).map_err(failed)?;
    file.seek(SeekFrom::Start(offset)).map_err(failed)?;
    let mut chunk = Vec::with_capacity(limit);
    file.take(limit as u64).read_to_end(&mut chunk).map_err(failed)?;
    Ok(chunk)
}

/// Swaps a one-time code for this device's credential, then records who the device now acts for.
pub fn enroll(ledger: &Ledger, transport: &dyn Transport, server_url: &str, code: &str) -> Result<EnrollResponse> {
    let code = code.trim();
    if code.is_empty() {
        return Err(RectifyError::invalid("give the enrollment code the office printed, with --code CODE"));
    }
    let device_id = ledger.store().read(|conn| {
        if let Some(state) = sync_store::load(conn)?
            && !state.token.is_empty()
        {
            // Enrolling again (a new code after a revoked token) keeps the device and its ledger.
            return Ok::<_, RectifyError>(profile::load(conn)?.map(|(profile, _)| profile.device_id));
        }
        let held: i64 =
            conn.query_row("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM villages)", [], |row| {
                row.get(0)
            })?;
        if held > 0 {
            return Err(RectifyError::invalid(
                "this device already holds a local ledger or villages; enroll a fresh database (pass a new --db)",
            ));
        }
        Ok(profile::load(conn)?.map(|(profile, _)| profile.device_id))
    })?;
    let device_id = device_id.unwrap_or_default();
    let body = serde_json::to_vec(&EnrollRequest { code: code.to_string(), device_id })
        .map_err(|err| RectifyError::Sync { reason: err.to_string() })?;
    let request = HttpRequest::new(Method::Post, "/v1/enroll")
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header("content-type", JSON)
        .body(body);
    let response =
        transport.send(&request).map_err(|err: TransportError| RectifyError::Sync { reason: err.to_string() })?;
    if matches!(response.status, 401 | 403 | 404 | 410) {
        return Err(RectifyError::NotPermitted {
            reason: format!("the office refused the code: {}", error_message(&response)),
        });
    }
    let answer: EnrollResponse = decode(&response)?;
    let now = ledger.now();
    ledger.store().write(|tx| {
        let profile = crate::domain::role::DeviceProfile {
            device_id,
            user_id: answer.user_id,
            user_name: answer.user_name.clone(),
            role: answer.role,
            villages: Vec::new(),
        };
        profile::save(tx, &profile, now)?;
        if let Some(before) = sync_store::load(tx)?
            && (before.server_url != server_url || before.epoch != answer.epoch)
        {
            // Another office (or a replaced one): nothing learnt from the old one holds.
            sync_store::forget_office(tx)?;
        }
        sync_store::save_enrollment(tx, server_url, &answer.token, &answer.epoch, &now.to_rfc3339())?;
        Ok::<_, RectifyError>(())
    })?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_bounded_jitter() {
        let policy = RetryPolicy {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_attempts: 10,
        };
        let plain = |attempt| policy.delay(attempt, 0);
        assert_eq!(plain(1), Duration::from_millis(100));
        assert_eq!(plain(2), Duration::from_millis(200));
        assert_eq!(plain(4), Duration::from_millis(800));
        assert_eq!(plain(9), Duration::from_secs(2), "capped");
        assert_eq!(plain(60), Duration::from_secs(2), "no overflow for long outages");
        for seed in [1, 77, 123_456_789] {
            let jittered = policy.delay(3, seed);
            assert!(jittered >= plain(3) && jittered < plain(3) + plain(3) / 4, "{jittered:?}");
        }
    }

    #[test]
    fn a_category_table_sent_by_the_office_is_used_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        let clock = std::sync::Arc::new(crate::clock::SystemClock);
        let ledger = Ledger::open(&path, crate::store::OpenMode::CreateIfMissing, clock.clone()).unwrap();
        let mut table = serde_json::to_value(crate::domain::category::Catalogue::builtin()).unwrap();
        table["version"] = serde_json::json!(7);
        ledger.store().write(|tx| sync_store::save_reference(tx, "catalogue", "7", &table)).unwrap();
        drop(ledger);
        let reopened = Ledger::open(&path, crate::store::OpenMode::MustExist, clock).unwrap();
        assert_eq!(reopened.catalogue().version, 7);
    }

    #[test]
    fn a_cancel_stops_the_sync_inside_a_long_backoff() {
        struct Down;
        impl Transport for Down {
            fn send(&self, _: &HttpRequest) -> Result<HttpResponse, TransportError> {
                Err(TransportError::TimedOut)
            }
        }
        /// Says "cancel" from the third question on.
        struct CancelLater(std::sync::atomic::AtomicU32);
        impl SyncProgress for CancelLater {
            fn progress(&self, _: &Progress) {}
            fn cancelled(&self) -> bool {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2
            }
        }
        let ledger = Ledger::in_memory(std::sync::Arc::new(crate::clock::SystemClock)).unwrap();
        ledger.store().write(|tx| sync_store::save_enrollment(tx, "http://office", "token", "epoch", "now")).unwrap();
        let slow =
            RetryPolicy { first_delay: Duration::from_secs(60), max_delay: Duration::from_secs(60), max_attempts: 5 };
        let started = std::time::Instant::now();
        let outcome = ledger.sync(&Down, SyncOptions { retry: slow, ..SyncOptions::default() }, &CancelLater(0.into()));
        assert!(matches!(outcome, Err(RectifyError::Interrupted { .. })), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "the cancel waited out the backoff");
        let status = ledger.sync_status().unwrap().unwrap();
        assert!(status.last_error.is_some_and(|error| error.contains("cancelled")));
    }

    #[test]
    fn upload_status_comes_from_the_headers() {
        let answer = HttpResponse {
            status: 200,
            headers: vec![
                (UPLOAD_OFFSET.into(), "4096".into()),
                (UPLOAD_LENGTH.into(), "9000".into()),
                ("photo-present".into(), "no".into()),
            ],
            body: Vec::new(),
        };
        assert_eq!(upload_status(&answer).unwrap(), UploadStatus { offset: 4096, length: 9000, present: false });
        let bare = HttpResponse { status: 200, headers: Vec::new(), body: Vec::new() };
        assert!(upload_status(&bare).is_err());
    }
}
