//! The differential corpus: every statement runs against the foreign
//! tables and against a plain local copy of the test server's data (the
//! oracle, loaded from the server's JSON by SQL of its own, never through
//! clerk_fdw), and the answers must be the same multiset of rows.
//!
//! Each statement also runs as a prepared statement executed 8 times with
//! `plan_cache_mode` auto and `force_generic_plan`, inside a SQL and a
//! plpgsql function called twice each, through a scroll cursor read twice
//! and a WITH HOLD cursor, and every few statements again after an ERROR
//! rolled back to a savepoint. A backend crash fails the test (and stops
//! the test cluster, see `pg_test::postgresql_conf_options`).
//!
//! The corpus: the hand-written statements below, then statements
//! generated from a seed. `RUST_CLERK_FDW_DIFF_SEED`,
//! `RUST_CLERK_FDW_DIFF_STATEMENTS` and `RUST_CLERK_FDW_DIFF_WORKERS` (pairs
//! of sessions; the prefix lets them through to the test cluster) choose
//! another seed, size or parallelism; `scripts/campaign.sh` runs
//! long campaigns. A summary per category goes to
//! `/tmp/clerk_fdw-differential-pg<major>-seed<seed>.txt`.

#[pgrx::pg_schema]
mod tests {
    use crate::sql_tests::support::*;
    use clerk_mock::{data::mix, DataConfig, MockServer};
    use pgrx::prelude::*;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::fmt::Write;

    const FOREIGN: &str = "diff_f";
    const ORACLE: &str = "diff_l";

    /// The typed tables of IMPORT FOREIGN SCHEMA (the columns the corpus
    /// reads) and the seed's bigint-milliseconds DDL, as local tables.
    const ORACLE_DDL: &str = "
        create table users (id text, external_id text, username text, first_name text,
          last_name text, email text, banned boolean, locked boolean, has_image boolean,
          created_at timestamptz, updated_at timestamptz, last_sign_in_at timestamptz,
          last_active_at timestamptz);
        create table organizations (id text, name text, slug text, created_by text,
          max_allowed_memberships bigint, created_at timestamptz, updated_at timestamptz);
        create table organization_memberships (id text, user_id text, organization_id text,
          role text, organization_slug text, identifier text, created_at timestamptz,
          updated_at timestamptz);
        create table seed_users (user_id text, first_name text, last_name text, email text,
          gender text, created_at bigint, updated_at bigint, last_sign_in_at bigint,
          phone_numbers bigint, username text);
        create table seed_organizations (organization_id text, name text, slug text,
          created_at bigint, updated_at bigint, created_by text);
        create table seed_organization_memberships (user_id text, organization_id text, role text);";

    /// The seed's DDL (bigint milliseconds) on server `s`.
    const SEED_DDL: &str = "
        create foreign table seed_users (user_id text, first_name text, last_name text, email text,
          gender text, created_at bigint, updated_at bigint, last_sign_in_at bigint,
          phone_numbers bigint, username text) server diff_s options (object 'users');
        create foreign table seed_organizations (organization_id text, name text, slug text,
          created_at bigint, updated_at bigint, created_by text)
          server diff_s options (object 'organizations');
        create foreign table seed_organization_memberships (user_id text, organization_id text, role text)
          server diff_s options (object 'organization_memberships');";

    /// Fills the oracle from the server's JSON (`$1` users, `$2`
    /// organizations, `$3` memberships), with SQL of its own.
    const ORACLE_LOAD: &str = "
        create function pg_temp.ts(v jsonb) returns timestamptz language sql immutable as
          $$ select timestamptz 'epoch' + (v #>> '{}')::bigint * interval '1 millisecond' $$;
        create function pg_temp.primary_email(u jsonb) returns text language sql immutable as
          $$ select e->>'email_address' from jsonb_array_elements(u->'email_addresses') e
             where e->>'id' = u->>'primary_email_address_id' $$;
        insert into users select u->>'id', u->>'external_id', u->>'username', u->>'first_name',
          u->>'last_name', pg_temp.primary_email(u), (u->>'banned')::boolean, (u->>'locked')::boolean,
          (u->>'has_image')::boolean, pg_temp.ts(u->'created_at'), pg_temp.ts(u->'updated_at'),
          pg_temp.ts(u->'last_sign_in_at'), pg_temp.ts(u->'last_active_at')
          from jsonb_array_elements($1::text::jsonb) u;
        insert into organizations select o->>'id', o->>'name', o->>'slug', o->>'created_by',
          (o->>'max_allowed_memberships')::bigint, pg_temp.ts(o->'created_at'), pg_temp.ts(o->'updated_at')
          from jsonb_array_elements($2::text::jsonb) o;
        insert into organization_memberships select m->>'id', m#>>'{public_user_data,user_id}',
          m#>>'{organization,id}', m->>'role', m#>>'{organization,slug}',
          m#>>'{public_user_data,identifier}', pg_temp.ts(m->'created_at'), pg_temp.ts(m->'updated_at')
          from jsonb_array_elements($3::text::jsonb) m;
        insert into seed_users select u->>'id', u->>'first_name', u->>'last_name', pg_temp.primary_email(u),
          null, (u->>'created_at')::bigint, (u->>'updated_at')::bigint, (u->>'last_sign_in_at')::bigint,
          jsonb_array_length(u->'phone_numbers'), u->>'username'
          from jsonb_array_elements($1::text::jsonb) u;
        insert into seed_organizations select o->>'id', o->>'name', o->>'slug', (o->>'created_at')::bigint,
          (o->>'updated_at')::bigint, o->>'created_by' from jsonb_array_elements($2::text::jsonb) o;
        insert into seed_organization_memberships select m#>>'{public_user_data,user_id}',
          m#>>'{organization,id}', m->>'role' from jsonb_array_elements($3::text::jsonb) m;";

    /// One statement: SQL with `$n` placeholders, their types and values.
    #[derive(Debug, Clone)]
    struct Statement {
        category: &'static str,
        sql: String,
        params: Vec<(&'static str, String)>,
    }

    impl Statement {
        fn new(category: &'static str, sql: impl Into<String>) -> Statement {
            Statement {
                category,
                sql: sql.into(),
                params: Vec::new(),
            }
        }

        /// The SQL with each `$n` replaced by its value.
        fn literal(&self) -> String {
            let mut sql = self.sql.clone();
            for (i, (ty, value)) in self.params.iter().enumerate().rev() {
                sql = sql.replace(&format!("${}", i + 1), &format!("({value})::{ty}"));
            }
            sql
        }

        fn types(&self) -> String {
            let types: Vec<&str> = self.params.iter().map(|(t, _)| *t).collect();
            types.join(", ")
        }

        /// The values, each cast to its type (an untyped literal could pick
        /// another overload of a function).
        fn values(&self) -> String {
            let values: Vec<String> = self
                .params
                .iter()
                .map(|(t, v)| format!("({v})::{t}"))
                .collect();
            values.join(", ")
        }
    }

    /// splitmix64 steps (a Cell: draws nest inside one expression).
    struct Rng(std::cell::Cell<u64>);

    impl Rng {
        fn below(&self, n: usize) -> usize {
            self.0.set(mix(self.0.get()));
            (self.0.get() % n.max(1) as u64) as usize
        }

        fn chance(&self, percent: usize) -> bool {
            self.below(100) < percent
        }

        fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    fn quote<S: AsRef<str> + ?Sized>(s: &S) -> String {
        format!("'{}'", s.as_ref().replace('\'', "''"))
    }

    /// A timestamptz literal `delta_us` microseconds from Unix `ms`.
    fn ts(ms: i64, delta_us: i64) -> String {
        let us = ms * 1000 + delta_us;
        let t = chrono::DateTime::from_timestamp_micros(us).expect("in range");
        format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.6f+00"))
    }

    /// What the generator draws values from.
    struct Facts {
        user_ids: Vec<String>,
        user_times: Vec<i64>,
        emails: Vec<String>,
        usernames: Vec<String>,
        first_names: Vec<String>,
        org_ids: Vec<String>,
        org_slugs: Vec<String>,
        org_times: Vec<i64>,
        membership_times: Vec<i64>,
    }

    impl Facts {
        fn of(server: &MockServer) -> Facts {
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
        fn id_list(&self, rng: &Rng, ids: &[String], unknown: &str, n: usize) -> String {
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
            list.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
        }
    }

    const OPS: &[&str] = &["<", "<=", ">", ">=", "="];
    /// Distances from a real timestamp: its millisecond edges and beyond.
    const DELTAS_US: &[i64] = &[-1000, -999, -1, 0, 1, 999, 1000, 3_600_000_000];

    /// A condition on `table` (typed or seed DDL), with a parameter now
    /// and then.
    fn predicate(
        rng: &Rng,
        f: &Facts,
        table: &str,
        params: &mut Vec<(&'static str, String)>,
    ) -> String {
        let mut param = |rng: &Rng, ty: &'static str, value: String| -> String {
            if rng.chance(20) {
                params.push((ty, value));
                format!("${}", params.len())
            } else {
                value
            }
        };
        let time = |rng: &Rng, times: &[i64]| ts(*rng.pick(times), *rng.pick(DELTAS_US));
        let ms =
            |rng: &Rng, times: &[i64]| (rng.pick(times) + [-1i64, 0, 1][rng.below(3)]).to_string();
        match table {
            "users" => match rng.below(16) {
                0 => format!("id = {}", param(rng, "text", quote(rng.pick(&f.user_ids)))),
                1 => format!(
                    "id in ({})",
                    f.id_list(
                        rng,
                        &f.user_ids,
                        "user_nope",
                        [1, 3, 40, 101, 150][rng.below(5)]
                    )
                ),
                2 => format!(
                    "id = any(array[{}])",
                    f.id_list(rng, &f.user_ids, "user_x", 1 + rng.below(12))
                ),
                3 | 4 => {
                    let op = rng.pick(OPS);
                    let v = time(rng, &f.user_times);
                    format!("created_at {op} {}", param(rng, "timestamptz", v))
                }
                5 => {
                    let (a, b) = (time(rng, &f.user_times), time(rng, &f.user_times));
                    format!("created_at between {a} and {b}")
                }
                6 => format!(
                    "last_sign_in_at {} {}",
                    rng.pick(OPS),
                    time(rng, &f.user_times)
                ),
                7 => rng
                    .pick(&[
                        "banned",
                        "not banned",
                        "banned = false",
                        "banned is true",
                        "locked",
                    ])
                    .to_string(),
                8 => format!("email = {}", param(rng, "text", quote(rng.pick(&f.emails)))),
                9 => {
                    let list: Vec<String> = (0..[2, 30, 120][rng.below(3)])
                        .map(|_| quote(rng.pick(&f.emails)))
                        .collect();
                    format!("email in ({})", list.join(", "))
                }
                10 => format!("username = {}", quote(rng.pick(&f.usernames))),
                11 => format!("first_name = {}", quote(rng.pick(&f.first_names))),
                12 => format!(
                    "created_at > now() - interval '{} days'",
                    150 + rng.below(60)
                ),
                // Grafana's Unix seconds, to the millisecond and beyond.
                13 => {
                    let at = rng.pick(&f.user_times) + [-1i64, 0, 1, 500][rng.below(4)];
                    let function = rng.pick(&[
                        "extract(epoch from created_at)",
                        "date_part('epoch', created_at)",
                    ]);
                    format!(
                        "{function} {} {}.{:03}",
                        rng.pick(OPS),
                        at.div_euclid(1000),
                        at.rem_euclid(1000)
                    )
                }
                // Metabase's days and Superset's time grains.
                14 => {
                    let day = chrono::DateTime::from_timestamp_millis(*rng.pick(&f.user_times))
                        .expect("in range")
                        .format("%Y-%m-%d");
                    let column = rng.pick(&[
                        "created_at::date",
                        "date_trunc('day', created_at)",
                        "date_trunc('hour', created_at)",
                    ]);
                    format!("{column} {} date '{day}'", rng.pick(OPS))
                }
                _ => rng
                    .pick(&[
                        "email is null",
                        "external_id = 'ext-3'",
                        "username like 'user_1%'",
                        "last_name is not null",
                    ])
                    .to_string(),
            },
            "seed_users" => match rng.below(6) {
                0 => format!("user_id = {}", quote(rng.pick(&f.user_ids))),
                1 => format!(
                    "user_id in ({})",
                    f.id_list(rng, &f.user_ids, "user_q", [2, 101][rng.below(2)])
                ),
                2 | 3 => format!(
                    "created_at {} {}",
                    rng.pick(OPS),
                    param(rng, "bigint", ms(rng, &f.user_times))
                ),
                4 => format!(
                    "created_at between {} and {}",
                    ms(rng, &f.user_times),
                    ms(rng, &f.user_times)
                ),
                _ => format!("email = {}", quote(rng.pick(&f.emails))),
            },
            "organizations" | "seed_organizations" => {
                let id = if table == "organizations" {
                    "id"
                } else {
                    "organization_id"
                };
                match rng.below(6) {
                    0 => format!("{id} = {}", param(rng, "text", quote(rng.pick(&f.org_ids)))),
                    1 => format!(
                        "{id} in ({})",
                        f.id_list(rng, &f.org_ids, "org_nope", 1 + rng.below(6))
                    ),
                    2 => format!("slug = {}", quote(rng.pick(&f.org_slugs))),
                    3 => {
                        let (slug, org) =
                            (rng.pick(&f.org_slugs).clone(), rng.pick(&f.org_ids).clone());
                        format!(
                            "slug in ({}, {}, 'no-such-slug')",
                            quote(&slug),
                            quote(&org)
                        )
                    }
                    4 if table == "organizations" => {
                        format!("created_at {} {}", rng.pick(OPS), time(rng, &f.org_times))
                    }
                    4 => format!("created_at {} {}", rng.pick(OPS), ms(rng, &f.org_times)),
                    _ => "name like 'Org 1%'".into(),
                }
            }
            _ => match rng.below(7) {
                // organization_memberships, typed or seed
                0 | 1 => format!(
                    "organization_id = {}",
                    param(rng, "text", quote(rng.pick(&f.org_ids)))
                ),
                2 => format!(
                    "organization_id in ({})",
                    f.id_list(rng, &f.org_ids, "org_nope", 1 + rng.below(4))
                ),
                3 => format!(
                    "user_id = {}",
                    param(rng, "text", quote(rng.pick(&f.user_ids)))
                ),
                4 => format!(
                    "user_id in ({})",
                    f.id_list(rng, &f.user_ids, "user_nope", 1 + rng.below(5))
                ),
                5 => format!(
                    "role = {}",
                    quote(rng.pick(&["org:admin", "org:member", "org:nobody"]))
                ),
                _ if table == "organization_memberships" => {
                    format!(
                        "created_at {} {}",
                        rng.pick(OPS),
                        time(rng, &f.membership_times)
                    )
                }
                _ => "role <> 'org:member'".into(),
            },
        }
    }

    /// Columns of each table the corpus reads, and its time column.
    fn columns(table: &str) -> (&'static [&'static str], &'static str) {
        match table {
            "users" => (
                &[
                    "id",
                    "email",
                    "username",
                    "first_name",
                    "banned",
                    "created_at",
                    "last_sign_in_at",
                    "external_id",
                ],
                "created_at",
            ),
            "seed_users" => (
                &[
                    "user_id",
                    "email",
                    "first_name",
                    "last_name",
                    "created_at",
                    "phone_numbers",
                    "gender",
                ],
                "created_at",
            ),
            "organizations" => (
                &[
                    "id",
                    "name",
                    "slug",
                    "created_by",
                    "max_allowed_memberships",
                    "created_at",
                ],
                "created_at",
            ),
            "seed_organizations" => (
                &[
                    "organization_id",
                    "name",
                    "slug",
                    "created_at",
                    "created_by",
                ],
                "created_at",
            ),
            "organization_memberships" => (
                &[
                    "id",
                    "user_id",
                    "organization_id",
                    "role",
                    "organization_slug",
                    "created_at",
                ],
                "created_at",
            ),
            _ => (&["user_id", "organization_id", "role"], "role"),
        }
    }

    /// A generated statement.
    fn generate(rng: &Rng, f: &Facts) -> Statement {
        const TABLES: &[&str] = &[
            "users",
            "users",
            "users",
            "seed_users",
            "organizations",
            "seed_organizations",
            "organization_memberships",
            "organization_memberships",
            "seed_organization_memberships",
        ];
        let table = *rng.pick(TABLES);
        let (cols, time) = columns(table);
        let mut params = Vec::new();
        let conditions: Vec<String> = (0..rng.below(4))
            .map(|_| predicate(rng, f, table, &mut params))
            .collect();
        let mut filter = conditions.join(" and ");
        if conditions.len() >= 2 && rng.chance(15) {
            filter = format!("({}) or ({})", conditions[0], conditions[1..].join(" and "));
        }
        let r#where = if filter.is_empty() {
            String::new()
        } else {
            format!(" where {filter}")
        };
        let some_cols = |rng: &Rng| -> String {
            let n = 1 + rng.below(3);
            (0..n)
                .map(|_| *rng.pick(cols))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (category, sql) = match rng.below(10) {
            0..=2 => (
                "filter",
                format!("select {} from {table}{where}", some_cols(rng)),
            ),
            3 => {
                let outputs = rng.pick(&[
                    "count(*)",
                    "count(1)",
                    "count(*), count(1)",
                    "count(*) + 1, 'c'",
                    "count(*), max(created_at)",
                    "7, count(*)",
                ]);
                let outputs = if table.contains("memberships") && outputs.contains("max") {
                    "count(*)"
                } else {
                    outputs
                };
                ("aggregate", format!("select {outputs} from {table}{where}"))
            }
            4 => {
                let col = rng.pick(cols);
                ("group by", format!("select {col}, count(*) from {table}{where} group by {col} having count(*) > {}", rng.below(3)))
            }
            5 => {
                let dir = rng.pick(&["", " desc"]);
                let limit = [1, 3, 10, 499, 501][rng.below(5)];
                let offset = if rng.chance(30) {
                    format!(" offset {}", rng.below(20))
                } else {
                    String::new()
                };
                // Only the sort key: rows tied on it may come in any order.
                ("order/limit", format!("select {time} from {table}{where} order by {time}{dir} limit {limit}{offset}"))
            }
            6 => {
                let col = rng.pick(cols);
                (
                    "distinct/window",
                    if rng.chance(50) {
                        format!("select distinct {col} from {table}{where}")
                    } else {
                        format!("select {col}, count(*) over () from {table}{where}")
                    },
                )
            }
            7 => (
                "subquery/CTE",
                if rng.chance(50) {
                    format!(
                        "with q as (select {} from {table}{where}) select count(*) from q",
                        cols[0]
                    )
                } else {
                    format!(
                        "select count(*) from (select {} from {table}{where} limit {}) q",
                        cols[0],
                        1 + rng.below(600)
                    )
                },
            ),
            8 => {
                let other = predicate(rng, f, table, &mut params);
                let op = rng.pick(&["union", "union all", "intersect", "except"]);
                (
                    "set operation",
                    format!(
                        "select {c} from {table}{where} {op} select {c} from {table} where {other}",
                        c = cols[0]
                    ),
                )
            }
            _ => {
                // The joins below use only their own conditions (and a
                // prepared statement's parameters must all be used).
                params.clear();
                ("join", match rng.below(4) {
                    0 => {
                        let m_filter = predicate(rng, f, "organization_memberships", &mut params);
                        format!("select u.id, u.email, m.role from organization_memberships m join users u on u.id = m.user_id where m.{m_filter}")
                    }
                    1 => "select o.slug, count(m.id) from organizations o left join organization_memberships m on m.organization_id = o.id group by o.slug".into(),
                    2 => "select p.user_id, u.email from public.diff_picks p left join users u on u.id = p.user_id".into(),
                    _ => {
                        let m_filter = predicate(rng, f, "organization_memberships", &mut params);
                        format!("select count(*) from users u where exists (select 1 from organization_memberships m where m.user_id = u.id and m.{m_filter})")
                    }
                })
            }
        };
        Statement {
            category,
            sql,
            params,
        }
    }

    /// The hand-written corpus.
    fn hand_written(f: &Facts) -> Vec<Statement> {
        let (u0, u1) = (&f.user_ids[0], &f.user_ids[1]);
        let org = &f.org_ids[0];
        let t = f.user_times[f.user_times.len() / 2];
        let ids150 = f
            .user_ids
            .iter()
            .take(150)
            .map(|s| quote(s))
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

    /// Runs the corpus on both sides and collects discrepancies.
    struct Runner {
        foreign: postgres::Client,
        oracle: postgres::Client,
        statements: BTreeMap<&'static str, usize>,
        executions: usize,
        discrepancies: Vec<String>,
    }

    fn sorted(mut rows: Vec<String>) -> Vec<String> {
        rows.sort();
        rows
    }

    impl Runner {
        fn expect(
            &mut self,
            st: &Statement,
            mode: &str,
            expected: &[String],
            got: Result<Vec<String>, postgres::Error>,
        ) {
            self.executions += 1;
            let got = match got {
                Ok(rows) => sorted(rows),
                Err(e) => {
                    let message = error_message(e);
                    self.discrepancies
                        .push(format!("[{mode}] {}\n  ERROR {message}", st.literal()));
                    // A failed transaction block must not fail what follows.
                    let _ = self.foreign.batch_execute("rollback");
                    return;
                }
            };
            if got != expected {
                let missing: Vec<_> = expected
                    .iter()
                    .filter(|r| !got.contains(r))
                    .take(3)
                    .collect();
                let extra: Vec<_> = got
                    .iter()
                    .filter(|r| !expected.contains(r))
                    .take(3)
                    .collect();
                self.discrepancies.push(format!(
                    "[{mode}] {}\n  {} rows, expected {}; missing {missing:?}, extra {extra:?}",
                    st.literal(),
                    got.len(),
                    expected.len()
                ));
            }
        }

        /// What pgjdbc and psycopg do: prepare once (extended protocol),
        /// execute 20 times; the parameters travel as text.
        fn client_prepared(&mut self, st: &Statement, expected_text: &[String]) {
            let mut sql = st.sql.clone();
            for (i, (ty, _)) in st.params.iter().enumerate().rev() {
                sql = sql.replace(&format!("${}", i + 1), &format!("${}::text::{ty}", i + 1));
            }
            let values: Vec<String> = st
                .params
                .iter()
                .map(
                    |(_, v)| match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                        Some(inner) => inner.replace("''", "'"),
                        None => v.clone(),
                    },
                )
                .collect();
            let args: Vec<&(dyn postgres::types::ToSql + Sync)> = values
                .iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                .collect();
            let statement = match self
                .foreign
                .prepare(&format!("select q::text from ({sql}) q"))
            {
                Ok(statement) => statement,
                Err(e) => return self.expect(st, "client prepare", expected_text, Err(e)),
            };
            for _ in 0..20 {
                let got = self.foreign.query(&statement, &args).map(|rows| {
                    rows.iter()
                        .map(|r| r.get::<_, String>(0))
                        .collect::<Vec<_>>()
                });
                self.expect(st, "client prepared", expected_text, got);
            }
        }

        fn run(&mut self, st: &Statement, index: usize, client_prepares: bool) {
            let literal = st.literal();
            let as_text = format!("select q::text from ({literal}) q");
            let (expected, expected_text) = match (
                rows(&mut self.oracle, &literal),
                rows(&mut self.oracle, &as_text),
            ) {
                (Ok(a), Ok(b)) => (sorted(a), sorted(b)),
                (Err(e), _) | (_, Err(e)) => {
                    self.discrepancies
                        .push(format!("[oracle] {literal}\n  ERROR {}", error_message(e)));
                    return;
                }
            };
            *self.statements.entry(st.category).or_default() += 1;
            let got = rows(&mut self.foreign, &literal);
            self.expect(st, "plain", &expected, got);

            let (types, values) = (st.types(), st.values());
            let (declared, args) = if st.params.is_empty() {
                (String::new(), String::new())
            } else {
                (format!("({types})"), format!("({values})"))
            };
            for mode in ["auto", "force_generic_plan"] {
                let prepare = format!(
                    "set plan_cache_mode = {mode}; prepare p{declared} as {}",
                    st.sql
                );
                if let Err(e) = self.foreign.batch_execute(&prepare) {
                    self.expect(st, "prepare", &expected, Err(e));
                    continue;
                }
                for _ in 0..8 {
                    let got = rows(&mut self.foreign, &format!("execute p{args}"));
                    self.expect(st, mode, &expected, got);
                }
                let _ = self
                    .foreign
                    .batch_execute("deallocate p; reset plan_cache_mode");
            }

            let body = format!("select q::text from ({}) q", st.sql);
            let functions = format!(
                "create or replace function pg_temp.fs({types}) returns setof text language sql as $body$ {body} $body$;
                 create or replace function pg_temp.fp({types}) returns setof text language plpgsql as
                   $body$ begin return query {body}; end $body$;"
            );
            match self.foreign.batch_execute(&functions) {
                Err(e) => self.expect(st, "functions", &expected_text, Err(e)),
                Ok(()) => {
                    for _ in 0..2 {
                        let got = rows(&mut self.foreign, &format!("select pg_temp.fs({values})"));
                        self.expect(st, "sql function", &expected_text, got);
                        let got = rows(
                            &mut self.foreign,
                            &format!("select * from pg_temp.fp({values})"),
                        );
                        self.expect(st, "plpgsql function", &expected_text, got);
                    }
                    let drop = format!(
                        "drop function pg_temp.fs({types}); drop function pg_temp.fp({types})"
                    );
                    let _ = self.foreign.batch_execute(&drop);
                }
            }

            if client_prepares {
                self.client_prepared(st, &expected_text);
            }

            let scroll = format!("begin; declare c scroll cursor for {literal}");
            match self.foreign.batch_execute(&scroll) {
                Err(e) => self.expect(st, "scroll cursor", &expected, Err(e)),
                Ok(()) => {
                    let first = rows(&mut self.foreign, "fetch all from c");
                    self.expect(st, "scroll cursor", &expected, first);
                    let again = rows(&mut self.foreign, "move absolute 0 in c; fetch all from c");
                    self.expect(st, "scroll cursor, again", &expected, again);
                    let _ = self.foreign.batch_execute("commit");
                }
            }
            let hold = format!("begin; declare h cursor with hold for {literal}; commit");
            match self.foreign.batch_execute(&hold) {
                Err(e) => self.expect(st, "with hold cursor", &expected, Err(e)),
                Ok(()) => {
                    let got = rows(&mut self.foreign, "fetch all from h");
                    self.expect(st, "with hold cursor", &expected, got);
                    let _ = self.foreign.batch_execute("close h");
                }
            }

            if index % 7 == 0 {
                // An ERROR in the middle of reading, rolled back to a savepoint.
                let broken = format!(
                    "begin; savepoint s; select 1 / (count(*) - count(*)) from ({literal}) q"
                );
                let _ = self.foreign.batch_execute(&broken);
                let _ = self.foreign.batch_execute("rollback to s");
                let got = rows(&mut self.foreign, &literal);
                self.expect(st, "after rollback to savepoint", &expected, got);
                let _ = self.foreign.batch_execute("commit");
            }
        }
    }

    fn setting(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    #[pg_test]
    fn differential_corpus_matches_a_local_copy() {
        let seed = setting("RUST_CLERK_FDW_DIFF_SEED", 1);
        let total = setting("RUST_CLERK_FDW_DIFF_STATEMENTS", 1000) as usize;
        let summary_file = format!(
            "/tmp/clerk_fdw-differential-pg{}-seed{seed}.txt",
            pg_sys::PG_VERSION_NUM / 10000
        );
        // Two users per millisecond: ties for ORDER BY and the slices.
        let server = mock(DataConfig {
            users: 700,
            organizations: 30,
            big_org_members: 520,
            same_time: 2,
            ..DataConfig::default()
        });
        let url = server.url();
        let facts = Facts::of(&server);
        let mut foreign = session();
        foreign
            .batch_execute(&format!(
                "create foreign data wrapper diff_w handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server diff_s foreign data wrapper diff_w
                   options (api_url '{url}', request_budget 'off', max_retries '2');
                 create user mapping for public server diff_s options (api_key '{KEY}');
                 create schema {FOREIGN};
                 import foreign schema clerk limit to (users, organizations, organization_memberships)
                   from server diff_s into {FOREIGN};
                 set search_path = {FOREIGN}, public;
                 {SEED_DDL}
                 create table public.diff_picks (user_id text);
                 insert into public.diff_picks values {picks};",
                picks = facts.user_ids.iter().step_by(17).chain(["user_nobody".to_string()].iter())
                    .map(|id| format!("('{id}')")).collect::<Vec<_>>().join(", ")
            ))
            .expect("foreign tables");
        let mut oracle = session();
        oracle
            .batch_execute(&format!(
                "create schema {ORACLE}; set search_path = {ORACLE}, public; {ORACLE_DDL}"
            ))
            .expect("oracle tables");
        let ds = server.dataset();
        let json = |v: &Vec<Value>| serde_json::to_string(v).unwrap();
        let (users, orgs, members) = (
            json(&ds.users),
            json(&ds.organizations),
            json(&ds.memberships),
        );
        for statement in ORACLE_LOAD
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            // Each statement reads at most one of the three lists.
            let list = [("$1", &users), ("$2", &orgs), ("$3", &members)]
                .into_iter()
                .find(|(p, _)| statement.contains(p));
            match list {
                Some((p, json)) => oracle.execute(&statement.replace(p, "$1"), &[json]),
                None => oracle.execute(statement, &[]),
            }
            .expect(statement);
        }
        assert_eq!(
            rows(&mut oracle, "select count(*) from users").unwrap(),
            [ds.users.len().to_string()]
        );

        let mut corpus = hand_written(&facts);
        let hand_written_count = corpus.len();
        let rng = Rng(std::cell::Cell::new(seed));
        while corpus.len() < total {
            corpus.push(generate(&rng, &facts));
        }
        // Workers, each with its own pair of sessions, take every n-th
        // statement.
        let workers = setting("RUST_CLERK_FDW_DIFF_WORKERS", 2).max(1) as usize;
        let mut pairs = vec![(foreign, oracle)];
        for _ in 1..workers {
            let (mut f, mut o) = (session(), session());
            f.batch_execute(&format!("set search_path = {FOREIGN}, public"))
                .unwrap();
            o.batch_execute(&format!("set search_path = {ORACLE}, public"))
                .unwrap();
            pairs.push((f, o));
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        let runners: Vec<Runner> = std::thread::scope(|scope| {
            let handles: Vec<_> = pairs
                .into_iter()
                .enumerate()
                .map(|(w, (foreign, oracle))| {
                    let (corpus, done, summary_file) = (&corpus, &done, &summary_file);
                    scope.spawn(move || {
                        let mut runner = Runner {
                            foreign,
                            oracle,
                            statements: BTreeMap::new(),
                            executions: 0,
                            discrepancies: Vec::new(),
                        };
                        for (i, st) in corpus.iter().enumerate().skip(w).step_by(workers) {
                            // The client-level mode for the hand-written
                            // statements and every tenth generated one.
                            runner.run(st, i, i < hand_written_count || i % 10 == 0);
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if n % 100 == 0 {
                                let progress = format!("{n} of {} statements\n", corpus.len());
                                let _ = std::fs::write(summary_file, progress);
                            }
                        }
                        runner
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker"))
                .collect()
        });
        let mut statements: BTreeMap<&str, usize> = BTreeMap::new();
        let mut discrepancies = Vec::new();
        let mut executions = 0;
        for mut runner in runners {
            // Every backend is alive: nothing crashed.
            assert_eq!(rows(&mut runner.foreign, "select 1").unwrap(), ["1"]);
            for (category, n) in runner.statements {
                *statements.entry(category).or_default() += n;
            }
            executions += runner.executions;
            discrepancies.extend(runner.discrepancies);
        }
        let mut summary = format!(
            "seed {seed}: {} statements, {executions} executions, {} discrepancies\n",
            corpus.len(),
            discrepancies.len()
        );
        for (category, n) in &statements {
            let _ = writeln!(summary, "  {category}: {n}");
        }
        let mut all = summary.clone();
        for (k, d) in discrepancies.iter().enumerate() {
            let _ = writeln!(all, "{d}");
            if k < 20 {
                let _ = writeln!(summary, "{d}");
            }
        }
        let _ = std::fs::write(&summary_file, &all);
        assert!(discrepancies.is_empty(), "{summary}");
    }
}
