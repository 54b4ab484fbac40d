//! The district office in a browser: server-rendered pages (askama templates) over the same ledger the
//! sync API writes. Every page needs a logged-in office user whose role allows it; every form carries the
//! session's CSRF token and is refused without it; logins are rate limited.
//!
//! Pages: `/` overview, `/ranking`, `/villages/{code}`, `/bulletin` (+ `.csv`, `.xlsx`), `/escalations`,
//! `/issues/{id}`, `/queue` with `POST /issues/{id}/accept|reject`, `/map`, `/photos/{hash}`.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rectify_core::domain::role::Role;
use rectify_core::ids::VillageId;
use serde::Deserialize;

use crate::{Office, OfficeError};

pub mod auth;
pub(crate) mod data;
mod decide;
pub mod i18n;
mod map;
pub(crate) mod pages;

pub use auth::{LoginLimiter, WebUser};
pub use decide::Decision;
use i18n::{Lang, Tr};

pub const SESSION_COOKIE: &str = "rectify_session";
const LOGIN_COOKIE: &str = "rectify_login";
const LANG_COOKIE: &str = "rectify_lang";

/// What the pages share: the office, the login limiter and the permits for password checks.
#[derive(Debug)]
pub struct WebState {
    pub office: Arc<Office>,
    pub limiter: LoginLimiter,
    /// Argon2 takes 19 MiB and tens of milliseconds per check: at most this many run at once, and a login
    /// beyond them is told to come back rather than queued.
    password_checks: tokio::sync::Semaphore,
}

/// Password checks that may run at once.
const PASSWORD_CHECKS: usize = 4;

pub(crate) type Shared = Arc<WebState>;

/// The dashboard's routes, to merge into the office's router.
pub fn router(office: Arc<Office>) -> Router {
    let state = Arc::new(WebState {
        office,
        limiter: LoginLimiter::default(),
        password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
    });
    Router::new()
        .route("/login", get(login_form).post(log_in))
        .route("/logout", get(logout_form).post(log_out))
        .route("/lang", get(set_lang))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../../static/app.css")) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../../static/app.js")) }),
        )
        .route("/", get(pages::overview))
        .route("/ranking", get(pages::ranking))
        .route("/villages/{code}", get(pages::village))
        .route("/bulletin", get(pages::bulletin))
        .route("/bulletin.csv", get(pages::bulletin_csv))
        .route("/bulletin.xlsx", get(pages::bulletin_xlsx))
        .route("/escalations", get(pages::escalations))
        .route("/issues/{id}", get(pages::issue))
        .route("/issues/{id}/accept", post(pages::accept))
        .route("/issues/{id}/reject", post(pages::reject))
        .route("/queue", get(pages::queue))
        .route("/map", get(map::page))
        .route("/photos/{hash}", get(pages::photo))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600")),
        ],
        body,
    )
        .into_response()
}

/// What a page may need of its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// District-wide reading: overview, ranking, bulletin, escalations, map.
    District,
    /// Accepting and rejecting strike-offs, and the queue.
    Decide,
    /// One village's pages and issues.
    Village(VillageId),
}

/// Whether `user`'s role allows `need`. Inspectors read the district; acceptors also decide; admins do
/// everything; a secretary sees only their own villages.
pub fn allowed(user: &WebUser, need: Need) -> bool {
    match (user.role, need) {
        (Role::Admin, _) => true,
        (Role::Acceptor, _) => true,
        (Role::Inspector, Need::District | Need::Village(_)) => true,
        (Role::Inspector, Need::Decide) => false,
        (Role::Secretary, Need::Village(village)) => user.villages.contains(&village),
        (Role::Secretary, _) => false,
    }
}

/// Why a page did not render: each kind has its own status and page.
#[derive(Debug)]
pub enum PageError {
    /// No session: go to the login page, then back.
    LogIn {
        back: String,
    },
    Forbidden(Tr),
    NotFound(Tr, String),
    Invalid(Tr, String),
    /// A form without the session's CSRF token.
    Csrf(Tr),
    Internal(Tr, String),
}

impl PageError {
    pub fn from_office(tr: Tr, err: OfficeError) -> Self {
        match err {
            OfficeError::NotFound(text) => Self::NotFound(tr, text),
            OfficeError::Invalid(text) | OfficeError::Conflict(text) | OfficeError::ChecksumMismatch(text) => {
                Self::Invalid(tr, text)
            }
            OfficeError::Unauthorised(_) => Self::Forbidden(tr),
            OfficeError::Internal(text) => Self::Internal(tr, text),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: Tr,
    title: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, tr, title, message) = match self {
            PageError::LogIn { back } => {
                let target = format!("/login?next={}", encode_query(&back));
                return Redirect::to(&target).into_response();
            }
            PageError::Forbidden(tr) => (StatusCode::FORBIDDEN, tr, "forbidden", tr.t("forbidden_text").to_string()),
            PageError::Csrf(tr) => (
                StatusCode::FORBIDDEN,
                tr,
                "forbidden",
                if tr.is_en() {
                    "The form is missing its security token or it has expired. Reload the page and try again."
                } else {
                    "表单缺少安全令牌或已过期，请刷新页面后重试。"
                }
                .to_string(),
            ),
            PageError::NotFound(tr, text) => (StatusCode::NOT_FOUND, tr, "not_found", text),
            PageError::Invalid(tr, text) => (StatusCode::UNPROCESSABLE_ENTITY, tr, "bad_request", text),
            PageError::Internal(tr, text) => {
                // The detail (paths, SQL) is for the log, not for the page.
                tracing::error!(error = %text, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, tr, "server_error", tr.t("server_error_text").to_string())
            }
        };
        let page = ErrorPage { tr, title: tr.t(title), message };
        (status, render(&page)).into_response()
    }
}

pub(crate) fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = Html(html).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ),
            );
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "a template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be drawn").into_response()
        }
    }
}

/// The language: the preference cookie (set by `/lang`), else Chinese.
pub(crate) fn lang_of(headers: &HeaderMap) -> Tr {
    let lang = cookie(headers, LANG_COOKIE).and_then(|value| Lang::parse(&value)).unwrap_or(Lang::Zh);
    Tr { lang }
}

/// One cookie's value.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// The logged-in user, or the login page for a visitor.
pub(crate) async fn user_of(state: &Shared, headers: &HeaderMap, path: &str) -> Result<WebUser, PageError> {
    let tr = lang_of(headers);
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(PageError::LogIn { back: path.to_string() });
    };
    let office = state.office.clone();
    // Every page starts here: with PostgreSQL, this process's copy of the ledger is brought up to date on
    // the way, so the page shows everything committed before it was asked for.
    let found = blocking(tr, move || {
        let user = office.session(&token)?;
        if user.is_some() {
            office.catch_up()?;
        }
        Ok(user)
    })
    .await?;
    found.ok_or_else(|| PageError::LogIn { back: path.to_string() })
}

/// The user, if their role allows `need`.
pub(crate) async fn require(state: &Shared, headers: &HeaderMap, path: &str, need: Need) -> Result<WebUser, PageError> {
    let user = user_of(state, headers, path).await?;
    if allowed(&user, need) { Ok(user) } else { Err(PageError::Forbidden(lang_of(headers))) }
}

/// Refuses a form whose token is not the session's.
pub(crate) fn check_csrf(user: &WebUser, token: Option<&str>, tr: Tr) -> Result<(), PageError> {
    match token {
        Some(token) if constant_time_eq(token.as_bytes(), user.csrf.as_bytes()) => Ok(()),
        _ => Err(PageError::Csrf(tr)),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs SQLite work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    tr: Tr,
    work: impl FnOnce() -> Result<T, OfficeError> + Send + 'static,
) -> Result<T, PageError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|err| PageError::from_office(tr, err)),
        Err(err) => Err(PageError::Internal(tr, format!("the work stopped: {err}"))),
    }
}

pub(crate) fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A path on this site to go back to; anything else (another host, a scheme) becomes `/`.
pub(crate) fn local_path(next: Option<&str>) -> String {
    // Browsers drop tabs and newlines from a Location and read `\` as `/`, so "/\t/host" would leave the
    // site: only printable ASCII without backslashes passes.
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|byte| (0x21..0x7f).contains(&byte) && byte != b'\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    csrf: String,
    next: String,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn login_page(tr: Tr, next: String, message: Option<String>, status: StatusCode) -> Result<Response, PageError> {
    // Login CSRF: the form's token must match a cookie set with the form (double submit).
    let csrf = crate::credentials::random_hex(16).map_err(|err| PageError::from_office(tr, err))?;
    let mut response = render(&LoginPage { tr, csrf: csrf.clone(), next, message });
    *response.status_mut() = status;
    set_cookie(&mut response, &format!("{LOGIN_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600"));
    Ok(response)
}

async fn login_form(headers: HeaderMap, Query(query): Query<NextQuery>) -> Result<Response, PageError> {
    login_page(lang_of(&headers), local_path(query.next.as_deref()), None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    user: String,
    password: String,
    csrf: Option<String>,
    next: Option<String>,
}

async fn log_in(
    State(state): State<Shared>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let next = local_path(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_COOKIE);
    let sent = form.csrf.as_deref().unwrap_or_default();
    if expected
        .as_deref()
        .is_none_or(|expected| sent.is_empty() || !constant_time_eq(expected.as_bytes(), sent.as_bytes()))
    {
        // Most often a form left open past its hour: show a fresh one rather than a dead end.
        let message =
            if tr.is_en() { "The form expired. Please log in again." } else { "表单已过期，请重新登录。" };
        return login_page(tr, next, Some(message.to_string()), StatusCode::FORBIDDEN);
    }
    let wrong =
        || if tr.is_en() { "The user name or the password is wrong." } else { "用户名或密码错误。" }.to_string();
    let name = form.user.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 {
        // No office user has such a name: refused without a password check or a limiter entry.
        return login_page(tr, next, Some(wrong()), StatusCode::UNAUTHORIZED);
    }
    // The peer's address, when the server was started with connection info (tests may route directly).
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    // The attempt counts as failed from the start, so parallel attempts cannot slip past the limit.
    let begun = limiter(&state, &name, address, |limiter, office, name, address| limiter.begin(office, name, address))
        .await
        .map_err(|err| PageError::from_office(tr, err))?;
    if let Err(wait) = begun {
        let message = if tr.is_en() {
            format!("Too many failed logins. Try again in {} minutes.", wait.div_ceil(60))
        } else {
            format!("登录失败次数过多，请 {} 分钟后再试。", wait.div_ceil(60))
        };
        let mut response = login_page(tr, next, Some(message), StatusCode::TOO_MANY_REQUESTS)?;
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let Ok(_permit) = state.password_checks.try_acquire() else {
        forget_attempt(&state, &name, address).await;
        let message =
            if tr.is_en() { "The office is busy. Try again in a moment." } else { "系统繁忙，请稍后再试。" };
        let mut response = login_page(tr, next, Some(message.to_string()), StatusCode::SERVICE_UNAVAILABLE)?;
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return Ok(response);
    };
    let office = state.office.clone();
    let (checked, password) = (name.clone(), form.password);
    let outcome = tokio::task::spawn_blocking(move || office.log_in(&checked, &password))
        .await
        .map_err(|err| PageError::Internal(tr, err.to_string()))?;
    let shown: String = name.chars().take(40).filter(|c| !c.is_control()).collect();
    match outcome {
        Ok(token) => {
            if let Err(err) = limiter(&state, &name, address, |limiter, office, name, address| {
                limiter.succeeded(office, name, address)
            })
            .await
            {
                tracing::warn!(error = %err, "could not forgive the failed logins of a successful one");
            }
            tracing::info!(user = %shown, "logged in");
            let mut response = Redirect::to(&next).into_response();
            set_cookie(
                &mut response,
                &format!(
                    "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                    auth::SESSION_HOURS * 3600
                ),
            );
            set_cookie(&mut response, &format!("{LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0"));
            Ok(response)
        }
        Err(OfficeError::Unauthorised(_)) => {
            tracing::warn!(user = %shown, address = ?address, "login refused");
            login_page(tr, next, Some(wrong()), StatusCode::UNAUTHORIZED)
        }
        Err(err) => {
            forget_attempt(&state, &name, address).await;
            Err(PageError::from_office(tr, err))
        }
    }
}

/// Runs a login limiter step on the blocking pool: the counts are in the database.
async fn limiter<T: Send + 'static>(
    state: &Shared,
    name: &str,
    address: Option<std::net::IpAddr>,
    step: impl FnOnce(&LoginLimiter, &Office, &str, Option<std::net::IpAddr>) -> Result<T, OfficeError> + Send + 'static,
) -> Result<T, OfficeError> {
    let (limiter, office, name) = (state.limiter.clone(), state.office.clone(), name.to_string());
    tokio::task::spawn_blocking(move || step(&limiter, &office, &name, address))
        .await
        .map_err(|err| OfficeError::Internal(format!("the login check failed: {err}")))?
}

/// Takes back an attempt that was not a wrong password; a failure to do so only costs the user one try.
async fn forget_attempt(state: &Shared, name: &str, address: Option<std::net::IpAddr>) {
    if let Err(err) =
        limiter(state, name, address, |limiter, office, name, address| limiter.forget(office, name, address)).await
    {
        tracing::warn!(error = %err, "could not take back a login attempt");
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

async fn log_out(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let user = user_of(&state, &headers, "/").await?;
    check_csrf(&user, form.csrf.as_deref(), tr)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let office = state.office.clone();
        blocking(tr, move || office.log_out(&token)).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    set_cookie(&mut response, &format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"));
    Ok(response)
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    tr: Tr,
    user: String,
    csrf: String,
}

/// A page with just the logout button, for pages that have no menu (the error pages link here).
async fn logout_form(State(state): State<Shared>, headers: HeaderMap) -> Result<Response, PageError> {
    let tr = lang_of(&headers);
    let user = user_of(&state, &headers, "/").await?;
    Ok(render(&LogoutPage { tr, user: user.name, csrf: user.csrf }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    to: String,
    back: Option<String>,
}

/// Switches the language (a preference cookie, nothing else) and returns to the page.
async fn set_lang(Query(query): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&query.to).unwrap_or(Lang::Zh);
    let mut response = Redirect::to(&local_path(query.back.as_deref())).into_response();
    set_cookie(&mut response, &format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code()));
    response
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The request's path and query, for coming back after logging in.
pub(crate) fn here(request_uri: &axum::http::Uri) -> String {
    request_uri.path_and_query().map_or_else(|| "/".to_string(), |value| value.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path(Some("/ranking?month=2026-10")), "/ranking?month=2026-10");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("/\t/evil.example")), "/");
        assert_eq!(local_path(Some("/\n/evil.example")), "/");
        assert_eq!(local_path(Some("/村")), "/");
        assert_eq!(local_path(Some("/ranking?month=2026-10&x=%2F")), "/ranking?month=2026-10&x=%2F");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; rectify_session=abc; rectify_lang=en"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(lang_of(&headers).lang, Lang::En);
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
