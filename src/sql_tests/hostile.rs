//! A broken or hostile server: every misbehaviour gives a clear ERROR (or
//! exact rows), a bounded number of requests, bounded backend memory, and
//! a scan that stops soon after cancel. Peak memory growth and time per
//! case go to `/tmp/clerk_fdw-hostile-pg<major>.txt`.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{Behaviour, DataConfig, Fault, MockServer};
    use pgrx::prelude::*;
    use serde_json::{json, Value};
    use std::fmt::Write;
    use std::time::{Duration, Instant};

    /// Resident memory and its peak, in kB, of a backend.
    fn memory_kb(pid: i32) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn reply(status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> Option<Fault> {
        Some(Fault::Reply {
            status,
            headers,
            body,
        })
    }

    fn json_reply(body: Vec<u8>) -> Option<Fault> {
        reply(200, vec![("Content-Type", "application/json".into())], body)
    }

    /// The first page of users, with `edit` applied to its first user.
    fn users_page(server: &MockServer, edit: impl Fn(&mut Value)) -> Vec<u8> {
        let mut users: Vec<Value> = server
            .dataset()
            .users
            .iter()
            .rev()
            .take(500)
            .cloned()
            .collect();
        edit(&mut users[0]);
        serde_json::to_vec(&users).unwrap()
    }

    struct Case {
        name: &'static str,
        sql: &'static str,
        script: Vec<Option<Fault>>,
        /// What the ERROR must say.
        error: &'static str,
        max_requests: usize,
    }

    #[pg_test]
    fn hostile_servers_get_clear_errors_with_bounded_memory_and_time() {
        let server = mock(DataConfig {
            users: 1200,
            organizations: 700,
            big_org_members: 5,
            ..DataConfig::default()
        });
        let elsewhere = mock(DataConfig::default());
        let url = server.url();
        let mut c = session();
        c.batch_execute(&format!(
            "create foreign data wrapper w_hs handler clerk_fdw_handler validator clerk_fdw_validator;
             create server s_hs foreign data wrapper w_hs options (api_url '{url}', request_budget 'off',
               max_retries '2', max_retry_wait_ms '1500', request_timeout_ms '2000',
               max_response_bytes '1000000');
             create user mapping for public server s_hs options (api_key '{KEY}');
             create foreign table h_users (id text, first_name text, created_at timestamptz)
               server s_hs options (object 'users');
             create foreign table h_short (id varchar(3)) server s_hs options (object 'users');
             create foreign table h_orgs (id text, name text) server s_hs options (object 'organizations');
             -- Plan once: the planner's row counts are cached for the cases below.
             explain select * from h_users; explain select * from h_orgs; explain select * from h_short;"
        ))
        .unwrap();
        let pid: i32 = c.query_one("select pg_backend_pid()", &[]).unwrap().get(0);

        let ds = server.dataset();
        let first_orgs: Vec<&Value> = ds.organizations.iter().take(500).collect();
        let lying = |total: i64| {
            json_reply(
                serde_json::to_vec(&json!({"data": first_orgs, "total_count": total})).unwrap(),
            )
        };
        let nul = users_page(&server, |u| u["first_name"] = json!("Zo\u{0}ë"));
        let wrong_type = users_page(&server, |u| u["first_name"] = json!(42));
        let first_page = users_page(&server, |_| {});
        let mut deep = "[".repeat(100_000).into_bytes();
        deep.extend("]".repeat(100_000).bytes());
        let mut bad_utf8 = br#"[{"created_at": 1, "id": "user_"#.to_vec();
        bad_utf8.extend([0xff, 0xfe, b'"', b'}', b']']);
        let no_retry_after = Some(Fault::Status {
            status: 429,
            retry_after: None,
        });
        let cases = vec![
            Case {
                name: "redirect",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![reply(
                    302,
                    vec![("Location", format!("{}/users", elsewhere.url()))],
                    vec![],
                )],
                error: "a redirect to 127.0.0.1",
                max_requests: 1,
            },
            Case {
                name: "total_count 10^12",
                sql: "select count(*) from (select id from h_orgs offset 0) x",
                script: vec![lying(1_000_000_000_000)],
                error: "total_count 1000000000000 cannot be a number of rows",
                max_requests: 1,
            },
            Case {
                name: "total_count i64::MAX in a count",
                sql: "select count(*) from h_orgs",
                script: vec![json_reply(
                    br#"{"data": [], "total_count": 9223372036854775807}"#.to_vec(),
                )],
                error: "total_count 9223372036854775807 cannot be a number of rows",
                max_requests: 1,
            },
            Case {
                name: "total_count 10^7",
                sql: "select count(*) from (select id from h_orgs offset 0) x",
                script: vec![lying(10_000_000)],
                error: "Clerk reports 10000000 rows",
                max_requests: 9,
            },
            Case {
                name: "negative total_count in a count",
                sql: "select count(*) from h_orgs",
                script: vec![json_reply(
                    br#"{"data": [], "total_count": -9007199254740991}"#.to_vec(),
                )],
                error: "cannot be a number of rows",
                max_requests: 1,
            },
            Case {
                name: "5 MB page",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![json_reply(vec![b' '; 5_000_000])],
                error: "max_response_bytes (1000000 bytes)",
                max_requests: 1,
            },
            Case {
                // 200 MB of spaces in about 200 kB: the limit counts the
                // decoded body.
                name: "gzip bomb",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![reply(
                    200,
                    vec![
                        ("Content-Type", "application/json".into()),
                        ("Content-Encoding", "gzip".into()),
                    ],
                    clerk_mock::gzipped(&vec![b' '; 200_000_000]),
                )],
                error: "max_response_bytes (1000000 bytes)",
                max_requests: 1,
            },
            Case {
                name: "NUL in a string",
                sql: "select first_name from h_users",
                script: vec![json_reply(nul)],
                error: "first_name\" of foreign table h_users",
                max_requests: 3,
            },
            Case {
                name: "cursor page repeated",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![None, None, json_reply(first_page)],
                error: "not in the created_at order asked for",
                max_requests: 3,
            },
            Case {
                name: "varchar(3)",
                sql: "select id from h_short",
                script: vec![],
                error: "more than varchar(3) holds",
                max_requests: 3,
            },
            Case {
                name: "429 without Retry-After",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![no_retry_after; 40],
                error: "kept answering 429",
                max_requests: 40,
            },
            Case {
                name: "HTML body",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![reply(
                    200,
                    vec![("Content-Type", "text/html".into())],
                    b"<html><body>Welcome to nginx!</body></html>".to_vec(),
                )],
                error: "cannot read",
                max_requests: 1,
            },
            Case {
                name: "wrong JSON type",
                sql: "select first_name from h_users",
                script: vec![json_reply(wrong_type)],
                error: "expected a string, got 42",
                max_requests: 3,
            },
            Case {
                name: "nested 100,000 deep",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![json_reply(deep)],
                error: "cannot read",
                max_requests: 1,
            },
            Case {
                name: "invalid UTF-8",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![json_reply(bad_utf8)],
                error: "cannot read",
                max_requests: 1,
            },
            Case {
                name: "connection reset mid-body",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![Some(Fault::Reset); 3],
                error: "cannot reach Clerk",
                max_requests: 3,
            },
            Case {
                name: "hung server, statement_timeout 1 s",
                sql: "select count(*) from (select id from h_users offset 0) x",
                script: vec![Some(Fault::Hang(Duration::from_secs(30)))],
                error: "statement timeout",
                max_requests: 1,
            },
        ];

        let (start_rss, _) = memory_kb(pid);
        let mut report = String::new();
        let mut failures = Vec::new();
        for case in cases {
            server.set_behaviour(Behaviour {
                script: case.script.into(),
                ..Behaviour::default()
            });
            server.clear_log();
            let timeout = if case.name.starts_with("hung") {
                "1s"
            } else {
                "20s"
            };
            c.batch_execute(&format!("set statement_timeout = '{timeout}'"))
                .unwrap();
            let t = Instant::now();
            let result = c.simple_query(case.sql);
            let took = t.elapsed();
            c.batch_execute("reset statement_timeout").unwrap();
            // Requests in flight when the ERROR came may still be answered;
            // a second later nothing goes on in the background.
            std::thread::sleep(Duration::from_millis(1000));
            let requests = server.request_count();
            std::thread::sleep(Duration::from_millis(1000));
            let later = server.request_count();
            let (_, peak) = memory_kb(pid);
            let growth_mb = peak.saturating_sub(start_rss) / 1024;
            let _ = writeln!(
                report,
                "{:<34} {:>6} ms {:>3} requests, peak +{growth_mb} MB",
                case.name,
                took.as_millis(),
                requests
            );
            match result {
                Ok(_) => failures.push(format!("{}: no error", case.name)),
                Err(e) => {
                    let message = error_message(e);
                    if !message.contains(case.error) || message.contains(KEY) {
                        failures.push(format!("{}: {message}", case.name));
                    }
                }
            }
            if requests > case.max_requests || later != requests {
                failures.push(format!(
                    "{}: {requests} requests, {later} a second later",
                    case.name
                ));
            }
            if took > Duration::from_secs(4) {
                failures.push(format!("{}: took {took:?}", case.name));
            }
            if growth_mb >= 64 {
                failures.push(format!("{}: memory grew by {growth_mb} MB", case.name));
            }
        }
        assert_eq!(elsewhere.request_count(), 0, "the redirect was followed");
        assert!(server.requests().iter().all(|r| r.had_key));
        // The session is fine afterwards.
        server.set_behaviour(Behaviour::default());
        assert_eq!(
            rows(
                &mut c,
                "select count(*) from (select id from h_users offset 0) x"
            )
            .unwrap(),
            ["1200"]
        );
        // A superuser limits the hosts servers may name, on the wrapper.
        c.batch_execute(
            "alter foreign data wrapper w_hs options (add allowed_hosts 'api.clerk.com, example.org:8443')",
        )
        .unwrap();
        let scan = "select count(*) from (select id from h_users offset 0) x";
        let before = server.request_count();
        let e = error_message(c.simple_query(scan).unwrap_err());
        assert!(
            e.contains(
                "\"127.0.0.1\", which the foreign data wrapper's allowed_hosts does not allow"
            ),
            "{e}"
        );
        assert_eq!(server.request_count(), before, "a request went out");
        c.batch_execute(&format!(
            "alter foreign data wrapper w_hs options (set allowed_hosts '127.0.0.1:{}')",
            server.port()
        ))
        .unwrap();
        assert_eq!(rows(&mut c, scan).unwrap(), ["1200"]);
        for bad in ["", " , ", "http://api.clerk.com", "user@host", "host/path"] {
            let e = error_message(
                c.simple_query(&format!(
                    "alter foreign data wrapper w_hs options (set allowed_hosts '{bad}')"
                ))
                .unwrap_err(),
            );
            assert!(
                e.contains("invalid value for option \"allowed_hosts\""),
                "{bad}: {e}"
            );
        }
        c.batch_execute("alter foreign data wrapper w_hs options (drop allowed_hosts)")
            .unwrap();
        let report_file = format!(
            "/tmp/clerk_fdw-hostile-pg{}.txt",
            pg_sys::PG_VERSION_NUM / 10000
        );
        let _ = std::fs::write(report_file, &report);
        assert!(failures.is_empty(), "{failures:#?}\n{report}");
    }
}
