//! The mirror: `create_mirror`, `sync_mirror`, `receive_webhook` and
//! `mirror_status`. The oracle is a plain copy of the test server's data
//! (its JSON, compared as jsonb, and typed values computed from it in SQL
//! here), never clerk_fdw's own conversion. Events come from the test
//! server's changes, signed as Svix signs them, delivered shuffled,
//! duplicated and partly lost, from eight sessions while syncs run.

mod sync;
mod webhooks;

use crate::sql_tests::support::*;
use clerk_mock::webhooks::{Change, Delivery};
use clerk_mock::{DataConfig, MockServer};
use pgrx::prelude::*;
use serde_json::{json, Value};

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
    let made = rows(
        &mut c,
        &format!(
            "select object, kept_by from clerk_fdw.create_mirror('{name}', '{name}_m') order by 1"
        ),
    )
    .unwrap();
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
        6 if ds.organizations.len() > 4 => Change::DeleteOrganization(pick(rng, &ds.organizations)),
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

fn signed(body: &str, id: &str, at: i64) -> String {
    let sig = crate::mirror::svix::sign(SECRET, id, &at.to_string(), body.as_bytes()).unwrap();
    json!({"svix-id": id, "svix-timestamp": at.to_string(), "svix-signature": sig}).to_string()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn receive(c: &mut postgres::Client, body: &str, headers: &str) -> Result<String, postgres::Error> {
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
    json!({"type": kind, "object": "event", "timestamp": ts, "instance_id": "ins_1", "data": data})
        .to_string()
}
