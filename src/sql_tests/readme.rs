//! The README's set-up, pasted in order into a fresh database as a reader
//! would: Connecting (with its read-only role), Tables, then the examples;
//! the read-only role then reads every table and view they made.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::DataConfig;
    use pgrx::prelude::*;

    /// The ```sql blocks of the README between two headings.
    fn sql_blocks(readme: &str, from: &str, to: &str) -> Vec<String> {
        let start = readme.find(from).expect("the first heading");
        let end = start + readme[start..].find(to).expect("the last heading");
        readme[start..end]
            .split("```sql\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap().to_string())
            .collect()
    }

    #[pg_test]
    fn readme_set_up_and_examples_paste_in_order() {
        let server = mock(DataConfig::default());
        let mut admin = session();
        // Left in place afterwards: DROP DATABASE would wait for this
        // backend, busy running the test, to absorb its barrier. Each run
        // of the suite has a cluster of its own.
        admin
            .batch_execute("create database clerk_readme")
            .unwrap_or_else(|e| panic!("create database: {}", error_message(e)));
        let mut c = session_in("clerk_readme");
        c.batch_execute("create extension clerk_fdw")
            .unwrap_or_else(|e| panic!("create extension: {}", error_message(e)));
        let readme = include_str!("../../README.md");
        let mut blocks = sql_blocks(readme, "\n## Connecting", "\n### Options");
        blocks.extend(sql_blocks(readme, "\n## Tables", "\n## Objects"));
        let mut pasted = 0;
        for block in blocks {
            // "Or, instead, some of them": an alternative to the import.
            if block.starts_with("import foreign schema clerk limit to") {
                continue;
            }
            // The test server stands in for Clerk.
            let block = block
                .replace(
                    "create server my_clerk_server foreign data wrapper clerk_wrapper;",
                    &format!(
                        "create server my_clerk_server foreign data wrapper clerk_wrapper options (api_url '{}', request_budget '2000/1s');",
                        server.url()
                    ),
                )
                .replace("'sk_live_...'", &format!("'{KEY}'"))
                .replace(
                    "allowed_hosts 'api.clerk.com'",
                    &format!("allowed_hosts '127.0.0.1:{}'", server.port()),
                );
            c.batch_execute(&block)
                .unwrap_or_else(|e| panic!("{}\n{block}", error_message(e)));
            pasted += 1;
        }
        assert!(pasted >= 5, "{pasted} blocks");
        for (name, sql) in [
            ("analytics", include_str!("../../examples/analytics.sql")),
            (
                "drop_your_users_table",
                include_str!("../../examples/drop_your_users_table.sql"),
            ),
            ("dashboard", include_str!("../../examples/dashboard.sql")),
            (
                "cached_dashboard",
                include_str!("../../examples/cached_dashboard.sql"),
            ),
            ("billing", include_str!("../../examples/billing.sql")),
            ("waitlist", include_str!("../../examples/waitlist.sql")),
        ] {
            c.batch_execute(sql)
                .unwrap_or_else(|e| panic!("examples/{name}.sql: {}", error_message(e)));
        }
        // The mirror's set-up and status, as the Mirror section gives them.
        let mut mirror = sql_blocks(readme, "\n### Set-up", "\n### How it stays right");
        mirror.extend(sql_blocks(readme, "\n### Status", "\n## Monitoring"));
        assert_eq!(mirror.len(), 2);
        for block in mirror {
            let block = block.replace("'whsec_...'", "'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'");
            c.batch_execute(&block)
                .unwrap_or_else(|e| panic!("{}\n{block}", error_message(e)));
        }
        assert_eq!(
            rows(&mut c, "select count(*) from clerk_local.users").unwrap(),
            [DataConfig::default().users.to_string()]
        );
        // The read-only role reads every table and view that was made.
        let relations = rows(
            &mut c,
            "select format('%I.%I', n.nspname, c.relname) from pg_class c
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname in ('public', 'clerk') and c.relkind in ('r', 'v', 'm', 'f')
              order by 1",
        )
        .unwrap();
        assert!(
            relations.iter().any(|r| r == "public.signups_last_30_days"),
            "{relations:?}"
        );
        let mut reader = session_as_in("bi_reader", "clerk_readme");
        let mut denied = Vec::new();
        for relation in &relations {
            if relation.starts_with("clerk.") && relation != "clerk.users" {
                // Reading every object's list costs a request each; the
                // grant is the same for all of them.
                let may = rows(
                    &mut reader,
                    &format!("select has_table_privilege('{relation}', 'select')"),
                )
                .unwrap();
                if may != ["t"] {
                    denied.push(relation.clone());
                }
                continue;
            }
            if let Err(e) = rows(
                &mut reader,
                &format!("select count(*) from (select * from {relation} limit 5) x"),
            ) {
                denied.push(format!("{relation}: {}", error_message(e)));
            }
        }
        assert!(denied.is_empty(), "{denied:#?}");
    }
}
