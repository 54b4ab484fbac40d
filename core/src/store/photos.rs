//! Photo metadata rows, written in the same transaction as the event that brings the photo.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use crate::photo::StoredPhoto;

/// Records a stored photo; a photo already known is left as it is.
pub fn insert(tx: &Transaction<'_>, photo: &StoredPhoto, media_type: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO photos (hash, byte_size, media_type, path, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        photo.hash.as_str(),
        i64::try_from(photo.byte_size).unwrap_or(i64::MAX),
        media_type,
        photo.relative_path,
        now.to_rfc3339()
    ])?;
    Ok(())
}

/// Photos and bytes the device holds.
pub fn usage(conn: &Connection) -> rusqlite::Result<(u64, u64)> {
    conn.query_row("SELECT count(*), coalesce(sum(byte_size), 0) FROM photos", [], |row| {
        Ok((u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0), u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0)))
    })
}
