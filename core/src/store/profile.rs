//! The device row: who the device acts for, and the counters that make its events gap-free and ordered.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::parse_id;
use crate::clock::Hlc;
use crate::domain::role::DeviceProfile;

/// The device's own sequence and clock, advanced in the same transaction as each append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub next_device_seq: u64,
    pub last_hlc: Hlc,
}

pub fn load(conn: &Connection) -> rusqlite::Result<Option<(DeviceProfile, Counters)>> {
    let row = conn
        .query_row(
            "SELECT device_id, user_id, user_name, role, next_device_seq, last_hlc FROM device WHERE singleton = 1",
            [],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((device_id, user_id, user_name, role, next_seq, last_hlc)) = row else {
        return Ok(None);
    };
    let mut statement = conn.prepare_cached("SELECT village_id FROM device_villages ORDER BY village_id")?;
    let villages = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .map(|id| id.and_then(|id| parse_id(&id, "village_id")))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let profile = DeviceProfile {
        device_id: parse_id(&device_id, "device_id")?,
        user_id: parse_id(&user_id, "user_id")?,
        user_name,
        role: parse_id(&role, "role")?,
        villages,
    };
    let counters = Counters {
        next_device_seq: u64::try_from(next_seq).unwrap_or(1),
        last_hlc: Hlc::from_raw(u64::try_from(last_hlc).unwrap_or(0)),
    };
    Ok(Some((profile, counters)))
}

/// Sets who the device acts for. The device id and counters of an existing row are kept: re-initialising
/// changes the user, never the device's identity or its place in the sequence.
pub fn save(tx: &Transaction<'_>, profile: &DeviceProfile, now: DateTime<Utc>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO device (singleton, device_id, user_id, user_name, role, created_at)
         VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (singleton) DO UPDATE SET user_id = ?2, user_name = ?3, role = ?4",
        params![
            profile.device_id.to_string(),
            profile.user_id.to_string(),
            profile.user_name,
            profile.role.as_str(),
            now.to_rfc3339()
        ],
    )?;
    tx.execute(
        "INSERT INTO users (id, name, role) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET name = ?2, role = ?3",
        params![profile.user_id.to_string(), profile.user_name, profile.role.as_str()],
    )?;
    tx.execute("DELETE FROM device_villages", [])?;
    let mut insert = tx.prepare_cached("INSERT INTO device_villages (village_id) VALUES (?1)")?;
    for village in &profile.villages {
        insert.execute([village.to_string()])?;
    }
    Ok(())
}

pub fn save_counters(tx: &Transaction<'_>, counters: Counters) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE device SET next_device_seq = ?1, last_hlc = ?2 WHERE singleton = 1")?.execute(
        params![
            i64::try_from(counters.next_device_seq).unwrap_or(i64::MAX),
            i64::try_from(counters.last_hlc.raw()).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

/// A user's name, when the device knows them.
pub fn user_name(conn: &Connection, user_id: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT name FROM users WHERE id = ?1")?.query_row([user_id], |row| row.get(0)).optional()
}
