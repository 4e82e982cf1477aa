//! clerk_fdw: Clerk's users, organizations, memberships and more as
//! Postgres foreign tables. ARCHITECTURE.md says where to add an object, a
//! filter shape or a Postgres major.
//!
//! Plain Rust, never importing [`pg`] nor pgrx, dependencies pointing down
//! this list:
//! - [`catalog`]: what each Clerk object is (endpoints, filters, columns),
//!   one file per family, and what an INSERT, UPDATE or DELETE of it
//!   becomes ([`catalog::writes`]).
//! - [`request`]: what a scan asks (conditions, order, limit).
//! - [`plan`]: a request to the narrowest Clerk requests.
//! - [`remote`]: the HTTP client, the request budget and row-count cache
//!   shared by the cluster's backends, and the scan walking a plan.
//! - [`convert`]: JSON to the declared column types.
//! - [`lookups`]: a nested loop's lookups turned into one read of the list.
//! - [`mirror`]: the webhook-fed local copy: events, versions, signatures.
//!
//! [`pg`]: everything that touches Postgres (the FDW routine, planner and
//! executor callbacks, options, SQL functions).

#![deny(unsafe_op_in_unsafe_fn)]

pub mod catalog;
pub mod convert;
pub mod lookups;
pub mod mirror;
mod pg;
pub mod plan;
pub mod remote;
pub mod request;

::pgrx::pg_module_magic!();

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod sql_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    /// A backend that crashes stops the test cluster instead of restarting
    /// it: every test after it fails, so a crash can never pass unnoticed.
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["restart_after_crash = off"]
    }
}
