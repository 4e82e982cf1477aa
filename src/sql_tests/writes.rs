//! INSERT, UPDATE and DELETE: every write Clerk's API allows, against the
//! test server, whose own data is the oracle (what it holds after the
//! statement, and the requests it saw). Also the guards: `writable`,
//! `max_write_rows`, refused columns, failures mid-statement, ROLLBACK,
//! 429 and 503 storms, and cached plans.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{Behaviour, DataConfig, Fault, MockServer, RateLimit};
    use pgrx::prelude::*;
    use serde_json::{json, Value};
    use std::time::Duration;

    fn config() -> DataConfig {
        DataConfig {
            users: 300,
            organizations: 8,
            big_org_members: 20,
            members_per_org: 4,
            ..DataConfig::default()
        }
    }

    /// Server `name`, imported, with `writable` on.
    fn writable(server: &MockServer, name: &str) -> postgres::Client {
        imported_with(server, name, ", writable 'true'")
    }

    /// The writes the test server saw, as `METHOD path status`.
    fn writes(server: &MockServer) -> Vec<String> {
        server
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {} {}", r.method, r.path, r.status))
            .collect()
    }

    fn user(server: &MockServer, id: &str) -> Option<Value> {
        server
            .dataset()
            .users
            .iter()
            .find(|u| u["id"] == id)
            .cloned()
    }

    fn one(c: &mut postgres::Client, sql: &str) -> String {
        let r = rows(c, sql).unwrap_or_else(|e| panic!("{sql}: {}", error_message(e)));
        assert_eq!(r.len(), 1, "{sql}: {r:?}");
        r[0].clone()
    }

    #[pg_test]
    fn writes_are_refused_until_the_server_allows_them() {
        let server = mock(config());
        let mut c = imported(&server, "wr_off");
        let id = server.dataset().users[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server.clear_log();
        for sql in [
            "insert into wr_off.users (email) values ('a@example.com')".to_string(),
            format!("update wr_off.users set first_name = 'X' where id = '{id}'"),
            format!("delete from wr_off.users where id = '{id}'"),
        ] {
            let (code, message) = failure(&mut c, &sql);
            assert_eq!(code, "55000", "{message}");
            assert!(message.contains("not writable"), "{message}");
        }
        assert_eq!(server.request_count(), 0, "{:?}", server.requests());
        // A table's own `writable` cannot stand in for the server's: a
        // plain role that may use the server makes a table of its own.
        c.batch_execute(
            "create role wr_plain login;
             grant usage on foreign server wr_off to wr_plain;
             create schema wr_plain authorization wr_plain;",
        )
        .unwrap();
        let mut plain = session_as("wr_plain", "");
        plain
            .batch_execute("create foreign table wr_plain.u (id text, first_name text) server wr_off options (object 'users', writable 'true')")
            .unwrap();
        let (code, message) = failure(
            &mut plain,
            &format!("update wr_plain.u set first_name = 'Mine' where id = '{id}'"),
        );
        assert_eq!(code, "55000", "{message}");
        assert_eq!(server.request_count(), 0);
        // The option is checked when the statement runs: a cached plan
        // made before the server allowed writes obeys it.
        c.batch_execute(&format!(
            "prepare ren as update wr_off.users set first_name = 'Y' where id = '{id}';
             alter server wr_off options (add writable 'true');"
        ))
        .unwrap();
        c.batch_execute("execute ren").unwrap();
        assert_eq!(user(&server, &id).unwrap()["first_name"], "Y");
        // A table can opt out.
        c.batch_execute("alter foreign table wr_off.users options (add writable 'false')")
            .unwrap();
        let (code, _) = failure(&mut c, "execute ren");
        assert_eq!(code, "55000");
        // Objects Clerk has no writes for, and commands an object lacks.
        let (code, message) = failure(&mut c, "delete from wr_off.jwt_templates");
        assert_eq!(code, "0A000", "{message}");
        let (code, message) = failure(&mut c, "delete from wr_off.invitations");
        assert_eq!(code, "0A000", "{message}");
        let (_, hint) = {
            c.batch_execute("begin; savepoint s").unwrap();
            let e = c
                .simple_query("delete from wr_off.invitations")
                .unwrap_err();
            c.batch_execute("rollback to savepoint s; commit").unwrap();
            (
                e.code().cloned(),
                e.as_db_error()
                    .and_then(|d| d.hint().map(String::from))
                    .unwrap_or_default(),
            )
        };
        assert!(hint.contains("status = 'revoked'"), "{hint}");
    }

    #[pg_test]
    fn users_every_write_and_returning() {
        let server = mock(config());
        let mut c = writable(&server, "wr_users");
        server.clear_log();
        let created = one(
            &mut c,
            "insert into wr_users.users (email, first_name, last_name, username, public_metadata, attrs)
             values ('new.person@example.com', 'New', 'Person', 'newperson', '{\"plan\": \"pro\", \"seats\": 3}',
                     '{\"skip_password_requirement\": true}')
             returning id, email, first_name, username, public_metadata ->> 'plan', banned, created_at is not null",
        );
        let id = created.split('|').next().unwrap().to_string();
        assert!(id.starts_with("user_"), "{created}");
        assert_eq!(
            created,
            format!("{id}|new.person@example.com|New|newperson|pro|f|t")
        );
        let stored = user(&server, &id).expect("the test server has the new user");
        assert_eq!(
            stored["public_metadata"],
            json!({"plan": "pro", "seats": 3})
        );
        let post = server
            .requests()
            .into_iter()
            .find(|r| r.method == "POST")
            .unwrap();
        assert_eq!(
            post.body.unwrap(),
            json!({"email_address": ["new.person@example.com"], "first_name": "New", "last_name": "Person",
                   "username": "newperson", "public_metadata": {"plan": "pro", "seats": 3},
                   "skip_password_requirement": true})
        );

        // Names by PATCH; metadata by a merge that removes what the UPDATE
        // removed; banned and locked by their actions. One request each,
        // none for a value that stays.
        server.clear_log();
        let updated = one(
            &mut c,
            &format!(
                "update wr_users.users set first_name = 'Renamed', last_name = last_name,
                        public_metadata = public_metadata - 'seats' || '{{\"tier\": 2}}', banned = true
                  where id = '{id}'
                 returning first_name, last_name, public_metadata::text, banned"
            ),
        );
        assert_eq!(updated, "Renamed|Person|{\"plan\": \"pro\", \"tier\": 2}|t");
        assert_eq!(
            writes(&server),
            [
                format!("PATCH /v1/users/{id} 200"),
                format!("PATCH /v1/users/{id}/metadata 200"),
                format!("POST /v1/users/{id}/ban 200"),
            ]
        );
        let patch = server
            .requests()
            .into_iter()
            .find(|r| r.path.ends_with("/metadata"))
            .unwrap();
        assert_eq!(
            patch.body.unwrap(),
            json!({"public_metadata": {"seats": null, "tier": 2}})
        );
        let stored = user(&server, &id).unwrap();
        assert_eq!(stored["first_name"], "Renamed");
        assert_eq!(stored["banned"], true);
        assert_eq!(stored["public_metadata"], json!({"plan": "pro", "tier": 2}));

        server.clear_log();
        c.batch_execute(&format!(
            "update wr_users.users set banned = false, locked = true where id = '{id}';
             update wr_users.users set banned = false where id = '{id}';"
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [
                format!("POST /v1/users/{id}/unban 200"),
                format!("POST /v1/users/{id}/lock 200")
            ]
        );
        assert_eq!(user(&server, &id).unwrap()["locked"], true);

        // Columns Clerk cannot change are refused at plan time, listing
        // those it can.
        server.clear_log();
        for column in [
            "email = 'x@example.com'",
            "created_at = now()",
            "id = 'user_x'",
        ] {
            c.batch_execute("begin; savepoint s").unwrap();
            let e = c
                .simple_query(&format!(
                    "update wr_users.users set {column} where id = '{id}'"
                ))
                .unwrap_err();
            c.batch_execute("rollback to savepoint s; commit").unwrap();
            let db = e.as_db_error().unwrap();
            assert_eq!(db.code().code(), "0A000", "{}", db.message());
            assert!(
                db.hint()
                    .unwrap_or_default()
                    .contains("first_name, last_name, username"),
                "{:?}",
                db.hint()
            );
        }
        let (code, message) = failure(
            &mut c,
            "insert into wr_users.users (id, email) values ('user_mine', 'm@example.com')",
        );
        assert_eq!(code, "0A000", "{message}");
        // Clerk's 422 carries its message and the row.
        let (code, message) = failure(
            &mut c,
            "insert into wr_users.users (email) values ('new.person@example.com')",
        );
        assert_eq!(code, "23514", "{message}");
        assert!(message.contains("That email address is taken"), "{message}");
        assert_eq!(writes(&server), ["POST /v1/users 422"]);

        server.clear_log();
        let gone = one(
            &mut c,
            &format!("delete from wr_users.users where id = '{id}' returning id, first_name"),
        );
        assert_eq!(gone, format!("{id}|Renamed"));
        assert_eq!(writes(&server), [format!("DELETE /v1/users/{id} 200")]);
        assert!(user(&server, &id).is_none());
        assert!(
            server.spec_violations().is_empty(),
            "{:?}",
            server.spec_violations()
        );
    }

    #[pg_test]
    fn organizations_and_memberships() {
        let server = mock(config());
        let mut c = writable(&server, "wr_orgs");
        let org = one(
            &mut c,
            "insert into wr_orgs.organizations (name, slug, public_metadata)
             values ('Acme', 'acme', '{\"tier\": \"team\"}') returning id",
        );
        let member = server.dataset().users[5]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let m = one(
            &mut c,
            &format!(
                "insert into wr_orgs.organization_memberships (organization_id, user_id, role)
                 values ('{org}', '{member}', 'org:admin') returning organization_id, user_id, role, role_name"
            ),
        );
        assert_eq!(m, format!("{org}|{member}|org:admin|Admin"));
        server.clear_log();
        c.batch_execute(&format!(
            "update wr_orgs.organizations set name = 'Acme Inc', public_metadata = '{{\"tier\": \"enterprise\"}}' where id = '{org}';
             update wr_orgs.organization_memberships set role = 'org:member', public_metadata = '{{\"team\": \"ops\"}}'
              where organization_id = '{org}' and user_id = '{member}';"
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [
                format!("PATCH /v1/organizations/{org} 200"),
                format!("PATCH /v1/organizations/{org}/metadata 200"),
                format!("PATCH /v1/organizations/{org}/memberships/{member} 200"),
                format!("PATCH /v1/organizations/{org}/memberships/{member}/metadata 200"),
            ]
        );
        let ds = server.dataset();
        let stored = ds
            .organizations
            .iter()
            .find(|o| o["id"] == org.as_str())
            .unwrap();
        assert_eq!(
            (stored["name"].clone(), stored["public_metadata"].clone()),
            (json!("Acme Inc"), json!({"tier": "enterprise"}))
        );
        let stored = ds
            .memberships
            .iter()
            .find(|m| m["organization"]["id"] == org.as_str())
            .unwrap();
        assert_eq!(
            (stored["role"].clone(), stored["public_metadata"].clone()),
            (json!("org:member"), json!({"team": "ops"}))
        );
        drop(ds);
        // Moving a member: a membership elsewhere, then this one deleted.
        let other = server.dataset().organizations[1]["id"]
            .as_str()
            .unwrap()
            .to_string();
        server.clear_log();
        c.batch_execute(&format!(
            "begin;
             insert into wr_orgs.organization_memberships (organization_id, user_id, role)
               select '{other}', user_id, role from wr_orgs.organization_memberships where organization_id = '{org}';
             delete from wr_orgs.organization_memberships where organization_id = '{org}';
             commit;"
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [
                format!("POST /v1/organizations/{other}/memberships 200"),
                format!("DELETE /v1/organizations/{org}/memberships/{member} 200"),
            ]
        );
        server.clear_log();
        c.batch_execute(&format!(
            "delete from wr_orgs.organizations where id = '{org}'"
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [format!("DELETE /v1/organizations/{org} 200")]
        );
        assert!(!server
            .dataset()
            .organizations
            .iter()
            .any(|o| o["id"] == org.as_str()));
        assert!(
            server.spec_violations().is_empty(),
            "{:?}",
            server.spec_violations()
        );
    }

    #[pg_test]
    fn invitations_in_bulk_and_revoked() {
        let server = mock(config());
        let mut c = writable(&server, "wr_inv");
        server.clear_log();
        // 25 rows without RETURNING: the bulk endpoint, 10 at a time.
        c.batch_execute(
            "insert into wr_inv.invitations (email_address, public_metadata)
             select 'bulk' || i || '@example.com', jsonb_build_object('batch', i) from generate_series(1, 25) i",
        )
        .unwrap();
        assert_eq!(writes(&server), vec!["POST /v1/invitations/bulk 200"; 3]);
        let made: Vec<Value> = server
            .dataset()
            .invitations
            .iter()
            .filter(|i| i["email_address"].as_str().unwrap().starts_with("bulk"))
            .cloned()
            .collect();
        assert_eq!(made.len(), 25);
        // With RETURNING, one request per row, each answered row returned.
        server.clear_log();
        let returned = rows(
            &mut c,
            "insert into wr_inv.invitations (email_address) values ('r1@example.com'), ('r2@example.com')
             returning id, email_address, status",
        )
        .unwrap();
        assert_eq!(returned.len(), 2);
        assert!(
            returned[0].starts_with("inv_") && returned[0].ends_with("|r1@example.com|pending"),
            "{returned:?}"
        );
        assert_eq!(writes(&server), vec!["POST /v1/invitations 200"; 2]);
        let id = returned[1].split('|').next().unwrap().to_string();
        server.clear_log();
        let revoked = one(&mut c, &format!("update wr_inv.invitations set status = 'revoked' where id = '{id}' returning status, revoked"));
        assert_eq!(revoked, "revoked|t");
        assert_eq!(
            writes(&server),
            [format!("POST /v1/invitations/{id}/revoke 200")]
        );
        let (code, message) = failure(
            &mut c,
            &format!("update wr_inv.invitations set status = 'accepted' where id = '{id}'"),
        );
        assert_eq!(code, "22023", "{message}");

        // Organization invitations: one bulk request per organization.
        let orgs: Vec<String> = server.dataset().organizations[..2]
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect();
        server.clear_log();
        c.batch_execute(&format!(
            "insert into wr_inv.organization_invitations (organization_id, email_address, role)
             select case when i <= 3 then '{}' else '{}' end, 'oi' || i || '@example.com', 'org:member'
               from generate_series(1, 5) i",
            orgs[0], orgs[1]
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [
                format!("POST /v1/organizations/{}/invitations/bulk 200", orgs[0]),
                format!("POST /v1/organizations/{}/invitations/bulk 200", orgs[1]),
            ]
        );
        let inv = one(
            &mut c,
            &format!("select id from wr_inv.organization_invitations where organization_id = '{}' and email_address = 'oi1@example.com'", orgs[0]),
        );
        server.clear_log();
        c.batch_execute(&format!("update wr_inv.organization_invitations set status = 'revoked' where organization_id = '{}' and id = '{inv}'", orgs[0])).unwrap();
        assert_eq!(
            writes(&server),
            [format!(
                "POST /v1/organizations/{}/invitations/{inv}/revoke 200",
                orgs[0]
            )]
        );
        assert!(
            server.spec_violations().is_empty(),
            "{:?}",
            server.spec_violations()
        );
    }

    #[pg_test]
    fn lists_and_the_waitlist() {
        let server = mock(config());
        let mut c = writable(&server, "wr_lists");
        for list in ["allowlist_identifiers", "blocklist_identifiers"] {
            let id = one(&mut c, &format!("insert into wr_lists.{list} (identifier) values ('listed@example.com') returning id"));
            assert_eq!(one(&mut c, &format!("select identifier_type from wr_lists.{list} where identifier = 'listed@example.com'")), "email_address");
            server.clear_log();
            c.batch_execute(&format!("delete from wr_lists.{list} where id = '{id}'"))
                .unwrap();
            assert_eq!(writes(&server), [format!("DELETE /v1/{list}/{id} 200")]);
        }
        server.clear_log();
        c.batch_execute("insert into wr_lists.waitlist_entries (email_address) select 'wait' || i || '@example.com' from generate_series(1, 60) i").unwrap();
        assert_eq!(
            writes(&server),
            [
                "POST /v1/waitlist_entries/bulk 200",
                "POST /v1/waitlist_entries/bulk 200"
            ]
        );
        let ids: Vec<String> = rows(&mut c, "select id from wr_lists.waitlist_entries where email_address in ('wait1@example.com', 'wait2@example.com', 'wait3@example.com') order by email_address").unwrap();
        server.clear_log();
        let invited = one(&mut c, &format!("update wr_lists.waitlist_entries set status = 'invited' where id = '{}' returning status, invitation_id is not null", ids[0]));
        assert_eq!(invited, "invited|t");
        c.batch_execute(&format!(
            "update wr_lists.waitlist_entries set status = 'rejected' where id = '{}';
             delete from wr_lists.waitlist_entries where id = '{}';",
            ids[1], ids[2]
        ))
        .unwrap();
        assert_eq!(
            writes(&server),
            [
                format!("POST /v1/waitlist_entries/{}/invite 200", ids[0]),
                format!("POST /v1/waitlist_entries/{}/reject 200", ids[1]),
                format!("DELETE /v1/waitlist_entries/{} 200", ids[2]),
            ]
        );
        assert!(
            server.spec_violations().is_empty(),
            "{:?}",
            server.spec_violations()
        );
    }

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
