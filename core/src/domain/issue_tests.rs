//! Tests of the issue fold: the state machine, and the property that delivery order and duplication
//! never change the state.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use proptest::prelude::*;

use crate::clock::Hlc;
use crate::domain::event::*;
use crate::domain::issue::{IssueState, Status};
use crate::domain::validate::Location;
use crate::ids::{DeviceId, EventId, IssueId, UserId, VillageId};

fn start() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-02T09:00:00+08:00").unwrap()
}

struct Script {
    issue: IssueId,
    devices: Vec<DeviceId>,
    author: UserId,
    events: Vec<Event>,
    seqs: Vec<u64>,
}

impl Script {
    fn new(devices: usize) -> Self {
        Self {
            issue: IssueId::new(),
            devices: (0..devices.max(1)).map(|_| DeviceId::new()).collect(),
            author: UserId::new(),
            events: Vec::new(),
            seqs: vec![0; devices.max(1)],
        }
    }

    fn push(&mut self, device: usize, body: EventBody, server_seq: Option<u64>) -> EventId {
        let device = device % self.devices.len();
        self.seqs[device] += 1;
        let minutes = i64::try_from(self.events.len()).unwrap();
        let recorded_at = start() + Duration::minutes(minutes);
        let event = Event {
            event_id: EventId::new(),
            issue_id: self.issue,
            device_id: self.devices[device],
            device_seq: self.seqs[device],
            author: self.author,
            body,
            // Devices may share a clock reading: the event id must still break the tie.
            hlc: Hlc::from_raw(1 << 16).tick(recorded_at),
            recorded_at,
            // A sequenced event can only have seen sequenced events; a pending one has seen everything here.
            parents: self
                .events
                .iter()
                .rev()
                .find(|earlier| server_seq.is_none() || earlier.server_seq.is_some())
                .map(|last| vec![last.event_id])
                .unwrap_or_default(),
            photos: Vec::new(),
            server_seq,
            verdict: None,
        };
        let id = event.event_id;
        self.events.push(event);
        id
    }

    fn report(&mut self) {
        let body = EventBody::Reported(Reported {
            village_id: VillageId::new(),
            category: "waste.bin_overflowing".into(),
            location: Location::new(36.45, 120.52, Some(5.0)).unwrap(),
            note: Some("bins full at the east gate".into()),
            deadline: start().with_timezone(&Utc) + Duration::days(1),
            catalogue_version: 1,
            placement: None,
        });
        self.push(0, body, Some(1));
    }

    fn state(&self) -> IssueState {
        IssueState::fold(&self.events).expect("a reported issue folds to a state")
    }
}

fn strike_off() -> EventBody {
    EventBody::StrikeOffRequested(StrikeOffRequested { note: Some("cleared".into()) })
}

fn accept() -> EventBody {
    EventBody::Accepted(Accepted { note: None })
}

fn reject(reason: &str) -> EventBody {
    EventBody::Rejected(Rejected { reason: reason.into() })
}

fn edit_note(text: &str, replaces: Option<EventId>) -> EventBody {
    EventBody::Edited(Edited {
        note: Some(text.into()),
        replaces: replaces.map(|seen| (EditField::Note, seen)).into_iter().collect(),
        ..Edited::default()
    })
}

#[test]
fn concurrent_edits_of_one_field_keep_both_values_visible() {
    let mut script = Script::new(2);
    script.report();
    // Two devices correct the note, neither having seen the other's correction.
    let first = script.push(0, edit_note("two bins", None), Some(2));
    let second = script.push(1, edit_note("three bins", None), Some(3));
    let state = script.state();
    assert_eq!(state.note.as_deref(), Some("three bins"), "the office's order decides the value");
    assert_eq!(state.conflicts.len(), 1, "{:?}", state.conflicts);
    let conflict = &state.conflicts[0];
    assert_eq!((conflict.event_id, conflict.superseded_by), (first, Some(second)));
    assert!(conflict.reason.contains("two bins"), "the replaced value is kept: {}", conflict.reason);
    assert_eq!(state.last_edits[&EditField::Note].event_id, second);

    // An edit that saw the last one replaces it quietly; an edit of another field is no conflict either.
    let third = script.push(0, edit_note("three bins, one broken", Some(second)), Some(4));
    script.push(
        1,
        EventBody::Edited(Edited { category: Some("waste.bin_broken".into()), ..Edited::default() }),
        Some(5),
    );
    let state = script.state();
    assert_eq!(state.conflicts.len(), 1, "{:?}", state.conflicts);
    assert_eq!(state.last_edits[&EditField::Note].event_id, third);
    assert_eq!(state.category, "waste.bin_broken");
}

#[test]
fn the_happy_path_ends_accepted() {
    let mut script = Script::new(1);
    script.report();
    script.push(0, EventBody::Assigned(Assigned { assignee: None, deadline: None }), None);
    script.push(0, strike_off(), None);
    script.push(0, accept(), None);
    let state = script.state();
    assert_eq!(state.status, Status::Accepted);
    assert!(state.conflicts.is_empty());
    assert_eq!(state.event_count, 4);
    assert_eq!(state.heads, vec![script.events[3].event_id]);
}

#[test]
fn a_rejection_sends_the_issue_back_and_counts_rework() {
    let mut script = Script::new(1);
    script.report();
    script.push(0, strike_off(), None);
    script.push(0, reject("bins still overflowing"), None);
    let state = script.state();
    assert_eq!(state.status, Status::Rejected);
    assert!(state.status.is_open());
    assert_eq!(state.rework_count, 1);
    assert_eq!(state.last_rejection.as_ref().map(|(_, reason)| reason.as_str()), Some("bins still overflowing"));
    script.push(0, strike_off(), None);
    script.push(0, accept(), None);
    assert_eq!(script.state().status, Status::Accepted);
    assert_eq!(script.state().rework_count, 1);
}

#[test]
fn illegal_transitions_are_refused_by_transition_and_kept_as_conflicts_by_the_fold() {
    let mut script = Script::new(1);
    script.report();
    let reported = script.state();
    let accept_early = {
        script.push(0, accept(), None);
        script.events.last().unwrap().clone()
    };
    assert!(IssueState::transition(Some(&reported), &accept_early).is_err());
    let state = script.state();
    assert_eq!(state.status, Status::Reported);
    assert_eq!(state.conflicts.len(), 1);
    assert_eq!(state.conflicts[0].kind, "accepted");

    script.push(0, EventBody::Withdrawn(Withdrawn { reason: WithdrawReason::FalseReport, note: None }), None);
    script.push(0, strike_off(), None);
    let state = script.state();
    assert_eq!(state.status, Status::Withdrawn);
    assert_eq!(state.conflicts.len(), 2);
}

#[test]
fn concurrent_accept_and_reject_keep_both_and_the_office_order_decides() {
    let mut script = Script::new(2);
    script.report();
    script.push(1, strike_off(), Some(2));
    let strike = script.events.last().unwrap().event_id;
    // Both judges saw the same strike-off; the office sequenced the rejection first.
    script.push(0, accept(), Some(4));
    script.events.last_mut().unwrap().parents = vec![strike];
    script.push(1, reject("not clean"), Some(3));
    script.events.last_mut().unwrap().parents = vec![strike];
    let state = script.state();
    assert_eq!(state.status, Status::Rejected);
    assert_eq!(state.conflicts.len(), 1);
    assert_eq!(state.conflicts[0].kind, "accepted");
    assert_eq!(state.heads.len(), 2, "two concurrent branches are both heads");
}

#[test]
fn events_refused_by_the_office_take_no_effect_but_stay_visible() {
    let mut script = Script::new(1);
    script.report();
    script.push(0, strike_off(), Some(2));
    script.events.last_mut().unwrap().verdict = Some(Verdict::Refused { reason: "not your village".into() });
    let state = script.state();
    assert_eq!(state.status, Status::Reported);
    assert!(state.conflicts[0].reason.contains("not your village"));
}

#[test]
fn unknown_kinds_are_counted_not_dropped() {
    let mut script = Script::new(1);
    script.report();
    script.push(0, EventBody::Unknown { kind: "drone_survey".into(), version: 1, data: serde_json::json!({}) }, None);
    let state = script.state();
    assert_eq!(state.unknown_event_count, 1);
    assert_eq!(state.event_count, 2);
}

#[test]
fn overdue_is_derived_from_the_deadline_and_the_status() {
    let mut script = Script::new(1);
    script.report();
    let state = script.state();
    let before = state.deadline - Duration::minutes(1);
    let after = state.deadline + Duration::minutes(1);
    assert!(!state.is_overdue(before));
    assert!(state.is_overdue(after));
    script.push(0, strike_off(), None);
    assert!(script.state().is_overdue(after), "a pending strike-off is not yet rectified");
    script.push(0, accept(), None);
    assert!(!script.state().is_overdue(after));
}

#[test]
fn an_issue_without_its_report_folds_to_nothing() {
    let mut script = Script::new(1);
    script.push(0, strike_off(), None);
    assert!(IssueState::fold(&script.events).is_none());
}

/// A random history of one issue: a report, then any kinds (legal or not) from up to three devices, some
/// of them already sequenced by the office.
fn history() -> impl Strategy<Value = Vec<Event>> {
    (1usize..4, proptest::collection::vec((0u8..10, 0usize..3, any::<bool>()), 0..24)).prop_map(|(devices, steps)| {
        let mut script = Script::new(devices);
        script.report();
        let mut next_seq = 2;
        for (kind, device, synced) in steps {
            let body = match kind {
                0 => EventBody::Assigned(Assigned { assignee: None, deadline: None }),
                1 | 2 => strike_off(),
                3 => accept(),
                4 => reject("redo"),
                5 => EventBody::Reopened(Reopened { reason: "came back".into() }),
                6 => EventBody::Withdrawn(Withdrawn { reason: WithdrawReason::FalseReport, note: None }),
                7 => EventBody::Comment(Comment { text: "seen".into() }),
                8 => EventBody::Edited(Edited { note: Some("moved".into()), ..Edited::default() }),
                _ => EventBody::Unknown { kind: "future".into(), version: 3, data: serde_json::json!({"k": 1}) },
            };
            let server_seq = synced.then(|| {
                next_seq += 1;
                next_seq
            });
            script.push(device, body, server_seq);
        }
        script.events
    })
}

proptest! {
    #[test]
    fn any_order_and_any_duplication_folds_to_the_same_state(
        events in history(),
        order in any::<proptest::sample::Index>(),
        duplicates in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
        seed in any::<u64>(),
    ) {
        let expected = IssueState::fold(&events);
        let mut delivered = events.clone();
        for pick in &duplicates {
            delivered.push(events[pick.index(events.len())].clone());
        }
        // A deterministic shuffle driven by the generated seed and rotation.
        let mut state = seed | 1;
        for i in (1..delivered.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).unwrap();
            delivered.swap(i, j);
        }
        let rotate = order.index(delivered.len());
        delivered.rotate_left(rotate);
        prop_assert_eq!(IssueState::fold(&delivered), expected);
    }

    #[test]
    fn incremental_folding_matches_a_full_fold_for_events_in_order(events in history()) {
        let mut ordered = events.clone();
        ordered.sort_by_key(Event::order_key);
        let mut state = None;
        for event in &ordered {
            state = IssueState::fold_one(state, event);
        }
        let mut full = IssueState::fold(&events);
        // Incremental folding tracks heads as it goes; the full fold derives them from the whole set.
        if let (Some(incremental), Some(full)) = (&state, &mut full) {
            prop_assert_eq!(&incremental.heads, &full.heads);
        }
        prop_assert_eq!(state, full);
    }
}
