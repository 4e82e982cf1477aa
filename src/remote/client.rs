//! The HTTP client for Clerk's Backend API: bearer auth, retries with
//! backoff, `Retry-After`, and Clerk's error bodies. It knows nothing of
//! Postgres.
//!
//! The retry loop is hand-written rather than taken from a backoff crate
//! because its decisions depend on the response (429 waits exactly what
//! `Retry-After` says, 4xx never retries, 5xx and transport errors back off
//! exponentially) and every wait must count against one total budget.

use crate::remote::budget::{self, Budget, Counter, Rate};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use url::Url;

pub const DEFAULT_API_URL: &str = "https://api.clerk.com/v1";

/// The Backend API version clerk_fdw follows (`starting_after`, the
/// `paginated` lists, the date filters), sent as `Clerk-API-Version` so the
/// instance's default version does not decide.
pub const API_VERSION: &str = "2026-05-12";

/// Timeout of [`ClerkClient::get_quick`].
const QUICK_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything that went wrong talking to Clerk. Messages never contain the
/// secret key: it travels only in the `Authorization` header.
#[derive(Debug, thiserror::Error)]
pub enum ClerkError {
    #[error("Clerk rejected the secret key from {key_source} (HTTP {status}): {message}")]
    Unauthorized {
        status: u16,
        key_source: String,
        message: String,
    },
    /// 402 (the feature is not on the instance's plan) or 403 (the
    /// instance does not allow it, e.g. organizations are disabled).
    #[error("Clerk refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    #[error("Clerk answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    /// A 404 where Clerk's spec does not document one for a missing key:
    /// the path itself is wrong, most often an `api_url` without `/v1`.
    #[error("Clerk answered 404 Not Found for {method} {path}: {message}")]
    NotFound {
        method: &'static str,
        path: String,
        message: String,
    },
    /// A write whose fate is unknown: sent, but no answer that says whether
    /// Clerk applied it. It is not repeated, as that could apply it twice.
    #[error("{method} {path} may or may not have been applied by Clerk: {cause}; clerk_fdw does not repeat a request that could be applied twice")]
    Uncertain {
        method: &'static str,
        path: String,
        cause: String,
    },
    #[error("Clerk kept answering 429 Too Many Requests; gave up after waiting {:.1} s, as the next wait ({:.1} s) would pass max_retry_wait_ms", waited.as_secs_f64(), next.as_secs_f64())]
    RateLimited { waited: Duration, next: Duration },
    #[error("Clerk answered HTTP {status} on {attempts} attempts in a row")]
    Server { status: u16, attempts: u32 },
    #[error("cannot reach Clerk at {host}: {cause} ({attempts} attempts)")]
    Unreachable {
        host: String,
        cause: String,
        attempts: u32,
    },
    #[error("Clerk sent a response clerk_fdw cannot read: {0}")]
    Malformed(String),
    #[error("the list changed while it was being read ({0}); run the query again")]
    Inconsistent(String),
    #[error("invalid api_url {0:?}: it must be an http:// or https:// URL")]
    BadUrl(String),
    #[error("invalid api_version {0:?}")]
    BadApiVersion(String),
    #[error("invalid api_url: it must not contain a user name or password (clerk_fdw sends the secret key itself)")]
    UrlWithCredentials,
    #[error("Clerk answered HTTP {status}, a redirect to {to}: clerk_fdw follows no redirects, which would carry the secret key along")]
    Redirected { status: u16, to: String },
    #[error("the response is larger than max_response_bytes ({limit} bytes)")]
    TooLarge { limit: u64 },
    #[error("the scan was stopped before it finished")]
    Stopped,
}

/// How hard to try before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    /// Retries after a 5xx, a timeout or a connection error.
    pub max_retries: u32,
    /// First backoff; doubles per retry, with jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Longest single wait a `Retry-After` may impose.
    pub max_retry_after: Duration,
    /// Total time one request may spend waiting between attempts.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(90),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientConfig {
    pub api_url: String,
    pub api_key: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// The request budget; `None` sends as fast as Clerk answers.
    pub rate: Option<Rate>,
    /// Where budgets are shared between processes (see [`crate::remote::budget`]);
    /// `None` keeps them in this process.
    pub budget_file: Option<PathBuf>,
    /// The largest response body read; a larger one is an error.
    pub max_response_bytes: u64,
    /// Sent as `Clerk-API-Version`.
    pub api_version: String,
    /// Where the key came from, for errors (`the user mapping for PUBLIC on
    /// server clerk`); never the key.
    pub key_source: String,
}

/// Far above any real Clerk page (500 users with metadata are a few MB).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

impl ClientConfig {
    pub fn new(api_url: &str, api_key: &str) -> Self {
        ClientConfig {
            api_url: api_url.to_string(),
            api_key: api_key.to_string(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate: None,
            budget_file: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            api_version: API_VERSION.to_string(),
            key_source: "the api_key given".to_string(),
        }
    }
}

static REQUESTS_BY_THIS_PROCESS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

pub struct ClerkClient {
    http: reqwest::Client,
    base: Url,
    api_key: String,
    key_source: String,
    retry: RetryPolicy,
    max_response_bytes: u64,
    budget: Budget,
}

impl std::fmt::Debug for ClerkClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClerkClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    message: Option<String>,
    long_message: Option<String>,
    code: Option<String>,
}

/// Clerk's `{"errors": [...]}` body as one line, or the raw start of the body.
fn error_message(body: &[u8]) -> String {
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        let parts: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| {
                let text = e
                    .long_message
                    .clone()
                    .or_else(|| e.message.clone())
                    .unwrap_or_default();
                match &e.code {
                    Some(code) => printable(&format!("{text} ({code})")),
                    None => printable(&text),
                }
            })
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    printable(&String::from_utf8_lossy(body))
}

/// A short excerpt of a server's text with control characters (line
/// breaks, terminal escapes) made visible.
fn printable(text: &str) -> String {
    const MAX_CHARS: usize = 160;
    let mut out: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

impl ClerkClient {
    pub fn new(config: &ClientConfig) -> Result<ClerkClient, ClerkError> {
        let mut base = Url::parse(&config.api_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| ClerkError::BadUrl(config.api_url.clone()))?;
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ClerkError::UrlWithCredentials);
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            // Clerk never redirects; a redirect would carry the key along.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            // Accept-Encoding: gzip, decoded before `max_response_bytes`
            // counts the body.
            .gzip(true)
            .default_headers(
                [(
                    reqwest::header::HeaderName::from_static("clerk-api-version"),
                    reqwest::header::HeaderValue::from_str(&config.api_version)
                        .map_err(|_| ClerkError::BadApiVersion(config.api_version.clone()))?,
                )]
                .into_iter()
                .collect(),
            )
            .user_agent(concat!("clerk_fdw/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClerkError::Unreachable {
                host: base.host_str().unwrap_or_default().to_string(),
                cause: e.to_string(),
                attempts: 0,
            })?;
        let budget = Budget::new(
            budget::table(config.budget_file.as_deref()),
            budget::instance_hash(base.as_str(), &config.api_key),
            config.rate,
        );
        Ok(ClerkClient {
            http,
            base,
            api_key: config.api_key.clone(),
            key_source: config.key_source.clone(),
            retry: config.retry,
            max_response_bytes: config.max_response_bytes,
            budget,
        })
    }

    /// One client per configuration per process, so connections (and TLS
    /// sessions) are reused across scans.
    pub fn shared(config: &ClientConfig) -> Result<Arc<ClerkClient>, ClerkError> {
        static CLIENTS: OnceLock<Mutex<HashMap<ClientConfig, Arc<ClerkClient>>>> = OnceLock::new();
        let mut clients = CLIENTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(config) {
            return Ok(c.clone());
        }
        let client = Arc::new(ClerkClient::new(config)?);
        clients.insert(config.clone(), client.clone());
        Ok(client)
    }

    /// The URL of `segments` below `api_url`, each segment escaped, with the
    /// query parameters encoded: values can never change the endpoint.
    pub fn url<S: AsRef<str>>(
        &self,
        segments: &[S],
        query: &[(&str, String)],
    ) -> Result<Url, ClerkError> {
        let target = request_target(segments, query);
        self.base
            .join(&target)
            .map_err(|e| ClerkError::BadUrl(format!("{}{target}: {e}", self.base)))
    }

    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        }
    }

    /// Which Clerk instance this client speaks to, with which key: a hash
    /// of both, never the key.
    pub fn instance(&self) -> u64 {
        self.budget.instance()
    }

    /// Requests this process has sent to any Clerk instance (what one
    /// statement cost: the difference before and after it).
    pub fn requests_by_this_process() -> u64 {
        REQUESTS_BY_THIS_PROCESS.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Adds `n` to one of this instance's counters (see [`Counter`]).
    pub fn count(&self, counter: Counter, n: u64) {
        self.budget.count(counter, n);
    }

    /// This instance's counters, in [`Counter`] order, shared by the
    /// sessions that share its budget.
    pub fn counters(&self) -> [u64; budget::COUNTERS] {
        self.budget.counters()
    }

    /// Sets this instance's counters back to zero, for every session.
    pub fn reset_counters(&self) {
        self.budget.reset_counters()
    }

    /// Waits for the budget to allow one more request; gives up, with the
    /// wait it would need, rather than wait longer than `patience`.
    async fn take_turn(&self, patience: Duration) -> Result<(), Duration> {
        let b = &self.budget;
        let start = tokio::time::Instant::now();
        while let Err(wait) = b.try_acquire(budget::now_ns()) {
            if start.elapsed() + wait > patience {
                return Err(wait);
            }
            // Short naps: a turn may free up sooner (another session's 429
            // pause ended, a budget was raised).
            tokio::time::sleep(wait.min(Duration::from_millis(250))).await;
        }
        let waited = start.elapsed();
        if waited >= Duration::from_millis(1) {
            b.count(Counter::BudgetWaitMicros, waited.as_micros() as u64);
        }
        b.count(Counter::Requests, 1);
        REQUESTS_BY_THIS_PROCESS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// GETs `url`, retrying what is worth retrying, and returns the body of
    /// the first 2xx answer.
    pub async fn get(&self, url: &Url) -> Result<bytes::Bytes, ClerkError> {
        self.get_with(url, &self.retry, None).await
    }

    /// One attempt with a short timeout, for the planner's row estimates:
    /// planning must not wait out a retry budget.
    pub async fn get_quick(&self, url: &Url) -> Result<bytes::Bytes, ClerkError> {
        let once = RetryPolicy {
            max_retries: 0,
            max_total_wait: Duration::ZERO,
            ..self.retry
        };
        self.get_with(url, &once, Some(QUICK_TIMEOUT)).await
    }

    async fn get_with(
        &self,
        url: &Url,
        policy: &RetryPolicy,
        timeout: Option<Duration>,
    ) -> Result<bytes::Bytes, ClerkError> {
        let get = Call {
            method: Method::Get,
            url,
            body: None,
        };
        let result = self.attempts(&get, policy, timeout).await;
        if result.is_err() {
            self.count(Counter::Errors, 1);
        }
        result.map(|(_, body)| body)
    }

    /// Sends a write and returns the body of Clerk's 2xx answer. A
    /// [`Method::Post`] is repeated only after an answer that says it was
    /// not applied (429, 503) or when it never reached Clerk; PATCH and
    /// DELETE, which Clerk applies idempotently, are retried like a GET.
    pub async fn write(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, bytes::Bytes), ClerkError> {
        let body = body.map(|b| bytes::Bytes::from(b.to_string()));
        let call = Call {
            method,
            url,
            body: body.as_ref(),
        };
        let result = self.attempts(&call, &self.retry, None).await;
        self.count(Counter::Writes, 1);
        if result.is_err() {
            self.count(Counter::Errors, 1);
            self.count(Counter::WriteErrors, 1);
        }
        result
    }

    /// The status and body of the first 2xx answer.
    async fn attempts(
        &self,
        call: &Call<'_>,
        policy: &RetryPolicy,
        timeout: Option<Duration>,
    ) -> Result<(u16, bytes::Bytes), ClerkError> {
        let url = call.url;
        let repeatable = call.method != Method::Post;
        let mut attempts = 0u32;
        let mut failures = 0u32;
        // Every wait counts against `max_total_wait` (for the quick path,
        // `timeout`): the budget's turns, including a pause another
        // request's 429 set before this one started, backoff and
        // Retry-After.
        let started = tokio::time::Instant::now();
        let cap = policy.max_total_wait.max(timeout.unwrap_or(Duration::ZERO));
        let waited = || started.elapsed();
        loop {
            if let Err(next) = self.take_turn(cap.saturating_sub(waited())).await {
                return Err(ClerkError::RateLimited {
                    waited: waited(),
                    next,
                });
            }
            attempts += 1;
            if attempts > 1 {
                self.count(Counter::Retries, 1);
            }
            let mut request = self
                .http
                .request(call.method.http(), url.clone())
                .bearer_auth(&self.api_key)
                .header("Accept", "application/json");
            if let Some(body) = call.body {
                request = request
                    .header("Content-Type", "application/json")
                    .body(body.clone());
            }
            if let Some(t) = timeout {
                request = request.timeout(t);
            }
            let result = request.send().await;
            let wait = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("Retry-After")
                        .and_then(|v| v.to_str().ok())
                        .and_then(retry_after)
                        // Capped: a huge value must not overflow or stall.
                        .map(|wait| wait.min(policy.max_retry_after));
                    match status {
                        200..=299 => match self.read_body(resp, self.max_response_bytes).await {
                            Ok(body) => {
                                self.count(Counter::BytesReceived, body.len() as u64);
                                return Ok((status, body));
                            }
                            Err(BodyError::TooLarge) => {
                                return Err(ClerkError::TooLarge {
                                    limit: self.max_response_bytes,
                                })
                            }
                            Err(BodyError::Transport(cause)) if !repeatable => {
                                return Err(call.uncertain(cause));
                            }
                            Err(BodyError::Transport(e)) => {
                                failures += 1;
                                Retry::Transport(e)
                            }
                        },
                        300..=399 => {
                            let to = resp
                                .headers()
                                .get("Location")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|l| url.join(l).ok())
                                .and_then(|u| u.host_str().map(String::from))
                                .unwrap_or_else(|| "nowhere".into());
                            return Err(ClerkError::Redirected { status, to });
                        }
                        401 => {
                            return Err(ClerkError::Unauthorized {
                                status,
                                key_source: self.key_source.clone(),
                                message: self.error_body(resp).await,
                            })
                        }
                        402 | 403 => {
                            return Err(ClerkError::Refused {
                                status,
                                message: self.error_body(resp).await,
                            })
                        }
                        404 => {
                            return Err(ClerkError::NotFound {
                                method: call.method.name(),
                                path: url.path().to_string(),
                                message: self.error_body(resp).await,
                            });
                        }
                        429 => Retry::RateLimited(retry_after),
                        // Only a 503 says the request was not taken in.
                        500..=599 if !repeatable && status != 503 => {
                            return Err(call.uncertain(format!("HTTP {status}")));
                        }
                        500..=599 => {
                            failures += 1;
                            Retry::Server(status)
                        }
                        _ => {
                            return Err(ClerkError::Api {
                                status,
                                message: self.error_body(resp).await,
                            });
                        }
                    }
                }
                Err(e) if !repeatable && !e.is_connect() => {
                    return Err(call.uncertain(transport_cause(&e)));
                }
                Err(e) => {
                    failures += 1;
                    Retry::Transport(transport_cause(&e))
                }
            };
            let delay = match &wait {
                Retry::RateLimited(after) => {
                    self.count(Counter::Throttled, 1);
                    let backoff = backoff(policy, attempts.saturating_sub(1));
                    let pause = after.unwrap_or(backoff);
                    // Every session of this instance holds back, not just this one.
                    self.budget.pause(budget::now_ns(), pause);
                    pause + jitter(Duration::from_millis(250))
                }
                _ => backoff(policy, failures - 1),
            };
            let give_up = failures > policy.max_retries || waited() + delay > cap;
            if give_up {
                return Err(match wait {
                    Retry::RateLimited(_) => ClerkError::RateLimited {
                        waited: waited(),
                        next: delay,
                    },
                    Retry::Server(status) => ClerkError::Server {
                        status,
                        attempts: failures,
                    },
                    Retry::Transport(cause) => ClerkError::Unreachable {
                        host: self.host(),
                        cause,
                        attempts: failures,
                    },
                });
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// The body of a response, at most `limit` bytes.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        limit: u64,
    ) -> Result<bytes::Bytes, BodyError> {
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(BodyError::TooLarge);
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| BodyError::Transport(transport_cause(&e)))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Clerk's message from an error response, read up to a few KB.
    async fn error_body(&self, resp: reqwest::Response) -> String {
        const ERROR_BODY_LIMIT: u64 = 64 * 1024;
        match self.read_body(resp, ERROR_BODY_LIMIT).await {
            Ok(body) => error_message(&body),
            Err(_) => "(an error body clerk_fdw could not read)".into(),
        }
    }
}

/// An HTTP method clerk_fdw sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    fn http(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One request, however often it is attempted.
struct Call<'a> {
    method: Method,
    url: &'a Url,
    body: Option<&'a bytes::Bytes>,
}

impl Call<'_> {
    fn uncertain(&self, cause: String) -> ClerkError {
        ClerkError::Uncertain {
            method: self.method.name(),
            path: self.url.path().to_string(),
            cause,
        }
    }
}

enum BodyError {
    TooLarge,
    Transport(String),
}

/// A `Retry-After` value: seconds, or an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(Duration::from_secs(at.saturating_sub(now).max(0) as u64))
}

enum Retry {
    RateLimited(Option<Duration>),
    Server(u16),
    Transport(String),
}

/// The innermost cause of a reqwest error, without the URL (which is ours
/// anyway) and never with headers.
fn transport_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if e.is_timeout() {
        format!("request timed out ({cause})")
    } else {
        cause.to_string()
    }
}

/// Exponential backoff for the `n`-th retry (0-based), with "equal jitter":
/// half fixed, half random.
fn backoff(policy: &RetryPolicy, n: u32) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << n.min(16))
        .min(policy.max_delay);
    exp / 2 + jitter(exp / 2)
}

fn jitter(max: Duration) -> Duration {
    max.mul_f64(fastrand::f64())
}

/// `segments` escaped and joined, then the encoded query: what follows
/// `api_url/`. A value can never change the endpoint or add a parameter.
pub fn request_target<S: AsRef<str>>(segments: &[S], params: &[(&str, String)]) -> String {
    use url::form_urlencoded;
    let path: Vec<String> = segments
        .iter()
        .map(|s| percent_encoding::utf8_percent_encode(s.as_ref(), SEGMENT).to_string())
        .collect();
    let mut target = path.join("/");
    if !params.is_empty() {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        target.push('?');
        target.push_str(&query);
    }
    target
}

/// Everything but RFC 3986's unreserved characters is escaped in a path
/// segment (`/`, `%`, `?`, `#` included).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use clerk_mock::{Behaviour, DataConfig, Fault, MockServer};

    pub(crate) fn fast_policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_millis(1500),
            max_total_wait: Duration::from_secs(5),
        }
    }

    fn client(server: &MockServer, key: &str) -> ClerkClient {
        let mut cfg = ClientConfig::new(&server.url(), key);
        cfg.retry = fast_policy();
        cfg.request_timeout = Duration::from_millis(500);
        ClerkClient::new(&cfg).unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn small() -> DataConfig {
        DataConfig {
            users: 3,
            organizations: 1,
            big_org_members: 2,
            ..DataConfig::default()
        }
    }

    fn reply(status: u16, headers: Vec<(&'static str, String)>, body: &[u8]) -> Option<Fault> {
        Some(Fault::Reply {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    fn scripted(faults: Vec<Option<Fault>>) -> MockServer {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        server.set_behaviour(Behaviour {
            script: faults.into(),
            ..Behaviour::default()
        });
        server
    }

    fn get_users(c: &ClerkClient) -> Result<bytes::Bytes, ClerkError> {
        rt().block_on(c.get(&c.url(&["users"], &[]).unwrap()))
    }

    #[test]
    fn a_redirect_is_an_error_and_the_key_goes_nowhere_else() {
        let other = MockServer::start(&small(), "sk", 0).unwrap();
        let to = format!("{}/users", other.url());
        let server = scripted(vec![reply(302, vec![("Location", to)], b"")]);
        let err = get_users(&client(&server, "sk")).unwrap_err();
        assert!(
            matches!(&err, ClerkError::Redirected { status: 302, to } if to == "127.0.0.1"),
            "{err}"
        );
        assert_eq!(server.request_count(), 1);
        assert_eq!(other.request_count(), 0, "the redirect was followed");
    }

    #[test]
    fn a_body_over_the_limit_is_an_error() {
        let server = scripted(vec![reply(200, vec![], &vec![b' '; 300_000])]);
        let mut cfg = ClientConfig::new(&server.url(), "sk");
        cfg.max_response_bytes = 100_000;
        let c = ClerkClient::new(&cfg).unwrap();
        assert!(matches!(
            get_users(&c),
            Err(ClerkError::TooLarge { limit: 100_000 })
        ));
        assert_eq!(server.request_count(), 1);
    }

    #[test]
    fn waits_of_every_kind_count_against_the_total() {
        // 429s without Retry-After, then with an HTTP date: the request
        // gives up when its waits would pass max_total_wait.
        let no_header = Some(Fault::Status {
            status: 429,
            retry_after: None,
        });
        let server = scripted(vec![no_header; 50]);
        let mut cfg = ClientConfig::new(&server.url(), "sk");
        cfg.retry = RetryPolicy {
            max_total_wait: Duration::from_millis(1500),
            ..fast_policy()
        };
        let c = ClerkClient::new(&cfg).unwrap();
        let t = std::time::Instant::now();
        assert!(matches!(get_users(&c), Err(ClerkError::RateLimited { .. })));
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{:?}",
            t.elapsed()
        );

        let in_two_seconds = std::time::SystemTime::now() + Duration::from_secs(2);
        let date = chrono::DateTime::<chrono::Utc>::from(in_two_seconds)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let server = scripted(vec![reply(429, vec![("Retry-After", date)], b"{}"), None]);
        let c = client(&server, "sk");
        let t = std::time::Instant::now();
        assert!(get_users(&c).is_ok());
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(server.request_count(), 2);
    }

    #[test]
    fn error_bodies_are_short_and_printable() {
        let mut hostile = b"<html>\x1b[31mboom\r\nSet-Cookie: x\x07".to_vec();
        hostile.extend(vec![b'A'; 10_000]);
        let server = scripted(vec![reply(418, vec![], &hostile)]);
        let err = get_users(&client(&server, "sk")).unwrap_err().to_string();
        assert!(!err.chars().any(char::is_control), "{err:?}");
        assert!(err.len() < 300, "{}", err.len());
    }

    #[test]
    fn api_url_may_not_carry_credentials() {
        let cfg = ClientConfig::new("http://alice:s3cr3t@127.0.0.1:9/v1", "sk");
        let err = ClerkClient::new(&cfg).unwrap_err().to_string();
        assert!(matches!(
            ClerkClient::new(&cfg),
            Err(ClerkError::UrlWithCredentials)
        ));
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn url_escapes_segments_and_values() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        let c = client(&server, "sk");
        let u = c
            .url(
                &["users", "../organizations"],
                &[("email_address", "a&limit=1".into())],
            )
            .unwrap();
        assert!(u.path().ends_with("/v1/users/..%2Forganizations"), "{u}");
        assert_eq!(u.query(), Some("email_address=a%26limit%3D1"));
    }

    #[test]
    fn the_api_version_is_pinned_and_bodies_come_gzipped() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        let c = client(&server, "sk");
        let body = rt()
            .block_on(c.get(&c.url(&["users"], &[("limit", "3".into())]).unwrap()))
            .unwrap();
        let users: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert_eq!(users.len(), 3);
        let log = server.requests();
        assert_eq!(log[0].api_version.as_deref(), Some(API_VERSION));
        assert!(log[0].gzip);
        assert_eq!(API_VERSION, clerk_mock::spec::API_VERSION);
    }

    #[test]
    fn refusals_report_clerks_message_not_a_bad_key() {
        for (status, words) in [
            (403, "organizations are not enabled"),
            (402, "not included in your instance's plan"),
        ] {
            let server = scripted(vec![Some(Fault::Status {
                status,
                retry_after: None,
            })]);
            let c = client(&server, "sk");
            let err = rt()
                .block_on(c.get(&c.url(&["organizations"], &[]).unwrap()))
                .unwrap_err();
            assert!(matches!(err, ClerkError::Refused { .. }), "{err:?}");
            assert!(err.to_string().contains(words), "{err}");
            assert_eq!(server.request_count(), 1, "not retried");
        }
        let server = MockServer::start(&small(), "sk_test_right", 0).unwrap();
        let mut config = ClientConfig::new(&server.url(), "sk_test_wrong");
        config.key_source = "the user mapping for PUBLIC on server clerk".into();
        let c = ClerkClient::new(&config).unwrap();
        let err = rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .unwrap_err();
        assert!(err.to_string().starts_with(
            "Clerk rejected the secret key from the user mapping for PUBLIC on server clerk (HTTP 401)"
        ), "{err}");
    }

    #[test]
    fn bad_key_is_unauthorized_without_the_key_in_the_message() {
        let server = MockServer::start(&small(), "sk_test_right", 0).unwrap();
        let c = client(&server, "sk_test_wrong_secret");
        let err = rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .unwrap_err();
        assert!(matches!(err, ClerkError::Unauthorized { status: 401, .. }));
        assert!(!format!("{err} {err:?} {c:?}").contains("sk_test_wrong_secret"));
    }

    #[test]
    fn retries_429_with_retry_after_then_succeeds() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        server.set_behaviour(Behaviour {
            script: [
                Some(Fault::Status {
                    status: 429,
                    retry_after: Some(1),
                }),
                None,
            ]
            .into(),
            ..Behaviour::default()
        });
        let c = client(&server, "sk");
        let t = std::time::Instant::now();
        let body = rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .unwrap();
        assert!(
            t.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        assert_eq!(
            serde_json::from_slice::<Vec<serde_json::Value>>(&body)
                .unwrap()
                .len(),
            3
        );
        assert_eq!(server.request_count(), 2);
    }

    #[test]
    fn an_absurd_retry_after_is_capped() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        server.set_behaviour(Behaviour {
            script: [Some(Fault::Status {
                status: 429,
                retry_after: Some(u64::MAX),
            })]
            .into(),
            ..Behaviour::default()
        });
        let c = client(&server, "sk");
        let t = std::time::Instant::now();
        assert!(rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .is_ok());
        assert!(t.elapsed() < Duration::from_secs(3));
    }

    /// A 429's pause holds back the next request too, and that wait counts
    /// against the next request's cap: it gives up at once rather than
    /// wait out a pause longer than the cap, and never waits past it.
    #[test]
    fn every_wait_counts_against_the_cap_even_before_the_first_attempt() {
        let far_future = Some(Fault::Reply {
            status: 429,
            headers: vec![("Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT".into())],
            body: b"{}".to_vec(),
        });
        let server = scripted(vec![far_future]);
        let mut cfg = ClientConfig::new(&server.url(), "sk");
        cfg.retry = RetryPolicy {
            max_retry_after: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(2),
            ..fast_policy()
        };
        cfg.rate = Rate::parse("40/10s");
        let c = ClerkClient::new(&cfg).unwrap();
        for _ in 0..2 {
            let t = std::time::Instant::now();
            let err = get_users(&c).unwrap_err();
            assert!(
                matches!(err, ClerkError::RateLimited { waited, next }
                    if waited <= Duration::from_secs(2) && next > Duration::from_secs(25)),
                "{err:?}"
            );
            assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        }
        assert_eq!(server.request_count(), 1, "the pause was not kept");

        // 429s without Retry-After: backoff and the lowered budget together
        // stay within the cap.
        let storm = vec![
            Some(Fault::Status {
                status: 429,
                retry_after: None,
            });
            200
        ];
        let server = scripted(storm);
        let mut cfg = ClientConfig::new(&server.url(), "sk");
        cfg.retry = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_total_wait: Duration::from_secs(3),
            ..fast_policy()
        };
        cfg.rate = Rate::parse("20/1s");
        let c = ClerkClient::new(&cfg).unwrap();
        for _ in 0..2 {
            let t = std::time::Instant::now();
            let err = get_users(&c).unwrap_err();
            assert!(matches!(err, ClerkError::RateLimited { .. }), "{err:?}");
            assert!(
                t.elapsed() < Duration::from_millis(3300),
                "{:?}",
                t.elapsed()
            );
        }
    }

    #[test]
    fn server_errors_are_retried_a_bounded_number_of_times() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        server.set_behaviour(Behaviour {
            fail_every: 1,
            ..Behaviour::default()
        });
        let c = client(&server, "sk");
        let err = rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClerkError::Server {
                    status: 503,
                    attempts: 4
                }
            ),
            "{err:?}"
        );
        assert_eq!(server.request_count(), 4);
    }

    #[test]
    fn hung_server_times_out_and_4xx_carries_clerks_message() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        server.set_behaviour(Behaviour {
            script: vec![Some(Fault::Hang(Duration::from_secs(3))); 4].into(),
            ..Behaviour::default()
        });
        let c = client(&server, "sk");
        let err = rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .unwrap_err();
        assert!(
            matches!(err, ClerkError::Unreachable { attempts: 4, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("timed out"), "{err}");

        let err = rt()
            .block_on(
                c.get(
                    &c.url(
                        &["users"],
                        &[("offset", "5".into()), ("starting_after", "user_1".into())],
                    )
                    .unwrap(),
                ),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Clerk answered HTTP 422: starting_after cannot be combined with offset (form_param_value_invalid)"
        );
    }

    #[test]
    fn unreachable_server() {
        let server = MockServer::start(&small(), "sk", 0).unwrap();
        let url = server.url();
        drop(server);
        let mut cfg = ClientConfig::new(&url, "sk");
        cfg.retry = fast_policy();
        let c = ClerkClient::new(&cfg).unwrap();
        let err = rt()
            .block_on(c.get(&c.url(&["users"], &[]).unwrap()))
            .unwrap_err();
        assert!(matches!(err, ClerkError::Unreachable { .. }), "{err:?}");
    }

    #[test]
    fn rejects_non_http_urls() {
        assert!(matches!(
            ClerkClient::new(&ClientConfig::new("ftp://x", "k")),
            Err(ClerkError::BadUrl(_))
        ));
        assert!(matches!(
            ClerkClient::new(&ClientConfig::new("not a url", "k")),
            Err(ClerkError::BadUrl(_))
        ));
    }
}
