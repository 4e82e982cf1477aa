//! The allow-list of hosts holds against a role without superuser rights,
//! however it connects and whenever the library loads; `clerk_fdw_stats()`
//! shows a role only the servers it may use.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::DataConfig;
    use pgrx::prelude::*;

    fn few_users() -> DataConfig {
        DataConfig {
            users: 30,
            organizations: 2,
            big_org_members: 2,
            ..DataConfig::default()
        }
    }

    /// A superuser's server on a host the wrapper does not allow, with its
    /// PUBLIC mapping's key, is never reached, whatever a role sends:
    /// `PGOPTIONS`, `ALTER ROLE/DATABASE ... SET`, `SET`, `set_config` and
    /// a function's `SET` clause all leave the list as it is.
    #[pg_test]
    fn allowed_hosts_hold_against_a_role_however_it_connects() {
        let allowed = mock(few_users());
        let forbidden = mock(few_users());
        let db = Spi::get_one::<String>("select current_database()::text")
            .unwrap()
            .unwrap();
        let mut admin = session();
        admin
            .batch_execute(&format!(
                "create foreign data wrapper sec_w handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server sec_ok foreign data wrapper sec_w options (api_url '{}', request_budget 'off');
                 create server sec_victim foreign data wrapper sec_w options (api_url '{}', request_budget 'off');
                 create user mapping for public server sec_ok options (api_key '{KEY}');
                 create user mapping for public server sec_victim options (api_key '{KEY}');
                 create schema sec;
                 create foreign table sec.ok_users (id text) server sec_ok options (object 'users');
                 create foreign table sec.victim_users (id text) server sec_victim options (object 'users');
                 alter foreign data wrapper sec_w options (add allowed_hosts '127.0.0.1:{}');
                 create role sec_user login;
                 grant usage on foreign data wrapper sec_w to sec_user;
                 grant usage on foreign server sec_ok, sec_victim to sec_user;
                 grant usage on schema sec to sec_user;
                 grant select on all tables in schema sec to sec_user;
                 create schema sec_own authorization sec_user;",
                allowed.url(),
                forbidden.url(),
                allowed.port()
            ))
            .unwrap();
        let refused = "which the foreign data wrapper's allowed_hosts does not allow";
        let forbidden_host = format!("127.0.0.1:{}", forbidden.port());
        // Reads the allowed server and is refused the other.
        let holds = |c: &mut postgres::Client, how: &str| {
            assert_eq!(
                rows(c, "select count(*) from sec.ok_users").unwrap(),
                ["30"],
                "{how}"
            );
            let (_, e) = failure(c, "select count(*) from sec.victim_users");
            assert!(e.contains(refused), "{how}: {e}");
        };

        // PGOPTIONS, empty or naming the forbidden host, before the library
        // is loaded in the session.
        for options in [
            "-c clerk_fdw.allowed_hosts=".to_string(),
            format!("-c clerk_fdw.allowed_hosts={forbidden_host}"),
        ] {
            let mut c = session_as("sec_user", &options);
            holds(&mut c, &options);
            // And once it is loaded.
            c.batch_execute("set clerk_fdw.allowed_hosts = ''").unwrap();
            holds(&mut c, "SET after loading");
        }
        // ALTER ROLE and ALTER DATABASE settings.
        admin
            .batch_execute(&format!(
                "alter role sec_user set clerk_fdw.allowed_hosts = '{forbidden_host}'"
            ))
            .unwrap();
        holds(&mut session_as("sec_user", ""), "ALTER ROLE SET");
        admin
            .batch_execute(&format!(
                "alter role sec_user reset clerk_fdw.allowed_hosts;
                 alter database \"{db}\" set clerk_fdw.allowed_hosts = ''"
            ))
            .unwrap();
        let mut c = session_as("sec_user", "");
        holds(&mut c, "ALTER DATABASE SET");
        admin
            .batch_execute(&format!(
                "alter database \"{db}\" reset clerk_fdw.allowed_hosts"
            ))
            .unwrap();
        // SET, set_config and a function's SET clause in the session.
        c.batch_execute(&format!("set clerk_fdw.allowed_hosts = '{forbidden_host}'"))
            .unwrap();
        holds(&mut c, "SET");
        c.batch_execute("reset clerk_fdw.allowed_hosts; select set_config('clerk_fdw.allowed_hosts', '', false)")
            .unwrap();
        holds(&mut c, "set_config");
        // Postgres lets no other role give a function a SET of it; a
        // superuser's function that does is refused all the same.
        let (code, e) = failure(
            &mut c,
            "create function sec_own.victims() returns bigint language sql
               set clerk_fdw.allowed_hosts = '' as 'select count(*) from sec.victim_users'",
        );
        assert_eq!(code, "42501", "{e}");
        admin
            .batch_execute(
                "create function sec.victims() returns bigint language sql
                   set clerk_fdw.allowed_hosts = '' as 'select count(*) from sec.victim_users';
                 grant execute on function sec.victims() to sec_user",
            )
            .unwrap();
        for _ in 0..3 {
            let (_, e) = failure(&mut c, "select sec.victims()");
            assert!(e.contains(refused), "function SET: {e}");
        }
        // Its own server on the forbidden host, with its own key, through
        // a table and through IMPORT FOREIGN SCHEMA: refused too.
        c.batch_execute(&format!(
            "create server sec_mine foreign data wrapper sec_w options (api_url '{}');
             create user mapping for current_user server sec_mine options (api_key 'sk_test_mine');
             create foreign table sec_own.users (id text) server sec_mine options (object 'users');
             import foreign schema clerk limit to (organizations) from server sec_mine into sec_own;",
            forbidden.url()
        ))
        .unwrap();
        for scan in [
            "select count(*) from sec_own.users",
            "select count(*) from sec_own.organizations",
            "explain select * from sec_own.users where id = 'user_1'",
        ] {
            let (_, e) = failure(&mut c, scan);
            assert!(e.contains(refused), "{scan}: {e}");
        }
        // Only a superuser changes the list.
        let (code, e) = failure(
            &mut c,
            "alter foreign data wrapper sec_w options (drop allowed_hosts)",
        );
        assert_eq!(code, "42501", "{e}");
        assert_eq!(
            forbidden.request_count(),
            0,
            "a request reached the forbidden host"
        );
        assert!(allowed.request_count() > 0);
        drop(c);

        // Up to 0.2.0 the list was the setting: while it is still set and
        // the wrapper has none, queries stop and say how to move it.
        admin
            .batch_execute(&format!(
                "create foreign data wrapper sec_open handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server sec_old foreign data wrapper sec_open options (api_url '{}', request_budget 'off');
                 create user mapping for public server sec_old options (api_key '{KEY}');
                 create foreign table sec.old_users (id text) server sec_old options (object 'users');
                 set clerk_fdw.allowed_hosts = 'api.clerk.com';",
                allowed.url()
            ))
            .unwrap();
        let (_, e) = failure(&mut admin, "select count(*) from sec.old_users");
        assert!(
            e.contains("clerk_fdw.allowed_hosts is no longer read"),
            "{e}"
        );
        admin
            .batch_execute("reset clerk_fdw.allowed_hosts")
            .unwrap();
        assert_eq!(
            rows(&mut admin, "select count(*) from sec.old_users").unwrap(),
            ["30"]
        );
    }

    /// `clerk_fdw_stats()` lists the servers the caller may use.
    #[pg_test]
    fn stats_show_only_the_servers_a_role_may_use() {
        let server = mock(few_users());
        let mut admin = session();
        admin
            .batch_execute(&format!(
                "create foreign data wrapper stv_w handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server stv_a foreign data wrapper stv_w options (api_url '{0}', request_budget 'off');
                 create server stv_b foreign data wrapper stv_w options (api_url '{0}/', request_budget 'off');
                 create user mapping for public server stv_a options (api_key '{KEY}');
                 create user mapping for public server stv_b options (api_key '{KEY}');
                 create foreign table stv_users (id text) server stv_a options (object 'users');
                 select count(*) from stv_users;
                 create role stv_user login;
                 grant usage on foreign server stv_b to stv_user;",
                server.url()
            ))
            .unwrap();
        let listed = |c: &mut postgres::Client| {
            rows(
                c,
                "select server from clerk_fdw_stats() where server like 'stv%' order by 1",
            )
            .unwrap()
        };
        assert_eq!(listed(&mut admin), ["stv_a", "stv_b"]);
        let mut c = session_as("stv_user", "");
        assert_eq!(listed(&mut c), ["stv_b"]);
        admin
            .batch_execute("grant usage on foreign server stv_a to stv_user")
            .unwrap();
        assert_eq!(listed(&mut c), ["stv_a", "stv_b"]);
    }
}
