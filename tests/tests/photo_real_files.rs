//! Photo ingest against the real camera, phone and bug-report files in ../shared/data (when present):
//! every file either ingests or fails with a typed error and leaves nothing behind; GPS, orientation and
//! size agree with exiftool; orientation sets come out upright; the geotag survives into the evidence
//! file; and the perceptual hash finds re-encoded copies without confusing different photos.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rectify_core::RectifyError;
use rectify_core::clock::SystemClock;
use rectify_core::ledger::Ledger;
use rectify_core::photo::codec::{self, Picture};
use rectify_core::photo::{Limits, inspect, phash};
use rectify_core::store::OpenMode;
use rectify_tests::{files_under, have_tool, shared_data};
use serde_json::Value;

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "heic", "heif", "avif", "png", "webp", "tif", "tiff"];

/// Files that must be refused, and a word the refusal must contain.
const REFUSED: &[(&str, &str)] = &[
    ("ianare-exif-samples/jpg/corrupted.jpg", "damaged"),
    ("pillow-test-images/Tests/images/truncated_jpeg.jpg", "cut short"),
    // Its scan data is garbage between restart markers: libjpeg warns 68 times and what it draws is noise.
    ("pillow-test-images/Tests/images/hopper_bad_exif.jpg", "damaged"),
];

fn images(data: &Path) -> Vec<PathBuf> {
    files_under(data)
        .into_iter()
        .filter(|path| {
            let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            IMAGE_EXTENSIONS.contains(&extension.as_str())
        })
        .collect()
}

fn is_jpeg_name(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(), Some("jpg" | "jpeg"))
}

fn relative(data: &Path, path: &Path) -> String {
    path.strip_prefix(data).unwrap().to_string_lossy().into_owned()
}

fn device(dir: &Path) -> Ledger {
    let ledger = Ledger::open(&dir.join("device.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    ledger.init("tester", rectify_core::domain::role::Role::Inspector, &[]).unwrap();
    ledger
}

fn footprint(ledger: &Ledger) -> (u64, u64) {
    (ledger.photo_usage().unwrap().photos, ledger.photo_store().unwrap().bytes_on_disk())
}

fn decode_file(path: &Path) -> Picture {
    codec::decode(&std::fs::read(path).unwrap(), &Limits::default(), usize::MAX).unwrap()
}

#[test]
fn every_file_ingests_or_is_refused_with_a_typed_error_and_leaves_nothing() {
    let Some(data) = shared_data("") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = device(dir.path());
    let mut outcomes = BTreeMap::new();
    for path in images(&data) {
        let name = relative(&data, &path);
        let before = footprint(&ledger);
        match ledger.ingest_photo(&path) {
            Ok(report) => {
                assert!(is_jpeg_name(&path), "{name} is not a JPEG yet was ingested");
                assert!(REFUSED.iter().all(|(refused, _)| *refused != name), "{name} should have been refused");
                let photo = &report.photo;
                let evidence = decode_file(&ledger.photo_path(photo).unwrap());
                assert_eq!(
                    (Some(evidence.width() as u32), Some(evidence.height() as u32)),
                    (photo.width, photo.height)
                );
                assert!(evidence.width().max(evidence.height()) <= 2048, "{name}");
                let thumb = photo.thumbnail.as_ref().unwrap();
                assert!(thumb.width.max(thumb.height) <= 320, "{name}");
                outcomes.insert(name, "ingested".to_string());
            }
            Err(err) => {
                assert!(matches!(err, RectifyError::InvalidInput { .. }), "{name}: {err:?}");
                assert_eq!(footprint(&ledger), before, "{name} was refused but left something behind");
                let text = err.to_string();
                let expected = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
                    Some("heic" | "heif" | "avif") => "convert it to JPEG first",
                    Some("jpg" | "jpeg") => {
                        REFUSED.iter().find(|(refused, _)| *refused == name).map(|(_, word)| *word).unwrap_or_else(
                            || {
                                panic!("{name} is a JPEG that should ingest, but: {text}");
                            },
                        )
                    }
                    _ => "not a JPEG",
                };
                assert!(text.contains(expected), "{name}: expected `{expected}` in `{text}`");
                outcomes.insert(name, format!("refused: {text}"));
            }
        }
    }
    for (name, outcome) in &outcomes {
        println!("{name}: {outcome}");
    }
    let ingested = outcomes.values().filter(|outcome| *outcome == "ingested").count();
    assert!(ingested >= 60, "only {ingested} files ingested");
}

/// exiftool's reading of every JPEG, by path: orientation, signed GPS, frame size.
fn exiftool_readings(files: &[PathBuf]) -> BTreeMap<PathBuf, Value> {
    let output = Command::new("exiftool")
        .args(["-j", "-n", "-Orientation", "-Composite:GPSLatitude", "-Composite:GPSLongitude", "-GPSAltitude"])
        .args(["-File:ImageWidth", "-File:ImageHeight", "-DateTimeOriginal", "-OffsetTimeOriginal"])
        .args(files)
        .output()
        .unwrap();
    let readings: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    readings.into_iter().map(|reading| (PathBuf::from(reading["SourceFile"].as_str().unwrap()), reading)).collect()
}

#[test]
fn gps_orientation_and_size_agree_with_exiftool() {
    let Some(data) = shared_data("") else { return };
    if !have_tool("exiftool", "-ver") {
        return;
    }
    let jpegs: Vec<PathBuf> = images(&data).into_iter().filter(|path| is_jpeg_name(path)).collect();
    let readings = exiftool_readings(&jpegs);
    let (mut compared, mut with_gps, mut disagreements) = (0, 0, Vec::new());
    for path in &jpegs {
        let name = relative(&data, path);
        let Some(reading) = readings.get(path) else { panic!("exiftool said nothing about {name}") };
        let Ok(ours) = inspect(path) else {
            assert!(REFUSED.iter().any(|(refused, _)| *refused == name), "{name} could not be inspected");
            continue;
        };
        compared += 1;
        let orientation = reading["Orientation"].as_u64().filter(|value| (1..=8).contains(value)).unwrap_or(1);
        if u64::from(ours.orientation) != orientation {
            disagreements.push(format!("{name}: orientation {} vs exiftool {orientation}", ours.orientation));
        }
        let size = (reading["ImageWidth"].as_u64(), reading["ImageHeight"].as_u64());
        if size != (Some(u64::from(ours.width)), Some(u64::from(ours.height))) {
            disagreements.push(format!("{name}: size {}x{} vs exiftool {size:?}", ours.width, ours.height));
        }
        let theirs = reading["GPSLatitude"].as_f64().zip(reading["GPSLongitude"].as_f64());
        match (ours.gps, theirs) {
            (Some(gps), Some((lat, lon))) => {
                with_gps += 1;
                if (gps.lat - lat).abs() > 1e-6 || (gps.lon - lon).abs() > 1e-6 {
                    disagreements.push(format!("{name}: GPS {},{} vs exiftool {lat},{lon}", gps.lat, gps.lon));
                }
                if let (Some(alt), Some(theirs)) = (gps.alt, reading["GPSAltitude"].as_f64())
                    && (alt.abs() - theirs.abs()).abs() > 1e-3
                {
                    disagreements.push(format!("{name}: altitude {alt} vs exiftool {theirs}"));
                }
            }
            (None, None) => {}
            (ours, theirs) => disagreements.push(format!("{name}: GPS {ours:?} vs exiftool {theirs:?}")),
        }
    }
    println!("compared {compared} files, {with_gps} with GPS");
    assert!(disagreements.is_empty(), "disagreements with exiftool:\n{}", disagreements.join("\n"));
    assert!(compared >= 60 && with_gps >= 10, "{compared} compared, {with_gps} with GPS");
}

/// Mean absolute luma difference of two same-sized pictures, after bringing both to 64 px wide.
fn difference(a: &Picture, b: &Picture) -> Option<f64> {
    if (a.width(), a.height()) != (b.width(), b.height()) {
        return None;
    }
    let (w, h) = codec::fit(a.width(), a.height(), 64);
    let (a, b) = (codec::resize(a, w, h).unwrap(), codec::resize(b, w, h).unwrap());
    let total: u64 = a.luma.data.iter().zip(&b.luma.data).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    Some(total as f64 / (w * h) as f64)
}

#[test]
fn orientation_sets_come_out_upright() {
    let Some(data) = shared_data("") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = device(dir.path());
    let sets = [
        ("ianare-exif-samples/jpg/orientation/landscape_", 1..=8),
        ("ianare-exif-samples/jpg/orientation/portrait_", 1..=8),
        ("pillow-test-images/Tests/images/hopper_orientation_", 2..=8),
    ];
    for (stem, numbers) in sets {
        let mut upright: Vec<(u8, Picture)> = Vec::new();
        let mut stored: Vec<(u8, Picture)> = Vec::new();
        for number in numbers {
            let path = data.join(format!("{stem}{number}.jpg"));
            let report = ledger.ingest_photo(&path).unwrap();
            // (Two files whose upright pixels are identical give one stored photo, so read the file's own.)
            assert_eq!(inspect(&path).unwrap().orientation, number);
            upright.push((number, decode_file(&ledger.photo_path(&report.photo).unwrap())));
            stored.push((number, decode_file(&path)));
        }
        // Each file has its number drawn on it, so no two are identical. The test is that, of the eight
        // ways to turn the stored pixels, the one matching the reference best is the one Exif names, and
        // that the evidence image is that one.
        let (first, reference) = &upright[0];
        for ((number, picture), (_, pixels)) in upright.iter().zip(&stored).skip(1) {
            let turned: Vec<(u8, f64)> = (1..=8)
                .filter_map(|way| Some((way, difference(reference, &codec::orient(pixels.clone(), way))?)))
                .collect();
            let (best, best_diff) = turned.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
            let runner_up =
                turned.iter().filter(|(way, _)| *way != best).map(|(_, diff)| *diff).fold(f64::MAX, f64::min);
            assert_eq!(best, *number, "{stem}{number}: turning it by {best} matches {stem}{first} best: {turned:?}");
            assert!(runner_up > best_diff * 1.5, "{stem}{number}: the ways are too close to tell: {turned:?}");
            let diff = difference(reference, picture).unwrap();
            assert!(
                diff < best_diff + 2.0,
                "{stem}{number}: the evidence is {diff:.1} from upright, best {best_diff:.1}"
            );
        }
    }
}

#[test]
fn the_geotag_and_time_survive_into_the_evidence_file() {
    let Some(data) = shared_data("ianare-exif-samples/jpg") else { return };
    if !have_tool("exiftool", "-ver") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ledger = device(dir.path());
    let sources: Vec<PathBuf> = files_under(&data.join("gps")).into_iter().filter(|p| is_jpeg_name(p)).collect();
    let sources = [sources, vec![data.join("mobile/HMD_Nokia_8.3_5G.jpg")]].concat();
    let evidence: Vec<PathBuf> =
        sources.iter().map(|path| ledger.photo_path(&ledger.ingest_photo(path).unwrap().photo).unwrap()).collect();
    let before = exiftool_readings(&sources);
    let after = exiftool_readings(&evidence);
    for (source, evidence) in sources.iter().zip(&evidence) {
        let (was, now) = (&before[source], &after[evidence]);
        for key in ["GPSLatitude", "GPSLongitude"] {
            let (was, now) = (was[key].as_f64().unwrap(), now[key].as_f64().unwrap());
            assert!((was - now).abs() < 1e-6, "{}: {key} {was} became {now}", source.display());
        }
        for key in ["DateTimeOriginal", "OffsetTimeOriginal"] {
            assert_eq!(was[key], now[key], "{}: {key}", source.display());
        }
        assert_eq!(now["Orientation"].as_u64(), Some(1), "{}", source.display());
    }
    let validate =
        Command::new("exiftool").args(["-validate", "-warning", "-a", "-j"]).args(&evidence).output().unwrap();
    let reports: Vec<Value> = serde_json::from_slice(&validate.stdout).unwrap();
    for report in reports {
        assert_eq!(report["Validate"], "OK", "{report}");
    }
}

/// A copy of a photo as a messaging app would pass it on: upright, 60 % of the size, quality 50, no Exif.
fn passed_on(path: &Path, orientation: u8) -> Vec<u8> {
    let picture = codec::orient(decode_file(path), orientation);
    let (w, h) = (picture.width() * 3 / 5, picture.height() * 3 / 5);
    codec::encode(&codec::resize(&picture, w, h).unwrap(), 50).unwrap()
}

#[test]
fn the_perceptual_hash_finds_copies_and_tells_different_photos_apart() {
    let Some(data) = shared_data("ianare-exif-samples/jpg") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = device(dir.path());
    let mut photos: Vec<PathBuf> = files_under(&data.join("gps")).into_iter().filter(|p| is_jpeg_name(p)).collect();
    for name in [
        "mobile/HMD_Nokia_8.3_5G.jpg",
        "mobile/jolla.jpg",
        "Canon_40D.jpg",
        "Kodak_CX7530.jpg",
        "Reconyx_HC500_Hyperfire.jpg",
        "exif-org/olympus-d320l.jpg",
        "hdr/iphone_hdr_NO.jpg",
        "hdr/canon_hdr_NO.jpg",
        "orientation/landscape_1.jpg",
        "orientation/portrait_1.jpg",
    ] {
        photos.push(data.join(name));
    }
    let mut originals = Vec::new();
    let mut orientations = Vec::new();
    for path in &photos {
        let report = ledger.ingest_photo(path).unwrap();
        originals.push(u64::from_str_radix(report.photo.phash.as_deref().unwrap(), 16).unwrap());
        orientations.push(report.photo.capture.orientation.unwrap_or(1));
    }
    let limit = phash::SAME_PICTURE_DISTANCE;
    let mut closest_apart = u32::MAX;
    for (i, a) in originals.iter().enumerate() {
        for (j, b) in originals.iter().enumerate().skip(i + 1) {
            let bits = phash::distance(*a, *b);
            closest_apart = closest_apart.min(bits);
            assert!(bits > limit, "{} and {} are {bits} bits apart", photos[i].display(), photos[j].display());
        }
    }
    let mut farthest_copy = 0;
    for ((path, original), orientation) in photos.iter().zip(&originals).zip(orientations) {
        let copy = dir.path().join("copy.jpg");
        std::fs::write(&copy, passed_on(path, orientation)).unwrap();
        let report = ledger.ingest_photo(&copy).unwrap();
        let bits = phash::distance(*original, u64::from_str_radix(report.photo.phash.as_deref().unwrap(), 16).unwrap());
        farthest_copy = farthest_copy.max(bits);
        assert!(bits <= limit, "the copy of {} is {bits} bits away", path.display());
        assert!(report.flags.iter().any(|flag| flag.name() == "reused"), "{}: {:?}", path.display(), report.flags);
    }
    println!(
        "{} photos: different photos at least {closest_apart} bits apart, copies at most {farthest_copy}",
        photos.len()
    );
}
