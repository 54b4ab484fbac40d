//! Places on the map: village boundaries and point-to-village lookup, nearby issues, walk tracks, and
//! the GCJ-02 offset Chinese basemaps need. Everything is stored in WGS-84; GCJ-02 is for display only.

pub mod gcj02;
pub mod geojson;
pub mod index;

pub use index::{Boundary, BoundaryIndex, Located};
