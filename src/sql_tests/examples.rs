//! The examples and the demo script, as written.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::fixtures::*;
    use crate::sql_tests::support::*;
    use clerk_mock::data;
    use pgrx::prelude::*;
    use serde_json::{json, Value};

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
}
