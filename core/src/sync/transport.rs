//! The one thing sync needs from a network: send a request, get a response. Phone shells implement
//! [`Transport`] with their platform's HTTP stack (proxies, background transfers, TLS); the CLI, the tests
//! and desktop use [`HttpTransport`] (feature `http-transport`).

/// The methods the protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// A request, with a path relative to the office's address (query included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// Sets a header, replacing an earlier value of the same name.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// A response as it arrived: status, headers (lower-case names), raw body bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// Why no response came back. Every kind is worth retrying: the request may or may not have reached the
/// office, and the protocol makes sending it again safe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the office could not be reached: {0}")]
    Unreachable(String),
    #[error("the connection broke: {0}")]
    Broken(String),
    #[error("the office did not answer in time")]
    TimedOut,
}

/// Sends requests to one office.
pub trait Transport: Send + Sync {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request)
    }
}

#[cfg(feature = "http-transport")]
pub use http::HttpTransport;

#[cfg(feature = "http-transport")]
mod http {
    use std::time::Duration;

    use super::*;

    /// Blocking HTTP/1.1 over `ureq`, plain `http://` only: put TLS in front of the office (a reverse proxy)
    /// for desktop clients; phones bring their own stack.
    #[derive(Debug, Clone)]
    pub struct HttpTransport {
        base: String,
        agent: ureq::Agent,
        max_body: u64,
    }

    impl HttpTransport {
        /// A transport to the office at `base` (e.g. `http://10.0.0.5:8080`).
        pub fn new(base: &str) -> Self {
            Self::with_timeout(base, Duration::from_secs(60))
        }

        pub fn with_timeout(base: &str, timeout: Duration) -> Self {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .timeout_connect(Some(Duration::from_secs(10)))
                .build()
                .new_agent();
            Self { base: base.trim_end_matches('/').to_string(), agent, max_body: 256 << 20 }
        }

        pub fn base(&self) -> &str {
            &self.base
        }
    }

    impl Transport for HttpTransport {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
            let url = format!("{}{}", self.base, request.path);
            let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(&url);
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let built =
                builder.body(request.body.clone()).map_err(|err| TransportError::Unreachable(err.to_string()))?;
            let response = self.agent.run(built).map_err(classify)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or_default().to_string()))
                .collect();
            let body = if request.method == Method::Head {
                Vec::new()
            } else {
                response.into_body().with_config().limit(self.max_body).read_to_vec().map_err(classify)?
            };
            Ok(HttpResponse { status, headers, body })
        }
    }

    fn classify(err: ureq::Error) -> TransportError {
        match err {
            ureq::Error::Timeout(_) => TransportError::TimedOut,
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => TransportError::Unreachable(err.to_string()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                TransportError::Unreachable(io.to_string())
            }
            other => TransportError::Broken(other.to_string()),
        }
    }
}
