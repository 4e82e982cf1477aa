//! The statements of the corpus: hand-written ones, and what the
//! generator draws values from.

use clerk_mock::{data::mix, MockServer};
use serde_json::Value;

/// One statement: SQL with `$n` placeholders, their types and values.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) category: &'static str,
    pub(super) sql: String,
    pub(super) params: Vec<(&'static str, String)>,
}

impl Statement {
    pub(super) fn new(category: &'static str, sql: impl Into<String>) -> Statement {
        Statement {
            category,
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// The SQL with each `$n` replaced by its value.
    pub(super) fn literal(&self) -> String {
        let mut sql = self.sql.clone();
        for (i, (ty, value)) in self.params.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", i + 1), &format!("({value})::{ty}"));
        }
        sql
    }

    pub(super) fn types(&self) -> String {
        let types: Vec<&str> = self.params.iter().map(|(t, _)| *t).collect();
        types.join(", ")
    }

    /// The values, each cast to its type (an untyped literal could pick
    /// another overload of a function).
    pub(super) fn values(&self) -> String {
        let values: Vec<String> = self
            .params
            .iter()
            .map(|(t, v)| format!("({v})::{t}"))
            .collect();
        values.join(", ")
    }
}

/// splitmix64 steps (a Cell: draws nest inside one expression).
pub(super) struct Rng(pub(super) std::cell::Cell<u64>);

impl Rng {
    pub(super) fn below(&self, n: usize) -> usize {
        self.0.set(mix(self.0.get()));
        (self.0.get() % n.max(1) as u64) as usize
    }

    pub(super) fn chance(&self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(super) fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub(super) fn quote<S: AsRef<str> + ?Sized>(s: &S) -> String {
    format!("'{}'", s.as_ref().replace('\'', "''"))
}

/// A timestamptz literal `delta_us` microseconds from Unix `ms`.
pub(super) fn ts(ms: i64, delta_us: i64) -> String {
    let us = ms * 1000 + delta_us;
    let t = chrono::DateTime::from_timestamp_micros(us).expect("in range");
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f+00"))
}

/// What the generator draws values from.
pub(super) struct Facts {
    pub(super) user_ids: Vec<String>,
    pub(super) user_times: Vec<i64>,
    pub(super) emails: Vec<String>,
    pub(super) usernames: Vec<String>,
    pub(super) first_names: Vec<String>,
    pub(super) org_ids: Vec<String>,
    pub(super) org_slugs: Vec<String>,
    pub(super) org_times: Vec<i64>,
    pub(super) membership_times: Vec<i64>,
}

impl Facts {
    pub(super) fn of(server: &MockServer) -> Facts {
        let ds = server.dataset();
        let strings = |items: &[Value], key: &str| -> Vec<String> {
            items
                .iter()
                .filter_map(|v| v[key].as_str().map(String::from))
                .collect()
        };
        let times = |items: &[Value]| -> Vec<i64> {
            items
                .iter()
                .filter_map(|v| v["created_at"].as_i64())
                .collect()
        };
        let mut emails: Vec<String> = ds
            .users
            .iter()
            .flat_map(|u| u["email_addresses"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["email_address"].as_str().map(String::from))
            .collect();
        emails.push("nobody@example.com".into());
        let mut first_names = strings(&ds.users, "first_name");
        first_names.dedup();
        Facts {
            user_ids: strings(&ds.users, "id"),
            user_times: times(&ds.users),
            emails,
            usernames: strings(&ds.users, "username"),
            first_names,
            org_ids: strings(&ds.organizations, "id"),
            org_slugs: strings(&ds.organizations, "slug"),
            org_times: times(&ds.organizations),
            membership_times: times(&ds.memberships),
        }
    }

    /// Ids for an IN list: some existing, some repeated, some unknown.
    pub(super) fn id_list(&self, rng: &Rng, ids: &[String], unknown: &str, n: usize) -> String {
        let mut list: Vec<String> = (0..n)
            .map(|k| match rng.below(10) {
                0 => format!("{unknown}{k}"),
                1 if k > 0 => "repeat".into(),
                _ => rng.pick(ids).clone(),
            })
            .collect();
        for k in 1..list.len() {
            if list[k] == "repeat" {
                list[k] = list[k - 1].clone();
            }
        }
        list.iter().map(quote).collect::<Vec<_>>().join(", ")
    }
}

pub(super) const OPS: &[&str] = &["<", "<=", ">", ">=", "="];
/// Distances from a real timestamp: its millisecond edges and beyond.
pub(super) const DELTAS_US: &[i64] = &[-1000, -999, -1, 0, 1, 999, 1000, 3_600_000_000];

/// The hand-written corpus.
pub(super) fn hand_written(f: &Facts) -> Vec<Statement> {
    let (u0, u1) = (&f.user_ids[0], &f.user_ids[1]);
    let org = &f.org_ids[0];
    let t = f.user_times[f.user_times.len() / 2];
    let ids150 = f
        .user_ids
        .iter()
        .take(150)
        .map(quote)
        .collect::<Vec<_>>()
        .join(", ");
    let mut list = vec![
        Statement::new("filter", format!("select id, email from users where id = '{u0}'")),
        Statement::new("filter", format!("select count(*) from users where id = '{u0}' and id = '{u1}'")),
        Statement::new("filter", format!("select id from users where id in ({ids150}, {ids150})")),
        Statement::new("filter", format!("select id from users where created_at > {}", ts(t, 0))),
        Statement::new("filter", format!("select id from users where created_at >= {}", ts(t, 1))),
        Statement::new("filter", format!("select id from users where created_at <= {}", ts(t, -1))),
        Statement::new("filter", format!("select id from users where created_at = {}", ts(t, 0))),
        Statement::new("filter", format!("select user_id from seed_users where created_at between {} and {}", t - 7_200_000, t)),
        Statement::new("filter", "select id from users where created_at > now() - interval '180 days'"),
        // What BI tools write (dates, timestamps, time grains, case-folded and LIKE matches).
        Statement::new("filter", "select id from users where created_at >= (select max(created_at) from users)::date - 2"),
        Statement::new("filter", "select id from users where created_at < (select min(created_at) from users)::timestamp + interval '2 days'"),
        Statement::new("filter", "select id from users where created_at::date = (select max(created_at)::date - 3 from users)"),
        Statement::new("filter", "select id from users where date_trunc('day', created_at) >= (select max(created_at) - interval '5 days' from users)"),
        Statement::new("filter", "select id from users where date_trunc('hour', created_at) < (select min(created_at) + interval '30 hours' from users)"),
        Statement::new("filter", "select id from users where lower(email) in ('user1@example.com', 'primary.2@example.org')"),
        Statement::new("filter", "select id from users where email ilike '%7@EXAMPLE.com'"),
        Statement::new("filter", "select id from users where username like 'user\\_1%'"),
        Statement::new("filter", "select id from users where created_at > (select max(created_at) - interval '3 days' from users)"),
        Statement::new("filter", "select id, first_name from users where first_name = 'Ada'"),
        Statement::new("filter", "select id from users where banned"),
        Statement::new("filter", "select id from users where email in ('primary.2@example.org', 'secondary.2@example.net', 'user1@example.com')"),
        Statement::new("filter", format!("select id, slug from organizations where slug in ('org-3', '{}')", f.org_ids[3])),
        Statement::new("filter", "select id from organizations where slug = 'no-such-org'"),
        Statement::new("filter", format!("select user_id, role from organization_memberships where organization_id = '{org}' and role = 'org:admin'")),
        Statement::new("filter", "select user_id from organization_memberships where organization_id = 'org_missing'"),
        Statement::new("aggregate", "select count(*), count(1), count(id), count(email) from users"),
        Statement::new("aggregate", "select count(*), md5(string_agg(id, E'\\n' order by id)) from users"),
        Statement::new("aggregate", "select md5(string_agg(id, ',' order by id)) as h, count(*) from users"),
        Statement::new("aggregate", "select count(*) from users where now() < '2000-01-01'"),
        Statement::new("aggregate", "select count(*) from users where (select false)"),
        Statement::new("aggregate", "select count(*) filter (where banned), count(distinct first_name) from users"),
        Statement::new("aggregate", format!("select count(*) from organization_memberships where organization_id = '{org}'")),
        Statement::new("aggregate", "select count(user_id) from seed_users"),
        Statement::new("aggregate", "select count(*) from users having count(*) > 5"),
        Statement::new("group by", "select role, count(*) from organization_memberships group by role"),
        Statement::new("group by", "select date_trunc('month', created_at) m, count(*) from users group by 1"),
        Statement::new("group by", "select date_trunc('week', to_timestamp(created_at / 1000)) w, count(*) from seed_organizations group by 1"),
        Statement::new("order/limit", "select created_at from users order by created_at desc limit 10"),
        Statement::new("order/limit", "select created_at from users order by created_at limit 5 offset 3"),
        Statement::new("order/limit", "select id, created_at from users order by created_at desc, id limit 7"),
        Statement::new("order/limit", "select created_at from seed_users order by created_at desc limit 501"),
        Statement::new("order/limit", "select created_at from organizations order by created_at desc limit 4"),
        Statement::new("order/limit", format!("select created_at from organization_memberships where organization_id = '{org}' order by created_at limit 12")),
        Statement::new("distinct/window", "select id, row_number() over (order by created_at, id) from users where created_at > now() - interval '200 days'"),
        Statement::new("distinct/window", "select distinct role from organization_memberships"),
        Statement::new("subquery/CTE", "with r as (select id, created_at from users where created_at > now() - interval '190 days') select count(*), min(created_at) from r"),
        Statement::new("subquery/CTE", format!("select count(*) from users where id in (select user_id from organization_memberships where organization_id = '{org}')")),
        Statement::new("subquery/CTE", format!("select u.email from users u where u.id = any(array(select user_id from organization_memberships where organization_id = '{org}'))")),
        Statement::new("subquery/CTE", "select o.id, x.c from organizations o, lateral (select count(*) c from organization_memberships m where m.organization_id = o.id) x"),
        Statement::new("set operation", "select id from users where banned union select user_id from organization_memberships where role = 'org:admin'"),
        Statement::new("join", format!("select u.email, m.role from organization_memberships m join users u on u.id = m.user_id where m.organization_id = '{org}'")),
        Statement::new("join", "select u.email, m.role from organization_memberships m join users u on u.id = m.user_id where m.organization_id = (select id from organizations where slug = 'org-0')"),
        Statement::new("join", "select p.user_id, u.email from public.diff_picks p join users u on u.id = p.user_id"),
        Statement::new("join", "select o.name, count(m.*) from organizations o left join organization_memberships m on m.organization_id = o.id group by o.name"),
        Statement::new("join", "select s.user_id, m.organization_id from seed_users s join seed_organization_memberships m on m.user_id = s.user_id where m.role = 'org:admin'"),
    ];
    list.push(Statement {
        category: "filter",
        sql: "select id from users where created_at > $1 and id <> $2".into(),
        params: vec![("timestamptz", ts(t, 0)), ("text", quote(u0))],
    });
    list.push(Statement {
        category: "aggregate",
        sql: "select count(*) from users where $1 = 'yes'".into(),
        params: vec![("text", "'no'".into())],
    });
    list.push(Statement {
        category: "join",
        sql: "select m.role, u.email from organization_memberships m join users u on u.id = m.user_id where m.organization_id = $1".into(),
        params: vec![("text", quote(org))],
    });
    list
}
