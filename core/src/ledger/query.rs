//! The read side: lists, the negative list with its counts, one issue with its whole history.

use serde::Serialize;

use crate::store::photos::IssuePhoto;

use super::{Ledger, unknown_village};
use crate::domain::event::Event;
use crate::domain::issue::{IssueState, Status};
use crate::domain::place::Village;
use crate::domain::validate;
use crate::ids::IssueId;
use crate::store::issues::{self, IssueFilter, IssueSummary};
use crate::store::{events, places, profile};
use crate::{RectifyError, Result};

/// What `rectify list` asks for. Codes and names as a person types them.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub village_code: Option<String>,
    pub zone: Option<String>,
    pub status: Option<Status>,
    pub overdue_only: bool,
}

/// A village's negative list (负面清单) with the counts a bulletin shows.
#[derive(Debug, Clone, Serialize)]
pub struct NegativeList {
    pub village: Village,
    pub town: Option<String>,
    pub zone: Option<String>,
    /// Every issue found, withdrawn ones excluded.
    pub found: u32,
    /// Accepted: the only state that counts as rectified.
    pub rectified: u32,
    pub awaiting_acceptance: u32,
    /// Still on the list: found minus rectified.
    pub remaining: u32,
    pub overdue: u32,
    /// Rectified ÷ found, in percent, to one decimal; `None` when nothing was found.
    pub rectification_rate: Option<f64>,
    pub items: Vec<IssueSummary>,
}

/// One issue, everything about it.
#[derive(Debug, Clone, Serialize)]
pub struct IssueDetail {
    pub state: IssueState,
    pub village: Village,
    pub overdue: bool,
    pub round: String,
    pub reported_by: Option<String>,
    pub events: Vec<Event>,
    /// Every photo of the issue with the flags it raised.
    pub photos: Vec<IssuePhoto>,
    /// The distinct kinds of flag among the issue's photos, for lists and the office's review queue.
    pub evidence_flags: Vec<String>,
}

/// What waits to go to the office.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxSummary {
    pub pending_events: u64,
    pub oldest_recorded_at: Option<String>,
    pub photos: u64,
    /// Evidence, thumbnails and kept originals.
    pub photo_bytes: u64,
    /// Evidence the office has not confirmed yet, which the device must keep.
    pub unconfirmed_photo_bytes: u64,
}

impl Ledger {
    fn village_for_code(&self, code: &str) -> Result<Village> {
        let code = validate::village_code(code)?;
        self.store.read(|conn| places::village_by_code(conn, &code))?.ok_or_else(|| unknown_village(&code))
    }

    /// Issues matching the filter, soonest deadline first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<IssueSummary>> {
        let now = self.now();
        let mut query = IssueFilter {
            statuses: filter.status.into_iter().collect(),
            overdue_at: filter.overdue_only.then_some(now),
            ..IssueFilter::default()
        };
        if let Some(code) = &filter.village_code {
            query.villages.push(self.village_for_code(code)?.id);
        }
        self.store.read(|conn| {
            if let Some(zone) = &filter.zone {
                let zones = places::zones_named(conn, zone.trim())?;
                if zones.is_empty() {
                    return Err(RectifyError::not_found(format!("no zone named {zone} on this device")));
                }
                let in_zone = places::villages(conn)?
                    .into_iter()
                    .filter(|village| village.zone_id.is_some_and(|id| zones.iter().any(|zone| zone.id == id)));
                let ids: Vec<_> = in_zone.map(|village| village.id).collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                if query.villages.is_empty() {
                    query.villages = ids;
                } else {
                    query.villages.retain(|id| ids.contains(id));
                    if query.villages.is_empty() {
                        return Ok(Vec::new());
                    }
                }
            }
            Ok(issues::list(conn, &query, now)?)
        })
    }

    /// The negative list of one village: its open issues and its counts.
    pub fn negative_list(&self, village_code: &str) -> Result<NegativeList> {
        let village = self.village_for_code(village_code)?;
        let now = self.now();
        self.store.read(|conn| {
            let filter = IssueFilter {
                villages: vec![village.id],
                statuses: Status::ALL.into_iter().filter(|status| status.on_negative_list()).collect(),
                ..IssueFilter::default()
            };
            let items = issues::list(conn, &filter, now)?;
            let counts = issues::status_counts(conn, village.id)?;
            let count =
                |wanted: &[Status]| counts.iter().filter(|(s, _)| wanted.contains(s)).map(|(_, n)| n).sum::<u32>();
            let found = count(&Status::ALL.into_iter().filter(|s| *s != Status::Withdrawn).collect::<Vec<_>>());
            let rectified = count(&[Status::Accepted]);
            let (town, zone) = places::town_and_zone_names(conn, &village)?;
            Ok(NegativeList {
                town,
                zone,
                found,
                rectified,
                awaiting_acceptance: count(&[Status::StrikeOffRequested]),
                remaining: found - rectified,
                overdue: items.iter().filter(|item| item.overdue).count() as u32,
                rectification_rate: rate(rectified, found),
                items,
                village: village.clone(),
            })
        })
    }

    /// The negative lists of every village in a zone (by name), by village code.
    pub fn zone_negative_list(&self, zone: &str) -> Result<Vec<NegativeList>> {
        let codes: Vec<String> = self
            .villages()?
            .into_iter()
            .filter(|view| view.zone.as_deref() == Some(zone))
            .map(|view| view.code)
            .collect();
        if codes.is_empty() {
            return Err(RectifyError::not_found(format!("no zone named `{zone}` on this device")));
        }
        codes.iter().map(|code| self.negative_list(code)).collect()
    }

    /// One issue and its full history.
    pub fn issue(&self, id: IssueId) -> Result<IssueDetail> {
        let now = self.now();
        self.store.read(|conn| {
            let state = issues::load_state(conn, id)?
                .ok_or_else(|| RectifyError::not_found(format!("no issue {id} on this device")))?;
            let village = places::village(conn, state.village_id)?.ok_or_else(|| {
                RectifyError::not_found(format!("issue {id} names a village this device does not know"))
            })?;
            let round = self.schedule.round_of(state.reported.at.date_naive()).label();
            let reported_by = profile::user_name(conn, &state.reported.by.to_string())?;
            let photos = crate::store::photos::for_issue(conn, id)?;
            let mut evidence_flags: Vec<String> = Vec::new();
            for flag in photos.iter().flat_map(|photo| &photo.flags) {
                if !evidence_flags.iter().any(|name| name == flag.name()) {
                    evidence_flags.push(flag.name().to_string());
                }
            }
            Ok(IssueDetail {
                overdue: state.is_overdue(now),
                village,
                round,
                reported_by,
                events: events::for_issue(conn, id)?,
                photos,
                evidence_flags,
                state,
            })
        })
    }

    /// What waits to be sent, and the photo storage in use.
    pub fn outbox(&self) -> Result<OutboxSummary> {
        self.store.read(|conn| {
            let (pending_events, oldest_recorded_at) = events::outbox_summary(conn)?;
            let usage = crate::store::photos::usage(conn)?;
            Ok(OutboxSummary {
                pending_events,
                oldest_recorded_at,
                photos: usage.photos,
                photo_bytes: usage.total_bytes(),
                unconfirmed_photo_bytes: usage.unconfirmed_bytes,
            })
        })
    }
}

/// A rate in percent to one decimal, as bulletins print it.
pub fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0)
}

impl Ledger {
    /// The issues and places scores, lists and bulletins are computed from, read in one go.
    pub fn scoring_snapshot(&self) -> Result<crate::score::Snapshot> {
        Ok(self.store.read(crate::score::snapshot)?)
    }

    /// [`Ledger::scoring_snapshot`] with each issue's note, for exports.
    pub fn export_snapshot(&self) -> Result<crate::score::Snapshot> {
        Ok(self.store.read(crate::score::snapshot_with_notes)?)
    }
}
