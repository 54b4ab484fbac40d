//! Limits on what a person can type or a device can send, checked before anything is written. Each
//! failure names the field, what was wrong and what is allowed.

use serde::{Deserialize, Serialize};

/// Longest note on an issue, strike-off or comment, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Longest rejection, reopening or withdrawal reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Longest user or place name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Most photos one event may carry.
pub const MAX_PHOTOS_PER_EVENT: usize = 12;

/// Why some input was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("{field} is empty: write something, or leave the option out")]
    Empty { field: &'static str },
    #[error("{field} is {len} characters long; the limit is {max}")]
    TooLong { field: &'static str, len: usize, max: usize },
    #[error("unknown category `{code}`: {hint}")]
    UnknownCategory { code: String, hint: String },
    #[error("{field} {value} is not a valid coordinate: it must be a number between {min} and {max}")]
    CoordinateOutOfRange { field: &'static str, value: f64, min: f64, max: f64 },
    #[error("GPS accuracy {0} m is not valid: it must be a positive number of metres")]
    BadAccuracy(f64),
    #[error("{count} photos on one event; the limit is {max}")]
    TooManyPhotos { count: usize, max: usize },
    #[error("village code `{0}` is not valid: statistical division codes are 12 digits")]
    BadVillageCode(String),
    #[error("the category table is invalid: {0}")]
    BadCatalogue(String),
    #[error("the rules file is invalid: {0}")]
    BadRules(String),
    #[error("{0}")]
    Other(String),
}

/// Checks free text: trimmed, not empty, not over `max` characters. Returns the trimmed text.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(ValidationError::TooLong { field, len, max });
    }
    Ok(trimmed.to_string())
}

/// Checks optional free text: absent is fine, present must pass [`text`].
pub fn optional_text(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>, ValidationError> {
    value.map(|value| text(field, value, max)).transpose()
}

/// A 12-digit statistical division code (统计用区划代码).
pub fn village_code(code: &str) -> Result<String, ValidationError> {
    let code = code.trim();
    if code.len() == 12 && code.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(code.to_string())
    } else {
        Err(ValidationError::BadVillageCode(code.to_string()))
    }
}

/// A WGS-84 position as a phone reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres, when the device gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

impl Location {
    /// Builds a location, refusing NaN, infinities and out-of-range values.
    pub fn new(lat: f64, lon: f64, accuracy_m: Option<f64>) -> Result<Self, ValidationError> {
        let check = |field, value: f64, limit: f64| {
            if value.is_finite() && (-limit..=limit).contains(&value) {
                Ok(value)
            } else {
                Err(ValidationError::CoordinateOutOfRange { field, value, min: -limit, max: limit })
            }
        };
        let lat = check("latitude", lat, 90.0)?;
        let lon = check("longitude", lon, 180.0)?;
        if let Some(accuracy) = accuracy_m
            && !(accuracy.is_finite() && accuracy > 0.0)
        {
            return Err(ValidationError::BadAccuracy(accuracy));
        }
        Ok(Self { lat, lon, accuracy_m })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("note", "  bins full ", 10).unwrap(), "bins full");
        assert_eq!(text("note", "   ", 10), Err(ValidationError::Empty { field: "note" }));
        let long = "垃".repeat(11);
        assert_eq!(text("note", &long, 10), Err(ValidationError::TooLong { field: "note", len: 11, max: 10 }));
        assert_eq!(optional_text("note", None, 10), Ok(None));
    }

    #[test]
    fn coordinates_must_be_finite_and_in_range() {
        assert!(Location::new(36.4, 120.5, Some(5.0)).is_ok());
        for (lat, lon) in [(f64::NAN, 120.0), (36.0, f64::INFINITY), (91.0, 0.0), (0.0, -180.5)] {
            assert!(Location::new(lat, lon, None).is_err(), "{lat} {lon}");
        }
        assert!(Location::new(36.0, 120.0, Some(-1.0)).is_err());
    }

    #[test]
    fn village_codes_are_twelve_digits() {
        assert_eq!(village_code(" 370215400201 ").unwrap(), "370215400201");
        assert!(village_code("37021540020").is_err());
        assert!(village_code("37021540020x").is_err());
    }
}
