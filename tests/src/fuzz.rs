//! Fuzz targets: each decoder that reads outside input, as a function of raw bytes that must never panic
//! and never make the office answer 5xx. The same functions run three ways:
//! - under libFuzzer, from the `fuzz/` crate built with coverage instrumentation (`scripts/fuzz.sh`);
//! - over their seeds and every committed crash in `tests/fuzz/regressions/TARGET/`, in `cargo test`
//!   (`tests/tests/fuzz_replay.rs`);
//! - by hand: `cargo run -p rectify-tests --bin fuzz-seeds -- DIR` writes the seeds.
//!
//! The targets share one fixture per process: a real office (in-process, real storage and router) with
//! three synthetic villages, an inspector device that has not pushed yet (its token sends the push
//! bodies), an acceptor device (it receives the pull bodies) and a second inspector whose photo the office
//! expects but has not received (the chunks go to it). Seeds are captured from real traffic in a fixture
//! like it; the ids that differ between fixtures are written as placeholders and put back before use.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rectify_core::domain::role::Role;
use rectify_core::ledger::{BoundaryImport, Command, Ledger};
use rectify_core::store::OpenMode;
use rectify_core::sync::wire::{OCTETS, UPLOAD_CHECKSUM, UPLOAD_LENGTH, UPLOAD_OFFSET, gunzip};
use rectify_core::sync::{
    HttpRequest, HttpResponse, Method, Quiet, RetryPolicy, SyncOptions, Transport, TransportError,
};

use crate::inproc::{Direct, OfficeNode};
use crate::office::{
    field_photo_at, fixed_clock, point_in, raw_request, report_with_photo, token_of, villages_geojson,
};

/// A fuzz target: takes any bytes; panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name its libFuzzer binary and its corpus folder carry.
pub const TARGETS: &[(&str, Target)] = &[
    ("push_body", push_body),
    ("pull_body", pull_body),
    ("photo_chunk", photo_chunk),
    ("geojson_import", geojson_import),
    ("exif_inspect", exif_inspect),
];

/// The committed crashes and hangs of `target`, replayed by `cargo test`.
pub fn regressions_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("regressions").join(target)
}

const VILLAGES: usize = 3;
const CLOCK: &str = "2026-11-02T09:00:00+08:00";

/// Stand-ins for the ids that differ from one fixture to the next, in seeds and regression files.
const PUSHER_DEVICE: &str = "00000000-0000-7000-8000-00000000a001";
const PUSHER_USER: &str = "00000000-0000-7000-8000-00000000a002";
const VILLAGE: [&str; VILLAGES] = [
    "00000000-0000-7000-8000-00000000b001",
    "00000000-0000-7000-8000-00000000b002",
    "00000000-0000-7000-8000-00000000b003",
];
const EPOCH: &str = "e0e0e0e0e0e0e0e0";

struct Fixture {
    _dir: tempfile::TempDir,
    scratch: PathBuf,
    office: Mutex<OfficeNode>,
    /// The inspector whose token sends push bodies; it recorded nothing in the fixture.
    pusher: Mutex<Ledger>,
    pusher_token: String,
    /// The acceptor that receives pull bodies.
    puller: Mutex<Ledger>,
    photographer_token: String,
    /// A photo the office expects (its event arrived) but does not hold.
    expected_photo: String,
    /// An in-memory ledger that imports GeoJSON.
    mapper: Mutex<Ledger>,
    /// (placeholder, this fixture's value).
    names: Vec<(String, String)>,
}

fn options() -> SyncOptions {
    SyncOptions {
        retry: RetryPolicy {
            first_delay: std::time::Duration::ZERO,
            max_delay: std::time::Duration::ZERO,
            max_attempts: 1,
        },
        ..SyncOptions::default()
    }
}

/// A network on which photo uploads never get through.
struct NoUploads<'a>(&'a Mutex<OfficeNode>);

impl Transport for NoUploads<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        if request.path.starts_with("/v1/photos/") {
            return Err(TransportError::Unreachable("uploads are cut off in this fixture".into()));
        }
        Direct(self.0).send(request)
    }
}

fn device(office: &Mutex<OfficeNode>, dir: &Path, name: &str, role: Role) -> Ledger {
    let code = lock(office).office.issue_enrollment(name, role, &[]).unwrap_or_else(|err| panic!("{err}"));
    let ledger = Ledger::open(&dir.join(format!("{name}.db")), OpenMode::CreateIfMissing, fixed_clock(CLOCK))
        .unwrap_or_else(|err| panic!("{err}"));
    ledger.enroll(&Direct(office), "inproc://office", &code).unwrap_or_else(|err| panic!("enroll {name}: {err}"));
    ledger.sync(&Direct(office), options(), &Quiet).unwrap_or_else(|err| panic!("first sync of {name}: {err}"));
    ledger
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Fixture {
    fn build() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let node = OfficeNode::open(&dir.path().join("office"));
        let villages = villages_geojson(dir.path(), VILLAGES);
        node.office
            .ledger()
            .import_boundaries(&villages, &BoundaryImport::default())
            .unwrap_or_else(|err| panic!("{err}"));
        let epoch = node.office.epoch().to_string();
        let village_ids: Vec<String> = crate::office::village_codes(VILLAGES)
            .iter()
            .map(|code| {
                let views = node.office.ledger().villages().unwrap_or_else(|err| panic!("{err}"));
                let view = views.into_iter().find(|view| view.code == *code);
                view.unwrap_or_else(|| panic!("village {code} was not imported")).village.id.to_string()
            })
            .collect();
        let office = Mutex::new(node);

        let pusher = device(&office, dir.path(), "pusher", Role::Inspector);
        let photographer = device(&office, dir.path(), "photographer", Role::Inspector);
        let code = &crate::office::village_codes(1)[0];
        let camera = dir.path().join("camera");
        std::fs::create_dir_all(&camera).unwrap_or_else(|err| panic!("{err}"));
        let (lat, lon) = point_in(&photographer, code);
        let at = chrono::DateTime::parse_from_rfc3339(CLOCK).unwrap_or_else(|err| panic!("{err}"));
        let photo = field_photo_at(&camera, "expected.jpg", 7, (lat, lon), (640, 480), at);
        let reported = photographer
            .report(&rectify_core::ledger::NewReport {
                category: "village.scattered_garbage".into(),
                village_code: Some(code.clone()),
                lat,
                lon,
                photos: vec![photo],
                ..Default::default()
            })
            .unwrap_or_else(|err| panic!("{err}"));
        // The event goes up; its photo cannot.
        let _ = photographer.sync(&NoUploads(&office), options(), &Quiet);
        let expected_photo = reported.before_photos[0].as_str().to_string();
        let puller = device(&office, dir.path(), "puller", Role::Acceptor);

        let profile = pusher.profile().unwrap_or_else(|err| panic!("{err}"));
        let mut names = vec![
            (PUSHER_DEVICE.to_string(), profile.device_id.to_string()),
            (PUSHER_USER.to_string(), profile.user_id.to_string()),
            (EPOCH.to_string(), epoch),
        ];
        names.extend(VILLAGE.iter().zip(village_ids).map(|(stand_in, id)| (stand_in.to_string(), id)));
        let mapper = Ledger::in_memory(fixed_clock(CLOCK)).unwrap_or_else(|err| panic!("{err}"));
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(&scratch).unwrap_or_else(|err| panic!("{err}"));
        Self {
            scratch,
            office,
            pusher_token: token_of(&pusher),
            pusher: Mutex::new(pusher),
            puller: Mutex::new(puller),
            photographer_token: token_of(&photographer),
            expected_photo,
            mapper: Mutex::new(mapper),
            names,
            _dir: dir,
        }
    }

    /// Puts this fixture's ids where the input has placeholders.
    fn localise(&self, data: &[u8]) -> Vec<u8> {
        self.names.iter().fold(data.to_vec(), |bytes, (stand_in, real)| replace_all(&bytes, stand_in, real))
    }

    /// Puts placeholders where captured traffic has this fixture's ids.
    fn generalise(&self, data: &[u8]) -> Vec<u8> {
        self.names.iter().fold(data.to_vec(), |bytes, (stand_in, real)| replace_all(&bytes, real, stand_in))
    }

    fn deliver(&self, request: &HttpRequest) -> HttpResponse {
        let response = lock(&self.office).deliver(request);
        assert!(
            response.status < 500,
            "{} {}: the office failed with {}: {}",
            request.method.as_str(),
            request.path,
            response.status,
            String::from_utf8_lossy(&response.body)
        );
        response
    }
}

fn replace_all(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(from) {
            out.extend_from_slice(to);
            rest = &rest[from.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::build)
}

/// A push body, sent as the pushing inspector: the office decodes, judges and may store it.
pub fn push_body(data: &[u8]) {
    let fx = fixture();
    fx.deliver(&raw_request(&fx.pusher_token, Method::Post, "/v1/push", fx.localise(data)));
}

/// A pull page as the office would send it; the acceptor's sync client decodes it and applies it, or
/// refuses it, and the ledger stays readable.
pub fn pull_body(data: &[u8]) {
    let fx = fixture();
    let page = fx.localise(data);
    let served = Mutex::new(false);
    let network = Pages { fixture: fx, page, served: &served };
    let puller = lock(&fx.puller);
    let _ = puller.sync(&network, options(), &Quiet);
    puller.outbox().unwrap_or_else(|err| panic!("the ledger is unreadable after a pull page: {err}"));
}

/// Answers the first pull request with the page under test; the rest goes to the office.
struct Pages<'a> {
    fixture: &'a Fixture,
    page: Vec<u8>,
    served: &'a Mutex<bool>,
}

impl Transport for Pages<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut served = lock(self.served);
        if request.path.starts_with("/v1/pull") && !*served {
            *served = true;
            return Ok(HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: self.page.clone(),
            });
        }
        drop(served);
        Ok(lock(&self.fixture.office).deliver(request))
    }
}

/// A photo chunk: three header lines (`upload-offset`, `upload-length`, `upload-checksum`) and the body.
pub fn photo_chunk(data: &[u8]) {
    let fx = fixture();
    let mut parts = data.splitn(4, |byte| *byte == b'\n');
    let mut line = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (offset, length, checksum) = (line(), line(), line());
    let body = parts.next().unwrap_or_default().to_vec();
    let headers = [(UPLOAD_OFFSET, offset), (UPLOAD_LENGTH, length), (UPLOAD_CHECKSUM, checksum)];
    // Only what an HTTP client can put on the wire reaches the office.
    if headers.iter().any(|(_, value)| axum::http::HeaderValue::from_str(value).is_err()) {
        return;
    }
    let path = format!("/v1/photos/{}", fx.expected_photo);
    let mut request = raw_request(&fx.photographer_token, Method::Patch, &path, body).header("content-type", OCTETS);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    fx.deliver(&request);
}

/// A boundary file, imported as `villages import` and the devices' `import-boundaries` would; a refused file
/// leaves nothing behind.
pub fn geojson_import(data: &[u8]) {
    let fx = fixture();
    let mapper = lock(&fx.mapper);
    let path = fx.scratch.join("boundaries.geojson");
    std::fs::write(&path, data).unwrap_or_else(|err| panic!("{err}"));
    for any_winding in [false, true] {
        let options = BoundaryImport { any_winding, ..BoundaryImport::default() };
        let _ = mapper.import_boundaries(&path, &options);
    }
}

/// A photo file as `photo inspect` reads it: the JPEG checks, the frame header and the Exif block.
pub fn exif_inspect(data: &[u8]) {
    if let Ok(source) = rectify_core::photo::Source::from_bytes(Path::new("fuzz.jpg"), data.to_vec()) {
        let _ = source.inspect();
    }
}

/// Records every request a device sends and every answer it gets.
struct Recording<'a> {
    inner: Direct<'a>,
    seen: Mutex<Vec<(HttpRequest, HttpResponse)>>,
}

impl Transport for Recording<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let response = self.inner.send(request)?;
        lock(&self.seen).push((request.clone(), response.clone()));
        Ok(response)
    }
}

fn plain(message: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let gzipped = message.iter().any(|(name, value)| name == "content-encoding" && value == "gzip");
    if gzipped { gunzip(body, 64 << 20).unwrap_or_else(|err| panic!("{err}")) } else { body.to_vec() }
}

/// Writes seeds for every target under `dir/TARGET/`, captured from real traffic; returns how many.
pub fn write_seeds(dir: &Path) -> usize {
    let fx = fixture();
    let mut written = 0;
    let mut write = |target: &str, name: &str, bytes: &[u8]| {
        let folder = dir.join(target);
        std::fs::create_dir_all(&folder).unwrap_or_else(|err| panic!("{err}"));
        std::fs::write(folder.join(name), bytes).unwrap_or_else(|err| panic!("{err}"));
        written += 1;
    };

    // Push and pull: a small day's work by a fresh inspector, and an acceptor receiving it.
    let office = &fx.office;
    let dir_devices = fx.scratch.join("seed-devices");
    std::fs::create_dir_all(&dir_devices).unwrap_or_else(|err| panic!("{err}"));
    let recorder = Recording { inner: Direct(office), seen: Mutex::new(Vec::new()) };
    {
        let pusher = lock(&fx.pusher);
        let code = &crate::office::village_codes(VILLAGES)[1];
        let first = report_with_photo(&pusher, &dir_devices, code, 11, (64, 48));
        let second = report_with_photo(&pusher, &dir_devices, code, 12, (64, 48));
        for command in [
            Command::Comment { text: "still there at noon".into() },
            Command::Withdraw { duplicate_of: Some(first.id), note: None },
        ] {
            pusher.act(second.id, &command).unwrap_or_else(|err| panic!("{err}"));
        }
        pusher.act(first.id, &Command::Comment { text: "逾期未整改".into() }).unwrap_or_else(|err| panic!("{err}"));
        let small = SyncOptions { push_events: 2, ..options() };
        pusher.sync(&recorder, small, &Quiet).unwrap_or_else(|err| panic!("{err}"));
    }
    let pusher_pushes = std::mem::take(&mut *lock(&recorder.seen));
    {
        let puller = lock(&fx.puller);
        puller.sync(&recorder, SyncOptions { page_size: 3, ..options() }, &Quiet).unwrap_or_else(|err| panic!("{err}"));
    }
    let pulls = std::mem::take(&mut *lock(&recorder.seen));
    for (n, (request, _)) in pusher_pushes.iter().filter(|(request, _)| request.path == "/v1/push").enumerate() {
        write("push_body", &format!("seed-{n}.json"), &fx.generalise(&plain(&request.headers, &request.body)));
    }
    for (n, (_, response)) in pulls.iter().filter(|(request, _)| request.path.starts_with("/v1/pull")).enumerate() {
        write("pull_body", &format!("seed-{n}.json"), &fx.generalise(&plain(&response.headers, &response.body)));
    }

    // Chunks of the photo the office expects: the first, a bad checksum, a stale offset.
    let photographer_dir = fx.scratch.parent().map(|parent| parent.join("photographer.db")).unwrap_or_default();
    let photographer =
        Ledger::open(&photographer_dir, OpenMode::MustExist, fixed_clock(CLOCK)).unwrap_or_else(|err| panic!("{err}"));
    let record = photographer
        .photo(&fx.expected_photo.parse().unwrap_or_else(|err| panic!("{err}")))
        .unwrap_or_else(|err| panic!("{err}"));
    let file = photographer.photo_path(&record).unwrap_or_else(|| panic!("the expected photo has no file"));
    let bytes = std::fs::read(file).unwrap_or_else(|err| panic!("{err}"));
    drop(photographer);
    let chunk = &bytes[..bytes.len().min(4096)];
    let sum = rectify_core::domain::photo::PhotoHash::of_bytes(chunk);
    let length = bytes.len();
    let good = [format!("0\n{length}\nsha256 {}\n", sum.as_str()).into_bytes(), chunk.to_vec()].concat();
    write("photo_chunk", "first.bin", &good);
    write(
        "photo_chunk",
        "bad-sum.bin",
        &[format!("0\n{length}\nsha256 {}\n", "0".repeat(64)).into_bytes(), chunk.to_vec()].concat(),
    );
    write(
        "photo_chunk",
        "stale.bin",
        &[format!("99999\n{length}\nsha256 {}\n", sum.as_str()).into_bytes(), chunk.to_vec()].concat(),
    );

    // Boundaries: the synthetic villages, and small hand-made shapes.
    let villages = villages_geojson(&fx.scratch, VILLAGES);
    write("geojson_import", "villages.geojson", &std::fs::read(villages).unwrap_or_else(|err| panic!("{err}")));
    for (name, text) in GEOJSON_SEEDS {
        write("geojson_import", name, text.as_bytes());
    }

    // Photos: with a full Exif block, with a southern/western fix, with none.
    let at = chrono::DateTime::parse_from_rfc3339(CLOCK).unwrap_or_else(|err| panic!("{err}"));
    for (name, fix) in [("north-east.jpg", (36.38, 120.45)), ("south-west.jpg", (-33.9, -70.6))] {
        let path = field_photo_at(&fx.scratch, name, 3, fix, (48, 32), at);
        write("exif_inspect", name, &std::fs::read(path).unwrap_or_else(|err| panic!("{err}")));
    }
    write("exif_inspect", "no-exif.jpg", &rectify_core::photo::synthetic::jpeg(40, 30, 5, 80, None));
    written
}

/// Shapes a boundary file may hold, right and wrong.
const GEOJSON_SEEDS: &[(&str, &str)] = &[
    (
        "hole.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"370215400001","name":"A"},"geometry":{"type":"Polygon","coordinates":[[[120.0,36.0],[120.01,36.0],[120.01,36.01],[120.0,36.01],[120.0,36.0]],[[120.004,36.004],[120.004,36.006],[120.006,36.006],[120.006,36.004],[120.004,36.004]]]}}]}"#,
    ),
    (
        "multi.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"370215400002","name":"B"},"geometry":{"type":"MultiPolygon","coordinates":[[[[120.0,36.0],[120.01,36.0],[120.01,36.01],[120.0,36.0]]],[[[120.02,36.0],[120.03,36.0],[120.03,36.01],[120.02,36.0]]]]}}]}"#,
    ),
    (
        "clockwise.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"370215400003"},"geometry":{"type":"Polygon","coordinates":[[[120.0,36.0],[120.0,36.01],[120.01,36.01],[120.01,36.0],[120.0,36.0]]]}}]}"#,
    ),
    (
        "no-code.geojson",
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"C"},"geometry":{"type":"Point","coordinates":[120.0,36.0]}}]}"#,
    ),
    ("feature.geojson", r#"{"type":"Feature","properties":{"code":"370215400004"},"geometry":null}"#),
];
