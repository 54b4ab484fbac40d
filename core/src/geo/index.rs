//! Point to village: an R-tree over village bounding boxes, then an exact point-in-polygon test on the
//! few candidates; when no village contains the point, the nearest one and the distance to its edge.
//!
//! Point-in-polygon is the hot path (every report, every track point), so each polygon keeps its edges
//! sorted into horizontal bands: a ray-crossing test reads only the edges of the point's band, a few
//! dozen out of hundreds.

use geo::{Coord, MultiPolygon};
use rstar::{AABB, Envelope, PointDistance, RTree, RTreeObject};

use super::METRES_PER_DEGREE;

/// A village (or any area) with its boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    pub code: String,
    pub name: String,
    pub shape: MultiPolygon<f64>,
}

/// Where a point falls.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Index into the boundaries the index was built from.
    pub index: usize,
    pub code: String,
    pub name: String,
    pub inside: bool,
    /// 0 when inside; otherwise the distance to the boundary's nearest edge, in metres.
    pub distance_m: f64,
}

/// One ring's edges, banded by latitude.
#[derive(Debug, Clone)]
struct Banded {
    points: Vec<Coord<f64>>,
    min_y: f64,
    band_height: f64,
    /// For each band, the edges (index of their first point) that reach into it.
    bands: Vec<Vec<u32>>,
}

impl Banded {
    fn new(points: Vec<Coord<f64>>) -> Self {
        let (min_y, max_y) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.y), hi.max(p.y)));
        let count = (points.len() / 4).clamp(1, 512);
        let band_height = ((max_y - min_y) / count as f64).max(f64::MIN_POSITIVE);
        let mut bands = vec![Vec::new(); count];
        let band_of = |y: f64| (((y - min_y) / band_height) as usize).min(count - 1);
        for (edge, pair) in points.windows(2).enumerate() {
            let (low, high) = (pair[0].y.min(pair[1].y), pair[0].y.max(pair[1].y));
            for band in &mut bands[band_of(low)..=band_of(high)] {
                band.push(edge as u32);
            }
        }
        Self { points, min_y, band_height, bands }
    }

    /// Whether a horizontal ray from the point crosses the ring an odd number of times.
    fn crossings_odd(&self, point: Coord<f64>) -> bool {
        if point.y < self.min_y {
            return false;
        }
        // The top edge's own band is the last one, whatever rounding says.
        let band = (((point.y - self.min_y) / self.band_height) as usize).min(self.bands.len() - 1);
        let edges = &self.bands[band];
        let mut inside = false;
        for &edge in edges {
            let (a, b) = (self.points[edge as usize], self.points[edge as usize + 1]);
            // Computed from the lower end, so the two villages sharing an edge agree where it is.
            let (low, high) = if a.y <= b.y { (a, b) } else { (b, a) };
            if (low.y > point.y) != (high.y > point.y)
                && point.x < (high.x - low.x) * (point.y - low.y) / (high.y - low.y) + low.x
            {
                inside = !inside;
            }
        }
        inside
    }
}

#[derive(Debug, Clone)]
struct Area {
    /// Per polygon: its exterior then its holes.
    polygons: Vec<Vec<Banded>>,
}

impl Area {
    fn contains(&self, point: Coord<f64>) -> bool {
        self.polygons
            .iter()
            .any(|rings| rings[0].crossings_odd(point) && !rings[1..].iter().any(|hole| hole.crossings_odd(point)))
    }

    /// The nearest point of any edge, measured in a local equirectangular frame around `point`.
    fn nearest_point(&self, point: Coord<f64>) -> Coord<f64> {
        let scale = point.y.to_radians().cos().max(1e-6);
        let mut best = (f64::MAX, point);
        for ring in self.polygons.iter().flatten() {
            for pair in ring.points.windows(2) {
                let (ax, ay) = ((pair[0].x - point.x) * scale, pair[0].y - point.y);
                let (bx, by) = ((pair[1].x - point.x) * scale, pair[1].y - point.y);
                let (dx, dy) = (bx - ax, by - ay);
                let length = dx * dx + dy * dy;
                let t = if length > 0.0 { (-(ax * dx + ay * dy) / length).clamp(0.0, 1.0) } else { 0.0 };
                let (cx, cy) = (ax + t * dx, ay + t * dy);
                let distance = cx * cx + cy * cy;
                if distance < best.0 {
                    best = (distance, Coord { x: point.x + cx / scale, y: point.y + cy });
                }
            }
        }
        best.1
    }
}

/// A bounding box in the R-tree, pointing at its boundary.
#[derive(Debug, Clone)]
struct Entry {
    envelope: AABB<[f64; 2]>,
    index: usize,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        self.envelope.distance_2(point)
    }

    fn contains_point(&self, point: &[f64; 2]) -> bool {
        self.envelope.contains_point(point)
    }
}

/// Villages by boundary, ready for point queries.
#[derive(Debug, Clone)]
pub struct BoundaryIndex {
    boundaries: Vec<Boundary>,
    areas: Vec<Area>,
    tree: RTree<Entry>,
}

/// Great-circle distance in metres (haversine).
pub fn haversine_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
    crate::domain::evidence::distance_m(a.y, a.x, b.y, b.x)
}

impl BoundaryIndex {
    pub fn new(boundaries: Vec<Boundary>) -> Self {
        let mut entries = Vec::new();
        let mut areas = Vec::with_capacity(boundaries.len());
        for (index, boundary) in boundaries.iter().enumerate() {
            let polygons: Vec<Vec<Banded>> = boundary
                .shape
                .0
                .iter()
                .map(|polygon| {
                    std::iter::once(polygon.exterior())
                        .chain(polygon.interiors())
                        .map(|ring| Banded::new(ring.0.clone()))
                        .collect()
                })
                .collect();
            for polygon in &boundary.shape.0 {
                let (mut low, mut high) = ([f64::MAX; 2], [f64::MIN; 2]);
                for point in &polygon.exterior().0 {
                    low = [low[0].min(point.x), low[1].min(point.y)];
                    high = [high[0].max(point.x), high[1].max(point.y)];
                }
                if low[0] <= high[0] {
                    entries.push(Entry { envelope: AABB::from_corners(low, high), index });
                }
            }
            areas.push(Area { polygons });
        }
        Self { boundaries, areas, tree: RTree::bulk_load(entries) }
    }

    pub fn is_empty(&self) -> bool {
        self.boundaries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.boundaries.len()
    }

    pub fn boundaries(&self) -> &[Boundary] {
        &self.boundaries
    }

    /// The boundary containing the point, if any (the first by import order where two overlap).
    pub fn containing(&self, lat: f64, lon: f64) -> Option<usize> {
        if !(lat.is_finite() && lon.is_finite()) {
            return None;
        }
        let point = Coord { x: lon, y: lat };
        self.tree
            .locate_all_at_point(&[lon, lat])
            .map(|entry| entry.index)
            .filter(|index| self.areas[*index].contains(point))
            .min()
    }

    /// The boundary containing the point, or the nearest one with the distance to its edge.
    pub fn locate(&self, lat: f64, lon: f64) -> Option<Located> {
        if !(lat.is_finite() && lon.is_finite()) {
            return None;
        }
        let found = |index: usize, inside: bool, distance_m: f64| {
            let boundary = &self.boundaries[index];
            Located { index, code: boundary.code.clone(), name: boundary.name.clone(), inside, distance_m }
        };
        if let Some(index) = self.containing(lat, lon) {
            return Some(found(index, true, 0.0));
        }
        let point = Coord { x: lon, y: lat };
        // Boxes come nearest first in plain degrees. Squeezing longitude to the point's latitude only
        // shortens distances, so `scale × degrees` bounds every box not yet seen from below: stop when
        // that bound passes the best edge found (1 % spare for the sphere against the plane).
        let scale = lat.to_radians().cos().max(1e-6);
        let mut best: Option<(f64, usize)> = None;
        for entry in self.tree.nearest_neighbor_iter(&[lon, lat]) {
            let lower = entry.envelope.distance_2(&[lon, lat]).sqrt() * scale * METRES_PER_DEGREE * 0.99;
            if best.is_some_and(|(distance, _)| lower > distance) {
                break;
            }
            let distance = haversine_m(point, self.areas[entry.index].nearest_point(point));
            if best.is_none_or(|(current, _)| distance < current) {
                best = Some((distance, entry.index));
            }
        }
        best.map(|(distance, index)| found(index, false, distance))
    }
}

#[cfg(test)]
mod tests {
    use geo::{LineString, Polygon};

    use super::*;

    fn square(code: &str, lon: f64, lat: f64, side: f64) -> Boundary {
        let ring = LineString::from(vec![
            (lon, lat),
            (lon + side, lat),
            (lon + side, lat + side),
            (lon, lat + side),
            (lon, lat),
        ]);
        Boundary { code: code.into(), name: code.into(), shape: MultiPolygon::new(vec![Polygon::new(ring, vec![])]) }
    }

    #[test]
    fn inside_nearest_and_holes() {
        let mut with_hole = square("ring", 121.0, 36.0, 0.02);
        let hole = LineString::from(vec![
            (121.005, 36.005),
            (121.005, 36.015),
            (121.015, 36.015),
            (121.015, 36.005),
            (121.005, 36.005),
        ]);
        with_hole.shape.0[0].interiors_push(hole);
        let index =
            BoundaryIndex::new(vec![square("a", 120.0, 36.0, 0.01), square("b", 120.02, 36.0, 0.01), with_hole]);
        let inside = index.locate(36.005, 120.005).unwrap();
        assert_eq!((inside.code.as_str(), inside.inside, inside.distance_m), ("a", true, 0.0));
        // Between a and b, nearer b's west edge (0.002° of longitude at 36° ≈ 180 m).
        let between = index.locate(36.005, 120.018).unwrap();
        assert_eq!((between.code.as_str(), between.inside), ("b", false));
        assert!((between.distance_m - 180.0).abs() < 2.0, "{}", between.distance_m);
        // In the hole: not inside the ring village; nearest is the ring itself, about 0.005° away.
        let in_hole = index.locate(36.01, 121.01).unwrap();
        assert_eq!((in_hole.code.as_str(), in_hole.inside), ("ring", false));
        assert!((in_hole.distance_m - 450.0).abs() < 10.0, "{}", in_hole.distance_m);
        assert!(BoundaryIndex::new(Vec::new()).locate(36.0, 120.0).is_none());
    }

    use proptest::prelude::*;

    use crate::geo::synthetic::Grid;

    /// A star-shaped polygon around (lon0, lat0): vertices at sorted angles with radii in [0.3, 1] of
    /// `size` degrees; and a point at angle `theta`, `depth` of the way from the centre to the edge.
    fn star(lon0: f64, lat0: f64, size: f64, radii: &[f64], theta: f64, depth: f64) -> (Boundary, (f64, f64)) {
        let count = radii.len();
        let vertex = |k: usize| {
            let angle = std::f64::consts::TAU * k as f64 / count as f64;
            let r = size * radii[k % count];
            (lon0 + r * angle.cos(), lat0 + r * angle.sin())
        };
        let mut ring: Vec<(f64, f64)> = (0..count).map(vertex).collect();
        ring.push(ring[0]);
        // The edge the ray at `theta` meets, and the distance to it along the ray.
        let sector = ((theta / std::f64::consts::TAU) * count as f64).floor() as usize % count;
        let ((ax, ay), (bx, by)) = (vertex(sector), vertex(sector + 1));
        let (dx, dy) = (theta.cos(), theta.sin());
        let (ex, ey) = (bx - ax, by - ay);
        let denominator = dx * ey - dy * ex;
        let reach = ((ax - lon0) * ey - (ay - lat0) * ex) / denominator;
        let point = (lat0 + depth * reach * dy, lon0 + depth * reach * dx);
        let shape = MultiPolygon::new(vec![Polygon::new(LineString::from(ring), vec![])]);
        (Boundary { code: "star".into(), name: "star".into(), shape }, point)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn a_point_strictly_inside_a_star_polygon_resolves_to_it(
            radii in prop::collection::vec(0.3f64..1.0, 5..80),
            theta in 0.0f64..std::f64::consts::TAU,
            depth in 0.0f64..0.98,
            lat0 in -60.0f64..60.0,
            lon0 in -170.0f64..170.0,
        ) {
            let (boundary, (lat, lon)) = star(lon0, lat0, 0.01, &radii, theta, depth);
            // Neighbours all around, so the R-tree returns several candidates.
            let mut boundaries = vec![boundary];
            for (k, (dx, dy)) in [(0.02, 0.0), (-0.02, 0.0), (0.0, 0.02), (0.0, -0.02)].into_iter().enumerate() {
                let (mut other, _) = star(lon0 + dx, lat0 + dy, 0.009, &radii, 0.0, 0.0);
                other.code = format!("neighbour {k}");
                boundaries.push(other);
            }
            let found = BoundaryIndex::new(boundaries).locate(lat, lon).unwrap();
            prop_assert!(found.inside && found.code == "star", "{found:?}");
        }

        #[test]
        fn a_point_inside_a_village_cell_resolves_to_that_cell(
            seed in any::<u64>(),
            i in 0usize..6,
            j in 0usize..5,
            fx in 0.27f64..0.73,
            fy in 0.27f64..0.73,
        ) {
            let grid = Grid { south: 36.3, west: 120.4, columns: 6, rows: 5, cell_m: 700.0, min_edge_points: 12, max_edge_points: 60, seed };
            let index = BoundaryIndex::new(grid.boundaries(|i, j| (format!("{i},{j}"), String::new())));
            let (lat, lon) = grid.point_in_cell(i, j, fx, fy);
            let found = index.locate(lat, lon).unwrap();
            prop_assert!(found.inside, "{found:?}");
            prop_assert_eq!(found.code, format!("{i},{j}"));
        }
    }
}
