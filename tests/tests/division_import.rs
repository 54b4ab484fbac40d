//! Imports the real national division list for Jimo (../shared/data/china-division-npm) when it is there,
//! and checks the counts the domain notes give: 197 village-level units in 2023, 12 of them in the Tongji
//! new economic area (370215400).

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use rectify_core::clock::SystemClock;
use rectify_core::ledger::{Ledger, ListFilter};
use rectify_core::store::OpenMode;

fn shared_data() -> Option<PathBuf> {
    rectify_tests::shared_data("china-division-npm")
}

#[test]
fn the_2023_jimo_list_imports_whole_and_placed_in_its_towns() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("office.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    let mut calls = 0;
    let report = ledger
        .import_divisions(
            &data.join("v2.7.0-stats2023/villages.370215.csv"),
            Some(&data.join("v2.7.0-stats2023/streets.370215.csv")),
            "nbs-2023",
            &mut |_, _| calls += 1,
        )
        .unwrap();
    assert_eq!((report.rows, report.added, report.updated), (197, 197, 0));
    assert!(calls >= 2, "progress was reported");
    let villages = ledger.villages().unwrap();
    let tongji: Vec<_> = villages.iter().filter(|view| view.code.starts_with("370215400")).collect();
    assert_eq!(tongji.len(), 12);
    assert!(tongji.iter().all(|view| view.town.as_deref() == Some("通济新经济区")), "{:?}", tongji[0].town);
    assert!(villages.iter().any(|view| view.village.name == "开元村村民委员会"));

    // Importing the same list again changes nothing; importing the 2016 list adds its own codes.
    let again = ledger
        .import_divisions(&data.join("v2.7.0-stats2023/villages.370215.csv"), None, "nbs-2023", &mut |_, _| {})
        .unwrap();
    assert_eq!((again.added, again.updated), (0, 0));
    let old = ledger
        .import_divisions(
            &data.join("v2.0.0-stats2016/villages.370282.csv"),
            Some(&data.join("v2.0.0-stats2016/streets.370282.csv")),
            "nbs-2016",
            &mut |_, _| {},
        )
        .unwrap();
    // Lists are meant to be imported oldest first (see the next test); imported the other way round, the
    // 2016 codes still get villages of their own, with the merged ones findable.
    assert_eq!(old.added + old.linked, 1097);
    let merged = ledger.negative_list("370282003233").unwrap();
    assert_eq!(merged.village.name, "仇家沟岔村委会");
    assert!(ledger.list(&ListFilter::default()).unwrap().is_empty());
}

#[test]
fn the_2016_then_2023_lists_keep_each_village_under_both_codes() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("office.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    let import = |list: &str, streets: &str, source: &str| {
        ledger.import_divisions(&data.join(list), Some(&data.join(streets)), source, &mut |_, _| {}).unwrap()
    };
    let old = import("v2.0.0-stats2016/villages.370282.csv", "v2.0.0-stats2016/streets.370282.csv", "nbs-2016");
    assert_eq!((old.added, old.linked), (1097, 0));
    let new = import("v2.7.0-stats2023/villages.370215.csv", "v2.7.0-stats2023/streets.370215.csv", "nbs-2023");
    println!("2023 list: {} villages known from 2016 and renumbered, {} new", new.linked, new.added);
    assert_eq!(new.added + new.linked, 197);
    // Most of Jimo's 2023 units are merged communities with new names; 33 share a name (less the
    // committee suffix) with a 2016 village, and all but the ambiguous ones are recognised.
    assert!((25..=33).contains(&new.linked), "{} of the 197 villages were recognised from 2016", new.linked);
    // A renumbered village: both codes find it, and its current code is the 2023 one.
    let villages = ledger.villages().unwrap();
    let renumbered = villages
        .iter()
        .find(|view| view.village.codes.len() == 2)
        .unwrap_or_else(|| panic!("no village has two codes"));
    let (first, second) = (&renumbered.village.codes[0], &renumbered.village.codes[1]);
    assert!(first.code.starts_with("370282") && first.source == "nbs-2016", "{first:?}");
    assert!(second.code.starts_with("370215") && second.source == "nbs-2023", "{second:?}");
    assert_eq!(renumbered.code, second.code);
    let by_old = ledger.negative_list(&first.code).unwrap();
    let by_new = ledger.negative_list(&second.code).unwrap();
    assert_eq!(by_old.village.id, by_new.village.id);
    // The merged-away 2016 villages keep their single old code.
    assert_eq!(ledger.negative_list("370282003233").unwrap().village.codes.len(), 1);
    assert_eq!(villages.len(), 1097 + new.added);
}

#[test]
fn a_broken_row_refuses_the_whole_import() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("villages.csv");
    std::fs::write(&csv, "code,name,streetCode\n990001001001,\"Good\",990001001\n99000100100X,\"Bad\",990001001\n")
        .unwrap();
    let ledger = Ledger::open(&dir.path().join("d.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    let err = ledger.import_divisions(&csv, None, "test", &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(ledger.villages().unwrap().is_empty(), "nothing from a refused import is kept");
}
