//! rectify-office: the district office. It runs the same rectify-core ledger as the phones, plus what only
//! the office does: it authenticates devices, judges and sequences every pushed event (role, village scope,
//! state machine), serves each device its scope page by page, and keeps the photos. `http` puts this behind
//! an axum server; `main.rs` is the admin command line.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rectify_core::RectifyError;
use rectify_core::clock::SystemClock;
use rectify_core::ledger::Ledger;
use rectify_core::photo::PhotoStore;
use rectify_core::store::{OpenMode, Store};
use rectify_core::sync::wire::Limits;

pub mod credentials;
pub mod demo;
pub mod http;
mod photos;
mod pull;
mod schema;
mod sequencer;
pub mod web;

pub use credentials::{Credential, DeviceRow};
pub use pull::IssueRow;

/// Why the office refused or failed a request. Each kind maps to one HTTP status in `http`.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unauthorised(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is fine but does not fit where the data stands (stale offset, other epoch).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ChecksumMismatch(String),
    #[error("{0}")]
    Internal(String),
}

impl OfficeError {
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid(reason.into())
    }
}

impl From<RectifyError> for OfficeError {
    fn from(err: RectifyError) -> Self {
        match err {
            RectifyError::InvalidInput { reason } | RectifyError::IllegalTransition { reason } => Self::Invalid(reason),
            RectifyError::NotFound { reason } => Self::NotFound(reason),
            RectifyError::NotPermitted { reason } => Self::Unauthorised(reason),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<rusqlite::Error> for OfficeError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Internal(format!("database error: {err}"))
    }
}

/// One district office's data: the ledger database and the photo folders under one directory.
#[derive(Debug)]
pub struct Office {
    dir: PathBuf,
    ledger: Ledger,
    epoch: String,
    limits: Limits,
    photos: PhotoStore,
    /// Uploads append to partial files; one at a time keeps offsets and files in step.
    uploads: Mutex<()>,
    reference: Mutex<Option<pull::ReferenceCache>>,
    pushes: sequencer::PushQueue,
    /// Decisions taken in the browser, one at a time (each takes its user's next device_seq).
    decisions: Mutex<()>,
    reports: Mutex<web::data::ReportCache>,
}

impl Office {
    /// Opens (creating if needed) the office data directory.
    pub fn open(dir: &Path) -> Result<Arc<Self>, OfficeError> {
        std::fs::create_dir_all(dir.join("uploads"))
            .map_err(|err| OfficeError::Internal(format!("cannot create {}: {err}", dir.display())))?;
        let ledger = Ledger::open(&dir.join("office.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock))?;
        // An acknowledged push must survive a power cut, not only a crash of the process.
        ledger.store().set_synchronous_full().map_err(RectifyError::from)?;
        let now = Utc::now().to_rfc3339();
        let epoch = ledger.store().write(|tx| schema::migrate(tx, &now))?;
        Ok(Arc::new(Self {
            dir: dir.to_path_buf(),
            photos: PhotoStore::new(dir.join("photos")),
            ledger,
            epoch,
            limits: Limits::default(),
            uploads: Mutex::new(()),
            reference: Mutex::new(None),
            pushes: sequencer::PushQueue::default(),
            decisions: Mutex::new(()),
            reports: Mutex::new(web::data::ReportCache::default()),
        }))
    }

    /// The office's ledger: villages, events, issue states; the same core the phones run.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub(crate) fn store(&self) -> &Store {
        self.ledger.store()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Marks the office's data set as replaced (after restoring a backup): devices pull again from zero and
/// send again whatever the office no longer holds. Run while the server is stopped.
pub fn start_new_epoch(dir: &Path) -> Result<String, OfficeError> {
    let office = Office::open(dir)?;
    let epoch = schema::new_epoch()?;
    office.store().write(|tx| {
        tx.execute("UPDATE office_meta SET epoch = ?1", [&epoch])?;
        Ok::<_, OfficeError>(())
    })?;
    Ok(epoch)
}
