//! The dashboard's pages: each handler checks the user's role, gathers its view on the blocking pool and
//! renders one template. Reports (scores, lists, bulletins) come from the core's scorer over a snapshot
//! of the office's ledger, cached until the ledger or the day changes.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, FixedOffset, Offset, Utc};
use rectify_core::domain::category::Catalogue;
use rectify_core::domain::event::{EventBody, Verdict};
use rectify_core::domain::issue::Status;
use rectify_core::domain::photo::PhotoHash;
use rectify_core::domain::role::Role;
use rectify_core::ids::IssueId;
use rectify_core::ledger::ListFilter;
use rectify_core::report::{self, Bulletin, Week};
use rectify_core::score::{Escalations, Month, MonthLists, MonthScores, Rules, Scorer};
use serde::Deserialize;

use super::i18n::Tr;
use super::{Decision, Need, PageError, Shared, WebUser, blocking, check_csrf, here, lang_of, render, require};
use crate::{Office, OfficeError};

/// What every page's frame shows: who is logged in, the menu, the language switch and the CSRF token
/// that the page's forms carry.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub active: &'static str,
    pub here: String,
    pub district: bool,
    pub can_decide: bool,
    /// A secretary's own villages, (code, name), for the menu.
    pub own_villages: Vec<(String, String)>,
}

impl Chrome {
    pub(crate) fn new(tr: Tr, user: &WebUser, active: &'static str, uri: &Uri, office: &Office) -> Self {
        let own_villages = if user.role == Role::Secretary { own_villages(office, user) } else { Vec::new() };
        Self {
            user: user.name.clone(),
            role: tr.role(user.role),
            csrf: user.csrf.clone(),
            active,
            here: super::encode_query(&here(uri)),
            district: super::allowed(user, Need::District),
            can_decide: super::allowed(user, Need::Decide),
            own_villages,
        }
    }
}

/// (code, name) of each village a user answers for that the office knows.
fn own_villages(office: &Office, user: &WebUser) -> Vec<(String, String)> {
    user.villages
        .iter()
        .filter_map(|id| {
            office
                .ledger()
                .store()
                .read(|conn| rectify_core::store::places::village(conn, *id))
                .ok()
                .flatten()
                .map(|village| (village.code().to_string(), village.name.clone()))
        })
        .collect()
}

/// Runs `work` with a scorer over the office's ledger as it stands.
pub(crate) fn with_scorer<T>(
    office: &Office,
    work: impl FnOnce(&Scorer<'_>, DateTime<Utc>) -> T,
) -> Result<T, OfficeError> {
    let snapshot = office.report_snapshot()?;
    let scorer =
        Scorer::new(Rules::builtin(), office.ledger().catalogue(), &snapshot).map_err(OfficeError::Internal)?;
    Ok(work(&scorer, Utc::now()))
}

/// The district's UTC offset, from the scoring rules (China Standard Time unless they say otherwise).
pub(crate) fn district_offset() -> FixedOffset {
    Rules::builtin().offset().unwrap_or_else(|_| FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix()))
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |rate| format!("{rate:.1}%"))
}

fn day(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset).format("%Y-%m-%d").to_string()
}

fn minute(at: DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Overview

#[derive(Debug, Clone)]
pub(crate) struct WeekBar {
    pub label: String,
    pub rate: String,
    /// Bar height in the chart's units (0–100).
    pub height: f64,
    pub y: f64,
    pub x: f64,
    pub accepted: u32,
    pub new: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct OverviewView {
    pub found: usize,
    pub accepted: usize,
    pub open: usize,
    pub awaiting: usize,
    pub overdue: usize,
    pub weeks: Vec<WeekBar>,
    pub worst: Vec<(usize, String, String, u32, u32, String)>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    tr: Tr,
    view: OverviewView,
}

pub(crate) fn overview_view(office: &Office) -> Result<OverviewView, OfficeError> {
    with_scorer(office, |scorer, now| {
        let at = now.timestamp_millis();
        let issues = &office_issues(scorer);
        let counting: Vec<_> = issues.iter().filter(|issue| issue.counts()).collect();
        let this_week = report::week_of(scorer, now);
        let mut weeks = Vec::new();
        let mut current = None;
        for back in (0..8).rev() {
            let monday = this_week.monday() - Duration::days(7 * back);
            let week = Week::of(monday);
            let bulletin = report::bulletin(scorer, week, &|_| true);
            let rate = bulletin.total.rate;
            let height = (rate.unwrap_or(0.0).clamp(0.0, 100.0) * 10.0).round() / 10.0;
            weeks.push(WeekBar {
                label: week.label(),
                rate: percent(rate),
                height,
                y: ((110.0 - height) * 10.0).round() / 10.0,
                x: 40.0 + (7 - back) as f64 * 70.0,
                accepted: bulletin.total.accepted_this_week,
                new: bulletin.total.new_this_week,
            });
            // The last bar is this week: its rows also make the table below the chart.
            current = Some(bulletin);
        }
        let mut worst: Vec<_> = current
            .map(|bulletin| bulletin.rows)
            .unwrap_or_default()
            .into_iter()
            .filter(|row| row.open > 0)
            .map(|row| (row.no, row.code, row.village, row.open, row.overdue, percent(row.rate)))
            .collect();
        worst.sort_by(|a, b| b.4.cmp(&a.4).then(b.3.cmp(&a.3)).then(a.1.cmp(&b.1)));
        worst.truncate(8);
        OverviewView {
            found: counting.len(),
            accepted: counting.iter().filter(|issue| issue.status == Status::Accepted).count(),
            // Not yet accepted, as the bulletin counts it; those awaiting acceptance are a part of it.
            open: counting.iter().filter(|issue| issue.status != Status::Accepted).count(),
            awaiting: counting.iter().filter(|issue| issue.status == Status::StrikeOffRequested).count(),
            overdue: counting.iter().filter(|issue| issue.overdue_at(at)).count(),
            weeks,
            worst,
        }
    })
}

pub(crate) fn office_issues<'a>(scorer: &Scorer<'a>) -> Vec<&'a rectify_core::score::IssueFact> {
    scorer.places().iter().flat_map(|place| scorer.issues_of(place.village).iter().copied()).collect()
}

pub(crate) async fn overview(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let user = super::user_of(&state, &headers, &here(&uri)).await?;
    if !super::allowed(&user, Need::District) {
        // A secretary's home is their (first) village: the district pages are not theirs.
        let office = state.office.clone();
        let first = blocking(tr, move || Ok(own_villages(&office, &user).into_iter().next())).await?;
        return match first {
            Some((code, _)) => Ok(Redirect::to(&format!("/villages/{code}")).into_response()),
            None => Err(PageError::Forbidden(tr)),
        };
    }
    let office = state.office.clone();
    let (view, chrome) = blocking(tr, move || {
        let view = office.cached("overview", || overview_view(&office))?;
        Ok((view, Chrome::new(tr, &user, "overview", &uri, &office)))
    })
    .await?;
    Ok(render(&OverviewPage { chrome, tr, view: (*view).clone() }))
}

// ---------------------------------------------------------------------------------------------------------
// Ranking

#[derive(Debug, Deserialize)]
pub(crate) struct MonthQuery {
    month: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct RankingView {
    pub month: String,
    pub previous: String,
    pub next: String,
    pub rules: String,
    pub rows: Vec<RankingRow>,
    pub lists: MonthLists,
}

#[derive(Debug, Clone)]
pub(crate) struct RankingRow {
    pub rank: usize,
    pub group: String,
    pub code: String,
    pub name: String,
    pub score: String,
    pub list: &'static str,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "ranking.html")]
struct RankingPage {
    chrome: Chrome,
    tr: Tr,
    view: RankingView,
}

fn month_of(text: Option<&str>, scorer: &Scorer<'_>, now: DateTime<Utc>) -> Result<Month, OfficeError> {
    Ok(report::month_or_last(text.map(str::trim).filter(|text| !text.is_empty()), scorer, now)?)
}

pub(crate) fn ranking_view(office: &Office, month: Option<&str>) -> Result<RankingView, OfficeError> {
    with_scorer(office, |scorer, now| {
        let month = month_of(month, scorer, now)?;
        let scores: Arc<MonthScores> = scorer.scored(month);
        let lists = scorer.lists_from(&scores);
        let (red, black) = (lists.red_codes(), lists.black_codes());
        let rows = scores
            .villages
            .iter()
            .map(|village| RankingRow {
                rank: village.rank,
                group: village.group.clone(),
                code: village.village.code.clone(),
                name: village.village.name.clone(),
                score: format!("{:.1}", village.score),
                list: if black.contains(village.village.code.as_str()) {
                    "black"
                } else if red.contains(village.village.code.as_str()) {
                    "red"
                } else {
                    ""
                },
                reason: village.reason(),
            })
            .collect();
        Ok(RankingView {
            month: month.label(),
            previous: month.previous().label(),
            next: month.next().label(),
            rules: scores.rules_version.clone(),
            rows,
            lists,
        })
    })?
}

pub(crate) async fn ranking(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<MonthQuery>,
) -> Result<Response, PageError> {
    let user = require(&state, &headers, &here(&uri), Need::District).await?;
    let tr = lang_of(&headers);
    let office = state.office.clone();
    let (view, chrome) = blocking(tr, move || {
        let key = format!("ranking:{}", query.month.as_deref().unwrap_or_default());
        let view = office.cached(&key, || ranking_view(&office, query.month.as_deref()))?;
        Ok((view, Chrome::new(tr, &user, "ranking", &uri, &office)))
    })
    .await?;
    Ok(render(&RankingPage { chrome, tr, view: (*view).clone() }))
}

// ---------------------------------------------------------------------------------------------------------
// Village

#[derive(Debug, Clone)]
pub(crate) struct ItemRow {
    pub id: String,
    pub category: String,
    pub status: Status,
    pub deadline: String,
    pub reported: String,
    pub overdue: bool,
    pub note: String,
    pub village: String,
    pub rework: u32,
}

impl ItemRow {
    fn of(item: &rectify_core::store::issues::IssueSummary, tr: Tr, catalogue: &Catalogue) -> Self {
        Self {
            id: item.id.to_string(),
            category: tr.problem(catalogue, &item.category),
            status: item.status,
            deadline: day(item.deadline, district_offset()),
            reported: day(item.reported_at, district_offset()),
            overdue: item.overdue,
            note: item.note.clone().unwrap_or_default(),
            village: format!("{} {}", item.village_name, item.village),
            rework: item.rework_count,
        }
    }
}

#[derive(Template)]
#[template(path = "village.html")]
struct VillagePage {
    chrome: Chrome,
    tr: Tr,
    code: String,
    name: String,
    town: String,
    zone: String,
    found: u32,
    rectified: u32,
    awaiting: u32,
    remaining: u32,
    overdue: u32,
    rate: String,
    items: Vec<ItemRow>,
}

pub(crate) async fn village(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let user = super::user_of(&state, &headers, &here(&uri)).await?;
    let office = state.office.clone();
    let lookup = code.clone();
    let village = blocking(tr, move || {
        office
            .ledger()
            .store()
            .read(|conn| rectify_core::store::places::village_by_code(conn, lookup.trim()))
            .map_err(OfficeError::from)?
            .ok_or_else(|| OfficeError::NotFound(format!("no village with code {lookup}")))
    })
    .await;
    // Who may not see a village learns nothing about whether it exists.
    let village = match village {
        Ok(village) if super::allowed(&user, Need::Village(village.id)) => village,
        Err(_) if super::allowed(&user, Need::District) => {
            return Err(PageError::NotFound(tr, format!("no village with code {code}")));
        }
        _ => return Err(PageError::Forbidden(tr)),
    };
    let office = state.office.clone();
    let page = blocking(tr, move || {
        let list = office.ledger().negative_list(village.code())?;
        let catalogue = office.ledger().catalogue();
        let items = list.items.iter().map(|item| ItemRow::of(item, tr, catalogue)).collect();
        Ok(VillagePage {
            chrome: Chrome::new(tr, &user, "village", &uri, &office),
            tr,
            code: list.village.code().to_string(),
            name: list.village.name.clone(),
            town: list.town.clone().unwrap_or_default(),
            zone: list.zone.clone().unwrap_or_default(),
            found: list.found,
            rectified: list.rectified,
            awaiting: list.awaiting_acceptance,
            remaining: list.remaining,
            overdue: list.overdue,
            rate: percent(list.rectification_rate),
            items,
        })
    })
    .await?;
    Ok(render(&page))
}

// ---------------------------------------------------------------------------------------------------------
// Bulletin

#[derive(Debug, Deserialize)]
pub(crate) struct WeekQuery {
    week: Option<String>,
}

#[derive(Template)]
#[template(path = "bulletin.html")]
struct BulletinPage {
    chrome: Chrome,
    tr: Tr,
    bulletin: Bulletin,
    previous: String,
    next: String,
}

pub(crate) fn bulletin_of(office: &Office, week: Option<&str>) -> Result<Bulletin, OfficeError> {
    with_scorer(office, |scorer, now| {
        let week = report::week_or_last(week.map(str::trim).filter(|text| !text.is_empty()), scorer, now)?;
        Ok(report::bulletin(scorer, week, &|_| true))
    })?
}

async fn bulletin_for(
    state: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    week: Option<String>,
) -> Result<(WebUser, Arc<Bulletin>), PageError> {
    let user = require(state, headers, &here(uri), Need::District).await?;
    let tr = lang_of(headers);
    let office = state.office.clone();
    let bulletin = blocking(tr, move || {
        let key = format!("bulletin:{}", week.as_deref().unwrap_or_default());
        office.cached(&key, || bulletin_of(&office, week.as_deref()))
    })
    .await?;
    Ok((user, bulletin))
}

pub(crate) async fn bulletin(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let (user, bulletin) = bulletin_for(&state, &headers, &uri, query.week).await?;
    let office = state.office.clone();
    let chrome = blocking(tr, move || Ok(Chrome::new(tr, &user, "bulletin", &uri, &office))).await?;
    let monday = bulletin.from;
    Ok(render(&BulletinPage {
        chrome,
        tr,
        previous: Week::of(monday - Duration::days(7)).label(),
        next: Week::of(monday + Duration::days(7)).label(),
        bulletin: (*bulletin).clone(),
    }))
}

fn download(content_type: &'static str, name: String, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) async fn bulletin_csv(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    let (_, bulletin) = bulletin_for(&state, &headers, &uri, query.week).await?;
    // The table's CSV starts with a byte-order mark, so spreadsheet programs read the Chinese as UTF-8.
    let body = bulletin.table().to_csv().into_bytes();
    Ok(download("text/csv; charset=utf-8", format!("bulletin-{}.csv", bulletin.week), body))
}

pub(crate) async fn bulletin_xlsx(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<WeekQuery>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let (_, bulletin) = bulletin_for(&state, &headers, &uri, query.week).await?;
    let week = bulletin.week.clone();
    let body = blocking(tr, move || report::xlsx::workbook(&[bulletin.table()]).map_err(OfficeError::Internal)).await?;
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("bulletin-{week}.xlsx"),
        body,
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Escalations

#[derive(Template)]
#[template(path = "escalations.html")]
struct EscalationsPage {
    chrome: Chrome,
    tr: Tr,
    escalations: Escalations,
    previous: String,
    next: String,
}

pub(crate) async fn escalations(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Query(query): Query<MonthQuery>,
) -> Result<Response, PageError> {
    let user = require(&state, &headers, &here(&uri), Need::District).await?;
    let tr = lang_of(&headers);
    let office = state.office.clone();
    let page = blocking(tr, move || {
        let (escalations, month) = with_scorer(&office, |scorer, now| {
            let month = month_of(query.month.as_deref(), scorer, now)?;
            Ok::<_, OfficeError>((scorer.escalations(month), month))
        })??;
        Ok(EscalationsPage {
            chrome: Chrome::new(tr, &user, "escalations", &uri, &office),
            tr,
            escalations,
            previous: month.previous().label(),
            next: month.next().label(),
        })
    })
    .await?;
    Ok(render(&page))
}

// ---------------------------------------------------------------------------------------------------------
// Issue

#[derive(Debug, Clone)]
pub(crate) struct HistoryRow {
    pub when: String,
    pub kind: String,
    pub text: String,
    pub by: String,
    pub seq: String,
    pub refused: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct PhotoView {
    pub hash: String,
    pub present: bool,
    pub flags: Vec<String>,
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    chrome: Chrome,
    tr: Tr,
    id: String,
    village_code: String,
    village_name: String,
    category: String,
    status: Status,
    overdue: bool,
    deadline: String,
    reported: String,
    note: String,
    lat: String,
    lon: String,
    round: String,
    rework: u32,
    before: Vec<PhotoView>,
    after: Vec<PhotoView>,
    strike_off_note: String,
    last_rejection: String,
    history: Vec<HistoryRow>,
    flags: Vec<String>,
    awaiting: bool,
    flash: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FlashQuery {
    done: Option<String>,
}

fn issue_id(text: &str, tr: Tr) -> Result<IssueId, PageError> {
    text.trim().parse().map_err(|_| PageError::NotFound(tr, format!("{text} is not an issue id")))
}

pub(crate) async fn issue(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(query): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let user = super::user_of(&state, &headers, &here(&uri)).await?;
    let id = issue_id(&id, tr)?;
    let office = state.office.clone();
    let page = blocking(tr, move || {
        let detail = match office.ledger().issue(id) {
            Ok(detail) => detail,
            Err(err) if super::allowed(&user, Need::District) => return Err(err.into()),
            // Outside a secretary's villages, "no such issue" and "not yours" look the same.
            Err(_) => return Err(OfficeError::Unauthorised("not allowed".into())),
        };
        if !super::allowed(&user, Need::Village(detail.state.village_id)) {
            return Err(OfficeError::Unauthorised("not allowed".into()));
        }
        let catalogue = office.ledger().catalogue();
        let names = office.user_names()?;
        let name_of = |id: &rectify_core::ids::UserId| {
            names
                .iter()
                .find(|(user, _)| user == &id.to_string())
                .map_or_else(|| id.to_string(), |(_, name)| name.clone())
        };
        let photo_view = |hash: &PhotoHash| -> Result<PhotoView, OfficeError> {
            let (present, flags) = office.photo_facts(hash)?;
            Ok(PhotoView {
                hash: hash.as_str().to_string(),
                present,
                flags: flags.iter().map(|flag| flag.describe()).collect(),
            })
        };
        let state = &detail.state;
        let before = state.before_photos.iter().map(photo_view).collect::<Result<Vec<_>, _>>()?;
        let after = state
            .strike_off
            .as_ref()
            .map(|strike| strike.photos.iter().map(photo_view).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
        let mut flags: Vec<String> = Vec::new();
        for flag in before.iter().chain(&after).flat_map(|photo| &photo.flags) {
            if !flags.contains(flag) {
                flags.push(flag.clone());
            }
        }
        let history = detail
            .events
            .iter()
            .map(|event| HistoryRow {
                when: minute(event.recorded_at),
                kind: event_label(tr, &event.body).to_string(),
                text: event.body.describe(),
                by: name_of(&event.author),
                seq: event.server_seq.map_or_else(String::new, |seq| seq.to_string()),
                refused: match &event.verdict {
                    Some(Verdict::Refused { reason }) => Some(reason.clone()),
                    _ => None,
                },
            })
            .collect();
        let offset = district_offset();
        Ok(IssuePage {
            chrome: Chrome::new(tr, &user, "issue", &uri, &office),
            tr,
            id: state.id.to_string(),
            village_code: detail.village.code().to_string(),
            village_name: detail.village.name.clone(),
            category: tr.problem(catalogue, &state.category),
            status: state.status,
            overdue: detail.overdue,
            deadline: day(state.deadline, offset),
            reported: minute(state.reported.at),
            note: state.note.clone().unwrap_or_default(),
            lat: format!("{:.6}", state.location.lat),
            lon: format!("{:.6}", state.location.lon),
            round: detail.round.clone(),
            rework: state.rework_count,
            before,
            after,
            strike_off_note: state.strike_off.as_ref().and_then(|strike| strike.note.clone()).unwrap_or_default(),
            last_rejection: state.last_rejection.as_ref().map(|(_, reason)| reason.clone()).unwrap_or_default(),
            history,
            flags,
            awaiting: state.status == Status::StrikeOffRequested && super::allowed(&user, Need::Decide),
            flash: match query.done.as_deref() {
                Some("accepted") => Some("decided_accept"),
                Some("rejected") => Some("decided_reject"),
                _ => None,
            },
        })
    })
    .await?;
    Ok(render(&page))
}

fn event_label(tr: Tr, body: &EventBody) -> &'static str {
    let (zh, en) = match body {
        EventBody::Reported(_) => ("发现上报", "reported"),
        EventBody::PhotoAttached(_) => ("补充照片", "photo added"),
        EventBody::Edited(_) => ("修改", "edited"),
        EventBody::Assigned(_) => ("交办", "assigned"),
        EventBody::StrikeOffRequested(_) => ("申请销号", "strike-off requested"),
        EventBody::Accepted(_) => ("验收通过", "accepted"),
        EventBody::Rejected(_) => ("验收不通过", "rejected"),
        EventBody::Reopened(_) => ("重新打开", "reopened"),
        EventBody::Withdrawn(_) => ("撤销", "withdrawn"),
        EventBody::Comment(_) => ("备注", "comment"),
        EventBody::Unknown { .. } => ("新版本事项", "from a newer app"),
    };
    if tr.is_en() { en } else { zh }
}

// ---------------------------------------------------------------------------------------------------------
// Acceptance queue and decisions

#[derive(Debug, Clone)]
pub(crate) struct QueueRow {
    pub item: ItemRow,
    pub after: Vec<String>,
    pub flags: Vec<String>,
    pub strike_off_note: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    chrome: Chrome,
    tr: Tr,
    rows: Vec<QueueRow>,
}

/// The strike-offs awaiting acceptance, soonest deadline first, with their after-photos and flags.
pub(crate) fn queue_rows(office: &Office, tr: Tr) -> Result<Vec<QueueRow>, OfficeError> {
    let filter = ListFilter { status: Some(Status::StrikeOffRequested), ..ListFilter::default() };
    let catalogue = office.ledger().catalogue();
    let mut rows = Vec::new();
    for item in office.ledger().list(&filter)? {
        let state = office.ledger().store().read(|conn| rectify_core::store::issues::load_state(conn, item.id))?;
        let strike = state.and_then(|state| state.strike_off);
        let photos = strike.as_ref().map(|strike| strike.photos.clone()).unwrap_or_default();
        let mut flags = Vec::new();
        let mut after = Vec::new();
        for hash in &photos {
            let (present, raised) = office.photo_facts(hash)?;
            if present {
                after.push(office.thumbnail_of(hash)?.unwrap_or_else(|| hash.as_str().to_string()));
            }
            flags.extend(raised.iter().map(|flag| tr.flag(flag)));
        }
        rows.push(QueueRow {
            item: ItemRow::of(&item, tr, catalogue),
            after,
            flags,
            strike_off_note: strike.and_then(|strike| strike.note).unwrap_or_default(),
        });
    }
    Ok(rows)
}

pub(crate) async fn queue(State(state): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response, PageError> {
    let user = require(&state, &headers, &here(&uri), Need::Decide).await?;
    let tr = lang_of(&headers);
    let office = state.office.clone();
    let page = blocking(tr, move || {
        let rows = office.cached(&format!("queue:{}", tr.lang.code()), || queue_rows(&office, tr))?;
        Ok(QueuePage { chrome: Chrome::new(tr, &user, "queue", &uri, &office), tr, rows: (*rows).clone() })
    })
    .await?;
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    csrf: Option<String>,
    note: Option<String>,
    reason: Option<String>,
    /// Where to go afterwards: the queue or the issue page.
    back: Option<String>,
}

async fn decide(
    state: Shared,
    headers: HeaderMap,
    id: String,
    form: DecisionForm,
    accept: bool,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    // After logging in, come back to the issue's page: the decision itself is a POST and is not replayed.
    let user = require(&state, &headers, &format!("/issues/{}", super::encode_query(id.trim())), Need::Decide).await?;
    check_csrf(&user, form.csrf.as_deref(), tr)?;
    let issue = issue_id(&id, tr)?;
    let decision = if accept {
        Decision::Accept { note: form.note }
    } else {
        Decision::Reject { reason: form.reason.unwrap_or_default() }
    };
    let office = state.office.clone();
    let who = user.name.clone();
    blocking(tr, move || office.decide(&user, issue, decision)).await?;
    tracing::info!(user = %who, %issue, accepted = accept, "strike-off decided in the browser");
    let done = if accept { "accepted" } else { "rejected" };
    let back = match form.back.as_deref() {
        Some("queue") => format!("/queue?done={done}"),
        _ => format!("/issues/{issue}?done={done}"),
    };
    Ok(Redirect::to(&back).into_response())
}

pub(crate) async fn accept(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(state, headers, id, form, true).await
}

pub(crate) async fn reject(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    decide(state, headers, id, form, false).await
}

// ---------------------------------------------------------------------------------------------------------
// Photos

pub(crate) async fn photo(
    State(state): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    Path(hash): Path<String>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let user = super::user_of(&state, &headers, &here(&uri)).await?;
    let hash: PhotoHash =
        hash.trim().parse().map_err(|_| PageError::NotFound(tr, format!("{hash} is not a photo hash")))?;
    let office = state.office.clone();
    let bytes = blocking(tr, move || office.photo_bytes(&user.credential(), &hash)).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // Content-addressed: the bytes behind a hash never change.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400, immutable"));
    Ok(response)
}
