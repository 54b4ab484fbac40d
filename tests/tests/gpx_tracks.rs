//! Real GPX exports (../shared/data/georust-gpx, when present) import as tracks, and their lengths agree
//! with an independent computation: the points read by a plain text scan, measured with Karney's
//! geodesic on the WGS-84 ellipsoid.

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use geo::{Distance, Geodesic, Point};
use rectify_core::clock::SystemClock;
use rectify_core::domain::role::Role;
use rectify_core::ledger::Ledger;
use rectify_core::store::OpenMode;
use rectify_tests::{files_under, shared_data};

/// The segments of a GPX file by a plain text scan: split at `<trkseg` (or, with no track points, at
/// `<rte>`), then every `<trkpt` (`<rtept`) and its lat/lon attributes.
fn scanned(text: &str) -> Vec<Vec<Point<f64>>> {
    let attribute = |tag: &str, name: &str| -> Option<f64> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        tag[at..].split('"').next()?.parse().ok()
    };
    let points = |chunk: &str, element: &str| -> Vec<Point<f64>> {
        chunk
            .split(&format!("<{element}"))
            .skip(1)
            .filter_map(|rest| {
                let tag = rest.split('>').next()?;
                Some(Point::new(attribute(tag, "lon")?, attribute(tag, "lat")?))
            })
            .collect()
    };
    let (separator, element) = if text.contains("<trkpt") { ("<trkseg", "trkpt") } else { ("<rte>", "rtept") };
    text.split(separator).skip(1).map(|chunk| points(chunk, element)).filter(|segment| !segment.is_empty()).collect()
}

#[test]
fn real_gpx_files_import_with_lengths_that_agree_with_an_independent_computation() {
    let Some(data) = shared_data("georust-gpx/tests/fixtures") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("device.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    ledger.init("tester", Role::Inspector, &[]).unwrap();
    let mut imported = 0;
    for path in files_under(&data) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let segments = scanned(&text);
        let expected_points: Vec<Point<f64>> = segments.iter().flatten().copied().collect();
        match ledger.import_gpx(&path, None) {
            Ok(track) => {
                assert_eq!(track.points as usize, expected_points.len(), "{}", path.display());
                // The gaps between segments are not walked.
                let expected: f64 = segments
                    .iter()
                    .flat_map(|segment| segment.windows(2).map(|pair| Geodesic.distance(pair[0], pair[1])))
                    .sum();
                let error = (track.length_m - expected).abs() / expected.max(1.0);
                println!(
                    "{}: {} points, {:.1} m (geodesic {expected:.1} m, {:.3} %)",
                    path.display(),
                    track.points,
                    track.length_m,
                    error * 100.0
                );
                assert!(error < 0.005, "{}: {:.1} m against {expected:.1} m", path.display(), track.length_m);
                let stored = ledger.track_points(track.id).unwrap();
                assert_eq!(stored.len(), expected_points.len());
                assert_eq!(
                    stored.iter().filter(|point| point.new_segment).count(),
                    segments.len(),
                    "{}",
                    path.display()
                );
                for (ours, theirs) in stored.iter().zip(&expected_points) {
                    assert!((ours.lat - theirs.y()).abs() < 1e-7 && (ours.lon - theirs.x()).abs() < 1e-7);
                }
                imported += 1;
            }
            Err(err) => {
                assert!(expected_points.is_empty(), "{} has points but was refused: {err}", path.display());
                println!("{}: refused: {err}", path.display());
            }
        }
    }
    assert!(imported >= 11, "only {imported} GPX files imported");
}
