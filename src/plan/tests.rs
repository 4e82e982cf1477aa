use super::*;
use crate::catalog::object;
use crate::request::*;

/// `range_param` panics on a catalog range filter it does not know:
/// every one in the catalog has both its parameter names.
#[test]
fn every_catalog_range_filter_has_its_parameter_names() {
    for object in crate::catalog::OBJECTS {
        for endpoint in object.endpoints {
            for f in endpoint.filters.iter().filter(|f| f.how == Match::Range) {
                assert_eq!(range_param(f.param, "_after"), format!("{}_after", f.param));
                assert_eq!(
                    range_param(f.param, "_before"),
                    format!("{}_before", f.param)
                );
            }
        }
    }
}

fn cond(column: &str, op: Op, value: Operand) -> Condition {
    Condition {
        column: column.into(),
        op,
        value,
    }
}
fn text(s: &str) -> Operand {
    Operand::Text(s.into())
}
fn plan_of(obj: &str, conditions: Vec<Condition>) -> ScanPlan {
    plan(
        object(obj).unwrap(),
        &Request {
            conditions,
            ..Request::default()
        },
    )
}

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
