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
