//! Clerk's Backend API spec (`tests/clerk-openapi/bapi-2026-05-12.yml`),
//! read once per process, and the check of a GET request against it: the
//! path must be one of the spec's, every query parameter one the operation
//! documents, each value of its type, enum and range, repeated only where
//! the parameter is an array, and every required parameter present.
//!
//! The test server answers 400 to a request that fails the check, so no
//! test passes on a request Clerk would not understand; the Prism test uses
//! the same check on the requests it forwards.

use serde_json::Value;
use std::sync::OnceLock;

/// The API version the spec describes (what `Clerk-API-Version` names).
pub const API_VERSION: &str = "2026-05-12";

/// The spec itself.
pub const SPEC_YAML: &str = include_str!("../../clerk-openapi/bapi-2026-05-12.yml");

#[derive(Debug, Clone, PartialEq)]
enum Type {
    String,
    Integer { min: Option<i64>, max: Option<i64> },
    Boolean,
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    in_path: bool,
    required: bool,
    /// An array: the parameter may repeat.
    repeated: bool,
    kind: Type,
    allowed: Option<Vec<String>>,
}

#[derive(Debug)]
struct Operation {
    /// `/users/{user_id}` as segments; `None` for a path parameter.
    segments: Vec<Option<String>>,
    template: String,
    params: Vec<Param>,
}

/// The GET operations of the spec, and the whole document.
#[derive(Debug)]
pub struct Spec {
    operations: Vec<Operation>,
    pub document: Value,
}

/// The spec, parsed on first use.
pub fn bapi() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let document: Value =
            serde_norway::from_str(SPEC_YAML).expect("the bundled Clerk spec is valid YAML");
        Spec::new(document)
    })
}

impl Spec {
    fn new(document: Value) -> Spec {
        let mut operations = Vec::new();
        if let Some(paths) = document["paths"].as_object() {
            for (template, item) in paths {
                let Some(get) = item.get("get") else { continue };
                let shared = item["parameters"].as_array().cloned().unwrap_or_default();
                let own = get["parameters"].as_array().cloned().unwrap_or_default();
                let params = shared
                    .iter()
                    .chain(own.iter())
                    .filter_map(|p| param(&document, p))
                    .collect();
                let segments = template
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                    .collect();
                operations.push(Operation {
                    segments,
                    template: template.clone(),
                    params,
                });
            }
        }
        Spec {
            operations,
            document,
        }
    }

    /// The operation whose template matches `path` (below the API's base
    /// URL, percent-decoded segments), literal segments beating parameters
    /// (`/users/count` over `/users/{user_id}`).
    fn operation(&self, segments: &[String]) -> Option<&Operation> {
        self.operations
            .iter()
            .filter(|op| {
                op.segments.len() == segments.len()
                    && op
                        .segments
                        .iter()
                        .zip(segments)
                        .all(|(t, s)| t.as_ref().is_none_or(|lit| lit == s) && !s.is_empty())
            })
            .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
    }

    /// The spec's path template for `segments`, if the spec has one.
    pub fn template(&self, segments: &[String]) -> Option<&str> {
        self.operation(segments).map(|op| op.template.as_str())
    }

    /// Checks a GET of `segments` with `query` against the spec.
    pub fn check_get(&self, segments: &[String], query: &[(String, String)]) -> Result<(), String> {
        let op = self
            .operation(segments)
            .ok_or_else(|| format!("GET /{} is not in Clerk's spec", segments.join("/")))?;
        for (name, value) in query {
            let param = op
                .params
                .iter()
                .find(|p| !p.in_path && p.name == *name)
                .ok_or_else(|| format!("GET {} has no query parameter {name:?}", op.template))?;
            check_value(param, value)
                .map_err(|e| format!("GET {}: {name}={value:?}: {e}", op.template))?;
            if !param.repeated && query.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(format!(
                    "GET {}: {name} is not an array but repeats",
                    op.template
                ));
            }
        }
        for p in op.params.iter().filter(|p| p.required && !p.in_path) {
            if !query.iter().any(|(k, _)| *k == p.name) {
                return Err(format!(
                    "GET {}: required parameter {} missing",
                    op.template, p.name
                ));
            }
        }
        Ok(())
    }

    /// Checks a write (`POST`, `PATCH`, `DELETE`) of `segments` with the
    /// JSON `body` against the spec: the operation exists, and the body is
    /// there exactly when the spec has one, with only documented fields,
    /// each of its type, every required one, and arrays within maxItems.
    pub fn check_write(
        &self,
        method: &str,
        segments: &[String],
        body: Option<&Value>,
    ) -> Result<String, String> {
        let key = method.to_ascii_lowercase();
        let paths = self.document["paths"]
            .as_object()
            .ok_or("the spec has no paths")?;
        let template = paths
            .iter()
            .filter(|(_, item)| item.get(&key).is_some())
            .map(|(template, _)| template)
            .filter(|template| {
                let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
                parts.len() == segments.len()
                    && parts
                        .iter()
                        .zip(segments)
                        .all(|(t, s)| (t.starts_with('{') || t == s) && !s.is_empty())
            })
            .max_by_key(|template| template.split('/').filter(|p| !p.starts_with('{')).count())
            .ok_or_else(|| format!("{method} /{} is not in Clerk's spec", segments.join("/")))?;
        let op = &paths[template][&key];
        let request_body = op.get("requestBody").and_then(|b| self.resolve(b));
        let schema = request_body
            .and_then(|b| b["content"].get("application/json"))
            .and_then(|c| c.get("schema"));
        match (schema, body) {
            (None, None) => {}
            (None, Some(_)) => return Err(format!("{method} {template} takes no JSON body")),
            (Some(_), None) if request_body.is_some_and(|b| b["required"] == true) => {
                return Err(format!("{method} {template} requires a body"))
            }
            (Some(_), None) => {}
            (Some(schema), Some(body)) => self
                .check_body(schema, body, "body")
                .map_err(|e| format!("{method} {template}: {e}"))?,
        }
        Ok(template.clone())
    }

    fn check_body(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self
            .resolve(schema)
            .ok_or_else(|| format!("{at}: unresolvable $ref"))?;
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            return all.iter().try_for_each(|s| self.check_body(s, value, at));
        }
        if let Some(any) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            return if any.iter().any(|s| self.check_body(s, value, at).is_ok()) {
                Ok(())
            } else {
                Err(format!("{at}: {value} matches none of its schemas"))
            };
        }
        if value.is_null() {
            let nullable = schema["nullable"] == true
                || schema["type"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "null"));
            return if nullable || schema.get("type").is_none() {
                Ok(())
            } else {
                Err(format!("{at} is not nullable"))
            };
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = |t: &str| match t {
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            _ => true,
        };
        if !types.is_empty() && !types.iter().any(|t| fits(t)) {
            return Err(format!("{at} is {value}, not {}", types.join(" or ")));
        }
        if let (Some(allowed), Some(v)) = (schema["enum"].as_array(), value.as_str()) {
            if !allowed.iter().any(|a| a == v) {
                return Err(format!("{at} is {v:?}, not one of {allowed:?}"));
            }
        }
        if let Some(items) = value.as_array() {
            if let Some(max) = schema["maxItems"].as_u64() {
                if items.len() as u64 > max {
                    return Err(format!("{at} has {} items, more than {max}", items.len()));
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.check_body(item_schema, item, &format!("{at}[{i}]"))?;
                }
            }
        }
        if let (Some(fields), Some(properties)) =
            (value.as_object(), schema["properties"].as_object())
        {
            for (name, v) in fields {
                let field_schema = properties.get(name).ok_or_else(|| {
                    format!("{at} has field {name:?}, which the spec does not document")
                })?;
                self.check_body(field_schema, v, &format!("{at}.{name}"))?;
            }
            for required in schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(required) {
                    return Err(format!("{at} lacks required field {required:?}"));
                }
            }
        }
        Ok(())
    }

    /// The JSON schema of the `status` response of GET `template`, with
    /// `$ref`s left as they are.
    pub fn response_schema(&self, template: &str, status: u16) -> Option<&Value> {
        let responses = &self.document["paths"][template]["get"]["responses"];
        let response = self.resolve(responses.get(status.to_string())?)?;
        response["content"]["application/json"].get("schema")
    }

    /// Follows a local `$ref` (`#/components/...`).
    pub fn resolve<'a>(&'a self, value: &'a Value) -> Option<&'a Value> {
        match value.get("$ref").and_then(Value::as_str) {
            None => Some(value),
            Some(r) => self.document.pointer(r.strip_prefix('#')?),
        }
    }
}

fn param(document: &Value, p: &Value) -> Option<Param> {
    let p = match p.get("$ref").and_then(Value::as_str) {
        Some(r) => document.pointer(r.strip_prefix('#')?)?,
        None => p,
    };
    let schema = &p["schema"];
    let repeated = schema["type"] == "array";
    let item = if repeated { &schema["items"] } else { schema };
    let kind = match item["type"].as_str() {
        Some("integer" | "number") => Type::Integer {
            min: item["minimum"].as_i64(),
            max: item["maximum"].as_i64(),
        },
        Some("boolean") => Type::Boolean,
        _ => Type::String,
    };
    Some(Param {
        name: p["name"].as_str()?.to_string(),
        in_path: p["in"] == "path",
        required: p["required"] == true,
        repeated,
        kind,
        allowed: item["enum"].as_array().map(|values| {
            values
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        }),
    })
}

fn check_value(param: &Param, value: &str) -> Result<(), String> {
    match param.kind {
        Type::String => {}
        Type::Boolean => {
            if !matches!(value, "true" | "false") {
                return Err("not a boolean".into());
            }
        }
        Type::Integer { min, max } => {
            let n: i64 = value.parse().map_err(|_| "not an integer".to_string())?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(format!("outside {min:?}..={max:?}"));
            }
        }
    }
    if let Some(allowed) = &param.allowed {
        if !allowed.iter().any(|a| a == value) {
            return Err(format!("not one of {allowed:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/').map(String::from).collect()
    }
    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn requests_are_held_to_the_spec() {
        let spec = bapi();
        assert!(spec
            .check_get(
                &segs("users"),
                &q(&[("limit", "500"), ("order_by", "-created_at")])
            )
            .is_ok());
        assert!(spec
            .check_get(&segs("users"), &q(&[("user_id", "a"), ("user_id", "b")]))
            .is_ok());
        assert_eq!(spec.template(&segs("users/count")), Some("/users/count"));
        assert_eq!(
            spec.template(&segs("users/user_1")),
            Some("/users/{user_id}")
        );
        let bad = [
            ("users", vec![("limit", "501")]),
            ("users", vec![("limit", "0")]),
            ("users", vec![("offset", "-1")]),
            ("users", vec![("banned", "yes")]),
            ("users", vec![("no_such", "1")]),
            ("invitations", vec![("status", "Pending")]),
            (
                "invitations",
                vec![("status", "pending"), ("status", "revoked")],
            ),
            (
                "organizations/org_1/memberships",
                vec![("paginated", "true")],
            ),
            ("nothing_here", vec![]),
        ];
        for (path, query) in bad {
            assert!(
                spec.check_get(&segs(path), &q(&query)).is_err(),
                "{path} {query:?}"
            );
        }
    }
}
