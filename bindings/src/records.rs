//! The plain values that cross the FFI: what the host passes in (a new report, an edit, a list query, a
//! track point) and what it gets back (issues, lists, history, scores, the bulletin, sync progress). Each
//! is a flat record or a C-like enum, so it reads as a data class in Kotlin, a struct in Swift and a
//! dataclass-like object in Python; each is converted from the core's richer type here.

use rectify_core::domain::evidence::EvidenceFlag;
use rectify_core::domain::issue::{IssueState, Status};
use rectify_core::domain::photo::PhotoRole as CorePhotoRole;
use rectify_core::domain::role::Role as CoreRole;
use rectify_core::ids::IssueId;
use rectify_core::sync::{Phase, Progress};

use crate::Timestamp;

/// Who a device acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// 测评组成员: walks villages and reports problems.
    Inspector,
    /// 村支部书记: fixes their villages' problems and strikes them off.
    Secretary,
    /// 环卫办验收人员: accepts or rejects strike-offs.
    Acceptor,
    /// 管理员: may do everything.
    Admin,
}

impl From<CoreRole> for Role {
    fn from(role: CoreRole) -> Self {
        match role {
            CoreRole::Inspector => Self::Inspector,
            CoreRole::Secretary => Self::Secretary,
            CoreRole::Acceptor => Self::Acceptor,
            CoreRole::Admin => Self::Admin,
        }
    }
}

impl From<Role> for CoreRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Inspector => Self::Inspector,
            Role::Secretary => Self::Secretary,
            Role::Acceptor => Self::Acceptor,
            Role::Admin => Self::Admin,
        }
    }
}

/// Where an issue stands. Only `Accepted` counts as rectified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IssueStatus {
    Reported,
    Assigned,
    StrikeOffRequested,
    Rejected,
    Accepted,
    Withdrawn,
}

impl From<Status> for IssueStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Reported => Self::Reported,
            Status::Assigned => Self::Assigned,
            Status::StrikeOffRequested => Self::StrikeOffRequested,
            Status::Rejected => Self::Rejected,
            Status::Accepted => Self::Accepted,
            Status::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<IssueStatus> for Status {
    fn from(status: IssueStatus) -> Self {
        match status {
            IssueStatus::Reported => Self::Reported,
            IssueStatus::Assigned => Self::Assigned,
            IssueStatus::StrikeOffRequested => Self::StrikeOffRequested,
            IssueStatus::Rejected => Self::Rejected,
            IssueStatus::Accepted => Self::Accepted,
            IssueStatus::Withdrawn => Self::Withdrawn,
        }
    }
}

/// Who a fresh device acts for, when it is set up by hand rather than enrolled with an office.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ProfileSetup {
    pub user_name: String,
    pub role: Role,
    /// Village codes; a secretary must name at least one.
    #[uniffi(default = [])]
    pub village_codes: Vec<String>,
}

/// Who this device acts for now.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Profile {
    pub device_id: String,
    pub user_id: String,
    pub user_name: String,
    pub role: Role,
    /// Codes of the villages the user answers for (a secretary) or narrows to.
    pub village_codes: Vec<String>,
}

/// A GPS fix.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres, when the receiver gives one.
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
}

/// A problem found on a walk.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NewIssue {
    /// A problem-type code such as `waste.bin_overflowing`.
    pub category: String,
    pub at: Fix,
    /// Paths of the before-photos (JPEG); they are copied into the ledger's photo store.
    #[uniffi(default = [])]
    pub photo_paths: Vec<String>,
    #[uniffi(default = None)]
    pub note: Option<String>,
    /// The village's code; may be left out when the boundary at `at` or the device's one village says it.
    #[uniffi(default = None)]
    pub village_code: Option<String>,
    /// Why the issue is charged to another village than the one whose boundary holds the point.
    #[uniffi(default = None)]
    pub village_reason: Option<String>,
}

/// A correction of what a report said: only the fields given change, and at least one must be given.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct IssueEdit {
    #[uniffi(default = None)]
    pub category: Option<String>,
    #[uniffi(default = None)]
    pub note: Option<String>,
    #[uniffi(default = None)]
    pub at: Option<Fix>,
    #[uniffi(default = None)]
    pub deadline: Option<Timestamp>,
}

/// An event that did not take effect where it landed (or an edit replaced by a concurrent one).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IssueConflict {
    pub event_id: String,
    pub kind: String,
    pub author: String,
    pub reason: String,
    pub superseded_by: Option<String>,
}

/// An issue as it stands after everything this device knows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Issue {
    pub id: IssueId,
    pub village_id: String,
    pub category: String,
    pub at: Fix,
    pub note: Option<String>,
    pub status: IssueStatus,
    pub reported_at: Timestamp,
    pub reported_by: String,
    pub deadline: Timestamp,
    /// Hashes of the before-photos.
    pub before_photos: Vec<String>,
    /// Hashes of the after-photos of the current strike-off, if any.
    pub after_photos: Vec<String>,
    pub strike_off_note: Option<String>,
    pub accepted_at: Option<Timestamp>,
    pub last_rejection_reason: Option<String>,
    pub rework_count: u32,
    pub reopen_count: u32,
    pub comment_count: u32,
    pub event_count: u32,
    pub conflicts: Vec<IssueConflict>,
}

impl From<IssueState> for Issue {
    fn from(state: IssueState) -> Self {
        let hashes = |photos: &[rectify_core::domain::photo::PhotoHash]| {
            photos.iter().map(|hash| hash.as_str().to_string()).collect::<Vec<_>>()
        };
        Self {
            id: state.id,
            village_id: state.village_id.to_string(),
            category: state.category.clone(),
            at: Fix { lat: state.location.lat, lon: state.location.lon, accuracy_m: state.location.accuracy_m },
            note: state.note.clone(),
            status: state.status.into(),
            reported_at: state.reported.at.to_utc(),
            reported_by: state.reported.by.to_string(),
            deadline: state.deadline,
            before_photos: hashes(&state.before_photos),
            after_photos: state.strike_off.as_ref().map(|strike| hashes(&strike.photos)).unwrap_or_default(),
            strike_off_note: state.strike_off.as_ref().and_then(|strike| strike.note.clone()),
            accepted_at: state.accepted.as_ref().map(|stamp| stamp.at.to_utc()),
            last_rejection_reason: state.last_rejection.as_ref().map(|(_, reason)| reason.clone()),
            rework_count: state.rework_count,
            reopen_count: state.reopen_count,
            comment_count: state.comment_count,
            event_count: state.event_count,
            conflicts: state
                .conflicts
                .iter()
                .map(|conflict| IssueConflict {
                    event_id: conflict.event_id.to_string(),
                    kind: conflict.kind.clone(),
                    author: conflict.author.to_string(),
                    reason: conflict.reason.clone(),
                    superseded_by: conflict.superseded_by.map(|id| id.to_string()),
                })
                .collect(),
        }
    }
}

/// One line of a list: enough to draw a row and its sync badge.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IssueSummary {
    pub id: IssueId,
    pub village_code: String,
    pub village_name: String,
    pub category: String,
    pub status: IssueStatus,
    pub deadline: Timestamp,
    pub reported_at: Timestamp,
    pub overdue: bool,
    pub rework_count: u32,
    pub note: Option<String>,
    pub lat: f64,
    pub lon: f64,
    /// Events of the issue the office has not stored yet.
    pub unsynced_events: u32,
    /// Events of the issue the office refused.
    pub refused_events: u32,
    /// `synced`, `pending N`, `refused N`.
    pub sync_state: String,
}

impl From<rectify_core::store::issues::IssueSummary> for IssueSummary {
    fn from(item: rectify_core::store::issues::IssueSummary) -> Self {
        let sync_state = item.sync_state();
        Self {
            id: item.id,
            village_code: item.village,
            village_name: item.village_name,
            category: item.category,
            status: item.status.into(),
            deadline: item.deadline,
            reported_at: item.reported_at,
            overdue: item.overdue,
            rework_count: item.rework_count,
            note: item.note,
            lat: item.lat,
            lon: item.lon,
            unsynced_events: item.unsynced_events,
            refused_events: item.refused_events,
            sync_state,
        }
    }
}

/// What a list asks for; every field narrows it.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ListQuery {
    #[uniffi(default = None)]
    pub village_code: Option<String>,
    #[uniffi(default = None)]
    pub zone: Option<String>,
    #[uniffi(default = None)]
    pub status: Option<IssueStatus>,
    #[uniffi(default = false)]
    pub overdue_only: bool,
}

/// A village's negative list (负面清单) with the counts a bulletin shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NegativeList {
    pub village_code: String,
    pub village_name: String,
    pub town: Option<String>,
    pub zone: Option<String>,
    pub found: u32,
    pub rectified: u32,
    pub awaiting_acceptance: u32,
    pub remaining: u32,
    pub overdue: u32,
    /// Rectified ÷ found in percent, to one decimal; none when nothing was found.
    pub rectification_rate: Option<f64>,
    pub items: Vec<IssueSummary>,
}

impl From<rectify_core::ledger::NegativeList> for NegativeList {
    fn from(list: rectify_core::ledger::NegativeList) -> Self {
        Self {
            village_code: list.village.code().to_string(),
            village_name: list.village.name.clone(),
            town: list.town,
            zone: list.zone,
            found: list.found,
            rectified: list.rectified,
            awaiting_acceptance: list.awaiting_acceptance,
            remaining: list.remaining,
            overdue: list.overdue,
            rectification_rate: list.rectification_rate,
            items: list.items.into_iter().map(Into::into).collect(),
        }
    }
}

/// A reason to doubt a photo, by name (`no_gps`, `far_from_issue`, …) and as a sentence.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EvidenceWarning {
    pub name: String,
    pub description: String,
}

pub(crate) fn warnings(flags: &[EvidenceFlag]) -> Vec<EvidenceWarning> {
    flags.iter().map(|flag| EvidenceWarning { name: flag.name().to_string(), description: flag.describe() }).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PhotoRole {
    /// Taken when the problem was found.
    Before,
    /// Taken after the fix, with a strike-off.
    After,
}

impl From<CorePhotoRole> for PhotoRole {
    fn from(role: CorePhotoRole) -> Self {
        match role {
            CorePhotoRole::Before => Self::Before,
            CorePhotoRole::After => Self::After,
        }
    }
}

/// A photo of an issue, with where its files are on this device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IssuePhoto {
    pub hash: String,
    pub role: PhotoRole,
    /// The evidence image; none once the office confirmed it and the device pruned it, or while it has
    /// not been fetched.
    pub path: Option<String>,
    pub thumbnail_path: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub warnings: Vec<EvidenceWarning>,
}

/// One event in an issue's history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct HistoryEntry {
    pub event_id: String,
    /// `reported`, `strike_off_requested`, `accepted`, …
    pub kind: String,
    pub recorded_at: Timestamp,
    pub author: String,
    /// The note, reason or text the event carries.
    pub text: String,
    pub photo_count: u32,
    /// The office's number for it, once the office stored it.
    pub office_seq: Option<u64>,
    /// Why the office refused it, if it did.
    pub refused_reason: Option<String>,
}

/// One issue, everything about it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IssueDetail {
    pub issue: Issue,
    pub village_code: String,
    pub village_name: String,
    pub overdue: bool,
    /// The assessment round it was found in (e.g. `2024-05 R1`).
    pub round: String,
    pub reported_by_name: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub photos: Vec<IssuePhoto>,
    pub evidence_flags: Vec<String>,
}

/// A photo taken into the store.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IngestedPhoto {
    pub hash: String,
    pub path: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// True when the same original had been taken in before: nothing new was stored.
    pub already_known: bool,
    pub warnings: Vec<EvidenceWarning>,
}

/// An issue past its deadline and not yet accepted.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OverdueIssue {
    pub issue_id: IssueId,
    pub village_code: String,
    pub village_name: String,
    pub zone: Option<String>,
    pub category: String,
    pub status: IssueStatus,
    pub deadline: Timestamp,
    pub days_overdue: i64,
}

impl From<rectify_core::score::OverdueItem> for OverdueIssue {
    fn from(item: rectify_core::score::OverdueItem) -> Self {
        Self {
            issue_id: item.issue,
            village_code: item.code,
            village_name: item.village,
            zone: item.zone,
            category: item.category,
            status: item.status.into(),
            deadline: item.deadline,
            days_overdue: item.days_overdue,
        }
    }
}

/// A village's score for a month, ranked within its town or zone.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VillageScore {
    pub village_code: String,
    pub village_name: String,
    pub month: String,
    pub score: f64,
    pub rank: u32,
    pub group: String,
    pub group_size: u32,
    /// The month's worst problems in a line, e.g. `乱搭乱建 ×3 (−9.0)`.
    pub reason: String,
}

/// Scores with the rules version they were computed under.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct MonthScores {
    pub rules_version: String,
    pub month: String,
    pub villages: Vec<VillageScore>,
}

impl From<&rectify_core::score::MonthScores> for MonthScores {
    fn from(scores: &rectify_core::score::MonthScores) -> Self {
        Self {
            rules_version: scores.rules_version.clone(),
            month: scores.month.clone(),
            villages: scores
                .villages
                .iter()
                .map(|item| VillageScore {
                    village_code: item.village.code.clone(),
                    village_name: item.village.name.clone(),
                    month: item.month.clone(),
                    score: item.score,
                    rank: count(item.rank),
                    group: item.group.clone(),
                    group_size: count(item.group_size),
                    reason: item.reason(),
                })
                .collect(),
        }
    }
}

/// One village's line of the weekly bulletin (or the total line).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BulletinRow {
    pub no: u32,
    pub village_code: String,
    pub village_name: String,
    pub new_this_week: u32,
    pub total_assigned: u32,
    pub accepted_this_week: u32,
    pub total_accepted: u32,
    pub open: u32,
    pub overdue: u32,
    /// Cumulative accepted ÷ assigned in percent; none when nothing was ever found.
    pub rate: Option<f64>,
    pub rank: u32,
    /// `red` or `black` on the latest monthly lists.
    pub list: Option<String>,
    pub typical_problems: String,
}

impl From<&rectify_core::report::BulletinRow> for BulletinRow {
    fn from(row: &rectify_core::report::BulletinRow) -> Self {
        Self {
            no: count(row.no),
            village_code: row.code.clone(),
            village_name: row.village.clone(),
            new_this_week: row.new_this_week,
            total_assigned: row.total_assigned,
            accepted_this_week: row.accepted_this_week,
            total_accepted: row.total_accepted,
            open: row.open,
            overdue: row.overdue,
            rate: row.rate,
            rank: count(row.rank),
            list: row.list.clone(),
            typical_problems: row.typical_problems.clone(),
        }
    }
}

/// The weekly bulletin (通报).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Bulletin {
    pub rules_version: String,
    /// `2024-W21`.
    pub week: String,
    /// First and last day, `YYYY-MM-DD`.
    pub from_day: String,
    pub to_day: String,
    pub lists_month: String,
    pub rows: Vec<BulletinRow>,
    pub total: BulletinRow,
}

impl From<rectify_core::report::Bulletin> for Bulletin {
    fn from(bulletin: rectify_core::report::Bulletin) -> Self {
        Self {
            rules_version: bulletin.rules_version,
            week: bulletin.week,
            from_day: bulletin.from.to_string(),
            to_day: bulletin.to.to_string(),
            lists_month: bulletin.lists_month,
            rows: bulletin.rows.iter().map(Into::into).collect(),
            total: (&bulletin.total).into(),
        }
    }
}

/// A kind of problem an inspector can record, with its labels for a picker.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ProblemCategory {
    /// What `NewIssue.category` takes, e.g. `village.scattered_garbage`.
    pub code: String,
    /// The Chinese label, as the campaign's documents name it.
    pub zh: String,
    pub en: String,
    /// The key task (任务) it belongs to, for grouping.
    pub task_code: String,
    pub task_zh: String,
    pub task_en: String,
    /// Days a village has to fix it; 0 means by the end of the day it was reported.
    pub deadline_days: u16,
    /// A veto item (e.g. open burning) zeroes its category when scored.
    pub veto: bool,
}

/// A village the device knows, for choosing one by hand.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VillageInfo {
    pub code: String,
    pub name: String,
    pub town: Option<String>,
    pub zone: Option<String>,
    /// One of the "weak-base" villages flagged under task 8.
    pub weak_base: bool,
}

impl From<rectify_core::ledger::VillageView> for VillageInfo {
    fn from(view: rectify_core::ledger::VillageView) -> Self {
        Self {
            code: view.code,
            name: view.village.name,
            town: view.town,
            zone: view.zone,
            weak_base: view.village.weak_base,
        }
    }
}

/// Where a point is, in village terms.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LocatedVillage {
    pub village_code: String,
    pub village_name: String,
    /// Whether the point is inside the boundary; otherwise this is the nearest village.
    pub inside: bool,
    /// Metres to the boundary; 0 inside.
    pub distance_m: f64,
}

/// An open issue near a spot: a possible duplicate of what is about to be reported.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyIssue {
    pub issue: IssueSummary,
    pub distance_m: f64,
}

/// A fix recorded on a walk.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct TrackPoint {
    pub lat: f64,
    pub lon: f64,
    #[uniffi(default = None)]
    pub at: Option<Timestamp>,
    #[uniffi(default = None)]
    pub accuracy_m: Option<f64>,
    /// The first fix after a gap (GPS lost, app paused): the walk's line does not join it to the last one.
    #[uniffi(default = false)]
    pub new_segment: bool,
}

/// A recorded walk.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Track {
    pub id: String,
    pub name: String,
    /// `recorded` or `gpx`.
    pub source: String,
    pub started_at: String,
    /// None while it is being recorded.
    pub stopped_at: Option<String>,
    pub points: u64,
    pub length_m: f64,
}

impl From<rectify_core::ledger::TrackSummary> for Track {
    fn from(track: rectify_core::ledger::TrackSummary) -> Self {
        Self {
            id: track.id.to_string(),
            name: track.name,
            source: track.source,
            started_at: track.started_at,
            stopped_at: track.stopped_at,
            points: track.points,
            length_m: track.length_m,
        }
    }
}

/// What waits to go to the office.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Outbox {
    pub pending_events: u64,
    pub oldest_recorded_at: Option<String>,
    pub photos: u64,
    pub photo_bytes: u64,
    /// Evidence the office has not confirmed yet, which the device must keep.
    pub unconfirmed_photo_bytes: u64,
}

impl From<rectify_core::ledger::OutboxSummary> for Outbox {
    fn from(outbox: rectify_core::ledger::OutboxSummary) -> Self {
        Self {
            pending_events: outbox.pending_events,
            oldest_recorded_at: outbox.oldest_recorded_at,
            photos: outbox.photos,
            photo_bytes: outbox.photo_bytes,
            unconfirmed_photo_bytes: outbox.unconfirmed_photo_bytes,
        }
    }
}

/// The stages of a sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Starting,
    Hello,
    Reference,
    Push,
    PhotosUp,
    Pull,
    PhotosDown,
    Done,
}

/// Where a sync stands, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub events_up: u64,
    pub events_down: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub photos_up: u64,
    pub photos_down: u64,
    /// Events still waiting to be pushed.
    pub pending: u64,
}

impl From<&Progress> for SyncProgress {
    fn from(progress: &Progress) -> Self {
        let phase = match progress.phase {
            None => SyncPhase::Starting,
            Some(Phase::Hello) => SyncPhase::Hello,
            Some(Phase::Reference) => SyncPhase::Reference,
            Some(Phase::Push) => SyncPhase::Push,
            Some(Phase::PhotosUp) => SyncPhase::PhotosUp,
            Some(Phase::Pull) => SyncPhase::Pull,
            Some(Phase::PhotosDown) => SyncPhase::PhotosDown,
            Some(Phase::Done) => SyncPhase::Done,
        };
        Self {
            phase,
            events_up: progress.events_up,
            events_down: progress.events_down,
            bytes_up: progress.bytes_up,
            bytes_down: progress.bytes_down,
            photos_up: progress.photos_up,
            photos_down: progress.photos_down,
            pending: progress.pending,
        }
    }
}

/// An event the office refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedEvent {
    pub event_id: String,
    pub issue_id: IssueId,
    pub kind: String,
    pub reason: String,
}

/// What one sync moved and what is left.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    pub pushed: u64,
    pub pulled: u64,
    pub photos_up: u64,
    pub photos_down: u64,
    pub refused: Vec<RefusedEvent>,
    /// Events still waiting for the office.
    pub pending: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// The office's data set was replaced (restored from backup) and the device pulled again.
    pub epoch_changed: bool,
    /// Photos that could not be moved this time, and why; the next sync tries again.
    pub photo_problems: Vec<String>,
}

impl From<rectify_core::sync::SyncReport> for SyncSummary {
    fn from(report: rectify_core::sync::SyncReport) -> Self {
        Self {
            pushed: report.pushed,
            pulled: report.pulled,
            photos_up: report.photos_up,
            photos_down: report.photos_down,
            refused: report
                .rejected
                .into_iter()
                .map(|refused| RefusedEvent {
                    event_id: refused.event_id.to_string(),
                    issue_id: refused.issue_id,
                    kind: refused.kind,
                    reason: refused.reason,
                })
                .collect(),
            pending: report.pending,
            bytes_up: report.bytes_up,
            bytes_down: report.bytes_down,
            retries: report.retries,
            epoch_changed: report.epoch_changed,
            photo_problems: report.photo_problems,
        }
    }
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request the sync asks the host's transport to send.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET`, `HEAD`, `POST` or `PATCH`.
    pub method: String,
    /// The whole URL: the office's address and the path.
    pub url: String,
    /// The path (with query) relative to the office's address.
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// What the office answered, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// Counts and ranks are `usize` in the core; a bulletin never holds four billion villages.
fn count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
