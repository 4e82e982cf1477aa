//! Every object read completely, keyed objects through reused plans, the billing and waitlist examples.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::catalogue::*;

    use clerk_mock::DataConfig;

    use serde_json::Value;
    use std::collections::BTreeMap;

    #[pg_test]
    fn every_object_is_imported_and_read_completely() {
        let server = mock(DataConfig::default());
        let mut c = imported(&server, "cat1");
        assert_eq!(
            one(
                &mut c,
                "select count(*) from information_schema.foreign_tables where foreign_table_schema = 'cat1'"
            ),
            crate::catalog::OBJECTS.len().to_string()
        );
        let ds = server.dataset();
        let (b, s) = (&ds.billing, &ds.settings);
        let lists: [(&str, &[Value]); 11] = [
            ("billing_plans", &b.plans),
            ("billing_prices", &b.prices),
            ("billing_subscription_items", &b.subscription_items),
            ("billing_statements", &b.statements),
            ("waitlist_entries", &s.waitlist_entries),
            ("organization_roles", &s.organization_roles),
            ("organization_permissions", &s.organization_permissions),
            ("role_sets", &s.role_sets),
            ("enterprise_connections", &s.enterprise_connections),
            ("organization_domains", &s.organization_domains),
            ("machines", &s.machines),
        ];
        for (table, data) in lists {
            server.clear_log();
            let got = attrs(
                &mut c,
                &format!("select attrs::text from cat1.{table} order by id"),
            );
            assert_eq!(got, sorted_by_id(data), "{table}");
            // Every page, each once: pages of 500 after the first start one
            // row early.
            let pages = 1 + data.len().saturating_sub(500).div_ceil(499);
            assert_eq!(data_requests(&server).len(), pages, "{table}");
        }
        assert!(b.subscription_items.len() > 500 && s.waitlist_entries.len() > 500);

        // Typed columns against Clerk's JSON, read by Postgres' own operators.
        let checks = [
            "select count(*) from cat1.billing_plans where fee_amount is distinct from (attrs #>> '{fee,amount}')::bigint
               or annual_fee_amount is distinct from (attrs #>> '{annual_fee,amount}')::bigint
               or currency is distinct from attrs #>> '{fee,currency}'
               or free_trial_days is distinct from (attrs ->> 'free_trial_days')::bigint
               or features is distinct from array(select f ->> 'slug' from jsonb_array_elements(attrs -> 'features') f)",
            "select count(*) from cat1.billing_subscription_items
              where fee_amount is distinct from (attrs #>> '{plan,fee,amount}')::bigint
                 or user_id is distinct from attrs #>> '{payer,user_id}'
                 or organization_id is distinct from attrs #>> '{payer,organization_id}'
                 or payer_type is distinct from attrs #>> '{plan,for_payer_type}'
                 or next_payment_amount is distinct from (attrs #>> '{next_payment,amount,amount}')::bigint
                 or next_payment_at is distinct from to_timestamp((attrs #>> '{next_payment,date}')::numeric / 1000)
                 or period_end is distinct from to_timestamp((attrs ->> 'period_end')::numeric / 1000)
                 or is_free_trial is distinct from (attrs ->> 'is_free_trial')::boolean",
            "select count(*) from cat1.billing_statements
              where grand_total_amount is distinct from (attrs #>> '{totals,grand_total,amount}')::bigint
                 or timestamp is distinct from to_timestamp((attrs ->> 'timestamp')::numeric / 1000)
                 or organization_id is distinct from attrs #>> '{payer,organization_id}'",
            "select count(*) from cat1.waitlist_entries
              where invitation_id is distinct from attrs #>> '{invitation,id}'
                 or invited_at is distinct from to_timestamp((attrs #>> '{invitation,created_at}')::numeric / 1000)",
            "select count(*) from cat1.organization_roles
              where permissions is distinct from array(select p ->> 'key' from jsonb_array_elements(attrs -> 'permissions') p)",
            "select count(*) from cat1.role_sets where default_role is distinct from attrs #>> '{default_role,key}'",
            "select count(*) from cat1.organization_domains
              where verification_status is distinct from attrs #>> '{affiliation_verification,status}'
                 or total_pending_invitations is distinct from (attrs ->> 'total_pending_invitations')::bigint",
            "select count(*) from cat1.machines
              where scoped_machines is distinct from array(select m ->> 'id' from jsonb_array_elements(attrs -> 'scoped_machines') m)",
        ];
        for sql in checks {
            assert_eq!(one(&mut c, sql), "0", "{sql}");
        }

        // One-row tables.
        assert_eq!(
            one(&mut c, "select id || '|' || environment_type || '|' || allowed_origins::text from cat1.instance"),
            format!("{}|production|{{https://app.example.com}}", clerk_mock::data::INSTANCE_ID)
        );
        assert_eq!(
            one(
                &mut c,
                "select enabled, creator_role, max_allowed_roles, domains_enrollment_modes from cat1.instance_organization_settings"
            ),
            "t|org:admin|10|{manual_invitation,automatic_invitation,automatic_suggestion}"
        );

        // Money as numeric stays exact; as floating point it is refused.
        c.batch_execute(
            "create foreign table cat1.plan_money (id text, fee_amount numeric, annual_fee_amount numeric)
               server cat1 options (object 'billing_plans');
             create foreign table cat1.plan_float (id text, fee_amount double precision)
               server cat1 options (object 'billing_plans');",
        )
        .unwrap();
        let want: i64 = b
            .plans
            .iter()
            .map(|p| p["annual_fee"]["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(
            one(
                &mut c,
                "select sum(annual_fee_amount) / 100 from cat1.plan_money"
            ),
            format!("{}.0000000000000000", want / 100)
        );
        let (_, message) = failure(&mut c, "select fee_amount from cat1.plan_float");
        assert!(message.contains("fee_amount"), "{message}");
        assert!(message.contains("double precision"), "{message}");
    }

    /// Keyed lookups and enum checks through prepared statements under
    /// generic plans, functions called again and again, cursors and
    /// savepoint-caught errors.
    #[pg_test]
    fn keyed_objects_through_generic_plans_functions_and_cursors() {
        let server = mock(DataConfig::default());
        let mut c = imported(&server, "cat4");
        let b = &server.dataset().billing;
        c.batch_execute(
            "set plan_cache_mode = force_generic_plan;
             prepare sub(text) as select count(*) from cat4.billing_subscriptions where user_id = $1;
             prepare items(text) as select count(*) from cat4.billing_subscription_items where status = $1;
             create function cat4.plan_of(u text) returns text language plpgsql as $$
               declare p text;
               begin
                 select i.plan_slug into p from cat4.billing_subscriptions s
                   cross join lateral jsonb_array_elements(s.subscription_items) e
                   join cat4.billing_subscription_items i on i.id = e ->> 'id'
                  where s.user_id = u order by i.created_at desc limit 1;
                 return p;
               end $$;",
        )
        .unwrap();
        let ds = server.dataset();
        let users: Vec<&str> = ds
            .users
            .iter()
            .take(16)
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        for round in 0..2 {
            for u in &users {
                let want = usize::from(b.subscriptions.contains_key(*u));
                assert_eq!(
                    one(&mut c, &format!("execute sub('{u}')")),
                    want.to_string(),
                    "round {round}"
                );
            }
            for status in ["past_due", "canceled", "bogus", "active", "free_trial"] {
                let want = b
                    .subscription_items
                    .iter()
                    .filter(|i| i["status"] == status)
                    .count();
                assert_eq!(
                    one(&mut c, &format!("execute items('{status}')")),
                    want.to_string(),
                    "{status}"
                );
            }
        }
        for u in users.iter().step_by(2) {
            let want = b.subscriptions.get(*u).map(|s| {
                let items = s["subscription_items"].as_array().unwrap();
                items
                    .iter()
                    .max_by_key(|i| i["created_at"].as_i64())
                    .map(|i| i["plan"]["slug"].as_str().unwrap().to_string())
                    .unwrap()
            });
            for _ in 0..2 {
                let got = one(
                    &mut c,
                    &format!("select coalesce(cat4.plan_of('{u}'), 'NULL')"),
                );
                assert_eq!(got, want.clone().unwrap_or_else(|| "NULL".into()));
            }
        }
        // A cursor over two pages of M2M tokens, fetched in steps, after a
        // savepoint caught a keyless scan.
        let machine = server.dataset().settings.machines[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        c.batch_execute(&format!(
            "begin;
             savepoint s;
             do $$ begin perform * from cat4.m2m_tokens; exception when others then null; end $$;
             rollback to savepoint s;
             declare cur scroll cursor for select id from cat4.m2m_tokens where subject = '{machine}' order by id;"
        ))
        .unwrap();
        let mut fetched = 0;
        loop {
            let got = rows(&mut c, "fetch 40 from cur").unwrap();
            if got.is_empty() {
                break;
            }
            fetched += got.len();
        }
        assert_eq!(rows(&mut c, "fetch absolute 1 from cur").unwrap().len(), 1);
        c.batch_execute("close cur; commit").unwrap();
        assert_eq!(
            fetched,
            server.dataset().settings.m2m_tokens[&machine].len()
        );
    }

    #[pg_test]
    fn billing_and_waitlist_examples_answer_what_the_data_says() {
        let server = mock(DataConfig::default());
        let mut c = imported(&server, "cat5");
        // The examples name schema clerk; here the tables are in cat5.
        c.batch_execute("create schema cat5_examples; set search_path = cat5_examples")
            .unwrap();
        for sql in [
            include_str!("../../../examples/billing.sql"),
            include_str!("../../../examples/waitlist.sql"),
        ] {
            c.batch_execute(&sql.replace("clerk.", "cat5."))
                .unwrap_or_else(|e| panic!("{}", error_message(e)));
        }
        let b = &server.dataset().billing;
        let plan_of = |id: &Value| b.plans.iter().find(|p| p["id"] == *id).unwrap();

        // MRR by plan, from the test server's items.
        let mut mrr: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for i in &b.subscription_items {
            let plan = plan_of(&i["plan_id"]);
            let paying = (i["status"] == "active" || i["status"] == "past_due")
                && i["is_free_trial"] == false
                && plan["has_base_fee"] == true;
            if paying {
                let fee = if i["plan_period"] == "annual" {
                    &plan["annual_monthly_fee"]
                } else {
                    &plan["fee"]
                };
                let key = format!(
                    "{}|{}",
                    plan["slug"].as_str().unwrap(),
                    plan["for_payer_type"].as_str().unwrap()
                );
                let e = mrr.entry(key).or_default();
                e.0 += 1;
                e.1 += fee["amount"].as_i64().unwrap();
            }
        }
        let want: Vec<String> = mrr
            .iter()
            .map(|(k, (n, cents))| format!("{k}|{n}|{cents}|{}.{:02}", cents / 100, cents % 100))
            .collect();
        let got = rows(&mut c, "select plan, payer_type, subscriptions, mrr_cents, round(mrr, 2) from mrr_by_plan order by 1, 2")
            .unwrap();
        assert_eq!(got, want);

        let health = rows(
            &mut c,
            "select sum(active), sum(past_due), sum(free_trial) from subscription_health",
        )
        .unwrap();
        let count =
            |f: &dyn Fn(&Value) -> bool| b.subscription_items.iter().filter(|i| f(i)).count();
        assert_eq!(
            health,
            [format!(
                "{}|{}|{}",
                count(&|i| i["status"] == "active" && i["is_free_trial"] == false),
                count(&|i| i["status"] == "past_due"),
                count(&|i| i["status"] == "active" && i["is_free_trial"] == true)
            )]
        );
        let conversions = count(&|t| {
            t["status"] == "ended"
                && t["is_free_trial"] == true
                && b.subscription_items.iter().any(|p| {
                    p["payer_id"] == t["payer_id"]
                        && p["plan_id"] == t["plan_id"]
                        && p["is_free_trial"] == false
                        && p["created_at"].as_i64() >= t["ended_at"].as_i64()
                })
        });
        assert!(conversions > 0);
        assert_eq!(
            one(
                &mut c,
                "select sum(conversions) from trial_conversions_per_month"
            ),
            conversions.to_string()
        );
        let paid_orgs: Vec<&Value> = b
            .subscription_items
            .iter()
            .filter(|i| {
                (i["status"] == "active" || i["status"] == "past_due")
                    && i["plan"]["fee"]["amount"].as_i64() > Some(0)
            })
            .map(|i| &i["payer"]["organization_id"])
            .collect();
        let without: usize = server
            .dataset()
            .organizations
            .iter()
            .filter(|o| !paid_orgs.contains(&&o["id"]))
            .count();
        assert_eq!(
            one(
                &mut c,
                "select count(*) from organizations_without_paid_plan"
            ),
            without.to_string()
        );
        let failed: usize = b
            .statements
            .iter()
            .filter(|s| s["status"] == "open")
            .map(|s| {
                b.payment_attempts[s["id"].as_str().unwrap()]
                    .iter()
                    .filter(|a| a["status"] == "failed")
                    .count()
            })
            .sum();
        assert!(failed > 0);
        assert_eq!(
            one(&mut c, "select count(*) from failed_payments"),
            failed.to_string()
        );

        let entries = &server.dataset().settings.waitlist_entries;
        let by = |f: &dyn Fn(&Value) -> bool| entries.iter().filter(|e| f(e)).count();
        assert_eq!(
            one(&mut c, "select sum(joined) || '|' || sum(invited) || '|' || sum(completed) || '|' || sum(rejected) from waitlist_funnel_per_week"),
            format!(
                "{}|{}|{}|{}",
                entries.len(),
                by(&|e| e["status"] == "invited" || e["status"] == "completed"),
                by(&|e| e["status"] == "completed"),
                by(&|e| e["status"] == "rejected")
            )
        );
        assert!(
            one(&mut c, "select count(*) from waitlist_funnel_per_week")
                .parse::<i64>()
                .unwrap()
                >= 20
        );
        let mut pending: Vec<&Value> = entries
            .iter()
            .filter(|e| e["status"] == "pending")
            .collect();
        pending.sort_by_key(|e| (e["created_at"].as_i64(), e["id"].as_str().map(String::from)));
        server.clear_log();
        let got = rows(&mut c, "select email_address from waiting_longest").unwrap();
        let want: Vec<String> = pending
            .iter()
            .take(20)
            .map(|e| e["email_address"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want);
        let sent = data_requests(&server);
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(sent[0].param("order_by"), Some("+created_at"));

        // What the README shows.
        c.batch_execute("set timezone = 'UTC'").unwrap();
        let mut shown = String::new();
        for query in [
            "select * from mrr_by_plan order by mrr_cents desc",
            "select * from subscription_health order by 1",
            "select * from trial_conversions_per_month order by 1",
            "select * from organizations_without_paid_plan order by members_count desc, id limit 5",
            "select * from failed_payments order by failed_at limit 5",
            "select * from waitlist_funnel_per_week order by 1 limit 6",
        ] {
            shown += &format!("{query}\n");
            for row in rows(&mut c, query).unwrap() {
                shown += &format!("  {row}\n");
            }
        }
        let major = one(
            &mut c,
            "select current_setting('server_version_num')::int / 10000",
        );
        std::fs::write(format!("/tmp/clerk_fdw-examples-pg{major}.txt"), shown).unwrap();
    }
}
