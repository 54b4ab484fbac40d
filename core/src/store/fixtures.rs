//! Builders for databases as older releases wrote them, so every migration is tested against real
//! old-schema files with unsynced work in them. Each builder uses the SQL of its own version, written out
//! here, never the current code's, so that later schema changes cannot quietly change the fixture.

use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset};
use rusqlite::{Connection, params};

use super::StoreError;
use super::migrations::{STEPS, migrate_to};
use crate::clock::Hlc;
use crate::domain::event::{Event, EventBody, Reported, StrikeOffRequested};
use crate::domain::issue::IssueState;
use crate::domain::validate::Location;
use crate::ids::{DeviceId, EventId, IssueId, UserId, VillageId};

/// What a schema-version-1 fixture holds.
#[derive(Debug, Clone)]
pub struct V1Fixture {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub village_id: VillageId,
    pub village_code: String,
    pub issues: Vec<IssueId>,
    /// Every event, all still waiting in the outbox.
    pub pending: Vec<Event>,
}

/// Writes a version-1 database at `path`: a secretary's device with one village and `issues` issues, each
/// reported and struck off, none synced.
pub fn build_v1(path: &Path, issues: usize) -> Result<V1Fixture, StoreError> {
    assert!(!STEPS.is_empty());
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    migrate_to(&mut conn, 1)?;
    let start: DateTime<FixedOffset> = DateTime::parse_from_rfc3339("2026-11-02T09:00:00+08:00")
        .map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let fixture = V1Fixture {
        device_id: DeviceId::new(),
        user_id: UserId::new(),
        village_id: VillageId::new(),
        village_code: "370215400201".to_string(),
        issues: (0..issues).map(|_| IssueId::new()).collect(),
        pending: Vec::new(),
    };
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO villages (id, name, code, weak_base) VALUES (?1, '开元村 (fixture)', ?2, 0)",
        params![fixture.village_id.to_string(), fixture.village_code],
    )?;
    tx.execute("INSERT INTO device_villages (village_id) VALUES (?1)", [fixture.village_id.to_string()])?;
    tx.execute(
        "INSERT INTO users (id, name, role) VALUES (?1, 'fixture secretary', 'secretary')",
        [fixture.user_id.to_string()],
    )?;
    let mut pending = Vec::new();
    let mut hlc = Hlc::default();
    for (index, issue) in fixture.issues.iter().enumerate() {
        let at = start + Duration::minutes(index as i64);
        let reported = Event {
            event_id: EventId::new(),
            issue_id: *issue,
            device_id: fixture.device_id,
            device_seq: pending.len() as u64 + 1,
            author: fixture.user_id,
            body: EventBody::Reported(Reported {
                village_id: fixture.village_id,
                category: "waste.bin_overflowing".to_string(),
                location: Location { lat: 36.46, lon: 120.51, accuracy_m: Some(4.0) },
                note: Some(format!("fixture issue {index}")),
                deadline: (at + Duration::days(1)).to_utc(),
                catalogue_version: 1,
                placement: None,
            }),
            hlc: {
                hlc = hlc.tick(at);
                hlc
            },
            recorded_at: at,
            parents: Vec::new(),
            photos: Vec::new(),
            server_seq: None,
            verdict: None,
        };
        let struck = Event {
            event_id: EventId::new(),
            device_seq: reported.device_seq + 1,
            body: EventBody::StrikeOffRequested(StrikeOffRequested { note: Some("cleared".to_string()) }),
            hlc: {
                hlc = hlc.tick(at + Duration::seconds(30));
                hlc
            },
            recorded_at: at + Duration::seconds(30),
            parents: vec![reported.event_id],
            ..reported.clone()
        };
        for event in [&reported, &struck] {
            let raw = event.body.to_raw();
            tx.execute(
                "INSERT INTO events (event_id, issue_id, device_id, device_seq, author, kind, body_version, body, hlc,
                     recorded_at, parents, photos) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, '[]')",
                params![
                    event.event_id.to_string(),
                    event.issue_id.to_string(),
                    event.device_id.to_string(),
                    event.device_seq as i64,
                    event.author.to_string(),
                    raw.kind,
                    raw.version,
                    raw.data.to_string(),
                    event.hlc.raw() as i64,
                    event.recorded_at.to_rfc3339(),
                    serde_json::to_string(&event.parents).unwrap_or_default(),
                ],
            )?;
            tx.execute(
                "INSERT INTO outbox (device_seq, event_id) VALUES (?1, ?2)",
                params![event.device_seq as i64, event.event_id.to_string()],
            )?;
        }
        let state = IssueState::fold([&reported, &struck]).ok_or_else(|| StoreError::Corrupt("fixture fold".into()))?;
        tx.execute(
            "INSERT INTO issues (id, village_id, category, status, deadline_ms, reported_ms, rework_count, note, lat, lon, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10)",
            params![
                issue.to_string(),
                fixture.village_id.to_string(),
                state.category,
                state.status.as_str(),
                state.deadline.timestamp_millis(),
                state.reported.at.timestamp_millis(),
                state.note,
                state.location.lat,
                state.location.lon,
                serde_json::to_string(&state).unwrap_or_default(),
            ],
        )?;
        pending.push(reported);
        pending.push(struck);
    }
    tx.execute(
        "INSERT INTO device (singleton, device_id, user_id, user_name, role, next_device_seq, last_hlc, created_at)
         VALUES (1, ?1, ?2, 'fixture secretary', 'secretary', ?3, ?4, ?5)",
        params![
            fixture.device_id.to_string(),
            fixture.user_id.to_string(),
            pending.len() as i64 + 1,
            hlc.raw() as i64,
            start.to_rfc3339()
        ],
    )?;
    tx.commit()?;
    Ok(V1Fixture { pending, ..fixture })
}

/// Rewrites a closed database as release 6 (schema version 6) would have left it after the same events:
/// issue states without what the version-7 fold adds (the edit behind each field, and the conflicts of
/// edits replaced without being seen), no acceptance and withdrawal times, and `user_version` 6. Opening it again runs the version-7 step on
/// whatever unsynced work, cursor and photos it holds; the simulation does this in the middle of a run.
pub fn as_release_6(path: &Path) -> Result<(), StoreError> {
    let mut conn = Connection::open(path)?;
    let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version == 6 {
        // Not opened by the new build since the last rewrite: already as release 6 left it.
        return Ok(());
    }
    if version != 7 {
        return Err(StoreError::Corrupt(format!("as_release_6 needs a version-7 file, not version {version}")));
    }
    let tx = conn.transaction()?;
    let states: Vec<(String, String)> = tx
        .prepare("SELECT id, state FROM issues")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, state) in states {
        let mut value: serde_json::Value =
            serde_json::from_str(&state).map_err(|err| StoreError::Corrupt(format!("issue {id}: {err}")))?;
        if let Some(object) = value.as_object_mut() {
            object.remove("last_edits");
            if let Some(serde_json::Value::Array(conflicts)) = object.get_mut("conflicts") {
                conflicts.retain(|conflict| conflict.get("superseded_by").is_none());
            }
        }
        tx.execute("UPDATE issues SET state = ?1 WHERE id = ?2", params![value.to_string(), id])?;
    }
    tx.execute_batch(
        "DROP INDEX issues_scoring; ALTER TABLE issues DROP COLUMN accepted_ms; ALTER TABLE issues DROP COLUMN withdrawn_ms;",
    )?;
    tx.pragma_update(None, "user_version", 6)?;
    tx.commit()?;
    Ok(())
}
