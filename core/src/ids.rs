//! Identifiers. Every id the system makes is a UUIDv7, minted on the device that creates the thing, so that
//! ids are unique without a network and sort roughly by creation time. Each kind of id is its own type so an
//! issue id can never be passed where an event id is wanted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Mints a fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (read from storage or the wire).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            /// The last eight hex digits: the random part of a v7 id, short enough to read aloud.
            pub fn short(&self) -> String {
                let text = self.0.simple().to_string();
                text[text.len() - 8..].to_string()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text.trim()).map(Self).map_err(|_| InvalidId {
                    what: $what,
                    text: text.to_string(),
                })
            }
        }
    };
}

uuid_id!(
    /// One problem found at one place.
    IssueId,
    "issue id"
);
uuid_id!(
    /// One recorded (or imported) walk track.
    TrackId,
    "track id"
);
uuid_id!(
    /// One immutable ledger event.
    EventId,
    "event id"
);
uuid_id!(
    /// One installation of the app (a phone, a desktop client, the office itself).
    DeviceId,
    "device id"
);
uuid_id!(
    /// One person using the system.
    UserId,
    "user id"
);
uuid_id!(
    /// The stable internal id of a village, kept while its statistical codes change.
    VillageId,
    "village id"
);
uuid_id!(
    /// The stable internal id of a zone (管区).
    ZoneId,
    "zone id"
);
uuid_id!(
    /// The stable internal id of a town (镇 / 街道 / 新区).
    TownId,
    "town id"
);

/// Text that should have been an id but is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {what}: expected a UUID such as 0192c3a4-5b6c-7d8e-9f00-112233445566")]
pub struct InvalidId {
    pub what: &'static str,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_sort_by_creation() {
        let first = IssueId::new();
        let second = IssueId::new();
        assert!(first < second, "v7 ids minted later sort later");
        let parsed: IssueId = first.to_string().parse().unwrap();
        assert_eq!(parsed, first);
        assert_eq!(first.short().len(), 8);
    }

    #[test]
    fn garbage_is_not_an_id() {
        let err = "not-an-id".parse::<EventId>().unwrap_err();
        assert_eq!(err.what, "event id");
        assert!(err.to_string().contains("not-an-id"));
    }
}
