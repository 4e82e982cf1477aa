//! Where a mirror keeps things: its schemas and tables, the objects it
//! keeps, and the plans of the statements a webhook runs.

use super::*;

thread_local! {
    /// Plans of the statements a webhook runs, by their text (which names
    /// the mirror's tables), kept for the backend's life as plpgsql keeps
    /// its statements' plans; Postgres re-plans one when a table it reads
    /// changes.
    static PLANS: RefCell<HashMap<String, OwnedPreparedStatement>> = RefCell::new(HashMap::new());
}

/// Plans kept at most; past that the cache starts afresh.
pub(super) const MAX_PLANS: usize = 256;

/// Runs `sql` with a plan prepared once per backend, and reads its first
/// row's columns `1..=N` with `read` (no row: `read` gets `None`).
pub(super) fn cached<R>(
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
pub(super) fn column<T: pgrx::datum::FromDatum + pgrx::datum::IntoDatum>(
    row: Option<SpiHeapTupleData<'_>>,
    n: usize,
) -> Result<Option<T>, pgrx::spi::Error> {
    row.map_or(Ok(None), |r| r.get::<T>(n))
}

/// The schema that keeps mirror `into`.
pub(super) fn sync_schema(into: &str) -> String {
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
pub(super) fn mirror_of(into: &str) -> (String, String) {
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
pub(super) fn mirrored_objects(sync: &str) -> Vec<&'static ObjectSpec> {
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

pub(super) fn table(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// The mirror table's columns as `col = excluded.col, ...`.
pub(super) fn set_list(object: &ObjectSpec) -> String {
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
pub(super) fn selected(objects: Option<&[String]>) -> Vec<&'static ObjectSpec> {
    mirror::select(objects).unwrap_or_else(|e| {
        fail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            e.to_string(),
            "Pass NULL for all of them.",
        )
    })
}

pub(super) fn kept_by(object: &ObjectSpec) -> &'static str {
    if mirror::reconciled(object) {
        "events and sync_mirror"
    } else {
        "events only"
    }
}

pub(super) fn refusals() -> Refusals {
    Refusals::open(options::shared_file("clerk_fdw.webhook_refusals").as_deref())
}

pub(super) fn refusal_key(into: &str) -> u64 {
    // SAFETY: MyDatabaseId is set for the whole life of a backend.
    // SAFETY: a backend global, set at connection start and never changed.
    let database = unsafe { pg_sys::MyDatabaseId };
    mirror::mirror_key(database.to_u32(), into)
}
