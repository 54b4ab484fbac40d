//! Sync with the district office (protocol v1, see `wire`): the device pushes its events exactly once,
//! pulls the office's ledger for its scope page by page, uploads photos resumably and keeps each photo
//! until the office confirms its hash. [`client`] is the device's state machine over a [`Transport`];
//! [`wire`] holds the shapes both sides share; the office's side lives in the `rectify-office` crate.

mod apply;
pub mod client;
pub mod transport;
pub mod wire;

pub use client::{Phase, Progress, Quiet, RetryPolicy, SyncOptions, SyncProgress, SyncReport, SyncSession};
#[cfg(feature = "http-transport")]
pub use transport::HttpTransport;
pub use transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
pub use wire::EnrollResponse;

use crate::ledger::Ledger;
use crate::store::sync as sync_store;
use crate::{RectifyError, Result};

/// Where the device stands with its office, for status displays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncStatus {
    pub server_url: String,
    pub epoch: String,
    /// Events of the office's ledger the device holds in its scope.
    pub pulled_in_scope: u64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
}

impl Ledger {
    /// Enrolls this device with the office at `server_url` using a one-time code, then syncs once so it
    /// holds the office's villages, boundaries and categories and can work offline straight away.
    pub fn enroll(&self, transport: &dyn Transport, server_url: &str, code: &str) -> Result<EnrollResponse> {
        client::enroll(self, transport, server_url, code)
    }

    /// Runs one sync with the office the device is enrolled with.
    pub fn sync(
        &self,
        transport: &dyn Transport,
        options: SyncOptions,
        progress: &dyn SyncProgress,
    ) -> Result<SyncReport> {
        client::run(self, transport, options, progress)
    }

    /// For an office process that keeps a read copy of a shared office ledger (the PostgreSQL backend):
    /// stores events the office has already numbered and judged, in server_seq order, and folds their
    /// issues. Events it holds already are skipped. Returns how many were new.
    pub fn apply_sequenced(
        &self,
        events: &[crate::domain::event::Event],
        photos: &[wire::PhotoManifest],
    ) -> Result<u64> {
        let now = self.now().to_rfc3339();
        self.store().write(|tx| apply::sequenced(tx, events, photos, &now))
    }

    /// The newest server_seq this ledger holds.
    pub fn sequenced_head(&self) -> Result<u64> {
        self.store().read(|conn| {
            Ok::<_, RectifyError>(
                conn.query_row("SELECT coalesce(max(server_seq), 0) FROM events", [], |row| row.get::<_, i64>(0))?
                    as u64,
            )
        })
    }

    /// For the same read copy: stores the office's places and boundaries as published.
    pub fn apply_reference_data(&self, data: &wire::ReferenceData) -> Result<()> {
        let now = self.now().to_rfc3339();
        self.store().write(|tx| apply::reference(tx, data, &now).map(drop))
    }

    /// The office this device syncs with, if it is enrolled.
    pub fn sync_status(&self) -> Result<Option<SyncStatus>> {
        self.store().read(|conn| {
            Ok::<_, RectifyError>(sync_store::load(conn)?.map(|state| SyncStatus {
                server_url: state.server_url,
                epoch: state.epoch,
                pulled_in_scope: state.tally.count,
                last_sync_at: state.last_sync_at,
                last_error: state.last_error,
            }))
        })
    }
}
