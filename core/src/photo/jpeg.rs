//! The JPEG container, read without decoding: what kind of file this is, where its Exif block is, and how
//! big its frame claims to be. Every read is bounds-checked; a marker that runs past the end of the file
//! ends the walk instead of reading outside it.

use super::DecodeError;

/// Formats people try to ingest, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Jpeg,
    /// An ISO-BMFF image (HEIC, HEIF or AVIF): what iPhones and recent Android phones write by default.
    Heif(&'static str),
    Other(&'static str),
}

/// Tells a JPEG from the files a phone or a person might hand over instead.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Jpeg,
        [_, _, _, _, b'f', b't', b'y', b'p', brand @ ..] if brand.len() >= 4 => match &brand[..4] {
            b"avif" | b"avis" => Sniffed::Heif("AVIF"),
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" => Sniffed::Heif("HEIC"),
            _ => Sniffed::Heif("HEIF"),
        },
        [0x89, b'P', b'N', b'G', ..] => Sniffed::Other("a PNG"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Sniffed::Other("a WebP"),
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => Sniffed::Other("a TIFF"),
        [b'G', b'I', b'F', b'8', ..] => Sniffed::Other("a GIF"),
        [] => Sniffed::Other("empty"),
        _ => Sniffed::Other("not an image format this app reads"),
    }
}

/// Refuses anything that is not a JPEG, with the reason a person can act on.
pub fn require_jpeg(bytes: &[u8]) -> Result<(), DecodeError> {
    match sniff(bytes) {
        Sniffed::Jpeg => Ok(()),
        Sniffed::Heif(format) => Err(DecodeError::ConvertFirst { format }),
        Sniffed::Other("empty") => Err(DecodeError::Empty),
        Sniffed::Other(what) => Err(DecodeError::NotJpeg { what }),
    }
}

/// The frame header: pixel size and coding process, from the first start-of-frame marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
}

/// What a walk over the markers before the image data found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Markers<'a> {
    /// The TIFF structure inside the first `APP1 "Exif\0\0"` segment.
    pub exif: Option<&'a [u8]>,
    pub frame: Option<Frame>,
}

const EXIF_HEADER: &[u8] = b"Exif\0\0";

/// Walks the markers from the start of the file up to the first scan.
pub fn markers(bytes: &[u8]) -> Markers<'_> {
    let mut found = Markers::default();
    let mut at = 2; // after SOI
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            break;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            at += 2; // markers without a length
            continue;
        }
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let Some(payload) = length.checked_sub(2).and_then(|len| bytes.get(at + 4..at + 4 + len)) else {
            break;
        };
        match marker {
            0xE1 if found.exif.is_none() && payload.starts_with(EXIF_HEADER) => {
                found.exif = Some(&payload[EXIF_HEADER.len()..]);
            }
            // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) && found.frame.is_none() && payload.len() >= 5 => {
                found.frame = Some(Frame {
                    height: u32::from(u16::from_be_bytes([payload[1], payload[2]])),
                    width: u32::from(u16::from_be_bytes([payload[3], payload[4]])),
                    progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                });
            }
            0xDA | 0xD9 => break, // start of scan, end of image
            _ => {}
        }
        at += 2 + length;
    }
    found
}

/// A copy of the file without stray bytes between the markers before the image data, when there are
/// any. Photo editors sometimes leave such bytes; libjpeg then refuses even to read the header, though
/// no pixel is affected. Nothing after the start of scan is touched.
pub fn without_stray_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut kept: Vec<&[u8]> = vec![&bytes[..2.min(bytes.len())]];
    let mut at = 2;
    let mut stray = false;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            stray = true;
            at += bytes[at..].iter().position(|byte| *byte == 0xFF)?;
            continue;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xDA {
            kept.push(&bytes[at..]);
            break;
        }
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        let end = (at + 2 + length).min(bytes.len());
        kept.push(&bytes[at..end]);
        at = end;
    }
    stray.then(|| kept.concat())
}

/// Places an `APP1` Exif segment right after the start-of-image marker of `jpeg`.
pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Option<Vec<u8>> {
    let length = u16::try_from(2 + EXIF_HEADER.len() + tiff.len()).ok()?;
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(jpeg.len() + usize::from(length) + 2);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(EXIF_HEADER);
    out.extend_from_slice(tiff);
    out.extend_from_slice(&jpeg[2..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_their_first_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Sniffed::Jpeg);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Sniffed::Heif("HEIC"));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0"), Sniffed::Heif("AVIF"));
        assert_eq!(sniff(b"\0\0\0\x1cftypmif1\0\0\0\0"), Sniffed::Heif("HEIF"));
        assert_eq!(sniff(b"\x89PNG\r\n"), Sniffed::Other("a PNG"));
        assert!(matches!(require_jpeg(b""), Err(DecodeError::Empty)));
        assert!(matches!(require_jpeg(b"hello"), Err(DecodeError::NotJpeg { .. })));
    }

    #[test]
    fn a_marker_running_past_the_end_stops_the_walk() {
        // APP1 claiming 0xFFFF bytes in an 8-byte file.
        let bytes = [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, b'E', b'x'];
        assert_eq!(markers(&bytes), Markers::default());
        // A zero length (less than its own two bytes) is refused too.
        let bytes = [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00, 0, 0, 0, 0];
        assert_eq!(markers(&bytes), Markers::default());
    }

    #[test]
    fn stray_bytes_before_a_marker_are_dropped_and_the_scan_is_kept() {
        let clean = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9];
        assert_eq!(without_stray_bytes(&clean), None);
        let mut dirty = clean[..8].to_vec();
        dirty.extend_from_slice(&[0x00, 0x13, 0x37]);
        dirty.extend_from_slice(&clean[8..]);
        assert_eq!(without_stray_bytes(&dirty).as_deref(), Some(&clean[..]));
    }

    #[test]
    fn exif_is_inserted_after_start_of_image_and_found_again() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 2, 0, 3, 1, 1, 0x11, 0, 0xFF, 0xD9];
        let out = with_exif(&jpeg, b"II*\0tiff").unwrap();
        let found = markers(&out);
        assert_eq!(found.exif, Some(&b"II*\0tiff"[..]));
        assert_eq!(found.frame, Some(Frame { width: 3, height: 2, progressive: false }));
    }
}
