//! Walk tracks in the ledger: start, add fixes, stop (filter and pack), import GPX, and per-village
//! coverage against the boundaries.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Ledger;
use crate::domain::validate::{self, Location, MAX_NAME_CHARS};
use crate::geo::track::{self, Coverage, Dropped, TrackFilter, TrackPoint};
use crate::ids::TrackId;
use crate::{RectifyError, Result};

/// Largest GPX file accepted.
pub const MAX_GPX_BYTES: u64 = 64 * 1024 * 1024;

/// A track as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackSummary {
    pub id: TrackId,
    pub name: String,
    /// `recorded` or `gpx`.
    pub source: String,
    pub started_at: String,
    /// `None` while it is being recorded.
    pub stopped_at: Option<String>,
    pub points: u64,
    pub length_m: f64,
    pub dropped: Dropped,
    /// Bytes of the packed points.
    pub stored_bytes: u64,
}

/// A track with its coverage of each village it enters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackDetail {
    #[serde(flatten)]
    pub summary: TrackSummary,
    pub villages: Vec<VillageCoverage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageCoverage {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub coverage: Coverage,
}

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, TrackSummary)> {
    let id: String = row.get(0)?;
    let dropped: String = row.get(8)?;
    let bytes: Option<Vec<u8>> = row.get(5)?;
    Ok((
        id.clone(),
        TrackSummary {
            id: id.parse().unwrap_or_default(),
            name: row.get(1)?,
            source: row.get(2)?,
            started_at: row.get(3)?,
            stopped_at: row.get(4)?,
            points: u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
            length_m: row.get(7)?,
            dropped: serde_json::from_str(&dropped).unwrap_or_default(),
            stored_bytes: bytes.map_or(0, |bytes| bytes.len() as u64),
        },
    ))
}

const SUMMARY_COLUMNS: &str = "id, name, source, started_at, stopped_at, points, point_count, length_m, dropped";

impl Ledger {
    /// Starts recording a walk. Only one track records at a time.
    pub fn start_track(&self, name: &str) -> Result<TrackSummary> {
        let name = validate::text("track name", name, MAX_NAME_CHARS)?;
        let now = self.now().to_rfc3339();
        let id = TrackId::new();
        self.store.write(|tx| {
            let open: Option<String> =
                tx.query_row("SELECT name FROM tracks WHERE stopped_at IS NULL", [], |row| row.get(0)).optional()?;
            if let Some(open) = open {
                return Err(RectifyError::IllegalTransition {
                    reason: format!("track \"{open}\" is still recording: stop it with `rectify track stop` first"),
                });
            }
            tx.execute(
                "INSERT INTO tracks (id, name, source, started_at) VALUES (?1, ?2, 'recorded', ?3)",
                params![id.to_string(), name, now],
            )?;
            Ok(())
        })?;
        self.track(id).map(|detail| detail.summary)
    }

    /// Adds a fix to the track being recorded; returns how many fixes it has.
    pub fn add_track_point(&self, point: TrackPoint) -> Result<u64> {
        Location::new(point.lat, point.lon, point.accuracy_m)?;
        self.store.write(|tx| {
            let id = open_track(tx)?.ok_or_else(|| RectifyError::IllegalTransition {
                reason: "no track is recording: start one with `rectify track start`".into(),
            })?;
            let next: i64 =
                tx.query_row("SELECT count(*) FROM track_points WHERE track_id = ?1", [&id], |row| row.get(0))?;
            tx.execute(
                "INSERT INTO track_points (track_id, seq, lat, lon, at_ms, accuracy_m) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, next, point.lat, point.lon, point.at.map(|at| at.timestamp_millis()), point.accuracy_m],
            )?;
            Ok(u64::try_from(next + 1).unwrap_or(0))
        })
    }

    /// Stops the track being recorded: drops poor fixes and jumps, packs the rest.
    pub fn stop_track(&self) -> Result<TrackSummary> {
        let now = self.now().to_rfc3339();
        let id = self.store.write(|tx| {
            let id = open_track(tx)?
                .ok_or_else(|| RectifyError::IllegalTransition { reason: "no track is recording".into() })?;
            let raw = recorded_points(tx, &id)?;
            let (kept, dropped) = track::filter(&raw, &TrackFilter::default());
            store_points(tx, &id, &kept, &dropped, &now)?;
            tx.execute("DELETE FROM track_points WHERE track_id = ?1", [&id])?;
            Ok::<_, RectifyError>(id)
        })?;
        self.track(id.parse()?).map(|detail| detail.summary)
    }

    /// Imports the track (or route) of a GPX file as a stopped track, its points as given.
    pub fn import_gpx(&self, path: &Path, name: Option<&str>) -> Result<TrackSummary> {
        let text = super::read_text(path, MAX_GPX_BYTES)?;
        let points =
            track::from_gpx(&text).map_err(|err| RectifyError::invalid(format!("{}: {err}", path.display())))?;
        let name = name.map(str::to_string).unwrap_or_else(|| {
            path.file_stem().map_or_else(|| "imported track".to_string(), |stem| stem.to_string_lossy().into_owned())
        });
        let name = validate::text("track name", &name, MAX_NAME_CHARS)?;
        let now = self.now().to_rfc3339();
        let started = points.iter().find_map(|point| point.at).map_or_else(|| now.clone(), |at| at.to_rfc3339());
        let stopped = points.iter().rev().find_map(|point| point.at).map_or_else(|| now.clone(), |at| at.to_rfc3339());
        let id = TrackId::new();
        self.store.write(|tx| {
            // Inserted stopped: a track being recorded meanwhile is the only open one.
            tx.execute(
                "INSERT INTO tracks (id, name, source, started_at, stopped_at) VALUES (?1, ?2, 'gpx', ?3, ?4)",
                params![id.to_string(), name, started, stopped],
            )?;
            store_points(tx, &id.to_string(), &points, &Dropped::default(), &stopped)?;
            Ok::<_, RectifyError>(())
        })?;
        self.track(id).map(|detail| detail.summary)
    }

    /// Every track, newest first.
    pub fn tracks(&self) -> Result<Vec<TrackSummary>> {
        self.store.read(|conn| {
            let mut statement =
                conn.prepare(&format!("SELECT {SUMMARY_COLUMNS} FROM tracks ORDER BY started_at DESC"))?;
            let rows = statement.query_map([], summary)?;
            Ok(rows.map(|row| row.map(|(_, summary)| summary)).collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The points of a track (for one being recorded, the fixes so far, unfiltered).
    pub fn track_points(&self, id: TrackId) -> Result<Vec<TrackPoint>> {
        self.store.read(|conn| {
            let packed: Option<Option<Vec<u8>>> = conn
                .query_row("SELECT points FROM tracks WHERE id = ?1", [id.to_string()], |row| row.get(0))
                .optional()?;
            match packed {
                None => Err(RectifyError::not_found(format!("no track {id} on this device"))),
                Some(Some(bytes)) => track::decode(&bytes)
                    .ok_or_else(|| RectifyError::Storage { reason: format!("track {id}'s points are damaged") }),
                Some(None) => Ok(recorded_points(conn, &id.to_string())?),
            }
        })
    }

    /// A track, and how well it covers each village it enters (`reach_m`: how far either side of the line
    /// counts as seen).
    pub fn track_coverage(&self, id: TrackId, reach_m: f64) -> Result<TrackDetail> {
        if !(reach_m.is_finite() && reach_m > 0.0 && reach_m <= 1000.0) {
            return Err(RectifyError::invalid(format!("reach {reach_m} m is not between 0 and 1000 m")));
        }
        let detail = self.track(id)?;
        let points = self.track_points(id)?;
        let map = self.store.read(|conn| self.village_map(conn))?;
        let index = map.index();
        let mut entered: Vec<usize> =
            points.iter().filter_map(|point| index.containing(point.lat, point.lon)).collect();
        entered.sort_unstable();
        entered.dedup();
        let villages = entered
            .into_iter()
            .map(|which| {
                let boundary = &index.boundaries()[which];
                VillageCoverage {
                    code: boundary.code.clone(),
                    name: boundary.name.clone(),
                    coverage: track::coverage(&points, index, which, reach_m),
                }
            })
            .collect();
        Ok(TrackDetail { villages, ..detail })
    }

    fn track(&self, id: TrackId) -> Result<TrackDetail> {
        let found = self.store.read(|conn| {
            Ok::<_, RectifyError>(
                conn.query_row(
                    &format!("SELECT {SUMMARY_COLUMNS} FROM tracks WHERE id = ?1"),
                    [id.to_string()],
                    summary,
                )
                .optional()?,
            )
        })?;
        let (_, mut summary) = found.ok_or_else(|| RectifyError::not_found(format!("no track {id} on this device")))?;
        if summary.stopped_at.is_none() {
            let points = self.track_points(id)?;
            summary.points = points.len() as u64;
            summary.length_m = track::length_m(&points);
        }
        Ok(TrackDetail { summary, villages: Vec::new() })
    }
}

fn store_points(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    points: &[TrackPoint],
    dropped: &Dropped,
    stopped_at: &str,
) -> Result<()> {
    let dropped = serde_json::to_string(dropped).map_err(|err| RectifyError::Storage { reason: err.to_string() })?;
    tx.execute(
        "UPDATE tracks SET points = ?2, point_count = ?3, length_m = ?4, dropped = ?5, stopped_at = ?6 WHERE id = ?1",
        params![id, track::encode(points), points.len() as i64, track::length_m(points), dropped, stopped_at],
    )?;
    Ok(())
}

/// The fixes of the track being recorded, in order.
fn recorded_points(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Vec<TrackPoint>> {
    conn.prepare_cached("SELECT lat, lon, at_ms, accuracy_m FROM track_points WHERE track_id = ?1 ORDER BY seq")?
        .query_map([id], |row| {
            Ok(TrackPoint {
                lat: row.get(0)?,
                lon: row.get(1)?,
                at: row.get::<_, Option<i64>>(2)?.and_then(DateTime::<Utc>::from_timestamp_millis),
                accuracy_m: row.get(3)?,
                new_segment: false,
            })
        })?
        .collect()
}

/// The id of the track being recorded, if any.
fn open_track(conn: &rusqlite::Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT id FROM tracks WHERE stopped_at IS NULL", [], |row| row.get(0)).optional()
}
