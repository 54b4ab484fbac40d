//! `rectify-office`: run a district office and administer it. `serve` is the sync API; the other verbs
//! work on the same data directory (import villages, enroll devices, list issues and devices, revoke).

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use clap::{Parser, Subcommand};
use rectify_core::domain::role::Role;
use rectify_core::ledger::BoundaryImport;
use rectify_office::{Database, Office, OfficeError, PhotoPlace};

#[path = "main/demo.rs"]
mod demo;

#[derive(Debug, Parser)]
#[command(name = "rectify-office", version, about = "The Rectify district office: sync API and admin commands")]
struct Cli {
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Start an office full of realistic demo data and serve it: Tongji New Area's villages, two to three
    /// months of inspection rounds synced by simulated phones over HTTP; prints the URL and a login.
    Demo {
        /// Keep the office here (created if missing; an earlier demo's folder is served again as it is).
        /// Default: a new temporary folder.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Print one line {"url","user","password",...} once the office is ready, instead of prose.
        #[arg(long)]
        json: bool,
        /// Seed of the simulation: the same seed gives the same villages, issues and decisions.
        #[arg(long, default_value_t = 20_261_129)]
        seed: u64,
    },
    /// Serve the sync API and the dashboard until interrupted (Ctrl-C or SIGTERM).
    Serve {
        /// The office's data directory (database and photos); created if missing.
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        /// Address to listen on; port 0 picks a free one (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Shared storage for several office processes: postgres://user@host:port/dbname. Default: the
        /// SQLite database in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        /// Keep photo files in S3-compatible object storage, s3://bucket/prefix (credentials, region and
        /// endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT,
        /// AWS_ALLOW_HTTP). Default: photos/ in --data.
        #[arg(long, env = "RECTIFY_PHOTOS_URL")]
        photos: Option<String>,
        /// Push groups this process commits at once (default: 1 on SQLite, 2 on PostgreSQL). All groups on
        /// one database share its sequencer: with several processes, fewer each.
        #[arg(long, env = "RECTIFY_PUSH_GROUPS")]
        push_groups: Option<usize>,
    },
    /// Issue a one-time enrollment code for a user's device (printed as the last word on stdout).
    Enroll {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long)]
        role: Role,
        /// A village a secretary answers for, by code; repeat for several.
        #[arg(long = "village")]
        villages: Vec<String>,
        /// The office's address as phones reach it: also print the enrollment link
        /// (rectify://enroll?server=…&code=…) that the apps read from a QR code.
        #[arg(long)]
        server: Option<String>,
        #[arg(long)]
        json: bool,
        /// Shared storage for several office processes: postgres://user@host:port/dbname. Default: the
        /// SQLite database in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Reference data: villages and their boundaries.
    Villages {
        #[command(subcommand)]
        verb: VillagesVerb,
    },
    /// Every issue the office holds, with its status and last server_seq.
    Issues {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
        /// Read this PostgreSQL database (postgres://…) instead of the SQLite one in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Office users who log in to the dashboard.
    Users {
        #[command(subcommand)]
        verb: UsersVerb,
    },
    /// Every enrolled device.
    Devices {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
        /// Shared storage for several office processes: postgres://user@host:port/dbname. Default: the
        /// SQLite database in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Revoke a device's token; its next request is refused.
    Revoke {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        #[arg(long)]
        device: String,
        /// Shared storage for several office processes: postgres://user@host:port/dbname. Default: the
        /// SQLite database in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Check the office database page by page (SQLite's integrity check); exits 9 if it is damaged.
    Check {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
    },
    /// After restoring a backup: start a new epoch, so devices pull again and resend what was lost.
    NewEpoch {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        /// Shared storage for several office processes: postgres://user@host:port/dbname. Default: the
        /// SQLite database in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Scores, red/black lists, escalations, rates and the weekly bulletin over the office's ledger
    /// (the same commands as the phones' `rectify`), e.g. `report --data DIR bulletin --week 2023-W28`.
    Report {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        /// Report from this PostgreSQL database (postgres://…) instead of the SQLite one in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", global = true, hide_env_values = true)]
        database: Option<String>,
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        verb: rectify_core::report::cli::ReportVerb,
    },
}

#[derive(Debug, Subcommand)]
enum UsersVerb {
    /// Create a dashboard user, or change their role, villages and password. Without --password-stdin a
    /// password is generated and printed once.
    Add {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Role,
        /// A village a secretary answers for, by code; repeat for several.
        #[arg(long = "village")]
        villages: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
        /// Users of this PostgreSQL database (postgres://…) instead of the SQLite one in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Every office user: role, villages, and whether they can log in to the dashboard.
    List {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
        /// Users of this PostgreSQL database (postgres://…) instead of the SQLite one in --data.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum VillagesVerb {
    /// Import the national division CSV (code,name rows) or a GeoJSON FeatureCollection of boundaries.
    Import {
        #[arg(long, env = "RECTIFY_OFFICE_DATA")]
        data: PathBuf,
        file: PathBuf,
        /// GeoJSON: the feature property holding the 12-digit village code.
        #[arg(long, default_value = "code")]
        code_prop: String,
        /// GeoJSON: the feature property holding the village name.
        #[arg(long, default_value = "name")]
        name_prop: String,
        /// Where the data comes from, recorded with it.
        #[arg(long, default_value = "office-import")]
        source: String,
        /// CSV: the matching streets CSV, to place villages in their towns.
        #[arg(long)]
        streets: Option<PathBuf>,
        /// GeoJSON: accept rings wound against the right-hand rule, and turn them.
        #[arg(long)]
        any_winding: bool,
        /// Also publish the office's places to this PostgreSQL database (postgres://…), for every office
        /// process that serves from it.
        #[arg(long, env = "RECTIFY_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
}

fn main() -> ExitCode {
    // `rectify-office issues | head` closes stdout early: end quietly, as other Unix tools do.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload_as_str().is_some_and(|text| text.contains("Broken pipe")) {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rectify-office: {err}");
            ExitCode::from(match err {
                OfficeError::Invalid(_) => 3,
                OfficeError::NotFound(_) => 4,
                OfficeError::Unauthorised(_) => 5,
                OfficeError::Conflict(_) | OfficeError::ChecksumMismatch(_) => 6,
                OfficeError::Internal(_) => 9,
            })
        }
    }
}

fn run(cli: Cli) -> Result<(), OfficeError> {
    match cli.command {
        Verb::Serve { data, listen, database, photos, push_groups } => serve(
            &data,
            &listen,
            &Database::from_url(database.as_deref())?,
            &PhotoPlace::from_url(photos.as_deref())?,
            push_groups,
        ),
        Verb::Demo { data, listen, json, seed } => demo::run(data, &listen, json, seed),
        Verb::Users { verb: UsersVerb::Add { data, name, role, villages, password_stdin, json, database } } => {
            let office = Office::open_with(&data, &Database::from_url(database.as_deref())?)?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map_err(|err| {
                    OfficeError::invalid(format!("cannot read the password from standard input: {err}"))
                })?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (rectify_office::web::auth::generate_password()?, true)
            };
            office.set_web_user(&name, role, &villages, &password)?;
            if json {
                let shown = generated.then_some(password.as_str());
                println!("{}", serde_json::json!({"user": name.trim(), "role": role.as_str(), "password": shown}));
            } else if generated {
                println!("dashboard user {} ({role}) can log in with the password: {password}", name.trim());
            } else {
                println!("dashboard user {} ({role}) saved", name.trim());
            }
            Ok(())
        }
        Verb::Users { verb: UsersVerb::List { data, json, database } } => {
            let users = Office::open_with(&data, &Database::from_url(database.as_deref())?)?.users()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users).unwrap_or_default());
            } else {
                for user in &users {
                    println!(
                        "{}  {}  {}{}",
                        user.name,
                        user.role,
                        if user.can_log_in { "dashboard" } else { "devices only" },
                        if user.villages.is_empty() {
                            String::new()
                        } else {
                            format!("  villages {}", user.villages.join(" "))
                        }
                    );
                }
                println!("{} users", users.len());
            }
            Ok(())
        }
        Verb::Enroll { data, user, role, villages, server, json, database } => {
            // A bad address is refused before a code is spent on it.
            if let Some(server) = &server {
                rectify_office::credentials::enrollment_link(server, "")?;
            }
            let office = Office::open_with(&data, &Database::from_url(database.as_deref())?)?;
            let code = office.issue_enrollment(&user, role, &villages)?;
            let link = server
                .as_deref()
                .map(|server| rectify_office::credentials::enrollment_link(server, &code))
                .transpose()?;
            if json {
                let mut answer = serde_json::json!({"code": code});
                if let Some(link) = &link {
                    answer["link"] = serde_json::Value::from(link.as_str());
                }
                println!("{answer}");
            } else {
                if let Some(link) = &link {
                    println!("link for the phone's QR scanner (e.g. qrencode -t ansiutf8 '<link>'): {link}");
                }
                println!(
                    "enrollment code for {user} ({role}), good for {} days and one device: {code}",
                    rectify_office::credentials::CODE_LIFETIME_DAYS
                );
            }
            Ok(())
        }
        Verb::Villages {
            verb: VillagesVerb::Import { data, file, code_prop, name_prop, source, streets, any_winding, database },
        } => {
            let office = Office::open_with(&data, &Database::from_url(database.as_deref())?)?;
            // With PostgreSQL, start from the places already published, so the import adds to them.
            office.catch_up()?;
            if looks_like_json(&file) {
                let options =
                    BoundaryImport { code_property: code_prop, name_property: Some(name_prop), any_winding, source };
                let report = office.ledger().import_boundaries(&file, &options)?;
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            } else {
                let mut last = 0;
                let report =
                    office.ledger().import_divisions(&file, streets.as_deref(), &source, &mut |done, total| {
                        if done == total || done >= last + 1000 {
                            last = done;
                            eprintln!("imported {done} of {total} rows");
                        }
                    })?;
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
            }
            if let Some(version) = office.publish_places()? {
                eprintln!("published places version {version} to the database");
            }
            Ok(())
        }
        Verb::Issues { data, json, database } => {
            let issues = Office::open_with(&data, &Database::from_url(database.as_deref())?)?.issues()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&issues).unwrap_or_default());
            } else {
                for issue in &issues {
                    println!(
                        "{}  {} {}  {}  {}  seq {}",
                        issue.id,
                        issue.village,
                        issue.village_name,
                        issue.category,
                        issue.status,
                        issue.last_server_seq
                    );
                }
                println!("{} issues", issues.len());
            }
            Ok(())
        }
        Verb::Devices { data, json, database } => {
            let devices = Office::open_with(&data, &Database::from_url(database.as_deref())?)?.devices()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&devices).unwrap_or_default());
            } else {
                for device in &devices {
                    let state = device.revoked_at.as_deref().map_or("active".to_string(), |at| format!("revoked {at}"));
                    println!(
                        "{}  {} ({})  acked through {}  {state}",
                        device.device_id, device.user, device.role, device.acked_through
                    );
                }
            }
            Ok(())
        }
        Verb::Report { data, json, verb, database } => {
            let office = Office::open_with(&data, &Database::from_url(database.as_deref())?)?;
            office.catch_up()?;
            Ok(rectify_core::report::cli::run(office.ledger(), &verb, json)?)
        }
        Verb::Revoke { data, device, database } => {
            Office::open_with(&data, &Database::from_url(database.as_deref())?)?.revoke(&device)?;
            println!("revoked {device}");
            Ok(())
        }
        Verb::Check { data } => {
            let office = Office::open(&data)?;
            office.ledger().store().integrity_check().map_err(|err| {
                OfficeError::Internal(format!("{} is damaged: {err}", data.join("office.db").display()))
            })?;
            println!("{}: integrity check passed", data.join("office.db").display());
            Ok(())
        }
        Verb::NewEpoch { data, database } => {
            let epoch = rectify_office::start_new_epoch(&data, &Database::from_url(database.as_deref())?)?;
            println!("new epoch {epoch}: devices will pull again from the start and resend what is missing");
            Ok(())
        }
    }
}

/// Logs go to stderr; RECTIFY_LOG overrides `default` (e.g. `RECTIFY_LOG=debug`).
fn init_logging(default: &str) {
    use tracing_subscriber::EnvFilter;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_env("RECTIFY_LOG").unwrap_or_else(|_| EnvFilter::new(default)))
        .init();
}

fn serve(
    data: &std::path::Path,
    listen: &str,
    database: &Database,
    photos: &PhotoPlace,
    push_groups: Option<usize>,
) -> Result<(), OfficeError> {
    init_logging("info");
    let mut office = Office::open_full(data, database, photos)?;
    if let Some(groups) = push_groups {
        Arc::get_mut(&mut office)
            .ok_or_else(|| OfficeError::Internal("the office is already shared".into()))?
            .set_push_groups(groups);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| OfficeError::Internal(format!("cannot start the runtime: {err}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|err| OfficeError::invalid(format!("cannot listen on {listen}: {err}")))?;
        let address = listener.local_addr().map_err(|err| OfficeError::Internal(err.to_string()))?;
        // Scripts and tests read the address from this line.
        println!("listening on http://{address}");
        tracing::info!(%address, data = %data.display(), epoch = office.epoch(), backend = office.backend().backend(), photos = office.photo_files(), "office serving");
        rectify_office::http::serve(office, listener, shutdown_signal())
            .await
            .map_err(|err| OfficeError::Internal(format!("the server stopped: {err}")))
    })
}

pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

fn looks_like_json(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path).and_then(|mut file| file.read(&mut head)).unwrap_or(0);
    String::from_utf8_lossy(&head[..read]).trim_start_matches('\u{feff}').trim_start().starts_with('{')
}
