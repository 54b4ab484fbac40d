//! The PostgreSQL backend, through tokio-postgres: every office process connects to one database and
//! keeps nothing of its own that another process would need.
//!
//! server_seq in commit order: each push transaction first takes one transaction-scoped advisory lock
//! (`SEQUENCER_LOCK`), then reads the head and numbers its events. PostgreSQL makes a transaction visible
//! before it releases its locks, so the next sequencer sees every number given out before it, and a
//! reader's snapshot always holds a prefix 1..=n of the sequence: a pull can never pass over a row that
//! commits later with a lower number. Pushes inside one process still share a transaction (group
//! commit), so the lock is taken once per group.
//!
//! Calls block: the office runs them on tokio's blocking pool, and this module drives its connections on
//! a small runtime of its own.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Utc};
use rectify_core::domain::event::Event;
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::photo::PhotoHash;
use rectify_core::ids::{DeviceId, IssueId, UserId, VillageId};
use rectify_core::sync::wire::{PhotoManifest, PushRequest, PushResponse, ReferenceData, ScopeTally};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement, Transaction};

use super::{
    CredentialKey, Judged, LoginKey, NewEnrollment, OfficeStore, PhotoRow, SequencerTx, SessionRow, StoredPage,
    UploadLock, WebUserUpdate, global_sum_after, login_wait, parse_id, push_in, trim_page, village_tally_after,
};
use crate::web::auth::UserRow;
use crate::{Credential, DeviceRow, OfficeError};

/// Advisory lock keys (first half: the application, second: what it guards).
const LOCK_SPACE: i32 = 0x5245_4354; // "RECT"
const SEQUENCER_LOCK: i32 = 1;
const MIGRATION_LOCK: i32 = 2;
const LOGIN_LOCK: i32 = 3;
/// Photo upload locks have a key space of their own (second key: the hash's `hashtext`), so no photo
/// can share a key with the sequencer.
const UPLOAD_SPACE: i32 = LOCK_SPACE + 1;

/// Connections one process opens at most.
pub const MAX_CONNECTIONS: usize = 16;

/// The schema, step by step; `office_schema` records how far a database is. A step runs in one
/// transaction, under a lock, so processes starting together migrate once.
const STEPS: &[&str] = &[
    // 1: the office's identity, places as published, who may sync, the sequenced ledger, photo uploads.
    r#"
    CREATE TABLE office_meta (
        singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
        epoch       TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE office_reference (
        singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
        version       TEXT NOT NULL,
        body          BYTEA NOT NULL,
        published_at  TEXT NOT NULL
    );
    CREATE TABLE office_villages (
        village_id  TEXT PRIMARY KEY,
        label       TEXT NOT NULL
    );
    CREATE TABLE office_village_codes (
        code        TEXT PRIMARY KEY,
        village_id  TEXT NOT NULL REFERENCES office_villages(village_id)
    );
    CREATE TABLE office_users (
        id             TEXT PRIMARY KEY,
        name           TEXT NOT NULL UNIQUE,
        role           TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        password_hash  TEXT,
        web_device     TEXT
    );
    CREATE TABLE office_user_villages (
        user_id     TEXT NOT NULL REFERENCES office_users(id),
        village_id  TEXT NOT NULL,
        PRIMARY KEY (user_id, village_id)
    );
    CREATE TABLE office_enrollments (
        code_hash   TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES office_users(id),
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        used_at     TEXT,
        device_id   TEXT
    );
    CREATE TABLE office_devices (
        device_id      TEXT PRIMARY KEY,
        user_id        TEXT NOT NULL REFERENCES office_users(id),
        token_hash     TEXT NOT NULL UNIQUE,
        enrolled_at    TEXT NOT NULL,
        revoked_at     TEXT,
        acked_through  BIGINT NOT NULL DEFAULT 0,
        last_seen_at   TEXT
    );
    CREATE TABLE office_refusals (
        device_id   TEXT NOT NULL,
        device_seq  BIGINT NOT NULL,
        event_id    TEXT NOT NULL,
        reason      TEXT NOT NULL,
        PRIMARY KEY (device_id, device_seq)
    );
    CREATE TABLE office_events (
        server_seq     BIGINT PRIMARY KEY,
        event_id       TEXT NOT NULL UNIQUE,
        device_id      TEXT NOT NULL,
        device_seq     BIGINT NOT NULL,
        issue_id       TEXT NOT NULL,
        village_id     TEXT,
        body           TEXT NOT NULL,
        verdict        TEXT NOT NULL,
        village_count  BIGINT NOT NULL,
        village_sum    BIGINT NOT NULL,
        global_sum     BIGINT NOT NULL,
        UNIQUE (device_id, device_seq)
    );
    CREATE INDEX office_events_village ON office_events (village_id, server_seq);
    CREATE INDEX office_events_issue ON office_events (issue_id);
    CREATE TABLE office_event_photos (
        hash      TEXT NOT NULL,
        event_id  TEXT NOT NULL,
        PRIMARY KEY (hash, event_id)
    );
    CREATE TABLE office_issues (
        issue_id    TEXT PRIMARY KEY,
        village_id  TEXT NOT NULL,
        status      TEXT NOT NULL,
        state       TEXT NOT NULL
    );
    CREATE TABLE office_photos (
        hash        TEXT PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('evidence', 'thumbnail')),
        photo       TEXT NOT NULL,
        length      BIGINT NOT NULL,
        manifest    TEXT,
        received    BIGINT NOT NULL DEFAULT 0,
        present     BOOLEAN NOT NULL DEFAULT FALSE,
        path        TEXT,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX office_photos_photo ON office_photos (photo, kind);
    "#,
    // 2: what the dashboard keeps: login sessions, failed logins (for the limits every process applies),
    // and a version of what cached views read besides events.
    r#"
    CREATE TABLE office_sessions (
        token_hash  TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES office_users(id),
        csrf        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL
    );
    CREATE INDEX office_sessions_user ON office_sessions (user_id);
    CREATE TABLE office_login_failures (
        id     BIGSERIAL PRIMARY KEY,
        key    TEXT NOT NULL,
        at_ms  BIGINT NOT NULL
    );
    CREATE INDEX office_login_failures_key ON office_login_failures (key, at_ms);
    CREATE INDEX office_login_failures_at ON office_login_failures (at_ms);
    ALTER TABLE office_meta ADD COLUMN views_version BIGINT NOT NULL DEFAULT 0;
    "#,
];

/// The database URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let mut shown = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    };
    // `?password=…` in the query string.
    while let Some(start) = shown.find("password=").map(|at| at + "password=".len()) {
        if shown[start..].starts_with("***") {
            break;
        }
        let end = shown[start..].find(['&', ' ']).map_or(shown.len(), |len| start + len);
        shown.replace_range(start..end, "***");
    }
    shown
}

fn db_error(err: tokio_postgres::Error) -> OfficeError {
    // The server's own message (constraint, syntax, connection) is the useful part.
    let detail = err.as_db_error().map(|db| format!("{}: {}", db.code().code(), db.message()));
    OfficeError::Internal(format!("PostgreSQL: {}", detail.unwrap_or_else(|| err.to_string())))
}

trait Pg<T> {
    fn pg(self) -> Result<T, OfficeError>;
}

impl<T> Pg<T> for Result<T, tokio_postgres::Error> {
    fn pg(self) -> Result<T, OfficeError> {
        self.map_err(db_error)
    }
}

/// Open connections, reused.
#[derive(Debug)]
struct Pool {
    runtime: Option<tokio::runtime::Runtime>,
    config: Config,
    idle: Mutex<(Vec<Conn>, usize)>,
    freed: Condvar,
}

/// A connection and the statements prepared on it (reused by SQL text: preparing costs a round trip).
struct Conn {
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("statements", &self.statements.borrow().len()).finish_non_exhaustive()
    }
}

impl Pool {
    fn block_on<F: Future>(&self, work: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.handle().block_on(work),
            None => unreachable!("the pool's runtime lives as long as the pool"),
        }
    }

    /// An idle connection, a new one while fewer than `MAX_CONNECTIONS` are open, or the next one freed.
    fn take(self: &Arc<Self>) -> Result<Pooled, OfficeError> {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            if let Some(conn) = idle.0.pop() {
                if conn.client.is_closed() {
                    idle.1 -= 1;
                    continue;
                }
                return Ok(Pooled { pool: self.clone(), conn: Some(conn) });
            }
            if idle.1 < MAX_CONNECTIONS {
                idle.1 += 1;
                drop(idle);
                return match self.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self.clone(),
                        conn: Some(Conn { client, statements: RefCell::new(HashMap::new()) }),
                    }),
                    Err(err) => {
                        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        idle.1 -= 1;
                        self.freed.notify_one();
                        Err(err)
                    }
                };
            }
            idle = self.freed.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn connect(&self) -> Result<Client, OfficeError> {
        let (client, connection) = self.block_on(self.config.connect(NoTls)).map_err(|err| {
            OfficeError::Internal(format!(
                "cannot connect to PostgreSQL: {}",
                err.as_db_error().map_or_else(|| err.to_string(), |db| db.message().to_string())
            ))
        })?;
        if let Some(runtime) = &self.runtime {
            runtime.spawn(async move {
                if let Err(err) = connection.await {
                    tracing::warn!(error = %err, "a PostgreSQL connection ended");
                }
            });
        }
        Ok(client)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Dropping a runtime may not block inside another runtime (the server's).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A connection out of the pool; back in when dropped.
struct Pooled {
    pool: Arc<Pool>,
    conn: Option<Conn>,
}

impl Pooled {
    fn conn(&mut self) -> &mut Conn {
        match self.conn.as_mut() {
            Some(conn) => conn,
            None => unreachable!("a pooled connection holds its client until dropped"),
        }
    }

    /// Runs `work` in a transaction, committed when it succeeds.
    fn transaction<T>(
        &mut self,
        isolation: IsolationLevel,
        work: impl FnOnce(&mut PgTx<'_, '_>) -> Result<T, OfficeError>,
    ) -> Result<T, OfficeError> {
        let pool = self.pool.clone();
        let Conn { client, statements } = self.conn();
        let tx = pool.block_on(client.build_transaction().isolation_level(isolation).start()).pg()?;
        let mut wrapped = PgTx { pool: &pool, tx, statements };
        let value = work(&mut wrapped)?;
        pool.block_on(wrapped.tx.commit()).pg()?;
        Ok(value)
    }

    /// One statement on its own (no explicit transaction: one round trip once prepared).
    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, OfficeError> {
        let pool = self.pool.clone();
        let conn = self.conn();
        let known = conn.statements.borrow().get(sql).cloned();
        let statement = match known {
            Some(statement) => statement,
            None => {
                let made = pool.block_on(conn.client.prepare(sql)).pg()?;
                conn.statements.borrow_mut().insert(sql.to_string(), made.clone());
                made
            }
        };
        pool.block_on(conn.client.query(&statement, params)).pg()
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if conn.client.is_closed() {
                idle.1 -= 1;
            } else {
                idle.0.push(conn);
            }
            self.pool.freed.notify_one();
        }
    }
}

/// A transaction with blocking calls and prepared statements.
struct PgTx<'p, 'c> {
    pool: &'p Pool,
    tx: Transaction<'c>,
    statements: &'c RefCell<HashMap<String, Statement>>,
}

impl PgTx<'_, '_> {
    fn statement(&self, sql: &str) -> Result<Statement, OfficeError> {
        if let Some(known) = self.statements.borrow().get(sql) {
            return Ok(known.clone());
        }
        let made = self.pool.block_on(self.tx.prepare(sql)).pg()?;
        self.statements.borrow_mut().insert(sql.to_string(), made.clone());
        Ok(made)
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, OfficeError> {
        let statement = self.statement(sql)?;
        self.pool.block_on(self.tx.query(&statement, params)).pg()
    }

    fn optional(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, OfficeError> {
        let statement = self.statement(sql)?;
        self.pool.block_on(self.tx.query_opt(&statement, params)).pg()
    }

    fn one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, OfficeError> {
        let statement = self.statement(sql)?;
        self.pool.block_on(self.tx.query_one(&statement, params)).pg()
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, OfficeError> {
        let statement = self.statement(sql)?;
        self.pool.block_on(self.tx.execute(&statement, params)).pg()
    }

    /// SQL without parameters, not prepared (DDL, savepoints).
    fn batch(&self, sql: &str) -> Result<(), OfficeError> {
        self.pool.block_on(self.tx.batch_execute(sql)).pg()
    }

    fn head(&self) -> Result<u64, OfficeError> {
        Ok(self.one("SELECT coalesce(max(server_seq), 0) FROM office_events", &[])?.get::<_, i64>(0) as u64)
    }
}

/// The office's storage on PostgreSQL.
#[derive(Debug)]
pub struct PgStore {
    pool: Arc<Pool>,
    epoch: String,
    /// The reference data as last read, by version.
    reference: Mutex<Option<(String, Arc<Vec<u8>>)>>,
    /// Upload locks held now. Each holds a connection while its upload takes another, so at most half the
    /// pool may be held this way: the rest keeps every request able to finish.
    uploads: Arc<(Mutex<usize>, Condvar)>,
}

impl PgStore {
    /// Connects, and migrates the database to this build's schema.
    pub fn connect(url: &str) -> Result<Self, OfficeError> {
        let mut config = Config::from_str(url)
            .map_err(|err| OfficeError::invalid(format!("cannot read the database URL {}: {err}", redact(url))))?;
        // Statements are prepared once per connection and run for its whole life. A generic plan that
        // PostgreSQL settles on while a table is still nearly empty (a sequential scan of `office_events`)
        // would then stay in use as the table grows: every execution is planned for its values instead.
        let options = format!("{} -c plan_cache_mode=force_custom_plan", config.get_options().unwrap_or_default());
        config.options(options.trim());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rectify-pg")
            .enable_all()
            .build()
            .map_err(|err| OfficeError::Internal(format!("cannot start the database runtime: {err}")))?;
        let pool =
            Arc::new(Pool { runtime: Some(runtime), config, idle: Mutex::new((Vec::new(), 0)), freed: Condvar::new() });
        let epoch = migrate(&mut pool.take()?)?;
        Ok(Self { pool, epoch, reference: Mutex::new(None), uploads: Arc::default() })
    }

    fn read<T>(&self, work: impl FnOnce(&mut PgTx<'_, '_>) -> Result<T, OfficeError>) -> Result<T, OfficeError> {
        self.pool.take()?.transaction(IsolationLevel::RepeatableRead, work)
    }

    fn write<T>(&self, work: impl FnOnce(&mut PgTx<'_, '_>) -> Result<T, OfficeError>) -> Result<T, OfficeError> {
        self.pool.take()?.transaction(IsolationLevel::ReadCommitted, work)
    }

    /// One statement outside any explicit transaction.
    fn single(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, OfficeError> {
        self.pool.take()?.query(sql, params)
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<usize, OfficeError> {
        self.read(|tx| Ok(tx.one("SELECT max(version) FROM office_schema", &[])?.get::<_, i32>(0) as usize))
    }
}

/// Brings the database to the newest step; returns the epoch.
fn migrate(connection: &mut Pooled) -> Result<String, OfficeError> {
    connection.transaction(IsolationLevel::ReadCommitted, |tx| {
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_SPACE, &MIGRATION_LOCK])?;
        tx.batch("CREATE TABLE IF NOT EXISTS office_schema (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")?;
        let at: i32 = tx.one("SELECT coalesce(max(version), 0) FROM office_schema", &[])?.get(0);
        if at as usize > STEPS.len() {
            return Err(OfficeError::Internal(format!(
                "the database is at schema {at}, newer than this office build knows ({}): upgrade the office",
                STEPS.len()
            )));
        }
        let now = Utc::now().to_rfc3339();
        for (index, step) in STEPS.iter().enumerate().skip(at as usize) {
            tx.batch(step)?;
            let version = index as i32 + 1;
            tx.execute("INSERT INTO office_schema (version, applied_at) VALUES ($1, $2)", &[&version, &now])?;
            if version == 1 {
                let epoch = crate::schema::new_epoch()?;
                tx.execute(
                    "INSERT INTO office_meta (singleton, epoch, created_at) VALUES (1, $1, $2)",
                    &[&epoch, &now],
                )?;
            }
        }
        Ok(tx.one("SELECT epoch FROM office_meta WHERE singleton = 1", &[])?.get(0))
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, OfficeError> {
    serde_json::to_string(value).map_err(|err| OfficeError::Internal(format!("cannot encode for the database: {err}")))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The villages' ids by code, as published; a code the office does not know is refused.
fn village_ids(tx: &PgTx<'_, '_>, codes: &[String]) -> Result<Vec<String>, OfficeError> {
    codes
        .iter()
        .map(|code| {
            let found = tx.optional("SELECT village_id FROM office_village_codes WHERE code = $1", &[&code.trim()])?;
            found.map(|row| row.get::<_, String>(0)).ok_or_else(|| {
                OfficeError::invalid(format!(
                    "no village with code {code} at the office: import villages first (`rectify-office villages import`)"
                ))
            })
        })
        .collect()
}

/// Replaces the villages a user answers for.
fn set_user_villages(tx: &PgTx<'_, '_>, user_id: &str, villages: &[String]) -> Result<(), OfficeError> {
    tx.execute("DELETE FROM office_user_villages WHERE user_id = $1", &[&user_id])?;
    for village in villages {
        tx.execute(
            "INSERT INTO office_user_villages (user_id, village_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&user_id, village],
        )?;
    }
    Ok(())
}

impl OfficeStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn concurrent_groups(&self) -> usize {
        2
    }

    fn set_epoch(&self, epoch: &str) -> Result<(), OfficeError> {
        self.write(|tx| tx.execute("UPDATE office_meta SET epoch = $1", &[&epoch]).map(drop))
    }

    fn publish_reference(&self, version: &str, body: &[u8]) -> Result<(), OfficeError> {
        let data: ReferenceData = serde_json::from_slice(body)
            .map_err(|err| OfficeError::Internal(format!("the reference data does not read back: {err}")))?;
        let now = Utc::now().to_rfc3339();
        self.write(|tx| {
            for village in &data.villages {
                tx.execute(
                    "INSERT INTO office_villages (village_id, label) VALUES ($1, $2)
                     ON CONFLICT (village_id) DO UPDATE SET label = EXCLUDED.label",
                    &[&village.id.to_string(), &village.code()],
                )?;
                for code in &village.codes {
                    tx.execute(
                        "INSERT INTO office_village_codes (code, village_id) VALUES ($1, $2)
                         ON CONFLICT (code) DO UPDATE SET village_id = EXCLUDED.village_id",
                        &[&code.code, &village.id.to_string()],
                    )?;
                }
            }
            tx.execute(
                "INSERT INTO office_reference (singleton, version, body, published_at) VALUES (1, $1, $2, $3)
                 ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, body = EXCLUDED.body,
                     published_at = EXCLUDED.published_at",
                &[&version, &body, &now],
            )?;
            tx.execute("UPDATE office_meta SET views_version = views_version + 1", &[])?;
            Ok(())
        })
    }

    fn add_enrollment(&self, new: &NewEnrollment<'_>) -> Result<(), OfficeError> {
        self.write(|tx| {
            let villages = village_ids(tx, new.village_codes)?;
            let user_id: String = tx
                .one(
                    "INSERT INTO office_users (id, name, role, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role RETURNING id",
                    &[&UserId::new().to_string(), &new.user, &new.role.as_str(), &new.now.to_rfc3339()],
                )?
                .get(0);
            set_user_villages(tx, &user_id, &villages)?;
            tx.execute(
                "INSERT INTO office_enrollments (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&new.code_hash, &user_id, &new.now.to_rfc3339(), &new.expires.to_rfc3339()],
            )?;
            Ok(())
        })
    }

    fn redeem_enrollment(
        &self,
        code_hash: &str,
        device: DeviceId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), OfficeError> {
        let device_text = device.to_string();
        self.write(|tx| {
            // Locked, so two devices racing with one code cannot both win.
            let found = tx
                .optional(
                    "SELECT user_id, expires_at, used_at, device_id FROM office_enrollments WHERE code_hash = $1
                     FOR UPDATE",
                    &[&code_hash],
                )?
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)));
            let bound = tx
                .optional("SELECT user_id, revoked_at FROM office_devices WHERE device_id = $1", &[&device_text])?
                .map(|row| (row.get(0), row.get(1)));
            let user_id = crate::credentials::check_redeem(found, bound, device, now)?;
            let at = now.to_rfc3339();
            tx.execute(
                "UPDATE office_enrollments SET used_at = $2, device_id = $3 WHERE code_hash = $1",
                &[&code_hash, &at, &device_text],
            )?;
            tx.execute(
                "INSERT INTO office_devices (device_id, user_id, token_hash, enrolled_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (device_id) DO UPDATE SET user_id = EXCLUDED.user_id, token_hash = EXCLUDED.token_hash,
                     enrolled_at = EXCLUDED.enrolled_at, revoked_at = NULL",
                &[&device_text, &user_id, &token_hash, &at],
            )?;
            Ok(())
        })
    }

    fn credential(&self, key: CredentialKey<'_>) -> Result<Option<Credential>, OfficeError> {
        let (condition, value) = match key {
            CredentialKey::Device(device) => ("d.device_id = $1", device.to_string()),
            CredentialKey::TokenHash(hash) => ("d.token_hash = $1 AND d.revoked_at IS NULL", hash.to_string()),
        };
        // Every request asks this: one round trip, villages included.
        let sql = format!(
            "SELECT d.device_id, u.id, u.name, u.role,
                    coalesce((SELECT array_agg(v.village_id ORDER BY v.village_id) FROM office_user_villages v
                              WHERE v.user_id = u.id), '{{}}')
             FROM office_devices d JOIN office_users u ON u.id = d.user_id WHERE {condition}"
        );
        let Some(row) = self.single(&sql, &[&value])?.into_iter().next() else { return Ok(None) };
        let villages: Vec<String> = row.get(4);
        Ok(Some(Credential {
            device_id: parse_id(row.get::<_, &str>(0))?,
            user_id: parse_id(row.get::<_, &str>(1))?,
            user_name: row.get(2),
            role: parse_id(row.get::<_, &str>(3))?,
            villages: villages.iter().map(|id| parse_id(id)).collect::<Result<_, _>>()?,
        }))
    }

    fn revoke(&self, device: &str, now: &str) -> Result<bool, OfficeError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE office_devices SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
                &[&device, &now],
            )? > 0)
        })
    }

    fn devices(&self) -> Result<Vec<DeviceRow>, OfficeError> {
        self.read(|tx| {
            Ok(tx
                .query(
                    "SELECT d.device_id, u.name, u.role, d.enrolled_at, d.revoked_at, d.acked_through, d.last_seen_at
                     FROM office_devices d JOIN office_users u ON u.id = d.user_id ORDER BY d.enrolled_at",
                    &[],
                )?
                .iter()
                .map(|row| DeviceRow {
                    device_id: row.get(0),
                    user: row.get(1),
                    role: row.get(2),
                    enrolled_at: row.get(3),
                    revoked_at: row.get(4),
                    acked_through: row.get::<_, i64>(5) as u64,
                    last_seen_at: row.get(6),
                })
                .collect())
        })
    }

    fn commit_pushes(
        &self,
        group: Vec<(Credential, PushRequest)>,
        now: &str,
    ) -> Result<Vec<Result<PushResponse, OfficeError>>, OfficeError> {
        self.write(|tx| {
            // Held to the commit: numbers are given out in the order transactions become visible.
            tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_SPACE, &SEQUENCER_LOCK])?;
            let mut sequencer = PgSequencer::new(tx);
            let mut answers = Vec::with_capacity(group.len());
            for (credential, request) in group {
                sequencer.tx.batch("SAVEPOINT push")?;
                let answer = push_in(&mut sequencer, &credential, request, now);
                if answer.is_ok() {
                    sequencer.tx.batch("RELEASE push")?;
                } else {
                    sequencer.tx.batch("ROLLBACK TO push; RELEASE push")?;
                    sequencer.forget();
                }
                answers.push(answer);
            }
            Ok(answers)
        })
    }

    fn pull(&self, scope: Option<&[VillageId]>, after: u64, limit: usize) -> Result<StoredPage, OfficeError> {
        self.read(|tx| {
            let head = tx.head()?;
            if after > head {
                return Err(super::sqlite::ahead(after, head));
            }
            let (after, fetch) = (to_i64(after), to_i64(limit as u64 + 1));
            let rows = match scope {
                None => tx.query(
                    "SELECT body FROM office_events WHERE server_seq > $1 ORDER BY server_seq LIMIT $2",
                    &[&after, &fetch],
                )?,
                Some([]) => Vec::new(),
                Some(villages) => {
                    let villages: Vec<String> = villages.iter().map(ToString::to_string).collect();
                    // Each village's next events by the (village_id, server_seq) index, then merged.
                    tx.query(
                        "SELECT t.body FROM unnest($1::text[]) AS v(id)
                         CROSS JOIN LATERAL (SELECT server_seq, body FROM office_events e
                                             WHERE e.village_id = v.id AND e.server_seq > $2
                                             ORDER BY server_seq LIMIT $3) t
                         ORDER BY t.server_seq LIMIT $3",
                        &[&villages, &after, &fetch],
                    )?
                }
            };
            let mut events = rows
                .iter()
                .map(|row| {
                    serde_json::from_str::<Event>(row.get(0))
                        .map_err(|err| OfficeError::Internal(format!("a stored event does not read back: {err}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let (through, more) = trim_page(&mut events, limit, head);
            let scope_tally = tally(tx, scope, through)?;
            let photos = manifests(tx, &events)?;
            Ok(StoredPage { head, events, scope: scope_tally, through, more, photos })
        })
    }

    fn head(&self) -> Result<u64, OfficeError> {
        let rows = self.single("SELECT coalesce(max(server_seq), 0) FROM office_events", &[])?;
        Ok(rows.first().map_or(0, |row| row.get::<_, i64>(0) as u64))
    }

    fn position(&self, device: DeviceId) -> Result<(u64, u64), OfficeError> {
        let rows = self.single(
            "SELECT (SELECT acked_through FROM office_devices WHERE device_id = $1),
                    (SELECT coalesce(max(server_seq), 0) FROM office_events)",
            &[&device.to_string()],
        )?;
        let row = rows.first().ok_or_else(|| OfficeError::Internal("no answer to a one-row query".into()))?;
        Ok((row.get::<_, Option<i64>>(0).unwrap_or(0) as u64, row.get::<_, i64>(1) as u64))
    }

    fn reference(&self) -> Result<(String, Arc<Vec<u8>>), OfficeError> {
        let version: Option<String> =
            self.single("SELECT version FROM office_reference", &[])?.first().map(|row| row.get(0));
        let Some(version) = version else {
            return Err(OfficeError::Conflict(
                "no places are published to this database yet: run `rectify-office villages import --database …`"
                    .into(),
            ));
        };
        let mut cache = self.reference.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((known, body)) = cache.as_ref().filter(|(known, _)| *known == version) {
            return Ok((known.clone(), body.clone()));
        }
        let (version, body): (String, Vec<u8>) = self.read(|tx| {
            let row = tx.one("SELECT version, body FROM office_reference", &[])?;
            Ok((row.get(0), row.get(1)))
        })?;
        let body = Arc::new(body);
        *cache = Some((version.clone(), body.clone()));
        Ok((version, body))
    }

    fn photo(&self, hash: &PhotoHash) -> Result<Option<PhotoRow>, OfficeError> {
        let rows = self.single(
            "SELECT length, received, present, path, photo, manifest FROM office_photos WHERE hash = $1",
            &[&hash.as_str()],
        )?;
        Ok(rows.first().map(|row| PhotoRow {
            length: row.get::<_, i64>(0) as u64,
            received: row.get::<_, i64>(1) as u64,
            present: row.get(2),
            path: row.get(3),
            photo: row.get(4),
            manifest: row.get(5),
        }))
    }

    fn set_photo_progress(
        &self,
        hash: &PhotoHash,
        received: u64,
        present_at: Option<&str>,
        now: &str,
    ) -> Result<(), OfficeError> {
        let received = to_i64(received);
        self.write(|tx| {
            match present_at {
                Some(path) => {
                    tx.execute("UPDATE office_meta SET views_version = views_version + 1", &[])?;
                    tx.execute(
                        "UPDATE office_photos SET received = $2, present = TRUE, path = $3, updated_at = $4 WHERE hash = $1",
                        &[&hash.as_str(), &received, &path, &now],
                    )?
                }
                None => tx.execute(
                    "UPDATE office_photos SET received = $2, updated_at = $3 WHERE hash = $1",
                    &[&hash.as_str(), &received, &now],
                )?,
            };
            Ok(())
        })
    }

    fn photo_in_scope(&self, photo: &str, villages: &[VillageId]) -> Result<bool, OfficeError> {
        let villages: Vec<String> = villages.iter().map(ToString::to_string).collect();
        let rows = self.single(
            "SELECT EXISTS (SELECT 1 FROM office_event_photos p JOIN office_events e ON e.event_id = p.event_id
                            WHERE p.hash = $1 AND e.village_id = ANY($2::text[]))",
            &[&photo, &villages],
        )?;
        Ok(rows.first().is_some_and(|row| row.get(0)))
    }

    fn lock_upload(&self, hash: &PhotoHash) -> Result<UploadLock, OfficeError> {
        let permit = UploadPermit::take(&self.uploads);
        let mut connection = self.pool.take()?;
        let key = hash.as_str().to_string();
        connection.query("SELECT pg_advisory_lock($1, hashtext($2))", &[&UPLOAD_SPACE, &key])?;
        Ok(Box::new(HeldUpload { connection: Some(connection), key, _permit: permit }))
    }

    fn thumbnail_of(&self, photo: &str) -> Result<Option<String>, OfficeError> {
        let rows = self.single(
            "SELECT hash FROM office_photos WHERE photo = $1 AND kind = 'thumbnail' AND present LIMIT 1",
            &[&photo],
        )?;
        Ok(rows.first().map(|row| row.get(0)))
    }

    fn views_version(&self) -> Result<i64, OfficeError> {
        let rows = self.single("SELECT views_version FROM office_meta WHERE singleton = 1", &[])?;
        Ok(rows.first().map_or(0, |row| row.get(0)))
    }

    fn save_web_user(&self, user: &WebUserUpdate<'_>) -> Result<(), OfficeError> {
        self.write(|tx| {
            let villages = village_ids(tx, user.village_codes)?;
            let row = tx.one(
                "INSERT INTO office_users (id, name, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role RETURNING id, web_device",
                &[&UserId::new().to_string(), &user.name, &user.role.as_str(), &user.now],
            )?;
            let user_id: String = row.get(0);
            let device = match row.get::<_, Option<String>>(1) {
                Some(device) => device,
                None => {
                    let device = DeviceId::new().to_string();
                    tx.execute(
                        "INSERT INTO office_devices (device_id, user_id, token_hash, enrolled_at) VALUES ($1, $2, $3, $4)",
                        &[&device, &user_id, &user.unusable_token_hash, &user.now],
                    )?;
                    device
                }
            };
            tx.execute(
                "UPDATE office_users SET password_hash = $2, web_device = $3 WHERE id = $1",
                &[&user_id, &user.password_hash, &device],
            )?;
            set_user_villages(tx, &user_id, &villages)?;
            // A new password ends every session opened with the old one.
            tx.execute("DELETE FROM office_sessions WHERE user_id = $1", &[&user_id])?;
            Ok(())
        })
    }

    fn password_of(&self, name: &str) -> Result<Option<(String, Option<String>)>, OfficeError> {
        let rows = self.single("SELECT id, password_hash FROM office_users WHERE name = $1", &[&name])?;
        Ok(rows.first().map(|row| (row.get(0), row.get(1))))
    }

    fn open_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), OfficeError> {
        self.write(|tx| {
            tx.execute("DELETE FROM office_sessions WHERE expires_at < $1", &[&now])?;
            tx.execute(
                "INSERT INTO office_sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&token_hash, &user_id, &csrf, &now, &expires_at],
            )?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, OfficeError> {
        let rows = self.single(
            "SELECT u.id, u.name, u.role, u.web_device, s.csrf, s.expires_at,
                    coalesce((SELECT array_agg(v.village_id ORDER BY v.village_id) FROM office_user_villages v
                              WHERE v.user_id = u.id), '{}')
             FROM office_sessions s JOIN office_users u ON u.id = s.user_id
             JOIN office_devices d ON d.device_id = u.web_device AND d.revoked_at IS NULL
             WHERE s.token_hash = $1",
            &[&token_hash],
        )?;
        let Some(row) = rows.first() else { return Ok(None) };
        let villages: Vec<String> = row.get(6);
        Ok(Some(SessionRow {
            user_id: row.get(0),
            name: row.get(1),
            role: row.get(2),
            web_device: row.get(3),
            csrf: row.get(4),
            expires_at: row.get(5),
            villages: villages.iter().map(|id| parse_id(id)).collect::<Result<_, _>>()?,
        }))
    }

    fn end_session(&self, token_hash: &str) -> Result<(), OfficeError> {
        self.single("DELETE FROM office_sessions WHERE token_hash = $1", &[&token_hash]).map(drop)
    }

    fn users(&self) -> Result<Vec<UserRow>, OfficeError> {
        let rows = self.single(
            "SELECT u.name, u.role, u.password_hash IS NOT NULL, u.created_at, u.web_device,
                    coalesce((SELECT array_agg(l.label ORDER BY l.label) FROM office_user_villages uv
                              JOIN office_villages l ON l.village_id = uv.village_id WHERE uv.user_id = u.id), '{}')
             FROM office_users u ORDER BY u.name",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|row| UserRow {
                name: row.get(0),
                role: row.get(1),
                can_log_in: row.get(2),
                created_at: row.get(3),
                decisions_device: row.get(4),
                villages: row.get(5),
            })
            .collect())
    }

    fn user_names(&self) -> Result<Vec<(String, String)>, OfficeError> {
        let rows = self.single("SELECT id, name FROM office_users", &[])?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn login_attempt(&self, keys: &[LoginKey], now_ms: i64, window_ms: i64) -> Result<Result<(), u64>, OfficeError> {
        self.write(|tx| {
            // One decision at a time across every process, so parallel guesses cannot slip past a limit.
            tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_SPACE, &LOGIN_LOCK])?;
            tx.execute("DELETE FROM office_login_failures WHERE at_ms <= $1", &[&(now_ms - window_ms)])?;
            let mut wait: Option<u64> = None;
            for key in keys {
                let row =
                    tx.one("SELECT count(*), min(at_ms) FROM office_login_failures WHERE key = $1", &[&key.key])?;
                let (count, oldest): (i64, Option<i64>) = (row.get(0), row.get(1));
                if let Some(left) = login_wait(count as usize, key.limit, oldest.unwrap_or(now_ms), now_ms, window_ms) {
                    wait = Some(wait.map_or(left, |other| other.max(left)));
                }
            }
            if let Some(wait) = wait {
                return Ok(Err(wait));
            }
            for key in keys {
                tx.execute("INSERT INTO office_login_failures (key, at_ms) VALUES ($1, $2)", &[&key.key, &now_ms])?;
            }
            Ok(Ok(()))
        })
    }

    fn login_forget(&self, keys: &[String]) -> Result<(), OfficeError> {
        self.write(|tx| {
            for key in keys {
                tx.execute(
                    "DELETE FROM office_login_failures
                     WHERE id = (SELECT max(id) FROM office_login_failures WHERE key = $1)",
                    &[key],
                )?;
            }
            Ok(())
        })
    }

    fn login_forgive(&self, key: &str) -> Result<(), OfficeError> {
        self.single("DELETE FROM office_login_failures WHERE key = $1", &[&key]).map(drop)
    }
}

/// A session-scoped advisory lock on one photo's upload, on a connection kept out of the pool until the
/// lock is released. If the process dies, the server ends the session and the lock with it.
struct HeldUpload {
    connection: Option<Pooled>,
    key: String,
    _permit: UploadPermit,
}

/// One of the `MAX_CONNECTIONS / 2` places for a held upload lock; freed when dropped.
struct UploadPermit(Arc<(Mutex<usize>, Condvar)>);

impl UploadPermit {
    fn take(places: &Arc<(Mutex<usize>, Condvar)>) -> Self {
        let (held, freed) = places.as_ref();
        let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while *held >= MAX_CONNECTIONS / 2 {
            held = freed.wait(held).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *held += 1;
        Self(places.clone())
    }
}

impl Drop for UploadPermit {
    fn drop(&mut self) {
        let (held, freed) = self.0.as_ref();
        let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *held -= 1;
        freed.notify_one();
    }
}

impl Drop for HeldUpload {
    fn drop(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            let pool = connection.pool.clone();
            let unlocked = connection.query("SELECT pg_advisory_unlock($1, hashtext($2))", &[&UPLOAD_SPACE, &self.key]);
            if unlocked.is_err() {
                // A connection whose lock state is unknown does not go back to the pool.
                connection.conn = None;
                let mut idle = pool.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                idle.1 -= 1;
                pool.freed.notify_one();
            }
        }
    }
}

/// Everything in scope with server_seq up to `through`.
fn tally(tx: &PgTx<'_, '_>, scope: Option<&[VillageId]>, through: u64) -> Result<ScopeTally, OfficeError> {
    let through_seq = to_i64(through);
    match scope {
        None => {
            let sum = tx
                .optional(
                    "SELECT global_sum FROM office_events WHERE server_seq <= $1 ORDER BY server_seq DESC LIMIT 1",
                    &[&through_seq],
                )?
                .map_or(0, |row| row.get::<_, i64>(0));
            Ok(ScopeTally { count: through, sum: sum as u64 })
        }
        Some(villages) => {
            let villages: Vec<String> = villages.iter().map(ToString::to_string).collect();
            let mut total = ScopeTally::default();
            // Each village's newest row at or before `through`, found by the (village_id, server_seq) index.
            for row in tx.query(
                "SELECT t.village_count, t.village_sum FROM unnest($1::text[]) AS v(id)
                 JOIN LATERAL (SELECT village_count, village_sum FROM office_events e
                               WHERE e.village_id = v.id AND e.server_seq <= $2
                               ORDER BY server_seq DESC LIMIT 1) t ON TRUE",
                &[&villages, &through_seq],
            )? {
                total.merge(ScopeTally { count: row.get::<_, i64>(0) as u64, sum: row.get::<_, i64>(1) as u64 });
            }
            Ok(total)
        }
    }
}

fn manifests(tx: &PgTx<'_, '_>, events: &[Event]) -> Result<Vec<PhotoManifest>, OfficeError> {
    let mut hashes: Vec<String> = Vec::new();
    for hash in events.iter().flat_map(|event| event.photos.iter()) {
        if !hashes.iter().any(|known| known == hash.as_str()) {
            hashes.push(hash.as_str().to_string());
        }
    }
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx.query(
        "SELECT hash, manifest FROM office_photos WHERE hash = ANY($1::text[]) AND kind = 'evidence' AND manifest IS NOT NULL",
        &[&hashes],
    )?;
    // In the order the page names them.
    let mut found = Vec::new();
    for hash in &hashes {
        let manifest = rows
            .iter()
            .find(|row| row.get::<_, &str>(0) == hash)
            .and_then(|row| serde_json::from_str::<PhotoManifest>(row.get(1)).ok());
        found.extend(manifest);
    }
    Ok(found)
}

/// The sequencer's reads and writes on the group's transaction, in few round trips: `prepare` reads what
/// a push's events will need in one go (ids already stored, issue states, village codes, running
/// tallies), numbered events and new states wait in memory, and `finish` writes them with one statement
/// each. What it holds is valid only for the state the transaction is in: after a push is rolled back to
/// its savepoint, `forget` drops it all.
struct PgSequencer<'t, 'p, 'c> {
    tx: &'t mut PgTx<'p, 'c>,
    /// The newest server_seq and the global digest sum there, counted on from the first read.
    head: Option<(u64, u64)>,
    labels: HashMap<VillageId, Option<String>>,
    tallies: HashMap<VillageId, ScopeTally>,
    states: HashMap<IssueId, Option<IssueState>>,
    stored: HashMap<String, u64>,
    events: Vec<PendingEvent>,
    saved: HashMap<IssueId, IssueState>,
}

/// A numbered event waiting for `finish`.
struct PendingEvent {
    event: Event,
    village: Option<VillageId>,
    tally: ScopeTally,
    global: u64,
}

/// Numbered events as columns, for one multi-row insert.
#[derive(Default)]
struct EventColumns {
    seqs: Vec<i64>,
    ids: Vec<String>,
    devices: Vec<String>,
    device_seqs: Vec<i64>,
    issues: Vec<String>,
    villages: Vec<Option<String>>,
    bodies: Vec<String>,
    verdicts: Vec<String>,
    counts: Vec<i64>,
    sums: Vec<i64>,
    globals: Vec<i64>,
}

impl EventColumns {
    fn push(&mut self, pending: &PendingEvent) -> Result<(), OfficeError> {
        let event = &pending.event;
        self.seqs.push(to_i64(event.server_seq.unwrap_or(0)));
        self.ids.push(event.event_id.to_string());
        self.devices.push(event.device_id.to_string());
        self.device_seqs.push(to_i64(event.device_seq));
        self.issues.push(event.issue_id.to_string());
        self.villages.push(pending.village.map(|village| village.to_string()));
        self.bodies.push(to_json(event)?);
        self.verdicts.push(to_json(&event.verdict)?);
        self.counts.push(pending.tally.count as i64);
        self.sums.push(pending.tally.sum as i64);
        self.globals.push(pending.global as i64);
        Ok(())
    }
}

impl<'t, 'p, 'c> PgSequencer<'t, 'p, 'c> {
    fn new(tx: &'t mut PgTx<'p, 'c>) -> Self {
        Self {
            tx,
            head: None,
            labels: HashMap::new(),
            tallies: HashMap::new(),
            states: HashMap::new(),
            stored: HashMap::new(),
            events: Vec::new(),
            saved: HashMap::new(),
        }
    }

    fn forget(&mut self) {
        self.head = None;
        // Labels and tallies are loaded together: dropping one without the other would let a village's
        // tally restart from zero.
        self.labels.clear();
        self.tallies.clear();
        self.states.clear();
        self.stored.clear();
        self.events.clear();
        self.saved.clear();
    }

    fn head_and_sum(&mut self) -> Result<(u64, u64), OfficeError> {
        if let Some(known) = self.head {
            return Ok(known);
        }
        let row = self
            .tx
            .optional("SELECT server_seq, global_sum FROM office_events ORDER BY server_seq DESC LIMIT 1", &[])?;
        let known = row.map_or((0, 0), |row| (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64));
        self.head = Some(known);
        Ok(known)
    }

    /// Loads the labels and running tallies of villages not held yet.
    fn load_villages(&mut self, villages: impl IntoIterator<Item = VillageId>) -> Result<(), OfficeError> {
        let missing: HashSet<VillageId> =
            villages.into_iter().filter(|id| !self.labels.contains_key(id) || !self.tallies.contains_key(id)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = missing.iter().map(ToString::to_string).collect();
        let rows = self.tx.query(
            "SELECT v.id, l.label, t.village_count, t.village_sum
             FROM unnest($1::text[]) AS v(id)
             LEFT JOIN office_villages l ON l.village_id = v.id
             LEFT JOIN LATERAL (SELECT village_count, village_sum FROM office_events e WHERE e.village_id = v.id
                                ORDER BY server_seq DESC LIMIT 1) t ON TRUE",
            &[&ids],
        )?;
        for row in rows {
            let id: VillageId = parse_id(row.get::<_, &str>(0))?;
            self.labels.insert(id, row.get(1));
            let tally = match (row.get::<_, Option<i64>>(2), row.get::<_, Option<i64>>(3)) {
                (Some(count), Some(sum)) => ScopeTally { count: count as u64, sum: sum as u64 },
                _ => ScopeTally::default(),
            };
            self.tallies.insert(id, tally);
        }
        Ok(())
    }
}

impl SequencerTx for PgSequencer<'_, '_, '_> {
    fn prepare(&mut self, batch: &[Event]) -> Result<(), OfficeError> {
        let ids: Vec<String> = batch.iter().map(|event| event.event_id.to_string()).collect();
        for row in
            self.tx.query("SELECT event_id, server_seq FROM office_events WHERE event_id = ANY($1::text[])", &[&ids])?
        {
            self.stored.insert(row.get(0), row.get::<_, i64>(1) as u64);
        }
        let issues: Vec<String> = batch
            .iter()
            .map(|event| event.issue_id)
            .filter(|issue| !self.states.contains_key(issue))
            .collect::<HashSet<_>>()
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut villages: HashSet<VillageId> = HashSet::new();
        if !issues.is_empty() {
            let rows = self
                .tx
                .query("SELECT issue_id, state FROM office_issues WHERE issue_id = ANY($1::text[])", &[&issues])?;
            for issue in &issues {
                self.states.insert(parse_id(issue)?, None);
            }
            for row in rows {
                let state: IssueState = serde_json::from_str(row.get(1)).map_err(|err| {
                    OfficeError::Internal(format!(
                        "the stored state of issue {} does not read: {err}",
                        row.get::<_, &str>(0)
                    ))
                })?;
                villages.insert(state.village_id);
                self.states.insert(state.id, Some(state));
            }
        }
        for event in batch {
            if let rectify_core::domain::event::EventBody::Reported(body) = &event.body {
                villages.insert(body.village_id);
            }
        }
        self.load_villages(villages)
    }

    fn acked_through(&mut self, device: DeviceId) -> Result<u64, OfficeError> {
        Ok(self
            .tx
            .one("SELECT acked_through FROM office_devices WHERE device_id = $1 FOR UPDATE", &[&device.to_string()])?
            .get::<_, i64>(0) as u64)
    }

    fn head(&mut self) -> Result<u64, OfficeError> {
        Ok(self.head_and_sum()?.0)
    }

    fn announce_photo(
        &mut self,
        hash: &str,
        kind: &str,
        photo: &str,
        length: u64,
        manifest: Option<&str>,
        now: &str,
    ) -> Result<(), OfficeError> {
        self.tx.execute(
            "INSERT INTO office_photos (hash, kind, photo, length, manifest, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (hash) DO NOTHING",
            &[&hash, &kind, &photo, &to_i64(length), &manifest, &now],
        )?;
        Ok(())
    }

    fn event_at(&mut self, device: DeviceId, device_seq: u64) -> Result<Option<Judged>, OfficeError> {
        let waiting = self
            .events
            .iter()
            .find(|pending| pending.event.device_id == device && pending.event.device_seq == device_seq);
        if let Some(pending) = waiting {
            return Ok(Some(Judged {
                event_id: pending.event.event_id.to_string(),
                server_seq: pending.event.server_seq,
                verdict: serde_json::to_string(&pending.event.verdict).ok(),
            }));
        }
        Ok(self
            .tx
            .optional(
                "SELECT event_id, server_seq, verdict FROM office_events WHERE device_id = $1 AND device_seq = $2",
                &[&device.to_string(), &to_i64(device_seq)],
            )?
            .map(|row| Judged {
                event_id: row.get(0),
                server_seq: Some(row.get::<_, i64>(1) as u64),
                verdict: Some(row.get(2)),
            }))
    }

    fn refusal_at(&mut self, device: DeviceId, device_seq: u64) -> Result<Option<String>, OfficeError> {
        Ok(self
            .tx
            .optional(
                "SELECT reason FROM office_refusals WHERE device_id = $1 AND device_seq = $2",
                &[&device.to_string(), &to_i64(device_seq)],
            )?
            .map(|row| row.get(0)))
    }

    fn stored_seq(&mut self, event: &Event) -> Result<Option<u64>, OfficeError> {
        let id = event.event_id.to_string();
        if let Some(seq) = self.stored.get(&id) {
            return Ok(Some(*seq));
        }
        let waiting = self.events.iter().find(|pending| pending.event.event_id == event.event_id);
        Ok(waiting.and_then(|pending| pending.event.server_seq))
    }

    fn record_refusal(&mut self, event: &Event, reason: &str) -> Result<(), OfficeError> {
        self.tx.execute(
            "INSERT INTO office_refusals (device_id, device_seq, event_id, reason) VALUES ($1, $2, $3, $4)",
            &[&event.device_id.to_string(), &to_i64(event.device_seq), &event.event_id.to_string(), &reason],
        )?;
        Ok(())
    }

    fn issue_state(&mut self, issue: IssueId) -> Result<Option<IssueState>, OfficeError> {
        if let Some(known) = self.states.get(&issue) {
            return Ok(known.clone());
        }
        let row = self.tx.optional("SELECT state FROM office_issues WHERE issue_id = $1", &[&issue.to_string()])?;
        let state: Option<IssueState> = row
            .map(|row| serde_json::from_str(row.get(0)))
            .transpose()
            .map_err(|err| OfficeError::Internal(format!("the stored state of issue {issue} does not read: {err}")))?;
        self.states.insert(issue, state.clone());
        Ok(state)
    }

    fn village_label(&mut self, village: VillageId) -> Result<Option<String>, OfficeError> {
        self.load_villages([village])?;
        Ok(self.labels.get(&village).cloned().flatten())
    }

    fn store_event(&mut self, event: &Event, seq: u64, village: Option<VillageId>) -> Result<(), OfficeError> {
        let (_, global_before) = self.head_and_sum()?;
        let tally = match village {
            Some(id) => {
                self.load_villages([id])?;
                let tally = village_tally_after(self.tallies.get(&id).copied().unwrap_or_default(), event, seq);
                self.tallies.insert(id, tally);
                tally
            }
            None => ScopeTally::default(),
        };
        let global = global_sum_after(global_before, event, seq);
        self.head = Some((seq, global));
        self.events.push(PendingEvent { event: event.clone(), village, tally, global });
        Ok(())
    }

    fn save_state(&mut self, state: &IssueState) -> Result<(), OfficeError> {
        self.states.insert(state.id, Some(state.clone()));
        self.saved.insert(state.id, state.clone());
        Ok(())
    }

    fn finish(&mut self) -> Result<(), OfficeError> {
        if !self.events.is_empty() {
            let mut columns = EventColumns::default();
            let (mut photo_hashes, mut photo_events) = (Vec::new(), Vec::new());
            for pending in &self.events {
                columns.push(pending)?;
                for photo in &pending.event.photos {
                    photo_hashes.push(photo.as_str().to_string());
                    photo_events.push(pending.event.event_id.to_string());
                }
            }
            let c = &columns;
            self.tx.execute(
                "INSERT INTO office_events (server_seq, event_id, device_id, device_seq, issue_id, village_id, body,
                                            verdict, village_count, village_sum, global_sum)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                                      $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[])",
                &[
                    &c.seqs,
                    &c.ids,
                    &c.devices,
                    &c.device_seqs,
                    &c.issues,
                    &c.villages,
                    &c.bodies,
                    &c.verdicts,
                    &c.counts,
                    &c.sums,
                    &c.globals,
                ],
            )?;
            if !photo_hashes.is_empty() {
                self.tx.execute(
                    "INSERT INTO office_event_photos (hash, event_id) SELECT * FROM unnest($1::text[], $2::text[])
                     ON CONFLICT DO NOTHING",
                    &[&photo_hashes, &photo_events],
                )?;
            }
            self.events.clear();
        }
        if !self.saved.is_empty() {
            let (mut ids, mut villages, mut statuses, mut texts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for state in self.saved.values() {
                ids.push(state.id.to_string());
                villages.push(state.village_id.to_string());
                statuses.push(state.status.as_str().to_string());
                texts.push(to_json(state)?);
            }
            self.tx.execute(
                "INSERT INTO office_issues (issue_id, village_id, status, state)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                 ON CONFLICT (issue_id) DO UPDATE SET village_id = EXCLUDED.village_id, status = EXCLUDED.status,
                     state = EXCLUDED.state",
                &[&ids, &villages, &statuses, &texts],
            )?;
            self.saved.clear();
        }
        Ok(())
    }

    fn set_acked(&mut self, device: DeviceId, acked: u64, now: &str) -> Result<(), OfficeError> {
        self.tx.execute(
            "UPDATE office_devices SET acked_through = $2, last_seen_at = $3 WHERE device_id = $1",
            &[&device.to_string(), &to_i64(acked), &now],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://rectify:s3cret@db:5432/district"), "postgres://rectify:***@db:5432/district");
        assert_eq!(redact("postgres://rectify@db/district"), "postgres://rectify@db/district");
        assert_eq!(
            redact("postgres://db/district?user=r&password=s3cret&sslmode=disable"),
            "postgres://db/district?user=r&password=***&sslmode=disable"
        );
    }
}
