//! Photos as sync moves them: the manifest a push carries, the uploads a device still owes the office, and
//! the photos a device knows only from the office (by manifest) until it downloads their files.

use rusqlite::{Connection, Transaction, params};

use super::photos;
use crate::domain::photo::PhotoHash;
use crate::sync::wire::{PhotoManifest, ThumbnailManifest};

/// The manifest of a photo the device holds.
pub fn manifest(conn: &Connection, hash: &PhotoHash) -> rusqlite::Result<Option<PhotoManifest>> {
    Ok(photos::get(conn, hash)?.map(|record| PhotoManifest {
        hash: record.hash,
        bytes: record.bytes,
        width: record.width,
        height: record.height,
        thumbnail: record.thumbnail.map(|thumb| ThumbnailManifest {
            hash: thumb.hash,
            bytes: thumb.bytes,
            width: thumb.width,
            height: thumb.height,
        }),
        capture: record.capture,
        phash: record.phash,
        flags: record.flags,
    }))
}

/// A file the device must send: the thumbnail first, then the evidence it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedUpload {
    /// The evidence hash: the photo confirmed once this file is present on the office.
    pub photo: PhotoHash,
    pub hash: PhotoHash,
    pub path: String,
    pub bytes: u64,
    pub is_thumbnail: bool,
}

/// Files of photos the office has not confirmed, referenced by events the office has stored, thumbnails
/// before evidence, oldest photo first.
pub fn owed_uploads(conn: &Connection) -> rusqlite::Result<Vec<OwedUpload>> {
    let mut statement = conn.prepare_cached(
        "SELECT p.hash, p.path, p.byte_size, p.thumb_hash, p.thumb_path, p.thumb_bytes FROM photos p
         WHERE p.office_confirmed = 0 AND p.evidence_pruned = 0
           AND EXISTS (SELECT 1 FROM event_photos ep JOIN events e ON e.event_id = ep.event_id
                       WHERE ep.hash = p.hash AND e.server_seq IS NOT NULL)
         ORDER BY p.added_at, p.hash",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, Option<String>>(4)?,
            row.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut owed = Vec::new();
    for row in rows {
        let (hash, path, bytes, thumb_hash, thumb_path, thumb_bytes) = row?;
        let Ok(photo) = hash.parse::<PhotoHash>() else { continue };
        if let (Some(Ok(thumb)), Some(thumb_path)) = (thumb_hash.map(|hash| hash.parse::<PhotoHash>()), thumb_path) {
            owed.push(OwedUpload {
                photo: photo.clone(),
                hash: thumb,
                path: thumb_path,
                bytes: thumb_bytes.unwrap_or(0) as u64,
                is_thumbnail: true,
            });
        }
        owed.push(OwedUpload { photo: photo.clone(), hash: photo, path, bytes: bytes as u64, is_thumbnail: false });
    }
    Ok(owed)
}

/// Records a photo the device knows from the office: no files yet, confirmed by definition.
pub fn insert_remote(tx: &Transaction<'_>, manifest: &PhotoManifest, now: &str) -> rusqlite::Result<()> {
    let capture = &manifest.capture;
    let thumb = manifest.thumbnail.as_ref();
    let phash = manifest.phash.as_deref().and_then(|text| u64::from_str_radix(text, 16).ok()).map(|bits| bits as i64);
    tx.prepare_cached(
        "INSERT OR IGNORE INTO photos (hash, byte_size, media_type, path, added_at, office_confirmed, width, height,
             evidence_pruned, thumb_hash, thumb_bytes, thumb_width, thumb_height, lat, lon, alt, gps_error_m,
             taken_at, make, model, orientation, phash, flags)
         VALUES (?1, ?2, 'image/jpeg', '', ?3, 1, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19)",
    )?
    .execute(params![
        manifest.hash.as_str(),
        manifest.bytes as i64,
        now,
        manifest.width,
        manifest.height,
        thumb.map(|thumb| thumb.hash.as_str().to_string()),
        thumb.map(|thumb| thumb.bytes as i64),
        thumb.map(|thumb| thumb.width),
        thumb.map(|thumb| thumb.height),
        capture.lat,
        capture.lon,
        capture.alt,
        capture.gps_error_m,
        capture.taken_at,
        capture.make,
        capture.model,
        capture.orientation,
        phash,
        serde_json::to_string(&manifest.flags).unwrap_or_else(|_| "[]".to_string()),
    ])?;
    Ok(())
}

/// A file the device may fetch from the office: (photo, file hash, expected bytes, is thumbnail).
pub type WantedFile = (PhotoHash, PhotoHash, u64, bool);

/// Thumbnails the device lacks and, when `full` is set, evidence files it lacks.
pub fn wanted_downloads(conn: &Connection, full: bool) -> rusqlite::Result<Vec<WantedFile>> {
    let mut statement = conn.prepare_cached(
        "SELECT hash, thumb_hash, thumb_bytes, thumb_path IS NULL, byte_size, evidence_pruned FROM photos
         WHERE (thumb_hash IS NOT NULL AND thumb_path IS NULL) OR (?1 AND evidence_pruned = 1 AND path = '')
         ORDER BY hash",
    )?;
    let rows = statement.query_map([full], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?,
            row.get::<_, Option<i64>>(2)?,
            row.get::<_, bool>(3)?,
            row.get::<_, i64>(4)?,
            row.get::<_, bool>(5)?,
        ))
    })?;
    let mut wanted = Vec::new();
    for row in rows {
        let (hash, thumb, thumb_bytes, thumb_missing, bytes, pruned) = row?;
        let Ok(photo) = hash.parse::<PhotoHash>() else { continue };
        if thumb_missing && let Some(Ok(thumb)) = thumb.map(|thumb| thumb.parse::<PhotoHash>()) {
            wanted.push((photo.clone(), thumb, thumb_bytes.unwrap_or(0) as u64, true));
        }
        if full && pruned {
            wanted.push((photo.clone(), photo, bytes as u64, false));
        }
    }
    Ok(wanted)
}

/// Records where a downloaded file was stored.
pub fn set_downloaded(tx: &Transaction<'_>, photo: &PhotoHash, path: &str, is_thumbnail: bool) -> rusqlite::Result<()> {
    let sql = if is_thumbnail {
        "UPDATE photos SET thumb_path = ?2 WHERE hash = ?1"
    } else {
        "UPDATE photos SET path = ?2, evidence_pruned = 0 WHERE hash = ?1"
    };
    tx.prepare_cached(sql)?.execute(params![photo.as_str(), path])?;
    Ok(())
}
