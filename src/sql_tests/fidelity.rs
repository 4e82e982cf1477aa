//! clerk_fdw speaks Clerk as the spec describes it: the fields Clerk sends
//! only on request, the rows it lists only when asked, enum values, the
//! pinned API version, refusals and rejected keys reported as Clerk said,
//! and a sorted walk that checks Clerk's order. (The test server itself
//! answers 400 to any request outside the spec.)

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{Behaviour, DataConfig, Fault};
    use pgrx::prelude::*;

    fn small() -> DataConfig {
        DataConfig {
            users: 600,
            organizations: 25,
            big_org_members: 200,
            ..DataConfig::default()
        }
    }

    #[pg_test]
    fn members_count_asked_for_and_top_organizations_in_one_request() {
        let server = mock(small());
        let mut c = imported(&server, "f1");
        let expected: Vec<String> = server
            .dataset()
            .organizations
            .iter()
            .map(|o| format!("{}|{}", o["id"].as_str().unwrap(), o["members_count"]))
            .collect();
        let mut got = rows(&mut c, "select id, members_count from f1.organizations").unwrap();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want);
        assert!(server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/organizations" && r.param("limit") != Some("1"))
            .all(|r| r.param("include_members_count") == Some("true")));

        // Without the column Clerk is not asked for it.
        server.clear_log();
        rows(&mut c, "select name from f1.organizations").unwrap();
        assert!(server
            .requests()
            .iter()
            .all(|r| r.param("include_members_count").is_none()));

        // "The 6 largest organizations": one request, Clerk sorts.
        let mut counts: Vec<i64> = server
            .dataset()
            .organizations
            .iter()
            .map(|o| o["members_count"].as_i64().unwrap())
            .collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top: Vec<String> = counts.iter().take(6).map(|n| n.to_string()).collect();
        let sql = "select members_count from f1.organizations order by members_count desc limit 6";
        for _ in 0..3 {
            server.clear_log();
            assert_eq!(rows(&mut c, sql).unwrap(), top);
            let data: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.param("limit") != Some("1"))
                .collect();
            assert_eq!(data.len(), 1, "{data:?}");
            assert_eq!(data[0].param("order_by"), Some("-members_count"));
            assert_eq!(data[0].param("include_members_count"), Some("true"));
            assert_eq!(data[0].param("limit"), Some("6"));
        }
        let plan = rows(&mut c, &format!("explain (verbose, costs off) {sql}"))
            .unwrap()
            .join("\n");
        assert!(plan.contains("order_by=-members_count"), "{plan}");
        // More than a page: Postgres sorts, every row is read.
        let all = rows(
            &mut c,
            "select members_count from f1.organizations order by members_count desc limit 501",
        )
        .unwrap();
        assert_eq!(all.len(), counts.len());
        // A server that does not keep the order asked for is an error.
        let mut ascending: Vec<_> = server.dataset().organizations.clone();
        ascending.sort_by_key(|o| o["members_count"].as_i64());
        let page = serde_json::json!({"data": ascending.iter().take(6).collect::<Vec<_>>(), "total_count": ascending.len()});
        server.set_behaviour(Behaviour {
            script: [Some(Fault::Reply {
                status: 200,
                headers: vec![("Content-Type", "application/json".into())],
                body: page.to_string().into_bytes(),
            })]
            .into(),
            ..Behaviour::default()
        });
        let (_, message) = failure(&mut c, sql);
        assert!(
            message.contains("not in the members_count order asked for"),
            "{message}"
        );
    }

    #[pg_test]
    fn enum_values_send_nothing_and_revoked_invitations_are_read() {
        let server = mock(small());
        let mut c = imported(&server, "f2");
        let invitations = &server.dataset().invitations;
        let revoked = invitations
            .iter()
            .filter(|i| i["status"] == "revoked")
            .count();
        server.clear_log();
        assert_eq!(
            rows(
                &mut c,
                "select count(*), count(*) filter (where status = 'revoked') from f2.invitations"
            )
            .unwrap(),
            [format!("{}|{revoked}", invitations.len())]
        );
        assert!(server
            .requests()
            .iter()
            .any(|r| r.param("status") == Some("revoked")));

        c.batch_execute(
            "prepare by_status(text) as select count(*) from f2.invitations where status = $1;
             prepare sessions_by(text, text) as select count(*) from f2.sessions where user_id = $1 and status = $2;
             set plan_cache_mode = force_generic_plan",
        )
        .unwrap();
        let user = server.dataset().users[5]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server.clear_log();
        for _ in 0..6 {
            assert_eq!(
                rows(
                    &mut c,
                    "select count(*) from f2.invitations where status = 'Pending'"
                )
                .unwrap(),
                ["0"]
            );
            assert_eq!(rows(&mut c, "execute by_status('bogus')").unwrap(), ["0"]);
            assert_eq!(
                rows(
                    &mut c,
                    &format!("execute sessions_by('{user}', 'signed_in')")
                )
                .unwrap(),
                ["0"]
            );
            assert_eq!(
                rows(&mut c, "select count(*) from f2.organization_invitations where status in ('PENDING', 'nope')").unwrap(),
                ["0"]
            );
        }
        assert_eq!(server.request_count(), 0, "{:?}", server.requests());
        let pending = invitations
            .iter()
            .filter(|i| i["status"] == "pending")
            .count();
        assert_eq!(
            rows(&mut c, "execute by_status('pending')").unwrap(),
            [pending.to_string()]
        );
        let sent: Vec<_> = server
            .requests()
            .iter()
            .filter_map(|r| r.param("status").map(String::from))
            .collect();
        assert!(sent.iter().all(|s| s == "pending"), "{sent:?}");
    }

    #[pg_test]
    fn every_request_names_the_api_version_and_asks_for_gzip() {
        let server = mock(small());
        let mut c = imported(&server, "f3");
        rows(&mut c, "select count(*) from f3.users").unwrap();
        rows(&mut c, "select * from f3.organization_memberships").unwrap();
        let log = server.requests();
        assert!(!log.is_empty());
        assert!(
            log.iter()
                .all(|r| r.api_version.as_deref() == Some("2026-05-12") && r.gzip),
            "{log:?}"
        );

        let (code, message) = failure(&mut c, "alter server f3 options (add api_version 'latest')");
        assert_eq!(code, "HV024", "{message}");
        assert!(message.contains("api_version"), "{message}");
        // Another version is sent as given (this server speaks only one).
        c.batch_execute("alter server f3 options (add api_version '2025-04-10')")
            .unwrap();
        let (_, message) = failure(&mut c, "select id from f3.users limit 1");
        assert!(
            message.contains("This server speaks only Clerk API version 2026-05-12"),
            "{message}"
        );
    }

    #[pg_test]
    fn refusals_and_rejected_keys_say_what_clerk_said() {
        let server = mock(small());
        let mut c = imported(&server, "f4");
        // Planned once: the planner's estimate is cached, so the next
        // request is the scan's.
        rows(&mut c, "select name from f4.organizations").unwrap();
        for (status, says) in [
            (403, "organizations are not enabled"),
            (402, "not included in your instance's plan"),
        ] {
            server.set_behaviour(Behaviour {
                script: [Some(Fault::Status {
                    status,
                    retry_after: None,
                })]
                .into(),
                ..Behaviour::default()
            });
            let (code, message) = failure(&mut c, "select name from f4.organizations");
            assert_eq!(code, "42501", "{message}");
            assert!(
                message.contains(&format!("Clerk refused the request (HTTP {status})")),
                "{message}"
            );
            assert!(message.contains(says), "{message}");
            assert!(!message.contains("secret key"), "{message}");
        }

        c.batch_execute(
            "alter user mapping for public server f4 options (set api_key 'sk_test_not_this_one')",
        )
        .unwrap();
        let (code, message) = failure(&mut c, "select id from f4.users");
        assert_eq!(code, "28000", "{message}");
        assert!(
            message.contains("the user mapping for PUBLIC on server f4 (HTTP 401)"),
            "{message}"
        );
        assert!(!message.contains("sk_test_not_this_one"), "{message}");
        c.batch_execute(
            "create user mapping for current_user server f4 options (api_key 'sk_test_nor_this')",
        )
        .unwrap();
        let (_, message) = failure(&mut c, "select id from f4.users");
        assert!(message.contains("the user mapping for role"), "{message}");
        assert!(!message.contains("sk_test_nor_this"), "{message}");
    }

    #[pg_test]
    fn import_needs_no_key_and_a_query_says_which_is_missing() {
        let server = mock(small());
        let url = server.url();
        let mut c = session();
        c.batch_execute(&format!(
            "create foreign data wrapper f5_w handler clerk_fdw_handler validator clerk_fdw_validator;
             create server f5 foreign data wrapper f5_w options (api_url '{url}');
             create schema f5;
             import foreign schema clerk from server f5 into f5;"
        ))
        .unwrap();
        let tables = rows(&mut c, "select count(*) from information_schema.foreign_tables where foreign_table_schema = 'f5'").unwrap();
        assert_eq!(tables, [clerk_fdw_objects().to_string()]);
        let (_, message) = failure(&mut c, "select * from f5.users");
        assert!(
            message.contains("no Clerk secret key for server \"f5\""),
            "{message}"
        );
        assert_eq!(server.request_count(), 0);
    }

    fn clerk_fdw_objects() -> usize {
        crate::catalog::OBJECTS.len()
    }
}
