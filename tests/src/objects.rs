//! A throwaway S3-compatible server for tests: moto's server (`moto_server`, from PyPI) on a free loopback
//! port, with one bucket. `scripts/build-tools.sh --for-tests` installs it into `target/tools/moto`;
//! `RECTIFY_MOTO_SERVER` names another.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server and the bucket made on it.
#[derive(Debug)]
pub struct TestObjectStore {
    child: Child,
    port: u16,
    pub bucket: String,
}

fn server_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RECTIFY_MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/moto/bin/moto_server");
    if tools.exists() {
        return Some(tools);
    }
    let on_path = Command::new("moto_server").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
    on_path.is_ok_and(|status| status.success()).then(|| PathBuf::from("moto_server"))
}

impl TestObjectStore {
    /// Starts the server, or says why not: `None` when moto is not installed (and `RECTIFY_REQUIRE_TOOLS`
    /// is not set; then it panics).
    pub fn start() -> Option<Self> {
        let Some(program) = server_program() else {
            assert!(
                std::env::var_os("RECTIFY_REQUIRE_TOOLS").is_none(),
                "moto_server is required (RECTIFY_REQUIRE_TOOLS is set): run scripts/build-tools.sh --for-tests"
            );
            eprintln!("skipped: no S3-compatible test server (moto_server; scripts/build-tools.sh --for-tests)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or_else(|err| panic!("no free port: {err}"));
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", program.display()));
        let server = Self { child, port, bucket: "rectify-photos".to_string() };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not start listening");
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = server.request("PUT", &format!("/{}", server.bucket));
        assert_eq!(status, 200, "creating the test bucket");
        Some(server)
    }

    /// A bare request (moto takes unsigned ones); returns the status.
    fn request(&self, method: &str, path: &str) -> u16 {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap_or_else(|err| panic!("{err}"));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(head.as_bytes()).unwrap_or_else(|err| panic!("{err}"));
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0)
    }

    /// The variables an office process needs to reach the server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "rectify-test"),
            ("AWS_SECRET_ACCESS_KEY", "rectify-test-secret"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT", &format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// Keys under a prefix, from the server's listing (ListObjectsV2).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap_or_else(|err| panic!("{err}"));
        let head = format!(
            "GET /{}?list-type=2&prefix={prefix} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.bucket, self.port
        );
        stream.write_all(head.as_bytes()).unwrap_or_else(|err| panic!("{err}"));
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.split("<Key>").skip(1).filter_map(|part| part.split("</Key>").next()).map(str::to_string).collect()
    }
}

impl Drop for TestObjectStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
