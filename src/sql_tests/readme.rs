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
        // Writing to Clerk, with the local tables its examples read.
        let users: Vec<String> = server.dataset().users[..4]
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        c.batch_execute(&format!(
            // In a schema of their own: the read-only role is not meant to
            // read them.
            "create schema ops;
             set search_path = public, ops;
             create table ops.fraud_flags (user_id text, score float8);
             insert into fraud_flags values ('{0}', 0.95), ('{1}', 0.99), ('{2}', 0.2);
             create table ops.billing_accounts (user_id text, plan text);
             insert into billing_accounts values ('{2}', 'team'), ('{3}', 'pro');
             create table ops.beta_signups (email text);
             insert into beta_signups select 'beta' || i || '@example.com' from generate_series(1, 23) i;",
            users[0], users[1], users[2], users[3]
        ))
        .unwrap();
        let writing = sql_blocks(readme, "\n## Writing to Clerk", "\n## Mirror");
        assert_eq!(writing.len(), 1);
        c.batch_execute(&writing[0])
            .unwrap_or_else(|e| panic!("{}\n{}", error_message(e), writing[0]));
        let ds = server.dataset();
        let user = |id: &str| ds.users.iter().find(|u| u["id"] == id).unwrap().clone();
        assert_eq!(
            (
                user(&users[0])["banned"].clone(),
                user(&users[1])["banned"].clone()
            ),
            (serde_json::json!(true), serde_json::json!(true))
        );
        assert_eq!(user(&users[3])["public_metadata"]["plan"], "pro");
        assert_eq!(
            ds.invitations
                .iter()
                .filter(|i| i["email_address"].as_str().unwrap().starts_with("beta"))
                .count(),
            23
        );
        drop(ds);
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
