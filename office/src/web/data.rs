//! What the pages read beyond the core's queries: a cache of report views that lives until the ledger or
//! the day changes, user names, and what the office knows of each photo.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use rectify_core::domain::evidence::EvidenceFlag;
use rectify_core::domain::photo::PhotoHash;
use rectify_core::score::Snapshot;
use rectify_core::sync::wire::PhotoManifest;

use crate::{Office, OfficeError};

/// Report views keyed by page and parameters, valid for one state of the ledger on one day.
#[derive(Debug, Default)]
pub(crate) struct ReportCache {
    stamp: Option<(Stamp, NaiveDate)>,
    views: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

/// What changes when anything a cached view reads changes: the newest event, and the version that
/// triggers bump when places, boundaries or photo files change (schema step 2).
type Stamp = (i64, i64);

/// At most this many views are kept; past it the cache starts again (a crawler walking every month).
const MAX_VIEWS: usize = 256;

impl Office {
    /// The state the cached views stand for. With PostgreSQL this is the state of the process's copy of the
    /// ledger, which every page brings up to date before it reads anything (`user_of` calls `catch_up`).
    fn report_stamp(&self) -> Result<(Stamp, NaiveDate), OfficeError> {
        let stamp = (self.ledger().sequenced_head()? as i64, self.backend().views_version()?);
        let today = Utc::now().with_timezone(&super::pages::district_offset()).date_naive();
        Ok((stamp, today))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, ReportCache> {
        self.reports.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cache, emptied first if the ledger or the day moved on, and the state it now stands for.
    fn fresh_cache(&self) -> Result<(std::sync::MutexGuard<'_, ReportCache>, (Stamp, NaiveDate)), OfficeError> {
        let stamp = self.report_stamp()?;
        let mut cache = self.cache();
        if cache.stamp != Some(stamp) || cache.views.len() > MAX_VIEWS {
            *cache = ReportCache { stamp: Some(stamp), ..ReportCache::default() };
        }
        Ok((cache, stamp))
    }

    /// The scoring snapshot of the office's ledger, read once per state of the ledger. With PostgreSQL, of
    /// the process's copy as it stands: call `catch_up` first (every page does).
    pub fn report_snapshot(&self) -> Result<Arc<Snapshot>, OfficeError> {
        self.cached("snapshot", || Ok(self.ledger().scoring_snapshot()?))
    }

    /// A report view, computed at most once per state of the ledger and day. Two requests that miss at
    /// the same time both compute it; the answers are the same.
    pub(crate) fn cached<T: Send + Sync + 'static>(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<T, OfficeError>,
    ) -> Result<Arc<T>, OfficeError> {
        let (cache, stamp) = self.fresh_cache()?;
        if let Some(view) = cache.views.get(key).cloned()
            && let Ok(view) = view.downcast::<T>()
        {
            return Ok(view);
        }
        drop(cache);
        let view = Arc::new(compute()?);
        let mut cache = self.cache();
        if cache.stamp == Some(stamp) {
            cache.views.insert(key.to_string(), view.clone());
        }
        Ok(view)
    }

    /// (user id, name) of every office user and enrolled person.
    pub(crate) fn user_names(&self) -> Result<Vec<(String, String)>, OfficeError> {
        self.backend().user_names()
    }

    /// Whether the office holds the photo's file, and the flags the device raised on it.
    pub(crate) fn photo_facts(&self, hash: &PhotoHash) -> Result<(bool, Vec<EvidenceFlag>), OfficeError> {
        let Some(row) = self.backend().photo(hash)? else { return Ok((false, Vec::new())) };
        let flags = row
            .manifest
            .and_then(|text| serde_json::from_str::<PhotoManifest>(&text).ok())
            .map(|manifest| manifest.flags)
            .unwrap_or_default();
        Ok((row.present, flags))
    }

    /// The hash of a photo's thumbnail, when the office holds it.
    pub(crate) fn thumbnail_of(&self, hash: &PhotoHash) -> Result<Option<String>, OfficeError> {
        self.backend().thumbnail_of(hash.as_str())
    }
}
