//! A throwaway PostgreSQL server for tests: `initdb` into a temporary folder and `pg_ctl start` on a free
//! loopback port, stopped (immediately) and deleted when dropped. The binaries come from Debian's
//! postgresql package (`/usr/lib/postgresql/N/bin`), from `RECTIFY_PG_BIN`, or from PATH.
//!
//! PostgreSQL refuses to run as root; a test run as root starts the server as the `postgres` user (the
//! package creates it) through `runuser`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running server.
#[derive(Debug)]
pub struct TestPostgres {
    bin: PathBuf,
    root: tempfile::TempDir,
    port: u16,
    as_user: Option<String>,
    databases: std::sync::atomic::AtomicUsize,
}

/// Where `pg_ctl` and `initdb` are.
fn binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RECTIFY_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|entry| entry.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|dir| dir.join("pg_ctl").exists());
    versions.sort_by_key(|dir| {
        dir.parent().and_then(Path::file_name).and_then(|name| name.to_str()?.parse::<u32>().ok()).unwrap_or(0)
    });
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    let found = Command::new("pg_ctl").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    found.then(PathBuf::new)
}

/// Whether this process runs as root (the effective uid on the `Uid:` line of /proc/self/status is 0).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status.lines().find_map(|line| line.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

impl TestPostgres {
    /// Starts a server, or says why not: `None` when PostgreSQL is not installed (and
    /// `RECTIFY_REQUIRE_TOOLS` is not set; then it panics).
    pub fn start(durable: bool) -> Option<Self> {
        let Some(bin) = binaries() else {
            assert!(
                std::env::var_os("RECTIFY_REQUIRE_TOOLS").is_none(),
                "PostgreSQL is required (RECTIFY_REQUIRE_TOOLS is set) but pg_ctl was not found: \
                 install Debian's postgresql, or set RECTIFY_PG_BIN"
            );
            eprintln!("skipped: PostgreSQL is not installed (Debian's postgresql package; or set RECTIFY_PG_BIN)");
            return None;
        };
        let root = tempfile::Builder::new().prefix("rectify-pg-").tempdir().unwrap_or_else(|err| panic!("{err}"));
        let as_user = is_root().then(|| "postgres".to_string());
        if let Some(user) = &as_user {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(root.path())
                .status()
                .unwrap_or_else(|err| panic!("cannot run chown: {err}"));
            assert!(status.success(), "cannot give {} to the {user} user", root.path().display());
        }
        let port = free_port();
        let server = Self { bin, root, port, as_user, databases: Default::default() };
        let data = server.root.path().join("data");
        server.run(
            "initdb",
            &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
        );
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{}' -c max_connections=200",
            server.root.path().display()
        );
        if !durable {
            // Tests check behaviour, not durability across power cuts; benchmarks run durable.
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = server.root.path().join("server.log");
        server.run(
            "pg_ctl",
            &["start", "-w", "-t", "60", "-D", &data.to_string_lossy(), "-l", &log.to_string_lossy(), "-o", &options],
        );
        Some(server)
    }

    /// The path of one of the server's programs (`psql`, `createdb`, …).
    pub fn program(&self, name: &str) -> PathBuf {
        if self.bin.as_os_str().is_empty() { PathBuf::from(name) } else { self.bin.join(name) }
    }

    /// One of the server's programs, run as the server's user, in its folder.
    fn as_server(&self, program: &str) -> Command {
        let path = self.program(program);
        let mut command = match &self.as_user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&path);
                command
            }
            None => Command::new(&path),
        };
        command.current_dir(self.root.path());
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.program(program);
        let output = self
            .as_server(program)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", path.display()));
        assert!(
            output.status.success(),
            "{program} failed: {}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.root.path().join("server.log")).unwrap_or_default()
        );
    }

    /// A new, empty database on this server; returns its URL.
    pub fn database(&self, label: &str) -> String {
        let n = self.databases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{label}_{n}");
        let port = self.port.to_string();
        self.run("createdb", &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", &name]);
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Writes out every dirty page now, so that a measurement does not pay for the one before it.
    pub fn checkpoint(&self) {
        self.psql(&format!("postgres://postgres@127.0.0.1:{}/postgres", self.port), "CHECKPOINT");
    }

    /// Runs SQL on a database with `psql`, returning what it prints (unaligned, tuples only).
    pub fn psql(&self, url: &str, sql: &str) -> String {
        let path = self.program("psql");
        let output = Command::new(&path)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
            .output()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", path.display()));
        assert!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.root.path().join("data");
        let _ = self
            .as_server("pg_ctl")
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|err| panic!("no free port: {err}"))
}
