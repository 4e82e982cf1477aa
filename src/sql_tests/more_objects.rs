//! Invitations, lists, domains, sessions, templates, applications,
//! connections and redirect URLs: every row and field.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::fixtures::*;
    use crate::sql_tests::support::*;
    use clerk_mock::DataConfig;
    use pgrx::prelude::*;
    use serde_json::{json, Value};

    #[pg_test]
    fn invitations_identifiers_and_domains_every_row_and_field() {
        let server = mock(DataConfig {
            users: 6000,
            organizations: 30,
            ..small()
        });
        create_keyless_server(&server, "o1");
        Spi::run("create schema clerk; import foreign schema clerk from server o1 into clerk")
            .unwrap();
        let ds = server.dataset();
        let sorted_by_id = |list: &[Value]| {
            let mut list = list.to_vec();
            list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            list
        };
        let ms =
            |column: &str| format!("(extract(epoch from {column}) * 1000)::bigint as {column}");
        // 600 invitations: two bare-array pages with offset paging.
        let rows = query_json(&format!(
            "select id, email_address, status, revoked, url, public_metadata, {}, {} from clerk.invitations order by id",
            ms("expires_at"),
            ms("created_at")
        ));
        let expected: Vec<Value> = sorted_by_id(&ds.invitations)
            .iter()
            .map(|i| {
                json!({"id": i["id"], "email_address": i["email_address"], "status": i["status"],
                       "revoked": i["revoked"], "url": i["url"], "public_metadata": i["public_metadata"],
                       "expires_at": i["expires_at"], "created_at": i["created_at"]})
            })
            .collect();
        assert_eq!(rows, json!(expected));

        let rows = query_json(
            "select id, email_address, organization_id, organization_name, role, status from clerk.organization_invitations order by id",
        );
        let expected: Vec<Value> = sorted_by_id(&ds.organization_invitations)
            .iter()
            .map(|i| {
                json!({"id": i["id"], "email_address": i["email_address"], "organization_id": i["organization_id"],
                       "organization_name": i["public_organization_data"]["name"], "role": i["role"], "status": i["status"]})
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(rows, json!(expected));

        for (table, list) in [
            ("allowlist_identifiers", &ds.allowlist_identifiers),
            ("blocklist_identifiers", &ds.blocklist_identifiers),
        ] {
            let rows = query_json(&format!(
                "select id, identifier, identifier_type from clerk.{table} order by id"
            ));
            let expected: Vec<Value> = sorted_by_id(list)
                .iter()
                .map(|i| json!({"id": i["id"], "identifier": i["identifier"], "identifier_type": i["identifier_type"]}))
                .collect();
            assert_eq!(rows, json!(expected), "{table}");
        }
        let rows = query_json(
            "select id, is_satellite, proxy_url, cname_targets from clerk.domains order by id",
        );
        assert_eq!(
            rows,
            json!([
                {"id": "dmn_primary", "is_satellite": false, "proxy_url": null, "cname_targets": ds.domains[0]["cname_targets"]},
                {"id": "dmn_satellite", "is_satellite": true, "proxy_url": "https://example.org/__clerk", "cname_targets": null}
            ])
        );

        // The status filter is Clerk's.
        server.clear_log();
        let pending = ds
            .invitations
            .iter()
            .filter(|i| i["status"] == "pending")
            .count() as i64;
        assert_eq!(
            count("select count(*) from clerk.invitations where status = 'pending'"),
            pending
        );
        let log = data_requests(&server);
        assert!(!log.is_empty());
        assert!(
            log.iter()
                .filter(|r| r.path == "/v1/invitations")
                .all(|r| r.param("status") == Some("pending")),
            "{log:?}"
        );
        // Clerk takes one status per request: a list is a request per status.
        for table in ["invitations", "organization_invitations"] {
            let list = if table == "invitations" {
                &ds.invitations
            } else {
                &ds.organization_invitations
            };
            let wanted = ["pending", "accepted"];
            let expected: Vec<Value> = sorted_by_id(list)
                .iter()
                .filter(|i| wanted.iter().any(|w| i["status"] == *w))
                .map(|i| json!({"id": i["id"]}))
                .collect();
            assert!(expected.len() > 1, "{table}: both statuses in the data");
            server.clear_log();
            let rows = query_json(&format!(
                "select id from clerk.{table} where status in ('pending', 'accepted') order by id"
            ));
            assert_eq!(rows, json!(expected), "{table}");
            let statuses: Vec<Option<String>> = server
                .requests()
                .iter()
                .filter(|r| r.path == format!("/v1/{table}"))
                .map(|r| r.param("status").map(String::from))
                .collect();
            assert!(
                statuses.iter().all(|s| s.is_some()) && statuses.len() >= 2,
                "{table}: {statuses:?}"
            );
        }
    }

    #[pg_test]
    fn sessions_need_a_user_or_client_and_join_per_user() {
        let server = mock(small());
        create_keyless_server(&server, "se");
        Spi::run("create schema clerk; import foreign schema clerk from server se into clerk")
            .unwrap();
        let ds = server.dataset();
        server.clear_log();
        let e = error_of("select count(*) from clerk.sessions").unwrap();
        assert!(
            e.contains(
                "foreign table sessions (sessions) needs user_id = ... or client_id = ... in WHERE"
            ),
            "{e}"
        );
        let e = error_of("select * from clerk.sessions where status = 'active'").unwrap();
        assert!(e.contains("needs user_id"), "{e}");
        assert!(
            server.requests().iter().all(|r| r.path != "/v1/sessions"),
            "no session list request without a user"
        );
        let plan = Spi::get_one::<pgrx::Json>(
            "explain (format json, verbose) select * from clerk.sessions",
        )
        .unwrap()
        .unwrap()
        .0;
        assert!(
            plan.to_string().contains("none: sessions needs user_id"),
            "{plan}"
        );

        // One user's sessions, every field that matters.
        let user = 5; // 5 % 3 = 2 sessions
        let uid = ds.users[user]["id"].as_str().unwrap();
        let expected: Vec<&Value> = ds.sessions.iter().filter(|s| s["user_id"] == uid).collect();
        assert_eq!(expected.len(), 2);
        let rows = query_json(&format!(
            "select id, user_id, client_id, status, actor, latest_activity->>'city' as city,
                    (extract(epoch from expire_at) * 1000)::bigint as expire_at
               from clerk.sessions where user_id = '{uid}' order by id"
        ));
        let mut want: Vec<Value> = expected
            .iter()
            .map(|s| {
                json!({"id": s["id"], "user_id": s["user_id"], "client_id": s["client_id"], "status": s["status"],
                       "actor": s["actor"], "city": s["latest_activity"]["city"], "expire_at": s["expire_at"]})
            })
            .collect();
        want.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        assert_eq!(rows, json!(want));
        let client = expected[0]["client_id"].as_str().unwrap();
        assert_eq!(
            count(&format!(
                "select count(*) from clerk.sessions where client_id = '{client}'"
            )),
            2
        );
        let status = expected[0]["status"].as_str().unwrap();
        server.clear_log();
        assert_eq!(
            count(&format!(
                "select count(*) from clerk.sessions where user_id = '{uid}' and status = '{status}'"
            )),
            expected.iter().filter(|s| s["status"] == status).count() as i64
        );
        let sent: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/sessions")
            .collect();
        assert!(
            !sent.is_empty() && sent.iter().all(|r| r.param("status") == Some(status)),
            "the status goes to Clerk: {sent:?}"
        );

        // Sessions of the users a local table names: one request per user.
        Spi::run(
            "create temp table watched (user_id text);
             insert into watched select id from clerk.users order by created_at limit 12",
        )
        .unwrap();
        let watched = query_json("select user_id from watched");
        server.clear_log();
        let per_user = query_json(
            "select w.user_id, count(s.id) as n from watched w
               left join clerk.sessions s on s.user_id = w.user_id group by 1 order by 1",
        );
        let want: Vec<Value> = {
            let mut ids = sorted_ids(&watched, "user_id");
            ids.dedup();
            ids.iter()
                .map(|id| json!({"user_id": id, "n": ds.sessions.iter().filter(|s| s["user_id"] == id.as_str()).count()}))
                .collect()
        };
        assert_eq!(per_user, json!(want));
        let lists = server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/sessions")
            .count();
        assert_eq!(lists, 12);
    }

    #[pg_test]
    fn templates_applications_connections_and_redirect_urls_every_row() {
        let server = mock(small());
        create_keyless_server(&server, "o2");
        Spi::run("create schema clerk; import foreign schema clerk from server o2 into clerk")
            .unwrap();
        let ds = server.dataset();
        let by_id = |list: &[Value]| {
            let mut list = list.to_vec();
            list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            list
        };
        let ms = |column: &str| format!("(extract(epoch from {column}) * 1000)::bigint");
        let rows = query_json(&format!(
            "select id, name, claims, lifetime, custom_signing_key, signing_algorithm, {} as created_at
               from clerk.jwt_templates order by id",
            ms("created_at")
        ));
        let want: Vec<Value> = by_id(&ds.jwt_templates)
            .iter()
            .map(|t| {
                json!({"id": t["id"], "name": t["name"], "claims": t["claims"], "lifetime": t["lifetime"],
                       "custom_signing_key": t["custom_signing_key"], "signing_algorithm": t["signing_algorithm"],
                       "created_at": t["created_at"]})
            })
            .collect();
        assert_eq!(rows, json!(want));

        let rows = query_json(
            "select id, name, client_id, public, pkce_required, scopes, redirect_uris, client_uri
               from clerk.oauth_applications order by id",
        );
        let want: Vec<Value> = by_id(&ds.oauth_applications)
            .iter()
            .map(|a| {
                json!({"id": a["id"], "name": a["name"], "client_id": a["client_id"], "public": a["public"],
                       "pkce_required": a["pkce_required"], "scopes": a["scopes"],
                       "redirect_uris": a["redirect_uris"], "client_uri": a["client_uri"]})
            })
            .collect();
        assert_eq!(rows, json!(want));

        let rows = query_json(&format!(
            "select id, name, domains, provider, active, organization_id, user_count, attribute_mapping,
                    {} as expires_at from clerk.saml_connections order by id",
            ms("idp_certificate_expires_at")
        ));
        let want: Vec<Value> = by_id(&ds.saml_connections)
            .iter()
            .map(|c| {
                json!({"id": c["id"], "name": c["name"], "domains": c["domains"], "provider": c["provider"],
                       "active": c["active"], "organization_id": c["organization_id"], "user_count": c["user_count"],
                       "attribute_mapping": c["attribute_mapping"], "expires_at": c["idp_certificate_expires_at"]})
            })
            .collect();
        assert_eq!(rows, json!(want));
        // The organization filter is Clerk's.
        let org = ds.saml_connections[0]["organization_id"].as_str().unwrap();
        server.clear_log();
        assert_eq!(
            count(&format!(
                "select count(*) from clerk.saml_connections where organization_id = '{org}'"
            )),
            1
        );
        assert!(server
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/saml_connections")
            .all(|r| r.param("organization_id") == Some(org)));

        let rows = query_json("select id, url from clerk.redirect_urls order by id");
        let want: Vec<Value> = by_id(&ds.redirect_urls)
            .iter()
            .map(|r| json!({"id": r["id"], "url": r["url"]}))
            .collect();
        assert_eq!(rows, json!(want));
        assert!(rows.to_string().contains("https://例え.jp/コールバック"));
    }
}
