//! Places on the map: village boundaries and point-to-village lookup, nearby issues, walk tracks, and
//! the GCJ-02 offset Chinese basemaps need. Everything is stored in WGS-84; GCJ-02 is for display only.

pub mod gcj02;
pub mod geojson;
pub mod index;
pub mod synthetic;
pub mod track;

pub use index::{Boundary, BoundaryIndex, Located};

/// Metres per degree of latitude on a sphere of the Earth's mean radius (6,371,008.8 m).
pub const METRES_PER_DEGREE: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// Boundaries as a GeoJSON FeatureCollection with `code` and `name` properties (right-hand rule).
pub fn feature_collection(boundaries: &[Boundary]) -> serde_json::Value {
    let features: Vec<serde_json::Value> = boundaries
        .iter()
        .map(|boundary| {
            serde_json::json!({
                "type": "Feature",
                "properties": {"code": boundary.code, "name": boundary.name},
                "geometry": crate::store::boundaries::to_geojson(&boundary.shape),
            })
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features})
}
