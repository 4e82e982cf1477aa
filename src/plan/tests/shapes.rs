//! Order, limit, run-time values, estimates, counts and what the catalogue
//! asks for on request.

use super::*;
use crate::catalog::object;
use crate::plan::*;
use crate::request::*;

#[test]
fn order_and_limit_are_pushed_only_when_safe() {
    let users = object("users").unwrap();
    let req = |conditions, column: &str, limit| Request {
        conditions,
        order: Some(OrderBy {
            column: column.into(),
            descending: true,
        }),
        limit,
        reads: vec![],
    };
    let p = plan(users, &req(vec![], "created_at", Some(10)));
    assert!(p.ordered);
    assert_eq!(p.describe(), ["GET /users?order_by=-created_at&limit=10"]);
    // Clerk cannot sort by email with the cursor: Postgres sorts, so all rows are needed.
    let p = plan(users, &req(vec![], "email", Some(10)));
    assert!(!p.ordered);
    assert_eq!(p.max_rows, None);
    // A filter Postgres re-checks may drop rows: LIMIT cannot be pushed.
    let p = plan(
        users,
        &req(
            vec![cond("email", Op::Eq, text("a"))],
            "created_at",
            Some(10),
        ),
    );
    assert_eq!(p.max_rows, None);
    assert_eq!(p.page_size(0), 500);
}

#[test]
fn runtime_values_show_as_placeholders_and_bind_later() {
    let users = object("users").unwrap();
    let request = Request {
        conditions: vec![cond("created_at", Op::Gt, Operand::Runtime(0))],
        ..Request::default()
    };
    assert_eq!(
        plan(users, &request).describe(),
        ["GET /users?created_at_after=$1&order_by=-created_at&limit=500"]
    );
    let bound = request.bind(&[Operand::Int(5)]);
    assert_eq!(
        plan(users, &bound).describe(),
        ["GET /users?created_at_after=5&order_by=-created_at&limit=500"]
    );
}

#[test]
fn estimates_follow_keys_and_ranges() {
    let total = || 100_000.0;
    assert_eq!(plan_of("users", vec![]).estimate_rows(total), 100_000.0);
    let ids = Operand::List(vec![text("user_1"), text("user_2")]);
    assert_eq!(
        plan_of("users", vec![cond("id", Op::Eq, ids)]).estimate_rows(|| unreachable!()),
        2.0
    );
    let recent = plan_of(
        "users",
        vec![cond("created_at", Op::Gt, Operand::Runtime(0))],
    );
    assert_eq!(recent.estimate_rows(total), 30_000.0);
    let by_user = plan_of(
        "organization_memberships",
        vec![cond("user_id", Op::Eq, text("u"))],
    );
    assert_eq!(by_user.estimate_rows(|| unreachable!()), 3.0);
    assert_eq!(
        plan_of("users", vec![cond("id", Op::Eq, Operand::Null)]).estimate_rows(total),
        0.0
    );
}

#[test]
fn only_guessed_estimates_are_worth_a_count() {
    let guessed = |object: &str, conditions: Vec<Condition>| {
        plan_of(object, conditions).estimate_is_guessed()
    };
    assert!(!guessed("users", vec![]), "the total is a count already");
    assert!(!guessed("users", vec![cond("id", Op::Eq, text("u"))]));
    assert!(guessed(
        "users",
        vec![cond("created_at", Op::Gt, Operand::Int(5))]
    ));
    assert!(guessed(
        "users",
        vec![cond("banned", Op::Eq, Operand::Bool(true))]
    ));
    let org = || cond("organization_id", Op::Eq, text("org_1"));
    assert!(guessed("organization_memberships", vec![org()]));
    assert!(!guessed(
        "organization_memberships",
        vec![org(), cond("user_id", Op::Eq, text("u"))]
    ));
    assert!(!guessed(
        "organizations",
        vec![cond("id", Op::Eq, text("org_1"))]
    ));
}

#[test]
fn runtime_values_are_found_in_lists_too() {
    let request = |value| Request {
        conditions: vec![cond("id", Op::Eq, value)],
        ..Request::default()
    };
    assert!(!request(text("u")).has_runtime_values());
    assert!(request(Operand::Runtime(0)).has_runtime_values());
    assert!(request(Operand::List(vec![text("u"), Operand::Runtime(1)])).has_runtime_values());
}

#[test]
fn counts_use_the_count_endpoint_or_total_count() {
    let p = plan_of("users", vec![cond("created_at", Op::Gt, Operand::Int(5))]);
    let c = p.count_requests().unwrap();
    assert_eq!(c[0].path, ["users", "count"]);
    assert_eq!(c[0].params, [("created_at_after", "5".to_string())]);
    let p = plan_of("organizations", vec![]);
    assert_eq!(
        p.count_requests().unwrap()[0].params,
        [("limit", "1".to_string())]
    );
    let p = plan_of("organizations", vec![cond("slug", Op::Eq, text("acme"))]);
    assert!(p.count_requests().is_none());
}
#[test]
fn values_outside_the_specs_enum_send_no_request() {
    for value in ["bogus", "Pending", "PENDING"] {
        let p = plan_of("invitations", vec![cond("status", Op::Eq, text(value))]);
        assert!(p.series.is_empty(), "{value}");
    }
    let p = plan_of(
        "organization_invitations",
        vec![cond(
            "status",
            Op::Eq,
            Operand::List(vec![text("pending"), text("bogus")]),
        )],
    );
    assert_eq!(p.series.len(), 1);
    assert!(p.series[0].params.contains(&("status", "pending".into())));
    let p = plan_of(
        "sessions",
        vec![
            cond("user_id", Op::Eq, text("user_1")),
            cond("status", Op::Eq, text("signed_in")),
        ],
    );
    assert!(p.series.is_empty());
}

#[test]
fn statuses_the_filter_does_not_take_are_left_to_postgres() {
    // A subscription item can be canceled, but Clerk does not list by
    // that status: Postgres filters the whole list.
    let p = plan_of(
        "billing_subscription_items",
        vec![cond("status", Op::Eq, text("canceled"))],
    );
    assert!(!p.exact);
    assert_eq!(
        p.describe(),
        ["GET /billing/subscription_items?include_free=true&paginated=true&limit=500"]
    );
    let p = plan_of(
        "billing_subscription_items",
        vec![
            cond("status", Op::Eq, text("past_due")),
            cond("payer_type", Op::Eq, text("org")),
        ],
    );
    assert!(p.exact);
    assert_eq!(
        p.describe(),
        ["GET /billing/subscription_items?status=past_due&payer_type=org&include_free=true&paginated=true&limit=500"]
    );
    let p = plan_of(
        "billing_plans",
        vec![cond("for_payer_type", Op::Eq, text("team"))],
    );
    assert!(p.series.is_empty());
}

#[test]
fn keyed_only_objects_and_their_page_sizes() {
    for (object_name, key) in [
        ("billing_payment_attempts", "statement_id"),
        ("billing_subscriptions", "user_id"),
        ("user_organization_invitations", "user_id"),
        ("api_keys", "subject"),
        ("m2m_tokens", "subject"),
    ] {
        let p = ScanPlan::full(object(object_name).unwrap());
        assert!(p.missing_key, "{object_name}");
        let p = plan_of(object_name, vec![cond(key, Op::Eq, text("x_1"))]);
        assert!(!p.missing_key, "{object_name}");
        assert_eq!(p.series[0].key_value(), Some("x_1"), "{object_name}");
    }
    let p = plan_of("m2m_tokens", vec![cond("subject", Op::Eq, text("mch_1"))]);
    assert_eq!(
        p.describe(),
        ["GET /m2m_tokens?subject=mch_1&revoked=true&expired=true&limit=100"]
    );
    let p = plan_of(
        "billing_subscriptions",
        vec![cond("organization_id", Op::Eq, text("org_1"))],
    );
    assert_eq!(
        p.describe(),
        ["GET /organizations/org_1/billing/subscription"]
    );
    let p = plan_of(
        "billing_statements",
        vec![cond("id", Op::Eq, text("stmt_1"))],
    );
    assert_eq!(p.describe(), ["GET /billing/statements/stmt_1"]);
}

#[test]
fn revoked_invitations_are_asked_for_separately() {
    let p = ScanPlan::full(object("invitations").unwrap());
    let statuses: Vec<_> = p
        .series
        .iter()
        .map(|s| {
            s.params
                .iter()
                .find(|(k, _)| *k == "status")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(statuses, [None, Some("revoked".to_string())]);
    let p = plan_of(
        "invitations",
        vec![cond("status", Op::Eq, text("accepted"))],
    );
    assert_eq!(p.series.len(), 1);
    // organization_invitations lists every status by default.
    assert_eq!(
        ScanPlan::full(object("organization_invitations").unwrap())
            .series
            .len(),
        1
    );
}

#[test]
fn members_count_is_asked_for_when_read_or_sorted_by() {
    let orgs = object("organizations").unwrap();
    let flag = ("include_members_count", "true".to_string());
    let reads = |columns: &[&str]| Request {
        reads: columns.iter().map(|c| c.to_string()).collect(),
        ..Request::default()
    };
    assert!(!plan(orgs, &reads(&["id", "name"])).series[0]
        .params
        .contains(&flag));
    assert!(plan(orgs, &reads(&["id", "members_count"])).series[0]
        .params
        .contains(&flag));
    assert!(plan(orgs, &reads(&["attrs"])).series[0]
        .params
        .contains(&flag));
    let by_slug = plan(
        orgs,
        &Request {
            conditions: vec![cond("slug", Op::Eq, text("org-1"))],
            ..reads(&["members_count"])
        },
    );
    assert_eq!(by_slug.series[0].path, ["organizations", "org-1"]);
    assert!(by_slug.series[0].params.contains(&flag));

    let top = |limit| Request {
        order: Some(OrderBy {
            column: "members_count".into(),
            descending: true,
        }),
        limit,
        ..reads(&["id"])
    };
    let p = plan(orgs, &top(Some(10)));
    assert!(p.ordered && p.sorted);
    assert_eq!(p.max_rows, Some(10));
    assert_eq!(p.sort, Some(("members_count", true)));
    assert!(p.series[0]
        .params
        .contains(&("order_by", "-members_count".into())));
    assert!(p.series[0].params.contains(&flag));
    // Not unique: more than one page could shift between offsets.
    for limit in [None, Some(501)] {
        let p = plan(orgs, &top(limit));
        assert!(!p.ordered, "{limit:?}");
        assert!(p.series[0]
            .params
            .contains(&("order_by", "+created_at".into())));
    }
}
#[test]
fn like_patterns_narrow_by_their_longest_literal_part() {
    assert_eq!(like_literal("%@acme.com").as_deref(), Some("@acme.com"));
    assert_eq!(like_literal("ann.%").as_deref(), Some("ann."));
    assert_eq!(like_literal("a%bcd_e").as_deref(), Some("bcd"));
    assert_eq!(like_literal("100\\%%").as_deref(), Some("100%"));
    for nothing in ["%", "_%_", "", "%zoë%", "x\\"] {
        assert_eq!(like_literal(nothing), None, "{nothing}");
    }
}

#[test]
fn case_folded_and_substring_conditions_narrow_but_are_never_exact() {
    let p = plan_of(
        "users",
        vec![cond("email", Op::EqFolded, text("ann@x.com"))],
    );
    assert_eq!(
        p.series[0].params,
        [
            ("email_address", "ann@x.com".to_string()),
            ("order_by", "-created_at".to_string())
        ]
    );
    assert!(!p.exact);
    let p = plan_of(
        "users",
        vec![cond("email", Op::Contains, text("@acme.com"))],
    );
    assert!(p.series[0]
        .params
        .contains(&("email_address_query", "@acme.com".to_string())));
    assert!(!p.exact && p.count_requests().is_none());
    let p = plan_of("users", vec![cond("username", Op::Contains, text("ann"))]);
    assert!(p.series[0]
        .params
        .contains(&("username_query", "ann".to_string())));
    // An exact equality wins; the other conditions are left to Postgres.
    let p = plan_of(
        "users",
        vec![
            cond("email", Op::Contains, text("acme")),
            cond("email", Op::EqFolded, text("b@acme.com")),
            cond("email", Op::Eq, text("A@acme.com")),
        ],
    );
    assert_eq!(
        p.series[0].params,
        [
            ("email_address", "A@acme.com".to_string()),
            ("order_by", "-created_at".to_string())
        ]
    );
    // Neither equality nor substring on a column without such filters.
    let p = plan_of(
        "users",
        vec![
            cond("first_name", Op::EqFolded, text("ann")),
            cond("first_name", Op::Contains, text("nn")),
        ],
    );
    assert_eq!(
        p.series[0].params,
        [("order_by", "-created_at".to_string())]
    );
    assert!(!p.exact);
    // lower(email) = NULL matches nothing.
    assert!(
        plan_of("users", vec![cond("email", Op::EqFolded, Operand::Null)])
            .series
            .is_empty()
    );
}
#[test]
fn memberships_of_an_organization_in_a_time_range() {
    let p = plan_of(
        "organization_memberships",
        vec![
            cond("organization_id", Op::Eq, text("org_1")),
            cond("created_at", Op::Ge, Operand::Int(1_000)),
            cond("created_at", Op::Lt, Operand::Int(2_000)),
        ],
    );
    assert_eq!(p.series[0].path, ["organizations", "org_1", "memberships"]);
    assert!(p.series[0]
        .params
        .contains(&("created_at_after", "999".to_string())));
    assert!(p.series[0]
        .params
        .contains(&("created_at_before", "2000".to_string())));
    assert!(p.exact);
}
