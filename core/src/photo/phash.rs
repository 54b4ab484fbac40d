//! A perceptual hash: 64 bits that stay nearly the same when a picture is re-encoded, resized or
//! slightly recoloured, so the same photo handed in for two issues is found even when its bytes differ.
//!
//! The luma is averaged down to 32×32, transformed with a 2-D DCT, and the 8×8 lowest frequencies are
//! compared with their median: one bit each. Two photos are "the same picture" when their hashes differ
//! in at most [`SAME_PICTURE_DISTANCE`] bits.

use super::codec::Plane;

/// The default Hamming distance at or under which two hashes count as the same picture.
pub const SAME_PICTURE_DISTANCE: u32 = 10;

const SIDE: usize = 32;
const KEEP: usize = 8;

/// The hash of a luma plane.
pub fn hash(luma: &Plane) -> u64 {
    let small = average_down(luma);
    let cosines: Vec<f64> = (0..KEEP * SIDE)
        .map(|index| {
            let (frequency, position) = (index / SIDE, index % SIDE);
            (std::f64::consts::PI / SIDE as f64 * (position as f64 + 0.5) * frequency as f64).cos()
        })
        .collect();
    let cosine = |frequency: usize, position: usize| cosines[frequency * SIDE + position];
    // Rows first (only the low frequencies are needed), then columns.
    let mut rows = [[0.0; KEEP]; SIDE];
    for (y, row) in rows.iter_mut().enumerate() {
        for (u, value) in row.iter_mut().enumerate() {
            *value = (0..SIDE).map(|x| small[y * SIDE + x] * cosine(u, x)).sum();
        }
    }
    let mut coefficients = [0.0; KEEP * KEEP];
    for v in 0..KEEP {
        for u in 0..KEEP {
            coefficients[v * KEEP + u] = (0..SIDE).map(|y| rows[y][u] * cosine(v, y)).sum();
        }
    }
    // The DC term says only how bright the picture is; leave it out of the median.
    let mut sorted = coefficients[1..].to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    coefficients
        .iter()
        .enumerate()
        .fold(0, |bits, (index, value)| if *value > median { bits | 1 << index } else { bits })
}

/// How many bits two hashes differ in.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

fn average_down(plane: &Plane) -> Vec<f64> {
    let (width, height) = (plane.width.max(1), plane.height.max(1));
    let mut out = vec![0.0; SIDE * SIDE];
    for cy in 0..SIDE {
        let (y0, y1) = (cy * height / SIDE, ((cy + 1) * height).div_ceil(SIDE).max(cy * height / SIDE + 1));
        for cx in 0..SIDE {
            let (x0, x1) = (cx * width / SIDE, ((cx + 1) * width).div_ceil(SIDE).max(cx * width / SIDE + 1));
            let mut sum = 0.0;
            for y in y0..y1.min(plane.height) {
                for x in x0..x1.min(plane.width) {
                    sum += f64::from(plane.at(x, y));
                }
            }
            out[cy * SIDE + cx] = sum / ((y1 - y0) * (x1 - x0)) as f64;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(width: usize, height: usize, seed: u64) -> Plane {
        let data = (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f64 / width as f64, (i / width) as f64 / height as f64);
                let wave = (x * 7.0 + seed as f64).sin() * (y * 5.0 + 2.0 * seed as f64).cos();
                (128.0 + 100.0 * wave) as u8
            })
            .collect();
        Plane { width, height, stride: width, data }
    }

    #[test]
    fn the_same_scene_at_another_size_hashes_close_and_another_scene_far() {
        let original = hash(&scene(320, 240, 1));
        let smaller = hash(&scene(160, 120, 1));
        let other = hash(&scene(320, 240, 4));
        assert!(distance(original, smaller) <= SAME_PICTURE_DISTANCE, "{}", distance(original, smaller));
        assert!(distance(original, other) > SAME_PICTURE_DISTANCE, "{}", distance(original, other));
    }

    #[test]
    fn a_flat_plane_does_not_panic() {
        let flat = Plane { width: 3, height: 1, stride: 3, data: vec![7; 3] };
        let _ = hash(&flat);
    }
}
