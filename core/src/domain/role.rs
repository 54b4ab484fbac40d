//! People and what they may do. A device acts for one user; the office issues that profile at enrollment,
//! and until then `rectify init` sets it locally.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, UserId, VillageId};

/// What a user does in the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 测评组成员: walks villages and reports problems.
    Inspector,
    /// 村支部书记: fixes their villages' problems and strikes them off. Scoped to villages.
    Secretary,
    /// 环卫办验收人员: accepts or rejects strike-offs.
    Acceptor,
    /// 管理员: may do everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Inspector, Role::Secretary, Role::Acceptor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Secretary => "secretary",
            Role::Acceptor => "acceptor",
            Role::Admin => "admin",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Inspector => "测评组成员",
            Role::Secretary => "村支部书记",
            Role::Acceptor => "环卫办验收人员",
            Role::Admin => "管理员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| format!("unknown role `{text}`: use inspector, secretary, acceptor or admin"))
    }
}

/// Who this device acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProfile {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub user_name: String,
    pub role: Role,
    /// The villages a secretary answers for. Other roles may list villages to narrow what they see.
    pub villages: Vec<VillageId>,
}

impl DeviceProfile {
    /// True when the profile's village scope covers `village`. An empty scope means "every village" for
    /// the roles that are not bound to villages.
    pub fn covers(&self, village: VillageId) -> bool {
        match self.role {
            Role::Secretary => self.villages.contains(&village),
            _ => self.villages.is_empty() || self.villages.contains(&village),
        }
    }
}
