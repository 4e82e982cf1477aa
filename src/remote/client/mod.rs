//! The HTTP client for Clerk's Backend API: bearer auth, retries with
//! backoff, `Retry-After`, and Clerk's error bodies. It knows nothing of
//! Postgres.
//!
//! The retry loop is hand-written rather than taken from a backoff crate
//! because its decisions depend on the response (429 waits exactly what
//! `Retry-After` says, 4xx never retries, 5xx and transport errors back off
//! exponentially) and every wait must count against one total budget.

mod retry;
#[cfg(test)]
pub(crate) mod tests;

use crate::catalog::Method;
use crate::remote::budget::{self, Budget, Counter, Rate};
use crate::request::request_target;
use retry::{backoff, jitter, retry_after, transport_cause, Answer, Retry};
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
            let retry = match self.send(call, timeout).await {
                Ok(resp) => match self.answer(call, resp, policy).await? {
                    Answer::Done(status, body) => return Ok((status, body)),
                    Answer::Retry(retry) => retry,
                },
                Err(e) if call.method != Method::Post || e.is_connect() => {
                    Retry::Transport(transport_cause(&e))
                }
                Err(e) => return Err(call.uncertain(transport_cause(&e))),
            };
            let delay = match &retry {
                Retry::RateLimited(after) => {
                    self.count(Counter::Throttled, 1);
                    let pause = after.unwrap_or(backoff(policy, attempts - 1));
                    // Every session of this instance holds back, not just this one.
                    self.budget.pause(budget::now_ns(), pause);
                    pause + jitter(Duration::from_millis(250))
                }
                _ => {
                    failures += 1;
                    backoff(policy, failures - 1)
                }
            };
            if failures > policy.max_retries || waited() + delay > cap {
                return Err(self.given_up(retry, waited(), delay, failures));
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt of `call`.
    async fn send(
        &self,
        call: &Call<'_>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self
            .http
            .request(http_method(call.method), call.url.clone())
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
        request.send().await
    }

    /// What an answer means: the body of a 2xx, a reason to try again, or
    /// an error. A POST is tried again only when the answer says it was
    /// not applied (429, 503).
    async fn answer(
        &self,
        call: &Call<'_>,
        resp: reqwest::Response,
        policy: &RetryPolicy,
    ) -> Result<Answer, ClerkError> {
        let repeatable = call.method != Method::Post;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after)
            // Capped: a huge value must not overflow or stall.
            .map(|wait| wait.min(policy.max_retry_after));
        let message = |resp| self.error_body(resp);
        Err(match status {
            200..=299 => {
                return match self.read_body(resp, self.max_response_bytes).await {
                    Ok(body) => {
                        self.count(Counter::BytesReceived, body.len() as u64);
                        Ok(Answer::Done(status, body))
                    }
                    Err(BodyError::TooLarge) => Err(ClerkError::TooLarge {
                        limit: self.max_response_bytes,
                    }),
                    Err(BodyError::Transport(cause)) if !repeatable => Err(call.uncertain(cause)),
                    Err(BodyError::Transport(e)) => Ok(Answer::Retry(Retry::Transport(e))),
                }
            }
            300..=399 => {
                let to = resp
                    .headers()
                    .get("Location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| call.url.join(l).ok())
                    .and_then(|u| u.host_str().map(String::from))
                    .unwrap_or_else(|| "nowhere".into());
                ClerkError::Redirected { status, to }
            }
            401 => ClerkError::Unauthorized {
                status,
                key_source: self.key_source.clone(),
                message: message(resp).await,
            },
            402 | 403 => ClerkError::Refused {
                status,
                message: message(resp).await,
            },
            404 => ClerkError::NotFound {
                method: call.method.name(),
                path: call.url.path().to_string(),
                message: message(resp).await,
            },
            429 => return Ok(Answer::Retry(Retry::RateLimited(retry_after))),
            // Only a 503 says the request was not taken in.
            500..=599 if !repeatable && status != 503 => call.uncertain(format!("HTTP {status}")),
            500..=599 => return Ok(Answer::Retry(Retry::Server(status))),
            _ => ClerkError::Api {
                status,
                message: message(resp).await,
            },
        })
    }

    /// The error of a request given up on after `retry`.
    fn given_up(
        &self,
        retry: Retry,
        waited: Duration,
        delay: Duration,
        failures: u32,
    ) -> ClerkError {
        match retry {
            Retry::RateLimited(_) => ClerkError::RateLimited {
                waited,
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

/// The method as reqwest spells it.
fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
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
