//! Creating a mirror: its two schemas, the bookkeeping tables, the
//! foreign tables a sync reads through, and one table per object.

use super::*;

/// Raises an ERROR unless `server` is a clerk_fdw server.
pub(super) fn check_clerk_server(server: &str) {
    let is_clerk_server = Spi::get_one_with_args::<bool>(
        "select exists (select from pg_foreign_server s
                          join pg_foreign_data_wrapper w on w.oid = s.srvfdw
                          join pg_proc p on p.oid = w.fdwhandler
                         where p.proname = 'clerk_fdw_handler' and s.srvname = $1)",
        &[server.into()],
    )
    .unwrap_or_else(|e| spi_failed("cannot look up the server", e))
    .unwrap_or(false);
    if !is_clerk_server {
        fail(
            PgSqlErrorCode::ERRCODE_FDW_INVALID_OPTION_NAME,
            format!("clerk_fdw: there is no clerk_fdw server \"{server}\""),
            "",
        );
    }
}

fn run(sql: String) {
    Spi::run(&sql).unwrap_or_else(|e| spi_failed("cannot create the mirror", e))
}

/// The two schemas and the tables that keep the mirror: `mirror`,
/// `versions`, `events`, `syncs`.
pub(super) fn create_bookkeeping(into_schema: &str, sync: &str) {
    let (into, sync_q) = (ident(into_schema), ident(sync));
    run(format!("create schema if not exists {into}"));
    run(format!("create schema if not exists {sync_q}"));
    run(format!(
        "create table if not exists {sync_q}.mirror (
             server name not null,
             created_at timestamptz not null default now(),
             one_row boolean primary key default true check (one_row))"
    ));
    run(format!(
        "create table if not exists {sync_q}.versions (
             object text not null,
             id text not null,
             version bigint not null,
             deleted boolean not null,
             written_at timestamptz not null,
             primary key (object, id))"
    ));
    run(format!(
        "create table if not exists {sync_q}.events (
             event_id text primary key,
             type text not null,
             object text,
             object_id text,
             outcome text,
             deliveries integer not null default 1,
             received_at timestamptz not null default now())"
    ));
    run(format!(
        "create index if not exists events_by_object on {sync_q}.events (object, received_at)"
    ));
    run(format!(
        "create table if not exists {sync_q}.syncs (
             object text primary key,
             started_at timestamptz not null,
             finished_at timestamptz not null,
             listed bigint not null,
             inserted bigint not null,
             updated bigint not null,
             deleted bigint not null,
             unchanged bigint not null,
             requests bigint not null,
             seconds double precision not null)"
    ));
}

/// Records `server` as the mirror's; an ERROR when the schema mirrors
/// another server already.
pub(super) fn claim_for_server(sync: &str, into_schema: &str, server: &str) {
    let sync_q = ident(sync);
    let owner = Spi::get_one_with_args::<String>(
        &format!(
            "insert into {sync_q}.mirror (server) values ($1) on conflict (one_row)
               do update set server = {sync_q}.mirror.server returning server::text"
        ),
        &[server.into()],
    )
    .unwrap_or_else(|e| spi_failed("cannot record the mirror's server", e))
    .unwrap_or_default();
    if owner != server {
        fail(
            PgSqlErrorCode::ERRCODE_DUPLICATE_SCHEMA,
            format!("clerk_fdw: \"{into_schema}\" is already a mirror of server \"{owner}\""),
            "Mirror each server into a schema of its own.",
        );
    }
}

/// The foreign tables of the objects not yet mirrored, and one ordinary
/// table per object: (object, mirror table, kept by).
pub(super) fn create_tables(
    into_schema: &str,
    sync: &str,
    server: &str,
    wanted: &[&'static ObjectSpec],
) -> Vec<(String, String, String)> {
    let have = mirrored_objects(sync);
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|o| !have.iter().any(|h| h.name == o.name))
        .map(|o| o.name)
        .collect();
    if !missing.is_empty() {
        run(format!(
            "import foreign schema {} limit to ({}) from server {} into {}",
            crate::pg::option_names::REMOTE_SCHEMA,
            missing.join(", "),
            ident(server),
            ident(sync)
        ));
    }
    let mut rows = Vec::new();
    for o in wanted {
        let mirror_table = table(into_schema, o.name);
        run(format!(
            "create table if not exists {mirror_table} (like {}, primary key (id))",
            table(sync, o.name)
        ));
        run(format!(
            "comment on table {mirror_table} is {}",
            pgrx::spi::quote_literal(format!(
                "Clerk's {} from server {server}, kept by clerk_fdw ({}).",
                o.name,
                kept_by(o)
            ))
        ));
        rows.push((o.name.to_string(), mirror_table, kept_by(o).to_string()));
    }
    rows
}
