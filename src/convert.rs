//! JSON → column value conversion, driven by the column's declared SQL type.
//! Pure Rust: the FDW glue maps [`Out`] to the framework's `Cell`.

use crate::catalog::{Kind, Source};
use serde_json::Value;

/// The SQL types a column may be declared as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Text,
    Bool,
    Int2,
    Int4,
    Int8,
    Float8,
    Numeric,
    Timestamptz,
    Timestamp,
    Jsonb,
    TextArray,
}

impl SqlType {
    pub fn sql_name(self) -> &'static str {
        match self {
            SqlType::Text => "text",
            SqlType::Bool => "boolean",
            SqlType::Int2 => "smallint",
            SqlType::Int4 => "integer",
            SqlType::Int8 => "bigint",
            SqlType::Float8 => "double precision",
            SqlType::Numeric => "numeric",
            SqlType::Timestamptz => "timestamptz",
            SqlType::Timestamp => "timestamp",
            SqlType::Jsonb => "jsonb",
            SqlType::TextArray => "text[]",
        }
    }
}

/// A converted value, ready to become a Postgres datum.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Text(String),
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F64(f64),
    /// An exact integer as `numeric`.
    Numeric(i64),
    /// Microseconds since 2000-01-01 00:00:00 UTC (Postgres' epoch), for
    /// both `timestamptz` and `timestamp` (the latter in UTC).
    PgMicros(i64),
    Json(Value),
    TextArray(Vec<Option<String>>),
}

/// The declared types a column of `kind` accepts.
pub fn allowed_targets(kind: Kind) -> &'static [SqlType] {
    use SqlType::*;
    match kind {
        Kind::Text => &[Text, Jsonb],
        Kind::Bool => &[Bool, Text],
        Kind::Int => &[Int8, Int4, Int2, Numeric, Float8, Text],
        Kind::Cents => &[Int8, Numeric, Text],
        Kind::TimestampMs => &[Timestamptz, Timestamp, Int8, Float8, Text],
        Kind::Json => &[Jsonb, Text],
        Kind::TextList => &[TextArray, Jsonb, Int8, Int4, Int2],
        Kind::ObjectList { .. } => &[TextArray, Jsonb, Int8, Int4, Int2],
        Kind::Removed => &[
            Text,
            Bool,
            Int2,
            Int4,
            Int8,
            Float8,
            Numeric,
            Timestamptz,
            Timestamp,
            Jsonb,
            TextArray,
        ],
    }
}

/// Why a JSON value could not become the declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, got {got}")]
pub struct ConvertError {
    pub expected: &'static str,
    pub got: String,
}

fn mismatch(expected: &'static str, v: &Value) -> ConvertError {
    let mut got = v.to_string();
    if got.len() > 60 {
        let cut = (0..=60)
            .rev()
            .find(|&i| got.is_char_boundary(i))
            .unwrap_or(0);
        got.truncate(cut);
        got.push('…');
    }
    ConvertError { expected, got }
}

/// Finds a column's JSON value in `obj`; `None` means SQL NULL.
pub fn extract(obj: &Value, source: Source) -> Option<&Value> {
    let found = match source {
        Source::Path(keys) => keys.iter().try_fold(obj, |v, k| v.get(k)),
        Source::Primary {
            id_key,
            list,
            field,
        } => {
            let id = obj.get(id_key)?.as_str()?;
            obj.get(list)?
                .as_array()?
                .iter()
                .find(|e| e.get("id").and_then(Value::as_str) == Some(id))?
                .get(field)
        }
        Source::Whole => Some(obj),
        Source::Nothing => None,
    };
    found.filter(|v| !v.is_null())
}

const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Unix milliseconds → Postgres-epoch microseconds.
pub fn unix_ms_to_pg_micros(ms: i64) -> Option<i64> {
    ms.checked_mul(1000)?.checked_sub(PG_EPOCH_MICROS)
}

/// Postgres-epoch microseconds → Unix milliseconds (floor).
pub fn pg_micros_to_unix_ms(micros: i64) -> Option<i64> {
    Some(micros.checked_add(PG_EPOCH_MICROS)?.div_euclid(1000))
}

fn ms_to_iso(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

fn int(v: &Value, target: SqlType) -> Result<Out, ConvertError> {
    let n = v.as_i64().ok_or_else(|| mismatch("an integer", v))?;
    let out_of_range = || ConvertError {
        expected: "a value that fits the declared type",
        got: format!("{n} (out of range for {})", target.sql_name()),
    };
    Ok(match target {
        SqlType::Int2 => Out::I16(i16::try_from(n).map_err(|_| out_of_range())?),
        SqlType::Int4 => Out::I32(i32::try_from(n).map_err(|_| out_of_range())?),
        SqlType::Float8 => Out::F64(n as f64),
        SqlType::Numeric => Out::Numeric(n),
        SqlType::Text => Out::Text(n.to_string()),
        _ => Out::I64(n),
    })
}

fn count(n: usize, target: SqlType) -> Result<Out, ConvertError> {
    int(&Value::from(n), target)
}

/// Converts one JSON value of a column of `kind` to `target`. The pair must
/// be in [`allowed_targets`]; that is checked once per scan, not here.
pub fn convert(v: &Value, kind: Kind, target: SqlType) -> Result<Option<Out>, ConvertError> {
    if v.is_null() {
        return Ok(None);
    }
    let out = match (kind, target) {
        (Kind::Removed, _) => return Ok(None),
        (_, SqlType::Jsonb) => Out::Json(v.clone()),
        (Kind::Text, _) => Out::Text(
            v.as_str()
                .ok_or_else(|| mismatch("a string", v))?
                .to_owned(),
        ),
        (Kind::Bool, SqlType::Bool) => {
            Out::Bool(v.as_bool().ok_or_else(|| mismatch("a boolean", v))?)
        }
        (Kind::Bool, _) => Out::Text(
            v.as_bool()
                .ok_or_else(|| mismatch("a boolean", v))?
                .to_string(),
        ),
        (Kind::Int | Kind::Cents, _) => int(v, target)?,
        (Kind::TimestampMs, SqlType::Timestamptz | SqlType::Timestamp) => {
            let ms = v
                .as_i64()
                .ok_or_else(|| mismatch("a millisecond timestamp", v))?;
            Out::PgMicros(
                unix_ms_to_pg_micros(ms).ok_or_else(|| mismatch("a timestamp in range", v))?,
            )
        }
        (Kind::TimestampMs, SqlType::Text) => {
            let ms = v
                .as_i64()
                .ok_or_else(|| mismatch("a millisecond timestamp", v))?;
            Out::Text(ms_to_iso(ms).ok_or_else(|| mismatch("a timestamp in range", v))?)
        }
        (Kind::TimestampMs, _) => int(v, target)?,
        (Kind::Json, SqlType::Text) => Out::Text(v.to_string()),
        (Kind::Json, _) => Out::Json(v.clone()),
        (Kind::TextList | Kind::ObjectList { .. }, _) => {
            let items = v.as_array().ok_or_else(|| mismatch("an array", v))?;
            match (kind, target) {
                (_, SqlType::TextArray) => {
                    let field = match kind {
                        Kind::ObjectList { text_field } => Some(text_field),
                        _ => None,
                    };
                    let strings = items
                        .iter()
                        .map(|item| {
                            let s = match field {
                                Some(f) => item.get(f).unwrap_or(&Value::Null),
                                None => item,
                            };
                            match s {
                                Value::Null => Ok(None),
                                Value::String(s) => Ok(Some(s.clone())),
                                other => Err(mismatch("an array of strings", other)),
                            }
                        })
                        .collect::<Result<_, _>>()?;
                    Out::TextArray(strings)
                }
                _ => count(items.len(), target)?,
            }
        }
    };
    if holds_nul(&out) {
        return Err(ConvertError {
            expected:
                "a string without NUL characters (Postgres text and jsonb cannot hold \\u0000)",
            got: mismatch("", v).got,
        });
    }
    Ok(Some(out))
}

/// Applies `varchar(n)` the way Postgres' input function does: spaces past
/// `n` characters are cut, anything else past `n` is an error.
pub fn fit_varchar(out: Out, max_chars: Option<usize>) -> Result<Out, ConvertError> {
    let (Out::Text(s), Some(n)) = (&out, max_chars) else {
        return Ok(out);
    };
    match s.char_indices().nth(n) {
        None => Ok(out),
        Some((cut, _)) if s[cut..].chars().all(|c| c == ' ') => Ok(Out::Text(s[..cut].to_string())),
        Some(_) => Err(ConvertError {
            expected: "a value that fits its column",
            got: format!(
                "{} characters, more than varchar({n}) holds",
                s.chars().count()
            ),
        }),
    }
}

/// Whether a converted value has a NUL character in some string.
fn holds_nul(out: &Out) -> bool {
    fn json(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(json),
            Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json(v)),
            _ => false,
        }
    }
    match out {
        Out::Text(s) => s.contains('\0'),
        Out::TextArray(items) => items.iter().flatten().any(|s| s.contains('\0')),
        Out::Json(v) => json(v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::object;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "user_1",
            "primary_email_address_id": "idn_b",
            "email_addresses": [
                {"id": "idn_a", "email_address": "first@example.com"},
                {"id": "idn_b", "email_address": "primary@example.com"}
            ],
            "primary_phone_number_id": null,
            "phone_numbers": [{"id": "p1", "phone_number": "+1"}, {"id": "p2", "phone_number": "+2"}],
            "first_name": "Zoë 李",
            "last_name": null,
            "created_at": 1_700_000_000_123i64,
            "public_metadata": {"plan": "pro"},
            "banned": false,
        })
    }

    fn column(obj: &Value, name: &str, target: SqlType) -> Result<Option<Out>, ConvertError> {
        let spec = object("users").unwrap().column(name).unwrap();
        assert!(
            allowed_targets(spec.kind).contains(&target),
            "{name} as {target:?}"
        );
        match extract(obj, spec.source) {
            None => Ok(None),
            Some(v) => convert(v, spec.kind, target),
        }
    }

    #[test]
    fn primary_email_is_the_one_the_id_points_at() {
        let u = user();
        assert_eq!(
            column(&u, "email", SqlType::Text).unwrap(),
            Some(Out::Text("primary@example.com".into()))
        );
        assert_eq!(column(&u, "phone_number", SqlType::Text).unwrap(), None);
        let mut dangling = u.clone();
        dangling["primary_email_address_id"] = json!("idn_missing");
        assert_eq!(column(&dangling, "email", SqlType::Text).unwrap(), None);
    }

    #[test]
    fn arrays_as_count_text_array_and_json() {
        let u = user();
        assert_eq!(
            column(&u, "phone_numbers", SqlType::Int8).unwrap(),
            Some(Out::I64(2))
        );
        assert_eq!(
            column(&u, "phone_numbers", SqlType::Int2).unwrap(),
            Some(Out::I16(2))
        );
        assert_eq!(
            column(&u, "email_addresses", SqlType::TextArray).unwrap(),
            Some(Out::TextArray(vec![
                Some("first@example.com".into()),
                Some("primary@example.com".into())
            ]))
        );
        assert!(
            matches!(column(&u, "email_addresses", SqlType::Jsonb).unwrap(), Some(Out::Json(Value::Array(a))) if a.len() == 2)
        );
    }

    #[test]
    fn timestamps_keep_milliseconds() {
        let u = user();
        assert_eq!(
            column(&u, "created_at", SqlType::Int8).unwrap(),
            Some(Out::I64(1_700_000_000_123))
        );
        let Some(Out::PgMicros(us)) = column(&u, "created_at", SqlType::Timestamptz).unwrap()
        else {
            panic!()
        };
        assert_eq!(us, 1_700_000_000_123_000 - PG_EPOCH_MICROS);
        assert_eq!(pg_micros_to_unix_ms(us), Some(1_700_000_000_123));
        assert_eq!(
            column(&u, "created_at", SqlType::Text).unwrap(),
            Some(Out::Text("2023-11-14T22:13:20.123Z".into()))
        );
    }

    #[test]
    fn nulls_unicode_json_and_removed_columns() {
        let u = user();
        assert_eq!(
            column(&u, "first_name", SqlType::Text).unwrap(),
            Some(Out::Text("Zoë 李".into()))
        );
        assert_eq!(column(&u, "last_name", SqlType::Text).unwrap(), None);
        assert_eq!(
            column(&u, "last_sign_in_at", SqlType::Timestamptz).unwrap(),
            None
        );
        assert_eq!(column(&u, "gender", SqlType::Text).unwrap(), None);
        assert_eq!(
            column(&u, "public_metadata", SqlType::Jsonb).unwrap(),
            Some(Out::Json(json!({"plan": "pro"})))
        );
        assert_eq!(
            column(&u, "public_metadata", SqlType::Text).unwrap(),
            Some(Out::Text("{\"plan\":\"pro\"}".into()))
        );
        assert_eq!(
            column(&u, "banned", SqlType::Bool).unwrap(),
            Some(Out::Bool(false))
        );
        assert!(
            matches!(column(&u, "attrs", SqlType::Jsonb).unwrap(), Some(Out::Json(v)) if v == u)
        );
    }

    #[test]
    fn wrong_json_types_and_ranges_are_errors() {
        let err = convert(&json!("soon"), Kind::TimestampMs, SqlType::Timestamptz).unwrap_err();
        assert_eq!(err.expected, "a millisecond timestamp");
        assert!(convert(&json!(70000), Kind::Int, SqlType::Int2).is_err());
        assert!(convert(&json!(12), Kind::Text, SqlType::Text).is_err());
        assert!(convert(&json!([1]), Kind::TextList, SqlType::TextArray).is_err());
        assert!(convert(&json!(i64::MAX), Kind::TimestampMs, SqlType::Timestamptz).is_err());
    }

    #[test]
    fn type_rules() {
        assert!(!allowed_targets(Kind::Text).contains(&SqlType::Int8));
        assert!(!allowed_targets(Kind::Json).contains(&SqlType::Int8));
        assert!(allowed_targets(Kind::TimestampMs).contains(&SqlType::Timestamp));
    }

    #[test]
    fn nul_characters_are_errors_not_text() {
        let users = object("users").unwrap();
        let first_name = users.column("first_name").unwrap();
        let err = convert(&json!("a\u{0}b"), first_name.kind, SqlType::Text).unwrap_err();
        assert!(err.expected.contains("NUL"), "{err}");
        let attrs = users.column("attrs").unwrap();
        assert!(convert(
            &json!({"k": ["x", {"\u{0}": 1}]}),
            attrs.kind,
            SqlType::Jsonb
        )
        .is_err());
        let emails = users.column("email_addresses").unwrap();
        let list = json!([{"email_address": "a@b\u{0}"}]);
        assert!(convert(&list, emails.kind, SqlType::TextArray).is_err());
        assert!(convert(&json!("plain"), first_name.kind, SqlType::Text).is_ok());
    }

    #[test]
    fn varchar_lengths_apply_as_postgres_applies_them() {
        let text = |s: &str| Out::Text(s.into());
        assert_eq!(fit_varchar(text("abc"), Some(3)), Ok(text("abc")));
        assert_eq!(fit_varchar(text("ab  "), Some(2)), Ok(text("ab")));
        assert_eq!(fit_varchar(text("Zoë!"), Some(4)), Ok(text("Zoë!")));
        assert!(fit_varchar(text("abcd"), Some(3)).is_err());
        assert_eq!(fit_varchar(text("abcd"), None), Ok(text("abcd")));
        assert_eq!(fit_varchar(Out::I64(12345), Some(1)), Ok(Out::I64(12345)));
    }
}
