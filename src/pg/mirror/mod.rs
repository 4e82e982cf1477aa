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

mod apply;
mod create;
mod status;
mod store;
mod sync;

use apply::apply;
pub(crate) use apply::write_through;
use create::{check_clerk_server, claim_for_server, create_bookkeeping, create_tables};
use status::status_rows;
use store::*;
use sync::sync_object;

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
        check_clerk_server(server);
        let sync = sync_schema(into_schema);
        create_bookkeeping(into_schema, &sync);
        claim_for_server(&sync, into_schema, server);
        let rows = create_tables(into_schema, &sync, server, &wanted);
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
            "delete from {sync_q}.versions where deleted and {};
             delete from {sync_q}.events where {}",
            expired("written_at"),
            expired("received_at")
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
        let secret = options::webhook_secret(server_oid(into_schema, &server), &server).or_raise();
        let [id, timestamp, signature] =
            ["svix-id", "svix-timestamp", "svix-signature"].map(|name| header(&headers, name));
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
        if !record_first_delivery(&sync_q, &event_id, &event, kept) {
            return answer("duplicate");
        }
        expire_old_events(&sync_q, kept);
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

    /// The OID of the server mirror `into_schema` copies.
    fn server_oid(into_schema: &str, server: &str) -> pg_sys::Oid {
        cached(
            "select oid from pg_foreign_server where srvname = $1",
            &[server.into()],
            |row| column::<pg_sys::Oid>(row, 1),
        )
        .unwrap_or_else(|e| spi_failed("cannot look up the mirror's server", e))
        .unwrap_or_else(|| {
            fail(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("clerk_fdw: the server \"{server}\" of mirror \"{into_schema}\" no longer exists"),
                "",
            )
        })
    }

    /// A delivery header's value, its name in any case.
    fn header(headers: &JsonB, name: &str) -> Option<String> {
        headers.0.as_object()?.iter().find_map(|(k, v)| {
            k.eq_ignore_ascii_case(name)
                .then(|| v.as_str().map(str::to_string))
                .flatten()
        })
    }

    /// Records the event in `events`; false, counting one more delivery,
    /// when it was there already (Svix delivers at least once).
    fn record_first_delivery(
        sync_q: &str,
        event_id: &str,
        event: &mirror::Event,
        kept: Option<&'static ObjectSpec>,
    ) -> bool {
        let first = cached(
            &format!(
                "insert into {sync_q}.events (event_id, type, object, object_id)
                 values ($1, $2, $3, $4) on conflict (event_id) do nothing returning true"
            ),
            &[
                event_id.into(),
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
                &[event_id.into()],
                |_| Ok(()),
            )
            .unwrap_or_else(|e| spi_failed("cannot record the event", e));
        }
        first
    }

    /// Forgets the events about `object` (or about no mirrored object)
    /// received more than [`mirror::TOMBSTONE_DAYS`] ago, as `sync_mirror`
    /// does for all: a mirror that only webhooks feed keeps a week of
    /// events too. A range of the index on `(object, received_at)`, so each
    /// delivery pays for about one old event.
    fn expire_old_events(sync_q: &str, object: Option<&'static ObjectSpec>) {
        let older = expired("received_at");
        let done = match object {
            Some(o) => cached(
                &format!("delete from {sync_q}.events where object = $1 and {older}"),
                &[o.name.into()],
                |_| Ok(()),
            ),
            None => cached(
                &format!("delete from {sync_q}.events where object is null and {older}"),
                &[],
                |_| Ok(()),
            ),
        };
        done.unwrap_or_else(|e| spi_failed("cannot expire old events", e));
    }

    /// The condition that `column`, a time, is older than the mirror keeps
    /// tombstones and event ids ([`mirror::TOMBSTONE_DAYS`]).
    fn expired(column: &str) -> String {
        format!(
            "{column} < now() - interval '{} days'",
            mirror::TOMBSTONE_DAYS
        )
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
