//! The seed's tables (Tembo's clerk_fdw DDL): every row and field, page
//! boundaries, type conversions, joins with local tables.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::fixtures::*;
    use crate::sql_tests::support::*;
    use clerk_mock::{data, DataConfig};
    use pgrx::prelude::*;
    use serde_json::{json, Value};

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
        // Once: the list's 3 pages, and the request that finds the oldest
        // user (a pushdown-off scan is told no estimate, so it slices).
        assert_eq!(
            data_requests(&server).len(),
            4,
            "the inner scan must be read from Clerk once"
        );
        // WHERE clauses the FDW cannot push down are still applied exactly.
        assert_eq!(
            count("select count(*) from s9_users where lower(email) = 'user5@example.com'"),
            1
        );
    }
}
