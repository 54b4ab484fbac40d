//! rectify-office: the district office. It runs the same rectify-core ledger as the phones, plus what only
//! the office does: it authenticates devices, judges and sequences every pushed event (role, village scope,
//! state machine), serves each device its scope page by page, and keeps the photos. `http` puts this behind
//! an axum server; `main.rs` is the admin command line.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rectify_core::RectifyError;
use rectify_core::clock::SystemClock;
use rectify_core::ledger::Ledger;
use rectify_core::store::{OpenMode, Store};
use rectify_core::sync::wire::Limits;

pub mod backend;
pub mod credentials;
pub mod demo;
pub mod http;
pub mod photo_files;
mod photos;
mod pull;
mod schema;
mod sequencer;
pub mod web;

pub use backend::OfficeStore;
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

/// Where the office keeps what its processes share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `office.db` in the data directory: one office process.
    Sqlite,
    /// A PostgreSQL server (`postgres://user@host:port/dbname`): any number of office processes.
    Postgres(String),
}

impl Database {
    /// `None` or an empty URL is SQLite; anything else must be a `postgres://` or `postgresql://` URL.
    pub fn from_url(url: Option<&str>) -> Result<Self, OfficeError> {
        match url.map(str::trim) {
            None | Some("") => Ok(Self::Sqlite),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres(url.to_string()))
            }
            // Not echoed: whatever was typed may hold a password.
            Some(_) => Err(OfficeError::invalid("--database takes a postgres://user@host:port/dbname URL")),
        }
    }
}

/// Where photo files are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoPlace {
    /// `photos/` and `uploads/` in the data directory (shared by the processes that serve from it).
    Folder,
    /// S3-compatible object storage, `s3://bucket/prefix`.
    ObjectStorage(String),
}

impl PhotoPlace {
    /// `None` or empty is the data directory; anything else must be an `s3://` URL.
    pub fn from_url(url: Option<&str>) -> Result<Self, OfficeError> {
        match url.map(str::trim) {
            None | Some("") => Ok(Self::Folder),
            Some(url) if url.starts_with("s3://") => Ok(Self::ObjectStorage(url.to_string())),
            Some(url) => Err(OfficeError::invalid(format!(
                "--photos takes an s3://bucket/prefix URL (or nothing, for the data directory), not `{url}`"
            ))),
        }
    }
}

/// One district office: its shared storage (SQLite or PostgreSQL), the photo folders, and a core ledger
/// in the data directory.
#[derive(Debug)]
pub struct Office {
    /// With SQLite, the office's ledger itself; with PostgreSQL, where places are imported before they are
    /// published to the database.
    ledger: Arc<Ledger>,
    backend: Arc<dyn OfficeStore>,
    limits: Limits,
    /// Push groups committed at once; `None` for the backend's default.
    push_groups: Option<usize>,
    files: Box<dyn photo_files::PhotoFiles>,
    pushes: sequencer::PushQueue,
    /// Decisions taken in the browser, one at a time (each takes its user's next device_seq).
    decisions: Mutex<()>,
    reports: Mutex<web::data::ReportCache>,
    /// With PostgreSQL: the reference version the local ledger last took in (one catch-up at a time).
    follow: Mutex<Option<String>>,
}

impl Office {
    /// Opens (creating if needed) the office data directory, with its SQLite database.
    pub fn open(dir: &Path) -> Result<Arc<Self>, OfficeError> {
        Self::open_with(dir, &Database::Sqlite)
    }

    /// Opens the office data directory (photos, uploads, the local ledger) and its shared storage.
    pub fn open_with(dir: &Path, database: &Database) -> Result<Arc<Self>, OfficeError> {
        Self::open_full(dir, database, &PhotoPlace::Folder)
    }

    /// Opens the office with its shared storage and its photo files where `photos` says.
    pub fn open_full(dir: &Path, database: &Database, photos: &PhotoPlace) -> Result<Arc<Self>, OfficeError> {
        std::fs::create_dir_all(dir.join("uploads"))
            .map_err(|err| OfficeError::Internal(format!("cannot create {}: {err}", dir.display())))?;
        let ledger = Arc::new(Ledger::open(&dir.join("office.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock))?);
        // An acknowledged push must survive a power cut, not only a crash of the process.
        ledger.store().set_synchronous_full().map_err(RectifyError::from)?;
        let now = Utc::now().to_rfc3339();
        let epoch = ledger.store().write(|tx| schema::migrate(tx, &now))?;
        let backend: Arc<dyn OfficeStore> = match database {
            Database::Sqlite => Arc::new(backend::sqlite::SqliteStore::new(ledger.clone(), epoch)),
            Database::Postgres(url) => Arc::new(backend::postgres::PgStore::connect(url)?),
        };
        let files: Box<dyn photo_files::PhotoFiles> = match photos {
            PhotoPlace::Folder => Box::new(photo_files::FolderFiles::new(dir)?),
            PhotoPlace::ObjectStorage(url) => Box::new(photo_files::ObjectFiles::connect(url)?),
        };
        Ok(Arc::new(Self {
            files,
            ledger,
            backend,
            limits: Limits::default(),
            push_groups: None,
            pushes: sequencer::PushQueue::default(),
            decisions: Mutex::new(()),
            reports: Mutex::new(web::data::ReportCache::default()),
            follow: Mutex::new(None),
        }))
    }

    /// The office's ledger: villages, events, issue states; the same core the phones run.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Where photo files are kept (`folder` or `object storage`).
    pub fn photo_files(&self) -> &'static str {
        self.files.kind()
    }

    /// The shared storage the sync API runs on.
    pub fn backend(&self) -> &dyn OfficeStore {
        self.backend.as_ref()
    }

    pub fn epoch(&self) -> &str {
        self.backend.epoch()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// How many push groups this process commits at once (at least 1). Every group in flight on one
    /// database waits for the same sequencer lock: several processes on one database want fewer each.
    pub fn set_push_groups(&mut self, groups: usize) {
        // Every group in flight holds a connection while it waits for the sequencer; half the pool at most.
        self.push_groups = Some(groups.clamp(1, backend::postgres::MAX_CONNECTIONS / 2));
    }

    pub(crate) fn push_groups(&self) -> usize {
        self.push_groups.unwrap_or_else(|| self.backend.concurrent_groups())
    }

    pub(crate) fn store(&self) -> &Store {
        self.ledger.store()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// With PostgreSQL, brings this process's copy of the ledger (the local SQLite file the dashboard and
    /// reports read) up to the database: places as last published, then every event numbered since the
    /// copy's newest. The copy is disposable: deleted, it is rebuilt from the database. Nothing to do with
    /// SQLite, where the ledger is the database.
    pub fn catch_up(&self) -> Result<(), OfficeError> {
        if self.backend.backend() == "sqlite" {
            return Ok(());
        }
        let mut applied = self.follow.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // The copy belongs to one epoch of the database: after a restore and `new-epoch`, numbers are
        // given out again and the copy's no longer match.
        let copy_epoch: String =
            self.store().read(|conn| conn.query_row("SELECT epoch FROM office_meta", [], |row| row.get(0)))?;
        if copy_epoch != self.epoch() {
            if self.ledger.sequenced_head()? > 0 {
                return Err(OfficeError::Conflict(format!(
                    "this process's copy of the ledger (office.db) belongs to epoch {copy_epoch}, the database is \
                     at epoch {}: stop the process, delete office.db in its data directory (it is rebuilt from \
                     the database) and start it again",
                    self.epoch()
                )));
            }
            let epoch = self.epoch().to_string();
            self.store().write(|tx| tx.execute("UPDATE office_meta SET epoch = ?1", [&epoch]).map(drop))?;
        }
        // Nothing published yet is not an error here: there is nothing to copy.
        match self.backend.reference() {
            Ok((version, body)) if applied.as_deref() != Some(version.as_str()) => {
                let data: rectify_core::sync::wire::ReferenceData = serde_json::from_slice(&body)
                    .map_err(|err| OfficeError::Internal(format!("the published places do not read: {err}")))?;
                self.ledger.apply_reference_data(&data)?;
                *applied = Some(version);
            }
            Ok(_) | Err(OfficeError::Conflict(_)) => {}
            Err(err) => return Err(err),
        }
        loop {
            let after = self.ledger.sequenced_head()?;
            let head = self.backend.head()?;
            if after > head {
                return Err(OfficeError::Conflict(format!(
                    "this process's copy of the ledger reaches server_seq {after}, the database only {head}: the \
                     database was restored from an older backup. Stop the office processes, delete office.db in \
                     each data directory (it is rebuilt from the database) and run `rectify-office new-epoch`"
                )));
            }
            let page = self.backend.pull(None, after, self.limits.max_pull_events)?;
            if page.events.is_empty() {
                return Ok(());
            }
            self.ledger.apply_sequenced(&page.events, &page.photos)?;
            if !page.more {
                return Ok(());
            }
        }
    }

    /// Publishes the places imported into the local ledger to the shared database, so that every office
    /// process judges and serves from them. Nothing to do with SQLite, where the ledger is the database.
    pub fn publish_places(&self) -> Result<Option<String>, OfficeError> {
        match self.backend.backend() {
            "sqlite" => Ok(None),
            _ => {
                let local = backend::sqlite::SqliteStore::new(self.ledger.clone(), String::new());
                let (version, body) = local.reference()?;
                self.backend.publish_reference(&version, &body)?;
                Ok(Some(version))
            }
        }
    }
}

/// Marks the office's data set as replaced (after restoring a backup): devices pull again from zero and
/// send again whatever the office no longer holds. Run while the server is stopped.
pub fn start_new_epoch(dir: &Path, database: &Database) -> Result<String, OfficeError> {
    let office = Office::open_with(dir, database)?;
    let epoch = schema::new_epoch()?;
    office.backend.set_epoch(&epoch)?;
    Ok(epoch)
}
