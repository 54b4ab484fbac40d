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
    /// The first fix after a break (a new GPX segment or track): the line does not join it to the last.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_segment: bool,
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
        if let Some(last) = kept.last().filter(|_| !point.new_segment)
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

/// The consecutive fixes the line joins (not across a segment break).
fn legs(points: &[TrackPoint]) -> impl Iterator<Item = (&TrackPoint, &TrackPoint)> {
    points.windows(2).filter(|pair| !pair[1].new_segment).map(|pair| (&pair[0], &pair[1]))
}

/// The length of the line through the points, in metres (segment breaks are not walked).
pub fn length_m(points: &[TrackPoint]) -> f64 {
    legs(points).map(|(a, b)| haversine_m(coord(a), coord(b))).sum()
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
        // Flags: 1 = a time follows, 2 = the fix starts a new segment.
        put_varint(&mut out, u64::from(point.at.is_some()) | u64::from(point.new_segment) << 1);
        if let Some(at) = point.at {
            let millis = at.timestamp_millis();
            put_signed(&mut out, millis - time);
            time = millis;
        }
        let accuracy = point
            .accuracy_m
            .filter(|metres| metres.is_finite() && *metres >= 0.0)
            .map_or(0, |metres| (metres * 10.0).round().min(1e9) as u64 + 1);
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
        let flags = get_varint(bytes, &mut at)?;
        if flags > 3 {
            return None;
        }
        let moment = if flags & 1 == 1 {
            time = time.checked_add(get_signed(bytes, &mut at)?)?;
            Some(DateTime::from_timestamp_millis(time)?)
        } else {
            None
        };
        let accuracy = get_varint(bytes, &mut at)?;
        let (degrees_lat, degrees_lon) = (lat as f64 / UNITS_PER_DEGREE, lon as f64 / UNITS_PER_DEGREE);
        if degrees_lat.abs() > 90.0 || degrees_lon.abs() > 180.0 {
            return None;
        }
        points.push(TrackPoint {
            lat: degrees_lat,
            lon: degrees_lon,
            at: moment,
            accuracy_m: (accuracy > 0).then(|| (accuracy - 1) as f64 / 10.0),
            new_segment: flags & 2 == 2,
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
    for (a, b) in legs(points) {
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
    let metres = super::METRES_PER_DEGREE;
    let local = |p: &TrackPoint| ((p.lon - lon) * scale * metres, (p.lat - lat) * metres);
    let mut best = f64::MAX;
    for point in points {
        let (x, y) = local(point);
        best = best.min((x * x + y * y).sqrt());
    }
    for (a, b) in legs(points) {
        let ((ax, ay), (bx, by)) = (local(a), local(b));
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
    for (index, point) in points.iter().enumerate() {
        if point.new_segment && index > 0 {
            out.push_str("    </trkseg>\n    <trkseg>\n");
        }
        out.push_str(&format!("      <trkpt lat=\"{:.7}\" lon=\"{:.7}\">", point.lat, point.lon));
        if let Some(at) = point.at {
            out.push_str(&format!("<time>{}</time>", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        }
        out.push_str("</trkpt>\n");
    }
    out.push_str("    </trkseg>\n  </trk>\n</gpx>\n");
    out
}

/// The track as a GeoJSON Feature: a LineString, a MultiLineString when it has breaks, or a MultiPoint
/// when it is too short to be a line; the fix times as a property.
pub fn to_geojson(name: &str, points: &[TrackPoint]) -> serde_json::Value {
    let position = |p: &TrackPoint| serde_json::json!([p.lon, p.lat]);
    let mut segments: Vec<Vec<serde_json::Value>> = Vec::new();
    for point in points {
        match segments.last_mut() {
            Some(segment) if !point.new_segment => segment.push(position(point)),
            _ => segments.push(vec![position(point)]),
        }
    }
    let geometry = if segments.iter().any(|segment| segment.len() < 2) {
        serde_json::json!({"type": "MultiPoint", "coordinates": points.iter().map(position).collect::<Vec<_>>()})
    } else if segments.len() == 1 {
        serde_json::json!({"type": "LineString", "coordinates": segments.remove(0)})
    } else {
        serde_json::json!({"type": "MultiLineString", "coordinates": segments})
    };
    let times: Vec<Option<String>> = points.iter().map(|p| p.at.map(|at| at.to_rfc3339())).collect();
    serde_json::json!({"type": "Feature", "properties": {"name": name, "times": times}, "geometry": geometry})
}

/// Why a GPX file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GpxError(pub String);

/// A GPX time: RFC 3339, or without a zone (read as UTC, as GPX's xsd:dateTime allows).
fn gpx_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|at| at.and_utc()))
}

/// Reads the track points (or, for a route-only file, the route points) of a GPX file, keeping the
/// breaks between tracks, segments and routes. A fix's accuracy is taken as 5 m × HDOP when the file
/// gives one. Only a point's own `<time>` and `<hdop>` count, not those inside its extensions.
pub fn from_gpx(text: &str) -> Result<Vec<TrackPoint>, GpxError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    /// Points read so far, and whether the next one of each kind starts a new segment.
    struct Collected {
        track: Vec<TrackPoint>,
        route: Vec<TrackPoint>,
        track_break: bool,
        route_break: bool,
    }
    impl Collected {
        fn push(&mut self, point: TrackPoint, is_track: bool) {
            let (list, pending) = if is_track {
                (&mut self.track, &mut self.track_break)
            } else {
                (&mut self.route, &mut self.route_break)
            };
            list.push(TrackPoint { new_segment: std::mem::take(pending), ..point });
        }
    }
    let mut read = Collected { track: Vec::new(), route: Vec::new(), track_break: true, route_break: true };
    // The point being read, whether it is a track point, and the depth of its element.
    let mut current: Option<(TrackPoint, bool, usize)> = None;
    let mut field: Option<Vec<u8>> = None;
    let (mut depth, mut saw_gpx) = (0usize, false);
    loop {
        let event = reader.read_event().map_err(|err| GpxError(format!("not well-formed XML: {err}")))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(tag) | Event::Empty(tag) if matches!(tag.local_name().as_ref(), b"trkpt" | b"rtept") => {
                let mut point =
                    TrackPoint { lat: f64::NAN, lon: f64::NAN, at: None, accuracy_m: None, new_segment: false };
                for attribute in tag.attributes().flatten() {
                    let value = String::from_utf8_lossy(&attribute.value).trim().parse::<f64>().unwrap_or(f64::NAN);
                    match attribute.key.local_name().as_ref() {
                        b"lat" => point.lat = value,
                        b"lon" => point.lon = value,
                        _ => {}
                    }
                }
                if !(point.lat.abs() <= 90.0 && point.lon.abs() <= 180.0) {
                    let number = read.track.len() + read.route.len() + 1;
                    return Err(GpxError(format!("a point has no valid lat/lon (point {number})")));
                }
                let is_track = tag.local_name().as_ref() == b"trkpt";
                if empty {
                    read.push(point, is_track);
                } else {
                    depth += 1;
                    current = Some((point, is_track, depth));
                }
            }
            Event::Start(tag) => {
                depth += 1;
                match tag.local_name().as_ref() {
                    b"gpx" => saw_gpx = true,
                    b"trk" | b"trkseg" => read.track_break = true,
                    b"rte" => read.route_break = true,
                    _ => {}
                }
                // Only the point's direct children.
                field =
                    current.as_ref().filter(|(_, _, at)| depth == at + 1).map(|_| tag.local_name().as_ref().to_vec());
            }
            Event::Text(_) | Event::CData(_) => {
                let content = match &event {
                    Event::Text(text) => String::from_utf8_lossy(text.as_ref()).trim().to_string(),
                    Event::CData(data) => String::from_utf8_lossy(data.as_ref()).trim().to_string(),
                    _ => String::new(),
                };
                if let (Some((point, _, _)), Some(name)) = (current.as_mut(), field.as_deref()) {
                    match name {
                        b"time" => point.at = gpx_time(&content),
                        b"hdop" => {
                            point.accuracy_m = content
                                .parse::<f64>()
                                .ok()
                                .filter(|hdop| hdop.is_finite() && *hdop >= 0.0)
                                .map(|hdop| hdop * 5.0);
                        }
                        _ => {}
                    }
                }
            }
            Event::End(tag) => {
                field = None;
                if matches!(tag.local_name().as_ref(), b"trkpt" | b"rtept")
                    && let Some((point, is_track, _)) = current.take()
                {
                    read.push(point, is_track);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_gpx {
        return Err(GpxError("not a GPX file (no <gpx> element)".into()));
    }
    let points = if read.track.is_empty() { read.route } else { read.track };
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
                new_segment: false,
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
        // Two segments: the gap is not walked; only a point's own time counts; zone-less times are UTC.
        let two = r#"<gpx><trk><trkseg><trkpt lat="36.0" lon="120.0"><time>2026-11-02T09:00:00</time>
            <extensions><time>1999-01-01T00:00:00Z</time></extensions></trkpt>
            <trkpt lat="36.001" lon="120.0"><time><![CDATA[2026-11-02T09:01:00Z]]></time></trkpt></trkseg>
            <trkseg><trkpt lat="37.0" lon="120.0"/><trkpt lat="37.001" lon="120.0"/></trkseg></trk></gpx>"#;
        let read = from_gpx(two).unwrap();
        assert_eq!(read.iter().map(|p| p.new_segment).collect::<Vec<_>>(), [true, false, true, false]);
        assert_eq!(read[0].at.unwrap().to_rfc3339(), "2026-11-02T09:00:00+00:00");
        assert_eq!(read[1].at.unwrap().to_rfc3339(), "2026-11-02T09:01:00+00:00");
        assert!((length_m(&read) - 222.4).abs() < 1.0, "{}", length_m(&read));
        let back = decode(&encode(&read)).unwrap();
        assert_eq!(back.iter().map(|p| p.new_segment).collect::<Vec<_>>(), [true, false, true, false]);
        assert_eq!(to_geojson("two", &read)["geometry"]["type"], "MultiLineString");
        assert_eq!(from_gpx(&to_gpx("two", &read)).unwrap().iter().filter(|p| p.new_segment).count(), 2);
        assert!(from_gpx("<gpx><trk><trkseg><trkpt lat=\"x\" lon=\"1\"/></trkseg></trk></gpx>").is_err());
    }
}
