//! Bad requests get a 4xx with a JSON body that says what was wrong, and the office keeps serving.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rectify_core::clock::Hlc;
use rectify_core::domain::event::{Comment, Event, EventBody};
use rectify_core::domain::role::Role;
use rectify_core::ids::{DeviceId, EventId, IssueId, UserId};
use rectify_core::sync::wire::{Limits, PROTOCOL_HEADER, PushRequest};
use rectify_core::sync::{HttpRequest, HttpResponse, HttpTransport, Method, Transport};
use rectify_office::Office;

struct Running {
    url: String,
    token: String,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut office = Office::open(dir.path()).unwrap();
    Arc::get_mut(&mut office).unwrap().set_limits(Limits {
        max_push_events: 3,
        max_push_bytes: 64 << 10,
        max_pull_events: 10,
        max_chunk_bytes: 4096,
    });
    let code = office.issue_enrollment("admin", Role::Admin, &[]).unwrap();
    let (token, _) = office.enroll(&code, DeviceId::new()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(rectify_office::http::serve(office, listener, std::future::pending()));
    Running { url, token, _runtime: runtime, _dir: dir }
}

impl Running {
    fn send(&self, request: HttpRequest) -> HttpResponse {
        HttpTransport::new(&self.url).send(&request).unwrap()
    }

    fn request(&self, method: Method, path: &str) -> HttpRequest {
        HttpRequest::new(method, path)
            .header(PROTOCOL_HEADER, "1")
            .header("authorization", format!("Bearer {}", self.token))
    }

    /// Asserts a refusal: its status, its error code, a message, and that the office still answers.
    fn refused(&self, request: HttpRequest, status: u16, code: &str) -> String {
        let response = self.send(request);
        assert_eq!(response.status, status, "{}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["error"], code, "{body}");
        let message = body["message"].as_str().unwrap().to_string();
        assert!(message.len() > 10, "{message}");
        let health = self.send(HttpRequest::new(Method::Get, "/healthz"));
        assert_eq!(health.status, 200, "the office keeps serving");
        message
    }
}

#[test]
fn each_bad_request_gets_a_clear_4xx_and_the_office_keeps_serving() {
    let office = start();
    let push = |body: &[u8]| {
        office.request(Method::Post, "/v1/push").header("content-type", "application/json").body(body.to_vec())
    };

    let message = office.refused(push(b"{\"events\": [oops"), 400, "malformed_json");
    assert!(message.contains("not valid"), "{message}");
    office.refused(push(b"{\"events\": 7}"), 400, "malformed_json");

    let wrong_type = office.request(Method::Post, "/v1/push").header("content-type", "text/plain").body(b"{}".to_vec());
    let message = office.refused(wrong_type, 415, "unsupported_media_type");
    assert!(message.contains("application/json"), "{message}");
    let no_type = office.request(Method::Post, "/v1/push").body(b"{\"events\": []}".to_vec());
    office.refused(no_type, 415, "unsupported_media_type");
    let odd_encoding = push(b"{\"events\": []}").header("content-encoding", "br");
    office.refused(odd_encoding, 415, "unsupported_encoding");

    let oversized = vec![b' '; 65 << 10];
    office.refused(push(&oversized), 413, "too_large");
    // A small gzip body that inflates beyond the limit is refused as too large too.
    let mut bomb = b"{\"events\": [], \"pad\": \"".to_vec();
    bomb.extend(vec![b'a'; 1 << 20]);
    bomb.extend(b"\"}");
    let packed = rectify_core::sync::wire::gzip(&bomb);
    assert!(packed.len() < 64 << 10);
    office.refused(push(&packed).header("content-encoding", "gzip"), 413, "too_large");
    let comment = |seq: u64| Event {
        event_id: EventId::new(),
        issue_id: IssueId::new(),
        device_id: DeviceId::new(),
        device_seq: seq,
        author: UserId::new(),
        body: EventBody::Comment(Comment { text: "hello".into() }),
        hlc: Hlc::from_raw(seq),
        recorded_at: chrono::Utc::now().fixed_offset(),
        parents: Vec::new(),
        photos: Vec::new(),
        server_seq: None,
        verdict: None,
    };
    let too_many =
        serde_json::to_vec(&PushRequest { events: (1..=4).map(comment).collect(), photos: Vec::new() }).unwrap();
    let message = office.refused(push(&too_many), 413, "too_large");
    assert!(message.contains("limit is 3"), "{message}");

    let mut unknown_version = office.request(Method::Get, "/v1/sync/state");
    unknown_version = unknown_version.header(PROTOCOL_HEADER, "7");
    let message = office.refused(unknown_version, 400, "unsupported_protocol");
    assert!(message.contains('7'), "{message}");
    let without_version =
        HttpRequest::new(Method::Get, "/v1/sync/state").header("authorization", format!("Bearer {}", office.token));
    office.refused(without_version, 400, "unsupported_protocol");

    let hash = "ab".repeat(32);
    let chunk = office
        .request(Method::Patch, &format!("/v1/photos/{hash}"))
        .header("content-type", "application/octet-stream")
        .header("upload-offset", "0")
        .header("upload-length", "9000")
        .header("upload-checksum", "sha256 00")
        .body(vec![0u8; 5000]);
    office.refused(chunk, 413, "too_large");
    office.refused(office.request(Method::Get, "/v1/photos/not-a-hash"), 400, "bad_hash");
    // A HEAD answer has no body; its status says it.
    assert_eq!(office.send(office.request(Method::Head, &format!("/v1/photos/{hash}"))).status, 404);
    office.refused(office.request(Method::Get, "/v1/pull?cursor=garbage"), 422, "invalid");
    office.refused(office.request(Method::Get, "/v1/pull?cursor=0000000000000000.5"), 409, "conflict");
    office.refused(office.request(Method::Get, "/v1/nowhere"), 404, "not_found");
    office.refused(HttpRequest::new(Method::Get, "/v1/sync/state").header(PROTOCOL_HEADER, "1"), 401, "unauthorised");

    // After all of that, a well-formed request works.
    let state = office.send(office.request(Method::Get, "/v1/sync/state"));
    assert_eq!(state.status, 200);
    let hello: serde_json::Value = serde_json::from_slice(&state.body).unwrap();
    assert_eq!(hello["limits"]["max_push_events"], 3);
    let pull = office.send(office.request(Method::Get, "/v1/pull"));
    assert_eq!(pull.status, 200);
}
