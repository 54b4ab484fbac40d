//! The world the Kotlin, Swift and Python binding tests run in: a real `rectify-office` on a loopback port
//! with three synthetic villages, one-time enrollment codes for an inspector, a secretary of the first
//! village and an acceptor (and spare inspector codes for the tests that sync through a transport
//! written in the test's own language), an enrollment link as the apps read it from a QR code, and three
//! field photos taken inside that village.
//!
//! `binding-fixture --dir DIR` writes `DIR/fixture.env` (`NAME='value'` lines, for a shell to source) and prints `ready`; it keeps
//! the office running until its standard input closes, then stops it. Used by scripts/test-bindings.sh.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use rectify_core::ledger::{BoundaryImport, Ledger};
use rectify_tests::office::{OfficeProcess, field_photo, point_in, test_clock, village_codes};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = match (args.next().as_deref(), args.next()) {
        (Some("--dir"), Some(dir)) => PathBuf::from(dir),
        _ => {
            eprintln!("usage: binding-fixture --dir DIR");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {err}", dir.display());
        return ExitCode::FAILURE;
    }
    let office = OfficeProcess::start(&dir.join("office"), 3);
    let codes = village_codes(3);
    let village = codes[0].as_str();

    // A scratch ledger with the same boundaries finds a point well inside the secretary's village.
    let scratch = match Ledger::in_memory(test_clock()) {
        Ok(ledger) => ledger,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = scratch.import_boundaries(&dir.join("villages.geojson"), &BoundaryImport::default()) {
        eprintln!("cannot read the fixture's boundaries: {err}");
        return ExitCode::FAILURE;
    }
    let (lat, lon) = point_in(&scratch, village);
    let before = field_photo(&dir, "before.jpg", 11, lat, lon, (1600, 1200));
    let after = field_photo(&dir, "after.jpg", 12, lat + 2e-5, lon, (1600, 1200));
    let third = field_photo(&dir, "third.jpg", 13, lat - 2e-5, lon, (1200, 900));

    let lines = [
        ("RECTIFY_OFFICE_URL", office.url.clone()),
        ("RECTIFY_VILLAGE", village.to_string()),
        ("RECTIFY_OTHER_VILLAGE", codes[1].clone()),
        ("RECTIFY_LAT", lat.to_string()),
        ("RECTIFY_LON", lon.to_string()),
        ("RECTIFY_PHOTO_BEFORE", before.display().to_string()),
        ("RECTIFY_PHOTO_AFTER", after.display().to_string()),
        ("RECTIFY_PHOTO_THIRD", third.display().to_string()),
        ("RECTIFY_CODE_INSPECTOR", office.enrollment_code("Wang Inspector", "inspector", &[])),
        ("RECTIFY_CODE_SECRETARY", office.enrollment_code("Li Secretary", "secretary", &[village])),
        ("RECTIFY_CODE_ACCEPTOR", office.enrollment_code("Zhao Acceptor", "acceptor", &[])),
        ("RECTIFY_CODE_HOST_TRANSPORT", office.enrollment_code("Sun Inspector", "inspector", &[])),
        ("RECTIFY_CODE_CANCEL", office.enrollment_code("Qian Inspector", "inspector", &[])),
        ("RECTIFY_CODE_THREADS", office.enrollment_code("Zhou Inspector", "inspector", &[])),
        ("RECTIFY_CODE_ADMIN", office.enrollment_code("Wu Admin", "admin", &[])),
        ("RECTIFY_ENROLL_LINK", office.enrollment_link("Zheng Inspector", "inspector", &[])),
    ];
    // Shell-quoted, because the test script sources the file.
    let env: String =
        lines.iter().map(|(name, value)| format!("{name}='{}'\n", value.replace('\'', "'\\''"))).collect();
    let file = dir.join("fixture.env");
    if let Err(err) = std::fs::write(&file, env) {
        eprintln!("cannot write {}: {err}", file.display());
        return ExitCode::FAILURE;
    }
    println!("ready");
    // Serve until whoever started us closes our standard input (or dies, which closes it too).
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop(office);
    ExitCode::SUCCESS
}
