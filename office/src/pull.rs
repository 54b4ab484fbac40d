//! What devices receive: pages of the office's ledger in server_seq order, limited to the device's scope
//! (from its credential, never from the request), each with the tally of everything in scope up to the
//! page's end; and the reference data a device needs to work offline.

use rectify_core::sync::wire::{Cursor, PullPage};
use serde::Serialize;

use crate::{Credential, Office, OfficeError};

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
            if cursor.epoch != self.epoch() {
                return Err(OfficeError::Conflict(format!(
                    "the cursor belongs to epoch {}; the office is now at epoch {}: pull again from the start",
                    cursor.epoch,
                    self.epoch()
                )));
            }
            cursor.through
        };
        let limit = limit.clamp(1, self.limits.max_pull_events);
        let page = self.backend().pull(credential.scope(), after, limit)?;
        Ok(PullPage {
            epoch: self.epoch().to_string(),
            events: page.events,
            photos: page.photos,
            cursor: Cursor { epoch: self.epoch().to_string(), through: page.through }.encode(),
            through: page.through,
            scope: page.scope,
            more: page.more,
        })
    }

    /// The reference data as JSON, and its version; rebuilt only when the places changed.
    pub fn reference(&self) -> Result<(String, std::sync::Arc<Vec<u8>>), OfficeError> {
        self.backend().reference()
    }

    /// Every issue the office holds, by village code then id.
    pub fn issues(&self) -> Result<Vec<IssueRow>, OfficeError> {
        self.catch_up()?;
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
