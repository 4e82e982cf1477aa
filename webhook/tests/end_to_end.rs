//! The test server → HTTP → clerk-fdw-webhook → receive_webhook → the
//! mirror and the tenant schemas of examples/per_user_schemas.sql, with
//! deliveries dropped, duplicated and reordered and the database stopped
//! for a while. The oracle is the test server's own data.

mod common;

use clerk_mock::sender::Faults;
use clerk_mock::webhooks::Change;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// (id, version) of the test server's objects: users and organizations by
/// `updated_at`, memberships by role.
fn oracle(mock: &clerk_mock::MockServer) -> [BTreeSet<(String, String)>; 3] {
    let data = mock.dataset();
    let by = |items: &[Value], field: &str| -> BTreeSet<(String, String)> {
        items
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap_or_default().to_string(),
                    v[field].to_string().trim_matches('"').to_string(),
                )
            })
            .collect()
    };
    [
        by(&data.users, "updated_at"),
        by(&data.organizations, "updated_at"),
        by(&data.memberships, "role"),
    ]
}

fn mirrored(db: &mut postgres::Client) -> [BTreeSet<(String, String)>; 3] {
    let rows = |db: &mut postgres::Client, sql: &str| -> BTreeSet<(String, String)> {
        db.query(sql, &[])
            .expect("the mirror reads")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let ms = "(extract(epoch from updated_at) * 1000)::bigint::text";
    [
        rows(db, &format!("select id, {ms} from clerk_local.users")),
        rows(
            db,
            &format!("select id, {ms} from clerk_local.organizations"),
        ),
        rows(
            db,
            "select id, role from clerk_local.organization_memberships",
        ),
    ]
}

/// Users in the mirror, tenants registered, tenant schemas present.
fn tenants(db: &mut postgres::Client) -> (i64, i64, i64, i64) {
    let row = db
        .query_one(
            "select (select count(*) from clerk_local.users),
                    (select count(*) from tenants.tenants t join clerk_local.users u on u.id = t.user_id),
                    (select count(*) from tenants.tenants),
                    (select count(*) from pg_namespace where nspname like 'tenant\\_%' and nspname <> 'tenant_template')",
            &[],
        )
        .expect("tenants read");
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// One of the changes Clerk's users make, chosen by `n`.
fn some_change(mock: &clerk_mock::MockServer, n: usize) -> Option<Change> {
    let data = mock.dataset();
    let pick = |items: &[Value]| -> Option<String> {
        (!items.is_empty()).then(|| {
            items[(n * 7919) % items.len()]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
    };
    Some(match n % 9 {
        0 | 1 => Change::CreateUser,
        2 | 3 => Change::UpdateUser(pick(&data.users)?),
        4 => Change::DeleteUser(pick(&data.users)?),
        5 => Change::UpdateOrganization(pick(&data.organizations)?),
        6 => Change::CreateMembership {
            organization: pick(&data.organizations)?,
            user: pick(&data.users)?,
        },
        7 => Change::UpdateMembership(pick(&data.memberships)?),
        _ => Change::DeleteMembership(pick(&data.memberships)?),
    })
}

#[test]
fn webhooks_reach_the_mirror_and_make_tenants_through_faults_and_a_stopped_database() {
    let cluster = Cluster::start("end-to-end", 5761);
    let mock = mock(300);
    let mut db = cluster.client();
    set_up_mirror(&mut db, &mock);
    db.batch_execute(include_str!("../../examples/per_user_schemas.sql"))
        .expect("examples/per_user_schemas.sql runs");
    // The users mirrored before the trigger existed, in transactions of 100.
    db.batch_execute("call tenants.catch_up()")
        .expect("catch_up runs");
    assert_eq!(
        tenants(&mut db).3,
        300,
        "a schema for each user mirrored before"
    );
    let receiver = ReceiverProcess::start(&cluster, &[]);
    // Svix's schedule a thousand times faster: retries after 5 ms, 0.3 s,
    // 1.8 s, 7.2 s, 18 s, 36 s, 36 s.
    mock.send_webhooks_to(&receiver.url(), 0.001, 4);
    mock.set_webhook_faults(Faults {
        drop: 0.05,
        duplicate: 0.2,
        reorder: Duration::from_millis(400),
    });

    let mut made = 0;
    for n in 0..240 {
        if n == 120 {
            // The database goes away while changes keep coming.
            drop(db);
            cluster.down();
            for m in 0..30 {
                if let Some(change) = some_change(&mock, 1000 + m) {
                    made += mock.change(change).map_or(0, |d| d.len());
                }
            }
            std::thread::sleep(Duration::from_secs(3));
            cluster.up();
            db = cluster.client();
        }
        if let Some(change) = some_change(&mock, n) {
            made += mock.change(change).map_or(0, |d| d.len());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for(
        "every delivery answered or given up",
        Duration::from_secs(120),
        || mock.webhook_stats().is_some_and(|s| s.pending == 0),
    );
    let stats = mock.webhook_stats().unwrap();
    eprintln!("end-to-end: {made} events, {stats:?}");
    assert!(
        stats.dropped > 0 && stats.duplicated > 0,
        "faults were injected: {stats:?}"
    );
    assert!(
        stats.failed_attempts > 0,
        "the stopped database was retried: {stats:?}"
    );
    assert_eq!(
        stats.exhausted, 0,
        "no delivery ran out of attempts: {stats:?}"
    );

    // Dropped events are what the sync is for.
    db.batch_execute("select count(*) from clerk_fdw.sync_mirror('clerk_local')")
        .expect("sync_mirror runs");
    let [users, orgs, members] = oracle(&mock);
    let [m_users, m_orgs, m_members] = mirrored(&mut db);
    assert_eq!(
        m_users, users,
        "users: the mirror differs from the test server"
    );
    assert_eq!(
        m_orgs, orgs,
        "organizations: the mirror differs from the test server"
    );
    assert_eq!(
        m_members, members,
        "memberships: the mirror differs from the test server"
    );

    let (users, registered_live, registered, schemas) = tenants(&mut db);
    assert_eq!(registered_live, users, "every user has a tenant");
    assert_eq!(registered, users, "no deleted user keeps a tenant");
    assert_eq!(schemas, users, "one schema per tenant");

    // The report across every tenant, joined with the users.
    // A user in two organizations or more.
    let id: String = db
        .query_one(
            "select user_id from clerk_local.organization_memberships
              group by user_id having count(*) >= 2 order by user_id limit 1",
            &[],
        )
        .unwrap()
        .get(0);
    let schema: String = db
        .query_one("select quote_ident(tenants.schema_name($1))", &[&id])
        .unwrap()
        .get(0);
    db.execute(
        &format!("insert into {schema}.todos (title, done) values ('a', true), ('b', false)"),
        &[],
    )
    .unwrap();
    let row = db
        .query_one(
            "select todos, done, organizations from tenants.todos_per_user where user_id = $1",
            &[&id],
        )
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (2, 1));
    // The user's organizations, as the test server has them.
    let data = mock.dataset();
    let org_names: std::collections::BTreeMap<&str, &str> = data
        .organizations
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o["name"].as_str().unwrap()))
        .collect();
    let mut expected: Vec<&str> = data
        .memberships
        .iter()
        .filter(|m| m["public_user_data"]["user_id"] == id.as_str())
        .filter_map(|m| org_names.get(m["organization"]["id"].as_str()?).copied())
        .collect();
    expected.sort_unstable();
    let organizations: Option<String> = row.get(2);
    let mut reported: Vec<String> = organizations
        .unwrap_or_default()
        .split(", ")
        .map(str::to_string)
        .collect();
    reported.sort_unstable();
    assert!(expected.len() >= 2);
    assert_eq!(reported, expected);
    drop(data);

    // A user whose webhook has not arrived yet: the schema on demand, from
    // two sessions at once.
    let early = "user_not_yet_delivered";
    let conninfo = cluster.conninfo();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let conninfo = conninfo.clone();
            std::thread::spawn(move || {
                let mut db = postgres::Client::connect(&conninfo, postgres::NoTls).unwrap();
                db.query_one("select tenants.ensure($1)::text", &[&early])
                    .unwrap()
                    .get::<_, String>(0)
            })
        })
        .collect();
    let names: BTreeSet<String> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(names.len(), 1);
    let count: i64 = db
        .query_one(
            "select count(*) from tenants.tenants where user_id = $1",
            &[&early],
        )
        .unwrap()
        .get(0);
    assert_eq!(count, 1);

    // A sync that brings 150 users whose webhooks were all lost, and
    // removes 120: the trigger does 100 schemas in the sync's transaction,
    // catch_up the rest in its own.
    mock.set_webhook_faults(Faults {
        drop: 1.0,
        ..Faults::default()
    });
    for _ in 0..150 {
        mock.change(Change::CreateUser).unwrap();
    }
    let gone: Vec<String> = mock.dataset().users[..120]
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    for id in gone {
        mock.change(Change::DeleteUser(id)).unwrap();
    }
    db.batch_execute("select count(*) from clerk_fdw.sync_mirror('clerk_local')")
        .expect("sync_mirror runs");
    let (users, registered_live, registered, _) = tenants(&mut db);
    assert!(
        registered_live < users && registered > users,
        "the trigger stopped at 100 schemas a transaction"
    );
    db.batch_execute("call tenants.catch_up()")
        .expect("catch_up runs");
    let (users, registered_live, registered, schemas) = tenants(&mut db);
    assert_eq!(users as usize, mock.dataset().users.len());
    // The on-demand tenant of a user not mirrored yet stays.
    assert_eq!(
        (registered_live, registered - 1, schemas - 1),
        (users, users, users),
        "after catch_up"
    );

    if cluster.cron {
        reconcile_by_pg_cron(&mut db, &mock);
    } else {
        eprintln!("end-to-end: pg_cron is not installed for this PostgreSQL; its part is skipped");
    }
    drop(receiver);
    cluster.assert_no_crash();
}

/// pg_cron runs `sync_mirror` every minute: changes whose webhooks are all
/// lost still reach the mirror.
fn reconcile_by_pg_cron(db: &mut postgres::Client, mock: &clerk_mock::MockServer) {
    db.batch_execute(
        "create extension pg_cron;
         select cron.schedule('clerk-fdw-sync', '* * * * *', $$select count(*) from clerk_fdw.sync_mirror('clerk_local')$$);",
    )
    .expect("pg_cron schedules the sync");
    mock.set_webhook_faults(Faults {
        drop: 1.0,
        ..Faults::default()
    });
    for _ in 0..3 {
        mock.change(Change::CreateUser).unwrap();
    }
    let [users, _, _] = oracle(mock);
    wait_for(
        "pg_cron's sync to bring the lost users",
        Duration::from_secs(130),
        || mirrored(db)[0] == users,
    );
    let succeeded: i64 = db
        .query_one(
            "select count(*) from cron.job_run_details where status = 'succeeded'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(succeeded >= 1);
    let (users, registered_live, registered, _) = tenants(db);
    assert_eq!(
        (registered_live, registered - 1),
        (users, users),
        "the synced users have tenants"
    );
}
