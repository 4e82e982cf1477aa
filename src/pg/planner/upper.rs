//! `count(*)` answered by Clerk: the aggregate path.

use super::context::RelInfo;
use super::{list_of, REQUEST_COST};
use crate::pg::clauses::{is_a, list_items, strip_relabel, ScanRel};
use crate::pg::compat;
use crate::pg::planned::Planned;
use crate::plan::{self};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::c_void;
use std::ptr;

/// `count(*)`, `count(1)`, `count(id)`: aggregates Clerk's counts give
/// exactly, without FILTER, DISTINCT or ORDER BY.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn is_clerk_count(target: &ScanRel, aggref: *mut pg_sys::Aggref) -> bool {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let a = &*aggref;
        let plain = (a.aggfnoid == pg_sys::Oid::from(pg_sys::F_COUNT_)
        || a.aggfnoid == pg_sys::Oid::from(pg_sys::F_COUNT_ANY))
        && a.aggfilter.is_null()
        && a.aggdistinct.is_null()
        && a.aggorder.is_null()
        && a.agglevelsup == 0
        && a.aggsplit == pg_sys::AggSplit::AGGSPLIT_SIMPLE
        // AGGKIND_NORMAL
        && a.aggkind == b'n' as std::ffi::c_char;
        if !plain {
            return false;
        }
        if a.aggstar {
            return true;
        }
        let args = list_items::<pg_sys::TargetEntry>(a.args);
        let [arg] = args.as_slice() else {
            return false;
        };
        let expr = strip_relabel((**arg).expr.cast());
        if is_a(expr.cast(), pg_sys::NodeTag::T_Const) {
            return !(*(expr as *mut pg_sys::Const)).constisnull;
        }
        // A column Clerk never leaves empty.
        target
            .column(expr)
            .and_then(|(name, _, _)| target.object.column(name))
            .is_some_and(|c| c.always_present())
    }
}

/// Adds the aggregates of one output expression to `counts`; false when the
/// expression needs anything but Clerk's counts (another aggregate, a
/// column, a sub-query, something volatile or set-returning).
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn counts_of(
    target: &ScanRel,
    expr: *mut pg_sys::Node,
    counts: &mut Vec<*mut pg_sys::Aggref>,
) -> bool {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if pg_sys::contain_subplans(expr)
            || pg_sys::contain_volatile_functions(expr)
            || pg_sys::expression_returns_set(expr)
        {
            return false;
        }
        let flags = pg_sys::PVC_INCLUDE_AGGREGATES
            | pg_sys::PVC_RECURSE_WINDOWFUNCS
            | pg_sys::PVC_RECURSE_PLACEHOLDERS;
        for node in list_items::<pg_sys::Node>(pg_sys::pull_var_clause(expr, flags as i32)) {
            if !is_a(node.cast(), pg_sys::NodeTag::T_Aggref) {
                return false;
            }
            let aggref = node as *mut pg_sys::Aggref;
            if !is_clerk_count(target, aggref) {
                return false;
            }
            if !counts
                .iter()
                .any(|c| pg_sys::equal(c.cast(), aggref.cast()))
            {
                counts.push(aggref);
            }
        }
        true
    }
}

/// Offers Clerk's count for an aggregate query, the way postgres_fdw
/// decides a grouping is safe to push: one table, no GROUP BY, grouping
/// sets or HAVING, every output made of counts Clerk gives exactly, and
/// every WHERE clause applied by Clerk exactly (a clause without a column,
/// evaluated by Postgres above the scan, keeps the aggregate local).
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_upper_paths(
    root: *mut pg_sys::PlannerInfo,
    stage: pg_sys::UpperRelationKind::Type,
    input_rel: *mut pg_sys::RelOptInfo,
    output_rel: *mut pg_sys::RelOptInfo,
    _extra: *mut c_void,
) {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let parse = (*root).parse;
        if stage != pg_sys::UpperRelationKind::UPPERREL_GROUP_AGG
            || (*input_rel).reloptkind != pg_sys::RelOptKind::RELOPT_BASEREL
            || !(*output_rel).fdw_private.is_null()
            || !(*parse).hasAggs
            || !(*parse).groupClause.is_null()
            || !(*parse).groupingSets.is_null()
            || !(*parse).havingQual.is_null()
            || (*parse).hasTargetSRFs
        {
            return;
        }
        // A relation proven empty (`WHERE false`) is never sized: Postgres
        // plans it without a scan, and its count stays with Postgres.
        let Some(info) = RelInfo::of(input_rel) else {
            return;
        };
        let table = &info.table;
        let extracted = &info.extracted;
        if !table.pushdown() || extracted.unpushed > 0 || extracted.pseudoconstant {
            return;
        }
        let target = ScanRel {
            root,
            rel: input_rel,
            table_oid: table.oid,
            object: table.object,
        };
        let request = info.request();
        let plan = plan::plan(table.object, &request);
        let Some(count_requests) = plan.count_requests().filter(|_| !plan.missing_key) else {
            return;
        };
        let mut counts = Vec::new();
        for expr in list_items::<pg_sys::Node>((*(*output_rel).reltarget).exprs) {
            if !counts_of(&target, expr, &mut counts) {
                return;
            }
        }
        let scan_tlist = counts
            .iter()
            .enumerate()
            .fold(ptr::null_mut(), |list, (i, count)| {
                let entry =
                    pg_sys::makeTargetEntry(count.cast(), (i + 1) as i16, ptr::null_mut(), false);
                pg_sys::lappend(list, entry.cast())
            });
        let planned = Planned {
            table: table.oid.into(),
            request,
            value_types: extracted.types.clone(),
            columns: Vec::new(),
            count: true,
            expected_rows: 1.0,
            local_ids: None,
            write_target: None,
        };
        let private = list_of(&[planned.to_list(), list_of(&extracted.exprs), scan_tlist]);
        let cost = REQUEST_COST * count_requests.len() as f64;
        let path = compat::foreign_upper_path(root, output_rel, 1.0, cost, cost, private);
        pg_sys::add_path(output_rel, path.cast());
        // Marks the relation as planned: Postgres may ask again.
        (*output_rel).fdw_private = private.cast();
    }
}
