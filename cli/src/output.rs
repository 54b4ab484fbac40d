//! Everything `rectify` prints: readable text for people, JSON on stdout with `--json`.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use rectify_core::Result;
use rectify_core::domain::category::Catalogue;
use rectify_core::domain::event::EventBody;
use rectify_core::domain::issue::IssueState;
use rectify_core::domain::place::Village;
use rectify_core::domain::role::DeviceProfile;
use rectify_core::ledger::{ImportReport, IssueDetail, Ledger, NegativeList, OutboxSummary, VillageView};
use rectify_core::store::issues::IssueSummary;
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
        table(&["issue", "village", "category", "status", "deadline", "flags", "note"], &summary_rows(items, true));
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
            println!("  conflict   {} {}: {}", conflict.kind, short(conflict.event_id), conflict.reason);
        }
        println!("History:");
        for event in &detail.events {
            let what = match &event.body {
                EventBody::Reported(body) => body.note.clone().unwrap_or_default(),
                EventBody::StrikeOffRequested(body) => body.note.clone().unwrap_or_default(),
                EventBody::Rejected(body) => body.reason.clone(),
                EventBody::Reopened(body) => body.reason.clone(),
                EventBody::Comment(body) => body.text.clone(),
                EventBody::Withdrawn(body) => format!("{:?}", body.reason),
                EventBody::Unknown { version, .. } => format!("(from a newer app, version {version})"),
                _ => String::new(),
            };
            let photos =
                if event.photos.is_empty() { String::new() } else { format!(" [{} photo(s)]", event.photos.len()) };
            let sync = if event.server_seq.is_some() { "synced" } else { "pending" };
            println!(
                "  #{:<3} {} {:<21} {sync:<7} {what}{photos}",
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
        println!("  {} photo(s) kept, {:.1} MB", outbox.photos, outbox.photo_bytes as f64 / 1_000_000.0);
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
            "Read {} rows: {} villages added, {} updated, in {} towns.",
            report.rows, report.added, report.updated, report.towns
        );
        Ok(())
    }
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
    table(&["issue", "category", "status", "deadline", "flags", "note"], &summary_rows(&list.items, false));
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
