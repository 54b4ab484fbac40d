//! Towns, zones and villages. Statistical codes change when villages merge or districts are renamed
//! (Jimo's 370282 became 370215 in 2017), so each place has a stable internal id and keeps every code it
//! has been known by.

use serde::{Deserialize, Serialize};

use crate::ids::{TownId, VillageId, ZoneId};

/// A town, street or new area (镇 / 街道 / 新区): the unit the city ranks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Town {
    pub id: TownId,
    pub name: String,
    /// Its 9-digit statistical code, when known.
    pub code: Option<String>,
}

/// A zone (管区): a group of villages under one zone office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: ZoneId,
    pub town_id: TownId,
    pub name: String,
}

/// One statistical code a village has had, and the source that gave it (e.g. `nbs-2016`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VillageCode {
    pub code: String,
    pub source: String,
}

/// A village or residential community (村 / 居): the unit that is inspected, scored and fixes problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Village {
    pub id: VillageId,
    pub name: String,
    pub town_id: Option<TownId>,
    pub zone_id: Option<ZoneId>,
    /// Flagged under task 8, the "weak-base" villages that get concentrated effort.
    pub weak_base: bool,
    /// Every code the village has had, oldest first; the last is the current one.
    pub codes: Vec<VillageCode>,
}

impl Village {
    /// The code the village is known by now.
    pub fn code(&self) -> &str {
        self.codes.last().map(|code| code.code.as_str()).unwrap_or("")
    }
}
