//! The rows of `clerk_fdw.mirror_status`.

use super::*;

pub(super) type StatusRow = (
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

pub(super) fn status_rows() -> TableIterator<'static, StatusRow> {
    let mirrors: Vec<String> = Spi::connect(|c| {
        c.select(
            "select left(n.nspname, -5) from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where c.relname = 'mirror' and c.relkind = 'r' and n.nspname like '%\\_sync'
                and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'one_row')
                -- Looking a table up by name in a schema the role may not
                -- use is an ERROR: another role's mirror is skipped first.
                and case when has_schema_privilege(n.oid, 'USAGE') then
                      to_regclass(format('%I.versions', n.nspname)) is not null
                      and to_regnamespace(quote_ident(left(n.nspname, -5))) is not null
                      and has_table_privilege(c.oid, 'SELECT')
                      and has_table_privilege(format('%I.events', n.nspname), 'SELECT')
                      and has_table_privilege(format('%I.syncs', n.nspname), 'SELECT')
                    else false end
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
