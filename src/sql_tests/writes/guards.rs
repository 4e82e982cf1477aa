//! The guards of writes: max_write_rows, ROLLBACK and failures, storms, the audit log, reused plans, the mirror.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::writes::*;

    use clerk_mock::{Behaviour, Fault, RateLimit};

    use serde_json::Value;
    use std::time::Duration;

    #[pg_test]
    fn max_write_rows_stops_update_and_delete_before_any_write() {
        let server = mock(config());
        let mut c = writable(&server, "wr_max");
        server.clear_log();
        let (code, message) = failure(&mut c, "delete from wr_max.users");
        assert_eq!(code, "54000", "{message}");
        assert!(
            message.contains("more than 100 rows") && message.contains("nothing was sent"),
            "{message}"
        );
        assert!(writes(&server).is_empty(), "{:?}", writes(&server));
        assert_eq!(server.dataset().users.len(), 300);
        let (code, _) = failure(
            &mut c,
            "update wr_max.users set first_name = 'Same' where last_name is not null",
        );
        assert_eq!(code, "54000");
        assert!(writes(&server).is_empty());
        // Counted after the table's own conditions, pushed to Clerk or not
        // (this one only Postgres can check): three rows pass.
        c.batch_execute("alter foreign table wr_max.users options (add max_write_rows '3')")
            .unwrap();
        let ids: Vec<String> = server.dataset().users[..3]
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        let list = ids
            .iter()
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",");
        c.batch_execute(&format!(
            "update wr_max.users set first_name = 'Three' where id || '' in ({list})"
        ))
        .unwrap();
        assert_eq!(writes(&server).len(), 3);
        let four = server.dataset().users[3]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server.clear_log();
        let (code, _) = failure(
            &mut c,
            &format!("delete from wr_max.users where id in ({list}, '{four}')"),
        );
        assert_eq!(code, "54000");
        assert!(writes(&server).is_empty());
        // A join narrows only after the count: the hint's id = ANY form
        // counts just the rows it names.
        c.batch_execute(&format!(
            "create table wr_max.fraud (user_id text); insert into wr_max.fraud values ({});",
            ids.iter()
                .map(|i| format!("'{i}'"))
                .collect::<Vec<_>>()
                .join("), (")
        ))
        .unwrap();
        server.clear_log();
        c.batch_execute("update wr_max.users set first_name = 'Fraud' where id = any(array(select user_id from wr_max.fraud))").unwrap();
        assert_eq!(writes(&server).len(), 3, "{:?}", writes(&server));
    }

    #[pg_test]
    fn rollback_and_a_failure_mid_statement() {
        let server = mock(config());
        let mut c = writable(&server, "wr_tx");
        let ids: Vec<String> = server.dataset().users[..2]
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        server.clear_log();
        // Sent at once: a ROLLBACK undoes nothing in Clerk.
        c.batch_execute(&format!(
            "begin; update wr_tx.users set first_name = 'Rolled' where id in ('{}', '{}'); rollback;",
            ids[0], ids[1]
        ))
        .unwrap();
        assert_eq!(writes(&server).len(), 2);
        assert_eq!(user(&server, &ids[0]).unwrap()["first_name"], "Rolled");
        // The second of three rows is refused: the first stays, the third
        // is never sent, and the error says so.
        c.batch_execute(
            "insert into wr_tx.blocklist_identifiers (identifier) values ('dup@example.com')",
        )
        .unwrap();
        server.clear_log();
        c.batch_execute("begin; savepoint s").unwrap();
        let e = c
            .simple_query("insert into wr_tx.blocklist_identifiers (identifier) values ('first@example.com'), ('dup@example.com'), ('third@example.com')")
            .unwrap_err();
        c.batch_execute("rollback to savepoint s; commit").unwrap();
        let db = e.as_db_error().unwrap();
        assert_eq!(db.code().code(), "23514", "{}", db.message());
        assert!(
            db.message().contains("POST /blocklist_identifiers")
                && db.message().contains("already on the list"),
            "{}",
            db.message()
        );
        let detail = db.detail().unwrap_or_default();
        assert!(
            detail.starts_with("Before it, this statement changed 1 row in Clerk"),
            "{detail}"
        );
        assert_eq!(
            writes(&server),
            [
                "POST /v1/blocklist_identifiers 200",
                "POST /v1/blocklist_identifiers 422"
            ]
        );
        let listed: Vec<String> = server
            .dataset()
            .blocklist_identifiers
            .iter()
            .map(|b| b["identifier"].as_str().unwrap().to_string())
            .collect();
        assert!(
            listed.contains(&"first@example.com".to_string())
                && !listed.contains(&"third@example.com".to_string())
        );
    }

    #[pg_test]
    fn storms_of_429_and_503_create_no_duplicates() {
        let server = mock(config());
        let mut c = writable(&server, "wr_storm");
        c.batch_execute("alter server wr_storm options (set max_retries '6'); select clerk_fdw_stats_reset('wr_storm');").unwrap();
        server.set_behaviour(Behaviour {
            fail_every: 3,
            rate_limit: Some(RateLimit {
                retry_after: true,
                ..RateLimit::fixed(4, Duration::from_millis(300))
            }),
            ..Behaviour::default()
        });
        c.batch_execute(
            "insert into wr_storm.allowlist_identifiers (identifier) select 'storm' || i || '@example.com' from generate_series(1, 30) i;
             insert into wr_storm.invitations (email_address) select 'storm' || i || '@example.com' from generate_series(1, 45) i;",
        )
        .unwrap();
        server.set_behaviour(Behaviour::default());
        let invited: Vec<String> = server
            .dataset()
            .invitations
            .iter()
            .filter_map(|i| {
                i["email_address"]
                    .as_str()
                    .filter(|e| e.starts_with("storm"))
                    .map(String::from)
            })
            .collect();
        let mut distinct = invited.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!((invited.len(), distinct.len()), (45, 45));
        let listed: Vec<String> = server
            .dataset()
            .allowlist_identifiers
            .iter()
            .filter_map(|a| {
                a["identifier"]
                    .as_str()
                    .filter(|i| i.starts_with("storm"))
                    .map(String::from)
            })
            .collect();
        let mut unique = listed.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((listed.len(), unique.len()), (30, 30));
        let refused = server
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && (r.status == 429 || r.status == 503))
            .count();
        assert!(refused >= 10, "the storm hit {refused} POSTs");
        // A 500 may have been applied: the POST is not repeated, and the
        // error says to look before trying again.
        server.clear_log();
        server.set_behaviour(Behaviour {
            script: [Some(Fault::Status {
                status: 500,
                retry_after: None,
            })]
            .into_iter()
            .collect(),
            ..Behaviour::default()
        });
        let (code, message) = failure(
            &mut c,
            "insert into wr_storm.allowlist_identifiers (identifier) values ('maybe@example.com')",
        );
        assert_eq!(code, "HV00N", "{message}");
        assert!(
            message.contains("may or may not have been applied"),
            "{message}"
        );
        assert_eq!(writes(&server), ["POST /v1/allowlist_identifiers 500"]);
        // PATCH is idempotent: retried after a 500.
        let id = server.dataset().users[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server.clear_log();
        server.set_behaviour(Behaviour {
            script: [
                None,
                Some(Fault::Status {
                    status: 500,
                    retry_after: None,
                }),
            ]
            .into_iter()
            .collect(),
            ..Behaviour::default()
        });
        c.batch_execute(&format!(
            "update wr_storm.users set first_name = 'Retried' where id = '{id}'"
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [
                format!("PATCH /v1/users/{id} 500"),
                format!("PATCH /v1/users/{id} 200")
            ]
        );
        // Each write counts once, however often it was attempted: 30
        // POSTs, 5 bulk POSTs, the uncertain one and the PATCH.
        let stats = one(
            &mut c,
            "select writes, write_errors from clerk_fdw_stats() where server = 'wr_storm'",
        );
        assert_eq!(stats, "37|1");
    }

    #[pg_test]
    fn each_write_is_logged_without_the_key() {
        let server = mock(config());
        drop(writable(&server, "wr_log"));
        let notices = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = notices.clone();
        let db = Spi::get_one::<String>("select current_database()::text")
            .unwrap()
            .unwrap();
        let user = Spi::get_one::<String>("select current_user::text")
            .unwrap()
            .unwrap();
        let mut config = session_config(&user, &db, "-c client_min_messages=log");
        config.notice_callback(move |n| seen.lock().unwrap().push(n.message().to_string()));
        let mut c = config.connect(postgres::NoTls).unwrap();
        let id = server.dataset().users[3]["id"]
            .as_str()
            .unwrap()
            .to_string();
        c.batch_execute(&format!(
            "update wr_log.users set first_name = 'Logged', locked = true where id = '{id}'"
        ))
        .unwrap();
        let lines: Vec<String> = notices
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.starts_with("clerk_fdw: "))
            .cloned()
            .collect();
        assert_eq!(
            lines,
            [
                format!("clerk_fdw: PATCH /v1/users/{id}: 200"),
                format!("clerk_fdw: POST /v1/users/{id}/lock: 200")
            ]
        );
        assert!(!notices.lock().unwrap().iter().any(|m| m.contains(KEY)));
    }

    #[pg_test]
    fn cached_plans_plpgsql_and_savepoints() {
        let server = mock(config());
        let mut c = writable(&server, "wr_plans");
        let ids: Vec<String> = server.dataset().users[..8]
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        c.batch_execute(
            "prepare ren(text, text) as update wr_plans.users set first_name = $2 where id = $1 returning id, first_name;
             prepare add(text) as insert into wr_plans.blocklist_identifiers (identifier) values ($1) returning id;
             prepare del(text) as delete from wr_plans.blocklist_identifiers where id = $1 returning identifier;
             create function wr_plans.ban(u text) returns boolean language plpgsql as $$
             declare b boolean;
             begin
               update wr_plans.users set banned = true where id = u returning banned into b;
               return b;
             end $$;
             create function wr_plans.rename(u text, name text) returns text language plpgsql as $$
             declare n text;
             begin
               update wr_plans.users set username = name where id = u returning username into n;
               return n;
             exception when check_violation then return 'refused: ' || sqlerrm;
             end $$;",
        )
        .unwrap();
        // Custom plans first (auto: the first 5 executions), then generic
        // ones; the second round sets the same values again and sends
        // nothing for them.
        for mode in ["auto", "force_generic_plan"] {
            c.batch_execute(&format!("set plan_cache_mode = {mode}"))
                .unwrap();
            for (i, id) in ids.iter().enumerate() {
                assert_eq!(
                    one(&mut c, &format!("execute ren('{id}', 'Gen{i}')")),
                    format!("{id}|Gen{i}")
                );
                let made = one(&mut c, &format!("execute add('p{i}@example.com')"));
                assert_eq!(
                    one(&mut c, &format!("execute del('{made}')")),
                    format!("p{i}@example.com")
                );
                assert_eq!(one(&mut c, &format!("select wr_plans.ban('{id}')")), "t");
                // Clerk's 422 (a username taken), caught in plpgsql.
                let taken = server.dataset().users[20]["username"]
                    .as_str()
                    .unwrap_or("u20")
                    .to_string();
                let refused = one(
                    &mut c,
                    &format!("select wr_plans.rename('{id}', '{taken}')"),
                );
                assert!(
                    refused.starts_with("refused: ") && refused.contains("username is taken"),
                    "{refused}"
                );
            }
        }
        for id in &ids {
            assert_eq!(user(&server, id).unwrap()["banned"], true);
        }
        // An error caught by a savepoint.
        c.batch_execute(&format!(
            "begin;
             savepoint s;
             update wr_plans.users set email = 'no' where id = '{}';",
            ids[0]
        ))
        .unwrap_err();
        c.batch_execute("rollback to savepoint s; commit").unwrap();
        assert_eq!(rows(&mut c, "select 1").unwrap(), ["1"]);
    }

    #[pg_test]
    fn the_mirror_follows_a_write_and_its_webhook_is_a_duplicate() {
        const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let server = mock(config());
        server.set_webhook_secret(SECRET);
        let url = server.url();
        let mut c = session();
        c.batch_execute(&format!(
            "create foreign data wrapper wr_mir_w handler clerk_fdw_handler validator clerk_fdw_validator;
             create server wr_mir foreign data wrapper wr_mir_w options (api_url '{url}', max_retries '1', writable 'true');
             create user mapping for public server wr_mir options (api_key '{KEY}', webhook_secret '{SECRET}');
             create schema wr_mir;
             import foreign schema clerk from server wr_mir into wr_mir;
             select * from clerk_fdw.create_mirror('wr_mir', 'wr_mir_m', array['users']);
             select * from clerk_fdw.sync_mirror('wr_mir_m');"
        ))
        .unwrap();
        let id = server.dataset().users[7]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = server.deliveries().len();
        c.batch_execute(&format!(
            "begin; update wr_mir.users set first_name = 'Mirrored' where id = '{id}';"
        ))
        .unwrap();
        assert_eq!(
            one(
                &mut c,
                &format!("select first_name from wr_mir_m.users where id = '{id}'")
            ),
            "Mirrored"
        );
        c.batch_execute("rollback").unwrap();
        // Rolled back here, not in Clerk: the webhook brings the change.
        let deliveries = server.deliveries();
        let webhook = deliveries[before..]
            .iter()
            .find(|d| d.kind == "user.updated")
            .unwrap()
            .clone();
        let outcome = |c: &mut postgres::Client, d: &clerk_mock::webhooks::Delivery| {
            let headers: serde_json::Map<String, Value> = server
                .webhook_headers(d)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            one(
                c,
                &format!(
                    "select clerk_fdw.receive_webhook('wr_mir_m', $b${}$b$, '{}') ->> 'outcome'",
                    d.body,
                    Value::Object(headers)
                ),
            )
        };
        assert_eq!(outcome(&mut c, &webhook), "applied");
        c.batch_execute(&format!(
            "update wr_mir.users set last_name = 'Twice' where id = '{id}'"
        ))
        .unwrap();
        assert_eq!(
            one(
                &mut c,
                &format!("select last_name from wr_mir_m.users where id = '{id}'")
            ),
            "Twice"
        );
        let deliveries = server.deliveries();
        let webhook = deliveries.last().unwrap().clone();
        assert_eq!(outcome(&mut c, &webhook), "duplicate");
        c.batch_execute(&format!("delete from wr_mir.users where id = '{id}'"))
            .unwrap();
        assert_eq!(
            one(
                &mut c,
                &format!("select count(*) from wr_mir_m.users where id = '{id}'")
            ),
            "0"
        );
    }
}
