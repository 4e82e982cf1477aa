//! A sync of one object: Clerk's list read through the foreign table,
//! compared with the mirror, applied as changes.

use super::*;

/// One result row of `sync_mirror`: object, inserted, updated, deleted,
/// unchanged, requests, seconds.
pub(super) type SyncRow = (String, i64, i64, i64, i64, i64, f64);

/// Lists `object` through the mirror's foreign table and writes what
/// changed; one result row of `sync_mirror`.
pub(super) fn sync_object(into: &str, sync: &str, object: &'static ObjectSpec) -> SyncRow {
    let started = Instant::now();
    let requests_before = ClerkClient::requests_by_this_process();
    let mirror_table = table(into, object.name);
    let failed = |what: &str| format!("sync of {mirror_table} failed {what}");
    let started_at = Spi::get_one::<String>("select clock_timestamp()::text")
        .unwrap_or_else(|e| spi_failed(&failed("to start"), e))
        .unwrap_or_default();
    pgrx::notice!(
        "clerk_fdw: {mirror_table}: listing {} from Clerk",
        object.name
    );
    list_into_temp(&table(sync, object.name), &failed);
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
    let (inserted, updated) = write_changes(sync, &mirror_table, object, &failed);
    let deleted = remove_unlisted(sync, &mirror_table, object, listed_ms, &started_at, &failed);
    // Not written: the same as the mirror's, or older than what a webhook
    // wrote meanwhile.
    let unchanged = listed - inserted - updated;
    let row = (
        object.name.to_string(),
        inserted,
        updated,
        deleted,
        unchanged,
        requests,
        started.elapsed().as_secs_f64(),
    );
    record_sync(sync, &started_at, listed, &row, &failed);
    pgrx::notice!(
        "clerk_fdw: {mirror_table}: {inserted} inserted, {updated} updated, {deleted} deleted, {unchanged} unchanged"
    );
    row
}

/// Clerk's list of the object, read through `source` into
/// `pg_temp.clerk_fdw_listed`.
fn list_into_temp(source: &str, failed: &dyn Fn(&str) -> String) {
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
}

/// Writes the listed objects that differ from the mirror's, unless a
/// newer version is there already: (inserted, updated).
fn write_changes(
    sync: &str,
    mirror_table: &str,
    object: &'static ObjectSpec,
    failed: &dyn Fn(&str) -> String,
) -> (i64, i64) {
    let sync_q = ident(sync);
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
    (inserted.unwrap_or(0), updated.unwrap_or(0))
}

/// Removes the mirror's objects Clerk no longer lists, unless a webhook
/// wrote them after the sync started: how many.
fn remove_unlisted(
    sync: &str,
    mirror_table: &str,
    object: &'static ObjectSpec,
    listed_ms: i64,
    started_at: &str,
    failed: &dyn Fn(&str) -> String,
) -> i64 {
    let sync_q = ident(sync);
    Spi::get_one_with_args::<i64>(
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
        &[object.name.into(), listed_ms.into(), started_at.into()],
    )
    .unwrap_or_else(|e| spi_failed(&failed("removing what Clerk no longer lists"), e))
    .unwrap_or(0)
}

/// Records the sync of the object in the mirror's `syncs`.
fn record_sync(
    sync: &str,
    started_at: &str,
    listed: i64,
    row: &SyncRow,
    failed: &dyn Fn(&str) -> String,
) {
    let (object, inserted, updated, deleted, unchanged, requests, seconds) = row;
    Spi::run_with_args(
        &format!(
            "insert into {}.syncs as s values ($1, $2::timestamptz, clock_timestamp(), $3, $4, $5, $6, $7, $8, $9)
             on conflict (object) do update set started_at = excluded.started_at, finished_at = excluded.finished_at,
                listed = excluded.listed, inserted = excluded.inserted, updated = excluded.updated,
                deleted = excluded.deleted, unchanged = excluded.unchanged, requests = excluded.requests,
                seconds = excluded.seconds",
            ident(sync)
        ),
        &[
            object.as_str().into(),
            started_at.into(),
            listed.into(),
            (*inserted).into(),
            (*updated).into(),
            (*deleted).into(),
            (*unchanged).into(),
            (*requests).into(),
            (*seconds).into(),
        ],
    )
    .unwrap_or_else(|e| spi_failed(&failed("recording it"), e));
}
