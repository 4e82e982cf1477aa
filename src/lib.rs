//! clerk_fdw: Clerk's users, organizations and memberships as Postgres
//! foreign tables.
//!
//! - [`objects`]: what each Clerk object is (endpoint, paging, columns).
//! - [`client`]: the HTTP client (auth, retries, errors), no Postgres.
//! - [`scan`]: paging through a list endpoint into a bounded channel.
//! - [`convert`]: JSON to the declared column types.
//! - [`fdw`]: the Postgres glue.

use pgrx::prelude::*;
use std::ffi::c_void;

pub mod client;
pub mod convert;
mod fdw;
pub mod objects;
pub mod runtime;
pub mod scan;

::pgrx::pg_module_magic!();

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // SAFETY: registering a callback with a static function, once per backend.
    unsafe { pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut()) };
}

/// An aborted transaction never reaches the scan's end callback: stop its
/// background fetches here.
#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    if event == pg_sys::XactEvent::XACT_EVENT_ABORT
        || event == pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT
    {
        runtime::abort_all();
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
