//! SQL-level tests: a real Postgres backend reads from the Clerk-compatible
//! server, which runs inside the backend's process on a free 127.0.0.1 port.

mod bi_filters;
mod catalogue;
mod crash_free;
mod differential;
mod errors;
mod examples;
mod fidelity;
mod fixtures;
mod golden;
mod hostile;
mod load;
mod local_ids;
mod mirror;
mod more_objects;
mod prism;
mod pushdown;
mod readme;
mod search_box;
mod security;
mod seed;
mod setup;
mod support;
mod writes;
