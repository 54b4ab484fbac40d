//! Photo uploads on the office, tus style: a device asks how far an upload is (HEAD), sends the rest in
//! chunks at that offset, each with its SHA-256; a chunk that does not match is refused whole. A chunk is
//! stored durably (`photo_files`: fsync in a folder, a completed PUT in object storage) before the office
//! counts it, and a photo counts as present only when the whole file's
//! SHA-256 equals the name it was announced under. Only announced photos (named by a pushed event's
//! manifest) are taken.

use crate::backend::PhotoRow;
use crate::{Credential, Office, OfficeError};
use rectify_core::domain::photo::PhotoHash;
use rectify_core::sync::wire::UploadStatus;

impl Office {
    /// Where the upload of `hash` stands. Bytes beyond the counted offset (a chunk cut by a crash before it
    /// was counted) are dropped here.
    pub fn upload_status(&self, hash: &PhotoHash) -> Result<UploadStatus, OfficeError> {
        let _held = self.backend().lock_upload(hash)?;
        let status = self.stored_status(hash)?;
        if !status.present {
            self.files.trim(hash, status.offset)?;
        }
        Ok(status)
    }

    fn stored_status(&self, hash: &PhotoHash) -> Result<UploadStatus, OfficeError> {
        let Some(row) = self.backend().photo(hash)? else {
            return Err(OfficeError::NotFound(format!(
                "photo {hash} is not expected: push the event that brings it first"
            )));
        };
        Ok(UploadStatus {
            offset: if row.present { row.length } else { row.received },
            length: row.length,
            present: row.present,
        })
    }

    /// Appends one chunk at `offset`. `length` must be the photo's whole length; `checksum` is
    /// `sha256 <hex>` of the chunk.
    pub fn upload_chunk(
        &self,
        hash: &PhotoHash,
        offset: u64,
        length: u64,
        checksum: &str,
        chunk: &[u8],
    ) -> Result<UploadStatus, OfficeError> {
        let _held = self.backend().lock_upload(hash)?;
        let status = self.stored_status(hash)?;
        if status.present {
            return Ok(status);
        }
        if length != status.length {
            return Err(OfficeError::invalid(format!(
                "photo {hash} was announced with {} bytes, not {length}",
                status.length
            )));
        }
        if offset != status.offset {
            return Err(OfficeError::Conflict(format!(
                "the upload of {hash} stands at byte {}, not {offset}: continue from there",
                status.offset
            )));
        }
        if offset + chunk.len() as u64 > length {
            return Err(OfficeError::invalid(format!("the chunk runs past the photo's {length} bytes")));
        }
        let expected = format!("sha256 {}", PhotoHash::of_bytes(chunk));
        if !checksum.trim().eq_ignore_ascii_case(&expected) {
            return Err(OfficeError::ChecksumMismatch(format!(
                "the chunk at byte {offset} does not match its checksum; nothing of it was kept"
            )));
        }
        self.files.append(hash, offset, chunk)?;
        let received = offset + chunk.len() as u64;
        let now = self.now().to_rfc3339();
        if received < length {
            self.backend().set_photo_progress(hash, received, None, &now)?;
            return Ok(UploadStatus { offset: received, length, present: false });
        }
        let bytes = self.files.assemble(hash, length)?;
        if PhotoHash::of_bytes(&bytes) != *hash {
            self.files.discard(hash)?;
            self.backend().set_photo_progress(hash, 0, None, &now)?;
            return Err(OfficeError::invalid(format!(
                "the uploaded file does not hash to {hash}; it was discarded, upload it again from byte 0"
            )));
        }
        let location = self.files.keep(hash, &bytes)?;
        self.backend().set_photo_progress(hash, length, Some(&location), &now)?;
        if let Err(err) = self.files.discard(hash) {
            // The photo is kept; what is left of its upload is only untidy.
            tracing::warn!(error = %err, %hash, "could not remove a finished upload");
        }
        Ok(UploadStatus { offset: length, length, present: true })
    }

    /// The bytes of a present photo file, for a device whose scope holds an event that brings the photo.
    pub fn photo_bytes(&self, credential: &Credential, hash: &PhotoHash) -> Result<Vec<u8>, OfficeError> {
        let not_here = || OfficeError::NotFound(format!("photo {hash} is not at the office (yet)"));
        let Some(PhotoRow { present: true, path: Some(relative), photo, .. }) = self.backend().photo(hash)? else {
            return Err(not_here());
        };
        // Said the same way as an absent photo: a hash outside the scope reveals nothing.
        if let Some(villages) = credential.scope()
            && !self.backend().photo_in_scope(&photo, villages)?
        {
            return Err(not_here());
        }
        self.files.read(&relative)
    }
}
