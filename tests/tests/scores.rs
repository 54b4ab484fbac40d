//! Scores and the weekly bulletin from a real ledger file, through the `rectify` and `rectify-office`
//! command lines: the pilot's own figures (1,104 found, 1,017 accepted → 92.1 %), the bulletin as JSON,
//! CSV and XLSX (read back with a spreadsheet reader), and the office computing the same tables from its
//! ledger after the phone synced.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command as Process;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Duration, FixedOffset};
use rectify_core::clock::ManualClock;
use rectify_core::domain::role::Role;
use rectify_core::ledger::{Command, Ledger, NewReport, NewVillage};
use rectify_core::store::OpenMode;
use rectify_tests::office::workspace_bin;
use serde_json::Value;

const TOWN: &str = "通济新经济区";
const NOW: &str = "2023-07-17T09:00:00+08:00";

/// Twelve villages in one town and zone; 1,104 issues found in the week of 3 July 2023, 1,017 of them
/// accepted, 40 struck off but still waiting for acceptance, the rest open.
fn pilot(path: &Path) -> Vec<String> {
    let start: DateTime<FixedOffset> = DateTime::parse_from_rfc3339("2023-07-03T09:00:00+08:00").unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let ledger = Ledger::open(path, OpenMode::CreateIfMissing, clock.clone()).unwrap();
    let codes: Vec<String> = (1..=12).map(|n| format!("370215400{n:03}")).collect();
    for (n, code) in codes.iter().enumerate() {
        ledger
            .upsert_village(&NewVillage {
                code: code.clone(),
                name: format!("试点村{}", n + 1),
                town: Some(TOWN.into()),
                zone: Some(if n < 6 { "东管区" } else { "西管区" }.into()),
                ..NewVillage::default()
            })
            .unwrap();
    }
    ledger.init("district admin", Role::Admin, &[]).unwrap();
    let categories = ["village.scattered_garbage", "waste.bin_overflowing", "village.illegal_shed", "sewage.flowing"];
    let issues = ledger
        .batch(|batch| {
            (0..1104)
                .map(|n| {
                    let state = batch.report(&NewReport {
                        category: categories[n % categories.len()].into(),
                        village_code: Some(codes[n % codes.len()].clone()),
                        lat: 36.38 + (n % 97) as f64 * 1e-4,
                        lon: 120.45 + (n % 89) as f64 * 1e-4,
                        ..NewReport::default()
                    })?;
                    Ok(state.id)
                })
                .collect::<rectify_core::Result<Vec<_>>>()
        })
        .unwrap();
    clock.advance(Duration::days(1));
    ledger
        .batch(|batch| {
            for issue in &issues[..1057] {
                batch.act(*issue, &Command::StrikeOff { photos: Vec::new(), note: Some("cleared".into()) })?;
            }
            Ok(())
        })
        .unwrap();
    clock.advance(Duration::days(1));
    ledger
        .batch(|batch| {
            for issue in &issues[..1017] {
                batch.act(*issue, &Command::Accept { note: None })?;
            }
            Ok(())
        })
        .unwrap();
    codes
}

fn rectify(db: &Path, args: &[&str]) -> (i32, String, String) {
    let output =
        Process::new(workspace_bin("rectify")).arg("--db").arg(db).args(args).env("RECTIFY_NOW", NOW).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(db: &Path, args: &[&str]) -> Value {
    let (code, out, err) = rectify(db, &[args, &["--json"]].concat());
    assert_eq!(code, 0, "rectify {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("rectify {args:?} printed no JSON ({e}): {out}"))
}

#[test]
fn the_pilot_figures_give_a_cumulative_rate_of_92_1_percent_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("district.db");
    let codes = pilot(&db);

    let district = json(&db, &["rates", "--level", "district"]);
    assert_eq!(district["rates"][0]["found"], 1104);
    assert_eq!(district["rates"][0]["accepted"], 1017, "struck off but not accepted must not count");
    assert_eq!(district["rates"][0]["rate"], 92.1);
    assert_eq!(district["rules_version"], rectify_core::score::Rules::builtin().version);

    let csv = dir.path().join("bulletin.csv");
    let xlsx = dir.path().join("bulletin.xlsx");
    let bulletin = json(
        &db,
        &["bulletin", "--week", "2023-W27", "--csv", csv.to_str().unwrap(), "--xlsx", xlsx.to_str().unwrap()],
    );
    assert_eq!(bulletin["week"], "2023-W27");
    assert_eq!(bulletin["from"], "2023-07-03");
    let total = &bulletin["total"];
    assert_eq!(
        (&total["new_this_week"], &total["total_assigned"], &total["accepted_this_week"], &total["total_accepted"]),
        (&1104.into(), &1104.into(), &1017.into(), &1017.into())
    );
    assert_eq!((&total["open"], &total["rate"]), (&87.into(), &92.1.into()));
    let rows = bulletin["rows"].as_array().unwrap();
    assert_eq!(rows.len(), codes.len());
    let first = &rows[0];
    assert_eq!((&first["no"], &first["rank"]), (&1.into(), &1.into()));
    assert!(rows.windows(2).all(|pair| pair[0]["rate"].as_f64() >= pair[1]["rate"].as_f64()), "ranked by rate");
    // The next week nothing is new and the same totals stand. Of the 87 open items the 22 illegal sheds
    // (15 days to fix) are not yet due; the other 65 (1 to 3 days) are overdue.
    let later = json(&db, &["bulletin", "--week", "2023-W28"]);
    assert_eq!((&later["total"]["new_this_week"], &later["total"]["total_accepted"]), (&0.into(), &1017.into()));
    assert_eq!(later["total"]["overdue"], 65);

    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), codes.len() + 2, "header, a line per village, the total");
    assert!(
        lines[0].starts_with(
            "序号,村居,本周新增,累计交办,本周销号,累计销号,未整改,其中逾期,整改率(%),排名,红黑榜,典型问题"
        )
    );
    assert!(lines.last().unwrap().starts_with(",合计,1104,1104,1017,1017,87,65,92.1,"), "{}", lines.last().unwrap());

    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheets = book.sheet_names();
    assert_eq!(sheets.len(), 5, "bulletin, scores, red list, black list, escalations: {sheets:?}");
    assert!(sheets[0].contains("周通报"), "{sheets:?}");
    let sheet = book.worksheet_range(&sheets[0]).unwrap();
    assert_eq!(sheet.get_value((0, 0)), Some(&Data::String("序号".into())));
    assert_eq!(sheet.get_value((0, 8)), Some(&Data::String("整改率(%)".into())));
    let last = sheet.height() as u32 - 1;
    assert_eq!(last as usize, codes.len() + 1);
    assert_eq!(sheet.get_value((last, 1)), Some(&Data::String("合计".into())));
    assert_eq!(sheet.get_value((last, 3)), Some(&Data::Float(1104.0)));
    assert_eq!(sheet.get_value((last, 5)), Some(&Data::Float(1017.0)));
    assert_eq!(sheet.get_value((last, 8)), Some(&Data::Float(92.1)));
    assert_eq!(sheet.get_value((1, 0)), Some(&Data::Float(1.0)));
    let version = Data::String(rectify_core::score::Rules::builtin().version.clone());
    assert_eq!(sheet.get_value((1, 12)), Some(&version), "each row names its rules version");
    let scores = book.worksheet_range(&sheets[1]).unwrap();
    assert_eq!(scores.get_value((0, 3)), Some(&Data::String("月得分".into())));
}

#[test]
fn scores_lists_and_exports_read_the_ledger_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("district.db");
    let codes = pilot(&db);

    let scores = json(&db, &["scores", "--month", "2023-07"]);
    let villages = scores["villages"].as_array().unwrap();
    assert_eq!(villages.len(), 12);
    // 92 issues per village in the first round: 23 of each of four types, each category capped.
    let first = &villages[0]["rounds"][0];
    let lost: f64 = first["categories"].as_array().unwrap().iter().map(|c| c["lost"].as_f64().unwrap()).sum();
    assert_eq!(first["score"].as_f64().unwrap(), 100.0 - lost);
    let detail = json(&db, &["scores", "--month", "2023-07", "--village", &codes[0]]);
    assert_eq!(detail["village"]["village"]["code"], codes[0].as_str());

    let lists = json(&db, &["lists", "--month", "2023-07"]);
    assert_eq!(lists["groups"][0]["group"], TOWN);
    assert!(lists["groups"][0]["black"].as_array().unwrap().iter().all(|entry| entry["reason"].is_string()));
    let escalations = json(&db, &["escalations", "--month", "2023-07"]);
    assert_eq!(escalations["escalations"].as_array().unwrap().len(), 0, "one month cannot escalate");
    let overdue = json(&db, &["overdue"]);
    let overdue = overdue["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 65, "the 22 illegal sheds among the 87 open items are not due until 18 July");
    assert!(overdue.iter().all(|item| item["category"] != "village.illegal_shed"));
    assert!(overdue.windows(2).all(|pair| pair[0]["days_overdue"].as_i64() >= pair[1]["days_overdue"].as_i64()));
    let east = json(&db, &["negative", "--zone", "东管区"]);
    assert_eq!(east["villages"].as_array().unwrap().len(), 6);
    assert_eq!(east["found"], 6 * 92, "the zone's six villages found 92 each");
    let remaining: u64 =
        east["villages"].as_array().unwrap().iter().map(|list| list["remaining"].as_u64().unwrap()).sum();
    assert_eq!(east["remaining"].as_u64(), Some(remaining));
    let ranking = json(&db, &["ranking", "--quarter", "2023-Q3"]);
    assert_eq!(ranking["towns"][0]["town"], TOWN);

    let geojson = json(&db, &["export", "--format", "geojson"]);
    assert_eq!(geojson["features"].as_array().unwrap().len(), 1104);
    let open311 = json(&db, &["export", "--format", "open311"]);
    let requests = open311.as_array().unwrap();
    let closed = requests.iter().filter(|request| request["status"] == "closed").count();
    assert_eq!(closed, 1017, "closed only after acceptance, not after a strike-off");

    for (args, needle, exit) in [
        (vec!["bulletin", "--week", "2023-28"], "ISO week", 3),
        (vec!["scores", "--month", "2023-13"], "not a month", 3),
        (vec!["ranking", "--quarter", "2023-Q5"], "quarter", 3),
        (vec!["bulletin", "--town", "Nowhere"], "no town named", 4),
        (vec!["rates", "--level", "county"], "--level county", 3),
        (vec!["export", "--format", "kml"], "geojson or open311", 3),
        (vec!["scores", "--rules", "/nonexistent/rules.json"], "cannot read", 3),
    ] {
        let (code, _, err) = rectify(&db, &args);
        assert_eq!(code, exit, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let bad_rules = dir.path().join("rules.json");
    std::fs::write(&bad_rules, r#"{"version": "x"}"#).unwrap();
    let (code, _, err) = rectify(&db, &["lists", "--rules", bad_rules.to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("rules file is invalid"), "{err}");
    let output = dir.path().join("missing-folder").join("b.xlsx");
    let (code, _, err) = rectify(&db, &["bulletin", "--week", "2023-W27", "--xlsx", output.to_str().unwrap()]);
    assert_ne!(code, 0, "{err}");
    assert!(!output.exists());
}

#[test]
fn the_office_publishes_the_same_tables_as_a_district_phone_after_syncing() {
    use rectify_tests::office::{OfficeProcess, enrolled_device, record_issues, sync, village_codes};
    let dir = tempfile::tempdir().unwrap();
    let office = OfficeProcess::start(&dir.path().join("office"), 3);
    let codes = village_codes(3);
    let inspector = enrolled_device(&office, dir.path(), "inspector", "inspector", &[]);
    let secretary = enrolled_device(&office, dir.path(), "secretary", "secretary", &[codes[0].as_str()]);
    let acceptor = enrolled_device(&office, dir.path(), "acceptor", "acceptor", &[]);
    let found: Vec<_> = codes.iter().flat_map(|code| record_issues(&inspector, code, 4, 0)).collect();
    sync(&inspector, &office).unwrap();
    sync(&secretary, &office).unwrap();
    for issue in &found[..3] {
        secretary.act(*issue, &Command::StrikeOff { photos: Vec::new(), note: None }).unwrap();
    }
    sync(&secretary, &office).unwrap();
    sync(&acceptor, &office).unwrap();
    acceptor.act(found[0], &Command::Accept { note: None }).unwrap();
    acceptor.act(found[1], &Command::Reject { reason: "still there".into() }).unwrap();
    sync(&acceptor, &office).unwrap();
    let phone = dir.path().join("acceptor.db");
    drop(acceptor);

    let today = chrono::Local::now().date_naive();
    let week = rectify_core::report::Week::of(today).label();
    let month = format!("{}", today.format("%Y-%m"));
    for args in [
        vec!["bulletin", "--week", week.as_str()],
        vec!["scores", "--month", month.as_str()],
        vec!["lists", "--month", month.as_str()],
    ] {
        let output = Process::new(workspace_bin("rectify-office"))
            .args(["report", "--data"])
            .arg(&office.data)
            .args(&args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let at_office: Value = serde_json::from_slice(&output.stdout).unwrap();
        let (code, out, err) = rectify(&phone, &[args.as_slice(), &["--json"]].concat());
        assert_eq!(code, 0, "{err}");
        let on_phone: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(at_office, on_phone, "{args:?} differs between the office and the phone");
        if args[0] == "bulletin" {
            assert_eq!(at_office["total"]["total_assigned"], 12);
            assert_eq!(at_office["total"]["total_accepted"], 1);
        }
    }
}
