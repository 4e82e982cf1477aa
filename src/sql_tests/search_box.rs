//! What a search box and a BI tool's text and time filters send: LIKE
//! patterns from parameters (client prepared statements run 20 times,
//! generic plans, plpgsql), `lower(col) LIKE`, `CAST(created_at AS
//! timestamp)` and `extract(epoch ...)` against a float8. Each is narrowed
//! to a Clerk request and exact; the oracle is the same query with
//! pushdown off.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{DataConfig, MockServer};
    use pgrx::prelude::*;

    /// The requests since the log was cleared, less the planner's counts.
    fn data_requests(server: &MockServer) -> Vec<clerk_mock::RequestRecord> {
        server
            .requests()
            .into_iter()
            .filter(|r| !r.path.ends_with("/count"))
            .collect()
    }

    /// (query with $1, its parameter, the Clerk parameter it must narrow to)
    const SEARCHES: &[(&str, &str, &str)] = &[
        (
            "select id from {s}.users where email ilike $1 order by id",
            "%user77%",
            "email_address_query",
        ),
        (
            "select id from {s}.users where username ilike $1 order by id",
            "USER\\_12%",
            "username_query",
        ),
        (
            "select id from {s}.users where email ilike '%' || $1 || '%' order by id",
            "user17@",
            "email_address_query",
        ),
        (
            "select id from {s}.users where username like $1 escape '#' order by id",
            "user#_4%",
            "username_query",
        ),
    ];

    #[pg_test]
    fn search_patterns_from_parameters_stay_narrow() {
        let server = mock(DataConfig {
            users: 5000,
            organizations: 0,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "sb1");
        let mut plain = imported_with(&server, "sb1off", ", pushdown 'false'");
        for mode in ["auto", "force_generic_plan"] {
            pushed
                .batch_execute(&format!("set plan_cache_mode = {mode}"))
                .unwrap();
            for (query, value, param) in SEARCHES {
                let want: Vec<String> = plain
                    .query(&query.replace("{s}", "sb1off"), &[value])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                assert!(!want.is_empty(), "{query} should match someone");
                let statement = pushed.prepare(&query.replace("{s}", "sb1")).unwrap();
                for run in 0..20 {
                    server.clear_log();
                    let got: Vec<String> = pushed
                        .query(&statement, &[value])
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    assert_eq!(got, want, "{mode}, run {run}: {query}");
                    let sent = data_requests(&server);
                    assert!(
                        sent.len() <= 2 && sent.iter().all(|r| r.param(param).is_some()),
                        "{mode}, run {run}: {query}: {sent:?}"
                    );
                }
            }
        }
        // From plpgsql, called again and again.
        pushed
            .batch_execute(
                "create function sb1.matches(p text) returns bigint language plpgsql as $$
                 begin return (select count(*) from sb1.users where email ilike p); end $$",
            )
            .unwrap();
        let want = rows(
            &mut plain,
            "select count(*) from sb1off.users where email ilike '%user9%'",
        )
        .unwrap();
        for _ in 0..10 {
            server.clear_log();
            assert_eq!(
                rows(&mut pushed, "select sb1.matches('%user9%')").unwrap(),
                want
            );
            assert!(data_requests(&server).len() <= 2);
        }
        // A pattern with no literal part narrows nothing and stays exact.
        let count = |c: &mut postgres::Client, schema: &str| -> i64 {
            let all = c
                .prepare(&format!(
                    "select count(*) from {schema}.users where email like $1"
                ))
                .unwrap();
            c.query_one(&all, &[&"%"]).unwrap().get(0)
        };
        assert_eq!(count(&mut pushed, "sb1"), count(&mut plain, "sb1off"));
        let explain = rows(
            &mut pushed,
            "prepare shown(text) as select id from sb1.users where email ilike $1;
             explain (verbose, costs off) execute shown('%x%')",
        );
        let plan = explain.unwrap().join("\n");
        assert!(plan.contains("email_address_query"), "{plan}");
    }

    /// (condition, a parameter every narrowed request must carry)
    const BI_SHAPES: &[(&str, &str)] = &[
        // Metabase's text filters.
        ("lower(email) like '%user77%'", "email_address_query"),
        ("lower(email) like 'user77%'", "email_address_query"),
        ("lower(email) like '%7@example.org'", "email_address_query"),
        ("upper(username) like 'USER\\_12%'", "username_query"),
        // Local time and Unix time against a float8.
        (
            "CAST(created_at AS timestamp) >= TIMESTAMP '2026-05-28 00:00:00'",
            "created_at_after",
        ),
        (
            "created_at::timestamp < TIMESTAMP '2025-11-20 00:00:00'",
            "created_at_before",
        ),
        (
            "extract(epoch from created_at) > 1779800000::float8",
            "created_at_after",
        ),
        (
            "extract(epoch from created_at) between 1765000000::float8 and 1765100000::float8",
            "created_at_after",
        ),
    ];

    #[pg_test]
    fn metabase_text_filters_and_local_times_stay_narrow() {
        let server = mock(DataConfig {
            users: 5000,
            organizations: 0,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "sb2");
        let mut plain = imported_with(&server, "sb2off", ", pushdown 'false'");
        for zone in ["UTC", "America/New_York", "Pacific/Apia"] {
            for c in [&mut pushed, &mut plain] {
                c.batch_execute(&format!("set timezone = '{zone}'"))
                    .unwrap();
            }
            for (condition, param) in BI_SHAPES {
                let sql =
                    |s: &str| format!("select id from {s}.users where {condition} order by id");
                let want = rows(&mut plain, &sql("sb2off")).unwrap();
                assert!(!want.is_empty(), "{condition} should match someone");
                assert!(want.len() < 1000, "{condition}: {} rows", want.len());
                server.clear_log();
                assert_eq!(
                    rows(&mut pushed, &sql("sb2")).unwrap(),
                    want,
                    "{zone}: {condition}"
                );
                let sent = data_requests(&server);
                assert!(
                    sent.len() <= 3 && sent.iter().all(|r| r.param(param).is_some()),
                    "{zone}: {condition}: {sent:?}"
                );
            }
        }
        // Prepared by the client and executed 20 times, custom and generic.
        for mode in ["auto", "force_generic_plan"] {
            pushed
                .batch_execute(&format!(
                    "set timezone = 'UTC'; set plan_cache_mode = {mode}"
                ))
                .unwrap();
            plain.batch_execute("set timezone = 'UTC'").unwrap();
            for (condition, param) in BI_SHAPES {
                let sql =
                    |s: &str| format!("select id from {s}.users where {condition} order by id");
                let want = rows(&mut plain, &sql("sb2off")).unwrap();
                let statement = pushed.prepare(&sql("sb2")).unwrap();
                for run in 0..20 {
                    server.clear_log();
                    let got: Vec<String> = pushed
                        .query(&statement, &[])
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    assert_eq!(got, want, "{mode}, run {run}: {condition}");
                    let sent = data_requests(&server);
                    assert!(
                        sent.len() <= 3 && sent.iter().all(|r| r.param(param).is_some()),
                        "{mode}, run {run}: {condition}: {sent:?}"
                    );
                }
            }
        }
    }
}
