//! Evidence checks: what about a photo should make the office look twice. Checks never block a report or
//! a strike-off (a village secretary with a broken GPS must still be able to work); they raise flags the
//! office sees beside the photo and its issue.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::photo::PhotoHash;
use crate::domain::validate::Location;
use crate::ids::IssueId;

/// Thresholds for the checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidencePolicy {
    /// An after-photo farther than this from the issue is flagged.
    pub max_after_distance_m: f64,
    /// A GPS fix whose stated horizontal error is worse than this is implausible.
    pub max_gps_error_m: f64,
    /// Perceptual hashes this many bits apart or closer are the same picture.
    pub same_picture_distance: u32,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self { max_after_distance_m: 30.0, max_gps_error_m: 50.0, same_picture_distance: 10 }
    }
}

/// One reason to doubt a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum EvidenceFlag {
    /// The photo carries no GPS position.
    NoGps,
    /// The photo's GPS position cannot be right, or is too vague to trust.
    ImplausibleGps { reason: String },
    /// The photo says nothing about when it was taken, so its time cannot be checked.
    NoCaptureTime,
    /// An after-photo taken too far from the issue.
    FarFromIssue { distance_m: f64, limit_m: f64 },
    /// An after-photo taken before the issue was even reported.
    TakenBeforeReport { taken_at: DateTime<Utc>, reported_at: DateTime<Utc> },
    /// The same picture was already handed in, for another issue or none yet.
    Reused {
        photo: PhotoHash,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issue_id: Option<IssueId>,
        bits_apart: u32,
    },
}

impl EvidenceFlag {
    /// The flag's name, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NoGps => "no_gps",
            Self::ImplausibleGps { .. } => "implausible_gps",
            Self::NoCaptureTime => "no_capture_time",
            Self::FarFromIssue { .. } => "far_from_issue",
            Self::TakenBeforeReport { .. } => "taken_before_report",
            Self::Reused { .. } => "reused",
        }
    }

    /// One line for a person.
    pub fn describe(&self) -> String {
        match self {
            Self::NoGps => "no GPS position in the photo".into(),
            Self::ImplausibleGps { reason } => format!("implausible GPS: {reason}"),
            Self::NoCaptureTime => "no capture time in the photo".into(),
            Self::FarFromIssue { distance_m, limit_m } => {
                format!("taken {distance_m:.0} m from the issue (limit {limit_m:.0} m)")
            }
            Self::TakenBeforeReport { taken_at, reported_at } => {
                format!("taken {taken_at} before the issue was reported at {reported_at}")
            }
            Self::Reused { photo, issue_id: Some(issue), bits_apart } => {
                format!(
                    "same picture as photo {} on issue {} ({bits_apart} bits apart)",
                    &photo.as_str()[..12],
                    issue.short()
                )
            }
            Self::Reused { photo, issue_id: None, bits_apart } => {
                format!("same picture as photo {} ({bits_apart} bits apart)", &photo.as_str()[..12])
            }
        }
    }
}

impl EvidenceFlag {
    /// [`describe`](Self::describe) in Chinese, for the office's pages.
    pub fn describe_zh(&self) -> String {
        let day = |at: &DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
        match self {
            Self::NoGps => "照片无GPS定位".into(),
            Self::ImplausibleGps { reason } => format!("GPS定位不可信：{reason}"),
            Self::NoCaptureTime => "照片无拍摄时间".into(),
            Self::FarFromIssue { distance_m, limit_m } => {
                format!("拍摄点距问题点 {distance_m:.0} 米（限 {limit_m:.0} 米）")
            }
            Self::TakenBeforeReport { taken_at, reported_at } => {
                format!("拍摄于 {}，早于问题上报时间 {}", day(taken_at), day(reported_at))
            }
            Self::Reused { photo, issue_id: Some(issue), bits_apart } => {
                format!("与问题 {} 的照片 {} 为同一画面（相差 {bits_apart} 位）", issue.short(), &photo.as_str()[..12])
            }
            Self::Reused { photo, issue_id: None, bits_apart } => {
                format!("与照片 {} 为同一画面（相差 {bits_apart} 位）", &photo.as_str()[..12])
            }
        }
    }
}

/// A GPS position as read from a photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoFix {
    pub lat: f64,
    pub lon: f64,
    pub error_m: Option<f64>,
}

/// Flags that follow from the photo alone.
pub fn own_flags(fix: Option<PhotoFix>, gps_problem: Option<&str>, policy: &EvidencePolicy) -> Vec<EvidenceFlag> {
    let reason = match (fix, gps_problem) {
        (_, Some(problem)) => Some(problem.to_string()),
        (None, None) => return vec![EvidenceFlag::NoGps],
        (Some(fix), None) => implausible(fix, policy),
    };
    reason.map(|reason| EvidenceFlag::ImplausibleGps { reason }).into_iter().collect()
}

fn implausible(fix: PhotoFix, policy: &EvidencePolicy) -> Option<String> {
    if !(fix.lat.is_finite() && fix.lon.is_finite()) || fix.lat.abs() > 90.0 || fix.lon.abs() > 180.0 {
        return Some(format!("({}, {}) is not on Earth", fix.lat, fix.lon));
    }
    if fix.lat.abs() < 1e-6 && fix.lon.abs() < 1e-6 {
        return Some("(0, 0) is what a receiver without a fix writes".into());
    }
    match fix.error_m {
        Some(error) if error > policy.max_gps_error_m => {
            Some(format!("the receiver's error estimate is {error:.0} m (limit {:.0} m)", policy.max_gps_error_m))
        }
        _ => None,
    }
}

/// Flags for an after-photo (a strike-off's evidence), against the issue it claims to fix.
pub fn after_photo_flags(
    fix: Option<PhotoFix>,
    taken_at: Option<DateTime<Utc>>,
    issue_at: &Location,
    reported_at: DateTime<Utc>,
    policy: &EvidencePolicy,
) -> Vec<EvidenceFlag> {
    let mut flags = Vec::new();
    if let Some(fix) = fix.filter(|fix| implausible(*fix, policy).is_none()) {
        let distance_m = distance_m(fix.lat, fix.lon, issue_at.lat, issue_at.lon);
        if distance_m > policy.max_after_distance_m {
            flags.push(EvidenceFlag::FarFromIssue { distance_m, limit_m: policy.max_after_distance_m });
        }
    }
    match taken_at {
        Some(taken_at) if taken_at < reported_at => {
            flags.push(EvidenceFlag::TakenBeforeReport { taken_at, reported_at })
        }
        Some(_) => {}
        None => flags.push(EvidenceFlag::NoCaptureTime),
    }
    flags
}

/// Great-circle distance in metres (haversine on a sphere of the Earth's mean radius); within 0.5 % of
/// the ellipsoid, far below phone GPS error.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let (dphi, dlambda) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat: f64, lon: f64) -> Option<PhotoFix> {
        Some(PhotoFix { lat, lon, error_m: None })
    }

    #[test]
    fn own_flags_cover_missing_zero_and_vague_positions() {
        let policy = EvidencePolicy::default();
        assert_eq!(own_flags(None, None, &policy), vec![EvidenceFlag::NoGps]);
        assert_eq!(own_flags(fix(36.3, 120.4), None, &policy), vec![]);
        let names = |flags: Vec<EvidenceFlag>| flags.iter().map(EvidenceFlag::name).collect::<Vec<_>>();
        assert_eq!(names(own_flags(fix(0.0, 0.0), None, &policy)), ["implausible_gps"]);
        assert_eq!(names(own_flags(fix(91.0, 0.5), None, &policy)), ["implausible_gps"]);
        let vague = Some(PhotoFix { lat: 36.3, lon: 120.4, error_m: Some(400.0) });
        assert_eq!(names(own_flags(vague, None, &policy)), ["implausible_gps"]);
        assert_eq!(names(own_flags(None, Some("zero denominator"), &policy)), ["implausible_gps"]);
    }

    #[test]
    fn after_photos_are_checked_for_place_and_time() {
        let policy = EvidencePolicy::default();
        let issue = Location::new(36.0, 120.0, None).unwrap();
        let reported = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z").unwrap().to_utc();
        let later = reported + chrono::Duration::hours(5);
        // 0.0002 degrees of latitude is about 22 m: inside the default 30 m.
        assert!(after_photo_flags(fix(36.0002, 120.0), Some(later), &issue, reported, &policy).is_empty());
        let far = after_photo_flags(fix(36.001, 120.0), Some(later), &issue, reported, &policy);
        assert!(
            matches!(far.as_slice(), [EvidenceFlag::FarFromIssue { distance_m, .. }] if (*distance_m - 111.2).abs() < 0.5)
        );
        let early =
            after_photo_flags(fix(36.0, 120.0), Some(reported - chrono::Duration::days(1)), &issue, reported, &policy);
        assert_eq!(early.iter().map(EvidenceFlag::name).collect::<Vec<_>>(), ["taken_before_report"]);
        let timeless = after_photo_flags(None, None, &issue, reported, &policy);
        assert_eq!(timeless, vec![EvidenceFlag::NoCaptureTime]);
    }

    #[test]
    fn flags_read_back_from_json() {
        let flag = EvidenceFlag::FarFromIssue { distance_m: 41.5, limit_m: 30.0 };
        let text = serde_json::to_string(&flag).unwrap();
        assert_eq!(text, r#"{"flag":"far_from_issue","distance_m":41.5,"limit_m":30.0}"#);
        assert_eq!(serde_json::from_str::<EvidenceFlag>(&text).unwrap(), flag);
    }
}
