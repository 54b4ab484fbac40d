//! The report commands as the `rectify` and `rectify-office` command lines share them: the weekly
//! bulletin, month scores, red/black lists, escalations, the towns' quarterly ranking, rectification
//! rates, the overdue list and the issue exports. Readable tables by default, `--json` for machines,
//! `--csv`/`--xlsx` files written whole or not at all.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration};
use clap::Subcommand;
use serde::Serialize;

use super::{Table, Week};
use crate::ledger::Ledger;
use crate::score::{Level, Month, Rules, Scorer};
use crate::{RectifyError, Result};

#[derive(Debug, Clone, Subcommand)]
pub enum ReportVerb {
    /// The weekly bulletin (通报): per village new, assigned, accepted, open, overdue, rate, rank, red/black.
    Bulletin {
        /// An ISO week such as 2023-W28 (default: last week).
        #[arg(long)]
        week: Option<String>,
        /// Only the villages of this town (by name).
        #[arg(long)]
        town: Option<String>,
        /// Only the villages of this zone (by name).
        #[arg(long)]
        zone: Option<String>,
        /// Also write the table as CSV to this file.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Also write a workbook (bulletin, scores, red and black lists, escalations) to this file.
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Each village's score for a month (mean of its rounds) with the deductions behind it, ranked.
    Scores {
        /// A month such as 2023-07 (default: last month).
        #[arg(long)]
        month: Option<String>,
        /// Show one village's rounds and every deduction.
        #[arg(long, value_name = "CODE")]
        village: Option<String>,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// The month's red and black lists (红黑榜), with a reason for each black entry.
    Lists {
        #[arg(long)]
        month: Option<String>,
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Villages due for an interview (约谈) or organisational handling, with their black-list history.
    Escalations {
        #[arg(long)]
        month: Option<String>,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// The city's quarterly ranking of towns: praised, criticised, interviews.
    Ranking {
        /// A quarter such as 2023-Q3 (default: last quarter).
        #[arg(long)]
        quarter: Option<String>,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Rectification rates (accepted ÷ found) for a week, a month, or cumulative.
    Rates {
        #[arg(long, conflicts_with = "month")]
        week: Option<String>,
        #[arg(long)]
        month: Option<String>,
        /// village, zone, town or district.
        #[arg(long, default_value = "village")]
        level: String,
        #[command(flatten)]
        rules: RulesArg,
    },
    /// Issues past their deadline and not accepted, most overdue first (interview candidates).
    Overdue {
        #[command(flatten)]
        rules: RulesArg,
    },
    /// The issues as GeoJSON or as Open311 GeoReport v2 JSON.
    Export {
        /// geojson or open311.
        #[arg(long)]
        format: String,
        /// Where to write (default: standard output).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        rules: RulesArg,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct RulesArg {
    /// An assessment rules file (JSON, the shape of core/data/rules.json); default: the built-in rules.
    #[arg(long = "rules", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl RulesArg {
    pub fn load(&self, ledger: &Ledger) -> Result<Rules> {
        match &self.file {
            None => Ok(Rules::builtin().clone()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|err| RectifyError::invalid(format!("cannot read {}: {err}", path.display())))?;
                Ok(Rules::from_json(&text, ledger.catalogue())?)
            }
        }
    }
}

impl ReportVerb {
    fn rules(&self) -> &RulesArg {
        match self {
            ReportVerb::Bulletin { rules, .. }
            | ReportVerb::Scores { rules, .. }
            | ReportVerb::Lists { rules, .. }
            | ReportVerb::Escalations { rules, .. }
            | ReportVerb::Ranking { rules, .. }
            | ReportVerb::Rates { rules, .. }
            | ReportVerb::Overdue { rules }
            | ReportVerb::Export { rules, .. } => rules,
        }
    }
}

/// Writes `bytes` to `path` through a temporary file, so a failure leaves no half-written file.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |err: std::io::Error| RectifyError::invalid(format!("cannot write {}: {err}", path.display()));
    let name =
        path.file_name().ok_or_else(|| RectifyError::invalid(format!("{} is not a file name", path.display())))?;
    let temporary = path.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(|err| {
        let _ = std::fs::remove_file(&temporary);
        fail(err)
    })
}

fn print_json(value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|err| RectifyError::invalid(err.to_string()))?;
    println!("{text}");
    Ok(())
}

fn print_table(table: &Table) -> Result<()> {
    println!("{}", table.title);
    println!("{}", table.headers.join(" | "));
    for row in &table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                super::Cell::Text(text) => text.clone(),
                super::Cell::Number(number) => super::format_number(*number),
                super::Cell::Empty => "—".to_string(),
            })
            .collect();
        println!("{}", cells.join(" | "));
    }
    Ok(())
}

/// Runs one report command over the ledger, printing to standard output.
pub fn run(ledger: &Ledger, verb: &ReportVerb, json: bool) -> Result<()> {
    let rules = verb.rules().load(ledger)?;
    let snapshot = match verb {
        ReportVerb::Export { .. } => ledger.export_snapshot()?,
        _ => ledger.scoring_snapshot()?,
    };
    let scorer = Scorer::new(&rules, ledger.catalogue(), &snapshot).map_err(RectifyError::invalid)?;
    match verb {
        ReportVerb::Bulletin { week, town, zone, csv, xlsx, .. } => {
            let week = super::week_or_last(week.as_deref(), &scorer, ledger.now())?;
            let bulletin = super::area_bulletin(&scorer, &snapshot.places, week, town.as_deref(), zone.as_deref())?;
            let table = bulletin.table();
            if let Some(path) = csv {
                write_whole(path, table.to_csv().as_bytes())?;
            }
            if let Some(path) = xlsx {
                let month = Month::of(bulletin.from).previous();
                let scores = scorer.scored(month);
                let lists = scorer.lists_from(&scores);
                let mut tables = vec![table.clone(), super::scores_table(&scores)];
                tables.extend(super::list_tables(&lists));
                tables.push(super::escalation_table(&scorer.escalations(month)));
                write_whole(path, &super::xlsx::workbook(&tables).map_err(RectifyError::invalid)?)?;
            }
            if json { print_json(&bulletin) } else { print_table(&table) }
        }
        ReportVerb::Scores { month, village, .. } => {
            let month = super::month_or_last(month.as_deref(), &scorer, ledger.now())?;
            let scores = scorer.month_scores(month);
            match village {
                Some(code) => {
                    let found = scores.villages.iter().find(|item| &item.village.code == code);
                    let item = found.ok_or_else(|| RectifyError::not_found(format!("no village with code {code}")))?;
                    if json {
                        return print_json(
                            &serde_json::json!({"rules_version": scores.rules_version, "village": item}),
                        );
                    }
                    println!(
                        "{} {} — {}: {:.2} (rank {} of {} in {}; rules {})",
                        item.village.code,
                        item.village.name,
                        scores.month,
                        item.score,
                        item.rank,
                        item.group_size,
                        item.group,
                        scores.rules_version
                    );
                    for round in &item.rounds {
                        println!("  {} ({} to {}): {:.2}", round.label, round.from, round.to, round.score);
                        for category in &round.categories {
                            let how = if category.veto {
                                " — veto item: the whole category".to_string()
                            } else if category.uncapped > category.cap {
                                format!(" — capped from {:.2}", category.uncapped)
                            } else {
                                String::new()
                            };
                            println!("    {:<13} −{:.2}{how}", category.category, category.lost);
                            for problem in &category.problems {
                                println!(
                                    "      {} ×{} at {:.2} = {:.2}",
                                    problem.name, problem.spots, problem.per_spot, problem.lost
                                );
                            }
                        }
                        if round.overdue_items > 0 {
                            println!("    overdue ×{}: −{:.2}", round.overdue_items, round.overdue_lost);
                        }
                    }
                    Ok(())
                }
                None if json => print_json(&scores),
                None => print_table(&super::scores_table(&scores)),
            }
        }
        ReportVerb::Lists { month, xlsx, .. } => {
            let month = super::month_or_last(month.as_deref(), &scorer, ledger.now())?;
            let lists = scorer.lists(month);
            let tables = super::list_tables(&lists);
            if let Some(path) = xlsx {
                write_whole(path, &super::xlsx::workbook(&tables).map_err(RectifyError::invalid)?)?;
            }
            if json { print_json(&lists) } else { tables.iter().try_for_each(print_table) }
        }
        ReportVerb::Escalations { month, .. } => {
            let month = super::month_or_last(month.as_deref(), &scorer, ledger.now())?;
            let escalations = scorer.escalations(month);
            if json { print_json(&escalations) } else { print_table(&super::escalation_table(&escalations)) }
        }
        ReportVerb::Ranking { quarter, .. } => {
            let (year, quarter) = match quarter {
                Some(text) => parse_quarter(text)?,
                None => {
                    let today = ledger.now().with_timezone(&scorer.offset()).date_naive();
                    let current = (today.month() - 1) / 3 + 1;
                    if current == 1 { (today.year() - 1, 4) } else { (today.year(), current - 1) }
                }
            };
            let ranking = scorer.town_ranking(year, quarter).map_err(RectifyError::invalid)?;
            if json {
                return print_json(&ranking);
            }
            println!("{} town ranking (rules {})", ranking.quarter, ranking.rules_version);
            for town in &ranking.towns {
                let mut marks = Vec::new();
                if town.praised {
                    marks.push("praised");
                }
                if town.criticised {
                    marks.push("criticised");
                }
                if town.interview {
                    marks.push("interview of the town secretary");
                }
                println!("{:>3}. {:<24} {:>6.2}  {}", town.rank, town.town, town.score, marks.join(", "));
            }
            Ok(())
        }
        ReportVerb::Rates { week, month, level, .. } => {
            let level = match level.as_str() {
                "village" => None,
                "zone" => Some(Some(Level::Zone)),
                "town" => Some(Some(Level::Town)),
                "district" => Some(None),
                other => {
                    return Err(RectifyError::invalid(format!("--level {other}: use village, zone, town or district")));
                }
            };
            let offset = scorer.offset();
            let (label, from, to) = if let Some(text) = week {
                let week = Week::parse(text).map_err(RectifyError::invalid)?;
                let from = crate::score::day_start_ms(week.monday(), offset);
                (week.label(), Some(from), crate::score::day_start_ms(week.monday() + Duration::days(7), offset))
            } else if let Some(text) = month {
                let month = Month::parse(text).map_err(RectifyError::invalid)?;
                let from = crate::score::day_start_ms(month.first_day(), offset);
                (month.label(), Some(from), crate::score::day_start_ms(month.next().first_day(), offset))
            } else {
                ("cumulative".to_string(), None, ledger.now().timestamp_millis() + 1)
            };
            let rates = match level {
                None => scorer.rates(None, from, to),
                Some(Some(level)) => scorer.rates(Some(level), from, to),
                Some(None) => {
                    let all = scorer.rates(Some(Level::Town), from, to);
                    let (found, accepted) = all.iter().fold((0, 0), |(f, a), rate| (f + rate.found, a + rate.accepted));
                    vec![crate::score::Rate {
                        group: "district".into(),
                        found,
                        accepted,
                        rate: crate::score::percent(accepted, found),
                    }]
                }
            };
            if json {
                return print_json(
                    &serde_json::json!({"rules_version": rules.version, "period": label, "rates": rates}),
                );
            }
            println!("Rectification rate, {label} (accepted ÷ found; rules {})", rules.version);
            for rate in &rates {
                let shown = rate.rate.map_or("—".to_string(), |rate| format!("{rate:.1}%"));
                println!("  {:<36} {:>5} found {:>5} accepted  {shown}", rate.group, rate.found, rate.accepted);
            }
            Ok(())
        }
        ReportVerb::Overdue { .. } => {
            let items = scorer.overdue(ledger.now());
            if json {
                return print_json(&serde_json::json!({"rules_version": rules.version, "overdue": items}));
            }
            if items.is_empty() {
                println!("Nothing is overdue.");
            }
            for item in &items {
                println!(
                    "{:>4} days  {} {}  {}  {} ({})",
                    item.days_overdue,
                    item.code,
                    item.village,
                    item.category,
                    item.issue,
                    item.status.as_str()
                );
            }
            Ok(())
        }
        ReportVerb::Export { format, output, .. } => {
            let value = match format.as_str() {
                "geojson" => super::issues_geojson(&scorer, &snapshot.issues),
                "open311" => super::issues_open311(&scorer, &snapshot.issues),
                other => return Err(RectifyError::invalid(format!("--format {other}: use geojson or open311"))),
            };
            let text = serde_json::to_string_pretty(&value).map_err(|err| RectifyError::invalid(err.to_string()))?;
            match output {
                Some(path) => write_whole(path, text.as_bytes()),
                None => {
                    println!("{text}");
                    Ok(())
                }
            }
        }
    }
}

fn parse_quarter(text: &str) -> Result<(i32, u32)> {
    let bad = || RectifyError::invalid(format!("`{text}` is not a quarter like 2023-Q3"));
    let (year, quarter) = text.trim().split_once("-Q").ok_or_else(bad)?;
    let quarter: u32 = quarter.parse().map_err(|_| bad())?;
    if !(1..=4).contains(&quarter) {
        return Err(bad());
    }
    Ok((year.parse().map_err(|_| bad())?, quarter))
}
