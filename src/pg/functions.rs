//! SQL functions: what clerk_fdw did for each Clerk server.

use crate::pg::error::FdwError;
use crate::pg::options::{option_map, server_client};
use crate::remote::client::{ClerkClient, ClientConfig};
use pgrx::prelude::*;
use std::sync::Arc;

/// What clerk_fdw did for each Clerk server: requests, retries, 429s,
/// failed requests, bytes and rows received, time spent waiting for the
/// request budget, and writes (INSERT, UPDATE and DELETE requests) and
/// the writes that failed. Counted by all sessions of the cluster together, per
/// Clerk instance (servers with the same `api_url` and `api_key` share one
/// line's numbers), since the instance last claimed its slot (see
/// `budget.rs`). Lists only the servers the caller has USAGE on
/// (superusers: all).
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
        name!(writes, i64),
        name!(write_errors, i64),
    ),
> {
    let rows: Vec<_> = clerk_servers(None)
        .into_iter()
        .filter_map(|(name, client)| client.ok().map(|(config, client)| (name, config, client)))
        .map(|(name, config, client)| {
            let c = client
                .counters()
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX));
            use crate::remote::budget::Counter::*;
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
                c[Writes as usize],
                c[WriteErrors as usize],
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

/// The servers of clerk_fdw's wrappers that the current user may use (only
/// `only`, when given), with
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
                    and has_server_privilege(s.oid, 'USAGE')
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
            let client = server_client(oid, &name, &option_map(&options));
            (name, client)
        })
        .collect()
}
