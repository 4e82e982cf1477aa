//! INSERT, UPDATE and DELETE on Clerk foreign tables: the FDW's modify
//! callbacks. Which requests a row becomes is [`crate::catalog::writes`]'s business;
//! this module reads the rows out of Postgres' slots, sends the requests
//! one row at a time, and puts Clerk's answer back for RETURNING.
//!
//! Each request is sent when Postgres hands over its row, so RETURNING
//! shows what Clerk answered (the id it gave a new row). Clerk has no
//! transactions: a ROLLBACK, or an ERROR later in the statement, undoes
//! nothing in Clerk, and the error of a failed write says which rows the
//! statement had already changed. UPDATE and DELETE are bounded by
//! `max_write_rows`, checked by the scan before the first request (see
//! [`super::executor`]).
//!
//! Like the scan, a modify plan carries only copyable data ([`ModifyPlan`]
//! as JSON) and its state lives in the executor's per-query memory.

use crate::catalog::writes::{self, WriteRequest, WriteSpec};
use crate::convert::{self, SqlType};
use crate::pg::clauses::{is_a, list_items};
use crate::pg::counts::check_for_interrupts;
use crate::pg::error::{FdwError, OrRaise, WriteFailure};
use crate::pg::executor::{row_datums, store_row};
use crate::pg::mirror::write_through;
use crate::pg::options::{bind_columns, declared_columns, BoundColumn, Table};
use crate::remote::client::ClerkClient;
use crate::remote::runtime;
use pgrx::prelude::*;
use pgrx::{pg_sys, FromDatum, JsonB, PgMemoryContexts};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::ffi::{c_int, CStr, CString};
use std::ptr;
use std::sync::Arc;

/// What the planner decided for one modified table.
#[derive(Debug, Serialize, Deserialize)]
struct ModifyPlan {
    table: u32,
    /// The catalogue names of the columns an UPDATE sets.
    updated: Vec<String>,
}

/// Name of the junk column holding the old value of attribute `attno`.
fn old_value_name(attno: usize) -> CString {
    CString::new(format!("clerk_fdw_old_{attno}")).unwrap_or_default()
}

/// Every column of the row, as read by the scan, rides along as a junk
/// column: an UPDATE compares the old values with the new (to send only
/// what changed, and a metadata patch), a DELETE names its row by them and
/// returns them.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn add_foreign_update_targets(
    root: *mut pg_sys::PlannerInfo,
    rtindex: pg_sys::Index,
    _target_rte: *mut pg_sys::RangeTblEntry,
    target_relation: pg_sys::Relation,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let desc = pgrx::PgTupleDesc::from_pg_unchecked((*target_relation).rd_att);
        for (i, attr) in desc.iter().enumerate() {
            if attr.attisdropped {
                continue;
            }
            let var = pg_sys::makeVar(
                rtindex as _,
                (i + 1) as pg_sys::AttrNumber,
                attr.atttypid,
                attr.atttypmod,
                attr.attcollation,
                0,
            );
            let name = old_value_name(i + 1);
            // SAFETY: the planner's UPDATE/DELETE target, called during
            // preprocessing as Postgres expects; it copies the name.
            pg_sys::add_row_identity_var(root, var, rtindex, name.as_ptr());
        }
    }
}

/// Whole-table check of a write, at plan time: the object must accept the
/// command and an UPDATE may set only the columns Clerk can change.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn plan_foreign_modify(
    root: *mut pg_sys::PlannerInfo,
    plan: *mut pg_sys::ModifyTable,
    result_relation: pg_sys::Index,
    subplan_index: c_int,
) -> *mut pg_sys::List {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let rte = *(*root).simple_rte_array.add(result_relation as usize);
        let table = Table::load((*rte).relid).or_raise();
        let spec = write_spec(&table).or_raise();
        let operation = (*plan).operation;
        let refuse = |source| {
            FdwError::Write {
                table: table.name.clone(),
                source,
            }
            .raise()
        };
        if (*plan).onConflictAction != pg_sys::OnConflictAction::ONCONFLICT_NONE {
            FdwError::Write {
                table: table.name.clone(),
                source: writes::WriteError::Unsupported {
                    object: spec.object,
                    action: "resolve INSERT ... ON CONFLICT for",
                    hint: "Leave out ON CONFLICT; Clerk refuses a duplicate with an error.".into(),
                },
            }
            .raise()
        }
        let mut updated = Vec::new();
        match operation {
            pg_sys::CmdType::CMD_INSERT => spec.check_insert().unwrap_or_else(refuse),
            pg_sys::CmdType::CMD_DELETE => spec.check_delete().unwrap_or_else(refuse),
            pg_sys::CmdType::CMD_UPDATE => {
                let lists = list_items::<pg_sys::List>((*plan).updateColnosLists);
                let colnos = lists
                    .get(subplan_index.max(0) as usize)
                    .map(|l| int_list(*l))
                    .unwrap_or_default();
                let relation = pg_sys::RelationIdGetRelation(table.oid);
                let names: Vec<String> = if relation.is_null() {
                    Vec::new()
                } else {
                    let indexes: Vec<usize> =
                        colnos.iter().map(|n| (*n - 1).max(0) as usize).collect();
                    let declared = declared_columns((*relation).rd_att, &indexes);
                    pg_sys::RelationClose(relation);
                    declared.into_iter().map(|d| d.name).collect()
                };
                for name in names {
                    let column = table
                        .object
                        .column(&name)
                        .map_or(name.clone(), |c| c.name.to_string());
                    updated.push(column);
                }
                let columns: Vec<&str> = updated.iter().map(String::as_str).collect();
                spec.check_update(&columns).unwrap_or_else(refuse);
            }
            _ => FdwError::Internal("a modify command other than INSERT, UPDATE or DELETE").raise(),
        }
        let plan = ModifyPlan {
            table: table.oid.into(),
            updated,
        };
        let json =
            CString::new(serde_json::to_string(&plan).unwrap_or_default()).unwrap_or_default();
        pg_sys::lappend(
            ptr::null_mut(),
            pg_sys::makeString(pg_sys::pstrdup(json.as_ptr())).cast(),
        )
    }
}

/// The integers of an IntList.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn int_list(list: *mut pg_sys::List) -> Vec<i32> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if list.is_null() {
            return Vec::new();
        }
        (0..(*list).length.max(0) as usize)
            .map(|i| (*(*list).elements.add(i)).int_value)
            .collect()
    }
}

fn write_spec(table: &Table) -> Result<&'static WriteSpec, FdwError> {
    writes::spec(table.object.name).ok_or_else(|| FdwError::Write {
        table: table.name.clone(),
        source: writes::WriteError::Unsupported {
            object: table.object.name,
            action: "write",
            hint: format!(
                "Clerk's API has no writes for {}; clerk_fdw writes to: {}.",
                table.object.name,
                writes::writable_objects().join(", ")
            ),
        },
    })
}

/// The plan `plan_foreign_modify` made.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn modify_plan(fdw_private: *mut pg_sys::List) -> Result<ModifyPlan, FdwError> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        list_items::<pg_sys::Node>(fdw_private)
            .first()
            .filter(|node| is_a(node.cast(), pg_sys::NodeTag::T_String))
            .and_then(|node| {
                let text = CStr::from_ptr((*(*node as *mut pg_sys::String)).sval);
                serde_json::from_slice(text.to_bytes()).ok()
            })
            .ok_or(FdwError::Internal("a modify plan clerk_fdw did not make"))
    }
}

/// EXPLAIN VERBOSE shows the endpoints a write may use, as postgres_fdw
/// shows its remote SQL, and an UPDATE's or DELETE's `max_write_rows`.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn explain_foreign_modify(
    mtstate: *mut pg_sys::ModifyTableState,
    _rinfo: *mut pg_sys::ResultRelInfo,
    fdw_private: *mut pg_sys::List,
    _subplan_index: c_int,
    es: *mut pg_sys::ExplainState,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if !(*es).verbose {
            return;
        }
        let plan = modify_plan(fdw_private).or_raise();
        let table = Table::load(pg_sys::Oid::from(plan.table)).or_raise();
        let spec = write_spec(&table).or_raise();
        let updated: Vec<&str> = plan.updated.iter().map(String::as_str).collect();
        let (requests, limited) = match (*mtstate).operation {
            pg_sys::CmdType::CMD_INSERT => (spec.describe_insert(), false),
            pg_sys::CmdType::CMD_UPDATE => (spec.describe_update(&updated), true),
            _ => (spec.describe_delete(), true),
        };
        let property = |label: &str, value: &str| {
            let label = CString::new(label).unwrap_or_default();
            let value = CString::new(value.replace('\0', "")).unwrap_or_default();
            pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
        };
        for request in &requests {
            property("Clerk write", request);
        }
        if limited {
            let max = table.max_write_rows().or_raise();
            property("Clerk write limit", &format!("max_write_rows {max}"));
        }
    }
}

/// One execution of a write on one table.
struct ModifyState {
    table: Table,
    spec: &'static WriteSpec,
    client: Arc<ClerkClient>,
    /// Every column of the table, to read rows and fill RETURNING.
    columns: Vec<BoundColumn>,
    updated: Vec<String>,
    /// For UPDATE and DELETE: the junk attribute of the plan's output that
    /// holds each column's old value (same order as `columns`).
    old_values: Vec<pg_sys::AttrNumber>,
    /// The rows changed in Clerk so far, by id.
    done: Vec<String>,
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn begin_foreign_modify(
    mtstate: *mut pg_sys::ModifyTableState,
    rinfo: *mut pg_sys::ResultRelInfo,
    fdw_private: *mut pg_sys::List,
    _subplan_index: c_int,
    eflags: c_int,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as c_int != 0 {
            return;
        }
        let plan = modify_plan(fdw_private).or_raise();
        let table = Table::load(pg_sys::Oid::from(plan.table)).or_raise();
        if !table.writable() {
            FdwError::NotWritable {
                table: table.name.clone(),
                server: table.server_name().to_string(),
            }
            .raise()
        }
        let spec = write_spec(&table).or_raise();
        let desc = (*(*rinfo).ri_RelationDesc).rd_att;
        let all: Vec<usize> = (0..(*desc).natts.max(0) as usize).collect();
        let columns = bind_columns(&table, &declared_columns(desc, &all)).or_raise();
        let operation = (*mtstate).operation;
        let old_values = if operation == pg_sys::CmdType::CMD_INSERT {
            Vec::new()
        } else {
            let subplan = (*(*mtstate).ps.lefttree).plan;
            columns
                .iter()
                .map(|c| {
                    let name = old_value_name(c.index + 1);
                    pg_sys::ExecFindJunkAttributeInTlist((*subplan).targetlist, name.as_ptr())
                })
                .collect()
        };
        let state = ModifyState {
            client: table.client().or_raise(),
            spec,
            columns,
            updated: plan.updated,
            old_values,
            done: Vec::new(),
            table,
        };
        (*rinfo).ri_FdwState = PgMemoryContexts::CurrentMemoryContext
            .leak_and_drop_on_delete(state)
            .cast();
    }
}

/// The state of `rinfo`; an ERROR when there is none: COPY and a
/// partitioned table's routing insert without beginning a modify.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn state_of<'a>(rinfo: *mut pg_sys::ResultRelInfo) -> &'a mut ModifyState {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        match ((*rinfo).ri_FdwState as *mut ModifyState).as_mut() {
            Some(state) => state,
            None => FdwError::Write {
                table: relation_name(rinfo),
                source: writes::WriteError::Unsupported {
                    object: "a Clerk table",
                    action: "COPY or route rows into",
                    hint: "INSERT into the foreign table itself (INSERT ... SELECT for many rows)."
                        .into(),
                },
            }
            .raise(),
        }
    }
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn relation_name(rinfo: *mut pg_sys::ResultRelInfo) -> String {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let name = pg_sys::get_rel_name((*(*rinfo).ri_RelationDesc).rd_id);
        if name.is_null() {
            "(unknown)".into()
        } else {
            CStr::from_ptr(name).to_string_lossy().into_owned()
        }
    }
}

/// `n` attributes of `slot`, deformed.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn slot_values<'a>(
    slot: *mut pg_sys::TupleTableSlot,
    n: usize,
) -> (&'a [pg_sys::Datum], &'a [bool]) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let natts = (*(*slot).tts_tupleDescriptor).natts.max(0) as usize;
        let n = n.min(natts);
        if n == 0 {
            return (&[], &[]);
        }
        if ((*slot).tts_nvalid as usize) < n {
            pg_sys::slot_getsomeattrs_int(slot, n as c_int);
        }
        (
            std::slice::from_raw_parts((*slot).tts_values, n),
            std::slice::from_raw_parts((*slot).tts_isnull, n),
        )
    }
}

/// A datum of a declared column as the JSON Clerk's request takes.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn json_of(datum: pg_sys::Datum, target: SqlType) -> Value {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let text = |d| String::from_datum(d, false).map_or(Value::Null, Value::String);
        match target {
            SqlType::Text => text(datum),
            SqlType::Bool => bool::from_datum(datum, false).map_or(Value::Null, Value::Bool),
            SqlType::Int2 => i16::from_datum(datum, false).map_or(Value::Null, Value::from),
            SqlType::Int4 => i32::from_datum(datum, false).map_or(Value::Null, Value::from),
            SqlType::Int8 => i64::from_datum(datum, false).map_or(Value::Null, Value::from),
            SqlType::Float8 => f64::from_datum(datum, false).map_or(Value::Null, Value::from),
            SqlType::Numeric => AnyNumeric::from_datum(datum, false)
                .and_then(|n| serde_json::from_str(&n.to_string()).ok())
                .unwrap_or(Value::Null),
            SqlType::Timestamptz => TimestampWithTimeZone::from_datum(datum, false)
                .map_or(Value::Null, |t| rfc3339(i64::from(t))),
            SqlType::Timestamp => {
                Timestamp::from_datum(datum, false).map_or(Value::Null, |t| rfc3339(i64::from(t)))
            }
            SqlType::Jsonb => JsonB::from_datum(datum, false).map_or(Value::Null, |j| j.0),
            SqlType::TextArray => {
                Vec::<Option<String>>::from_datum(datum, false).map_or(Value::Null, Value::from)
            }
        }
    }
}

/// Postgres microseconds as the RFC 3339 time Clerk's requests take.
fn rfc3339(pg_micros: i64) -> Value {
    convert::pg_micros_to_unix_ms(pg_micros)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| {
            Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        })
}

impl ModifyState {
    /// A row of `slot` (the new values) as JSON by column name.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn new_row(&self, slot: *mut pg_sys::TupleTableSlot) -> Map<String, Value> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let n = self.columns.iter().map(|c| c.index + 1).max().unwrap_or(0);
            let (values, nulls) = slot_values(slot, n);
            self.columns
                .iter()
                .map(|c| {
                    let v = match (values.get(c.index), nulls.get(c.index)) {
                        (Some(d), Some(false)) => json_of(*d, c.target),
                        _ => Value::Null,
                    };
                    (c.spec.name.to_string(), v)
                })
                .collect()
        }
    }

    /// The row's old values, from the junk columns of `plan_slot`.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn old_row(
        &self,
        plan_slot: *mut pg_sys::TupleTableSlot,
    ) -> (Map<String, Value>, Vec<Option<pg_sys::Datum>>) {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let n = self.old_values.iter().copied().max().unwrap_or(0).max(0) as usize;
            let (values, nulls) = slot_values(plan_slot, n);
            let mut row = Map::new();
            let mut datums = Vec::new();
            for (c, attno) in self.columns.iter().zip(&self.old_values) {
                let i = (*attno as usize).wrapping_sub(1);
                let datum = match (values.get(i), nulls.get(i)) {
                    (Some(d), Some(false)) => Some(*d),
                    _ => None,
                };
                row.insert(
                    c.spec.name.to_string(),
                    datum.map_or(Value::Null, |d| json_of(d, c.target)),
                );
                datums.push(datum);
            }
            (row, datums)
        }
    }

    fn refuse(&self, source: writes::WriteError) -> FdwError {
        FdwError::Write {
            table: self.table.name.clone(),
            source,
        }
    }

    /// Sends `request` about the row `id` and returns Clerk's answer. Each
    /// request is logged (method, path, status; never the key).
    fn send(&mut self, request: &WriteRequest, id: &str) -> Result<Value, FdwError> {
        let url = self
            .client
            .url(&request.path, &[])
            .map_err(FdwError::Config)?;
        let described = format!("{} /{}", request.method.name(), request.path.join("/"));
        let client = self.client.clone();
        let (method, body) = (request.method, request.body.clone());
        let path = url.path().to_string();
        let answered = runtime::wait_for(
            async move { client.write(method, &url, body.as_ref()).await },
            &mut check_for_interrupts,
        )
        .map_err(|e| crate::remote::client::ClerkError::Unreachable {
            host: String::new(),
            cause: format!("cannot start the I/O runtime: {e}"),
            attempts: 0,
        })
        .and_then(|done| done.ok_or(crate::remote::client::ClerkError::Stopped))
        .and_then(|r| r);
        let failed = |source| {
            FdwError::WriteFailed(Box::new(WriteFailure {
                request: described.clone(),
                object: self.spec.object,
                id: id.to_string(),
                source,
                done: self.done.clone(),
            }))
        };
        let (status, bytes) = match answered {
            Ok(answer) => answer,
            Err(e) => {
                pgrx::log!("clerk_fdw: {} {path}: {e}", method.name());
                return Err(failed(e));
            }
        };
        pgrx::log!("clerk_fdw: {} {path}: {status}", method.name());
        serde_json::from_slice(&bytes).map_err(|e| FdwError::WriteAnswer {
            request: described.clone(),
            got: format!("a body that is not JSON ({e})"),
        })
    }

    /// Puts Clerk's object into `slot`, for RETURNING.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn fill(
        &self,
        slot: *mut pg_sys::TupleTableSlot,
        object: &Value,
    ) -> Result<(), FdwError> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let datums = row_datums(&self.table, &self.columns, object)?;
            store_row(slot, &self.columns, datums);
            materialize(slot);
            Ok(())
        }
    }

    /// Keeps the mirror of this server, if any, as Clerk now has `object`.
    fn mirror(&self, object: &Value, deleted: bool) {
        write_through(self.table.server_oid(), self.table.object, object, deleted);
    }
}

/// Copies the slot's values into its own memory: they must outlive the
/// per-tuple memory they were made in.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn materialize(slot: *mut pg_sys::TupleTableSlot) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if let Some(materialize) = (*(*slot).tts_ops).materialize {
            materialize(slot);
        }
    }
}

fn id_of(row: &Map<String, Value>) -> String {
    row.get("id")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| "(new row)".into())
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    _plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let state = state_of(rinfo);
        let row = state.new_row(slot);
        let request = state
            .spec
            .insert_request(&row)
            .map_err(|e| state.refuse(e))
            .or_raise();
        let answer = state.send(&request, &id_of(&row)).or_raise();
        state.fill(slot, &answer).or_raise();
        if let Some(id) = answer.get("id").and_then(Value::as_str) {
            state.done.push(id.to_string());
        }
        state.mirror(&answer, false);
        slot
    }
}

/// Rows per request for a multi-row INSERT: the bulk endpoint's maximum,
/// unless RETURNING or a row trigger needs each row's own answer.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_modify_batch_size(
    rinfo: *mut pg_sys::ResultRelInfo,
) -> c_int {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let Ok(table) = Table::load((*(*rinfo).ri_RelationDesc).rd_id) else {
            return 1;
        };
        let triggers = !(*rinfo).ri_TrigDesc.is_null()
            && ((*(*rinfo).ri_TrigDesc).trig_insert_after_row
                || (*(*rinfo).ri_TrigDesc).trig_insert_before_row);
        match writes::spec(table.object.name).and_then(WriteSpec::bulk_size) {
            Some(size) if (*rinfo).ri_projectReturning.is_null() && !triggers => size as c_int,
            _ => 1,
        }
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_batch_insert(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slots: *mut *mut pg_sys::TupleTableSlot,
    _plan_slots: *mut *mut pg_sys::TupleTableSlot,
    num_slots: *mut c_int,
) -> *mut *mut pg_sys::TupleTableSlot {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let state = state_of(rinfo);
        let n = (*num_slots).max(0) as usize;
        let slots_list = std::slice::from_raw_parts(slots, n);
        let rows: Vec<Map<String, Value>> = slots_list.iter().map(|s| state.new_row(*s)).collect();
        let requests = state
            .spec
            .bulk_requests(&rows)
            .map_err(|e| state.refuse(e))
            .or_raise();
        for (request, count) in requests {
            let answer = state
                .send(&request, &format!("({count} new rows)"))
                .or_raise();
            let created = answer
                .as_array()
                .or_else(|| answer.get("data").and_then(Value::as_array))
                .cloned()
                .unwrap_or_default();
            if created.len() != count {
                FdwError::WriteAnswer {
                    request: format!("POST /{}", request.path.join("/")),
                    got: format!("{} rows came back for the {count} sent", created.len()),
                }
                .raise()
            }
            for object in &created {
                if let Some(id) = object.get("id").and_then(Value::as_str) {
                    state.done.push(id.to_string());
                }
                state.mirror(object, false);
            }
        }
        slots
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_update(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let state = state_of(rinfo);
        let (old, _) = state.old_row(plan_slot);
        let new = state.new_row(slot);
        let updated: Vec<&str> = state.updated.iter().map(String::as_str).collect();
        let requests = state
            .spec
            .update_requests(&old, &new, &updated)
            .map_err(|e| state.refuse(e))
            .or_raise();
        let id = id_of(&old);
        let mut answer = None;
        for request in &requests {
            answer = Some(state.send(request, &id).or_raise());
            // Changed from its first request on: if a later one fails, the
            // error lists this row among those changed.
            if state.done.last() != Some(&id) {
                state.done.push(id.clone());
            }
        }
        if let Some(answer) = answer {
            state.fill(slot, &answer).or_raise();
            state.mirror(&answer, false);
        }
        slot
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn exec_foreign_delete(
    _estate: *mut pg_sys::EState,
    rinfo: *mut pg_sys::ResultRelInfo,
    slot: *mut pg_sys::TupleTableSlot,
    plan_slot: *mut pg_sys::TupleTableSlot,
) -> *mut pg_sys::TupleTableSlot {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let state = state_of(rinfo);
        let (old, datums) = state.old_row(plan_slot);
        let request = state
            .spec
            .delete_request(&old)
            .map_err(|e| state.refuse(e))
            .or_raise();
        let id = id_of(&old);
        state.send(&request, &id).or_raise();
        state.done.push(id);
        // RETURNING shows the row as it was.
        store_row(slot, &state.columns, datums);
        materialize(slot);
        let attrs = old
            .get("attrs")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(old.clone()));
        state.mirror(&attrs, true);
        slot
    }
}

/// Every command reaches clerk_fdw, which refuses what Clerk cannot do
/// with its own error (naming the `writable` option, or what Clerk allows
/// instead) rather than Postgres' "cannot insert into foreign table".
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn is_foreign_rel_updatable(_rel: pg_sys::Relation) -> c_int {
    (1 << pg_sys::CmdType::CMD_INSERT)
        | (1 << pg_sys::CmdType::CMD_UPDATE)
        | (1 << pg_sys::CmdType::CMD_DELETE)
}
