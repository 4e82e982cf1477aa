//! clerk_fdw's errors, converted once into Postgres' ERROR with a code and a
//! hint.

use crate::catalog;
use crate::catalog::writes::WriteError;
use crate::convert::{allowed_targets, ConvertError};
use crate::pg::option_names::{Level, REMOTE_SCHEMA};
use crate::remote::client::ClerkError;
use pgrx::pg_sys::panic::{ErrorReport, ErrorReportable};
use pgrx::PgSqlErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum FdwError {
    /// Something clerk_fdw's own planner guarantees did not hold.
    #[error("clerk_fdw: internal error: {0}")]
    Internal(&'static str),
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
    #[error(
        "clerk_fdw: api_url names host \"{host}\", which the foreign data wrapper's allowed_hosts does not allow"
    )]
    HostNotAllowed { host: String },
    #[error("clerk_fdw: the setting clerk_fdw.allowed_hosts is no longer read, and the foreign data wrapper has no allowed_hosts option")]
    RetiredAllowedHosts,
    #[error("clerk_fdw: unknown object \"{0}\"")]
    UnknownObject(String),
    #[error("clerk_fdw: no Clerk secret key for server \"{0}\"")]
    NoKey(String),
    #[error("clerk_fdw: no webhook signing secret for server \"{0}\"")]
    NoWebhookSecret(String),
    #[error("clerk_fdw: cannot read the Clerk key {option:?} from Supabase Vault: {reason}")]
    Vault { option: String, reason: String },
    #[error("clerk_fdw: there is no remote schema \"{0}\"")]
    UnknownRemoteSchema(String),
    #[error("clerk_fdw: foreign table {table} is not writable")]
    NotWritable { table: String, server: String },
    #[error("clerk_fdw: {source} (foreign table {table})")]
    Write {
        table: String,
        source: crate::catalog::writes::WriteError,
    },
    #[error("clerk_fdw: this {command} would change more than {max} rows of foreign table {table} (max_write_rows); nothing was sent to Clerk")]
    TooManyRows {
        table: String,
        command: &'static str,
        max: u64,
    },
    /// Boxed, like `BadValue`: the row path's `Result`s stay small.
    #[error("clerk_fdw: {} for {} {} failed: {}", .0.request, .0.object, .0.id, .0.source)]
    WriteFailed(Box<WriteFailure>),
    #[error("clerk_fdw: Clerk took {request}, but its answer cannot be read: {got}")]
    WriteAnswer { request: String, got: String },
    #[error("clerk_fdw: foreign table {table} ({object}) needs {} in WHERE", keys.iter().map(|k| format!("{k} = ...")).collect::<Vec<_>>().join(" or "))]
    KeyRequired {
        table: String,
        object: &'static str,
        keys: Vec<&'static str>,
    },
}

#[derive(Debug)]
pub struct WriteFailure {
    pub request: String,
    pub object: &'static str,
    pub id: String,
    pub source: ClerkError,
    /// Rows this statement changed in Clerk before the failure.
    pub done: Vec<String>,
}

impl From<FdwError> for ErrorReport {
    fn from(e: FdwError) -> ErrorReport {
        use PgSqlErrorCode::*;
        let message = e.to_string();
        let (code, hint) = match &e {
            FdwError::Clerk { source, .. } | FdwError::Config(source) => clerk_code_and_hint(source),
            FdwError::UnknownColumn { object, .. } => (
                ERRCODE_FDW_INVALID_COLUMN_NAME,
                format!(
                    "Valid columns for {object}: {}.",
                    catalog::object(object).map(|o| o.column_names().join(", ")).unwrap_or_default()
                ),
            ),
            FdwError::WrongType { object, field, .. } => {
                let kind = catalog::object(object).and_then(|o| o.column(field)).map(|c| c.kind);
                let allowed: Vec<&str> = kind
                    .map(allowed_targets)
                    .unwrap_or_default()
                    .iter()
                    .map(|t| t.sql_name())
                    .collect();
                (ERRCODE_FDW_INVALID_DATA_TYPE, format!("Declare it as one of: {}.", allowed.join(", ")))
            }
            FdwError::BadValue { .. } => (ERRCODE_FDW_INVALID_DATA_TYPE, String::new()),
            FdwError::Internal(_) => (ERRCODE_INTERNAL_ERROR, String::new()),
            FdwError::MissingOption { option, .. } => (
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                match *option {
                    "api_key" => "Add OPTIONS (api_key '<Clerk secret key>').".to_string(),
                    _ => format!("Add OPTIONS ({option} '...'); valid objects: {}.", catalog::object_names().join(", ")),
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
            FdwError::HostNotAllowed { .. } => (
                ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE,
                "A superuser sets which hosts servers may name: ALTER FOREIGN DATA WRAPPER ... OPTIONS (ADD allowed_hosts 'api.clerk.com, ...');".to_string(),
            ),
            FdwError::RetiredAllowedHosts => (
                ERRCODE_FDW_INVALID_OPTION_NAME,
                "Any role could override that setting, so a superuser moves the list to the wrapper: ALTER FOREIGN DATA WRAPPER ... OPTIONS (ADD allowed_hosts 'api.clerk.com'); ALTER SYSTEM RESET clerk_fdw.allowed_hosts; SELECT pg_reload_conf();".to_string(),
            ),
            FdwError::UnknownObject(_) => (
                ERRCODE_FDW_INVALID_OPTION_NAME,
                format!("Valid objects: {}.", catalog::object_names().join(", ")),
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
            FdwError::NoWebhookSecret(server) => (
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                format!("Give the endpoint's signing secret from the Clerk dashboard (Webhooks): ALTER USER MAPPING FOR PUBLIC SERVER {server} OPTIONS (ADD webhook_secret 'whsec_...');"),
            ),
            FdwError::NotWritable { table, server } => (
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("Writes reach your Clerk instance at once and cannot be rolled back. The server's owner allows them: ALTER SERVER {server} OPTIONS (ADD writable 'true'); a table with writable 'false' stays read-only ({table})."),
            ),
            FdwError::Write { source, .. } => (
                match source {
                    WriteError::Missing { .. } => ERRCODE_NOT_NULL_VIOLATION,
                    WriteError::Value { .. } | WriteError::Attrs { .. } => ERRCODE_INVALID_PARAMETER_VALUE,
                    WriteError::Unsupported { .. } | WriteError::Column { .. } => ERRCODE_FEATURE_NOT_SUPPORTED,
                },
                source.hint(),
            ),
            FdwError::TooManyRows { table, max, .. } => (
                ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!("Narrow the WHERE clause, or raise the limit: ALTER FOREIGN TABLE {table} OPTIONS (ADD max_write_rows '{}'); (SET if it is already there).", max.saturating_mul(10)),
            ),
            FdwError::WriteFailed(failure) => write_failure_code_and_hint(&failure.source),
            FdwError::WriteAnswer { .. } => (ERRCODE_FDW_ERROR, String::new()),
            FdwError::NoKey(server) => (
                ERRCODE_FDW_OPTION_NAME_NOT_FOUND,
                format!("Give the key in a user mapping: CREATE USER MAPPING FOR PUBLIC SERVER {server} OPTIONS (api_key '<Clerk secret key>');"),
            ),
        };
        let report = ErrorReport::new(code, message, "clerk_fdw");
        let report = match &e {
            FdwError::WriteFailed(failure) => report.set_detail(already_changed(&failure.done)),
            _ => report,
        };
        if hint.is_empty() {
            report
        } else {
            report.set_hint(hint)
        }
    }
}

/// The SQLSTATE and hint of an error Clerk's API gave.
fn clerk_code_and_hint(source: &ClerkError) -> (PgSqlErrorCode, String) {
    use PgSqlErrorCode::*;
    match source {
        ClerkError::Unauthorized { .. } => (
            ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            "Put a current secret key of this Clerk instance there (sk_live_... or sk_test_..., from the API keys page of the Clerk dashboard).".to_string(),
        ),
        ClerkError::Refused { status: 402, .. } => (
            ERRCODE_INSUFFICIENT_PRIVILEGE,
            "Clerk's plan for this instance does not include this feature.".to_string(),
        ),
        ClerkError::Refused { .. } => (
            ERRCODE_INSUFFICIENT_PRIVILEGE,
            "Clerk does not allow this request for the instance: check that the feature is enabled in the Clerk dashboard (organizations, say).".to_string(),
        ),
        ClerkError::RateLimited { .. } => (
            ERRCODE_FDW_ERROR,
            "Clerk's rate limit is shared with your application; narrow the query or run it later.".to_string(),
        ),
        ClerkError::Unreachable { .. } | ClerkError::Server { .. } => (
            ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
            "Check the server's api_url option and the network, or raise request_timeout_ms / max_retries.".to_string(),
        ),
        ClerkError::NotFound { .. } => (
            ERRCODE_FDW_ERROR,
            "Check the server's api_url option: it is the Backend API's base URL with its version, like https://api.clerk.com/v1.".to_string(),
        ),
        ClerkError::BadUrl(_) => (ERRCODE_FDW_INVALID_OPTION_NAME, String::new()),
        _ => (ERRCODE_FDW_ERROR, String::new()),
    }
}

/// The SQLSTATE and hint of a write Clerk refused or may not have applied.
fn write_failure_code_and_hint(source: &ClerkError) -> (PgSqlErrorCode, String) {
    use PgSqlErrorCode::*;
    (
        match source {
            ClerkError::Api {
                status: 400 | 409 | 422,
                ..
            } => ERRCODE_CHECK_VIOLATION,
            ClerkError::NotFound { .. } => ERRCODE_NO_DATA_FOUND,
            ClerkError::Unauthorized { .. } => ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
            ClerkError::Refused { .. } => ERRCODE_INSUFFICIENT_PRIVILEGE,
            ClerkError::Unreachable { .. }
            | ClerkError::Server { .. }
            | ClerkError::Uncertain { .. } => ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION,
            _ => ERRCODE_FDW_ERROR,
        },
        match source {
            ClerkError::Uncertain { .. } => {
                "Look the row up in Clerk (SELECT it again) before repeating the statement."
                    .to_string()
            }
            _ => String::new(),
        },
    )
}

/// The DETAIL of a failed write: what the statement already changed.
fn already_changed(done: &[String]) -> String {
    const SHOWN: usize = 10;
    if done.is_empty() {
        return "This statement changed nothing in Clerk before it.".into();
    }
    let more = done.len().saturating_sub(SHOWN);
    format!(
        "Before it, this statement changed {} row{} in Clerk, which stay changed (Clerk has no transactions; ROLLBACK does not undo them): {}{}.",
        done.len(),
        if done.len() == 1 { "" } else { "s" },
        done[..done.len().min(SHOWN)].join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    )
}

/// Raises an `Err` as a Postgres ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl FdwError {
    pub fn raise(self) -> ! {
        match Err::<std::convert::Infallible, _>(self).or_raise() {}
    }
}

impl<T> OrRaise<T> for Result<T, FdwError> {
    fn or_raise(self) -> T {
        self.map_err(ErrorReport::from).unwrap_or_report()
    }
}
