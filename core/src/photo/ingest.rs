//! The ingest pipeline: a camera file in, an upright evidence image and a thumbnail out, both stored
//! under their hashes, with the capture metadata and a perceptual hash beside them.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::exif::{self, Capture, Gps};
use super::{DecodeError, IngestOptions, MAX_PHOTO_BYTES, PhotoError, PhotoStore, StoredPhoto, codec, jpeg, phash};
use crate::domain::photo::PhotoHash;

/// A photo file read into memory and confirmed to be a JPEG; nothing is decoded yet.
#[derive(Debug)]
pub struct Source {
    path: PathBuf,
    bytes: Vec<u8>,
    /// The file without stray header bytes, when it had any: what the decoder reads.
    cleaned: Option<Vec<u8>>,
    /// The SHA-256 of the file as handed in: the same file ingested twice is found by it.
    pub sha256: PhotoHash,
}

/// A stored derived image and its pixel size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub file: StoredPhoto,
    pub width: u32,
    pub height: u32,
}

/// What an ingest produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub source_sha256: PhotoHash,
    pub source_bytes: u64,
    /// The pixel size of the original as stored (before its orientation is applied).
    pub source_width: u32,
    pub source_height: u32,
    pub capture: Capture,
    /// The upright evidence image; its hash is the photo's identity in the ledger.
    pub evidence: Derived,
    pub thumbnail: Derived,
    pub original: Option<StoredPhoto>,
    /// The perceptual hash of the upright picture.
    pub phash: u64,
}

impl Ingested {
    /// The files this ingest wrote that were not in the store before.
    pub fn newly_written(&self) -> Vec<String> {
        [Some(&self.evidence.file), Some(&self.thumbnail.file), self.original.as_ref()]
            .into_iter()
            .flatten()
            .filter(|file| file.newly_written)
            .map(|file| file.relative_path.clone())
            .collect()
    }
}

/// The GPS position as `inspect` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InspectedGps {
    pub lat: f64,
    pub lon: f64,
    pub alt: Option<f64>,
}

impl From<Gps> for InspectedGps {
    fn from(gps: Gps) -> Self {
        Self { lat: gps.lat, lon: gps.lon, alt: gps.alt }
    }
}

/// What `rectify photo inspect` prints: the file's own header and Exif, nothing re-encoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub width: u32,
    pub height: u32,
    pub orientation: u8,
    pub gps: Option<InspectedGps>,
    /// RFC 3339, with the offset when the file records one.
    pub taken_at: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Problems found in the Exif block; what could be read is above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

fn dimension(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Source {
    /// Reads the file, refusing what is not a JPEG or is too big to be a photo.
    pub fn read(path: &Path) -> Result<Self, PhotoError> {
        let unreadable =
            |err: std::io::Error| PhotoError::Unreadable { path: path.to_path_buf(), detail: err.to_string() };
        let meta = fs::metadata(path).map_err(unreadable)?;
        if meta.is_dir() {
            return Err(PhotoError::Unreadable { path: path.to_path_buf(), detail: "it is a folder".into() });
        }
        if meta.len() > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge { path: path.to_path_buf(), size: meta.len(), max: MAX_PHOTO_BYTES });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        fs::File::open(path)
            .and_then(|file| file.take(MAX_PHOTO_BYTES + 1).read_to_end(&mut bytes))
            .map_err(unreadable)?;
        Self::from_bytes(path, bytes)
    }

    /// A photo already in memory (`path` names it in errors), checked as [`Source::read`] checks a file.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, PhotoError> {
        if bytes.len() as u64 > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge {
                path: path.to_path_buf(),
                size: bytes.len() as u64,
                max: MAX_PHOTO_BYTES,
            });
        }
        jpeg::require_jpeg(&bytes).map_err(|reason| PhotoError::Rejected { path: path.to_path_buf(), reason })?;
        let cleaned = jpeg::without_stray_bytes(&bytes);
        Ok(Self { path: path.to_path_buf(), sha256: PhotoHash::of_bytes(&bytes), bytes, cleaned })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn byte_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn decodable(&self) -> &[u8] {
        self.cleaned.as_deref().unwrap_or(&self.bytes)
    }

    /// The capture metadata from the file's Exif block.
    fn capture(&self) -> Capture {
        exif::read(jpeg::exif(&self.bytes))
    }

    fn rejected(&self, reason: DecodeError) -> PhotoError {
        PhotoError::Rejected { path: self.path.clone(), reason }
    }

    /// The capture metadata and frame header, read without decoding any pixels.
    pub fn inspect(&self) -> Result<Inspection, PhotoError> {
        let mut decoder = turbojpeg::Decompressor::new()
            .map_err(|err| self.rejected(DecodeError::Corrupt { detail: err.to_string() }))?;
        let header = decoder.read_header(self.decodable()).map_err(|err| {
            self.rejected(DecodeError::Corrupt { detail: format!("no readable frame header ({err})") })
        })?;
        let capture = self.capture();
        Ok(Inspection {
            width: dimension(header.width),
            height: dimension(header.height),
            orientation: capture.orientation,
            gps: capture.gps.map(InspectedGps::from),
            taken_at: capture.taken_at.map(|taken| taken.to_rfc3339()),
            make: capture.make,
            model: capture.model,
            problems: capture.exif_problem.into_iter().chain(capture.gps_problem).collect(),
        })
    }

    /// Decodes, makes the evidence image and thumbnail, and stores them. On error nothing new is left in
    /// the store.
    pub fn ingest(&self, store: &PhotoStore, options: &IngestOptions) -> Result<Ingested, PhotoError> {
        let capture = self.capture();
        let (header, decoder) = codec::header(self.decodable(), &options.limits).map_err(|err| self.rejected(err))?;
        let picture = codec::decode_with(self.decodable(), header, decoder, options.evidence_long_side)
            .map_err(|err| self.rejected(err))?;
        let (width, height) = codec::fit(header.width, header.height, options.evidence_long_side);
        let resized = codec::resize(&picture, width, height).map_err(|err| self.rejected(err))?;
        drop(picture);
        let evidence = codec::orient(resized, capture.orientation);
        let encoded = codec::encode(&evidence, options.evidence_quality).map_err(|err| self.rejected(err))?;
        let (upright_width, upright_height) = (dimension(evidence.width()), dimension(evidence.height()));
        let encoded = exif::write(&capture, upright_width, upright_height)
            .and_then(|tiff| jpeg::with_exif(&encoded, &tiff))
            .unwrap_or(encoded);
        let (thumb_width, thumb_height) = codec::fit(evidence.width(), evidence.height(), options.thumbnail_long_side);
        let thumbnail = codec::resize(&evidence, thumb_width, thumb_height).map_err(|err| self.rejected(err))?;
        let thumb_bytes = codec::encode(&thumbnail, options.thumbnail_quality).map_err(|err| self.rejected(err))?;
        let phash = phash::hash(&thumbnail.luma);

        let mut written: Vec<StoredPhoto> = Vec::new();
        let mut keep = |bytes: &[u8]| -> Result<StoredPhoto, PhotoError> {
            let stored = store.put_bytes(bytes)?;
            written.push(stored.clone());
            Ok(stored)
        };
        let stored = (|| {
            let evidence_file = keep(&encoded)?;
            let thumb_file = keep(&thumb_bytes)?;
            let original = if options.keep_original { Some(keep(&self.bytes)?) } else { None };
            Ok((evidence_file, thumb_file, original))
        })();
        let (evidence_file, thumb_file, original) = match stored {
            Ok(files) => files,
            Err(err) => {
                written.iter().filter(|file| file.newly_written).for_each(|file| store.discard(&file.relative_path));
                return Err(err);
            }
        };
        Ok(Ingested {
            source_sha256: self.sha256.clone(),
            source_bytes: self.byte_len(),
            source_width: dimension(header.width),
            source_height: dimension(header.height),
            capture,
            evidence: Derived {
                file: evidence_file,
                width: dimension(evidence.width()),
                height: dimension(evidence.height()),
            },
            thumbnail: Derived { file: thumb_file, width: dimension(thumb_width), height: dimension(thumb_height) },
            original,
            phash,
        })
    }
}

/// Reads a photo's header and Exif without decoding it.
pub fn inspect(path: &Path) -> Result<Inspection, PhotoError> {
    Source::read(path)?.inspect()
}
