//! Bad input and a bad API: clear errors, no key shown, cancellable waits.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::fixtures::*;
    use crate::sql_tests::support::*;
    use clerk_mock::{Behaviour, Fault};
    use pgrx::prelude::*;

    use std::time::Duration;

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
}
