//! SQL-level tests: a real Postgres backend reads from the Clerk-compatible
//! server, which runs inside the backend's process on a free 127.0.0.1 port.

mod bi_filters;
mod catalogue;
mod crash_free;
mod differential;
mod fidelity;
mod golden;
mod hostile;
mod local_ids;
mod mirror;
mod prism;
mod readme;
mod search_box;
mod security;
mod support;
mod writes;

#[pgrx::pg_schema]
mod tests {
    use super::support::*;
    use clerk_mock::{data, Behaviour, DataConfig, Fault, MockServer, RateLimit};
    use pgrx::prelude::*;
    use serde_json::{json, Value};
    use std::time::Duration;

    fn small() -> DataConfig {
        DataConfig {
            users: 1200,
            organizations: 30,
            big_org_members: 620,
            ..DataConfig::default()
        }
    }

    /// The seed's DDL, unchanged but for `api_url`, under server `name`.
    fn create_seed_tables(server: &MockServer, name: &str) {
        Spi::run(
            "do $$ begin
               if not exists (select from pg_foreign_data_wrapper where fdwname = 'clerk_wrapper') then
                 create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
               end if;
             end $$",
        )
        .expect("wrapper");
        let url = server.url();
        Spi::run(&format!(
            "
            create server {name} foreign data wrapper clerk_wrapper
              options (api_key '{KEY}', api_url '{url}', request_timeout_ms '1500', max_retries '2', max_retry_wait_ms '4000',
                       request_budget '2000/1s');
            create foreign table {name}_users (user_id text, first_name text, last_name text, email text, gender text,
              created_at bigint, updated_at bigint, last_sign_in_at bigint, phone_numbers bigint, username text)
              server {name} options (object 'users');
            create foreign table {name}_organizations (organization_id text, name text, slug text, created_at bigint,
              updated_at bigint, created_by text) server {name} options (object 'organizations');
            create foreign table {name}_organization_memberships (user_id text, organization_id text, role text)
              server {name} options (object 'organization_memberships');
            "
        ))
        .expect("seed DDL");
    }

    fn query_json(sql: &str) -> Value {
        let text = Spi::get_one::<String>(&format!(
            "select coalesce(json_agg(row_to_json(q))::text, '[]') from ({sql}) q"
        ))
        .expect("query")
        .expect("json");
        serde_json::from_str(&text).expect("json text")
    }

    /// Requests that fetched rows or counts for a query, leaving out the
    /// planner's row-count estimates (`/users/count` or `?limit=1`, cached
    /// for minutes per backend).
    fn data_requests(server: &MockServer) -> Vec<clerk_mock::RequestRecord> {
        server
            .requests()
            .into_iter()
            .filter(|r| {
                let whole_list = [
                    "/v1/users/count",
                    "/v1/organizations",
                    "/v1/organization_memberships",
                ];
                let estimate_params =
                    r.query.is_empty() || r.query == [("limit".to_string(), "1".to_string())];
                let estimate = whole_list.contains(&r.path.as_str()) && estimate_params;
                !estimate
            })
            .collect()
    }

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).expect("query").expect("a count")
    }

    /// The error message `sql` raises, or None when it succeeds.
    fn error_of(sql: &str) -> Option<String> {
        Spi::run(
            "create or replace function pg_temp.error_of(q text) returns text language plpgsql as $$
             begin execute q; return null;
             exception when others then return sqlerrm;
             end $$;",
        )
        .ok();
        Spi::get_one_with_args::<String>("select pg_temp.error_of($1)", &[sql.into()])
            .expect("error_of")
    }

    #[pg_test]
    fn seed_users_every_row_every_field() {
        let server = mock(small());
        create_seed_tables(&server, "s1");
        let cfg = small();
        let rows = query_json("select * from s1_users order by user_id");
        let mut expected: Vec<Value> = (0..cfg.users)
            .map(|i| {
                let u = &server.dataset().users[i];
                json!({
                    "user_id": u["id"], "first_name": u["first_name"], "last_name": u["last_name"],
                    "email": data::user_primary_email(i), "gender": null,
                    "created_at": u["created_at"], "updated_at": u["updated_at"],
                    "last_sign_in_at": u["last_sign_in_at"], "phone_numbers": data::user_phone_count(i),
                    "username": u["username"],
                })
            })
            .collect();
        expected.sort_by(|a, b| a["user_id"].as_str().cmp(&b["user_id"].as_str()));
        assert_eq!(rows, Value::Array(expected));
        // 1200 users = 3 pages of 500, each with the cursor of the previous.
        let log = data_requests(&server);
        assert_eq!(log.len(), 3);
        assert!(log
            .iter()
            .all(|r| r.path == "/v1/users" && r.param("limit") == Some("500")));
        assert!(log[1].param("starting_after").is_some());
    }

    #[pg_test]
    fn primary_email_not_first_unicode_and_nulls() {
        let server = mock(small());
        create_seed_tables(&server, "s2");
        // User 2 has two emails and the primary one is the second.
        let id = data::user_id(2);
        let row = query_json(&format!(
            "select email, first_name, last_name from s2_users where user_id = '{id}'"
        ));
        assert_eq!(
            row,
            json!([{"email": "primary.2@example.org", "first_name": "李", "last_name": "山田"}])
        );
        // User 3 has no email; user 1's sign-in is null.
        assert_eq!(
            count(&format!(
                "select count(*) from s2_users where user_id = '{}' and email is null",
                data::user_id(3)
            )),
            1
        );
        assert_eq!(
            count(&format!(
                "select count(*) from s2_users where user_id = '{}' and last_sign_in_at is null",
                data::user_id(1)
            )),
            1
        );
        let smileys = server
            .dataset()
            .users
            .iter()
            .filter(|u| u["first_name"] == "🙂 Smiley")
            .count();
        assert_eq!(
            count("select count(*) from s2_users where first_name = '🙂 Smiley'"),
            smileys as i64
        );
    }

    #[pg_test]
    fn page_boundaries() {
        for n in [0usize, 1, 499, 500, 501, 1000, 1001] {
            let server = mock(DataConfig {
                users: n,
                organizations: 0,
                ..DataConfig::default()
            });
            let name = format!("pb{n}");
            create_seed_tables(&server, &name);
            assert_eq!(
                count(&format!(
                    "select count(*) from (select user_id from {name}_users offset 0) s"
                )),
                n as i64,
                "count for {n}"
            );
            assert_eq!(
                count(&format!("select count(distinct user_id) from {name}_users")),
                n as i64
            );
            assert_eq!(
                data_requests(&server).len(),
                2 * (n / 500 + 1),
                "requests for {n} users (two scans)"
            );
        }
    }

    #[pg_test]
    fn organizations_and_memberships_complete_without_n_plus_one() {
        let server = mock(small());
        create_seed_tables(&server, "s3");
        let ds = server.dataset();
        assert_eq!(
            count("select count(organization_id) from s3_organizations"),
            ds.organizations.len() as i64
        );
        server.clear_log();
        assert_eq!(
            count("select count(user_id) from s3_organization_memberships"),
            ds.memberships.len() as i64
        );
        // One request per ~500 memberships, all instance-wide: never one per organization.
        let log = data_requests(&server);
        assert!(log.iter().all(|r| r.path == "/v1/organization_memberships"));
        assert_eq!(log.len(), ds.memberships.len().div_ceil(499));
        let big = data::org_id(0);
        assert_eq!(
            count(&format!(
                "select count(*) from s3_organization_memberships where organization_id = '{big}'"
            )),
            620
        );
        let org = query_json(&format!(
            "select name, slug, created_by from s3_organizations where organization_id = '{}'",
            data::org_id(1)
        ));
        assert_eq!(org[0]["name"], "Org 1 – Ωmega");
        assert_eq!(org[0]["created_by"], ds.organizations[1]["created_by"]);
        // The seed's "users and roles of an organization" question, as a join.
        let admins = count(&format!(
            "select count(*) from s3_organization_memberships m join s3_users u using (user_id)
             where m.organization_id = '{big}' and m.role = 'org:admin'"
        ));
        assert_eq!(admins, 1);
    }

    #[pg_test]
    fn every_declared_type_conversion() {
        let server = mock(small());
        create_seed_tables(&server, "s4");
        Spi::run(
            "create foreign table s4_typed (id text, email text, email_addresses text[],
               phone_numbers jsonb, created_at timestamptz, updated_at timestamp, last_active_at text,
               public_metadata jsonb, private_metadata text, banned boolean, locked text, two_factor_enabled bool,
               attrs jsonb, external_id varchar, has_image bool)
             server s4 options (object 'users')",
        )
        .unwrap();
        let i = 14; // one email, two phone numbers
        let id = data::user_id(i);
        let u = &server.dataset().users[i];
        let row = query_json(&format!(
            "select email, email_addresses, phone_numbers, extract(epoch from created_at) * 1000 as created_ms,
                    updated_at = to_timestamp({upd} / 1000.0) at time zone 'UTC' as updated_utc,
                    last_active_at, public_metadata, private_metadata::jsonb as private_metadata, banned, locked,
                    two_factor_enabled, attrs = '{attrs}'::jsonb as attrs_equal, external_id, has_image
             from s4_typed where id = '{id}'",
            upd = u["updated_at"],
            attrs = u.to_string().replace('\'', "''"),
        ));
        let r = &row[0];
        assert_eq!(r["email"], "user14@example.com");
        assert_eq!(r["email_addresses"], json!(["user14@example.com"]));
        assert_eq!(r["phone_numbers"], u["phone_numbers"]);
        assert_eq!(
            r["created_ms"].as_f64().unwrap() as i64,
            u["created_at"].as_i64().unwrap()
        );
        assert_eq!(r["updated_utc"], true);
        assert!(r["last_active_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(r["public_metadata"], u["public_metadata"]);
        assert_eq!(r["private_metadata"], u["private_metadata"]);
        assert_eq!(r["banned"], false);
        assert_eq!(r["locked"], "false");
        assert_eq!(r["two_factor_enabled"], u["two_factor_enabled"]);
        assert_eq!(r["attrs_equal"], true);
        assert_eq!(r["external_id"], u["external_id"]);
        assert_eq!(r["has_image"], u["has_image"]);
        // Metadata is queryable JSON; Unicode survives.
        assert_eq!(
            count("select count(*) from s4_typed where public_metadata->'tags' ? 'ünïcödé'"),
            server
                .dataset()
                .users
                .iter()
                .filter(|u| u["public_metadata"]["tags"].is_array())
                .count() as i64
        );
        // Milliseconds are kept exactly.
        assert_eq!(
            count(&format!("select (extract(epoch from created_at) * 1000)::bigint from s4_typed where id = '{id}'")),
            u["created_at"].as_i64().unwrap()
        );
        // Arrays declared as an integer type count their elements.
        Spi::run(
            "create foreign table s4_counts (id text, phone_numbers smallint, email_addresses int)
             server s4 options (object 'users')",
        )
        .unwrap();
        let row = query_json(&format!(
            "select phone_numbers, email_addresses from s4_counts where id = '{}'",
            data::user_id(51)
        ));
        assert_eq!(row, json!([{"phone_numbers": 3, "email_addresses": 2}]));
        // Membership permissions as text[] and timestamps.
        Spi::run(
            "create foreign table s4_members (id text, permissions text[], public_metadata jsonb, created_at timestamptz)
             server s4 options (object 'organization_memberships')",
        )
        .unwrap();
        let row = query_json(
            "select permissions, public_metadata from s4_members where id = 'orgmem_0_0'",
        );
        assert_eq!(
            row,
            json!([{"permissions": ["org:sys_memberships:manage", "org:sys_profile:manage"], "public_metadata": {"team": "core"}}])
        );
    }

    #[pg_test]
    fn join_with_a_local_table() {
        let server = mock(small());
        create_seed_tables(&server, "s5");
        Spi::run("create table accounts (clerk_user_id text primary key, mrr numeric)").unwrap();
        for (n, i) in [(1, 2usize), (2, 14), (3, 1199)] {
            Spi::run(&format!(
                "insert into accounts values ('{}', {n}00)",
                data::user_id(i)
            ))
            .unwrap();
        }
        let rows = query_json(
            "select a.mrr, u.email from accounts a join s5_users u on u.user_id = a.clerk_user_id order by a.mrr",
        );
        assert_eq!(
            rows,
            json!([
                {"mrr": 100, "email": "primary.2@example.org"},
                {"mrr": 200, "email": "user14@example.com"},
                {"mrr": 300, "email": "primary.1199@example.org"}
            ])
        );
    }

    #[pg_test]
    fn nested_loop_rescans_replay_instead_of_refetching() {
        let server = mock(small());
        create_seed_tables(&server, "s9");
        Spi::run("create table picks (user_id text)").unwrap();
        for i in [5usize, 6, 7, 8] {
            Spi::run(&format!(
                "insert into picks values ('{}')",
                data::user_id(i)
            ))
            .unwrap();
        }
        // A nested loop left join has to re-scan its inner side (the foreign
        // table) once per outer row. Without pushdown there is no per-key
        // lookup path, so the whole table is that inner side.
        Spi::run("alter foreign table s9_users options (add pushdown 'false')").unwrap();
        Spi::run("set local enable_hashjoin = off; set local enable_mergejoin = off; set local enable_material = off").unwrap();
        let q = "select count(u.email) from picks p left join s9_users u on u.user_id = p.user_id";
        let plan = Spi::get_one::<pgrx::Json>(&format!("explain (format json) {q}"))
            .unwrap()
            .unwrap()
            .0;
        fn foreign_scan_role(node: &Value) -> Option<String> {
            if node["Node Type"] == "Foreign Scan" {
                return node["Parent Relationship"].as_str().map(String::from);
            }
            node["Plans"].as_array()?.iter().find_map(foreign_scan_role)
        }
        assert_eq!(
            foreign_scan_role(&plan[0]["Plan"]).as_deref(),
            Some("Inner"),
            "{plan}"
        );
        server.clear_log();
        assert_eq!(count(q), 4);
        assert_eq!(
            data_requests(&server).len(),
            3,
            "the inner scan must be read from Clerk once"
        );
        // WHERE clauses the FDW cannot push down are still applied exactly.
        assert_eq!(
            count("select count(*) from s9_users where lower(email) = 'user5@example.com'"),
            1
        );
    }

    /// `create_seed_tables` plus, on the same Clerk, `{name}_off_*` tables
    /// with pushdown off and a users table with `timestamptz` columns.
    fn create_pushdown_tables(server: &MockServer, name: &str) {
        create_seed_tables(server, name);
        let url = server.url();
        Spi::run(&format!(
            "
            create server {name}_off foreign data wrapper clerk_wrapper
              options (api_key '{KEY}', api_url '{url}', pushdown 'false', request_budget '2000/1s');
            create foreign table {name}_off_users (user_id text, email text, created_at bigint, username text)
              server {name}_off options (object 'users');
            create foreign table {name}_off_organization_memberships (user_id text, organization_id text, role text)
              server {name}_off options (object 'organization_memberships');
            create foreign table {name}_tz_users (id text, email text, banned boolean, created_at timestamptz,
              last_sign_in_at timestamptz) server {name} options (object 'users');
            create foreign table {name}_tz_off_users (id text, email text, banned boolean, created_at timestamptz,
              last_sign_in_at timestamptz) server {name}_off options (object 'users');
            "
        ))
        .expect("pushdown DDL");
    }

    /// Runs `sql` with `{t}` replaced by the pushdown table and by its
    /// pushdown-off twin; asserts equal rows; returns the rows and the
    /// data requests of the pushdown run.
    fn same_rows(
        server: &MockServer,
        sql: &str,
        on: &str,
        off: &str,
    ) -> (Value, Vec<clerk_mock::RequestRecord>) {
        let expected = query_json(&sql.replace("{t}", off));
        // Plan once so the cached row-count estimate is not counted.
        Spi::run(&format!("explain {}", sql.replace("{t}", on))).expect("explain");
        server.clear_log();
        let rows = query_json(&sql.replace("{t}", on));
        assert_eq!(rows, expected, "{sql}");
        (rows, data_requests(server))
    }

    fn now_config() -> DataConfig {
        DataConfig {
            newest_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
            ..small()
        }
    }

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

    #[pg_test]
    fn validator_rejects_bad_options_at_create_time() {
        Spi::run("create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator").unwrap();
        // The key belongs in a user mapping: a server without one is fine.
        assert_eq!(error_of("create server v1 foreign data wrapper clerk_wrapper options (api_url 'http://127.0.0.1:1/v1')"), None);
        let e = error_of(
            "create server v1b foreign data wrapper clerk_wrapper options (request_budget 'lots')",
        )
        .unwrap();
        assert!(
            e.contains("invalid value for option \"request_budget\""),
            "{e}"
        );
        let e = error_of(
            "create server v1c foreign data wrapper clerk_wrapper options (max_concurrency '0')",
        )
        .unwrap();
        assert!(
            e.contains("invalid value for option \"max_concurrency\""),
            "{e}"
        );
        let e = error_of(
            "create server v2 foreign data wrapper clerk_wrapper options (api_key 'k', apikey 'x')",
        )
        .unwrap();
        assert!(e.contains("invalid server option \"apikey\""), "{e}");
        let e = error_of("create server v3 foreign data wrapper clerk_wrapper options (api_key 'k', api_url 'ftp://x')").unwrap();
        assert!(e.contains("invalid api_url"), "{e}");
        Spi::run("create server v4 foreign data wrapper clerk_wrapper options (api_key 'k')")
            .unwrap();
        let e =
            error_of("create foreign table v4_t (id text) server v4 options (object 'invoices')")
                .unwrap();
        assert!(e.contains("unknown object \"invoices\""), "{e}");
        let e = error_of("create foreign table v4_t (id text) server v4").unwrap();
        assert!(e.contains("\"object\" is required"), "{e}");
        let e = error_of(
            "create foreign table v4_t (id text) server v4 options (object 'users', limit '10')",
        )
        .unwrap();
        assert!(e.contains("invalid foreign table option \"limit\""), "{e}");
    }

    #[pg_test]
    fn unknown_column_and_wrong_type_name_table_and_column() {
        let server = mock(small());
        create_seed_tables(&server, "s6");
        Spi::run("create foreign table s6_bad (id text, shoe_size int) server s6 options (object 'users')").unwrap();
        let e = error_of("select * from s6_bad").unwrap();
        assert!(
            e.contains(
                "foreign table s6_bad has column \"shoe_size\", which Clerk users do not have"
            ),
            "{e}"
        );
        Spi::run(
            "create foreign table s6_bad2 (id text, email int) server s6 options (object 'users')",
        )
        .unwrap();
        let e = error_of("select * from s6_bad2").unwrap();
        assert!(
            e.contains("column \"email\" of foreign table s6_bad2 is declared integer"),
            "{e}"
        );
        assert_eq!(
            server.request_count(),
            0,
            "bad declarations must fail before any request"
        );
    }

    #[pg_test]
    fn clerk_errors_are_clear_and_never_show_the_key() {
        let server = mock(small());
        create_seed_tables(&server, "s7");
        let url = server.url();
        Spi::run(&format!(
            "create server s7b foreign data wrapper clerk_wrapper options (api_key 'sk_test_WRONGWRONG', api_url '{url}');
             create foreign table s7b_users (id text) server s7b options (object 'users');"
        ))
        .unwrap();
        let e = error_of("select * from s7b_users").unwrap();
        assert!(
            e.contains(
                "Clerk rejected the secret key from the api_key option of server s7b (HTTP 401)"
            ),
            "{e}"
        );
        assert!(e.contains("s7b_users"), "{e}");
        assert!(!e.contains("WRONGWRONG") && !e.contains(KEY), "{e}");

        // Plan once: the cached row-count estimate must not eat the faults below.
        // (A scan counted by Postgres: count(user_id) alone is Clerk's count.)
        Spi::run("explain select count(*) from (select user_id from s7_users offset 0) s").unwrap();
        // 429 with Retry-After, then success: all rows.
        server.set_behaviour(Behaviour {
            script: [
                None,
                Some(Fault::Status {
                    status: 429,
                    retry_after: Some(1),
                }),
            ]
            .into(),
            ..Behaviour::default()
        });
        assert_eq!(
            count("select count(*) from (select user_id from s7_users offset 0) s"),
            1200
        );

        // 5xx until retries are exhausted: an error, not a partial result.
        let bad_gateway = Some(Fault::Status {
            status: 502,
            retry_after: None,
        });
        server.set_behaviour(Behaviour {
            script: [None, bad_gateway.clone(), bad_gateway.clone(), bad_gateway].into(),
            ..Behaviour::default()
        });
        let e = error_of("select count(*) from (select user_id from s7_users offset 0) s").unwrap();
        assert!(e.contains("HTTP 502 on 3 attempts"), "{e}");

        // Malformed JSON in the middle of a scan.
        server.set_behaviour(Behaviour {
            script: [None, Some(Fault::Malformed)].into(),
            ..Behaviour::default()
        });
        let e = error_of("select count(*) from (select user_id from s7_users offset 0) s").unwrap();
        assert!(e.contains("cannot read"), "{e}");

        // A broken connection on every attempt.
        server.set_behaviour(Behaviour {
            script: vec![Some(Fault::Reset); 3].into(),
            ..Behaviour::default()
        });
        let e = error_of("select count(*) from (select user_id from s7_users offset 0) s").unwrap();
        assert!(e.contains("cannot reach Clerk"), "{e}");

        // Unreachable API.
        Spi::run(
            "create server s7c foreign data wrapper clerk_wrapper options (api_key 'k', api_url 'http://127.0.0.1:9/v1', max_retries '1');
             create foreign table s7c_users (id text) server s7c options (object 'users');",
        )
        .unwrap();
        let e = error_of("select * from s7c_users").unwrap();
        assert!(e.contains("cannot reach Clerk at 127.0.0.1:9"), "{e}");

        // And the session is fine afterwards.
        server.set_behaviour(Behaviour::default());
        assert_eq!(
            count("select count(*) from (select user_id from s7_users offset 0) s"),
            1200
        );
    }

    #[pg_test]
    fn a_hung_api_is_cancellable() {
        let server = mock(small());
        create_seed_tables(&server, "s8");
        server.set_behaviour(Behaviour {
            script: [Some(Fault::Hang(Duration::from_secs(20)))].into(),
            ..Behaviour::default()
        });
        Spi::run("create temp table elapsed (ms float8)").unwrap();
        // What pg_cancel_backend() does (and statement_timeout, through the same
        // interrupt flag): SIGINT to the backend thread, one second from now.
        let backend = unsafe { libc::pthread_self() } as usize;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            unsafe { libc::pthread_kill(backend as libc::pthread_t, libc::SIGINT) };
        });
        Spi::run(
            "do $$ declare t0 timestamptz := clock_timestamp(); begin
               perform count(*) from s8_users;
               insert into elapsed values (-1);
             exception when query_canceled then
               insert into elapsed values (extract(epoch from clock_timestamp() - t0) * 1000);
             end $$",
        )
        .unwrap();
        let ms = Spi::get_one::<f64>("select ms from elapsed")
            .unwrap()
            .unwrap();
        assert!(ms > 900.0 && ms < 2000.0, "cancelled after {ms} ms");
        // The session keeps working.
        server.set_behaviour(Behaviour::default());
        assert_eq!(count("select count(*) from s8_users"), 1200);
    }

    /// A users table for another session, with a wrapper of its own so that
    /// nothing waits for this test's uncommitted one.
    fn session_ddl(tag: &str, server: &MockServer, options: &str) -> String {
        let url = server.url();
        format!(
            "create foreign data wrapper w_{tag} handler clerk_fdw_handler validator clerk_fdw_validator;
             create server s_{tag} foreign data wrapper w_{tag}
               options (api_key '{KEY}', api_url '{url}', max_retries '3'{options});
             create foreign table u_{tag} (id text, email text) server s_{tag} options (object 'users');"
        )
    }

    fn sorted_ids(rows: &Value, key: &str) -> Vec<String> {
        let mut ids: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[key].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    fn dataset_ids(server: &MockServer) -> Vec<String> {
        let mut ids: Vec<String> = server
            .dataset()
            .users
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[pg_test]
    fn ten_percent_server_errors_still_give_exactly_the_rows() {
        let server = mock(DataConfig {
            users: 9000,
            organizations: 300,
            big_org_members: 900,
            members_per_org: 9,
            ..small()
        });
        create_seed_tables(&server, "r1");
        // The default retry settings: with concurrent workers, one request's
        // retries can land on several consecutive "every 10th" arrivals.
        Spi::run("alter server r1 options (set max_retries '5', set max_retry_wait_ms '30000')")
            .unwrap();
        server.set_behaviour(Behaviour {
            fail_every: 10,
            ..Behaviour::default()
        });
        // Every row exactly once (sorted lists with duplicates would differ).
        let users = query_json("select user_id from r1_users");
        assert_eq!(sorted_ids(&users, "user_id"), dataset_ids(&server));
        let members = query_json(
            "select user_id || '/' || organization_id as pair from r1_organization_memberships",
        );
        let mut expected: Vec<String> = server
            .dataset()
            .memberships
            .iter()
            .map(|m| {
                format!(
                    "{}/{}",
                    m["public_user_data"]["user_id"].as_str().unwrap(),
                    m["organization"]["id"].as_str().unwrap()
                )
            })
            .collect();
        expected.sort();
        assert_eq!(sorted_ids(&members, "pair"), expected);
        let failed = server.requests().iter().filter(|r| r.status == 503).count();
        assert!(
            failed >= 2,
            "{failed} of {} requests failed",
            server.request_count()
        );
    }

    /// Clerk documents no `Retry-After`: the limit is learned from 429s
    /// alone, against fixed windows and against a sliding window.
    #[pg_test]
    fn a_server_limit_five_times_tighter_than_the_budget_is_learned() {
        for (name, limit) in [
            ("r2", RateLimit::fixed(4, Duration::from_secs(1))),
            ("r3", RateLimit::sliding(4, Duration::from_secs(1))),
        ] {
            let server = mock(DataConfig {
                users: 8000,
                organizations: 0,
                ..small()
            });
            server.set_behaviour(Behaviour {
                rate_limit: Some(limit),
                ..Behaviour::default()
            });
            create_seed_tables(&server, name);
            Spi::run(&format!("alter server {name} options (set request_budget '20/1s', set max_retries '5', set max_retry_wait_ms '30000')")).unwrap();
            let users = query_json(&format!("select user_id from {name}_users"));
            assert_eq!(
                sorted_ids(&users, "user_id"),
                dataset_ids(&server),
                "{limit:?}"
            );
            let log = server.requests();
            let throttled = log.iter().filter(|r| r.status == 429).count();
            let served = log.iter().filter(|r| r.status == 200).count();
            let seconds =
                (log.iter().map(|r| r.at_ms).max().unwrap() - log[0].at_ms).div_ceil(1000);
            // The first burst meets 429s (at most the 8 requests in flight);
            // then the learned budget probes upwards slowly, costing about
            // one 429 per window of the server: no storm. Requests sent a
            // budget's window apart can still arrive in one of the server's
            // fixed windows when this 2-core machine runs other tests at
            // once, so allow two.
            // A sliding window refuses a probe for longer after each 429
            // than a fixed one, so it costs up to one more per second.
            let per_second = if limit.sliding { 3 } else { 2 };
            assert!(
                throttled <= 8 + per_second * seconds as usize,
                "{limit:?}: {throttled} answers 429 for {served} served in {seconds} s"
            );
        }
    }

    #[pg_test]
    fn eight_sessions_share_one_budget_and_all_get_every_row() {
        let server = mock(DataConfig {
            users: 1600,
            organizations: 0,
            ..small()
        });
        let sessions: Vec<_> = (0..8).map(|_| session()).collect();
        let threads: Vec<_> = sessions
            .into_iter()
            .enumerate()
            .map(|(i, mut client)| {
                let ddl = session_ddl(&format!("p{i}"), &server, ", request_budget '10/1s'");
                std::thread::spawn(move || {
                    let mut tx = client.transaction().unwrap();
                    tx.batch_execute(&ddl).unwrap();
                    let rows = tx.query(&format!("select id from u_p{i}"), &[]).unwrap();
                    tx.rollback().unwrap();
                    let mut ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                    ids.sort();
                    ids
                })
            })
            .collect();
        let expected = dataset_ids(&server);
        for t in threads {
            assert_eq!(t.join().unwrap(), expected);
        }
        let mut at: Vec<u64> = server.requests().iter().map(|r| r.at_ms).collect();
        at.sort_unstable();
        assert!(at.len() >= 8 * 5, "{} requests", at.len());
        // No second saw more than 10. The server sees arrivals, which trail
        // the turns by up to a scheduling delay of a busy machine: allow 100 ms.
        let busiest = (0..at.len())
            .map(|i| at[i..].iter().take_while(|&&t| t < at[i] + 900).count())
            .max()
            .unwrap();
        assert!(busiest <= 10, "{busiest} requests within one second");
        assert_eq!(
            server.requests().iter().filter(|r| r.status == 429).count(),
            0
        );
    }

    #[pg_test]
    fn statement_timeout_ends_a_hung_scan_and_the_session_goes_on() {
        let server = mock(small());
        server.set_behaviour(Behaviour {
            script: [None, Some(Fault::Hang(Duration::from_secs(30)))].into(),
            ..Behaviour::default()
        });
        let mut client = session();
        let ddl = session_ddl("h", &server, ", request_timeout_ms '60000'");
        let mut tx = client.transaction().unwrap();
        tx.batch_execute(&ddl).unwrap();
        tx.batch_execute("set local statement_timeout = '2s'")
            .unwrap();
        let t0 = std::time::Instant::now();
        let err = tx.query("select id from u_h", &[]).unwrap_err();
        let elapsed = t0.elapsed();
        let message = err.as_db_error().map(|e| e.message().to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("statement timeout")),
            "{err:?}"
        );
        assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
        tx.rollback().unwrap();
        server.set_behaviour(Behaviour::default());
        let mut tx = client.transaction().unwrap();
        tx.batch_execute(&ddl).unwrap();
        assert_eq!(tx.query("select id from u_h", &[]).unwrap().len(), 1200);
    }

    fn rss_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    #[pg_test]
    fn a_thousand_queries_do_not_grow_the_backend() {
        let server = mock(DataConfig {
            users: 40,
            organizations: 0,
            ..small()
        });
        create_seed_tables(&server, "r5");
        Spi::run("alter server r5 options (set request_budget 'off')").unwrap();
        let query =
            "select count(*) from (select user_id, email, created_at from r5_users offset 0) q";
        for _ in 0..200 {
            assert_eq!(count(query), 40);
        }
        server.clear_log();
        let before = rss_kb();
        for _ in 0..1000 {
            assert_eq!(count(query), 40);
        }
        let grown = rss_kb().saturating_sub(before);
        assert_eq!(server.request_count(), 1000);
        assert!(
            grown < 2048,
            "the backend grew by {grown} kB over 1000 queries"
        );
    }

    /// A server without a key, and the key in a PUBLIC user mapping.
    fn create_keyless_server(server: &MockServer, name: &str) {
        Spi::run(
            "do $$ begin
               if not exists (select from pg_foreign_data_wrapper where fdwname = 'clerk_wrapper') then
                 create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
               end if;
             end $$",
        )
        .unwrap();
        let url = server.url();
        Spi::run(&format!(
            "create server {name} foreign data wrapper clerk_wrapper
               options (api_url '{url}', request_budget '2000/1s');
             create user mapping for public server {name} options (api_key '{KEY}');"
        ))
        .unwrap();
    }

    #[pg_test]
    fn import_foreign_schema_gives_every_object_typed() {
        let server = mock(small());
        create_keyless_server(&server, "i1");
        Spi::run("create schema clerk; import foreign schema clerk from server i1 into clerk")
            .unwrap();
        let tables = query_json(
            "select c.relname from pg_foreign_table f join pg_class c on c.oid = f.ftrelid
              join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'clerk' order by 1",
        );
        assert_eq!(
            tables,
            json!([
                {"relname": "allowlist_identifiers"}, {"relname": "api_keys"},
                {"relname": "billing_payment_attempts"}, {"relname": "billing_plans"},
                {"relname": "billing_prices"}, {"relname": "billing_statements"},
                {"relname": "billing_subscription_items"}, {"relname": "billing_subscriptions"},
                {"relname": "blocklist_identifiers"}, {"relname": "domains"},
                {"relname": "enterprise_connections"}, {"relname": "instance"},
                {"relname": "instance_organization_settings"}, {"relname": "invitations"},
                {"relname": "jwt_templates"}, {"relname": "m2m_tokens"}, {"relname": "machines"},
                {"relname": "oauth_applications"}, {"relname": "organization_domains"},
                {"relname": "organization_invitations"}, {"relname": "organization_memberships"},
                {"relname": "organization_permissions"}, {"relname": "organization_roles"},
                {"relname": "organizations"}, {"relname": "redirect_urls"},
                {"relname": "role_sets"}, {"relname": "saml_connections"}, {"relname": "sessions"},
                {"relname": "user_organization_invitations"}, {"relname": "users"},
                {"relname": "waitlist_entries"}
            ])
        );
        let types = query_json(
            "select attname, format_type(atttypid, atttypmod) as t from pg_attribute
              where attrelid = 'clerk.users'::regclass and attname in ('created_at', 'banned', 'attrs', 'email', 'email_addresses')
              order by 1",
        );
        assert_eq!(
            types,
            json!([
                {"attname": "attrs", "t": "jsonb"}, {"attname": "banned", "t": "boolean"},
                {"attname": "created_at", "t": "timestamp with time zone"},
                {"attname": "email", "t": "text"}, {"attname": "email_addresses", "t": "text[]"}
            ])
        );
        assert_eq!(count("select count(*) from clerk.users"), 1200);
        let ds = server.dataset();
        let first = ds.users[0]["id"].as_str().unwrap();
        assert_eq!(
            count(&format!("select count(*) from clerk.organization_memberships m join clerk.users u on u.id = m.user_id where u.id = '{first}'")) as usize,
            server.dataset().memberships.iter().filter(|m| m["public_user_data"]["user_id"] == first).count()
        );

        Spi::run("create schema only_users; import foreign schema clerk limit to (users) from server i1 into only_users").unwrap();
        assert_eq!(count("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'only_users'"), 1);
        Spi::run("create schema no_users; import foreign schema clerk except (users) from server i1 into no_users").unwrap();
        assert_eq!(count("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'no_users'"), crate::catalog::OBJECTS.len() as i64 - 1);
        let e =
            error_of("import foreign schema clerk limit to (userz) from server i1 into no_users")
                .unwrap();
        assert!(e.contains("unknown object \"userz\""), "{e}");
        let e = error_of("import foreign schema public from server i1 into no_users").unwrap();
        assert!(e.contains("no remote schema \"public\""), "{e}");
    }

    #[pg_test]
    fn read_only_role_queries_via_public_mapping_cannot_read_key() {
        let server = mock(small());
        create_keyless_server(&server, "k1");
        Spi::run(
            "create foreign table k1_users (id text, email text) server k1 options (object 'users');
             create role clerk_bi_reader;
             grant select on k1_users to clerk_bi_reader;
             set local role clerk_bi_reader;",
        )
        .unwrap();
        assert_eq!(count("select count(*) from k1_users"), 1200);
        let visible = Spi::get_one::<String>(
            "select coalesce(string_agg(umoptions::text, ','), '') from pg_user_mappings where srvname = 'k1'",
        )
        .unwrap()
        .unwrap_or_default();
        let server_options = Spi::get_one::<String>(
            "select srvoptions::text from pg_foreign_server where srvname = 'k1'",
        )
        .unwrap()
        .unwrap_or_default();
        assert!(!visible.contains(KEY) && !server_options.contains(KEY));
        Spi::run("reset role").unwrap();

        // The current user's own mapping wins over PUBLIC's.
        Spi::run(
            "alter user mapping for public server k1 options (set api_key 'sk_test_wrong');
             create user mapping for current_user server k1 options (api_key 'x');
             alter user mapping for current_user server k1 options (set api_key 'sk_test_0123456789secret');",
        )
        .unwrap();
        assert_eq!(count("select count(*) from k1_users"), 1200);
        Spi::run("drop user mapping for current_user server k1").unwrap();
        let e = error_of("select count(*) from k1_users").unwrap();
        assert!(e.contains("rejected the secret key"), "{e}");

        // No key anywhere: a clear error naming the fix.
        Spi::run("drop user mapping for public server k1").unwrap();
        let e = error_of("select count(*) from k1_users").unwrap();
        assert!(e.contains("no Clerk secret key for server \"k1\""), "{e}");
        let e = error_of("create user mapping for public server k1 options (apikey 'x')").unwrap();
        assert!(e.contains("invalid user mapping option \"apikey\""), "{e}");
    }

    /// clerk_fdw_stats() counts what was sent and received, as the server
    /// saw it; clerk_fdw_stats_reset() sets it back to zero, for superusers.
    #[pg_test]
    fn stats_count_what_the_server_saw_and_reset_clears_them() {
        let server = mock(small());
        create_keyless_server(&server, "st");
        Spi::run(
            "create foreign table st_users (id text, email text) server st options (object 'users');
             explain select id from st_users;",
        )
        .unwrap();
        let stats = || {
            query_json(
                "select requests, retries, rate_limited, errors, bytes_received, rows
                   from clerk_fdw_stats() where server = 'st'",
            )[0]
            .clone()
        };
        // Another test may have used this port: start from zero.
        Spi::run("select clerk_fdw_stats_reset('st')").unwrap();
        server.clear_log();
        server.set_behaviour(Behaviour {
            fail_every: 4,
            ..Behaviour::default()
        });
        assert_eq!(
            query_json("select id from st_users")
                .as_array()
                .unwrap()
                .len(),
            1200
        );
        server.set_behaviour(Behaviour::default());
        let sent = server.requests();
        let failed = sent.iter().filter(|r| r.status >= 500).count();
        assert!(failed > 0, "{sent:?}");
        let s = stats();
        assert_eq!(s["requests"], json!(sent.len()), "{s}");
        assert_eq!(s["retries"], json!(failed), "{s}");
        assert_eq!(s["rate_limited"], json!(0), "{s}");
        assert_eq!(s["errors"], json!(0), "{s}");
        assert_eq!(s["rows"], json!(1200), "{s}");
        assert!(s["bytes_received"].as_i64().unwrap() > 1200 * 100, "{s}");

        Spi::run("select clerk_fdw_stats_reset('st')").unwrap();
        let zero = json!({"requests": 0, "retries": 0, "rate_limited": 0, "errors": 0, "bytes_received": 0, "rows": 0});
        assert_eq!(stats(), zero);
        assert_eq!(
            count("select count(*) from (select id from st_users offset 0) q"),
            1200
        );
        assert_eq!(stats()["rows"], json!(1200));
        Spi::run("select clerk_fdw_stats_reset()").unwrap();
        assert_eq!(stats(), zero);

        let e = error_of("select clerk_fdw_stats_reset('nope')").unwrap();
        assert!(e.contains("there is no clerk_fdw server \"nope\""), "{e}");
        Spi::run("create role clerk_stats_reader").unwrap();
        let may = |function: &str| {
            Spi::get_one::<bool>(&format!(
                "select has_function_privilege('clerk_stats_reader', '{function}', 'execute')"
            ))
            .unwrap()
            .unwrap()
        };
        assert!(may("clerk_fdw_stats()"), "anyone may read the stats");
        assert!(!may("clerk_fdw_stats_reset(text)"));
        Spi::run("grant usage on foreign server st to clerk_stats_reader; set local role clerk_stats_reader").unwrap();
        assert_eq!(stats(), zero);
        Spi::run("reset role").unwrap();
    }

    #[pg_test]
    fn examples_run_and_answer_the_seed_questions() {
        let server = mock(now_config());
        create_keyless_server(&server, "e1");
        Spi::run("create schema clerk; import foreign schema clerk from server e1 into clerk")
            .unwrap();
        let examples = [
            (
                "analytics.sql",
                include_str!("../../examples/analytics.sql"),
            ),
            (
                "drop_your_users_table.sql",
                include_str!("../../examples/drop_your_users_table.sql"),
            ),
            (
                "dashboard.sql",
                include_str!("../../examples/dashboard.sql"),
            ),
            (
                "cached_dashboard.sql",
                include_str!("../../examples/cached_dashboard.sql"),
            ),
        ];
        for (name, sql) in examples {
            Spi::run(sql).unwrap_or_else(|e| panic!("examples/{name}: {e}"));
        }
        let ds = server.dataset();
        let now_ms = Spi::get_one::<f64>("select (extract(epoch from now()) * 1000)::float8")
            .unwrap()
            .unwrap() as i64;
        let users_since = |field: &str, ms: i64| {
            ds.users
                .iter()
                .filter(|u| u[field].as_i64().is_some_and(|t| t > now_ms - ms))
                .count() as i64
        };
        let day = 86_400_000;
        assert_eq!(
            count("select signups from signups_last_30_days"),
            users_since("created_at", 30 * day)
        );
        assert_eq!(
            count("select sum(organizations)::bigint from organizations_per_week"),
            ds.organizations.len() as i64
        );
        let member = ds.memberships[0]["public_user_data"]["user_id"]
            .as_str()
            .unwrap();
        assert_eq!(
            count(&format!(
                "select count(*) from organizations_of_user('{member}')"
            )) as usize,
            ds.memberships
                .iter()
                .filter(|m| m["public_user_data"]["user_id"] == member)
                .count()
        );
        let big = data::org_id(0);
        assert_eq!(
            count(&format!("select count(*) from members_of_organization('{big}') where identifier is not null")),
            620
        );

        let owners: Vec<&str> = (0..3)
            .map(|i| ds.users[i]["id"].as_str().unwrap())
            .collect();
        for (i, owner) in owners.iter().enumerate() {
            Spi::run(&format!(
                "insert into app_projects (owner_clerk_id, name) values ('{owner}', 'project {i}')"
            ))
            .unwrap();
        }
        let rows =
            query_json("select name, owner_first_name from projects_with_owners order by name");
        let expected: Vec<Value> = (0..3)
            .map(|i| json!({"name": format!("project {i}"), "owner_first_name": ds.users[i]["first_name"]}))
            .collect();
        assert_eq!(rows, json!(expected));

        let users = ds.users.len() as i64;
        assert_eq!(
            count("select sum(signups)::bigint from dashboard_signups_per_week"),
            users
        );
        assert_eq!(
            count("select sum(active_users)::bigint from dashboard_weekly_active_users"),
            users_since("last_active_at", 12 * 7 * day)
        );
        assert_eq!(
            count("select max(total_organizations)::bigint from dashboard_organization_growth"),
            ds.organizations.len() as i64
        );
        // The cached copy answers without asking Clerk.
        server.clear_log();
        assert_eq!(
            count("select sum(signups)::bigint from dashboard_signups_per_week_cached"),
            users
        );
        assert_eq!(server.request_count(), 0);
    }

    /// `scripts/demo.sh` feeds examples/demo.sql to psql; here it runs with
    /// psql's variables filled in and its meta-commands left out.
    #[pg_test]
    fn demo_script_runs_as_written() {
        let server = mock(small());
        let demo = include_str!("../../examples/demo.sql")
            .replace(":'api_url'", &format!("'{}'", server.url()))
            .replace(":'api_key'", &format!("'{KEY}'"));
        let mut blocks: Vec<(String, String)> = vec![(String::new(), String::new())];
        for line in demo.lines() {
            if let Some(title) = line.strip_prefix("\\echo '== ") {
                blocks.push((title.to_string(), String::new()));
            } else if !line.starts_with('\\') {
                let sql = &mut blocks.last_mut().unwrap().1;
                sql.push_str(line);
                sql.push('\n');
            }
        }
        for (title, sql) in &blocks {
            Spi::run(sql).unwrap_or_else(|e| panic!("examples/demo.sql, {title}: {e}"));
        }

        // The sessions query reads each of the five users' sessions, one
        // request per user, and nothing else of sessions.
        let (_, sessions_sql) = blocks
            .iter()
            .find(|(title, _)| title.starts_with("Sessions"))
            .expect("demo.sql has a sessions query");
        let ds = server.dataset();
        let mut newest: Vec<&Value> = ds.users.iter().collect();
        newest.sort_by_key(|u| std::cmp::Reverse(u["created_at"].as_i64()));
        let want = newest[..5]
            .iter()
            .map(|u| {
                ds.sessions
                    .iter()
                    .filter(|s| s["user_id"] == u["id"])
                    .count()
            })
            .sum::<usize>();
        assert!(want > 0, "the sample data gives the newest users sessions");
        server.clear_log();
        let sql = sessions_sql.trim().trim_end_matches(';');
        assert_eq!(
            count(&format!("select count(*) from ({sql}) q")) as usize,
            want
        );
        let session_requests = server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/sessions")
            .count();
        assert_eq!(session_requests, 5);
    }

    #[pg_test]
    fn the_key_can_come_from_supabase_vault() {
        let server = mock(small());
        let url = server.url();
        Spi::run("create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator").unwrap();
        Spi::run(&format!(
            "create server v_none foreign data wrapper clerk_wrapper options (api_url '{url}', api_key_name 'clerk');
             create foreign table v_none_users (id text) server v_none options (object 'users');"
        ))
        .unwrap();
        let e = error_of("select count(*) from v_none_users").unwrap();
        assert!(e.contains("Supabase Vault is not installed"), "{e}");

        // What Supabase Vault provides, as far as clerk_fdw reads it.
        Spi::run(&format!(
            "create schema vault;
             create table vault.decrypted_secrets (id uuid primary key default gen_random_uuid(),
               name text, decrypted_secret text);
             insert into vault.decrypted_secrets (name, decrypted_secret) values ('clerk', '{KEY}'), ('old', 'sk_test_old');"
        ))
        .unwrap();
        let id = Spi::get_one::<String>(
            "select id::text from vault.decrypted_secrets where name = 'clerk'",
        )
        .unwrap()
        .unwrap();
        Spi::run(&format!(
            "create server v_id foreign data wrapper clerk_wrapper options (api_url '{url}', api_key_id '{id}');
             create foreign table v_id_users (id text) server v_id options (object 'users');
             create server v_missing foreign data wrapper clerk_wrapper options (api_url '{url}', api_key_name 'nope');
             create foreign table v_missing_users (id text) server v_missing options (object 'users');"
        ))
        .unwrap();
        assert_eq!(count("select count(*) from v_none_users"), 1200);
        assert_eq!(count("select count(*) from v_id_users"), 1200);
        let e = error_of("select count(*) from v_missing_users").unwrap();
        assert!(
            e.contains("\"nope\"") && e.contains("no such secret"),
            "{e}"
        );
        // A user mapping still comes first.
        Spi::run("create user mapping for public server v_id options (api_key 'sk_test_wrong')")
            .unwrap();
        let e = error_of("select count(*) from v_id_users").unwrap();
        assert!(e.contains("rejected the secret key"), "{e}");
    }

    #[pg_test]
    fn invitations_identifiers_and_domains_every_row_and_field() {
        let server = mock(DataConfig {
            users: 6000,
            organizations: 30,
            ..small()
        });
        create_keyless_server(&server, "o1");
        Spi::run("create schema clerk; import foreign schema clerk from server o1 into clerk")
            .unwrap();
        let ds = server.dataset();
        let sorted_by_id = |list: &[Value]| {
            let mut list = list.to_vec();
            list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            list
        };
        let ms =
            |column: &str| format!("(extract(epoch from {column}) * 1000)::bigint as {column}");
        // 600 invitations: two bare-array pages with offset paging.
        let rows = query_json(&format!(
            "select id, email_address, status, revoked, url, public_metadata, {}, {} from clerk.invitations order by id",
            ms("expires_at"),
            ms("created_at")
        ));
        let expected: Vec<Value> = sorted_by_id(&ds.invitations)
            .iter()
            .map(|i| {
                json!({"id": i["id"], "email_address": i["email_address"], "status": i["status"],
                       "revoked": i["revoked"], "url": i["url"], "public_metadata": i["public_metadata"],
                       "expires_at": i["expires_at"], "created_at": i["created_at"]})
            })
            .collect();
        assert_eq!(rows, json!(expected));

        let rows = query_json(
            "select id, email_address, organization_id, organization_name, role, status from clerk.organization_invitations order by id",
        );
        let expected: Vec<Value> = sorted_by_id(&ds.organization_invitations)
            .iter()
            .map(|i| {
                json!({"id": i["id"], "email_address": i["email_address"], "organization_id": i["organization_id"],
                       "organization_name": i["public_organization_data"]["name"], "role": i["role"], "status": i["status"]})
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(rows, json!(expected));

        for (table, list) in [
            ("allowlist_identifiers", &ds.allowlist_identifiers),
            ("blocklist_identifiers", &ds.blocklist_identifiers),
        ] {
            let rows = query_json(&format!(
                "select id, identifier, identifier_type from clerk.{table} order by id"
            ));
            let expected: Vec<Value> = sorted_by_id(list)
                .iter()
                .map(|i| json!({"id": i["id"], "identifier": i["identifier"], "identifier_type": i["identifier_type"]}))
                .collect();
            assert_eq!(rows, json!(expected), "{table}");
        }
        let rows = query_json(
            "select id, is_satellite, proxy_url, cname_targets from clerk.domains order by id",
        );
        assert_eq!(
            rows,
            json!([
                {"id": "dmn_primary", "is_satellite": false, "proxy_url": null, "cname_targets": ds.domains[0]["cname_targets"]},
                {"id": "dmn_satellite", "is_satellite": true, "proxy_url": "https://example.org/__clerk", "cname_targets": null}
            ])
        );

        // The status filter is Clerk's.
        server.clear_log();
        let pending = ds
            .invitations
            .iter()
            .filter(|i| i["status"] == "pending")
            .count() as i64;
        assert_eq!(
            count("select count(*) from clerk.invitations where status = 'pending'"),
            pending
        );
        let log = data_requests(&server);
        assert!(!log.is_empty());
        assert!(
            log.iter()
                .filter(|r| r.path == "/v1/invitations")
                .all(|r| r.param("status") == Some("pending")),
            "{log:?}"
        );
        // Clerk takes one status per request: a list is a request per status.
        for table in ["invitations", "organization_invitations"] {
            let list = if table == "invitations" {
                &ds.invitations
            } else {
                &ds.organization_invitations
            };
            let wanted = ["pending", "accepted"];
            let expected: Vec<Value> = sorted_by_id(list)
                .iter()
                .filter(|i| wanted.iter().any(|w| i["status"] == *w))
                .map(|i| json!({"id": i["id"]}))
                .collect();
            assert!(expected.len() > 1, "{table}: both statuses in the data");
            server.clear_log();
            let rows = query_json(&format!(
                "select id from clerk.{table} where status in ('pending', 'accepted') order by id"
            ));
            assert_eq!(rows, json!(expected), "{table}");
            let statuses: Vec<Option<String>> = server
                .requests()
                .iter()
                .filter(|r| r.path == format!("/v1/{table}"))
                .map(|r| r.param("status").map(String::from))
                .collect();
            assert!(
                statuses.iter().all(|s| s.is_some()) && statuses.len() >= 2,
                "{table}: {statuses:?}"
            );
        }
    }

    #[pg_test]
    fn sessions_need_a_user_or_client_and_join_per_user() {
        let server = mock(small());
        create_keyless_server(&server, "se");
        Spi::run("create schema clerk; import foreign schema clerk from server se into clerk")
            .unwrap();
        let ds = server.dataset();
        server.clear_log();
        let e = error_of("select count(*) from clerk.sessions").unwrap();
        assert!(
            e.contains(
                "foreign table sessions (sessions) needs user_id = ... or client_id = ... in WHERE"
            ),
            "{e}"
        );
        let e = error_of("select * from clerk.sessions where status = 'active'").unwrap();
        assert!(e.contains("needs user_id"), "{e}");
        assert!(
            server.requests().iter().all(|r| r.path != "/v1/sessions"),
            "no session list request without a user"
        );
        let plan = Spi::get_one::<pgrx::Json>(
            "explain (format json, verbose) select * from clerk.sessions",
        )
        .unwrap()
        .unwrap()
        .0;
        assert!(
            plan.to_string().contains("none: sessions needs user_id"),
            "{plan}"
        );

        // One user's sessions, every field that matters.
        let user = 5; // 5 % 3 = 2 sessions
        let uid = ds.users[user]["id"].as_str().unwrap();
        let expected: Vec<&Value> = ds.sessions.iter().filter(|s| s["user_id"] == uid).collect();
        assert_eq!(expected.len(), 2);
        let rows = query_json(&format!(
            "select id, user_id, client_id, status, actor, latest_activity->>'city' as city,
                    (extract(epoch from expire_at) * 1000)::bigint as expire_at
               from clerk.sessions where user_id = '{uid}' order by id"
        ));
        let mut want: Vec<Value> = expected
            .iter()
            .map(|s| {
                json!({"id": s["id"], "user_id": s["user_id"], "client_id": s["client_id"], "status": s["status"],
                       "actor": s["actor"], "city": s["latest_activity"]["city"], "expire_at": s["expire_at"]})
            })
            .collect();
        want.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        assert_eq!(rows, json!(want));
        let client = expected[0]["client_id"].as_str().unwrap();
        assert_eq!(
            count(&format!(
                "select count(*) from clerk.sessions where client_id = '{client}'"
            )),
            2
        );
        let status = expected[0]["status"].as_str().unwrap();
        server.clear_log();
        assert_eq!(
            count(&format!(
                "select count(*) from clerk.sessions where user_id = '{uid}' and status = '{status}'"
            )),
            expected.iter().filter(|s| s["status"] == status).count() as i64
        );
        let sent: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/sessions")
            .collect();
        assert!(
            !sent.is_empty() && sent.iter().all(|r| r.param("status") == Some(status)),
            "the status goes to Clerk: {sent:?}"
        );

        // Sessions of the users a local table names: one request per user.
        Spi::run(
            "create temp table watched (user_id text);
             insert into watched select id from clerk.users order by created_at limit 12",
        )
        .unwrap();
        let watched = query_json("select user_id from watched");
        server.clear_log();
        let per_user = query_json(
            "select w.user_id, count(s.id) as n from watched w
               left join clerk.sessions s on s.user_id = w.user_id group by 1 order by 1",
        );
        let want: Vec<Value> = {
            let mut ids = sorted_ids(&watched, "user_id");
            ids.dedup();
            ids.iter()
                .map(|id| json!({"user_id": id, "n": ds.sessions.iter().filter(|s| s["user_id"] == id.as_str()).count()}))
                .collect()
        };
        assert_eq!(per_user, json!(want));
        let lists = server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/sessions")
            .count();
        assert_eq!(lists, 12);
    }

    #[pg_test]
    fn templates_applications_connections_and_redirect_urls_every_row() {
        let server = mock(small());
        create_keyless_server(&server, "o2");
        Spi::run("create schema clerk; import foreign schema clerk from server o2 into clerk")
            .unwrap();
        let ds = server.dataset();
        let by_id = |list: &[Value]| {
            let mut list = list.to_vec();
            list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            list
        };
        let ms = |column: &str| format!("(extract(epoch from {column}) * 1000)::bigint");
        let rows = query_json(&format!(
            "select id, name, claims, lifetime, custom_signing_key, signing_algorithm, {} as created_at
               from clerk.jwt_templates order by id",
            ms("created_at")
        ));
        let want: Vec<Value> = by_id(&ds.jwt_templates)
            .iter()
            .map(|t| {
                json!({"id": t["id"], "name": t["name"], "claims": t["claims"], "lifetime": t["lifetime"],
                       "custom_signing_key": t["custom_signing_key"], "signing_algorithm": t["signing_algorithm"],
                       "created_at": t["created_at"]})
            })
            .collect();
        assert_eq!(rows, json!(want));

        let rows = query_json(
            "select id, name, client_id, public, pkce_required, scopes, redirect_uris, client_uri
               from clerk.oauth_applications order by id",
        );
        let want: Vec<Value> = by_id(&ds.oauth_applications)
            .iter()
            .map(|a| {
                json!({"id": a["id"], "name": a["name"], "client_id": a["client_id"], "public": a["public"],
                       "pkce_required": a["pkce_required"], "scopes": a["scopes"],
                       "redirect_uris": a["redirect_uris"], "client_uri": a["client_uri"]})
            })
            .collect();
        assert_eq!(rows, json!(want));

        let rows = query_json(&format!(
            "select id, name, domains, provider, active, organization_id, user_count, attribute_mapping,
                    {} as expires_at from clerk.saml_connections order by id",
            ms("idp_certificate_expires_at")
        ));
        let want: Vec<Value> = by_id(&ds.saml_connections)
            .iter()
            .map(|c| {
                json!({"id": c["id"], "name": c["name"], "domains": c["domains"], "provider": c["provider"],
                       "active": c["active"], "organization_id": c["organization_id"], "user_count": c["user_count"],
                       "attribute_mapping": c["attribute_mapping"], "expires_at": c["idp_certificate_expires_at"]})
            })
            .collect();
        assert_eq!(rows, json!(want));
        // The organization filter is Clerk's.
        let org = ds.saml_connections[0]["organization_id"].as_str().unwrap();
        server.clear_log();
        assert_eq!(
            count(&format!(
                "select count(*) from clerk.saml_connections where organization_id = '{org}'"
            )),
            1
        );
        assert!(server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/saml_connections")
            .all(|r| r.param("organization_id") == Some(org)));

        let rows = query_json("select id, url from clerk.redirect_urls order by id");
        let want: Vec<Value> = by_id(&ds.redirect_urls)
            .iter()
            .map(|r| json!({"id": r["id"], "url": r["url"]}))
            .collect();
        assert_eq!(rows, json!(want));
        assert!(rows.to_string().contains("https://例え.jp/コールバック"));
    }

    #[pg_test]
    fn upgrade_from_every_release_matches_a_fresh_install() {
        let current = env!("CARGO_PKG_VERSION");
        let mut admin = session();
        let released: Vec<String> = admin
            .query(
                "select version from pg_available_extension_versions
                  where name = 'clerk_fdw' and version <> $1 order by 1",
                &[&current],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            released.contains(&"0.1.0".to_string()),
            "scripts/test.sh installs sql/releases/: {released:?}"
        );
        // Extension members with their definitions, less the test schema.
        let members = |c: &mut postgres::Client| -> Vec<(String, String)> {
            c.query(
                "select pg_describe_object(d.classid, d.objid, 0),
                        coalesce(pg_get_functiondef(p.oid) || p.proacl::text, pg_get_functiondef(p.oid), '')
                   from pg_depend d
                   left join pg_proc p on d.classid = 'pg_proc'::regclass and p.oid = d.objid
                  where d.refclassid = 'pg_extension'::regclass and d.deptype = 'e'
                    and d.refobjid = (select oid from pg_extension where extname = 'clerk_fdw')
                    and coalesce(p.pronamespace::regnamespace::text, '') <> 'tests'
                    and pg_describe_object(d.classid, d.objid, 0) <> 'schema tests'
                  order by 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
        };
        // Fresh databases named after this backend, never dropped: DROP
        // DATABASE waits for every backend to absorb a signal barrier, and
        // this one is blocked in the client call until the drop returns.
        // The test cluster is thrown away after the run.
        let pid: i32 = Spi::get_one("select pg_backend_pid()").unwrap().unwrap();
        let create = |admin: &mut postgres::Client, db: &str| {
            admin
                .batch_execute(&format!("create database {db}"))
                .unwrap();
        };
        let fresh_db = format!("clerk_fdw_fresh_{pid}");
        create(&mut admin, &fresh_db);
        let mut fresh = session_in(&fresh_db);
        fresh.batch_execute("create extension clerk_fdw").unwrap();
        let want = members(&mut fresh);
        assert!(
            want.iter()
                .any(|(name, _)| name == "function clerk_fdw_stats_reset(text)"),
            "{want:?}"
        );
        drop(fresh);

        let server = mock(small());
        let url = server.url();
        for old in &released {
            let upgraded_db = format!("clerk_fdw_from_{}_{pid}", old.replace('.', "_"));
            create(&mut admin, &upgraded_db);
            let mut db = session_in(&upgraded_db);
            db.batch_execute(&format!(
                "create extension clerk_fdw version '{old}';
                 create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server clerk foreign data wrapper clerk_wrapper options (api_url '{url}');
                 create user mapping for public server clerk options (api_key '{KEY}');
                 create foreign table users (id text, email text) server clerk options (object 'users');"
            ))
            .unwrap();
            db.batch_execute("alter extension clerk_fdw update")
                .unwrap();
            let version: String = db
                .query_one(
                    "select extversion::text from pg_extension where extname = 'clerk_fdw'",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(version, current, "from {old}");
            assert_eq!(members(&mut db), want, "from {old}");
            let meta: String = db
                .query_one("select version from clerk_fdw_meta()", &[])
                .unwrap()
                .get(0);
            assert_eq!(meta, current);
            // The user's objects made under the old version keep working.
            let users: i64 = db
                .query_one("select count(*) from users", &[])
                .unwrap()
                .get(0);
            assert_eq!(users as usize, small().users, "from {old}");
            let requests: i64 = db
                .query_one(
                    "select requests from clerk_fdw_stats() where server = 'clerk'",
                    &[],
                )
                .unwrap()
                .get(0);
            assert!(requests >= 1, "from {old}");
        }
    }
}
