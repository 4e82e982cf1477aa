//! The columns a scan reads, checked before any request.

use crate::pg::clauses::list_items;
use crate::pg::error::FdwError;
use crate::pg::options::declared_columns;
use crate::pg::options::{bind_columns, Table};
use pgrx::pg_sys;
use std::ptr;

/// The table's columns a scan of `rel` reads: those of its target list and
/// of `clauses` (RestrictInfos); all of them for a whole-row reference.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn used_columns(
    rel: *mut pg_sys::RelOptInfo,
    clauses: *mut pg_sys::List,
) -> Vec<usize> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let relid = (*rel).relid;
        let mut attrs: *mut pg_sys::Bitmapset = ptr::null_mut();
        pg_sys::pull_varattnos((*(*rel).reltarget).exprs.cast(), relid, &mut attrs);
        for ri in list_items::<pg_sys::RestrictInfo>(clauses) {
            pg_sys::pull_varattnos((*ri).clause.cast(), relid, &mut attrs);
        }
        let mut columns = Vec::new();
        let mut member = -1;
        loop {
            member = pg_sys::bms_next_member(attrs, member);
            if member < 0 {
                break;
            }
            let attno = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
            if attno == 0 {
                // A whole-row reference.
                return (0..(*rel).max_attr.max(0) as usize).collect();
            }
            if attno > 0 {
                columns.push(attno as usize - 1);
            }
        }
        columns
    }
}

/// The catalogue names of the table's columns at `indexes`.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn read_column_names(table: &Table, indexes: &[usize]) -> Vec<String> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let relation = pg_sys::RelationIdGetRelation(table.oid);
        if relation.is_null() {
            return Vec::new();
        }
        let declared = declared_columns((*relation).rd_att, indexes);
        pg_sys::RelationClose(relation);
        declared
            .iter()
            .filter_map(|d| table.object.column(&d.name).map(|c| c.name.to_string()))
            .collect()
    }
}

/// Checks the columns a scan reads, before any request: an unknown column
/// or a type that cannot hold its field is an ERROR now.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn check_columns(table: &Table, columns: &[usize]) -> Result<(), FdwError> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let relation = pg_sys::RelationIdGetRelation(table.oid);
        if relation.is_null() {
            return Err(FdwError::Internal("the foreign table is gone"));
        }
        let declared = declared_columns((*relation).rd_att, columns);
        pg_sys::RelationClose(relation);
        bind_columns(table, &declared).map(|_| ())
    }
}
