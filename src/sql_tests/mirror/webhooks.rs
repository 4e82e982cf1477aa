//! Webhooks into the mirror: Svix signatures, refusals, a plain role, the dashboard.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::mirror::*;

    use clerk_mock::webhooks::Change;

    use serde_json::{json, Value};

    #[pg_test]
    fn svix_signatures_and_every_refusal_changes_nothing() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr2");
        c.batch_execute("set mirror.under_test = 'mr2_m'").unwrap();
        let user = json!({"id": "user_svix", "object": "user", "created_at": 1_700_000_000_000i64, "updated_at": 1_700_000_000_000i64,
                          "first_name": "Svix", "email_addresses": [], "public_metadata": {}});
        let body = event("user.created", 1_700_000_000_000, user.clone());
        // Header names in any case. (The signing is checked against Svix's
        // published example in mirror::svix's unit tests: the `svix` crate
        // does not build with this tree's hyper-util.)
        let at = unix_now();
        let sig = crate::mirror::svix::sign(SECRET, "msg_svix_1", &at.to_string(), body.as_bytes())
            .unwrap();
        let headers = json!({"Svix-Id": "msg_svix_1", "Svix-Timestamp": at.to_string(), "Svix-Signature": sig}).to_string();
        assert_eq!(receive(&mut c, &body, &headers).unwrap(), "applied");
        assert_eq!(receive(&mut c, &body, &headers).unwrap(), "duplicate");
        assert_eq!(
            rows(&mut c, "select first_name from mr2_m.users").unwrap(),
            ["Svix"]
        );

        let rejected = |c: &mut postgres::Client| {
            rows(c, "select distinct deliveries_rejected from clerk_fdw.mirror_status where mirror = 'mr2_m'").unwrap()
        };
        assert_eq!(rejected(&mut c), ["0"]);
        let newer = event(
            "user.updated",
            1_700_000_000_500,
            json!({"id": "user_svix", "created_at": 1, "updated_at": 1_700_000_000_500i64, "first_name": "Tampered"}),
        );
        let good = signed(&newer, "msg_2", unix_now());
        let h = |v: Value| v.to_string();
        let parsed: Value = serde_json::from_str(&good).unwrap();
        let cases: Vec<(&str, String, String)> = vec![
            (
                "a tampered body",
                newer.replace("Tampered", "Tampered!"),
                good.clone(),
            ),
            (
                "a tampered id",
                newer.clone(),
                h(
                    json!({"svix-id": "msg_3", "svix-timestamp": parsed["svix-timestamp"], "svix-signature": parsed["svix-signature"]}),
                ),
            ),
            (
                "a tampered timestamp",
                newer.clone(),
                h(
                    json!({"svix-id": "msg_2", "svix-timestamp": (unix_now() + 1).to_string(), "svix-signature": parsed["svix-signature"]}),
                ),
            ),
            (
                "six minutes old",
                newer.clone(),
                signed(&newer, "msg_2", unix_now() - 360),
            ),
            (
                "six minutes ahead",
                newer.clone(),
                signed(&newer, "msg_2", unix_now() + 360),
            ),
            ("a wrong secret", newer.clone(), {
                let at = unix_now().to_string();
                let sig = crate::mirror::svix::sign(
                    "whsec_QUJDREVGR0hJSktMTU5PUA==",
                    "msg_2",
                    &at,
                    newer.as_bytes(),
                )
                .unwrap();
                h(json!({"svix-id": "msg_2", "svix-timestamp": at, "svix-signature": sig}))
            }),
            (
                "a missing header",
                newer.clone(),
                h(json!({"svix-id": "msg_2", "svix-timestamp": parsed["svix-timestamp"]})),
            ),
            (
                "only wrong entries",
                newer.clone(),
                h(
                    json!({"svix-id": "msg_2", "svix-timestamp": parsed["svix-timestamp"], "svix-signature": "v1,AAAA v1,Zm9vYmFy v2,xyz"}),
                ),
            ),
        ];
        for (what, body, headers) in &cases {
            let (code, message) = failure(
                &mut c,
                &format!(
                    "select clerk_fdw.receive_webhook('mr2_m', {}, {}::jsonb)",
                    pgrx::spi::quote_literal(body),
                    pgrx::spi::quote_literal(headers)
                ),
            );
            assert_eq!(code, "28000", "{what}: {message}");
            assert!(
                message.starts_with("clerk_fdw: webhook refused: "),
                "{what}: {message}"
            );
            assert!(
                !message.contains(&SECRET[6..]) && !message.contains("v1,"),
                "{what}: {message}"
            );
        }
        assert_eq!(
            rows(&mut c, "select first_name from mr2_m.users").unwrap(),
            ["Svix"]
        );
        assert_eq!(
            rows(&mut c, "select count(*) from mr2_m_sync.events").unwrap(),
            ["1"]
        );
        assert_eq!(rejected(&mut c), [cases.len().to_string()]);
        // The same event, signed right, applies.
        assert_eq!(
            receive(&mut c, &newer, &signed(&newer, "msg_2", unix_now())).unwrap(),
            "applied"
        );

        // A malformed body, signed right, is refused as such.
        let (code, message) = failure(
            &mut c,
            &format!(
                "select clerk_fdw.receive_webhook('mr2_m', '{{\"type\": 1}}', {}::jsonb)",
                pgrx::spi::quote_literal(signed("{\"type\": 1}", "msg_bad", unix_now()))
            ),
        );
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "22023",
                "clerk_fdw: webhook refused: the body is not a Clerk event: no \"type\""
            )
        );
        // An event type the mirror does not keep is recorded, not refused.
        let email = event(
            "email.created",
            1,
            json!({"id": "ema_1", "to_email_address": "a@example.com"}),
        );
        assert_eq!(
            receive(&mut c, &email, &signed(&email, "msg_email", unix_now())).unwrap(),
            "ignored"
        );
        // Not a mirror; no secret.
        let (code, message) = failure(
            &mut c,
            "select clerk_fdw.receive_webhook('public', '{}', '{}')",
        );
        assert_eq!(code, "3F000", "{message}");
        c.batch_execute("alter user mapping for public server mr2 options (drop webhook_secret)")
            .unwrap();
        let (code, message) = failure(
            &mut c,
            &format!(
                "select clerk_fdw.receive_webhook('mr2_m', {}, '{{}}')",
                pgrx::spi::quote_literal(&newer)
            ),
        );
        assert_eq!(code, "HV00J", "{message}");
        let (_, message) = failure(&mut c, "alter user mapping for public server mr2 options (add webhook_secret 'plaintextvalue')");
        assert!(
            message.contains("webhook_secret") && !message.contains("plaintextvalue"),
            "{message}"
        );
    }

    /// A mirror that only webhooks feed keeps a week of event ids, as a
    /// synced one does: each delivery forgets its object's older events.
    #[pg_test]
    fn events_older_than_a_week_expire_as_deliveries_arrive() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr7");
        c.batch_execute(
            "set mirror.under_test = 'mr7_m';
             insert into mr7_m_sync.events (event_id, type, object, object_id, outcome, received_at) values
               ('msg_old_user', 'user.updated', 'users', 'user_x', 'applied', now() - interval '8 days'),
               ('msg_recent_user', 'user.updated', 'users', 'user_x', 'applied', now() - interval '6 days'),
               ('msg_old_org', 'organization.updated', 'organizations', 'org_x', 'applied', now() - interval '8 days'),
               ('msg_old_email', 'email.created', null, null, 'ignored', now() - interval '8 days')",
        )
        .unwrap();
        let kept = |c: &mut postgres::Client| {
            rows(c, "select event_id from mr7_m_sync.events order by 1").unwrap()
        };
        let user = json!({"id": "user_week", "object": "user", "created_at": 1_700_000_000_000i64, "updated_at": 1_700_000_000_000i64,
                          "first_name": "Week", "email_addresses": [], "public_metadata": {}});
        let body = event("user.created", 1_700_000_000_000, user);
        let headers = signed(&body, "msg_new_user", unix_now());
        assert_eq!(receive(&mut c, &body, &headers).unwrap(), "applied");
        assert_eq!(
            kept(&mut c),
            [
                "msg_new_user",
                "msg_old_email",
                "msg_old_org",
                "msg_recent_user"
            ]
        );
        // A second delivery of it is a duplicate still.
        assert_eq!(receive(&mut c, &body, &headers).unwrap(), "duplicate");
        // An event type the mirror does not keep forgets the old ignored one.
        let email = event(
            "email.created",
            1_700_000_000_000,
            json!({"id": "ema_week", "object": "email"}),
        );
        let headers = signed(&email, "msg_new_email", unix_now());
        assert_eq!(receive(&mut c, &email, &headers).unwrap(), "ignored");
        assert_eq!(
            kept(&mut c),
            [
                "msg_new_email",
                "msg_new_user",
                "msg_old_org",
                "msg_recent_user"
            ]
        );
        // Through plpgsql, twice, after a refusal caught by a savepoint.
        c.batch_execute(
            "insert into mr7_m_sync.events (event_id, type, object, received_at)
               values ('msg_old_user2', 'user.updated', 'users', now() - interval '9 days');
             create function mr7_receive(body text, headers text) returns text language plpgsql as $$
               begin return clerk_fdw.receive_webhook('mr7_m', body, headers::jsonb)->>'outcome'; end $$;
             begin; savepoint before_refusal;",
        )
        .unwrap();
        let renamed = event(
            "user.updated",
            1_700_000_000_500,
            json!({"id": "user_week", "object": "user", "created_at": 1_700_000_000_000i64, "updated_at": 1_700_000_000_500i64,
                   "first_name": "Renamed", "email_addresses": [], "public_metadata": {}}),
        );
        let headers = signed(&renamed, "msg_renamed", unix_now());
        let tampered = renamed.replace("Renamed", "Tampered");
        assert!(receive(&mut c, &tampered, &headers).is_err());
        c.batch_execute("rollback to savepoint before_refusal")
            .unwrap();
        for outcome in ["applied", "duplicate"] {
            let row = c
                .query_one("select mr7_receive($1, $2)", &[&renamed, &headers])
                .unwrap();
            assert_eq!(row.get::<_, String>(0), outcome);
        }
        c.batch_execute("commit").unwrap();
        assert_eq!(
            kept(&mut c),
            [
                "msg_new_email",
                "msg_new_user",
                "msg_old_org",
                "msg_recent_user",
                "msg_renamed"
            ]
        );
        // A sync forgets every object's.
        sync(&mut c, "mr7_m");
        assert_eq!(
            kept(&mut c),
            [
                "msg_new_email",
                "msg_new_user",
                "msg_recent_user",
                "msg_renamed"
            ]
        );
    }

    #[pg_test]
    fn seed_dashboard_on_the_mirror_answers_as_live_with_no_request() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr5");
        sync(&mut c, "mr5_m");
        c.batch_execute("create schema mr5_live; import foreign schema clerk limit to (users, organizations, organization_memberships) from server mr5 into mr5_live").unwrap();
        let queries: Vec<&str> = include_str!("../../../examples/mirror_dashboard.sql")
            .split(';')
            .map(|q| {
                q.lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .map(|q| Box::leak(q.into_boxed_str()) as &str)
            .filter(|q| !q.trim().is_empty())
            .collect();
        assert_eq!(queries.len(), 4);
        for q in queries {
            c.batch_execute("set search_path = mr5_live").unwrap();
            let mut live = rows(&mut c, q).unwrap();
            live.sort();
            c.batch_execute("set search_path = mr5_m").unwrap();
            server.clear_log();
            let mut mirror = rows(&mut c, q).unwrap();
            assert_eq!(server.request_count(), 0, "{q}");
            mirror.sort();
            assert_eq!(mirror, live, "{q}");
            assert!(!mirror.is_empty(), "{q}");
        }
    }

    /// The receiving role of the README: no superuser, no Clerk key, only
    /// the grants it lists; it cannot read the secret, and settings it
    /// brings along change nothing.
    #[pg_test]
    fn a_plain_role_receives_webhooks_with_the_readme_grants() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr6");
        c.batch_execute(
            "create role mr6_hook login;
             grant usage on schema mr6_m, mr6_m_sync to mr6_hook;
             grant select, insert, update, delete on all tables in schema mr6_m, mr6_m_sync to mr6_hook;",
        )
        .unwrap();
        let mut hook = session_as("mr6_hook", "-c plan_cache_mode=force_generic_plan");
        let options = rows(&mut hook, "select coalesce(umoptions::text, 'hidden') from pg_user_mappings where srvname = 'mr6'").unwrap();
        assert_eq!(options, ["hidden"]);
        for _ in 0..3 {
            let d = server.change(Change::CreateUser).unwrap().remove(0);
            assert_eq!(deliver(&mut hook, &server, "mr6_m", &d).unwrap(), "applied");
            assert_eq!(
                deliver(&mut hook, &server, "mr6_m", &d).unwrap(),
                "duplicate"
            );
        }
        assert_eq!(
            rows(&mut hook, "select count(*) from mr6_m.users").unwrap(),
            ["3"]
        );
        let status = rows(&mut hook, "select rows, events_applied, events_duplicate from clerk_fdw.mirror_status where mirror = 'mr6_m' and object = 'users'").unwrap();
        assert_eq!(status, ["3|3|3"]);
        // Without the grants, an ERROR that changes nothing.
        c.batch_execute("revoke insert on mr6_m.users from mr6_hook")
            .unwrap();
        let d = server.change(Change::CreateUser).unwrap().remove(0);
        let err = deliver(&mut hook, &server, "mr6_m", &d).unwrap_err();
        let code = err.code().map(|c| c.code().to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{}", error_message(err));
        assert_eq!(
            rows(&mut hook, "select count(*) from mr6_m.users").unwrap(),
            ["3"]
        );
    }
}
