//! Joins as BI tools write them: lookups that turn into one read of the list, counts the planner reuses, members only.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::bi_filters::*;

    use clerk_mock::DataConfig;

    /// "Users and roles of one organization" with the organization's id
    /// from a subquery: the planner guesses 20 members. As an inner join it
    /// asks Clerk for the members (2 pages of `/users?organization_id=`).
    /// As a LEFT JOIN nothing narrows the users, and with hash and merge
    /// joins off the planner picks one users lookup per member. After as
    /// many lookups as reading the users list costs requests (18 pages),
    /// the list is read once and answers the rest.
    #[pg_test]
    fn a_long_nested_loop_of_lookups_reads_the_list_once() {
        let server = mock(DataConfig {
            users: 9000,
            organizations: 8,
            big_org_members: 900,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "b4");
        let mut plain = imported_with(&server, "b4off", ", pushdown 'false'");
        let with_join = |schema: &str, join: &str| {
            format!(
                "select u.email, m.role from {schema}.organization_memberships m
                   {join} {schema}.users u on u.id = m.user_id
                  where m.organization_id = (select organization_id from {schema}.organization_memberships
                                              group by 1 order by count(*) desc limit 1)
                  order by 1, 2"
            )
        };
        let want = rows(&mut plain, &with_join("b4off", "left join")).unwrap();
        assert_eq!(rows(&mut plain, &with_join("b4off", "join")).unwrap(), want);
        server.clear_log();
        assert_eq!(rows(&mut pushed, &with_join("b4", "join")).unwrap(), want);
        let members: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/users")
            .collect();
        assert!(
            members.len() == 2 && members.iter().all(|r| r.param("organization_id").is_some()),
            "{members:?}"
        );
        assert_eq!(want.len(), 900);
        let users_requests = || {
            server
                .requests()
                .into_iter()
                .filter(|r| r.path == "/v1/users")
                .collect::<Vec<_>>()
        };
        // A LEFT JOIN from the memberships keeps only users with one: they
        // are asked for too.
        server.clear_log();
        assert_eq!(
            rows(&mut pushed, &with_join("b4", "left join")).unwrap(),
            want
        );
        assert_eq!(users_requests().len(), 2);
        // Memberships of another server narrow nothing: the switch guards
        // that join.
        let _other = imported(&server, "b4x");
        let sql = |_: &str| {
            "select u.email, m.role from b4x.organization_memberships m
               left join b4.users u on u.id = m.user_id
              where m.organization_id = (select organization_id from b4x.organization_memberships
                                          group by 1 order by count(*) desc limit 1)
              order by 1, 2"
                .to_string()
        };
        // The better plan: one read of the users list, hashed.
        server.clear_log();
        assert_eq!(rows(&mut pushed, &sql("b4")).unwrap(), want);
        let best = users_requests();
        assert!(
            best.iter().all(|r| r.param("user_id").is_none()),
            "{best:?}"
        );
        let best = best.len();
        assert!(best >= 18, "{best}");
        // The plan a misjudged row estimate leads to.
        pushed
            .batch_execute(
                "set enable_hashjoin = off; set enable_mergejoin = off; set enable_material = off",
            )
            .unwrap();
        for round in 0..2 {
            server.clear_log();
            assert_eq!(
                rows(&mut pushed, &sql("b4")).unwrap(),
                want,
                "round {round}"
            );
            let users = users_requests();
            let lookups = users
                .iter()
                .filter(|r| r.param("user_id").is_some())
                .count();
            assert_eq!(lookups, 18, "round {round}");
            assert!(
                users.len() <= 2 * best,
                "round {round}: {} requests, {best} for the better plan",
                users.len()
            );
        }
        let plan = rows(
            &mut pushed,
            &format!(
                "explain (analyze, verbose, costs off, timing off, summary off) {}",
                sql("b4")
            ),
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains(
                "Clerk lookups: 18 sent, then one read of the list (9000 rows) answered 882 more"
            ),
            "{plan}"
        );
        // Prepared and generic, executed again and again.
        pushed
            .batch_execute(&format!(
                "set plan_cache_mode = force_generic_plan; prepare big as {}",
                sql("b4")
            ))
            .unwrap();
        for _ in 0..6 {
            assert_eq!(rows(&mut pushed, "execute big").unwrap(), want);
        }
    }

    /// A dashboard that opens a new connection per refresh: the planner's
    /// counts from the first connection serve the next ones, for this
    /// server only.
    #[pg_test]
    fn a_new_connection_reuses_the_planners_counts() {
        let server = mock(DataConfig {
            users: 3000,
            organizations: 6,
            big_org_members: 400,
            ..DataConfig::default()
        });
        let org = server.dataset().organizations[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        imported(&server, "b5");
        imported(&server, "b5other");
        let mut plain = imported_with(&server, "b5off", ", pushdown 'false'");
        let sql = |schema: &str| {
            format!(
                "select u.email, m.role from {schema}.organization_memberships m
                   join {schema}.users u on u.id = m.user_id
                  where m.organization_id = '{org}'
                 union all
                 select name, null from {schema}.organizations where created_at >= date '2026-01-01'
                  order by 1, 2"
            )
        };
        let want = rows(&mut plain, &sql("b5off")).unwrap();
        assert!(want.len() > 400, "{}", want.len());
        let is_count = |r: &clerk_mock::RequestRecord| {
            r.path.ends_with("/count")
                || (r.param("limit") == Some("1") && r.param("order_by").is_none())
        };
        let refresh = |schema: &str| {
            server.clear_log();
            let mut connection = session();
            assert_eq!(rows(&mut connection, &sql(schema)).unwrap(), want);
            let log = server.requests();
            let counts: Vec<_> = log.iter().filter(|r| is_count(r)).collect();
            (counts.len(), log.len(), format!("{counts:?}"))
        };
        let (counts, first, _) = refresh("b5");
        assert!(counts >= 2, "{counts} count requests");
        for _ in 0..3 {
            let (again, requests, log) = refresh("b5");
            assert_eq!((again, requests), (0, first - counts), "{log}");
        }
        // Another server counts for itself.
        let (again, requests, log) = refresh("b5other");
        assert_eq!((again, requests), (counts, first), "{log}");
    }

    /// "Users of one organization" and "organizations of one user": a join
    /// with the memberships narrows the other scan to Clerk's
    /// `/users?organization_id=` (`/organizations?user_id=`). The oracle is
    /// a plain local copy of the test server's data.
    #[pg_test]
    fn a_join_with_the_memberships_asks_clerk_for_members_only() {
        let server = mock(DataConfig {
            users: 3000,
            organizations: 6,
            big_org_members: 400,
            members_per_org: 5,
            ..DataConfig::default()
        });
        let ds = server.dataset();
        let org = |i: usize| ds.organizations[i]["id"].as_str().unwrap().to_string();
        let (big, small) = (org(0), org(1));
        let member = ds.memberships[0]["public_user_data"]["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut pushed = imported(&server, "b6");
        imported(&server, "b6other");
        let mut local = imported_with(&server, "b6off", ", pushdown 'false'");
        local
            .batch_execute(
                "create schema b6local;
                 create table b6local.users as select * from b6off.users;
                 create table b6local.organizations as select * from b6off.organizations;
                 create table b6local.organization_memberships as
                   select * from b6off.organization_memberships;",
            )
            .unwrap();
        let mut local_count = |table: &str| {
            rows(&mut local, &format!("select count(*) from b6local.{table}")).unwrap()[0].clone()
        };
        assert_eq!(local_count("users"), "3000");
        assert_eq!(
            local_count("organization_memberships"),
            ds.memberships.len().to_string()
        );
        // (query, narrowed list, parameters one of which it must carry, at
        // most requests to it)
        let first_org = "(select id from {s}.organizations order by created_at limit 1)";
        let cases: Vec<(String, &str, &[&str], usize)> = vec![
            (
                format!("select u.email, m.role from {{s}}.organization_memberships m
                           join {{s}}.users u on u.id = m.user_id
                          where m.organization_id = '{big}' order by 1, 2"),
                "/v1/users", &["organization_id"], 1,
            ),
            (
                format!("select u.id, u.created_at from {{s}}.users u, {{s}}.organization_memberships m
                          where m.user_id = u.id and m.organization_id = '{small}' order by 1"),
                "/v1/users", &["organization_id"], 1,
            ),
            (
                format!("select email from {{s}}.users where id in
                           (select user_id from {{s}}.organization_memberships where organization_id = '{big}')
                          order by 1"),
                "/v1/users", &["organization_id"], 1,
            ),
            (
                format!("select u.email from {{s}}.organization_memberships m
                           join {{s}}.users u on u.id = m.user_id
                          where m.organization_id = {first_org} order by 1"),
                "/v1/users", &["organization_id"], 1,
            ),
            (
                format!("select u.email, m.organization_id from {{s}}.organization_memberships m
                           join {{s}}.users u on u.id = m.user_id
                          where m.organization_id in ('{big}', '{small}') order by 1, 2"),
                "/v1/users", &["organization_id"], 1,
            ),
            (
                format!("select o.name, m.role from {{s}}.organizations o
                           join {{s}}.organization_memberships m on m.organization_id = o.id
                          where m.user_id = '{member}' order by 1"),
                // A lookup per membership of one user is as narrow.
                "/v1/organizations", &["user_id", "organization_id"], 1,
            ),
            // Rows a membership does not explain stay: no narrowing.
            (
                format!("select u.id, m.role from {{s}}.users u
                           left join {{s}}.organization_memberships m
                             on m.user_id = u.id and m.organization_id = '{big}' order by 1, 2"),
                "/v1/users", &[], 12,
            ),
            (
                format!("select count(*) from {{s}}.users u where not exists
                           (select 1 from {{s}}.organization_memberships m
                             where m.user_id = u.id and m.organization_id = '{big}')"),
                "/v1/users", &[], 12,
            ),
            (
                format!("select u.email from b6other.organization_memberships m
                           join {{s}}.users u on u.id = m.user_id
                          where m.organization_id = '{small}' order by 1"),
                "/v1/users", &[], 12,
            ),
        ];
        for (sql, path, param, most) in &cases {
            let param: &[&str] = param;
            let want = rows(&mut local, &sql.replace("{s}", "b6local")).unwrap();
            assert!(!want.is_empty() && want != ["0"], "{sql}");
            server.clear_log();
            assert_eq!(
                rows(&mut pushed, &sql.replace("{s}", "b6")).unwrap(),
                want,
                "{sql}"
            );
            let scans: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path == *path && r.param("limit") != Some("1"))
                .collect();
            if param.is_empty() {
                assert!(
                    scans.iter().all(|r| r.param("organization_id").is_none()),
                    "{sql}: {scans:?}"
                );
            } else {
                assert!(
                    !scans.is_empty()
                        && scans
                            .iter()
                            .all(|r| param.iter().any(|p| r.param(p).is_some())),
                    "{sql}: {scans:?}"
                );
            }
            assert!(scans.len() <= *most, "{sql}: {} requests", scans.len());
        }
        let plan = rows(
            &mut pushed,
            &format!(
                "explain (verbose, costs off) {}",
                cases[0].0.replace("{s}", "b6")
            ),
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains(&format!("GET /users?organization_id={big}&"))
                && plan
                    .contains("Clerk join filter: only users with a membership the join asks for"),
            "{plan}"
        );
        // Prepared with the organization as a parameter, generic and
        // custom plans, a function called again and again, a cursor.
        let sql = "select u.email, m.role from {s}.organization_memberships m
                     join {s}.users u on u.id = m.user_id
                    where m.organization_id = $1 order by 1, 2";
        local
            .batch_execute(&format!(
                "prepare want(text) as {}",
                sql.replace("{s}", "b6local")
            ))
            .unwrap();
        pushed
            .batch_execute(&format!(
                "prepare members(text) as {};
                 create function b6.members(o text) returns setof text language plpgsql as $$
                 begin
                   return query select u.email from b6.organization_memberships m
                     join b6.users u on u.id = m.user_id where m.organization_id = o order by 1;
                 end $$;",
                sql.replace("{s}", "b6")
            ))
            .unwrap();
        for mode in ["auto", "force_generic_plan"] {
            pushed
                .batch_execute(&format!("set plan_cache_mode = {mode}"))
                .unwrap();
            for round in 0..8 {
                let o = [&big, &small][round % 2];
                let want = rows(&mut local, &format!("execute want('{o}')")).unwrap();
                server.clear_log();
                assert_eq!(
                    rows(&mut pushed, &format!("execute members('{o}')")).unwrap(),
                    want,
                    "{mode} {round}"
                );
                let users: Vec<_> = server
                    .requests()
                    .into_iter()
                    .filter(|r| r.path == "/v1/users")
                    .collect();
                assert!(
                    users.len() == 1 && users[0].param("organization_id") == Some(o.as_str()),
                    "{mode} {round}: {users:?}"
                );
                let emails: Vec<String> = want
                    .iter()
                    .map(|r| r.split('|').next().unwrap().to_string())
                    .collect();
                assert_eq!(
                    rows(&mut pushed, &format!("select b6.members('{o}')")).unwrap(),
                    emails,
                    "{mode} {round}"
                );
            }
        }
        let want = rows(&mut local, &format!("execute want('{big}')")).unwrap();
        let with_big = sql.replace("{s}", "b6").replace("$1", &format!("'{big}'"));
        pushed
            .batch_execute(&format!("begin; declare c scroll cursor for {with_big}"))
            .unwrap();
        let forward = rows(&mut pushed, "fetch all from c").unwrap();
        let back = rows(&mut pushed, "fetch backward all from c").unwrap();
        pushed.batch_execute("commit").unwrap();
        assert_eq!(forward, want);
        assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), want);
        // An error caught by a savepoint, then the same query again.
        let (code, _) = failure(&mut pushed, &format!("select 1/0 from ({with_big}) q"));
        assert_eq!(code, "22012");
        assert_eq!(
            rows(&mut pushed, &format!("execute members('{big}')")).unwrap(),
            want
        );
    }

    /// Memberships of one organization looked up per user of a local
    /// function the planner believes returns 5 rows, through LATERAL: the
    /// lookup varies `user_id`, the organization stays. After
    /// as many lookups as the organization's list costs (2 pages), the list
    /// is read once and answers the rest. The oracle is a local copy.
    #[pg_test]
    fn lookups_by_one_of_two_columns_read_the_list_once() {
        let server = mock(DataConfig {
            users: 3000,
            organizations: 4,
            big_org_members: 900,
            ..DataConfig::default()
        });
        let big = server.dataset().organizations[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut pushed = imported(&server, "b7");
        let mut local = imported_with(&server, "b7off", ", pushdown 'false'");
        local
            .batch_execute(&format!(
                "create schema b7local;
                 create table b7local.organization_memberships as
                   select * from b7off.organization_memberships;
                 create table b7local.ids as select user_id from b7local.organization_memberships
                   where organization_id = '{big}';
                 create function b7local.ids() returns setof text language plpgsql stable rows 5
                   as 'begin return query select user_id from b7local.ids; end';"
            ))
            .unwrap();
        let sql = |schema: &str| {
            format!(
                "select i.user_id, m.role from b7local.ids() i(user_id),
                   lateral (select role from {schema}.organization_memberships m
                             where m.user_id = i.user_id and m.organization_id = '{big}'
                            offset 0) m
                  order by 1, 2"
            )
        };
        let want = rows(&mut local, &sql("b7local")).unwrap();
        assert_eq!(want.len(), 900);
        let path = format!("/v1/organizations/{big}/memberships");
        let requests = || -> (usize, usize) {
            let log: Vec<_> = server
                .requests()
                .into_iter()
                .filter(|r| r.path == path)
                .collect();
            let lookups = log.iter().filter(|r| r.param("user_id").is_some()).count();
            (lookups, log.len() - lookups)
        };
        pushed
            .batch_execute(
                "set enable_hashjoin = off; set enable_mergejoin = off; set enable_material = off",
            )
            .unwrap();
        server.clear_log();
        assert_eq!(rows(&mut pushed, &sql("b7")).unwrap(), want);
        // 2 lookups, then the list's 2 pages (and perhaps a count).
        let (lookups, reads) = requests();
        let explain = |c: &mut postgres::Client| {
            rows(c, &format!("explain verbose {}", sql("b7")))
                .unwrap()
                .join("\n")
        };
        assert_eq!(lookups, 2, "{}", explain(&mut pushed));
        assert!(reads <= 3, "{reads}");
        let plan = rows(
            &mut pushed,
            &format!(
                "explain (analyze, verbose, costs off, timing off, summary off) {}",
                sql("b7")
            ),
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains(
                "Clerk lookups: 2 sent, then one read of the list (900 rows) answered 898 more"
            ),
            "{plan}"
        );
        // Prepared under custom and generic plans, a function called
        // again and again, a cursor, and after a savepoint-caught error.
        pushed
            .batch_execute(&format!(
                "prepare by_user as {q};
                 create function b7.by_user() returns table(u text, r text) language plpgsql as $$
                 begin return query {q}; end $$;",
                q = sql("b7")
            ))
            .unwrap();
        for mode in ["auto", "force_generic_plan"] {
            pushed
                .batch_execute(&format!("set plan_cache_mode = {mode}"))
                .unwrap();
            for round in 0..8 {
                server.clear_log();
                assert_eq!(rows(&mut pushed, "execute by_user").unwrap(), want);
                let (lookups, reads) = requests();
                assert!(
                    lookups == 2 && reads <= 3,
                    "{mode} {round}: {lookups} {reads}"
                );
            }
        }
        for _ in 0..3 {
            assert_eq!(
                rows(&mut pushed, "select * from b7.by_user()").unwrap(),
                want
            );
        }
        pushed
            .batch_execute(&format!("begin; declare c scroll cursor for {}", sql("b7")))
            .unwrap();
        let forward = rows(&mut pushed, "fetch all from c").unwrap();
        let back = rows(&mut pushed, "fetch backward all from c").unwrap();
        pushed.batch_execute("commit").unwrap();
        assert_eq!(forward, want);
        assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), want);
        let (code, _) = failure(&mut pushed, &format!("select 1/0 from ({}) q", sql("b7")));
        assert_eq!(code, "22012");
        assert_eq!(rows(&mut pushed, "execute by_user").unwrap(), want);
    }
}
