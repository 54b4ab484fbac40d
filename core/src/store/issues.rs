//! The materialised issue state: one row per issue, rewritten in the same transaction as each event that
//! changes it, with the columns the lists filter and sort on. The full folded state is kept as JSON.

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use serde::Serialize;

use super::{parse_id, parse_json, to_json};
use crate::domain::issue::{IssueState, Status};
use crate::ids::{IssueId, VillageId};

pub fn load_state(conn: &Connection, id: IssueId) -> rusqlite::Result<Option<IssueState>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT state FROM issues WHERE id = ?1")?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?;
    text.map(|text| parse_json(&text)).transpose()
}

pub fn save_state(tx: &Transaction<'_>, state: &IssueState) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO issues (id, village_id, category, status, deadline_ms, reported_ms, rework_count, note, lat, lon,
             state, accepted_ms, withdrawn_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET village_id = ?2, category = ?3, status = ?4, deadline_ms = ?5,
             reported_ms = ?6, rework_count = ?7, note = ?8, lat = ?9, lon = ?10, state = ?11, accepted_ms = ?12,
             withdrawn_ms = ?13",
    )?
    .execute(params![
        state.id.to_string(),
        state.village_id.to_string(),
        state.category,
        state.status.as_str(),
        state.deadline.timestamp_millis(),
        state.reported.at.timestamp_millis(),
        state.rework_count,
        state.note,
        state.location.lat,
        state.location.lon,
        to_json(state)?,
        state.accepted.as_ref().map(|stamp| stamp.at.timestamp_millis()),
        state.withdrawn.as_ref().map(|(stamp, _)| stamp.at.timestamp_millis()),
    ])?;
    Ok(())
}

/// Folds the `touched` issues again from every event held: the state is rewritten, or forgotten when no
/// report stands among the events (the office refused it).
pub fn refold(tx: &Transaction<'_>, touched: impl IntoIterator<Item = IssueId>) -> rusqlite::Result<()> {
    let unique: std::collections::BTreeSet<IssueId> = touched.into_iter().collect();
    for issue in unique {
        let history = super::events::for_issue(tx, issue)?;
        match IssueState::fold(&history) {
            Some(state) => save_state(tx, &state)?,
            None => delete_state(tx, issue)?,
        }
    }
    Ok(())
}

/// Folds every issue again, as after a change to how events fold (a migration step) or to their order.
pub fn refold_all(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let all: Vec<IssueId> = tx
        .prepare("SELECT DISTINCT issue_id FROM events")?
        .query_map([], |row| row.get::<_, String>(0))?
        .filter_map(|id| id.ok().and_then(|id| id.parse().ok()))
        .collect();
    refold(tx, all)
}

/// Forgets an issue's state (its report was refused by the office); its events stay.
pub fn delete_state(tx: &Transaction<'_>, id: IssueId) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM issues WHERE id = ?1")?.execute([id.to_string()])?;
    Ok(())
}

/// One line of a list: what a person scans to decide what to look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueSummary {
    pub id: IssueId,
    pub village_id: VillageId,
    /// The village's current statistical code.
    pub village: String,
    pub village_name: String,
    pub category: String,
    pub status: Status,
    pub deadline: DateTime<Utc>,
    pub reported_at: DateTime<Utc>,
    pub overdue: bool,
    pub rework_count: u32,
    pub note: Option<String>,
    pub lat: f64,
    pub lon: f64,
    /// Events of the issue the office has not sequenced yet (this device's pending ones).
    pub unsynced_events: u32,
    /// Events of the issue the office refused.
    pub refused_events: u32,
}

impl IssueSummary {
    /// The issue's sync state in a word or two: `synced`, `pending N`, `refused N`.
    pub fn sync_state(&self) -> String {
        match (self.unsynced_events, self.refused_events) {
            (0, 0) => "synced".to_string(),
            (0, refused) => format!("refused {refused}"),
            (pending, 0) => format!("pending {pending}"),
            (pending, refused) => format!("pending {pending}, refused {refused}"),
        }
    }
}

/// Which issues a list shows. Empty vectors mean "any".
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub villages: Vec<VillageId>,
    pub statuses: Vec<Status>,
    /// Only issues whose deadline passed before this time (and still on the negative list).
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only this problem type.
    pub category: Option<String>,
    /// Only issues inside this box: (south, west, north, east) in degrees.
    pub within: Option<(f64, f64, f64, f64)>,
}

/// Issues matching `filter`, soonest deadline first. `now` decides the `overdue` flag.
pub fn list(conn: &Connection, filter: &IssueFilter, now: DateTime<Utc>) -> rusqlite::Result<Vec<IssueSummary>> {
    let mut sql = String::from(
        "SELECT i.id, i.village_id, c.code, v.name, i.category, i.status, i.deadline_ms, i.reported_ms,
                i.rework_count, i.note, i.lat, i.lon,
                -- The unary + keeps SQLite on events_issue: on its own it would pick the server_seq index
                -- and walk every pending event once per issue, quadratic on a phone that was offline.
                (SELECT count(*) FROM events e WHERE e.issue_id = i.id AND +e.server_seq IS NULL),
                (SELECT count(*) FROM events e WHERE e.issue_id = i.id AND json_extract(e.verdict, '$.verdict') = 'refused')
         FROM issues i
         JOIN villages v ON v.id = i.village_id
         JOIN village_codes c ON c.village_id = v.id
              AND c.position = (SELECT max(position) FROM village_codes WHERE village_id = v.id)
         WHERE 1 = 1",
    );
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut any_of = |sql: &mut String, column: &str, items: Vec<String>| {
        if !items.is_empty() {
            sql.push_str(&format!(" AND {column} IN ({})", vec!["?"; items.len()].join(", ")));
            values.extend(items.into_iter().map(rusqlite::types::Value::Text));
        }
    };
    any_of(&mut sql, "i.village_id", filter.villages.iter().map(ToString::to_string).collect());
    let mut statuses = filter.statuses.clone();
    if filter.overdue_at.is_some() {
        if statuses.is_empty() {
            statuses = Status::ALL.into_iter().filter(|status| status.on_negative_list()).collect();
        }
        statuses.retain(|status| status.on_negative_list());
    }
    any_of(&mut sql, "i.status", statuses.iter().map(|status| status.as_str().to_string()).collect());
    any_of(&mut sql, "i.category", filter.category.iter().cloned().collect());
    if let Some((south, west, north, east)) = filter.within {
        sql.push_str(" AND i.lat BETWEEN ? AND ? AND i.lon BETWEEN ? AND ?");
        values.extend([south, north, west, east].map(rusqlite::types::Value::Real));
    }
    if let Some(at) = filter.overdue_at {
        sql.push_str(" AND i.deadline_ms < ?");
        values.push(rusqlite::types::Value::Integer(at.timestamp_millis()));
    }
    sql.push_str(" ORDER BY i.deadline_ms, i.id");
    let millis = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(values), |row| {
        let status: Status = parse_id(&row.get::<_, String>(5)?, "status")?;
        let deadline = millis(row.get(6)?);
        Ok(IssueSummary {
            id: parse_id(&row.get::<_, String>(0)?, "issue id")?,
            village_id: parse_id(&row.get::<_, String>(1)?, "village id")?,
            village: row.get(2)?,
            village_name: row.get(3)?,
            category: row.get(4)?,
            status,
            deadline,
            reported_at: millis(row.get(7)?),
            overdue: status.on_negative_list() && now > deadline,
            rework_count: row.get(8)?,
            note: row.get(9)?,
            lat: row.get(10)?,
            lon: row.get(11)?,
            unsynced_events: row.get(12)?,
            refused_events: row.get(13)?,
        })
    })?;
    rows.collect()
}

/// How many of a village's issues are in each status.
pub fn status_counts(conn: &Connection, village: VillageId) -> rusqlite::Result<Vec<(Status, u32)>> {
    conn.prepare_cached("SELECT status, count(*) FROM issues WHERE village_id = ?1 GROUP BY status")?
        .query_map([village.to_string()], |row| Ok((parse_id(&row.get::<_, String>(0)?, "status")?, row.get(1)?)))?
        .collect()
}
