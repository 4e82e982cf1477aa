use super::*;
use clerk_mock::spec::{bapi, Spec};
use serde_json::Value;

/// Each membership link names a `Member` filter of its object's list
/// and two text columns of the memberships.
#[test]
fn membership_links_name_real_filters_and_columns() {
    let memberships = object(LINKED_THROUGH).unwrap();
    for link in MEMBERSHIP_LINKS {
        let narrowed = object(link.object).unwrap();
        assert!(
            narrowed
                .list()
                .filters
                .iter()
                .any(|f| f.column == "id" && f.how == Match::Member),
            "{link:?}"
        );
        for column in [link.joined_on, link.by] {
            let c = memberships.column(column).unwrap();
            assert_eq!(c.kind, Kind::Text, "{link:?}");
        }
    }
}

/// The properties of an object schema, through `$ref` and `allOf`.
fn properties<'a>(spec: &'a Spec, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    let Some(schema) = spec.resolve(schema) else {
        return;
    };
    for part in schema["allOf"].as_array().into_iter().flatten() {
        properties(spec, part, out);
    }
    for (name, value) in schema["properties"].as_object().into_iter().flatten() {
        out.push((name, value));
    }
}

/// The schema of `path` below `schema`, `None` when the spec has no
/// such field.
fn field<'a>(spec: &'a Spec, schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(schema);
    };
    let mut props = Vec::new();
    properties(spec, schema, &mut props);
    let (_, next) = props.into_iter().find(|(name, _)| name == first)?;
    field(spec, next, rest)
}

/// A sample request to `e` with each of its parameters, as Clerk's spec
/// must accept it.
fn sample_requests(e: &Endpoint) -> Vec<Vec<(String, String)>> {
    let mut base: Vec<(String, String)> = e
        .fixed_params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    base.extend(e.key_param.map(|p| (p.to_string(), "x_1".to_string())));
    if e.envelope == Envelope::Paginated {
        base.push(("paginated".into(), "true".into()));
    }
    let mut requests = Vec::new();
    if e.paging == Paging::Offset || e.paging == Paging::Cursor {
        let mut r = base.clone();
        r.push(("limit".into(), e.max_limit.to_string()));
        r.push(("offset".into(), "1".into()));
        requests.push(r);
    }
    for f in e.filters {
        let values: Vec<Vec<(String, String)>> = match f.how {
            Match::Range => vec![vec![
                (format!("{}_after", f.param), "1".into()),
                (format!("{}_before", f.param), "2".into()),
            ]],
            Match::Flag => vec![vec![(f.param.into(), "true".into())]],
            _ if f.allowed.is_empty() => vec![vec![(f.param.into(), "v".into())]],
            _ => f
                .allowed
                .iter()
                .map(|v| vec![(f.param.to_string(), v.to_string())])
                .collect(),
        };
        for v in values {
            let mut r = base.clone();
            r.extend(v);
            requests.push(r);
        }
    }
    for column in e.order_by {
        for sign in ["+", "-"] {
            let mut r = base.clone();
            r.push(("order_by".into(), format!("{sign}{column}")));
            requests.push(r);
        }
    }
    for (_, flag) in e.included_on_request {
        let mut r = base.clone();
        r.push((flag.to_string(), "true".into()));
        requests.push(r);
    }
    requests.push(base);
    requests
}

/// Every path, parameter and enum value clerk_fdw sends, and every JSON
/// field a column reads, is in Clerk's spec.
#[test]
fn every_request_and_column_is_in_clerks_spec() {
    let spec = bapi();
    for o in OBJECTS {
        for e in o.endpoints {
            let segments: Vec<String> = e
                .path
                .iter()
                .map(|s| {
                    if *s == KEY {
                        "x_1".into()
                    } else {
                        s.to_string()
                    }
                })
                .collect();
            for query in sample_requests(e) {
                if let Err(e) = spec.check_get(&segments, &query) {
                    panic!("{}: {e}", o.name);
                }
            }
            let template = spec.template(&segments).expect("checked above");
            let response = spec
                .response_schema(template, 200)
                .unwrap_or_else(|| panic!("{}: no 200 response for {template}", o.name));
            let row = match e.envelope {
                Envelope::Single => response,
                Envelope::Array => &spec.resolve(response).unwrap()["items"],
                // Documented as a bare array or as `{data, total_count}`.
                Envelope::Data | Envelope::Paginated => {
                    let list = match spec.resolve(response).unwrap()["type"].as_str() {
                        Some("array") => response,
                        _ => field(spec, response, &[e.list_field]).unwrap_or_else(|| {
                            panic!("{}: no {} in {template}", o.name, e.list_field)
                        }),
                    };
                    &spec.resolve(list).unwrap()["items"]
                }
            };
            for c in o.columns {
                let Source::Path(path) = c.source else {
                    continue;
                };
                // Set from the key the rows were asked by.
                if o.endpoints.iter().any(|e| e.key_in_row == Some(path[0])) {
                    continue;
                }
                assert!(
                    field(spec, row, path).is_some(),
                    "{}.{}: {template} has no field {}",
                    o.name,
                    c.name,
                    path.join(".")
                );
            }
        }
    }
}

#[test]
fn column_names_are_unique_per_object() {
    for o in OBJECTS {
        let mut names = o.column_names();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate column name in {}", o.name);
    }
}

#[test]
fn seed_ddl_columns_exist() {
    let users = object("users").unwrap();
    for c in [
        "user_id",
        "first_name",
        "last_name",
        "email",
        "gender",
        "created_at",
        "updated_at",
        "last_sign_in_at",
        "phone_numbers",
        "username",
    ] {
        assert!(users.column(c).is_some(), "users.{c}");
    }
    let orgs = object("organizations").unwrap();
    for c in [
        "organization_id",
        "name",
        "slug",
        "created_at",
        "updated_at",
        "created_by",
    ] {
        assert!(orgs.column(c).is_some(), "organizations.{c}");
    }
    let m = object("organization_memberships").unwrap();
    for c in ["user_id", "organization_id", "role"] {
        assert!(m.column(c).is_some(), "organization_memberships.{c}");
    }
    assert!(object("invoices").is_none());
}
