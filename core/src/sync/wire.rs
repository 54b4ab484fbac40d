//! Protocol v1 between a device and the district office: the shapes that travel, the limits both sides
//! enforce, the pull cursor and the scope tally. Both the device client and the office use these types, so
//! the two cannot drift apart. Bodies are JSON, gzip-compressed when the sender says so
//! (`Content-Encoding: gzip`); every request names the protocol in the `Rectify-Protocol` header.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::event::{Event, Verdict};
use crate::domain::evidence::EvidenceFlag;
use crate::domain::photo::PhotoHash;
use crate::domain::place::{Town, Village, Zone};
use crate::domain::role::Role;
use crate::ids::{DeviceId, EventId, IssueId, UserId, VillageId};
use crate::store::photos::CaptureRecord;

/// The protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The header that carries it on every request.
pub const PROTOCOL_HEADER: &str = "rectify-protocol";
/// The media type of every JSON body.
pub const JSON: &str = "application/json";
/// Photo chunks travel as raw bytes.
pub const OCTETS: &str = "application/octet-stream";
/// The byte offset a photo upload has reached on the office (tus style).
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// The photo's whole length, sent with every chunk.
pub const UPLOAD_LENGTH: &str = "upload-length";
/// `sha256 <hex>` of one chunk; a chunk that does not match is refused and nothing of it is kept.
pub const UPLOAD_CHECKSUM: &str = "upload-checksum";

/// On a pull answer: the cursor of the next page, so a device can ask for it before applying this one.
pub const PULL_CURSOR: &str = "rectify-cursor";
/// On a pull answer: `yes` when more pages follow.
pub const PULL_MORE: &str = "rectify-more";

/// What the office accepts in one request; it tells devices in [`SyncHello`] and refuses more with 413.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_push_events: usize,
    /// Of the JSON before compression.
    pub max_push_bytes: usize,
    pub max_pull_events: usize,
    pub max_chunk_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_push_events: 1000, max_push_bytes: 4 << 20, max_pull_events: 5000, max_chunk_bytes: 1 << 20 }
    }
}

/// A device swaps a one-time code for its credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    pub device_id: DeviceId,
}

/// Who the enrolled device acts for, and the token it sends from now on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub token: String,
    pub user_id: UserId,
    pub user_name: String,
    pub role: Role,
    pub villages: Vec<VillageId>,
    pub epoch: String,
}

/// The first answer of every sync: where the office stands for this device.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncHello {
    pub protocol: u32,
    /// Changes when the office's data set is replaced (restored from a backup).
    pub epoch: String,
    /// The highest device_seq of this device the office holds, gap-free.
    pub acked_through: u64,
    /// The newest server_seq in the office.
    pub head: u64,
    /// The version of the reference data (places, boundaries, categories).
    pub reference_version: String,
    pub limits: Limits,
    /// The villages and role the office holds for this device's user now.
    pub role: Role,
    pub villages: Vec<VillageId>,
}

/// A batch of a device's events, in device_seq order, with the manifests of the photos they bring.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub events: Vec<Event>,
    #[serde(default)]
    pub photos: Vec<PhotoManifest>,
}

/// The office's answer to a push.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    /// Everything of this device up to here is stored (or refused for good).
    pub acked_through: u64,
    /// One entry per event the office judged, stored or not.
    pub results: Vec<PushResult>,
    /// Set when the batch did not start right after `acked_through`: send again from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resend_from: Option<u64>,
}

/// What became of one pushed event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    pub event_id: EventId,
    pub device_seq: u64,
    /// The office's sequence number, when the event is in the office's ledger (stored or refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_seq: Option<u64>,
    pub verdict: Verdict,
    /// The office judged another event under this device_seq: the device's database went back in time
    /// (restored from an older copy). The event itself was not judged; the device numbers it afresh.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seq_taken: bool,
}

/// One page of the office's ledger, in server_seq order, limited to the device's scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullPage {
    pub epoch: String,
    pub events: Vec<Event>,
    pub photos: Vec<PhotoManifest>,
    /// Where the next page starts; store it in the same transaction as this page.
    pub cursor: String,
    /// The server_seq this page covers up to (inclusive).
    pub through: u64,
    /// Every event in scope with server_seq up to `through`: what the device must hold after this page.
    pub scope: ScopeTally,
    pub more: bool,
}

/// A count and an order-free checksum of events, so a device can tell that it holds exactly what the office
/// sent it, without listing them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeTally {
    pub count: u64,
    pub sum: u64,
}

impl ScopeTally {
    pub fn add(&mut self, event_id: EventId, server_seq: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(event_digest(event_id, server_seq));
    }

    pub fn merge(&mut self, other: ScopeTally) {
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
    }
}

/// 64 bits of SHA-256 over an event's id and its place in the office's order.
pub fn event_digest(event_id: EventId, server_seq: u64) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(event_id.to_string().as_bytes());
    hasher.update(server_seq.to_le_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// A pull cursor: the office's epoch and the last server_seq delivered. Devices keep it as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub epoch: String,
    pub through: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.epoch, self.through)
    }

    /// `None` for text that is not a cursor.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (epoch, through) = text.rsplit_once('.')?;
        Some(Cursor { epoch: epoch.to_string(), through: through.parse().ok()? })
    }
}

/// What the office needs to know of a photo before its bytes arrive, and what a device needs to show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoManifest {
    pub hash: PhotoHash,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbnailManifest>,
    #[serde(default)]
    pub capture: CaptureRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    #[serde(default)]
    pub flags: Vec<EvidenceFlag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailManifest {
    pub hash: PhotoHash,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

/// Where an upload stands on the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStatus {
    pub offset: u64,
    pub length: u64,
    /// True once the whole file arrived and its SHA-256 equals its name.
    pub present: bool,
}

/// Places, boundaries and the category table: what a device needs to work offline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceData {
    pub version: String,
    pub towns: Vec<Town>,
    pub zones: Vec<Zone>,
    pub villages: Vec<Village>,
    pub boundaries: Vec<BoundaryRecord>,
    /// The category table as the office runs it (the same JSON shape as `core/data/categories.json`).
    pub catalogue: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundaryRecord {
    pub village_id: VillageId,
    /// A GeoJSON MultiPolygon, WGS-84.
    pub geometry: serde_json::Value,
    pub area_m2: f64,
    pub source: String,
}

/// The body of every error answer: a stable code and a sentence for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// An event the office refused, as the sync report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEvent {
    pub event_id: EventId,
    pub issue_id: IssueId,
    pub kind: String,
    pub reason: String,
}

/// Compresses a body for the wire.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Decompresses a body, refusing one that grows beyond `limit` bytes (a zip bomb).
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    let read = flate2::read::GzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|err| format!("the gzip body is broken: {err}"))?;
    if read > limit {
        return Err(format!("the body grows beyond {limit} bytes when decompressed"));
    }
    Ok(out)
}

/// `sha256 <hex>` of a chunk, as the checksum header carries it.
pub fn chunk_checksum(bytes: &[u8]) -> String {
    format!("sha256 {}", PhotoHash::of_bytes(bytes).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let cursor = Cursor { epoch: "0193ab".into(), through: 42 };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("no-dot"), None);
        assert_eq!(Cursor::decode("e.x"), None);
    }

    #[test]
    fn tallies_do_not_depend_on_order_but_on_every_event() {
        let events: Vec<(EventId, u64)> = (1..=5).map(|seq| (EventId::new(), seq)).collect();
        let mut forward = ScopeTally::default();
        events.iter().for_each(|(id, seq)| forward.add(*id, *seq));
        let mut backward = ScopeTally::default();
        events.iter().rev().for_each(|(id, seq)| backward.add(*id, *seq));
        assert_eq!(forward, backward);
        let mut missing_one = ScopeTally::default();
        events.iter().skip(1).for_each(|(id, seq)| missing_one.add(*id, *seq));
        missing_one.count += 1;
        assert_ne!(forward, missing_one, "a lost event changes the sum even when the count is patched");
    }

    #[test]
    fn gunzip_refuses_bombs_and_junk() {
        let big = vec![b'a'; 100_000];
        let packed = gzip(&big);
        assert!(packed.len() < 1_000);
        assert_eq!(gunzip(&packed, 100_000).unwrap(), big);
        assert!(gunzip(&packed, 99_999).unwrap_err().contains("beyond"));
        assert!(gunzip(b"not gzip", 10).is_err());
    }
}
