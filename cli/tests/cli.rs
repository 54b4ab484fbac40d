//! The `rectify` command as scripts and people use it: the JSON contract, and bad input refused with a
//! clear message, a non-zero exit code and nothing written.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const VILLAGE: &str = "990001001001";

struct Device {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

fn rectify(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rectify"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RECTIFY_NOW", "2026-11-02T09:00:00+08:00")
        .output()
        .unwrap()
}

#[track_caller]
fn ok_json(db: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = rectify(db, &all);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|err| panic!("{args:?} printed no JSON ({err}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn device(role: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("field.db");
    ok_json(&db, &["village", "add", VILLAGE, "--name", "East Village", "--town", "Demo Town", "--zone", "North"]);
    let mut init = vec!["init", "--user", "li", "--role", role];
    if role == "secretary" {
        init.extend(["--village", VILLAGE]);
    }
    ok_json(&db, &init);
    Device { _dir: dir, db }
}

/// What a failed command must not change: the rows of a Rectify database (its bytes may move between
/// the WAL and the main file when a connection closes), the bytes of any other file, and the file names.
fn snapshot(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with("-wal") && !name.ends_with("-shm"))
        .collect();
    names.sort();
    let bytes = std::fs::read(path).unwrap_or_default();
    if !bytes.starts_with(b"SQLite format 3\0") {
        names.push(format!("{bytes:?}"));
        return names;
    }
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    names.push(format!("user_version {version}"));
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1")).unwrap();
        let columns = statement.column_count();
        let rows: Vec<String> = statement
            .query_map([], |row| {
                Ok((0..columns).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect::<Vec<_>>().join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        names.push(format!("{table}: {}", rows.join("; ")));
    }
    names
}

/// Runs a command that must fail: checks the exit code, the message, and that no file changed.
#[track_caller]
fn refused(db: &Path, args: &[&str], code: i32, message: &str) {
    let before = snapshot(db);
    let out = rectify(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: expected `{message}` in: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout on failure");
    assert_eq!(snapshot(db), before, "{args:?} changed files although it failed");
}

fn report(db: &Path) -> String {
    let value = ok_json(
        db,
        &[
            "report",
            "--category",
            "waste.bin_overflowing",
            "--lat",
            "36.46",
            "--lon",
            "120.51",
            "--village",
            VILLAGE,
            "--note",
            "bins full",
        ],
    );
    value["issue_id"].as_str().unwrap().to_string()
}

#[test]
fn the_json_contract_for_report_list_and_show() {
    let device = device("acceptor");
    let issue = report(&device.db);
    let list = ok_json(&device.db, &["list", "--village", VILLAGE]);
    let item = &list.as_array().unwrap()[0];
    assert_eq!(item["id"], issue.as_str());
    assert_eq!(item["status"], "reported");
    assert_eq!(item["village"], VILLAGE);
    assert_eq!(item["category"], "waste.bin_overflowing");
    assert!(item["deadline"].as_str().unwrap().starts_with("2026-11-03T15:59:59"), "{item}");

    ok_json(&device.db, &["strike-off", &issue, "--note", "emptied"]);
    ok_json(&device.db, &["reject", &issue, "--reason", "still full"]);
    ok_json(&device.db, &["strike-off", &issue]);
    let accepted = ok_json(&device.db, &["accept", &issue]);
    assert_eq!(accepted["status"], "accepted");
    let shown = ok_json(&device.db, &["show", &issue]);
    let kinds: Vec<&str> =
        shown["events"].as_array().unwrap().iter().map(|event| event["body"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reported", "strike_off_requested", "rejected", "strike_off_requested", "accepted"]);
    assert_eq!(shown["state"]["rework_count"], 1);
    assert!(ok_json(&device.db, &["list", "--status", "reported"]).as_array().unwrap().is_empty());

    let categories = ok_json(&device.db, &["categories"]);
    assert_eq!(categories["tasks"].as_array().unwrap().len(), 8);
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let device = device("inspector");
    let db = device.db.as_path();
    let base = ["report", "--category", "waste.accumulated", "--lat", "36.4", "--lon", "120.5", "--village", VILLAGE];
    let with = |extra: &[&'static str]| -> Vec<&str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    let long_note = "x".repeat(1001);
    refused(db, &with(&["--note", ""]), 3, "note is empty");
    refused(db, &[&with(&[])[..], &["--note", &long_note]].concat(), 3, "limit is 1000");
    let reports = [
        ("lava", "36.4", "120.5", "unknown category `lava`"),
        ("waste.accumulated", "91", "120.5", "latitude 91"),
        ("waste.accumulated", "NaN", "120.5", "latitude NaN"),
        ("waste.accumulated", "36", "-200", "longitude -200"),
    ];
    for (category, lat, lon, message) in reports {
        let args = ["report", "--category", category, "--lat", lat, "--lon", lon, "--village", VILLAGE];
        refused(db, &args, 3, message);
    }
    refused(db, &["show", "0192c3a4-5b6c-7d8e-9f00-112233445566"], 4, "no issue");
    refused(db, &["accept", "0192c3a4-5b6c-7d8e-9f00-112233445566"], 4, "no issue");
    refused(db, &["show", "not-an-id"], 3, "not a valid issue id");
    let issue = report(db);
    refused(db, &["accept", &issue], 5, "may not accept");
}

#[test]
fn illegal_transitions_exit_with_their_own_code() {
    let device = device("acceptor");
    let issue = report(&device.db);
    refused(&device.db, &["accept", &issue], 6, "only a requested strike-off can be accepted");
    ok_json(&device.db, &["withdraw", &issue, "--note", "false alarm"]);
    refused(&device.db, &["strike-off", &issue], 6, "withdrawn");
}

#[test]
fn files_that_are_not_rectify_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "not a database").unwrap();
    refused(&text, &["list"], 8, "not a Rectify database");
    refused(&text, &["init", "--user", "li", "--role", "inspector"], 8, "not a Rectify database");

    let missing = dir.path().join("missing.db");
    let out = rectify(&missing, &["list"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(!missing.exists(), "a read must not create a database");

    let newer = device("inspector");
    {
        let conn = rusqlite::Connection::open(&newer.db).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    refused(&newer.db, &["list"], 8, "schema version 99");
    refused(
        &newer.db,
        &["report", "--category", "waste.accumulated", "--lat", "36", "--lon", "120", "--village", VILLAGE],
        8,
        "newer Rectify",
    );
}

#[test]
fn json_errors_are_machine_readable() {
    let device = device("inspector");
    let out = rectify(&device.db, &["show", "not-an-id", "--json"]);
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["error"]["kind"], "invalid_input");
}

#[test]
fn the_demo_prints_negative_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rectify")).args(["demo", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("负面清单 Negative list").count(), 4, "{text}");
    assert!(text.contains("rectification rate 整改率 100.0%"), "{text}");
    assert!(text.contains("OVERDUE"), "{text}");
    assert!(text.contains("Township: 8 found, 3 rectified, rate 37.5%"), "{text}");
}

/// A geotagged phone photo written beside the database.
fn camera_file(db: &Path, name: &str, seed: u32, with_exif: bool) -> PathBuf {
    use rectify_core::photo::exif::{Capture, Gps, TakenAt};
    let capture = Capture {
        orientation: 6,
        gps: Some(Gps { lat: 36.4601, lon: -120.5102, alt: Some(31.5), error_m: None }),
        taken_at: TakenAt::parse("2026-11-02T08:55:10+08:00"),
        make: Some("Acme".into()),
        model: Some("Field 1".into()),
        ..Capture::default()
    };
    let path = db.with_file_name(name);
    let bytes = rectify_core::photo::synthetic::jpeg(640, 480, seed, 90, with_exif.then_some(&capture));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().map(|entry| if entry.path().is_dir() { files_in(&entry.path()) } else { 1 }).sum()
        })
        .unwrap_or(0)
}

#[test]
fn photo_inspect_prints_the_contracted_fields() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    let tagged = camera_file(&db, "tagged.jpg", 1, true);
    let value = ok_json(&db, &["photo", "inspect", tagged.to_str().unwrap()]);
    let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["gps", "height", "make", "model", "orientation", "taken_at", "width"]);
    assert_eq!(
        (value["width"].as_u64(), value["height"].as_u64(), value["orientation"].as_u64()),
        (Some(640), Some(480), Some(6))
    );
    assert!((value["gps"]["lat"].as_f64().unwrap() - 36.4601).abs() < 1e-6);
    assert!((value["gps"]["lon"].as_f64().unwrap() + 120.5102).abs() < 1e-6, "west is negative");
    assert_eq!(value["gps"]["alt"].as_f64(), Some(31.5));
    assert_eq!(value["taken_at"], "2026-11-02T08:55:10+08:00");
    assert_eq!((value["make"].as_str(), value["model"].as_str()), (Some("Acme"), Some("Field 1")));
    assert!(!db.exists(), "inspect needs no database and creates none");

    let bare = camera_file(&db, "bare.jpg", 2, false);
    let value = ok_json(&db, &["photo", "inspect", bare.to_str().unwrap()]);
    assert_eq!((&value["gps"], &value["taken_at"], &value["make"]), (&Value::Null, &Value::Null, &Value::Null));
    assert_eq!(value["orientation"].as_u64(), Some(1));
}

#[test]
fn photo_ingest_stores_once_and_reports_sizes_hashes_and_flags() {
    let device = device("inspector");
    let photos = device.db.with_file_name("field.db-photos");
    let tagged = camera_file(&device.db, "tagged.jpg", 3, true);
    let first = ok_json(&device.db, &["photo", "ingest", tagged.to_str().unwrap()]);
    // Orientation 6: the 640×480 file is stored upright as 480×640.
    assert_eq!((first["evidence"]["width"].as_u64(), first["evidence"]["height"].as_u64()), (Some(480), Some(640)));
    assert_eq!((first["thumbnail"]["width"].as_u64(), first["thumbnail"]["height"].as_u64()), (Some(240), Some(320)));
    assert_eq!(first["evidence"]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(first["flags"], serde_json::json!([]));
    assert_eq!(first["already_known"], false);
    let evidence = PathBuf::from(first["evidence"]["path"].as_str().unwrap());
    assert!(evidence.starts_with(&photos) && evidence.exists(), "{}", evidence.display());
    let second = ok_json(&device.db, &["photo", "ingest", tagged.to_str().unwrap()]);
    assert_eq!((second["already_known"].as_bool(), &second["hash"]), (Some(true), &first["hash"]));
    assert_eq!(files_in(&photos), 2, "one evidence file and one thumbnail");

    let bare = camera_file(&device.db, "bare.jpg", 4, false);
    let flagged = ok_json(&device.db, &["photo", "ingest", bare.to_str().unwrap(), "--evidence-size", "300"]);
    assert_eq!(flagged["flags"][0]["flag"], "no_gps");
    assert_eq!((flagged["evidence"]["width"].as_u64(), flagged["evidence"]["height"].as_u64()), (Some(300), Some(225)));
    let usage = ok_json(&device.db, &["photo", "usage"]);
    assert_eq!(usage["usage"]["photos"].as_u64(), Some(2));
}

#[test]
fn photos_that_cannot_be_used_are_refused_and_nothing_is_stored() {
    let device = device("inspector");
    let photos = device.db.with_file_name("field.db-photos");
    let heic = device.db.with_file_name("IMG_0001.HEIC");
    std::fs::write(&heic, b"\0\0\0\x18ftypheic\0\0\0\0mif1heic").unwrap();
    let cut = device.db.with_file_name("cut.jpg");
    let whole = std::fs::read(camera_file(&device.db, "whole.jpg", 5, true)).unwrap();
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let base =
        ["report", "--category", "waste.bin_overflowing", "--lat", "36.46", "--lon", "120.51", "--village", VILLAGE];
    for (file, message) in [(&heic, "convert it to JPEG first"), (&cut, "cut short")] {
        let mut args = base.to_vec();
        args.extend(["--photo", file.to_str().unwrap()]);
        refused(&device.db, &args, 3, message);
        refused(&device.db, &["photo", "ingest", file.to_str().unwrap()], 3, message);
        assert_eq!(files_in(&photos), 0, "{}", file.display());
    }
    let out = rectify(&device.db, &["photo", "inspect", heic.to_str().unwrap(), "--json"]);
    let error: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!((out.status.code(), error["error"]["kind"].as_str()), (Some(3), Some("invalid_input")));
}

#[test]
fn reports_take_several_photos_and_show_lists_them_with_flags() {
    let device = device("inspector");
    let first = camera_file(&device.db, "a.jpg", 6, true);
    let second = camera_file(&device.db, "b.jpg", 7, false);
    let value = ok_json(
        &device.db,
        &[
            "report",
            "--category",
            "waste.bin_overflowing",
            "--lat",
            "36.4601",
            "--lon",
            "-120.5102",
            "--village",
            VILLAGE,
            "--photo",
            first.to_str().unwrap(),
            "--photo",
            second.to_str().unwrap(),
        ],
    );
    let issue = value["issue_id"].as_str().unwrap();
    let shown = ok_json(&device.db, &["show", issue]);
    let photos = shown["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    assert_eq!(photos[0]["flags"], serde_json::json!([]));
    assert_eq!(photos[1]["flags"][0]["flag"], "no_gps");
    assert_eq!(shown["evidence_flags"], serde_json::json!(["no_gps"]));
    let text = rectify(&device.db, &["show", issue]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Photos:") && text.contains("no GPS position in the photo"), "{text}");
}

#[test]
fn boundaries_place_reports_and_likely_duplicates_are_caught() {
    use rectify_core::geo::synthetic::Grid;
    let device = device("inspector");
    let grid = Grid {
        south: 36.45,
        west: 120.50,
        columns: 2,
        rows: 1,
        cell_m: 800.0,
        min_edge_points: 12,
        max_edge_points: 30,
        seed: 3,
    };
    let codes = [VILLAGE, "990001001002"];
    let boundaries = grid.boundaries(|i, _| (codes[i].to_string(), format!("village {i} (synthetic)")));
    let file = device.db.with_file_name("boundaries.geojson");
    std::fs::write(&file, rectify_core::geo::feature_collection(&boundaries).to_string()).unwrap();
    let imported = ok_json(&device.db, &["villages", "import", file.to_str().unwrap()]);
    assert_eq!((imported["boundaries"].as_u64(), imported["villages_created"].as_u64()), (Some(2), Some(1)));

    let (lat, lon) = grid.point_in_cell(1, 0, 0.5, 0.5);
    let (lat_text, lon_text) = (lat.to_string(), lon.to_string());
    let located = ok_json(&device.db, &["geo", "locate", &lat_text, &lon_text]);
    let keys: Vec<&str> = located.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["distance_m", "inside", "village"]);
    assert_eq!((located["village"]["code"].as_str(), located["inside"].as_bool()), (Some("990001001002"), Some(true)));
    assert_eq!(located["distance_m"].as_f64(), Some(0.0));
    let (out_lat, out_lon) = grid.point_in_cell(2, 0, 0.2, 0.5);
    let outside = ok_json(&device.db, &["geo", "locate", &out_lat.to_string(), &out_lon.to_string()]);
    assert_eq!(outside["inside"], false);
    assert!(outside["distance_m"].as_f64().unwrap() > 50.0, "{outside}");

    let report = ["report", "--category", "waste.bin_overflowing", "--lat", &lat_text, "--lon", &lon_text];
    let first = ok_json(&device.db, &report);
    assert_eq!(first["village"], "990001001002", "placed by its boundary: {first}");
    refused(&device.db, &report, 3, "likely a duplicate");
    let mut anyway = report.to_vec();
    anyway.push("--not-duplicate");
    ok_json(&device.db, &anyway);
    let nearby =
        ok_json(&device.db, &["nearby", "--category", "waste.bin_overflowing", "--lat", &lat_text, "--lon", &lon_text]);
    assert_eq!(nearby.as_array().unwrap().len(), 2);

    let shifted = ok_json(&device.db, &["geo", "gcj02", &lat_text, &lon_text]);
    let back =
        ok_json(&device.db, &["geo", "gcj02", &shifted["lat"].to_string(), &shifted["lon"].to_string(), "--to-wgs84"]);
    assert!((back["lat"].as_f64().unwrap() - lat).abs() < 1e-8 && (back["lon"].as_f64().unwrap() - lon).abs() < 1e-8);
}

#[test]
fn a_walk_is_recorded_shown_and_exported() {
    let device = device("inspector");
    refused(&device.db, &["track", "point", "36.45", "120.5"], 6, "no track is recording");
    let started = ok_json(&device.db, &["track", "start", "--name", "east lanes"]);
    let id = started["id"].as_str().unwrap().to_string();
    for (second, lat) in [36.4500, 36.4501, 36.4502, 36.4603, 36.4503].iter().enumerate() {
        let at = format!("2026-11-02T09:00:{:02}+08:00", second * 10);
        ok_json(&device.db, &["track", "point", &lat.to_string(), "120.5", "--accuracy", "5", "--at", &at]);
    }
    let stopped = ok_json(&device.db, &["track", "stop"]);
    assert_eq!((stopped["points"].as_u64(), stopped["dropped"]["jump"].as_u64()), (Some(4), Some(1)));
    assert!((stopped["length_m"].as_f64().unwrap() - 33.4).abs() < 0.5, "{stopped}");
    let shown = ok_json(&device.db, &["track", "show", &id]);
    assert_eq!(shown["villages"], serde_json::json!([]), "no boundaries on this device");
    let gpx = rectify(&device.db, &["track", "export", &id]);
    let gpx = String::from_utf8(gpx.stdout).unwrap();
    assert_eq!(gpx.matches("<trkpt").count(), 4, "{gpx}");
    let file = device.db.with_file_name("walk.geojson");
    let written =
        ok_json(&device.db, &["track", "export", &id, "--format", "geojson", "--output", file.to_str().unwrap()]);
    assert_eq!(written["points"].as_u64(), Some(4));
    let geojson: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(geojson["geometry"]["coordinates"].as_array().unwrap().len(), 4);
}

#[test]
fn synthetic_boundaries_for_a_real_town_are_labelled_and_import() {
    let division = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/china-division-npm/v2.7.0-stats2023/villages.370215.csv");
    if !division.exists() {
        println!("skipped: {} is not present", division.display());
        return;
    }
    let device = device("inspector");
    let file = device.db.with_file_name("tongji-synthetic.geojson");
    let args = ["geo", "synthetic-boundaries", "--division-csv", division.to_str().unwrap(), "--town", "370215400"];
    let written = ok_json(&device.db, &[&args[..], &["--output", file.to_str().unwrap()]].concat());
    assert_eq!(written["points"].as_u64(), Some(12), "Tongji New Area has 12 villages");
    let collection: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(collection["rectify:note"].as_str().unwrap().contains("SYNTHETIC"));
    assert!(collection["features"].as_array().unwrap().iter().all(|f| f["properties"]["synthetic"] == true));
    let imported = ok_json(&device.db, &["villages", "import", file.to_str().unwrap()]);
    assert_eq!(imported["boundaries"].as_u64(), Some(12));
    refused(
        &device.db,
        &[
            "geo",
            "synthetic-boundaries",
            "--division-csv",
            division.to_str().unwrap(),
            "--town",
            "370215999",
            "--output",
            "x.geojson",
        ],
        4,
        "no village of town",
    );
}
