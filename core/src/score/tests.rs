//! Scoring on hand-built issues: the arithmetic of a round, the lists, the escalation windows, the towns'
//! quarterly ranking, and the properties (arrival order does not matter; rules re-score deterministically;
//! every table names its rules version).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::event::{Accepted, Event, EventBody, Reported, StrikeOffRequested, WithdrawReason, Withdrawn};
use crate::domain::issue::IssueState;
use crate::domain::validate::Location;
use crate::ids::{DeviceId, EventId, UserId};

fn place(code: &str, town: &str) -> Place {
    Place {
        village: VillageId::new(),
        code: code.into(),
        name: format!("village {code}"),
        town: Some(town.into()),
        zone: None,
    }
}

fn at(day: &str) -> i64 {
    let day: NaiveDate = day.parse().unwrap();
    day_start_ms(day, Rules::builtin().offset().unwrap()) + 10 * 3_600_000
}

fn issue(place: &Place, category: &str, day: &str) -> IssueFact {
    IssueFact {
        id: IssueId::new(),
        village: place.village,
        category: category.into(),
        status: Status::Reported,
        reported_ms: at(day),
        deadline_ms: at(day) + 3 * 86_400_000,
        accepted_ms: None,
        withdrawn_ms: None,
        lat: 36.4,
        lon: 120.5,
        note: None,
    }
}

fn month(text: &str) -> Month {
    Month::parse(text).unwrap()
}

/// `count` issues of `category` in `place` on `day`.
fn spots(snapshot: &mut Snapshot, place: usize, category: &str, day: &str, count: usize) {
    for _ in 0..count {
        let fact = issue(&snapshot.places[place], category, day);
        snapshot.issues.push(fact);
    }
}

fn town(villages: usize, name: &str, first_code: usize) -> Vec<Place> {
    (0..villages).map(|n| place(&format!("3702154{:05}", first_code + n), name)).collect()
}

#[test]
fn a_round_loses_spots_times_deduction_capped_per_category_and_a_veto_takes_the_category() {
    let mut snapshot = Snapshot { places: town(1, "T", 0), issues: Vec::new() };
    // Round 1 (上旬): 3 overflowing bins (0.5 each) and 2 illegal sheds (3 each).
    spots(&mut snapshot, 0, "waste.bin_overflowing", "2023-07-03", 3);
    spots(&mut snapshot, 0, "village.illegal_shed", "2023-07-05", 2);
    // Round 2 (下旬): 12 sheds (36, capped at 25 for `village`) and open burning in `village` too.
    spots(&mut snapshot, 0, "village.illegal_shed", "2023-07-20", 12);
    spots(&mut snapshot, 0, "sewage.black_odorous", "2023-07-21", 1);
    let rules = Rules::builtin();
    let scorer = Scorer::new(rules, Catalogue::builtin(), &snapshot).unwrap();
    let scores = scorer.month_scores(month("2023-07"));
    let village = &scores.villages[0];
    let [first, second] = village.rounds.as_slice() else { panic!("two rounds") };
    assert_eq!((first.from.to_string(), first.to.to_string()), ("2023-07-01".into(), "2023-07-16".into()));
    assert_eq!(first.score, 100.0 - 1.5 - 6.0);
    let capped = second.categories.iter().find(|category| category.category == "village").unwrap();
    assert_eq!((capped.uncapped, capped.lost), (36.0, 25.0));
    assert_eq!(second.score, 100.0 - 25.0 - 3.0);
    assert_eq!(village.score, (first.score + second.score) / 2.0);

    spots(&mut snapshot, 0, "village.open_burning", "2023-07-03", 1);
    let scorer = Scorer::new(rules, Catalogue::builtin(), &snapshot).unwrap();
    let first = &scorer.month_scores(month("2023-07")).villages[0].rounds[0];
    let village_category = first.categories.iter().find(|category| category.category == "village").unwrap();
    assert!(village_category.veto);
    assert_eq!(village_category.lost, 25.0, "a veto item takes the whole category");
    assert_eq!(first.score, 100.0 - 1.5 - 25.0);
}

#[test]
fn small_towns_share_their_villages_between_the_lists() {
    assert_eq!(list_sizes(10, 5, 40), (10, 5));
    assert_eq!(list_sizes(10, 5, 15), (10, 5));
    assert_eq!(list_sizes(10, 5, 12), (8, 4));
    assert_eq!(list_sizes(10, 5, 4), (3, 1));
    assert_eq!(list_sizes(10, 5, 1), (1, 0));
}

#[test]
fn withdrawn_reports_cost_nothing_and_only_acceptance_counts_as_rectified() {
    let mut snapshot = Snapshot { places: town(1, "T", 0), issues: Vec::new() };
    spots(&mut snapshot, 0, "village.illegal_shed", "2023-07-03", 3);
    snapshot.issues[0].withdrawn_ms = Some(at("2023-07-04"));
    snapshot.issues[1].accepted_ms = Some(at("2023-07-05"));
    snapshot.issues[2].status = Status::StrikeOffRequested;
    let scorer = Scorer::new(Rules::builtin(), Catalogue::builtin(), &snapshot).unwrap();
    assert_eq!(scorer.month_scores(month("2023-07")).villages[0].rounds[0].score, 94.0);
    let rates = scorer.rates(Some(Level::Town), None, at("2023-08-01"));
    assert_eq!((rates[0].found, rates[0].accepted, rates[0].rate), (2, 1, Some(50.0)));
}

/// A town of six villages where `village 0` is the worst in each of `bad_months`.
fn black_listed_in(bad_months: &[&str]) -> Snapshot {
    let mut snapshot = Snapshot { places: town(6, "T", 0), issues: Vec::new() };
    for (n, _) in snapshot.places.clone().iter().enumerate().skip(1) {
        for month in ["2023-01", "2023-02", "2023-03", "2023-04"] {
            spots(&mut snapshot, n, "waste.bin_overflowing", &format!("{month}-0{n}"), n);
        }
    }
    for month in bad_months {
        spots(&mut snapshot, 0, "village.illegal_shed", &format!("{month}-10"), 5);
    }
    snapshot
}

fn small_lists() -> Rules {
    let mut rules = Rules::builtin().clone();
    rules.lists.red = 2;
    rules.lists.black = 1;
    rules
}

fn escalation_of(snapshot: &Snapshot, rules: &Rules, in_month: &str) -> Option<Action> {
    let scorer = Scorer::new(rules, Catalogue::builtin(), snapshot).unwrap();
    let escalations = scorer.escalations(month(in_month));
    escalations.escalations.iter().find(|item| item.code == snapshot.places[0].code).map(|item| item.action)
}

#[test]
fn two_consecutive_black_months_bring_an_interview_and_three_organisational_handling() {
    let rules = small_lists();
    let two = black_listed_in(&["2023-01", "2023-02"]);
    let scorer = Scorer::new(&rules, Catalogue::builtin(), &two).unwrap();
    let lists = scorer.lists(month("2023-02"));
    assert_eq!(lists.groups[0].black[0].code, two.places[0].code, "{lists:?}");
    assert!(lists.groups[0].black[0].reason.as_deref().unwrap().contains("私搭乱建"), "{lists:?}");
    assert_eq!(escalation_of(&two, &rules, "2023-02"), Some(Action::Interview));
    assert_eq!(escalation_of(&two, &rules, "2023-01"), None, "one month is not yet an escalation");

    let three = black_listed_in(&["2023-01", "2023-02", "2023-03"]);
    assert_eq!(escalation_of(&three, &rules, "2023-03"), Some(Action::OrganisationalHandling));
    let scorer = Scorer::new(&rules, Catalogue::builtin(), &three).unwrap();
    let item = scorer.escalations(month("2023-03")).escalations.into_iter().next().unwrap();
    assert_eq!(item.black_months, vec!["2023-01", "2023-02", "2023-03"]);

    let apart = black_listed_in(&["2023-01", "2023-03"]);
    assert_eq!(escalation_of(&apart, &rules, "2023-03"), None, "months 1 and 3 are not consecutive");

    let mut yearly = rules.clone();
    yearly.escalations = vec![rules::EscalationRule {
        window: Window::CumulativeInYear,
        count: 2,
        action: Action::Interview,
        who: String::new(),
    }];
    assert_eq!(escalation_of(&apart, &yearly, "2023-03"), Some(Action::Interview), "two months in the year");
}

/// Towns `A`..`E` of two villages each; each quarter's month scores are set by `lost` per round.
fn towns_losing(lost: &[(&str, [f64; 2])]) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for (n, (name, _)) in lost.iter().enumerate() {
        snapshot.places.extend(town(2, name, n * 10));
    }
    for (n, (_, [q1, q2])) in lost.iter().enumerate() {
        for (quarter_months, points) in
            [(["2023-01", "2023-02", "2023-03"], q1), (["2023-04", "2023-05", "2023-06"], q2)]
        {
            // Illegal sheds cost 3 each; a round loses `points` (rounded to sheds) in both villages.
            let sheds = (points / 3.0).round() as usize;
            for month in quarter_months {
                for village in [n * 2, n * 2 + 1] {
                    for day in ["03", "20"] {
                        spots(&mut snapshot, village, "village.illegal_shed", &format!("{month}-{day}"), sheds);
                    }
                }
            }
        }
    }
    snapshot
}

#[test]
fn towns_twice_in_the_bottom_under_80_are_criticised_and_interviewed_but_not_at_80_or_more() {
    let mut rules = Rules::builtin().clone();
    rules.town_ranking.praised_top = 2;
    rules.town_ranking.criticised_bottom = 2;
    let snapshot = towns_losing(&[
        ("A", [0.0, 0.0]),
        ("B", [3.0, 3.0]),
        ("C", [6.0, 6.0]),
        ("D", [12.0, 12.0]),
        ("E", [24.0, 24.0]),
    ]);
    let scorer = Scorer::new(&rules, Catalogue::builtin(), &snapshot).unwrap();
    let q2 = scorer.town_ranking(2023, 2).unwrap();
    let town = |name: &str| q2.towns.iter().find(|town| town.town == name).unwrap().clone();
    assert_eq!(q2.towns.iter().map(|town| town.town.as_str()).collect::<Vec<_>>(), ["A", "B", "C", "D", "E"]);
    assert!(town("A").praised && town("B").praised && !town("C").praised);
    assert_eq!(town("E").score, 76.0);
    assert!(town("E").bottom && town("E").criticised && town("E").interview, "{:?}", town("E"));
    assert_eq!(town("D").score, 88.0);
    assert!(town("D").bottom && !town("D").criticised, "a bottom town scoring 80 or more is not criticised");
    assert!(town("D").interview, "two quarters in the bottom group still bring the interview");

    let once = towns_losing(&[
        ("A", [0.0, 0.0]),
        ("B", [3.0, 3.0]),
        ("C", [24.0, 6.0]),
        ("D", [12.0, 12.0]),
        ("E", [6.0, 24.0]),
    ]);
    let scorer = Scorer::new(&rules, Catalogue::builtin(), &once).unwrap();
    let q2 = scorer.town_ranking(2023, 2).unwrap();
    let e = q2.towns.iter().find(|town| town.town == "E").unwrap();
    assert!(e.criticised && !e.interview, "one quarter in the bottom is criticism, not yet an interview");
}

#[test]
fn every_table_names_the_rules_version_it_used() {
    let mut rules = small_lists();
    rules.version = "test-7".into();
    let snapshot = black_listed_in(&["2023-01", "2023-02"]);
    let scorer = Scorer::new(&rules, Catalogue::builtin(), &snapshot).unwrap();
    assert_eq!(scorer.month_scores(month("2023-02")).rules_version, "test-7");
    assert_eq!(scorer.lists(month("2023-02")).rules_version, "test-7");
    assert_eq!(scorer.escalations(month("2023-02")).rules_version, "test-7");
    assert_eq!(scorer.town_ranking(2023, 1).unwrap().rules_version, "test-7");
    let week = crate::report::Week::parse("2023-W07").unwrap();
    let bulletin = crate::report::bulletin(&scorer, week, &|_| true);
    assert_eq!(bulletin.rules_version, "test-7");
    let csv = bulletin.table().to_csv();
    assert!(csv.lines().skip(1).all(|line| line.ends_with("test-7")), "{csv}");
    assert_eq!(crate::report::issues_geojson(&scorer, &snapshot.issues)["rules_version"], "test-7");
}

#[test]
fn a_rule_change_rescores_history_the_same_way_every_time() {
    let snapshot = black_listed_in(&["2023-01", "2023-02", "2023-03"]);
    let before = Rules::builtin().clone();
    let mut after = before.clone();
    after.version = "2026.2".into();
    after.categories.get_mut("village").unwrap().problem_types.get_mut("village.illegal_shed").unwrap().per_spot =
        Some(1.0);
    let score = |rules: &Rules| {
        let scorer = Scorer::new(rules, Catalogue::builtin(), &snapshot).unwrap();
        (scorer.month_scores(month("2023-02")), scorer.lists(month("2023-02")), scorer.escalations(month("2023-03")))
    };
    let (first, again, changed) = (score(&before), score(&before), score(&after));
    assert_eq!(first, again);
    assert_eq!(score(&after), changed);
    let village = |scores: &MonthScores| {
        scores.villages.iter().find(|v| v.village.code == snapshot.places[0].code).unwrap().score
    };
    assert_eq!(village(&first.0), 100.0 - 15.0 / 2.0);
    assert_eq!(village(&changed.0), 100.0 - 5.0 / 2.0);
    assert_eq!(changed.1.rules_version, "2026.2");
}

fn event(issue: IssueId, device: DeviceId, seq: u64, body: EventBody, at: DateTime<FixedOffset>) -> Event {
    Event {
        event_id: EventId::new(),
        issue_id: issue,
        device_id: device,
        device_seq: seq,
        author: UserId::new(),
        body,
        hlc: crate::clock::Hlc::default().tick(at),
        recorded_at: at,
        parents: Vec::new(),
        photos: Vec::new(),
        server_seq: Some(seq),
        verdict: None,
    }
}

/// The fact the store would write for a folded state (the columns `save_state` fills).
fn fact_of(state: &IssueState) -> IssueFact {
    IssueFact {
        id: state.id,
        village: state.village_id,
        category: state.category.clone(),
        status: state.status,
        reported_ms: state.reported.at.timestamp_millis(),
        deadline_ms: state.deadline.timestamp_millis(),
        accepted_ms: state.accepted.as_ref().map(|stamp| stamp.at.timestamp_millis()),
        withdrawn_ms: state.withdrawn.as_ref().map(|(stamp, _)| stamp.at.timestamp_millis()),
        lat: state.location.lat,
        lon: state.location.lon,
        note: state.note.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Events delivered in any order fold to the same issues, so the scores cannot depend on the order.
    #[test]
    fn scores_do_not_depend_on_the_order_events_arrived(
        issues in proptest::collection::vec((0usize..4, 0usize..5, 0u32..60, 0u8..4), 1..30),
        shuffle in any::<u64>(),
    ) {
        let places = town(4, "T", 0);
        let categories = ["waste.bin_overflowing", "village.illegal_shed", "sewage.black_odorous", "village.open_burning", "courtyard.messy"];
        let start: DateTime<FixedOffset> = Utc.with_ymd_and_hms(2023, 7, 1, 1, 0, 0).unwrap().fixed_offset();
        let device = DeviceId::new();
        let mut events = Vec::new();
        let mut seq = 0;
        for (village, category, minutes_in, fate) in issues {
            let id = IssueId::new();
            let reported = start + Duration::hours(i64::from(minutes_in) * 13);
            let mut next = |body: EventBody, later: i64| {
                seq += 1;
                event(id, device, seq, body, reported + Duration::hours(later))
            };
            events.push(next(EventBody::Reported(Reported {
                village_id: places[village].village,
                category: categories[category].into(),
                location: Location::new(36.4, 120.5, None).unwrap(),
                note: None,
                deadline: (reported + Duration::days(2)).with_timezone(&Utc),
                catalogue_version: 1,
                placement: None,
            }), 0));
            if fate >= 1 {
                events.push(next(EventBody::StrikeOffRequested(StrikeOffRequested { note: None }), 5));
            }
            if fate >= 2 {
                events.push(next(EventBody::Accepted(Accepted { note: None }), 30));
            }
            if fate == 3 {
                events.push(next(EventBody::Withdrawn(Withdrawn { reason: WithdrawReason::FalseReport, note: None }), 1));
            }
        }
        let mut shuffled = events.clone();
        let mut state = shuffle;
        for index in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(index, (state >> 33) as usize % (index + 1));
        }
        let facts = |events: &[Event]| {
            let mut by_issue: BTreeMap<IssueId, Vec<&Event>> = BTreeMap::new();
            for event in events {
                by_issue.entry(event.issue_id).or_default().push(event);
            }
            by_issue.values().filter_map(|history| IssueState::fold(history.iter().copied())).map(|state| fact_of(&state)).collect::<Vec<_>>()
        };
        let (in_order, out_of_order) = (Snapshot { places: places.clone(), issues: facts(&events) }, Snapshot { places: places.clone(), issues: facts(&shuffled) });
        let rules = Rules::builtin();
        let one = Scorer::new(rules, Catalogue::builtin(), &in_order).unwrap();
        let two = Scorer::new(rules, Catalogue::builtin(), &out_of_order).unwrap();
        prop_assert_eq!(one.month_scores(month("2023-07")), two.month_scores(month("2023-07")));
        prop_assert_eq!(one.lists(month("2023-08")), two.lists(month("2023-08")));
        prop_assert_eq!(one.rates(None, None, at("2023-09-01")), two.rates(None, None, at("2023-09-01")));
        let week = crate::report::Week::parse("2023-W28").unwrap();
        prop_assert_eq!(crate::report::bulletin(&one, week, &|_| true), crate::report::bulletin(&two, week, &|_| true));
    }
}
