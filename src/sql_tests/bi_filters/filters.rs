//! Time bounds, case-folded values and LIKE patterns: narrower requests, exact rows.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::bi_filters::*;

    use clerk_mock::DataConfig;

    #[pg_test]
    fn timestamp_and_date_bounds_are_exact_in_every_time_zone() {
        let server = mock(DataConfig {
            users: 3000,
            organizations: 0,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "b1");
        let mut plain = imported_with(&server, "b1off", ", pushdown 'false'");
        let mut narrowed = 0;
        for zone in ZONES {
            for c in [&mut pushed, &mut plain] {
                c.batch_execute(&format!("set timezone = '{zone}'"))
                    .unwrap();
            }
            for condition in CONDITIONS {
                let sql = |schema: &str| {
                    format!("select id from {schema}.users where {condition} order by id")
                };
                let want = rows(&mut plain, &sql("b1off")).unwrap();
                server.clear_log();
                let got = rows(&mut pushed, &sql("b1")).unwrap();
                assert_eq!(got.len(), want.len(), "{zone}: {condition}");
                assert_eq!(got, want, "{zone}: {condition}");
                let log = server.requests();
                let bounded = log
                    .iter()
                    // Not the planner's estimate of the whole list.
                    .filter(|r| r.path != "/v1/users/count")
                    .all(|r| {
                        r.query
                            .iter()
                            .any(|(k, _)| k.ends_with("_after") || k.ends_with("_before"))
                    });
                assert!(bounded, "{zone}: {condition}: {log:?}");
                // Far fewer than the 6 pages of the whole list.
                if want.len() < 500 {
                    assert!(
                        log.len() <= 4,
                        "{zone}: {condition}: {} requests",
                        log.len()
                    );
                    narrowed += 1;
                }
            }
            // Generic plans evaluate the bound when they run, in the zone
            // of that moment.
            pushed
                .batch_execute(
                    "set plan_cache_mode = force_generic_plan;
                     deallocate all;
                     prepare since(date) as select count(*) from b1.users where created_at >= $1;",
                )
                .unwrap();
            let want = rows(
                &mut plain,
                "select count(*) from b1off.users where created_at >= date '2026-03-08'",
            )
            .unwrap();
            for _ in 0..6 {
                assert_eq!(
                    rows(&mut pushed, "execute since('2026-03-08')").unwrap(),
                    want,
                    "{zone}"
                );
            }
            pushed.batch_execute("reset plan_cache_mode").unwrap();
        }
        assert!(narrowed >= 60, "{narrowed}");
        let plan = rows(
            &mut pushed,
            "explain (verbose, costs off) select id from b1.users where created_at >= date '2026-03-08'",
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains("created_at_after=$1") && plan.contains("'2026-03-08'::date"),
            "{plan}"
        );
    }
    /// Case-folded equality and LIKE/ILIKE on emails and usernames, with
    /// the request each must narrow to.
    const TEXT_MATCHES: &[(&str, &str)] = &[
        ("lower(email) = 'user17@example.com'", "email_address"),
        ("upper(email) = 'USER17@EXAMPLE.COM'", "email_address"),
        (
            "lower(email) in ('user17@example.com', 'primary.9@example.org')",
            "email_address",
        ),
        (
            "lower(email) = lower('User18@Example.com')",
            "email_address",
        ),
        ("email ilike '%7@EXAMPLE.org'", "email_address_query"),
        ("email like 'user11%'", "email_address_query"),
        ("email like '%17@exa%'", "email_address_query"),
        ("username ilike 'USER\\_2%'", "username_query"),
        ("username like '%_98'", "username_query"),
    ];

    #[pg_test]
    fn case_folded_and_like_matches_narrow_and_stay_exact() {
        let server = mock(DataConfig {
            users: 2000,
            organizations: 0,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "b2");
        let mut plain = imported_with(&server, "b2off", ", pushdown 'false'");
        for (condition, param) in TEXT_MATCHES {
            let sql = |schema: &str| {
                format!(
                    "select id, email, username from {schema}.users where {condition} order by id"
                )
            };
            let want = rows(&mut plain, &sql("b2off")).unwrap();
            assert!(!want.is_empty(), "{condition} should match someone");
            server.clear_log();
            assert_eq!(rows(&mut pushed, &sql("b2")).unwrap(), want, "{condition}");
            let data: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path != "/v1/users/count")
                .collect();
            assert!(
                data.iter().all(|r| r.param(param).is_some()),
                "{condition}: {data:?}"
            );
            assert!(data.len() <= 2, "{condition}: {} requests", data.len());
        }
        // Run-time values, under generic plans.
        pushed
            .batch_execute(
                "set plan_cache_mode = force_generic_plan;
                 prepare by_email(text) as select id from b2.users where lower(email) = lower($1);",
            )
            .unwrap();
        let want = rows(
            &mut plain,
            "select id from b2off.users where email = 'user17@example.com'",
        )
        .unwrap();
        for _ in 0..6 {
            server.clear_log();
            assert_eq!(
                rows(&mut pushed, "execute by_email('USER17@example.COM')").unwrap(),
                want
            );
            // lower($1), evaluated when the statement runs.
            let log = server.requests();
            assert!(
                log.iter()
                    .filter(|r| r.path != "/v1/users/count")
                    .all(|r| r.param("email_address") == Some("user17@example.com")),
                "{log:?}"
            );
        }
        // Not narrowed, still exact: a pattern without an ASCII literal.
        let want = rows(
            &mut plain,
            "select count(*) from b2off.users where email ilike '%ë%'",
        )
        .unwrap();
        assert_eq!(
            rows(
                &mut pushed,
                "select count(*) from b2.users where email ilike '%ë%'"
            )
            .unwrap(),
            want
        );
        let plan = rows(
            &mut pushed,
            "explain (verbose, costs off) select id from b2.users where email ilike '%@acme.com'",
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains("email_address_query=") && plan.contains("Postgres re-checks"),
            "{plan}"
        );
    }
    #[pg_test]
    fn memberships_of_an_organization_in_a_time_range() {
        let server = mock(DataConfig {
            users: 1500,
            organizations: 5,
            big_org_members: 1200,
            ..DataConfig::default()
        });
        let org = server.dataset().organizations[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut pushed = imported(&server, "b3");
        let mut plain = imported_with(&server, "b3off", ", pushdown 'false'");
        let first = "(select min(created_at) from b3off.organization_memberships)";
        let condition = format!(
            "organization_id = '{org}' and created_at >= {first} + interval '300 ms' \
             and created_at < {first} + interval '700 ms'"
        );
        let sql = |schema: &str| {
            format!("select user_id from {schema}.organization_memberships where {condition} order by user_id")
        };
        let want = rows(&mut plain, &sql("b3off")).unwrap();
        assert_eq!(want.len(), 400);
        server.clear_log();
        assert_eq!(rows(&mut pushed, &sql("b3")).unwrap(), want);
        let scans: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| {
                r.path.ends_with(&format!("{org}/memberships")) && r.param("limit") != Some("1")
            })
            .collect();
        assert_eq!(scans.len(), 1, "{scans:?}");
        assert!(
            scans[0].param("created_at_after").is_some()
                && scans[0].param("created_at_before").is_some()
        );
    }
}
