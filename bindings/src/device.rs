//! [`Device`]: one device's ledger, opened at a path. Every method takes `&self` and may be called from
//! any thread at once: the ledger serialises writes on its one writer connection and reads on its
//! reader, and [`Device::interrupt`] reaches a long statement from outside those locks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rectify_core::clock::SystemClock;
use rectify_core::ids::IssueId;
use rectify_core::ledger::{Command, Ledger, ListFilter, NewReport};
use rectify_core::report::{area_bulletin, month_or_last, week_or_last};
use rectify_core::score::{Rules, Scorer, Snapshot};
use rectify_core::store::OpenMode;

use crate::Timestamp;
use crate::error::RectifyError;
use crate::records::*;
use crate::sync::{HostTransport, SyncJob, SyncListener, SyncLock, SyncSettings, SyncTransport};

type Result<T> = std::result::Result<T, RectifyError>;

/// A device's ledger: the entry object of the bindings.
#[derive(Debug, uniffi::Object)]
pub struct Device {
    ledger: Ledger,
    pub(crate) sync_lock: SyncLock,
}

impl Device {
    pub(crate) fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn act(&self, issue: IssueId, command: Command) -> Result<Issue> {
        Ok(self.ledger.act(issue, &command)?.into())
    }

    /// Runs `work` with a scorer over the ledger as it stands and the built-in assessment rules.
    fn with_scorer<T>(&self, work: impl FnOnce(&Scorer<'_>, &Snapshot) -> Result<T>) -> Result<T> {
        let snapshot = self.ledger.scoring_snapshot()?;
        let scorer =
            Scorer::new(Rules::builtin(), self.ledger.catalogue(), &snapshot).map_err(RectifyError::invalid)?;
        work(&scorer, &snapshot)
    }
}

#[uniffi::export]
impl Device {
    /// Opens the ledger at `path`, creating it (and its photo folder `<path>-photos`) when missing. A
    /// `setup` makes a fresh device act for that user; on a device that already has a user it must name
    /// the same user and role, or it is refused. Enrolled devices get their user from the office instead.
    #[uniffi::constructor(default(setup = None))]
    pub fn open(path: String, setup: Option<ProfileSetup>) -> Result<Arc<Self>> {
        if path.trim().is_empty() {
            return Err(RectifyError::invalid("give the path of the ledger file to open"));
        }
        let ledger = Ledger::open(Path::new(&path), OpenMode::CreateIfMissing, Arc::new(SystemClock))?;
        let device = Self { ledger, sync_lock: SyncLock::for_ledger(Path::new(&path)) };
        if let Some(setup) = setup {
            device.set_up(setup)?;
        }
        Ok(Arc::new(device))
    }

    /// Makes this device act for a user (when it was not enrolled with an office). On a device that has a
    /// user already, the same user, role and (when given) villages are accepted; anything else is refused.
    pub fn set_up(&self, setup: ProfileSetup) -> Result<Profile> {
        match self.profile() {
            Ok(current) => {
                let mut wanted = setup.village_codes.clone();
                let mut held = current.village_codes.clone();
                wanted.sort();
                held.sort();
                let same_villages = wanted.is_empty() || wanted == held;
                if current.user_name == setup.user_name.trim() && current.role == setup.role && same_villages {
                    Ok(current)
                } else {
                    Err(RectifyError::invalid(format!(
                        "this device already acts for {} ({:?}, villages {:?}); open another ledger file for \
                         another user",
                        current.user_name, current.role, current.village_codes
                    )))
                }
            }
            Err(RectifyError::NotInitialised { .. }) => {
                self.ledger.init(&setup.user_name, setup.role.into(), &setup.village_codes)?;
                self.profile()
            }
            Err(other) => Err(other),
        }
    }

    /// Who this device acts for.
    pub fn profile(&self) -> Result<Profile> {
        let profile = self.ledger.profile()?;
        let villages = self.ledger.villages()?;
        let village_codes = profile
            .villages
            .iter()
            .filter_map(|id| villages.iter().find(|view| view.village.id == *id).map(|view| view.code.clone()))
            .collect();
        Ok(Profile {
            device_id: profile.device_id.to_string(),
            user_id: profile.user_id.to_string(),
            user_name: profile.user_name,
            role: profile.role.into(),
            village_codes,
        })
    }

    /// Enrolls this device with the office at `server_url` using the one-time code the office printed.
    /// Run a sync afterwards to fetch the villages, boundaries and categories.
    #[uniffi::method(default(transport = None))]
    pub fn enroll(
        &self,
        server_url: String,
        code: String,
        transport: Option<Arc<dyn SyncTransport>>,
    ) -> Result<Profile> {
        let server_url = server_url.trim().trim_end_matches('/').to_string();
        if !(server_url.starts_with("http://") || server_url.starts_with("https://")) {
            return Err(RectifyError::invalid(format!("`{server_url}` is not an http:// or https:// address")));
        }
        let _no_sync_meanwhile = self.sync_lock.begin()?;
        match transport {
            Some(host) => {
                self.ledger.enroll(&HostTransport { host, base: server_url.clone() }, &server_url, &code)?;
            }
            None => {
                let http = rectify_core::sync::HttpTransport::new(&server_url);
                self.ledger.enroll(&http, &server_url, &code)?;
            }
        }
        self.profile()
    }

    /// Records a problem found on a walk, with its before-photos.
    pub fn report(&self, issue: NewIssue) -> Result<Issue> {
        let new = NewReport {
            category: issue.category,
            village_code: issue.village_code,
            lat: issue.at.lat,
            lon: issue.at.lon,
            accuracy_m: issue.at.accuracy_m,
            note: issue.note,
            photos: paths(issue.photo_paths),
            village_reason: issue.village_reason,
        };
        Ok(self.ledger.report(&new)?.into())
    }

    /// Corrects what a report said.
    pub fn edit(&self, issue_id: IssueId, edit: IssueEdit) -> Result<Issue> {
        let location = edit.at.map(|fix| (fix.lat, fix.lon, fix.accuracy_m));
        self.act(
            issue_id,
            Command::Edit { category: edit.category, note: edit.note, location, deadline: edit.deadline },
        )
    }

    /// Hands the issue to its village, with a deadline (default: the problem type's).
    #[uniffi::method(default(deadline = None))]
    pub fn assign(&self, issue_id: IssueId, deadline: Option<Timestamp>) -> Result<Issue> {
        self.act(issue_id, Command::Assign { deadline })
    }

    /// Adds photos to an issue without changing its state.
    #[uniffi::method(default(note = None))]
    pub fn attach_photos(&self, issue_id: IssueId, photo_paths: Vec<String>, note: Option<String>) -> Result<Issue> {
        self.act(issue_id, Command::AttachPhotos { photos: paths(photo_paths), note })
    }

    /// The village says the problem is fixed (销号申请), with after-photos.
    #[uniffi::method(default(note = None))]
    pub fn strike_off(&self, issue_id: IssueId, photo_paths: Vec<String>, note: Option<String>) -> Result<Issue> {
        self.act(issue_id, Command::StrikeOff { photos: paths(photo_paths), note })
    }

    /// Accepts the fix (验收通过): the only state that counts as rectified.
    #[uniffi::method(default(note = None))]
    pub fn accept(&self, issue_id: IssueId, note: Option<String>) -> Result<Issue> {
        self.act(issue_id, Command::Accept { note })
    }

    /// Refuses the strike-off; the village must rework.
    pub fn reject(&self, issue_id: IssueId, reason: String) -> Result<Issue> {
        self.act(issue_id, Command::Reject { reason })
    }

    /// Reopens an accepted issue that came back.
    pub fn reopen(&self, issue_id: IssueId, reason: String) -> Result<Issue> {
        self.act(issue_id, Command::Reopen { reason })
    }

    /// Takes the report back: a false report, or a duplicate of another issue.
    #[uniffi::method(default(duplicate_of = None, note = None))]
    pub fn withdraw(&self, issue_id: IssueId, duplicate_of: Option<IssueId>, note: Option<String>) -> Result<Issue> {
        self.act(issue_id, Command::Withdraw { duplicate_of, note })
    }

    pub fn comment(&self, issue_id: IssueId, text: String) -> Result<Issue> {
        self.act(issue_id, Command::Comment { text })
    }

    /// Takes a JPEG into the photo store (resized evidence, thumbnail, flags) before it is used.
    pub fn ingest_photo(&self, path: String) -> Result<IngestedPhoto> {
        let report = self.ledger.ingest_photo(Path::new(&path))?;
        Ok(IngestedPhoto {
            path: self.ledger.photo_path(&report.photo).map(|path| path.display().to_string()),
            hash: report.photo.hash.as_str().to_string(),
            width: report.photo.width,
            height: report.photo.height,
            already_known: report.already_known,
            warnings: warnings(&report.flags),
        })
    }

    /// Issues on this device, newest first, narrowed by `query`.
    #[uniffi::method(default(query = None))]
    pub fn list(&self, query: Option<ListQuery>) -> Result<Vec<IssueSummary>> {
        let query = query.unwrap_or_default();
        let filter = ListFilter {
            village_code: query.village_code,
            zone: query.zone,
            status: query.status.map(Into::into),
            overdue_only: query.overdue_only,
        };
        Ok(self.ledger.list(&filter)?.into_iter().map(Into::into).collect())
    }

    /// A village's negative list (负面清单) with its counts.
    pub fn negative_list(&self, village_code: String) -> Result<NegativeList> {
        Ok(self.ledger.negative_list(&village_code)?.into())
    }

    /// One issue with its whole history and where its photos are.
    pub fn issue(&self, issue_id: IssueId) -> Result<IssueDetail> {
        let detail = self.ledger.issue(issue_id)?;
        let file =
            |relative: &str| self.ledger.photo_store().map(|store| store.root().join(relative).display().to_string());
        let photos = detail
            .photos
            .iter()
            .map(|photo| IssuePhoto {
                hash: photo.photo.hash.as_str().to_string(),
                role: photo.role.into(),
                path: photo.photo.path.as_deref().and_then(file),
                thumbnail_path: photo.photo.thumbnail.as_ref().and_then(|thumb| file(&thumb.path)),
                width: photo.photo.width,
                height: photo.photo.height,
                warnings: warnings(&photo.flags),
            })
            .collect();
        let history = detail
            .events
            .iter()
            .map(|event| HistoryEntry {
                event_id: event.event_id.to_string(),
                kind: event.body.kind().to_string(),
                recorded_at: event.recorded_at.to_utc(),
                author: event.author.to_string(),
                text: event.body.describe(),
                photo_count: u32::try_from(event.photos.len()).unwrap_or(u32::MAX),
                office_seq: event.server_seq,
                refused_reason: match &event.verdict {
                    Some(rectify_core::domain::event::Verdict::Refused { reason }) => Some(reason.clone()),
                    _ => None,
                },
            })
            .collect();
        Ok(IssueDetail {
            village_code: detail.village.code().to_string(),
            village_name: detail.village.name.clone(),
            overdue: detail.overdue,
            round: detail.round.clone(),
            reported_by_name: detail.reported_by.clone(),
            history,
            photos,
            evidence_flags: detail.evidence_flags.clone(),
            issue: detail.state.into(),
        })
    }

    /// Issues past their deadline and not accepted, most overdue first.
    pub fn overdue(&self) -> Result<Vec<OverdueIssue>> {
        let now = self.ledger.now();
        self.with_scorer(|scorer, _| Ok(scorer.overdue(now).into_iter().map(Into::into).collect()))
    }

    /// Villages' scores for `month` (`2024-05`; default: last month), under the built-in rules.
    #[uniffi::method(default(month = None))]
    pub fn scores(&self, month: Option<String>) -> Result<MonthScores> {
        self.with_scorer(|scorer, _| {
            let month = month_or_last(month.as_deref(), scorer, self.ledger.now())?;
            Ok((&*scorer.scored(month)).into())
        })
    }

    /// The weekly bulletin for `week` (`2024-W21`; default: last week), for the district or one town or
    /// zone.
    #[uniffi::method(default(week = None, town = None, zone = None))]
    pub fn bulletin(&self, week: Option<String>, town: Option<String>, zone: Option<String>) -> Result<Bulletin> {
        self.with_scorer(|scorer, snapshot| {
            let week = week_or_last(week.as_deref(), scorer, self.ledger.now())?;
            Ok(area_bulletin(scorer, &snapshot.places, week, town.as_deref(), zone.as_deref())?.into())
        })
    }

    /// The problem types an inspector can choose from, task by task, in the catalogue's order.
    pub fn categories(&self) -> Vec<ProblemCategory> {
        let catalogue = self.ledger.catalogue();
        catalogue
            .tasks
            .iter()
            .filter(|task| !task.village_flag)
            .flat_map(|task| {
                task.problem_types.iter().map(move |problem| ProblemCategory {
                    code: problem.code.clone(),
                    zh: problem.zh.clone(),
                    en: problem.en.clone(),
                    task_code: task.code.clone(),
                    task_zh: task.zh.clone(),
                    task_en: task.en.clone(),
                    deadline_days: problem.deadline_days,
                    veto: problem.veto,
                })
            })
            .collect()
    }

    /// Every village the device knows (from the office's reference data), by code.
    pub fn villages(&self) -> Result<Vec<VillageInfo>> {
        Ok(self.ledger.villages()?.into_iter().map(Into::into).collect())
    }

    /// The village whose boundary holds the point, or the nearest one.
    pub fn locate(&self, lat: f64, lon: f64) -> Result<Option<LocatedVillage>> {
        Ok(self.ledger.locate(lat, lon)?.map(|found| LocatedVillage {
            village_code: found.code,
            village_name: found.name,
            inside: found.inside,
            distance_m: found.distance_m,
        }))
    }

    /// Open issues of the same problem type within `radius_m` of a spot: likely duplicates to check
    /// before reporting.
    pub fn nearby_open_issues(&self, category: String, lat: f64, lon: f64, radius_m: f64) -> Result<Vec<NearbyIssue>> {
        let found = self.ledger.nearby_open_issues(&category, lat, lon, radius_m)?;
        Ok(found
            .into_iter()
            .map(|item| NearbyIssue { issue: item.issue.into(), distance_m: item.distance_m })
            .collect())
    }

    /// Starts recording a walk; only one records at a time.
    pub fn start_track(&self, name: String) -> Result<Track> {
        Ok(self.ledger.start_track(&name)?.into())
    }

    /// Adds a fix to the walk being recorded; returns how many fixes it holds (poor fixes and jumps are
    /// filtered out when the track stops).
    pub fn add_track_point(&self, point: TrackPoint) -> Result<u64> {
        let point = rectify_core::geo::track::TrackPoint {
            lat: point.lat,
            lon: point.lon,
            at: point.at,
            accuracy_m: point.accuracy_m,
            new_segment: point.new_segment,
        };
        Ok(self.ledger.add_track_point(point)?)
    }

    pub fn stop_track(&self) -> Result<Track> {
        Ok(self.ledger.stop_track()?.into())
    }

    pub fn tracks(&self) -> Result<Vec<Track>> {
        Ok(self.ledger.tracks()?.into_iter().map(Into::into).collect())
    }

    /// What waits to go to the office.
    pub fn outbox(&self) -> Result<Outbox> {
        Ok(self.ledger.outbox()?.into())
    }

    /// A sync to run on a worker thread, cancellable from any thread. Without a transport it uses the
    /// built-in HTTP client.
    #[uniffi::method(default(transport = None, listener = None, settings = None))]
    pub fn sync_job(
        self: Arc<Self>,
        transport: Option<Arc<dyn SyncTransport>>,
        listener: Option<Arc<dyn SyncListener>>,
        settings: Option<SyncSettings>,
    ) -> Arc<SyncJob> {
        Arc::new(SyncJob::new(self, transport, listener, settings.unwrap_or_default()))
    }

    /// Runs one sync to its end on the calling thread (a job that nobody cancels).
    #[uniffi::method(default(transport = None, listener = None, settings = None))]
    pub fn sync(
        self: Arc<Self>,
        transport: Option<Arc<dyn SyncTransport>>,
        listener: Option<Arc<dyn SyncListener>>,
        settings: Option<SyncSettings>,
    ) -> Result<SyncSummary> {
        self.sync_job(transport, listener, settings).run()
    }

    /// Makes the database statements running now on other threads (a long list, a bulletin, a write)
    /// stop with `Interrupted`; a write is rolled back whole. Calls started afterwards run normally.
    pub fn interrupt(&self) {
        self.ledger.store().interrupt();
    }
}

fn paths(paths: Vec<String>) -> Vec<PathBuf> {
    paths.into_iter().map(PathBuf::from).collect()
}

#[cfg(test)]
mod tests {
    use rectify_core::domain::category::Catalogue;

    use super::*;

    fn ledger_with_village(dir: &Path) -> String {
        let path = dir.join("device.db");
        let ledger = Ledger::open(&path, OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
        ledger
            .upsert_village(&rectify_core::ledger::NewVillage {
                code: "990003000001".into(),
                name: "Test village".into(),
                ..Default::default()
            })
            .unwrap();
        path.display().to_string()
    }

    fn inspector(name: &str) -> ProfileSetup {
        ProfileSetup { user_name: name.into(), role: Role::Inspector, village_codes: Vec::new() }
    }

    #[test]
    fn a_setup_is_kept_and_a_different_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = ledger_with_village(dir.path());
        let first = Device::open(path.clone(), Some(inspector("Wang"))).unwrap().profile().unwrap();
        let again = Device::open(path.clone(), Some(inspector("Wang"))).unwrap().profile().unwrap();
        assert_eq!(first, again, "opening with the same setup must not mint a new user");
        let other = Device::open(path, Some(inspector("Li")));
        assert!(matches!(other, Err(RectifyError::InvalidInput { .. })), "{other:?}");
    }

    #[test]
    fn a_whole_issue_round_trips_through_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::open(ledger_with_village(dir.path()), Some(inspector("Wang"))).unwrap();
        let at = Fix { lat: 36.46, lon: 120.51, accuracy_m: Some(4.0) };
        let issue = device
            .report(NewIssue {
                category: "waste.bin_overflowing".into(),
                at,
                photo_paths: Vec::new(),
                note: Some("bins full".into()),
                village_code: Some("990003000001".into()),
                village_reason: None,
            })
            .unwrap();
        assert_eq!((issue.status, issue.at, issue.note.as_deref()), (IssueStatus::Reported, at, Some("bins full")));
        let edited =
            device.edit(issue.id, IssueEdit { note: Some("three bins".into()), ..IssueEdit::default() }).unwrap();
        assert_eq!(edited.note.as_deref(), Some("three bins"));
        let listed =
            device.list(Some(ListQuery { status: Some(IssueStatus::Reported), ..ListQuery::default() })).unwrap();
        assert_eq!(listed.iter().map(|item| item.id).collect::<Vec<_>>(), vec![issue.id]);
        assert_eq!(listed[0].sync_state, "pending 2");
        let detail = device.issue(issue.id).unwrap();
        assert_eq!(detail.history.iter().map(|entry| entry.kind.as_str()).collect::<Vec<_>>(), ["reported", "edited"]);
        assert_eq!(detail.village_code, "990003000001");
        let refused = device.accept(issue.id, None);
        assert!(matches!(refused, Err(RectifyError::NotPermitted { .. })), "{refused:?}");
        assert_eq!(device.outbox().unwrap().pending_events, 2, "a refused command writes nothing");
    }

    #[test]
    fn the_picker_lists_every_problem_type_with_chinese_labels_and_the_known_villages() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::open(ledger_with_village(dir.path()), None).unwrap();
        let categories = device.categories();
        let garbage = categories.iter().find(|item| item.code == "village.scattered_garbage").unwrap();
        assert_eq!(
            (garbage.zh.as_str(), garbage.task_code.as_str(), garbage.deadline_days),
            ("村内散落垃圾", "village", 1)
        );
        let burning = categories.iter().find(|item| item.code == "village.open_burning").unwrap();
        assert!(burning.veto);
        let expected: usize = Catalogue::builtin()
            .tasks
            .iter()
            .filter(|task| !task.village_flag)
            .map(|task| task.problem_types.len())
            .sum();
        assert_eq!(categories.len(), expected);
        assert!(categories.iter().all(|item| item.code.starts_with(&format!("{}.", item.task_code))));
        let villages = device.villages().unwrap();
        assert_eq!(
            villages.iter().map(|v| (v.code.as_str(), v.name.as_str())).collect::<Vec<_>>(),
            [("990003000001", "Test village")]
        );
    }

    #[test]
    fn a_job_cancelled_before_it_runs_stops_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::open(ledger_with_village(dir.path()), None).unwrap();
        device
            .ledger()
            .store()
            .write(|tx| rectify_core::store::sync::save_enrollment(tx, "http://127.0.0.1:9", "t", "e", "now"))
            .unwrap();
        let job = device.sync_job(None, None, None);
        job.cancel();
        assert!(matches!(job.run(), Err(RectifyError::Interrupted { .. })));
    }
}
