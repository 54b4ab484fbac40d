//! The write path: turning a person's request into a validated event, in one transaction.

use std::path::PathBuf;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

use super::{Ledger, not_initialised, unknown_village};
use crate::domain::event::*;
use crate::domain::issue::IssueState;
use crate::domain::photo::PhotoHash;
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
}

/// Something done to an existing issue.
#[derive(Debug, Clone)]
pub enum Command {
    Assign { deadline: Option<DateTime<Utc>> },
    AttachPhotos { photos: Vec<PathBuf>, note: Option<String> },
    StrikeOff { photos: Vec<PathBuf>, note: Option<String> },
    Accept { note: Option<String> },
    Reject { reason: String },
    Reopen { reason: String },
    Withdraw { duplicate_of: Option<IssueId>, note: Option<String> },
    Comment { text: String },
}

/// Several operations in one transaction: all are written, or none.
#[derive(Debug)]
pub struct Batch<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    ledger: &'a Ledger,
    profile: DeviceProfile,
    counters: Counters,
    /// Photo files written by this batch, removed again if it fails.
    written: Vec<String>,
}

impl Ledger {
    /// Runs `work` as one transaction. On error nothing is kept: no rows, no new photo files.
    pub fn batch<T>(&self, work: impl FnOnce(&mut Batch<'_>) -> Result<T>) -> Result<T> {
        let mut written = Vec::new();
        let result = self.store.write(|tx| {
            let (profile, counters) = profile::load(tx)?.ok_or_else(not_initialised)?;
            let mut batch = Batch { tx, ledger: self, profile, counters, written: Vec::new() };
            let outcome = work(&mut batch);
            written = std::mem::take(&mut batch.written);
            let value = outcome?;
            profile::save_counters(tx, batch.counters)?;
            Ok(value)
        });
        if result.is_err()
            && let Some(store) = &self.photos
        {
            written.iter().for_each(|path| store.discard(path));
        }
        result
    }

    /// Records a new issue.
    pub fn report(&self, new: &NewReport) -> Result<IssueState> {
        self.batch(|batch| batch.report(new))
    }

    /// Applies one command to an issue.
    pub fn act(&self, issue: IssueId, command: &Command) -> Result<IssueState> {
        self.batch(|batch| batch.act(issue, command))
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
        let (_, problem) = self.ledger.catalogue.problem_type(&new.category)?;
        let (category, deadline_days) = (problem.code.clone(), problem.deadline_days);
        let location = Location::new(new.lat, new.lon, new.accuracy_m)?;
        let note = note(new.note.as_ref())?;
        check_photo_count(new.photos.len())?;
        let village_id = match &new.village_code {
            Some(code) => {
                let code = validate::village_code(code)?;
                places::village_by_code(self.tx, &code)?.ok_or_else(|| unknown_village(&code))?.id
            }
            None => match self.profile.villages.as_slice() {
                [only] => *only,
                _ => {
                    return Err(RectifyError::invalid(
                        "say which village the issue is in with --village CODE (this device answers for more than one, or none)",
                    ));
                }
            },
        };
        let body = EventBody::Reported(Reported {
            village_id,
            category,
            location,
            note,
            deadline: deadline_after(self.ledger.clock.now(), deadline_days),
            catalogue_version: self.ledger.catalogue.version,
        });
        self.authorize(village_id, None, &body)?;
        let photos = self.store_photos(&new.photos)?;
        self.append(IssueId::new(), None, body, photos)
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
                (EventBody::Comment(Comment { text: validate::text("comment", text, MAX_NOTE_CHARS)? }), &[])
            }
        };
        check_photo_count(photo_paths.len())?;
        // Check the role and the state machine before any photo is stored: a refused request costs nothing.
        self.check(&state, &body)?;
        let photos = self.store_photos(photo_paths)?;
        self.append(issue, Some(state), body, photos)
    }

    fn check(&self, state: &IssueState, body: &EventBody) -> Result<()> {
        let probe = self.event(state.id, Some(state), body.clone(), Vec::new());
        self.authorize(state.village_id, Some(state), body)?;
        IssueState::transition(Some(state), &probe)?;
        Ok(())
    }

    fn authorize(&self, village_id: VillageId, state: Option<&IssueState>, body: &EventBody) -> Result<()> {
        let label =
            places::village(self.tx, village_id)?.map_or_else(|| village_id.to_string(), |v| v.code().to_string());
        if let Some(action) = Action::of(body) {
            authorize(&self.profile, action, village_id, &label, state)?;
        }
        Ok(())
    }

    fn event(&self, issue: IssueId, state: Option<&IssueState>, body: EventBody, photos: Vec<PhotoHash>) -> Event {
        let recorded_at = self.ledger.clock.now();
        Event {
            event_id: EventId::new(),
            issue_id: issue,
            device_id: self.profile.device_id,
            device_seq: self.counters.next_device_seq,
            author: self.profile.user_id,
            body,
            hlc: self.counters.last_hlc.tick(recorded_at),
            recorded_at,
            parents: state.map(|state| state.heads.clone()).unwrap_or_default(),
            photos,
            server_seq: None,
            verdict: None,
        }
    }

    /// Writes the event and the issue's new state. Callers have already authorised the request.
    fn append(
        &mut self,
        issue: IssueId,
        state: Option<IssueState>,
        body: EventBody,
        photos: Vec<PhotoHash>,
    ) -> Result<IssueState> {
        let event = self.event(issue, state.as_ref(), body, photos);
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
        events::enqueue(self.tx, &event)?;
        issues::save_state(self.tx, &next)?;
        self.counters.next_device_seq += 1;
        self.counters.last_hlc = event.hlc;
        Ok(next)
    }

    fn store_photos(&mut self, paths: &[PathBuf]) -> Result<Vec<PhotoHash>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let store = self
            .ledger
            .photos
            .as_ref()
            .ok_or_else(|| RectifyError::invalid("this ledger keeps no photos (it is in memory)"))?;
        let now = self.ledger.clock.now().with_timezone(&Utc);
        let mut hashes: Vec<PhotoHash> = Vec::new();
        for path in paths {
            let stored = store.put_file(path)?;
            if stored.newly_written {
                self.written.push(stored.relative_path.clone());
            }
            photos::insert(self.tx, &stored, "image/jpeg", now)?;
            if !hashes.contains(&stored.hash) {
                hashes.push(stored.hash);
            }
        }
        Ok(hashes)
    }
}

fn check_photo_count(count: usize) -> Result<()> {
    if count > MAX_PHOTOS_PER_EVENT {
        return Err(validate::ValidationError::TooManyPhotos { count, max: MAX_PHOTOS_PER_EVENT }.into());
    }
    Ok(())
}
