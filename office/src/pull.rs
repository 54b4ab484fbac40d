//! What devices receive: pages of the office's ledger in server_seq order, limited to the device's scope
//! (from its credential, never from the request), each with the tally of everything in scope up to the
//! page's end; and the reference data a device needs to work offline.

use rectify_core::domain::category::Catalogue;
use rectify_core::domain::photo::PhotoHash;
use rectify_core::ids::VillageId;
use rectify_core::store::{boundaries, events, places};
use rectify_core::sync::wire::{BoundaryRecord, Cursor, PhotoManifest, PullPage, ReferenceData, ScopeTally};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::sequencer::head;
use crate::{Credential, Office, OfficeError};

/// The reference data as last built, and the places fingerprint it was built from.
#[derive(Debug)]
pub(crate) struct ReferenceCache {
    fingerprint: String,
    version: String,
    body: std::sync::Arc<Vec<u8>>,
}

/// One issue as the office sees it, for admins and checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueRow {
    pub id: String,
    pub village: String,
    pub village_name: String,
    pub category: String,
    pub status: String,
    pub rework_count: u32,
    /// The server_seq of the issue's newest event.
    pub last_server_seq: u64,
    pub event_count: u32,
}

impl Office {
    /// One page after `cursor` (empty for the start) of at most `limit` events.
    pub fn pull(&self, credential: &Credential, cursor: &str, limit: usize) -> Result<PullPage, OfficeError> {
        let after = if cursor.is_empty() {
            0
        } else {
            let cursor = Cursor::decode(cursor)
                .ok_or_else(|| OfficeError::invalid(format!("`{cursor}` is not a cursor this office issued")))?;
            if cursor.epoch != self.epoch {
                return Err(OfficeError::Conflict(format!(
                    "the cursor belongs to epoch {}; the office is now at epoch {}: pull again from the start",
                    cursor.epoch, self.epoch
                )));
            }
            cursor.through
        };
        let limit = limit.clamp(1, self.limits.max_pull_events);
        let scope = credential.scope();
        self.store().read(|conn| {
            let head = head(conn)?;
            if after > head {
                return Err(OfficeError::Conflict(format!(
                    "the cursor is ahead of the office's ledger ({after} > {head}); pull again from the start"
                )));
            }
            let mut page = page_events(conn, scope, after, limit + 1)?;
            let more = page.len() > limit;
            page.truncate(limit);
            let through = match (more, page.last()) {
                (true, Some(last)) => last.server_seq.unwrap_or(head),
                _ => head,
            };
            let scope_tally = tally(conn, scope, through)?;
            let photos = manifests(conn, page.iter().flat_map(|event| event.photos.iter()))?;
            Ok(PullPage {
                epoch: self.epoch.clone(),
                events: page,
                photos,
                cursor: Cursor { epoch: self.epoch.clone(), through }.encode(),
                through,
                scope: scope_tally,
                more,
            })
        })
    }

    /// The reference data as JSON, and its version; rebuilt only when the places changed.
    pub fn reference(&self) -> Result<(String, std::sync::Arc<Vec<u8>>), OfficeError> {
        let fingerprint = self.store().read(places::fingerprint)?;
        let mut cache = self.reference.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(cached) = cache.as_ref().filter(|cached| cached.fingerprint == fingerprint) {
            return Ok((cached.version.clone(), cached.body.clone()));
        }
        let (towns, zones, villages, shapes) = self.store().read(|conn| {
            let (towns, zones) = places::towns_and_zones(conn)?;
            Ok::<_, rusqlite::Error>((towns, zones, places::villages(conn)?, boundaries::all(conn)?))
        })?;
        let catalogue = serde_json::to_value(Catalogue::builtin())
            .map_err(|err| OfficeError::Internal(format!("cannot encode the category table: {err}")))?;
        let boundaries = shapes
            .iter()
            .map(|shape| BoundaryRecord {
                village_id: shape.village_id,
                geometry: boundaries::to_geojson(&shape.shape),
                area_m2: shape.area_m2,
                source: "office".to_string(),
            })
            .collect();
        let mut data = ReferenceData { version: String::new(), towns, zones, villages, boundaries, catalogue };
        let unversioned = serde_json::to_vec(&data).map_err(|err| OfficeError::Internal(err.to_string()))?;
        let version: String = Sha256::digest(&unversioned).iter().take(8).map(|byte| format!("{byte:02x}")).collect();
        data.version = version.clone();
        let body =
            std::sync::Arc::new(serde_json::to_vec(&data).map_err(|err| OfficeError::Internal(err.to_string()))?);
        *cache = Some(ReferenceCache { fingerprint, version: version.clone(), body: body.clone() });
        Ok((version, body))
    }

    /// Every issue the office holds, by village code then id.
    pub fn issues(&self) -> Result<Vec<IssueRow>, OfficeError> {
        self.store().read(|conn| {
            let mut statement = conn.prepare(
                "SELECT i.id, coalesce((SELECT code FROM village_codes c WHERE c.village_id = i.village_id
                                         ORDER BY position DESC LIMIT 1), ''),
                        v.name, i.category, i.status, i.rework_count,
                        (SELECT max(server_seq) FROM events e WHERE e.issue_id = i.id), i.state
                 FROM issues i JOIN villages v ON v.id = i.village_id ORDER BY 2, 1",
            )?;
            let rows = statement.query_map([], |row| {
                let state: String = row.get(7)?;
                let event_count = serde_json::from_str::<serde_json::Value>(&state)
                    .ok()
                    .and_then(|state| state["event_count"].as_u64())
                    .unwrap_or(0) as u32;
                Ok(IssueRow {
                    id: row.get(0)?,
                    village: row.get(1)?,
                    village_name: row.get(2)?,
                    category: row.get(3)?,
                    status: row.get(4)?,
                    rework_count: row.get(5)?,
                    last_server_seq: row.get::<_, Option<i64>>(6)?.unwrap_or(0) as u64,
                    event_count,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

fn page_events(
    conn: &Connection,
    scope: Option<&[VillageId]>,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<rectify_core::domain::event::Event>> {
    let columns = events::COLUMNS;
    match scope {
        None => conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM events WHERE server_seq > ?1 ORDER BY server_seq LIMIT ?2"
            ))?
            .query_map([after as i64, limit as i64], events::from_row)?
            .collect(),
        Some([]) => Ok(Vec::new()),
        Some(villages) => {
            let marks = vec!["?"; villages.len()].join(", ");
            let sql = format!(
                "SELECT {columns} FROM events WHERE server_seq IN (
                     SELECT server_seq FROM office_sequence WHERE village_id IN ({marks}) AND server_seq > ?
                     ORDER BY server_seq LIMIT ?)
                 ORDER BY server_seq"
            );
            use rusqlite::types::Value;
            let mut values: Vec<Value> = villages.iter().map(|village| Value::Text(village.to_string())).collect();
            values.push(Value::Integer(after as i64));
            values.push(Value::Integer(limit as i64));
            conn.prepare(&sql)?.query_map(params_from_iter(values), events::from_row)?.collect()
        }
    }
}

/// Everything in scope with server_seq up to `through`.
fn tally(conn: &Connection, scope: Option<&[VillageId]>, through: u64) -> rusqlite::Result<ScopeTally> {
    match scope {
        None => {
            let sum: Option<i64> = conn
                .prepare_cached(
                    "SELECT global_sum FROM office_sequence WHERE server_seq <= ?1 ORDER BY server_seq DESC LIMIT 1",
                )?
                .query_row([through as i64], |row| row.get(0))
                .optional()?;
            Ok(ScopeTally { count: through, sum: sum.unwrap_or(0) as u64 })
        }
        Some(villages) => {
            let mut total = ScopeTally::default();
            let mut statement = conn.prepare_cached(
                "SELECT village_count, village_sum FROM office_sequence WHERE village_id = ?1 AND server_seq <= ?2
                 ORDER BY server_seq DESC LIMIT 1",
            )?;
            for village in villages {
                let found: Option<(i64, i64)> = statement
                    .query_row(rusqlite::params![village.to_string(), through as i64], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .optional()?;
                if let Some((count, sum)) = found {
                    total.merge(ScopeTally { count: count as u64, sum: sum as u64 });
                }
            }
            Ok(total)
        }
    }
}

fn manifests<'a>(
    conn: &Connection,
    hashes: impl Iterator<Item = &'a PhotoHash>,
) -> rusqlite::Result<Vec<PhotoManifest>> {
    let mut statement =
        conn.prepare_cached("SELECT manifest FROM office_photos WHERE hash = ?1 AND kind = 'evidence'")?;
    let mut found: Vec<PhotoManifest> = Vec::new();
    for hash in hashes {
        if found.iter().any(|known| &known.hash == hash) {
            continue;
        }
        let text: Option<Option<String>> = statement.query_row([hash.as_str()], |row| row.get(0)).optional()?;
        if let Some(manifest) = text.flatten().and_then(|text| serde_json::from_str(&text).ok()) {
            found.push(manifest);
        }
    }
    Ok(found)
}
