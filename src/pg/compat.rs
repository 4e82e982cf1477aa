//! The PostgreSQL API differences between the supported majors (15 to 18),
//! in one place: the rest of the code calls these.
//!
//! A new major is added here first: every function names each major it
//! supports, so building for one not listed fails to compile rather than
//! falling into another major's branch.

#[cfg(not(any(feature = "pg15", feature = "pg16", feature = "pg17", feature = "pg18")))]
compile_error!("clerk_fdw supports PostgreSQL 15 to 18; add a new major to src/pg/compat.rs");

use pgrx::pg_sys;
use std::ptr;

/// A path for the scan of a base relation.
///
/// # Safety
/// Planner pointers of the relation being planned; `pathkeys` and
/// `required_outer` NIL/NULL or valid.
pub unsafe fn foreign_scan_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup: f64,
    total: f64,
    pathkeys: *mut pg_sys::List,
    required_outer: pg_sys::Relids,
) -> *mut pg_sys::ForeignPath {
    // SAFETY: per the function's contract.
    unsafe {
        pg_sys::create_foreignscan_path(
            root,
            rel,
            ptr::null_mut(),
            rows,
            #[cfg(feature = "pg18")]
            0,
            startup,
            total,
            pathkeys,
            required_outer,
            ptr::null_mut(),
            #[cfg(any(feature = "pg17", feature = "pg18"))]
            ptr::null_mut(),
            ptr::null_mut(),
        )
    }
}

/// A path computing an upper relation (the aggregate) remotely.
///
/// # Safety
/// Planner pointers of the upper relation being planned; `fdw_private` a
/// valid List.
pub unsafe fn foreign_upper_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup: f64,
    total: f64,
    fdw_private: *mut pg_sys::List,
) -> *mut pg_sys::ForeignPath {
    // SAFETY: per the function's contract.
    unsafe {
        pg_sys::create_foreign_upper_path(
            root,
            rel,
            (*rel).reltarget,
            rows,
            #[cfg(feature = "pg18")]
            0,
            startup,
            total,
            ptr::null_mut(),
            ptr::null_mut(),
            #[cfg(any(feature = "pg17", feature = "pg18"))]
            ptr::null_mut(),
            fdw_private,
        )
    }
}

/// Whether a path key sorts descending.
///
/// # Safety
/// `key` is a valid PathKey.
pub unsafe fn descending(key: *mut pg_sys::PathKey) -> bool {
    // SAFETY: per the function's contract.
    unsafe {
        #[cfg(feature = "pg18")]
        return (*key).pk_cmptype == pg_sys::CompareType::COMPARE_GT;
        #[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17"))]
        return (*key).pk_strategy as u32 == pg_sys::BTGreaterStrategyNumber;
    }
}

/// Empties a slot (`ExecClearTuple`, a static inline function in C).
///
/// # Safety
/// `slot` is a valid, initialised slot.
pub unsafe fn clear_slot(slot: *mut pg_sys::TupleTableSlot) {
    // SAFETY: every slot has its ops, and every ops has `clear`.
    unsafe {
        if let Some(clear) = (*(*slot).tts_ops).clear {
            clear(slot);
        }
    }
}

/// Whether an outer join may have set the Var to NULL (PostgreSQL 16 and
/// later mark such Vars; 15 has no such Vars in equivalence classes).
///
/// # Safety
/// `var` is a valid Var.
pub unsafe fn var_is_nulled(var: *mut pg_sys::Var) -> bool {
    #[cfg(any(feature = "pg16", feature = "pg17", feature = "pg18"))]
    // SAFETY: per the function's contract.
    return unsafe { !(*var).varnullingrels.is_null() };
    #[cfg(feature = "pg15")]
    {
        let _ = var;
        false
    }
}
