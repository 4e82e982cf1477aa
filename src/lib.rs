//! clerk_fdw: Clerk's users, organizations, memberships and more as
//! Postgres foreign tables.
//!
//! Plain Rust, never importing [`pg`]:
//! - [`objects`]: what each Clerk object is (endpoints, filters, columns).
//! - [`pushdown`]: conditions, order and limit to the narrowest requests.
//! - [`client`]: the HTTP client (auth, retries, errors), with [`budget`]
//!   (the request budget shared by the cluster's backends).
//! - [`estimates`]: Clerk's row counts for the planner, shared the same way
//!   (both in [`shared_words`]).
//! - [`scan`]: paging through the planned requests on [`runtime`]'s threads.
//! - [`convert`]: JSON to the declared column types.
//! - [`lookups`]: a nested loop's lookups turned into one read of the list.
//! - [`mirror`]: the webhook-fed local copy: events, versions, signatures.
//! - [`writes`]: the requests an INSERT, UPDATE or DELETE becomes.
//!
//! [`pg`]: everything that touches Postgres (the FDW routine, planner and
//! executor callbacks, options, SQL functions).

pub mod budget;
pub mod catalog;
pub mod client;
pub mod convert;
pub mod estimates;
pub mod lookups;
pub mod mirror;
mod pg;
pub mod plan;
pub mod request;
pub mod runtime;
pub mod scan;
pub mod shared_words;
pub mod writes;

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
