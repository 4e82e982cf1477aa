//! `clerk-fdw-webhook`: receives Clerk's webhook deliveries (Svix) over HTTP
//! and hands each one, raw body and `svix-*` headers unchanged, to
//! `clerk_fdw.receive_webhook` in Postgres, which verifies the signature
//! with the secret kept there and applies the event to a mirror.
//!
//! Svix retries any delivery not answered with a 2xx, so the status says
//! whether a retry can help: 2xx when the event was applied, a duplicate,
//! stale or ignored; 4xx when the delivery itself is wrong (signature, body,
//! headers, size), which no retry fixes; 5xx when the database is
//! unreachable, busy or misconfigured, so that Svix tries again later.

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::{HeaderMap, HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use tokio_postgres::error::SqlState;

/// The Svix headers passed on to Postgres.
const SVIX_HEADERS: [&str; 3] = ["svix-id", "svix-timestamp", "svix-signature"];
/// Longer than any real Svix header (several `v1,` signatures fit).
const MAX_HEADER_LEN: usize = 1024;

/// What the receiver was told on its command line.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The mirror schema deliveries go to (`create_mirror`'s `into_schema`).
    pub mirror: String,
    pub max_body: usize,
    /// How long a client may take to send a body.
    pub read_timeout: Duration,
    /// How long a delivery may wait for a free connection, and Postgres may
    /// take to apply it (`statement_timeout`).
    pub database_timeout: Duration,
}

pub struct Receiver {
    settings: Settings,
    pool: Pool,
}

/// How one delivery ended, for the response and the log line.
struct Answer {
    status: StatusCode,
    body: Value,
    /// `applied`, `duplicate`, ... or why it was refused, for the log.
    summary: String,
}

impl Answer {
    /// Refused with `why`, which the sender sees too.
    fn refuse(status: StatusCode, why: impl Into<String>) -> Answer {
        let why = why.into();
        Answer {
            status,
            body: json!({ "error": why }),
            summary: why,
        }
    }

    /// The database's fault: the sender learns only that it should retry;
    /// the log says why.
    fn unavailable(status: StatusCode, why: String) -> Answer {
        Answer {
            status,
            body: json!({ "error": "the database cannot take deliveries now; retry later" }),
            summary: why,
        }
    }
}

impl Receiver {
    /// A pool of at most `connections` connections to `database` (a libpq
    /// URL or key=value string); none is opened before the first delivery.
    pub fn new(database: &str, connections: usize, settings: Settings) -> Result<Receiver, String> {
        let mut config: tokio_postgres::Config = database
            .parse()
            .map_err(|e| format!("--database is not a connection string: {e}"))?;
        // Postgres stops a statement that outlasts the delivery's budget.
        let timeout = format!(
            "-c statement_timeout={}",
            settings.database_timeout.as_millis()
        );
        let options = match config.get_options() {
            Some(own) => format!("{own} {timeout}"),
            None => timeout,
        };
        config.options(&options);
        if config.get_application_name().is_none() {
            config.application_name("clerk-fdw-webhook");
        }
        config.connect_timeout(settings.database_timeout);
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.database_timeout))
            .create_timeout(Some(settings.database_timeout))
            .build()
            .map_err(|e| format!("cannot make the connection pool: {e}"))?;
        Ok(Receiver { settings, pool })
    }

    /// Answers one HTTP request; logs one line per delivery.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let started = Instant::now();
        let is_delivery = request.method() == Method::POST;
        let id = header(request.headers(), "svix-id")
            .unwrap_or("-")
            .chars()
            .take(64)
            .collect::<String>();
        let answer = match (request.method(), request.uri().path()) {
            (&Method::GET, "/healthz") => self.health().await,
            (&Method::POST, _) => self.deliver(request).await,
            _ => Answer::refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "POST a Clerk webhook delivery",
            ),
        };
        if is_delivery {
            eprintln!(
                "clerk-fdw-webhook: delivery {id}: {} {} in {} ms",
                answer.status.as_u16(),
                answer.summary,
                started.elapsed().as_millis()
            );
        }
        let mut response = Response::new(Full::new(Bytes::from(answer.body.to_string())));
        *response.status_mut() = answer.status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if answer.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }

    async fn health(&self) -> Answer {
        match self.pool.get().await {
            Ok(client) => match client.simple_query("select 1").await {
                Ok(_) => Answer {
                    status: StatusCode::OK,
                    body: json!({ "database": "ok" }),
                    summary: "ok".into(),
                },
                Err(e) => Answer::unavailable(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            },
            Err(e) => pool_error(&e),
        }
    }

    async fn deliver<B>(&self, request: Request<B>) -> Answer
    where
        B: Body,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (parts, body) = request.into_parts();
        let json_body = header(&parts.headers, "content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json_body {
            return Answer::refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a Clerk webhook is Content-Type: application/json",
            );
        }
        let mut svix = Map::new();
        for name in SVIX_HEADERS {
            match parts.headers.get(name).map(|v| v.to_str()) {
                None => {
                    return Answer::refuse(StatusCode::BAD_REQUEST, format!("no {name} header"))
                }
                Some(Err(_)) => {
                    return Answer::refuse(StatusCode::BAD_REQUEST, format!("{name} is not text"))
                }
                Some(Ok(v)) if v.len() > MAX_HEADER_LEN || v.is_empty() => {
                    return Answer::refuse(
                        StatusCode::BAD_REQUEST,
                        format!("{name} is empty or longer than {MAX_HEADER_LEN} bytes"),
                    )
                }
                Some(Ok(v)) => {
                    svix.insert(name.into(), Value::String(v.into()));
                }
            }
        }
        let max = self.settings.max_body;
        // A Content-Length over the cap is refused before any byte is read.
        if body.size_hint().lower() > max as u64 {
            return Answer::refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {max} bytes"),
            );
        }
        let collected = tokio::time::timeout(
            self.settings.read_timeout,
            Limited::new(body, max).collect(),
        )
        .await;
        let bytes = match collected {
            Err(_) => {
                return Answer::refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the body took longer than {} s",
                        self.settings.read_timeout.as_secs()
                    ),
                )
            }
            Ok(Err(e)) if e.is::<LengthLimitError>() => {
                return Answer::refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {max} bytes"),
                )
            }
            Ok(Err(e)) => {
                return Answer::refuse(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the body: {e}"),
                )
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Answer::refuse(StatusCode::BAD_REQUEST, "the body is not UTF-8");
        };
        let client = match self.pool.get().await {
            Ok(client) => client,
            Err(e) => return pool_error(&e),
        };
        let statement = match client
            .prepare_cached("select clerk_fdw.receive_webhook($1, $2, $3::text::jsonb)::text")
            .await
        {
            Ok(statement) => statement,
            Err(e) => return database_error(&e),
        };
        let headers = Value::Object(svix).to_string();
        match client
            .query_one(&statement, &[&self.settings.mirror, &text, &headers])
            .await
        {
            Ok(row) => {
                let result: String = row.get(0);
                let result: Value = serde_json::from_str(&result).unwrap_or(Value::Null);
                let outcome = result["outcome"].as_str().unwrap_or("?").to_string();
                let what = [&result["type"], &result["id"]]
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                Answer {
                    status: StatusCode::OK,
                    body: result,
                    summary: format!("{outcome} {what}").trim_end().to_string(),
                }
            }
            Err(e) => database_error(&e),
        }
    }
}

/// A header's value, if it is text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// The answer to an error of `receive_webhook`: the delivery's fault
/// (4xx), or the database's (5xx, so that Svix retries).
fn database_error(e: &tokio_postgres::Error) -> Answer {
    let Some(db) = e.as_db_error() else {
        return Answer::unavailable(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database is unreachable: {e}"),
        );
    };
    let code = db.code();
    let why = format!("{} ({})", db.message(), code.code());
    if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
        Answer::refuse(StatusCode::UNAUTHORIZED, why)
    } else if *code == SqlState::INVALID_PARAMETER_VALUE {
        Answer::refuse(StatusCode::BAD_REQUEST, why)
    } else if [
        SqlState::QUERY_CANCELED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::TOO_MANY_CONNECTIONS,
    ]
    .contains(code)
    {
        Answer::unavailable(StatusCode::SERVICE_UNAVAILABLE, why)
    } else {
        // A mirror that does not exist, a missing secret or privilege:
        // the set-up's fault, which a retry after fixing it gets past.
        Answer::unavailable(StatusCode::INTERNAL_SERVER_ERROR, why)
    }
}

/// No connection: whatever Postgres said (a failed login is also 28000),
/// the sender should retry.
fn pool_error(e: &PoolError) -> Answer {
    Answer::unavailable(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("no database connection: {e}"),
    )
}
