//! The filters and keys of billing and the other objects, as narrow requests.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::catalogue::*;

    use clerk_mock::DataConfig;

    use serde_json::Value;

    #[pg_test]
    fn billing_filters_and_keys_become_narrow_requests() {
        let server = mock(DataConfig::default());
        let mut c = imported(&server, "cat2");
        let b = &server.dataset().billing;
        let items = &b.subscription_items;
        let org_plans = ids_where(&b.plans, |p| p["for_payer_type"] == "org");
        check(
            &mut c,
            &server,
            "select id from cat2.billing_plans where for_payer_type = 'org'",
            org_plans,
            &[("billing/plans", &[("payer_type", "org")])],
        );
        check(
            &mut c,
            &server,
            "select id from cat2.billing_plans where for_payer_type = 'team'",
            vec![],
            &[],
        );

        let pro = b.plans[1]["id"].as_str().unwrap();
        check(
            &mut c,
            &server,
            &format!("select id from cat2.billing_prices where plan_id = '{pro}'"),
            ids_where(&b.prices, |p| p["plan_id"] == pro),
            &[("billing/prices", &[("plan_id", pro)])],
        );
        // Clerk answers 404 for a plan it does not have: no rows.
        check(
            &mut c,
            &server,
            "select id from cat2.billing_prices where plan_id = 'cplan_nobody'",
            vec![],
            &[("billing/prices", &[("plan_id", "cplan_nobody")])],
        );

        for status in ["past_due", "active", "ended", "upcoming"] {
            let want = ids_where(items, |i| i["status"] == status);
            let page: (&str, &[(&str, &str)]) = (
                "billing/subscription_items",
                &[("status", status), ("include_free", "true")],
            );
            let pages = if want.len() > 500 {
                vec![page, page]
            } else {
                vec![page]
            };
            check(
                &mut c,
                &server,
                &format!(
                    "select id from cat2.billing_subscription_items where status = '{status}'"
                ),
                want,
                &pages,
            );
        }
        // Clerk cannot list by this status: one full read, Postgres filters.
        check(
            &mut c,
            &server,
            "select id from cat2.billing_subscription_items where status = 'canceled'",
            ids_where(items, |i| i["status"] == "canceled"),
            &[
                ("billing/subscription_items", &[("include_free", "true")]),
                ("billing/subscription_items", &[("offset", "499")]),
            ],
        );
        check(
            &mut c,
            &server,
            &format!(
                "select id from cat2.billing_subscription_items where payer_type = 'org' and plan_id = '{}'",
                org_plans_of(b, 1)
            ),
            ids_where(items, |i| {
                i["plan"]["for_payer_type"] == "org" && i["plan_id"] == org_plans_of(b, 1)
            }),
            &[(
                "billing/subscription_items",
                &[("payer_type", "org"), ("plan_id", org_plans_of(b, 1))],
            )],
        );
        // count(*) is Clerk's total_count: one request for one row.
        server.clear_log();
        let past_due = items.iter().filter(|i| i["status"] == "past_due").count();
        assert_eq!(
            one(
                &mut c,
                "select count(*) from cat2.billing_subscription_items where status = 'past_due'"
            ),
            past_due.to_string()
        );
        // The planner's estimate may be the same request.
        let sent = server.requests();
        assert!(!sent.is_empty() && sent.len() <= 2, "{sent:?}");
        assert!(
            sent.iter().all(|r| r.param("limit") == Some("1")),
            "{sent:?}"
        );

        // Statements by id, and the payment attempts of open statements.
        let statement = b.statements[3]["id"].as_str().unwrap();
        check(
            &mut c,
            &server,
            &format!("select id, status from cat2.billing_statements where id = '{statement}'"),
            vec![format!(
                "{statement}|{}",
                b.statements[3]["status"].as_str().unwrap()
            )],
            &[(&format!("billing/statements/{statement}"), &[])],
        );
        check(
            &mut c,
            &server,
            "select id from cat2.billing_statements where id = 'stmt_nobody'",
            vec![],
            &[("billing/statements/stmt_nobody", &[])],
        );
        let open: Vec<&Value> = b
            .statements
            .iter()
            .filter(|s| s["status"] == "open")
            .collect();
        let want: Vec<String> = open
            .iter()
            .flat_map(|s| {
                let id = s["id"].as_str().unwrap();
                b.payment_attempts[id]
                    .iter()
                    .map(move |a| format!("{id}|{}", a["status"].as_str().unwrap()))
            })
            .collect();
        assert!(!want.is_empty());
        server.clear_log();
        let mut got = rows(
            &mut c,
            "select s.id, a.status from cat2.billing_statements s
               join cat2.billing_payment_attempts a on a.statement_id = s.id where s.status = 'open'",
        )
        .unwrap();
        got.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got, want_sorted);
        let lookups = data_requests(&server)
            .iter()
            .filter(|r| r.path.ends_with("/payment_attempts"))
            .count();
        assert_eq!(lookups, open.len(), "one request per open statement");
        let (code, message) = failure(&mut c, "select * from cat2.billing_payment_attempts");
        assert!(message.contains("statement_id"), "{code}: {message}");

        // A subscription per user or organization, by key.
        let (payer, subscription) = b
            .subscriptions
            .iter()
            .find(|(k, _)| k.starts_with("user_"))
            .unwrap();
        check(
            &mut c,
            &server,
            &format!("select id, user_id, organization_id, status from cat2.billing_subscriptions where user_id = '{payer}'"),
            vec![format!(
                "{}|{payer}|NULL|{}",
                subscription["id"].as_str().unwrap(),
                subscription["status"].as_str().unwrap()
            )],
            &[(&format!("users/{payer}/billing/subscription"), &[])],
        );
        let ds = server.dataset();
        let user_without = ds
            .users
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .find(|u| !b.subscriptions.contains_key(*u))
            .unwrap();
        check(
            &mut c,
            &server,
            &format!("select id from cat2.billing_subscriptions where user_id = '{user_without}'"),
            vec![],
            &[(&format!("users/{user_without}/billing/subscription"), &[])],
        );
        server.clear_log();
        let mut got = rows(
            &mut c,
            "select o.id, s.status from cat2.organizations o join cat2.billing_subscriptions s on s.organization_id = o.id",
        )
        .unwrap();
        got.sort();
        let mut want: Vec<String> = server
            .dataset()
            .organizations
            .iter()
            .filter_map(|o| {
                let id = o["id"].as_str().unwrap();
                b.subscriptions
                    .get(id)
                    .map(|s| format!("{id}|{}", s["status"].as_str().unwrap()))
            })
            .collect();
        want.sort();
        assert_eq!(got, want);
        assert!(!want.is_empty());
    }

    #[pg_test]
    fn other_objects_filters_and_keys_become_narrow_requests() {
        let server = mock(DataConfig::default());
        let mut c = imported(&server, "cat3");
        let ds = server.dataset();
        let s = &ds.settings;
        check(
            &mut c,
            &server,
            "select id from cat3.waitlist_entries where status = 'invited'",
            ids_where(&s.waitlist_entries, |e| e["status"] == "invited"),
            &[("waitlist_entries", &[("status", "invited")])],
        );
        let mut newest: Vec<&Value> = s.waitlist_entries.iter().collect();
        newest.sort_by_key(|e| std::cmp::Reverse(e["created_at"].as_i64()));
        check(
            &mut c,
            &server,
            "select id from cat3.waitlist_entries order by created_at desc limit 5",
            newest
                .iter()
                .take(5)
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect(),
            &[(
                "waitlist_entries",
                &[("order_by", "-created_at"), ("limit", "5")],
            )],
        );
        let org = ds.organizations[0]["id"].as_str().unwrap();
        check(
            &mut c,
            &server,
            &format!("select id from cat3.enterprise_connections where active and organization_id = '{org}'"),
            ids_where(&s.enterprise_connections, |e| e["active"] == true && e["organization_id"] == org),
            &[("enterprise_connections", &[("active", "true"), ("organization_id", org)])],
        );
        check(
            &mut c,
            &server,
            &format!("select id from cat3.organization_domains where organization_id = '{org}'"),
            ids_where(&s.organization_domains, |d| d["organization_id"] == org),
            &[("organization_domains", &[("organization_id", org)])],
        );
        check(
            &mut c,
            &server,
            "select id from cat3.organization_domains where name = 'org4.example.com'",
            ids_where(&s.organization_domains, |d| d["name"] == "org4.example.com"),
            &[("organization_domains", &[("domains", "org4.example.com")])],
        );
        server.clear_log();
        let mut got = rows(
            &mut c,
            "select id from cat3.organization_domains where enrollment_mode in ('manual_invitation', 'enterprise_sso')",
        )
        .unwrap();
        got.sort();
        let mut want = ids_where(&s.organization_domains, |d| {
            d["enrollment_mode"] == "manual_invitation" || d["enrollment_mode"] == "enterprise_sso"
        });
        want.sort();
        assert_eq!(got, want);
        let sent = data_requests(&server);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0]
                .query
                .iter()
                .filter(|(k, _)| k == "enrollment_mode")
                .count(),
            2
        );
        check(
            &mut c,
            &server,
            "select id from cat3.organization_domains where enrollment_mode = 'sso'",
            vec![],
            &[],
        );

        // A user's organization invitations: those sent to the user's
        // addresses.
        let invited = ds
            .users
            .iter()
            .find(|u| {
                ds.organization_invitations
                    .iter()
                    .any(|i| i["email_address"] == u["email_addresses"][0]["email_address"])
            })
            .unwrap();
        let user = invited["id"].as_str().unwrap();
        let email = &invited["email_addresses"][0]["email_address"];
        check(
            &mut c,
            &server,
            &format!(
                "select id, user_id from cat3.user_organization_invitations where user_id = '{user}'"
            ),
            ds.organization_invitations
                .iter()
                .filter(|i| i["email_address"] == *email)
                .map(|i| format!("{}|{user}", i["id"].as_str().unwrap()))
                .collect(),
            &[(&format!("users/{user}/organization_invitations"), &[])],
        );
        let (_, message) = failure(&mut c, "select * from cat3.user_organization_invitations");
        assert!(message.contains("user_id"), "{message}");

        // API keys and M2M tokens of a machine, revoked and expired ones too,
        // 100 a page.
        let machine = s.machines[0]["id"].as_str().unwrap();
        check(
            &mut c,
            &server,
            &format!("select id, revoked from cat3.api_keys where subject = '{machine}'"),
            s.api_keys[machine]
                .iter()
                .map(|k| {
                    format!(
                        "{}|{}",
                        k["id"].as_str().unwrap(),
                        if k["revoked"] == true { "t" } else { "f" }
                    )
                })
                .collect(),
            &[(
                "api_keys",
                &[("subject", machine), ("include_invalid", "true")],
            )],
        );
        let tokens = &s.m2m_tokens[machine];
        assert!(tokens.len() > 100);
        check(
            &mut c,
            &server,
            &format!("select id from cat3.m2m_tokens where subject = '{machine}'"),
            tokens
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect(),
            &[
                (
                    "m2m_tokens",
                    &[
                        ("subject", machine),
                        ("limit", "100"),
                        ("revoked", "true"),
                        ("expired", "true"),
                    ],
                ),
                ("m2m_tokens", &[("offset", "99"), ("limit", "100")]),
            ],
        );
        // Keys per machine, a join handing the scan one subject at a time.
        let mut want: Vec<String> = s
            .machines
            .iter()
            .map(|m| {
                let id = m["id"].as_str().unwrap();
                format!("{id}|{}", s.m2m_tokens[id].len())
            })
            .filter(|r| !r.ends_with("|0"))
            .collect();
        want.sort();
        let mut got = rows(
            &mut c,
            "select m.id, count(*) from cat3.machines m join cat3.m2m_tokens t on t.subject = m.id group by 1",
        )
        .unwrap();
        got.sort();
        assert_eq!(got, want);
        let (_, message) = failure(&mut c, "select * from cat3.api_keys");
        assert!(message.contains("subject"), "{message}");
        let (_, message) = failure(&mut c, "select * from cat3.billing_subscriptions");
        assert!(
            message.contains("user_id") && message.contains("organization_id"),
            "{message}"
        );
    }
}
