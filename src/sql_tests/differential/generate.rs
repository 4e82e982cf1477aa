//! Generated statements: a condition, columns and a query shape drawn
//! from a seed.

use super::corpus::*;

/// A condition on `table` (typed or seed DDL), with a parameter now
/// and then.
pub(super) fn predicate(
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
    let ms = |rng: &Rng, times: &[i64]| (rng.pick(times) + [-1i64, 0, 1][rng.below(3)]).to_string();
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
pub(super) fn columns(table: &str) -> (&'static [&'static str], &'static str) {
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
pub(super) fn generate(rng: &Rng, f: &Facts) -> Statement {
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
            (
                "order/limit",
                format!(
                    "select {time} from {table}{where} order by {time}{dir} limit {limit}{offset}"
                ),
            )
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
