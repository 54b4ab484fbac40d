//! Photo metadata rows, written in the same transaction as the event that brings the photo, and the
//! evidence flags on each link between an event and a photo.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::domain::evidence::EvidenceFlag;
use crate::domain::photo::{PhotoHash, PhotoRole};
use crate::ids::{EventId, IssueId};
use crate::photo::Ingested;
use crate::photo::exif::TakenAt;

/// One photo as the device keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoRecord {
    /// The evidence image's SHA-256: the photo's identity in the ledger.
    pub hash: PhotoHash,
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Relative to the photo folder; `None` once the office confirmed the photo and the file was pruned.
    pub path: Option<String>,
    pub thumbnail: Option<ThumbnailRecord>,
    pub source: Option<SourceRecord>,
    pub capture: CaptureRecord,
    /// The perceptual hash, as 16 hex digits.
    pub phash: Option<String>,
    /// Flags that follow from the photo alone (no GPS, implausible GPS).
    pub flags: Vec<EvidenceFlag>,
    pub added_at: String,
    pub office_confirmed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThumbnailRecord {
    pub hash: PhotoHash,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    pub sha256: PhotoHash,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Where the original is kept, when originals are kept.
    pub original_path: Option<String>,
}

/// The capture metadata, as read from the original's Exif.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CaptureRecord {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub alt: Option<f64>,
    pub gps_error_m: Option<f64>,
    pub taken_at: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub orientation: Option<u8>,
}

impl CaptureRecord {
    pub fn taken_at(&self) -> Option<TakenAt> {
        self.taken_at.as_deref().and_then(TakenAt::parse)
    }
}

const COLUMNS: &str = "hash, byte_size, width, height, path, evidence_pruned, thumb_hash, thumb_bytes, thumb_width, \
    thumb_height, thumb_path, source_sha256, source_bytes, source_width, source_height, original_path, lat, lon, alt, \
    gps_error_m, taken_at, make, model, orientation, phash, flags, added_at, office_confirmed";

fn unsigned(value: Option<i64>) -> Option<u32> {
    value.and_then(|value| u32::try_from(value).ok())
}

fn record(row: &Row<'_>) -> rusqlite::Result<PhotoRecord> {
    let text = |index: usize| row.get::<_, Option<String>>(index);
    let hash_at =
        |index: usize| -> rusqlite::Result<Option<PhotoHash>> { Ok(text(index)?.and_then(|text| text.parse().ok())) };
    let hash: String = row.get(0)?;
    let hash = hash
        .parse()
        .map_err(|err: String| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, err.into()))?;
    let thumbnail = match (hash_at(6)?, text(10)?) {
        (Some(hash), Some(path)) => Some(ThumbnailRecord {
            hash,
            bytes: row.get::<_, Option<i64>>(7)?.map_or(0, |bytes| u64::try_from(bytes).unwrap_or(0)),
            width: unsigned(row.get(8)?).unwrap_or(0),
            height: unsigned(row.get(9)?).unwrap_or(0),
            path,
        }),
        _ => None,
    };
    let source = hash_at(11)?.map(|sha256| -> rusqlite::Result<SourceRecord> {
        Ok(SourceRecord {
            sha256,
            bytes: row.get::<_, Option<i64>>(12)?.map_or(0, |bytes| u64::try_from(bytes).unwrap_or(0)),
            width: unsigned(row.get(13)?).unwrap_or(0),
            height: unsigned(row.get(14)?).unwrap_or(0),
            original_path: text(15)?,
        })
    });
    let flags: String = row.get(25)?;
    Ok(PhotoRecord {
        hash,
        bytes: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
        width: unsigned(row.get(2)?),
        height: unsigned(row.get(3)?),
        path: if row.get::<_, bool>(5)? { None } else { Some(row.get(4)?) },
        thumbnail,
        source: source.transpose()?,
        capture: CaptureRecord {
            lat: row.get(16)?,
            lon: row.get(17)?,
            alt: row.get(18)?,
            gps_error_m: row.get(19)?,
            taken_at: text(20)?,
            make: text(21)?,
            model: text(22)?,
            orientation: row.get::<_, Option<i64>>(23)?.and_then(|value| u8::try_from(value).ok()),
        },
        phash: row.get::<_, Option<i64>>(24)?.map(|bits| format!("{:016x}", bits as u64)),
        flags: serde_json::from_str(&flags).unwrap_or_default(),
        added_at: row.get(26)?,
        office_confirmed: row.get(27)?,
    })
}

fn size(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_json(value: &impl Serialize) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))
}

/// Records an ingested photo; a photo already known (same evidence bytes) is left as it is.
pub fn insert(
    tx: &Transaction<'_>,
    photo: &Ingested,
    flags: &[EvidenceFlag],
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let capture = &photo.capture;
    let gps = capture.gps;
    tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO photos ({COLUMNS}, media_type) VALUES \
         (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
          ?23, ?24, ?25, ?26, 0, 'image/jpeg')"
    ))?
    .execute(params![
        photo.evidence.file.hash.as_str(),
        size(photo.evidence.file.byte_size),
        photo.evidence.width,
        photo.evidence.height,
        photo.evidence.file.relative_path,
        photo.thumbnail.file.hash.as_str(),
        size(photo.thumbnail.file.byte_size),
        photo.thumbnail.width,
        photo.thumbnail.height,
        photo.thumbnail.file.relative_path,
        photo.source_sha256.as_str(),
        size(photo.source_bytes),
        photo.source_width,
        photo.source_height,
        photo.original.as_ref().map(|file| file.relative_path.clone()),
        gps.map(|gps| gps.lat),
        gps.map(|gps| gps.lon),
        gps.and_then(|gps| gps.alt),
        gps.and_then(|gps| gps.error_m),
        capture.taken_at.map(|taken| taken.to_rfc3339()),
        capture.make,
        capture.model,
        capture.orientation,
        photo.phash as i64,
        to_json(&flags)?,
        now.to_rfc3339(),
    ])?;
    Ok(())
}

/// A photo by its evidence hash.
pub fn get(conn: &Connection, hash: &PhotoHash) -> rusqlite::Result<Option<PhotoRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM photos WHERE hash = ?1"))?
        .query_row([hash.as_str()], record)
        .optional()
}

/// The photo made from an original with this SHA-256, if that original was ingested before.
pub fn by_source(conn: &Connection, sha256: &PhotoHash) -> rusqlite::Result<Option<PhotoRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM photos WHERE source_sha256 = ?1"))?
        .query_row([sha256.as_str()], record)
        .optional()
}

/// A perceptual hash on file, with the issue it is evidence for (if any yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPicture {
    pub hash: PhotoHash,
    pub issue_id: Option<IssueId>,
    pub phash: u64,
}

/// Every perceptual hash on file, once per issue the photo is linked to.
pub fn pictures(conn: &Connection) -> rusqlite::Result<Vec<KnownPicture>> {
    let mut statement = conn.prepare_cached(
        "SELECT DISTINCT p.hash, e.issue_id, p.phash FROM photos p \
         LEFT JOIN event_photos l ON l.hash = p.hash LEFT JOIN events e ON e.event_id = l.event_id \
         WHERE p.phash IS NOT NULL",
    )?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?, row.get::<_, i64>(2)?)))?;
    let mut found = Vec::new();
    for row in rows {
        let (hash, issue, phash) = row?;
        if let Ok(hash) = hash.parse() {
            found.push(KnownPicture { hash, issue_id: issue.and_then(|id| id.parse().ok()), phash: phash as u64 });
        }
    }
    Ok(found)
}

/// Stores the flags raised for one photo on one event.
pub fn set_link_flags(
    tx: &Transaction<'_>,
    event: EventId,
    hash: &PhotoHash,
    flags: &[EvidenceFlag],
) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE event_photos SET flags = ?3 WHERE event_id = ?1 AND hash = ?2")?.execute(params![
        event.to_string(),
        hash.as_str(),
        to_json(&flags)?
    ])?;
    Ok(())
}

/// A photo as evidence on one issue: which event brought it, in what role, and every flag it raised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuePhoto {
    pub event_id: EventId,
    pub role: PhotoRole,
    pub photo: PhotoRecord,
    /// The photo's own flags followed by those raised against this issue.
    pub flags: Vec<EvidenceFlag>,
}

/// The photos of an issue, in the order their events were recorded.
pub fn for_issue(conn: &Connection, issue: IssueId) -> rusqlite::Result<Vec<IssuePhoto>> {
    let columns = COLUMNS.split(", ").map(|column| format!("p.{}", column.trim())).collect::<Vec<_>>().join(", ");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {columns}, l.event_id, l.role, l.flags FROM event_photos l \
         JOIN events e ON e.event_id = l.event_id JOIN photos p ON p.hash = l.hash \
         WHERE e.issue_id = ?1 ORDER BY e.hlc, l.rowid"
    ))?;
    let rows = statement.query_map([issue.to_string()], |row| {
        let photo = record(row)?;
        let event: String = row.get(28)?;
        let role: String = row.get(29)?;
        let link: String = row.get(30)?;
        Ok((photo, event, role, link))
    })?;
    let mut found = Vec::new();
    for row in rows {
        let (photo, event, role, link) = row?;
        let Ok(event_id) = event.parse() else { continue };
        let role = if role == "after" { PhotoRole::After } else { PhotoRole::Before };
        let mut flags = photo.flags.clone();
        flags.extend(serde_json::from_str::<Vec<EvidenceFlag>>(&link).unwrap_or_default());
        found.push(IssuePhoto { event_id, role, photo, flags });
    }
    Ok(found)
}

/// What the photo folder holds, by the database's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PhotoUsage {
    pub photos: u64,
    pub evidence_bytes: u64,
    pub thumbnail_bytes: u64,
    pub original_bytes: u64,
    /// Evidence the office has not yet confirmed: it must stay on the device.
    pub unconfirmed_photos: u64,
    pub unconfirmed_bytes: u64,
    /// Evidence the office confirmed and the device still keeps; [`crate::ledger::Ledger::prune_photos`]
    /// frees it.
    pub prunable_bytes: u64,
}

impl PhotoUsage {
    pub fn total_bytes(&self) -> u64 {
        self.evidence_bytes + self.thumbnail_bytes + self.original_bytes
    }
}

/// Photos and bytes the device holds.
pub fn usage(conn: &Connection) -> rusqlite::Result<PhotoUsage> {
    conn.query_row(
        "SELECT count(*), \
           coalesce(sum(CASE WHEN evidence_pruned = 0 THEN byte_size END), 0), \
           coalesce(sum(thumb_bytes), 0), \
           coalesce(sum(CASE WHEN original_path IS NOT NULL AND evidence_pruned = 0 THEN source_bytes END), 0), \
           coalesce(sum(office_confirmed = 0), 0), \
           coalesce(sum(CASE WHEN office_confirmed = 0 THEN byte_size END), 0), \
           coalesce(sum(CASE WHEN office_confirmed = 1 AND evidence_pruned = 0 \
             THEN byte_size + (CASE WHEN original_path IS NOT NULL THEN source_bytes ELSE 0 END) END), 0) \
         FROM photos",
        [],
        |row| {
            let get = |index| row.get::<_, i64>(index).map(|value| u64::try_from(value).unwrap_or(0));
            Ok(PhotoUsage {
                photos: get(0)?,
                evidence_bytes: get(1)?,
                thumbnail_bytes: get(2)?,
                original_bytes: get(3)?,
                unconfirmed_photos: get(4)?,
                unconfirmed_bytes: get(5)?,
                prunable_bytes: get(6)?,
            })
        },
    )
}

/// Marks photos the office has confirmed it holds byte for byte. Returns how many were newly confirmed.
pub fn confirm(tx: &Transaction<'_>, hashes: &[PhotoHash]) -> rusqlite::Result<usize> {
    let mut statement =
        tx.prepare_cached("UPDATE photos SET office_confirmed = 1 WHERE hash = ?1 AND office_confirmed = 0")?;
    hashes.iter().try_fold(0, |count, hash| Ok(count + statement.execute([hash.as_str()])?))
}

/// Confirmed photos whose evidence (and original) files are still kept: (hash, evidence path, original path).
pub fn prunable(conn: &Connection) -> rusqlite::Result<Vec<(PhotoHash, String, Option<String>)>> {
    let mut statement = conn.prepare_cached(
        "SELECT hash, path, original_path FROM photos WHERE office_confirmed = 1 AND evidence_pruned = 0",
    )?;
    let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?)))?;
    let mut found = Vec::new();
    for row in rows {
        let (hash, path, original) = row?;
        if let Ok(hash) = hash.parse() {
            found.push((hash, path, original));
        }
    }
    Ok(found)
}

/// Records that a confirmed photo's evidence file was removed from the device (its thumbnail stays).
pub fn mark_pruned(tx: &Transaction<'_>, hash: &PhotoHash) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE photos SET evidence_pruned = 1 WHERE hash = ?1")?.execute([hash.as_str()])?;
    Ok(())
}

/// Every file path a photo row refers to.
pub fn referenced_paths(conn: &Connection) -> rusqlite::Result<std::collections::HashSet<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT path FROM photos WHERE evidence_pruned = 0 UNION SELECT thumb_path FROM photos \
         UNION SELECT original_path FROM photos WHERE evidence_pruned = 0",
    )?;
    let rows = statement.query_map([], |row| row.get::<_, Option<String>>(0))?;
    let mut paths = std::collections::HashSet::new();
    for row in rows {
        paths.extend(row?);
    }
    Ok(paths)
}
