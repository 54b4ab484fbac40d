//! GeoJSON read strictly (RFC 7946, with the checks geojsonhint makes): duplicate members, wrong types,
//! short or open rings, positions of the wrong size, members that change an object's meaning. Village
//! boundaries decide which village an issue is charged to, so a doubtful file is refused with the
//! feature and the reason, rather than imported half right.

use std::collections::BTreeMap;
use std::fmt;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value that refused duplicate object members while it was parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
        }
    }

    /// The value as text, for properties such as a village's code and name.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Self::String(text) => Some(text.trim().to_string()),
            Self::Number(number) if number.fract() == 0.0 && number.abs() < 1e15 => Some(format!("{number:.0}")),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
                Ok(Json::Bool(value))
            }
            fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
                Ok(Json::Number(value as f64))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
                Ok(Json::Number(value as f64))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
                Ok(Json::Number(value))
            }
            fn visit_str<E>(self, value: &str) -> Result<Json, E> {
                Ok(Json::String(value.to_string()))
            }
            fn visit_string<E>(self, value: String) -> Result<Json, E> {
                Ok(Json::String(value))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut members = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Json>()? {
                    if members.insert(key.clone(), value).is_some() {
                        return Err(de::Error::custom(format!(
                            "an object has the member \"{key}\" twice, so what it means is ambiguous"
                        )));
                    }
                }
                Ok(Json::Object(members))
            }
        }
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// Why a GeoJSON file cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct GeoJsonError {
    /// Where: `the file`, `feature 3 (code 370215001001)`, ...
    pub at: String,
    pub reason: String,
}

fn fail<T>(at: &str, reason: impl Into<String>) -> Result<T, GeoJsonError> {
    Err(GeoJsonError { at: at.to_string(), reason: reason.into() })
}

const GEOMETRY_TYPES: [&str; 7] =
    ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"];

/// How strictly to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Accept rings wound against the right-hand rule (RFC 7946 §3.1.6) and turn them round. Off by
    /// default: many tools write either winding, so the import asks before guessing.
    pub any_winding: bool,
}

/// One polygon-bearing feature: its geometry and its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonFeature {
    /// Which feature it was in the file, from 1; for messages.
    pub number: usize,
    pub properties: BTreeMap<String, Json>,
    pub geometry: MultiPolygon<f64>,
}

/// Parses and checks a GeoJSON text, returning every feature (or bare geometry) that holds polygons.
pub fn read_polygons(text: &str, options: &ReadOptions) -> Result<Vec<PolygonFeature>, GeoJsonError> {
    let root: Json = serde_json::from_str(text).or_else(|err| fail("the file", format!("is not JSON: {err}")))?;
    let Json::Object(members) = &root else {
        return fail("the file", "the root of a GeoJSON object must be an object");
    };
    check_crs(members)?;
    let mut found = Vec::new();
    match type_of(members, "the file")? {
        "FeatureCollection" => {
            forbid(members, "the FeatureCollection", &["properties", "coordinates", "geometry", "geometries"])?;
            check_bbox(members, "the FeatureCollection")?;
            let features = match members.get("features") {
                None => return fail("the FeatureCollection", "the \"features\" member is required"),
                Some(Json::Array(features)) => features,
                Some(other) => {
                    return fail(
                        "the FeatureCollection",
                        format!("\"features\" must be an array, not {}", other.kind()),
                    );
                }
            };
            for (index, feature) in features.iter().enumerate() {
                let at = format!("feature {}", index + 1);
                let Json::Object(feature) = feature else {
                    return fail(&at, "every feature must be an object");
                };
                if let Some(found_feature) = read_feature(feature, index + 1, &at, options)? {
                    found.push(found_feature);
                }
            }
        }
        "Feature" => {
            if let Some(feature) = read_feature(members, 1, "the feature", options)? {
                found.push(feature);
            }
        }
        kind => {
            if let Some(geometry) = read_geometry(members, kind, "the geometry", options)? {
                found.push(PolygonFeature { number: 1, properties: BTreeMap::new(), geometry });
            }
        }
    }
    Ok(found)
}

/// Accepts the old `crs` member only when it names WGS-84 or CGCS2000 (the same to centimetres).
fn check_crs(members: &BTreeMap<String, Json>) -> Result<(), GeoJsonError> {
    let Some(crs) = members.get("crs") else { return Ok(()) };
    let name = match crs {
        Json::Null => return Ok(()),
        Json::Object(crs) => match crs.get("properties") {
            Some(Json::Object(properties)) => properties.get("name").and_then(Json::as_text).unwrap_or_default(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let known = ["CRS84", "EPSG::4326", "EPSG:4326", "EPSG::4490", "EPSG:4490"];
    if known.iter().any(|code| name.ends_with(code)) {
        Ok(())
    } else {
        fail("the file", format!("its \"crs\" is `{name}`; boundaries must be WGS-84 longitude/latitude (RFC 7946)"))
    }
}

fn type_of<'a>(members: &'a BTreeMap<String, Json>, at: &str) -> Result<&'a str, GeoJsonError> {
    let kind = match members.get("type") {
        None => return fail(at, "the \"type\" member is required"),
        Some(Json::String(kind)) => kind.as_str(),
        Some(other) => return fail(at, format!("\"type\" must be a string, not {}", other.kind())),
    };
    let known =
        GEOMETRY_TYPES.iter().chain(&["Feature", "FeatureCollection"]).find(|known| known.eq_ignore_ascii_case(kind));
    match known {
        Some(known) if *known == kind => Ok(kind),
        Some(known) => fail(at, format!("expected type {known} but got {kind} (types are case-sensitive)")),
        None => fail(at, format!("the type {kind} is unknown")),
    }
}

fn forbid(members: &BTreeMap<String, Json>, at: &str, names: &[&str]) -> Result<(), GeoJsonError> {
    match names.iter().find(|name| members.contains_key(**name)) {
        Some(name) => fail(at, format!("it cannot have a \"{name}\" member (that would change what it means)")),
        None => Ok(()),
    }
}

fn check_bbox(members: &BTreeMap<String, Json>, at: &str) -> Result<(), GeoJsonError> {
    match members.get("bbox") {
        None => Ok(()),
        Some(Json::Array(values)) => {
            if values.iter().any(|value| !matches!(value, Json::Number(_))) {
                return fail(at, "every element of \"bbox\" must be a number");
            }
            if values.len() == 4 || values.len() == 6 {
                Ok(())
            } else {
                fail(at, format!("\"bbox\" must have 4 numbers (2D) or 6 (3D), not {}", values.len()))
            }
        }
        Some(other) => fail(at, format!("\"bbox\" must be an array of numbers, not {}", other.kind())),
    }
}

fn read_feature(
    members: &BTreeMap<String, Json>,
    number: usize,
    at: &str,
    options: &ReadOptions,
) -> Result<Option<PolygonFeature>, GeoJsonError> {
    if type_of(members, at)? != "Feature" {
        return fail(at, "a member of \"features\" must have type Feature");
    }
    forbid(members, at, &["features", "coordinates", "geometries"])?;
    check_bbox(members, at)?;
    if let Some(id) = members.get("id")
        && !matches!(id, Json::String(_) | Json::Number(_))
    {
        return fail(at, format!("\"id\" must be a string or a number, not {}", id.kind()));
    }
    let properties = match members.get("properties") {
        None => return fail(at, "the \"properties\" member is required (it may be null)"),
        Some(Json::Null) => BTreeMap::new(),
        Some(Json::Object(properties)) => properties.clone(),
        Some(other) => return fail(at, format!("\"properties\" must be an object or null, not {}", other.kind())),
    };
    let geometry = match members.get("geometry") {
        None => return fail(at, "the \"geometry\" member is required (it may be null)"),
        Some(Json::Null) => return Ok(None),
        Some(Json::Object(geometry)) => {
            let at = format!("{at}'s geometry");
            let kind = type_of(geometry, &at)?;
            if !GEOMETRY_TYPES.contains(&kind) {
                return fail(&at, format!("a geometry cannot have type {kind}"));
            }
            read_geometry(geometry, kind, &at, options)?
        }
        Some(other) => return fail(at, format!("\"geometry\" must be an object or null, not {}", other.kind())),
    };
    Ok(geometry.map(|geometry| PolygonFeature { number, properties, geometry }))
}

/// Checks any geometry; returns the polygons it holds, if any.
fn read_geometry(
    members: &BTreeMap<String, Json>,
    kind: &str,
    at: &str,
    options: &ReadOptions,
) -> Result<Option<MultiPolygon<f64>>, GeoJsonError> {
    if kind == "Feature" || kind == "FeatureCollection" {
        return fail(at, format!("a {kind} is not a geometry"));
    }
    forbid(members, at, &["properties", "geometry", "features"])?;
    check_bbox(members, at)?;
    if kind == "GeometryCollection" {
        let geometries = match members.get("geometries") {
            Some(Json::Array(geometries)) => geometries,
            Some(other) => return fail(at, format!("\"geometries\" must be an array, not {}", other.kind())),
            None => return fail(at, "the \"geometries\" member is required"),
        };
        if geometries.len() == 1 {
            return fail(at, "a GeometryCollection of one geometry should be that geometry itself");
        }
        let mut polygons = Vec::new();
        for (index, geometry) in geometries.iter().enumerate() {
            let at = format!("{at}, member {}", index + 1);
            let Json::Object(geometry) = geometry else {
                return fail(&at, "a GeometryCollection must contain only geometry objects");
            };
            let kind = type_of(geometry, &at)?;
            if kind == "GeometryCollection" {
                return fail(&at, "GeometryCollections should not be nested");
            }
            if let Some(found) = read_geometry(geometry, kind, &at, options)? {
                polygons.extend(found.0);
            }
        }
        return Ok((!polygons.is_empty()).then(|| MultiPolygon::new(polygons)));
    }
    let coordinates = match members.get("coordinates") {
        None => return fail(at, "the \"coordinates\" member is required"),
        Some(coordinates @ Json::Array(_)) => coordinates,
        Some(other) => return fail(at, format!("\"coordinates\" must be an array, not {}", other.kind())),
    };
    match kind {
        "Point" => {
            position(coordinates, at)?;
            Ok(None)
        }
        "MultiPoint" => {
            array(coordinates, at)?.iter().try_for_each(|item| position(item, at).map(drop))?;
            Ok(None)
        }
        "LineString" => {
            line(coordinates, at)?;
            Ok(None)
        }
        "MultiLineString" => {
            array(coordinates, at)?.iter().try_for_each(|item| line(item, at).map(drop))?;
            Ok(None)
        }
        "Polygon" => Ok(Some(MultiPolygon::new(vec![polygon(coordinates, at, options)?]))),
        _ => {
            let parts = array(coordinates, at)?;
            let polygons = parts
                .iter()
                .enumerate()
                .map(|(index, part)| polygon(part, &format!("{at}, polygon {}", index + 1), options))
                .collect::<Result<Vec<_>, _>>()?;
            if polygons.is_empty() {
                return fail(at, "a MultiPolygon with no polygons is empty");
            }
            Ok(Some(MultiPolygon::new(polygons)))
        }
    }
}

fn array<'a>(value: &'a Json, at: &str) -> Result<&'a [Json], GeoJsonError> {
    match value {
        Json::Array(items) => Ok(items),
        Json::Number(_) => {
            fail(at, "a number was found where an array of coordinates belongs (it needs deeper nesting)")
        }
        other => fail(at, format!("expected an array of coordinates, found {}", other.kind())),
    }
}

fn position(value: &Json, at: &str) -> Result<Coord<f64>, GeoJsonError> {
    let items = match value {
        Json::Array(items) => items,
        other => return fail(at, format!("a position must be an array of numbers, not {}", other.kind())),
    };
    let mut numbers = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Json::Number(number) if number.is_finite() => numbers.push(*number),
            _ => return fail(at, format!("every element of a position must be a number, not {}", item.kind())),
        }
    }
    match numbers.len() {
        0 | 1 => fail(at, "a position needs at least longitude and latitude"),
        2 | 3 => Ok(Coord { x: numbers[0], y: numbers[1] }),
        count => fail(at, format!("a position has at most 3 elements (longitude, latitude, height), not {count}")),
    }
}

fn line(value: &Json, at: &str) -> Result<Vec<Coord<f64>>, GeoJsonError> {
    let points = array(value, at)?.iter().map(|item| position(item, at)).collect::<Result<Vec<_>, _>>()?;
    if points.len() < 2 {
        return fail(at, "a line needs two or more positions");
    }
    Ok(points)
}

/// The first position that is not a WGS-84 longitude/latitude, if any. GeoJSON itself does not forbid
/// them (geojsonhint accepts any numbers), but a boundary with one is projected or broken.
pub fn first_off_earth(shape: &MultiPolygon<f64>) -> Option<Coord<f64>> {
    shape
        .0
        .iter()
        .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
        .flat_map(|ring| ring.0.iter())
        .find(|point| !(-180.0..=180.0).contains(&point.x) || !(-90.0..=90.0).contains(&point.y))
        .copied()
}

/// Twice the signed area in degrees² (positive when counter-clockwise).
fn signed_area(ring: &[Coord<f64>]) -> f64 {
    // Relative to the first vertex: small rings far from (0, 0) keep their precision.
    let origin = ring.first().copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
    ring.windows(2)
        .map(|pair| {
            let (a, b) = (pair[0] - origin, pair[1] - origin);
            a.x * b.y - b.x * a.y
        })
        .sum()
}

fn polygon(value: &Json, at: &str, options: &ReadOptions) -> Result<Polygon<f64>, GeoJsonError> {
    let rings = array(value, at)?;
    if rings.is_empty() {
        return fail(at, "a polygon needs at least its outer ring");
    }
    let mut read = Vec::with_capacity(rings.len());
    for (index, ring) in rings.iter().enumerate() {
        let which = if index == 0 { "the outer ring".to_string() } else { format!("hole {index}") };
        let raw = array(ring, at)?;
        let mut points = raw.iter().map(|item| position(item, at)).collect::<Result<Vec<_>, _>>()?;
        if points.len() < 4 {
            return fail(at, format!("{which} has {} positions; a ring needs four or more", points.len()));
        }
        // Compared as written, height included.
        if raw.first() != raw.last() {
            return fail(at, format!("{which} is not closed: its first and last positions differ"));
        }
        let area = signed_area(&points);
        if area == 0.0 {
            return fail(at, format!("{which} encloses no area"));
        }
        // RFC 7946: the outer ring counter-clockwise, holes clockwise.
        let wound_right = if index == 0 { area > 0.0 } else { area < 0.0 };
        if !wound_right {
            if !options.any_winding {
                return fail(
                    at,
                    format!(
                        "{which} is wound {} but the right-hand rule wants it {}; import with --any-winding to accept \
                         and turn it",
                        if area > 0.0 { "counter-clockwise" } else { "clockwise" },
                        if area > 0.0 { "clockwise" } else { "counter-clockwise" },
                    ),
                );
            }
            points.reverse();
        }
        read.push(LineString::new(points));
    }
    let exterior = read.remove(0);
    Ok(Polygon::new(exterior, read))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"Feature","properties":{"code":"990001001001","name":"East"},
        "geometry":{"type":"Polygon","coordinates":[[[120,36],[120.01,36],[120.01,36.01],[120,36.01],[120,36]]]}}"#;

    #[test]
    fn a_feature_with_a_polygon_is_read_with_its_properties() {
        let found = read_polygons(SQUARE, &ReadOptions::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].properties["code"].as_text().as_deref(), Some("990001001001"));
        assert_eq!(found[0].geometry.0[0].exterior().0.len(), 5);
    }

    #[test]
    fn each_refusal_says_where_and_why() {
        let cases = [
            (r#"{"type":"Feature","type":"Feature"}"#, "twice"),
            (r#"[1,2]"#, "must be an object"),
            (r#"{"type":"featurecollection","features":[]}"#, "case-sensitive"),
            (r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0.5]]]}"#, "not closed"),
            (r#"{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}"#, "four or more"),
            (r#"{"type":"Polygon","coordinates":[[[0,0],[0,1],[1,1],[0,0]]]}"#, "right-hand rule"),
            (r#"{"type":"Point","coordinates":[1,2,3,4]}"#, "at most 3"),
            (r#"{"type":"Point","coordinates":[1,"2"]}"#, "must be a number"),
            (r#"{"type":"Feature","properties":[],"geometry":null}"#, "object or null"),
            (r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null}]}"#, "feature 1"),
        ];
        for (text, expected) in cases {
            let err = read_polygons(text, &ReadOptions::default()).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: expected `{expected}` in `{err}`");
        }
    }

    #[test]
    fn a_clockwise_outer_ring_is_turned_when_any_winding_is_allowed() {
        let text = r#"{"type":"Polygon","coordinates":[[[0,0],[0,1],[1,1],[1,0],[0,0]]]}"#;
        let found = read_polygons(text, &ReadOptions { any_winding: true }).unwrap();
        assert!(signed_area(&found[0].geometry.0[0].exterior().0) > 0.0);
    }
}
