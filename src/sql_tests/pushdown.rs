//! Pushdown against its pushdown-off twin: the same rows, fewer requests.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::fixtures::*;
    use crate::sql_tests::support::*;
    use clerk_mock::{data, DataConfig};
    use pgrx::prelude::*;
    use serde_json::json;

    #[pg_test]
    fn point_lookups_and_in_lists_ask_for_just_those_users() {
        let server = mock(small());
        create_pushdown_tables(&server, "p1");
        let id = data::user_id(7);
        let (rows, log) = same_rows(
            &server,
            &format!("select user_id, email from {{t}} where user_id = '{id}'"),
            "p1_users",
            "p1_off_users",
        );
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].param("user_id"), Some(id.as_str()));

        let ids: Vec<String> = (0..150)
            .map(|i| format!("'{}'", data::user_id(i * 7)))
            .collect();
        let (rows, log) = same_rows(
            &server,
            &format!(
                "select user_id from {{t}} where user_id in ({}) order by 1",
                ids.join(",")
            ),
            "p1_users",
            "p1_off_users",
        );
        assert_eq!(rows.as_array().unwrap().len(), 150);
        assert_eq!(log.len(), 2, "150 ids in batches of 100");
        assert_eq!(
            log.iter()
                .map(|r| r.query.iter().filter(|(k, _)| k == "user_id").count())
                .sum::<usize>(),
            150
        );

        // = ANY of a run-time array, and an email (Clerk matches any address).
        let (_, log) = same_rows(
            &server,
            &format!("select user_id from {{t}} where user_id = any(array(select '{id}'::text)) order by 1"),
            "p1_users",
            "p1_off_users",
        );
        assert_eq!(log.len(), 1);
        let (rows, log) = same_rows(
            &server,
            "select user_id from {t} where email = 'primary.2@example.org'",
            "p1_users",
            "p1_off_users",
        );
        assert_eq!(rows.as_array().unwrap().len(), 1);
        assert_eq!(log[0].param("email_address"), Some("primary.2@example.org"));
        // A value no user can have: no request at all.
        let (_, log) = same_rows(
            &server,
            "select user_id from {t} where user_id = ''",
            "p1_users",
            "p1_off_users",
        );
        assert_eq!(log.len(), 0);
        let (_, log) = same_rows(
            &server,
            "select user_id from {t} where user_id = null",
            "p1_users",
            "p1_off_users",
        );
        assert_eq!(log.len(), 0);
    }

    #[pg_test]
    fn time_ranges_including_now_minus_an_interval() {
        let server = mock(now_config());
        create_pushdown_tables(&server, "p2");
        let q = "select id from {t} where created_at > now() - interval '30 days' order by id";
        let (rows, log) = same_rows(&server, q, "p2_tz_users", "p2_tz_off_users");
        let n = rows.as_array().unwrap().len();
        assert!((700..=730).contains(&n), "{n} sign-ups in 30 days");
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log[0].param("created_at_after").is_some());
        // Millisecond edges: >= and <= keep the boundary user, > and < drop it.
        let edge = data::user_created_at(&now_config(), 100);
        for op in [">", ">=", "<", "<="] {
            let q = format!("select count(*) as n from {{t}} where created_at {op} {edge} and created_at {op} {edge} + 0");
            same_rows(&server, &q, "p2_users", "p2_off_users");
            let q = format!("select user_id from {{t}} where created_at {op} {edge} order by 1");
            same_rows(&server, &q, "p2_users", "p2_off_users");
        }
        let q = format!(
            "select user_id from {{t}} where created_at between {} and {edge} order by 1",
            edge - 10 * 3_600_000
        );
        let (rows, log) = same_rows(&server, &q, "p2_users", "p2_off_users");
        assert!(rows.as_array().unwrap().len() >= 9);
        assert_eq!(log.len(), 1);
        // timestamptz with microseconds, a prepared-statement parameter.
        Spi::run(
            "prepare since(timestamptz) as select count(*) from p2_tz_users where created_at >= $1",
        )
        .unwrap();
        let at = "to_timestamp(".to_string() + &(edge as f64 / 1000.0).to_string() + ")";
        assert_eq!(
            count(&format!("execute since({at})")),
            count(&format!(
                "select count(*) from p2_tz_off_users where created_at >= {at}"
            ))
        );
        let q = "select id from {t} where banned and last_sign_in_at < now() order by id";
        same_rows(&server, q, "p2_tz_users", "p2_tz_off_users");
    }

    #[pg_test]
    fn memberships_of_one_user_and_of_one_organization() {
        let server = mock(small());
        create_pushdown_tables(&server, "p3");
        let user = server.dataset().memberships[700]["public_user_data"]["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let (rows, log) = same_rows(
            &server,
            &format!("select organization_id, role from {{t}} where user_id = '{user}' order by 1"),
            "p3_organization_memberships",
            "p3_off_organization_memberships",
        );
        assert!(!rows.as_array().unwrap().is_empty());
        assert_eq!(log.len(), 1);
        assert_eq!(
            log[0].path,
            format!("/v1/users/{user}/organization_memberships")
        );

        let big = data::org_id(0);
        let (rows, log) = same_rows(
            &server,
            &format!("select user_id, role from {{t}} where organization_id = '{big}' order by 1"),
            "p3_organization_memberships",
            "p3_off_organization_memberships",
        );
        assert_eq!(rows.as_array().unwrap().len(), 620);
        assert_eq!(log.len(), 2, "620 members, pages of 500");
        assert!(log
            .iter()
            .all(|r| r.path == format!("/v1/organizations/{big}/memberships")));
        let (rows, log) = same_rows(
            &server,
            &format!("select user_id from {{t}} where organization_id in ('{big}', '{}') and role = 'org:admin' order by 1", data::org_id(3)),
            "p3_organization_memberships",
            "p3_off_organization_memberships",
        );
        assert!(!rows.as_array().unwrap().is_empty());
        assert_eq!(log.len(), 2);
        assert!(log.iter().all(|r| r.param("role") == Some("org:admin")));
        // An organization or user that does not exist: no rows, no error.
        let (rows, _) = same_rows(
            &server,
            "select * from {t} where organization_id = 'org_nope'",
            "p3_organization_memberships",
            "p3_off_organization_memberships",
        );
        assert_eq!(rows, json!([]));
    }

    /// Planned with a guess of 20 members, this join made one user lookup
    /// per member; Clerk's count of the organization's members (asked at
    /// planning, only for joins with constant keys) picks one users scan.
    #[pg_test]
    fn one_organization_joined_to_users_scans_instead_of_looking_up() {
        // 40 pages of users: more than 20 lookups, far less than 620.
        let server = mock(DataConfig {
            users: 20_000,
            ..small()
        });
        create_pushdown_tables(&server, "p9");
        let big = data::org_id(0);
        let sql = |users: &str, members: &str| {
            format!(
                "select u.user_id, u.email, m.role from {members} m join {users} u on u.user_id = m.user_id
                  where m.organization_id = '{big}' order by 1"
            )
        };
        let expected = query_json(&sql("p9_off_users", "p9_off_organization_memberships"));
        assert_eq!(expected.as_array().unwrap().len(), 620);
        server.clear_log();
        let rows = query_json(&sql("p9_users", "p9_organization_memberships"));
        assert_eq!(rows, expected);
        let requests = server.requests();
        let members_count = format!("/v1/organizations/{big}/memberships");
        assert!(
            requests
                .iter()
                .any(|r| r.path == members_count && r.param("limit") == Some("1")),
            "the planner counted the members: {requests:?}"
        );
        let lookups = requests
            .iter()
            .filter(|r| r.param("user_id").is_some())
            .count();
        assert_eq!(lookups, 0);
        // Two counts, 2 pages of members, 40 of users and a few more where
        // the concurrent users scan splits its slices (47 seen), not 620.
        assert!(
            requests.len() <= 60,
            "{} requests: {requests:?}",
            requests.len()
        );

        // Planned again within the count's lifetime: no second count.
        server.clear_log();
        assert_eq!(
            query_json(&sql("p9_users", "p9_organization_memberships")),
            expected
        );
        assert!(!server
            .requests()
            .iter()
            .any(|r| r.path == members_count && r.param("limit") == Some("1")));
    }

    #[pg_test]
    fn injected_values_stay_values() {
        let server = mock(small());
        create_pushdown_tables(&server, "p4");
        for q in [
            "select * from {t} where user_id = '../organizations'",
            "select * from {t} where user_id = '..'",
            "select * from {t} where user_id = 'x/../../users?limit=1#'",
        ] {
            let (rows, log) = same_rows(
                &server,
                q,
                "p4_organization_memberships",
                "p4_off_organization_memberships",
            );
            assert_eq!(rows, json!([]));
            assert!(
                log.iter()
                    .all(|r| r.path.ends_with("/organization_memberships")),
                "{log:?}"
            );
        }
        let (rows, log) = same_rows(
            &server,
            "select user_id from {t} where email = 'a&limit=1' or email = 'b'",
            "p4_users",
            "p4_off_users",
        );
        assert_eq!(rows, json!([]));
        assert!(
            log.iter().all(|r| r.param("limit") == Some("500")),
            "{log:?}"
        );
        let (_, log) = same_rows(
            &server,
            "select user_id from {t} where email = 'a&limit=1'",
            "p4_users",
            "p4_off_users",
        );
        assert_eq!(log[0].param("email_address"), Some("a&limit=1"));
        assert_eq!(log[0].param("limit"), Some("500"));
        let (_, log) = same_rows(
            &server,
            "select user_id from {t} where user_id = '-user_x'",
            "p4_users",
            "p4_off_users",
        );
        assert_eq!(log[0].param("user_id"), Some("+-user_x"));
    }

    #[pg_test]
    fn order_by_limit_and_count_are_pushed() {
        let server = mock(small());
        create_pushdown_tables(&server, "p5");
        let (rows, log) = same_rows(
            &server,
            "select user_id, created_at from {t} order by created_at desc limit 10",
            "p5_users",
            "p5_off_users",
        );
        assert_eq!(rows.as_array().unwrap().len(), 10);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].param("limit"), Some("10"));
        assert_eq!(log[0].param("order_by"), Some("-created_at"));
        let (_, log) = same_rows(
            &server,
            "select user_id from {t} order by created_at limit 5 offset 3",
            "p5_users",
            "p5_off_users",
        );
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].param("limit"), Some("8"));
        assert_eq!(log[0].param("order_by"), Some("+created_at"));
        // A filter Postgres re-checks, or a sort Clerk cannot do: every row is needed.
        let (_, log) = same_rows(&server, "select user_id from {t} where lower(email) like '%1%' order by created_at desc limit 3", "p5_users", "p5_off_users");
        assert_eq!(log[0].param("limit"), Some("500"));
        assert_eq!(log[0].param("order_by"), Some("-created_at"));
        let (_, log) = same_rows(
            &server,
            "select user_id from {t} order by email limit 3",
            "p5_users",
            "p5_off_users",
        );
        assert_eq!(log.len(), 3);

        let (rows, _) = same_rows(
            &server,
            "select count(*) as n from {t}",
            "p5_users",
            "p5_off_users",
        );
        assert_eq!(rows, json!([{"n": 1200}]));
        // The whole-table count looks like an estimate: read the raw log.
        let log = server.requests();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].path, "/v1/users/count");
        let (_, log) = same_rows(
            &server,
            "select count(*) as n from {t} where created_at > 1779000000000",
            "p5_users",
            "p5_off_users",
        );
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].param("created_at_after"), Some("1779000000000"));
        // Clerk's email match is wider than `=`: counted by Postgres.
        let (_, log) = same_rows(
            &server,
            "select count(*) as n from {t} where email = 'user5@example.com'",
            "p5_users",
            "p5_off_users",
        );
        assert_eq!(log[0].path, "/v1/users");
        let big = data::org_id(0);
        let (rows, log) = same_rows(
            &server,
            &format!("select count(*) as n from {{t}} where organization_id = '{big}'"),
            "p5_organization_memberships",
            "p5_off_organization_memberships",
        );
        assert_eq!(rows, json!([{"n": 620}]));
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].param("limit"), Some("1"));
    }

    #[pg_test]
    fn a_local_table_of_user_ids_joins_by_lookup() {
        // 8 lookups beat reading 10 pages of users (the benchmark shows 50
        // local ids against 100,000 users).
        let server = mock(DataConfig {
            users: 5_000,
            ..small()
        });
        create_pushdown_tables(&server, "p6");
        Spi::run("create table crm (clerk_id text primary key, plan text)").unwrap();
        for i in 0..8usize {
            Spi::run(&format!(
                "insert into crm values ('{}', 'p{}')",
                data::user_id(i * 13),
                i % 3
            ))
            .unwrap();
        }
        Spi::run("analyze crm").unwrap();
        let (rows, log) = same_rows(
            &server,
            "select c.plan, u.email from crm c join {t} u on u.user_id = c.clerk_id order by 1, 2",
            "p6_users",
            "p6_off_users",
        );
        assert_eq!(rows.as_array().unwrap().len(), 8);
        // One request asks for all 8 (local_ids.rs tests more).
        assert_eq!(
            log.len(),
            1,
            "one request for the local ids, not a full scan"
        );
        assert_eq!(
            log[0].query.iter().filter(|(k, _)| k == "user_id").count(),
            8
        );
        // The seed's "users and roles of one organization".
        let big = data::org_id(0);
        let (rows, log) = same_rows(
            &server,
            &format!("select u.email, m.role from {{t}} m join p6_users u using (user_id) where m.organization_id = '{big}' order by 1, 2"),
            "p6_organization_memberships",
            "p6_off_organization_memberships",
        );
        assert_eq!(rows.as_array().unwrap().len(), 620);
        // The membership pages plus one (concurrent) walk of the users list,
        // not a lookup per member.
        assert!(log.len() < 25, "{} requests", log.len());
    }

    #[pg_test]
    fn explain_shows_the_clerk_requests() {
        let server = mock(small());
        create_pushdown_tables(&server, "p7");
        let plan = |q: &str| {
            let json = Spi::get_one::<pgrx::Json>(&format!("explain (format json, verbose) {q}"))
                .unwrap()
                .unwrap()
                .0;
            json.to_string()
        };
        let p = plan("select * from p7_tz_users where created_at > now() - interval '30 days'");
        assert!(
            p.contains("GET /users?created_at_after=$1&order_by=-created_at&limit=500"),
            "{p}"
        );
        assert!(p.contains("$1 = (now() - '30 days'::interval)"), "{p}");
        assert!(!p.contains("Wrappers"), "{p}");
        let p = plan("select count(*) from p7_users");
        assert!(p.contains("GET /users/count"), "{p}");
        let p = plan("select * from p7_organization_memberships where user_id = 'user_1'");
        assert!(
            p.contains("GET /users/user_1/organization_memberships?limit=500"),
            "{p}"
        );
        let p = plan("select * from p7_off_users where user_id = 'user_1'");
        assert!(
            p.contains("GET /users?order_by=-created_at&limit=500"),
            "{p}"
        );
        assert_eq!(
            data_requests(&server).len(),
            0,
            "EXPLAIN sends no data request"
        );
    }
}
