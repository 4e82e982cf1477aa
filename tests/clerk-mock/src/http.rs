//! A minimal HTTP/1.1 server: a thread per connection, keep-alive, bodies
//! of at most 1 MB with a Content-Length. Written for the mock instead of using tiny_http 0.12,
//! whose connection pool could leave a new connection queued behind
//! kept-alive ones when several arrived at once, stalling a scan until the
//! client's request timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// One request: its method, target (path and query), headers and body.
pub struct Incoming {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The largest body read; a larger one closes the connection.
const MAX_BODY: u64 = 1024 * 1024;

impl Incoming {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a request.
pub enum Reply {
    Send {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Write these bytes as they are, then close the connection.
    Raw(Vec<u8>),
    /// Close the connection without answering.
    Close,
}

pub type Handler = Arc<dyn Fn(&Incoming) -> Reply + Send + Sync>;

/// Accepts connections until `stopping` is set (and one more connection
/// arrives to notice it).
pub fn serve(
    listener: TcpListener,
    stopping: Arc<AtomicBool>,
    handler: Handler,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for stream in listener.incoming() {
            if stopping.load(Ordering::Relaxed) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let handler = handler.clone();
            thread::spawn(move || {
                let _ = connection(stream, &handler);
            });
        }
    })
}

fn connection(stream: TcpStream, handler: &Handler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or("GET").to_string();
        let target = words.next().unwrap_or("/").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut incoming = Incoming {
            method,
            target,
            headers,
            body: Vec::new(),
        };
        if let Some(n) = incoming
            .header("Content-Length")
            .and_then(|n| n.parse::<u64>().ok())
        {
            if n > MAX_BODY {
                return Ok(());
            }
            (&mut reader).take(n).read_to_end(&mut incoming.body)?;
        }
        let close = incoming
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        match handler(&incoming) {
            Reply::Send {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                writer.write_all(head.as_bytes())?;
                writer.write_all(&body)?;
                writer.flush()?;
                if close {
                    return Ok(());
                }
            }
            Reply::Raw(bytes) => {
                writer.write_all(&bytes)?;
                writer.flush()?;
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
            Reply::Close => {
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
