//! Everything `rectify` prints: readable text for people, JSON on stdout with `--json`.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use rectify_core::Result;
use rectify_core::domain::category::Catalogue;
use rectify_core::domain::event::Verdict;
use rectify_core::domain::evidence::EvidenceFlag;
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::place::Village;
use rectify_core::domain::role::DeviceProfile;
use rectify_core::ledger::{
    BoundaryImportReport, ImportReport, IngestReport, IssueDetail, Ledger, LocatedVillage, NearbyIssue, NegativeList,
    OutboxSummary, PruneReport, TrackDetail, TrackSummary, VillageView,
};
use rectify_core::photo::Inspection;
use rectify_core::store::issues::IssueSummary;
use rectify_core::store::photos::{PhotoRecord, PhotoUsage};
use rectify_core::sync::{EnrollResponse, SyncReport};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub json: bool,
}

fn print_json(value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| rectify_core::RectifyError::Storage { reason: err.to_string() })?;
    println!("{text}");
    Ok(())
}

/// How many terminal columns text takes: CJK characters take two.
pub fn width(text: &str) -> usize {
    text.chars()
        .map(|ch| match ch as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60 => 2,
            _ => 1,
        })
        .sum()
}

fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

fn clip(text: &str, columns: usize) -> String {
    if width(text) <= columns {
        return text.to_string();
    }
    let mut out = String::new();
    for ch in text.chars() {
        if width(&out) + width(&ch.to_string()) > columns.saturating_sub(1) {
            break;
        }
        out.push(ch);
    }
    out.push('…');
    out
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|title| width(title)).collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            widths[column] = widths[column].max(width(cell));
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, w)| pad(cell, *w)).collect();
        println!("  {}", padded.join("  ").trim_end());
    };
    line(header.iter().map(ToString::to_string).collect());
    line(widths.iter().map(|w| "─".repeat(*w)).collect());
    for row in rows {
        line(row.clone());
    }
}

fn local(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

fn category_label(code: &str) -> String {
    Catalogue::builtin()
        .problem_type(code)
        .map(|(_, problem)| format!("{} {}", problem.zh, problem.en))
        .unwrap_or_else(|_| code.to_string())
}

fn short(id: impl ToString) -> String {
    let text = id.to_string();
    text[text.len().saturating_sub(8)..].to_string()
}

impl Printer {
    pub fn profile(&self, ledger: &Ledger, profile: &DeviceProfile) -> Result<()> {
        let villages = ledger.villages()?;
        let codes: Vec<&VillageView> =
            villages.iter().filter(|view| profile.villages.contains(&view.village.id)).collect();
        if self.json {
            return print_json(&json!({
                "device_id": profile.device_id, "user_id": profile.user_id, "user": profile.user_name,
                "role": profile.role, "villages": codes.iter().map(|view| &view.code).collect::<Vec<_>>(),
            }));
        }
        println!("This device now acts for {} ({}, {}).", profile.user_name, profile.role, profile.role.zh());
        match codes.as_slice() {
            [] => println!("Villages: all villages on the device."),
            views => {
                for view in views {
                    println!("Village: {} {}", view.code, view.village.name);
                }
            }
        }
        println!("Device id: {}", profile.device_id);
        Ok(())
    }

    pub fn recorded(&self, ledger: &Ledger, state: &IssueState, what: &str) -> Result<()> {
        let detail = ledger.issue(state.id)?;
        if self.json {
            return print_json(&json!({
                "issue_id": state.id, "status": state.status, "village": detail.village.code(),
                "category": state.category, "deadline": state.deadline, "overdue": detail.overdue,
                "rework_count": state.rework_count, "events": state.event_count,
                "photos": state.before_photos.len() + state.strike_off.as_ref().map_or(0, |s| s.photos.len()),
            }));
        }
        println!("Issue {} {what}.", state.id);
        println!(
            "  {} · {} {} · deadline {} · now {} ({})",
            category_label(&state.category),
            detail.village.code(),
            detail.village.name,
            local(state.deadline),
            state.status.as_str(),
            state.status.zh()
        );
        Ok(())
    }

    pub fn issues(&self, items: &[IssueSummary]) -> Result<()> {
        if self.json {
            return print_json(&items);
        }
        if items.is_empty() {
            println!("No issues match.");
            return Ok(());
        }
        table(
            &["issue", "village", "category", "status", "deadline", "flags", "sync", "note"],
            &summary_rows(items, true),
        );
        println!("{} issue(s).", items.len());
        Ok(())
    }

    pub fn negative_list(&self, list: &NegativeList) -> Result<()> {
        if self.json {
            return print_json(list);
        }
        print_negative_list(list);
        Ok(())
    }

    pub fn zone_negative_list(&self, zone: &str, lists: &[NegativeList]) -> Result<()> {
        let sum = |field: fn(&NegativeList) -> u32| lists.iter().map(field).sum::<u32>();
        let (found, rectified) = (sum(|list| list.found), sum(|list| list.rectified));
        let rate = rectify_core::ledger::rate(rectified, found);
        if self.json {
            return print_json(&serde_json::json!({
                "zone": zone, "found": found, "rectified": rectified, "remaining": found - rectified,
                "overdue": sum(|list| list.overdue), "rectification_rate": rate, "villages": lists,
            }));
        }
        for list in lists {
            print_negative_list(list);
        }
        let rate = rate.map_or("—".to_string(), |rate| format!("{rate:.1}%"));
        println!();
        println!(
            "管区 Zone {zone}: {} villages · found {found} · rectified {rectified} · remaining {} · overdue {} · 整改率 {rate}",
            lists.len(),
            found - rectified,
            sum(|list| list.overdue)
        );
        Ok(())
    }

    pub fn detail(&self, detail: &IssueDetail) -> Result<()> {
        if self.json {
            return print_json(detail);
        }
        let state = &detail.state;
        println!("Issue {}", state.id);
        println!("  category   {} ({})", category_label(&state.category), state.category);
        println!("  village    {} {}", detail.village.code(), detail.village.name);
        println!("  where      {:.6}, {:.6}", state.location.lat, state.location.lon);
        println!(
            "  status     {} ({}){}",
            state.status.as_str(),
            state.status.zh(),
            if detail.overdue { " — OVERDUE 逾期" } else { "" }
        );
        println!("  deadline   {}", local(state.deadline));
        println!(
            "  reported   {} by {} in round {}",
            state.reported.at.format("%Y-%m-%d %H:%M %:z"),
            detail.reported_by.as_deref().unwrap_or("another user"),
            detail.round
        );
        if let Some(note) = &state.note {
            println!("  note       {note}");
        }
        if state.rework_count > 0 {
            println!("  reworked   {} time(s)", state.rework_count);
        }
        for conflict in &state.conflicts {
            let by = conflict.superseded_by.map(|other| format!(" (by {})", short(other))).unwrap_or_default();
            println!("  conflict   {} {}: {}{by}", conflict.kind, short(conflict.event_id), conflict.reason);
        }
        if !detail.photos.is_empty() {
            println!("Photos:");
            for photo in &detail.photos {
                let record = &photo.photo;
                let size = record.width.zip(record.height).map(|(w, h)| format!("{w}×{h}")).unwrap_or_default();
                let role = match photo.role {
                    rectify_core::domain::photo::PhotoRole::Before => "before",
                    rectify_core::domain::photo::PhotoRole::After => "after",
                };
                println!("  {role:<6} {} {size:<10} {}", &record.hash.as_str()[..12], flag_list(&photo.flags));
            }
        }
        println!("History:");
        for event in &detail.events {
            let what = event.body.describe();
            let photos =
                if event.photos.is_empty() { String::new() } else { format!(" [{} photo(s)]", event.photos.len()) };
            let sync = match (&event.verdict, event.server_seq) {
                (Some(Verdict::Refused { reason }), _) => format!("REFUSED by the office: {reason} —"),
                (_, Some(seq)) => format!("office #{seq}"),
                (_, None) => "pending".to_string(),
            };
            println!(
                "  #{:<3} {} {:<21} {sync:<12} {what}{photos}",
                event.device_seq,
                event.recorded_at.format("%m-%d %H:%M"),
                event.body.kind()
            );
        }
        Ok(())
    }

    pub fn categories(&self, catalogue: &Catalogue) -> Result<()> {
        if self.json {
            return print_json(catalogue);
        }
        for task in &catalogue.tasks {
            println!("{}. {} {} ({})", task.number, task.zh, task.en, task.code);
            if task.village_flag {
                println!("     a flag on villages, not a problem type");
            }
            for problem in &task.problem_types {
                let veto = if problem.veto { ", veto item" } else { "" };
                println!(
                    "     {:<30} {} {} — {} day(s){veto}",
                    problem.code, problem.zh, problem.en, problem.deadline_days
                );
            }
        }
        Ok(())
    }

    pub fn status(&self, profile: &DeviceProfile, outbox: &OutboxSummary) -> Result<()> {
        if self.json {
            return print_json(
                &json!({"user": profile.user_name, "role": profile.role, "device_id": profile.device_id, "outbox": outbox}),
            );
        }
        println!("{} ({}) on device {}", profile.user_name, profile.role, profile.device_id);
        println!(
            "  {} event(s) wait for the office{}",
            outbox.pending_events,
            outbox.oldest_recorded_at.as_ref().map(|at| format!(", the oldest from {at}")).unwrap_or_default()
        );
        println!(
            "  {} photo(s) kept, {}; {} not yet confirmed by the office",
            outbox.photos,
            megabytes(outbox.photo_bytes),
            megabytes(outbox.unconfirmed_photo_bytes)
        );
        Ok(())
    }

    pub fn enrolled(&self, answer: &EnrollResponse, report: &SyncReport) -> Result<()> {
        if self.json {
            return print_json(&json!({
                "user": answer.user_name, "role": answer.role, "user_id": answer.user_id, "sync": report
            }));
        }
        println!("Enrolled as {} ({}).", answer.user_name, answer.role);
        self.sync_report(report)
    }

    pub fn sync_report(&self, report: &SyncReport) -> Result<()> {
        if self.json {
            return print_json(report);
        }
        println!(
            "Pushed {} event(s), pulled {}; photos up {}, down {}; {} sent, {} received.",
            report.pushed,
            report.pulled,
            report.photos_up,
            report.photos_down,
            megabytes(report.bytes_up),
            megabytes(report.bytes_down)
        );
        for rejected in &report.rejected {
            println!("  REFUSED {} on issue {}: {}", rejected.kind, short(rejected.issue_id), rejected.reason);
        }
        for problem in &report.photo_problems {
            println!("  {problem}");
        }
        if report.epoch_changed {
            println!("  The office's data was replaced (new epoch): pulled again from the start.");
        }
        if report.repaired {
            println!("  The device's copy did not match the office's count: pulled again from the start.");
        }
        match (report.pending, report.oldest_pending_age_s) {
            (0, _) => println!("Nothing waits for the office."),
            (pending, Some(age)) => println!("{pending} event(s) still wait; the oldest for {age} s."),
            (pending, None) => println!("{pending} event(s) still wait."),
        }
        Ok(())
    }

    pub fn inspection(&self, inspection: &Inspection) -> Result<()> {
        if self.json {
            return print_json(inspection);
        }
        println!("{}×{} pixels, orientation {}", inspection.width, inspection.height, inspection.orientation);
        match &inspection.gps {
            Some(gps) => println!(
                "  GPS      {:.6}, {:.6}{}",
                gps.lat,
                gps.lon,
                gps.alt.map(|alt| format!(", {alt:.1} m")).unwrap_or_default()
            ),
            None => println!("  GPS      none"),
        }
        println!("  taken    {}", inspection.taken_at.as_deref().unwrap_or("unknown"));
        let camera = camera(inspection.make.as_deref(), inspection.model.as_deref());
        println!("  camera   {}", camera.as_deref().unwrap_or("unknown"));
        for problem in &inspection.problems {
            println!("  problem  {problem}");
        }
        Ok(())
    }

    pub fn ingested(&self, ledger: &Ledger, report: &IngestReport) -> Result<()> {
        let photo = &report.photo;
        if self.json {
            return print_json(&json!({
                "hash": photo.hash,
                "evidence": {"hash": photo.hash, "bytes": photo.bytes, "width": photo.width, "height": photo.height,
                             "path": ledger.photo_path(photo)},
                "thumbnail": photo.thumbnail,
                "source": photo.source,
                "capture": photo.capture,
                "phash": photo.phash,
                "flags": report.flags,
                "already_known": report.already_known,
            }));
        }
        let known = if report.already_known { " (already stored: the same file was ingested before)" } else { "" };
        println!("Stored photo {}{known}", photo.hash);
        self.photo_lines(ledger, photo);
        println!("  flags      {}", flag_list(&report.flags));
        Ok(())
    }

    pub fn photo(&self, ledger: &Ledger, photo: &PhotoRecord) -> Result<()> {
        if self.json {
            return print_json(&json!({"photo": photo, "path": ledger.photo_path(photo)}));
        }
        println!("Photo {}", photo.hash);
        self.photo_lines(ledger, photo);
        println!("  flags      {}", flag_list(&photo.flags));
        println!("  office     {}", if photo.office_confirmed { "confirmed" } else { "not yet confirmed" });
        Ok(())
    }

    fn photo_lines(&self, ledger: &Ledger, photo: &PhotoRecord) {
        let size = photo.width.zip(photo.height).map(|(w, h)| format!("{w}×{h}, ")).unwrap_or_default();
        let path = ledger.photo_path(photo).map_or_else(|| "pruned".to_string(), |path| path.display().to_string());
        println!("  evidence   {size}{}  {path}", kilobytes(photo.bytes));
        if let Some(thumb) = &photo.thumbnail {
            println!("  thumbnail  {}×{}, {}", thumb.width, thumb.height, kilobytes(thumb.bytes));
        }
        let capture = &photo.capture;
        if let (Some(lat), Some(lon)) = (capture.lat, capture.lon) {
            let alt = capture.alt.map(|alt| format!(", {alt:.1} m")).unwrap_or_default();
            println!("  GPS        {lat:.6}, {lon:.6}{alt}");
        }
        let camera = camera(capture.make.as_deref(), capture.model.as_deref());
        println!(
            "  taken      {}{}",
            capture.taken_at.as_deref().unwrap_or("unknown time"),
            camera.map(|camera| format!(" on {camera}")).unwrap_or_default()
        );
    }

    pub fn photo_usage(&self, usage: &PhotoUsage) -> Result<()> {
        if self.json {
            return print_json(&json!({"usage": usage, "total_bytes": usage.total_bytes()}));
        }
        println!("{} photo(s), {} in all", usage.photos, megabytes(usage.total_bytes()));
        println!("  evidence    {}", megabytes(usage.evidence_bytes));
        println!("  thumbnails  {}", megabytes(usage.thumbnail_bytes));
        println!("  originals   {}", megabytes(usage.original_bytes));
        println!(
            "  {} photo(s), {} not yet confirmed by the office",
            usage.unconfirmed_photos,
            megabytes(usage.unconfirmed_bytes)
        );
        println!("  {} can be freed with `rectify photo prune`", megabytes(usage.prunable_bytes));
        Ok(())
    }

    pub fn boundaries_imported(&self, report: &BoundaryImportReport) -> Result<()> {
        if self.json {
            return print_json(report);
        }
        println!(
            "Read {} feature(s): {} village boundaries stored, {} village(s) new to this device.",
            report.features, report.boundaries, report.villages_created
        );
        Ok(())
    }

    pub fn located(&self, located: &LocatedVillage) -> Result<()> {
        if self.json {
            return print_json(&json!({
                "village": {"code": located.code, "name": located.name},
                "inside": located.inside,
                "distance_m": (located.distance_m * 10.0).round() / 10.0,
            }));
        }
        if located.inside {
            println!("Inside {} {}", located.code, located.name);
        } else {
            println!(
                "Outside every village; nearest is {} {}, {:.0} m away",
                located.code, located.name, located.distance_m
            );
        }
        Ok(())
    }

    pub fn coordinates(&self, lat: f64, lon: f64, datum: &str) -> Result<()> {
        if self.json {
            return print_json(&json!({"datum": datum, "lat": lat, "lon": lon}));
        }
        println!("{lat:.7}, {lon:.7} ({datum})");
        Ok(())
    }

    pub fn nearby(&self, nearby: &[NearbyIssue]) -> Result<()> {
        if self.json {
            return print_json(&nearby);
        }
        if nearby.is_empty() {
            println!("No open issue of this category nearby.");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = nearby
            .iter()
            .map(|found| {
                vec![
                    short(found.issue.id),
                    format!("{:.0} m", found.distance_m),
                    found.issue.status.as_str().to_string(),
                    found.issue.note.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(&["issue", "distance", "status", "note"], &rows);
        Ok(())
    }

    pub fn track(&self, track: &TrackSummary) -> Result<()> {
        if self.json {
            return print_json(track);
        }
        let state = track.stopped_at.as_ref().map_or_else(|| "recording".to_string(), |at| format!("stopped {at}"));
        println!("Track {} \"{}\" ({}, {state})", track.id, track.name, track.source);
        println!(
            "  {} point(s), {:.0} m; dropped {} poor fix(es), {} jump(s), {} out of order; {} bytes stored",
            track.points,
            track.length_m,
            track.dropped.poor_fix,
            track.dropped.jump,
            track.dropped.out_of_order,
            track.stored_bytes
        );
        Ok(())
    }

    pub fn exported(&self, path: &std::path::Path, points: usize, format: &str) -> Result<()> {
        if self.json {
            return print_json(&json!({"written": path, "points": points, "format": format}));
        }
        println!("Wrote {points} point(s) as {format} to {}", path.display());
        Ok(())
    }

    pub fn track_points(&self, count: u64) -> Result<()> {
        if self.json {
            return print_json(&json!({"points": count}));
        }
        println!("{count} fix(es) recorded");
        Ok(())
    }

    pub fn tracks(&self, tracks: &[TrackSummary]) -> Result<()> {
        if self.json {
            return print_json(&tracks);
        }
        let rows: Vec<Vec<String>> = tracks
            .iter()
            .map(|track| {
                vec![
                    track.id.to_string(),
                    track.name.clone(),
                    track.started_at.clone(),
                    track.points.to_string(),
                    format!("{:.0} m", track.length_m),
                ]
            })
            .collect();
        table(&["track", "name", "started", "points", "length"], &rows);
        Ok(())
    }

    pub fn track_detail(&self, detail: &TrackDetail) -> Result<()> {
        if self.json {
            return print_json(detail);
        }
        self.track(&detail.summary)?;
        if detail.villages.is_empty() {
            println!("  enters no village with a boundary on this device");
        }
        for village in &detail.villages {
            let coverage = &village.coverage;
            println!(
                "  {} {}: {:.0} m walked, {:.0} min, {:.0} % of the area within {:.0} m of the track",
                village.code,
                village.name,
                coverage.distance_m,
                coverage.seconds / 60.0,
                coverage.area_share * 100.0,
                coverage.reach_m
            );
        }
        Ok(())
    }

    pub fn pruned(&self, report: &PruneReport) -> Result<()> {
        if self.json {
            return print_json(report);
        }
        println!(
            "Freed {}: evidence of {} photo(s) the office has confirmed, and {} file(s) no photo refers to",
            megabytes(report.bytes_freed),
            report.photos,
            report.orphans_removed
        );
        Ok(())
    }

    pub fn village(&self, village: &Village) -> Result<()> {
        if self.json {
            return print_json(village);
        }
        let history: Vec<String> =
            village.codes.iter().map(|code| format!("{} ({})", code.code, code.source)).collect();
        println!("Village {} {} — codes: {}", village.code(), village.name, history.join(" → "));
        Ok(())
    }

    pub fn villages(&self, villages: &[VillageView]) -> Result<()> {
        if self.json {
            return print_json(&villages);
        }
        let rows: Vec<Vec<String>> = villages
            .iter()
            .map(|view| {
                vec![
                    view.code.clone(),
                    view.village.name.clone(),
                    view.town.clone().unwrap_or_default(),
                    view.zone.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(&["code", "name", "town", "zone"], &rows);
        println!("{} village(s).", villages.len());
        Ok(())
    }

    pub fn import(&self, report: &ImportReport) -> Result<()> {
        if self.json {
            return print_json(report);
        }
        println!(
            "Read {} rows: {} villages added, {} updated, {} known under an older code and given this one, in {} towns.",
            report.rows, report.added, report.updated, report.linked, report.towns
        );
        Ok(())
    }
}

/// "Make Model", or `None` when the photo names neither.
fn camera(make: Option<&str>, model: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [make, model].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn kilobytes(bytes: u64) -> String {
    format!("{:.0} KB", bytes as f64 / 1_000.0)
}

fn flag_list(flags: &[EvidenceFlag]) -> String {
    if flags.is_empty() {
        return "none".to_string();
    }
    flags.iter().map(EvidenceFlag::describe).collect::<Vec<_>>().join("; ")
}

fn summary_rows(items: &[IssueSummary], with_village: bool) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|item| {
            let mut flags = Vec::new();
            if item.overdue {
                flags.push("OVERDUE".to_string());
            }
            if item.rework_count > 0 {
                flags.push(format!("rework×{}", item.rework_count));
            }
            let mut row = vec![short(item.id)];
            if with_village {
                row.push(item.village.clone());
            }
            row.extend([
                clip(&category_label(&item.category), 28),
                format!("{} {}", item.status.as_str(), item.status.zh()),
                local(item.deadline),
                flags.join(" "),
                item.sync_state(),
                clip(item.note.as_deref().unwrap_or(""), 30),
            ]);
            row
        })
        .collect()
}

/// The negative list as a village secretary or a bulletin reader wants it.
pub fn print_negative_list(list: &NegativeList) {
    let place: Vec<&str> = [list.town.as_deref(), list.zone.as_deref()].into_iter().flatten().collect();
    println!();
    println!(
        "负面清单 Negative list — {} {}{}",
        list.village.code(),
        list.village.name,
        if place.is_empty() { String::new() } else { format!(" ({})", place.join(" › ")) }
    );
    let rate = list.rectification_rate.map_or("—".to_string(), |rate| format!("{rate:.1}%"));
    println!(
        "  found {} · rectified {} · awaiting acceptance {} · remaining {} · overdue {} · rectification rate 整改率 {rate}",
        list.found, list.rectified, list.awaiting_acceptance, list.remaining, list.overdue
    );
    if list.items.is_empty() {
        println!("  Nothing outstanding.");
        return;
    }
    table(&["issue", "category", "status", "deadline", "flags", "sync", "note"], &summary_rows(&list.items, false));
}

/// A progress line on stderr for long work, shown only to a person at a terminal.
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    visible: bool,
}

impl Progress {
    pub fn new(json: bool, label: &'static str) -> Self {
        Self { label, visible: !json && std::io::stderr().is_terminal() }
    }

    pub fn update(&mut self, done: usize, total: usize) {
        if self.visible {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            eprint!("\r{} {done}/{total} ({percent}%)", self.label);
            let _ = std::io::stderr().flush();
        }
    }

    pub fn finish(&mut self) {
        if self.visible {
            eprintln!();
        }
    }
}

/// A one-line sync progress display on stderr, when it is a terminal.
#[derive(Debug)]
pub struct SyncProgressLine {
    visible: bool,
}

impl SyncProgressLine {
    pub fn new(json: bool) -> Self {
        Self { visible: !json && std::io::stderr().is_terminal() }
    }

    pub fn finish(&self) {
        if self.visible {
            eprintln!();
        }
    }
}

impl rectify_core::sync::SyncProgress for SyncProgressLine {
    fn progress(&self, progress: &rectify_core::sync::Progress) {
        if self.visible {
            let phase = progress.phase.map(|phase| format!("{phase:?}").to_lowercase()).unwrap_or_default();
            eprint!(
                "\rsync {phase:<11} up {} events, {} photos ({}); down {} events, {} photos ({}); {} pending   ",
                progress.events_up,
                progress.photos_up,
                megabytes(progress.bytes_up),
                progress.events_down,
                progress.photos_down,
                megabytes(progress.bytes_down),
                progress.pending
            );
            let _ = std::io::stderr().flush();
        }
    }
}
