//! Photo evidence as the ledger sees it: content hashes and the metadata kept beside them. Photos are
//! content-addressed (SHA-256 of the stored bytes), so the same picture stored twice is one photo.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The SHA-256 of a stored photo file, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhotoHash(String);

impl PhotoHash {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(bytes);
        let mut text = String::with_capacity(64);
        for byte in digest {
            text.push_str(&format!("{byte:02x}"));
        }
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhotoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhotoHash {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_lowercase();
        if text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(Self(text))
        } else {
            Err(format!("`{text}` is not a photo hash: expected 64 hex digits (SHA-256)"))
        }
    }
}

impl TryFrom<String> for PhotoHash {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<PhotoHash> for String {
    fn from(hash: PhotoHash) -> Self {
        hash.0
    }
}

/// Whether a photo shows the problem or its fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoRole {
    Before,
    After,
}

/// What the device knows about one stored photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoMeta {
    pub hash: PhotoHash,
    pub byte_size: u64,
    pub media_type: String,
    /// Where the file lives, relative to the photo store's folder.
    pub path: String,
    pub added_at: DateTime<Utc>,
    /// Set once the office has confirmed it holds the same bytes; until then the device keeps the file.
    pub office_confirmed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        let hash = PhotoHash::of_bytes(b"abc");
        assert_eq!(hash.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(hash.as_str().parse::<PhotoHash>().unwrap(), hash);
        assert!("xyz".parse::<PhotoHash>().is_err());
    }
}
