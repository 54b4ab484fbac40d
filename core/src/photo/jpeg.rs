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

const EXIF_HEADER: &[u8] = b"Exif\0\0";

/// One marker segment before the image data: its marker byte and where it lies, marker included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    marker: u8,
    start: usize,
    end: usize,
}

/// The segments from the start of the file up to and including the start of scan (whose `end` is the
/// end of the file), and whether stray bytes sat between any two of them. The walk stops at a segment
/// that runs past the end of the file.
fn segments(bytes: &[u8]) -> (Vec<Segment>, bool) {
    let mut found = Vec::new();
    let mut stray = false;
    let mut at = 2; // after SOI
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            stray = true;
            match bytes[at..].iter().position(|byte| *byte == 0xFF) {
                Some(skip) => at += skip,
                None => break,
            }
            continue;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            found.push(Segment { marker, start: at, end: at + 2 }); // markers without a length
            at += 2;
            continue;
        }
        if marker == 0xDA {
            found.push(Segment { marker, start: at, end: bytes.len() });
            break;
        }
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        if length < 2 || at + 2 + length > bytes.len() {
            break;
        }
        found.push(Segment { marker, start: at, end: at + 2 + length });
        at += 2 + length;
    }
    (found, stray)
}

/// The TIFF structure inside the first `APP1 "Exif\0\0"` segment before the image data.
pub fn exif(bytes: &[u8]) -> Option<&[u8]> {
    segments(bytes).0.into_iter().find_map(|segment| {
        let payload = &bytes[segment.start + 4.min(segment.end - segment.start)..segment.end];
        (segment.marker == 0xE1 && payload.starts_with(EXIF_HEADER)).then(|| &payload[EXIF_HEADER.len()..])
    })
}

/// A copy of the file without stray bytes between the markers before the image data, when there are
/// any. Photo editors sometimes leave such bytes; libjpeg then refuses even to read the header, though
/// no pixel is affected. Nothing after the start of scan is touched.
pub fn without_stray_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    let (segments, stray) = segments(bytes);
    if !stray {
        return None;
    }
    let mut kept = bytes[..2.min(bytes.len())].to_vec();
    segments.iter().for_each(|segment| kept.extend_from_slice(&bytes[segment.start..segment.end]));
    Some(kept)
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
        assert_eq!(exif(&bytes), None);
        // A zero length (less than its own two bytes) is refused too.
        let bytes = [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00, 0, 0, 0, 0];
        assert_eq!(exif(&bytes), None);
        assert_eq!(without_stray_bytes(&bytes), None);
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
        assert_eq!(exif(&out), Some(&b"II*\0tiff"[..]));
        // Stray bytes before the Exif segment do not hide it.
        let mut dirty = out[..2].to_vec();
        dirty.extend_from_slice(&[0x13, 0x37]);
        dirty.extend_from_slice(&out[2..]);
        assert_eq!(exif(&dirty), Some(&b"II*\0tiff"[..]));
    }
}
