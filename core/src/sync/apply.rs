//! What the device does with the office's answers, each in one transaction: push verdicts, pull pages,
//! reference data. An issue's state is folded again whenever its events or their order changed.

use std::collections::BTreeMap;

use crate::domain::category::Catalogue;
use crate::domain::event::{Event, EventBody, Verdict};
use crate::domain::issue::IssueState;
use crate::ids::{IssueId, VillageId};
use crate::store::profile::{self, Counters};
use crate::store::sync::Pulled;
use crate::store::{boundaries, issues, photo_transfer, places, sync};
use crate::sync::wire::{PullPage, PushResponse, ReferenceData, RejectedEvent, ScopeTally};
use crate::{RectifyError, Result};

/// Starts the pull from zero under `epoch`, forgetting the office's numbers, and folds every issue again
/// (without numbers, events fall back to their clock order until the pull brings the numbers back).
pub(crate) fn restart_from_zero(tx: &rusqlite::Transaction<'_>, epoch: &str) -> Result<()> {
    sync::restart_pull(tx, epoch)?;
    issues::refold_all(tx)?;
    Ok(())
}

/// Folds the issues again from every event held.
pub(crate) fn refold(tx: &rusqlite::Transaction<'_>, touched: impl IntoIterator<Item = IssueId>) -> Result<()> {
    Ok(issues::refold(tx, touched)?)
}

/// What a push answer changed on the device.
#[derive(Debug, Default)]
pub(crate) struct PushApplied {
    pub acknowledged: u64,
    pub rejected: Vec<RejectedEvent>,
    pub requeued: bool,
}

pub(crate) fn push_response(
    tx: &rusqlite::Transaction<'_>,
    sent: &[Event],
    response: &PushResponse,
    device: crate::ids::DeviceId,
) -> Result<PushApplied> {
    let mut applied = PushApplied::default();
    let mut touched = Vec::new();
    let mut taken = false;
    for result in &response.results {
        let Some(event) = sent.iter().find(|event| event.event_id == result.event_id) else { continue };
        if result.seq_taken {
            taken = true;
            continue;
        }
        if let Some(issue) = sync::acknowledge(tx, result.event_id, result.server_seq, &result.verdict)? {
            touched.push(issue);
        }
        applied.acknowledged += 1;
        if let Verdict::Refused { reason } = &result.verdict {
            applied.rejected.push(RejectedEvent {
                event_id: event.event_id,
                issue_id: event.issue_id,
                kind: event.body.kind().to_string(),
                reason: reason.clone(),
            });
        }
    }
    if let Some(from) = response.resend_from {
        touched.extend(sync::requeue_from(tx, device, from)?);
        applied.requeued = true;
    }
    if taken && let Some((_, counters)) = profile::load(tx)? {
        // Numbers after everything the office has judged for this device, and after our own.
        let first = counters.next_device_seq.max(response.acked_through + 1);
        let next = sync::renumber_pending(tx, first)?;
        profile::save_counters(tx, Counters { next_device_seq: next, ..counters })?;
        applied.requeued = true;
    }
    refold(tx, touched)?;
    Ok(applied)
}

/// How a pull page went.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PageOutcome {
    /// Applied; the device's tally matches the office's.
    Applied { new_events: u64 },
    /// The device does not hold what the office says it sent: nothing of the page was kept and the pull
    /// restarts from zero.
    Mismatch { expected: ScopeTally, found: ScopeTally },
}

/// Why a page could not be applied.
#[derive(Debug)]
pub(crate) enum PageError {
    /// The device holds one of the page's events under another number.
    Renumbered,
    Failed(RectifyError),
}

impl From<RectifyError> for PageError {
    fn from(err: RectifyError) -> Self {
        Self::Failed(err)
    }
}

impl From<rusqlite::Error> for PageError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Failed(err.into())
    }
}

pub(crate) fn pull_page(
    tx: &rusqlite::Transaction<'_>,
    page: &PullPage,
    tally_before: ScopeTally,
    now: &str,
) -> std::result::Result<PageOutcome, PageError> {
    // The tally first: a page that does not add up is not applied at all.
    let mut tally = tally_before;
    for event in &page.events {
        let Some(seq) = event.server_seq else {
            return Err(
                RectifyError::Sync { reason: "the office sent an event without a sequence number".into() }.into()
            );
        };
        tally.add(event.event_id, seq);
    }
    if tally != page.scope {
        return Ok(PageOutcome::Mismatch { expected: page.scope, found: tally });
    }
    let mut fresh: BTreeMap<IssueId, Vec<&Event>> = BTreeMap::new();
    let mut new_events = 0;
    let mut newest_hlc = None;
    for event in &page.events {
        match sync::store_pulled(tx, event)? {
            Pulled::Stored | Pulled::Numbered => {
                new_events += 1;
                fresh.entry(event.issue_id).or_default().push(event);
            }
            Pulled::Known => {}
            // Nothing of the page may stay: failing rolls the transaction back.
            Pulled::Renumbered => return Err(PageError::Renumbered),
        }
        newest_hlc = newest_hlc.max(Some(event.hlc));
    }
    for manifest in &page.photos {
        photo_transfer::insert_remote(tx, manifest, now)?;
    }
    for (issue, arrived) in fresh {
        fold_arrivals(tx, issue, &arrived)?;
    }
    if let (Some(hlc), Some((_, counters))) = (newest_hlc, profile::load(tx)?) {
        // The device's clock moves past every event it has seen, so its next event sorts after them.
        profile::save_counters(tx, Counters { last_hlc: counters.last_hlc.observe(hlc), ..counters })?;
    }
    sync::save_position(tx, &page.cursor, tally)?;
    Ok(PageOutcome::Applied { new_events })
}

/// Events the office already numbered and judged, stored in a read copy of its ledger (no tally, cursor
/// or device counters: the copy is nobody's device).
pub(crate) fn sequenced(
    tx: &rusqlite::Transaction<'_>,
    events: &[Event],
    photos: &[crate::sync::wire::PhotoManifest],
    now: &str,
) -> Result<u64> {
    let mut fresh: BTreeMap<IssueId, Vec<&Event>> = BTreeMap::new();
    let mut new_events = 0;
    for event in events {
        if event.server_seq.is_none() {
            return Err(RectifyError::Sync { reason: format!("event {} has no sequence number", event.event_id) });
        }
        match sync::store_pulled(tx, event)? {
            Pulled::Stored | Pulled::Numbered => {
                new_events += 1;
                fresh.entry(event.issue_id).or_default().push(event);
            }
            Pulled::Known => {}
            Pulled::Renumbered => {
                return Err(RectifyError::Sync {
                    reason: format!("event {} arrived with another number than the copy holds", event.event_id),
                });
            }
        }
    }
    for manifest in photos {
        photo_transfer::insert_remote(tx, manifest, now)?;
    }
    for (issue, arrived) in fresh {
        fold_arrivals(tx, issue, &arrived)?;
    }
    Ok(new_events)
}

/// Applies newly arrived events to an issue: on top of its state when they all sort after what it has
/// applied (the common case: a pull in server order), by a full fold otherwise.
fn fold_arrivals(tx: &rusqlite::Transaction<'_>, issue: IssueId, arrived: &[&Event]) -> Result<()> {
    let first = arrived.iter().map(|event| event.order_key()).min();
    let state = issues::load_state(tx, issue)?;
    let incremental = match (&state, first) {
        (Some(state), Some(first)) => state.applied_through < first,
        (None, _) => matches!(arrived.first().map(|event| &event.body), Some(EventBody::Reported(_))),
        _ => false,
    };
    if !incremental {
        return refold(tx, [issue]);
    }
    let mut ordered = arrived.to_vec();
    ordered.sort_by_key(|event| event.order_key());
    let mut next = state;
    for event in ordered {
        next = IssueState::fold_one(next, event);
    }
    match next {
        Some(state) => Ok(issues::save_state(tx, &state)?),
        None => refold(tx, [issue]),
    }
}

/// Stores the office's places, boundaries and category table. Returns the catalogue to use from now on.
pub(crate) fn reference(tx: &rusqlite::Transaction<'_>, data: &ReferenceData, now: &str) -> Result<Catalogue> {
    let catalogue = Catalogue::from_json(&data.catalogue.to_string()).map_err(|err| RectifyError::Sync {
        reason: format!("the office sent a category table this app cannot read: {err}"),
    })?;
    for town in &data.towns {
        places::save_town(tx, town)?;
    }
    for zone in &data.zones {
        places::save_zone(tx, zone)?;
    }
    for village in &data.villages {
        places::save_village(tx, village)?;
    }
    for boundary in &data.boundaries {
        let Some(shape) = boundaries::from_geojson(&boundary.geometry.to_string()) else {
            return Err(RectifyError::Sync {
                reason: format!(
                    "the office sent a boundary for village {} that is not a MultiPolygon",
                    boundary.village_id
                ),
            });
        };
        boundaries::save(tx, boundary.village_id, &shape, boundary.area_m2, &boundary.source, now)?;
    }
    sync::save_reference(tx, "catalogue", &catalogue.version.to_string(), &data.catalogue)?;
    sync::set_reference_version(tx, &data.version)?;
    Ok(catalogue)
}

/// Sets the device's role and villages to what the office holds for its user (only villages it knows).
pub(crate) fn profile_from_office(
    tx: &rusqlite::Transaction<'_>,
    role: crate::domain::role::Role,
    villages: &[VillageId],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let Some((mut current, _)) = profile::load(tx)? else { return Ok(()) };
    let mut known = Vec::new();
    for village in villages {
        if places::village(tx, *village)?.is_some() {
            known.push(*village);
        }
    }
    if current.role != role || current.villages != known {
        current.role = role;
        current.villages = known;
        profile::save(tx, &current, now)?;
    }
    Ok(())
}
