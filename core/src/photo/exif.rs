//! Capture metadata: what the camera wrote about where, when and how a photo was taken, read from the
//! original's Exif block, and written back into the evidence file so an exported photo still carries it.
//!
//! Camera Exif is often damaged (offsets past the end, zero denominators, wrong types). A damaged block
//! never fails an ingest: what can be read is kept, the rest is reported as a problem the evidence
//! checks turn into flags.

use std::io::Cursor;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use exif::{Field, In, Rational, Tag, Value};
use serde::Serialize;

/// A position from the photo's GPS tags, with the reference signs applied (south and west negative).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
    /// Metres above sea level; negative below it.
    pub alt: Option<f64>,
    /// The receiver's horizontal error estimate (`GPSHPositioningError`), in metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_m: Option<f64>,
}

/// When the shutter fired, as the camera's clock said: local wall time, with the UTC offset when the file
/// records one (`OffsetTimeOriginal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenAt {
    pub local: NaiveDateTime,
    pub offset: Option<FixedOffset>,
}

impl TakenAt {
    /// RFC 3339 text; without an offset when the file gives none (then it is local time of unknown zone).
    pub fn to_rfc3339(&self) -> String {
        let local = self.local.format("%Y-%m-%dT%H:%M:%S");
        match self.offset {
            Some(offset) => format!("{local}{offset}"),
            None => local.to_string(),
        }
    }

    /// The instant, reading an offset-less time in `assumed` (the device's own zone).
    pub fn instant(&self, assumed: FixedOffset) -> DateTime<Utc> {
        let offset = self.offset.unwrap_or(assumed);
        offset.from_local_datetime(&self.local).single().map_or_else(|| self.local.and_utc(), |at| at.to_utc())
    }

    /// Parses the text written by [`TakenAt::to_rfc3339`].
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Some(Self { local: at.naive_local(), offset: Some(*at.offset()) });
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok().map(|local| Self { local, offset: None })
    }
}

/// Everything the ingest keeps from a photo's Exif.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    /// The Exif orientation, 1 to 8; 1 (as stored) when the file has none or an invalid one.
    pub orientation: u8,
    pub gps: Option<Gps>,
    pub taken_at: Option<TakenAt>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// GPS tags are present but cannot be turned into a position (zero denominators, missing parts).
    pub gps_problem: Option<String>,
    /// The Exif block is damaged; what could be read is above.
    pub exif_problem: Option<String>,
}

/// Reads the capture metadata from the TIFF structure of an Exif block.
pub fn read(tiff: Option<&[u8]>) -> Capture {
    let mut capture = Capture { orientation: 1, ..Capture::default() };
    let Some(tiff) = tiff else {
        return capture;
    };
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let exif = match reader.read_raw(tiff.to_vec()) {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            capture.exif_problem = errors.first().map(|err| format!("damaged Exif: {err}"));
            exif
        }
        Err(err) => {
            capture.exif_problem = Some(format!("unreadable Exif: {err}"));
            return capture;
        }
    };
    let field = |tag: Tag, ifd: In| exif.get_field(tag, ifd).map(|field| &field.value);
    capture.orientation = field(Tag::Orientation, In::PRIMARY)
        .and_then(|value| value.get_uint(0))
        .and_then(|value| u8::try_from(value).ok())
        .filter(|value| (1..=8).contains(value))
        .unwrap_or(1);
    capture.make = field(Tag::Make, In::PRIMARY).and_then(ascii);
    capture.model = field(Tag::Model, In::PRIMARY).and_then(ascii);
    capture.taken_at = field(Tag::DateTimeOriginal, In::PRIMARY).and_then(ascii).and_then(|text| {
        let local = NaiveDateTime::parse_from_str(text.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
        let offset = field(Tag::OffsetTimeOriginal, In::PRIMARY).and_then(ascii).and_then(|text| parse_offset(&text));
        Some(TakenAt { local, offset })
    });
    match read_gps(&|tag| field(tag, In::PRIMARY)) {
        Ok(gps) => capture.gps = gps,
        Err(problem) => capture.gps_problem = Some(problem),
    }
    capture
}

fn ascii(value: &Value) -> Option<String> {
    let Value::Ascii(parts) = value else {
        return None;
    };
    let text = String::from_utf8_lossy(parts.first()?);
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!text.is_empty()).then(|| text.to_string())
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit()).then(|| text.parse::<u8>().ok()).flatten();
    let (hours, minutes) = (digits(hours)?, digits(minutes)?);
    if hours > 18 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (i32::from(hours) * 3600 + i32::from(minutes) * 60))
}

fn rational(value: &Value, index: usize) -> Result<Option<f64>, String> {
    let part = match value {
        Value::Rational(parts) => parts.get(index).map(|r| (f64::from(r.num), f64::from(r.denom))),
        Value::SRational(parts) => parts.get(index).map(|r| (f64::from(r.num), f64::from(r.denom))),
        _ => return Err("has the wrong type".to_string()),
    };
    match part {
        None => Ok(None),
        Some((_, 0.0)) => Err("has a zero denominator".to_string()),
        Some((num, denom)) => Ok(Some(num / denom)),
    }
}

fn degrees(value: &Value) -> Result<f64, String> {
    let whole = rational(value, 0)?.ok_or("is empty")?;
    let minutes = rational(value, 1)?.unwrap_or(0.0);
    let seconds = rational(value, 2)?.unwrap_or(0.0);
    Ok(whole + minutes / 60.0 + seconds / 3600.0)
}

fn read_gps<'a>(field: &dyn Fn(Tag) -> Option<&'a Value>) -> Result<Option<Gps>, String> {
    let (Some(lat), Some(lon)) = (field(Tag::GPSLatitude), field(Tag::GPSLongitude)) else {
        return Ok(None);
    };
    let sign = |tag: Tag, negative: u8| {
        field(tag)
            .and_then(ascii)
            .map_or(1.0, |text| if text.as_bytes().first() == Some(&negative) { -1.0 } else { 1.0 })
    };
    let lat = sign(Tag::GPSLatitudeRef, b'S') * degrees(lat).map_err(|why| format!("GPS latitude {why}"))?;
    let lon = sign(Tag::GPSLongitudeRef, b'W') * degrees(lon).map_err(|why| format!("GPS longitude {why}"))?;
    // Altitude and error are extras: a broken one is dropped, not fatal for the position.
    let alt = field(Tag::GPSAltitude).and_then(|value| rational(value, 0).ok().flatten()).map(|alt| {
        let below = field(Tag::GPSAltitudeRef).and_then(|value| value.get_uint(0)) == Some(1);
        if below { -alt } else { alt }
    });
    let error_m = field(Tag::GPSHPositioningError).and_then(|value| rational(value, 0).ok().flatten());
    Ok(Some(Gps { lat, lon, alt, error_m }))
}

fn to_rational(value: f64, scale: u32) -> Rational {
    let num = (value.abs() * f64::from(scale)).round().min(f64::from(u32::MAX));
    // `num` is non-negative, finite and at most u32::MAX.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Rational { num: num as u32, denom: scale }
}

fn dms(value: f64) -> Value {
    let value = value.abs();
    let whole = value.trunc();
    let minutes = ((value - whole) * 60.0).trunc();
    let seconds = (value - whole - minutes / 60.0) * 3600.0;
    Value::Rational(vec![to_rational(whole, 1), to_rational(minutes, 1), to_rational(seconds.max(0.0), 10_000)])
}

fn text(value: &str) -> Value {
    Value::Ascii(vec![value.as_bytes().to_vec()])
}

/// A TIFF structure carrying the capture metadata of a `width`×`height` evidence image, whose pixels are
/// already turned upright (so its orientation is 1). The tags Exif 2.3 requires are included, so the
/// file validates.
pub fn write(capture: &Capture, width: u32, height: u32) -> Option<Vec<u8>> {
    let mut fields = vec![Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![1]) }];
    let mut push = |tag, value| fields.push(Field { tag, ifd_num: In::PRIMARY, value });
    push(Tag::XResolution, Value::Rational(vec![Rational { num: 72, denom: 1 }]));
    push(Tag::YResolution, Value::Rational(vec![Rational { num: 72, denom: 1 }]));
    push(Tag::ResolutionUnit, Value::Short(vec![2]));
    push(Tag::YCbCrPositioning, Value::Short(vec![1]));
    push(Tag::ExifVersion, Value::Undefined(b"0232".to_vec(), 0));
    push(Tag::ComponentsConfiguration, Value::Undefined(vec![1, 2, 3, 0], 0));
    push(Tag::FlashpixVersion, Value::Undefined(b"0100".to_vec(), 0));
    push(Tag::ColorSpace, Value::Short(vec![1]));
    push(Tag::PixelXDimension, Value::Long(vec![width]));
    push(Tag::PixelYDimension, Value::Long(vec![height]));
    if let Some(make) = &capture.make {
        push(Tag::Make, text(make));
    }
    if let Some(model) = &capture.model {
        push(Tag::Model, text(model));
    }
    if let Some(taken) = &capture.taken_at {
        push(Tag::DateTimeOriginal, text(&taken.local.format("%Y:%m:%d %H:%M:%S").to_string()));
        if let Some(offset) = taken.offset {
            push(Tag::OffsetTimeOriginal, text(&offset.to_string()));
        }
    }
    if let Some(gps) = capture.gps.filter(|gps| gps.lat.is_finite() && gps.lon.is_finite()) {
        push(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0]));
        push(Tag::GPSLatitudeRef, text(if gps.lat < 0.0 { "S" } else { "N" }));
        push(Tag::GPSLatitude, dms(gps.lat));
        push(Tag::GPSLongitudeRef, text(if gps.lon < 0.0 { "W" } else { "E" }));
        push(Tag::GPSLongitude, dms(gps.lon));
        if let Some(alt) = gps.alt.filter(|alt| alt.is_finite()) {
            push(Tag::GPSAltitudeRef, Value::Byte(vec![u8::from(alt < 0.0)]));
            push(Tag::GPSAltitude, Value::Rational(vec![to_rational(alt, 100)]));
        }
        if let Some(error) = gps.error_m.filter(|error| error.is_finite()) {
            push(Tag::GPSHPositioningError, Value::Rational(vec![to_rational(error, 100)]));
        }
    }
    let mut writer = exif::experimental::Writer::new();
    fields.iter().for_each(|field| writer.push_field(field));
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).ok()?;
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_metadata_reads_back_the_same() {
        let capture = Capture {
            orientation: 1,
            gps: Some(Gps { lat: -33.856_784, lon: 151.215_297, alt: Some(-12.5), error_m: Some(4.2) }),
            taken_at: TakenAt::parse("2026-11-28T09:15:02+08:00"),
            make: Some("HMD Global".into()),
            model: Some("Nokia 8.3 5G".into()),
            gps_problem: None,
            exif_problem: None,
        };
        let tiff = write(&capture, 640, 480).unwrap();
        let back = read(Some(&tiff));
        let (gps, again) = (capture.gps.unwrap(), back.gps.unwrap());
        assert!((gps.lat - again.lat).abs() < 1e-6 && (gps.lon - again.lon).abs() < 1e-6, "{again:?}");
        assert_eq!(again.alt, Some(-12.5));
        assert_eq!(again.error_m, Some(4.2));
        assert_eq!((back.taken_at, back.make, back.model), (capture.taken_at, capture.make, capture.model));
        assert_eq!(back.taken_at.unwrap().to_rfc3339(), "2026-11-28T09:15:02+08:00");
    }

    #[test]
    fn time_without_offset_stays_local_and_is_read_in_the_assumed_zone() {
        let taken = TakenAt::parse("2022-08-14T14:12:31").unwrap();
        assert_eq!(taken.offset, None);
        assert_eq!(taken.to_rfc3339(), "2022-08-14T14:12:31");
        let china = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(taken.instant(china).to_rfc3339(), "2022-08-14T06:12:31+00:00");
        assert_eq!(parse_offset("-03:30"), FixedOffset::east_opt(-(3 * 3600 + 1800)));
        assert_eq!(parse_offset("Z"), None);
        assert_eq!(parse_offset("+600000:00"), None);
        assert_eq!(parse_offset("+-5:-30"), None);
        assert_eq!(parse_offset("+99:00"), None);
    }

    #[test]
    fn zero_denominators_are_a_problem_not_a_position() {
        let value = Value::Rational(vec![Rational { num: 60, denom: 0 }]);
        let field = |tag: Tag| match tag {
            Tag::GPSLatitude | Tag::GPSLongitude => Some(&value),
            _ => None,
        };
        let problem = read_gps(&field).unwrap_err();
        assert!(problem.contains("zero denominator"), "{problem}");
    }

    #[test]
    fn garbage_is_not_exif() {
        let capture = read(Some(b"not a tiff at all"));
        assert!(capture.exif_problem.is_some());
        assert_eq!((capture.orientation, capture.gps), (1, None));
    }
}
