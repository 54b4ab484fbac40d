//! SQLite storage. One writer connection and one reader connection over a WAL file; every write goes
//! through [`Store::write`], which commits only when the closure returns `Ok`, so a failed operation
//! leaves nothing behind. Opening checks that the file is Rectify's and not from a newer build before
//! anything is written to it.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, InterruptHandle, OpenFlags, Transaction, TransactionBehavior};

pub mod boundaries;
pub mod events;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod issues;
pub mod migrations;
pub mod photo_transfer;
pub mod photos;
pub mod places;
pub mod profile;
pub mod sync;

pub use migrations::{APPLICATION_ID, LATEST as SCHEMA_VERSION};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path} is not a Rectify database ({detail}); nothing was changed")]
    NotRectifyDatabase { path: String, detail: String },
    #[error(
        "this database uses schema version {found}, made by a newer Rectify; this build knows up to version {supported}. Update the app; nothing was changed"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error("there is no Rectify database at {path}: run `rectify init` first, or pass --db")]
    Missing { path: String },
    #[error("could not use {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the database is inconsistent: {0}")]
    Corrupt(String),
}

/// Whether opening may create a new database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    CreateIfMissing,
    MustExist,
}

/// A Rectify SQLite database.
pub struct Store {
    path: Option<PathBuf>,
    // Fields drop in order: the reader closes before the writer, so the writer is the last connection and
    // its close checkpoints the WAL into the database file and removes it.
    reader: Option<Mutex<Connection>>,
    writer: Mutex<Connection>,
    /// Kept outside the connection locks, so another thread can stop a statement that holds one.
    interrupt: Vec<InterruptHandle>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Store {
    /// Opens (or, with [`OpenMode::CreateIfMissing`], creates) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        let shown = path.display().to_string();
        let not_ours =
            |detail: &str| StoreError::NotRectifyDatabase { path: shown.clone(), detail: detail.to_string() };
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(not_ours("it is a folder")),
            Ok(meta) if meta.len() == 0 && mode == OpenMode::MustExist => return Err(not_ours("the file is empty")),
            Ok(meta) if meta.len() > 0 => {
                let mut head = [0u8; 16];
                let read = fs::File::open(path).and_then(|mut file| file.read_exact(&mut head));
                if read.is_err() || &head != SQLITE_MAGIC {
                    return Err(not_ours("it is not a SQLite file"));
                }
            }
            Ok(_) => {}
            Err(_) if mode == OpenMode::MustExist => return Err(StoreError::Missing { path: shown }),
            Err(_) => {
                if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
                    fs::create_dir_all(parent).map_err(|source| StoreError::Io { path: shown.clone(), source })?;
                }
            }
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if mode == OpenMode::CreateIfMissing {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut writer = Connection::open_with_flags(path, flags)?;
        check_ownership(&writer).map_err(|err| match err {
            StoreError::NotRectifyDatabase { detail, .. } => not_ours(&detail),
            other => other,
        })?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        migrations::migrate_to(&mut writer, migrations::LATEST)?;
        let reader =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        configure(&reader)?;
        let interrupt = vec![writer.get_interrupt_handle(), reader.get_interrupt_handle()];
        Ok(Self {
            path: Some(path.to_path_buf()),
            writer: Mutex::new(writer),
            reader: Some(Mutex::new(reader)),
            interrupt,
        })
    }

    /// A private database in memory, for tests and throwaway work.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut writer = Connection::open_in_memory()?;
        configure(&writer)?;
        migrations::migrate_to(&mut writer, migrations::LATEST)?;
        let interrupt = vec![writer.get_interrupt_handle()];
        Ok(Self { path: None, writer: Mutex::new(writer), reader: None, interrupt })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `work` in one IMMEDIATE transaction: committed if it returns `Ok`, rolled back otherwise.
    pub fn write<T, E>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `work` on the reader connection (the writer's, for an in-memory store) in one snapshot.
    pub fn read<T, E>(&self, work: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = lock(self.reader.as_ref().unwrap_or(&self.writer));
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = work(&tx)?;
        tx.finish()?;
        Ok(value)
    }

    /// Makes every commit durable against power loss (`synchronous=FULL`), for a store whose commits are
    /// acknowledged to others (the office). Devices keep `NORMAL`: their own data survives a crash of the
    /// app either way, and the office holds what they pushed.
    pub fn set_synchronous_full(&self) -> Result<(), StoreError> {
        lock(&self.writer).pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }

    /// Asks the statements running now, on the writer and the reader, to stop; each fails with an
    /// "interrupted" error and its transaction rolls back. Statements started later are not affected.
    pub fn interrupt(&self) {
        for handle in &self.interrupt {
            handle.interrupt();
        }
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(lock(&self.writer).pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Runs SQLite's own consistency check; `Ok(())` when it says "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let verdict: String = lock(&self.writer).query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        if verdict == "ok" { Ok(()) } else { Err(StoreError::Corrupt(verdict)) }
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a transaction open (rusqlite rolls back on drop).
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // 16 MiB of page cache (the default is 2 MiB): a pulled page of a few thousand events then commits
    // without spilling to the WAL halfway, which costs a third of the apply time on a large pull.
    conn.pragma_update(None, "cache_size", -16_384)?;
    // Savepoints and sorts keep their scratch pages in memory rather than in temporary files.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Refuses a SQLite file that belongs to something else, or to a newer Rectify, before writing to it.
fn check_ownership(conn: &Connection) -> Result<(), StoreError> {
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))?;
    if application_id == 0 && version == 0 && objects == 0 {
        return Ok(());
    }
    if application_id != APPLICATION_ID {
        return Err(StoreError::NotRectifyDatabase {
            path: String::new(),
            detail: "it is a SQLite database made by another program".to_string(),
        });
    }
    if version > migrations::LATEST {
        return Err(StoreError::NewerSchema { found: version, supported: migrations::LATEST });
    }
    Ok(())
}

/// Parses a stored id column.
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str, column: &str) -> rusqlite::Result<T> {
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("bad {column}: {text}").into(),
        )
    })
}

/// Parses a stored JSON column.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(err)))
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))
}

#[cfg(test)]
mod tests;
