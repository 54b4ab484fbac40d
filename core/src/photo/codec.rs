//! Pixels: decode a JPEG at the smallest DCT scale that still covers the evidence size, resize, turn the
//! picture upright, and encode it again.
//!
//! The picture stays in planar YCbCr from decode to encode, which is how a JPEG stores it: libjpeg-turbo
//! decodes without the colour conversion and upsampling, each plane is resized on its own, and the
//! encoder takes the planes as they are. That is half the memory of RGB and skips two conversions.
//! Codec choice and measurements: docs/decisions/0002-photo-codecs.md.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use turbojpeg::{
    Colorspace, DecompressHeader, Decompressor, PixelFormat, ScalingFactor, Subsamp, YuvImage, YuvPlanesImage,
};

use super::{DecodeError, Limits};

/// One channel of pixels, rows `stride` bytes apart.
#[derive(Clone, PartialEq, Eq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Plane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plane({}x{}, stride {})", self.width, self.height, self.stride)
    }
}

impl Plane {
    fn packed(width: usize, height: usize, data: Vec<u8>) -> Self {
        Self { width, height, stride: width, data }
    }

    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.stride + x]
    }
}

/// A picture as planes: luma, and the two chroma planes unless it is greyscale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub luma: Plane,
    pub chroma: Option<[Plane; 2]>,
}

impl Picture {
    pub fn width(&self) -> usize {
        self.luma.width
    }

    pub fn height(&self) -> usize {
        self.luma.height
    }
}

fn corrupt(err: turbojpeg::Error) -> DecodeError {
    let detail = err.to_string();
    let detail = detail.trim_start_matches("TurboJPEG error: ").to_string();
    if detail.contains("Premature end") { DecodeError::Truncated } else { DecodeError::Corrupt { detail } }
}

/// libjpeg reports some damage as a warning and decodes on, leaving grey blocks; every warning refuses
/// the photo. (Stray bytes between the header's markers, the one harmless case, are removed before
/// decoding: see [`super::jpeg::without_stray_bytes`].)
fn finished(result: Result<(), turbojpeg::Error>) -> Result<(), DecodeError> {
    result.map_err(corrupt)
}

/// Reads the frame header and applies the pixel limits, so a decompression bomb is refused before any
/// pixel memory is taken.
pub fn header(bytes: &[u8], limits: &Limits) -> Result<(DecompressHeader, Decompressor), DecodeError> {
    let mut decoder = Decompressor::new().map_err(corrupt)?;
    let header = decoder.read_header(bytes).map_err(corrupt)?;
    if header.width == 0 || header.height == 0 {
        return Err(DecodeError::Corrupt { detail: "the frame is zero pixels wide or high".into() });
    }
    let pixels = header.width as u64 * header.height as u64;
    let max = if header.is_progressive { limits.max_progressive_pixels } else { limits.max_pixels };
    if pixels > max {
        return Err(DecodeError::TooManyPixels {
            width: header.width,
            height: header.height,
            max_pixels: max,
            progressive: header.is_progressive,
        });
    }
    if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        return Err(DecodeError::UnsupportedColour { colourspace: format!("{:?}", header.colorspace) });
    }
    // A progressive file can hold thousands of tiny scans, each a full pass over the image.
    decoder.set_scan_limit(500).map_err(corrupt)?;
    Ok((header, decoder))
}

/// The size a picture of `width`×`height` has when its long side is at most `long_side`; never enlarged.
pub fn fit(width: usize, height: usize, long_side: usize) -> (usize, usize) {
    let long = width.max(height);
    if long <= long_side {
        return (width, height);
    }
    let scale = |side: usize| ((side * long_side + long / 2) / long).max(1);
    (scale(width), scale(height))
}

/// Decodes at the largest DCT reduction (1/2, 1/4, 1/8) that still leaves the long side at least
/// `long_side`, the way libvips's shrink-on-load does.
pub fn decode(bytes: &[u8], limits: &Limits, long_side: usize) -> Result<Picture, DecodeError> {
    let (found, decoder) = header(bytes, limits)?;
    decode_with(bytes, found, decoder, long_side)
}

/// [`decode`] with the header already read and checked.
pub fn decode_with(
    bytes: &[u8],
    found: DecompressHeader,
    mut decoder: Decompressor,
    long_side: usize,
) -> Result<Picture, DecodeError> {
    let long = found.width.max(found.height);
    let denominator =
        if found.is_lossless { 1 } else { [8, 4, 2].into_iter().find(|d| long.div_ceil(*d) >= long_side).unwrap_or(1) };
    let factor = ScalingFactor::new(1, denominator);
    decoder.set_scaling_factor(factor).map_err(corrupt)?;
    let (width, height) = (factor.scale(found.width), factor.scale(found.height));
    match (found.colorspace, found.subsamp) {
        (Colorspace::Gray, _) | (_, Subsamp::Gray) => {
            let mut pixels = vec![0; width * height];
            let image =
                turbojpeg::Image { pixels: &mut pixels[..], width, pitch: width, height, format: PixelFormat::GRAY };
            finished(decoder.decompress(bytes, image))?;
            Ok(Picture { luma: Plane::packed(width, height, pixels), chroma: None })
        }
        (Colorspace::YCbCr, subsamp) if subsamp != Subsamp::Unknown => {
            let shape = YuvImage { pixels: (), width, align: 1, height, subsamp };
            let length = turbojpeg::yuv_pixels_len(width, 1, height, subsamp).map_err(corrupt)?;
            let mut pixels = vec![0; length];
            let image = YuvImage { pixels: &mut pixels[..], width, align: 1, height, subsamp };
            finished(decoder.decompress_to_yuv(bytes, image))?;
            let (luma_len, chroma_len) = (shape.y_width() * shape.y_height(), shape.uv_width() * shape.uv_height());
            let chroma_v = pixels.split_off(luma_len + chroma_len);
            let chroma_u = pixels.split_off(luma_len);
            let (chroma_width, chroma_height) = (width.div_ceil(subsamp.width()), height.div_ceil(subsamp.height()));
            let chroma = |data| Plane { width: chroma_width, height: chroma_height, stride: shape.uv_width(), data };
            Ok(Picture {
                luma: Plane { width, height, stride: shape.y_width(), data: pixels },
                chroma: Some([chroma(chroma_u), chroma(chroma_v)]),
            })
        }
        _ => {
            // RGB-coded or oddly sampled files: let the decoder convert, then split into planes.
            let mut pixels = vec![0; width * height * 3];
            let image =
                turbojpeg::Image { pixels: &mut pixels[..], width, pitch: width * 3, height, format: PixelFormat::RGB };
            finished(decoder.decompress(bytes, image))?;
            Ok(planes_from_rgb(width, height, &pixels))
        }
    }
}

/// JFIF's RGB to YCbCr, full resolution.
fn planes_from_rgb(width: usize, height: usize, rgb: &[u8]) -> Picture {
    let count = width * height;
    let (mut y, mut cb, mut cr) = (Vec::with_capacity(count), Vec::with_capacity(count), Vec::with_capacity(count));
    for pixel in rgb.chunks_exact(3) {
        let (r, g, b) = (f32::from(pixel[0]), f32::from(pixel[1]), f32::from(pixel[2]));
        let clamp = |value: f32| value.round().clamp(0.0, 255.0) as u8;
        y.push(clamp(0.299 * r + 0.587 * g + 0.114 * b));
        cb.push(clamp(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b));
        cr.push(clamp(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b));
    }
    Picture {
        luma: Plane::packed(width, height, y),
        chroma: Some([Plane::packed(width, height, cb), Plane::packed(width, height, cr)]),
    }
}

fn resize_plane(resizer: &mut Resizer, plane: &Plane, width: usize, height: usize) -> Result<Plane, DecodeError> {
    let failed = |detail: String| DecodeError::Corrupt { detail: format!("resize failed: {detail}") };
    let dimension = |value: usize| u32::try_from(value).map_err(|_| failed(format!("{value} px is too large")));
    let rows = plane.data.len() / plane.stride.max(1);
    let source = ImageRef::new(dimension(plane.stride)?, dimension(rows)?, &plane.data, PixelType::U8)
        .map_err(|err| failed(err.to_string()))?;
    let mut target = Image::new(dimension(width)?, dimension(height)?, PixelType::U8);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)).crop(
        0.0,
        0.0,
        plane.width as f64,
        plane.height as f64,
    );
    resizer.resize(&source, &mut target, &options).map_err(|err| failed(err.to_string()))?;
    Ok(Plane::packed(width, height, target.into_vec()))
}

/// Resizes to `width`×`height` luma, with chroma at half size each way (4:2:0), as the encoder wants it.
pub fn resize(picture: &Picture, width: usize, height: usize) -> Result<Picture, DecodeError> {
    let mut resizer = Resizer::new();
    let luma = resize_plane(&mut resizer, &picture.luma, width, height)?;
    let chroma = match &picture.chroma {
        Some([cb, cr]) => {
            let (half_width, half_height) = (width.div_ceil(2), height.div_ceil(2));
            Some([
                resize_plane(&mut resizer, cb, half_width, half_height)?,
                resize_plane(&mut resizer, cr, half_width, half_height)?,
            ])
        }
        None => None,
    };
    Ok(Picture { luma, chroma })
}

/// Turns the stored pixels upright for Exif orientation 2 to 8 (1 is upright already).
pub fn orient(picture: Picture, orientation: u8) -> Picture {
    if !(2..=8).contains(&orientation) {
        return picture;
    }
    let turn = |plane: &Plane| orient_plane(plane, orientation);
    Picture { luma: turn(&picture.luma), chroma: picture.chroma.as_ref().map(|[cb, cr]| [turn(cb), turn(cr)]) }
}

fn orient_plane(plane: &Plane, orientation: u8) -> Plane {
    let (w, h) = (plane.width, plane.height);
    let swaps = orientation >= 5;
    let (out_w, out_h) = if swaps { (h, w) } else { (w, h) };
    let mut data = Vec::with_capacity(out_w * out_h);
    for y in 0..out_h {
        for x in 0..out_w {
            let (sx, sy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x),
            };
            data.push(plane.at(sx, sy));
        }
    }
    Plane::packed(out_w, out_h, data)
}

/// Repeats the last column and row so a plane has even sides, as a 4:2:0 encoder reads whole pairs.
fn padded_even(plane: &Plane) -> Plane {
    let (width, height) = (plane.width.next_multiple_of(2), plane.height.next_multiple_of(2));
    if (width, height) == (plane.width, plane.height) && plane.stride == width {
        return plane.clone();
    }
    let mut data = Vec::with_capacity(width * height);
    for y in 0..height {
        let row = &plane.data[y.min(plane.height - 1) * plane.stride..][..plane.width];
        data.extend_from_slice(row);
        if width > plane.width {
            data.push(row[plane.width - 1]);
        }
    }
    Plane::packed(width, height, data)
}

/// Encodes a picture as a baseline JPEG (4:2:0, or greyscale).
pub fn encode(picture: &Picture, quality: u8) -> Result<Vec<u8>, DecodeError> {
    let failed = |err: turbojpeg::Error| DecodeError::Corrupt { detail: format!("encoding failed: {err}") };
    let mut encoder = turbojpeg::Compressor::new().map_err(failed)?;
    encoder.set_quality(i32::from(quality.clamp(1, 100))).map_err(failed)?;
    let (width, height) = (picture.width(), picture.height());
    match &picture.chroma {
        Some([cb, cr]) => {
            let luma = padded_even(&picture.luma);
            let image = YuvPlanesImage {
                y_plane: &luma.data[..],
                u_plane: &cb.data[..],
                v_plane: &cr.data[..],
                width,
                height,
                y_stride: luma.stride,
                u_stride: cb.stride,
                v_stride: cr.stride,
                subsamp: Subsamp::Sub2x2,
            };
            encoder.compress_yuv_planes_to_vec(&image).map_err(failed)
        }
        None => {
            encoder.set_subsamp(Subsamp::Gray).map_err(failed)?;
            let luma = &picture.luma;
            let image = turbojpeg::Image {
                pixels: &luma.data[..],
                width,
                pitch: luma.stride,
                height,
                format: PixelFormat::GRAY,
            };
            encoder.compress_to_vec(image).map_err(failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(width: usize, height: usize) -> Plane {
        Plane::packed(width, height, (0..width * height).map(|i| i as u8).collect())
    }

    #[test]
    fn fit_keeps_the_aspect_and_never_enlarges() {
        assert_eq!(fit(4608, 1976, 2048), (2048, 878));
        assert_eq!(fit(3000, 4000, 2048), (1536, 2048));
        assert_eq!(fit(640, 480, 2048), (640, 480));
        assert_eq!(fit(10_000, 1, 320), (320, 1));
    }

    #[test]
    fn every_orientation_maps_corners_where_exif_says() {
        // Stored 3x2: a b c / d e f. Upright views for each orientation, by their first row.
        let plane = numbered(3, 2);
        let first_row = |o: u8| {
            let p = orient_plane(&plane, o);
            (p.width, p.height, p.data[..p.width].to_vec())
        };
        assert_eq!(first_row(2), (3, 2, vec![2, 1, 0]));
        assert_eq!(first_row(3), (3, 2, vec![5, 4, 3]));
        assert_eq!(first_row(4), (3, 2, vec![3, 4, 5]));
        assert_eq!(first_row(5), (2, 3, vec![0, 3]));
        assert_eq!(first_row(6), (2, 3, vec![3, 0]));
        assert_eq!(first_row(7), (2, 3, vec![5, 2]));
        assert_eq!(first_row(8), (2, 3, vec![2, 5]));
    }

    #[test]
    fn odd_sizes_encode_and_decode_back_to_the_same_size() {
        let luma = numbered(33, 17);
        let chroma = Plane::packed(17, 9, vec![128; 17 * 9]);
        let picture = Picture { luma, chroma: Some([chroma.clone(), chroma]) };
        let jpeg = encode(&picture, 90).unwrap();
        let back = decode(&jpeg, &Limits::default(), 4096).unwrap();
        assert_eq!((back.width(), back.height()), (33, 17));
        let grey = Picture { luma: numbered(5, 3), chroma: None };
        let back = decode(&encode(&grey, 90).unwrap(), &Limits::default(), 4096).unwrap();
        assert_eq!((back.width(), back.height(), back.chroma.is_none()), (5, 3, true));
    }

    #[test]
    fn large_pictures_decode_at_a_reduced_scale() {
        let picture = Picture { luma: Plane::packed(1024, 512, vec![90; 1024 * 512]), chroma: None };
        let jpeg = encode(&picture, 80).unwrap();
        let back = decode(&jpeg, &Limits::default(), 256).unwrap();
        assert_eq!((back.width(), back.height()), (256, 128), "1/4 still covers 256");
        let back = decode(&jpeg, &Limits::default(), 300).unwrap();
        assert_eq!((back.width(), back.height()), (512, 256), "1/4 would be too small; 1/2 is used");
    }
}
