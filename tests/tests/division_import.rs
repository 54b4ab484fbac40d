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
    // A plain import links nothing: every 2016 code gets a village of its own.
    assert_eq!((old.added, old.linked), (1097, 0));
    let merged = ledger.negative_list("370282003233").unwrap();
    assert_eq!(merged.village.name, "仇家沟岔村委会");
    assert!(ledger.list(&ListFilter::default()).unwrap().is_empty());
}

#[test]
fn the_2016_then_2023_lists_keep_each_village_under_both_codes() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("office.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    let (villages_2016, streets_2016) =
        (data.join("v2.0.0-stats2016/villages.370282.csv"), data.join("v2.0.0-stats2016/streets.370282.csv"));
    let old =
        ledger.import_renumbered_divisions(&villages_2016, Some(&streets_2016), "nbs-2016", &mut |_, _| {}).unwrap();
    assert_eq!((old.added, old.linked), (1097, 0), "nothing to renumber on an empty device");
    let (villages_2023, streets_2023) =
        (data.join("v2.7.0-stats2023/villages.370215.csv"), data.join("v2.7.0-stats2023/streets.370215.csv"));
    let new =
        ledger.import_renumbered_divisions(&villages_2023, Some(&streets_2023), "nbs-2023", &mut |_, _| {}).unwrap();
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
fn renumbering_never_merges_villages_of_one_list_or_guesses_between_towns() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("d.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // Two counties of one city in one list, with a same-named village in each: two villages.
    let streets = write("streets.csv", "code,name\n370281001,\"东镇\"\n370282105,\"西镇\"\n370282106,\"东镇\"\n");
    let first = write(
        "old.csv",
        "code,name,streetCode\n370281001001,\"东村村委会\",370281001\n370282105201,\"东村村民委员会\",370282105\n370282106001,\"东村村委会\",370282106\n",
    );
    let report = ledger.import_renumbered_divisions(&first, Some(&streets), "old", &mut |_, _| {}).unwrap();
    assert_eq!((report.added, report.linked), (3, 0));
    // A newer list renumbers 370282 as 370215. Its 西镇 东村 matches one known village by name and town:
    // linked. Its 东镇 东村 matches two (370281's and 370282106's, both in towns called 东镇): rather than
    // guess, it becomes a new village.
    let new_streets = write("streets2.csv", "code,name\n370215105,\"西镇\"\n370215106,\"东镇\"\n");
    let newer = write(
        "new.csv",
        "code,name,streetCode\n370215105201,\"东村村民委员会\",370215105\n370215106001,\"东村村民委员会\",370215106\n",
    );
    let report = ledger.import_renumbered_divisions(&newer, Some(&new_streets), "new", &mut |_, _| {}).unwrap();
    assert_eq!((report.added, report.linked), (1, 1));
    let linked = ledger.negative_list("370215105201").unwrap().village;
    assert_eq!(
        linked.codes.iter().map(|code| code.code.as_str()).collect::<Vec<_>>(),
        ["370282105201", "370215105201"]
    );
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
