//! The real office called in-process: its storage, validation and HTTP router, without sockets. Used by
//! the deterministic simulation and by the fuzz targets, which need every request to run on the caller's
//! thread, in order.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rectify_core::sync::{HttpRequest, HttpResponse, Transport, TransportError};
use rectify_office::{Database, Office};

/// The office as a process would hold it: opened from its directory, with its router.
pub struct OfficeNode {
    pub office: Arc<Office>,
    router: axum::Router,
    runtime: tokio::runtime::Runtime,
}

impl OfficeNode {
    pub fn open(dir: &Path) -> Self {
        Self::open_with(dir, &Database::Sqlite)
    }

    /// The office in `dir` on the given database.
    pub fn open_with(dir: &Path, database: &Database) -> Self {
        let office = Office::open_with(dir, database)
            .unwrap_or_else(|err| panic!("open the office in {}: {err}", dir.display()));
        let router = rectify_office::http::router(office.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("tokio runtime: {err}"));
        Self { office, router, runtime }
    }

    /// Hands one request to the router and waits for its whole answer.
    pub fn deliver(&self, request: &HttpRequest) -> HttpResponse {
        use tower::ServiceExt;
        let mut builder = axum::http::Request::builder().method(request.method.as_str()).uri(&request.path);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let built = builder.body(axum::body::Body::from(request.body.clone())).unwrap_or_else(|err| {
            panic!("{} {} is not a request HTTP can carry: {err}", request.method.as_str(), request.path)
        });
        let router = self.router.clone();
        self.runtime.block_on(async move {
            let response = match router.oneshot(built).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or_default().to_string()))
                .collect();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_else(|err| panic!("the office's answer could not be read: {err}"))
                .to_vec();
            HttpResponse { status, headers, body }
        })
    }
}

impl std::fmt::Debug for OfficeNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficeNode").field("epoch", &self.office.epoch()).finish_non_exhaustive()
    }
}

/// A perfect network to an in-process office.
#[derive(Debug)]
pub struct Direct<'a>(pub &'a Mutex<OfficeNode>);

impl Transport for Direct<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let node = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(node.deliver(request))
    }
}
