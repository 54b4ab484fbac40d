//! The office as the ledger's sequencer. A push is judged event by event in one transaction: who sent it
//! (the token's device and user), where it stands in the device's sequence, whether the user's role and
//! villages allow it, and whether the state machine does. Every event that reaches its turn gets
//! the next server_seq in the same transaction that stores it; a refused event is stored too (with its
//! reason) and still consumes its device_seq, so no device can wedge on it.

use rectify_core::sync::wire::{PushRequest, PushResponse};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use crate::{Credential, Office, OfficeError};

/// Pushes waiting to be committed. Concurrent pushes share one transaction (group commit): whoever finds
/// fewer groups under way than the backend takes at once runs the waiting pushes, each in its own
/// savepoint, and commits them with one fsync.
#[derive(Debug, Default)]
pub(crate) struct PushQueue {
    state: Mutex<QueueState>,
    settled: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    waiting: Vec<(u64, Credential, PushRequest)>,
    answers: HashMap<u64, Result<PushResponse, OfficeError>>,
    /// Groups being committed now.
    committing: usize,
    next_ticket: u64,
}

/// Pushes committed together at most; more wait for the next group.
const MAX_GROUP: usize = 64;

impl Office {
    /// Judges and stores a device's batch. Safe to repeat: anything already judged gets its stored answer.
    pub fn push(&self, credential: &Credential, request: PushRequest) -> Result<PushResponse, OfficeError> {
        let queue = &self.pushes;
        let lock = || queue.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut state = lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push((ticket, credential.clone(), request));
        loop {
            if let Some(answer) = state.answers.remove(&ticket) {
                return answer;
            }
            // Another committer may have taken this push already; then its answer is awaited.
            let still_waiting = state.waiting.iter().any(|(waiting, _, _)| *waiting == ticket);
            if !still_waiting || state.committing >= self.push_groups() {
                state = queue.settled.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            state.committing += 1;
            let take = state.waiting.len().min(MAX_GROUP);
            let group: Vec<_> = state.waiting.drain(..take).collect();
            drop(state);
            let tickets: Vec<u64> = group.iter().map(|(ticket, _, _)| *ticket).collect();
            // A panic while committing must not leave `committing` set: every later push would wait forever.
            let answers = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit_group(group)))
                .unwrap_or_else(|_| {
                    let failed = || Err(OfficeError::Internal("the office failed while storing this push".into()));
                    tickets.into_iter().map(|ticket| (ticket, failed())).collect()
                });
            state = lock();
            state.answers.extend(answers);
            state.committing -= 1;
            queue.settled.notify_all();
        }
    }

    /// Runs pushes in one transaction, each in a savepoint so that one failing leaves the others standing.
    fn commit_group(
        &self,
        group: Vec<(u64, Credential, PushRequest)>,
    ) -> Vec<(u64, Result<PushResponse, OfficeError>)> {
        let now = self.now().to_rfc3339();
        let tickets: Vec<u64> = group.iter().map(|(ticket, _, _)| *ticket).collect();
        let pushes = group.into_iter().map(|(_, credential, request)| (credential, request)).collect();
        match self.backend().commit_pushes(pushes, &now) {
            // One answer per ticket, always: a waiter without one would wait forever.
            Ok(answers) => {
                let mut answers = answers.into_iter();
                let missing = || Err(OfficeError::Internal("the storage gave no answer for this push".into()));
                tickets.into_iter().map(|ticket| (ticket, answers.next().unwrap_or_else(missing))).collect()
            }
            Err(err) => {
                let reason = format!("the push could not be committed: {err}");
                tickets.into_iter().map(|ticket| (ticket, Err(OfficeError::Internal(reason.clone())))).collect()
            }
        }
    }
}
