//! A local table of user ids joined to `users`, as BI tools write it: the
//! scan asks Clerk for those ids, 100 per request, instead of reading the
//! whole list, wherever every row the join returns has a matching id. The
//! oracle is the same query with pushdown off.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{data, DataConfig, MockServer};
    use pgrx::prelude::*;

    /// Requests for users since the log was cleared (not the planner's
    /// counts, not other objects).
    fn users_requests(server: &MockServer) -> usize {
        server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/users")
            .count()
    }

    /// (query, whether the users scan is narrowed to the local ids)
    const JOINS: &[(&str, bool)] = &[
        (
            "select u.id, u.email from li_ids l join {s}.users u on u.id = l.user_id order by 1",
            true,
        ),
        (
            "select l.user_id, u.email from li_ids l left join {s}.users u on u.id = l.user_id order by 1",
            true,
        ),
        (
            "select u.id from {s}.users u where u.id in (select user_id from li_ids) order by 1",
            true,
        ),
        (
            "select l.tier, count(*) from li_ids l join {s}.users u on u.id = l.user_id
              join li_ids l2 on l2.user_id = u.id group by 1 order by 1",
            true,
        ),
        // Every user is kept: nothing narrows.
        (
            "select count(*), count(l.user_id) from {s}.users u left join li_ids l on l.user_id = u.id",
            false,
        ),
    ];

    #[pg_test]
    fn a_local_table_of_ids_narrows_the_users_scan() {
        let server = mock(DataConfig {
            users: 20_000,
            organizations: 2,
            big_org_members: 2,
            ..DataConfig::default()
        });
        let mut pushed = imported(&server, "li");
        let mut plain = imported_with(&server, "lioff", ", pushdown 'false'");
        let values: Vec<String> = (0..360)
            .map(|i| format!("('{}', 't{}')", data::user_id(i * 50), i % 4))
            .collect();
        pushed
            .batch_execute(&format!(
                "create table li_ids (user_id text, tier text);
                 insert into li_ids values {}, (null, 'none'), ('user_not_in_clerk', 't0');
                 analyze li_ids;",
                values.join(", ")
            ))
            .unwrap();
        for mode in ["auto", "force_generic_plan"] {
            pushed
                .batch_execute(&format!("set plan_cache_mode = {mode}"))
                .unwrap();
            for (query, narrowed) in JOINS {
                let want = rows(&mut plain, &query.replace("{s}", "lioff")).unwrap();
                let statement = pushed.prepare(&query.replace("{s}", "li")).unwrap();
                for run in 0..20 {
                    server.clear_log();
                    let got: Vec<String> = pushed
                        .query(&statement, &[])
                        .unwrap()
                        .iter()
                        .map(|r| {
                            (0..r.len())
                                .map(|i| {
                                    r.try_get::<_, Option<String>>(i)
                                        .map(|v| v.unwrap_or("NULL".into()))
                                        .unwrap_or_else(|_| r.get::<_, i64>(i).to_string())
                                })
                                .collect::<Vec<_>>()
                                .join("|")
                        })
                        .collect();
                    assert_eq!(got, want, "{mode}, run {run}: {query}");
                    let sent = users_requests(&server);
                    if *narrowed {
                        // 361 distinct ids, 100 to a request.
                        assert!(sent <= 4, "{mode}, run {run}: {sent} requests: {query}");
                    } else {
                        assert!(sent >= 40, "{mode}, run {run}: {sent} requests: {query}");
                    }
                }
            }
        }
        pushed.batch_execute("reset plan_cache_mode").unwrap();
        let plan = rows(
            &mut pushed,
            "explain (analyze, verbose, costs off, timing off, summary off)
             select u.email from li_ids l join li.users u on u.id = l.user_id",
        )
        .unwrap()
        .join("\n");
        assert!(
            plan.contains("id = ANY(the user_id of li_ids")
                && plan.contains("Clerk join ids: 361 read"),
            "{plan}"
        );

        // Ids inserted earlier in the transaction are the join's too.
        let extra = data::user_id(19_999);
        pushed
            .batch_execute(&format!(
                "begin; insert into li_ids values ('{extra}', 'new')"
            ))
            .unwrap();
        let found = rows(
            &mut pushed,
            "select u.id from li_ids l join li.users u on u.id = l.user_id where l.tier = 'new'",
        )
        .unwrap();
        assert_eq!(found, [extra]);
        pushed.batch_execute("rollback").unwrap();

        // More ids than the list's pages hold: the whole list, once.
        let many: Vec<String> = (0..5000)
            .map(|i| format!("('{}')", data::user_id(i * 4)))
            .collect();
        pushed
            .batch_execute(&format!(
                "create table li_many (user_id text); insert into li_many values {}; analyze li_many;",
                many.join(", ")
            ))
            .unwrap();
        let query = "select count(*) from li_many l join {s}.users u on u.id = l.user_id";
        let want = rows(&mut plain, &query.replace("{s}", "lioff")).unwrap();
        server.clear_log();
        assert_eq!(
            rows(&mut pushed, &query.replace("{s}", "li")).unwrap(),
            want
        );
        // 40 pages, plus what slicing the list may add: at most a tenth
        // and 3 (the bound `scan::slicing_costs_little_over_the_page_floor`
        // holds); how many slices are cut depends on timing.
        let sent = users_requests(&server);
        assert!(sent <= 40 + 4 + 3, "{sent} requests for 40 pages");

        // Row security gives a role fewer ids than the table has: those
        // must not narrow what the role's join sees.
        pushed
            .batch_execute(
                "create role li_reader login;
                 alter table li_ids enable row level security;
                 create policy li_half on li_ids for select to li_reader using (tier in ('t0', 't1'));
                 grant select on li_ids to li_reader;
                 grant usage on schema li to li_reader;
                 grant select on li.users to li_reader;",
            )
            .unwrap();
        let mut reader = session_as("li_reader", "");
        let query = "select count(*) from li_ids l join li.users u on u.id = l.user_id";
        let want = rows(
            &mut pushed,
            "select count(*) from li_ids l join lioff.users u on u.id = l.user_id where l.tier in ('t0', 't1')",
        )
        .unwrap();
        assert_eq!(rows(&mut reader, query).unwrap(), want);
    }
}
