//! Every cell of the writes table: users, organizations, memberships, invitations, lists, the waitlist.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::writes::*;

    use serde_json::{json, Value};

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
}
