//! The device's side of sync as stored: its credential, where its pull stands (cursor and the tally of
//! what it holds in scope), and the office's verdicts and sequence numbers on its events. Every change
//! here happens in the same transaction as the data it describes, so a crash can never leave the cursor
//! ahead of the events it covers.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{parse_json, to_json};
use crate::domain::event::{Event, Verdict};
use crate::ids::{DeviceId, EventId, IssueId};
use crate::sync::wire::ScopeTally;

/// The device's enrollment and pull position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub server_url: String,
    pub token: String,
    pub epoch: String,
    /// The office's opaque cursor; empty before the first page.
    pub cursor: String,
    /// What the device holds of its scope, as of `cursor`.
    pub tally: ScopeTally,
    pub reference_version: String,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
}

pub fn load(conn: &Connection) -> rusqlite::Result<Option<SyncState>> {
    conn.query_row(
        "SELECT server_url, token, epoch, cursor, scope_count, scope_sum, reference_version, last_sync_at, last_error
         FROM sync_state WHERE singleton = 1",
        [],
        |row| {
            Ok(SyncState {
                server_url: row.get(0)?,
                token: row.get(1)?,
                epoch: row.get(2)?,
                cursor: row.get(3)?,
                tally: ScopeTally { count: row.get::<_, i64>(4)? as u64, sum: row.get::<_, i64>(5)? as u64 },
                reference_version: row.get(6)?,
                last_sync_at: row.get(7)?,
                last_error: row.get(8)?,
            })
        },
    )
    .optional()
}

/// Records a fresh enrollment: the office, the token, the office's epoch; the pull starts from zero.
pub fn save_enrollment(tx: &Transaction<'_>, url: &str, token: &str, epoch: &str, now: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO sync_state (singleton, server_url, token, epoch, enrolled_at) VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (singleton) DO UPDATE SET server_url = ?1, token = ?2, epoch = ?3, enrolled_at = ?4,
             last_error = NULL",
        params![url, token, epoch, now],
    )?;
    Ok(())
}

/// Moves the pull position; called in the transaction that applied the page.
pub fn save_position(tx: &Transaction<'_>, cursor: &str, tally: ScopeTally) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE sync_state SET cursor = ?1, scope_count = ?2, scope_sum = ?3 WHERE singleton = 1")?
        .execute(params![cursor, tally.count as i64, tally.sum as i64])?;
    Ok(())
}

/// Starts the pull again from zero under `epoch`: the office was replaced, or what the device holds does not
/// match what the office says it sent. The office's numbers are forgotten (the pull brings them back);
/// events and verdicts stay.
pub fn restart_pull(tx: &Transaction<'_>, epoch: &str) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sync_state SET epoch = ?1, cursor = '', scope_count = 0, scope_sum = 0 WHERE singleton = 1",
        [epoch],
    )?;
    tx.execute("UPDATE events SET server_seq = NULL WHERE server_seq IS NOT NULL", [])?;
    Ok(())
}

/// Forgets what the device learnt from another office (enrolled anew elsewhere): position, reference
/// version and numbers.
pub fn forget_office(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute("UPDATE sync_state SET reference_version = '' WHERE singleton = 1", [])?;
    restart_pull(tx, "")
}

/// Gives this device's unacknowledged events new numbers from `first` on, in their order: the office already
/// judged other events under their numbers (the device's database was restored from an older copy).
/// Returns the next free number.
pub fn renumber_pending(tx: &Transaction<'_>, first: u64) -> rusqlite::Result<u64> {
    let pending: Vec<(i64, String)> = tx
        .prepare("SELECT device_seq, event_id FROM outbox ORDER BY device_seq")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    tx.execute("DELETE FROM outbox", [])?;
    // Park them out of the way first, so no intermediate number collides with another event's.
    for (index, (_, event)) in pending.iter().enumerate() {
        tx.execute("UPDATE events SET device_seq = ?2 WHERE event_id = ?1", params![event, -1 - index as i64])?;
    }
    let mut next = first;
    for (_, event) in &pending {
        tx.execute("UPDATE events SET device_seq = ?2 WHERE event_id = ?1", params![event, next as i64])?;
        tx.execute("INSERT INTO outbox (device_seq, event_id) VALUES (?1, ?2)", params![next as i64, event])?;
        next += 1;
    }
    Ok(next)
}

pub fn set_reference_version(tx: &Transaction<'_>, version: &str) -> rusqlite::Result<()> {
    tx.execute("UPDATE sync_state SET reference_version = ?1 WHERE singleton = 1", [version])?;
    Ok(())
}

/// Notes how the last sync ended.
pub fn save_outcome(tx: &Transaction<'_>, at: &str, error: Option<&str>) -> rusqlite::Result<()> {
    tx.execute("UPDATE sync_state SET last_sync_at = ?1, last_error = ?2 WHERE singleton = 1", params![at, error])?;
    Ok(())
}

/// Records the office's sequence number and verdict on one of this device's events and takes it off the
/// outbox. Returns the event's issue, or `None` when the device does not hold the event.
pub fn acknowledge(
    tx: &Transaction<'_>,
    event_id: EventId,
    server_seq: Option<u64>,
    verdict: &Verdict,
) -> rusqlite::Result<Option<IssueId>> {
    let id = event_id.to_string();
    let issue: Option<String> = tx
        .prepare_cached(
            "UPDATE events SET server_seq = coalesce(server_seq, ?2), verdict = ?3 WHERE event_id = ?1 RETURNING issue_id",
        )?
        .query_row(params![id, server_seq.map(|seq| seq as i64), to_json(verdict)?], |row| row.get(0))
        .optional()?;
    tx.prepare_cached("DELETE FROM outbox WHERE event_id = ?1")?.execute([&id])?;
    Ok(issue.and_then(|issue| issue.parse().ok()))
}

/// What storing a pulled event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    /// New to the device.
    Stored,
    /// Held already without the office's number (this device's own event): it now has it.
    Numbered,
    /// Held already under the same number.
    Known,
    /// Held under another number: the office renumbered its ledger without announcing a new epoch.
    Renumbered,
}

/// Stores a pulled event, or fills in the sequence number and verdict of a copy the device already holds.
pub fn store_pulled(tx: &Transaction<'_>, event: &Event) -> rusqlite::Result<Pulled> {
    if super::events::insert_new(tx, event)? {
        return Ok(Pulled::Stored);
    }
    let id = event.event_id.to_string();
    let held: Option<i64> =
        tx.prepare_cached("SELECT server_seq FROM events WHERE event_id = ?1")?.query_row([&id], |row| row.get(0))?;
    match held {
        Some(seq) if Some(seq as u64) == event.server_seq => Ok(Pulled::Known),
        Some(_) => Ok(Pulled::Renumbered),
        None => {
            let verdict = event.verdict.as_ref().map(to_json).transpose()?;
            tx.prepare_cached("UPDATE events SET server_seq = ?2, verdict = ?3 WHERE event_id = ?1")?
                .execute(params![id, event.server_seq.map(|seq| seq as i64), verdict])?;
            tx.prepare_cached("DELETE FROM outbox WHERE event_id = ?1")?.execute([&id])?;
            Ok(Pulled::Numbered)
        }
    }
}

/// Puts this device's events from `from_seq` on back in the outbox, forgetting their sequence numbers:
/// the office has lost them (restored from a backup) or asked for them again. Returns the issues touched.
pub fn requeue_from(tx: &Transaction<'_>, device: DeviceId, from_seq: u64) -> rusqlite::Result<Vec<IssueId>> {
    let device = device.to_string();
    tx.execute(
        "INSERT OR IGNORE INTO outbox (device_seq, event_id)
         SELECT device_seq, event_id FROM events WHERE device_id = ?1 AND device_seq >= ?2",
        params![device, from_seq as i64],
    )?;
    let mut statement = tx.prepare(
        "UPDATE events SET server_seq = NULL, verdict = NULL WHERE device_id = ?1 AND device_seq >= ?2
         RETURNING issue_id",
    )?;
    let issues = statement
        .query_map(params![device, from_seq as i64], |row| row.get::<_, String>(0))?
        .filter_map(|issue| issue.ok().and_then(|issue| issue.parse().ok()))
        .collect();
    Ok(issues)
}

/// The highest of this device's device_seq the office has acknowledged, as far as the device knows.
pub fn acked_through(conn: &Connection, next_device_seq: u64) -> rusqlite::Result<u64> {
    let first_pending: Option<i64> = conn.query_row("SELECT min(device_seq) FROM outbox", [], |row| row.get(0))?;
    Ok(first_pending.map_or(next_device_seq.saturating_sub(1), |seq| (seq as u64).saturating_sub(1)))
}

/// The reference data of one kind the office sent, with its version.
pub fn reference(conn: &Connection, kind: &str) -> rusqlite::Result<Option<(String, serde_json::Value)>> {
    let row: Option<(String, String)> = conn
        .query_row("SELECT version, body FROM reference_data WHERE kind = ?1", [kind], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    row.map(|(version, body)| Ok((version, parse_json(&body)?))).transpose()
}

pub fn save_reference(
    tx: &Transaction<'_>,
    kind: &str,
    version: &str,
    body: &serde_json::Value,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO reference_data (kind, version, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind) DO UPDATE SET version = ?2, body = ?3",
        params![kind, version, body.to_string()],
    )?;
    Ok(())
}
