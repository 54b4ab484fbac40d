//! The office's HTTP API (protocol v1) on axum. Handlers check the protocol header, the bearer token and
//! the body (size, content type, encoding, JSON) and answer every refusal with a 4xx and a JSON body
//! `{"error", "message"}`; the work itself runs on the blocking pool because SQLite and the disk block.
//!
//! Routes: `GET /healthz`; `POST /v1/enroll`; `GET /v1/sync/state`; `GET /v1/reference`; `POST /v1/push`;
//! `GET /v1/pull?cursor=&limit=`; `HEAD|PATCH|GET /v1/photos/{hash}`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rectify_core::domain::photo::PhotoHash;
use rectify_core::sync::wire::{
    self, EnrollRequest, EnrollResponse, ErrorBody, JSON, PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest, SyncHello,
    UploadStatus,
};
use serde::Deserialize;

use crate::{Credential, Office, OfficeError};

/// An answer that is not a success.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
}

impl From<OfficeError> for ApiError {
    fn from(err: OfficeError) -> Self {
        let (status, code) = match &err {
            OfficeError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            OfficeError::Unauthorised(_) => (StatusCode::UNAUTHORIZED, "unauthorised"),
            OfficeError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            OfficeError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            // tus's "checksum mismatch": the device sends the chunk again.
            OfficeError::ChecksumMismatch(_) => {
                (StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST), "checksum_mismatch")
            }
            OfficeError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %err, "request failed");
        }
        Self::new(status, code, err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            serde_json::to_vec(&ErrorBody { error: self.code.to_string(), message: self.message }).unwrap_or_default();
        (self.status, [(header::CONTENT_TYPE, JSON)], body).into_response()
    }
}

type Answer = Result<Response, ApiError>;

/// The API over `office`.
pub fn router(office: Arc<Office>) -> Router {
    let v1 = Router::new()
        .route("/enroll", post(enroll))
        .route("/sync/state", get(hello))
        .route("/reference", get(reference))
        .route("/push", post(push))
        .route("/pull", get(pull))
        .route("/photos/{hash}", get(download).head(upload_status).patch(upload_chunk))
        .layer(middleware::from_fn(check_protocol));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/v1", v1)
        .with_state(office.clone())
        .merge(crate::web::router(office))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(middleware::from_fn(log_request))
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    office: Arc<Office>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connection info gives the login limiter each client's address.
    axum::serve(listener, router(office).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let response = next.run(request).await;
    tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64);
    response
}

async fn check_protocol(request: Request, next: Next) -> Response {
    let asked = request.headers().get(PROTOCOL_HEADER).and_then(|value| value.to_str().ok()).map(str::to_string);
    match asked.as_deref() {
        Some(version) if version.trim() == PROTOCOL_VERSION.to_string() => next.run(request).await,
        Some(version) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!("this office speaks protocol {PROTOCOL_VERSION}, not {version}; update the app"),
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!("say which protocol you speak in the {PROTOCOL_HEADER} header (this office: {PROTOCOL_VERSION})"),
        )
        .into_response(),
    }
}

/// A cheap liveness answer that also proves the database reads: the office's newest `server_seq`. The
/// full integrity check is `rectify-office check` (it reads every page, and would hold up pushes).
async fn healthz(State(office): State<Arc<Office>>) -> Answer {
    let head = blocking(move || office.backend().head()).await?;
    Ok(json_response(&serde_json::json!({"status": "ok", "server_seq": head}), false))
}

/// Runs blocking work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OfficeError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(err) => Err(ApiError::from(OfficeError::Internal(format!("the request's work failed: {err}")))),
    }
}

fn json_response<T: serde::Serialize>(value: &T, compress: bool) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    bytes_response(body, compress)
}

fn bytes_response(body: Vec<u8>, compress: bool) -> Response {
    if compress {
        let packed = wire::gzip(&body);
        ([(header::CONTENT_TYPE, JSON), (header::CONTENT_ENCODING, "gzip")], packed).into_response()
    } else {
        ([(header::CONTENT_TYPE, JSON)], body).into_response()
    }
}

fn wants_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|item| item.trim().starts_with("gzip")))
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorised",
                "send the device's token as `Authorization: Bearer TOKEN`",
            )
        })
}

/// Reads a JSON body: at most `limit` bytes on the wire and after decompression, JSON content type.
async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    let kind = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !kind.split(';').next().is_some_and(|kind| kind.trim().eq_ignore_ascii_case(JSON)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as {JSON}, not `{kind}`"),
        ));
    }
    let bytes = read_body(body, limit).await?;
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|value| value.to_str().ok()).unwrap_or("identity");
    let plain = match encoding.trim() {
        "gzip" => wire::gunzip(&bytes, limit).map_err(|reason| {
            if reason.contains("beyond") {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", reason)
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_body", reason)
            }
        })?,
        "identity" | "" => bytes.to_vec(),
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                format!("content encoding `{other}` is not accepted: use gzip or none"),
            ));
        }
    };
    serde_json::from_slice(&plain).map_err(|err| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid: {err}"))
    })
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        if err.to_string().contains("length limit") {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("the body is larger than {limit} bytes"))
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", format!("the body could not be read whole: {err}"))
        }
    })
}

async fn enroll(State(office): State<Arc<Office>>, headers: HeaderMap, body: Body) -> Answer {
    let request: EnrollRequest = json_body(&headers, body, 16 << 10).await?;
    let epoch = office.epoch().to_string();
    let (token, credential) = blocking(move || office.enroll(&request.code, request.device_id)).await?;
    tracing::info!(device = %credential.device_id, user = %credential.user_name, "device enrolled");
    Ok(json_response(
        &EnrollResponse {
            token,
            user_id: credential.user_id,
            user_name: credential.user_name,
            role: credential.role,
            villages: credential.villages,
            epoch,
        },
        false,
    ))
}

async fn authenticated(office: &Arc<Office>, headers: &HeaderMap) -> Result<Credential, ApiError> {
    let token = bearer(headers)?;
    let office = office.clone();
    blocking(move || office.authenticate(&token)).await
}

async fn hello(State(office): State<Arc<Office>>, headers: HeaderMap) -> Answer {
    let credential = authenticated(&office, &headers).await?;
    let answer = blocking(move || {
        let (reference_version, _) = office.reference()?;
        let (acked_through, head) = office.backend().position(credential.device_id)?;
        Ok(SyncHello {
            protocol: PROTOCOL_VERSION,
            epoch: office.epoch().to_string(),
            acked_through,
            head,
            reference_version,
            limits: office.limits(),
            role: credential.role,
            villages: credential.villages,
        })
    })
    .await?;
    Ok(json_response(&answer, false))
}

async fn reference(State(office): State<Arc<Office>>, headers: HeaderMap) -> Answer {
    authenticated(&office, &headers).await?;
    let (version, body) = blocking(move || office.reference()).await?;
    let mut response = bytes_response(body.as_ref().clone(), wants_gzip(&headers));
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

async fn push(State(office): State<Arc<Office>>, headers: HeaderMap, body: Body) -> Answer {
    let credential = authenticated(&office, &headers).await?;
    let limits = office.limits();
    let request: PushRequest = json_body(&headers, body, limits.max_push_bytes).await?;
    if request.events.len() > limits.max_push_events {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{} events in one push; the limit is {}", request.events.len(), limits.max_push_events),
        ));
    }
    let answer = blocking(move || office.push(&credential, request)).await?;
    Ok(json_response(&answer, wants_gzip(&headers)))
}

#[derive(Debug, Deserialize)]
struct PullQuery {
    #[serde(default)]
    cursor: String,
    limit: Option<usize>,
}

async fn pull(State(office): State<Arc<Office>>, headers: HeaderMap, Query(query): Query<PullQuery>) -> Answer {
    let credential = authenticated(&office, &headers).await?;
    let compress = wants_gzip(&headers);
    let limit = query.limit.unwrap_or(office.limits().max_pull_events);
    let (body, cursor, more) = blocking(move || {
        let page = office.pull(&credential, &query.cursor, limit)?;
        let body = serde_json::to_vec(&page).map_err(|err| OfficeError::Internal(err.to_string()))?;
        Ok((body, page.cursor, page.more))
    })
    .await?;
    let mut response = bytes_response(body, compress);
    if let Ok(cursor) = HeaderValue::from_str(&cursor) {
        response.headers_mut().insert(wire::PULL_CURSOR, cursor);
    }
    response.headers_mut().insert(wire::PULL_MORE, HeaderValue::from_static(if more { "yes" } else { "no" }));
    Ok(response)
}

fn photo_hash(text: &str) -> Result<PhotoHash, ApiError> {
    text.parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_hash", format!("`{text}` is not a SHA-256 in hex")))
}

fn upload_headers(status: &UploadStatus, mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (wire::UPLOAD_OFFSET, status.offset.to_string()),
        (wire::UPLOAD_LENGTH, status.length.to_string()),
        ("photo-present", if status.present { "yes" } else { "no" }.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn upload_status(State(office): State<Arc<Office>>, headers: HeaderMap, Path(hash): Path<String>) -> Answer {
    authenticated(&office, &headers).await?;
    let hash = photo_hash(&hash)?;
    let status = blocking(move || office.upload_status(&hash)).await?;
    Ok(upload_headers(&status, StatusCode::OK.into_response()))
}

async fn upload_chunk(
    State(office): State<Arc<Office>>,
    headers: HeaderMap,
    Path(hash): Path<String>,
    body: Body,
) -> Answer {
    authenticated(&office, &headers).await?;
    let hash = photo_hash(&hash)?;
    let kind = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    if !kind.eq_ignore_ascii_case(wire::OCTETS) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send chunks as {}, not `{kind}`", wire::OCTETS),
        ));
    }
    let number = |name: &str| -> Result<u64, ApiError> {
        headers.get(name).and_then(|value| value.to_str().ok()).and_then(|value| value.trim().parse().ok()).ok_or_else(
            || ApiError::new(StatusCode::BAD_REQUEST, "bad_header", format!("send the `{name}` header as a number")),
        )
    };
    let (offset, length) = (number(wire::UPLOAD_OFFSET)?, number(wire::UPLOAD_LENGTH)?);
    let checksum =
        headers.get(wire::UPLOAD_CHECKSUM).and_then(|value| value.to_str().ok()).map(str::to_string).ok_or_else(
            || ApiError::new(StatusCode::BAD_REQUEST, "bad_header", "send the chunk's `upload-checksum: sha256 HEX`"),
        )?;
    let chunk = read_body(body, office.limits().max_chunk_bytes).await?;
    let status = blocking(move || office.upload_chunk(&hash, offset, length, &checksum, &chunk)).await?;
    Ok(upload_headers(&status, json_response(&status, false)))
}

async fn download(State(office): State<Arc<Office>>, headers: HeaderMap, Path(hash): Path<String>) -> Answer {
    let credential = authenticated(&office, &headers).await?;
    let hash = photo_hash(&hash)?;
    let bytes = blocking(move || office.photo_bytes(&credential, &hash)).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, max-age=31536000, immutable")], bytes)
        .into_response())
}
