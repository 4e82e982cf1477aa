//! Options of servers, tables and user mappings, the secret key, and the
//! foreign table a scan reads.

use crate::catalog::{self, ColumnSpec, ObjectSpec};
use crate::convert::{allowed_targets, SqlType};
use crate::pg::error::FdwError;
use crate::pg::option_names::Level;
use crate::remote::budget::{Rate, MAX_BUDGET};
use crate::remote::client::{ClerkClient, ClientConfig, API_VERSION, DEFAULT_API_URL};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::collections::HashMap;
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub fn parse_ms(
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
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}

pub fn check_bool(options: &HashMap<String, String>, name: &str) -> Result<(), FdwError> {
    match options.get(name) {
        Some(v) if parse_bool(v).is_none() => Err(FdwError::BadOptionValue {
            option: name.into(),
            reason: format!("{v:?} is not a boolean (true or false)"),
        }),
        _ => Ok(()),
    }
}

/// Catalog option lists (`name=value` strings) as a map.
pub fn option_map<S: AsRef<str>>(options: impl IntoIterator<Item = S>) -> HashMap<String, String> {
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
///
/// Also says where the key came from, for errors (never the key itself).
pub fn with_api_key(
    server_oid: pg_sys::Oid,
    server_name: &str,
    server_options: &HashMap<String, String>,
) -> Result<(HashMap<String, String>, String), FdwError> {
    let mut options = server_options.clone();
    let source = if let Some((key, whose)) = user_mapping_key(server_oid) {
        options.insert("api_key".into(), key);
        format!("the user mapping for {whose} on server {server_name}")
    } else if let Some((key, which)) = vault_key(server_options)? {
        options.insert("api_key".into(), key);
        format!("the Vault secret with {which} of server {server_name}")
    } else {
        format!("the api_key option of server {server_name}")
    };
    if options.get("api_key").is_none_or(|k| k.trim().is_empty()) {
        return Err(FdwError::NoKey(server_name.to_string()));
    }
    Ok((options, source))
}

/// The Vault secret named by the server's `api_key_id` (a uuid) or
/// `api_key_name`, read from `vault.decrypted_secrets`.
/// Also returns which option named it.
fn vault_key(options: &HashMap<String, String>) -> Result<Option<(String, String)>, FdwError> {
    vault_secret(options, "api_key_id", "api_key_name")
}

/// The Vault secret named by the server option `id_option` (a uuid) or
/// `name_option`, and which option named it.
fn vault_secret(
    options: &HashMap<String, String>,
    id_option: &str,
    name_option: &str,
) -> Result<Option<(String, String)>, FdwError> {
    let (column, option) = match (options.get(id_option), options.get(name_option)) {
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
    let which = format!(
        "{} {option:?}",
        if column == "name" {
            name_option
        } else {
            id_option
        }
    );
    secret
        .filter(|s| !s.trim().is_empty())
        .map(|s| Some((s, which)))
        .ok_or_else(|| vault_error("Vault has no such secret".into()))
}

/// `api_key` of the user mapping that applies to the current user, if any,
/// and whose mapping it is (a role's or PUBLIC).
fn user_mapping_key(server_oid: pg_sys::Oid) -> Option<(String, String)> {
    user_mapping_option(server_oid, "api_key")
}

/// The Svix signing secret (`whsec_...`) of a mirror's server: the
/// `webhook_secret` of the current user's mapping, else of the PUBLIC
/// mapping, else the Vault secret the server's `webhook_secret_id` /
/// `webhook_secret_name` names.
pub fn webhook_secret(server_oid: pg_sys::Oid, server_name: &str) -> Result<String, FdwError> {
    if let Some((secret, _)) = user_mapping_option(server_oid, "webhook_secret") {
        return Ok(secret);
    }
    let options = server_options(server_oid);
    match vault_secret(&options, "webhook_secret_id", "webhook_secret_name")? {
        Some((secret, _)) => Ok(secret),
        None => Err(FdwError::NoWebhookSecret(server_name.to_string())),
    }
}

/// A server's options.
fn server_options(server_oid: pg_sys::Oid) -> HashMap<String, String> {
    // SAFETY: a catalog lookup in a transaction; GetForeignServer raises an
    // ERROR for an oid that is not a server, and its options list holds
    // DefElems with string values.
    unsafe { def_elems((*pg_sys::GetForeignServer(server_oid)).options) }
}

/// Option `name` of the user mapping that applies to the current user, if
/// any, and whose mapping it is (a role's or PUBLIC).
fn user_mapping_option(server_oid: pg_sys::Oid, name: &str) -> Option<(String, String)> {
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
        let whose = if exists(user) {
            let name = pg_sys::GetUserNameFromId(user, true);
            if name.is_null() {
                "the current role".to_string()
            } else {
                format!("role {:?}", CStr::from_ptr(name).to_string_lossy())
            }
        } else if exists(pg_sys::InvalidOid) {
            "PUBLIC".to_string()
        } else {
            return None;
        };
        let mapping = pg_sys::GetUserMapping(user, server_oid);
        def_elems((*mapping).options)
            .remove(name)
            .map(|value| (value, whose))
    }
}

/// The client of a server for the current user, and its configuration.
pub fn server_client(
    server_oid: pg_sys::Oid,
    server_name: &str,
    server_options: &HashMap<String, String>,
) -> Result<(ClientConfig, Arc<ClerkClient>), FdwError> {
    let (options, key_source) = with_api_key(server_oid, server_name, server_options)?;
    let mut config = client_config(&options)?;
    check_allowed_host(
        &config.api_url,
        wrapper_allowed_hosts(server_oid)?.as_deref(),
    )?;
    config.key_source = key_source;
    let client = ClerkClient::shared(&config).map_err(FdwError::Config)?;
    Ok((config, client))
}

/// The client configuration a server's options describe.
pub fn client_config(options: &HashMap<String, String>) -> Result<ClientConfig, FdwError> {
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
                        "{v:?} is not a number of requests (1 to {MAX_BUDGET}) per window of 1 ms to 3600 s, like '400/10s', or 'off'"
                    ),
                })?,
        ),
    };
    if let Some(v) = options.get("max_response_bytes") {
        config.max_response_bytes = v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (MIN_RESPONSE_BYTES..=MAX_RESPONSE_BYTES).contains(n))
            .ok_or_else(|| FdwError::BadOptionValue {
                option: "max_response_bytes".into(),
                reason: format!(
                    "{v:?} is not a number of bytes from {MIN_RESPONSE_BYTES} to {MAX_RESPONSE_BYTES}"
                ),
            })?;
    }
    if let Some(v) = options.get("api_version") {
        let v = v.trim();
        if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() || v.len() != 10 {
            return Err(FdwError::BadOptionValue {
                option: "api_version".into(),
                reason: format!("{v:?} is not a Clerk API version, a date like '{API_VERSION}'"),
            });
        }
        config.api_version = v.to_string();
    }
    // ".2": the slot layout of 0.3.0, apart from the file backends still
    // running an older library map.
    config.budget_file = shared_file("clerk_fdw.budget.2");
    Ok(config)
}

const MIN_RESPONSE_BYTES: u64 = 64 * 1024;
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;

/// The setting that held the allow-list before 0.3.0. It is no longer
/// read: a library that loads lazily loses the value a superuser gave it
/// as soon as a client sends its own (`PGOPTIONS`), so the allow-list now
/// lives in the wrapper's options, which only superusers can change.
const RETIRED_SETTING: &std::ffi::CStr = c"clerk_fdw.allowed_hosts";

/// The hosts a server's `api_url` may name: the `allowed_hosts` option of
/// its foreign data wrapper (`None`: any host).
pub fn wrapper_allowed_hosts(server_oid: pg_sys::Oid) -> Result<Option<Vec<String>>, FdwError> {
    // SAFETY: catalog lookups by the oid of an existing server (the caller
    // read it from the catalog in this transaction); GetForeignServer and
    // GetForeignDataWrapper raise an ERROR for a missing one, and their
    // option lists hold DefElems with string values.
    // SAFETY: the caller keeps this function's `# Safety` contract.
    let options = unsafe {
        let server = pg_sys::GetForeignServer(server_oid);
        def_elems((*pg_sys::GetForeignDataWrapper((*server).fdwid)).options)
    };
    match options.get("allowed_hosts") {
        Some(list) => parse_allowed_hosts(list).map(Some),
        None => {
            refuse_retired_setting()?;
            Ok(None)
        }
    }
}

/// An error while `clerk_fdw.allowed_hosts` is still set somewhere and the
/// wrapper has no `allowed_hosts` of its own: a superuser meant to limit
/// the hosts, and that setting no longer does.
fn refuse_retired_setting() -> Result<(), FdwError> {
    // SAFETY: a lookup by name that returns NULL for an unknown setting
    // (missing_ok) and otherwise a string owned by the GUC machinery, read
    // at once.
    let value = unsafe {
        let v = pg_sys::GetConfigOption(RETIRED_SETTING.as_ptr(), true, false);
        (!v.is_null()).then(|| CStr::from_ptr(v).to_string_lossy().into_owned())
    };
    match value {
        Some(v) if !v.trim().is_empty() => Err(FdwError::RetiredAllowedHosts),
        _ => Ok(()),
    }
}

/// A wrapper's `allowed_hosts`: comma-separated `host` or `host:port`.
pub fn parse_allowed_hosts(list: &str) -> Result<Vec<String>, FdwError> {
    let hosts: Vec<String> = list
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let bad = |reason: String| FdwError::BadOptionValue {
        option: "allowed_hosts".into(),
        reason,
    };
    if hosts.is_empty() {
        return Err(bad(
            "it names no host (to allow any host, drop the option: ALTER FOREIGN DATA WRAPPER ... OPTIONS (DROP allowed_hosts))".into(),
        ));
    }
    for h in &hosts {
        let parsed = url::Url::parse(&format!("http://{h}/"));
        let plain = parsed
            .as_ref()
            .is_ok_and(|u| u.host_str().is_some() && u.username().is_empty() && u.path() == "/")
            && !h.contains(['/', '@', '?', '#']);
        if !plain {
            return Err(bad(format!("{h:?} is not a host or host:port")));
        }
    }
    Ok(hosts)
}

/// An error unless `allowed` is `None` or names the host of `api_url` (as
/// `host` or `host:port`).
pub fn check_allowed_host(api_url: &str, allowed: Option<&[String]>) -> Result<(), FdwError> {
    let Some(allowed) = allowed else {
        return Ok(());
    };
    let Ok(url) = url::Url::parse(api_url) else {
        return Ok(()); // The client reports a malformed URL.
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port_or_known_default();
    let permitted = allowed
        .iter()
        .any(|a| *a == host || port.is_some_and(|p| *a == format!("{host}:{p}")));
    if permitted {
        Ok(())
    } else {
        Err(FdwError::HostNotAllowed { host })
    }
}

/// At `CREATE`/`ALTER SERVER`, before the wrapper is known to the
/// validator: an error when clerk_fdw's wrappers all limit the hosts and
/// none allows `api_url`'s. Every query checks its own wrapper's list.
pub fn check_host_for_some_wrapper(api_url: &str) -> Result<(), FdwError> {
    let lists = Spi::connect(|client| {
        client
            .select(
                "select coalesce(w.fdwoptions, '{}')
                   from pg_foreign_data_wrapper w
                   join pg_proc p on p.oid = w.fdwvalidator
                  where p.proname = 'clerk_fdw_validator'",
                None,
                &[],
            )?
            .map(|row| Ok(row.get::<Vec<String>>(1)?.unwrap_or_default()))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
    .map_err(|e| FdwError::BadOptionValue {
        option: "api_url".into(),
        reason: format!("cannot read the foreign data wrappers: {e}"),
    })?;
    let mut first_refusal = None;
    for options in lists {
        let allowed = match option_map(&options).get("allowed_hosts") {
            Some(list) => Some(parse_allowed_hosts(list)?),
            None => None,
        };
        match check_allowed_host(api_url, allowed.as_deref()) {
            Ok(()) => return Ok(()),
            Err(e) => first_refusal = first_refusal.or(Some(e)),
        }
    }
    first_refusal.map_or(Ok(()), Err)
}

/// A file that shares state (request budgets, row counts) between the
/// cluster's backends, in the data directory's `pg_stat_tmp` (where
/// pg_stat_statements keeps its query texts too).
pub fn shared_file(name: &str) -> Option<PathBuf> {
    // SAFETY: DataDir is set before any backend runs queries; read-only here.
    let dir = unsafe { pg_sys::DataDir };
    if dir.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated path owned by Postgres.
    let dir = unsafe { CStr::from_ptr(dir) }.to_str().ok()?;
    Some(Path::new(dir).join("pg_stat_tmp").join(name))
}

const DEFAULT_CONCURRENCY: usize = 8;
const MAX_CONCURRENCY: usize = 16;

/// Requests a scan keeps in flight (when row order does not matter).
/// The most rows one UPDATE or DELETE may change without raising
/// `max_write_rows`.
pub const DEFAULT_MAX_WRITE_ROWS: u64 = 100;

/// The `max_write_rows` option: a positive number of rows.
pub fn max_write_rows(options: &HashMap<String, String>) -> Result<u64, FdwError> {
    options
        .get("max_write_rows")
        .map_or(Ok(DEFAULT_MAX_WRITE_ROWS), |v| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| FdwError::BadOptionValue {
                    option: "max_write_rows".into(),
                    reason: format!("{v:?} is not a number of rows from 1 to 1000000"),
                })
        })
}

pub fn max_concurrency(options: &HashMap<String, String>) -> Result<usize, FdwError> {
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

fn target_of(type_oid: pg_sys::Oid) -> Option<SqlType> {
    Some(match type_oid {
        pg_sys::TEXTOID | pg_sys::VARCHAROID => SqlType::Text,
        pg_sys::BOOLOID => SqlType::Bool,
        pg_sys::INT2OID => SqlType::Int2,
        pg_sys::INT4OID => SqlType::Int4,
        pg_sys::INT8OID => SqlType::Int8,
        pg_sys::FLOAT8OID => SqlType::Float8,
        pg_sys::NUMERICOID => SqlType::Numeric,
        pg_sys::TIMESTAMPTZOID => SqlType::Timestamptz,
        pg_sys::TIMESTAMPOID => SqlType::Timestamp,
        pg_sys::JSONBOID => SqlType::Jsonb,
        pg_sys::TEXTARRAYOID => SqlType::TextArray,
        _ => return None,
    })
}

fn type_name(type_oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be accepts any oid and returns a palloc'd C string.
    unsafe { CStr::from_ptr(pg_sys::format_type_be(type_oid)) }
        .to_string_lossy()
        .into_owned()
}

/// The Clerk object a foreign table's `object` option names.
pub fn object_of(options: &HashMap<String, String>) -> Result<&'static ObjectSpec, FdwError> {
    let name = options.get("object").ok_or(FdwError::MissingOption {
        level: "foreign table",
        option: "object",
    })?;
    catalog::object(name).ok_or_else(|| FdwError::UnknownObject(name.clone()))
}

/// A column of the foreign table, as declared.
pub struct DeclaredColumn {
    /// Position in the table's tuple (0-based).
    pub index: usize,
    pub name: String,
    pub type_oid: pg_sys::Oid,
    /// The type modifier (`varchar(n)`), -1 for none.
    pub typmod: i32,
}

/// A declared column bound to its Clerk field and conversion.
pub struct BoundColumn {
    pub index: usize,
    pub name: String,
    pub spec: &'static ColumnSpec,
    pub target: SqlType,
    /// `n` of a column declared `varchar(n)`.
    pub max_chars: Option<usize>,
}

/// Binds each declared column to its Clerk field; an unknown column or a
/// type that cannot hold the field is an error naming both.
pub fn bind_columns(
    table: &Table,
    declared: &[DeclaredColumn],
) -> Result<Vec<BoundColumn>, FdwError> {
    let object = table.object;
    declared
        .iter()
        .map(|c| {
            let spec = object
                .column(&c.name)
                .ok_or_else(|| FdwError::UnknownColumn {
                    table: table.name.clone(),
                    object: object.name,
                    column: c.name.clone(),
                })?;
            let target = target_of(c.type_oid)
                .filter(|t| allowed_targets(spec.kind).contains(t))
                .ok_or_else(|| FdwError::WrongType {
                    table: table.name.clone(),
                    object: object.name,
                    column: c.name.clone(),
                    field: spec.name,
                    declared: type_name(c.type_oid),
                })?;
            // VARHDRSZ: varchar's typmod counts its 4-byte header.
            let max_chars = (c.type_oid == pg_sys::VARCHAROID && c.typmod >= 4)
                .then(|| (c.typmod - 4) as usize);
            Ok(BoundColumn {
                index: c.index,
                name: c.name.clone(),
                spec,
                target,
                max_chars,
            })
        })
        .collect()
}

/// A foreign table of clerk_fdw with its server: what a scan reads and
/// with which options.
pub struct Table {
    pub oid: pg_sys::Oid,
    pub name: String,
    pub object: &'static ObjectSpec,
    server_oid: pg_sys::Oid,
    server_name: String,
    server_options: HashMap<String, String>,
    table_options: HashMap<String, String>,
    /// Table options over server options.
    options: HashMap<String, String>,
}

impl Table {
    pub fn load(oid: pg_sys::Oid) -> Result<Table, FdwError> {
        // SAFETY: catalog lookups by the oid of a foreign table the query
        // names (locked by the planner or executor); the returned structs and
        // their DefElem lists are valid palloc'd data.
        let (name, server_oid, server_name, server_options, table_options) = unsafe {
            let table = pg_sys::GetForeignTable(oid);
            let server = pg_sys::GetForeignServer((*table).serverid);
            let name_ptr = pg_sys::get_rel_name(oid);
            let name = if name_ptr.is_null() {
                "(unknown)".to_string()
            } else {
                CStr::from_ptr(name_ptr).to_string_lossy().into_owned()
            };
            (
                name,
                (*table).serverid,
                CStr::from_ptr((*server).servername)
                    .to_string_lossy()
                    .into_owned(),
                def_elems((*server).options),
                def_elems((*table).options),
            )
        };
        let mut options = server_options.clone();
        options.extend(table_options.clone());
        Ok(Table {
            oid,
            object: object_of(&table_options)?,
            name,
            server_oid,
            server_name,
            server_options,
            table_options,
            options,
        })
    }

    /// Whether Clerk narrows requests (the `pushdown` option, table over
    /// server, default on).
    pub fn pushdown(&self) -> bool {
        self.options
            .get("pushdown")
            .is_none_or(|v| parse_bool(v).unwrap_or(true))
    }

    /// Whether INSERT, UPDATE and DELETE may reach Clerk: the server must
    /// allow them (`writable 'true'`, which only its owner can set), and a
    /// table can opt out. A table's own `true` cannot stand in for the
    /// server's: any role that may use the server can create a foreign
    /// table on it, and must not gain writes with the server's key that way.
    pub fn writable(&self) -> bool {
        let allows = |options: &HashMap<String, String>, default: bool| {
            options
                .get("writable")
                .map_or(default, |v| parse_bool(v).unwrap_or(false))
        };
        allows(&self.server_options, false) && allows(&self.table_options, true)
    }

    /// The most rows one UPDATE or DELETE may change.
    pub fn max_write_rows(&self) -> Result<u64, FdwError> {
        max_write_rows(&self.options)
    }

    /// Requests the scan keeps in flight.
    pub fn concurrency(&self) -> Result<usize, FdwError> {
        max_concurrency(&self.options)
    }

    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    pub fn server_oid(&self) -> pg_sys::Oid {
        self.server_oid
    }

    /// Where the table's server is: its database and its oid.
    pub fn server_identity(&self) -> (u32, u32) {
        // SAFETY: MyDatabaseId is set once at backend start; read-only here.
        let database = unsafe { pg_sys::MyDatabaseId };
        (database.into(), self.server_oid.into())
    }

    /// The server's client, with the current user's key.
    pub fn client(&self) -> Result<Arc<ClerkClient>, FdwError> {
        server_client(self.server_oid, &self.server_name, &self.server_options)
            .map(|(_, client)| client)
    }
}

/// A catalog option list (`DefElem`s) as a map.
///
/// # Safety
/// `list` is NIL or a valid List of DefElems with string values.
pub unsafe fn def_elems(list: *mut pg_sys::List) -> HashMap<String, String> {
    // SAFETY: per the function's contract.
    let list = unsafe { pgrx::PgList::<pg_sys::DefElem>::from_pg(list) };
    list.iter_ptr()
        .map(|def| {
            // SAFETY: per the function's contract.
            unsafe {
                (
                    CStr::from_ptr((*def).defname)
                        .to_string_lossy()
                        .into_owned(),
                    CStr::from_ptr(pg_sys::defGetString(def))
                        .to_string_lossy()
                        .into_owned(),
                )
            }
        })
        .collect()
}

/// The declared columns at `indexes` (all when `None`), dropped ones left
/// out.
///
/// # Safety
/// `desc` is a valid tuple descriptor.
pub unsafe fn declared_columns(desc: pg_sys::TupleDesc, indexes: &[usize]) -> Vec<DeclaredColumn> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        // pgrx's accessor: the attribute array's layout differs between majors.
        let desc = pgrx::PgTupleDesc::from_pg_unchecked(desc);
        indexes
            .iter()
            .filter_map(|&i| {
                let attr = desc.get(i)?;
                (!attr.attisdropped).then(|| DeclaredColumn {
                    index: i,
                    name: attr.name().to_string(),
                    type_oid: attr.atttypid,
                    typmod: attr.atttypmod,
                })
            })
            .collect()
    }
}

/// Checks the options of a wrapper, server, foreign table or user mapping
/// when they are set (the FDW's validator): unknown names and bad values
/// are errors before anything is stored.
pub fn validate(
    options: Vec<Option<String>>,
    catalog: Option<pg_sys::Oid>,
) -> Result<(), FdwError> {
    let level = match catalog {
        Some(pg_sys::ForeignDataWrapperRelationId) => Level::Wrapper,
        Some(pg_sys::ForeignServerRelationId) => Level::Server,
        Some(pg_sys::ForeignTableRelationId) => Level::Table,
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
    check_bool(&options, "writable")?;
    max_concurrency(&options)?;
    max_write_rows(&options)?;
    match level {
        Level::Server => {
            let mut checked = options.clone();
            checked
                .entry("api_key".into())
                .or_insert_with(|| "unset".into());
            let config = client_config(&checked)?;
            ClerkClient::new(&config).map_err(FdwError::Config)?;
            check_host_for_some_wrapper(&config.api_url)?;
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
            if let Some(secret) = options.get("webhook_secret") {
                crate::mirror::svix::check_secret(secret).map_err(|e| {
                    FdwError::BadOptionValue {
                        option: "webhook_secret".into(),
                        reason: e.to_string(),
                    }
                })?;
            }
        }
        Level::Table => {
            object_of(&options)?;
        }
        Level::Wrapper => {
            if let Some(list) = options.get("allowed_hosts") {
                parse_allowed_hosts(list)?;
            }
        }
    }
    Ok(())
}
