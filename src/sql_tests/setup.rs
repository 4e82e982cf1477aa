//! Setting up: IMPORT FOREIGN SCHEMA, roles and the key, stats, Vault,
//! upgrades.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::fixtures::*;
    use crate::sql_tests::support::*;
    use clerk_mock::Behaviour;
    use pgrx::prelude::*;
    use serde_json::json;

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
