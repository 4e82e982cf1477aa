//! Running a planned scan. Each execution builds its state in
//! BeginForeignScan, in the executor's per-query memory; a reset callback
//! of that memory drops it, which stops the scan's background requests
//! however the query ends: EndForeignScan, an ERROR, a savepoint or
//! plpgsql EXCEPTION block that catches one, or a portal that is dropped.
//! The plan is only read, so it can run any number of times.

use crate::convert::{self, ConvertError, Out, SqlType};
use crate::lookups::{KeptList, Lookup, Lookups};
use crate::pg::clauses::{list_items, operand_of};
use crate::pg::compat;
use crate::pg::counts::{check_for_interrupts, clerk_count};
use crate::pg::error::{FdwError, OrRaise};
use crate::pg::options::declared_columns;
use crate::pg::options::{bind_columns, BoundColumn, Table};
use crate::pg::planned::{LocalIds, Planned};
use crate::plan;
use crate::remote::client::{ClerkClient, ClerkError};
use crate::remote::runtime;
use crate::remote::scan::{self, Fields, Rows, ScanOptions, ScanStream};
use crate::request::{Condition, Op, Operand, Request};
use pgrx::prelude::*;
use pgrx::{pg_sys, IntoDatum, JsonB, PgMemoryContexts};
use serde_json::Value;
use std::ffi::{CStr, CString};
use std::sync::Arc;

/// Pages kept ready ahead of the one being read.
const PREFETCH_PAGES: usize = 2;

/// Results up to this many rows are kept for re-scans (see [`Rows`]).
const KEEP_ROWS_FOR_RESCAN: usize = 2000;

/// One execution of a foreign scan.
struct ScanState {
    table: Table,
    client: Arc<ClerkClient>,
    concurrency: usize,
    planned: Planned,
    /// States of the plan's `fdw_exprs`, in the per-query memory.
    values: Vec<*mut pg_sys::ExprState>,
    columns: Vec<BoundColumn>,
    /// The run-time values must be evaluated before the next row: at the
    /// first row, not in BeginForeignScan, because init-plans and a nested
    /// loop's outer values are only set by then (as in postgres_fdw).
    stale: bool,
    /// The request the current rows or count answer.
    current: Option<Request>,
    rows: Option<Rows>,
    count: Option<i64>,
    count_returned: bool,
    /// The lookups of a nested loop's inner side (see [`Lookups`]).
    lookups: Lookups,
    /// The local table's ids that narrow the scan, read at its first row:
    /// `Some(None)` when there were too many to be worth it.
    local_ids: Option<Option<Vec<Operand>>>,
    /// For the table an UPDATE or DELETE changes: its `max_write_rows`, and
    /// the rows counted so far.
    max_write_rows: u64,
    write_rows: u64,
    /// The request whose rows were counted (a re-scan replays them).
    counted: Option<Request>,
}

impl ScanState {
    fn clerk_error(&self, source: ClerkError) -> FdwError {
        FdwError::Clerk {
            object: self.table.object.name,
            table: self.table.name.clone(),
            source,
        }
    }

    /// Starts (or restarts) the scan for `request`; replays the kept rows
    /// or count when they answer it.
    fn start(&mut self, request: Request) -> Result<(), FdwError> {
        self.stale = false;
        let object = self.table.object;
        if self.planned.count {
            self.count_returned = false;
            if self.current.as_ref() != Some(&request) || self.count.is_none() {
                self.count = None;
                let plan = plan::plan(object, &request);
                let client = self.client.clone();
                let counted = runtime::wait_for(
                    async move { scan::count(&client, &plan, false).await },
                    &mut check_for_interrupts,
                )
                .map_err(|e| ClerkError::Unreachable {
                    host: String::new(),
                    cause: format!("cannot start the I/O runtime: {e}"),
                    attempts: 0,
                })
                .and_then(|done| done.ok_or(ClerkError::Stopped))
                .and_then(|r| r)
                .map_err(|e| self.clerk_error(e))?;
                // Planning offers the count only when Clerk can count; a
                // run-time value can still make it a filter Clerk applies
                // loosely.
                let counted = counted.ok_or_else(|| {
                    self.clerk_error(ClerkError::Malformed(
                        "Clerk cannot count these rows exactly".into(),
                    ))
                })?;
                self.count = Some(counted);
                self.current = Some(request);
            }
            return Ok(());
        }
        if self.current.as_ref() == Some(&request) && self.rows.as_mut().is_some_and(Rows::rewind) {
            return Ok(());
        }
        self.rows = None;
        let lookup = Lookup::of(object, &self.planned.request, &request);
        if let Some(lookup) = &lookup {
            let answered = match self.lookups.answer(lookup) {
                Some(rows) => Some(rows),
                None if self.read_list(lookup)? => self.lookups.answer(lookup),
                None => None,
            };
            if let Some(rows) = answered {
                self.rows = Some(Rows::replay(rows));
                self.current = Some(request);
                return Ok(());
            }
        }
        let plan = plan::plan(object, &request);
        if plan.missing_key {
            return Err(FdwError::KeyRequired {
                table: self.table.name.clone(),
                object: object.name,
                keys: object.key_columns(),
            });
        }
        if lookup.is_some() {
            self.lookups.sent += 1;
        }
        self.current = Some(request);
        let options = ScanOptions {
            concurrency: self.concurrency,
            prefetch: PREFETCH_PAGES,
            fields: Fields::for_sources(self.columns.iter().map(|c| c.spec.source)),
            // With pushdown off the planner guessed, without asking Clerk:
            // the scan finds out how long the list is itself.
            expected_rows: self.table.pushdown().then_some(self.planned.expected_rows),
            ..ScanOptions::default()
        };
        let stream = ScanStream::start(self.client.clone(), plan, options)
            .map_err(|e| self.clerk_error(e))?;
        self.rows = Some(Rows::new(stream, KEEP_ROWS_FOR_RESCAN));
        Ok(())
    }
}

impl ScanState {
    /// Reads the whole list `lookup` narrows, when the lookups so far cost
    /// as many requests as that read; true when it is kept.
    fn read_list(&mut self, lookup: &Lookup) -> Result<bool, FdwError> {
        if !self.lookups.may_read_list() {
            return Ok(false);
        }
        let plan = plan::plan(self.table.object, &lookup.rest);
        let Some(series) = plan.series.first().filter(|_| !plan.missing_key) else {
            return Ok(false);
        };
        let page = series.endpoint.max_limit as f64;
        let rows = clerk_count(&self.table, &self.client, &plan);
        let requests = rows.map_or(usize::MAX, |n| {
            (n / page).ceil() as usize * plan.series.len()
        });
        if !self.lookups.should_read_list(requests, rows) {
            return Ok(false);
        }
        let options = ScanOptions {
            concurrency: self.concurrency,
            prefetch: PREFETCH_PAGES,
            fields: Fields::for_sources(
                self.columns
                    .iter()
                    .map(|c| c.spec.source)
                    .chain([lookup.source]),
            ),
            expected_rows: rows,
            ..ScanOptions::default()
        };
        let mut list = KeptList::new(lookup);
        let read = ScanStream::start(self.client.clone(), plan, options).and_then(|mut stream| {
            while let Some(page) = stream.next_page(&mut check_for_interrupts)? {
                if !list.add(page) {
                    return Ok(false);
                }
            }
            Ok(true)
        });
        match read {
            Ok(true) => {
                self.lookups.keep(list);
                Ok(true)
            }
            Ok(false) => {
                self.lookups.give_up();
                Ok(false)
            }
            Err(e) => {
                self.lookups.give_up();
                Err(self.clerk_error(e))
            }
        }
    }
}

/// The datums of a row: each bound column of `obj`, converted to its
/// declared type, in the current (per-tuple) memory.
pub(super) fn row_datums(
    table: &Table,
    columns: &[BoundColumn],
    obj: &Value,
) -> Result<Vec<Option<pg_sys::Datum>>, FdwError> {
    columns
        .iter()
        .map(|col| {
            let converted = match convert::extract(obj, col.spec.source) {
                None => Ok(None),
                Some(v) => convert::convert(v, col.spec.kind, col.target)
                    .and_then(|out| {
                        out.map(|o| convert::fit_varchar(o, col.max_chars))
                            .transpose()
                    })
                    .and_then(|out| {
                        out.map(|o| datum_of(o, col.target))
                            .transpose()
                            .map(Option::flatten)
                    }),
            };
            converted.map_err(|source| FdwError::BadValue {
                table: table.name.clone(),
                object: table.object.name,
                column: col.name.clone(),
                field: col.spec.name,
                id: obj
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string(),
                source: Box::new(source),
            })
        })
        .collect()
}

/// A converted value as a datum of the declared type, in the current
/// (per-tuple) memory.
fn datum_of(out: Out, target: SqlType) -> Result<Option<pg_sys::Datum>, ConvertError> {
    let out_of_range = |us: i64| ConvertError {
        expected: "a timestamp Postgres can store",
        got: format!(
            "{} ms since 1970",
            convert::pg_micros_to_unix_ms(us).unwrap_or(us)
        ),
    };
    Ok(match out {
        Out::Text(s) => s.into_datum(),
        Out::Bool(b) => b.into_datum(),
        Out::I16(v) => v.into_datum(),
        Out::I32(v) => v.into_datum(),
        Out::I64(v) => v.into_datum(),
        Out::F64(v) => v.into_datum(),
        Out::Numeric(v) => AnyNumeric::from(v).into_datum(),
        Out::PgMicros(us) if target == SqlType::Timestamp => Timestamp::try_from(us)
            .map_err(|_| out_of_range(us))?
            .into_datum(),
        Out::PgMicros(us) => TimestampWithTimeZone::try_from(us)
            .map_err(|_| out_of_range(us))?
            .into_datum(),
        Out::Json(v) => JsonB(v).into_datum(),
        Out::TextArray(v) => v.into_datum(),
    })
}

/// The scan state of `node`; `None` for EXPLAIN without ANALYZE.
///
/// # Safety
/// `node` is a ForeignScanState begun by [`begin_foreign_scan`].
unsafe fn state_of<'a>(node: *mut pg_sys::ForeignScanState) -> Option<&'a mut ScanState> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe { ((*node).fdw_state as *mut ScanState).as_mut() }
}

/// The run-time values of a scan, evaluated now.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn evaluate(
    node: *mut pg_sys::ForeignScanState,
    states: &[*mut pg_sys::ExprState],
    types: &[u32],
) -> Vec<Operand> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let econtext = (*node).ss.ps.ps_ExprContext;
        let old = pg_sys::MemoryContextSwitchTo((*econtext).ecxt_per_tuple_memory);
        let values = states
            .iter()
            .zip(types)
            .map(|(state, type_oid)| {
                let mut is_null = false;
                let datum = match (**state).evalfunc {
                    // SAFETY: an expression state of this node, evaluated in its
                    // expression context; an ERROR it raises becomes a Rust panic.
                    Some(eval) => {
                        pg_sys::ffi::pg_guard_ffi_boundary(|| eval(*state, econtext, &mut is_null))
                    }
                    None => {
                        is_null = true;
                        pg_sys::Datum::from(0)
                    }
                };
                operand_of(datum, is_null, pg_sys::Oid::from(*type_oid)).unwrap_or(Operand::Null)
            })
            .collect();
        pg_sys::MemoryContextSwitchTo(old);
        pg_sys::MemoryContextReset((*econtext).ecxt_per_tuple_memory);
        values
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    eflags: i32,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0 {
            return;
        }
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let planned = Planned::of(plan).or_raise();
        let table = Table::load(pg_sys::Oid::from(planned.table)).or_raise();
        let columns = if planned.count {
            Vec::new()
        } else {
            let desc = (*(*node).ss.ss_currentRelation).rd_att;
            bind_columns(&table, &declared_columns(desc, &planned.columns)).or_raise()
        };
        let state = ScanState {
            client: table.client().or_raise(),
            concurrency: table.concurrency().or_raise(),
            values: list_items(pg_sys::ExecInitExprList((*plan).fdw_exprs, node.cast())),
            table,
            planned,
            columns,
            stale: true,
            current: None,
            rows: None,
            count: None,
            count_returned: false,
            lookups: Lookups::default(),
            local_ids: None,
            max_write_rows: 0,
            write_rows: 0,
            counted: None,
        };
        let mut state = state;
        if state.planned.write_target.is_some() {
            state.max_write_rows = state.table.max_write_rows().or_raise();
        }
        // Dropped with the per-query memory, whichever way the query ends.
        (*node).fdw_state = PgMemoryContexts::CurrentMemoryContext
            .leak_and_drop_on_delete(state)
            .cast();
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let slot = (*node).ss.ss_ScanTupleSlot;
        compat::clear_slot(slot);
        let Some(state) = state_of(node) else {
            return slot;
        };
        if state.stale {
            let values = evaluate(node, &state.values, &state.planned.value_types);
            let mut request = state.planned.request.bind(&values);
            if let Some(local) = &state.planned.local_ids {
                let ids = state.local_ids.get_or_insert_with(|| read_local_ids(local));
                if let Some(ids) = ids {
                    request.conditions.push(Condition {
                        column: "id".into(),
                        op: Op::Eq,
                        value: Operand::List(ids.clone()),
                    });
                }
            }
            state.start(request).or_raise();
            if state.planned.write_target.is_some() && state.counted != state.current {
                count_write_rows(node, state);
                state.counted = state.current.clone();
            }
        }
        let natts = (*(*slot).tts_tupleDescriptor).natts.max(0) as usize;
        // A table without columns has no value arrays at all.
        let (values, nulls): (&mut [pg_sys::Datum], &mut [bool]) = if natts == 0 {
            (&mut [], &mut [])
        } else {
            (
                std::slice::from_raw_parts_mut((*slot).tts_values, natts),
                std::slice::from_raw_parts_mut((*slot).tts_isnull, natts),
            )
        };
        if state.planned.count {
            if state.count_returned {
                return slot;
            }
            state.count_returned = true;
            // Every column of the scan is one of the query's counts.
            let count = state.count.unwrap_or(0);
            values.fill(pg_sys::Datum::from(count));
            nulls.fill(false);
            pg_sys::ExecStoreVirtualTuple(slot);
            return slot;
        }
        let Some(rows) = state.rows.as_mut() else {
            return slot;
        };
        let (table, columns) = (&state.table, &state.columns);
        let row = rows.next_with(&mut check_for_interrupts, |obj| {
            row_datums(table, columns, obj)
        });
        let datums = match row {
            Ok(Some(datums)) => datums.or_raise(),
            Ok(None) => return slot,
            Err(e) => state.clerk_error(e).raise(),
        };
        store_row(slot, &state.columns, datums);
        slot
    }
}

/// Stores `datums` (one per bound column, `None` for NULL) in `slot` as a
/// virtual tuple; the columns not bound are NULL.
///
/// # Safety
/// `slot` is a valid slot of the foreign table's row type.
pub(super) unsafe fn store_row(
    slot: *mut pg_sys::TupleTableSlot,
    columns: &[BoundColumn],
    datums: Vec<Option<pg_sys::Datum>>,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        compat::clear_slot(slot);
        let natts = (*(*slot).tts_tupleDescriptor).natts.max(0) as usize;
        if natts > 0 {
            let values = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
            let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
            nulls.fill(true);
            for (col, datum) in columns.iter().zip(datums) {
                if let (Some(datum), Some(value), Some(null)) =
                    (datum, values.get_mut(col.index), nulls.get_mut(col.index))
                {
                    *value = datum;
                    *null = false;
                }
            }
        }
        pg_sys::ExecStoreVirtualTuple(slot);
    }
}

/// The current memory context for a while: the previous one is back when
/// this is dropped, also when an ERROR unwinds.
struct Within {
    previous: pg_sys::MemoryContext,
}

impl Within {
    /// # Safety
    /// `context` outlives the returned value.
    unsafe fn switch(context: pg_sys::MemoryContext) -> Within {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let previous = pg_sys::CurrentMemoryContext;
            pg_sys::CurrentMemoryContext = context;
            Within { previous }
        }
    }
}

impl Drop for Within {
    fn drop(&mut self) {
        // SAFETY: the context that was current before, still alive.
        unsafe { pg_sys::CurrentMemoryContext = self.previous };
    }
}

/// Reads all the rows of the scan of an UPDATE's or DELETE's table before
/// the first is returned, keeping those its local conditions accept: the
/// statement's rows are counted before Postgres asks for the first write,
/// and more than `max_write_rows` is an ERROR with nothing sent. Rows the
/// conditions reject are dropped now (Postgres would drop them anyway), so
/// memory holds at most `max_write_rows` rows.
///
/// # Safety
/// `node` is the scan of `state`, at its first row (or a re-scan's).
unsafe fn count_write_rows(node: *mut pg_sys::ForeignScanState, state: &mut ScanState) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let Some(mut rows) = state.rows.take() else {
            return;
        };
        let slot = (*node).ss.ss_ScanTupleSlot;
        let econtext = (*node).ss.ps.ps_ExprContext;
        let qual = (*node).ss.ps.qual;
        let mut scratch = PgMemoryContexts::new("clerk_fdw write count");
        let mut kept = Vec::new();
        loop {
            let next = rows.next_with(&mut check_for_interrupts, |obj| obj.clone());
            let obj = match next {
                Ok(Some(obj)) => obj,
                Ok(None) => break,
                Err(e) => state.clerk_error(e).raise(),
            };
            let accepted = qual.is_null() || {
                // Restored however this block ends (an ERROR of the qual
                // unwinds through it), before `scratch` is deleted.
                let _within = Within::switch(scratch.value());
                let datums = row_datums(&state.table, &state.columns, &obj).or_raise();
                store_row(slot, &state.columns, datums);
                let scan_tuple = (*econtext).ecxt_scantuple;
                (*econtext).ecxt_scantuple = slot;
                let mut is_null = false;
                let passed = match (*qual).evalfunc {
                    // SAFETY: the node's own qual, evaluated in its expression
                    // context on a row of its scan slot; an ERROR it raises
                    // becomes a Rust panic.
                    Some(eval) => {
                        pg_sys::ffi::pg_guard_ffi_boundary(|| eval(qual, econtext, &mut is_null))
                    }
                    None => pg_sys::Datum::from(true),
                };
                (*econtext).ecxt_scantuple = scan_tuple;
                compat::clear_slot(slot);
                !is_null && passed.value() != 0
            };
            scratch.reset();
            if !accepted {
                continue;
            }
            state.write_rows += 1;
            if state.write_rows > state.max_write_rows {
                FdwError::TooManyRows {
                    table: state.table.name.clone(),
                    command: if state.planned.write_target.as_deref() == Some("DELETE") {
                        "DELETE"
                    } else {
                        "UPDATE"
                    },
                    max: state.max_write_rows,
                }
                .raise()
            }
            kept.push(obj);
        }
        state.rows = Some(Rows::replay(kept));
    }
}

/// The distinct ids of a local table's column, as the query sees it (its
/// snapshot), or `None` when there are more than `local.max`, or when the
/// current role may not read the column or the table has row security (a
/// narrower view of the table than the query's must not narrow the scan).
///
/// # Safety
/// Called in a running query, outside any other SPI connection's use.
unsafe fn read_local_ids(local: &LocalIds) -> Option<Vec<Operand>> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let relid = pg_sys::Oid::from(local.table);
        let user = pg_sys::GetUserId();
        let readable =
            pg_sys::pg_class_aclcheck(relid, user, pg_sys::ACL_SELECT as pg_sys::AclMode)
                == pg_sys::AclResult::ACLCHECK_OK
                || pg_sys::pg_attribute_aclcheck(
                    relid,
                    local.column,
                    user,
                    pg_sys::ACL_SELECT as pg_sys::AclMode,
                ) == pg_sys::AclResult::ACLCHECK_OK;
        let secured = pg_sys::check_enable_rls(relid, pg_sys::InvalidOid, true)
            != pg_sys::CheckEnableRlsResult::RLS_NONE as i32;
        if !readable || secured {
            return None;
        }
        let (namespace, name, column) = (
            pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)),
            pg_sys::get_rel_name(relid),
            pg_sys::get_attname(relid, local.column, true),
        );
        if namespace.is_null() || name.is_null() || column.is_null() {
            return None;
        }
        let table =
            CStr::from_ptr(pg_sys::quote_qualified_identifier(namespace, name)).to_string_lossy();
        let column = CStr::from_ptr(pg_sys::quote_identifier(column)).to_string_lossy();
        let sql = CString::new(format!(
            "select distinct {column}::text from {table} where {column} is not null limit {}",
            local.max + 1
        ))
        .ok()?;
        // Read-only: the query's own snapshot, so the ids are exactly those
        // the join sees (a new snapshot could miss a row deleted since).
        if pg_sys::SPI_connect() < 0 {
            return None;
        }
        let ids = if pg_sys::SPI_execute(sql.as_ptr(), true, 0) == pg_sys::SPI_OK_SELECT as i32 {
            let tuptable = pg_sys::SPI_tuptable;
            let n = pg_sys::SPI_processed as usize;
            (n <= local.max && !tuptable.is_null()).then(|| {
                (0..n)
                    .filter_map(|i| {
                        let tuple = *(*tuptable).vals.add(i);
                        let text = pg_sys::SPI_getvalue(tuple, (*tuptable).tupdesc, 1);
                        (!text.is_null()).then(|| {
                            Operand::Text(CStr::from_ptr(text).to_string_lossy().into_owned())
                        })
                    })
                    .collect()
            })
        } else {
            None
        };
        pg_sys::SPI_finish();
        ids
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn re_scan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if let Some(state) = state_of(node) {
            state.stale = true;
        }
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        // Stops the requests now; the state itself goes with the query's memory.
        if let Some(state) = state_of(node) {
            state.rows = None;
        }
    }
}

/// The requests EXPLAIN shows for a plan: the count requests of a
/// `count(*)` answered by Clerk, otherwise the scan's.
fn shown_requests(planned: &Planned, table: &Table) -> Vec<String> {
    let scan_plan = plan::plan(table.object, &planned.request);
    if !planned.count {
        return scan_plan.describe();
    }
    scan_plan
        .count_requests()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let target = crate::request::request_target(&r.path, &r.params);
            format!("GET /{}", target.replace("%24", "$"))
        })
        .collect()
}

/// EXPLAIN VERBOSE shows the Clerk requests, as postgres_fdw shows its
/// "Remote SQL" under VERBOSE only, with `$n` for values known only at run
/// time.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if !(*es).verbose {
            return;
        }
        let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
        let property = |label: &str, value: &str| {
            let label = CString::new(label).unwrap_or_default();
            let value = CString::new(value.replace('\0', "")).unwrap_or_default();
            pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
        };
        let planned = Planned::of(plan).or_raise();
        let table = Table::load(pg_sys::Oid::from(planned.table)).or_raise();
        let requests = shown_requests(&planned, &table);
        const SHOWN: usize = 3;
        for r in requests.iter().take(SHOWN) {
            property("Clerk request", r);
        }
        if requests.len() > SHOWN {
            property(
                "Clerk requests",
                &format!("{} more like these", requests.len() - SHOWN),
            );
        }
        let exprs = list_items::<pg_sys::Node>((*plan).fdw_exprs);
        for (i, e) in exprs.iter().enumerate() {
            let text = pg_sys::deparse_expression(*e, (*es).deparse_cxt, false, false);
            if !text.is_null() {
                property(
                    "Clerk value",
                    &format!("${} = {}", i + 1, CStr::from_ptr(text).to_string_lossy()),
                );
            }
        }
        let (joined, own): (Vec<_>, Vec<_>) = planned
            .request
            .conditions
            .iter()
            .cloned()
            .partition(|c| c.op == Op::MemberOf);
        if !joined.is_empty() {
            property(
                "Clerk join filter",
                &format!(
                    "only {} with a membership the join asks for; the join checks them",
                    table.object.name
                ),
            );
        }
        if let Some(local) = &planned.local_ids {
            let relid = pg_sys::Oid::from(local.table);
            let (name, column) = (
                pg_sys::get_rel_name(relid),
                pg_sys::get_attname(relid, local.column, true),
            );
            if !name.is_null() && !column.is_null() {
                property(
                "Clerk join filter",
                &format!(
                    "id = ANY(the {} of {}, read when the scan starts, if at most {}); the join checks them",
                    CStr::from_ptr(column).to_string_lossy(),
                    CStr::from_ptr(name).to_string_lossy(),
                    local.max
                ),
            );
            }
            // EXPLAIN ANALYZE: whether they did.
            if let Some(Some(ids)) = state_of(node).and_then(|s| s.local_ids.as_ref()) {
                property("Clerk join ids", &format!("{} read", ids.len()));
            }
        }
        let own = Request {
            conditions: own,
            ..planned.request.clone()
        };
        if !planned.count && !plan::plan(table.object, &own).exact {
            property(
                "Clerk filter",
                "wider than the query; Postgres re-checks every row",
            );
        }
        // EXPLAIN ANALYZE: how a nested loop's lookups went.
        if let Some(lookups) = state_of(node).and_then(|s| s.lookups.describe()) {
            property("Clerk lookups", &lookups);
        }
    }
}
