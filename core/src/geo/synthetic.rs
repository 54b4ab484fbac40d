//! Generated village boundaries, for the demo, tests and benchmarks: a grid of cells whose corners are
//! jittered and whose edges wiggle, shared exactly between neighbours (no gaps, no overlaps), so they
//! look and cost like real village outlines. Always labelled synthetic: no public boundaries exist for
//! these villages.

use geo::{Coord, LineString, MultiPolygon, Polygon};

use super::index::Boundary;

fn hash(a: u64, b: u64, c: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ c.wrapping_mul(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in [-1, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// The layout of a grid of village cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub south: f64,
    pub west: f64,
    pub columns: usize,
    pub rows: usize,
    /// Cell side in metres.
    pub cell_m: f64,
    /// Points inserted along each edge: from `min_edge_points` to `max_edge_points`, per edge.
    pub min_edge_points: usize,
    pub max_edge_points: usize,
    pub seed: u64,
}

impl Grid {
    fn metres_to_degrees(&self, x: f64, y: f64) -> Coord<f64> {
        let per_degree = 6_371_008.8 * std::f64::consts::PI / 180.0;
        Coord { x: self.west + x / (per_degree * self.south.to_radians().cos()), y: self.south + y / per_degree }
    }

    /// A corner in metres: within a fifth of a cell of its place on the plain grid.
    fn corner(&self, i: usize, j: usize) -> (f64, f64) {
        let jitter = |axis: u64| 0.2 * self.cell_m * unit(hash(self.seed, (i * 100_003 + j) as u64, axis));
        (i as f64 * self.cell_m + jitter(1), j as f64 * self.cell_m + jitter(2))
    }

    /// The points of the edge between two corners, from `a` to `b`, wiggling the same way whichever way
    /// it is walked.
    fn edge(&self, a: (usize, usize), b: (usize, usize)) -> Vec<(f64, f64)> {
        let (from, to, reversed) = if a <= b { (a, b, false) } else { (b, a, true) };
        let id = hash(self.seed, (from.0 * 100_003 + from.1) as u64, (to.0 * 100_003 + to.1) as u64);
        let span = self.max_edge_points.saturating_sub(self.min_edge_points) as u64 + 1;
        let count = self.min_edge_points + (id % span) as usize;
        let ((x0, y0), (x1, y1)) = (self.corner(from.0, from.1), self.corner(to.0, to.1));
        let (dx, dy) = (x1 - x0, y1 - y0);
        let length = (dx * dx + dy * dy).sqrt().max(1e-9);
        let mut points: Vec<(f64, f64)> = (1..=count)
            .map(|step| {
                let t = step as f64 / (count + 1) as f64;
                // Two smooth waves plus a little noise, vanishing at the corners.
                let wave = (t * std::f64::consts::PI).sin()
                    * (0.04 * (t * 9.0 + unit(id) * 3.0).sin() + 0.01 * unit(hash(id, step as u64, 7)));
                let offset = wave * self.cell_m;
                (x0 + t * dx - offset * dy / length, y0 + t * dy + offset * dx / length)
            })
            .collect();
        if reversed {
            points.reverse();
        }
        points
    }

    /// The cell at column `i`, row `j`, counter-clockwise.
    pub fn cell(&self, i: usize, j: usize) -> MultiPolygon<f64> {
        let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
        let mut ring = Vec::new();
        for k in 0..4 {
            let (a, b) = (corners[k], corners[(k + 1) % 4]);
            let (x, y) = self.corner(a.0, a.1);
            ring.push(self.metres_to_degrees(x, y));
            ring.extend(self.edge(a, b).into_iter().map(|(x, y)| self.metres_to_degrees(x, y)));
        }
        ring.push(ring[0]);
        MultiPolygon::new(vec![Polygon::new(LineString::new(ring), vec![])])
    }

    /// A point (lat, lon) at fractions `fx`, `fy` of cell (i, j) on the plain grid. With both fractions
    /// in [0.27, 0.73] it is inside the cell whatever the jitter and the wiggle.
    pub fn point_in_cell(&self, i: usize, j: usize, fx: f64, fy: f64) -> (f64, f64) {
        let at = self.metres_to_degrees((i as f64 + fx) * self.cell_m, (j as f64 + fy) * self.cell_m);
        (at.y, at.x)
    }

    /// Every cell as a boundary, named by `label(column, row)` → (code, name).
    pub fn boundaries(&self, label: impl Fn(usize, usize) -> (String, String)) -> Vec<Boundary> {
        let mut found = Vec::with_capacity(self.columns * self.rows);
        for j in 0..self.rows {
            for i in 0..self.columns {
                let (code, name) = label(i, j);
                found.push(Boundary { code, name, shape: self.cell(i, j) });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use geo::{Area, BooleanOps};

    use super::*;

    #[test]
    fn neighbouring_cells_share_edges_without_gaps_or_overlaps() {
        let grid = Grid {
            south: 36.3,
            west: 120.4,
            columns: 3,
            rows: 2,
            cell_m: 800.0,
            min_edge_points: 12,
            max_edge_points: 40,
            seed: 9,
        };
        let (a, b) = (grid.cell(0, 0), grid.cell(1, 0));
        assert!(a.intersection(&b).unsigned_area() < 1e-14, "cells overlap");
        let vertices = a.0[0].exterior().0.len();
        assert!((4 * 13..=4 * 41 + 1).contains(&vertices), "{vertices}");
        // The union of all cells has no holes: its area is the sum of theirs.
        let cells: Vec<MultiPolygon<f64>> =
            (0..2).flat_map(|j| (0..3).map(move |i| (i, j))).map(|(i, j)| grid.cell(i, j)).collect();
        let sum: f64 = cells.iter().map(|cell| cell.unsigned_area()).sum();
        let union = cells.iter().skip(1).fold(cells[0].clone(), |acc, cell| acc.union(cell));
        assert!((union.unsigned_area() - sum).abs() < 1e-9 * sum, "gaps or overlaps between cells");
        let holes: f64 = union
            .0
            .iter()
            .flat_map(|polygon| polygon.interiors())
            .map(|ring| Polygon::new(ring.clone(), vec![]).unsigned_area())
            .sum();
        assert!(holes < 1e-9 * sum, "holes of {holes} degrees² between cells");
    }
}
