//! The mirror's SQL interface: `clerk_fdw.create_mirror`, `sync_mirror`,
//! `receive_webhook` and the `clerk_fdw.mirror_status` view.
//!
//! A mirror `m` is two schemas. `m` holds one ordinary table per object,
//! with the columns `IMPORT FOREIGN SCHEMA` gives and a primary key on `id`:
//! live objects only, nothing else, for BI tools to browse. `m_sync` holds
//! what keeps them: the foreign tables a sync reads Clerk through,
//! `versions` (each object's newest version, and tombstones), `events`
//! (each delivery by its `svix-id`), `syncs` (the last sync of each object)
//! and `mirror` (the server).
//!
//! Every write goes through `versions` first, with `INSERT ... ON CONFLICT
//! DO UPDATE ... WHERE` comparing versions under the row lock: a webhook and
//! a sync that race on one object serialise there, and the older version
//! loses whichever commits first. Both take the `versions` row before the
//! mirror row, and a webhook touches one object, so they cannot deadlock.

use crate::catalog::{Kind, ObjectSpec};
use crate::mirror::{self, svix, Change, Refusals};
use crate::pg::error::OrRaise;
use crate::pg::options;
use crate::remote::client::ClerkClient;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::quote_identifier as ident;
use pgrx::spi::{OwnedPreparedStatement, SpiHeapTupleData};
use pgrx::{JsonB, PgOid, PgSqlErrorCode};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

/// Raises an ERROR with a SQLSTATE and a hint.
fn fail(code: PgSqlErrorCode, message: String, hint: &str) -> ! {
    let report = pgrx::pg_sys::panic::ErrorReport::new(code, message, "clerk_fdw");
    let report = if hint.is_empty() {
        report
    } else {
        report.set_hint(hint)
    };
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR returns control to Postgres")
}

fn spi_failed(what: &str, e: pgrx::spi::Error) -> ! {
    fail(
        PgSqlErrorCode::ERRCODE_FDW_ERROR,
        format!("clerk_fdw: {what}: {e}"),
        "",
    )
}

thread_local! {
    /// Plans of the statements a webhook runs, by their text (which names
    /// the mirror's tables), kept for the backend's life as plpgsql keeps
    /// its statements' plans; Postgres re-plans one when a table it reads
    /// changes.
    static PLANS: RefCell<HashMap<String, OwnedPreparedStatement>> = RefCell::new(HashMap::new());
}

/// Plans kept at most; past that the cache starts afresh.
const MAX_PLANS: usize = 256;

/// Runs `sql` with a plan prepared once per backend, and reads its first
/// row's columns `1..=N` with `read` (no row: `read` gets `None`).
fn cached<R>(
    sql: &str,
    args: &[DatumWithOid],
    read: impl FnOnce(Option<SpiHeapTupleData<'_>>) -> Result<R, pgrx::spi::Error>,
) -> Result<R, pgrx::spi::Error> {
    Spi::connect_mut(|client| {
        // Taken out while it runs: a trigger that ran another cached
        // statement must not find this one borrowed.
        let stmt = match PLANS.with_borrow_mut(|plans| plans.remove(sql)) {
            Some(stmt) => stmt,
            None => {
                let types: Vec<PgOid> = args.iter().map(|a| PgOid::from(a.oid())).collect();
                client.prepare_mut(sql, &types)?.keep()
            }
        };
        let table = client.update(&stmt, None, args)?;
        let first = if table.is_empty() {
            None
        } else {
            table.into_iter().next()
        };
        let result = read(first);
        PLANS.with_borrow_mut(|plans| {
            if plans.len() >= MAX_PLANS {
                plans.clear();
            }
            plans.insert(sql.to_string(), stmt);
        });
        result
    })
}

/// Column `n` of a [`cached`] statement's row, `None` without a row.
fn column<T: pgrx::datum::FromDatum + pgrx::datum::IntoDatum>(
    row: Option<SpiHeapTupleData<'_>>,
    n: usize,
) -> Result<Option<T>, pgrx::spi::Error> {
    row.map_or(Ok(None), |r| r.get::<T>(n))
}

/// The schema that keeps mirror `into`.
fn sync_schema(into: &str) -> String {
    let name = format!("{into}_sync");
    if name.len() > 63 {
        fail(
            PgSqlErrorCode::ERRCODE_NAME_TOO_LONG,
            format!("clerk_fdw: mirror schema name \"{into}\" is too long: its bookkeeping schema \"{name}\" would pass 63 bytes"),
            "",
        );
    }
    name
}

/// The server of mirror `into`, and its bookkeeping schema; an ERROR when
/// `into` is not a mirror.
fn mirror_of(into: &str) -> (String, String) {
    let sync = sync_schema(into);
    let exists = cached(
        "select to_regclass(format('%I.mirror', $1::text)) is not null",
        &[sync.as_str().into()],
        |row| column::<bool>(row, 1),
    )
    .unwrap_or_else(|e| spi_failed("cannot look up the mirror", e))
    .unwrap_or(false);
    if !exists {
        fail(
            PgSqlErrorCode::ERRCODE_INVALID_SCHEMA_NAME,
            format!("clerk_fdw: \"{into}\" is not a clerk_fdw mirror (there is no {sync}.mirror)"),
            "Create one first: SELECT * FROM clerk_fdw.create_mirror('<server>', '<schema>');",
        );
    }
    let server = cached(
        &format!("select server::text from {}.mirror", ident(&sync)),
        &[],
        |row| column::<String>(row, 1),
    )
    .unwrap_or_else(|e| spi_failed("cannot read the mirror's server", e))
    .unwrap_or_default();
    (server, sync)
}

/// The objects mirror `into` keeps: the foreign tables of its `_sync`
/// schema, in [`mirror::MIRRORED`] order.
fn mirrored_objects(sync: &str) -> Vec<&'static ObjectSpec> {
    let present: Vec<String> = cached(
        "select array(select c.relname::text from pg_class c
                       where c.relnamespace = to_regnamespace($1) and c.relkind = 'f')",
        &[sync.into()],
        |row| column::<Vec<String>>(row, 1).map(Option::unwrap_or_default),
    )
    .unwrap_or_else(|e| spi_failed("cannot list the mirror's objects", e));
    mirror::select(None)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| present.iter().any(|p| p == o.name))
        .collect()
}

fn table(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// The mirror table's columns as `col = excluded.col, ...`.
fn set_list(object: &ObjectSpec) -> String {
    object
        .columns
        .iter()
        .filter(|c| c.kind != Kind::Removed && c.name != "id")
        .map(|c| format!("{0} = excluded.{0}", ident(c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The objects an `objects` argument names (all for NULL); an ERROR
/// listing the valid ones for a name Clerk sends no events for.
fn selected(objects: Option<&[String]>) -> Vec<&'static ObjectSpec> {
    mirror::select(objects).unwrap_or_else(|e| {
        fail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            e.to_string(),
            "Pass NULL for all of them.",
        )
    })
}

fn kept_by(object: &ObjectSpec) -> &'static str {
    if mirror::reconciled(object) {
        "events and sync_mirror"
    } else {
        "events only"
    }
}

fn refusals() -> Refusals {
    Refusals::open(options::shared_file("clerk_fdw.webhook_refusals").as_deref())
}

fn refusal_key(into: &str) -> u64 {
    // SAFETY: MyDatabaseId is set for the whole life of a backend.
    let database = unsafe { pg_sys::MyDatabaseId };
    mirror::mirror_key(database.to_u32(), into)
}

#[pg_schema]
mod clerk_fdw {
    use super::*;

    /// Creates mirror `into_schema` of server `server`: one ordinary table
    /// per object (all that Clerk sends events for when `objects` is NULL),
    /// with the typed columns `IMPORT FOREIGN SCHEMA` gives, `attrs`, and a
    /// primary key on `id`. Run again to add objects. Returns each table and
    /// how it is kept.
    #[pg_extern]
    fn create_mirror(
        server: &str,
        into_schema: &str,
        objects: default!(Option<Vec<String>>, "NULL"),
    ) -> TableIterator<
        'static,
        (
            name!(object, String),
            name!(mirror_table, String),
            name!(kept_by, String),
        ),
    > {
        let wanted = selected(objects.as_deref());
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
        let sync = sync_schema(into_schema);
        let (into, sync_q) = (ident(into_schema), ident(&sync));
        let run = |sql: String| {
            Spi::run(&sql).unwrap_or_else(|e| spi_failed("cannot create the mirror", e))
        };
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
        let have = mirrored_objects(&sync);
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|o| !have.iter().any(|h| h.name == o.name))
            .map(|o| o.name)
            .collect();
        if !missing.is_empty() {
            run(format!(
                "import foreign schema {} limit to ({}) from server {} into {sync_q}",
                options::REMOTE_SCHEMA,
                missing.join(", "),
                ident(server)
            ));
        }
        let mut rows = Vec::new();
        for o in &wanted {
            let mirror_table = table(into_schema, o.name);
            run(format!(
                "create table if not exists {mirror_table} (like {}, primary key (id))",
                table(&sync, o.name)
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
        TableIterator::new(rows)
    }

    /// Lists each object of mirror `into_schema` from Clerk (all when
    /// `objects` is NULL) and writes what changed: new and changed objects,
    /// and the removal of those Clerk no longer lists. Never undoes what a
    /// webhook applied meanwhile. One transaction: cancelled or failed, it
    /// leaves the mirror as it was.
    #[pg_extern]
    #[allow(clippy::type_complexity)]
    fn sync_mirror(
        into_schema: &str,
        objects: default!(Option<Vec<String>>, "NULL"),
    ) -> TableIterator<
        'static,
        (
            name!(object, String),
            name!(inserted, i64),
            name!(updated, i64),
            name!(deleted, i64),
            name!(unchanged, i64),
            name!(requests, i64),
            name!(seconds, f64),
        ),
    > {
        let (_, sync) = mirror_of(into_schema);
        let asked = selected(objects.as_deref());
        let have = mirrored_objects(&sync);
        if let Some(o) = asked
            .iter()
            .find(|o| objects.is_some() && !have.iter().any(|h| h.name == o.name))
        {
            fail(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("clerk_fdw: mirror \"{into_schema}\" does not keep {}", o.name),
                &format!("Add it: SELECT * FROM clerk_fdw.create_mirror('<server>', '{into_schema}', array['{}']);", o.name),
            );
        }
        let mut rows = Vec::new();
        for o in have
            .iter()
            .filter(|h| asked.iter().any(|a| a.name == h.name))
        {
            if !mirror::reconciled(o) {
                pgrx::notice!(
                    "clerk_fdw: {}.{} is kept by events only: Clerk lists {} only per parent",
                    into_schema,
                    o.name,
                    o.name
                );
                continue;
            }
            rows.push(sync_object(into_schema, &sync, o));
        }
        let sync_q = ident(&sync);
        Spi::run(&format!(
            "delete from {sync_q}.versions where deleted and written_at < now() - interval '{0} days';
             delete from {sync_q}.events where received_at < now() - interval '{0} days'",
            mirror::TOMBSTONE_DAYS
        ))
        .unwrap_or_else(|e| spi_failed("cannot expire old tombstones and events", e));
        TableIterator::new(rows)
    }

    /// Applies one of Clerk's webhook deliveries to mirror `into_schema`:
    /// the raw `body` and the delivery's headers (`svix-id`,
    /// `svix-timestamp`, `svix-signature`; any case). Verifies the Svix
    /// signature with the server's `webhook_secret`, then returns what it
    /// did: `{"outcome": "applied" | "duplicate" | "stale" | "ignored",
    /// "type", "object", "id"}`. A bad signature or body is an ERROR and
    /// changes nothing.
    #[pg_extern]
    fn receive_webhook(into_schema: &str, body: &str, headers: JsonB) -> JsonB {
        let (server, sync) = mirror_of(into_schema);
        let server_oid = cached(
            "select oid from pg_foreign_server where srvname = $1",
            &[server.as_str().into()],
            |row| column::<pg_sys::Oid>(row, 1),
        )
        .unwrap_or_else(|e| spi_failed("cannot look up the mirror's server", e))
        .unwrap_or_else(|| {
            fail(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("clerk_fdw: the server \"{server}\" of mirror \"{into_schema}\" no longer exists"),
                "",
            )
        });
        let secret = options::webhook_secret(server_oid, &server).or_raise();
        let header = |name: &str| -> Option<String> {
            headers.0.as_object()?.iter().find_map(|(k, v)| {
                k.eq_ignore_ascii_case(name)
                    .then(|| v.as_str().map(str::to_string))
                    .flatten()
            })
        };
        let (id, timestamp, signature) = (
            header("svix-id"),
            header("svix-timestamp"),
            header("svix-signature"),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let refuse = |code: PgSqlErrorCode, why: String| -> ! {
            refusals().add(refusal_key(into_schema));
            fail(code, format!("clerk_fdw: webhook refused: {why}"), "")
        };
        let signed = svix::Headers {
            id: id.as_deref(),
            timestamp: timestamp.as_deref(),
            signature: signature.as_deref(),
        };
        if let Err(e) = svix::verify(&secret, &signed, body.as_bytes(), now) {
            refuse(
                PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
                e.to_string(),
            );
        }
        let event = mirror::parse_event(body).unwrap_or_else(|e| {
            refuse(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                e.to_string(),
            )
        });
        let event_id = id.unwrap_or_default();
        let kept = event
            .object
            .filter(|o| mirrored_objects(&sync).iter().any(|m| m.name == o.name));
        let answer = |outcome: &str| {
            JsonB(json!({
                "outcome": outcome,
                "type": event.kind,
                "object": kept.map(|o| o.name),
                "id": (!event.id.is_empty()).then_some(event.id.as_str()),
            }))
        };
        let sync_q = ident(&sync);
        let first = cached(
            &format!(
                "insert into {sync_q}.events (event_id, type, object, object_id)
                 values ($1, $2, $3, $4) on conflict (event_id) do nothing returning true"
            ),
            &[
                event_id.as_str().into(),
                event.kind.as_str().into(),
                kept.map(|o| o.name).into(),
                (!event.id.is_empty()).then_some(event.id.as_str()).into(),
            ],
            |row| column::<bool>(row, 1),
        )
        .unwrap_or_else(|e| spi_failed("cannot record the event", e))
        .unwrap_or(false);
        if !first {
            cached(
                &format!(
                    "update {sync_q}.events set deliveries = deliveries + 1 where event_id = $1"
                ),
                &[event_id.as_str().into()],
                |_| Ok(()),
            )
            .unwrap_or_else(|e| spi_failed("cannot record the event", e));
            return answer("duplicate");
        }
        let outcome = match kept {
            None => "ignored",
            Some(object) => apply(into_schema, &sync, object, &event),
        };
        cached(
            &format!("update {sync_q}.events set outcome = $2 where event_id = $1"),
            &[event_id.as_str().into(), outcome.into()],
            |_| Ok(()),
        )
        .unwrap_or_else(|e| spi_failed("cannot record the event", e));
        answer(outcome)
    }

    /// One row per mirrored object of every mirror the caller can read.
    #[pg_extern]
    #[allow(clippy::type_complexity)]
    fn mirror_status_rows() -> TableIterator<
        'static,
        (
            name!(mirror, String),
            name!(server, String),
            name!(object, String),
            name!(kept_by, String),
            name!(rows, Option<i64>),
            name!(last_event, Option<String>),
            name!(last_event_at, Option<pgrx::datum::TimestampWithTimeZone>),
            name!(events_applied, i64),
            name!(events_duplicate, i64),
            name!(events_stale, i64),
            name!(last_sync_at, Option<pgrx::datum::TimestampWithTimeZone>),
            name!(last_sync, Option<String>),
            name!(events_ignored, i64),
            name!(deliveries_rejected, i64),
        ),
    > {
        status_rows()
    }
}

extension_sql!(
    "CREATE VIEW clerk_fdw.mirror_status AS SELECT * FROM clerk_fdw.mirror_status_rows();
GRANT USAGE ON SCHEMA clerk_fdw TO PUBLIC;
GRANT SELECT ON clerk_fdw.mirror_status TO PUBLIC;
COMMENT ON VIEW clerk_fdw.mirror_status IS 'Per mirrored object: rows, the last event applied, event counts (kept 7 days), the last sync. events_ignored and deliveries_rejected are per mirror.';",
    name = "mirror_status_view",
    requires = [clerk_fdw::mirror_status_rows]
);

type StatusRow = (
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<pgrx::datum::TimestampWithTimeZone>,
    i64,
    i64,
    i64,
    Option<pgrx::datum::TimestampWithTimeZone>,
    Option<String>,
    i64,
    i64,
);

fn status_rows() -> TableIterator<'static, StatusRow> {
    let mirrors: Vec<String> = Spi::connect(|c| {
        c.select(
            "select left(n.nspname, -5) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relname = 'mirror' and c.relkind = 'r' and n.nspname like '%\\_sync'
                and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'one_row')
                and to_regclass(format('%I.versions', n.nspname)) is not null
                and to_regnamespace(quote_ident(left(n.nspname, -5))) is not null
                and has_table_privilege(c.oid, 'SELECT')
                and has_table_privilege(format('%I.events', n.nspname), 'SELECT')
                and has_table_privilege(format('%I.syncs', n.nspname), 'SELECT')
              order by 1",
            None,
            &[],
        )?
        .map(|r| r.get::<String>(1).map(Option::unwrap_or_default))
        .collect::<Result<Vec<_>, _>>()
    })
    .unwrap_or_else(|e| spi_failed("cannot list the mirrors", e));
    let mut rows = Vec::new();
    for into in mirrors {
        let (server, sync) = mirror_of(&into);
        let sync_q = ident(&sync);
        let rejected = refusals().get(refusal_key(&into)) as i64;
        let ignored = Spi::get_one::<i64>(&format!(
            "select count(*) from {sync_q}.events where outcome = 'ignored'"
        ))
        .unwrap_or_else(|e| spi_failed("cannot count events", e))
        .unwrap_or(0);
        for o in mirrored_objects(&sync) {
            let mirror_table = table(&into, o.name);
            let count = Spi::get_one::<i64>(&format!(
                "select case when has_table_privilege('{}', 'SELECT')
                        then (select count(*) from {mirror_table}) end",
                mirror_table.replace('\'', "''")
            ))
            .unwrap_or_else(|e| spi_failed("cannot count a mirror's rows", e));
            let (applied, duplicate, stale) = Spi::get_three_with_args::<i64, i64, i64>(
                &format!(
                    "select count(*) filter (where outcome = 'applied'),
                            coalesce(sum(deliveries - 1), 0)::bigint + count(*) filter (where outcome = 'duplicate'),
                            count(*) filter (where outcome = 'stale')
                       from {sync_q}.events where object = $1"
                ),
                &[o.name.into()],
            )
            .unwrap_or_else(|e| spi_failed("cannot count events", e));
            let (last_event, last_event_at) = Spi::connect(|c| {
                let t = c.select(
                    &format!(
                        "select type, received_at from {sync_q}.events
                          where object = $1 and outcome = 'applied' order by received_at desc limit 1"
                    ),
                    None,
                    &[o.name.into()],
                )?;
                if t.is_empty() {
                    return Ok((None, None));
                }
                t.first().get_two::<String, pgrx::datum::TimestampWithTimeZone>()
            })
            .unwrap_or_else(|e| spi_failed("cannot read the last event", e));
            let (last_sync_at, last_sync) = Spi::connect(|c| {
                let t = c.select(
                    &format!(
                        "select finished_at, format('%s listed in %s requests and %s s: %s inserted, %s updated, %s deleted, %s unchanged',
                                listed, requests, round(seconds::numeric, 2), inserted, updated, deleted, unchanged)
                           from {sync_q}.syncs where object = $1"
                    ),
                    None,
                    &[o.name.into()],
                )?;
                if t.is_empty() {
                    return Ok((None, None));
                }
                t.first().get_two::<pgrx::datum::TimestampWithTimeZone, String>()
            })
            .unwrap_or_else(|e| spi_failed("cannot read the last sync", e));
            rows.push((
                into.clone(),
                server.clone(),
                o.name.to_string(),
                kept_by(o).to_string(),
                count,
                last_event,
                last_event_at,
                applied.unwrap_or(0),
                duplicate.unwrap_or(0),
                stale.unwrap_or(0),
                last_sync_at,
                last_sync,
                ignored,
                rejected,
            ));
        }
    }
    TableIterator::new(rows)
}

/// Applies a verified event about a mirrored `object`; returns the outcome.
fn apply(
    into: &str,
    sync: &str,
    object: &'static ObjectSpec,
    event: &mirror::Event,
) -> &'static str {
    let sync_q = ident(sync);
    let mirror_table = table(into, object.name);
    let versions = |sql: &str, version: i64, deleted: bool, extra: Option<JsonB>| {
        let mut args = vec![
            object.name.into(),
            event.id.as_str().into(),
            version.into(),
            deleted.into(),
        ];
        if let Some(row) = extra {
            args.push(row.into());
        }
        cached(sql, &args, |row| match row {
            Some(r) => Ok((r.get::<i64>(1)?, r.get::<i64>(2)?)),
            None => Ok((None, None)),
        })
        .unwrap_or_else(|e| {
            spi_failed(&format!("cannot apply {} to {mirror_table}", event.kind), e)
        })
    };
    let version_won = format!(
        "insert into {sync_q}.versions as v (object, id, version, deleted, written_at)
         values ($1, $2, $3, $4, clock_timestamp())
         on conflict (object, id) do update
            set version = greatest(v.version, excluded.version), deleted = excluded.deleted,
                written_at = excluded.written_at
          where not v.deleted and v.version <= excluded.version
             or v.deleted and not excluded.deleted and v.version < excluded.version
         returning 1"
    );
    let (won, wrote) = match event.change {
        Change::Upsert { version } => {
            let row = mirror::row(object, &event.data).unwrap_or_else(|e| {
                refusals().add(refusal_key(into));
                fail(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("clerk_fdw: webhook refused: {e}"),
                    "",
                )
            });
            versions(
                &format!(
                    "with won as ({version_won}),
                     written as (
                       insert into {mirror_table} as m
                       select * from jsonb_populate_record(null::{mirror_table}, $5)
                        where exists (select from won)
                       on conflict (id) do update set {}
                        where m.attrs is distinct from excluded.attrs
                       returning 1)
                     select (select count(*) from won), (select count(*) from written)",
                    set_list(object)
                ),
                version,
                false,
                Some(JsonB(row)),
            )
        }
        Change::Delete { version } => {
            let (won, _) = versions(
                &format!(
                    "with won as ({version_won}) select (select count(*) from won), 0::bigint"
                ),
                version,
                true,
                None,
            );
            // A statement of its own, with a snapshot taken after the
            // tombstone's row lock was granted: a sync that wrote the object
            // and held that lock has committed its row by then, and this
            // delete sees it (a DELETE in the same statement would not).
            let removed = if won == Some(1) {
                cached(
                    &format!("delete from {mirror_table} where id = $1 returning 1"),
                    &[event.id.as_str().into()],
                    |row| Ok(row.is_some()),
                )
                .unwrap_or_else(|e| {
                    spi_failed(&format!("cannot apply {} to {mirror_table}", event.kind), e)
                })
            } else {
                false
            };
            (won, Some(i64::from(removed)))
        }
    };
    match (won.unwrap_or(0), wrote.unwrap_or(0), &event.change) {
        (1, 1, _) => "applied",
        // A tombstone for an object the mirror has not seen yet.
        (1, 0, Change::Delete { .. }) => "applied",
        // The same version, with the same content.
        (1, 0, Change::Upsert { .. }) => "duplicate",
        _ => {
            let deleted = cached(
                &format!("select deleted from {sync_q}.versions where object = $1 and id = $2"),
                &[object.name.into(), event.id.as_str().into()],
                |row| column::<bool>(row, 1),
            )
            .unwrap_or_else(|e| spi_failed("cannot read the object's version", e))
            .unwrap_or(false);
            if deleted && matches!(event.change, Change::Delete { .. }) {
                "duplicate"
            } else {
                "stale"
            }
        }
    }
}

/// Lists `object` through the mirror's foreign table and writes what
/// changed; one result row of `sync_mirror`.
fn sync_object(
    into: &str,
    sync: &str,
    object: &'static ObjectSpec,
) -> (String, i64, i64, i64, i64, i64, f64) {
    let started = Instant::now();
    let requests_before = ClerkClient::requests_by_this_process();
    let sync_q = ident(sync);
    let mirror_table = table(into, object.name);
    let source = table(sync, object.name);
    let failed = |what: &str| format!("sync of {mirror_table} failed {what}");
    let started_at = Spi::get_one::<String>("select clock_timestamp()::text")
        .unwrap_or_else(|e| spi_failed(&failed("to start"), e))
        .unwrap_or_default();
    pgrx::notice!(
        "clerk_fdw: {mirror_table}: listing {} from Clerk",
        object.name
    );
    // Left by an earlier object of this sync, or an earlier sync in the
    // same transaction.
    let listed_before =
        Spi::get_one::<bool>("select to_regclass('pg_temp.clerk_fdw_listed') is not null")
            .unwrap_or_else(|e| spi_failed(&failed("to start"), e))
            .unwrap_or(false);
    if listed_before {
        Spi::run("drop table pg_temp.clerk_fdw_listed")
            .unwrap_or_else(|e| spi_failed(&failed("to start"), e));
    }
    Spi::run(&format!(
        // The scan lists each object once (a cursor walk, or offset pages
        // that prove nothing shifted): a duplicate id fails the unique
        // index, and the sync with it, rather than sorting every row.
        "create temp table clerk_fdw_listed on commit drop as select * from {source};
         create unique index on pg_temp.clerk_fdw_listed (id);
         analyze pg_temp.clerk_fdw_listed"
    ))
    .unwrap_or_else(|e| spi_failed(&failed("while listing"), e));
    let listed_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let requests = (ClerkClient::requests_by_this_process() - requests_before) as i64;
    let listed = Spi::get_one::<i64>("select count(*) from pg_temp.clerk_fdw_listed")
        .unwrap_or_else(|e| spi_failed(&failed("counting"), e))
        .unwrap_or(0);
    pgrx::notice!(
        "clerk_fdw: {mirror_table}: {listed} listed in {requests} requests and {:.1} s; writing what changed",
        started.elapsed().as_secs_f64()
    );
    let (inserted, updated) = Spi::get_two_with_args::<i64, i64>(
        &format!(
            "with changed as (
               select l.* from pg_temp.clerk_fdw_listed l
               left join {mirror_table} m on m.id = l.id
               where m.id is null or m.attrs is distinct from l.attrs),
             won as (
               insert into {sync_q}.versions as v (object, id, version, deleted, written_at)
               select $1, c.id, {}, false, clock_timestamp() from changed c
               on conflict (object, id) do update
                  set version = excluded.version, deleted = false, written_at = excluded.written_at
                where not v.deleted and v.version <= excluded.version
                   or v.deleted and v.version < excluded.version
               returning v.id),
             written as (
               insert into {mirror_table} as m
               select c.* from changed c where c.id in (select id from won)
               on conflict (id) do update set {}
               returning (xmax = 0) as inserted)
             select count(*) filter (where inserted), count(*) filter (where not inserted)
               from written",
            mirror::version_sql("c.attrs"),
            set_list(object)
        ),
        &[object.name.into()],
    )
    .unwrap_or_else(|e| spi_failed(&failed("writing changes"), e));
    let deleted = Spi::get_one_with_args::<i64>(
        &format!(
            "with gone as (
               insert into {sync_q}.versions as v (object, id, version, deleted, written_at)
               select $1, m.id, $2, true, clock_timestamp() from {mirror_table} m
                where not exists (select from pg_temp.clerk_fdw_listed l where l.id = m.id)
               on conflict (object, id) do update
                  set version = greatest(v.version, excluded.version), deleted = true,
                      written_at = excluded.written_at
                where not v.deleted and v.written_at < $3::timestamptz
               returning v.id),
             removed as (delete from {mirror_table} m using gone where m.id = gone.id returning 1)
             select count(*) from removed"
        ),
        &[
            object.name.into(),
            listed_ms.into(),
            started_at.as_str().into(),
        ],
    )
    .unwrap_or_else(|e| spi_failed(&failed("removing what Clerk no longer lists"), e))
    .unwrap_or(0);
    let (inserted, updated) = (inserted.unwrap_or(0), updated.unwrap_or(0));
    // Not written: the same as the mirror's, or older than what a webhook
    // wrote meanwhile.
    let unchanged = listed - inserted - updated;
    let seconds = started.elapsed().as_secs_f64();
    Spi::run_with_args(
        &format!(
            "insert into {sync_q}.syncs as s values ($1, $2::timestamptz, clock_timestamp(), $3, $4, $5, $6, $7, $8, $9)
             on conflict (object) do update set started_at = excluded.started_at, finished_at = excluded.finished_at,
                listed = excluded.listed, inserted = excluded.inserted, updated = excluded.updated,
                deleted = excluded.deleted, unchanged = excluded.unchanged, requests = excluded.requests,
                seconds = excluded.seconds"
        ),
        &[
            object.name.into(),
            started_at.as_str().into(),
            listed.into(),
            inserted.into(),
            updated.into(),
            deleted.into(),
            unchanged.into(),
            requests.into(),
            seconds.into(),
        ],
    )
    .unwrap_or_else(|e| spi_failed(&failed("recording it"), e));
    pgrx::notice!(
        "clerk_fdw: {mirror_table}: {inserted} inserted, {updated} updated, {deleted} deleted, {unchanged} unchanged"
    );
    (
        object.name.to_string(),
        inserted,
        updated,
        deleted,
        unchanged,
        requests,
        seconds,
    )
}

/// After a write to Clerk: every mirror of `server_oid` that keeps
/// `object` and that the current role may write gets Clerk's new `data`
/// (or loses the object), in the writing transaction, as an event would
/// bring it. The webhook Clerk sends for the write is then a duplicate.
pub(crate) fn write_through(
    server_oid: pg_sys::Oid,
    object: &'static ObjectSpec,
    data: &serde_json::Value,
    deleted: bool,
) {
    if !mirror::MIRRORED.iter().any(|m| m.object == object.name) {
        return;
    }
    let Some(id) = data.get("id").and_then(serde_json::Value::as_str) else {
        return;
    };
    // The mirrors of this server whose table for the object this role may
    // write, with the version bookkeeping.
    let mirrors: Vec<String> = cached(
        "select array(
           select left(n.nspname, -5)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relname = 'mirror' and c.relkind = 'r' and n.nspname like '%\\_sync'
              and has_table_privilege(c.oid, 'SELECT')
              and has_table_privilege(format('%I.versions', n.nspname), 'INSERT, UPDATE')
              and to_regclass(format('%I.%I', left(n.nspname, -5), $1::text)) is not null
              and has_table_privilege(format('%I.%I', left(n.nspname, -5), $1::text), 'INSERT, UPDATE, DELETE'))",
        &[object.name.into()],
        |row| column::<Vec<String>>(row, 1).map(Option::unwrap_or_default),
    )
    .unwrap_or_else(|e| spi_failed("cannot list the mirrors", e));
    if mirrors.is_empty() {
        return;
    }
    let server = cached(
        "select srvname::text from pg_foreign_server where oid = $1",
        &[server_oid.into()],
        |row| column::<String>(row, 1),
    )
    .unwrap_or_else(|e| spi_failed("cannot look up the server", e))
    .unwrap_or_default();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let event = mirror::Event {
        kind: format!("clerk_fdw.{}", if deleted { "delete" } else { "write" }),
        object: Some(object),
        id: id.to_string(),
        change: if deleted {
            Change::Delete {
                version: now_ms.max(mirror::version(data)),
            }
        } else {
            Change::Upsert {
                version: mirror::version(data),
            }
        },
        data: data.clone(),
    };
    for into in mirrors {
        let (mirror_server, sync) = mirror_of(&into);
        if mirror_server == server
            && mirrored_objects(&sync)
                .iter()
                .any(|o| o.name == object.name)
        {
            apply(&into, &sync, object, &event);
        }
    }
}
