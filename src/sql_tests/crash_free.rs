//! The crashes and wrong answers of clerk_fdw 0.2.0, each reproduced as a
//! test: cached plans (prepared statements, plpgsql, SQL functions,
//! generic plans, a client that prepares like pgjdbc), aggregates next to
//! other outputs, clauses without a column, LIMIT with pushdown off, the
//! same object from two request series, and 404s.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{data, DataConfig, MockServer};
    use pgrx::prelude::*;

    fn setup(tag: &str) -> (MockServer, postgres::Client) {
        setup_with(
            tag,
            DataConfig {
                users: 1200,
                organizations: 30,
                big_org_members: 620,
                ..DataConfig::default()
            },
        )
    }

    fn setup_with(tag: &str, cfg: DataConfig) -> (MockServer, postgres::Client) {
        let server = mock(cfg);
        let url = server.url();
        let mut client = session();
        client
            .batch_execute(&format!(
                "create foreign data wrapper w_{tag} handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server s_{tag} foreign data wrapper w_{tag}
                   options (api_url '{url}', request_budget 'off', max_retries '2');
                 create user mapping for public server s_{tag} options (api_key '{KEY}');
                 create schema c_{tag};
                 import foreign schema clerk limit to (users, organizations, organization_memberships)
                   from server s_{tag} into c_{tag};
                 set search_path = c_{tag}, public;"
            ))
            .expect("setup");
        (server, client)
    }

    /// The first row of `sql`, empty when there is none.
    fn one(client: &mut postgres::Client, sql: &str) -> String {
        rows(client, sql)
            .expect(sql)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    #[pg_test]
    fn cached_plans_run_again_and_again() {
        let (server, mut c) = setup("cp");
        let n = server.dataset().users.len();
        let after = server.dataset().users[n / 2]["created_at"]
            .as_i64()
            .unwrap();
        let expected = server
            .dataset()
            .users
            .iter()
            .filter(|u| u["created_at"].as_i64().unwrap() > after)
            .count();
        let bound = format!("to_timestamp({after} / 1000.0)");
        c.batch_execute(&format!(
            "prepare e1 as select id from users where created_at > {bound};
             prepare e2(timestamptz) as select id from users where created_at > $1;
             create function pg_temp.recent() returns bigint language plpgsql as $$
               begin return (select count(id) from users where first_name is not null); end $$;
             create function pg_temp.recent_sql() returns setof text language sql as $$
               select id from users order by created_at desc limit 3 $$;"
        ))
        .unwrap();
        for mode in ["auto", "force_generic_plan", "force_custom_plan"] {
            c.batch_execute(&format!("set plan_cache_mode = {mode}"))
                .unwrap();
            for _ in 0..8 {
                assert_eq!(rows(&mut c, "execute e1").unwrap().len(), expected);
                let e2 = rows(&mut c, &format!("execute e2({bound})")).unwrap();
                assert_eq!(e2.len(), expected);
                let rows = c
                    .query(
                        "select id from users where created_at > $1",
                        &[&std::time::SystemTime::UNIX_EPOCH],
                    )
                    .unwrap();
                assert_eq!(rows.len(), n);
                let named = one(&mut c, "select pg_temp.recent()");
                assert!(named.parse::<usize>().unwrap() > 0);
                assert_eq!(
                    c.query("select pg_temp.recent_sql()", &[]).unwrap().len(),
                    3
                );
            }
        }
        // What pgjdbc and psycopg do: one prepared statement, many runs.
        let statement = c
            .prepare("select md5(string_agg(id, ',' order by id)), count(*) from users")
            .unwrap();
        let first: Vec<String> = (0..20)
            .map(|_| {
                let row = c.query_one(&statement, &[]).unwrap();
                format!("{}:{}", row.get::<_, String>(0), row.get::<_, i64>(1))
            })
            .collect();
        assert!(first.windows(2).all(|w| w[0] == w[1]));
        assert!(first[0].ends_with(&format!(":{n}")), "{}", first[0]);
    }

    #[pg_test]
    fn outputs_next_to_a_count_are_right() {
        let (server, mut c) = setup("ag");
        let mut ids: Vec<String> = server
            .dataset()
            .users
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        let n = ids.len();
        let md5 = one(&mut c, &format!("select md5('{}')", ids.join("\n")));
        let got = one(
            &mut c,
            "select count(*), md5(string_agg(id, E'\\n' order by id)) from users",
        );
        assert_eq!(got, format!("{n}|{md5}"));
        let got = one(
            &mut c,
            "select md5(string_agg(id, E'\\n' order by id)) as h, count(*) from users",
        );
        assert_eq!(got, format!("{md5}|{n}"));
        // Counts alone, with constants and arithmetic: Clerk's count, once.
        server.clear_log();
        let got = one(
            &mut c,
            "select 7, count(*), count(1) + 1, count(id), 'x' from users",
        );
        assert_eq!(got, format!("7|{n}|{}|{n}|x", n + 1));
        let counts: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/users/count")
            .collect();
        assert_eq!(counts.len(), 1, "{counts:?}");
        assert!(server.requests().iter().all(|r| r.path != "/v1/users"));
        // Clauses without a column, evaluated by Postgres, and impossible ones.
        for (sql, want) in [
            (
                "select count(*) from users where now() < '2000-01-01'",
                "0".to_string(),
            ),
            (
                "select count(*) from users where now() > '2000-01-01'",
                n.to_string(),
            ),
            (
                "select count(*) from users where (select false)",
                "0".into(),
            ),
            (
                &format!(
                    "select count(*) from users where id = '{}' and id = '{}'",
                    ids[0], ids[1]
                ),
                "0".into(),
            ),
            (
                &format!("select count(*) from users where id = '{}'", ids[0]),
                "1".into(),
            ),
        ] {
            assert_eq!(one(&mut c, sql), want, "{sql}");
        }
        c.batch_execute("prepare z(text) as select count(*) from users where $1 = 'yes'; set plan_cache_mode = force_generic_plan")
            .unwrap();
        for _ in 0..8 {
            assert_eq!(one(&mut c, "execute z('no')"), "0");
            assert_eq!(one(&mut c, "execute z('yes')"), n.to_string());
        }
        // FILTER, DISTINCT, HAVING and GROUP BY stay with Postgres.
        let with_email = server
            .dataset()
            .users
            .iter()
            .enumerate()
            .filter(|(i, _)| data::user_primary_email(*i).is_some())
            .count();
        assert_eq!(
            one(
                &mut c,
                "select count(*) filter (where email is not null), count(distinct id) from users"
            ),
            format!("{with_email}|{n}")
        );
        assert_eq!(
            one(&mut c, "select count(*) from users having count(*) > 1e9"),
            ""
        );
        assert_eq!(
            one(&mut c, "select count(email) from users"),
            with_email.to_string()
        );
        // A table without columns: rows without values.
        c.batch_execute("create foreign table no_columns () server s_ag options (object 'users')")
            .unwrap();
        for sql in [
            "select count(*) from (select from no_columns offset 0) x",
            "select count(*) from no_columns",
        ] {
            assert_eq!(one(&mut c, sql), n.to_string(), "{sql}");
        }
    }

    #[pg_test]
    fn pushdown_off_narrows_nothing_and_objects_come_once() {
        let (server, mut c) = setup("po");
        let adas = server
            .dataset()
            .users
            .iter()
            .filter(|u| u["first_name"] == "Ada")
            .count();
        assert!(adas > 3);
        c.batch_execute("alter foreign table users options (add pushdown 'false')")
            .unwrap();
        for _ in 0..3 {
            let ada = rows(
                &mut c,
                "select id from users where first_name = 'Ada' limit 3",
            );
            assert_eq!(ada.unwrap().len(), 3);
        }
        server.clear_log();
        assert_eq!(
            one(
                &mut c,
                "select count(*) from users where created_at > now() - interval '1 day'"
            )
            .len(),
            1
        );
        assert!(server.requests().iter().all(|r| r
            .query
            .iter()
            .all(|(k, _)| k == "limit" || k == "starting_after" || k == "order_by")));
        c.batch_execute("alter foreign table users options (drop pushdown)")
            .unwrap();

        // An organization by slug and by id: one row.
        let org = &server.dataset().organizations[3];
        let (id, slug) = (org["id"].as_str().unwrap(), org["slug"].as_str().unwrap());
        assert_eq!(
            one(
                &mut c,
                &format!(
                    "select count(*), min(id) from organizations where slug in ('{slug}', '{id}')"
                )
            ),
            format!("1|{id}")
        );
        // User 2's two addresses in two batches of 100: one row.
        let mut emails = vec!["primary.2@example.org".to_string()];
        emails.extend((0..120).map(|k| format!("nobody{k}@example.com")));
        emails.push("secondary.2@example.net".into());
        let list = emails
            .iter()
            .map(|e| format!("'{e}'"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            one(&mut c, &format!("select count(*) from (select id from users where email in ({list}) offset 0) x")),
            "1"
        );
    }

    #[pg_test]
    fn a_404_is_no_rows_only_where_clerk_says_so() {
        let (server, mut c) = setup("nf");
        let url = server.url();
        let wrong = url.trim_end_matches("/v1");
        c.batch_execute(&format!(
            "alter server s_nf options (set api_url '{wrong}')"
        ))
        .unwrap();
        let user = data::user_id(5);
        for sql in [
            format!("select * from organization_memberships where user_id = '{user}'"),
            "select * from organization_memberships where organization_id = 'org_x'".into(),
            "select count(*) from users".into(),
        ] {
            let e = error_message(c.simple_query(&sql).unwrap_err());
            assert!(e.contains("404"), "{sql}: {e}");
            assert!(!e.contains(KEY), "{e}");
        }
        let e = c
            .simple_query("select * from organization_memberships where organization_id = 'org_x'")
            .unwrap_err();
        let db = e.as_db_error().unwrap();
        assert!(
            db.message()
                .contains("GET /organizations/org_x/memberships"),
            "{}",
            db.message()
        );
        assert!(db.hint().unwrap_or_default().contains("api_url"));
        c.batch_execute(&format!("alter server s_nf options (set api_url '{url}')"))
            .unwrap();
        // With the right URL: a missing organization by slug is no rows.
        assert_eq!(
            one(
                &mut c,
                "select count(*) from organizations where slug = 'no-such-org'"
            ),
            "0"
        );
        assert_eq!(
            one(
                &mut c,
                "select count(*) from organization_memberships where organization_id = 'org_x'"
            ),
            "0"
        );
        // Writes are refused (the server is not writable), not silently
        // dropped.
        let e = error_message(
            c.simple_query("insert into users (id) values ('x')")
                .unwrap_err(),
        );
        assert!(e.contains("is not writable"), "{e}");
    }

    #[pg_test]
    fn errors_caught_by_savepoints_leave_no_scan_behind() {
        let (server, mut c) = setup("sp");
        let n = server.dataset().users.len();
        c.batch_execute(
            "create function pg_temp.safe_ratio() returns text language plpgsql as $$
               begin
                 perform 1 / (count(*) - count(*)) from (select id from users offset 0) x;
                 return 'no error';
               exception when division_by_zero then
                 return 'caught';
               end $$;",
        )
        .unwrap();
        for _ in 0..5 {
            assert_eq!(one(&mut c, "select pg_temp.safe_ratio()"), "caught");
            c.batch_execute(
                "begin; declare k cursor for select id from users; fetch 10 from k; savepoint a",
            )
            .unwrap();
            assert!(c.simple_query("select 1 / 0 from users").is_err());
            c.batch_execute("rollback to a").unwrap();
            // The cursor opened before the savepoint goes on.
            assert_eq!(rows(&mut c, "fetch all from k").unwrap().len(), n - 10);
            c.batch_execute("commit").unwrap();
        }
        c.batch_execute(
            "begin; declare h cursor with hold for select id, email from users; commit",
        )
        .unwrap();
        assert_eq!(rows(&mut c, "fetch all from h").unwrap().len(), n);
        c.batch_execute("close h").unwrap();
    }
}
