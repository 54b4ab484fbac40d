//! Photo evidence on the device: ingest (Exif, scaled decode, upright evidence image and thumbnail,
//! perceptual hash) and the content-addressed store the files live in.
//!
//! A stored file's path is taken from the SHA-256 of its bytes, so storing the same bytes twice keeps one
//! file, and a file is only ever written whole (temp file, fsync, rename) so a crash leaves either the
//! complete photo or none.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::photo::PhotoHash;

pub mod codec;
pub mod exif;
mod ingest;
pub mod jpeg;
pub mod phash;
pub mod synthetic;

pub use ingest::{Derived, Ingested, InspectedGps, Inspection, Source, inspect};

/// Largest photo file accepted, in bytes. Phone photos are 3 to 8 MB; this leaves room for 200 MP.
pub const MAX_PHOTO_BYTES: u64 = 64 * 1024 * 1024;

/// Bounds on what a decode may cost, checked against the header before any pixel memory is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame accepted, in pixels: 210 MP covers the 200 MP phone sensors.
    pub max_pixels: u64,
    /// Largest progressive frame: libjpeg keeps every coefficient of a progressive file in memory
    /// (about 3 bytes per pixel), so these get a lower limit.
    pub max_progressive_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_pixels: 210_000_000, max_progressive_pixels: 50_000_000 }
    }
}

/// How photos are ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOptions {
    /// Long side of the evidence image, in pixels.
    pub evidence_long_side: usize,
    /// Long side of the thumbnail, in pixels.
    pub thumbnail_long_side: usize,
    pub evidence_quality: u8,
    pub thumbnail_quality: u8,
    /// Keep the original file too. Off by default: originals are 3 to 8 MB and phones are short of space.
    pub keep_original: bool,
    pub limits: Limits,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            evidence_long_side: 2048,
            thumbnail_long_side: 320,
            evidence_quality: 80,
            thumbnail_quality: 75,
            keep_original: false,
            limits: Limits::default(),
        }
    }
}

/// Why the bytes of a file cannot be used as a photo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("it is {what}, not a JPEG")]
    NotJpeg { what: &'static str },
    #[error("it is {format}; convert it to JPEG first (the phone's camera settings, or share it as JPEG)")]
    ConvertFirst { format: &'static str },
    #[error(
        "its frame is {width}×{height} pixels, over the limit of {max_pixels} pixels{}",
        if *progressive { " for progressive JPEGs" } else { "" }
    )]
    TooManyPixels { width: usize, height: usize, max_pixels: u64, progressive: bool },
    #[error("it is cut short (the file ends inside the image data)")]
    Truncated,
    #[error("it is damaged: {detail}")]
    Corrupt { detail: String },
    #[error("its colours are {colourspace}, which cameras do not write; save it as an ordinary JPEG")]
    UnsupportedColour { colourspace: String },
}

/// Why a photo could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("photo {path} does not exist or cannot be read: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error("photo {path} cannot be used: {reason}")]
    Rejected { path: PathBuf, reason: DecodeError },
    #[error("photo {path} is {size} bytes; the limit is {max} bytes")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("could not write the photo store at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// A photo file kept by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    pub hash: PhotoHash,
    pub byte_size: u64,
    /// Relative to the store's folder.
    pub relative_path: String,
    /// False when the same bytes were already stored.
    pub newly_written: bool,
}

/// A folder of content-addressed photo files.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    root: PathBuf,
}

impl PhotoStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Stores bytes under their hash; a second call with the same bytes writes nothing.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<StoredPhoto, PhotoError> {
        let hash = PhotoHash::of_bytes(bytes);
        let relative_path = format!("{}/{}.jpg", &hash.as_str()[..2], hash.as_str());
        let target = self.root.join(&relative_path);
        let byte_size = bytes.len() as u64;
        if fs::metadata(&target).is_ok_and(|meta| meta.len() == byte_size) {
            // Freshen it: an old unreferenced file is what pruning removes, and this one is about to be
            // referenced again.
            let _ = fs::File::options()
                .write(true)
                .open(&target)
                .and_then(|file| file.set_modified(std::time::SystemTime::now()));
            return Ok(StoredPhoto { hash, byte_size, relative_path, newly_written: false });
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PhotoError::Io { path, source }
        };
        let folder = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&folder).map_err(io(&folder))?;
        static NEXT_TEMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let unique = NEXT_TEMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp = folder.join(format!(".{}.{}.{unique}.tmp", hash.as_str(), std::process::id()));
        let written = fs::File::create(&temp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        if let Err(err) = written.and_then(|()| fs::rename(&temp, &target)) {
            let _ = fs::remove_file(&temp);
            return Err(io(&target)(err));
        }
        // Make the rename itself durable.
        if let Ok(dir) = fs::File::open(&folder) {
            let _ = dir.sync_all();
        }
        Ok(StoredPhoto { hash, byte_size, relative_path, newly_written: true })
    }

    /// Bytes of the files under the store's folder, found by walking it (the database's own figure is
    /// [`crate::ledger::Ledger::photo_usage`]).
    pub fn bytes_on_disk(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            fs::read_dir(dir).into_iter().flatten().flatten().fold(0, |sum, entry| match entry.metadata() {
                Ok(meta) if meta.is_dir() => sum + walk(&entry.path()),
                Ok(meta) => sum + meta.len(),
                Err(_) => sum,
            })
        }
        walk(&self.root)
    }

    /// Files under the store's folder (relative paths, with sizes) last modified longer than `age` ago.
    pub fn files_older_than(&self, age: std::time::Duration) -> Vec<(String, u64)> {
        fn walk(root: &Path, dir: &Path, age: std::time::Duration, found: &mut Vec<(String, u64)>) {
            for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    walk(root, &entry.path(), age, found);
                } else if meta.modified().ok().and_then(|at| at.elapsed().ok()).is_some_and(|elapsed| elapsed > age)
                    && let Ok(relative) = entry.path().strip_prefix(root)
                {
                    found.push((relative.to_string_lossy().replace('\\', "/"), meta.len()));
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.root, &self.root, age, &mut found);
        found
    }

    /// Removes a file this store wrote, when the transaction that would have referenced it failed.
    pub fn discard(&self, relative: &str) {
        let _ = fs::remove_file(self.root.join(relative));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY_JPEG_HEAD: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];

    #[test]
    fn same_bytes_are_stored_once_under_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = PhotoStore::new(dir.path().join("photos"));
        let first = store.put_bytes(TINY_JPEG_HEAD).unwrap();
        let second = store.put_bytes(TINY_JPEG_HEAD).unwrap();
        assert!(first.newly_written && !second.newly_written);
        assert_eq!(first.hash, second.hash);
        assert_eq!(fs::read(store.path_of(&first.relative_path)).unwrap(), TINY_JPEG_HEAD);
    }
}
