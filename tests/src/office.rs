//! A real district office for tests: the `rectify-office` binary serving on a loopback port, with
//! synthetic villages imported. It can be killed with SIGKILL and started again on the same port.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rectify_core::clock::ManualClock;
use rectify_core::ledger::Ledger;
use rectify_core::photo::exif::{Capture, Gps, TakenAt};
use rectify_core::store::OpenMode;
use rectify_core::sync::{HttpTransport, Quiet, RetryPolicy, SyncOptions, SyncReport};

/// A binary of this workspace, built beside the test executable (`cargo test` builds them first) or
/// beside the running binary (the fixtures in `src/bin`).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let beside = exe.parent().map(|dir| dir.join(name)).filter(|path| path.exists());
    let dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let path = beside.unwrap_or_else(|| dir.join(name));
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` (or `cargo test --workspace`)",
        path.display()
    );
    path
}

/// Village codes of the synthetic town, in the order `villages_geojson` writes them.
pub fn village_codes(count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("370215400{n:03}")).collect()
}

/// Writes `count` synthetic village boundaries (clearly labelled) as GeoJSON; returns the file.
pub fn villages_geojson(dir: &Path, count: usize) -> PathBuf {
    let villages: Vec<(String, String)> = village_codes(count)
        .into_iter()
        .enumerate()
        .map(|(n, code)| (code, format!("Test village {}", n + 1)))
        .collect();
    let (_, boundaries) = rectify_core::geo::synthetic::for_villages(&villages, 36.38, 120.45, 900.0, 7);
    let path = dir.join("villages.geojson");
    std::fs::write(&path, rectify_core::geo::synthetic::labelled_feature_collection(&boundaries).to_string())
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    path
}

/// A point well inside a village, found through a device's boundaries.
pub fn point_in(ledger: &Ledger, code: &str) -> (f64, f64) {
    use geo::InteriorPoint;
    let found = ledger
        .store()
        .read(|conn| {
            let all = rectify_core::store::boundaries::all(conn)?;
            Ok::<_, rusqlite::Error>(all.into_iter().find(|boundary| boundary.code == code))
        })
        .unwrap_or_else(|err| panic!("{err}"));
    let boundary = found.unwrap_or_else(|| panic!("the device has no boundary for {code}"));
    let point = boundary.shape.interior_point().unwrap_or_else(|| panic!("{code} has an empty boundary"));
    (point.y(), point.x())
}

/// A running office.
#[derive(Debug)]
pub struct OfficeProcess {
    pub data: PathBuf,
    pub url: String,
    /// The PostgreSQL database it serves from; `None` for its SQLite file.
    pub database: Option<String>,
    /// More environment for every `rectify-office` it runs (object storage settings).
    pub env: Vec<(String, String)>,
    listen: String,
    child: Option<Child>,
}

impl OfficeProcess {
    /// Imports `villages` synthetic villages into a fresh office under `data` and starts serving.
    pub fn start(data: &Path, villages: usize) -> Self {
        Self::start_on(data, villages, None)
    }

    /// [`OfficeProcess::start`] on a PostgreSQL database (`Some(url)`) or on SQLite (`None`).
    pub fn start_on(data: &Path, villages: usize, database: Option<&str>) -> Self {
        Self::start_with(data, villages, database, Vec::new())
    }

    /// [`OfficeProcess::start_on`] with more environment for every command (e.g. `RECTIFY_PHOTOS_URL`).
    pub fn start_with(data: &Path, villages: usize, database: Option<&str>, env: Vec<(String, String)>) -> Self {
        std::fs::create_dir_all(data).unwrap_or_else(|err| panic!("{err}"));
        let file = villages_geojson(data.parent().unwrap_or(data), villages);
        let database = database.map(str::to_string);
        let status = Self::command(&database, &env)
            .args(["villages", "import", "--data"])
            .arg(data)
            .arg(&file)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|err| panic!("cannot run rectify-office: {err}"));
        assert!(status.success(), "village import failed");
        let mut office = Self {
            data: data.to_path_buf(),
            url: String::new(),
            database,
            env,
            listen: "127.0.0.1:0".into(),
            child: None,
        };
        office.spawn();
        office
    }

    /// One more office process on the same data and database, on a port of its own.
    pub fn another(&self) -> Self {
        self.another_in(&self.data)
    }

    /// One more office process on the same database with a data directory of its own (its own read copy
    /// of the ledger; photos only where the environment puts them).
    pub fn another_in(&self, data: &Path) -> Self {
        std::fs::create_dir_all(data).unwrap_or_else(|err| panic!("{err}"));
        let mut office = Self {
            data: data.to_path_buf(),
            url: String::new(),
            database: self.database.clone(),
            env: self.env.clone(),
            listen: "127.0.0.1:0".into(),
            child: None,
        };
        office.spawn();
        office
    }

    /// `rectify-office`, told which database to use through the environment (verbs without
    /// `--database` ignore it).
    fn command(database: &Option<String>, env: &[(String, String)]) -> Command {
        let mut command = Command::new(workspace_bin("rectify-office"));
        match database {
            Some(url) => command.env("RECTIFY_DATABASE_URL", url),
            None => command.env_remove("RECTIFY_DATABASE_URL"),
        };
        command.env_remove("RECTIFY_PHOTOS_URL").envs(env.iter().map(|(name, value)| (name, value)));
        command
    }

    fn spawn(&mut self) {
        let mut child = Self::command(&self.database, &self.env)
            .args(["serve", "--data"])
            .arg(&self.data)
            .args(["--listen", &self.listen])
            .env("RECTIFY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start rectify-office: {err}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap_or_else(|err| panic!("{err}"));
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line: {line}"));
        self.url = url.to_string();
        self.listen = url.trim_start_matches("http://").to_string();
        self.child = Some(child);
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same address and data.
    pub fn restart(&mut self) {
        self.kill9();
        for _ in 0..50 {
            let busy = std::net::TcpListener::bind(&self.listen).is_err();
            if !busy {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.spawn();
    }

    /// Runs an admin command (`rectify-office VERB --data DIR ARGS…`), returning stdout.
    pub fn admin(&self, verb: &[&str], args: &[&str]) -> String {
        let output = Self::command(&self.database, &self.env)
            .args(verb)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run rectify-office: {err}"));
        assert!(output.status.success(), "rectify-office {verb:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs an admin command that may fail, returning its whole output.
    pub fn admin_output(&self, verb: &[&str], args: &[&str]) -> std::process::Output {
        Self::command(&self.database, &self.env)
            .args(verb)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run rectify-office: {err}"))
    }

    /// A one-time enrollment code.
    pub fn enrollment_code(&self, user: &str, role: &str, villages: &[&str]) -> String {
        self.enroll(user, role, villages, &[])["code"].as_str().unwrap_or_default().to_string()
    }

    /// An enrollment link (`rectify://enroll?server=…&code=…`) for this office, as a QR code carries it.
    pub fn enrollment_link(&self, user: &str, role: &str, villages: &[&str]) -> String {
        let answer = self.enroll(user, role, villages, &["--server", &self.url]);
        answer["link"].as_str().unwrap_or_else(|| panic!("no link in {answer}")).to_string()
    }

    /// `rectify-office enroll --json` for a user, with `extra` arguments; its answer.
    fn enroll(&self, user: &str, role: &str, villages: &[&str], extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["--user", user, "--role", role, "--json"];
        for village in villages {
            args.extend(["--village", village]);
        }
        args.extend(extra);
        let out = self.admin(&["enroll"], &args);
        serde_json::from_str(&out).unwrap_or_else(|err| panic!("{err}: {out}"))
    }

    /// The office's database, read directly (WAL lets tests read beside the server).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(self.data.join("office.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    pub fn transport(&self) -> HttpTransport {
        HttpTransport::new(&self.url)
    }
}

impl Drop for OfficeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A device in a test: its ledger on disk, enrolled with the office.
pub fn enrolled_device(office: &OfficeProcess, dir: &Path, name: &str, role: &str, villages: &[&str]) -> Ledger {
    let code = office.enrollment_code(name, role, villages);
    let ledger = Ledger::open(&dir.join(format!("{name}.db")), OpenMode::CreateIfMissing, test_clock())
        .unwrap_or_else(|err| panic!("{err}"));
    ledger.enroll(&office.transport(), &office.url, &code).unwrap_or_else(|err| panic!("enroll {name}: {err}"));
    sync(&ledger, office).unwrap_or_else(|err| panic!("first sync of {name}: {err}"));
    ledger
}

/// The devices' clock: the system's, so deadlines and flags behave as in the field.
pub fn test_clock() -> Arc<dyn rectify_core::clock::Clock> {
    Arc::new(rectify_core::clock::SystemClock)
}

/// A fixed clock, for tests that need to reproduce times.
pub fn fixed_clock(at: &str) -> Arc<ManualClock> {
    let at: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(at).unwrap_or_else(|err| panic!("{err}"));
    Arc::new(ManualClock::new(at))
}

/// Quick retries, for tests.
pub fn fast_options() -> SyncOptions {
    SyncOptions {
        retry: RetryPolicy {
            first_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(200),
            max_attempts: 10,
        },
        ..SyncOptions::default()
    }
}

pub fn sync(ledger: &Ledger, office: &OfficeProcess) -> rectify_core::Result<SyncReport> {
    ledger.sync(&office.transport(), fast_options(), &Quiet)
}

/// A phone photo taken at a place just now: a synthetic JPEG carrying the fix and the time.
pub fn field_photo(dir: &Path, name: &str, seed: u32, lat: f64, lon: f64, size: (usize, usize)) -> PathBuf {
    field_photo_at(dir, name, seed, (lat, lon), size, chrono::Local::now().fixed_offset())
}

/// [`field_photo`] taken at `at` (a device's own clock).
pub fn field_photo_at(
    dir: &Path,
    name: &str,
    seed: u32,
    (lat, lon): (f64, f64),
    size: (usize, usize),
    at: DateTime<FixedOffset>,
) -> PathBuf {
    let capture = Capture {
        orientation: 1,
        gps: Some(Gps { lat, lon, alt: Some(20.0), error_m: Some(5.0) }),
        taken_at: Some(TakenAt { local: at.naive_local(), offset: Some(*at.offset()) }),
        make: Some("Test".into()),
        model: Some("Field phone (synthetic)".into()),
        ..Capture::default()
    };
    let path = dir.join(name);
    std::fs::write(&path, rectify_core::photo::synthetic::jpeg(size.0, size.1, seed, 90, Some(&capture)))
        .unwrap_or_else(|err| panic!("{err}"));
    path
}

/// Reports an issue in the village `code` with one photo taken at its point; returns the issue's state.
pub fn report_with_photo(
    ledger: &Ledger,
    dir: &Path,
    code: &str,
    seed: u32,
    size: (usize, usize),
) -> rectify_core::domain::issue::IssueState {
    let (lat, lon) = point_in(ledger, code);
    let photo = field_photo(dir, &format!("scene-{code}-{seed}.jpg"), seed, lat, lon, size);
    ledger
        .report(&rectify_core::ledger::NewReport {
            category: "village.scattered_garbage".into(),
            village_code: Some(code.to_string()),
            lat,
            lon,
            photos: vec![photo],
            ..rectify_core::ledger::NewReport::default()
        })
        .unwrap_or_else(|err| panic!("report with a photo in {code}: {err}"))
}

/// The device's bearer token, for hand-made requests.
pub fn token_of(ledger: &Ledger) -> String {
    ledger
        .store()
        .read(|conn| Ok::<_, rusqlite::Error>(rectify_core::store::sync::load(conn)?.map(|state| state.token)))
        .unwrap_or_else(|err| panic!("{err}"))
        .unwrap_or_else(|| panic!("the device is not enrolled"))
}

/// A hand-made protocol request with the device's token.
pub fn raw_request(
    token: &str,
    method: rectify_core::sync::Method,
    path: &str,
    body: Vec<u8>,
) -> rectify_core::sync::HttpRequest {
    use rectify_core::sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};
    rectify_core::sync::HttpRequest::new(method, path)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body)
}

/// Prints a test's seed so a failure can be replayed.
pub fn seed_note(seed: u64) {
    println!("seed {seed}");
}

/// Records `issues` reports in a village (a metre or so apart), each followed by `comments` comments.
/// Returns the issues.
pub fn record_issues(ledger: &Ledger, code: &str, issues: usize, comments: usize) -> Vec<rectify_core::ids::IssueId> {
    use rectify_core::ledger::{Command, NewReport};
    let (lat, lon) = point_in(ledger, code);
    (0..issues)
        .map(|n| {
            let issue = ledger
                .report(&NewReport {
                    category: "village.scattered_garbage".into(),
                    village_code: Some(code.to_string()),
                    lat: lat + n as f64 * 1e-5,
                    lon,
                    note: Some(format!("pile {n}")),
                    ..NewReport::default()
                })
                .unwrap_or_else(|err| panic!("report in {code}: {err}"))
                .id;
            for c in 0..comments {
                ledger
                    .act(issue, &Command::Comment { text: format!("seen again ({c})") })
                    .unwrap_or_else(|err| panic!("comment: {err}"));
            }
            issue
        })
        .collect()
}
