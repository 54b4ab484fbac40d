//! Decisions taken in the browser become ledger events like any phone's: the office drafts the event under
//! the user's decisions device and pushes it through the same sequencer, so role, village scope and the
//! issue's state machine are judged by one set of rules wherever the decision comes from.

use chrono::Utc;
use rectify_core::domain::event::{Accepted, Event, EventBody, Rejected, Verdict};
use rectify_core::domain::issue::Status;
use rectify_core::domain::validate;
use rectify_core::ids::{EventId, IssueId};
use rectify_core::store::issues;
use rectify_core::sync::wire::PushRequest;

use super::auth::WebUser;
use crate::{Office, OfficeError};

/// What an acceptor decides about a strike-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Accept { note: Option<String> },
    Reject { reason: String },
}

impl Office {
    /// Records `decision` on `issue` for `user`. A refusal (wrong role, wrong state) comes back as
    /// `Invalid` or `Unauthorised` with the sequencer's reason; nothing is half-written either way.
    pub fn decide(&self, user: &WebUser, issue: IssueId, decision: Decision) -> Result<u64, OfficeError> {
        // The same checks a phone's ledger makes before it records a note or a reason.
        fn checked<T>(result: Result<T, validate::ValidationError>) -> Result<T, OfficeError> {
            result.map_err(|err| OfficeError::invalid(err.to_string()))
        }
        let body = match decision {
            Decision::Accept { note } => {
                let note = note.filter(|note| !note.trim().is_empty());
                EventBody::Accepted(Accepted {
                    note: checked(validate::optional_text("note", note.as_deref(), validate::MAX_NOTE_CHARS))?,
                })
            }
            Decision::Reject { reason } => EventBody::Rejected(Rejected {
                reason: checked(validate::text("reason", &reason, validate::MAX_REASON_CHARS))?,
            }),
        };
        // One decision at a time: each takes the next device_seq of the user's decisions device.
        let _turn = self.decisions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.catch_up()?;
        let state = self.store().read(|conn| issues::load_state(conn, issue))?;
        let (acked, _) = self.backend().position(user.device_id)?;
        let state = state.ok_or_else(|| OfficeError::NotFound(format!("no issue {issue} at the office")))?;
        // Said before anything is recorded, so a second click or a stale page leaves no refused event behind.
        if state.status != Status::StrikeOffRequested {
            return Err(OfficeError::invalid(format!(
                "issue {issue} is {} ({}): only a strike-off awaiting acceptance can be accepted or rejected",
                state.status.as_str(),
                state.status.zh()
            )));
        }
        let now = Utc::now().fixed_offset();
        let event = Event {
            event_id: EventId::new(),
            issue_id: issue,
            device_id: user.device_id,
            device_seq: acked + 1,
            author: user.user_id,
            body,
            hlc: state.applied_through.hlc.tick(now),
            recorded_at: now,
            parents: state.heads.clone(),
            photos: Vec::new(),
            server_seq: None,
            verdict: None,
        };
        let answer = self.push(&user.credential(), PushRequest { events: vec![event], photos: Vec::new() })?;
        let result = answer
            .results
            .into_iter()
            .next()
            .ok_or_else(|| OfficeError::Internal("the sequencer gave no answer for the decision".into()))?;
        match result.verdict {
            Verdict::Stored => Ok(result.server_seq.unwrap_or_default()),
            Verdict::Refused { reason } => Err(OfficeError::invalid(reason)),
        }
    }
}
