//! The ledger event: the one thing a device writes. Events are immutable; an issue's state is a fold of
//! its events (see `issue.rs`). The envelope carries what sync and audit need; the body says what
//! happened. Bodies are versioned per kind, and a kind or version this build does not know is kept
//! verbatim as [`EventBody::Unknown`] so that a newer app's events are never dropped.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::clock::Hlc;
use crate::domain::photo::PhotoHash;
use crate::domain::validate::Location;
use crate::ids::{DeviceId, EventId, IssueId, UserId, VillageId};

/// One immutable entry of the rectification ledger (台账).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: EventId,
    pub issue_id: IssueId,
    pub device_id: DeviceId,
    /// Gap-free per device, from 1: what the office dedupes and acknowledges by.
    pub device_seq: u64,
    pub author: UserId,
    pub body: EventBody,
    pub hlc: Hlc,
    /// The device's wall clock when the event was recorded, with its UTC offset. For people, not ordering.
    pub recorded_at: DateTime<FixedOffset>,
    /// The issue's events the device had seen when it recorded this one (the heads of its history).
    pub parents: Vec<EventId>,
    /// Photos this event brings, by content hash.
    pub photos: Vec<PhotoHash>,
    /// The office's global sequence number, once the office has stored the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_seq: Option<u64>,
    /// The office's verdict, once it has judged the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// What the office decided about a pushed event. A refused event is kept (and its device_seq consumed)
/// but takes no part in the issue's state.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Stored,
    Refused { reason: String },
}

/// The office-wide order once synced; a device's pending events sort after everything acknowledged, in
/// the order its clock gave them. Ties cannot happen between distinct events because the id is last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderKey {
    pub server_seq: u64,
    pub hlc: Hlc,
    pub event_id: EventId,
}

impl Event {
    pub fn order_key(&self) -> OrderKey {
        OrderKey { server_seq: self.server_seq.unwrap_or(u64::MAX), hlc: self.hlc, event_id: self.event_id }
    }
}

/// Why an issue was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WithdrawReason {
    /// The problem was not real (误报).
    FalseReport,
    /// Another issue already records the same problem.
    DuplicateOf { issue_id: IssueId },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    pub village_id: VillageId,
    pub category: String,
    pub location: Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub deadline: DateTime<Utc>,
    /// The category table version the report was filed under.
    pub catalogue_version: u32,
    /// Where the village boundaries put the report, when the device had boundaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
}

/// What the boundaries said about a report's position, and why the reporter chose otherwise if they did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The village containing the point, or the nearest one.
    pub located: VillageId,
    pub inside: bool,
    /// Metres outside the located village's boundary; 0 inside.
    pub distance_m: f64,
    /// Why the issue was charged to another village than the located one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoAttached {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Edited {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// For each field changed, the earlier edit of it that the author saw (absent: the value as reported).
    /// An edit that replaces a value its author never saw is a concurrent edit, shown as a conflict.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replaces: BTreeMap<EditField, EventId>,
}

/// A field of an issue that an edit may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditField {
    Category,
    Note,
    Location,
    Deadline,
}

impl EditField {
    pub const ALL: [EditField; 4] = [EditField::Category, EditField::Note, EditField::Location, EditField::Deadline];

    pub fn as_str(self) -> &'static str {
        match self {
            EditField::Category => "category",
            EditField::Note => "note",
            EditField::Location => "location",
            EditField::Deadline => "deadline",
        }
    }
}

impl Edited {
    /// The fields this edit changes, in a fixed order.
    pub fn fields(&self) -> Vec<EditField> {
        let changed = [self.category.is_some(), self.note.is_some(), self.location.is_some(), self.deadline.is_some()];
        EditField::ALL.into_iter().zip(changed).filter(|(_, changed)| *changed).map(|(field, _)| field).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assigned {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrikeOffRequested {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reopened {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdrawn {
    pub reason: WithdrawReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub text: String,
}

/// What happened. Each known kind has body version 1 today.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    Reported(Reported),
    PhotoAttached(PhotoAttached),
    Edited(Edited),
    Assigned(Assigned),
    StrikeOffRequested(StrikeOffRequested),
    Accepted(Accepted),
    Rejected(Rejected),
    Reopened(Reopened),
    Withdrawn(Withdrawn),
    Comment(Comment),
    /// A kind, or a version of a kind, from a newer app: kept as it came.
    Unknown {
        kind: String,
        version: u32,
        data: Value,
    },
}

/// The body version this build writes and understands for every known kind.
pub const BODY_VERSION: u32 = 1;

/// The wire and storage shape of a body: its kind, its version and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawBody {
    pub kind: String,
    pub version: u32,
    pub data: Value,
}

impl EventBody {
    /// The kind's name as stored and sent.
    pub fn kind(&self) -> &str {
        match self {
            EventBody::Reported(_) => "reported",
            EventBody::PhotoAttached(_) => "photo_attached",
            EventBody::Edited(_) => "edited",
            EventBody::Assigned(_) => "assigned",
            EventBody::StrikeOffRequested(_) => "strike_off_requested",
            EventBody::Accepted(_) => "accepted",
            EventBody::Rejected(_) => "rejected",
            EventBody::Reopened(_) => "reopened",
            EventBody::Withdrawn(_) => "withdrawn",
            EventBody::Comment(_) => "comment",
            EventBody::Unknown { kind, .. } => kind,
        }
    }

    /// What the event says, in a line for a history view: the note, reason or text it carries.
    pub fn describe(&self) -> String {
        match self {
            EventBody::Reported(body) => body.note.clone().unwrap_or_default(),
            EventBody::StrikeOffRequested(body) => body.note.clone().unwrap_or_default(),
            EventBody::Rejected(body) => body.reason.clone(),
            EventBody::Reopened(body) => body.reason.clone(),
            EventBody::Comment(body) => body.text.clone(),
            EventBody::Edited(body) => {
                let fields: Vec<&str> = body.fields().into_iter().map(|field| field.as_str()).collect();
                format!("changed {}", fields.join(", "))
            }
            EventBody::Withdrawn(body) => {
                let why = match &body.reason {
                    WithdrawReason::FalseReport => "false report".to_string(),
                    WithdrawReason::DuplicateOf { issue_id } => format!("duplicate of {issue_id}"),
                };
                match &body.note {
                    Some(note) => format!("{why}: {note}"),
                    None => why,
                }
            }
            EventBody::Unknown { version, .. } => format!("(from a newer app, version {version})"),
            EventBody::PhotoAttached(_) | EventBody::Assigned(_) | EventBody::Accepted(_) => String::new(),
        }
    }

    pub fn version(&self) -> u32 {
        match self {
            EventBody::Unknown { version, .. } => *version,
            _ => BODY_VERSION,
        }
    }

    /// Splits the body into its stored parts.
    pub fn to_raw(&self) -> RawBody {
        fn value<T: Serialize>(body: &T) -> Value {
            // Serialising these plain structs into a Value cannot fail: they hold no maps with non-string
            // keys and no non-finite floats (locations are checked before they are built).
            serde_json::to_value(body).unwrap_or(Value::Null)
        }
        let data = match self {
            EventBody::Reported(body) => value(body),
            EventBody::PhotoAttached(body) => value(body),
            EventBody::Edited(body) => value(body),
            EventBody::Assigned(body) => value(body),
            EventBody::StrikeOffRequested(body) => value(body),
            EventBody::Accepted(body) => value(body),
            EventBody::Rejected(body) => value(body),
            EventBody::Reopened(body) => value(body),
            EventBody::Withdrawn(body) => value(body),
            EventBody::Comment(body) => value(body),
            EventBody::Unknown { data, .. } => data.clone(),
        };
        RawBody { kind: self.kind().to_string(), version: self.version(), data }
    }

    /// The body's fields as JSON text, written straight from the typed body (what the store keeps; cheaper
    /// than going through [`EventBody::to_raw`]).
    pub fn data_json(&self) -> String {
        fn text<T: Serialize>(body: &T) -> String {
            // As in `to_raw`: these plain structs always serialise.
            serde_json::to_string(body).unwrap_or_else(|_| "null".to_string())
        }
        match self {
            EventBody::Reported(body) => text(body),
            EventBody::PhotoAttached(body) => text(body),
            EventBody::Edited(body) => text(body),
            EventBody::Assigned(body) => text(body),
            EventBody::StrikeOffRequested(body) => text(body),
            EventBody::Accepted(body) => text(body),
            EventBody::Rejected(body) => text(body),
            EventBody::Reopened(body) => text(body),
            EventBody::Withdrawn(body) => text(body),
            EventBody::Comment(body) => text(body),
            EventBody::Unknown { data, .. } => data.to_string(),
        }
    }

    /// Rebuilds a body from its stored parts. A kind or version this build does not know becomes
    /// [`EventBody::Unknown`]; a known kind whose fields do not parse is an error.
    pub fn from_raw(raw: RawBody) -> Result<Self, serde_json::Error> {
        fn parse<T: serde::de::DeserializeOwned>(data: Value) -> Result<T, serde_json::Error> {
            serde_json::from_value(data)
        }
        if raw.version != BODY_VERSION {
            return Ok(EventBody::Unknown { kind: raw.kind, version: raw.version, data: raw.data });
        }
        Ok(match raw.kind.as_str() {
            "reported" => EventBody::Reported(parse(raw.data)?),
            "photo_attached" => EventBody::PhotoAttached(parse(raw.data)?),
            "edited" => EventBody::Edited(parse(raw.data)?),
            "assigned" => EventBody::Assigned(parse(raw.data)?),
            "strike_off_requested" => EventBody::StrikeOffRequested(parse(raw.data)?),
            "accepted" => EventBody::Accepted(parse(raw.data)?),
            "rejected" => EventBody::Rejected(parse(raw.data)?),
            "reopened" => EventBody::Reopened(parse(raw.data)?),
            "withdrawn" => EventBody::Withdrawn(parse(raw.data)?),
            "comment" => EventBody::Comment(parse(raw.data)?),
            _ => EventBody::Unknown { kind: raw.kind, version: raw.version, data: raw.data },
        })
    }
}

impl Serialize for EventBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_raw().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawBody::deserialize(deserializer)?;
        EventBody::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

impl crate::domain::photo::PhotoRole {
    /// What an event's photos show: the fix for a strike-off, the problem otherwise.
    pub fn of(body: &EventBody) -> Self {
        match body {
            EventBody::StrikeOffRequested(_) => Self::After,
            _ => Self::Before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bodies_round_trip_through_their_raw_form() {
        let body = EventBody::Rejected(Rejected { reason: "bin still full".into() });
        let raw = body.to_raw();
        assert_eq!(raw.kind, "rejected");
        assert_eq!(EventBody::from_raw(raw).unwrap(), body);
    }

    #[test]
    fn unknown_kinds_and_newer_versions_are_kept_verbatim() {
        let data = serde_json::json!({"drone": true, "altitude": 120});
        let raw = RawBody { kind: "aerial_survey".into(), version: 1, data: data.clone() };
        let body = EventBody::from_raw(raw.clone()).unwrap();
        assert_eq!(body.to_raw(), raw);

        let newer = RawBody { kind: "rejected".into(), version: 2, data: serde_json::json!({"codes": [1]}) };
        let body = EventBody::from_raw(newer.clone()).unwrap();
        assert!(matches!(body, EventBody::Unknown { .. }));
        assert_eq!(body.to_raw(), newer);
    }

    #[test]
    fn data_json_is_the_raw_data_as_text() {
        let bodies = [
            EventBody::Rejected(Rejected { reason: "bin still full".into() }),
            EventBody::Comment(Comment { text: "seen".into() }),
            EventBody::Unknown { kind: "x".into(), version: 3, data: serde_json::json!({"a": [1, 2]}) },
        ];
        for body in bodies {
            let parsed: Value = serde_json::from_str(&body.data_json()).unwrap();
            assert_eq!(parsed, body.to_raw().data);
        }
    }

    #[test]
    fn a_known_kind_with_broken_fields_is_an_error() {
        let raw = RawBody { kind: "rejected".into(), version: 1, data: serde_json::json!({"why": 3}) };
        assert!(EventBody::from_raw(raw).is_err());
    }
}
