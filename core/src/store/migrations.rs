//! Schema migrations, one step per `PRAGMA user_version`. Each step runs in its own IMMEDIATE
//! transaction with foreign keys checked at the end, so a failed step leaves the previous version intact.
//! Steps are never edited once released; the current schema is summarised in `schema.sql` and a test
//! keeps the two in agreement.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Marks a SQLite file as Rectify's ("RECT").
pub const APPLICATION_ID: i32 = 0x5245_4354;

/// Version 1: the first ledger. Villages carried a single code.
const V1: &str = r#"
CREATE TABLE device (
    singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
    device_id        TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    user_name        TEXT NOT NULL,
    role             TEXT NOT NULL,
    next_device_seq  INTEGER NOT NULL DEFAULT 1,
    last_hlc         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);
CREATE TABLE towns (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    code  TEXT UNIQUE
);
CREATE TABLE zones (
    id       TEXT PRIMARY KEY,
    town_id  TEXT NOT NULL REFERENCES towns(id),
    name     TEXT NOT NULL,
    UNIQUE (town_id, name)
);
CREATE TABLE villages (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    code       TEXT NOT NULL UNIQUE,
    town_id    TEXT REFERENCES towns(id),
    zone_id    TEXT REFERENCES zones(id),
    weak_base  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX villages_town ON villages(town_id);
CREATE INDEX villages_zone ON villages(zone_id);
CREATE TABLE device_villages (
    village_id  TEXT PRIMARY KEY REFERENCES villages(id)
);
CREATE TABLE users (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    role  TEXT NOT NULL
);
CREATE TABLE events (
    event_id      TEXT PRIMARY KEY,
    issue_id      TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    device_seq    INTEGER NOT NULL,
    author        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    body_version  INTEGER NOT NULL,
    body          TEXT NOT NULL,
    hlc           INTEGER NOT NULL,
    recorded_at   TEXT NOT NULL,
    parents       TEXT NOT NULL,
    photos        TEXT NOT NULL,
    server_seq    INTEGER UNIQUE,
    verdict       TEXT,
    UNIQUE (device_id, device_seq)
);
CREATE INDEX events_issue ON events(issue_id);
CREATE TABLE outbox (
    device_seq  INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE REFERENCES events(event_id)
);
CREATE TABLE issues (
    id            TEXT PRIMARY KEY,
    village_id    TEXT NOT NULL REFERENCES villages(id),
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,
    deadline_ms   INTEGER NOT NULL,
    reported_ms   INTEGER NOT NULL,
    rework_count  INTEGER NOT NULL,
    note          TEXT,
    lat           REAL NOT NULL,
    lon           REAL NOT NULL,
    state         TEXT NOT NULL
);
CREATE INDEX issues_village_status ON issues(village_id, status);
CREATE INDEX issues_status_deadline ON issues(status, deadline_ms);
CREATE TABLE photos (
    hash              TEXT PRIMARY KEY,
    byte_size         INTEGER NOT NULL,
    media_type        TEXT NOT NULL,
    path              TEXT NOT NULL,
    added_at          TEXT NOT NULL,
    office_confirmed  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE event_photos (
    event_id  TEXT NOT NULL REFERENCES events(event_id),
    hash      TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (event_id, hash)
);
CREATE INDEX event_photos_hash ON event_photos(hash);
"#;

/// Version 2: villages keep every statistical code they have had (codes change when villages merge or a
/// district is renamed), under a stable internal id. The single `villages.code` moves into history.
const V2: &str = r#"
CREATE TABLE village_codes (
    code        TEXT PRIMARY KEY,
    village_id  TEXT NOT NULL REFERENCES villages(id),
    source      TEXT NOT NULL,
    position    INTEGER NOT NULL,
    UNIQUE (village_id, position)
);
INSERT INTO village_codes (code, village_id, source, position)
    SELECT code, id, 'initial', 0 FROM villages;
CREATE TABLE villages_v2 (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    town_id    TEXT REFERENCES towns(id),
    zone_id    TEXT REFERENCES zones(id),
    weak_base  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO villages_v2 (id, name, town_id, zone_id, weak_base)
    SELECT id, name, town_id, zone_id, weak_base FROM villages;
DROP TABLE villages;
ALTER TABLE villages_v2 RENAME TO villages;
CREATE INDEX villages_town ON villages(town_id);
CREATE INDEX villages_zone ON villages(zone_id);
"#;

/// Version 3: photos carry what the ingest learnt (sizes, thumbnail, original, capture metadata,
/// perceptual hash, their own evidence flags) and each event's link to a photo carries the flags raised
/// against that issue. Rows from before stay valid with the new columns empty.
const V3: &str = r#"
ALTER TABLE photos ADD COLUMN width INTEGER;
ALTER TABLE photos ADD COLUMN height INTEGER;
ALTER TABLE photos ADD COLUMN evidence_pruned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE photos ADD COLUMN thumb_hash TEXT;
ALTER TABLE photos ADD COLUMN thumb_bytes INTEGER;
ALTER TABLE photos ADD COLUMN thumb_width INTEGER;
ALTER TABLE photos ADD COLUMN thumb_height INTEGER;
ALTER TABLE photos ADD COLUMN thumb_path TEXT;
ALTER TABLE photos ADD COLUMN source_sha256 TEXT;
ALTER TABLE photos ADD COLUMN source_bytes INTEGER;
ALTER TABLE photos ADD COLUMN source_width INTEGER;
ALTER TABLE photos ADD COLUMN source_height INTEGER;
ALTER TABLE photos ADD COLUMN original_path TEXT;
ALTER TABLE photos ADD COLUMN lat REAL;
ALTER TABLE photos ADD COLUMN lon REAL;
ALTER TABLE photos ADD COLUMN alt REAL;
ALTER TABLE photos ADD COLUMN gps_error_m REAL;
ALTER TABLE photos ADD COLUMN taken_at TEXT;
ALTER TABLE photos ADD COLUMN make TEXT;
ALTER TABLE photos ADD COLUMN model TEXT;
ALTER TABLE photos ADD COLUMN orientation INTEGER;
ALTER TABLE photos ADD COLUMN phash INTEGER;
ALTER TABLE photos ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
CREATE INDEX photos_source ON photos(source_sha256);
ALTER TABLE event_photos ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
"#;

/// Version 4: village boundaries (WGS-84 GeoJSON with their bounding box), and an index for "open
/// issues of this category near here".
const V4: &str = r#"
CREATE TABLE village_boundaries (
    village_id  TEXT PRIMARY KEY REFERENCES villages(id),
    geometry    TEXT NOT NULL,
    min_lon     REAL NOT NULL,
    min_lat     REAL NOT NULL,
    max_lon     REAL NOT NULL,
    max_lat     REAL NOT NULL,
    area_m2     REAL NOT NULL,
    source      TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX issues_category_lat ON issues(category, lat);
"#;

/// Version 5: walk tracks. Points of the track being recorded are rows; a stopped track keeps its
/// filtered points packed in one blob (see `geo::track::encode`).
const V5: &str = r#"
CREATE TABLE tracks (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    stopped_at   TEXT,
    points       BLOB,
    point_count  INTEGER NOT NULL DEFAULT 0,
    length_m     REAL NOT NULL DEFAULT 0,
    dropped      TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX tracks_one_open ON tracks(stopped_at IS NULL) WHERE stopped_at IS NULL;
CREATE TABLE track_points (
    track_id    TEXT NOT NULL REFERENCES tracks(id),
    seq         INTEGER NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    at_ms       INTEGER,
    accuracy_m  REAL,
    PRIMARY KEY (track_id, seq)
);
"#;

/// Version 6: sync with the district office. The device's credential and pull position (one row), and the
/// reference data the office sends (the category table as the office runs it).
const V6: &str = r#"
CREATE TABLE sync_state (
    singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
    server_url         TEXT NOT NULL,
    token              TEXT NOT NULL,
    epoch              TEXT NOT NULL,
    cursor             TEXT NOT NULL DEFAULT '',
    scope_count        INTEGER NOT NULL DEFAULT 0,
    scope_sum          INTEGER NOT NULL DEFAULT 0,
    reference_version  TEXT NOT NULL DEFAULT '',
    enrolled_at        TEXT NOT NULL,
    last_sync_at       TEXT,
    last_error         TEXT
);
CREATE TABLE reference_data (
    kind     TEXT PRIMARY KEY,
    version  TEXT NOT NULL,
    body     TEXT NOT NULL
);
"#;

/// Version 7: edits note which earlier edit of each field they replace, and an issue keeps the edit behind
/// each field's value, so concurrent edits show as conflicts; issues keep when their acceptance and their
/// withdrawal happened, for scores and bulletins (with an index that covers what scoring reads, so it
/// never walks the states' JSON). Every issue is folded again (see `REFOLD_AFTER`), so
/// states written by older builds gain what the new fold keeps and the new columns are filled.
const V7: &str = r#"
ALTER TABLE issues ADD COLUMN accepted_ms INTEGER;
ALTER TABLE issues ADD COLUMN withdrawn_ms INTEGER;
CREATE INDEX issues_scoring ON issues(village_id, id, category, status, reported_ms, deadline_ms, accepted_ms,
    withdrawn_ms, lat, lon);
"#;

/// Every step, in order; the index plus one is the version the step produces.
pub const STEPS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

/// Versions whose step also folds every issue again, in the same transaction, because the fold changed.
/// The refold runs this build's queries, so a later step that reshapes `events` or `issues` must refold
/// itself rather than rely on an earlier one.
const REFOLD_AFTER: &[u32] = &[7];

/// The schema version this build writes.
pub const LATEST: u32 = STEPS.len() as u32;

/// Brings `conn` from its current version to `target`. Refuses a file from a newer build.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<(), StoreError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > LATEST {
        return Err(StoreError::NewerSchema { found, supported: LATEST });
    }
    if found >= target {
        return Ok(());
    }
    // Table rebuilds need foreign keys off; they are checked explicitly before each commit instead.
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = (found..target).try_for_each(|version| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(STEPS[version as usize])?;
        if REFOLD_AFTER.contains(&(version + 1)) {
            super::issues::refold_all(&tx)?;
        }
        let violations: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| row.get(0))?;
        if violations > 0 {
            return Err(StoreError::Corrupt(format!(
                "migration to schema {} found {violations} broken references; the file was left at schema {version}",
                version + 1
            )));
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        Ok(())
    });
    conn.pragma_update(None, "foreign_keys", true)?;
    result
}
