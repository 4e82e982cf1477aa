//! Filters and keys: which requests conditions become.

use super::*;
use crate::catalog::object;
use crate::plan::*;
use crate::request::*;

#[test]
fn full_scans_use_the_instance_wide_lists() {
    let p = ScanPlan::full(object("users").unwrap());
    assert!(p.exact);
    assert_eq!(p.describe(), ["GET /users?order_by=-created_at&limit=500"]);
    let p = ScanPlan::full(object("organization_memberships").unwrap());
    assert_eq!(
        p.describe(),
        ["GET /organization_memberships?order_by=%2Bcreated_at&limit=500"]
    );
}

#[test]
fn user_id_equality_and_in_lists_batch_by_100() {
    let p = plan_of("users", vec![cond("user_id", Op::Eq, text("user_1"))]);
    assert!(p.exact);
    assert_eq!(p.series.len(), 1);
    assert_eq!(p.series[0].params[0], ("user_id", "user_1".to_string()));

    let ids: Vec<Operand> = (0..150)
        .map(|i| text(&format!("user_{i}")))
        .chain([text("user_3"), Operand::Null])
        .collect();
    let p = plan_of("users", vec![cond("id", Op::Eq, Operand::List(ids))]);
    assert_eq!(p.series.len(), 2);
    let counts: Vec<usize> = p
        .series
        .iter()
        .map(|s| s.params.iter().filter(|(k, _)| *k == "user_id").count())
        .collect();
    assert_eq!(counts, [100, 50]);
}

#[test]
fn a_membership_from_a_join_narrows_users_and_organizations() {
    let member_of = |v| cond("id", Op::MemberOf, v);
    let p = plan_of("users", vec![member_of(text("org_1"))]);
    assert!(!p.exact, "the join, not Clerk, makes the answer exact");
    assert_eq!(
        p.describe(),
        ["GET /users?organization_id=org_1&order_by=-created_at&limit=500"]
    );
    // With the query's own conditions, run-time and signed values.
    let p = plan_of(
        "users",
        vec![
            member_of(Operand::Runtime(0)),
            cond("created_at", Op::Gt, Operand::Int(5)),
        ],
    );
    assert_eq!(
        p.describe(),
        ["GET /users?organization_id=$1&created_at_after=5&order_by=-created_at&limit=500"]
    );
    let p = plan_of(
        "organizations",
        vec![member_of(Operand::List(vec![text("user_1"), text("-x")]))],
    );
    assert_eq!(
        p.describe(),
        ["GET /organizations?user_id=user_1&user_id=%2B-x&order_by=%2Bcreated_at&limit=500"]
    );
    // Nothing to narrow by: the whole list, still not exact.
    for v in [Operand::Null, Operand::Int(3), Operand::List(vec![])] {
        let p = plan_of("users", vec![member_of(v.clone())]);
        assert_eq!(
            p.describe(),
            ["GET /users?order_by=-created_at&limit=500"],
            "{v:?}"
        );
        assert!(!p.exact);
    }
    // An object Clerk cannot narrow that way lists everything.
    let p = plan_of("invitations", vec![member_of(text("org_1"))]);
    assert!(p.series[0]
        .params
        .iter()
        .all(|(k, _)| *k != "organization_id"));
}

#[test]
fn impossible_conditions_send_no_request() {
    for conditions in [
        vec![cond("id", Op::Eq, Operand::Null)],
        vec![cond("id", Op::Eq, Operand::List(vec![]))],
        vec![cond("id", Op::Eq, text("a")), cond("id", Op::Eq, text("b"))],
        vec![cond("id", Op::Eq, text(""))],
        vec![
            cond("created_at", Op::Gt, Operand::Int(10)),
            cond("created_at", Op::Lt, Operand::Int(11)),
        ],
    ] {
        let p = plan_of("users", conditions.clone());
        assert!(p.series.is_empty(), "{conditions:?}");
    }
    let p = plan_of(
        "organization_memberships",
        vec![cond("user_id", Op::Eq, text(".."))],
    );
    assert!(p.series.is_empty());
}

#[test]
fn timestamp_bounds_are_exact_at_millisecond_edges() {
    let ms = 1_700_000_000_123i64;
    let us = (ms - 946_684_800_000) * 1000; // Postgres micros of that ms
    let bound = |op, v| {
        let p = plan_of("users", vec![cond("created_at", op, v)]);
        p.series[0]
            .params
            .iter()
            .find(|(k, _)| k.starts_with("created_at_"))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        bound(Op::Gt, Operand::PgMicros(us)),
        ("created_at_after", ms.to_string())
    );
    assert_eq!(
        bound(Op::Ge, Operand::PgMicros(us)),
        ("created_at_after", (ms - 1).to_string())
    );
    assert_eq!(
        bound(Op::Lt, Operand::PgMicros(us)),
        ("created_at_before", ms.to_string())
    );
    assert_eq!(
        bound(Op::Le, Operand::PgMicros(us)),
        ("created_at_before", (ms + 1).to_string())
    );
    // A microsecond past the millisecond: > keeps ms, >= needs ms + 1.
    assert_eq!(
        bound(Op::Gt, Operand::PgMicros(us + 1)),
        ("created_at_after", ms.to_string())
    );
    assert_eq!(
        bound(Op::Ge, Operand::PgMicros(us + 1)),
        ("created_at_after", ms.to_string())
    );
    assert_eq!(
        bound(Op::Lt, Operand::PgMicros(us + 1)),
        ("created_at_before", (ms + 1).to_string())
    );
    assert_eq!(
        bound(Op::Le, Operand::PgMicros(us + 1)),
        ("created_at_before", (ms + 1).to_string())
    );
    assert_eq!(
        bound(Op::Ge, Operand::Int(ms)),
        ("created_at_after", (ms - 1).to_string())
    );
    // BETWEEN keeps the tighter of repeated bounds.
    let p = plan_of(
        "users",
        vec![
            cond("created_at", Op::Ge, Operand::Int(100)),
            cond("created_at", Op::Gt, Operand::Int(200)),
            cond("created_at", Op::Le, Operand::Int(900)),
        ],
    );
    assert!(p.exact);
    assert_eq!(
        p.describe(),
        ["GET /users?created_at_after=200&created_at_before=901&order_by=-created_at&limit=500"]
    );
}

#[test]
fn wider_filters_are_pushed_but_not_exact() {
    let p = plan_of("users", vec![cond("email", Op::Eq, text("a@b.c"))]);
    assert!(!p.exact);
    assert_eq!(
        p.series[0].params[0],
        ("email_address", "a@b.c".to_string())
    );
    assert!(p.count_requests().is_none());
}

#[test]
fn signed_values_cannot_turn_into_exclusions() {
    let p = plan_of("users", vec![cond("id", Op::Eq, text("-user_1"))]);
    assert_eq!(p.series[0].params[0], ("user_id", "+-user_1".to_string()));
}

#[test]
fn memberships_route_by_organization_or_user() {
    let p = plan_of(
        "organization_memberships",
        vec![
            cond(
                "organization_id",
                Op::Eq,
                Operand::List(vec![text("org_1"), text("org_2")]),
            ),
            cond("role", Op::Eq, text("org:admin")),
        ],
    );
    assert!(p.exact);
    assert_eq!(p.describe(), [
        "GET /organizations/org_1/memberships?role=org%3Aadmin&order_by=%2Bcreated_at&limit=500",
        "GET /organizations/org_2/memberships?role=org%3Aadmin&order_by=%2Bcreated_at&limit=500",
    ]);
    let p = plan_of(
        "organization_memberships",
        vec![cond("user_id", Op::Eq, text("user_1"))],
    );
    assert_eq!(
        p.describe(),
        ["GET /users/user_1/organization_memberships?limit=500"]
    );
    assert_eq!(
        p.count_requests().unwrap()[0].params,
        [("limit", "1".to_string())]
    );
    // Role alone has no endpoint: the whole list, filtered by Postgres.
    let p = plan_of(
        "organization_memberships",
        vec![cond("role", Op::Eq, text("x"))],
    );
    assert!(!p.exact);
    assert_eq!(p.series[0].path, ["organization_memberships"]);
}

/// Clerk's invitation `status` is one string: `status=a&status=b` would
/// be read as `a` alone, so a list is one series per status (disjoint:
/// an invitation has one status).
#[test]
fn single_valued_filters_split_in_lists() {
    for object in ["invitations", "organization_invitations"] {
        let p = plan_of(
            object,
            vec![cond(
                "status",
                Op::Eq,
                Operand::List(vec![text("pending"), text("accepted")]),
            )],
        );
        assert!(p.exact, "{object}");
        let statuses: Vec<Vec<&str>> = p
            .series
            .iter()
            .map(|s| {
                s.params
                    .iter()
                    .filter(|(k, _)| *k == "status")
                    .map(|(_, v)| v.as_str())
                    .collect()
            })
            .collect();
        assert_eq!(statuses, [["pending"], ["accepted"]], "{object}");
    }
    let p = plan_of(
        "organization_invitations",
        vec![cond(
            "status",
            Op::Eq,
            Operand::List(vec![text("pending"), text("expired")]),
        )],
    );
    assert_eq!(
        p.count_requests().unwrap().len(),
        2,
        "counted per status, summed"
    );
}

#[test]
fn sessions_are_listed_only_per_user_or_client() {
    let p = ScanPlan::full(object("sessions").unwrap());
    assert!(p.missing_key);
    assert_eq!(
        p.describe(),
        ["none: sessions needs user_id = ... or client_id = ... in WHERE"]
    );
    // A status condition alone selects no user either.
    let p = plan_of("sessions", vec![cond("status", Op::Eq, text("active"))]);
    assert!(p.missing_key);

    let p = plan_of(
        "sessions",
        vec![
            cond(
                "user_id",
                Op::Eq,
                Operand::List(vec![text("user_1"), text("user_&2")]),
            ),
            cond("status", Op::Eq, text("active")),
        ],
    );
    assert!(!p.missing_key);
    assert!(p.exact);
    assert_eq!(
        p.describe(),
        [
            "GET /sessions?user_id=user_1&status=active&paginated=true&limit=500",
            "GET /sessions?user_id=user_%262&status=active&paginated=true&limit=500",
        ]
    );
    // Two users and two statuses would be four series: Postgres checks
    // the status.
    let two_statuses = || {
        cond(
            "status",
            Op::Eq,
            Operand::List(vec![text("active"), text("ended")]),
        )
    };
    let p = plan_of(
        "sessions",
        vec![
            cond(
                "user_id",
                Op::Eq,
                Operand::List(vec![text("user_1"), text("user_2")]),
            ),
            two_statuses(),
        ],
    );
    assert!(!p.exact);
    assert_eq!(p.series.len(), 2);
    let p = plan_of(
        "sessions",
        vec![cond("user_id", Op::Eq, text("user_1")), two_statuses()],
    );
    assert!(p.exact);
    assert_eq!(
        p.describe(),
        [
            "GET /sessions?user_id=user_1&status=active&paginated=true&limit=500",
            "GET /sessions?user_id=user_1&status=ended&paginated=true&limit=500",
        ]
    );
    let p = plan_of(
        "sessions",
        vec![cond("client_id", Op::Eq, Operand::Runtime(0))],
    );
    assert!(p.exact && !p.missing_key);
    assert_eq!(
        p.describe(),
        ["GET /sessions?client_id=$1&paginated=true&limit=500"]
    );
    // user_id = NULL matches nothing: no request, and nothing missing.
    let p = plan_of("sessions", vec![cond("user_id", Op::Eq, Operand::Null)]);
    assert!(p.series.is_empty() && !p.missing_key);
}

#[test]
fn values_never_change_the_endpoint_or_parameters() {
    let p = plan_of(
        "organization_memberships",
        vec![cond("user_id", Op::Eq, text("../organizations?x=1#"))],
    );
    assert_eq!(
        p.describe(),
        ["GET /users/..%2Forganizations%3Fx%3D1%23/organization_memberships?limit=500"]
    );
    let p = plan_of("users", vec![cond("email", Op::Eq, text("a&limit=1"))]);
    assert_eq!(
        p.describe(),
        ["GET /users?email_address=a%26limit%3D1&order_by=-created_at&limit=500"]
    );
    let p = plan_of("organizations", vec![cond("slug", Op::Eq, text("%2e%2e"))]);
    assert_eq!(p.describe(), ["GET /organizations/%252e%252e"]);
}
