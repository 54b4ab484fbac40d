//! Who may do what. Checked on the device before an event is written, and again by the office for every
//! event it receives (the office never trusts a device's own check).

use serde::{Deserialize, Serialize};

use crate::domain::event::EventBody;
use crate::domain::issue::IssueState;
use crate::domain::role::{DeviceProfile, Role};
use crate::ids::VillageId;

/// Something a user asks to do to an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Report,
    AttachPhoto,
    Edit,
    Assign,
    StrikeOff,
    Accept,
    Reject,
    Reopen,
    Withdraw,
    Comment,
}

impl Action {
    pub fn of(body: &EventBody) -> Option<Action> {
        Some(match body {
            EventBody::Reported(_) => Action::Report,
            EventBody::PhotoAttached(_) => Action::AttachPhoto,
            EventBody::Edited(_) => Action::Edit,
            EventBody::Assigned(_) => Action::Assign,
            EventBody::StrikeOffRequested(_) => Action::StrikeOff,
            EventBody::Accepted(_) => Action::Accept,
            EventBody::Rejected(_) => Action::Reject,
            EventBody::Reopened(_) => Action::Reopen,
            EventBody::Withdrawn(_) => Action::Withdraw,
            EventBody::Comment(_) => Action::Comment,
            EventBody::Unknown { .. } => return None,
        })
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Report => "report issues",
            Action::AttachPhoto => "attach photos",
            Action::Edit => "edit issues",
            Action::Assign => "assign issues",
            Action::StrikeOff => "strike off issues",
            Action::Accept => "accept strike-offs",
            Action::Reject => "reject strike-offs",
            Action::Reopen => "reopen issues",
            Action::Withdraw => "withdraw issues",
            Action::Comment => "comment",
        }
    }
}

/// Why a user may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{user} ({role}) may not {what}: {why}")]
pub struct PermissionError {
    pub user: String,
    pub role: Role,
    pub what: &'static str,
    pub why: String,
}

/// Decides whether `profile` may take `action` on an issue in `village` (`issue` is `None` for a report).
pub fn authorize(
    profile: &DeviceProfile,
    action: Action,
    village: VillageId,
    village_label: &str,
    issue: Option<&IssueState>,
) -> Result<(), PermissionError> {
    let refuse =
        |why: String| PermissionError { user: profile.user_name.clone(), role: profile.role, what: action.verb(), why };
    if !profile.covers(village) {
        return Err(refuse(format!("village {village_label} is outside this device's villages")));
    }
    let own_report = issue.is_some_and(|issue| issue.reported.by == profile.user_id);
    let allowed = match profile.role {
        Role::Admin => true,
        Role::Acceptor => true,
        Role::Inspector => match action {
            Action::Report | Action::AttachPhoto | Action::Comment => true,
            Action::Edit | Action::Withdraw => own_report,
            _ => false,
        },
        Role::Secretary => matches!(action, Action::StrikeOff | Action::AttachPhoto | Action::Comment | Action::Report),
    };
    if allowed {
        Ok(())
    } else if matches!(action, Action::Edit | Action::Withdraw) && profile.role == Role::Inspector {
        Err(refuse("an inspector may only change their own reports".to_string()))
    } else {
        Err(refuse(format!("that is not part of the {} role", profile.role)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeviceId, UserId};

    fn profile(role: Role, villages: Vec<VillageId>) -> DeviceProfile {
        DeviceProfile { device_id: DeviceId::new(), user_id: UserId::new(), user_name: "li".into(), role, villages }
    }

    #[test]
    fn secretaries_act_only_in_their_villages() {
        let mine = VillageId::new();
        let theirs = VillageId::new();
        let secretary = profile(Role::Secretary, vec![mine]);
        assert!(authorize(&secretary, Action::StrikeOff, mine, "mine", None).is_ok());
        let err = authorize(&secretary, Action::StrikeOff, theirs, "370215400202", None).unwrap_err();
        assert!(err.to_string().contains("370215400202"), "{err}");
        assert!(authorize(&secretary, Action::Accept, mine, "mine", None).is_err());
    }

    #[test]
    fn inspectors_report_but_do_not_accept() {
        let inspector = profile(Role::Inspector, vec![]);
        let village = VillageId::new();
        assert!(authorize(&inspector, Action::Report, village, "v", None).is_ok());
        assert!(authorize(&inspector, Action::Accept, village, "v", None).is_err());
        assert!(authorize(&inspector, Action::Assign, village, "v", None).is_err());
    }

    #[test]
    fn acceptors_and_admins_may_judge() {
        let village = VillageId::new();
        for role in [Role::Acceptor, Role::Admin] {
            let user = profile(role, vec![]);
            assert!(authorize(&user, Action::Accept, village, "v", None).is_ok());
            assert!(authorize(&user, Action::Reject, village, "v", None).is_ok());
        }
    }
}
