//! `rectify`: the Rectify core from a terminal. A desktop field client, an office helper and the driver
//! that end-to-end tests use. Human text by default, `--json` for machines; errors go to stderr with a
//! non-zero exit code that says what kind of error it was.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use rectify_core::clock::{Clock, ManualClock, SystemClock};
use rectify_core::domain::issue::Status;
use rectify_core::domain::role::Role;
use rectify_core::ids::IssueId;
use rectify_core::ledger::{BoundaryImport, Command, Ledger, ListFilter, NewReport, NewVillage};
use rectify_core::photo::IngestOptions;
use rectify_core::store::OpenMode;
use rectify_core::sync::{HttpTransport, RetryPolicy, SyncOptions};
use rectify_core::{RectifyError, Result};

mod demo;
mod output;

#[derive(Debug, Parser)]
#[command(name = "rectify", version, about = "Record village environment issues offline and strike them off", long_about = None)]
struct Cli {
    /// The device database (created by `init`).
    #[arg(long, global = true, env = "RECTIFY_DB", default_value = "rectify.db")]
    db: PathBuf,
    /// Print machine-readable JSON on stdout (errors as JSON on stderr).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Set who this device acts for (creates the database if needed).
    Init {
        #[arg(long)]
        user: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A village this user answers for (repeatable; required for a secretary).
        #[arg(long = "village", value_name = "CODE")]
        villages: Vec<String>,
    },
    /// Record a problem found on a walk.
    Report {
        /// Problem-type code, e.g. waste.bin_overflowing (see `rectify categories`).
        #[arg(long)]
        category: String,
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        /// GPS accuracy in metres.
        #[arg(long)]
        accuracy: Option<f64>,
        /// The village's 12-digit code. Left out, the village boundaries decide (or, without them, the
        /// one village this device answers for).
        #[arg(long = "village", value_name = "CODE")]
        village: Option<String>,
        /// Why the issue goes to another village than the one whose boundary holds the point (recorded).
        #[arg(long, value_name = "TEXT")]
        village_reason: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// A JPEG showing the problem (repeatable).
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
        /// Record it even though an open issue of the same category is within --duplicate-radius.
        #[arg(long)]
        not_duplicate: bool,
        /// How near (metres) an open issue of the same category must be to count as a likely duplicate.
        #[arg(long, default_value_t = 15.0)]
        duplicate_radius: f64,
    },
    /// Open issues of a category near a spot: check before reporting what may already be on the list.
    Nearby {
        #[arg(long)]
        category: String,
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        /// Metres.
        #[arg(long, default_value_t = 15.0)]
        radius: f64,
    },
    /// Points and villages: which village a point is in, and GCJ-02 for Chinese basemaps.
    #[command(subcommand)]
    Geo(GeoVerb),
    /// Walk tracks: record one, import GPX, see village coverage, export.
    #[command(subcommand)]
    Track(TrackVerb),
    /// List issues, soonest deadline first.
    List {
        #[arg(long = "village", value_name = "CODE")]
        village: Option<String>,
        #[arg(long)]
        zone: Option<String>,
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// Only issues past their deadline and not yet accepted.
        #[arg(long)]
        overdue: bool,
    },
    /// A village's negative list (负面清单) with its counts.
    Negative {
        #[arg(value_name = "VILLAGE_CODE", required_unless_present = "zone", conflicts_with = "zone")]
        village: Option<String>,
        /// A zone's negative list: each of its villages' lists and the zone's totals.
        #[arg(long)]
        zone: Option<String>,
    },
    /// One issue and its whole history.
    Show { issue: String },
    /// Hand an issue to its village, optionally with a new deadline (YYYY-MM-DD).
    Assign {
        issue: String,
        #[arg(long)]
        deadline: Option<chrono::NaiveDate>,
    },
    /// Add photos of the problem to an issue.
    Attach {
        issue: String,
        #[arg(long = "photo", value_name = "FILE", required = true)]
        photos: Vec<PathBuf>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Say an issue is fixed, with after-photos (销号申请).
    StrikeOff {
        issue: String,
        #[arg(long = "photo", value_name = "FILE")]
        photos: Vec<PathBuf>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Accept a strike-off (验收通过).
    Accept {
        issue: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a strike-off and send the issue back for rework.
    Reject {
        issue: String,
        #[arg(long)]
        reason: String,
    },
    /// Reopen an accepted or withdrawn issue.
    Reopen {
        issue: String,
        #[arg(long)]
        reason: String,
    },
    /// Withdraw a false report or a duplicate.
    Withdraw {
        issue: String,
        /// The issue this one duplicates.
        #[arg(long, value_name = "ISSUE")]
        duplicate_of: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Add a comment to an issue.
    Comment { issue: String, text: String },
    /// Correct an open issue's category, note, location or deadline. An edit made without seeing
    /// another's edit of the same field shows as a conflict on the issue; both values are kept.
    Edit {
        issue: String,
        /// A problem-type code (see `categories`).
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// The corrected place, as LAT,LON.
        #[arg(long, value_name = "LAT,LON", value_parser = parse_lat_lon, allow_hyphen_values = true)]
        at: Option<(f64, f64)>,
        /// The fix's accuracy in metres, with --at.
        #[arg(long, requires = "at")]
        accuracy: Option<f64>,
        /// A new deadline (YYYY-MM-DD, the end of that day on this device).
        #[arg(long)]
        deadline: Option<chrono::NaiveDate>,
    },
    /// The task categories and problem types with their codes.
    Categories,
    /// Scores, red/black lists, escalations, rates and the weekly bulletin, computed from this ledger.
    #[command(flatten)]
    Published(rectify_core::report::cli::ReportVerb),
    /// Manage the villages this device knows: add, import (division CSV or boundary GeoJSON), recode, list.
    #[command(subcommand, visible_alias = "villages")]
    Village(VillageVerb),
    /// Photos: read one without storing it, ingest one, see and free storage.
    #[command(subcommand)]
    Photo(PhotoVerb),
    /// What waits to be sent to the office.
    Status,
    /// Enroll this device with a district office using the one-time code the office printed, then sync.
    Enroll {
        /// The office's address, e.g. http://10.0.0.5:8080.
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
    },
    /// Push pending events and photos to the office and pull what is new for this device.
    Sync {
        /// Also download the full evidence images of other devices' photos (thumbnails always come).
        #[arg(long)]
        full_photos: bool,
        /// Give up after this many failed attempts in a row (the next sync resumes). The waits between
        /// them double from a quarter second: 5 attempts give up after about 4 s without a network.
        #[arg(long, default_value_t = 5)]
        attempts: u32,
    },
    /// Record a scripted walk through a few villages and print their negative lists.
    Demo {
        /// Folder for the demo database (a fresh temporary folder by default).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Use a real division list (villages CSV) instead of invented villages: the demo walks the first
        /// four villages of --town, on generated (synthetic) boundaries.
        #[arg(long, requires = "town")]
        division_csv: Option<PathBuf>,
        /// The town's 9-digit street code in --division-csv, e.g. 370215400 (Tongji New Area).
        #[arg(long, requires = "division_csv")]
        town: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TrackVerb {
    /// Start recording a walk.
    Start {
        #[arg(long, default_value = "walk")]
        name: String,
    },
    /// Add a GPS fix to the walk being recorded.
    Point {
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        /// Horizontal accuracy in metres.
        #[arg(long)]
        accuracy: Option<f64>,
        /// When the fix was taken (RFC 3339); now by default.
        #[arg(long)]
        at: Option<String>,
    },
    /// Stop recording: poor fixes and jumps are dropped, the rest packed.
    Stop,
    /// Import a GPX file's track (or route) as a track.
    Import {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
    },
    /// The tracks on this device.
    List,
    /// One track: length, points, and coverage of each village it enters.
    Show {
        id: String,
        /// How far either side of the line counts as seen, in metres.
        #[arg(long, default_value_t = 50.0)]
        reach: f64,
    },
    /// Write a track as GPX or GeoJSON (to stdout, or --output FILE).
    Export {
        id: String,
        #[arg(long, value_parser = ["gpx", "geojson"], default_value = "gpx")]
        format: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum GeoVerb {
    /// The village whose boundary holds the point, or the nearest one and how far.
    Locate {
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        #[arg(allow_negative_numbers = true)]
        lon: f64,
    },
    /// Generate clearly labelled synthetic boundaries for the villages of a town in a division-list CSV
    /// (no public village boundaries exist), as GeoJSON.
    SyntheticBoundaries {
        #[arg(long)]
        division_csv: PathBuf,
        /// The town's 9-digit street code, e.g. 370215400.
        #[arg(long)]
        town: String,
        /// South-west corner of the grid.
        #[arg(long, default_value_t = 36.38, allow_negative_numbers = true)]
        south: f64,
        #[arg(long, default_value_t = 120.45, allow_negative_numbers = true)]
        west: f64,
        /// Cell side in metres.
        #[arg(long, default_value_t = 900.0)]
        cell: f64,
        #[arg(long)]
        output: PathBuf,
    },
    /// WGS-84 to GCJ-02 (for drawing on a Chinese basemap), or back with --to-wgs84.
    Gcj02 {
        #[arg(allow_negative_numbers = true)]
        lat: f64,
        #[arg(allow_negative_numbers = true)]
        lon: f64,
        #[arg(long)]
        to_wgs84: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PhotoVerb {
    /// Read a JPEG's size, orientation, GPS and capture time without decoding or storing it.
    Inspect { file: PathBuf },
    /// Make the evidence image and thumbnail, store them, and print what the evidence checks found.
    Ingest {
        file: PathBuf,
        /// Long side of the evidence image, in pixels.
        #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u16).range(64..=8192))]
        evidence_size: u16,
        /// Long side of the thumbnail, in pixels.
        #[arg(long, default_value_t = 320, value_parser = clap::value_parser!(u16).range(32..=1024))]
        thumbnail_size: u16,
        /// Keep the original file too (not kept by default, to save the phone's space).
        #[arg(long)]
        keep_original: bool,
    },
    /// One stored photo, by its hash.
    Show { hash: String },
    /// How much space photos take, and how much of it the office has not confirmed yet.
    Usage,
    /// Free the evidence files the office has confirmed (thumbnails stay).
    Prune,
}

#[derive(Debug, Subcommand)]
enum VillageVerb {
    /// Add a village, or update the one with this code.
    Add {
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        town: Option<String>,
        #[arg(long)]
        zone: Option<String>,
        /// Flag it as a "weak-base" village (task 8).
        #[arg(long)]
        weak_base: bool,
    },
    /// Import the national division list (code,name,streetCode,... CSV), or village boundaries
    /// (GeoJSON Polygon/MultiPolygon features, WGS-84), told apart by the file's content.
    Import {
        file: PathBuf,
        /// CSV: the matching streets CSV, to place villages in their towns.
        #[arg(long)]
        streets: Option<PathBuf>,
        /// Where the codes or boundaries come from, e.g. nbs-2023.
        #[arg(long, default_value = "import")]
        source: String,
        /// GeoJSON: the feature property holding the 12-digit village code.
        #[arg(long, default_value = "code")]
        code_prop: String,
        /// GeoJSON: the feature property holding the village name.
        #[arg(long, default_value = "name")]
        name_prop: String,
        /// GeoJSON: accept rings wound against the right-hand rule, and turn them.
        #[arg(long)]
        any_winding: bool,
        /// CSV: this is a newer list that renumbers villages already on the device (same city, same
        /// name, another county): give them the new code instead of new villages. Import oldest first.
        #[arg(long)]
        renumbers: bool,
    },
    /// Record that a village has a new code; its id and issues stay.
    Recode {
        old_code: String,
        new_code: String,
        #[arg(long, default_value = "manual")]
        source: String,
    },
    /// List the villages this device knows.
    List,
}

fn parse_role(text: &str) -> std::result::Result<Role, String> {
    text.parse()
}

fn parse_status(text: &str) -> std::result::Result<Status, String> {
    text.parse()
}

fn parse_lat_lon(text: &str) -> std::result::Result<(f64, f64), String> {
    let (lat, lon) = text.split_once(',').ok_or_else(|| format!("`{text}` is not LAT,LON"))?;
    let number = |part: &str| part.trim().parse::<f64>().map_err(|err| format!("`{part}` in `{text}`: {err}"));
    Ok((number(lat)?, number(lon)?))
}

fn issue_id(text: &str) -> Result<IssueId> {
    Ok(text.parse()?)
}

/// The clock: the system's, unless RECTIFY_NOW pins it (for tests and reproducible runs).
fn clock() -> Result<Arc<dyn Clock>> {
    match std::env::var("RECTIFY_NOW") {
        Ok(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .map(|now| Arc::new(ManualClock::new(now)) as Arc<dyn Clock>)
            .map_err(|err| RectifyError::invalid(format!("RECTIFY_NOW=`{text}` is not an RFC 3339 time: {err}"))),
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

fn open(cli: &Cli, mode: OpenMode) -> Result<Ledger> {
    Ledger::open(&cli.db, mode, clock()?)
}

fn main() -> ExitCode {
    // `rectify list | head` closes our stdout early: end quietly, as other Unix tools do, not with a panic.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload_as_str().is_some_and(|text| text.contains("Broken pipe")) {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if cli.json {
                eprintln!("{}", serde_json::json!({"error": {"kind": err.kind(), "message": err.to_string()}}));
            } else {
                eprintln!("rectify: {err}");
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Exit codes by kind, so scripts can tell a typo from a refusal from a broken disk. 2 is clap's usage error.
fn exit_code(err: &RectifyError) -> u8 {
    match err {
        RectifyError::InvalidInput { .. } => 3,
        RectifyError::NotFound { .. } => 4,
        RectifyError::NotPermitted { .. } => 5,
        RectifyError::IllegalTransition { .. } => 6,
        RectifyError::NotInitialised { .. } => 7,
        RectifyError::IncompatibleDatabase { .. } => 8,
        RectifyError::Storage { .. } => 9,
        RectifyError::Sync { .. } => 10,
        RectifyError::Interrupted { .. } => 130,
    }
}

fn run(cli: &Cli) -> Result<()> {
    let out = output::Printer { json: cli.json };
    match &cli.command {
        Verb::Enroll { server, code } => {
            let ledger = open(cli, OpenMode::CreateIfMissing)?;
            let transport = HttpTransport::new(server);
            let answer = ledger.enroll(&transport, server, code)?;
            let report = sync_now(cli, &ledger, &transport, SyncOptions::default())?;
            out.enrolled(&answer, &report)
        }
        Verb::Sync { full_photos, attempts } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            let server =
                ledger.sync_status()?.map(|status| status.server_url).ok_or_else(|| RectifyError::NotInitialised {
                    reason: "this device is not enrolled: run `rectify enroll --server URL --code CODE`".into(),
                })?;
            let options = SyncOptions {
                full_photos: *full_photos,
                retry: RetryPolicy { max_attempts: (*attempts).max(1), ..RetryPolicy::default() },
                ..SyncOptions::default()
            };
            let report = sync_now(cli, &ledger, &HttpTransport::new(&server), options)?;
            out.sync_report(&report)
        }
        Verb::Init { user, role, villages } => {
            let ledger = open(cli, OpenMode::CreateIfMissing)?;
            let profile = ledger.init(user, *role, villages)?;
            out.profile(&ledger, &profile)
        }
        Verb::Report {
            category,
            lat,
            lon,
            accuracy,
            village,
            village_reason,
            note,
            photos,
            not_duplicate,
            duplicate_radius,
        } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            if !not_duplicate {
                let nearby = ledger.nearby_open_issues(category, *lat, *lon, *duplicate_radius)?;
                if let Some(first) = nearby.first() {
                    return Err(RectifyError::invalid(format!(
                        "likely a duplicate: {} open issue(s) of this category within {duplicate_radius} m, the nearest \
                         {} ({:.0} m away, {}). Add your photo to it with `rectify attach {} --photo FILE`, or record \
                         a new issue with --not-duplicate",
                        nearby.len(),
                        first.issue.id,
                        first.distance_m,
                        first.issue.status.as_str(),
                        first.issue.id
                    )));
                }
            }
            let state = ledger.report(&NewReport {
                category: category.clone(),
                village_code: village.clone(),
                lat: *lat,
                lon: *lon,
                accuracy_m: *accuracy,
                note: note.clone(),
                photos: photos.clone(),
                village_reason: village_reason.clone(),
            })?;
            out.recorded(&ledger, &state, "reported")
        }
        Verb::Nearby { category, lat, lon, radius } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            out.nearby(&ledger.nearby_open_issues(category, *lat, *lon, *radius)?)
        }
        Verb::Geo(GeoVerb::Locate { lat, lon }) => {
            let ledger = open(cli, OpenMode::MustExist)?;
            let located = ledger.locate(*lat, *lon)?.ok_or_else(|| {
                RectifyError::not_found(
                    "this device has no village boundaries: import them with `rectify villages import FILE`",
                )
            })?;
            out.located(&located)
        }
        Verb::Track(verb) => track(cli, &out, verb),
        Verb::Geo(GeoVerb::SyntheticBoundaries { division_csv, town, south, west, cell, output }) => {
            rectify_core::domain::validate::Location::new(*south, *west, None)?;
            if !(cell.is_finite() && (100.0..=10_000.0).contains(cell)) {
                return Err(RectifyError::invalid(format!("--cell {cell} m is not between 100 and 10000")));
            }
            let villages = rectify_core::ledger::town_villages(division_csv, town)?;
            let (_, boundaries) = rectify_core::geo::synthetic::for_villages(&villages, *south, *west, *cell, 2026);
            let collection = rectify_core::geo::synthetic::labelled_feature_collection(&boundaries);
            std::fs::write(output, collection.to_string())
                .map_err(|err| RectifyError::Storage { reason: format!("cannot write {}: {err}", output.display()) })?;
            out.exported(output, boundaries.len(), "synthetic boundaries (GeoJSON)")
        }
        Verb::Geo(GeoVerb::Gcj02 { lat, lon, to_wgs84 }) => {
            rectify_core::domain::validate::Location::new(*lat, *lon, None)?;
            let (lat, lon) = if *to_wgs84 {
                rectify_core::geo::gcj02::to_wgs84(*lat, *lon)
            } else {
                rectify_core::geo::gcj02::from_wgs84(*lat, *lon)
            };
            out.coordinates(lat, lon, if *to_wgs84 { "wgs84" } else { "gcj02" })
        }
        Verb::List { village, zone, status, overdue } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            let items = ledger.list(&ListFilter {
                village_code: village.clone(),
                zone: zone.clone(),
                status: *status,
                overdue_only: *overdue,
            })?;
            out.issues(&items)
        }
        Verb::Negative { village: Some(village), .. } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            out.negative_list(&ledger.negative_list(village)?)
        }
        Verb::Negative { village: None, zone } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            let zone = zone.clone().unwrap_or_default();
            out.zone_negative_list(&zone, &ledger.zone_negative_list(&zone)?)
        }
        Verb::Show { issue } => {
            let ledger = open(cli, OpenMode::MustExist)?;
            let id = issue_id(issue)?;
            out.detail(&ledger.issue(id)?)
        }
        Verb::Categories => out.categories(rectify_core::domain::category::Catalogue::builtin()),
        Verb::Published(verb) => {
            let ledger = open(cli, OpenMode::MustExist)?;
            rectify_core::report::cli::run(&ledger, verb, cli.json)
        }
        Verb::Village(verb) => village(cli, &out, verb),
        Verb::Photo(verb) => photo(cli, &out, verb),
        Verb::Status => {
            let ledger = open(cli, OpenMode::MustExist)?;
            out.status(&ledger.profile()?, &ledger.outbox()?)
        }
        Verb::Demo { dir, division_csv, town } => {
            let real = division_csv.as_deref().zip(town.as_deref());
            demo::run(dir.as_deref(), real, &out)
        }
        other => {
            let ledger = open(cli, OpenMode::MustExist)?;
            let (issue, command, verb) = command_of(&ledger, other)?;
            let state = ledger.act(issue_id(issue)?, &command)?;
            out.recorded(&ledger, &state, verb)
        }
    }
}

fn photo(cli: &Cli, out: &output::Printer, verb: &PhotoVerb) -> Result<()> {
    if let PhotoVerb::Inspect { file } = verb {
        return out.inspection(&rectify_core::photo::inspect(file)?);
    }
    let mut ledger = open(cli, OpenMode::MustExist)?;
    match verb {
        PhotoVerb::Inspect { .. } => Ok(()),
        PhotoVerb::Ingest { file, evidence_size, thumbnail_size, keep_original } => {
            ledger.set_ingest_options(IngestOptions {
                evidence_long_side: usize::from(*evidence_size),
                thumbnail_long_side: usize::from(*thumbnail_size),
                keep_original: *keep_original,
                ..IngestOptions::default()
            });
            out.ingested(&ledger, &ledger.ingest_photo(file)?)
        }
        PhotoVerb::Show { hash } => {
            let hash = hash.parse().map_err(RectifyError::invalid)?;
            out.photo(&ledger, &ledger.photo(&hash)?)
        }
        PhotoVerb::Usage => out.photo_usage(&ledger.photo_usage()?),
        PhotoVerb::Prune => out.pruned(&ledger.prune_photos()?),
    }
}

/// The verbs that act on one existing issue.
fn command_of<'v>(ledger: &Ledger, verb: &'v Verb) -> Result<(&'v String, Command, &'static str)> {
    Ok(match verb {
        Verb::Assign { issue, deadline } => {
            let deadline = deadline.map(|day| ledger.end_of_local_day(day)).transpose()?;
            (issue, Command::Assign { deadline }, "assigned")
        }
        Verb::Attach { issue, photos, note } => {
            (issue, Command::AttachPhotos { photos: photos.clone(), note: note.clone() }, "photos attached")
        }
        Verb::StrikeOff { issue, photos, note } => {
            (issue, Command::StrikeOff { photos: photos.clone(), note: note.clone() }, "strike-off requested")
        }
        Verb::Accept { issue, note } => (issue, Command::Accept { note: note.clone() }, "accepted"),
        Verb::Reject { issue, reason } => (issue, Command::Reject { reason: reason.clone() }, "rejected"),
        Verb::Reopen { issue, reason } => (issue, Command::Reopen { reason: reason.clone() }, "reopened"),
        Verb::Withdraw { issue, duplicate_of, note } => {
            let duplicate_of = duplicate_of.as_deref().map(issue_id).transpose()?;
            (issue, Command::Withdraw { duplicate_of, note: note.clone() }, "withdrawn")
        }
        Verb::Comment { issue, text } => (issue, Command::Comment { text: text.clone() }, "commented"),
        Verb::Edit { issue, category, note, at, accuracy, deadline } => {
            let deadline = deadline.map(|day| ledger.end_of_local_day(day)).transpose()?;
            let location = at.map(|(lat, lon)| (lat, lon, *accuracy));
            (issue, Command::Edit { category: category.clone(), note: note.clone(), location, deadline }, "edited")
        }
        _ => return Err(RectifyError::invalid("not an issue command")),
    })
}

fn track(cli: &Cli, out: &output::Printer, verb: &TrackVerb) -> Result<()> {
    let ledger = open(cli, OpenMode::MustExist)?;
    let track_id = |text: &str| -> Result<rectify_core::ids::TrackId> { Ok(text.parse()?) };
    match verb {
        TrackVerb::Start { name } => out.track(&ledger.start_track(name)?),
        TrackVerb::Point { lat, lon, accuracy, at } => {
            let at = match at {
                Some(text) => chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|err| RectifyError::invalid(format!("--at `{text}` is not an RFC 3339 time: {err}")))?
                    .to_utc(),
                None => ledger.now(),
            };
            let count = ledger.add_track_point(rectify_core::geo::track::TrackPoint {
                lat: *lat,
                lon: *lon,
                at: Some(at),
                accuracy_m: *accuracy,
                new_segment: false,
            })?;
            out.track_points(count)
        }
        TrackVerb::Stop => out.track(&ledger.stop_track()?),
        TrackVerb::Import { file, name } => out.track(&ledger.import_gpx(file, name.as_deref())?),
        TrackVerb::List => out.tracks(&ledger.tracks()?),
        TrackVerb::Show { id, reach } => out.track_detail(&ledger.track_coverage(track_id(id)?, *reach)?),
        TrackVerb::Export { id, format, output } => {
            let id = track_id(id)?;
            let points = ledger.track_points(id)?;
            let name =
                ledger.tracks()?.into_iter().find(|track| track.id == id).map(|track| track.name).unwrap_or_default();
            let text = if format == "gpx" {
                rectify_core::geo::track::to_gpx(&name, &points)
            } else {
                rectify_core::geo::track::to_geojson(&name, &points).to_string()
            };
            match output {
                Some(path) => {
                    std::fs::write(path, text).map_err(|err| RectifyError::Storage {
                        reason: format!("cannot write {}: {err}", path.display()),
                    })?;
                    out.exported(path, points.len(), format)
                }
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
    }
}

/// Whether a file starts (after white space) with `{`: GeoJSON rather than CSV.
/// One sync with a progress line on a terminal.
fn sync_now(
    cli: &Cli,
    ledger: &Ledger,
    transport: &HttpTransport,
    options: SyncOptions,
) -> Result<rectify_core::sync::SyncReport> {
    let progress = output::SyncProgressLine::new(cli.json);
    let report = ledger.sync(transport, options, &progress);
    progress.finish();
    report
}

fn looks_like_json(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path).and_then(|mut file| file.read(&mut head)).unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..read]);
    text.trim_start_matches('\u{feff}').trim_start().starts_with('{')
}

fn village(cli: &Cli, out: &output::Printer, verb: &VillageVerb) -> Result<()> {
    let ledger = open(cli, OpenMode::CreateIfMissing)?;
    match verb {
        VillageVerb::Add { code, name, town, zone, weak_base } => {
            let village = ledger.upsert_village(&NewVillage {
                code: code.clone(),
                name: name.clone(),
                town: town.clone(),
                zone: zone.clone(),
                weak_base: *weak_base,
                source: "manual".into(),
            })?;
            out.village(&village)
        }
        VillageVerb::Import { file, streets, source, code_prop, name_prop, any_winding, renumbers } => {
            if looks_like_json(file) {
                let options = BoundaryImport {
                    code_property: code_prop.clone(),
                    name_property: Some(name_prop.clone()),
                    any_winding: *any_winding,
                    source: source.clone(),
                };
                return out.boundaries_imported(&ledger.import_boundaries(file, &options)?);
            }
            let mut progress = output::Progress::new(cli.json, "importing villages");
            let mut report_progress = |done, total| progress.update(done, total);
            let report = if *renumbers {
                ledger.import_renumbered_divisions(file, streets.as_deref(), source, &mut report_progress)?
            } else {
                ledger.import_divisions(file, streets.as_deref(), source, &mut report_progress)?
            };
            progress.finish();
            out.import(&report)
        }
        VillageVerb::Recode { old_code, new_code, source } => {
            out.village(&ledger.recode_village(old_code, new_code, source)?)
        }
        VillageVerb::List => out.villages(&ledger.villages()?),
    }
}
