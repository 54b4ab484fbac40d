//! An issue's current state, as a pure fold of its events. The same set of events gives the same state on
//! every replica, whatever order they arrived in and however often: events are deduplicated by id and
//! applied in [`OrderKey`] order (office sequence first, then the device clock for what is not yet synced).
//! An event that is not legal where it lands (say, an accept after a concurrent reject already closed the
//! strike-off) is kept and shown as a conflict; it never vanishes and never breaks the fold.
//!
//! State machine:
//! ```text
//! reported ──assign──▶ assigned ──strike-off──▶ strike_off_requested ──accept──▶ accepted
//!    │                    │                        │                                 │
//!    └────strike-off──────┴──◀── rejected ◀──reject┘               reopen ◀───────────┘
//! any open state ──withdraw──▶ withdrawn ──reopen──▶ reported / assigned
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::event::{EditField, Event, EventBody, OrderKey, Verdict, WithdrawReason};
use crate::domain::photo::PhotoHash;
use crate::domain::validate::Location;
use crate::ids::{EventId, IssueId, UserId, VillageId};

/// Where an issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Found and recorded; not yet handed to the village by the office.
    Reported,
    /// Handed to the village with a deadline.
    Assigned,
    /// The village says it is fixed and waits for acceptance (销号申请).
    StrikeOffRequested,
    /// The office refused the strike-off: back to the village to rework.
    Rejected,
    /// The office accepted the fix (验收通过). Only this counts as rectified.
    Accepted,
    /// Taken back as a false report or a duplicate.
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Reported,
        Status::Assigned,
        Status::StrikeOffRequested,
        Status::Rejected,
        Status::Accepted,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Assigned => "assigned",
            Status::StrikeOffRequested => "strike_off_requested",
            Status::Rejected => "rejected",
            Status::Accepted => "accepted",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Status::Reported => "待交办",
            Status::Assigned => "整改中",
            Status::StrikeOffRequested => "待验收",
            Status::Rejected => "验收未通过",
            Status::Accepted => "已销号",
            Status::Withdrawn => "已撤销",
        }
    }

    /// True while the village still has work to do (the strike-off is not requested or was refused).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Reported | Status::Assigned | Status::Rejected)
    }

    /// True while the issue belongs on the negative list: anything not yet accepted or withdrawn.
    pub fn on_negative_list(self) -> bool {
        !matches!(self, Status::Accepted | Status::Withdrawn)
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        Status::ALL.into_iter().find(|status| status.as_str() == wanted).ok_or_else(|| {
            let names: Vec<&str> = Status::ALL.iter().map(|status| status.as_str()).collect();
            format!("unknown status `{text}`: use one of {}", names.join(", "))
        })
    }
}

/// Who did something, and when (device wall clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub by: UserId,
    pub at: DateTime<FixedOffset>,
    pub event_id: EventId,
}

/// The current strike-off request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrikeOff {
    pub stamp: Stamp,
    pub note: Option<String>,
    pub photos: Vec<PhotoHash>,
}

/// An event that could not take effect where it landed, kept so its author and the office can see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub event_id: EventId,
    pub kind: String,
    pub author: UserId,
    pub reason: String,
    /// For an edit whose value was replaced by a concurrent edit (one made without seeing it): that edit.
    /// The replaced value is in `reason`; both events stay in the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<EventId>,
}

/// Everything known about one issue now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueState {
    pub id: IssueId,
    pub village_id: VillageId,
    pub category: String,
    pub location: Location,
    pub note: Option<String>,
    pub status: Status,
    pub reported: Stamp,
    pub deadline: DateTime<Utc>,
    pub assignee: Option<UserId>,
    pub before_photos: Vec<PhotoHash>,
    pub strike_off: Option<StrikeOff>,
    pub accepted: Option<Stamp>,
    pub last_rejection: Option<(Stamp, String)>,
    pub withdrawn: Option<(Stamp, WithdrawReason)>,
    /// Times a strike-off was refused and the village had to redo the work.
    pub rework_count: u32,
    pub reopen_count: u32,
    pub comment_count: u32,
    /// Events of kinds this build does not know, kept and counted.
    pub unknown_event_count: u32,
    pub conflicts: Vec<Conflict>,
    /// The edit that set each edited field's current value (fields never edited are as reported).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_edits: BTreeMap<EditField, Stamp>,
    pub event_count: u32,
    /// Events no other event names as a parent: what a new local event will list as its parents.
    pub heads: Vec<EventId>,
    /// The order key of the last event applied, so a later event can be applied without a full refold.
    pub applied_through: OrderKey,
}

/// Why an event cannot take effect on the issue as it stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("issue {0} has not been reported on this device")]
    NotReported(IssueId),
    #[error("issue {0} was already reported")]
    AlreadyReported(IssueId),
    #[error("cannot {action} issue {issue}: it is {status} ({zh}); {hint}", status = .status.as_str(), zh = .status.zh())]
    Illegal { issue: IssueId, action: &'static str, status: Status, hint: &'static str },
    #[error("event belongs to issue {event_issue}, not {issue}")]
    WrongIssue { issue: IssueId, event_issue: IssueId },
}

impl IssueState {
    /// True when the deadline has passed and the issue is still on the negative list.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.on_negative_list() && now > self.deadline
    }

    /// Applies one event to the state so far (`None` before the report). Pure; says why when illegal.
    pub fn transition(state: Option<&IssueState>, event: &Event) -> Result<IssueState, TransitionError> {
        let stamp = Stamp { by: event.author, at: event.recorded_at, event_id: event.event_id };
        let Some(current) = state else {
            return match &event.body {
                EventBody::Reported(body) => Ok(IssueState {
                    id: event.issue_id,
                    village_id: body.village_id,
                    category: body.category.clone(),
                    location: body.location,
                    note: body.note.clone(),
                    status: Status::Reported,
                    reported: stamp,
                    deadline: body.deadline,
                    assignee: None,
                    before_photos: event.photos.clone(),
                    strike_off: None,
                    accepted: None,
                    last_rejection: None,
                    withdrawn: None,
                    rework_count: 0,
                    reopen_count: 0,
                    comment_count: 0,
                    unknown_event_count: 0,
                    conflicts: Vec::new(),
                    last_edits: BTreeMap::new(),
                    event_count: 1,
                    heads: vec![event.event_id],
                    applied_through: event.order_key(),
                }),
                _ => Err(TransitionError::NotReported(event.issue_id)),
            };
        };
        if current.id != event.issue_id {
            return Err(TransitionError::WrongIssue { issue: current.id, event_issue: event.issue_id });
        }
        let illegal =
            |action, hint| TransitionError::Illegal { issue: current.id, action, status: current.status, hint };
        let mut next = current.clone();
        match &event.body {
            EventBody::Reported(_) => return Err(TransitionError::AlreadyReported(current.id)),
            EventBody::PhotoAttached(_) => {
                if current.status == Status::Withdrawn {
                    return Err(illegal("attach a photo to", "reopen it first"));
                }
                next.before_photos.extend(event.photos.iter().cloned());
            }
            EventBody::Edited(body) => {
                if !current.status.on_negative_list() {
                    return Err(illegal("edit", "reopen it first"));
                }
                for field in body.fields() {
                    if let Some(previous) = current.last_edits.get(&field)
                        && body.replaces.get(&field) != Some(&previous.event_id)
                    {
                        next.conflicts.push(Conflict {
                            event_id: previous.event_id,
                            kind: "edited".to_string(),
                            author: previous.by,
                            reason: format!(
                                "its {} ({}) was replaced by an edit made without seeing it",
                                field.as_str(),
                                current.field_text(field)
                            ),
                            superseded_by: Some(event.event_id),
                        });
                    }
                    next.last_edits.insert(field, stamp.clone());
                }
                if let Some(category) = &body.category {
                    next.category = category.clone();
                }
                if let Some(note) = &body.note {
                    next.note = Some(note.clone());
                }
                if let Some(location) = body.location {
                    next.location = location;
                }
                if let Some(deadline) = body.deadline {
                    next.deadline = deadline;
                }
            }
            EventBody::Assigned(body) => {
                if !current.status.is_open() {
                    return Err(illegal("assign", "only an open issue can be assigned"));
                }
                next.status = Status::Assigned;
                next.assignee = body.assignee.or(current.assignee);
                if let Some(deadline) = body.deadline {
                    next.deadline = deadline;
                }
            }
            EventBody::StrikeOffRequested(body) => {
                if !current.status.is_open() {
                    let hint = match current.status {
                        Status::StrikeOffRequested => "a strike-off is already waiting for acceptance",
                        Status::Accepted => "it is already struck off",
                        _ => "reopen it first",
                    };
                    return Err(illegal("strike off", hint));
                }
                next.status = Status::StrikeOffRequested;
                next.strike_off = Some(StrikeOff { stamp, note: body.note.clone(), photos: event.photos.clone() });
            }
            EventBody::Accepted(_) => {
                if current.status != Status::StrikeOffRequested {
                    return Err(illegal("accept", "only a requested strike-off can be accepted"));
                }
                next.status = Status::Accepted;
                next.accepted = Some(stamp);
            }
            EventBody::Rejected(body) => {
                if current.status != Status::StrikeOffRequested {
                    return Err(illegal("reject", "only a requested strike-off can be rejected"));
                }
                next.status = Status::Rejected;
                next.rework_count += 1;
                next.last_rejection = Some((stamp, body.reason.clone()));
            }
            EventBody::Reopened(_) => {
                if current.status.on_negative_list() {
                    return Err(illegal("reopen", "only an accepted or withdrawn issue can be reopened"));
                }
                next.status = if current.assignee.is_some() { Status::Assigned } else { Status::Reported };
                next.reopen_count += 1;
                next.strike_off = None;
                next.accepted = None;
                next.withdrawn = None;
            }
            EventBody::Withdrawn(body) => {
                if !current.status.on_negative_list() {
                    return Err(illegal("withdraw", "it is already closed"));
                }
                if let WithdrawReason::DuplicateOf { issue_id } = &body.reason
                    && *issue_id == current.id
                {
                    return Err(illegal("withdraw", "an issue cannot duplicate itself"));
                }
                next.status = Status::Withdrawn;
                next.withdrawn = Some((stamp, body.reason.clone()));
            }
            EventBody::Comment(_) => next.comment_count += 1,
            EventBody::Unknown { .. } => next.unknown_event_count += 1,
        }
        next.note_applied(event);
        Ok(next)
    }

    /// Bookkeeping common to every event the issue has seen, applied or not.
    fn note_applied(&mut self, event: &Event) {
        self.event_count += 1;
        self.heads.retain(|head| !event.parents.contains(head));
        if !self.heads.contains(&event.event_id) {
            self.heads.push(event.event_id);
            self.heads.sort();
        }
        self.applied_through = self.applied_through.max(event.order_key());
    }

    /// Folds one more event onto the state. Illegal events become conflicts; an event the office refused
    /// is recorded with the office's reason and takes no effect.
    pub fn fold_one(state: Option<IssueState>, event: &Event) -> Option<IssueState> {
        if let Some(Verdict::Refused { reason }) = &event.verdict {
            return state.map(|mut state| {
                state.record_conflict(event, format!("refused by the office: {reason}"));
                state
            });
        }
        match IssueState::transition(state.as_ref(), event) {
            Ok(next) => Some(next),
            Err(err) => state.map(|mut state| {
                state.record_conflict(event, err.to_string());
                state
            }),
        }
    }

    /// The current value of an editable field, as a person would read it.
    pub fn field_text(&self, field: EditField) -> String {
        match field {
            EditField::Category => self.category.clone(),
            EditField::Note => self.note.clone().unwrap_or_else(|| "no note".to_string()),
            EditField::Location => format!("{:.6},{:.6}", self.location.lat, self.location.lon),
            EditField::Deadline => self.deadline.to_rfc3339(),
        }
    }

    fn record_conflict(&mut self, event: &Event, reason: String) {
        self.conflicts.push(Conflict {
            event_id: event.event_id,
            kind: event.body.kind().to_string(),
            author: event.author,
            reason,
            superseded_by: None,
        });
        self.note_applied(event);
    }

    /// Folds a whole history, in any order and with any duplicates, into the issue's state. Returns `None`
    /// when no report is among the events (the issue is not known here yet).
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<IssueState> {
        // One copy per event id; prefer the copy the office has sequenced, since it carries the verdict.
        let mut unique: BTreeMap<EventId, &Event> = BTreeMap::new();
        for event in events {
            unique
                .entry(event.event_id)
                .and_modify(|kept| {
                    if (kept.server_seq, &kept.verdict) < (event.server_seq, &event.verdict) {
                        *kept = event;
                    }
                })
                .or_insert(event);
        }
        let mut ordered: Vec<&Event> = unique.into_values().collect();
        ordered.sort_by_key(|event| event.order_key());
        let unique_events = ordered.clone();

        let mut state: Option<IssueState> = None;
        let mut early: Vec<&Event> = Vec::new();
        for event in ordered {
            if state.is_none() && !matches!(event.body, EventBody::Reported(_)) {
                // Events seen before their report (a partial pull) wait for it; order among them is kept.
                early.push(event);
                continue;
            }
            state = IssueState::fold_one(state, event);
            if state.is_some() {
                for waiting in early.drain(..) {
                    state = IssueState::fold_one(state, waiting);
                }
            }
        }
        let mut state = state?;
        // Heads from the whole set, so that they do not depend on which parent happened to sort first.
        let referenced: BTreeSet<EventId> =
            unique_events.iter().flat_map(|event| event.parents.iter().copied()).collect();
        state.heads = unique_events.iter().map(|event| event.event_id).filter(|id| !referenced.contains(id)).collect();
        state.heads.sort();
        Some(state)
    }
}
