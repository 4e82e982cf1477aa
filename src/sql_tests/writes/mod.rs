//! INSERT, UPDATE and DELETE: every write Clerk's API allows, against the
//! test server, whose own data is the oracle (what it holds after the
//! statement, and the requests it saw). Also the guards: `writable`,
//! `max_write_rows`, refused columns, failures mid-statement, ROLLBACK,
//! 429 and 503 storms, and cached plans.

mod cells;
mod guards;

use crate::sql_tests::support::*;
use clerk_mock::{DataConfig, MockServer};
use pgrx::prelude::*;
use serde_json::Value;

fn config() -> DataConfig {
    DataConfig {
        users: 300,
        organizations: 8,
        big_org_members: 20,
        members_per_org: 4,
        ..DataConfig::default()
    }
}

/// Server `name`, imported, with `writable` on.
fn writable(server: &MockServer, name: &str) -> postgres::Client {
    imported_with(server, name, ", writable 'true'")
}

/// The writes the test server saw, as `METHOD path status`.
fn writes(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect()
}

fn user(server: &MockServer, id: &str) -> Option<Value> {
    server
        .dataset()
        .users
        .iter()
        .find(|u| u["id"] == id)
        .cloned()
}

fn one(c: &mut postgres::Client, sql: &str) -> String {
    let r = rows(c, sql).unwrap_or_else(|e| panic!("{sql}: {}", error_message(e)));
    assert_eq!(r.len(), 1, "{sql}: {r:?}");
    r[0].clone()
}
