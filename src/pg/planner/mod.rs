//! Planning a scan of a Clerk foreign table: its size, its paths (sorted by
//! Clerk, parameterized by a join, `count(*)` by Clerk), and the plan.
//!
//! A plan carries only data Postgres can copy: the run-time values in
//! `fdw_exprs`, and a [`Planned`] as JSON in a String node of
//! `fdw_private`. Nothing is handed from planning to execution any other
//! way, so a cached plan (prepared statements, plpgsql, generic plans) runs
//! as often as Postgres likes.
//!
//! The callbacks take planner pointers of the relation being planned,
//! valid for the call.

mod columns;
mod context;
mod joins;
mod upper;

use columns::{check_columns, read_column_names, used_columns};
use context::RelInfo;
use joins::{join_lookups, linked_by_membership, local_ids};
pub use upper::get_foreign_upper_paths;

use crate::catalog::MAX_PAGE_SIZE;
use crate::pg::clauses::{extract, is_a, list_items, Extracted, ScanRel};
use crate::pg::compat;
use crate::pg::counts::{clerk_count, total_rows, DEFAULT_ROW_COUNT};
use crate::pg::error::{FdwError, OrRaise};
use crate::pg::options::Table;
use crate::pg::planned::Planned;
use crate::plan::{self};
use crate::request::{OrderBy, Request};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::FromDatum;
use std::ptr;

/// Planner cost of one Clerk request (a round trip of 50-150 ms) and of
/// turning one JSON object into a row, in Postgres cost units. Only their
/// ratio decides between clerk_fdw's own paths; kept small enough that a
/// scan of 100,000 users (21,000) stays under `jit_above_cost` (100,000).
pub(super) const REQUEST_COST: f64 = 100.0;
pub(super) const ROW_COST: f64 = 0.01;
/// The cost of a plan that cannot run (Postgres' own `disable_cost`).
pub(super) const NO_KEY_COST: f64 = 1.0e10;

/// Reads the table and its restriction clauses once (kept on the
/// relation for the later callbacks) and estimates its rows.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let table = Table::load(table_oid).or_raise();
        check_columns(&table, &used_columns(rel, (*rel).baserestrictinfo)).or_raise();
        let info = RelInfo::new(root, rel, table);
        (*rel).rows = estimate_rows(&info, joined(root)).or_raise();
        info.attach(rel);
    }
}

/// The rows a scan of the relation returns, as Clerk's counts or the
/// catalogue's guesses tell.
fn estimate_rows(info: &RelInfo, joined: bool) -> Result<f64, FdwError> {
    let table = &info.table;
    let client = table.client()?;
    if !table.pushdown() {
        // With pushdown off clerk_fdw sends Clerk nothing but the scan's
        // own pages, not even a count.
        return Ok(DEFAULT_ROW_COUNT);
    }
    let request = info.request();
    let plan = plan::plan(table.object, &request);
    // A few constant keys or ranges in a join: Clerk's count beats a guess
    // (20 members per organization) that would pick a nested loop of
    // hundreds of lookups over one scan.
    let counted = if !request.has_runtime_values() && joined && plan.estimate_is_guessed() {
        clerk_count(table, &client, &plan).map(|n| plan.at_most_max_rows(n))
    } else {
        None
    };
    Ok(counted.unwrap_or_else(|| plan.estimate_rows(|| total_rows(table, &client))))
}

/// The query's ORDER BY as a Clerk order, when it is one column of this
/// scan that Clerk can sort by for these conditions.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn pushable_order(
    target: &ScanRel,
    extracted: &Extracted,
    pathkeys: *mut pg_sys::List,
) -> Option<OrderBy> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let keys = list_items::<pg_sys::PathKey>(pathkeys);
        let [key] = keys.as_slice() else {
            return None;
        };
        let ec = (**key).pk_eclass;
        if (*ec).ec_has_volatile {
            return None;
        }
        let column = list_items::<pg_sys::EquivalenceMember>((*ec).ec_members)
            .into_iter()
            .filter(|em| pg_sys::bms_equal((**em).em_relids, (*target.rel).relids))
            .find_map(|em| target.column((*em).em_expr.cast()))?;
        // Clerk sorts by time or by a count: the declared type must sort the
        // same way (text sorts by collation).
        use pg_sys::{
            FLOAT8OID, INT2OID, INT4OID, INT8OID, NUMERICOID, TIMESTAMPOID, TIMESTAMPTZOID,
        };
        let numeric = [
            TIMESTAMPTZOID,
            TIMESTAMPOID,
            INT8OID,
            INT4OID,
            INT2OID,
            NUMERICOID,
            FLOAT8OID,
        ];
        if !numeric.contains(&column.2) {
            return None;
        }
        let order = OrderBy {
            column: column.0.into(),
            descending: compat::descending(*key),
        };
        // Some sort keys are pushed only with a LIMIT of at most one page.
        let limit = if extracted.unpushed == 0 {
            safe_limit(target.root, true)
        } else {
            None
        };
        let request = Request {
            conditions: extracted.conditions.clone(),
            order: Some(order.clone()),
            limit,
            reads: Vec::new(),
        };
        plan::plan(target.object, &request).ordered.then_some(order)
    }
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn add_foreign_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup: f64,
    total: f64,
    pathkeys: *mut pg_sys::List,
    required_outer: pg_sys::Relids,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let path =
            compat::foreign_scan_path(root, rel, rows, startup, total, pathkeys, required_outer);
        pg_sys::add_path(rel, path.cast());
    }
}

pub(super) fn scan_cost(rows: f64) -> f64 {
    let pages = (rows / MAX_PAGE_SIZE as f64).ceil().max(1.0);
    pages * REQUEST_COST + rows * ROW_COST
}

/// The paths of a scan: unsorted and, when Clerk can give the query's
/// order, sorted; and one parameterized path per join clause Clerk can look
/// up by.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    _table_oid: pg_sys::Oid,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let info = RelInfo::of_sized(rel).or_raise();
        let rows = (*rel).rows;
        let lateral = (*rel).lateral_relids;
        if !info.table.pushdown() {
            let cost = scan_cost(rows);
            add_foreign_path(
                root,
                rel,
                rows,
                REQUEST_COST,
                cost,
                ptr::null_mut(),
                lateral,
            );
            return;
        }
        let target = ScanRel {
            root,
            rel,
            table_oid: info.table.oid,
            object: info.table.object,
        };
        let cost = unparameterized_cost(&target, info, rows);
        let pathkeys = (*root).query_pathkeys;
        let sorted = pushable_order(&target, &info.extracted, pathkeys).map(|_| pathkeys);
        for pathkeys in [Some(ptr::null_mut()), sorted].into_iter().flatten() {
            add_foreign_path(root, rel, rows, REQUEST_COST, cost, pathkeys, lateral);
        }
        // None for the table an UPDATE or DELETE changes, whose rows are
        // counted against max_write_rows in one read before the first write.
        if write_target(root, rel).is_none() {
            add_lookup_paths(&target, info);
        }
    }
}

/// The cost of reading what the relation's own clauses select.
///
/// # Safety
/// `target` holds the planner's pointers of the relation `info` describes.
unsafe fn unparameterized_cost(target: &ScanRel, info: &RelInfo, rows: f64) -> f64 {
    // A join with the memberships may narrow the scan to members.
    // SAFETY: per the function's contract.
    let members = unsafe { linked_by_membership(target, &info.table) }.map(|l| l.rows.min(rows));
    // SAFETY: per the function's contract, for the call below.
    let local = || unsafe { local_ids(target, rows) };
    if plan::plan(info.table.object, &info.request()).missing_key {
        // Without a key of its own, an object Clerk lists only by key can
        // run only as the inner side of a join that supplies one: every
        // other plan is a last resort (it fails when run, saying what is
        // missing).
        NO_KEY_COST
    } else if let Some(members) = members {
        scan_cost(members)
    } else if let Some((_, ids, per_request)) = local() {
        // A local table's ids, `per_request` to a request.
        (ids / per_request as f64).ceil() * REQUEST_COST + ids.min(rows) * ROW_COST
    } else {
        scan_cost(rows)
    }
}

/// One parameterized path per join clause Clerk can look up by: a nested
/// loop hands the scan one key at a time.
///
/// # Safety
/// `target` holds the planner's pointers of the relation `info` describes.
unsafe fn add_lookup_paths(target: &ScanRel, info: &RelInfo) {
    let rel = target.rel;
    // SAFETY: per the function's contract (and for every use below).
    for ri in unsafe { join_lookups(target) } {
        let mut with_join = info.extracted.clone();
        if !unsafe { with_join.try_add(target, (*ri).clause.cast()) } {
            continue;
        }
        let request = Request {
            conditions: with_join.conditions,
            ..Request::default()
        };
        let per_key = plan::plan(info.table.object, &request).estimate_rows(|| f64::INFINITY);
        if !per_key.is_finite() {
            continue; // Clerk cannot narrow by this column.
        }
        let rows = per_key.max(1.0);
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let required_outer = pg_sys::bms_union(
                pg_sys::bms_difference((*ri).clause_relids, (*rel).relids),
                (*rel).lateral_relids,
            );
            let cost = REQUEST_COST + rows * ROW_COST;
            add_foreign_path(
                target.root,
                rel,
                rows,
                REQUEST_COST,
                cost,
                ptr::null_mut(),
                required_outer,
            );
        }
    }
}

/// The query has more than one base relation.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn joined(root: *mut pg_sys::PlannerInfo) -> bool {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe { pg_sys::bms_membership((*root).all_baserels) == pg_sys::BMS_Membership::BMS_MULTIPLE }
}

/// The LIMIT (plus OFFSET) Clerk may stop at: only when this scan is the
/// whole query below the LIMIT, every clause is Clerk's, and the rows come
/// in the query's order.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn safe_limit(root: *mut pg_sys::PlannerInfo, ordered: bool) -> Option<u64> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let parse = (*root).parse;
        let single_rel = !joined(root);
        let plain = (*parse).groupClause.is_null()
            && !(*parse).hasAggs
            && !(*parse).hasWindowFuncs
            && !(*parse).hasTargetSRFs
            && (*parse).distinctClause.is_null()
            && (*parse).havingQual.is_null()
            && (*parse).setOperations.is_null()
            && (*parse).groupingSets.is_null()
            && (*parse).limitOption == pg_sys::LimitOption::LIMIT_OPTION_COUNT
            && ((*parse).sortClause.is_null() || ordered);
        if !single_rel || !plain {
            return None;
        }
        let constant = |node: *mut pg_sys::Node| -> Option<Option<i64>> {
            if node.is_null() {
                return Some(None);
            }
            if !is_a(node.cast(), pg_sys::NodeTag::T_Const) {
                return None;
            }
            let c = node as *mut pg_sys::Const;
            if (*c).constisnull {
                return Some(None);
            }
            Some(i64::from_datum((*c).constvalue, false))
        };
        let count = constant((*parse).limitCount)??;
        let offset = constant((*parse).limitOffset)?.unwrap_or(0);
        u64::try_from(count.checked_add(offset.max(0))?).ok()
    }
}

/// A List of `exprs`.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn list_of<T>(exprs: &[*mut T]) -> *mut pg_sys::List {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        exprs
            .iter()
            .fold(ptr::null_mut(), |list, e| pg_sys::lappend(list, e.cast()))
    }
}

/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if (*rel).reloptkind == pg_sys::RelOptKind::RELOPT_UPPER_REL {
            // The count path: [planned, fdw_exprs, fdw_scan_tlist].
            let private = list_items::<pg_sys::List>((*best_path).fdw_private);
            let [planned, exprs, scan_tlist] = private.as_slice() else {
                FdwError::Internal("an aggregate path clerk_fdw did not make").raise()
            };
            return pg_sys::make_foreignscan(
                tlist,
                ptr::null_mut(),
                0,
                *exprs,
                *planned,
                *scan_tlist,
                ptr::null_mut(),
                outer_plan,
            );
        }
        let table = &RelInfo::of_sized(rel).or_raise().table;
        let target = ScanRel {
            root,
            rel,
            table_oid,
            object: table.object,
        };
        // With pushdown off Clerk narrows nothing: no condition, order or limit.
        let mut extracted = if table.pushdown() {
            extract(&target, scan_clauses)
        } else {
            Extracted::default()
        };
        let mut expected_rows = (*best_path).path.rows;
        let mut local = None;
        if table.pushdown() && (*best_path).path.param_info.is_null() {
            if let Some(linked) = linked_by_membership(&target, table) {
                linked.add_to(&mut extracted);
                expected_rows = expected_rows.min(linked.rows);
            } else if let Some((ids, rows, _)) = local_ids(&target, (*rel).rows) {
                local = Some(ids);
                expected_rows = expected_rows.min(rows);
            }
        }
        let order = if table.pushdown() {
            pushable_order(&target, &extracted, (*best_path).path.pathkeys)
        } else {
            None
        };
        let limit = if table.pushdown() && extracted.unpushed == 0 {
            safe_limit(root, order.is_some())
        } else {
            None
        };
        let columns = used_columns(rel, scan_clauses);
        let planned = Planned {
            table: table_oid.into(),
            request: Request {
                conditions: extracted.conditions,
                order,
                limit,
                reads: read_column_names(table, &columns),
            },
            value_types: extracted.types,
            columns,
            count: false,
            expected_rows,
            local_ids: local,
            write_target: write_target(root, rel),
        };
        pg_sys::make_foreignscan(
            tlist,
            pg_sys::extract_actual_clauses(scan_clauses, false),
            (*rel).relid,
            list_of(&extracted.exprs),
            planned.to_list(),
            ptr::null_mut(),
            ptr::null_mut(),
            outer_plan,
        )
    }
}

/// The command, when `rel` is the table an UPDATE or DELETE changes.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn write_target(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
) -> Option<String> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let parse = (*root).parse;
        let command = match (*parse).commandType {
            pg_sys::CmdType::CMD_UPDATE => "UPDATE",
            pg_sys::CmdType::CMD_DELETE => "DELETE",
            _ => return None,
        };
        ((*parse).resultRelation as pg_sys::Index == (*rel).relid).then(|| command.to_string())
    }
}
