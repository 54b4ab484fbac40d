//! Walk tracks: the GPS line an inspector leaves while walking a village, which shows the office the
//! village was actually walked. Points are filtered (poor fixes, jumps), stored compactly, measured per
//! village (distance, time, share of the area within reach of the line), and exported as GPX or GeoJSON.

use chrono::{DateTime, Utc};
use geo::{Coord, MultiPolygon};
use serde::Serialize;

use super::index::haversine_m;

/// One GPS fix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackPoint {
    pub lat: f64,
    pub lon: f64,
    /// When the fix was taken; imported routes have none.
    pub at: Option<DateTime<Utc>>,
    /// The receiver's horizontal accuracy estimate, in metres.
    pub accuracy_m: Option<f64>,
}

/// What the filter drops.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrackFilter {
    /// Fixes less accurate than this are dropped.
    pub max_accuracy_m: f64,
    /// A fix that would mean moving faster than this from the last kept one is a jump, and dropped.
    pub max_speed_m_s: f64,
}

impl Default for TrackFilter {
    /// On foot or by scooter: 30 m accuracy, 15 m/s.
    fn default() -> Self {
        Self { max_accuracy_m: 30.0, max_speed_m_s: 15.0 }
    }
}

/// Why a fix was dropped, counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Dropped {
    pub poor_fix: u32,
    pub jump: u32,
    pub out_of_order: u32,
}

/// Keeps the fixes worth keeping.
pub fn filter(points: &[TrackPoint], rules: &TrackFilter) -> (Vec<TrackPoint>, Dropped) {
    let mut kept: Vec<TrackPoint> = Vec::with_capacity(points.len());
    let mut dropped = Dropped::default();
    for point in points {
        // NaN accuracy counts as poor.
        if point.accuracy_m.is_some_and(|accuracy| accuracy.is_nan() || accuracy > rules.max_accuracy_m) {
            dropped.poor_fix += 1;
            continue;
        }
        if let Some(last) = kept.last()
            && let (Some(then), Some(now)) = (last.at, point.at)
        {
            let seconds = (now - then).num_milliseconds() as f64 / 1000.0;
            if seconds <= 0.0 {
                dropped.out_of_order += 1;
                continue;
            }
            let metres = haversine_m(Coord { x: last.lon, y: last.lat }, Coord { x: point.lon, y: point.lat });
            if metres / seconds > rules.max_speed_m_s {
                dropped.jump += 1;
                continue;
            }
        }
        kept.push(*point);
    }
    (kept, dropped)
}

/// The length of the line through the points, in metres.
pub fn length_m(points: &[TrackPoint]) -> f64 {
    points.windows(2).map(|pair| haversine_m(coord(&pair[0]), coord(&pair[1]))).sum()
}

fn coord(point: &TrackPoint) -> Coord<f64> {
    Coord { x: point.lon, y: point.lat }
}

// The compact form: a version byte, then per point zig-zag varint deltas of latitude and longitude in
// units of 1e-7 degrees (about 1 cm), a flag-and-delta for the time in milliseconds, and the accuracy in
// decimetres plus one (0: none). A walk's points take 6 to 9 bytes each instead of 40 or more as text.
const FORMAT: u8 = 1;
const UNITS_PER_DEGREE: f64 = 1e7;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_signed(out: &mut Vec<u8>, value: i64) {
    put_varint(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn get_signed(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let value = get_varint(bytes, at)?;
    Some((value >> 1) as i64 ^ -((value & 1) as i64))
}

/// Packs points into the compact form.
pub fn encode(points: &[TrackPoint]) -> Vec<u8> {
    let mut out = vec![FORMAT];
    put_varint(&mut out, points.len() as u64);
    let (mut lat, mut lon, mut time) = (0i64, 0i64, 0i64);
    for point in points {
        let (this_lat, this_lon) =
            ((point.lat * UNITS_PER_DEGREE).round() as i64, (point.lon * UNITS_PER_DEGREE).round() as i64);
        put_signed(&mut out, this_lat - lat);
        put_signed(&mut out, this_lon - lon);
        (lat, lon) = (this_lat, this_lon);
        match point.at {
            Some(at) => {
                let millis = at.timestamp_millis();
                put_varint(&mut out, 1);
                put_signed(&mut out, millis - time);
                time = millis;
            }
            None => put_varint(&mut out, 0),
        }
        let accuracy = point.accuracy_m.map_or(0, |metres| (metres * 10.0).round().clamp(0.0, 1e9) as u64 + 1);
        put_varint(&mut out, accuracy);
    }
    out
}

/// Unpacks the compact form; `None` when the bytes are not a track.
pub fn decode(bytes: &[u8]) -> Option<Vec<TrackPoint>> {
    if bytes.first() != Some(&FORMAT) {
        return None;
    }
    let mut at = 1;
    let count = usize::try_from(get_varint(bytes, &mut at)?).ok()?;
    let mut points = Vec::with_capacity(count.min(bytes.len()));
    let (mut lat, mut lon, mut time) = (0i64, 0i64, 0i64);
    for _ in 0..count {
        lat = lat.checked_add(get_signed(bytes, &mut at)?)?;
        lon = lon.checked_add(get_signed(bytes, &mut at)?)?;
        let moment = match get_varint(bytes, &mut at)? {
            0 => None,
            _ => {
                time = time.checked_add(get_signed(bytes, &mut at)?)?;
                Some(DateTime::from_timestamp_millis(time)?)
            }
        };
        let accuracy = get_varint(bytes, &mut at)?;
        points.push(TrackPoint {
            lat: lat as f64 / UNITS_PER_DEGREE,
            lon: lon as f64 / UNITS_PER_DEGREE,
            at: moment,
            accuracy_m: (accuracy > 0).then(|| (accuracy - 1) as f64 / 10.0),
        });
    }
    (at == bytes.len()).then_some(points)
}

/// How well a track covers one village.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Metres walked inside the village.
    pub distance_m: f64,
    /// Seconds spent inside the village (between timed fixes).
    pub seconds: f64,
    /// The share of the village's area within `reach_m` of the track, from 0 to 1.
    pub area_share: f64,
    pub reach_m: f64,
}

/// The coverage of `area` by the track: segments count where their midpoint is inside; the area share is
/// estimated on a grid of about 2,500 sample points over the village.
pub fn coverage(points: &[TrackPoint], area: &super::index::BoundaryIndex, which: usize, reach_m: f64) -> Coverage {
    let mut distance_m = 0.0;
    let mut seconds = 0.0;
    for pair in points.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (mid_lat, mid_lon) = ((a.lat + b.lat) / 2.0, (a.lon + b.lon) / 2.0);
        if area.containing(mid_lat, mid_lon) == Some(which) {
            distance_m += haversine_m(coord(a), coord(b));
            if let (Some(then), Some(now)) = (a.at, b.at) {
                seconds += (now - then).num_milliseconds().max(0) as f64 / 1000.0;
            }
        }
    }
    let area_share = reached_share(points, &area.boundaries()[which].shape, reach_m, |lat, lon| {
        area.containing(lat, lon) == Some(which)
    });
    Coverage { distance_m, seconds, area_share, reach_m }
}

fn reached_share(
    points: &[TrackPoint],
    shape: &MultiPolygon<f64>,
    reach_m: f64,
    inside: impl Fn(f64, f64) -> bool,
) -> f64 {
    use geo::BoundingRect;
    let Some(bounds) = shape.bounding_rect() else { return 0.0 };
    let (south, west, north, east) = (bounds.min().y, bounds.min().x, bounds.max().y, bounds.max().x);
    let steps = 50;
    let (mut samples, mut reached) = (0u32, 0u32);
    for row in 0..steps {
        for column in 0..steps {
            let lat = south + (north - south) * (row as f64 + 0.5) / steps as f64;
            let lon = west + (east - west) * (column as f64 + 0.5) / steps as f64;
            if !inside(lat, lon) {
                continue;
            }
            samples += 1;
            if distance_to_line_m(points, lat, lon) <= reach_m {
                reached += 1;
            }
        }
    }
    if samples == 0 { 0.0 } else { f64::from(reached) / f64::from(samples) }
}

/// The distance from a point to the track line, in metres (local flat frame around the point).
fn distance_to_line_m(points: &[TrackPoint], lat: f64, lon: f64) -> f64 {
    let scale = lat.to_radians().cos();
    let metres_per_degree = 6_371_008.8 * std::f64::consts::PI / 180.0;
    let local = |p: &TrackPoint| ((p.lon - lon) * scale * metres_per_degree, (p.lat - lat) * metres_per_degree);
    let mut best = f64::MAX;
    if let [only] = points {
        let (x, y) = local(only);
        return (x * x + y * y).sqrt();
    }
    for pair in points.windows(2) {
        let ((ax, ay), (bx, by)) = (local(&pair[0]), local(&pair[1]));
        let (dx, dy) = (bx - ax, by - ay);
        let length = dx * dx + dy * dy;
        let t = if length > 0.0 { (-(ax * dx + ay * dy) / length).clamp(0.0, 1.0) } else { 0.0 };
        let (cx, cy) = (ax + t * dx, ay + t * dy);
        best = best.min((cx * cx + cy * cy).sqrt());
    }
    best
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The track as GPX 1.1.
pub fn to_gpx(name: &str, points: &[TrackPoint]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"Rectify\" \
         xmlns=\"http://www.topografix.com/GPX/1/1\">\n",
    );
    out.push_str(&format!("  <trk>\n    <name>{}</name>\n    <trkseg>\n", escape(name)));
    for point in points {
        out.push_str(&format!("      <trkpt lat=\"{:.7}\" lon=\"{:.7}\">", point.lat, point.lon));
        if let Some(at) = point.at {
            out.push_str(&format!("<time>{}</time>", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        }
        out.push_str("</trkpt>\n");
    }
    out.push_str("    </trkseg>\n  </trk>\n</gpx>\n");
    out
}

/// The track as a GeoJSON Feature: a LineString, with the fix times as a property.
pub fn to_geojson(name: &str, points: &[TrackPoint]) -> serde_json::Value {
    let coordinates: Vec<serde_json::Value> = points.iter().map(|p| serde_json::json!([p.lon, p.lat])).collect();
    let times: Vec<Option<String>> = points.iter().map(|p| p.at.map(|at| at.to_rfc3339())).collect();
    serde_json::json!({
        "type": "Feature",
        "properties": {"name": name, "times": times},
        "geometry": {"type": "LineString", "coordinates": coordinates},
    })
}

/// Why a GPX file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GpxError(pub String);

/// Reads the track points (or, for a route-only file, the route points) of a GPX file. A fix's accuracy
/// is taken as 5 m × HDOP when the file gives an HDOP.
pub fn from_gpx(text: &str) -> Result<Vec<TrackPoint>, GpxError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut track, mut route) = (Vec::new(), Vec::new());
    let mut current: Option<(TrackPoint, bool)> = None;
    let mut field: Option<Vec<u8>> = None;
    let mut saw_gpx = false;
    loop {
        let event = reader.read_event().map_err(|err| GpxError(format!("not well-formed XML: {err}")))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(tag) | Event::Empty(tag) if matches!(tag.local_name().as_ref(), b"trkpt" | b"rtept") => {
                let mut point = TrackPoint { lat: f64::NAN, lon: f64::NAN, at: None, accuracy_m: None };
                for attribute in tag.attributes().flatten() {
                    let value = String::from_utf8_lossy(&attribute.value).trim().parse::<f64>().unwrap_or(f64::NAN);
                    match attribute.key.local_name().as_ref() {
                        b"lat" => point.lat = value,
                        b"lon" => point.lon = value,
                        _ => {}
                    }
                }
                if !(point.lat.abs() <= 90.0 && point.lon.abs() <= 180.0) {
                    return Err(GpxError(format!(
                        "a point has no valid lat/lon (point {})",
                        track.len() + route.len() + 1
                    )));
                }
                let is_track = tag.local_name().as_ref() == b"trkpt";
                if empty {
                    if is_track { track.push(point) } else { route.push(point) }
                } else {
                    current = Some((point, is_track));
                }
            }
            Event::Start(tag) => {
                if tag.local_name().as_ref() == b"gpx" {
                    saw_gpx = true;
                }
                field = Some(tag.local_name().as_ref().to_vec());
            }
            Event::Text(text) => {
                if let (Some((point, _)), Some(name)) = (current.as_mut(), field.as_deref()) {
                    let value = String::from_utf8_lossy(text.as_ref()).trim().to_string();
                    match name {
                        b"time" => point.at = DateTime::parse_from_rfc3339(&value).ok().map(|at| at.to_utc()),
                        b"hdop" => point.accuracy_m = value.parse::<f64>().ok().map(|hdop| hdop * 5.0),
                        _ => {}
                    }
                }
            }
            Event::End(tag) => {
                field = None;
                if matches!(tag.local_name().as_ref(), b"trkpt" | b"rtept")
                    && let Some((point, is_track)) = current.take()
                {
                    if is_track { track.push(point) } else { route.push(point) }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_gpx {
        return Err(GpxError("not a GPX file (no <gpx> element)".into()));
    }
    let points = if track.is_empty() { route } else { track };
    if points.is_empty() {
        return Err(GpxError("the file has no track or route points".into()));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk() -> Vec<TrackPoint> {
        let start = DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap().to_utc();
        (0..100)
            .map(|i| TrackPoint {
                lat: 36.45 + i as f64 * 0.00001,
                lon: 120.5 + (i as f64 * 0.3).sin() * 0.0001,
                at: Some(start + chrono::Duration::seconds(i)),
                accuracy_m: Some(4.0 + (i % 7) as f64 * 0.5),
            })
            .collect()
    }

    #[test]
    fn the_compact_form_round_trips_in_a_few_bytes_a_point() {
        let points = walk();
        let bytes = encode(&points);
        assert!(bytes.len() < points.len() * 10, "{} bytes for {} points", bytes.len(), points.len());
        let back = decode(&bytes).unwrap();
        for (a, b) in points.iter().zip(&back) {
            assert!((a.lat - b.lat).abs() < 1e-7 && (a.lon - b.lon).abs() < 1e-7);
            assert_eq!((a.at, a.accuracy_m), (b.at, b.accuracy_m));
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_none(), "a cut track is refused");
        assert!(decode(b"\x02junk").is_none());
    }

    #[test]
    fn poor_fixes_jumps_and_time_going_back_are_dropped() {
        let mut points = walk();
        points[10].accuracy_m = Some(80.0);
        points[20].lat += 0.01; // 1.1 km in a second
        points[30].at = points[29].at;
        let (kept, dropped) = filter(&points, &TrackFilter::default());
        assert_eq!(dropped, Dropped { poor_fix: 1, jump: 1, out_of_order: 1 });
        assert_eq!(kept.len(), 97);
        // The jump would have added 2.2 km there and back.
        assert!(length_m(&kept) > 100.0 && length_m(&points) - length_m(&kept) > 2000.0, "{}", length_m(&kept));
    }

    #[test]
    fn gpx_written_is_gpx_read() {
        let points = walk();
        let text = to_gpx("walk <1> & more", &points);
        let back = from_gpx(&text).unwrap();
        assert_eq!(back.len(), points.len());
        assert!((length_m(&back) - length_m(&points)).abs() < 0.01);
        assert_eq!(back[5].at, points[5].at);
        assert!(from_gpx("<xml></xml>").is_err());
        assert!(from_gpx("<gpx><trk><trkseg><trkpt lat=\"x\" lon=\"1\"/></trkseg></trk></gpx>").is_err());
    }
}
