//! What the planner hands the executor: a [`Planned`] as JSON in a String
//! node of a ForeignScan's `fdw_private`, the run-time values in
//! `fdw_exprs`. Nothing else travels from planning to execution, so a
//! cached plan (prepared statements, plpgsql, generic plans) runs as often
//! as Postgres likes.

use crate::pg::clauses::{is_a, list_items};
use crate::pg::error::FdwError;
use crate::request::Request;
use pgrx::pg_sys;
use serde::{Deserialize, Serialize};
use std::ffi::{CStr, CString};
use std::ptr;

/// What the planner decided for one foreign scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    /// The foreign table.
    pub table: u32,
    /// Conditions with [`crate::request::Operand::Runtime`]`(i)` for
    /// `fdw_exprs[i]`.
    pub request: Request,
    /// Type of each `fdw_exprs` entry.
    pub value_types: Vec<u32>,
    /// The table's columns the query reads (0-based); the others are NULL.
    pub columns: Vec<usize>,
    /// An aggregate Clerk answers: one row, every column the count.
    pub count: bool,
    /// The planner's row estimate.
    pub expected_rows: f64,
    /// A local table whose ids narrow the scan when it runs.
    #[serde(default)]
    pub local_ids: Option<LocalIds>,
    /// The scan reads the rows an UPDATE or DELETE (named here) changes in
    /// Clerk: it counts them against `max_write_rows` before returning the
    /// first.
    #[serde(default)]
    pub write_target: Option<String>,
}

/// A column of a local table that equals the scan's `id` in every row the
/// query returns (see [`local_ids`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalIds {
    pub table: u32,
    /// Attribute number of the column.
    pub column: i16,
    /// More distinct ids than this: the whole list costs fewer requests.
    pub max: usize,
}

impl Planned {
    /// `fdw_private` of a plan: one String node holding the JSON.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    pub unsafe fn to_list(&self) -> *mut pg_sys::List {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let json = serde_json::to_string(self).unwrap_or_default();
            // Serde's JSON escapes control characters: no NUL inside.
            let text = CString::new(json).unwrap_or_default();
            pg_sys::lappend(
                ptr::null_mut(),
                pg_sys::makeString(pg_sys::pstrdup(text.as_ptr())).cast(),
            )
        }
    }

    /// The [`Planned`] of a plan made by [`get_foreign_plan`].
    ///
    /// # Safety
    /// `plan` is a valid ForeignScan.
    pub unsafe fn of(plan: *mut pg_sys::ForeignScan) -> Result<Planned, FdwError> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            list_items::<pg_sys::Node>((*plan).fdw_private)
                .first()
                .filter(|node| is_a(node.cast(), pg_sys::NodeTag::T_String))
                .and_then(|node| {
                    let text = CStr::from_ptr((*(*node as *mut pg_sys::String)).sval);
                    serde_json::from_slice(text.to_bytes()).ok()
                })
                .ok_or(FdwError::Internal(
                    "a foreign scan plan clerk_fdw did not make",
                ))
        }
    }
}
