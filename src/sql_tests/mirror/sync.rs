//! The mirror against the test server: sync, events, loss, order, and reused plans.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::mirror::*;

    use clerk_mock::webhooks::{Change, Delivery};
    use clerk_mock::{Behaviour, DataConfig};

    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

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
            [
                "sessions|0|f|f|f".to_string(),
                format!("users|{users}|t|t|t")
            ]
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
            receive(c, &body, &signed(&body, &format!("msg_o{n}"), unix_now())).unwrap()
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
}
