//! The ledger as a device uses it: validated operations over the store. Every operation checks its input,
//! the user's role and villages, and the issue's state machine, then appends its event, queues it for the
//! office and rewrites the issue's state in one transaction; or, on any error, writes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::category::Catalogue;
use crate::domain::evidence::EvidencePolicy;
use crate::domain::role::{DeviceProfile, Role};
use crate::domain::round::RoundSchedule;
use crate::domain::validate::{self, MAX_NAME_CHARS};
use crate::ids::{DeviceId, UserId};
use crate::photo::{IngestOptions, PhotoStore};
use crate::store::{OpenMode, Store, places, profile};
use crate::{RectifyError, Result};

mod geo_ops;
mod photo_ops;
mod places_ops;
mod query;
mod record;
mod track_ops;

pub use geo_ops::{BoundaryImport, BoundaryImportReport, LocatedVillage, NearbyIssue};
pub use photo_ops::{IngestReport, PruneReport};
pub use places_ops::{ImportReport, NewVillage, VillageView, town_villages};
pub use query::{IssueDetail, ListFilter, NegativeList, OutboxSummary, rate};
pub use record::{Batch, Command, NewReport};
pub use track_ops::{TrackDetail, TrackSummary, VillageCoverage};

/// A device's ledger: the store, the clock, the category table and the photo store.
#[derive(Debug)]
pub struct Ledger {
    store: Store,
    clock: Arc<dyn Clock>,
    catalogue: Catalogue,
    photos: Option<PhotoStore>,
    schedule: RoundSchedule,
    ingest: IngestOptions,
    evidence: EvidencePolicy,
    /// Boundaries as a point index, built on first use and dropped on import.
    village_map: std::sync::Mutex<Option<Arc<geo_ops::VillageMap>>>,
}

impl Ledger {
    /// Opens the ledger at `path`; photos live in the folder `<path>-photos` beside it.
    pub fn open(path: &Path, mode: OpenMode, clock: Arc<dyn Clock>) -> Result<Self> {
        let store = Store::open(path, mode)?;
        let mut photo_dir = path.as_os_str().to_owned();
        photo_dir.push("-photos");
        Ok(Self::with_store(store, clock, Some(PhotoStore::new(PathBuf::from(photo_dir)))))
    }

    /// A ledger in memory, without a photo store.
    pub fn in_memory(clock: Arc<dyn Clock>) -> Result<Self> {
        Ok(Self::with_store(Store::open_in_memory()?, clock, None))
    }

    fn with_store(store: Store, clock: Arc<dyn Clock>, photos: Option<PhotoStore>) -> Self {
        // The category table the office sent, when this device is enrolled and has one; the built-in one
        // otherwise (or if the stored one cannot be read, which sync would have refused to store).
        let sent = store
            .read(|conn| crate::store::sync::reference(conn, "catalogue"))
            .ok()
            .flatten()
            .and_then(|(_, body)| Catalogue::from_json(&body.to_string()).ok());
        Self {
            store,
            clock,
            catalogue: sent.unwrap_or_else(|| Catalogue::builtin().clone()),
            photos,
            schedule: RoundSchedule::default(),
            ingest: IngestOptions::default(),
            evidence: EvidencePolicy::default(),
            village_map: std::sync::Mutex::new(None),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn schedule(&self) -> RoundSchedule {
        self.schedule
    }

    pub fn photo_store(&self) -> Option<&PhotoStore> {
        self.photos.as_ref()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().with_timezone(&Utc)
    }

    /// Sets who this device acts for. Villages are named by code and must be known to the device. The
    /// device keeps its id and sequence if it already had a profile.
    pub fn init(&self, user_name: &str, role: Role, village_codes: &[String]) -> Result<DeviceProfile> {
        let user_name = validate::text("user name", user_name, MAX_NAME_CHARS)?;
        if role == Role::Secretary && village_codes.is_empty() {
            return Err(RectifyError::invalid(
                "a secretary answers for villages: name at least one with --village CODE",
            ));
        }
        let now = self.now();
        self.store.write(|tx| {
            let mut villages = Vec::new();
            for code in village_codes {
                let code = validate::village_code(code)?;
                let village = places::village_by_code(tx, &code)?.ok_or_else(|| unknown_village(&code))?;
                if !villages.contains(&village.id) {
                    villages.push(village.id);
                }
            }
            let device_id = profile::load(tx)?.map_or_else(DeviceId::new, |(existing, _)| existing.device_id);
            let profile = DeviceProfile { device_id, user_id: UserId::new(), user_name, role, villages };
            profile::save(tx, &profile, now)?;
            Ok(profile)
        })
    }

    /// Who this device acts for.
    pub fn profile(&self) -> Result<DeviceProfile> {
        self.store
            .read(|conn| Ok::<_, RectifyError>(profile::load(conn)?.map(|(profile, _)| profile)))?
            .ok_or_else(not_initialised)
    }
}

/// A text file a person hands over, refused (with the reason) when missing, too large or not UTF-8.
pub(crate) fn read_text(path: &Path, max_bytes: u64) -> Result<String> {
    let unreadable = |err: std::io::Error| RectifyError::invalid(format!("cannot read {}: {err}", path.display()));
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > max_bytes {
        return Err(RectifyError::invalid(format!("{} is {size} bytes; the limit is {max_bytes}", path.display())));
    }
    std::fs::read_to_string(path).map_err(unreadable)
}

pub(crate) fn not_initialised() -> RectifyError {
    RectifyError::NotInitialised {
        reason: "this device has no user yet: run `rectify init --user NAME --role ROLE` first".to_string(),
    }
}

pub(crate) fn unknown_village(code: &str) -> RectifyError {
    RectifyError::not_found(format!(
        "no village with code {code} on this device: add it with `rectify village add` or `rectify village import`"
    ))
}

#[cfg(test)]
mod tests;
