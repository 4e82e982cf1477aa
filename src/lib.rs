//! clerk_fdw: Clerk's users, organizations and memberships as Postgres
//! foreign tables.
//!
//! - [`objects`]: what each Clerk object is (endpoints, filters, columns).
//! - [`pushdown`]: conditions, order and limit to the narrowest requests.
//! - [`client`]: the HTTP client (auth, retries, errors), no Postgres.
//! - [`scan`]: paging through the planned requests into a bounded channel.
//! - [`convert`]: JSON to the declared column types.
//! - [`fdw`]: the Postgres glue.

use pgrx::prelude::*;
use std::ffi::c_void;

pub mod budget;
pub mod client;
pub mod convert;
mod fdw;
pub mod objects;
mod planner;
pub mod pushdown;
pub mod runtime;
pub mod scan;

::pgrx::pg_module_magic!();

static mut PREVIOUS_EMIT_LOG_HOOK: pg_sys::emit_log_hook_type = None;

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // SAFETY: runs once per backend, on the backend thread, before any query.
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut());
        PREVIOUS_EMIT_LOG_HOOK = pg_sys::emit_log_hook;
        pg_sys::emit_log_hook = Some(quiet_unsupported_qual_warnings);
    }
}

/// supabase-wrappers warns, with a raw node dump, about every WHERE clause it
/// cannot hand to the FDW (`lower(email) = ...`, `created_at > now() - ...`).
/// Postgres still applies those clauses, so this is not news to a dashboard
/// user: keep such messages out of the client and log them at DEBUG1.
#[pg_guard]
unsafe extern "C-unwind" fn quiet_unsupported_qual_warnings(edata: *mut pg_sys::ErrorData) {
    const PREFIXES: &[&str] = &[
        "unsupported operator expression in qual",
        "unsupported qual",
        "only support const scalar array in qual",
        "only support binary operator expression",
        "operator is empty",
    ];
    // SAFETY: Postgres passes a valid ErrorData whose strings are NULL or C strings.
    unsafe {
        let e = &mut *edata;
        let text = |p: *const std::ffi::c_char| {
            (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_bytes())
        };
        if e.elevel == pg_sys::WARNING as i32
            && text(e.detail) == Some(b"Wrappers".as_slice())
            && text(e.message).is_some_and(|m| PREFIXES.iter().any(|p| m.starts_with(p.as_bytes())))
        {
            e.elevel = pg_sys::DEBUG1 as i32;
            e.output_to_client = false;
            e.output_to_server = pg_sys::log_min_messages <= pg_sys::DEBUG1 as i32;
        }
        if let Some(previous) = PREVIOUS_EMIT_LOG_HOOK {
            previous(edata);
        }
    }
}

/// An aborted transaction never reaches the scan's end callback: stop its
/// background fetches here.
#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    use pg_sys::XactEvent::*;
    if event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT {
        runtime::abort_all();
    }
    if matches!(
        event,
        XACT_EVENT_ABORT
            | XACT_EVENT_PARALLEL_ABORT
            | XACT_EVENT_COMMIT
            | XACT_EVENT_PARALLEL_COMMIT
    ) {
        planner::forget_running_scans();
    }
}

#[cfg(any(test, feature = "pg_test"))]
mod sql_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
