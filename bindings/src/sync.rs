//! Sync across the FFI. A [`SyncJob`] is one sync: the app makes it on the UI thread, hands it to a
//! worker to `run()`, and may `cancel()` it from anywhere; the sync then stops between two exchanges with
//! the office, keeping everything finished so far. uniffi cannot cancel a future, which is why the job is
//! an object with a blocking `run()` rather than an async function.
//!
//! The network is either the built-in HTTP client or a [`SyncTransport`] the host writes with its own
//! stack (OkHttp, URLSession, background transfers). Progress reaches a [`SyncListener`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError, Weak};
use std::time::Duration;

use rectify_core::sync::{self as core_sync, RetryPolicy, SyncOptions, Transport};

use crate::device::Device;
use crate::error::{RectifyError, TransportError};
use crate::records::{HttpHeader, HttpRequest, HttpResponse, SyncProgress, SyncSummary};

/// Sends one request to the office and returns its answer, whatever the status. Implemented by the app
/// with its platform's HTTP stack. It is called from the sync's thread and, while a pull page is applied,
/// from a helper thread fetching the next one: two calls may overlap, so keep it thread-safe. Send the
/// headers and body as given and return the body as it arrived; a stack that inflates compressed bodies
/// by itself (URLSession does) must drop the `Content-Encoding` header from the answer it returns. Throw a
/// `TransportError` when no answer came: the sync retries with backoff.
#[uniffi::export(foreign)]
pub trait SyncTransport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Told where a sync stands after every exchange with the office; called on the sync's thread. A listener
/// that throws is not called again during that sync, and the sync carries on: a broken progress bar must
/// not stop the ledger from reaching the office.
#[uniffi::export(foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress) -> Result<(), RectifyError>;
}

/// How a sync behaves.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct SyncSettings {
    /// Also fetch full evidence images of other devices' photos (thumbnails always come).
    #[uniffi(default = false)]
    pub full_photos: bool,
    /// Failed attempts in a row before the sync gives up for now.
    #[uniffi(default = 8)]
    pub max_attempts: u32,
    /// The first pause after a failure; it doubles up to 30 s.
    #[uniffi(default = 250)]
    pub first_retry_ms: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self { full_photos: false, max_attempts: 8, first_retry_ms: 250 }
    }
}

impl SyncSettings {
    fn options(self) -> Result<SyncOptions, RectifyError> {
        if self.max_attempts == 0 {
            return Err(RectifyError::invalid("max_attempts must be at least 1"));
        }
        let first = Duration::from_millis(self.first_retry_ms);
        let retry = RetryPolicy {
            first_delay: first,
            max_delay: Duration::from_secs(30).max(first),
            max_attempts: self.max_attempts,
        };
        Ok(SyncOptions { full_photos: self.full_photos, retry, ..SyncOptions::default() })
    }
}

/// One sync of one device: `run()` it on a worker thread, `cancel()` it from any thread.
#[derive(uniffi::Object)]
pub struct SyncJob {
    device: Arc<Device>,
    transport: Option<Arc<dyn SyncTransport>>,
    listener: Option<Arc<dyn SyncListener>>,
    settings: SyncSettings,
    cancelled: AtomicBool,
}

impl std::fmt::Debug for SyncJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncJob")
            .field("host_transport", &self.transport.is_some())
            .field("cancelled", &self.cancelled.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SyncJob {
    pub(crate) fn new(
        device: Arc<Device>,
        transport: Option<Arc<dyn SyncTransport>>,
        listener: Option<Arc<dyn SyncListener>>,
        settings: SyncSettings,
    ) -> Self {
        Self { device, transport, listener, settings, cancelled: AtomicBool::new(false) }
    }
}

#[uniffi::export]
impl SyncJob {
    /// Runs the sync to its end, blocking the calling thread. Fails with `Interrupted` when cancelled and
    /// with `Sync` when the office stays unreachable; either way what was finished stays done, and the
    /// next sync resumes from there. Only one sync runs on a device at a time.
    pub fn run(&self) -> Result<SyncSummary, RectifyError> {
        let options = self.settings.options()?;
        let _only_one = self.device.sync_lock.begin()?;
        let ledger = self.device.ledger();
        let base = ledger.sync_status()?.map(|status| status.server_url).ok_or_else(|| {
            RectifyError::NotInitialised { reason: "this device is not enrolled with an office: enroll first".into() }
        })?;
        let watcher = Watcher { job: self, listener_failed: AtomicBool::new(false) };
        let report = match &self.transport {
            Some(host) => ledger.sync(&HostTransport { host: host.clone(), base }, options, &watcher),
            None => ledger.sync(&core_sync::HttpTransport::new(&base), options, &watcher),
        }?;
        Ok(report.into())
    }

    /// Asks the sync to stop after the exchange in flight. Safe from any thread, before or during `run()`.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// The core's progress callback, forwarding to the app's listener and answering the core's "stop?".
struct Watcher<'a> {
    job: &'a SyncJob,
    listener_failed: AtomicBool,
}

impl core_sync::SyncProgress for Watcher<'_> {
    fn progress(&self, progress: &core_sync::Progress) {
        let Some(listener) = &self.job.listener else { return };
        if self.listener_failed.load(Ordering::Relaxed) {
            return;
        }
        if listener.on_progress(progress.into()).is_err() {
            self.listener_failed.store(true, Ordering::Relaxed);
        }
    }

    fn cancelled(&self) -> bool {
        self.job.is_cancelled()
    }
}

/// The app's transport as the core's.
pub(crate) struct HostTransport {
    pub(crate) host: Arc<dyn SyncTransport>,
    pub(crate) base: String,
}

impl Transport for HostTransport {
    fn send(&self, request: &core_sync::HttpRequest) -> Result<core_sync::HttpResponse, core_sync::TransportError> {
        let asked = HttpRequest {
            method: request.method.as_str().to_string(),
            url: format!("{}{}", self.base.trim_end_matches('/'), request.path),
            path: request.path.clone(),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| HttpHeader { name: name.clone(), value: value.clone() })
                .collect(),
            body: request.body.clone(),
        };
        let answer = self.host.send(asked)?;
        Ok(core_sync::HttpResponse {
            status: answer.status,
            headers: answer
                .headers
                .into_iter()
                .map(|header| (header.name.to_ascii_lowercase(), header.value))
                .collect(),
            body: answer.body,
        })
    }
}

/// Serialises syncs and enrollments of one ledger file across every `Device` opened on it in this
/// process: two syncs of one ledger at once would push the same outbox twice and race on its cursor.
#[derive(Debug, Clone)]
pub(crate) struct SyncLock(Arc<Mutex<()>>);

impl SyncLock {
    /// The lock of the ledger at `path` (made absolute, so two spellings of one file share it).
    pub(crate) fn for_ledger(path: &Path) -> Self {
        static LEDGERS: OnceLock<Mutex<HashMap<PathBuf, Weak<Mutex<()>>>>> = OnceLock::new();
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut ledgers = LEDGERS.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
        ledgers.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = ledgers.get(&key).and_then(Weak::upgrade) {
            return Self(lock);
        }
        let lock = Arc::new(Mutex::new(()));
        ledgers.insert(key, Arc::downgrade(&lock));
        Self(lock)
    }

    /// Holds the ledger for one sync or enrollment, or says that another is under way.
    pub(crate) fn begin(&self) -> Result<MutexGuard<'_, ()>, RectifyError> {
        match self.0.try_lock() {
            Ok(guard) => Ok(guard),
            // A panic while syncing (a bug) must not block every later sync.
            Err(TryLockError::Poisoned(poisoned)) => Ok(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => Err(RectifyError::Sync {
                reason: "a sync or enrollment is already running on this ledger; wait for it to finish".into(),
            }),
        }
    }
}
