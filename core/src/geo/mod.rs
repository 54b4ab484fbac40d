//! Places on the map: village boundaries and point-to-village lookup, nearby issues, walk tracks, and
//! the GCJ-02 offset Chinese basemaps need. Everything is stored in WGS-84; GCJ-02 is for display only.

pub mod gcj02;
pub mod geojson;
pub mod index;
pub mod synthetic;
pub mod track;

pub use index::{Boundary, BoundaryIndex, Located};

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
