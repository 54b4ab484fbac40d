//! `bench -- office-pages`: the dashboard's pages under load. A real `rectify-office demo` process serves
//! its demo data on loopback; 50 simulated office users, each logged in with its own session and its own
//! keep-alive connection, request pages in a closed loop (no think time) until each has done its share or
//! the deadline passes. The anchor is `/healthz` under the same load, in the same run, on the same data,
//! measured two ways: by one extra client beside the 50 users (the headline lines), and as one more page
//! in every user's cycle (the `mixed_` lines). In the second way some users are at `/healthz` at any
//! moment (a one-row read; it used to be a full integrity check on the writer, which queued most users
//! there), so a little fewer than 50 are on the pages.
//! Before the load, the first (cold) render of the ranking and the bulletin is timed once: the office
//! caches report views until its ledger changes, so only that first request pays for the scoring.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

type Outcome = Result<(), Box<dyn std::error::Error>>;
type Failure = Box<dyn std::error::Error + Send + Sync>;

const SUITE: &str = "office-pages";
const USERS: usize = 50;
/// The target for the ranking and the bulletin.
const TARGET_P95_MS: f64 = 50.0;

/// A page the users request: its metric name, its path and a fragment a real answer must contain.
#[derive(Debug, Clone, Copy)]
struct Page {
    name: &'static str,
    path: &'static str,
    marker: &'static str,
}

const PAGES: [Page; 6] = [
    Page { name: "ranking", path: "/ranking", marker: "data-test=\"ranking-table\"" },
    Page { name: "bulletin", path: "/bulletin", marker: "data-test=\"bulletin-table\"" },
    Page { name: "overview", path: "/", marker: "data-test=\"counts\"" },
    Page { name: "map", path: "/map", marker: "data-test=\"map\"" },
    Page { name: "queue", path: "/queue", marker: "data-test=\"queue-count\"" },
    Page { name: "healthz", path: "/healthz", marker: "\"ok\"" },
];
const ANCHOR: usize = PAGES.len() - 1;

fn line(metric: &str, value: f64, unit: &str, anchor: &str, anchor_value: f64, note: String) {
    let round = |value: f64| (value * 1000.0).round() / 1000.0;
    let ratio = if anchor_value > 0.0 { round(value / anchor_value) } else { f64::NAN };
    println!(
        "{}",
        json!({
            "suite": SUITE, "metric": metric, "value": round(value), "unit": unit, "anchor": anchor,
            "anchor_value": round(anchor_value), "ratio": ratio, "note": note,
        })
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

// ---------------------------------------------------------------------------------------------------------
// The office process

/// The demo office; killed when dropped, so a failed or panicking run leaves no server behind.
struct DemoOffice {
    child: Child,
    url: String,
    user: String,
    password: String,
    /// The office's stderr (progress and warnings), kept for the error message if something fails.
    stderr: Arc<Mutex<Vec<String>>>,
    _data: tempfile::TempDir,
}

impl Drop for DemoOffice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DemoOffice {
    /// The last lines the office wrote on stderr.
    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lines.iter().rev().take(8).rev().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// The release `rectify-office` beside this bench (cargo does not build it for `-p rectify-tests`).
fn office_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let beside = exe.parent().map(|dir| dir.join("rectify-office"));
    match beside {
        Some(path) if path.exists() => Ok(rectify_tests::office::workspace_bin("rectify-office")),
        _ => Err(format!(
            "rectify-office is not built beside {}: run `cargo build --release -p rectify-office` first",
            exe.display()
        )
        .into()),
    }
}

/// Starts `rectify-office demo` on a free loopback port and waits for its ready line.
fn start_demo(patience: Duration) -> Result<DemoOffice, Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let mut child = Command::new(office_binary()?)
        .args(["demo", "--json", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        // Request logging off whatever the caller's environment says: it would cost time on every request.
        .env("RECTIFY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from rectify-office")?;
    let stderr = child.stderr.take().ok_or("no stderr from rectify-office")?;
    let kept = Arc::new(Mutex::new(Vec::new()));
    {
        let kept = kept.clone();
        std::thread::spawn(move || {
            for text in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(text);
            }
        });
    }
    // The first JSON line with a URL is the ready line; the reader then drains stdout until the child ends,
    // so the office never writes into a closed pipe.
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut ready = Some(ready_tx);
        for text in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
                && value.get("url").is_some()
                && let Some(sender) = ready.take()
            {
                let _ = sender.send(value);
            }
        }
    });
    let mut office = DemoOffice {
        child,
        url: String::new(),
        user: String::new(),
        password: String::new(),
        stderr: kept,
        _data: data,
    };
    let ready = match ready_rx.recv_timeout(patience) {
        Ok(ready) => ready,
        Err(err) => {
            let why = match err {
                mpsc::RecvTimeoutError::Timeout => format!("not ready after {} s", patience.as_secs()),
                mpsc::RecvTimeoutError::Disconnected => "stopped before it was ready".to_string(),
            };
            return Err(format!("the demo office {why}; its last words:\n{}", office.stderr_tail()).into());
        }
    };
    let field = |name: &str| ready.get(name).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    office.url = field("url");
    office.user = field("user");
    office.password = field("password");
    if office.user.is_empty() || office.password.is_empty() {
        return Err(format!("the demo's ready line has no login: {ready}").into());
    }
    Ok(office)
}

// ---------------------------------------------------------------------------------------------------------
// A user

/// A browser-like client: its own connection pool, never following redirects (a 303 is an error here,
/// except for the login's own), no error for non-2xx statuses (they are checked and counted).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// The value of `name=` in the response's `Set-Cookie` headers.
fn set_cookie(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Logs in as a browser does (login form, its CSRF cookie and field, then the POST); returns the
/// `Cookie` header value for the session.
fn log_in(agent: &ureq::Agent, url: &str, user: &str, password: &str) -> Result<String, Failure> {
    let mut form = agent.get(format!("{url}/login")).call()?;
    if form.status() != 200 {
        return Err(format!("GET /login answered {}", form.status()).into());
    }
    let login_cookie = set_cookie(&form, "rectify_login").ok_or("GET /login set no rectify_login cookie")?;
    let html = form.body_mut().read_to_string()?;
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).ok_or("the login form has no csrf field")? + marker.len();
    let csrf = html[start..].split('"').next().unwrap_or_default().to_string();
    let answer = agent
        .post(format!("{url}/login"))
        .header("cookie", format!("rectify_login={login_cookie}"))
        .send_form([("user", user), ("password", password), ("csrf", csrf.as_str()), ("next", "/")])?;
    if answer.status() != 303 {
        return Err(format!("POST /login answered {} instead of 303", answer.status()).into());
    }
    let session = set_cookie(&answer, "rectify_session").ok_or("the login set no rectify_session cookie")?;
    Ok(format!("rectify_session={session}"))
}

/// One request, timed from sending to the last byte of the body; `Err` says what was wrong with it.
fn fetch(agent: &ureq::Agent, url: &str, cookie: &str, page: Page) -> (f64, Result<(), String>) {
    let mut request = agent.get(format!("{url}{}", page.path));
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    let started = Instant::now();
    let outcome = request.call().map_err(|err| err.to_string());
    let checked = outcome.and_then(|mut response| {
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(64 << 20).read_to_string().map_err(|err| err.to_string())?;
        if status != 200 {
            Err(format!("{} answered {status}", page.path))
        } else if !body.contains(page.marker) {
            Err(format!("{} has no {} ({} bytes)", page.path, page.marker, body.len()))
        } else {
            Ok(())
        }
    });
    (started.elapsed().as_secs_f64() * 1000.0, checked)
}

/// What a load phase saw: latencies per page (in `PAGES` order), failures, and how long it ran.
#[derive(Debug, Default)]
struct Seen {
    times: Vec<Vec<f64>>,
    failures: Vec<String>,
    wall_s: f64,
    /// Whether `/healthz` was requested by a probe beside the users rather than by the users.
    probed: bool,
}

impl Seen {
    fn new() -> Self {
        Self { times: vec![Vec::new(); PAGES.len()], failures: Vec::new(), wall_s: 0.0, probed: false }
    }

    fn record(&mut self, index: usize, (ms, checked): (f64, Result<(), String>)) {
        match checked {
            Ok(()) => self.times[index].push(ms),
            Err(why) => self.failures.push(why),
        }
    }

    fn absorb(&mut self, other: Seen) {
        for (all, more) in self.times.iter_mut().zip(other.times) {
            all.extend(more);
        }
        self.failures.extend(other.failures);
    }

    /// Users (or probes) in flight on a page on average: the time spent on it over the phase's time.
    fn in_flight(&self, index: usize) -> f64 {
        self.times[index].iter().sum::<f64>() / 1000.0 / self.wall_s
    }
}

/// A logged-in user: its own client (connection pool) and session cookie.
type User = (ureq::Agent, String);

/// One load phase. Every user does `rounds` passes over `pages` (indices into `PAGES`) in a closed loop,
/// starting at a different page for each user so that they do not all ask for the same page at once,
/// until done or past the deadline. With `probe`, one more client, not one of the users, requests
/// `/healthz` back to back for as long as the users run: the anchor under the same load.
fn load(url: &str, users: &[User], pages: &[usize], probe: bool, rounds: usize, budget: Duration) -> Seen {
    let barrier = Barrier::new(users.len() + 1);
    let running = AtomicUsize::new(users.len());
    let mut seen = Seen { probed: probe, ..Seen::new() };
    let started = std::thread::scope(|scope| {
        let workers: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(number, (agent, cookie))| {
                let (barrier, running) = (&barrier, &running);
                scope.spawn(move || {
                    let mut mine = Seen::new();
                    barrier.wait();
                    let deadline = Instant::now() + budget;
                    'rounds: for _ in 0..rounds {
                        for step in 0..pages.len() {
                            if Instant::now() >= deadline {
                                break 'rounds;
                            }
                            let index = pages[(number + step) % pages.len()];
                            mine.record(index, fetch(agent, url, cookie, PAGES[index]));
                        }
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    mine
                })
            })
            .collect();
        let prober = probe.then(|| {
            let running = &running;
            scope.spawn(move || {
                let agent = agent();
                let mut mine = Seen::new();
                while running.load(Ordering::SeqCst) > 0 {
                    mine.record(ANCHOR, fetch(&agent, url, "", PAGES[ANCHOR]));
                }
                mine
            })
        });
        barrier.wait();
        let started = Instant::now();
        for worker in workers.into_iter().chain(prober) {
            match worker.join() {
                Ok(theirs) => seen.absorb(theirs),
                Err(_) => seen.failures.push("a load thread panicked".to_string()),
            }
        }
        started
    });
    seen.wall_s = started.elapsed().as_secs_f64();
    for list in &mut seen.times {
        list.sort_by(f64::total_cmp);
    }
    seen
}

/// Prints a phase's lines: p50 and p95 of each page against the anchor's, and the users' throughput.
fn report(seen: &Seen, prefix: &str, how: &str, planned: usize, budget: Duration) {
    let anchor = &seen.times[ANCHOR];
    let by_users = seen.times.iter().map(Vec::len).sum::<usize>() - if seen.probed { anchor.len() } else { 0 };
    let stopped = if by_users < planned {
        format!("; the {} s deadline stopped the load after {by_users} of {planned} requests", budget.as_secs())
    } else {
        String::new()
    };
    for (index, page) in PAGES.iter().enumerate().take(ANCHOR) {
        let list = &seen.times[index];
        for (label, p) in [("p50", 0.5), ("p95", 0.95)] {
            let value = percentile(list, p);
            let target = match page.name {
                "ranking" | "bulletin" if label == "p95" => {
                    let met = if value <= TARGET_P95_MS { "met" } else { "NOT met" };
                    format!("; target p95 <= {TARGET_P95_MS} ms: {met}")
                }
                _ => String::new(),
            };
            line(
                &format!("{prefix}{}_{label}_ms", page.name),
                value,
                "ms",
                &format!("healthz_{label}_ms: GET /healthz under the same load ({how}; ms)"),
                percentile(anchor, p),
                format!(
                    "GET {} x{}, /healthz x{}, {USERS} concurrent logged-in users in a closed loop, loopback, demo \
                     data; {:.1} users on this page on average{target}{stopped}",
                    page.path,
                    list.len(),
                    anchor.len(),
                    seen.in_flight(index)
                ),
            );
        }
    }
    // Little's law: if every request took as long as the anchor's median, the users would make this many.
    let rate = by_users as f64 / seen.wall_s;
    let implied = USERS as f64 / (percentile(anchor, 0.5) / 1000.0);
    let on_pages: f64 = (0..ANCHOR).map(|index| seen.in_flight(index)).sum();
    line(
        &format!("{prefix}throughput_rps"),
        rate,
        "requests/s",
        &format!(
            "{USERS} users / healthz p50 under the same load: the rate if every request took the anchor's median (requests/s)"
        ),
        implied,
        format!(
            "{by_users} requests by {USERS} concurrent users in {:.1} s ({how}); on average {on_pages:.1} clients were \
             waiting on pages and {:.1} on /healthz{stopped}",
            seen.wall_s,
            seen.in_flight(ANCHOR)
        ),
    );
}

// ---------------------------------------------------------------------------------------------------------
// The suite

pub fn run(quick: bool) -> Outcome {
    let (rounds, budget) = if quick { (3, Duration::from_secs(10)) } else { (40, Duration::from_secs(60)) };
    let office = start_demo(Duration::from_secs(600))?;
    let url = office.url.clone();
    let context = |err: Failure| -> Box<dyn std::error::Error> {
        format!("{err}; the office's last words:\n{}", office.stderr_tail()).into()
    };

    // The cold renders: the first request for each report after the demo was seeded computes it (the
    // ranking also reads the scoring snapshot, which the bulletin then shares); the anchor is the same
    // page warm, the median of a few requests right after, on the same connection.
    let probe = agent();
    let cookie = log_in(&probe, &url, &office.user, &office.password).map_err(context)?;
    for page in &PAGES[..2] {
        let (cold, checked) = fetch(&probe, &url, &cookie, *page);
        checked.map_err(|why| context(why.into()))?;
        let mut warm = Vec::new();
        for _ in 0..5 {
            let (ms, checked) = fetch(&probe, &url, &cookie, *page);
            checked.map_err(|why| context(why.into()))?;
            warm.push(ms);
        }
        warm.sort_by(f64::total_cmp);
        let shares =
            if page.name == "bulletin" { "; the scoring snapshot was already read by the cold ranking" } else { "" };
        line(
            &format!("{}_cold_ms", page.name),
            cold,
            "ms",
            &format!("{} warm: median of 5 requests right after, cache filled (ms)", page.path),
            percentile(&warm, 0.5),
            format!("the first request for {} after seeding, one user, no load{shares}", page.path),
        );
    }

    // Every user logs in once (a login costs an Argon2 hash at the office); both phases use the sessions.
    let mut users: Vec<User> = Vec::with_capacity(USERS);
    for _ in 0..USERS {
        let agent = agent();
        let cookie = log_in(&agent, &url, &office.user, &office.password).map_err(context)?;
        users.push((agent, cookie));
    }
    let pages: Vec<usize> = (0..ANCHOR).collect();
    let every: Vec<usize> = (0..PAGES.len()).collect();

    // Phase 1, the headline: all 50 users on the pages; /healthz from one extra client beside them.
    let alone = load(&url, &users, &pages, true, rounds, budget);
    // Phase 2: /healthz as one more page in every user's cycle: the anchor shares each user's connection
    // and place in line, and about one user in six is on it at any moment.
    let mixed = load(&url, &users, &every, false, rounds, budget);
    for (seen, phase) in [(&alone, "pages only"), (&mixed, "/healthz in every user's cycle")] {
        if !seen.failures.is_empty() {
            let total = seen.times.iter().map(Vec::len).sum::<usize>() + seen.failures.len();
            return Err(format!(
                "{phase}: {} of {total} requests failed, e.g. {}; the office's last words:\n{}",
                seen.failures.len(),
                seen.failures[0],
                office.stderr_tail()
            )
            .into());
        }
    }
    report(
        &alone,
        "",
        "one extra client requesting /healthz back to back beside the users",
        USERS * rounds * ANCHOR,
        budget,
    );
    report(&mixed, "mixed_", "/healthz as one more page in each user's cycle", USERS * rounds * PAGES.len(), budget);
    Ok(())
}
