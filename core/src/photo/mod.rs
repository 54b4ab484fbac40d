//! The device's photo store: content-addressed files beside the database. A photo's path is taken from
//! the SHA-256 of its bytes, so storing the same bytes twice keeps one file, and a file is only ever
//! written whole (temp file, fsync, rename) so a crash leaves either the complete photo or none.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::domain::photo::PhotoHash;

/// Largest photo file accepted, in bytes. Phone photos are 3 to 8 MB; this leaves room for 50 MP.
pub const MAX_PHOTO_BYTES: u64 = 64 * 1024 * 1024;

/// Why a photo could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("photo {path} does not exist or cannot be read: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error("photo {path} is not a JPEG ({detail}); convert it to JPEG first")]
    NotJpeg { path: PathBuf, detail: String },
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

    /// Reads a JPEG from `source` and stores it under its hash.
    pub fn put_file(&self, source: &Path) -> Result<StoredPhoto, PhotoError> {
        let unreadable =
            |err: std::io::Error| PhotoError::Unreadable { path: source.to_path_buf(), detail: err.to_string() };
        let size = fs::metadata(source).map_err(unreadable)?.len();
        if size > MAX_PHOTO_BYTES {
            return Err(PhotoError::TooLarge { path: source.to_path_buf(), size, max: MAX_PHOTO_BYTES });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        fs::File::open(source)
            .and_then(|file| file.take(MAX_PHOTO_BYTES + 1).read_to_end(&mut bytes))
            .map_err(unreadable)?;
        check_jpeg(&bytes).map_err(|detail| PhotoError::NotJpeg { path: source.to_path_buf(), detail })?;
        self.put_bytes(&bytes)
    }

    /// Stores bytes under their hash; a second call with the same bytes writes nothing.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<StoredPhoto, PhotoError> {
        let hash = PhotoHash::of_bytes(bytes);
        let relative_path = format!("{}/{}.jpg", &hash.as_str()[..2], hash.as_str());
        let target = self.root.join(&relative_path);
        let byte_size = bytes.len() as u64;
        if fs::metadata(&target).is_ok_and(|meta| meta.len() == byte_size) {
            return Ok(StoredPhoto { hash, byte_size, relative_path, newly_written: false });
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PhotoError::Io { path, source }
        };
        let folder = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&folder).map_err(io(&folder))?;
        let temp = folder.join(format!(".{}.{}.tmp", hash.as_str(), std::process::id()));
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

    /// Removes a file this store wrote, when the transaction that would have referenced it failed.
    pub fn discard(&self, relative: &str) {
        let _ = fs::remove_file(self.root.join(relative));
    }
}

/// The cheapest honest check that bytes are a JPEG: the start-of-image marker followed by another marker.
fn check_jpeg(bytes: &[u8]) -> Result<(), String> {
    match bytes {
        [] => Err("the file is empty".to_string()),
        [0xFF, 0xD8, 0xFF, ..] => Ok(()),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Err("it looks like HEIC/AVIF".to_string()),
        [0x89, b'P', b'N', b'G', ..] => Err("it is a PNG".to_string()),
        _ => Err("it does not start with a JPEG marker".to_string()),
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

    #[test]
    fn files_that_are_not_jpeg_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = PhotoStore::new(dir.path().join("photos"));
        let png = dir.path().join("x.png");
        fs::write(&png, b"\x89PNG\r\n\x1a\n....").unwrap();
        let err = store.put_file(&png).unwrap_err();
        assert!(err.to_string().contains("PNG"), "{err}");
        assert!(!store.root().exists());
        let missing = store.put_file(&dir.path().join("none.jpg")).unwrap_err();
        assert!(matches!(missing, PhotoError::Unreadable { .. }));
    }
}
