//! Where the office keeps photo files: a folder on the local filesystem (the default; shared by every
//! office process that serves from it), or S3-compatible object storage through the object_store crate.
//! Unfinished uploads live in the same place as finished photos, so a device may send one chunk to one
//! office process and the next chunk to another.
//!
//! The database says how far each upload is (`received`); the files follow it. Bytes a crash left beyond
//! that offset are dropped (a folder truncates its part file; object storage keeps each chunk as an
//! object named by its offset and assembles only the chain that starts at 0).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use object_store::{ObjectStore, ObjectStoreExt};
use rectify_core::domain::photo::PhotoHash;
use rectify_core::photo::PhotoStore;

use crate::OfficeError;

/// Photo files, wherever they are kept.
pub trait PhotoFiles: Send + Sync + std::fmt::Debug {
    /// `folder` or `object storage`, for logs.
    fn kind(&self) -> &'static str;

    /// Adds a verified chunk at `offset` of the upload of `hash`; durable when this returns.
    fn append(&self, hash: &PhotoHash, offset: u64, chunk: &[u8]) -> Result<(), OfficeError>;

    /// Drops what an unfinished upload holds past `offset`.
    fn trim(&self, hash: &PhotoHash, offset: u64) -> Result<(), OfficeError>;

    /// The first `length` bytes of the upload.
    fn assemble(&self, hash: &PhotoHash, length: u64) -> Result<Vec<u8>, OfficeError>;

    /// Forgets an upload (finished, or discarded).
    fn discard(&self, hash: &PhotoHash) -> Result<(), OfficeError>;

    /// Keeps a verified photo; returns where, as the database records it.
    fn keep(&self, hash: &PhotoHash, bytes: &[u8]) -> Result<String, OfficeError>;

    /// The bytes of a kept photo.
    fn read(&self, location: &str) -> Result<Vec<u8>, OfficeError>;
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> OfficeError + '_ {
    move |err| OfficeError::Internal(format!("{}: {err}", path.display()))
}

/// A folder: `photos/` as the core's photo store lays it out, `uploads/HASH.part` for unfinished ones.
#[derive(Debug)]
pub struct FolderFiles {
    uploads: PathBuf,
    photos: PhotoStore,
}

impl FolderFiles {
    pub fn new(dir: &Path) -> Result<Self, OfficeError> {
        let uploads = dir.join("uploads");
        fs::create_dir_all(&uploads).map_err(io(&uploads))?;
        Ok(Self { uploads, photos: PhotoStore::new(dir.join("photos")) })
    }

    fn part(&self, hash: &PhotoHash) -> PathBuf {
        self.uploads.join(format!("{hash}.part"))
    }
}

impl PhotoFiles for FolderFiles {
    fn kind(&self) -> &'static str {
        "folder"
    }

    fn append(&self, hash: &PhotoHash, offset: u64, chunk: &[u8]) -> Result<(), OfficeError> {
        let part = self.part(hash);
        let mut file = fs::OpenOptions::new().create(true).append(true).open(&part).map_err(io(&part))?;
        if file.metadata().map_err(io(&part))?.len() != offset {
            file.set_len(offset).map_err(io(&part))?;
        }
        file.write_all(chunk).and_then(|()| file.sync_data()).map_err(io(&part))
    }

    fn trim(&self, hash: &PhotoHash, offset: u64) -> Result<(), OfficeError> {
        let part = self.part(hash);
        if fs::metadata(&part).is_ok_and(|meta| meta.len() != offset) {
            let file = fs::OpenOptions::new().write(true).open(&part).map_err(io(&part))?;
            file.set_len(offset).map_err(io(&part))?;
        }
        Ok(())
    }

    fn assemble(&self, hash: &PhotoHash, length: u64) -> Result<Vec<u8>, OfficeError> {
        let part = self.part(hash);
        let mut bytes = fs::read(&part).map_err(io(&part))?;
        bytes.truncate(length as usize);
        Ok(bytes)
    }

    fn discard(&self, hash: &PhotoHash) -> Result<(), OfficeError> {
        let part = self.part(hash);
        match fs::remove_file(&part) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io(&part)(err)),
            _ => Ok(()),
        }
    }

    fn keep(&self, _hash: &PhotoHash, bytes: &[u8]) -> Result<String, OfficeError> {
        let stored = self.photos.put_bytes(bytes).map_err(|err| OfficeError::Internal(err.to_string()))?;
        Ok(stored.relative_path)
    }

    fn read(&self, location: &str) -> Result<Vec<u8>, OfficeError> {
        let full = self.photos.path_of(location);
        fs::read(&full).map_err(io(&full))
    }
}

/// S3-compatible object storage: `PREFIX/photos/AB/HASH.jpg` for kept photos, one object per chunk under
/// `PREFIX/uploads/HASH/` for unfinished ones. Calls block; they run on a small runtime of their own.
#[derive(Debug)]
pub struct ObjectFiles {
    store: object_store::aws::AmazonS3,
    prefix: String,
    runtime: Option<tokio::runtime::Runtime>,
    url: String,
}

impl ObjectFiles {
    /// `s3://bucket/prefix`. Credentials, region and endpoint come from the usual `AWS_*` variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`).
    pub fn connect(url: &str) -> Result<Self, OfficeError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            OfficeError::invalid(format!("--photos takes a folder or an s3://bucket/prefix URL, not `{url}`"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(OfficeError::invalid(format!("`{url}` names no bucket")));
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|err| OfficeError::invalid(format!("cannot use {url}: {err}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rectify-objects")
            .enable_all()
            .build()
            .map_err(|err| OfficeError::Internal(format!("cannot start the object storage runtime: {err}")))?;
        let prefix = prefix.trim_matches('/').to_string();
        Ok(Self { store, prefix, runtime: Some(runtime), url: url.to_string() })
    }

    fn key(&self, rest: &str) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(rest)
        } else {
            object_store::path::Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn chunks_of(&self, hash: &PhotoHash) -> object_store::path::Path {
        self.key(&format!("uploads/{hash}"))
    }

    fn block_on<F: Future>(&self, work: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.handle().block_on(work),
            None => unreachable!("the runtime lives as long as the store"),
        }
    }

    fn failed(&self, what: &str) -> impl Fn(object_store::Error) -> OfficeError + '_ {
        let what = what.to_string();
        move |err| OfficeError::Internal(format!("object storage {}: cannot {what}: {err}", self.url))
    }

    /// (offset, key) of every chunk object of an upload.
    fn chunks(&self, hash: &PhotoHash) -> Result<Vec<(u64, object_store::path::Path)>, OfficeError> {
        use futures_util::TryStreamExt;
        let prefix = self.chunks_of(hash);
        let listed: Vec<object_store::ObjectMeta> =
            self.block_on(self.store.list(Some(&prefix)).try_collect()).map_err(self.failed("list an upload"))?;
        let mut chunks: Vec<(u64, object_store::path::Path)> = listed
            .into_iter()
            .filter_map(|meta| {
                meta.location.filename().and_then(|name| name.parse().ok()).map(|at| (at, meta.location))
            })
            .collect();
        chunks.sort_by_key(|(at, _)| *at);
        Ok(chunks)
    }
}

impl Drop for ObjectFiles {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PhotoFiles for ObjectFiles {
    fn kind(&self) -> &'static str {
        "object storage"
    }

    fn append(&self, hash: &PhotoHash, offset: u64, chunk: &[u8]) -> Result<(), OfficeError> {
        let key = self.key(&format!("uploads/{hash}/{offset:020}"));
        let payload = object_store::PutPayload::from(chunk.to_vec());
        self.block_on(self.store.put(&key, payload)).map_err(self.failed("store a chunk"))?;
        Ok(())
    }

    fn trim(&self, _hash: &PhotoHash, _offset: u64) -> Result<(), OfficeError> {
        // Chunks past the counted offset are never part of the chain `assemble` follows, and the chunk
        // sent again at that offset replaces the object.
        Ok(())
    }

    fn assemble(&self, hash: &PhotoHash, length: u64) -> Result<Vec<u8>, OfficeError> {
        let chunks = self.chunks(hash)?;
        let mut bytes = Vec::with_capacity(length as usize);
        while (bytes.len() as u64) < length {
            let at = bytes.len() as u64;
            let Some((_, key)) = chunks.iter().find(|(offset, _)| *offset == at) else {
                return Err(OfficeError::Internal(format!("the upload of {hash} has no chunk at byte {at}")));
            };
            let got = self.block_on(async { self.store.get(key).await?.bytes().await });
            bytes.extend_from_slice(&got.map_err(self.failed("read a chunk"))?);
        }
        bytes.truncate(length as usize);
        Ok(bytes)
    }

    fn discard(&self, hash: &PhotoHash) -> Result<(), OfficeError> {
        for (_, key) in self.chunks(hash)? {
            match self.block_on(self.store.delete(&key)) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(self.failed("delete a chunk")(err)),
            }
        }
        Ok(())
    }

    fn keep(&self, hash: &PhotoHash, bytes: &[u8]) -> Result<String, OfficeError> {
        let key = self.key(&format!("photos/{}/{hash}.jpg", &hash.as_str()[..2]));
        let payload = object_store::PutPayload::from(bytes.to_vec());
        self.block_on(self.store.put(&key, payload)).map_err(self.failed("store a photo"))?;
        Ok(key.to_string())
    }

    fn read(&self, location: &str) -> Result<Vec<u8>, OfficeError> {
        let key = object_store::path::Path::from(location);
        let got = self.block_on(async { self.store.get(&key).await?.bytes().await });
        Ok(got.map_err(self.failed("read a photo"))?.to_vec())
    }
}
