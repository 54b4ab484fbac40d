//! Photos in the ledger: ingest before the write transaction (decoding is the slow part and must not hold
//! the database), evidence checks inside it, and the storage budget.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use super::Ledger;
use crate::domain::evidence::{self, EvidenceFlag, EvidencePolicy, PhotoFix};
use crate::domain::issue::IssueState;
use crate::domain::photo::{PhotoHash, PhotoRole};
use crate::photo::exif::{Capture, TakenAt};
use crate::photo::{IngestOptions, Ingested, PhotoStore, Source, phash};
use crate::store::photos::{self, KnownPicture, PhotoRecord, PhotoUsage};
use crate::{RectifyError, Result};

/// A photo made ready outside the transaction that will reference it.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// The same original was ingested before; its row is reused.
    Known(Box<PhotoRecord>),
    Fresh(Box<Ingested>),
}

impl Prepared {
    /// Files the ingest wrote that no row references yet.
    pub(crate) fn newly_written(&self) -> Vec<String> {
        match self {
            Self::Known(_) => Vec::new(),
            Self::Fresh(ingested) => ingested.newly_written(),
        }
    }
}

/// What the evidence checks need to know about one photo.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub hash: PhotoHash,
    pub phash: Option<u64>,
    pub fix: Option<PhotoFix>,
    pub taken_at: Option<TakenAt>,
    pub own_flags: Vec<EvidenceFlag>,
}

fn fix_of(capture: &Capture) -> Option<PhotoFix> {
    capture.gps.map(|gps| PhotoFix { lat: gps.lat, lon: gps.lon, error_m: gps.error_m })
}

/// The flags a freshly ingested photo raises on its own.
pub(crate) fn own_flags(capture: &Capture, policy: &EvidencePolicy) -> Vec<EvidenceFlag> {
    evidence::own_flags(fix_of(capture), capture.gps_problem.as_deref(), policy)
}

impl Evidence {
    pub(crate) fn of_fresh(ingested: &Ingested, policy: &EvidencePolicy) -> Self {
        Self {
            hash: ingested.evidence.file.hash.clone(),
            phash: Some(ingested.phash),
            fix: fix_of(&ingested.capture),
            taken_at: ingested.capture.taken_at,
            own_flags: own_flags(&ingested.capture, policy),
        }
    }

    pub(crate) fn of_record(record: &PhotoRecord) -> Self {
        let capture = &record.capture;
        Self {
            hash: record.hash.clone(),
            phash: record.phash.as_deref().and_then(|text| u64::from_str_radix(text, 16).ok()),
            fix: capture.lat.zip(capture.lon).map(|(lat, lon)| PhotoFix { lat, lon, error_m: capture.gps_error_m }),
            taken_at: capture.taken_at(),
            own_flags: record.flags.clone(),
        }
    }

    /// The flags this photo raises as evidence for `issue` (`None` for an issue being reported now), in
    /// `role`, given every picture on file.
    pub(crate) fn flags_for(
        &self,
        issue: Option<&IssueState>,
        role: PhotoRole,
        known: &[KnownPicture],
        policy: &EvidencePolicy,
        device_offset: FixedOffset,
    ) -> Vec<EvidenceFlag> {
        let issue_id = issue.map(|state| state.id);
        let mut flags = Vec::new();
        if let Some(phash) = self.phash {
            // Another issue's photo, or (for an after-photo) this issue's own before-photo handed in again.
            let suspicious = |picture: &KnownPicture| match (picture.issue_id, issue) {
                (None, _) => false,
                (Some(other), _) if Some(other) != issue_id => true,
                (Some(_), Some(state)) => role == PhotoRole::After && state.before_photos.contains(&picture.hash),
                (Some(_), None) => false,
            };
            let nearest = nearest(phash, known.iter().filter(|picture| suspicious(picture)), policy);
            if let Some((bits_apart, picture)) = nearest {
                flags.push(EvidenceFlag::Reused {
                    photo: picture.hash.clone(),
                    issue_id: picture.issue_id,
                    bits_apart,
                });
            }
        }
        if let (PhotoRole::After, Some(state)) = (role, issue) {
            let taken = self.taken_at.map(|taken| taken.instant(device_offset));
            let reported = state.reported.at.to_utc();
            flags.extend(evidence::after_photo_flags(self.fix, taken, &state.location, reported, policy));
        }
        flags
    }
}

/// The closest of `candidates` to `phash` within the policy's distance; an issue's photo wins a tie
/// over a photo not yet used anywhere.
fn nearest<'k>(
    phash: u64,
    candidates: impl Iterator<Item = &'k KnownPicture>,
    policy: &EvidencePolicy,
) -> Option<(u32, &'k KnownPicture)> {
    candidates
        .map(|picture| (phash::distance(phash, picture.phash), picture))
        .filter(|(bits, _)| *bits <= policy.same_picture_distance)
        .min_by_key(|(bits, picture)| (*bits, picture.issue_id.is_none()))
}

/// The answer to `rectify photo ingest`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    pub photo: PhotoRecord,
    /// The photo's own flags, and whether the same picture is already evidence somewhere.
    pub flags: Vec<EvidenceFlag>,
    /// True when the same original had been ingested before: nothing new was stored.
    pub already_known: bool,
}

/// What pruning freed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PruneReport {
    pub photos: u64,
    pub bytes_freed: u64,
    /// Files no row refers to (left by an ingest whose transaction never committed, e.g. the app was
    /// killed) and older than [`ORPHAN_AGE`], removed.
    pub orphans_removed: u64,
}

/// How old an unreferenced file must be before pruning removes it: younger ones may belong to an ingest
/// that is about to commit.
pub const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Ledger {
    pub(crate) fn photo_files(&self) -> Result<&PhotoStore> {
        self.photos.as_ref().ok_or_else(|| RectifyError::invalid("this ledger keeps no photos (it is in memory)"))
    }

    /// How photos are ingested from now on.
    pub fn set_ingest_options(&mut self, options: IngestOptions) {
        self.ingest = options;
    }

    pub fn ingest_options(&self) -> IngestOptions {
        self.ingest
    }

    /// The thresholds of the evidence checks from now on.
    pub fn set_evidence_policy(&mut self, policy: EvidencePolicy) {
        self.evidence = policy;
    }

    pub fn evidence_policy(&self) -> EvidencePolicy {
        self.evidence
    }

    pub(crate) fn device_offset(&self) -> FixedOffset {
        *self.clock.now().offset()
    }

    /// Reads, checks and stores one photo without touching the database's write lock.
    pub(crate) fn prepare_photo(&self, path: &Path) -> Result<Prepared> {
        // The read covers only the lookup: decoding must not hold the reader connection.
        self.prepare_photo_with(path, |sha| self.store.read(|conn| photos::by_source(conn, sha)))
    }

    /// [`Ledger::prepare_photo`], finding earlier ingests of the same original with `lookup`.
    pub(crate) fn prepare_photo_with(
        &self,
        path: &Path,
        lookup: impl Fn(&PhotoHash) -> rusqlite::Result<Option<PhotoRecord>>,
    ) -> Result<Prepared> {
        let files = self.photo_files()?;
        let source = Source::read(path)?;
        if let Some(record) = lookup(&source.sha256)? {
            return Ok(Prepared::Known(Box::new(record)));
        }
        Ok(Prepared::Fresh(Box::new(source.ingest(files, &self.ingest)?)))
    }

    /// Prepares several photos; if one fails, the files the others wrote are removed again.
    pub(crate) fn prepare_photos(&self, paths: &[PathBuf]) -> Result<Vec<(PathBuf, Prepared)>> {
        let mut prepared: Vec<(PathBuf, Prepared)> = Vec::new();
        for path in paths {
            if prepared.iter().any(|(done, _)| done == path) {
                continue;
            }
            match self.prepare_photo(path) {
                Ok(photo) => prepared.push((path.clone(), photo)),
                Err(err) => {
                    self.discard_prepared(&prepared);
                    return Err(err);
                }
            }
        }
        Ok(prepared)
    }

    pub(crate) fn discard_prepared(&self, prepared: &[(PathBuf, Prepared)]) {
        self.discard_written(prepared.iter().flat_map(|(_, photo)| photo.newly_written()).collect());
    }

    /// Removes files this process wrote for a transaction that failed, unless a row refers to them by
    /// now (another process may have stored the same picture and committed meanwhile). What slips
    /// through either way is an unreferenced file, which pruning removes.
    pub(crate) fn discard_written(&self, written: Vec<String>) {
        let Some(files) = &self.photos else { return };
        if written.is_empty() {
            return;
        }
        let Ok(referenced) = self.store.read(|conn| Ok::<_, RectifyError>(photos::referenced_paths(conn)?)) else {
            return;
        };
        written.iter().filter(|path| !referenced.contains(*path)).for_each(|path| files.discard(path));
    }

    /// Ingests a photo on its own, before any report or strike-off uses it: the evidence image and the
    /// thumbnail are stored and the row is written, and the flags say what the checks think of it.
    pub fn ingest_photo(&self, path: &Path) -> Result<IngestReport> {
        let prepared = self.prepare_photo(path)?;
        let policy = self.evidence;
        let now = self.now();
        let result = self.store.write(|tx| {
            let evidence = admit(tx, &prepared, &policy, now)?;
            let already_known = matches!(prepared, Prepared::Known(_));
            let known = photos::pictures(tx)?;
            let mut flags = evidence.own_flags.clone();
            if let Some(phash) = evidence.phash {
                let same = nearest(phash, known.iter().filter(|picture| picture.hash != evidence.hash), &policy);
                if let Some((bits_apart, picture)) = same {
                    flags.push(EvidenceFlag::Reused {
                        photo: picture.hash.clone(),
                        issue_id: picture.issue_id,
                        bits_apart,
                    });
                }
            }
            let photo = photos::get(tx, &evidence.hash)?.ok_or_else(|| {
                RectifyError::not_found(format!("photo {} vanished while it was stored", evidence.hash))
            })?;
            Ok(IngestReport { photo, flags, already_known })
        });
        if result.is_err() {
            self.discard_prepared(&[(path.to_path_buf(), prepared)]);
        }
        result
    }

    /// One photo by its evidence hash.
    pub fn photo(&self, hash: &PhotoHash) -> Result<PhotoRecord> {
        self.store
            .read(|conn| Ok::<_, RectifyError>(photos::get(conn, hash)?))?
            .ok_or_else(|| RectifyError::not_found(format!("no photo {hash} on this device")))
    }

    /// Where a photo's evidence file is, while the device keeps it.
    pub fn photo_path(&self, record: &PhotoRecord) -> Option<PathBuf> {
        Some(self.photos.as_ref()?.path_of(record.path.as_deref()?))
    }

    /// The photo folder's size by the database's account.
    pub fn photo_usage(&self) -> Result<PhotoUsage> {
        self.store.read(|conn| Ok(photos::usage(conn)?))
    }

    /// Marks photos the office has confirmed it holds byte for byte; only those may be pruned. Returns
    /// how many were newly confirmed. The sync uses this when the office acknowledges an upload.
    pub fn confirm_photos(&self, hashes: &[PhotoHash]) -> Result<usize> {
        self.store.write(|tx| Ok(photos::confirm(tx, hashes)?))
    }

    /// Frees the evidence files (and originals) the office has confirmed; thumbnails stay so lists still
    /// show the picture. Unconfirmed evidence is never removed.
    pub fn prune_photos(&self) -> Result<PruneReport> {
        let files = self.photo_files()?;
        let candidates = self.store.read(|conn| Ok::<_, RectifyError>(photos::prunable(conn)?))?;
        let mut report = PruneReport::default();
        for (hash, path, original) in candidates {
            // Row first, then the files, and only files no other row still refers to (paths are
            // content hashes, so two rows can share one). A crash in between leaves an unreferenced
            // file, which the sweep below removes on a later prune.
            self.store.write(|tx| Ok::<_, RectifyError>(photos::mark_pruned(tx, &hash)?))?;
            let referenced = self.store.read(|conn| Ok::<_, RectifyError>(photos::referenced_paths(conn)?))?;
            for relative in std::iter::once(&path).chain(original.as_ref()).filter(|path| !referenced.contains(*path)) {
                let full = files.path_of(relative);
                let size = std::fs::metadata(&full).map(|meta| meta.len()).unwrap_or(0);
                match std::fs::remove_file(&full) {
                    Ok(()) => report.bytes_freed += size,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(RectifyError::Storage {
                            reason: format!("could not remove {}: {err}", full.display()),
                        });
                    }
                }
            }
            report.photos += 1;
        }
        let referenced = self.store.read(|conn| Ok::<_, RectifyError>(photos::referenced_paths(conn)?))?;
        for (relative, size) in files.files_older_than(ORPHAN_AGE) {
            if !referenced.contains(&relative) && std::fs::remove_file(files.path_of(&relative)).is_ok() {
                report.orphans_removed += 1;
                report.bytes_freed += size;
            }
        }
        Ok(report)
    }
}

/// Checks evidence inside a write transaction and stores a fresh photo's row.
pub(crate) fn admit(
    tx: &rusqlite::Transaction<'_>,
    prepared: &Prepared,
    policy: &EvidencePolicy,
    now: DateTime<Utc>,
) -> Result<Evidence> {
    Ok(match prepared {
        Prepared::Known(record) => Evidence::of_record(record),
        Prepared::Fresh(ingested) => {
            let evidence = Evidence::of_fresh(ingested, policy);
            photos::insert(tx, ingested, &evidence.own_flags, now)?;
            evidence
        }
    })
}
