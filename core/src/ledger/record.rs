//! The write path: turning a person's request into a validated event, in one transaction.

use std::path::PathBuf;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

use super::photo_ops::{self, Prepared};
use super::{Ledger, not_initialised, unknown_village};
use crate::domain::event::*;
use crate::domain::evidence::EvidenceFlag;
use crate::domain::issue::IssueState;
use crate::domain::photo::{PhotoHash, PhotoRole};
use crate::domain::policy::{Action, authorize};
use crate::domain::role::DeviceProfile;
use crate::domain::validate::{self, Location, MAX_NOTE_CHARS, MAX_PHOTOS_PER_EVENT, MAX_REASON_CHARS};
use crate::ids::{EventId, IssueId, VillageId};
use crate::store::profile::Counters;
use crate::store::{events, issues, photos, places, profile};
use crate::{RectifyError, Result};

/// A problem found on a walk.
#[derive(Debug, Clone, Default)]
pub struct NewReport {
    /// A problem-type code such as `waste.bin_overflowing`.
    pub category: String,
    /// The village's statistical code; may be left out when the device answers for exactly one village.
    pub village_code: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub note: Option<String>,
    pub photos: Vec<PathBuf>,
    /// Why the issue is charged to another village than the one whose boundary contains the point.
    pub village_reason: Option<String>,
}

/// Something done to an existing issue.
#[derive(Debug, Clone)]
pub enum Command {
    Assign {
        deadline: Option<DateTime<Utc>>,
    },
    AttachPhotos {
        photos: Vec<PathBuf>,
        note: Option<String>,
    },
    StrikeOff {
        photos: Vec<PathBuf>,
        note: Option<String>,
    },
    Accept {
        note: Option<String>,
    },
    Reject {
        reason: String,
    },
    Reopen {
        reason: String,
    },
    Withdraw {
        duplicate_of: Option<IssueId>,
        note: Option<String>,
    },
    Comment {
        text: String,
    },
    /// Corrects what the report said. Only the fields given change; at least one must be given.
    Edit {
        category: Option<String>,
        note: Option<String>,
        /// Latitude, longitude and the fix's accuracy in metres.
        location: Option<(f64, f64, Option<f64>)>,
        deadline: Option<DateTime<Utc>>,
    },
}

/// Several operations in one transaction: all are written, or none.
#[derive(Debug)]
pub struct Batch<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    ledger: &'a Ledger,
    profile: DeviceProfile,
    counters: Counters,
    /// Photos ingested before the transaction began, by the path they were given as.
    prepared: Vec<(PathBuf, Prepared)>,
    /// Photo files written by this batch, removed again if it fails.
    written: Vec<String>,
}

impl Ledger {
    /// Runs `work` as one transaction. On error nothing is kept: no rows, no new photo files.
    pub fn batch<T>(&self, work: impl FnOnce(&mut Batch<'_>) -> Result<T>) -> Result<T> {
        self.batch_with(Vec::new(), work)
    }

    /// [`Ledger::batch`] with photos already ingested (outside the write lock).
    fn batch_with<T>(
        &self,
        prepared: Vec<(PathBuf, Prepared)>,
        work: impl FnOnce(&mut Batch<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut written: Vec<String> = prepared.iter().flat_map(|(_, photo)| photo.newly_written()).collect();
        let result = self.store.write(|tx| {
            let (profile, counters) = profile::load(tx)?.ok_or_else(not_initialised)?;
            let mut batch = Batch { tx, ledger: self, profile, counters, prepared, written: Vec::new() };
            let outcome = work(&mut batch);
            written.append(&mut batch.written);
            let value = outcome?;
            profile::save_counters(tx, batch.counters)?;
            Ok(value)
        });
        if result.is_err() {
            self.discard_written(written);
        }
        result
    }

    /// Records a new issue.
    pub fn report(&self, new: &NewReport) -> Result<IssueState> {
        if !new.photos.is_empty() {
            self.precheck_report(new)?;
        }
        let prepared = self.prepare_photos(&new.photos)?;
        self.batch_with(prepared, |batch| batch.report(new))
    }

    /// Applies one command to an issue.
    pub fn act(&self, issue: IssueId, command: &Command) -> Result<IssueState> {
        let paths: &[PathBuf] = match command {
            Command::AttachPhotos { photos, .. } => {
                self.precheck(issue, EventBody::PhotoAttached(PhotoAttached { note: None }))?;
                photos
            }
            Command::StrikeOff { photos, .. } if !photos.is_empty() => {
                self.precheck(issue, EventBody::StrikeOffRequested(StrikeOffRequested { note: None }))?;
                photos
            }
            _ => &[],
        };
        check_photo_count(paths.len())?;
        let prepared = self.prepare_photos(paths)?;
        self.batch_with(prepared, |batch| batch.act(issue, command))
    }
}

fn note(value: Option<&String>) -> Result<Option<String>> {
    Ok(validate::optional_text("note", value.map(String::as_str), MAX_NOTE_CHARS)?)
}

fn reason(value: &str) -> Result<String> {
    Ok(validate::text("reason", value, MAX_REASON_CHARS)?)
}

/// The end of the local day `days` after `at`: what "fix it within N days" means to a village.
fn deadline_after(at: DateTime<FixedOffset>, days: u16) -> DateTime<Utc> {
    end_of_day(at.date_naive() + Duration::days(i64::from(days)), *at.offset())
}

fn end_of_day(day: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    let end = day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default());
    offset.from_local_datetime(&end).single().map_or_else(|| end.and_utc(), |local| local.with_timezone(&Utc))
}

impl Ledger {
    /// A deadline given as a calendar day: the end of that day on this device's clock. Not in the past.
    pub fn end_of_local_day(&self, day: NaiveDate) -> Result<DateTime<Utc>> {
        let now = self.clock.now();
        if day < now.date_naive() {
            return Err(RectifyError::invalid(format!("deadline {day} is in the past; today is {}", now.date_naive())));
        }
        Ok(end_of_day(day, *now.offset()))
    }
}

impl Batch<'_> {
    pub fn profile(&self) -> &DeviceProfile {
        &self.profile
    }

    /// Records a new issue in this batch.
    pub fn report(&mut self, new: &NewReport) -> Result<IssueState> {
        let (village_id, body) = draft_report(self.tx, self.ledger, &self.profile, new)?;
        let probe = self.event(IssueId::new(), None, body.clone(), Vec::new());
        check_request(self.tx, &self.profile, village_id, None, &probe)?;
        let photos = self.store_photos(&new.photos, None, PhotoRole::Before)?;
        self.append(probe.issue_id, None, body, photos)
    }

    /// Applies a command to an existing issue in this batch.
    pub fn act(&mut self, issue: IssueId, command: &Command) -> Result<IssueState> {
        let state = issues::load_state(self.tx, issue)?
            .ok_or_else(|| RectifyError::not_found(format!("no issue {issue} on this device")))?;
        let (body, photo_paths): (EventBody, &[PathBuf]) = match command {
            Command::Assign { deadline } => {
                (EventBody::Assigned(Assigned { assignee: None, deadline: *deadline }), &[])
            }
            Command::AttachPhotos { photos, note: text } => {
                if photos.is_empty() {
                    return Err(RectifyError::invalid("attach at least one photo with --photo FILE"));
                }
                (EventBody::PhotoAttached(PhotoAttached { note: note(text.as_ref())? }), photos)
            }
            Command::StrikeOff { photos, note: text } => {
                (EventBody::StrikeOffRequested(StrikeOffRequested { note: note(text.as_ref())? }), photos)
            }
            Command::Accept { note: text } => (EventBody::Accepted(Accepted { note: note(text.as_ref())? }), &[]),
            Command::Reject { reason: text } => (EventBody::Rejected(Rejected { reason: reason(text)? }), &[]),
            Command::Reopen { reason: text } => (EventBody::Reopened(Reopened { reason: reason(text)? }), &[]),
            Command::Withdraw { duplicate_of, note: text } => {
                let reason = match duplicate_of {
                    Some(other) => {
                        if issues::load_state(self.tx, *other)?.is_none() {
                            return Err(RectifyError::not_found(format!(
                                "no issue {other} on this device to be a duplicate of"
                            )));
                        }
                        WithdrawReason::DuplicateOf { issue_id: *other }
                    }
                    None => WithdrawReason::FalseReport,
                };
                (EventBody::Withdrawn(Withdrawn { reason, note: note(text.as_ref())? }), &[])
            }
            Command::Comment { text } => {
                let text = validate::text("comment", text, MAX_NOTE_CHARS)?;
                (EventBody::Comment(Comment { text }), &[])
            }
            Command::Edit { category, note: text, location, deadline } => {
                (EventBody::Edited(self.edit(&state, category.as_deref(), text.as_ref(), *location, *deadline)?), &[])
            }
        };
        check_photo_count(photo_paths.len())?;
        self.check(&state, &body)?;
        let role = PhotoRole::of(&body);
        let photos = self.store_photos(photo_paths, Some(&state), role)?;
        self.append(issue, Some(state), body, photos)
    }

    /// Validates an edit and notes, for each field it changes, the edit of it this device last saw.
    fn edit(
        &self,
        state: &IssueState,
        category: Option<&str>,
        text: Option<&String>,
        location: Option<(f64, f64, Option<f64>)>,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<Edited> {
        let category = match category {
            Some(code) => Some(self.ledger.catalogue.problem_type(code)?.1.code.clone()),
            None => None,
        };
        let location = location.map(|(lat, lon, accuracy)| Location::new(lat, lon, accuracy)).transpose()?;
        if let Some(deadline) = deadline
            && deadline <= state.reported.at
        {
            return Err(RectifyError::invalid(format!(
                "the deadline {} is before the issue was reported ({})",
                deadline.to_rfc3339(),
                state.reported.at.to_rfc3339()
            )));
        }
        let mut edited = Edited { category, note: note(text)?, location, deadline, ..Edited::default() };
        if edited.fields().is_empty() {
            return Err(RectifyError::invalid("say what to change: a category, a note, a location or a deadline"));
        }
        edited.replaces = edited
            .fields()
            .into_iter()
            .filter_map(|field| state.last_edits.get(&field).map(|stamp| (field, stamp.event_id)))
            .collect();
        Ok(edited)
    }

    fn check(&self, state: &IssueState, body: &EventBody) -> Result<()> {
        let probe = self.event(state.id, Some(state), body.clone(), Vec::new());
        check_request(self.tx, &self.profile, state.village_id, Some(state), &probe)
    }

    fn event(&self, issue: IssueId, state: Option<&IssueState>, body: EventBody, photos: Vec<PhotoHash>) -> Event {
        draft(&self.profile, self.counters, self.ledger.clock.now(), issue, state, body, photos)
    }

    /// Writes the event and the issue's new state. Callers have already authorised the request.
    fn append(
        &mut self,
        issue: IssueId,
        state: Option<IssueState>,
        body: EventBody,
        photos: Vec<(PhotoHash, Vec<EvidenceFlag>)>,
    ) -> Result<IssueState> {
        let hashes = photos.iter().map(|(hash, _)| hash.clone()).collect();
        let event = self.event(issue, state.as_ref(), body, hashes);
        let next = match &state {
            // Events recorded here sort last, so they apply on top of the stored state.
            Some(current) if current.applied_through > event.order_key() => {
                let mut history = events::for_issue(self.tx, issue)?;
                history.push(event.clone());
                IssueState::fold(&history)
                    .ok_or_else(|| RectifyError::not_found(format!("issue {issue} has no report")))?
            }
            _ => IssueState::transition(state.as_ref(), &event)?,
        };
        events::insert(self.tx, &event)?;
        for (hash, flags) in photos.iter().filter(|(_, flags)| !flags.is_empty()) {
            photos::set_link_flags(self.tx, event.event_id, hash, flags)?;
        }
        events::enqueue(self.tx, &event)?;
        issues::save_state(self.tx, &next)?;
        self.counters.next_device_seq += 1;
        self.counters.last_hlc = event.hlc;
        Ok(next)
    }

    /// Admits the photos of one event: their rows (for fresh ingests) and the flags each raises as
    /// evidence for `issue` in `role`. Photos not prepared before the transaction are ingested here.
    fn store_photos(
        &mut self,
        paths: &[PathBuf],
        issue: Option<&IssueState>,
        role: PhotoRole,
    ) -> Result<Vec<(PhotoHash, Vec<EvidenceFlag>)>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let policy = self.ledger.evidence_policy();
        let now = self.ledger.now();
        let offset = self.ledger.device_offset();
        let known = photos::pictures(self.tx)?;
        let mut admitted: Vec<(PhotoHash, Vec<EvidenceFlag>)> = Vec::new();
        let mut handled: Vec<&PathBuf> = Vec::new();
        for path in paths {
            if handled.contains(&path) {
                continue;
            }
            handled.push(path);
            let inline;
            let prepared = match self.prepared.iter().find(|(done, _)| done == path) {
                Some((_, photo)) => photo,
                None => {
                    // Not prepared before the transaction (a batch): decode here, and look the original
                    // up through this transaction so a photo admitted earlier in it is found.
                    let tx = self.tx;
                    inline = self.ledger.prepare_photo_with(path, |sha| photos::by_source(tx, sha))?;
                    self.written.extend(inline.newly_written());
                    &inline
                }
            };
            let evidence = photo_ops::admit(self.tx, prepared, &policy, now)?;
            if admitted.iter().any(|(hash, _)| *hash == evidence.hash) {
                continue;
            }
            // The photo's own flags live on its row; the link carries those raised against this issue.
            let flags = evidence.flags_for(issue, role, &known, &policy, offset);
            admitted.push((evidence.hash, flags));
        }
        Ok(admitted)
    }
}

/// The next event this device would record.
fn draft(
    profile: &DeviceProfile,
    counters: Counters,
    recorded_at: DateTime<FixedOffset>,
    issue: IssueId,
    state: Option<&IssueState>,
    body: EventBody,
    photos: Vec<PhotoHash>,
) -> Event {
    Event {
        event_id: EventId::new(),
        issue_id: issue,
        device_id: profile.device_id,
        device_seq: counters.next_device_seq,
        author: profile.user_id,
        body,
        hlc: counters.last_hlc.tick(recorded_at),
        recorded_at,
        parents: state.map(|state| state.heads.clone()).unwrap_or_default(),
        photos,
        server_seq: None,
        verdict: None,
    }
}

/// How far outside every boundary a report may be and still go to the nearest village by itself.
pub const MAX_OUTSIDE_NEAREST_M: f64 = 500.0;

/// Validates a report and builds its event body, reading places from `conn`.
fn draft_report(
    conn: &rusqlite::Connection,
    ledger: &Ledger,
    profile: &DeviceProfile,
    new: &NewReport,
) -> Result<(VillageId, EventBody)> {
    let (_, problem) = ledger.catalogue.problem_type(&new.category)?;
    let (category, deadline_days) = (problem.code.clone(), problem.deadline_days);
    let location = Location::new(new.lat, new.lon, new.accuracy_m)?;
    let note = note(new.note.as_ref())?;
    check_photo_count(new.photos.len())?;
    let located = ledger.locate_in(conn, new.lat, new.lon)?;
    let village_id = match (&new.village_code, &located) {
        (Some(code), _) => {
            let code = validate::village_code(code)?;
            places::village_by_code(conn, &code)?.ok_or_else(|| unknown_village(&code))?.id
        }
        (None, Some(found)) if found.inside || found.distance_m <= MAX_OUTSIDE_NEAREST_M => found.village_id,
        (None, Some(found)) => {
            return Err(RectifyError::invalid(format!(
                "the point is {:.0} m outside the nearest village, {} {}; say which village it is in with --village CODE",
                found.distance_m, found.code, found.name
            )));
        }
        (None, None) => match profile.villages.as_slice() {
            [only] => *only,
            _ => {
                return Err(RectifyError::invalid(
                    "say which village the issue is in with --village CODE (this device has no village boundaries \
                     and answers for more than one village, or none)",
                ));
            }
        },
    };
    let placement = match located {
        Some(found) => {
            let reason = validate::optional_text("village reason", new.village_reason.as_deref(), MAX_REASON_CHARS)?;
            if found.village_id != village_id && found.inside && reason.is_none() {
                return Err(RectifyError::invalid(format!(
                    "the point is inside {} {}; to charge the issue to another village, give the reason with \
                     --village-reason TEXT",
                    found.code, found.name
                )));
            }
            let override_reason = if found.village_id == village_id { None } else { reason };
            Some(Placement {
                located: found.village_id,
                inside: found.inside,
                distance_m: found.distance_m,
                override_reason,
            })
        }
        None => None,
    };
    let body = EventBody::Reported(Reported {
        village_id,
        category,
        location,
        note,
        deadline: deadline_after(ledger.clock.now(), deadline_days),
        catalogue_version: ledger.catalogue.version,
        placement,
    });
    Ok((village_id, body))
}

/// The role and state-machine checks of a request against an existing issue.
fn check_request(
    conn: &rusqlite::Connection,
    profile: &DeviceProfile,
    village_id: VillageId,
    state: Option<&IssueState>,
    probe: &Event,
) -> Result<()> {
    let label = places::village(conn, village_id)?.map_or_else(|| village_id.to_string(), |v| v.code().to_string());
    if let Some(action) = Action::of(&probe.body) {
        authorize(profile, action, village_id, &label, state)?;
    }
    IssueState::transition(state, probe)?;
    Ok(())
}

impl Ledger {
    /// [`Ledger::precheck`] for a report: input, village and role, before its photos are decoded.
    fn precheck_report(&self, new: &NewReport) -> Result<()> {
        self.store.read(|conn| {
            let (profile, counters) = profile::load(conn)?.ok_or_else(not_initialised)?;
            let (village_id, body) = draft_report(conn, self, &profile, new)?;
            let probe = draft(&profile, counters, self.clock.now(), IssueId::new(), None, body, Vec::new());
            check_request(conn, &profile, village_id, None, &probe)
        })
    }

    /// Refuses a photo-bearing request the role or the state machine would refuse anyway, before any
    /// photo is decoded: a refused request costs nothing. The transaction checks again.
    fn precheck(&self, issue: IssueId, body: EventBody) -> Result<()> {
        self.store.read(|conn| {
            let (profile, counters) = profile::load(conn)?.ok_or_else(not_initialised)?;
            let state = issues::load_state(conn, issue)?
                .ok_or_else(|| RectifyError::not_found(format!("no issue {issue} on this device")))?;
            let probe = draft(&profile, counters, self.clock.now(), issue, Some(&state), body, Vec::new());
            check_request(conn, &profile, state.village_id, Some(&state), &probe)
        })
    }
}

fn check_photo_count(count: usize) -> Result<()> {
    if count > MAX_PHOTOS_PER_EVENT {
        return Err(validate::ValidationError::TooManyPhotos { count, max: MAX_PHOTOS_PER_EVENT }.into());
    }
    Ok(())
}
