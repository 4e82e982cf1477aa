//! A Clerk Backend API compatible HTTP server for tests, the demo and the
//! benchmarks, held to Clerk's spec (see [`spec`]): bearer auth, `limit`
//! (1..=500) / `offset` / `starting_after` pagination, every `order_by` the
//! spec lists, the list filters, Clerk's error body, gzip when asked,
//! deterministic synthetic data, injectable faults (latency, 429, 5xx, 402,
//! 403, malformed bodies, hangs, connection resets, a fixed- or
//! sliding-window rate limit) and a log of every request it served.

pub mod billing;
pub mod data;
mod http;
pub mod proxy;
pub mod sender;
pub mod settings;
pub mod webhooks;
mod writes;
pub use proxy::{ProxiedRequest, Proxy};
pub mod spec;

use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub use data::{DataConfig, Dataset};

/// A fault to inject into one response.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and a Clerk error body; `retry_after` in seconds.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// 200 with a body that is not valid JSON.
    Malformed,
    /// Do not answer for this long (the connection stays open).
    Hang(Duration),
    /// Break the connection in the middle of the response body.
    Reset,
    /// Answer exactly this (redirects, lying totals, huge, broken or
    /// hostile bodies).
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
}

/// Faults and timing, changeable while the server runs.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Added before every answer.
    pub latency: Duration,
    /// Faults for the next requests, in order; `None` serves normally.
    pub script: VecDeque<Option<Fault>>,
    /// Every n-th request (counting from 1) answers 503; 0 disables.
    pub fail_every: u64,
    pub rate_limit: Option<RateLimit>,
    /// Lists with a `paginated` parameter answer bare arrays even when asked
    /// `paginated=true` (the shape the spec documents).
    pub bare_arrays: bool,
}

/// A server-side rate limit: at most `max` requests per `window`, else 429.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
    /// A sliding window (the last `window` before each request) rather
    /// than fixed windows that start afresh.
    pub sliding: bool,
    /// Send `Retry-After` with the 429. Clerk documents none.
    pub retry_after: bool,
}

impl RateLimit {
    pub fn fixed(max: u32, window: Duration) -> RateLimit {
        RateLimit {
            max,
            window,
            sliding: false,
            retry_after: false,
        }
    }
    pub fn sliding(max: u32, window: Duration) -> RateLimit {
        RateLimit {
            sliding: true,
            ..RateLimit::fixed(max, window)
        }
    }
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub status: u16,
    /// The request carried an `Authorization` header.
    pub had_key: bool,
    /// Its `Clerk-API-Version` header.
    pub api_version: Option<String>,
    /// It asked for gzip.
    pub gzip: bool,
    /// When the request arrived, in milliseconds since the server started.
    pub at_ms: u64,
    /// The JSON body of a write.
    pub body: Option<Value>,
}

impl RequestRecord {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The instance's objects as they are now; replaced, not edited in place,
/// when [`MockServer::change`] changes them, so a request reads one state.
#[derive(Clone)]
pub(crate) struct Data {
    pub(crate) dataset: Dataset,
    pub(crate) users_by_id: HashMap<String, usize>,
    /// Each user serialised once: pages are joined from these.
    users_json: Vec<String>,
    /// Each user's id and `created_at`, oldest first like the rest.
    users_ids: Vec<Box<str>>,
    users_created: Vec<i64>,
}

impl Data {
    fn new(dataset: Dataset, cfg: &DataConfig) -> Data {
        let mut data = Data {
            dataset,
            users_by_id: HashMap::new(),
            users_json: Vec::new(),
            users_ids: Vec::new(),
            users_created: Vec::new(),
        };
        if cfg.lean {
            // Only the serialised form: a million users fit (about 2 KB
            // each instead of some 15 KB as `Value`s).
            for i in 0..cfg.users {
                let user = data::user(cfg, i);
                let id = user["id"].as_str().unwrap_or_default().to_string();
                data.users_by_id.insert(id.clone(), i);
                data.users_ids.push(id.into());
                data.users_created
                    .push(user["created_at"].as_i64().unwrap_or(0));
                data.users_json.push(user.to_string());
            }
        } else {
            data.index_users();
        }
        data
    }

    /// Brings the users' index and serialised forms up to date after a
    /// change of `changed`: in place for an update or an addition (always
    /// the newest), rebuilt after a removal.
    pub(crate) fn reindex_users(&mut self, changed: &[&str]) {
        let users = &self.dataset.users;
        if users.len() == self.users_json.len() + 1 && changed.len() == 1 {
            let i = users.len() - 1;
            self.users_json.push(users[i].to_string());
            self.users_by_id.insert(changed[0].to_string(), i);
            self.users_ids.push(changed[0].into());
            self.users_created
                .push(users[i]["created_at"].as_i64().unwrap_or(0));
        } else if users.len() == self.users_json.len() {
            for id in changed {
                if let Some(&i) = self.users_by_id.get(*id) {
                    self.users_json[i] = users[i].to_string();
                }
            }
        } else {
            self.index_users();
        }
    }

    /// Rebuilds the users' id index and serialised forms.
    pub(crate) fn index_users(&mut self) {
        self.users_by_id = self
            .dataset
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u["id"].as_str().unwrap_or_default().to_string(), i))
            .collect();
        self.users_json = self.dataset.users.iter().map(Value::to_string).collect();
        self.users_ids = self
            .dataset
            .users
            .iter()
            .map(|u| u["id"].as_str().unwrap_or_default().into())
            .collect();
        self.users_created = self
            .dataset
            .users
            .iter()
            .map(|u| u["created_at"].as_i64().unwrap_or(0))
            .collect();
    }
}

/// What [`MockServer::dataset`] returns: the data as it was when asked.
pub struct Snapshot(Arc<Data>);

impl std::ops::Deref for Snapshot {
    type Target = Dataset;
    fn deref(&self) -> &Dataset {
        &self.0.dataset
    }
}

/// A request's query parameters but the cursor, in order.
type QueryPairs = Vec<(String, String)>;

struct Shared {
    secret_key: String,
    data: std::sync::RwLock<Arc<Data>>,
    /// Webhook events of the changes made, and how they are signed.
    pub(crate) webhooks: Mutex<webhooks::Outbox>,
    /// Delivers the events over HTTP, once started.
    sender: Mutex<Option<Arc<sender::Sender>>>,
    behaviour: Mutex<Behaviour>,
    log: Mutex<Vec<RequestRecord>>,
    /// Requests that broke Clerk's spec, as the check described them.
    violations: Mutex<Vec<String>>,
    /// Requests checked against the spec.
    checked: AtomicU64,
    /// For each user id that ended a users page, the other parameters of
    /// the requests that listed it last: a `starting_after` walk must keep
    /// them (Clerk's spec).
    cursors: Mutex<HashMap<String, Vec<QueryPairs>>>,
    /// Start and count of the fixed window.
    window: Mutex<(Instant, u32)>,
    /// Arrivals within the sliding window.
    recent: Mutex<VecDeque<Instant>>,
    started: Instant,
    /// Requests received, for `fail_every`.
    arrivals: AtomicU64,
    stopping: AtomicBool,
}

/// A running server; stops when dropped.
pub struct MockServer {
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
    /// Tells the accept loop to end.
    stop: Arc<AtomicBool>,
    port: u16,
}

impl MockServer {
    /// Serves `data` on 127.0.0.1:`port` (0 picks a free port).
    pub fn start(data: &DataConfig, secret_key: &str, port: u16) -> std::io::Result<MockServer> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let dataset = Dataset::generate(data);
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_string(),
            data: std::sync::RwLock::new(Arc::new(Data::new(dataset, data))),
            webhooks: Mutex::new(webhooks::Outbox::new(data.clone())),
            sender: Mutex::new(None),
            behaviour: Mutex::new(Behaviour::default()),
            log: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            checked: AtomicU64::new(0),
            cursors: Mutex::new(HashMap::new()),
            window: Mutex::new((Instant::now(), 0)),
            recent: Mutex::new(VecDeque::new()),
            started: Instant::now(),
            arrivals: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let handler_shared = shared.clone();
        let acceptor = http::serve(
            listener,
            stop.clone(),
            Arc::new(move |req: &http::Incoming| handle(&handler_shared, req)),
        );
        Ok(MockServer {
            shared,
            acceptor: Some(acceptor),
            stop,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `api_url` to give clerk_fdw.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The instance's objects as they are now.
    pub fn dataset(&self) -> Snapshot {
        Snapshot(self.shared.data())
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Requests answered, excluding the `/__mock` control endpoints.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.log).len()
    }

    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Answers GET `target` (path and query) with the secret key, as over
    /// HTTP but in this thread: the status and the body.
    pub fn respond(&self, target: &str) -> (u16, Vec<u8>) {
        let incoming = http::Incoming {
            method: "GET".to_string(),
            body: Vec::new(),
            target: target.to_string(),
            headers: vec![(
                "Authorization".to_string(),
                format!("Bearer {}", self.shared.secret_key),
            )],
        };
        match handle(&self.shared, &incoming) {
            http::Reply::Send { status, body, .. } => (status, body),
            http::Reply::Raw(bytes) => (0, bytes),
            http::Reply::Close => (0, Vec::new()),
        }
    }

    /// Makes `change` to the instance's objects and returns the webhook
    /// deliveries Clerk would send for it (also kept in [`Self::deliveries`]).
    pub fn change(&self, change: webhooks::Change) -> Result<Vec<webhooks::Delivery>, String> {
        change_data(&self.shared, change)
    }

    /// Every delivery of the changes made so far, in the order made.
    pub fn deliveries(&self) -> Vec<webhooks::Delivery> {
        lock(&self.shared.webhooks).sent.clone()
    }

    /// Sets the Svix signing secret (`whsec_...`) deliveries are signed with.
    pub fn set_webhook_secret(&self, secret: &str) {
        set_webhook_secret(&self.shared, secret);
    }

    /// From now on, POSTs every change's events to `url` as Svix does
    /// (see [`sender`]) from `senders` threads, Svix's retry waits
    /// multiplied by `retry_scale`.
    pub fn send_webhooks_to(&self, url: &str, retry_scale: f64, senders: usize) {
        let secret = lock(&self.shared.webhooks).secret.clone();
        let started = sender::Sender::start(url, &secret, retry_scale, senders);
        if let Some(old) = lock(&self.shared.sender).replace(started) {
            old.stop();
        }
    }

    /// What goes wrong with the deliveries from now on.
    pub fn set_webhook_faults(&self, faults: sender::Faults) {
        if let Some(sender) = lock(&self.shared.sender).as_ref() {
            sender.set_faults(faults);
        }
    }

    /// The HTTP deliveries' counts, once [`Self::send_webhooks_to`] ran.
    pub fn webhook_stats(&self) -> Option<sender::SenderStats> {
        lock(&self.shared.sender).as_ref().map(|s| s.stats())
    }

    /// The `svix-id`, `svix-timestamp` and `svix-signature` headers of
    /// `delivery`, signed now (Svix signs each attempt anew).
    pub fn webhook_headers(&self, delivery: &webhooks::Delivery) -> Vec<(String, String)> {
        lock(&self.shared.webhooks).headers(delivery)
    }

    /// The requests that broke Clerk's spec (each was answered 400).
    pub fn spec_violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }
}

/// Where each server, when it stops, appends how many requests it checked
/// against the spec and how many broke it (the test scripts add them up):
/// one file per user, as the test process and the test cluster's backends
/// run as different users.
pub fn checked_log() -> std::path::PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("clerk-mock-spec-checked-{uid}.log"))
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let checked = self.shared.checked.load(Ordering::Relaxed);
        let violations = lock(&self.shared.violations).clone();
        if let Ok(mut log) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(checked_log())
        {
            use std::io::Write;
            let _ = writeln!(log, "{checked} {}", violations.len());
            for v in violations {
                let _ = writeln!(log, "! {}", v.replace('\n', " "));
            }
        }
        self.shared.stopping.store(true, Ordering::Relaxed);
        if let Some(sender) = lock(&self.shared.sender).take() {
            sender.stop();
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            // Wakes the accept loop so it sees `stop`.
            let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
            let _ = acceptor.join();
        }
    }
}

/// Makes `change` and returns its deliveries (see [`MockServer::change`]).
fn change_data(
    shared: &Shared,
    change: webhooks::Change,
) -> Result<Vec<webhooks::Delivery>, String> {
    mutate(shared, |outbox, data| {
        webhooks::apply(outbox, data, change).map(|events| ((), events))
    })
    .map(|((), deliveries)| deliveries)
}

/// Changes the instance's objects with `f`, which returns its answer and
/// the events the change makes; delivers them.
fn mutate<R, E>(
    shared: &Shared,
    f: impl FnOnce(&mut webhooks::Outbox, &mut Data) -> Result<(R, Vec<(String, Value)>), E>,
) -> Result<(R, Vec<webhooks::Delivery>), E> {
    let mut outbox = lock(&shared.webhooks);
    let mut current = shared
        .data
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Copied only while a request still reads the current state.
    let changed = Arc::make_mut(&mut current);
    let (answer, events) = f(&mut outbox, changed)?;
    let users: Vec<&str> = events
        .iter()
        .filter(|(kind, _)| kind.starts_with("user."))
        .filter_map(|(_, user)| user["id"].as_str())
        .collect();
    changed.reindex_users(&users);
    let deliveries: Vec<webhooks::Delivery> = events
        .into_iter()
        .map(|(kind, object)| outbox.deliver(&kind, object))
        .collect();
    if let Some(sender) = lock(&shared.sender).as_ref() {
        for delivery in &deliveries {
            sender.send(delivery.clone());
        }
    }
    Ok((answer, deliveries))
}

fn set_webhook_secret(shared: &Shared, secret: &str) {
    lock(&shared.webhooks).secret = secret.to_string();
    if let Some(sender) = lock(&shared.sender).as_ref() {
        sender.set_secret(secret);
    }
}

impl Shared {
    fn data(&self) -> Arc<Data> {
        self.data
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Clerk's body for an error status the spec documents.
fn status_error(status: u16) -> (u16, Vec<u8>) {
    match status {
        429 => clerk_error(429, "too_many_requests", "Too many requests", "Rate limit exceeded"),
        402 => clerk_error(
            402,
            "payment_required",
            "Payment required",
            "This feature is not included in your instance's plan",
        ),
        403 => clerk_error(
            403,
            "authorization_invalid",
            "Unauthorized request",
            "You are not authorized to perform this request: organizations are not enabled for this instance",
        ),
        _ => clerk_error(
            status,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            "There was an internal error on our servers.",
        ),
    }
}

pub(crate) fn clerk_error(
    status: u16,
    code: &str,
    message: &str,
    long_message: &str,
) -> (u16, Vec<u8>) {
    let body = json!({
        "errors": [{"message": message, "long_message": long_message, "code": code, "meta": {}}],
        "clerk_trace_id": "trace_mock",
    });
    (status, body.to_string().into_bytes())
}

fn reply(status: u16, body: Vec<u8>) -> http::Reply {
    http::Reply::Send {
        status,
        headers: vec![("Content-Type", "application/json".to_string())],
        body,
    }
}

fn handle(shared: &Shared, req: &http::Incoming) -> http::Reply {
    let arrived_ms = shared.started.elapsed().as_millis() as u64;
    let (path, query_string) = match req.target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (req.target.clone(), String::new()),
    };
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query_string.as_bytes())
        .into_owned()
        .collect();

    if path.starts_with("/__mock/") {
        let (status, body) = control(shared, &path, &query);
        return reply(status, body);
    }

    let (latency, fault) = {
        let mut b = lock(&shared.behaviour);
        let mut fault = b.script.pop_front().flatten();
        let n = shared.arrivals.fetch_add(1, Ordering::Relaxed) + 1;
        if fault.is_none() && b.fail_every > 0 && n.is_multiple_of(b.fail_every) {
            fault = Some(Fault::Status {
                status: 503,
                retry_after: None,
            });
        }
        if fault.is_none() {
            if let Some(limit) = b.rate_limit {
                fault = throttle(shared, limit).map(|wait| Fault::Status {
                    status: 429,
                    retry_after: limit
                        .retry_after
                        .then(|| wait.as_secs_f64().ceil().max(1.0) as u64),
                });
            }
        }
        (b.latency, fault)
    };
    if !latency.is_zero() {
        thread::sleep(latency);
    }

    let had_key = req.header("Authorization").is_some();
    let api_version = req.header("Clerk-API-Version").map(String::from);
    let gzip = req
        .header("Accept-Encoding")
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let authorized =
        req.header("Authorization") == Some(format!("Bearer {}", shared.secret_key).as_str());
    let written: Option<Value> = serde_json::from_slice(&req.body).ok();
    let record = |path, query, status| {
        lock(&shared.log).push(RequestRecord {
            method: req.method.clone(),
            body: written.clone(),
            path,
            query,
            status,
            had_key,
            api_version: api_version.clone(),
            gzip,
            at_ms: arrived_ms,
        })
    };
    let (status, body, retry_after) = match fault {
        Some(Fault::Hang(d)) => {
            let until = Instant::now() + d;
            while Instant::now() < until && !shared.stopping.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
            }
            record(path, query, 0);
            return http::Reply::Close;
        }
        Some(Fault::Reply {
            status,
            headers,
            body,
        }) => {
            // A scripted users page stands in for the one asked: its last
            // user may start the next page of the walk.
            if path == "/v1/users" {
                let last = serde_json::from_slice::<Vec<Value>>(&body)
                    .ok()
                    .and_then(|page| page.last()?["id"].as_str().map(String::from));
                if let Some(id) = last {
                    remember_cursor(shared, id, &query);
                }
            }
            record(path, query, status);
            return http::Reply::Send {
                status,
                headers,
                body,
            };
        }
        Some(Fault::Reset) => {
            record(path, query, 0);
            return http::Reply::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\
                  Transfer-Encoding: chunked\r\n\r\n10\r\n[{\"id\": \"user_x\r\nXYZ\r\n"
                    .to_vec(),
            );
        }
        Some(Fault::Malformed) => (200, b"[{\"id\": \"user_trunc".to_vec(), None),
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let (s, b) = status_error(status);
            (s, b, retry_after)
        }
        None if !authorized => {
            let (s, b) = clerk_error(
                401,
                "authentication_invalid",
                "Invalid authentication",
                "Unable to authenticate the request, you need to supply an active API key",
            );
            (s, b, None)
        }
        None if api_version
            .as_deref()
            .is_some_and(|v| v != spec::API_VERSION) =>
        {
            let (s, b) = clerk_error(
                400,
                "api_version_invalid",
                "Invalid API version",
                "This server speaks only Clerk API version 2026-05-12",
            );
            (s, b, None)
        }
        None if req.method != "GET" => {
            shared.checked.fetch_add(1, Ordering::Relaxed);
            let (s, b) = write(shared, &req.method, &path, &query, &req.body);
            (s, b, None)
        }
        None => {
            shared.checked.fetch_add(1, Ordering::Relaxed);
            let (s, b) = match conforming(&path, &query) {
                Err(violation) => {
                    let (s, b) = clerk_error(
                        400,
                        "mock_spec_violation",
                        "Not in Clerk's spec",
                        &violation,
                    );
                    lock(&shared.violations).push(violation);
                    (s, b)
                }
                Ok(segments) => match route(shared, &shared.data(), &segments, &query) {
                    Ok(body) => (200, body.into_bytes()),
                    Err((400, b)) => {
                        lock(&shared.violations).push(String::from_utf8_lossy(&b).into_owned());
                        (400, b)
                    }
                    Err((s, b)) => (s, b),
                },
            };
            (s, b, None)
        }
    };
    record(path, query, status);
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    headers.extend(retry_after.map(|s| ("Retry-After", s.to_string())));
    let body = if gzip && !body.is_empty() {
        headers.push(("Content-Encoding", "gzip".to_string()));
        gzipped(&body)
    } else {
        body
    };
    http::Reply::Send {
        status,
        headers,
        body,
    }
}

/// `body` compressed as a gzip `Content-Encoding`.
pub fn gzipped(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// How long until a request may pass, when `limit` refuses this one.
fn throttle(shared: &Shared, limit: RateLimit) -> Option<Duration> {
    let now = Instant::now();
    if limit.sliding {
        let mut recent = lock(&shared.recent);
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= limit.window)
        {
            recent.pop_front();
        }
        if recent.len() >= limit.max as usize {
            return recent
                .front()
                .map(|t| limit.window.saturating_sub(now.duration_since(*t)));
        }
        recent.push_back(now);
        return None;
    }
    let mut w = lock(&shared.window);
    if w.0.elapsed() >= limit.window {
        *w = (now, 0);
    }
    if w.1 >= limit.max {
        return Some(limit.window.saturating_sub(w.0.elapsed()));
    }
    w.1 += 1;
    None
}

/// The decoded segments of `path` below `/v1`, when `path` and `query`
/// are a request Clerk's spec documents.
fn conforming(path: &str, query: &[(String, String)]) -> Result<Vec<String>, String> {
    let Some(below) = path.strip_prefix("/v1/") else {
        // Not the API at all (an api_url without /v1): Clerk's 404.
        return Ok(vec![String::new()]);
    };
    let segments = decoded_segments(below);
    spec::bapi().check_get(&segments, query)?;
    Ok(segments)
}

/// The percent-decoded segments of a path below `/v1/`.
fn decoded_segments(below: &str) -> Vec<String> {
    below
        .split('/')
        .map(|seg| {
            percent_encoding::percent_decode_str(seg)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// A write: checked against the spec (a violation is a 400 and is kept),
/// then applied (see [`writes`]).
fn write(
    shared: &Shared,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let Some(below) = path.strip_prefix("/v1/") else {
        return not_found("endpoint");
    };
    let segments = decoded_segments(below);
    let checked = if body.is_empty() {
        Ok(None)
    } else {
        serde_json::from_slice(body)
            .map(Some)
            .map_err(|e| format!("{method} {path}: the body is not JSON: {e}"))
    }
    .and_then(|json: Option<Value>| {
        if !query.is_empty() {
            return Err(format!("{method} {path} takes no query parameters here"));
        }
        spec::bapi()
            .check_write(method, &segments, json.as_ref())
            .map(|_| json)
    });
    let json = match checked {
        Ok(json) => json,
        Err(violation) => {
            lock(&shared.violations).push(violation.clone());
            return clerk_error(
                400,
                "mock_spec_violation",
                "Not in Clerk's spec",
                &violation,
            );
        }
    };
    let lean = {
        let data = shared.data();
        data.dataset.users.len() != data.users_json.len()
    };
    if lean {
        return clerk_error(
            422,
            "mock_lean",
            "Read only",
            "This test server holds its users serialised only and takes no writes.",
        );
    }
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match mutate(shared, |outbox, data| {
        writes::apply(outbox, data, method, &parts, json.as_ref())
    }) {
        Ok((answer, _)) => (200, answer.to_string().into_bytes()),
        Err(refusal) => refusal,
    }
}

/// `/__mock/stats` and `/__mock/reset`, for scripts that run the binary.
fn control(shared: &Shared, path: &str, query: &[(String, String)]) -> (u16, Vec<u8>) {
    match path {
        "/__mock/stats" => {
            let log = lock(&shared.log);
            let mut by_path: HashMap<String, usize> = HashMap::new();
            for r in log.iter() {
                *by_path.entry(r.path.clone()).or_default() += 1;
            }
            let throttled = log.iter().filter(|r| r.status == 429).count();
            let mut at: Vec<u64> = log.iter().map(|r| r.at_ms).collect();
            at.sort_unstable();
            // The most requests that arrived within any 10 seconds.
            let mut busiest_10s = 0;
            let mut first = 0;
            for last in 0..at.len() {
                while at[last] - at[first] >= 10_000 {
                    first += 1;
                }
                busiest_10s = busiest_10s.max(last - first + 1);
            }
            let writes = log.iter().filter(|r| r.method != "GET").count();
            let body = json!({"requests": log.len(), "throttled": throttled, "writes": writes,
                              "busiest_10s": busiest_10s, "by_path": by_path});
            (200, body.to_string().into_bytes())
        }
        "/__mock/log" => {
            let log = lock(&shared.log);
            let rows: Vec<Value> = log
                .iter()
                .map(|r| json!({"method": r.method, "path": r.path, "query": r.query, "status": r.status, "at_ms": r.at_ms}))
                .collect();
            (200, Value::Array(rows).to_string().into_bytes())
        }
        // `?secret=whsec_...`: what deliveries are signed with.
        "/__mock/webhook_secret" => {
            let secret = query
                .iter()
                .find(|(k, _)| k == "secret")
                .map(|(_, v)| v.clone());
            set_webhook_secret(shared, &secret.unwrap_or_default());
            (200, b"{}".to_vec())
        }
        // `?drop=0.1&duplicate=0.2&reorder_ms=500` sets the HTTP
        // deliveries' faults (each omitted one: none); answers their counts.
        "/__mock/webhooks" => {
            let sender = lock(&shared.sender).clone();
            let Some(sender) = sender else {
                return (
                    409,
                    b"{\"error\": \"start with --webhook-url to deliver webhooks\"}".to_vec(),
                );
            };
            let param = |name: &str| {
                query
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| v.parse::<f64>().ok())
                    .filter(|v| v.is_finite() && *v >= 0.0)
            };
            if !query.is_empty() {
                sender.set_faults(sender::Faults {
                    drop: param("drop").unwrap_or(0.0).min(1.0),
                    duplicate: param("duplicate").unwrap_or(0.0).min(1.0),
                    reorder: Duration::from_millis(
                        param("reorder_ms").unwrap_or(0.0).min(3_600_000.0) as u64,
                    ),
                });
            }
            let s = sender.stats();
            let body = json!({"attempts": s.attempts, "delivered": s.delivered, "failed_attempts": s.failed_attempts,
                              "dropped": s.dropped, "duplicated": s.duplicated, "exhausted": s.exhausted, "pending": s.pending});
            (200, body.to_string().into_bytes())
        }
        // `?kind=create_user|update_user|delete_user|create_organization|
        // update_organization&count=N`: makes N changes (updates and
        // deletes of the newest objects first) and answers one JSON line
        // per delivery, `{"id", "type", "body", "headers"}`, signed now.
        "/__mock/change" => {
            let param = |name: &str| {
                query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            let count: usize = param("count").and_then(|c| c.parse().ok()).unwrap_or(1);
            let mut lines = String::new();
            for n in 0..count {
                let data = shared.data();
                let newest = |items: &[Value]| {
                    items
                        .len()
                        .checked_sub(1 + n % items.len().max(1))
                        .map(|i| items[i]["id"].as_str().unwrap_or_default().to_string())
                };
                let change = match param("kind") {
                    Some("create_user") => Some(webhooks::Change::CreateUser),
                    Some("update_user") => {
                        newest(&data.dataset.users).map(webhooks::Change::UpdateUser)
                    }
                    Some("delete_user") => {
                        newest(&data.dataset.users).map(webhooks::Change::DeleteUser)
                    }
                    Some("create_organization") => Some(webhooks::Change::CreateOrganization),
                    Some("update_organization") => newest(&data.dataset.organizations)
                        .map(webhooks::Change::UpdateOrganization),
                    _ => None,
                };
                drop(data);
                let Some(change) = change else {
                    return (400, b"{\"error\": \"kind: create_user, update_user, delete_user, create_organization or update_organization\"}".to_vec());
                };
                match change_data(shared, change) {
                    Ok(deliveries) => {
                        let outbox = lock(&shared.webhooks);
                        for d in deliveries {
                            let headers: serde_json::Map<String, Value> = outbox
                                .headers(&d)
                                .into_iter()
                                .map(|(k, v)| (k, Value::String(v)))
                                .collect();
                            lines.push_str(&json!({"id": d.id, "type": d.kind, "body": d.body, "headers": headers}).to_string());
                            lines.push('\n');
                        }
                    }
                    Err(e) => return (400, json!({"error": e}).to_string().into_bytes()),
                }
            }
            (200, lines.into_bytes())
        }
        "/__mock/reset" => {
            lock(&shared.log).clear();
            (200, b"{}".to_vec())
        }
        _ => (404, b"{}".to_vec()),
    }
}

type Routed = Result<String, (u16, Vec<u8>)>;

fn not_found(what: &str) -> (u16, Vec<u8>) {
    clerk_error(
        404,
        "resource_not_found",
        "not found",
        &format!("{what} not found"),
    )
}

fn invalid(param: &str, long: &str) -> (u16, Vec<u8>) {
    clerk_error(
        422,
        "form_param_value_invalid",
        &format!("{param} is invalid"),
        long,
    )
}

struct ListParams<'a> {
    query: &'a [(String, String)],
}

impl<'a> ListParams<'a> {
    fn all(&self, name: &str) -> Vec<&'a str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, name: &str) -> Option<&'a str> {
        self.all(name).into_iter().next()
    }
    fn int(&self, name: &str) -> Result<Option<i64>, (u16, Vec<u8>)> {
        match self.one(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| invalid(name, &format!("{name} must be an integer"))),
        }
    }
    fn limit_offset(&self) -> Result<(usize, usize), (u16, Vec<u8>)> {
        self.limit_offset_up_to(500)
    }
    fn limit_offset_up_to(&self, max: i64) -> Result<(usize, usize), (u16, Vec<u8>)> {
        let limit = self.int("limit")?.unwrap_or(10);
        if !(1..=max).contains(&limit) {
            return Err(invalid(
                "limit",
                &format!("limit must be between 1 and {max}"),
            ));
        }
        let offset = self.int("offset")?.unwrap_or(0);
        if offset < 0 {
            return Err(invalid("offset", "offset must be >= 0"));
        }
        Ok((limit as usize, offset as usize))
    }
    /// The field and direction (`true` = descending) of `order_by`, one
    /// of `allowed`; `default` without one.
    fn order(&self, allowed: &[&str], default: &str) -> Result<(String, bool), (u16, Vec<u8>)> {
        let value = self.one("order_by").unwrap_or(default);
        let (field, desc) = match value.strip_prefix('-') {
            Some(f) => (f, true),
            None => (value.strip_prefix('+').unwrap_or(value), false),
        };
        if !allowed.contains(&field) {
            return Err(invalid(
                "order_by",
                &format!("order_by {value} is not one of {}", allowed.join(", ")),
            ));
        }
        Ok((field.to_string(), desc))
    }
}

/// A sort key: numbers, then text, then NULL (Postgres' ascending order).
fn sort_key(v: &Value) -> (u8, i64, String) {
    match v {
        Value::Number(n) => (0, n.as_i64().unwrap_or(0), String::new()),
        Value::String(t) => (1, 0, t.to_lowercase()),
        Value::Bool(b) => (0, i64::from(*b), String::new()),
        _ => (2, 0, String::new()),
    }
}

/// `items` (given oldest first, ties by id) ordered by `field` of each as
/// `key` reads it, ties by id, reversed when descending.
fn ordered<'a>(
    mut items: Vec<&'a Value>,
    (field, desc): &(String, bool),
    key: impl Fn(&Value, &str) -> Value,
) -> Vec<&'a Value> {
    if field != "created_at" {
        items.sort_by_cached_key(|v| {
            (
                sort_key(&key(v, field)),
                v["id"].as_str().unwrap_or("").to_string(),
            )
        });
    }
    if *desc {
        items.reverse();
    }
    items
}

fn top_level(v: &Value, field: &str) -> Value {
    v[field].clone()
}

/// Membership lists sort by the member's fields.
fn member_field(v: &Value, field: &str) -> Value {
    match field {
        "created_at" => v["created_at"].clone(),
        "email_address" | "phone_number" => v["public_user_data"]["identifier"].clone(),
        _ => v["public_user_data"][field].clone(),
    }
}

/// A user's field as `order_by` sorts it.
fn user_field(v: &Value, field: &str) -> Value {
    let primary = |list: &str, id_key: &str, value: &str| {
        v[list]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["id"] == v[id_key]))
            .map(|e| e[value].clone())
            .unwrap_or(Value::Null)
    };
    match field {
        "email_address" => primary(
            "email_addresses",
            "primary_email_address_id",
            "email_address",
        ),
        "phone_number" => primary("phone_numbers", "primary_phone_number_id", "phone_number"),
        "web3wallet" => primary("web3_wallets", "primary_web3_wallet_id", "web3_wallet"),
        _ => v[field].clone(),
    }
}

fn page(items: Vec<&Value>, offset: usize, limit: usize) -> Vec<Value> {
    items
        .into_iter()
        .skip(offset)
        .take(limit)
        .cloned()
        .collect()
}

const USER_ORDERS: &[&str] = &[
    "created_at",
    "updated_at",
    "email_address",
    "web3wallet",
    "first_name",
    "last_name",
    "phone_number",
    "username",
    "last_active_at",
    "last_sign_in_at",
];
const MEMBER_ORDERS: &[&str] = &[
    "phone_number",
    "email_address",
    "created_at",
    "first_name",
    "last_name",
    "username",
];

fn route(shared: &Shared, data: &Data, segments: &[String], query: &[(String, String)]) -> Routed {
    let p = ListParams { query };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ds = &data.dataset;
    match segments.as_slice() {
        ["users"] => {
            let mut matching = filter_users(data, &p)?;
            let (field, desc) = p.order(USER_ORDERS, "-created_at")?;
            let (limit, offset) = p.limit_offset()?;
            let by_creation = field == "created_at";
            if !by_creation {
                matching.sort_by_cached_key(|&i| {
                    let u = &ds.users[i];
                    (sort_key(&user_field(u, &field)), u["id"].as_str().unwrap_or("").to_string())
                });
            }
            if desc {
                matching.reverse();
            }
            let start = match p.one("starting_after") {
                None => offset,
                Some(_) if offset != 0 => {
                    return Err(invalid(
                        "offset",
                        "starting_after cannot be combined with offset",
                    ))
                }
                Some(_) if !by_creation => {
                    return Err(invalid(
                        "starting_after",
                        "starting_after requires ordering by created_at",
                    ))
                }
                Some(cursor) if !cursor_params_kept(shared, cursor, query) => {
                    return Err(clerk_error(
                        400,
                        "mock_spec_violation",
                        "starting_after walk changed its parameters",
                        &format!("the page that ended with {cursor} was asked with other parameters than {query:?}"),
                    ))
                }
                Some(cursor) => {
                    let found = data.users_by_id.get(cursor).and_then(|i| {
                        if desc {
                            matching.binary_search_by(|x| i.cmp(x)).ok()
                        } else {
                            matching.binary_search(i).ok()
                        }
                    });
                    let Some(pos) = found else {
                        return Err(invalid(
                            "starting_after",
                            "starting_after must be the id of a listed user",
                        ));
                    };
                    pos + 1
                }
            };
            let shown: Vec<usize> = matching.iter().skip(start).take(limit).copied().collect();
            if let Some(&last) = shown.last() {
                remember_cursor(shared, data.users_ids[last].to_string(), query);
            }
            let items: Vec<&str> = shown.iter().map(|&i| data.users_json[i].as_str()).collect();
            Ok(format!("[{}]", items.join(",")))
        }
        ["users", "count"] => {
            let n = filter_users(data, &p)?.len();
            Ok(json!({"object": "total_count", "total_count": n}).to_string())
        }
        ["users", id] => data
            .users_by_id
            .get(*id)
            .map(|&i| data.users_json[i].clone())
            .ok_or_else(|| not_found("user")),
        // The spec documents no 404 for these keyed lists: an unknown key
        // lists nothing.
        ["users", id, "organization_memberships"] => {
            let items: Vec<&Value> = ds
                .memberships
                .iter()
                .filter(|m| m["public_user_data"]["user_id"] == *id)
                .collect();
            list(&p, items)
        }
        ["organizations"] => {
            let ids = p.all("organization_id");
            let members = p.all("user_id");
            let text = p.one("query").map(str::to_lowercase);
            // The organizations with a membership of the users asked for.
            let with_members: Option<std::collections::HashSet<&str>> =
                (!members.is_empty()).then(|| {
                    ds.memberships
                        .iter()
                        .filter(|m| signed_match(&members, m["public_user_data"]["user_id"].as_str()))
                        .filter_map(|m| m["organization"]["id"].as_str())
                        .collect()
                });
            let items: Vec<&Value> = ds
                .organizations
                .iter()
                .filter(|o| signed_match(&ids, o["id"].as_str()))
                .filter(|o| {
                    with_members
                        .as_ref()
                        .is_none_or(|w| o["id"].as_str().is_some_and(|id| w.contains(id)))
                })
                .filter(|o| query_matches(o, text.as_ref(), &["/name", "/slug"]))
                .collect();
            let order = p.order(&["name", "created_at", "members_count"], "-created_at")?;
            let (limit, offset) = p.limit_offset()?;
            let total = items.len();
            let rows: Vec<Value> = page(ordered(items, &order, top_level), offset, limit)
                .into_iter()
                .map(|o| with_members_count(&p, o))
                .collect();
            Ok(json!({"data": rows, "total_count": total}).to_string())
        }
        ["organizations", id_or_slug] => ds
            .organizations
            .iter()
            .find(|o| o["id"] == *id_or_slug || o["slug"] == *id_or_slug)
            .map(|o| with_members_count(&p, o.clone()).to_string())
            .ok_or_else(|| not_found("organization")),
        ["organizations", id, "memberships"] => {
            let roles = p.all("role");
            let users = p.all("user_id");
            let after = p.int("created_at_after")?;
            let before = p.int("created_at_before")?;
            let items: Vec<&Value> = ds
                .memberships
                .iter()
                .filter(|m| m["organization"]["id"] == *id)
                .filter(|m| roles.is_empty() || roles.iter().any(|r| m["role"] == *r))
                .filter(|m| signed_match(&users, m["public_user_data"]["user_id"].as_str()))
                .filter(|m| {
                    let at = m["created_at"].as_i64().unwrap_or(0);
                    after.is_none_or(|a| at > a) && before.is_none_or(|b| at < b)
                })
                .collect();
            let order = p.order(MEMBER_ORDERS, "+created_at")?;
            list(&p, ordered(items, &order, member_field))
        }
        ["organization_memberships"] => {
            let order = p.order(MEMBER_ORDERS, "+created_at")?;
            list(&p, ordered(ds.memberships.iter().collect(), &order, member_field))
        }
        ["invitations"] => {
            let text = p.one("query").map(str::to_lowercase);
            let items = with_status(&p, &ds.invitations)
                .into_iter()
                .filter(|i| query_matches(i, text.as_ref(), &["/email_address"]))
                .collect();
            let order = p.order(&["created_at", "email_address", "expires_at"], "-created_at")?;
            paginated(shared, &p, ordered(items, &order, top_level))
        }
        ["organization_invitations"] => {
            let order = p.order(&["created_at", "email_address"], "-created_at")?;
            let items = ds
                .organization_invitations
                .iter()
                .filter(|i| p.one("status").is_none_or(|s| i["status"] == s))
                .collect();
            list(&p, ordered(items, &order, top_level))
        }
        ["allowlist_identifiers"] => paginated(shared, &p, ds.allowlist_identifiers.iter().collect()),
        ["jwt_templates"] => paginated(shared, &p, ds.jwt_templates.iter().collect()),
        ["redirect_urls"] => paginated(shared, &p, ds.redirect_urls.iter().collect()),
        ["oauth_applications"] => {
            let order = p.order(&["created_at", "name"], "+created_at")?;
            list(&p, ordered(ds.oauth_applications.iter().collect(), &order, top_level))
        }
        ["saml_connections"] => {
            let orgs = p.all("organization_id");
            let items = ds
                .saml_connections
                .iter()
                .filter(|c| signed_match(&orgs, c["organization_id"].as_str()))
                .collect();
            let order = p.order(MEMBER_ORDERS, "-created_at")?;
            list(&p, ordered(items, &order, top_level))
        }
        ["sessions"] => {
            let (user, client) = (p.one("user_id"), p.one("client_id"));
            if user.is_none() && client.is_none() {
                return Err(invalid("user_id", "one of user_id or client_id is required"));
            }
            let status = p.one("status");
            let items: Vec<&Value> = ds
                .sessions
                .iter()
                .filter(|s| user.is_none_or(|u| s["user_id"] == u))
                .filter(|s| client.is_none_or(|c| s["client_id"] == c))
                .filter(|s| status.is_none_or(|st| s["status"] == st))
                .collect();
            // Newest first.
            paginated(shared, &p, ordered(items, &("created_at".into(), true), top_level))
        }
        // Neither takes paging parameters: the whole list at once.
        ["blocklist_identifiers"] => Ok(
            json!({"data": ds.blocklist_identifiers, "total_count": ds.blocklist_identifiers.len()})
                .to_string(),
        ),
        ["domains"] => Ok(json!({"data": ds.domains, "total_count": ds.domains.len()}).to_string()),
        ["billing", "plans"] => {
            let payer = p.one("payer_type");
            let items = ds.billing.plans.iter().filter(|v| payer.is_none_or(|t| v["for_payer_type"] == t)).collect();
            list(&p, items)
        }
        ["billing", "prices"] => {
            let plan = p.one("plan_id");
            if plan.is_some_and(|id| !ds.billing.plans.iter().any(|v| v["id"] == id)) {
                return Err(not_found("plan"));
            }
            let items = ds.billing.prices.iter().filter(|v| plan.is_none_or(|id| v["plan_id"] == id)).collect();
            list(&p, items)
        }
        ["billing", "subscription_items"] => {
            let (status, payer, plan) = (p.one("status"), p.one("payer_type"), p.one("plan_id"));
            let include_free = p.one("include_free") == Some("true");
            let text = p.one("query").map(str::to_lowercase);
            let items = ds
                .billing
                .subscription_items
                .iter()
                .filter(|v| include_free || v["plan"]["has_base_fee"] == true)
                .filter(|v| match status {
                    None => true,
                    Some("free_trial") => v["is_free_trial"] == true,
                    Some(s) => v["status"] == s,
                })
                .filter(|v| payer.is_none_or(|t| v["plan"]["for_payer_type"] == t))
                .filter(|v| plan.is_none_or(|id| v["plan_id"] == id))
                .filter(|v| query_matches(v, text.as_ref(), &["/payer/email"]))
                .collect();
            list(&p, items)
        }
        ["billing", "statements"] => list(&p, ds.billing.statements.iter().collect()),
        ["billing", "statements", id] => ds
            .billing
            .statements
            .iter()
            .find(|s| s["id"] == *id)
            .map(Value::to_string)
            .ok_or_else(|| not_found("statement")),
        ["billing", "statements", id, "payment_attempts"] => match ds.billing.payment_attempts.get(*id) {
            Some(attempts) => list(&p, attempts.iter().collect()),
            None => Err(not_found("statement")),
        },
        ["users" | "organizations", id, "billing", "subscription"] => ds
            .billing
            .subscriptions
            .get(*id)
            .map(Value::to_string)
            .ok_or_else(|| not_found("subscription")),
        ["users", id, "organization_invitations"] => {
            let Some(&i) = data.users_by_id.get(*id) else {
                return Err(not_found("user"));
            };
            let emails: Vec<String> = ds.users[i]["email_addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["email_address"].as_str().map(str::to_lowercase))
                .collect();
            let status = p.one("status");
            let items = ds
                .organization_invitations
                .iter()
                .filter(|v| v["email_address"].as_str().is_some_and(|e| emails.contains(&e.to_lowercase())))
                .filter(|v| status.is_none_or(|s| v["status"] == s))
                .collect();
            list(&p, items)
        }
        ["waitlist_entries"] => {
            let status = p.one("status");
            let text = p.one("query").map(str::to_lowercase);
            let items = ds
                .settings
                .waitlist_entries
                .iter()
                .filter(|v| status.is_none_or(|s| v["status"] == s))
                .filter(|v| query_matches(v, text.as_ref(), &["/email_address"]))
                .collect();
            let order = p.order(&["created_at", "email_address", "invited_at"], "-created_at")?;
            list(&p, ordered(items, &order, |v, f| match f {
                "invited_at" => v["invitation"]["created_at"].clone(),
                _ => v[f].clone(),
            }))
        }
        ["organization_roles"] => named_list(&p, &ds.settings.organization_roles, &["created_at", "name", "key"]),
        ["organization_permissions"] => named_list(&p, &ds.settings.organization_permissions, &["created_at", "name", "key"]),
        ["role_sets"] => named_list(&p, &ds.settings.role_sets, &["created_at", "name", "key"]),
        ["machines"] => named_list(&p, &ds.settings.machines, &["created_at", "name"]),
        ["enterprise_connections"] => {
            let (org, active) = (p.one("organization_id"), p.one("active"));
            let items = ds
                .settings
                .enterprise_connections
                .iter()
                .filter(|v| org.is_none_or(|o| v["organization_id"] == o))
                .filter(|v| active.is_none_or(|a| v["active"] == (a == "true")))
                .collect();
            list(&p, items)
        }
        ["organization_domains"] => {
            let org = p.one("organization_id");
            let verified = p.one("verified");
            let modes = p.all("enrollment_mode");
            let names = p.all("domains");
            let text = p.one("query").map(str::to_lowercase);
            let items = ds
                .settings
                .organization_domains
                .iter()
                .filter(|v| org.is_none_or(|o| v["organization_id"] == o))
                .filter(|v| verified.is_none_or(|b| (v["affiliation_verification"]["status"] == "verified") == (b == "true")))
                .filter(|v| signed_match(&modes, v["enrollment_mode"].as_str()))
                .filter(|v| names.is_empty() || names.iter().any(|n| v["name"] == *n))
                .filter(|v| {
                    text.as_ref().is_none_or(|q| match q.strip_prefix("org_") {
                        Some(_) => v["organization_id"] == q.as_str(),
                        None => v["name"].as_str().is_some_and(|n| n.to_lowercase().contains(q.as_str())),
                    })
                })
                .collect();
            let order = p.order(&["created_at", "name"], "-created_at")?;
            list(&p, ordered(items, &order, top_level))
        }
        ["api_keys"] => {
            let Some(subject) = p.one("subject") else {
                return Err(invalid("subject", "subject is required"));
            };
            let include_invalid = p.one("include_invalid") == Some("true");
            let items: Vec<&Value> = ds
                .settings
                .api_keys
                .get(subject)
                .into_iter()
                .flatten()
                .filter(|k| include_invalid || (k["revoked"] == false && k["expired"] == false))
                .collect();
            let (limit, offset) = p.limit_offset_up_to(100)?;
            Ok(json!({"data": page(items.clone(), offset, limit), "total_count": items.len()}).to_string())
        }
        ["m2m_tokens"] => {
            let Some(subject) = p.one("subject") else {
                return Err(invalid("subject", "subject is required"));
            };
            let (revoked, expired) = (p.one("revoked") == Some("true"), p.one("expired") == Some("true"));
            let items: Vec<&Value> = ds
                .settings
                .m2m_tokens
                .get(subject)
                .into_iter()
                .flatten()
                .filter(|t| (revoked || t["revoked"] == false) && (expired || t["expired"] == false))
                .collect();
            let (limit, offset) = p.limit_offset_up_to(100)?;
            Ok(json!({"m2m_tokens": page(items.clone(), offset, limit), "total_count": items.len()}).to_string())
        }
        ["instance"] => Ok(ds.settings.instance.to_string()),
        ["instance", "organization_settings"] => Ok(ds.settings.organization_settings.to_string()),
        _ => Err(not_found("endpoint")),
    }
}

/// Clerk's `query` parameter, lower-cased: matches an object whose id is it
/// exactly, or one of whose `fields` (JSON pointers) contains it, whatever
/// the case.
fn query_matches(v: &Value, query: Option<&String>, fields: &[&str]) -> bool {
    query.is_none_or(|q| {
        v["id"] == q.as_str()
            || fields.iter().any(|f| {
                v.pointer(f)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.to_lowercase().contains(q.as_str()))
            })
    })
}

/// A `{data, total_count}` list with Clerk's `query` (exact id, or part of
/// the name or key, any case) and `order_by` (newest first by default).
fn named_list(p: &ListParams, items: &[Value], orders: &[&str]) -> Routed {
    let text = p.one("query").map(str::to_lowercase);
    let matching = items
        .iter()
        .filter(|v| query_matches(v, text.as_ref(), &["/name", "/key"]))
        .collect();
    let order = p.order(orders, "-created_at")?;
    list(p, ordered(matching, &order, top_level))
}

/// A request's parameters but the cursor, in a fixed order.
fn walk_params(query: &[(String, String)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "starting_after")
        .cloned()
        .collect();
    params.sort();
    params
}

/// Notes that a users page asked with `query` ended with user `id`.
fn remember_cursor(shared: &Shared, id: String, query: &[(String, String)]) {
    let params = walk_params(query);
    let mut cursors = lock(&shared.cursors);
    let known = cursors.entry(id).or_default();
    if !known.contains(&params) {
        known.push(params);
    }
}

/// Whether a page that ended with `cursor` was asked with the same
/// parameters (but the cursor) as this request.
fn cursor_params_kept(shared: &Shared, cursor: &str, query: &[(String, String)]) -> bool {
    let params = walk_params(query);
    lock(&shared.cursors)
        .get(cursor)
        .is_some_and(|known| known.contains(&params))
}

/// An organization as listed: `members_count` only when asked for.
fn with_members_count(p: &ListParams, mut org: Value) -> Value {
    if p.one("include_members_count") != Some("true") {
        if let Some(o) = org.as_object_mut() {
            o.remove("members_count");
        }
    }
    org
}

/// A `{data, total_count}` page of `items`, in the order given.
fn list(p: &ListParams, items: Vec<&Value>) -> Routed {
    let (limit, offset) = p.limit_offset()?;
    let total = items.len();
    Ok(json!({"data": page(items, offset, limit), "total_count": total}).to_string())
}

/// The invitations with the `status` parameter's status; without one,
/// Clerk lists every invitation but the revoked ones.
fn with_status<'a>(p: &ListParams, items: &'a [Value]) -> Vec<&'a Value> {
    let status = p.one("status");
    items
        .iter()
        .filter(|i| match status {
            Some(s) => i["status"] == s,
            None => i["status"] != "revoked",
        })
        .collect()
}

/// A page of a list with Clerk's `paginated` parameter (`items` in the
/// order given): `{data, total_count}` with `paginated=true`, else a bare
/// array.
fn paginated(shared: &Shared, p: &ListParams, items: Vec<&Value>) -> Routed {
    let bare = lock(&shared.behaviour).bare_arrays;
    if p.one("paginated") == Some("true") && !bare {
        return list(p, items);
    }
    let (limit, offset) = p.limit_offset()?;
    Ok(Value::Array(page(items, offset, limit)).to_string())
}

/// Clerk's `+id` / `-id` include/exclude lists: true when `candidate`
/// passes. Without a sign a value includes.
fn signed_match(values: &[&str], candidate: Option<&str>) -> bool {
    if values.is_empty() {
        return true;
    }
    let mut includes = values.iter().filter(|v| !v.starts_with('-')).peekable();
    let has_includes = includes.peek().is_some();
    let included = includes.any(|v| Some(v.strip_prefix('+').unwrap_or(v)) == candidate);
    let excluded = values
        .iter()
        .filter_map(|v| v.strip_prefix('-'))
        .any(|v| Some(v) == candidate);
    (included || !has_includes) && !excluded
}

/// Indexes (oldest first) of the users matching the list filters.
fn filter_users(data: &Data, p: &ListParams) -> Result<Vec<usize>, (u16, Vec<u8>)> {
    let ids = p.all("user_id");
    // Clerk matches addresses and usernames whatever their case.
    let lower =
        |name: &str| -> Vec<String> { p.all(name).iter().map(|v| v.to_lowercase()).collect() };
    let emails_lower = lower("email_address");
    let usernames_lower = lower("username");
    let emails: Vec<&str> = emails_lower.iter().map(String::as_str).collect();
    let usernames: Vec<&str> = usernames_lower.iter().map(String::as_str).collect();
    let organizations = p.all("organization_id");
    let email_query = p.one("email_address_query").map(str::to_lowercase);
    let username_query = p.one("username_query").map(str::to_lowercase);
    let text_query = p.one("query").map(str::to_lowercase);
    let external_ids = p.all("external_id");
    let phones = p.all("phone_number");
    for (name, values) in [
        ("user_id", &ids),
        ("email_address", &emails),
        ("username", &usernames),
        ("external_id", &external_ids),
        ("phone_number", &phones),
        ("organization_id", &organizations),
    ] {
        if values.len() > 100 {
            return Err(invalid(name, &format!("{name} accepts up to 100 values")));
        }
    }
    let banned = match p.one("banned") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(invalid("banned", "banned must be true or false")),
    };
    let mut ranges = Vec::new();
    for field in ["created_at", "last_sign_in_at", "last_active_at"] {
        let after = p.int(&format!("{field}_after"))?;
        let before = p.int(&format!("{field}_before"))?;
        if after.is_some() || before.is_some() {
            ranges.push((field, after, before));
        }
    }
    // Users are stored oldest first, so a created_at range is a slice.
    let (mut first, mut last) = (0, data.users_created.len());
    for (field, after, before) in &ranges {
        if *field == "created_at" {
            let created = &data.users_created;
            if let Some(a) = after {
                first = first.max(created.partition_point(|at| at <= a));
            }
            if let Some(b) = before {
                last = last.min(created.partition_point(|at| at < b));
            }
        }
    }
    let only_includes = !ids.is_empty() && ids.iter().all(|v| !v.starts_with('-'));
    let candidates: Vec<usize> = if only_includes {
        // Included ids: look them up instead of scanning everyone.
        let mut found: Vec<usize> = ids
            .iter()
            .filter_map(|v| data.users_by_id.get(v.strip_prefix('+').unwrap_or(v)))
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    } else {
        (first..last.max(first)).collect()
    };
    let only_created_at = [
        &ids,
        &emails,
        &usernames,
        &external_ids,
        &phones,
        &organizations,
    ]
    .iter()
    .all(|v| v.is_empty())
        && email_query.is_none()
        && username_query.is_none()
        && text_query.is_none()
        && banned.is_none()
        && ranges.iter().all(|(field, _, _)| *field == "created_at");
    if only_created_at {
        return Ok(candidates);
    }
    let matches_any = |values: &[&str], list: &Value, key: &str| {
        values.is_empty()
            || list.as_array().is_some_and(|a| {
                a.iter().any(|e| {
                    e[key]
                        .as_str()
                        .is_some_and(|c| values.contains(&c.to_lowercase().as_str()))
                })
            })
    };
    // Signed like the ids: `+org` (or `org`) includes its members, `-org`
    // excludes them.
    let members_of = |wanted: &dyn Fn(&str) -> bool| -> std::collections::HashSet<&str> {
        data.dataset
            .memberships
            .iter()
            .filter(|m| wanted(m["organization"]["id"].as_str().unwrap_or("")))
            .filter_map(|m| m["public_user_data"]["user_id"].as_str())
            .collect()
    };
    let included: Vec<&str> = organizations
        .iter()
        .filter(|v| !v.starts_with('-'))
        .map(|v| v.strip_prefix('+').unwrap_or(v))
        .collect();
    let excluded: Vec<&str> = organizations
        .iter()
        .filter_map(|v| v.strip_prefix('-'))
        .collect();
    let member_of = (!included.is_empty()).then(|| members_of(&|o| included.contains(&o)));
    let not_member_of = (!excluded.is_empty()).then(|| members_of(&|o| excluded.contains(&o)));
    let contains = |v: &Value, q: &str| v.as_str().is_some_and(|t| t.to_lowercase().contains(q));
    let any_contains = |list: &Value, key: &str, q: &str| {
        list.as_array()
            .is_some_and(|a| a.iter().any(|e| contains(&e[key], q)))
    };
    Ok(candidates
        .into_iter()
        .filter(|&i| {
            let u = &data.dataset.users[i];
            signed_match(&ids, u["id"].as_str())
                && matches_any(&emails, &u["email_addresses"], "email_address")
                && (usernames.is_empty()
                    || u["username"]
                        .as_str()
                        .is_some_and(|n| usernames.contains(&n.to_lowercase().as_str())))
                && member_of
                    .as_ref()
                    .is_none_or(|m| u["id"].as_str().is_some_and(|id| m.contains(id)))
                && not_member_of
                    .as_ref()
                    .is_none_or(|m| u["id"].as_str().is_none_or(|id| !m.contains(id)))
                && email_query
                    .as_deref()
                    .is_none_or(|q| any_contains(&u["email_addresses"], "email_address", q))
                && username_query
                    .as_deref()
                    .is_none_or(|q| contains(&u["username"], q))
                && text_query.as_deref().is_none_or(|q| {
                    u["id"] == q
                        || any_contains(&u["email_addresses"], "email_address", q)
                        || any_contains(&u["phone_numbers"], "phone_number", q)
                        || ["username", "first_name", "last_name"]
                            .iter()
                            .any(|f| contains(&u[*f], q))
                })
                && signed_match(&external_ids, u["external_id"].as_str())
                && matches_any(&phones, &u["phone_numbers"], "phone_number")
                && banned.is_none_or(|b| u["banned"] == b)
                && ranges.iter().all(|(field, after, before)| {
                    let Some(v) = u[*field].as_i64() else {
                        return false;
                    };
                    after.is_none_or(|a| v > a) && before.is_none_or(|b| v < b)
                })
        })
        .collect())
}
