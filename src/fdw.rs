//! The thin FDW glue: options, column binding, and turning pages of Clerk
//! objects into rows. Everything it calls is plain Rust.

use crate::budget::{Rate, MAX_BUDGET};
use crate::client::{ClerkClient, ClerkError, ClientConfig, DEFAULT_API_URL};
use crate::convert::{self, allowed_targets, ConvertError, Out, Target};
use crate::objects::{self, ColumnSpec, ObjectSpec};
use crate::planner;
use crate::pushdown::{self, Request, ScanPlan};
use crate::runtime;
use crate::scan::{self, Fields, Rows, ScanOptions, ScanStream};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use serde_json::Value;
use std::collections::HashMap;
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use supabase_wrappers::prelude::*;

/// Pages kept ready ahead of the one being read.
const PREFETCH_PAGES: usize = 2;

/// Results up to this many rows are kept for re-scans (see [`Rows`]).
const KEEP_ROWS_FOR_RESCAN: usize = 2000;

/// The one schema `IMPORT FOREIGN SCHEMA` knows.
const REMOTE_SCHEMA: &str = "clerk";

/// Where an option may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Wrapper,
    Server,
    Table,
    UserMapping,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Wrapper => "foreign data wrapper",
            Level::Server => "server",
            Level::Table => "foreign table",
            Level::UserMapping => "user mapping",
        }
    }

    fn valid_options(self) -> &'static [&'static str] {
        match self {
            Level::Wrapper => &[],
            Level::Server => &[
                "api_key",
                "api_key_id",
                "api_key_name",
                "api_url",
                "connect_timeout_ms",
                "request_timeout_ms",
                "max_retries",
                "max_retry_wait_ms",
                "request_budget",
                "max_concurrency",
                "pushdown",
            ],
            Level::Table => &["object", "pushdown", "max_concurrency"],
            Level::UserMapping => &["api_key"],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FdwError {
    #[error("clerk_fdw: reading {object} for foreign table {table} failed: {source}")]
    Clerk {
        object: &'static str,
        table: String,
        source: ClerkError,
    },
    #[error("clerk_fdw: invalid server configuration: {0}")]
    Config(ClerkError),
    #[error("clerk_fdw: foreign table {table} has column \"{column}\", which Clerk {object} do not have")]
    UnknownColumn {
        table: String,
        object: &'static str,
        column: String,
    },
    #[error("clerk_fdw: column \"{column}\" of foreign table {table} is declared {declared}, which cannot hold Clerk's {object}.{field}")]
    WrongType {
        table: String,
        object: &'static str,
        column: String,
        field: &'static str,
        declared: String,
    },
    #[error("clerk_fdw: {object}.{field} of {id} for column \"{column}\" of foreign table {table}: {source}")]
    BadValue {
        table: String,
        object: &'static str,
        column: String,
        field: &'static str,
        id: String,
        /// Boxed: this variant would otherwise make every `Result` of the
        /// row path twice as large.
        source: Box<ConvertError>,
    },
    #[error("clerk_fdw: the {level} option \"{option}\" is required")]
    MissingOption {
        level: &'static str,
        option: &'static str,
    },
    #[error("clerk_fdw: invalid {} option \"{option}\"", level.name())]
    UnknownOption { level: Level, option: String },
    #[error("clerk_fdw: invalid value for option \"{option}\": {reason}")]
    BadOptionValue { option: String, reason: String },
    #[error("clerk_fdw: unknown object \"{0}\"")]
    UnknownObject(String),
    #[error("clerk_fdw: no Clerk secret key for server \"{0}\"")]
    NoKey(String),
    #[error("clerk_fdw: cannot read the Clerk key {option:?} from Supabase Vault: {reason}")]
    Vault { option: String, reason: String },
    #[error("clerk_fdw: there is no remote schema \"{0}\"")]
    UnknownRemoteSchema(String),
    #[error("clerk_fdw: foreign table {table} ({object}) needs {} in WHERE", keys.iter().map(|k| format!("{k} = ...")).collect::<Vec<_>>().join(" or "))]
    KeyRequired {
        table: String,
        object: &'static str,
        keys: Vec<&'static str>,
    },
}

impl From<FdwError> for ErrorReport {
    fn from(e: FdwError) -> ErrorReport {
        use PgSqlErrorCode::*;
        let message = e.to_string();
        let (code, hint) = match &e {
            FdwError::Clerk { source, .. } | FdwError::Config(source) => match source {
                ClerkError::Unauthorized { .. } => (
                    ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                    "Check the server's api_key option: it must be a current Clerk secret key (sk_live_... or sk_test_...) of this instance.".to_string(),
                ),
                ClerkError::RateLimited { .. } => (
                    ERRCODE_FDW_ERROR,
                    "Clerk's rate limit is shared with your application; narrow the query or run it later.".to_string(),
                ),
                ClerkError::Unreachable { .. } | ClerkError::Server { .. } => (
                    ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
                    "Check the server's api_url option and the network, or raise request_timeout_ms / max_retries.".to_string(),
                ),
                ClerkError::BadUrl(_) => (ERRCODE_FDW_INVALID_OPTION_NAME, String::new()),
                _ => (ERRCODE_FDW_ERROR, String::new()),
            },
            FdwError::UnknownColumn { object, .. } => (
                ERRCODE_FDW_INVALID_COLUMN_NAME,
                format!(
                    "Valid columns for {object}: {}.",
                    objects::object(object).map(|o| o.column_names().join(", ")).unwrap_or_default()
                ),
            ),
            FdwError::WrongType { object, field, .. } => {
                let kind = objects::object(object).and_then(|o| o.column(field)).map(|c| c.kind);
                let allowed: Vec<&str> = kind
                    .map(allowed_targets)
                    .unwrap_or_default()
                    .iter()
                    .map(|t| t.sql_name())
                    .collect();
                (ERRCODE_FDW_INVALID_DATA_TYPE, format!("Declare it as one of: {}.", allowed.join(", ")))
            }
            FdwError::BadValue { .. } => (ERRCODE_FDW_INVALID_DATA_TYPE, String::new()),
            FdwError::MissingOption { option, .. } => (
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                match *option {
                    "api_key" => "Add OPTIONS (api_key '<Clerk secret key>').".to_string(),
                    _ => format!("Add OPTIONS ({option} '...'); valid objects: {}.", objects::object_names().join(", ")),
                },
            ),
            FdwError::UnknownOption { level, .. } => {
                let valid = level.valid_options();
                let hint = if valid.is_empty() {
                    format!("A {} takes no options.", level.name())
                } else {
                    format!("Valid options: {}.", valid.join(", "))
                };
                (ERRCODE_FDW_INVALID_OPTION_NAME, hint)
            }
            FdwError::BadOptionValue { .. } => (ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE, String::new()),
            FdwError::UnknownObject(_) => (
                ERRCODE_FDW_INVALID_OPTION_NAME,
                format!("Valid objects: {}.", objects::object_names().join(", ")),
            ),
            FdwError::Vault { .. } => (
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                "api_key_id takes the id of a secret in vault.secrets, api_key_name its name; the role running the query must be allowed to read vault.decrypted_secrets.".to_string(),
            ),
            FdwError::UnknownRemoteSchema(_) => (
                ERRCODE_FDW_SCHEMA_NOT_FOUND,
                format!("Clerk's objects are in remote schema \"{REMOTE_SCHEMA}\": IMPORT FOREIGN SCHEMA {REMOTE_SCHEMA} FROM SERVER ... INTO ...;"),
            ),
            FdwError::KeyRequired { object, keys, .. } => (
                ERRCODE_FDW_ERROR,
                format!(
                    "Clerk lists {object} only by {}: add e.g. WHERE {} = '...', or join on it (FROM users u JOIN {object} s ON s.{} = u.id).",
                    keys.join(" or "),
                    keys[0],
                    keys[0]
                ),
            ),
            FdwError::NoKey(server) => (
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                format!("Give the key in a user mapping: CREATE USER MAPPING FOR PUBLIC SERVER {server} OPTIONS (api_key '<Clerk secret key>');"),
            ),
        };
        let report = ErrorReport::new(code, message, "clerk_fdw");
        if hint.is_empty() {
            report
        } else {
            report.set_hint(hint)
        }
    }
}

fn parse_ms(
    options: &HashMap<String, String>,
    name: &str,
    default: Duration,
) -> Result<Duration, FdwError> {
    options.get(name).map_or(Ok(default), |v| {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .ok_or_else(|| FdwError::BadOptionValue {
                option: name.into(),
                reason: format!("{v:?} is not a positive number of milliseconds"),
            })
    })
}

/// `true`/`false` as Postgres spells booleans.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

fn check_bool(options: &HashMap<String, String>, name: &str) -> Result<(), FdwError> {
    match options.get(name) {
        Some(v) if parse_bool(v).is_none() => Err(FdwError::BadOptionValue {
            option: name.into(),
            reason: format!("{v:?} is not a boolean (true or false)"),
        }),
        _ => Ok(()),
    }
}

/// How long the planner trusts an object's row count.
const ROW_COUNT_TTL: Duration = Duration::from_secs(300);
/// Assumed when Clerk cannot be asked (pushdown off, API unreachable).
const DEFAULT_ROW_COUNT: f64 = 1000.0;

/// The object's total row count for planner estimates.
fn total_rows(client: &Arc<ClerkClient>, object: &'static ObjectSpec) -> f64 {
    clerk_count(client, &ScanPlan::full(object)).unwrap_or(DEFAULT_ROW_COUNT)
}

/// The rows Clerk has for `plan`, for planner estimates: one quick count
/// request per server and distinct request every few minutes, not one per
/// planning. `None` when Clerk cannot count them or cannot be asked.
fn clerk_count(client: &Arc<ClerkClient>, plan: &ScanPlan) -> Option<f64> {
    type Cache = Mutex<HashMap<(usize, String), (Instant, Option<f64>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (Arc::as_ptr(client) as usize, plan.describe().join(" "));
    let cache = CACHE.get_or_init(Default::default);
    if let Some((at, rows)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        if at.elapsed() < ROW_COUNT_TTL {
            return *rows;
        }
    }
    let task_client = client.clone();
    let task_plan = plan.clone();
    let counted = runtime::wait_for(
        async move { scan::count(&task_client, &task_plan, true).await },
        &mut check_for_interrupts,
    );
    let rows = match counted {
        Ok(Some(Ok(Some(n)))) => Some(n as f64),
        _ => None,
    };
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, (Instant::now(), rows));
    rows
}

/// Catalog option lists (`name=value` strings) as a map.
fn option_map<S: AsRef<str>>(options: impl IntoIterator<Item = S>) -> HashMap<String, String> {
    options
        .into_iter()
        .map(|kv| match kv.as_ref().split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.as_ref().to_string(), String::new()),
        })
        .collect()
}

/// The server's options with the Clerk secret key of the current user: the
/// key of their user mapping, else of the PUBLIC mapping, else the Supabase
/// Vault secret the server's `api_key_id` / `api_key_name` names, else the
/// server's own `api_key` option (readable by every role; the validator
/// warns).
fn with_api_key(
    server_oid: pg_sys::Oid,
    server_name: &str,
    server_options: &HashMap<String, String>,
) -> Result<HashMap<String, String>, FdwError> {
    let mut options = server_options.clone();
    if let Some(key) = user_mapping_key(server_oid) {
        options.insert("api_key".into(), key);
    } else if let Some(key) = vault_key(server_options)? {
        options.insert("api_key".into(), key);
    }
    if options.get("api_key").is_none_or(|k| k.trim().is_empty()) {
        return Err(FdwError::NoKey(server_name.to_string()));
    }
    Ok(options)
}

/// The Vault secret named by the server's `api_key_id` (a uuid) or
/// `api_key_name`, read from `vault.decrypted_secrets`.
fn vault_key(options: &HashMap<String, String>) -> Result<Option<String>, FdwError> {
    let (column, option) = match (options.get("api_key_id"), options.get("api_key_name")) {
        (Some(id), _) => ("id::text", id),
        (None, Some(name)) => ("name", name),
        (None, None) => return Ok(None),
    };
    let vault_error = |reason: String| FdwError::Vault {
        option: option.clone(),
        reason,
    };
    let has_vault = Spi::get_one::<bool>(
        "select exists (select from pg_class where oid = to_regclass('vault.decrypted_secrets'))",
    )
    .map_err(|e| vault_error(e.to_string()))?
    .unwrap_or(false);
    if !has_vault {
        return Err(vault_error(
            "there is no vault.decrypted_secrets (Supabase Vault is not installed)".into(),
        ));
    }
    let secret = match Spi::get_one_with_args::<String>(
        &format!("select decrypted_secret from vault.decrypted_secrets where {column} = $1"),
        &[option.as_str().into()],
    ) {
        Ok(secret) => secret,
        Err(pgrx::spi::SpiError::InvalidPosition) => None,
        Err(e) => return Err(vault_error(e.to_string())),
    };
    secret
        .filter(|s| !s.trim().is_empty())
        .map(Some)
        .ok_or_else(|| vault_error("Vault has no such secret".into()))
}

/// `api_key` of the user mapping that applies to the current user, if any.
fn user_mapping_key(server_oid: pg_sys::Oid) -> Option<String> {
    // SAFETY: catalog lookups in a transaction; GetUserMapping is called only
    // when a mapping exists (it raises an ERROR otherwise), and its options
    // list holds DefElems with string values.
    unsafe {
        let user = pg_sys::GetUserId();
        let exists = |who: pg_sys::Oid| {
            pg_sys::SearchSysCacheExists(
                pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as i32,
                pg_sys::Datum::from(who),
                pg_sys::Datum::from(server_oid),
                pg_sys::Datum::from(0),
                pg_sys::Datum::from(0),
            )
        };
        if !exists(user) && !exists(pg_sys::InvalidOid) {
            return None;
        }
        let mapping = pg_sys::GetUserMapping(user, server_oid);
        let options = pgrx::PgList::<pg_sys::DefElem>::from_pg((*mapping).options);
        let key = options.iter_ptr().find_map(|def| {
            let name = CStr::from_ptr((*def).defname).to_str().ok()?;
            (name == "api_key").then(|| {
                CStr::from_ptr(pg_sys::defGetString(def))
                    .to_string_lossy()
                    .into_owned()
            })
        });
        key
    }
}

/// The client configuration a server's options describe.
fn client_config(options: &HashMap<String, String>) -> Result<ClientConfig, FdwError> {
    let api_key = options
        .get("api_key")
        .filter(|k| !k.trim().is_empty())
        .ok_or(FdwError::MissingOption {
            level: "server",
            option: "api_key",
        })?;
    let api_url = options
        .get("api_url")
        .map_or(DEFAULT_API_URL, String::as_str);
    let mut config = ClientConfig::new(api_url, api_key.trim());
    config.connect_timeout = parse_ms(options, "connect_timeout_ms", config.connect_timeout)?;
    config.request_timeout = parse_ms(options, "request_timeout_ms", config.request_timeout)?;
    config.retry.max_total_wait =
        parse_ms(options, "max_retry_wait_ms", config.retry.max_total_wait)?;
    if let Some(v) = options.get("max_retries") {
        config.retry.max_retries = v.trim().parse().map_err(|_| FdwError::BadOptionValue {
            option: "max_retries".into(),
            reason: format!("{v:?} is not a non-negative integer"),
        })?;
    }
    config.rate = match options.get("request_budget").map(|v| v.trim()) {
        None => Some(Rate::default_for_key(&config.api_key)),
        Some(v) if v.eq_ignore_ascii_case("off") => None,
        Some(v) => Some(
            Rate::parse(v)
                .filter(|r| r.requests <= MAX_BUDGET)
                .ok_or_else(|| FdwError::BadOptionValue {
                    option: "request_budget".into(),
                    reason: format!(
                        "{v:?} is not a number of requests (1 to {MAX_BUDGET}) per window, like '400/10s', or 'off'"
                    ),
                })?,
        ),
    };
    config.budget_file = budget_file();
    Ok(config)
}

/// The file that shares request budgets between the cluster's backends, in
/// the data directory's `pg_stat_tmp` (where pg_stat_statements keeps its
/// query texts too).
fn budget_file() -> Option<PathBuf> {
    // SAFETY: DataDir is set before any backend runs queries; read-only here.
    let dir = unsafe { pg_sys::DataDir };
    if dir.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated path owned by Postgres.
    let dir = unsafe { CStr::from_ptr(dir) }.to_str().ok()?;
    Some(Path::new(dir).join("pg_stat_tmp").join("clerk_fdw.budget"))
}

const DEFAULT_CONCURRENCY: usize = 8;
const MAX_CONCURRENCY: usize = 16;

/// Requests a scan keeps in flight (when row order does not matter).
fn max_concurrency(options: &HashMap<String, String>) -> Result<usize, FdwError> {
    options
        .get("max_concurrency")
        .map_or(Ok(DEFAULT_CONCURRENCY), |v| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_CONCURRENCY).contains(n))
                .ok_or_else(|| FdwError::BadOptionValue {
                    option: "max_concurrency".into(),
                    reason: format!("{v:?} is not a number from 1 to {MAX_CONCURRENCY}"),
                })
        })
}

fn target_of(type_oid: pg_sys::Oid) -> Option<Target> {
    Some(match type_oid {
        pg_sys::TEXTOID | pg_sys::VARCHAROID => Target::Text,
        pg_sys::BOOLOID => Target::Bool,
        pg_sys::INT2OID => Target::Int2,
        pg_sys::INT4OID => Target::Int4,
        pg_sys::INT8OID => Target::Int8,
        pg_sys::FLOAT8OID => Target::Float8,
        pg_sys::TIMESTAMPTZOID => Target::Timestamptz,
        pg_sys::TIMESTAMPOID => Target::Timestamp,
        pg_sys::JSONBOID => Target::Jsonb,
        pg_sys::TEXTARRAYOID => Target::TextArray,
        _ => return None,
    })
}

fn type_name(type_oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be accepts any oid and returns a palloc'd C string.
    unsafe { CStr::from_ptr(pg_sys::format_type_be(type_oid)) }
        .to_string_lossy()
        .into_owned()
}

/// The foreign table's name, from the oid the framework adds to the options.
fn table_name(options: &HashMap<String, String>) -> String {
    let oid = options
        .get("wrappers.ftable_oid")
        .and_then(|v| v.parse::<u32>().ok())
        .map(pg_sys::Oid::from);
    let name = oid.and_then(|oid| {
        // SAFETY: get_rel_name returns NULL or a palloc'd C string.
        let ptr = unsafe { pg_sys::get_rel_name(oid) };
        (!ptr.is_null()).then(|| {
            unsafe { CStr::from_ptr(ptr) }
                .to_string_lossy()
                .into_owned()
        })
    });
    name.unwrap_or_else(|| "(unknown)".into())
}

/// The Clerk object a foreign table's `object` option names.
fn object_of(options: &HashMap<String, String>) -> Result<&'static ObjectSpec, FdwError> {
    let name = options.get("object").ok_or(FdwError::MissingOption {
        level: "foreign table",
        option: "object",
    })?;
    objects::object(name).ok_or_else(|| FdwError::UnknownObject(name.clone()))
}

/// A declared column bound to its Clerk field and conversion.
struct BoundColumn {
    name: String,
    spec: &'static ColumnSpec,
    target: Target,
}

fn bind_columns(
    object: &'static ObjectSpec,
    table: &str,
    columns: &[Column],
) -> Result<Vec<BoundColumn>, FdwError> {
    columns
        .iter()
        .map(|c| {
            let spec = object
                .column(&c.name)
                .ok_or_else(|| FdwError::UnknownColumn {
                    table: table.into(),
                    object: object.name,
                    column: c.name.clone(),
                })?;
            let target = target_of(c.type_oid)
                .filter(|t| allowed_targets(spec.kind).contains(t))
                .ok_or_else(|| FdwError::WrongType {
                    table: table.into(),
                    object: object.name,
                    column: c.name.clone(),
                    field: spec.name,
                    declared: type_name(c.type_oid),
                })?;
            Ok(BoundColumn {
                name: c.name.clone(),
                spec,
                target,
            })
        })
        .collect()
}

fn to_cell(out: Out, target: Target) -> Result<Cell, ConvertError> {
    let out_of_range = |us: i64| ConvertError {
        expected: "a timestamp Postgres can store",
        got: us.to_string(),
    };
    Ok(match out {
        Out::Text(s) => Cell::String(s),
        Out::Bool(b) => Cell::Bool(b),
        Out::I16(v) => Cell::I16(v),
        Out::I32(v) => Cell::I32(v),
        Out::I64(v) => Cell::I64(v),
        Out::F64(v) => Cell::F64(v),
        Out::PgMicros(us) if target == Target::Timestamp => {
            Cell::Timestamp(Timestamp::try_from(us).map_err(|_| out_of_range(us))?)
        }
        Out::PgMicros(us) => {
            Cell::Timestamptz(TimestampWithTimeZone::try_from(us).map_err(|_| out_of_range(us))?)
        }
        Out::Json(v) => Cell::Json(JsonB(v)),
        Out::TextArray(v) => Cell::StringArray(v),
    })
}

/// What one scan reads and how its rows are built; kept for re-scans.
struct ScanSetup {
    object: &'static ObjectSpec,
    table: String,
    columns: Vec<BoundColumn>,
    concurrency: usize,
    /// The request the current rows answer.
    request: Option<Request>,
}

impl ScanSetup {
    fn fill(&self, obj: &Value, row: &mut Row) -> Result<(), FdwError> {
        for col in &self.columns {
            let converted = match convert::extract(obj, col.spec.source) {
                None => None,
                Some(v) => convert::convert(v, col.spec.kind, col.target)
                    .and_then(|out| out.map(|o| to_cell(o, col.target)).transpose())
                    .map_err(|source| FdwError::BadValue {
                        table: self.table.clone(),
                        object: self.object.name,
                        column: col.name.clone(),
                        field: col.spec.name,
                        id: obj
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .to_string(),
                        source: Box::new(source),
                    })?,
            };
            row.push(&col.name, converted);
        }
        Ok(())
    }
}

fn clerk_error(object: &'static ObjectSpec, table: &str, source: ClerkError) -> FdwError {
    FdwError::Clerk {
        object: object.name,
        table: table.to_string(),
        source,
    }
}

/// `count(*)` answered by Clerk.
struct CountScan {
    object: &'static ObjectSpec,
    table: String,
    alias: String,
    /// The request `value` answers.
    request: Option<Request>,
    value: i64,
    returned: bool,
}

#[wrappers_fdw(
    version = "0.2.0",
    author = "clerk_fdw developers",
    website = "https://github.com/clerk-fdw/clerk_fdw",
    error_type = "FdwError"
)]
pub(crate) struct ClerkFdw {
    client: Arc<ClerkClient>,
    /// The server's `max_concurrency`.
    concurrency: usize,
    setup: Option<ScanSetup>,
    rows: Option<Rows>,
    /// An aggregate scan's one row.
    count: Option<CountScan>,
    /// The next row starts (or restarts) the scan: its request, with the
    /// run-time values, is only known then (see [`planner`]).
    starting: bool,
    /// Planning found every clause to be one Clerk counts exactly.
    count_pushable: bool,
    /// The planner's row estimate for the scan.
    expected_rows: f64,
}

impl ClerkFdw {
    /// The rows `request` selects, counted by Clerk.
    fn count_rows(
        &self,
        object: &'static ObjectSpec,
        table: &str,
        request: &Request,
    ) -> Result<i64, FdwError> {
        let plan = pushdown::plan(object, request);
        let client = self.client.clone();
        let counted = runtime::wait_for(
            async move { scan::count(&client, &plan, false).await },
            &mut check_for_interrupts,
        )
        .map_err(|e| ClerkError::Unreachable {
            host: String::new(),
            cause: format!("cannot start the I/O runtime: {e}"),
            attempts: 0,
        })
        .and_then(|done| done.ok_or(ClerkError::Stopped))
        .and_then(|r| r)
        .map_err(|e| clerk_error(object, table, e))?;
        // Planning offers count(*) pushdown only when Clerk can count.
        counted.ok_or_else(|| {
            clerk_error(
                object,
                table,
                ClerkError::Malformed("Clerk cannot count these rows".into()),
            )
        })
    }

    /// Starts the scan for the request of this (re)start; replays the kept
    /// rows when it is the request they answer.
    fn start(&mut self) -> Result<(), FdwError> {
        let request = planner::take_pending_request();
        if let Some(count) = &mut self.count {
            count.returned = false;
            if count.request.as_ref() != Some(&request) {
                let (object, table) = (count.object, count.table.clone());
                let value = self.count_rows(object, &table, &request)?;
                let count = self.count.as_mut().expect("checked above");
                count.value = value;
                count.request = Some(request);
            }
            return Ok(());
        }
        let Some(setup) = &mut self.setup else {
            return Ok(());
        };
        if setup.request.as_ref() == Some(&request) && self.rows.as_mut().is_some_and(Rows::rewind)
        {
            return Ok(());
        }
        self.rows = None;
        let plan = pushdown::plan(setup.object, &request);
        if plan.missing_key {
            return Err(FdwError::KeyRequired {
                table: setup.table.clone(),
                object: setup.object.name,
                keys: setup.object.key_columns(),
            });
        }
        setup.request = Some(request);
        let options = ScanOptions {
            concurrency: setup.concurrency,
            prefetch: PREFETCH_PAGES,
            fields: Fields::for_sources(setup.columns.iter().map(|c| c.spec.source)),
            expected_rows: Some(self.expected_rows),
        };
        let stream = ScanStream::start(self.client.clone(), plan, options)
            .map_err(|e| clerk_error(setup.object, &setup.table, e))?;
        self.rows = Some(Rows::new(stream, KEEP_ROWS_FOR_RESCAN));
        Ok(())
    }
}

/// Checks for query cancel while waiting for Clerk.
fn check_for_interrupts() {
    pgrx::check_for_interrupts!();
}

impl ForeignDataWrapper<FdwError> for ClerkFdw {
    fn new(server: ForeignServer) -> Result<Self, FdwError> {
        let options = with_api_key(server.server_oid, &server.server_name, &server.options)?;
        let config = client_config(&options)?;
        Ok(ClerkFdw {
            client: ClerkClient::shared(&config).map_err(FdwError::Config)?,
            concurrency: max_concurrency(&server.options)?,
            setup: None,
            rows: None,
            count: None,
            starting: false,
            count_pushable: false,
            expected_rows: DEFAULT_ROW_COUNT,
        })
    }

    fn fdw_routine_hook(routine: &mut supabase_wrappers::FdwRoutine<pgrx::AllocatedByRust>) {
        planner::install(routine);
    }

    fn get_rel_size(
        &mut self,
        _quals: &[Qual],
        columns: &[Column],
        _sorts: &[Sort],
        _limit: &Option<Limit>,
        options: &HashMap<String, String>,
    ) -> Result<(i64, i32), FdwError> {
        let object = object_of(options)?;
        // Bad declarations fail here, before any request.
        bind_columns(object, &table_name(options), columns)?;
        let rows = match planner::take_rel_plan() {
            Some(planned) => {
                self.count_pushable = planned.count_pushable;
                let plan = &planned.plan;
                // A few constant keys or ranges in a join: Clerk's count
                // beats a guess (20 members per organization) that would
                // pick a nested loop of hundreds of lookups over one scan.
                let counted = if planned.worth_counting && plan.estimate_is_guessed() {
                    clerk_count(&self.client, plan).map(|n| plan.at_most_max_rows(n))
                } else {
                    None
                };
                counted.unwrap_or_else(|| plan.estimate_rows(|| total_rows(&self.client, object)))
            }
            None => total_rows(&self.client, object),
        };
        self.expected_rows = rows;
        Ok((rows.round() as i64, 64 * columns.len().max(1) as i32))
    }

    fn supported_aggregates(&self) -> Vec<AggregateKind> {
        if self.count_pushable {
            vec![AggregateKind::Count]
        } else {
            vec![]
        }
    }

    fn begin_aggregate_scan(
        &mut self,
        aggregates: &[supabase_wrappers::interface::Aggregate],
        _group_by: &[Column],
        _quals: &[Qual],
        options: &HashMap<String, String>,
    ) -> Result<(), FdwError> {
        self.count = Some(CountScan {
            object: object_of(options)?,
            table: table_name(options),
            alias: aggregates
                .first()
                .map(|a| a.alias.clone())
                .unwrap_or_default(),
            request: None,
            value: 0,
            returned: false,
        });
        self.starting = true;
        Ok(())
    }

    fn begin_scan(
        &mut self,
        _quals: &[Qual],
        columns: &[Column],
        _sorts: &[Sort],
        _limit: &Option<Limit>,
        options: &HashMap<String, String>,
    ) -> Result<(), FdwError> {
        self.starting = true;
        if self.count.is_some() {
            // A restarted aggregate scan.
            return Ok(());
        }
        let object = object_of(options)?;
        let table = table_name(options);
        let columns = bind_columns(object, &table, columns)?;
        let concurrency = match options.get("max_concurrency") {
            Some(_) => max_concurrency(options)?,
            None => self.concurrency,
        };
        self.setup = Some(ScanSetup {
            object,
            table,
            columns,
            concurrency,
            request: None,
        });
        Ok(())
    }

    fn iter_scan(&mut self, row: &mut Row) -> Result<Option<()>, FdwError> {
        if self.starting {
            self.starting = false;
            self.start()?;
        }
        if let Some(count) = &mut self.count {
            if count.returned {
                return Ok(None);
            }
            count.returned = true;
            row.push(&count.alias, Some(Cell::I64(count.value)));
            return Ok(Some(()));
        }
        let (Some(setup), Some(rows)) = (&self.setup, &mut self.rows) else {
            return Ok(None);
        };
        match rows.next_with(&mut check_for_interrupts, |obj| setup.fill(obj, row)) {
            Ok(Some(filled)) => filled.map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(clerk_error(setup.object, &setup.table, e)),
        }
    }

    fn re_scan(&mut self) -> Result<(), FdwError> {
        self.starting = true;
        Ok(())
    }

    fn end_scan(&mut self) -> Result<(), FdwError> {
        // The framework may call begin_scan again on this instance (a
        // re-scan with new parameters): keep what says what the scan is.
        self.rows = None;
        Ok(())
    }

    /// `IMPORT FOREIGN SCHEMA clerk FROM SERVER s INTO local`: one table per
    /// object with every column, typed (timestamps as timestamptz).
    fn import_foreign_schema(
        &mut self,
        stmt: ImportForeignSchemaStmt,
    ) -> Result<Vec<String>, FdwError> {
        if stmt.remote_schema != REMOTE_SCHEMA {
            return Err(FdwError::UnknownRemoteSchema(stmt.remote_schema));
        }
        let names = objects::object_names();
        if matches!(stmt.list_type, ImportSchemaType::FdwImportSchemaLimitTo) {
            if let Some(unknown) = stmt
                .table_list
                .iter()
                .find(|t| !names.contains(&t.as_str()))
            {
                return Err(FdwError::UnknownObject(unknown.clone()));
            }
        }
        let schema = pgrx::spi::quote_identifier(&stmt.local_schema);
        let server = pgrx::spi::quote_identifier(&stmt.server_name);
        Ok(objects::OBJECTS
            .iter()
            .map(|object| {
                let columns: Vec<String> = object
                    .columns
                    .iter()
                    .filter(|c| c.kind != objects::Kind::Removed)
                    .map(|c| format!("{} {}", c.name, allowed_targets(c.kind)[0].sql_name()))
                    .collect();
                format!(
                    "CREATE FOREIGN TABLE {schema}.{} ({}) SERVER {server} OPTIONS (object '{}')",
                    object.name,
                    columns.join(", "),
                    object.name
                )
            })
            .collect())
    }

    fn validator(
        options: Vec<Option<String>>,
        catalog: Option<pg_sys::Oid>,
    ) -> Result<(), FdwError> {
        let level = match catalog {
            Some(FOREIGN_DATA_WRAPPER_RELATION_ID) => Level::Wrapper,
            Some(FOREIGN_SERVER_RELATION_ID) => Level::Server,
            Some(FOREIGN_TABLE_RELATION_ID) => Level::Table,
            Some(pg_sys::UserMappingRelationId) => Level::UserMapping,
            _ => return Ok(()),
        };
        let options = option_map(options.iter().flatten());
        for name in options.keys() {
            if !level.valid_options().contains(&name.as_str()) {
                return Err(FdwError::UnknownOption {
                    level,
                    option: name.clone(),
                });
            }
        }
        check_bool(&options, "pushdown")?;
        max_concurrency(&options)?;
        match level {
            Level::Server => {
                let mut checked = options.clone();
                checked
                    .entry("api_key".into())
                    .or_insert_with(|| "unset".into());
                let config = client_config(&checked)?;
                ClerkClient::new(&config).map_err(FdwError::Config)?;
                if options.contains_key("api_key") {
                    pgrx::ereport!(
                        PgLogLevel::WARNING,
                        PgSqlErrorCode::ERRCODE_WARNING,
                        "clerk_fdw: the api_key server option can be read by every role that can log in",
                        "Server options are visible to all roles in pg_foreign_server. Keep the key in a user mapping instead, whose options only the server's owner and superusers can read: ALTER SERVER ... OPTIONS (DROP api_key); CREATE USER MAPPING FOR PUBLIC SERVER ... OPTIONS (api_key '...');"
                    );
                }
            }
            Level::UserMapping => {
                if let Some(key) = options.get("api_key") {
                    if key.trim().is_empty() {
                        return Err(FdwError::BadOptionValue {
                            option: "api_key".into(),
                            reason: "it is empty".into(),
                        });
                    }
                }
            }
            Level::Table => {
                object_of(&options)?;
            }
            Level::Wrapper => {}
        }
        Ok(())
    }
}

/// What clerk_fdw did for each Clerk server: requests, retries, 429s,
/// failed requests, bytes and rows received, and time spent waiting for the
/// request budget. Counted by all sessions of the cluster together, per
/// Clerk instance (servers with the same `api_url` and `api_key` share one
/// line's numbers), since the counters file was created.
#[pg_extern]
#[allow(clippy::type_complexity)]
fn clerk_fdw_stats() -> TableIterator<
    'static,
    (
        name!(server, String),
        name!(request_budget, Option<String>),
        name!(requests, i64),
        name!(retries, i64),
        name!(rate_limited, i64),
        name!(errors, i64),
        name!(bytes_received, i64),
        name!(rows, i64),
        name!(budget_wait_seconds, f64),
    ),
> {
    let rows: Vec<_> = clerk_servers(None)
        .into_iter()
        .filter_map(|(name, client)| client.ok().map(|(config, client)| (name, config, client)))
        .map(|(name, config, client)| {
            let c = client
                .counters()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
            use crate::budget::Counter::*;
            (
                name,
                config.rate.map(|r| r.to_string()),
                c[Requests as usize],
                c[Retries as usize],
                c[Throttled as usize],
                c[Errors as usize],
                c[BytesReceived as usize],
                c[Rows as usize],
                c[BudgetWaitMicros as usize] as f64 / 1e6,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// Sets the counters `clerk_fdw_stats()` shows back to zero, for one server
/// (and the servers that share its Clerk instance) or, without an argument,
/// for all. Only superusers may run it unless granted.
#[pg_extern]
fn clerk_fdw_stats_reset(server: default!(Option<&str>, "NULL")) {
    let servers = clerk_servers(server);
    if let (Some(name), true) = (server, servers.is_empty()) {
        pgrx::error!("clerk_fdw_stats_reset: there is no clerk_fdw server \"{name}\"");
    }
    for (_, client) in servers {
        match client {
            Ok((_, client)) => client.reset_counters(),
            // Named: say why. All: skip the servers this role has no key for.
            Err(e) if server.is_some() => pgrx::error!("{e}"),
            Err(_) => {}
        }
    }
}

extension_sql!(
    "REVOKE ALL ON FUNCTION clerk_fdw_stats_reset(text) FROM PUBLIC;",
    name = "stats_reset_is_for_superusers",
    requires = [clerk_fdw_stats_reset]
);

/// The servers of clerk_fdw's wrappers (only `only`, when given), with
/// their configuration and client, or why the current user has none.
type ServerClient = Result<(ClientConfig, Arc<ClerkClient>), FdwError>;
fn clerk_servers(only: Option<&str>) -> Vec<(String, ServerClient)> {
    let servers: Vec<(pg_sys::Oid, String, Vec<String>)> = Spi::connect(|client| {
        client
            .select(
                "select s.oid, s.srvname::text, coalesce(s.srvoptions, '{}')
                   from pg_foreign_server s
                   join pg_foreign_data_wrapper w on w.oid = s.srvfdw
                   join pg_proc p on p.oid = w.fdwhandler
                  where p.proname = 'clerk_fdw_handler'
                    and ($1::text is null or s.srvname = $1)
                  order by 1",
                None,
                &[only.into()],
            )?
            .map(|row| {
                Ok((
                    row.get::<pg_sys::Oid>(1)?.unwrap_or(pg_sys::InvalidOid),
                    row.get::<String>(2)?.unwrap_or_default(),
                    row.get::<Vec<String>>(3)?.unwrap_or_default(),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .unwrap_or_else(|e| pgrx::error!("clerk_fdw: cannot list the servers: {e}"));
    servers
        .into_iter()
        .map(|(oid, name, options)| {
            let client = with_api_key(oid, &name, &option_map(&options))
                .and_then(|options| client_config(&options))
                .and_then(|config| {
                    let client = ClerkClient::shared(&config).map_err(FdwError::Config)?;
                    Ok((config, client))
                });
            (name, client)
        })
        .collect()
}
