//! A small browser-like HTTP/1.1 client for dashboard tests: it keeps cookies, never follows redirects
//! (tests look at each 303 themselves) and speaks plain TCP to the office on loopback.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One answer, whole.
#[derive(Debug, Clone)]
pub struct WebResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the first `<input … name="NAME" value="…">` in the page.
    pub fn hidden_input(&self, name: &str) -> Option<String> {
        let text = self.text();
        let marker = format!("name=\"{name}\" value=\"");
        let start = text.find(&marker)? + marker.len();
        let end = text[start..].find('"')? + start;
        Some(text[start..end].to_string())
    }
}

/// A client with a cookie jar, like one browser profile.
#[derive(Debug, Clone)]
pub struct WebClient {
    address: String,
    pub cookies: BTreeMap<String, String>,
}

/// Percent-encodes for `application/x-www-form-urlencoded`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{byte:02X}"),
            })
            .collect()
    };
    pairs.iter().map(|(key, value)| format!("{}={}", encode(key), encode(value))).collect::<Vec<_>>().join("&")
}

impl WebClient {
    /// A client for the office at `url` (`http://127.0.0.1:PORT`).
    pub fn new(url: &str) -> Self {
        Self { address: url.trim_start_matches("http://").trim_end_matches('/').to_string(), cookies: BTreeMap::new() }
    }

    pub fn get(&mut self, path: &str) -> WebResponse {
        self.send("GET", path, None)
    }

    pub fn post_form(&mut self, path: &str, pairs: &[(&str, &str)]) -> WebResponse {
        self.send("POST", path, Some(form_encode(pairs)))
    }

    fn send(&mut self, method: &str, path: &str, form: Option<String>) -> WebResponse {
        let mut stream =
            TcpStream::connect(&self.address).unwrap_or_else(|err| panic!("cannot reach {}: {err}", self.address));
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap_or_else(|err| panic!("{err}"));
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.address);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        let body = form.unwrap_or_default();
        if method == "POST" {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body.as_bytes())).unwrap_or_else(|err| {
            panic!("cannot send {method} {path}: {err}");
        });
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap_or_else(|err| panic!("cannot read the answer to {method} {path}: {err}"));
        let response = parse(&raw).unwrap_or_else(|| panic!("{method} {path}: not an HTTP answer"));
        for (name, value) in &response.headers {
            if name == "set-cookie" {
                self.keep_cookie(value);
            }
        }
        response
    }

    fn keep_cookie(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.trim().split_once('=')) else { return };
        let expired = parts.any(|part| part.trim().eq_ignore_ascii_case("max-age=0"));
        if expired || value.is_empty() {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_string(), value.to_string());
        }
    }

    /// Logs in through the form as a browser would; returns the login answer (303 on success).
    pub fn log_in(&mut self, user: &str, password: &str) -> WebResponse {
        let form = self.get("/login");
        assert_eq!(form.status, 200, "the login page: {}", form.text());
        let csrf = form.hidden_input("csrf").unwrap_or_else(|| panic!("the login form has no csrf field"));
        self.post_form("/login", &[("user", user), ("password", password), ("csrf", &csrf), ("next", "/")])
    }

    /// The CSRF token the current session's forms carry (read from a page's logout form).
    pub fn csrf(&mut self, page: &str) -> String {
        let answer = self.get(page);
        answer.hidden_input("csrf").unwrap_or_else(|| panic!("{page} ({}) has no csrf field", answer.status))
    }
}

fn parse(raw: &[u8]) -> Option<WebResponse> {
    let split = raw.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(name, value)| name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    }
    Some(WebResponse { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|window| window == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_with_chunked_bodies_and_cookies_are_kept_and_expired() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1; Path=/\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let answer = parse(raw).expect("parses");
        assert_eq!((answer.status, answer.text().as_str()), (200, "abcde"));
        let mut client = WebClient::new("http://127.0.0.1:1");
        client.keep_cookie("a=1; Path=/");
        assert_eq!(client.cookies.get("a").map(String::as_str), Some("1"));
        client.keep_cookie("a=; Path=/; Max-Age=0");
        assert!(client.cookies.is_empty());
        assert_eq!(form_encode(&[("reason", "a b&c")]), "reason=a+b%26c");
    }
}
