//! What GetForeignRelSize learns about a foreign relation, kept on the
//! RelOptInfo's `fdw_private` for GetForeignPaths, GetForeignPlan and
//! GetForeignUpperPaths, as postgres_fdw keeps its `PgFdwRelationInfo`:
//! the table and its options are read once per relation, and its
//! restriction clauses extracted once.

use crate::pg::clauses::{extract, Extracted, ScanRel};
use crate::pg::error::FdwError;
use crate::pg::options::Table;
use crate::request::Request;
use pgrx::{pg_sys, PgMemoryContexts};

/// One foreign relation being planned.
pub struct RelInfo {
    pub table: Table,
    /// The restriction clauses Clerk can apply; none with pushdown off.
    pub extracted: Extracted,
}

impl RelInfo {
    /// The relation's table and restriction clauses.
    ///
    /// # Safety
    /// `root` and `rel` are the planner's pointers of the base relation of
    /// foreign table `table`, valid for the call.
    pub unsafe fn new(
        root: *mut pg_sys::PlannerInfo,
        rel: *mut pg_sys::RelOptInfo,
        table: Table,
    ) -> RelInfo {
        let extracted = if table.pushdown() {
            let target = ScanRel {
                root,
                rel,
                table_oid: table.oid,
                object: table.object,
            };
            // SAFETY: per the function's contract.
            unsafe { extract(&target, (*rel).baserestrictinfo) }
        } else {
            Extracted::default()
        };
        RelInfo { table, extracted }
    }

    /// The restriction clauses as a request.
    pub fn request(&self) -> Request {
        Request {
            conditions: self.extracted.conditions.clone(),
            ..Request::default()
        }
    }

    /// Keeps `self` on `rel` for the rest of the planning. It lives in the
    /// current memory context, the planner's, and is dropped with it.
    ///
    /// # Safety
    /// `rel` is the relation being planned, allocated in the current memory
    /// context or a longer-lived one.
    pub unsafe fn attach(self, rel: *mut pg_sys::RelOptInfo) {
        let info = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(self);
        // SAFETY: per the function's contract; only clerk_fdw sets the
        // fdw_private of its foreign tables' base relations.
        unsafe { (*rel).fdw_private = info.cast() };
    }

    /// What [`RelInfo::attach`] kept on `rel`; `None` when Postgres never
    /// sized it (a relation proven empty).
    ///
    /// # Safety
    /// `rel` is a base relation of a clerk_fdw foreign table, valid for the
    /// lifetime `'a` chosen by the caller (at most the planning).
    pub unsafe fn of<'a>(rel: *mut pg_sys::RelOptInfo) -> Option<&'a RelInfo> {
        // SAFETY: per the function's contract, fdw_private is NULL or the
        // RelInfo that get_foreign_rel_size attached.
        unsafe { ((*rel).fdw_private as *const RelInfo).as_ref() }
    }

    /// [`RelInfo::of`] a relation Postgres sized, as it does before asking
    /// for its paths or plan.
    ///
    /// # Safety
    /// As for [`RelInfo::of`].
    pub unsafe fn of_sized<'a>(rel: *mut pg_sys::RelOptInfo) -> Result<&'a RelInfo, FdwError> {
        // SAFETY: per the function's contract.
        unsafe { RelInfo::of(rel) }.ok_or(FdwError::Internal(
            "a foreign relation clerk_fdw did not size",
        ))
    }
}
