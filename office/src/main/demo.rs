//! `rectify-office demo`: starts the office, seeds it through its own HTTP API while serving, then prints
//! where to open it and how to log in, and serves until interrupted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rectify_office::demo::{self, DemoProgress, DemoSummary};
use rectify_office::{Office, OfficeError};

/// Progress on stderr, with the seconds since the start; `stop` is set on Ctrl-C.
struct Stderr {
    started: Instant,
    stop: Arc<AtomicBool>,
}

impl DemoProgress for Stderr {
    fn say(&self, line: &str) {
        eprintln!("[{:>5.1}s] {line}", self.started.elapsed().as_secs_f64());
    }

    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// The demo's folder: the one given (created if missing), or a new one under the temporary directory
/// with an unguessable name, created here so that nobody else's folder is ever reused.
fn data_dir(data: Option<PathBuf>) -> Result<PathBuf, OfficeError> {
    let Some(dir) = data else {
        let suffix = rectify_office::credentials::random_hex(6)?;
        let dir = std::env::temp_dir().join(format!("rectify-office-demo-{suffix}"));
        std::fs::create_dir(&dir)
            .map_err(|err| OfficeError::invalid(format!("cannot create the data folder {}: {err}", dir.display())))?;
        return Ok(dir);
    };
    std::fs::create_dir_all(&dir)
        .map_err(|err| OfficeError::invalid(format!("cannot create the data folder {}: {err}", dir.display())))?;
    Ok(dir)
}

pub(crate) fn run(data: Option<PathBuf>, listen: &str, json: bool, seed: u64) -> Result<(), OfficeError> {
    super::init_logging("warn");
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Stderr { started: Instant::now(), stop: stop.clone() };
    let dir = data_dir(data)?;
    let earlier = demo::seeded(&dir)?;
    let empty = std::fs::read_dir(&dir).map(|mut entries| entries.next().is_none()).unwrap_or(false);
    if earlier.is_none() && !empty {
        return Err(OfficeError::invalid(format!(
            "{} is not empty and holds no finished demo (an interrupted seeding, a real office, or other \
             files); give an empty or new folder with --data, or delete this one",
            dir.display()
        )));
    }
    let office = Office::open(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| OfficeError::Internal(format!("cannot start the runtime: {err}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|err| {
            OfficeError::invalid(format!(
                "cannot listen on {listen}: {err} (pass --listen 127.0.0.1:0 for any free port)"
            ))
        })?;
        let address = listener.local_addr().map_err(|err| OfficeError::Internal(err.to_string()))?;
        let url = format!("http://{address}");
        let mut server = tokio::spawn(rectify_office::http::serve(office.clone(), listener, super::shutdown_signal()));
        let summary = match earlier {
            Some(summary) => {
                progress.say(&format!(
                    "serving the demo seeded earlier in {} (as it is: --seed applies to new folders only)",
                    dir.display()
                ));
                summary
            }
            None => {
                progress.say(&format!("seeding a demo office in {} (served at {url} meanwhile)", dir.display()));
                let (office, seed_url, seed_dir) = (office.clone(), url.clone(), dir.clone());
                let (started, seed_stop) = (progress.started, stop.clone());
                let seeding = tokio::task::spawn_blocking(move || {
                    demo::seed(&office, &seed_url, &seed_dir, seed, &Stderr { started, stop: seed_stop })
                });
                tokio::select! {
                    outcome = seeding => outcome
                        .map_err(|err| OfficeError::Internal(format!("the seeding stopped: {err}")))?
                        .map_err(|err| OfficeError::Internal(format!(
                            "seeding the demo failed: {err} (the half-seeded folder {} can be deleted)", dir.display()
                        )))?,
                    _ = &mut server => {
                        // Ctrl-C stopped the server: the seeding stops at its next sync.
                        stop.store(true, Ordering::Relaxed);
                        return Err(OfficeError::Internal(format!(
                            "stopped while seeding; delete the half-seeded folder {}", dir.display()
                        )));
                    }
                }
            }
        };
        announce(&url, &dir, &summary, json);
        server
            .await
            .map_err(|err| OfficeError::Internal(format!("the server stopped: {err}")))?
            .map_err(|err| OfficeError::Internal(format!("the server stopped: {err}")))
    })
}

fn announce(url: &str, dir: &Path, summary: &DemoSummary, json: bool) {
    let main = summary.logins.first();
    let (user, password) = main.map_or(("", ""), |login| (login.user.as_str(), login.password.as_str()));
    let logins = dir.join(demo::LOGINS_FILE);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "url": url,
                "user": user,
                "password": password,
                "data": dir,
                "logins": logins,
            })
        );
        return;
    }
    println!();
    println!("Rectify district office demo is ready");
    println!("  open      {url}/");
    println!("  log in    {user} / {password}   (acceptor: every page, and the acceptance queue)");
    for login in summary.logins.iter().skip(1) {
        println!("            {} / {}   ({})", login.user, login.password, login.role);
    }
    println!(
        "  data      {} villages, {} issues, {} strike-offs ({} accepted, {} rejected, {} waiting) by {} phones",
        summary.villages,
        summary.reported,
        summary.strike_offs,
        summary.accepted,
        summary.rejected,
        summary.awaiting_acceptance,
        summary.phones
    );
    println!("  folder    {}  (logins in {})", dir.display(), logins.display());
    println!("Press Ctrl-C to stop; `rectify-office demo --data {}` serves it again.", dir.display());
}
