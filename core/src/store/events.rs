//! The append-only events table and the outbox. Rows are inserted, never updated (except the office's
//! verdict and sequence number, which sync records once) and never deleted.

use rusqlite::{Connection, Row, Transaction, params};

use super::{parse_id, parse_json, to_json};
use crate::clock::Hlc;
use crate::domain::event::{Event, EventBody, RawBody};
use crate::domain::photo::PhotoRole;
use crate::ids::IssueId;

/// The event columns, in the order [`from_row`] reads them.
pub const COLUMNS: &str = "event_id, issue_id, device_id, device_seq, author, kind, body_version, body, hlc, \
                       recorded_at, parents, photos, server_seq, verdict";

/// Stores one event and the links to the photos it brings.
pub fn insert(tx: &Transaction<'_>, event: &Event) -> rusqlite::Result<()> {
    insert_with(tx, event, "")?;
    Ok(())
}

/// Stores an event unless one with its id is already there; returns whether it was stored.
/// Only a clash of ids is expected: any other constraint (a device_seq or server_seq held by another
/// event) is an error, not a silent skip.
pub fn insert_new(tx: &Transaction<'_>, event: &Event) -> rusqlite::Result<bool> {
    insert_with(tx, event, "ON CONFLICT (event_id) DO NOTHING")
}

fn insert_with(tx: &Transaction<'_>, event: &Event, on_conflict: &str) -> rusqlite::Result<bool> {
    let sql = format!(
        "INSERT INTO events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) {on_conflict}"
    );
    let stored = tx.prepare_cached(&sql)?.execute(params![
        event.event_id.to_string(),
        event.issue_id.to_string(),
        event.device_id.to_string(),
        i64::try_from(event.device_seq).unwrap_or(i64::MAX),
        event.author.to_string(),
        event.body.kind(),
        event.body.version(),
        event.body.data_json(),
        i64::try_from(event.hlc.raw()).unwrap_or(i64::MAX),
        event.recorded_at.to_rfc3339(),
        to_json(&event.parents)?,
        to_json(&event.photos)?,
        event.server_seq.map(|seq| i64::try_from(seq).unwrap_or(i64::MAX)),
        event.verdict.as_ref().map(to_json).transpose()?,
    ])?;
    if stored == 0 {
        return Ok(false);
    }
    if event.photos.is_empty() {
        return Ok(true);
    }
    let role = PhotoRole::of(&event.body);
    let mut link =
        tx.prepare_cached("INSERT OR IGNORE INTO event_photos (event_id, hash, role) VALUES (?1, ?2, ?3)")?;
    for hash in &event.photos {
        link.execute(params![event.event_id.to_string(), hash.as_str(), to_json(&role)?.trim_matches('"')])?;
    }
    Ok(true)
}

/// Queues a local event for the office.
pub fn enqueue(tx: &Transaction<'_>, event: &Event) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO outbox (device_seq, event_id) VALUES (?1, ?2)")?
        .execute(params![i64::try_from(event.device_seq).unwrap_or(i64::MAX), event.event_id.to_string()])?;
    Ok(())
}

/// Reads an event from a row selected with [`COLUMNS`].
pub fn from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    let text = |index: usize| row.get::<_, String>(index);
    let body = EventBody::from_raw(RawBody { kind: text(5)?, version: row.get(6)?, data: parse_json(&text(7)?)? })
        .map_err(|err| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(err)))?;
    Ok(Event {
        event_id: parse_id(&text(0)?, "event_id")?,
        issue_id: parse_id(&text(1)?, "issue_id")?,
        device_id: parse_id(&text(2)?, "device_id")?,
        device_seq: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
        author: parse_id(&text(4)?, "author")?,
        body,
        hlc: Hlc::from_raw(u64::try_from(row.get::<_, i64>(8)?).unwrap_or(0)),
        recorded_at: chrono::DateTime::parse_from_rfc3339(&text(9)?)
            .map_err(|err| rusqlite::Error::FromSqlConversionFailure(9, rusqlite::types::Type::Text, Box::new(err)))?,
        parents: parse_json(&text(10)?)?,
        photos: parse_json(&text(11)?)?,
        server_seq: row.get::<_, Option<i64>>(12)?.map(|seq| u64::try_from(seq).unwrap_or(0)),
        verdict: row.get::<_, Option<String>>(13)?.map(|text| parse_json(&text)).transpose()?,
    })
}

/// Every stored event of an issue, in ledger order.
pub fn for_issue(conn: &Connection, issue: IssueId) -> rusqlite::Result<Vec<Event>> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE issue_id = ?1");
    let mut events =
        conn.prepare_cached(&sql)?.query_map([issue.to_string()], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    events.sort_by_key(Event::order_key);
    Ok(events)
}

/// Events waiting in the outbox, oldest first, at most `limit`.
pub fn pending(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Event>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events
         WHERE event_id IN (SELECT event_id FROM outbox ORDER BY device_seq LIMIT ?1) ORDER BY device_seq"
    );
    conn.prepare_cached(&sql)?.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], from_row)?.collect()
}

/// How many events wait for the office, and when the oldest was recorded.
pub fn outbox_summary(conn: &Connection) -> rusqlite::Result<(u64, Option<String>)> {
    conn.query_row(
        "SELECT count(*), min(e.recorded_at) FROM outbox o JOIN events e ON e.event_id = o.event_id",
        [],
        |row| Ok((u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0), row.get(1)?)),
    )
}
