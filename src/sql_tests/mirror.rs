//! The mirror: `create_mirror`, `sync_mirror`, `receive_webhook` and
//! `mirror_status`. The oracle is a plain copy of the test server's data
//! (its JSON, compared as jsonb, and typed values computed from it in SQL
//! here), never clerk_fdw's own conversion. Events come from the test
//! server's changes, signed as Svix signs them, delivered shuffled,
//! duplicated and partly lost, from eight sessions while syncs run.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::webhooks::{Change, Delivery};
    use clerk_mock::{Behaviour, DataConfig, MockServer};
    use pgrx::prelude::*;
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn config() -> DataConfig {
        DataConfig {
            users: 300,
            organizations: 12,
            big_org_members: 40,
            members_per_org: 5,
            ..DataConfig::default()
        }
    }

    /// Server `name` with the key and the webhook secret in the PUBLIC
    /// mapping, and mirror `<name>_m` of every object.
    fn mirrored(server: &MockServer, name: &str) -> postgres::Client {
        server.set_webhook_secret(SECRET);
        let url = server.url();
        let mut c = session();
        c.batch_execute(&format!(
            "create foreign data wrapper {name}_w handler clerk_fdw_handler validator clerk_fdw_validator;
             create server {name} foreign data wrapper {name}_w options (api_url '{url}', max_retries '1', request_budget '2000/1s');
             create user mapping for public server {name} options (api_key '{KEY}', webhook_secret '{SECRET}');"
        ))
        .unwrap();
        let made = rows(&mut c, &format!("select object, kept_by from clerk_fdw.create_mirror('{name}', '{name}_m') order by 1")).unwrap();
        assert_eq!(made.len(), 12, "{made:?}");
        assert!(
            made.contains(&"sessions|events only".to_string()),
            "{made:?}"
        );
        assert!(
            made.contains(&"users|events and sync_mirror".to_string()),
            "{made:?}"
        );
        c
    }

    /// Delivers `d` as Svix does, with headers signed now; the outcome.
    fn deliver(
        c: &mut postgres::Client,
        server: &MockServer,
        schema: &str,
        d: &Delivery,
    ) -> Result<String, postgres::Error> {
        let headers: serde_json::Map<String, Value> = server
            .webhook_headers(d)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let row = c.query_one(
            "select clerk_fdw.receive_webhook($1::text, $2::text, $3::text::jsonb)->>'outcome'",
            &[&schema, &d.body, &Value::Object(headers).to_string()],
        )?;
        Ok(row.get(0))
    }

    /// md5 of the rows (`id attrs`, by id) of a mirror table.
    fn mirror_digest(c: &mut postgres::Client, table: &str) -> String {
        rows(c, &format!("select md5(coalesce(string_agg(id || ' ' || attrs::text, E'\\n' order by id), '')) from {table}")).unwrap().remove(0)
    }

    /// The same digest of the test server's objects, as a plain copy.
    fn oracle_digest(c: &mut postgres::Client, items: &[Value]) -> String {
        let row = c
            .query_one(
                "select md5(coalesce(string_agg((x->>'id') || ' ' || x::text, E'\\n' order by x->>'id'), ''))
                   from jsonb_array_elements($1::text::jsonb) x",
                &[&Value::Array(items.to_vec()).to_string()],
            )
            .unwrap();
        row.get(0)
    }

    /// Each kept object of the mirror equals the test server's, and the
    /// users' typed columns equal values computed from the JSON here.
    fn assert_equal(c: &mut postgres::Client, server: &MockServer, schema: &str, when: &str) {
        let ds = server.dataset();
        let objects: [(&str, &[Value]); 7] = [
            ("users", &ds.users),
            ("organizations", &ds.organizations),
            ("organization_memberships", &ds.memberships),
            ("organization_invitations", &ds.organization_invitations),
            ("organization_roles", &ds.settings.organization_roles),
            (
                "organization_permissions",
                &ds.settings.organization_permissions,
            ),
            ("waitlist_entries", &ds.settings.waitlist_entries),
        ];
        for (object, items) in objects {
            let mirror = mirror_digest(c, &format!("{schema}.{object}"));
            if mirror != oracle_digest(c, items) {
                // Which objects differ, and what the bookkeeping says of them.
                let diff = c
                    .query(
                        &format!(
                            "with o as (select x->>'id' as id, x as attrs from jsonb_array_elements($1::text::jsonb) x),
                                  d as (select coalesce(m.id, o.id) as id, m.attrs as mirror, o.attrs as server
                                          from {schema}.{object} m full join o on o.id = m.id
                                         where m.attrs is distinct from o.attrs)
                             select d.id || ' mirror=' || coalesce(d.mirror::text, '-') || ' server=' || coalesce(d.server::text, '-')
                                    || ' versions=' || coalesce((select row(v.*)::text from {schema}_sync.versions v where v.id = d.id), '-')
                                    || ' events=' || coalesce((select string_agg(type || ':' || coalesce(outcome, '?') || ':' || deliveries, ',' order by received_at)
                                                                 from {schema}_sync.events e where e.object_id = d.id), '-')
                               from d limit 5"
                        ),
                        &[&Value::Array(items.to_vec()).to_string()],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<Vec<_>>();
                panic!(
                    "{when}: {schema}.{object} differs from the server:\n{}",
                    diff.join("\n")
                );
            }
        }
        let typed = |c: &mut postgres::Client, sql: &str| -> String {
            c.query_one(sql, &[&Value::Array(ds.users.clone()).to_string()])
                .unwrap()
                .get(0)
        };
        let mirror = typed(c, &format!(
            "select md5(string_agg(concat_ws('|', id, email, first_name, created_at, banned, public_metadata), E'\\n' order by id))
               from {schema}.users where $1::text is not null"
        ));
        let oracle = typed(
            c,
            "select md5(string_agg(concat_ws('|', x->>'id',
                      (select e->>'email_address' from jsonb_array_elements(x->'email_addresses') e
                        where e->>'id' = x->>'primary_email_address_id'),
                      x->>'first_name', to_timestamp((x->>'created_at')::numeric / 1000),
                      (x->>'banned')::boolean, x->'public_metadata'), E'\\n' order by x->>'id'))
               from jsonb_array_elements($1::text::jsonb) x",
        );
        assert_eq!(mirror, oracle, "{when}: typed columns of {schema}.users");
    }

    /// A random change to what the server has now.
    fn random_change(server: &MockServer, rng: &mut fastrand::Rng) -> Change {
        let ds = server.dataset();
        let pick = |rng: &mut fastrand::Rng, items: &[Value]| {
            items[rng.usize(..items.len())]["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        match rng.u8(..10) {
            0 => Change::CreateUser,
            1 | 2 => Change::UpdateUser(pick(rng, &ds.users)),
            3 => Change::DeleteUser(pick(rng, &ds.users)),
            4 => Change::CreateOrganization,
            5 => Change::UpdateOrganization(pick(rng, &ds.organizations)),
            6 if ds.organizations.len() > 4 => {
                Change::DeleteOrganization(pick(rng, &ds.organizations))
            }
            6 | 7 => Change::CreateMembership {
                organization: pick(rng, &ds.organizations),
                user: pick(rng, &ds.users),
            },
            8 => Change::UpdateMembership(pick(rng, &ds.memberships)),
            _ => Change::DeleteMembership(pick(rng, &ds.memberships)),
        }
    }

    /// (object, inserted, updated, deleted) of a sync.
    fn sync(c: &mut postgres::Client, schema: &str) -> Vec<String> {
        rows(c, &format!("select object, inserted, updated, deleted from clerk_fdw.sync_mirror('{schema}') order by 1")).unwrap()
    }

    #[pg_test]
    fn mirror_equals_the_server_by_sync_events_and_under_loss() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr1");
        let ds = server.dataset();
        let first = sync(&mut c, "mr1_m");
        assert!(
            first.contains(&format!("users|{}|0|0", ds.users.len())),
            "{first:?}"
        );
        assert!(
            first.contains(&format!(
                "organization_memberships|{}|0|0",
                ds.memberships.len()
            )),
            "{first:?}"
        );
        drop(ds);
        assert_equal(&mut c, &server, "mr1_m", "after the first sync");

        // Nothing changed: nothing written, not even a dead tuple.
        c.batch_execute("begin").unwrap();
        let again = sync(&mut c, "mr1_m");
        assert!(again.iter().all(|r| r.ends_with("|0|0|0")), "{again:?}");
        for t in [
            "mr1_m.users",
            "mr1_m.organization_memberships",
            "mr1_m_sync.versions",
        ] {
            let written = rows(
                &mut c,
                &format!(
                    "select count(*) from {t} where xmin::text = pg_current_xact_id()::xid::text"
                ),
            )
            .unwrap();
            assert_eq!(written, ["0"], "{t}");
        }
        c.batch_execute("commit").unwrap();

        // Events alone, none lost: shuffled, a third delivered twice.
        let mut rng = fastrand::Rng::with_seed(22);
        let mut deliveries = Vec::new();
        for _ in 0..60 {
            deliveries.extend(server.change(random_change(&server, &mut rng)).unwrap());
        }
        let mut sent: Vec<&Delivery> = deliveries
            .iter()
            .chain(deliveries.iter().filter(|_| rng.u8(..3) == 0))
            .collect();
        rng.shuffle(&mut sent);
        let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
        for d in sent {
            *outcomes
                .entry(deliver(&mut c, &server, "mr1_m", d).unwrap())
                .or_default() += 1;
        }
        assert!(
            outcomes.get("duplicate").is_some_and(|&n| n > 0),
            "{outcomes:?}"
        );
        assert!(
            outcomes.get("applied").is_some_and(|&n| n > 0),
            "{outcomes:?}"
        );
        assert_equal(&mut c, &server, "mr1_m", "after events alone");

        // Changes go on while eight sessions deliver, a fifth of the
        // deliveries lost and some twice, and a sync runs meanwhile.
        let queue: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let server = Arc::new(server);
        // Sessions opened here: SPI (which `session` uses) is for the
        // backend's own thread only.
        let mut sessions: Vec<postgres::Client> = (0..9).map(|_| session()).collect();
        let mut sync_session = sessions.pop().unwrap();
        std::thread::scope(|scope| {
            let workers: Vec<_> = sessions
                .into_iter()
                .zip(0..)
                .map(|(mut c, w)| {
                    let (queue, done, server) = (queue.clone(), done.clone(), server.clone());
                    scope.spawn(move || -> Result<(), String> {
                        let mut rng = fastrand::Rng::with_seed(w);
                        loop {
                            let next = queue.lock().unwrap().pop();
                            match next {
                                Some(d) => {
                                    for _ in 0..[0, 1, 1, 1, 2][rng.usize(..5)] {
                                        deliver(&mut c, &server, "mr1_m", &d).map_err(|e| {
                                            format!("{}: {}", d.kind, error_message(e))
                                        })?;
                                    }
                                }
                                None if done.load(std::sync::atomic::Ordering::SeqCst) => {
                                    return Ok(())
                                }
                                None => std::thread::sleep(Duration::from_millis(2)),
                            }
                        }
                    })
                })
                .collect();
            let syncing = scope.spawn(move || -> Result<(), String> {
                let c = &mut sync_session;
                for _ in 0..2 {
                    std::thread::sleep(Duration::from_millis(150));
                    c.simple_query("select * from clerk_fdw.sync_mirror('mr1_m')")
                        .map_err(|e| format!("sync: {}", error_message(e)))?;
                }
                Ok(())
            });
            for _ in 0..80 {
                let made = server.change(random_change(&server, &mut rng)).unwrap();
                let mut q = queue.lock().unwrap();
                for d in made {
                    let at = rng.usize(..=q.len());
                    q.insert(at, d);
                }
                drop(q);
                std::thread::sleep(Duration::from_millis(5));
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            let mut failed: Vec<String> = workers
                .into_iter()
                .chain([syncing])
                .filter_map(|t| t.join().unwrap().err())
                .collect();
            failed.dedup();
            assert!(failed.is_empty(), "{failed:?}");
        });
        sync(&mut c, "mr1_m");
        assert_equal(&mut c, &server, "mr1_m", "after lost events and a sync");

        let status = rows(&mut c, "select object, rows, events_applied > 0, events_duplicate > 0, last_sync is not null
                                    from clerk_fdw.mirror_status where mirror = 'mr1_m' and object in ('users', 'sessions') order by 1").unwrap();
        let users = server.dataset().users.len();
        assert_eq!(
            status,
            [format!("sessions|0|f|f|f"), format!("users|{users}|t|t|t")]
        );
        let everything = rows(
            &mut c,
            "select to_jsonb(s)::text from clerk_fdw.mirror_status s",
        )
        .unwrap()
        .join("\n");
        assert!(
            !everything.contains(&SECRET[6..]) && !everything.contains(KEY),
            "{everything}"
        );
    }

    fn signed(body: &str, id: &str, at: i64) -> String {
        let sig = crate::mirror::svix::sign(SECRET, id, &at.to_string(), body.as_bytes()).unwrap();
        json!({"svix-id": id, "svix-timestamp": at.to_string(), "svix-signature": sig}).to_string()
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn receive(
        c: &mut postgres::Client,
        body: &str,
        headers: &str,
    ) -> Result<String, postgres::Error> {
        let schema: String = c
            .query_one("select current_setting('mirror.under_test')", &[])?
            .get(0);
        c.query_one(
            "select clerk_fdw.receive_webhook($3::text, $1::text, $2::text::jsonb)->>'outcome'",
            &[&body, &headers, &schema],
        )
        .map(|r| r.get(0))
    }

    fn event(kind: &str, ts: i64, data: Value) -> String {
        json!({"type": kind, "object": "event", "timestamp": ts, "instance_id": "ins_1", "data": data}).to_string()
    }

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
        let at = now();
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
        let good = signed(&newer, "msg_2", now());
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
                    json!({"svix-id": "msg_2", "svix-timestamp": (now() + 1).to_string(), "svix-signature": parsed["svix-signature"]}),
                ),
            ),
            (
                "six minutes old",
                newer.clone(),
                signed(&newer, "msg_2", now() - 360),
            ),
            (
                "six minutes ahead",
                newer.clone(),
                signed(&newer, "msg_2", now() + 360),
            ),
            ("a wrong secret", newer.clone(), {
                let at = now().to_string();
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
            receive(&mut c, &newer, &signed(&newer, "msg_2", now())).unwrap(),
            "applied"
        );

        // A malformed body, signed right, is refused as such.
        let (code, message) = failure(
            &mut c,
            &format!(
                "select clerk_fdw.receive_webhook('mr2_m', '{{\"type\": 1}}', {}::jsonb)",
                pgrx::spi::quote_literal(signed("{\"type\": 1}", "msg_bad", now()))
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
            receive(&mut c, &email, &signed(&email, "msg_email", now())).unwrap(),
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

    #[pg_test]
    fn newest_wins_deletes_stick_and_any_order_applies() {
        let server = mock(DataConfig {
            users: 5,
            organizations: 2,
            big_org_members: 3,
            ..DataConfig::default()
        });
        let mut c = mirrored(&server, "mr4");
        c.batch_execute("set mirror.under_test = 'mr4_m'").unwrap();
        let user = |v: i64, name: &str| json!({"id": "user_o", "object": "user", "created_at": 1000, "updated_at": v, "first_name": name, "email_addresses": []});
        let mut n = 0;
        let mut send = |c: &mut postgres::Client, kind: &str, ts: i64, data: Value| {
            n += 1;
            let body = event(kind, ts, data);
            receive(c, &body, &signed(&body, &format!("msg_o{n}"), now())).unwrap()
        };
        let name = |c: &mut postgres::Client| {
            rows(
                c,
                "select coalesce(first_name, '-') from mr4_m.users where id = 'user_o'",
            )
            .unwrap()
        };
        // A membership before its user: no foreign keys.
        let m = json!({"id": "orgmem_o", "object": "organization_membership", "role": "org:member", "created_at": 1000, "updated_at": 1000,
                       "organization": {"id": "org_o"}, "public_user_data": {"user_id": "user_o"}});
        assert_eq!(
            send(&mut c, "organizationMembership.created", 1_000, m),
            "applied"
        );
        assert_eq!(
            send(&mut c, "user.updated", 3_000, user(3_000, "third")),
            "applied"
        );
        assert_eq!(
            send(&mut c, "user.created", 1_000, user(1_000, "first")),
            "stale"
        );
        assert_eq!(
            send(&mut c, "user.updated", 2_000, user(2_000, "second")),
            "stale"
        );
        assert_eq!(name(&mut c), ["third"]);
        assert_eq!(
            send(&mut c, "user.updated", 3_000, user(3_000, "third")),
            "duplicate"
        );
        // Deleted, then a late update: the delete sticks.
        assert_eq!(
            send(
                &mut c,
                "user.deleted",
                4_000,
                json!({"id": "user_o", "object": "user", "deleted": true})
            ),
            "applied"
        );
        assert_eq!(
            send(&mut c, "user.updated", 3_500, user(3_500, "late")),
            "stale"
        );
        assert_eq!(
            send(
                &mut c,
                "user.deleted",
                4_000,
                json!({"id": "user_o", "object": "user", "deleted": true})
            ),
            "duplicate"
        );
        assert!(name(&mut c).is_empty());
        // A delete before the create it follows.
        assert_eq!(
            send(
                &mut c,
                "organization.deleted",
                9_000,
                json!({"id": "org_o", "object": "organization", "deleted": true})
            ),
            "applied"
        );
        assert_eq!(
            send(
                &mut c,
                "organization.created",
                8_000,
                json!({"id": "org_o", "object": "organization", "name": "O", "created_at": 8_000, "updated_at": 8_000})
            ),
            "stale"
        );
        assert_eq!(
            rows(
                &mut c,
                "select count(*) from mr4_m.organizations where id = 'org_o'"
            )
            .unwrap(),
            ["0"]
        );
        // A sync neither brings back the tombstoned nor removes the
        // membership Clerk does not list: it is not Clerk's (the test
        // server has none), so the sync removes it.
        sync(&mut c, "mr4_m");
        assert!(name(&mut c).is_empty());
        assert_eq!(
            rows(
                &mut c,
                "select count(*) from mr4_m.organization_memberships where id = 'orgmem_o'"
            )
            .unwrap(),
            ["0"]
        );
        // Sessions are kept by events alone.
        let s = json!({"id": "sess_o", "object": "session", "user_id": "user_o", "client_id": "client_o", "status": "active", "created_at": 5, "updated_at": 5});
        assert_eq!(send(&mut c, "session.created", 5, s.clone()), "applied");
        let mut ended = s;
        ended["status"] = json!("ended");
        ended["updated_at"] = json!(6);
        assert_eq!(send(&mut c, "session.ended", 6, ended), "applied");
        sync(&mut c, "mr4_m");
        assert_eq!(
            rows(&mut c, "select status from mr4_m.sessions").unwrap(),
            ["ended"]
        );
    }

    #[pg_test]
    fn reused_plans_cancels_and_terminations_keep_it_consistent() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr3");
        // Prepared, generic plans, many times.
        c.batch_execute("set plan_cache_mode = force_generic_plan")
            .unwrap();
        let st = c
            .prepare(
                "select clerk_fdw.receive_webhook($1::text, $2::text, $3::text::jsonb)->>'outcome'",
            )
            .unwrap();
        for _ in 0..8 {
            let d = server.change(Change::CreateUser).unwrap().remove(0);
            let headers: serde_json::Map<String, Value> = server
                .webhook_headers(&d)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let outcome: String = c
                .query_one(
                    &st,
                    &[&"mr3_m", &d.body, &Value::Object(headers).to_string()],
                )
                .unwrap()
                .get(0);
            assert_eq!(outcome, "applied");
        }
        c.batch_execute(
            "create function mr3_sync() returns bigint language plpgsql as $$
             declare n bigint; begin
               select sum(inserted + updated + deleted) into n from clerk_fdw.sync_mirror('mr3_m', array['users', 'organizations']);
               return n;
             end $$;",
        )
        .unwrap();
        let counts: Vec<String> = (0..3)
            .map(|_| rows(&mut c, "select mr3_sync()").unwrap().remove(0))
            .collect();
        assert_ne!(counts[0], "0");
        assert_eq!(&counts[1..], ["0", "0"]);
        // An error caught by a savepoint, then the session goes on.
        let (code, _) = failure(
            &mut c,
            "select * from clerk_fdw.sync_mirror('mr3_m', array['jwt_templates'])",
        );
        assert_eq!(code, "22023");
        let before = mirror_digest(&mut c, "mr3_m.users");
        for _ in 0..5 {
            server.change(Change::CreateUser).unwrap();
        }
        // Cancelled halfway: nothing of it stays.
        server.set_behaviour(Behaviour {
            latency: Duration::from_millis(400),
            ..Behaviour::default()
        });
        let (code, _) = failure(&mut c, "set local statement_timeout = '250ms'; select * from clerk_fdw.sync_mirror('mr3_m', array['users'])");
        assert_eq!(code, "57014");
        assert_eq!(mirror_digest(&mut c, "mr3_m.users"), before);
        // Terminated halfway (SIGTERM; SIGKILL would restart the cluster).
        let pid: i32 = {
            let mut victim = session();
            let pid: i32 = victim
                .query_one("select pg_backend_pid()", &[])
                .unwrap()
                .get(0);
            std::thread::spawn(move || {
                let _ = victim
                    .simple_query("select * from clerk_fdw.sync_mirror('mr3_m', array['users'])");
            });
            pid
        };
        std::thread::sleep(Duration::from_millis(300));
        rows(&mut c, &format!("select pg_terminate_backend({pid})")).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(mirror_digest(&mut c, "mr3_m.users"), before);
        server.set_behaviour(Behaviour::default());
        sync(&mut c, "mr3_m");
        assert_equal(
            &mut c,
            &server,
            "mr3_m",
            "after a cancelled and a terminated sync",
        );
        // A cursor over the status view.
        c.batch_execute("begin; declare st cursor for select object from clerk_fdw.mirror_status where mirror = 'mr3_m' order by 1").unwrap();
        assert_eq!(
            rows(&mut c, "fetch 2 from st").unwrap(),
            ["billing_payment_attempts", "billing_subscription_items"]
        );
        c.batch_execute("commit").unwrap();
    }

    #[pg_test]
    fn seed_dashboard_on_the_mirror_answers_as_live_with_no_request() {
        let server = mock(config());
        let mut c = mirrored(&server, "mr5");
        sync(&mut c, "mr5_m");
        c.batch_execute("create schema mr5_live; import foreign schema clerk limit to (users, organizations, organization_memberships) from server mr5 into mr5_live").unwrap();
        let queries: Vec<&str> = include_str!("../../examples/mirror_dashboard.sql")
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
