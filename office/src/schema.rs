//! The office's own tables, beside the core ledger tables in the same SQLite file. The core schema is
//! migrated by rectify-core; these are versioned separately in `office_meta.schema` and grow by steps the
//! same way (one transaction per step).

use rusqlite::Transaction;

use crate::OfficeError;

/// Step 1: who may sync (users, one-time codes, devices with hashed tokens), the office's sequence with
/// running per-village tallies, and photo uploads.
const STEP_1: &str = r#"
CREATE TABLE office_meta (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    schema      INTEGER NOT NULL,
    epoch       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE office_users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE office_user_villages (
    user_id     TEXT NOT NULL REFERENCES office_users(id),
    village_id  TEXT NOT NULL REFERENCES villages(id),
    PRIMARY KEY (user_id, village_id)
);
CREATE INDEX office_user_villages_village ON office_user_villages(village_id);
CREATE TABLE office_enrollments (
    code_hash   TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES office_users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    device_id   TEXT
);
CREATE INDEX office_enrollments_user ON office_enrollments(user_id);
CREATE TABLE office_devices (
    device_id      TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES office_users(id),
    token_hash     TEXT NOT NULL UNIQUE,
    enrolled_at    TEXT NOT NULL,
    revoked_at     TEXT,
    acked_through  INTEGER NOT NULL DEFAULT 0,
    last_seen_at   TEXT
);
CREATE INDEX office_devices_user ON office_devices(user_id);
-- Device sequence numbers the office judged without storing an event (an id already used): kept so a
-- resend gets the same answer.
CREATE TABLE office_refusals (
    device_id   TEXT NOT NULL,
    device_seq  INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    PRIMARY KEY (device_id, device_seq)
);
-- One row per sequenced event: its village (NULL when it has none) and the running tallies that pull
-- pages carry, per village and over everything.
CREATE TABLE office_sequence (
    server_seq     INTEGER PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE REFERENCES events(event_id),
    village_id     TEXT,
    village_count  INTEGER NOT NULL,
    village_sum    INTEGER NOT NULL,
    global_sum     INTEGER NOT NULL
);
CREATE INDEX office_sequence_village ON office_sequence(village_id, server_seq);
CREATE INDEX office_sequence_event ON office_sequence(event_id);
-- Photo files announced by pushes (evidence with its manifest, and thumbnails, each with the evidence hash
-- it belongs to), and how far each upload is.
CREATE TABLE office_photos (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('evidence', 'thumbnail')),
    photo       TEXT NOT NULL,
    length      INTEGER NOT NULL,
    manifest    TEXT,
    received    INTEGER NOT NULL DEFAULT 0,
    present     INTEGER NOT NULL DEFAULT 0,
    path        TEXT,
    updated_at  TEXT NOT NULL
);
"#;

/// Step 2: office users in the browser: an Argon2id password, the device the office records their
/// decisions under, and login sessions (kept only as hashes, with the session's CSRF token); photos by
/// the evidence they belong to; a version of everything the dashboard caches besides events.
const STEP_2: &str = r#"
ALTER TABLE office_users ADD COLUMN password_hash TEXT;
ALTER TABLE office_users ADD COLUMN web_device TEXT;
CREATE TABLE office_sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES office_users(id),
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX office_sessions_user ON office_sessions(user_id);
-- The dashboard looks a photo's thumbnail up by the evidence it belongs to.
CREATE INDEX office_photos_photo ON office_photos(photo, kind);
-- What the dashboard's cached views read besides events (which bump server_seq): places, boundaries and
-- photo arrivals. Any change to them bumps this counter, in the same transaction.
ALTER TABLE office_meta ADD COLUMN views_version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER office_views_towns_insert AFTER INSERT ON towns BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_towns_update AFTER UPDATE ON towns BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_towns_delete AFTER DELETE ON towns BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_zones_insert AFTER INSERT ON zones BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_zones_update AFTER UPDATE ON zones BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_zones_delete AFTER DELETE ON zones BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_villages_insert AFTER INSERT ON villages BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_villages_update AFTER UPDATE ON villages BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_villages_delete AFTER DELETE ON villages BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_village_codes_insert AFTER INSERT ON village_codes BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_village_codes_update AFTER UPDATE ON village_codes BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_village_codes_delete AFTER DELETE ON village_codes BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_village_boundaries_insert AFTER INSERT ON village_boundaries BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_village_boundaries_update AFTER UPDATE ON village_boundaries BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_village_boundaries_delete AFTER DELETE ON village_boundaries BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
CREATE TRIGGER office_views_photo_present AFTER UPDATE OF present ON office_photos WHEN NEW.present IS NOT OLD.present
    BEGIN UPDATE office_meta SET views_version = views_version + 1; END;
"#;

/// Step 3: failed dashboard logins, counted here rather than in one process's memory.
const STEP_3: &str = r#"
CREATE TABLE office_login_failures (
    id     INTEGER PRIMARY KEY,
    key    TEXT NOT NULL,
    at_ms  INTEGER NOT NULL
);
CREATE INDEX office_login_failures_key ON office_login_failures(key, at_ms);
CREATE INDEX office_login_failures_at ON office_login_failures(at_ms);
"#;

const STEPS: &[&str] = &[STEP_1, STEP_2, STEP_3];

/// Creates or upgrades the office tables; returns the epoch.
pub fn migrate(tx: &Transaction<'_>, now: &str) -> Result<String, OfficeError> {
    let exists: bool =
        tx.query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'office_meta'", [], |row| row.get(0))?;
    let mut version: usize = if exists {
        tx.query_row("SELECT schema FROM office_meta WHERE singleton = 1", [], |row| row.get::<_, i64>(0))? as usize
    } else {
        0
    };
    while version < STEPS.len() {
        tx.execute_batch(STEPS[version])?;
        version += 1;
        if version == 1 {
            tx.execute(
                "INSERT INTO office_meta (singleton, schema, epoch, created_at) VALUES (1, 1, ?1, ?2)",
                [new_epoch()?, now.to_string()],
            )?;
        }
        tx.execute("UPDATE office_meta SET schema = ?1", [version as i64])?;
    }
    Ok(tx.query_row("SELECT epoch FROM office_meta WHERE singleton = 1", [], |row| row.get(0))?)
}

/// A fresh epoch: 16 random hex digits.
pub fn new_epoch() -> Result<String, OfficeError> {
    crate::credentials::random_hex(8)
}
