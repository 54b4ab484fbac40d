//! rectify-ffi: Rectify as the Android (Kotlin), iOS (Swift) and desktop (Python) hosts see it, through
//! uniffi. Every piece of domain logic stays in `rectify-core`; this crate holds only
//! - [`Device`], the entry object: one device's ledger opened at a path, with every operation and query a
//!   phone needs, safe to call from many threads at once (the ledger locks inside);
//! - [`SyncJob`], one sync with a progress listener and `cancel()`, over the built-in HTTP transport or a
//!   [`SyncTransport`] the host implements with its own network stack;
//! - the plain records and enums those return, converted from the core's types in [`records`];
//! - [`RectifyError`], the one public error, mapped from the core's error in exactly one place.
//!
//! The bindings are generated from the built library by `scripts/gen-bindings.sh`; `uniffi.toml` names the
//! Kotlin package and the Swift modules.

uniffi::setup_scaffolding!("rectify");

mod device;
mod error;
mod records;
mod sync;

pub use device::Device;
pub use error::{RectifyError, TransportError};
pub use records::*;
pub use sync::{SyncJob, SyncListener, SyncTransport};

use chrono::{DateTime, Utc};
use rectify_core::ids::IssueId;

/// A moment in time. Crosses the FFI as milliseconds since 1970 (UTC); `uniffi.toml` turns it into
/// `java.time.Instant` in Kotlin and `Date` in Swift.
pub type Timestamp = DateTime<Utc>;

uniffi::custom_type!(Timestamp, i64, {
    remote,
    lower: |at| at.timestamp_millis(),
    try_lift: |ms| DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        // A RectifyError here reaches the caller as that error, not as an internal one.
        RectifyError::InvalidInput { reason: format!("{ms} ms is outside the dates Rectify can hold") }.into()
    }),
});

// An issue's id: a UUID, as text on the foreign side.
uniffi::custom_type!(IssueId, String, {
    remote,
    lower: |id| id.to_string(),
    try_lift: |text| text.parse::<IssueId>().map_err(|err| RectifyError::from(rectify_core::RectifyError::from(err)).into()),
});

/// The library's version, for an app's about screen and for checking that bindings and library match.
#[uniffi::export]
pub fn library_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
