//! The filters BI tools write, narrowed by Clerk and exact: timestamp and
//! date bounds against `timestamptz` columns, in any session time zone,
//! across DST changes. The oracle is the same query with pushdown off.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::DataConfig;
    use pgrx::prelude::*;

    /// Conditions as Metabase, Superset and Grafana write them; the
    /// literals sit on users' creation instants (hourly, at :26:40 UTC)
    /// and on the 2026 DST changes.
    const CONDITIONS: &[&str] = &[
        "created_at >= timestamp '2026-03-08 06:26:40'",
        "created_at > timestamp '2026-03-08 06:26:40'",
        "created_at <= timestamp '2026-03-08 01:26:40' and created_at > timestamp '2026-03-07 20:00:00'",
        "created_at >= timestamp '2026-03-08 02:30:00' and created_at < timestamp '2026-03-08 04:00:00'",
        "created_at >= date '2026-03-08' and created_at < date '2026-03-09'",
        "created_at >= date '2026-04-05' and created_at < date '2026-04-06'",
        "created_at < date '2026-01-20'",
        "created_at >= '2026-05-01'::date",
        "created_at >= CAST((now() + interval '-9000 day') AS date) and created_at < date '2026-01-10'",
        "last_sign_in_at >= timestamp '2026-05-01 00:00:00'",
    ];
    const ZONES: &[&str] = &[
        "UTC",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
    ];

    #[pg_test]
    fn timestamp_and_date_bounds_are_exact_in_every_time_zone() {
        let server = mock(DataConfig {
            users: 3000,
            organizations: 0,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "b1");
        let mut plain = imported_with(&server, "b1off", ", pushdown 'false'");
        let mut narrowed = 0;
        for zone in ZONES {
            for c in [&mut pushed, &mut plain] {
                c.batch_execute(&format!("set timezone = '{zone}'"))
                    .unwrap();
            }
            for condition in CONDITIONS {
                let sql = |schema: &str| {
                    format!("select id from {schema}.users where {condition} order by id")
                };
                let want = rows(&mut plain, &sql("b1off")).unwrap();
                server.clear_log();
                let got = rows(&mut pushed, &sql("b1")).unwrap();
                assert_eq!(got.len(), want.len(), "{zone}: {condition}");
                assert_eq!(got, want, "{zone}: {condition}");
                let log = server.requests();
                let bounded = log
                    .iter()
                    // Not the planner's estimate of the whole list.
                    .filter(|r| r.path != "/v1/users/count")
                    .all(|r| {
                        r.query
                            .iter()
                            .any(|(k, _)| k.ends_with("_after") || k.ends_with("_before"))
                    });
                assert!(bounded, "{zone}: {condition}: {log:?}");
                // Far fewer than the 6 pages of the whole list.
                if want.len() < 500 {
                    assert!(
                        log.len() <= 4,
                        "{zone}: {condition}: {} requests",
                        log.len()
                    );
                    narrowed += 1;
                }
            }
            // Generic plans evaluate the bound when they run, in the zone
            // of that moment.
            pushed
                .batch_execute(
                    "set plan_cache_mode = force_generic_plan;
                     deallocate all;
                     prepare since(date) as select count(*) from b1.users where created_at >= $1;",
                )
                .unwrap();
            let want = rows(
                &mut plain,
                "select count(*) from b1off.users where created_at >= date '2026-03-08'",
            )
            .unwrap();
            for _ in 0..6 {
                assert_eq!(
                    rows(&mut pushed, "execute since('2026-03-08')").unwrap(),
                    want,
                    "{zone}"
                );
            }
            pushed.batch_execute("reset plan_cache_mode").unwrap();
        }
        assert!(narrowed >= 20, "{narrowed}");
        let plan = rows(
            &mut pushed,
            "explain (verbose, costs off) select id from b1.users where created_at >= date '2026-03-08'",
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains("created_at_after=$1") && plan.contains("'2026-03-08'::date"),
            "{plan}"
        );
    }
}
