//! Photo-like JPEGs made from a seed, for tests, the demo and the benchmark: smooth colour fields, texture
//! at several scales and sensor grain, so they compress (and cost to decode) like camera files rather
//! than like flat test cards. The same seed gives the same bytes.

use super::codec::{Picture, Plane, encode};
use super::exif::{self, Capture};
use super::jpeg;

/// A cheap integer hash of a lattice point.
fn lattice(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ seed.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h
}

/// Value noise in 0..=255, smooth over cells of `cell` pixels.
fn smooth(x: u32, y: u32, cell: u32, seed: u32) -> u32 {
    let (cx, cy) = (x / cell, y / cell);
    let (fx, fy) = (x % cell, y % cell);
    let corner = |dx, dy| lattice(cx + dx, cy + dy, seed) & 0xFF;
    let top = corner(0, 0) * (cell - fx) + corner(1, 0) * fx;
    let bottom = corner(0, 1) * (cell - fx) + corner(1, 1) * fx;
    (top * (cell - fy) + bottom * fy) / (cell * cell)
}

fn plane(width: usize, height: usize, seed: u32, scale: u32, grain: u32) -> Plane {
    let mut data = Vec::with_capacity(width * height);
    for y in 0..height as u32 {
        for x in 0..width as u32 {
            let broad = smooth(x, y, 64 * scale, seed);
            let middle = smooth(x, y, 9 * scale, seed ^ 0x5A5A);
            let fine = smooth(x, y, 2 * scale.max(1), seed ^ 0xA5A5);
            let noise = lattice(x, y, seed ^ 0x1234) % (2 * grain + 1);
            let value = (broad * 5 + middle * 2 + fine) / 8 + noise;
            data.push(value.saturating_sub(grain).min(255) as u8);
        }
    }
    Plane { width, height, stride: width, data }
}

/// A photo-like picture of `width`×`height` (4:2:0 planes).
pub fn picture(width: usize, height: usize, seed: u32) -> Picture {
    let scale = (width.max(height) / 1000).max(1) as u32;
    let (half_width, half_height) = (width.div_ceil(2), height.div_ceil(2));
    Picture {
        luma: plane(width, height, seed, scale, 6),
        chroma: Some([
            plane(half_width, half_height, seed ^ 0x77, scale.div_ceil(2), 2),
            plane(half_width, half_height, seed ^ 0x99, scale.div_ceil(2), 2),
        ]),
    }
}

/// A photo-like JPEG, with `capture` written as its Exif when given (orientation included).
pub fn jpeg(width: usize, height: usize, seed: u32, quality: u8, capture: Option<&Capture>) -> Vec<u8> {
    let Ok(encoded) = encode(&picture(width, height, seed), quality) else {
        return Vec::new();
    };
    let Some(capture) = capture else {
        return encoded;
    };
    let size = |side: usize| u32::try_from(side).unwrap_or(u32::MAX);
    let tiff =
        exif::write(capture, size(width), size(height)).and_then(|tiff| with_orientation(tiff, capture.orientation));
    tiff.and_then(|tiff| jpeg::with_exif(&encoded, &tiff)).unwrap_or(encoded)
}

/// [`exif::write`] always says "upright"; a test file may need to say otherwise.
fn with_orientation(tiff: Vec<u8>, orientation: u8) -> Option<Vec<u8>> {
    if orientation <= 1 {
        return Some(tiff);
    }
    // Big-endian TIFF with IFD0 at offset 8: a 2-byte count, then 12-byte entries. Orientation (0x0112)
    // is a SHORT whose value sits in the first two bytes of the entry's value field.
    let mut tiff = tiff;
    let count = usize::from(u16::from_be_bytes([*tiff.get(8)?, *tiff.get(9)?]));
    let entry = (0..count).map(|index| 10 + 12 * index).find(|at| tiff.get(*at..*at + 2) == Some(&[0x01, 0x12][..]))?;
    *tiff.get_mut(entry + 8)? = 0;
    *tiff.get_mut(entry + 9)? = orientation;
    Some(tiff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_orientation_is_recorded() {
        let capture = Capture { orientation: 6, ..Capture::default() };
        let first = jpeg(64, 48, 7, 90, Some(&capture));
        assert_eq!(first, jpeg(64, 48, 7, 90, Some(&capture)));
        assert_ne!(first, jpeg(64, 48, 8, 90, Some(&capture)));
        let back = exif::read(jpeg::exif(&first));
        assert_eq!(back.orientation, 6);
    }
}
