//! WGS-84 ⇄ GCJ-02. Chinese basemaps (AMap, Tencent, Baidu's base layer before its own offset) are drawn
//! in GCJ-02, an obfuscated datum a few hundred metres off WGS-84; a phone's GPS position must be shifted
//! before it is drawn on them. The forward shift is the published closed form; its inverse has none, so
//! it is found by fixed-point iteration, to well under a millimetre. Outside China the shift is not
//! applied, as is conventional. Stored coordinates stay WGS-84.

use std::f64::consts::PI;

/// Semi-major axis and eccentricity² of the Krasovsky 1940 ellipsoid, which GCJ-02 is defined on.
const AXIS: f64 = 6_378_245.0;
const ECCENTRICITY2: f64 = 0.006_693_421_622_965_943;

/// The rough box the shift is conventionally applied in. It is a box, not China's outline: it also
/// covers parts of neighbouring countries (Singapore, northern Vietnam, Mongolia). Rectify draws only
/// Chinese villages, where that does not matter.
pub fn in_china(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut value = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    value += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    value += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    value += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    value
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut value = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    value += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    value += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    value += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    value
}

/// WGS-84 (lat, lon) to GCJ-02 (lat, lon).
pub fn from_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (x, y) = (lon - 105.0, lat - 35.0);
    let radians = lat.to_radians();
    let magic = 1.0 - ECCENTRICITY2 * radians.sin().powi(2);
    let root = magic.sqrt();
    let dlat = shift_lat(x, y) * 180.0 / ((AXIS * (1.0 - ECCENTRICITY2)) / (magic * root) * PI);
    let dlon = shift_lon(x, y) * 180.0 / (AXIS / root * radians.cos() * PI);
    (lat + dlat, lon + dlon)
}

/// GCJ-02 (lat, lon) back to WGS-84 (lat, lon), by iteration until the forward shift of the answer
/// lands within 1e-10 degrees (about 0.01 mm) of the input.
pub fn to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wgs_lat, mut wgs_lon) = (lat, lon);
    for _ in 0..40 {
        let (there_lat, there_lon) = from_wgs84(wgs_lat, wgs_lon);
        let (miss_lat, miss_lon) = (there_lat - lat, there_lon - lon);
        wgs_lat -= miss_lat;
        wgs_lon -= miss_lon;
        if miss_lat.abs() < 1e-10 && miss_lon.abs() < 1e-10 {
            break;
        }
    }
    (wgs_lat, wgs_lon)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evidence::distance_m;

    #[test]
    fn the_round_trip_is_within_half_a_metre_across_china() {
        let mut worst: f64 = 0.0;
        let mut lat = 18.0;
        while lat <= 53.5 {
            let mut lon = 73.5;
            while lon <= 135.0 {
                let (glat, glon) = from_wgs84(lat, lon);
                let shift = distance_m(lat, lon, glat, glon);
                assert!(shift > 1.0 && shift < 1500.0, "({lat}, {lon}) shifted {shift} m");
                let (back_lat, back_lon) = to_wgs84(glat, glon);
                worst = worst.max(distance_m(lat, lon, back_lat, back_lon));
                lon += 0.73;
            }
            lat += 0.61;
        }
        assert!(worst < 0.5, "worst round trip {worst} m");
        assert!(worst < 0.001, "iteration should converge far below the requirement: {worst} m");
    }

    #[test]
    fn outside_china_nothing_moves() {
        for (lat, lon) in [(60.1467, 24.9068), (-33.86, 151.21), (40.0, -74.0), (-6.2, 106.8)] {
            assert_eq!(from_wgs84(lat, lon), (lat, lon));
            assert_eq!(to_wgs84(lat, lon), (lat, lon));
        }
    }
}
