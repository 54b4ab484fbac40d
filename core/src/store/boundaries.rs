//! Village boundaries as stored: one MultiPolygon per village, as GeoJSON text.

use geo::{BoundingRect, MultiPolygon};
use rusqlite::{Connection, Transaction, params};

use crate::ids::VillageId;

/// A stored boundary with the village it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBoundary {
    pub village_id: VillageId,
    pub code: String,
    pub name: String,
    pub shape: MultiPolygon<f64>,
    pub area_m2: f64,
}

fn ring_json(ring: &geo::LineString<f64>) -> serde_json::Value {
    serde_json::Value::Array(ring.0.iter().map(|c| serde_json::json!([c.x, c.y])).collect())
}

/// The GeoJSON geometry object of a MultiPolygon.
pub fn to_geojson(shape: &MultiPolygon<f64>) -> serde_json::Value {
    let polygons: Vec<serde_json::Value> = shape
        .0
        .iter()
        .map(|polygon| {
            serde_json::Value::Array(
                std::iter::once(polygon.exterior()).chain(polygon.interiors()).map(ring_json).collect(),
            )
        })
        .collect();
    serde_json::json!({"type": "MultiPolygon", "coordinates": polygons})
}

/// Reads a stored (or sent) MultiPolygon back; `None` when it is not one.
pub fn from_geojson(text: &str) -> Option<MultiPolygon<f64>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let ring = |ring: &serde_json::Value| -> Option<geo::LineString<f64>> {
        let points = ring
            .as_array()?
            .iter()
            .map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(geo::LineString::from(points))
    };
    let polygons = value["coordinates"]
        .as_array()?
        .iter()
        .map(|polygon| {
            let rings = polygon.as_array()?.iter().map(ring).collect::<Option<Vec<_>>>()?;
            let (exterior, holes) = rings.split_first()?;
            Some(geo::Polygon::new(exterior.clone(), holes.to_vec()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(MultiPolygon::new(polygons))
}

/// Stores (or replaces) a village's boundary.
pub fn save(
    tx: &Transaction<'_>,
    village: VillageId,
    shape: &MultiPolygon<f64>,
    area_m2: f64,
    source: &str,
    now: &str,
) -> rusqlite::Result<()> {
    let Some(bounds) = shape.bounding_rect() else { return Ok(()) };
    tx.prepare_cached(
        "INSERT INTO village_boundaries (village_id, geometry, min_lon, min_lat, max_lon, max_lat, area_m2, source, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (village_id) DO UPDATE SET geometry = excluded.geometry, min_lon = excluded.min_lon,
           min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat,
           area_m2 = excluded.area_m2, source = excluded.source, imported_at = excluded.imported_at",
    )?
    .execute(params![
        village.to_string(),
        to_geojson(shape).to_string(),
        bounds.min().x,
        bounds.min().y,
        bounds.max().x,
        bounds.max().y,
        area_m2,
        source,
        now
    ])?;
    Ok(())
}

/// Every stored boundary with its village's current code and name, in code order.
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<StoredBoundary>> {
    let mut statement = conn.prepare_cached(
        "SELECT b.village_id, (SELECT code FROM village_codes c WHERE c.village_id = b.village_id ORDER BY position DESC LIMIT 1),
                v.name, b.geometry, b.area_m2
         FROM village_boundaries b JOIN villages v ON v.id = b.village_id ORDER BY 2",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, f64>(4)?,
        ))
    })?;
    let mut found = Vec::new();
    for row in rows {
        let (id, code, name, geometry, area_m2) = row?;
        if let (Ok(village_id), Some(shape)) = (id.parse(), from_geojson(&geometry)) {
            found.push(StoredBoundary { village_id, code: code.unwrap_or_default(), name, shape, area_m2 });
        }
    }
    Ok(found)
}

/// How many villages have a boundary.
pub fn count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT count(*) FROM village_boundaries", [], |row| row.get::<_, i64>(0)).map(|n| n.max(0) as u64)
}
