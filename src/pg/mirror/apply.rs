//! Applying one change (a webhook's, a sync's, a write's) to a mirror,
//! newest version first.

use super::*;

/// Applies a verified event about a mirrored `object`; returns the outcome.
pub(super) fn apply(
    into: &str,
    sync: &str,
    object: &'static ObjectSpec,
    event: &mirror::Event,
) -> &'static str {
    let target = Applied {
        sync,
        object,
        event,
        mirror_table: table(into, object.name),
    };
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
            target.upsert(version, row)
        }
        Change::Delete { version } => target.delete(version),
    };
    target.outcome(won.unwrap_or(0), wrote.unwrap_or(0))
}

/// One event being applied to one mirror table.
struct Applied<'a> {
    sync: &'a str,
    object: &'static ObjectSpec,
    event: &'a mirror::Event,
    mirror_table: String,
}

impl Applied<'_> {
    /// Runs `sql` (see [`Applied::version_won`]) with the object, its id,
    /// `version`, `deleted` and `row`: (won, written).
    fn versions(
        &self,
        sql: &str,
        version: i64,
        deleted: bool,
        row: Option<JsonB>,
    ) -> (Option<i64>, Option<i64>) {
        let mut args = vec![
            self.object.name.into(),
            self.event.id.as_str().into(),
            version.into(),
            deleted.into(),
        ];
        if let Some(row) = row {
            args.push(row.into());
        }
        cached(sql, &args, |row| match row {
            Some(r) => Ok((r.get::<i64>(1)?, r.get::<i64>(2)?)),
            None => Ok((None, None)),
        })
        .unwrap_or_else(|e| self.failed(e))
    }

    fn failed(&self, e: pgrx::spi::Error) -> ! {
        spi_failed(
            &format!("cannot apply {} to {}", self.event.kind, self.mirror_table),
            e,
        )
    }

    /// Takes the object's `versions` row when the event is newer than what
    /// is there (`$1` object, `$2` id, `$3` version, `$4` deleted).
    fn version_won(&self) -> String {
        format!(
            "insert into {}.versions as v (object, id, version, deleted, written_at)
             values ($1, $2, $3, $4, clock_timestamp())
             on conflict (object, id) do update
                set version = greatest(v.version, excluded.version), deleted = excluded.deleted,
                    written_at = excluded.written_at
              where not v.deleted and v.version <= excluded.version
                 or v.deleted and not excluded.deleted and v.version < excluded.version
             returning 1",
            ident(self.sync)
        )
    }

    /// Writes `row` when its version wins and its content differs.
    fn upsert(&self, version: i64, row: serde_json::Value) -> (Option<i64>, Option<i64>) {
        let sql = format!(
            "with won as ({}),
             written as (
               insert into {table} as m
               select * from jsonb_populate_record(null::{table}, $5)
                where exists (select from won)
               on conflict (id) do update set {}
                where m.attrs is distinct from excluded.attrs
               returning 1)
             select (select count(*) from won), (select count(*) from written)",
            self.version_won(),
            set_list(self.object),
            table = self.mirror_table,
        );
        self.versions(&sql, version, false, Some(JsonB(row)))
    }

    /// Leaves a tombstone when the deletion wins, and removes the object.
    fn delete(&self, version: i64) -> (Option<i64>, Option<i64>) {
        let sql = format!(
            "with won as ({}) select (select count(*) from won), 0::bigint",
            self.version_won()
        );
        let (won, _) = self.versions(&sql, version, true, None);
        // A statement of its own, with a snapshot taken after the
        // tombstone's row lock was granted: a sync that wrote the object
        // and held that lock has committed its row by then, and this delete
        // sees it (a DELETE in the same statement would not).
        let removed = if won == Some(1) {
            cached(
                &format!(
                    "delete from {} where id = $1 returning 1",
                    self.mirror_table
                ),
                &[self.event.id.as_str().into()],
                |row| Ok(row.is_some()),
            )
            .unwrap_or_else(|e| self.failed(e))
        } else {
            false
        };
        (won, Some(i64::from(removed)))
    }

    /// `applied`, `duplicate` or `stale`, from what the statements wrote.
    fn outcome(&self, won: i64, wrote: i64) -> &'static str {
        match (won, wrote, &self.event.change) {
            (1, 1, _) => "applied",
            // A tombstone for an object the mirror has not seen yet.
            (1, 0, Change::Delete { .. }) => "applied",
            // The same version, with the same content.
            (1, 0, Change::Upsert { .. }) => "duplicate",
            _ => {
                let deleted = cached(
                    &format!(
                        "select deleted from {}.versions where object = $1 and id = $2",
                        ident(self.sync)
                    ),
                    &[self.object.name.into(), self.event.id.as_str().into()],
                    |row| column::<bool>(row, 1),
                )
                .unwrap_or_else(|e| spi_failed("cannot read the object's version", e))
                .unwrap_or(false);
                if deleted && matches!(self.event.change, Change::Delete { .. }) {
                    "duplicate"
                } else {
                    "stale"
                }
            }
        }
    }
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
