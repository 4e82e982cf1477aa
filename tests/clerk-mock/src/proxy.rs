//! A logging proxy in front of another Clerk-compatible server (Stoplight
//! Prism, in the conformance test): it forwards each request unchanged and
//! checks it against Clerk's spec on the way, since Prism does not flag
//! unknown query parameters (nor, on writes, undocumented body fields).

use crate::{http, lock, spec};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request that went through the proxy.
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The upstream's status; 0 when it did not answer.
    pub status: u16,
    /// Why the request is not one Clerk's spec documents.
    pub violation: Option<String>,
}

pub struct Proxy {
    log: Arc<Mutex<Vec<ProxiedRequest>>>,
    acceptor: Option<thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Proxy {
    /// Listens on a free 127.0.0.1 port and forwards to `upstream`, whose
    /// API is mounted at its root (as Prism mounts it).
    pub fn start(upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler_log = log.clone();
        let acceptor = http::serve(
            listener,
            stop.clone(),
            Arc::new(move |req: &http::Incoming| {
                let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
                let segments: Vec<String> = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        percent_encoding::percent_decode_str(s)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .collect();
                let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect();
                let violation = if req.method == "GET" {
                    spec::bapi().check_get(&segments, &query).err()
                } else if !query.is_empty() {
                    Some(format!("{} {path} with a query", req.method))
                } else {
                    let body = serde_json::from_slice::<serde_json::Value>(&req.body).ok();
                    if body.is_none() && !req.body.is_empty() {
                        Some(format!("{} {path}: the body is not JSON", req.method))
                    } else {
                        spec::bapi()
                            .check_write(&req.method, &segments, body.as_ref())
                            .err()
                    }
                };
                let answer = forward(upstream, req).unwrap_or_default();
                let status = std::str::from_utf8(&answer[..answer.len().min(16)])
                    .ok()
                    .and_then(|line| line.split(' ').nth(1))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                lock(&handler_log).push(ProxiedRequest {
                    method: req.method.clone(),
                    target: req.target.clone(),
                    status,
                    violation,
                });
                if answer.is_empty() {
                    http::Reply::Close
                } else {
                    http::Reply::Raw(answer)
                }
            }),
        );
        Ok(Proxy {
            log,
            acceptor: Some(acceptor),
            stop,
            port,
        })
    }

    /// The `api_url` to give clerk_fdw (no `/v1`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<ProxiedRequest> {
        lock(&self.log).clone()
    }

    pub fn clear_log(&self) {
        lock(&self.log).clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            let _ = acceptor.join();
        }
    }
}

/// The upstream's whole answer to `req` (one request per connection).
fn forward(upstream: SocketAddr, req: &http::Incoming) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\n",
        req.method, req.target
    );
    for (name, value) in &req.headers {
        // The answer goes back as it came: no compression, no keep-alive.
        let skip = ["host", "connection", "accept-encoding", "keep-alive"];
        if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&req.body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    Ok(answer)
}
