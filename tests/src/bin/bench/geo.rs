//! The `geo` suite: point to village for 1,000,000 random points against 1,100 generated village
//! polygons of 50 to 500 vertices, on one core. Anchor: the brute-force answer (every polygon tested
//! with geo's `Contains`, no index), on a sample of the same points in the same run.

use std::time::Instant;

use geo::{Contains, Point};
use rectify_core::geo::BoundaryIndex;
use rectify_core::geo::synthetic::Grid;
use rectify_tests::SplitMix;
use serde_json::json;

use super::Outcome;

pub fn run(quick: bool) -> Outcome {
    // 34 × 33 = 1,122 cells of 600 m; 12 to 124 points per edge gives 52 to 500 vertices a polygon.
    let grid = Grid {
        south: 36.20,
        west: 120.30,
        columns: 34,
        rows: 33,
        cell_m: 600.0,
        min_edge_points: 12,
        max_edge_points: 124,
        seed: 2026,
    };
    let boundaries = grid.boundaries(|i, j| (format!("{i:02}{j:02}"), format!("cell {i},{j}")));
    let vertices: Vec<usize> = boundaries.iter().map(|b| b.shape.0[0].exterior().0.len() - 1).collect();
    let (fewest, most) = (vertices.iter().min().copied().unwrap_or(0), vertices.iter().max().copied().unwrap_or(0));
    let built = Instant::now();
    let index = BoundaryIndex::new(boundaries.clone());
    let build_ms = built.elapsed().as_secs_f64() * 1000.0;

    let count = if quick { 100_000 } else { 1_000_000 };
    let mut random = SplitMix::new(42);
    let (south, west) = grid.point_in_cell(0, 0, 0.0, 0.0);
    let (north, east) = grid.point_in_cell(grid.columns, grid.rows, 0.0, 0.0);
    let points: Vec<(f64, f64)> = (0..count)
        .map(|_| {
            let (u, v) = (
                (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
                (random.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
            );
            (south + u * (north - south), west + v * (east - west))
        })
        .collect();

    let start = Instant::now();
    let mut inside = 0usize;
    for (lat, lon) in &points {
        if let Some(found) = index.locate(*lat, *lon) {
            inside += usize::from(found.inside);
        }
    }
    let ours = count as f64 / start.elapsed().as_secs_f64();

    let sample = if quick { 500 } else { 2_000 };
    let start = Instant::now();
    let mut agree = 0usize;
    for (lat, lon) in points.iter().take(sample) {
        let point = Point::new(*lon, *lat);
        let brute = boundaries.iter().position(|boundary| boundary.shape.contains(&point));
        agree += usize::from(brute == index.containing(*lat, *lon));
    }
    let anchor = sample as f64 / start.elapsed().as_secs_f64();
    if agree != sample {
        return Err(format!("the index and brute force disagree on {} of {sample} points", sample - agree).into());
    }
    println!(
        "{}",
        json!({
            "suite": "geo",
            "metric": "locate_points_per_s",
            "value": ours.round(),
            "unit": "points/s",
            "anchor": "brute force: geo::Contains against every polygon, no index (sample of the same points)",
            "anchor_value": anchor.round(),
            "ratio": (ours / anchor * 1000.0).round() / 1000.0,
            "note": format!(
                "{count} random points, {} polygons of {fewest}-{most} vertices, one core; {inside} inside a village; \
                 index built in {build_ms:.0} ms; brute force checked on {sample} points and agrees; target >= 500000 points/s",
                boundaries.len()
            ),
        })
    );
    Ok(())
}
