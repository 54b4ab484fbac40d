//! Hostile photo input: truncated files, random bytes, a decompression bomb, Exif with offsets out of
//! range and zero denominators, and mutated real files (proptest). Every one gets a typed answer (a
//! stored photo or `InvalidInput`), never a panic, and a refusal leaves the store as it was.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use rectify_core::RectifyError;
use rectify_core::clock::SystemClock;
use rectify_core::domain::role::Role;
use rectify_core::ledger::Ledger;
use rectify_core::photo::exif::{Capture, Gps, TakenAt};
use rectify_core::photo::{IngestOptions, Limits, inspect, jpeg, synthetic};
use rectify_core::store::OpenMode;
use rectify_tests::SplitMix;

struct Device {
    dir: tempfile::TempDir,
    ledger: Ledger,
}

fn device() -> Device {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("device.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    ledger.init("tester", Role::Inspector, &[]).unwrap();
    Device { dir, ledger }
}

impl Device {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn footprint(&self) -> (u64, u64) {
        (self.ledger.photo_usage().unwrap().photos, self.ledger.photo_store().unwrap().bytes_on_disk())
    }

    /// Ingests `path`: a stored photo, or a typed refusal that left nothing behind.
    fn ingest_or_refuse(&self, path: &Path) -> Result<(), String> {
        let before = self.footprint();
        match self.ledger.ingest_photo(path) {
            Ok(_) => Ok(()),
            Err(err) => {
                assert!(matches!(err, RectifyError::InvalidInput { .. }), "untyped: {err:?}");
                assert_eq!(self.footprint(), before, "refused ({err}) but left something behind");
                Err(err.to_string())
            }
        }
    }
}

fn camera_capture() -> Capture {
    Capture {
        orientation: 6,
        gps: Some(Gps { lat: 36.46, lon: 120.51, alt: Some(20.0), error_m: Some(4.0) }),
        taken_at: TakenAt::parse("2026-11-28T09:30:00+08:00"),
        make: Some("Test".into()),
        model: Some("Phone".into()),
        ..Capture::default()
    }
}

/// A real camera file when ../shared/data is there, otherwise a generated one.
fn sample() -> Vec<u8> {
    let real =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/ianare-exif-samples/jpg/gps/DSCN0010.jpg");
    std::fs::read(&real).unwrap_or_else(|_| {
        println!("{} is not present; mutating a generated photo instead", real.display());
        synthetic::jpeg(480, 360, 11, 90, Some(&camera_capture()))
    })
}

#[test]
fn every_truncation_is_refused_as_damaged_or_cut_short() {
    let device = device();
    let whole = synthetic::jpeg(320, 240, 3, 90, Some(&camera_capture()));
    let steps = 60;
    for step in 0..steps {
        let length = whole.len() * step / steps;
        let path = device.file("cut.jpg", &whole[..length]);
        let refusal = device.ingest_or_refuse(&path).unwrap_err();
        assert!(
            ["empty", "cut short", "damaged", "not a JPEG"].iter().any(|word| refusal.contains(word)),
            "{length} of {} bytes: {refusal}",
            whole.len()
        );
    }
    device.ingest_or_refuse(&device.file("whole.jpg", &whole)).unwrap();
}

#[test]
fn random_bytes_behind_a_jpeg_marker_are_refused() {
    let device = device();
    let mut random = SplitMix::new(0x5EED);
    for round in 0..200 {
        let length = 3 + random.below(4096) as usize;
        let mut bytes: Vec<u8> = (0..length).map(|_| random.next_u64() as u8).collect();
        bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        let path = device.file("random.jpg", &bytes);
        assert!(device.ingest_or_refuse(&path).is_err(), "round {round}: random bytes were stored as a photo");
        assert!(inspect(&path).is_err(), "round {round}: random bytes were inspected as a photo");
    }
}

/// A real JPEG whose frame header claims another size.
fn with_frame_size(jpeg_bytes: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg_bytes.to_vec();
    let at = bytes.windows(2).position(|pair| pair == [0xFF, 0xC0]).unwrap();
    bytes[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
    bytes[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    let device = device();
    let small = synthetic::jpeg(64, 64, 1, 80, None);
    let bomb = device.file("bomb.jpg", &with_frame_size(&small, 60_000, 60_000));
    let refusal = device.ingest_or_refuse(&bomb).unwrap_err();
    assert!(refusal.contains("60000×60000") && refusal.contains("over the limit"), "{refusal}");
    // Inspecting only reads the header, so it may report the claimed size.
    assert_eq!(inspect(&bomb).unwrap().width, 60_000);

    // The limit is a setting; a small one refuses an ordinary photo.
    let mut strict = device.ledger;
    strict.set_ingest_options(IngestOptions {
        limits: Limits { max_pixels: 10_000, max_progressive_pixels: 10_000 },
        ..IngestOptions::default()
    });
    let photo = device.dir.path().join("ordinary.jpg");
    std::fs::write(&photo, synthetic::jpeg(320, 240, 2, 80, None)).unwrap();
    let refusal = strict.ingest_photo(&photo).unwrap_err().to_string();
    assert!(refusal.contains("320×240") && refusal.contains("10000 pixels"), "{refusal}");
}

/// A JPEG whose Exif block is the given TIFF structure.
fn with_tiff(tiff: &[u8]) -> Vec<u8> {
    jpeg::with_exif(&synthetic::jpeg(96, 64, 5, 85, None), tiff).unwrap()
}

/// A big-endian TIFF with one IFD0 entry: the GPS IFD pointer, to a GPS IFD holding the given entries
/// (tag, type, count, value-or-offset) and then the given data.
fn gps_tiff(entries: &[(u16, u16, u32, u32)], data: &[u8]) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    let gps_at = 8 + 2 + 12 + 4;
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1]);
    tiff.extend_from_slice(&(gps_at as u32).to_be_bytes());
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend_from_slice(&tag.to_be_bytes());
        tiff.extend_from_slice(&kind.to_be_bytes());
        tiff.extend_from_slice(&count.to_be_bytes());
        tiff.extend_from_slice(&value.to_be_bytes());
    }
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(data);
    tiff
}

#[test]
fn exif_with_offsets_out_of_range_or_zero_denominators_still_ingests_with_flags() {
    let device = device();
    // IFD0 claims to start far past the end of the block.
    let far = with_tiff(b"MM\0\x2a\x7f\xff\xff\xf0");
    let path = device.file("far.jpg", &far);
    assert!(!inspect(&path).unwrap().problems.is_empty());
    device.ingest_or_refuse(&path).unwrap();
    let report = device.ledger.ingest_photo(&path).unwrap();
    assert_eq!(report.flags.iter().map(|flag| flag.name()).collect::<Vec<_>>(), ["no_gps"]);

    // A GPS IFD whose rational values point past the end.
    let outside = with_tiff(&gps_tiff(&[(1, 2, 2, 0x4E00_0000), (2, 5, 3, 0x00FF_FFF0)], &[]));
    let path = device.file("outside.jpg", &outside);
    device.ingest_or_refuse(&path).unwrap();

    // Latitude and longitude with zero denominators: a problem, not a position.
    let data_at = 8 + 2 + 12 + 4 + 2 + 4 * 12 + 4;
    let mut data = Vec::new();
    for _ in 0..6 {
        data.extend_from_slice(&[0, 0, 0, 36, 0, 0, 0, 0]);
    }
    let entries =
        [(1, 2, 2, 0x4E00_0000), (2, 5, 3, data_at as u32), (3, 2, 2, 0x4500_0000), (4, 5, 3, data_at as u32 + 24)];
    let path = device.file("zero.jpg", &with_tiff(&gps_tiff(&entries, &data)));
    let inspection = inspect(&path).unwrap();
    assert!(inspection.gps.is_none(), "{inspection:?}");
    assert!(inspection.problems.iter().any(|problem| problem.contains("zero denominator")), "{inspection:?}");
    let report = device.ledger.ingest_photo(&path).unwrap();
    assert_eq!(report.flags.iter().map(|flag| flag.name()).collect::<Vec<_>>(), ["implausible_gps"]);
}

#[test]
fn stray_bytes_before_the_exif_block_hide_neither_the_exif_nor_the_pixels() {
    let device = device();
    let clean = synthetic::jpeg(640, 480, 8, 90, Some(&camera_capture()));
    // Start of image, a short APP0 segment, four stray bytes, then the Exif segment and the rest.
    let mut dirty = clean[..2].to_vec();
    dirty.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00]);
    dirty.extend_from_slice(&[0x00, 0x42, 0x13, 0x37]);
    dirty.extend_from_slice(&clean[2..]);
    let path = device.file("stray.jpg", &dirty);
    let inspection = inspect(&path).unwrap();
    assert_eq!((inspection.orientation, inspection.gps.is_some()), (6, true));
    let report = device.ledger.ingest_photo(&path).unwrap();
    assert_eq!((report.photo.width, report.photo.height), (Some(480), Some(640)), "turned upright");
    assert!(report.flags.is_empty(), "{:?}", report.flags);
}

/// Ingests `file` in a fresh `photo-probe` process and returns its peak RSS in MB and what it printed.
fn probe_peak_mb(dir: &Path, file: &Path) -> (f64, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("__measure")
        .arg(env!("CARGO_BIN_EXE_photo-probe"))
        .arg(dir)
        .arg(file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    (report["peak_rss_kb"].as_f64().unwrap() / 1024.0, report["stdout"].as_str().unwrap().to_string())
}

/// A flat `width`×`height` JPEG: cheap to make at any size, and its decode costs the same memory.
fn flat(width: usize, height: usize) -> Vec<u8> {
    use rectify_core::photo::codec::{Picture, Plane, encode};
    let plane = |w: usize, h: usize, value: u8| Plane { width: w, height: h, stride: w, data: vec![value; w * h] };
    let (half_w, half_h) = (width.div_ceil(2), height.div_ceil(2));
    let picture = Picture {
        luma: plane(width, height, 90),
        chroma: Some([plane(half_w, half_h, 120), plane(half_w, half_h, 140)]),
    };
    encode(&picture, 80).unwrap()
}

#[test]
fn peak_memory_stays_bounded_whatever_the_pixel_count() {
    let device = device();
    let (baseline, printed) = probe_peak_mb(device.dir.path(), &device.file("tiny.jpg", &flat(64, 64)));
    assert!(printed.contains("stored"), "{printed}");

    // A header claiming 65000×65000 is refused before any pixel memory is taken.
    let bomb = device.file("bomb.jpg", &with_frame_size(&flat(64, 64), 65_000, 65_000));
    let (peak, printed) = probe_peak_mb(&device.dir.path().join("bomb"), &bomb);
    assert!(printed.contains("over the limit"), "{printed}");
    assert!(peak - baseline < 8.0, "refusing a bomb took {peak:.1} MB, the baseline is {baseline:.1} MB");

    // 24 MP is decoded at half size: 3000×2000 planes (9 MB), not 36 MB of full-size planes or 72 MB of RGB.
    let big = device.file("big.jpg", &flat(6000, 4000));
    let (peak, printed) = probe_peak_mb(&device.dir.path().join("big"), &big);
    assert!(printed.contains("stored"), "{printed}");
    assert!(peak - baseline < 36.0, "a 24 MP ingest took {peak:.1} MB, the baseline is {baseline:.1} MB");
    println!("peak RSS: baseline {baseline:.1} MB, 24 MP ingest {peak:.1} MB");
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Overwrite(Vec<(usize, u8)>),
    Insert(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0usize..1 << 20).prop_map(Mutation::Truncate),
        prop::collection::vec((0usize..1 << 20, any::<u8>()), 1..12).prop_map(Mutation::Overwrite),
        ((0usize..1 << 20), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
    ]
}

fn mutate(original: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut bytes = original.to_vec();
    match mutation {
        Mutation::Truncate(at) => bytes.truncate(at % original.len()),
        Mutation::Overwrite(changes) => {
            for (at, value) in changes {
                let at = at % bytes.len();
                bytes[at] = *value;
            }
        }
        Mutation::Insert(at, extra) => {
            let at = at % bytes.len();
            bytes.splice(at..at, extra.iter().copied());
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_files_are_inspected_and_ingested_or_refused(mutation in mutation()) {
        let original = sample();
        let device = device();
        let path = device.file("mutant.jpg", &mutate(&original, &mutation));
        match inspect(&path) {
            Ok(_) => {}
            Err(err) => {
                let typed = matches!(RectifyError::from(err), RectifyError::InvalidInput { .. });
                prop_assert!(typed, "inspect gave an untyped error");
            }
        }
        let _ = device.ingest_or_refuse(&path);
    }
}
