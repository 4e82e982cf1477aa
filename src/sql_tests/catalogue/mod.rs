//! The objects beyond users and organizations: Clerk Billing, the waitlist,
//! roles and permissions, enterprise connections, organization domains, a
//! user's organization invitations, machines, API keys, M2M tokens and the
//! instance settings. Each is read completely and exactly (the oracle is
//! the test server's data), its pushdowns send the requests asserted here,
//! keyed objects run through generic plans, and the examples built on them
//! answer what the data says.

mod filters;
mod reads;

use crate::sql_tests::support::*;
use clerk_mock::{MockServer, RequestRecord};
use pgrx::prelude::*;
use serde_json::Value;

fn sorted_by_id<'a>(list: impl IntoIterator<Item = &'a Value>) -> Vec<Value> {
    let mut list: Vec<Value> = list.into_iter().cloned().collect();
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    list
}

/// The `attrs` of `sql`'s rows, parsed.
fn attrs(c: &mut postgres::Client, sql: &str) -> Vec<Value> {
    rows(c, sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", error_message(e)))
        .iter()
        .map(|r| serde_json::from_str(r).expect("jsonb text"))
        .collect()
}

/// Requests for rows, leaving out the planner's `limit=1` estimates.
fn data_requests(server: &MockServer) -> Vec<RequestRecord> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.param("limit") != Some("1"))
        .collect()
}

fn one(c: &mut postgres::Client, sql: &str) -> String {
    let mut r = rows(c, sql).unwrap_or_else(|e| panic!("{sql}: {}", error_message(e)));
    assert_eq!(r.len(), 1, "{sql}");
    r.remove(0)
}

/// Asserts `sql` returns `want` (sorted) with exactly the data requests
/// `expected` (path and the parameters that matter).
fn check(
    c: &mut postgres::Client,
    server: &MockServer,
    sql: &str,
    mut want: Vec<String>,
    expected: &[(&str, &[(&str, &str)])],
) {
    server.clear_log();
    let mut got = rows(c, sql).unwrap_or_else(|e| panic!("{sql}: {}", error_message(e)));
    got.sort();
    want.sort();
    assert_eq!(got, want, "{sql}");
    let sent = data_requests(server);
    assert_eq!(sent.len(), expected.len(), "{sql}: {sent:?}");
    for (r, (path, params)) in sent.iter().zip(expected) {
        assert_eq!(r.path, format!("/v1/{path}"), "{sql}");
        for (k, v) in *params {
            assert_eq!(r.param(k), Some(*v), "{sql}: {k} in {r:?}");
        }
    }
    assert!(
        server.spec_violations().is_empty(),
        "{:?}",
        server.spec_violations()
    );
}

fn ids_where(list: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<String> {
    list.iter()
        .filter(|v| keep(v))
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// The id of the `n`th organization plan.
fn org_plans_of(b: &clerk_mock::billing::Billing, n: usize) -> &str {
    b.plans
        .iter()
        .filter(|p| p["for_payer_type"] == "org")
        .nth(n)
        .and_then(|p| p["id"].as_str())
        .unwrap()
}
