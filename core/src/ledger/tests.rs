//! Ledger operations end to end on a real SQLite file: what is written, and that a refused operation
//! writes nothing at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration};

use super::*;
use crate::RectifyError;
use crate::clock::ManualClock;
use crate::domain::event::{EditField, EventBody};
use crate::domain::evidence::EvidenceFlag;
use crate::domain::issue::{IssueState, Status};
use crate::ids::IssueId;
use crate::store::OpenMode;

const VILLAGE: &str = "990001001001";
const OTHER_VILLAGE: &str = "990001001002";

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: Arc<ManualClock>,
    ledger: Ledger,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let clock = Arc::new(ManualClock::new(DateTime::parse_from_rfc3339("2026-11-02T09:00:00+08:00").unwrap()));
    let ledger = Ledger::open(&path, OpenMode::CreateIfMissing, clock.clone()).unwrap();
    for (code, name) in [(VILLAGE, "East Village"), (OTHER_VILLAGE, "West Village")] {
        ledger
            .upsert_village(&NewVillage {
                code: code.into(),
                name: name.into(),
                town: Some("Demo Town".into()),
                zone: Some("North Zone".into()),
                ..NewVillage::default()
            })
            .unwrap();
    }
    Fixture { _dir: dir, path, clock, ledger }
}

impl Fixture {
    fn become_(&self, role: Role, villages: &[&str]) {
        let codes: Vec<String> = villages.iter().map(|code| code.to_string()).collect();
        self.ledger.init("tester", role, &codes).unwrap();
    }

    fn report(&self) -> IssueId {
        self.ledger
            .report(&NewReport {
                category: "waste.bin_overflowing".into(),
                village_code: Some(VILLAGE.into()),
                lat: 36.46,
                lon: 120.51,
                note: Some("bins overflowing by the pond".into()),
                ..NewReport::default()
            })
            .unwrap()
            .id
    }

    /// Row counts of every table a write touches, the device counters, and the photo files.
    fn footprint(&self) -> String {
        let rows = self
            .ledger
            .store()
            .read(|conn| {
                conn.query_row(
                    "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM outbox), (SELECT count(*) FROM issues),
                            (SELECT group_concat(status) FROM issues), (SELECT count(*) FROM photos),
                            (SELECT next_device_seq || '/' || last_hlc FROM device)",
                    [],
                    |row| {
                        Ok(format!(
                            "{}/{}/{}/{:?}/{}/{:?}",
                            row.get::<_, i64>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, Option<String>>(3)?,
                            row.get::<_, i64>(4)?,
                            row.get::<_, Option<String>>(5)?
                        ))
                    },
                )
            })
            .unwrap();
        let photo_dir = self.ledger.photo_store().unwrap().root().to_path_buf();
        let files = walk(&photo_dir);
        format!("{rows} files={files}")
    }

    fn jpeg(&self, name: &str, salt: u8) -> PathBuf {
        let path = self.path.with_file_name(name);
        std::fs::write(&path, crate::photo::synthetic::jpeg(96, 64, u32::from(salt), 85, None)).unwrap();
        path
    }
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|entry| if entry.path().is_dir() { walk(&entry.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

#[track_caller]
fn refused_without_trace(fixture: &Fixture, attempt: impl FnOnce(&Ledger) -> Result<IssueState>) -> RectifyError {
    let before = fixture.footprint();
    let err = attempt(&fixture.ledger).unwrap_err();
    assert_eq!(fixture.footprint(), before, "a refused operation wrote something ({err})");
    err
}

#[test]
fn a_full_walk_records_gap_free_events_in_the_outbox() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    f.become_(Role::Secretary, &[VILLAGE]);
    let photo = f.jpeg("after.jpg", 1);
    let state = f.ledger.act(issue, &Command::StrikeOff { photos: vec![photo], note: Some("cleared".into()) }).unwrap();
    assert_eq!(state.status, Status::StrikeOffRequested);
    assert_eq!(state.strike_off.as_ref().unwrap().photos.len(), 1);
    f.become_(Role::Acceptor, &[]);
    f.ledger.act(issue, &Command::Reject { reason: "lid still broken".into() }).unwrap();
    f.become_(Role::Secretary, &[VILLAGE]);
    f.ledger.act(issue, &Command::StrikeOff { photos: vec![], note: None }).unwrap();
    f.become_(Role::Acceptor, &[]);
    let state = f.ledger.act(issue, &Command::Accept { note: None }).unwrap();
    assert_eq!(state.status, Status::Accepted);
    assert_eq!(state.rework_count, 1);

    let detail = f.ledger.issue(issue).unwrap();
    let seqs: Vec<u64> = detail.events.iter().map(|event| event.device_seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(f.ledger.outbox().unwrap().pending_events, 5);
    assert_eq!(f.ledger.outbox().unwrap().photos, 1);
    // Each event names the one before it as its parent.
    for pair in detail.events.windows(2) {
        assert_eq!(pair[1].parents, vec![pair[0].event_id]);
    }
}

#[test]
fn accepting_before_a_strike_off_is_refused_and_writes_nothing() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    f.become_(Role::Acceptor, &[]);
    let err = refused_without_trace(&f, |ledger| ledger.act(issue, &Command::Accept { note: None }));
    assert!(matches!(err, RectifyError::IllegalTransition { .. }), "{err}");
    assert!(err.to_string().contains("only a requested strike-off can be accepted"), "{err}");
}

#[test]
fn striking_off_a_withdrawn_issue_is_refused_and_its_photo_is_not_kept() {
    let f = fixture();
    f.become_(Role::Acceptor, &[]);
    let issue = f.report();
    f.ledger.act(issue, &Command::Withdraw { duplicate_of: None, note: Some("false alarm".into()) }).unwrap();
    f.become_(Role::Secretary, &[VILLAGE]);
    let photo = f.jpeg("late.jpg", 2);
    let err =
        refused_without_trace(&f, |ledger| ledger.act(issue, &Command::StrikeOff { photos: vec![photo], note: None }));
    assert!(matches!(err, RectifyError::IllegalTransition { .. }), "{err}");
}

#[test]
fn a_secretary_of_another_village_may_not_strike_off() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    f.become_(Role::Secretary, &[OTHER_VILLAGE]);
    let photo = f.jpeg("elsewhere.jpg", 3);
    let err =
        refused_without_trace(&f, |ledger| ledger.act(issue, &Command::StrikeOff { photos: vec![photo], note: None }));
    assert!(matches!(err, RectifyError::NotPermitted { .. }), "{err}");
    assert!(err.to_string().contains(VILLAGE), "{err}");
}

#[test]
fn bad_reports_are_refused_with_the_reason_and_write_nothing() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let base = NewReport {
        category: "waste.bin_overflowing".into(),
        village_code: Some(VILLAGE.into()),
        lat: 36.46,
        lon: 120.51,
        ..NewReport::default()
    };
    let good = f.jpeg("good.jpg", 7);
    let cases: Vec<(NewReport, &str)> = vec![
        (NewReport { note: Some("  ".into()), ..base.clone() }, "note is empty"),
        (NewReport { note: Some("x".repeat(1001)), ..base.clone() }, "limit is 1000"),
        (NewReport { category: "volcano".into(), ..base.clone() }, "unknown category"),
        (NewReport { lat: f64::NAN, ..base.clone() }, "latitude NaN"),
        (NewReport { lon: 181.0, ..base.clone() }, "longitude 181"),
        (NewReport { village_code: Some("123".into()), ..base.clone() }, "12 digits"),
        (NewReport { village_code: Some("990009009009".into()), ..base.clone() }, "no village with code"),
        (NewReport { photos: vec![f.path.with_file_name("missing.jpg")], ..base.clone() }, "does not exist"),
        (NewReport { photos: vec![f.path.clone()], ..base.clone() }, "not a JPEG"),
        // Refused before its photo is decoded, and with nothing left on disk.
        (
            NewReport { village_code: Some("990009009009".into()), photos: vec![good.clone()], ..base.clone() },
            "no village",
        ),
        (NewReport { category: "volcano".into(), photos: vec![good.clone()], ..base.clone() }, "unknown category"),
        // The first photo is decoded and stored, the second refused: the first must go again.
        (NewReport { photos: vec![good.clone(), f.path.clone()], ..base.clone() }, "not a JPEG"),
    ];
    for (report, expected) in cases {
        let err = refused_without_trace(&f, |ledger| ledger.report(&report));
        assert!(err.to_string().contains(expected), "expected `{expected}` in `{err}`");
    }
}

#[test]
fn unknown_issues_are_not_found() {
    let f = fixture();
    f.become_(Role::Acceptor, &[]);
    let err = refused_without_trace(&f, |ledger| ledger.act(IssueId::new(), &Command::Accept { note: None }));
    assert!(matches!(err, RectifyError::NotFound { .. }), "{err}");
    assert!(matches!(f.ledger.issue(IssueId::new()), Err(RectifyError::NotFound { .. })));
}

#[test]
fn a_batch_that_fails_halfway_keeps_nothing() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let before = f.footprint();
    let photo = f.jpeg("batch.jpg", 4);
    let err = f
        .ledger
        .batch(|batch| {
            batch.report(&NewReport {
                category: "waste.accumulated".into(),
                village_code: Some(VILLAGE.into()),
                lat: 36.0,
                lon: 120.0,
                photos: vec![photo.clone()],
                ..NewReport::default()
            })?;
            batch.report(&NewReport { category: "nonsense".into(), ..NewReport::default() })
        })
        .unwrap_err();
    assert!(matches!(err, RectifyError::InvalidInput { .. }));
    assert_eq!(f.footprint(), before);
}

#[test]
fn negative_list_counts_and_overdue_follow_the_clock() {
    let f = fixture();
    f.become_(Role::Acceptor, &[]);
    let done = f.report();
    let waiting = f.report();
    let _open = f.report();
    let withdrawn = f.report();
    for issue in [done, waiting] {
        f.ledger.act(issue, &Command::Assign { deadline: None }).unwrap();
    }
    f.become_(Role::Secretary, &[VILLAGE]);
    f.ledger.act(done, &Command::StrikeOff { photos: vec![], note: None }).unwrap();
    f.ledger.act(waiting, &Command::StrikeOff { photos: vec![], note: None }).unwrap();
    f.become_(Role::Admin, &[]);
    f.ledger.act(done, &Command::Accept { note: None }).unwrap();
    f.ledger.act(withdrawn, &Command::Withdraw { duplicate_of: Some(done), note: None }).unwrap();

    let list = f.ledger.negative_list(VILLAGE).unwrap();
    assert_eq!((list.found, list.rectified, list.awaiting_acceptance, list.remaining), (3, 1, 1, 2));
    assert_eq!(list.rectification_rate, Some(33.3));
    assert_eq!(list.overdue, 0);
    assert_eq!(list.zone.as_deref(), Some("North Zone"));

    f.clock.advance(Duration::days(2));
    let list = f.ledger.negative_list(VILLAGE).unwrap();
    assert_eq!(list.overdue, 2, "bins have a one-day deadline");
    let overdue = f.ledger.list(&ListFilter { overdue_only: true, ..ListFilter::default() }).unwrap();
    assert_eq!(overdue.len(), 2);
    let by_zone = f.ledger.list(&ListFilter { zone: Some("North Zone".into()), ..ListFilter::default() }).unwrap();
    assert_eq!(by_zone.len(), 4);
    let accepted = f.ledger.list(&ListFilter { status: Some(Status::Accepted), ..ListFilter::default() }).unwrap();
    assert_eq!(accepted.iter().map(|item| item.id).collect::<Vec<_>>(), vec![done]);
}

#[test]
fn a_village_keeps_its_id_and_issues_when_its_code_changes() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    let village = f.ledger.recode_village(VILLAGE, "990002002001", "merger-2027").unwrap();
    assert_eq!(village.code(), "990002002001");
    assert_eq!(village.codes.len(), 2);
    let by_old = f.ledger.negative_list(VILLAGE).unwrap();
    let by_new = f.ledger.negative_list("990002002001").unwrap();
    assert_eq!(by_old.village.id, by_new.village.id);
    assert_eq!(by_new.items[0].id, issue);
    assert_eq!(by_new.items[0].village, "990002002001");
    assert!(f.ledger.recode_village(OTHER_VILLAGE, "990002002001", "x").is_err());
}

#[test]
fn the_device_keeps_its_identity_when_the_user_changes() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let first = f.ledger.profile().unwrap();
    f.report();
    f.become_(Role::Acceptor, &[]);
    let second = f.ledger.profile().unwrap();
    assert_eq!(first.device_id, second.device_id);
    assert_ne!(first.user_id, second.user_id);
    f.report();
    let seqs: Vec<u64> = f
        .ledger
        .store()
        .read(|conn| crate::store::events::pending(conn, 10))
        .unwrap()
        .iter()
        .map(|e| e.device_seq)
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    assert!(matches!(f.ledger.init("sec", Role::Secretary, &[]), Err(RectifyError::InvalidInput { .. })));
}

/// A camera file with a geotag and a capture time, written beside the database.
fn geotagged(f: &Fixture, name: &str, seed: u32, lat: f64, lon: f64, taken: &str) -> PathBuf {
    use crate::photo::exif::{Capture, Gps, TakenAt};
    let capture = Capture {
        orientation: 1,
        gps: Some(Gps { lat, lon, alt: Some(12.0), error_m: Some(5.0) }),
        taken_at: TakenAt::parse(taken),
        make: Some("Test".into()),
        model: Some("Phone".into()),
        ..Capture::default()
    };
    let path = f.path.with_file_name(name);
    std::fs::write(&path, crate::photo::synthetic::jpeg(400, 300, seed, 90, Some(&capture))).unwrap();
    path
}

fn flag_names(detail: &IssueDetail) -> Vec<(String, Vec<&'static str>)> {
    let role = |photo: &crate::store::photos::IssuePhoto| format!("{:?}", photo.role);
    detail.photos.iter().map(|photo| (role(photo), photo.flags.iter().map(|flag| flag.name()).collect())).collect()
}

#[test]
fn an_honest_after_photo_raises_no_flag_and_a_dubious_one_raises_each_reason() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let before = geotagged(&f, "before.jpg", 1, 36.46, 120.51, "2026-11-02T08:55:00+08:00");
    let issue = f.ledger.report(&NewReport {
        category: "waste.bin_overflowing".into(),
        village_code: Some(VILLAGE.into()),
        lat: 36.46,
        lon: 120.51,
        photos: vec![before],
        ..NewReport::default()
    });
    let issue = issue.unwrap().id;
    let second = f.report();
    f.become_(Role::Secretary, &[VILLAGE]);

    // 11 m away, the next day: nothing to flag.
    let honest = geotagged(&f, "honest.jpg", 2, 36.4601, 120.51, "2026-11-03T10:00:00+08:00");
    f.ledger.act(issue, &Command::StrikeOff { photos: vec![honest], note: None }).unwrap();
    let detail = f.ledger.issue(issue).unwrap();
    assert_eq!(flag_names(&detail), [("Before".into(), vec![]), ("After".into(), vec![])]);
    assert!(detail.evidence_flags.is_empty());

    // 1.1 km away and taken a day before the report; the picture is also the first issue's after-photo.
    let dubious = geotagged(&f, "dubious.jpg", 2, 36.47, 120.51, "2026-11-01T10:00:00+08:00");
    f.ledger.act(second, &Command::StrikeOff { photos: vec![dubious], note: None }).unwrap();
    let detail = f.ledger.issue(second).unwrap();
    assert_eq!(flag_names(&detail), [("After".into(), vec!["reused", "far_from_issue", "taken_before_report"])]);
    assert_eq!(detail.evidence_flags, ["reused", "far_from_issue", "taken_before_report"]);
    match &detail.photos[0].flags[0] {
        EvidenceFlag::Reused { issue_id, bits_apart, .. } => {
            assert_eq!(*issue_id, Some(issue));
            assert!(*bits_apart <= 10, "{bits_apart}");
        }
        other => panic!("expected reuse, got {other:?}"),
    }
}

#[test]
fn the_before_photo_handed_in_again_as_the_after_photo_is_flagged() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let before = geotagged(&f, "before.jpg", 5, 36.46, 120.51, "2026-11-02T08:55:00+08:00");
    let issue = f
        .ledger
        .report(&NewReport {
            category: "waste.bin_overflowing".into(),
            village_code: Some(VILLAGE.into()),
            lat: 36.46,
            lon: 120.51,
            photos: vec![before.clone()],
            ..NewReport::default()
        })
        .unwrap()
        .id;
    f.become_(Role::Secretary, &[VILLAGE]);
    f.clock.advance(Duration::hours(30));
    f.ledger.act(issue, &Command::StrikeOff { photos: vec![before], note: None }).unwrap();
    let detail = f.ledger.issue(issue).unwrap();
    // It was also taken five minutes before the report, as a before-photo would be.
    assert_eq!(detail.evidence_flags, ["reused", "taken_before_report"]);
    assert!(
        matches!(&detail.photos[1].flags[0], EvidenceFlag::Reused { bits_apart: 0, issue_id: Some(id), .. } if *id == issue)
    );
}

#[test]
fn photos_without_gps_or_time_are_flagged_not_refused() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    f.become_(Role::Secretary, &[VILLAGE]);
    let bare = f.jpeg("bare.jpg", 9);
    f.ledger.act(issue, &Command::StrikeOff { photos: vec![bare], note: None }).unwrap();
    let detail = f.ledger.issue(issue).unwrap();
    assert_eq!(flag_names(&detail), [("After".into(), vec!["no_gps", "no_capture_time"])]);
}

#[test]
fn the_same_file_twice_is_one_photo_and_the_budget_counts_it_once() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let photo = geotagged(&f, "once.jpg", 3, 36.46, 120.51, "2026-11-02T08:55:00+08:00");
    let copy = f.path.with_file_name("copy.jpg");
    std::fs::copy(&photo, &copy).unwrap();
    let first = f.ledger.ingest_photo(&photo).unwrap();
    let second = f.ledger.ingest_photo(&copy).unwrap();
    assert!(!first.already_known && second.already_known);
    assert_eq!(first.photo.hash, second.photo.hash);
    let usage = f.ledger.photo_usage().unwrap();
    assert_eq!(usage.photos, 1);
    let thumb = first.photo.thumbnail.as_ref().unwrap();
    assert_eq!(usage.total_bytes(), first.photo.bytes + thumb.bytes);
    assert_eq!(usage.total_bytes(), f.ledger.photo_store().unwrap().bytes_on_disk());
    assert_eq!((first.photo.width, first.photo.height, thumb.width, thumb.height), (Some(400), Some(300), 320, 240));
}

#[test]
fn only_evidence_the_office_confirmed_is_pruned() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let kept = f.ledger.ingest_photo(&geotagged(&f, "a.jpg", 3, 36.46, 120.51, "2026-11-02T08:55:00+08:00")).unwrap();
    let confirmed =
        f.ledger.ingest_photo(&geotagged(&f, "b.jpg", 4, 36.46, 120.51, "2026-11-02T08:56:00+08:00")).unwrap();
    assert_eq!(f.ledger.prune_photos().unwrap(), PruneReport::default(), "nothing is confirmed yet");
    assert_eq!(f.ledger.confirm_photos(std::slice::from_ref(&confirmed.photo.hash)).unwrap(), 1);
    let before = f.ledger.photo_usage().unwrap();
    assert_eq!(before.prunable_bytes, confirmed.photo.bytes);
    // A file left by an ingest that never committed (the app was killed), and one an ingest is writing now.
    let store = f.ledger.photo_store().unwrap();
    let orphan = store.put_bytes(b"left behind by a killed ingest").unwrap();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(store.path_of(&orphan.relative_path))
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    let fresh = store.put_bytes(b"an ingest in progress").unwrap();
    let report = f.ledger.prune_photos().unwrap();
    let freed = confirmed.photo.bytes + orphan.byte_size;
    assert_eq!(report, PruneReport { photos: 1, bytes_freed: freed, orphans_removed: 1 });
    assert!(store.path_of(&fresh.relative_path).exists() && !store.path_of(&orphan.relative_path).exists());
    std::fs::remove_file(store.path_of(&fresh.relative_path)).unwrap();
    let after = f.ledger.photo_usage().unwrap();
    assert_eq!(after.evidence_bytes, kept.photo.bytes);
    assert_eq!(after.prunable_bytes, 0);
    assert!(f.ledger.photo_path(&f.ledger.photo(&confirmed.photo.hash).unwrap()).is_none());
    assert!(f.ledger.photo_path(&f.ledger.photo(&kept.photo.hash).unwrap()).unwrap().exists());
    assert_eq!(after.total_bytes(), f.ledger.photo_store().unwrap().bytes_on_disk());
}

/// Boundaries for the two fixture villages: two 800 m cells side by side, written as GeoJSON.
fn boundary_file(f: &Fixture) -> (PathBuf, crate::geo::synthetic::Grid) {
    let grid = crate::geo::synthetic::Grid {
        south: 36.45,
        west: 120.50,
        columns: 2,
        rows: 1,
        cell_m: 800.0,
        min_edge_points: 12,
        max_edge_points: 30,
        seed: 5,
    };
    let codes = [VILLAGE, OTHER_VILLAGE];
    let boundaries = grid.boundaries(|i, _| (codes[i].to_string(), format!("village {i} (synthetic)")));
    let path = f.path.with_file_name("boundaries.geojson");
    std::fs::write(&path, crate::geo::feature_collection(&boundaries).to_string()).unwrap();
    (path, grid)
}

#[test]
fn reports_are_placed_by_boundary_and_an_override_needs_a_reason() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let (file, grid) = boundary_file(&f);
    let imported = f.ledger.import_boundaries(&file, &BoundaryImport::default()).unwrap();
    assert_eq!((imported.features, imported.boundaries, imported.villages_created), (2, 2, 0));
    let (lat, lon) = grid.point_in_cell(1, 0, 0.5, 0.5);
    let located = f.ledger.locate(lat, lon).unwrap().unwrap();
    assert_eq!((located.code.as_str(), located.inside), (OTHER_VILLAGE, true));

    let base = NewReport { category: "waste.bin_overflowing".into(), lat, lon, ..NewReport::default() };
    let placed = f.ledger.report(&base).unwrap();
    let Some(EventBody::Reported(body)) = f.ledger.issue(placed.id).unwrap().events.first().map(|e| e.body.clone())
    else {
        panic!("no report event");
    };
    let placement = body.placement.unwrap();
    assert_eq!((placement.located, placement.inside, placement.override_reason), (located.village_id, true, None));
    assert_eq!(placed.village_id, located.village_id);

    let elsewhere = NewReport { village_code: Some(VILLAGE.into()), ..base.clone() };
    let err = refused_without_trace(&f, |ledger| ledger.report(&elsewhere));
    assert!(err.to_string().contains("--village-reason"), "{err}");
    let reason = "the pile straddles the lane; the east village agreed to clear it";
    let overridden = f.ledger.report(&NewReport { village_reason: Some(reason.into()), ..elsewhere }).unwrap();
    let Some(EventBody::Reported(body)) = f.ledger.issue(overridden.id).unwrap().events.first().map(|e| e.body.clone())
    else {
        panic!("no report event");
    };
    assert_eq!(body.placement.unwrap().override_reason.as_deref(), Some(reason));

    // Far outside every boundary, the nearest village is not guessed.
    let far = NewReport { lat: lat + 0.05, ..base.clone() };
    let err = refused_without_trace(&f, |ledger| ledger.report(&far));
    assert!(err.to_string().contains("outside the nearest village"), "{err}");

    // Both reports at this spot are open issues of the same category within 15 m.
    let nearby = f.ledger.nearby_open_issues("waste.bin_overflowing", lat + 0.00005, lon, 15.0).unwrap();
    assert_eq!(nearby.len(), 2);
    assert!(nearby.iter().all(|found| (found.distance_m - 5.6).abs() < 0.5), "{nearby:?}");
    assert!(f.ledger.nearby_open_issues("sewage.flowing", lat, lon, 15.0).unwrap().is_empty());
    assert!(f.ledger.nearby_open_issues("waste.bin_overflowing", lat + 0.001, lon, 15.0).unwrap().is_empty());
}

#[test]
fn boundary_files_with_problems_import_nothing() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let write = |name: &str, text: &str| {
        let path = f.path.with_file_name(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ring = "[[[120.5,36.45],[120.51,36.45],[120.51,36.46],[120.5,36.46],[120.5,36.45]]]";
    let feature = |properties: &str, ring: &str| {
        format!(
            r#"{{"type":"Feature","properties":{properties},"geometry":{{"type":"Polygon","coordinates":{ring}}}}}"#
        )
    };
    let good = feature(r#"{"code":"990001001001","name":"East"}"#, ring);
    let cases = [
        (
            write(
                "nocode.geojson",
                &format!(r#"{{"type":"FeatureCollection","features":[{good},{}]}}"#, feature("{}", ring)),
            ),
            "feature 2 has no \"code\"",
        ),
        (
            write(
                "projected.geojson",
                &feature(
                    r#"{"code":"990001001001"}"#,
                    "[[[500000,4000000],[500100,4000000],[500100,4000100],[500000,4000000]]]",
                ),
            ),
            "not a longitude/latitude",
        ),
        (write("newvillage.geojson", &feature(r#"{"code":"990001009009"}"#, ring)), "no name property"),
        (write("points.geojson", r#"{"type":"Point","coordinates":[120.5,36.45]}"#), "holds no Polygon"),
    ];
    // A good feature and a bad one: refused inside the write, and the good one is not kept either.
    let unnamed = feature(r#"{"code":"990001009009"}"#, ring);
    let cases = [
        cases.into_iter().collect::<Vec<_>>(),
        vec![(
            write("half.geojson", &format!(r#"{{"type":"FeatureCollection","features":[{good},{unnamed}]}}"#)),
            "no name property",
        )],
    ]
    .concat();
    for (path, expected) in cases {
        let err = f.ledger.import_boundaries(&path, &BoundaryImport::default()).unwrap_err().to_string();
        assert!(err.contains(expected), "{}: expected `{expected}` in `{err}`", path.display());
        assert_eq!(f.ledger.locate(36.455, 120.505).unwrap(), None, "{} left a boundary behind", path.display());
    }
    // Two features with one code are one village with two parts; a BOM in front is fine.
    let east = "[[[120.52,36.45],[120.53,36.45],[120.53,36.46],[120.52,36.46],[120.52,36.45]]]";
    let parts = write(
        "parts.geojson",
        &format!(
            "\u{feff}{{\"type\":\"FeatureCollection\",\"features\":[{good},{}]}}",
            feature(r#"{"code":"990001001001"}"#, east)
        ),
    );
    let report = f.ledger.import_boundaries(&parts, &BoundaryImport::default()).unwrap();
    assert_eq!((report.features, report.boundaries), (2, 1));
    let (west_part, east_part) =
        (f.ledger.locate(36.455, 120.505).unwrap().unwrap(), f.ledger.locate(36.455, 120.525).unwrap().unwrap());
    assert!(west_part.inside && east_part.inside && west_part.code == VILLAGE && east_part.code == VILLAGE);
    // A recode shows at once in what locate says.
    f.ledger.recode_village(VILLAGE, "990001001099", "test").unwrap();
    assert_eq!(f.ledger.locate(36.455, 120.505).unwrap().unwrap().code, "990001001099");
}

#[test]
fn a_recorded_walk_is_filtered_packed_and_covers_the_village_it_crossed() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let (file, grid) = boundary_file(&f);
    f.ledger.import_boundaries(&file, &BoundaryImport::default()).unwrap();
    let err = f.ledger.add_track_point(crate::geo::track::TrackPoint {
        lat: 36.45,
        lon: 120.5,
        at: None,
        accuracy_m: None,
        new_segment: false,
    });
    assert!(matches!(err, Err(RectifyError::IllegalTransition { .. })), "{err:?}");
    let started = f.ledger.start_track("morning walk").unwrap();
    assert!(matches!(f.ledger.start_track("second"), Err(RectifyError::IllegalTransition { .. })));
    let start = f.ledger.now();
    // A zig-zag walk through the middle of the west cell (which no jitter reaches), rows 80 m apart, one
    // fix a second at about 1.5 m/s.
    let mut corners = Vec::new();
    for row in 0..5 {
        let north = 0.3 + 0.1 * f64::from(row);
        let (west, east) = (0.28, 0.72);
        if row % 2 == 0 {
            corners.extend([(west, north), (east, north)])
        } else {
            corners.extend([(east, north), (west, north)])
        }
    }
    let mut fixes = Vec::new();
    for pair in corners.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let steps = ((((x1 - x0) * 800.0_f64).hypot((y1 - y0) * 800.0) / 1.5).ceil() as usize).max(1);
        for step in 0..steps {
            let t = step as f64 / steps as f64;
            fixes.push(grid.point_in_cell(0, 0, x0 + t * (x1 - x0), y0 + t * (y1 - y0)));
        }
    }
    for (second, (lat, lon)) in fixes.iter().enumerate() {
        let at = Some(start + Duration::seconds(second as i64));
        let accuracy_m = Some(if second == 100 { 120.0 } else { 5.0 });
        let lat = if second == 200 { lat + 0.01 } else { *lat };
        f.ledger
            .add_track_point(crate::geo::track::TrackPoint { lat, lon: *lon, at, accuracy_m, new_segment: false })
            .unwrap();
    }
    // A GPX file imported meanwhile becomes its own, stopped track; the walk keeps recording.
    let gpx = f.path.with_file_name("earlier.gpx");
    std::fs::write(&gpx, crate::geo::track::to_gpx("earlier", &f.ledger.track_points(started.id).unwrap()[..10]))
        .unwrap();
    let imported = f.ledger.import_gpx(&gpx, None).unwrap();
    assert_eq!((imported.points, imported.source.as_str(), imported.stopped_at.is_some()), (10, "gpx", true));
    let stopped = f.ledger.stop_track().unwrap();
    assert_eq!((stopped.id, stopped.dropped.poor_fix, stopped.dropped.jump), (started.id, 1, 1));
    assert_eq!(stopped.points as usize, fixes.len() - 2);
    assert!(stopped.stored_bytes < stopped.points * 12, "{} bytes for {} points", stopped.stored_bytes, stopped.points);
    let detail = f.ledger.track_coverage(stopped.id, 50.0).unwrap();
    assert_eq!(detail.villages.len(), 1, "{:?}", detail.villages);
    let coverage = &detail.villages[0].coverage;
    assert_eq!(detail.villages[0].code, VILLAGE);
    // Five 352 m rows and four 80 m turns, all inside the village; seen 50 m either side, that is the
    // middle of the village (about 452 × 420 m of its 800 × 800 m), less the gap left by the dropped jump.
    assert!((coverage.distance_m - stopped.length_m).abs() < 1.0, "{coverage:?} vs {}", stopped.length_m);
    assert!((stopped.length_m - 2080.0).abs() < 40.0, "{}", stopped.length_m);
    assert!(coverage.seconds > 1300.0, "{coverage:?}");
    assert!(coverage.area_share > 0.2 && coverage.area_share < 0.45, "{coverage:?}");
    let points = f.ledger.track_points(stopped.id).unwrap();
    assert_eq!(points.len() as u64, stopped.points);
    assert_eq!(f.ledger.tracks().unwrap().len(), 2);
}

fn edit_note(f: &Fixture, issue: IssueId, text: &str) -> Result<IssueState> {
    f.ledger.act(issue, &Command::Edit { category: None, note: Some(text.into()), location: None, deadline: None })
}

#[test]
fn edits_change_only_the_fields_given_and_name_the_edit_they_replace() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    let first = edit_note(&f, issue, "bins by the pond, two of them").unwrap();
    let first_edit = first.last_edits[&EditField::Note].event_id;
    assert_eq!(first.note.as_deref(), Some("bins by the pond, two of them"));
    assert_eq!(first.category, "waste.bin_overflowing");
    let moved = f
        .ledger
        .act(
            issue,
            &Command::Edit {
                category: None,
                note: Some("three bins".into()),
                location: Some((36.4601, 120.5101, Some(4.0))),
                deadline: None,
            },
        )
        .unwrap();
    assert!(moved.conflicts.is_empty(), "an edit that saw the last one is no conflict: {:?}", moved.conflicts);
    assert_eq!((moved.location.lat, moved.location.lon), (36.4601, 120.5101));
    let events = f.ledger.issue(issue).unwrap().events;
    let EventBody::Edited(body) = &events.last().unwrap().body else { panic!("not an edit") };
    assert_eq!(body.replaces.get(&EditField::Note), Some(&first_edit));
    assert_eq!(body.replaces.get(&EditField::Location), None, "the location was never edited before");

    let nothing = refused_without_trace(&f, |ledger| {
        ledger.act(issue, &Command::Edit { category: None, note: None, location: None, deadline: None })
    });
    assert!(nothing.to_string().contains("say what to change"), "{nothing}");
    let unknown = refused_without_trace(&f, |ledger| {
        ledger.act(
            issue,
            &Command::Edit { category: Some("waste.nonsense".into()), note: None, location: None, deadline: None },
        )
    });
    assert!(matches!(unknown, RectifyError::InvalidInput { .. } | RectifyError::NotFound { .. }), "{unknown}");
    let early = refused_without_trace(&f, |ledger| {
        let deadline = Some(f.clock.now().to_utc() - Duration::days(2));
        ledger.act(issue, &Command::Edit { category: None, note: None, location: None, deadline })
    });
    assert!(early.to_string().contains("before the issue was reported"), "{early}");
    let nowhere = refused_without_trace(&f, |ledger| {
        ledger.act(
            issue,
            &Command::Edit { category: None, note: None, location: Some((95.0, 0.0, None)), deadline: None },
        )
    });
    assert!(matches!(nowhere, RectifyError::InvalidInput { .. }), "{nowhere}");
}

#[test]
fn an_upgraded_release_6_file_is_folded_again_with_its_edits_and_outbox_intact() {
    let f = fixture();
    f.become_(Role::Inspector, &[]);
    let issue = f.report();
    let edited = edit_note(&f, issue, "moved to the lane").unwrap();
    let outbox = f.ledger.outbox().unwrap();
    let Fixture { _dir, path, clock, ledger } = f;
    drop(ledger);
    crate::store::fixtures::as_release_6(&path).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        let state: String = conn.query_row("SELECT state FROM issues", [], |row| row.get(0)).unwrap();
        assert_eq!(version, 6);
        assert!(!state.contains("last_edits"), "the release-6 file still has the new fold's fields");
    }
    let ledger = Ledger::open(&path, OpenMode::MustExist, clock).unwrap();
    let upgraded = ledger.issue(issue).unwrap().state;
    assert_eq!(upgraded, edited, "the upgrade did not fold the issue again");
    assert_eq!(format!("{:?}", ledger.outbox().unwrap()), format!("{outbox:?}"), "the upgrade changed the outbox");
    let again = ledger
        .act(issue, &Command::Edit { category: None, note: Some("in the lane".into()), location: None, deadline: None })
        .unwrap();
    assert!(again.conflicts.is_empty(), "after the upgrade the device still knows its own edit: {:?}", again.conflicts);
}
