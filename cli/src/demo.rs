//! `rectify demo`: a scripted week in a synthetic township, recorded through the same ledger operations a
//! phone uses, then the villages' negative lists printed as a person reads them. Places, people and
//! problems are invented and labelled synthetic; the clock is scripted so the output is the same each run
//! (apart from the ids).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset};
use rectify_core::clock::{Clock, ManualClock};
use rectify_core::domain::role::Role;
use rectify_core::geo::synthetic::Grid;
use rectify_core::ids::IssueId;
use rectify_core::ledger::{BoundaryImport, Command, Ledger, NewReport, NewVillage};
use rectify_core::photo::exif::{Capture, Gps, TakenAt};
use rectify_core::photo::synthetic;
use rectify_core::store::OpenMode;
use rectify_core::{RectifyError, Result};

use crate::output::{self, Printer};

const TOWN: &str = "示范新区 Demo New Area (synthetic)";

/// (code, name, zone)
const VILLAGES: [(&str, &str, &str); 4] = [
    ("990001001001", "东岭村 Dongling (synthetic)", "北管区 North zone"),
    ("990001001002", "西河村 Xihe (synthetic)", "北管区 North zone"),
    ("990001002001", "南坡村 Nanpo (synthetic)", "南管区 South zone"),
    ("990001002002", "柳庄村 Liuzhuang (synthetic)", "南管区 South zone"),
];

/// (village index, category, note, where in the village's cell as fractions east and north)
const WALK: [(usize, &str, &str, f64, f64); 9] = [
    (0, "waste.bin_overflowing", "Two bins overflowing at the east gate", 0.70, 0.55),
    (0, "village.three_piles", "Firewood stacked along the main lane", 0.45, 0.62),
    (0, "sewage.flowing", "Grey water running across the lane by the shop", 0.35, 0.40),
    (1, "waste.bin_damaged", "Bin without a lid next to the school", 0.50, 0.35),
    (1, "village.illegal_shed", "Tin shed built onto the lane", 0.62, 0.66),
    (2, "surroundings.floating_rubbish", "Plastic floating in the north pond", 0.40, 0.70),
    (2, "toilets.public_dirty", "Public toilet not cleaned", 0.55, 0.45),
    (3, "courtyard.outside_clutter", "Bricks and sacks outside No. 12", 0.48, 0.52),
    (3, "courtyard.outside_clutter", "Bricks outside No. 12 (second report)", 0.485, 0.525),
];

/// Where the demo's generated (synthetic) village cells start, and their size.
const GRID_SOUTH: f64 = 36.425;
const GRID_WEST: f64 = 120.495;
const CELL_M: f64 = 900.0;

/// Where a walk stop is, as (lat, lon): village k lies in cell (k % columns, k / columns).
fn spot(grid: &Grid, stop: usize) -> (f64, f64) {
    let (village, _, _, east, north) = WALK[stop];
    grid.point_in_cell(village % grid.columns, village / grid.columns, east, north)
}

/// A phone photo of the scene: a generated 1600×1200 picture carrying the fix and the shutter time.
fn photo(dir: &Path, name: &str, seed: u32, lat: f64, lon: f64, at: DateTime<FixedOffset>) -> Result<PathBuf> {
    let capture = Capture {
        orientation: 1,
        gps: Some(Gps { lat, lon, alt: Some(28.0), error_m: Some(4.0) }),
        taken_at: Some(TakenAt { local: at.naive_local(), offset: Some(*at.offset()) }),
        make: Some("Demo".into()),
        model: Some("Field phone (synthetic)".into()),
        ..Capture::default()
    };
    let path = dir.join(name);
    std::fs::write(&path, synthetic::jpeg(1600, 1200, seed, 90, Some(&capture)))
        .map_err(|err| RectifyError::Storage { reason: format!("cannot write {}: {err}", path.display()) })?;
    Ok(path)
}

fn demo_dir(dir: Option<&Path>) -> Result<PathBuf> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => {
            let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            std::env::temp_dir().join(format!("rectify-demo-{}-{stamp}", std::process::id()))
        }
    };
    std::fs::create_dir_all(&dir)
        .map_err(|err| RectifyError::Storage { reason: format!("cannot create {}: {err}", dir.display()) })?;
    Ok(dir)
}

/// Runs the demo week; with `real` = (division-list CSV, town code) the villages are that town's first
/// four, imported with the whole list.
pub fn run(dir: Option<&Path>, real: Option<(&Path, &str)>, out: &Printer) -> Result<()> {
    let dir = demo_dir(dir)?;
    let db = dir.join("demo.db");
    if db.exists() {
        return Err(RectifyError::invalid(format!(
            "{} already has a demo database; pass another --dir",
            dir.display()
        )));
    }
    let start = DateTime::parse_from_rfc3339("2026-11-02T08:30:00+08:00")
        .map_err(|err| RectifyError::invalid(err.to_string()))?;
    let clock = Arc::new(ManualClock::new(start));
    let ledger = Ledger::open(&db, OpenMode::CreateIfMissing, clock.clone())?;
    let say = |line: &str| {
        if !out.json {
            println!("{line}");
        }
    };

    // (code, name) of every village that gets a boundary; the first four are walked.
    let villages: Vec<(String, String)> = match real {
        Some((csv, town)) => {
            let streets = csv.with_file_name(
                csv.file_name()
                    .map(|name| name.to_string_lossy().replacen("villages", "streets", 1))
                    .unwrap_or_default(),
            );
            let streets = (streets.exists() && streets != csv).then_some(streets);
            ledger.import_divisions(csv, streets.as_deref(), "division-list", &mut |_, _| {})?;
            let villages = rectify_core::ledger::town_villages(csv, town)?;
            if villages.len() < VILLAGES.len() {
                return Err(RectifyError::invalid(format!(
                    "town {town} has {} villages; the demo walks four",
                    villages.len()
                )));
            }
            villages
        }
        None => {
            for (code, name, zone) in VILLAGES {
                ledger.upsert_village(&NewVillage {
                    code: code.into(),
                    name: name.into(),
                    town: Some(TOWN.into()),
                    zone: Some(zone.into()),
                    weak_base: false,
                    source: "synthetic-demo".into(),
                })?;
            }
            VILLAGES.iter().map(|(code, name, _)| (code.to_string(), name.to_string())).collect()
        }
    };
    say(&format!("Demo database: {}", db.display()));
    say("Mon 2 Nov, 上旬 round: inspector Wang walks four villages.");
    ledger.init("Wang (inspector, synthetic)", Role::Inspector, &[])?;
    let mut issues: Vec<IssueId> = Vec::new();
    let camera = dir.join("camera");
    std::fs::create_dir_all(&camera)
        .map_err(|err| RectifyError::Storage { reason: format!("cannot create {}: {err}", camera.display()) })?;
    let (grid, boundaries) =
        rectify_core::geo::synthetic::for_villages(&villages, GRID_SOUTH, GRID_WEST, CELL_M, 20_261_102);
    let boundary_file = dir.join("demo-boundaries-synthetic.geojson");
    std::fs::write(&boundary_file, rectify_core::geo::synthetic::labelled_feature_collection(&boundaries).to_string())
        .map_err(|err| RectifyError::Storage { reason: format!("cannot write {}: {err}", boundary_file.display()) })?;
    ledger.import_boundaries(
        &boundary_file,
        &BoundaryImport { source: "synthetic-demo".into(), ..BoundaryImport::default() },
    )?;
    say(&format!(
        "  {} village boundaries loaded — generated, SYNTHETIC, not the real extents: each report is placed in \
         its village by GPS.",
        boundaries.len()
    ));
    for (index, (_, category, note, _, _)) in WALK.into_iter().enumerate() {
        clock.advance(Duration::minutes(7));
        let (lat, lon) = spot(&grid, index);
        if index == 8 {
            let nearby = ledger.nearby_open_issues(category, lat, lon, 15.0)?;
            if let Some(first) = nearby.first() {
                say(&format!(
                    "  The phone warns: an open issue of this kind is {:.0} m away ({}); Wang records it anyway.",
                    first.distance_m,
                    first.issue.note.as_deref().unwrap_or("")
                ));
            }
        }
        let before = photo(&camera, &format!("before-{index}.jpg"), index as u32, lat, lon, clock.now())?;
        let state = ledger.report(&NewReport {
            category: category.into(),
            village_code: None,
            lat,
            lon,
            accuracy_m: Some(4.0),
            note: Some(note.into()),
            photos: vec![before],
            village_reason: None,
        })?;
        issues.push(state.id);
    }
    say(&format!("  {} issues recorded offline.", issues.len()));

    say("Mon 2 Nov, afternoon: the sanitation office hands the lists to the villages.");
    clock.advance(Duration::hours(5));
    ledger.init("Zhao (acceptor, synthetic)", Role::Acceptor, &[])?;
    ledger.batch(|batch| {
        for issue in &issues {
            batch.act(*issue, &Command::Assign { deadline: None })?;
        }
        Ok(())
    })?;
    ledger.act(issues[8], &Command::Withdraw { duplicate_of: Some(issues[7]), note: Some("reported twice".into()) })?;
    say(&format!("  {}: the second report of the same bricks withdrawn as a duplicate.", villages[3].1));

    say("Tue 3 Nov: secretaries fix what they can and strike it off.");
    clock.set(start + Duration::days(1) + Duration::hours(2));
    let strike = |village: usize, picks: &[usize]| -> Result<()> {
        ledger.init(
            &format!("secretary of {}", villages[village].1),
            Role::Secretary,
            &[villages[village].0.clone()],
        )?;
        for pick in picks {
            clock.advance(Duration::minutes(40));
            let (lat, lon) = spot(&grid, *pick);
            // The firewood "fix" is photographed somewhere else: its evidence check flags the distance.
            let lat = if *pick == 1 { lat + 0.002 } else { lat };
            let after = photo(&camera, &format!("after-{pick}.jpg"), 100 + *pick as u32, lat, lon, clock.now())?;
            ledger.act(
                issues[*pick],
                &Command::StrikeOff { photos: vec![after], note: Some("fixed, see after-photo".into()) },
            )?;
        }
        Ok(())
    };
    strike(0, &[0, 1])?;
    strike(1, &[3])?;
    strike(2, &[5, 6])?;

    let usage = ledger.photo_usage()?;
    say(&format!("  {} photos kept on the phone, {:.1} MB.", usage.photos, usage.total_bytes() as f64 / 1e6));
    for flag in ledger.issue(issues[1])?.photos.iter().flat_map(|photo| &photo.flags) {
        say(&format!("  Evidence check on the firewood strike-off: {}.", flag.describe()));
    }

    say("Wed 4 Nov: the office checks the strike-offs.");
    clock.set(start + Duration::days(2) + Duration::hours(1));
    ledger.init("Zhao (acceptor, synthetic)", Role::Acceptor, &[])?;
    for pick in [0, 5, 6] {
        ledger.act(issues[pick], &Command::Accept { note: None })?;
    }
    ledger.act(issues[1], &Command::Reject { reason: "after-photo taken 220 m away; the lane is not shown".into() })?;
    ledger.act(issues[3], &Command::Reject { reason: "new bin has no lid either".into() })?;

    clock.set(start + Duration::days(6));
    say("Sun 8 Nov: the negative lists as the Monday bulletin will show them.");
    let lists =
        villages.iter().take(VILLAGES.len()).map(|(code, _)| ledger.negative_list(code)).collect::<Result<Vec<_>>>()?;
    let snapshot = ledger.scoring_snapshot()?;
    let rules = rectify_core::score::Rules::builtin();
    let scorer =
        rectify_core::score::Scorer::new(rules, ledger.catalogue(), &snapshot).map_err(RectifyError::invalid)?;
    let week = rectify_core::report::week_of(&scorer, ledger.now());
    let bulletin = rectify_core::report::bulletin(&scorer, week, &|_| true);
    if out.json {
        let value = serde_json::json!({"database": db, "negative_lists": lists, "bulletin": bulletin});
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|err| RectifyError::Storage { reason: err.to_string() })?
        );
        return Ok(());
    }
    for list in &lists {
        output::print_negative_list(list);
    }
    println!();
    let table = bulletin.table();
    println!("{} (rules {}):", table.title, bulletin.rules_version);
    for row in &bulletin.rows {
        let rate = row.rate.map_or("—".to_string(), |rate| format!("{rate:.1}%"));
        println!(
            "  {:>2}. {:<22} new {:>2}  assigned {:>2}  accepted {:>2}/{:<2}  open {:>2} (overdue {})  rate {rate:>6}  {}",
            row.rank,
            format!("{} {}", row.code, row.village),
            row.new_this_week,
            row.total_assigned,
            row.accepted_this_week,
            row.total_accepted,
            row.open,
            row.overdue,
            row.typical_problems
        );
    }
    let found: u32 = lists.iter().map(|list| list.found).sum();
    let rectified: u32 = lists.iter().map(|list| list.rectified).sum();
    println!();
    println!(
        "Township: {found} found, {rectified} rectified, rate {:.1}%. Explore it with: rectify --db {} list \
         (or bulletin, scores, lists, escalations, rates, overdue)",
        f64::from(rectified) * 100.0 / f64::from(found.max(1)),
        db.display()
    );
    Ok(())
}
