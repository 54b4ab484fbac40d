-- The current schema (version 6), for reading. Migrations in migrations.rs are what build it; a test
-- checks that this file and the migrated schema have the same tables, columns and indexes.

-- Who this device acts for, and its counters: the next gap-free device_seq and the last HLC reading.
CREATE TABLE device (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), device_id TEXT NOT NULL,
    user_id TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL,
    next_device_seq INTEGER NOT NULL DEFAULT 1, last_hlc INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
-- The villages a secretary's device answers for.
CREATE TABLE device_villages (village_id TEXT PRIMARY KEY REFERENCES villages(id));
CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL);

-- Places. Villages have a stable id; their statistical codes live in village_codes, newest position last.
CREATE TABLE towns (id TEXT PRIMARY KEY, name TEXT NOT NULL, code TEXT UNIQUE);
CREATE TABLE zones (id TEXT PRIMARY KEY, town_id TEXT NOT NULL REFERENCES towns(id), name TEXT NOT NULL,
    UNIQUE (town_id, name));
CREATE TABLE villages (id TEXT PRIMARY KEY, name TEXT NOT NULL, town_id TEXT REFERENCES towns(id),
    zone_id TEXT REFERENCES zones(id), weak_base INTEGER NOT NULL DEFAULT 0);
CREATE INDEX villages_town ON villages(town_id);
CREATE INDEX villages_zone ON villages(zone_id);
CREATE TABLE village_codes (code TEXT PRIMARY KEY, village_id TEXT NOT NULL REFERENCES villages(id),
    source TEXT NOT NULL, position INTEGER NOT NULL, UNIQUE (village_id, position));

-- The ledger: append-only events, and the outbox of this device's events not yet acknowledged.
CREATE TABLE events (event_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, device_id TEXT NOT NULL,
    device_seq INTEGER NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL, body_version INTEGER NOT NULL,
    body TEXT NOT NULL, hlc INTEGER NOT NULL, recorded_at TEXT NOT NULL, parents TEXT NOT NULL,
    photos TEXT NOT NULL, server_seq INTEGER UNIQUE, verdict TEXT, UNIQUE (device_id, device_seq));
CREATE INDEX events_issue ON events(issue_id);
CREATE TABLE outbox (device_seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE REFERENCES events(event_id));

-- Each issue's folded state, rewritten in the same transaction as every event that changes it.
CREATE TABLE issues (id TEXT PRIMARY KEY, village_id TEXT NOT NULL REFERENCES villages(id),
    category TEXT NOT NULL, status TEXT NOT NULL, deadline_ms INTEGER NOT NULL, reported_ms INTEGER NOT NULL,
    rework_count INTEGER NOT NULL, note TEXT, lat REAL NOT NULL, lon REAL NOT NULL, state TEXT NOT NULL,
    accepted_ms INTEGER, withdrawn_ms INTEGER);
CREATE INDEX issues_village_status ON issues(village_id, status);
CREATE INDEX issues_status_deadline ON issues(status, deadline_ms);
CREATE INDEX issues_category_lat ON issues(category, lat);
CREATE INDEX issues_scoring ON issues(village_id, id, category, status, reported_ms, deadline_ms, accepted_ms,
    withdrawn_ms, lat, lon);

-- Photo files by content hash, and which events bring which photos.
-- `hash` is the evidence image's SHA-256; the thumbnail and (optionally) the original are kept beside it.
CREATE TABLE photos (hash TEXT PRIMARY KEY, byte_size INTEGER NOT NULL, media_type TEXT NOT NULL,
    path TEXT NOT NULL, added_at TEXT NOT NULL, office_confirmed INTEGER NOT NULL DEFAULT 0,
    width INTEGER, height INTEGER, evidence_pruned INTEGER NOT NULL DEFAULT 0,
    thumb_hash TEXT, thumb_bytes INTEGER, thumb_width INTEGER, thumb_height INTEGER, thumb_path TEXT,
    source_sha256 TEXT, source_bytes INTEGER, source_width INTEGER, source_height INTEGER, original_path TEXT,
    lat REAL, lon REAL, alt REAL, gps_error_m REAL, taken_at TEXT, make TEXT, model TEXT, orientation INTEGER,
    phash INTEGER, flags TEXT NOT NULL DEFAULT '[]');
CREATE INDEX photos_source ON photos(source_sha256);
CREATE TABLE event_photos (event_id TEXT NOT NULL REFERENCES events(event_id), hash TEXT NOT NULL,
    role TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (event_id, hash));
CREATE INDEX event_photos_hash ON event_photos(hash);

-- Village boundaries: a MultiPolygon as GeoJSON text (WGS-84), with its box and area for quick answers.
CREATE TABLE village_boundaries (village_id TEXT PRIMARY KEY REFERENCES villages(id), geometry TEXT NOT NULL,
    min_lon REAL NOT NULL, min_lat REAL NOT NULL, max_lon REAL NOT NULL, max_lat REAL NOT NULL,
    area_m2 REAL NOT NULL, source TEXT NOT NULL, imported_at TEXT NOT NULL);

-- Walk tracks: the open one's points as rows; a stopped track's filtered points packed in `points`.
CREATE TABLE tracks (id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, started_at TEXT NOT NULL,
    stopped_at TEXT, points BLOB, point_count INTEGER NOT NULL DEFAULT 0, length_m REAL NOT NULL DEFAULT 0,
    dropped TEXT NOT NULL DEFAULT '{}');
CREATE UNIQUE INDEX tracks_one_open ON tracks(stopped_at IS NULL) WHERE stopped_at IS NULL;
CREATE TABLE track_points (track_id TEXT NOT NULL REFERENCES tracks(id), seq INTEGER NOT NULL, lat REAL NOT NULL,
    lon REAL NOT NULL, at_ms INTEGER, accuracy_m REAL, PRIMARY KEY (track_id, seq));

-- Sync with the district office: the credential and pull position (cursor and the tally of events pulled
-- in scope), and reference data the office sent (the category table).
CREATE TABLE sync_state (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), server_url TEXT NOT NULL,
    token TEXT NOT NULL, epoch TEXT NOT NULL, cursor TEXT NOT NULL DEFAULT '', scope_count INTEGER NOT NULL DEFAULT 0,
    scope_sum INTEGER NOT NULL DEFAULT 0, reference_version TEXT NOT NULL DEFAULT '', enrolled_at TEXT NOT NULL,
    last_sync_at TEXT, last_error TEXT);
CREATE TABLE reference_data (kind TEXT PRIMARY KEY, version TEXT NOT NULL, body TEXT NOT NULL);
