//! Parsing a page: only the fields the scan keeps, and the checks every
//! walk relying on Clerk's order makes.

use crate::catalog::{Endpoint, Envelope, Source, MAX_PAGE_SIZE};
use crate::remote::client::ClerkError;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

/// The top-level fields of each object a scan keeps; the others are skipped
/// while parsing, so a page costs memory for the selected columns only.
#[derive(Debug, Clone, Default)]
pub struct Fields(Option<Arc<HashSet<&'static str>>>);

impl Fields {
    pub fn all() -> Fields {
        Fields(None)
    }

    /// What columns with these sources read (plus `id` and `created_at`,
    /// which paging uses).
    pub fn for_sources(sources: impl IntoIterator<Item = Source>) -> Fields {
        let mut keep: HashSet<&'static str> = ["id", "created_at"].into();
        for source in sources {
            match source {
                Source::Path(keys) => keep.extend(keys.first()),
                Source::Primary { id_key, list, .. } => keep.extend([id_key, list]),
                Source::Whole => return Fields::all(),
                Source::Nothing => {}
            }
        }
        Fields(Some(Arc::new(keep)))
    }

    fn keeps(&self, key: &str) -> bool {
        self.0.as_ref().is_none_or(|k| k.contains(key))
    }

    /// These fields and `field`.
    pub(super) fn with(self, field: &'static str) -> Fields {
        match self.0 {
            Some(keep) if !keep.contains(field) => {
                let mut keep = (*keep).clone();
                keep.insert(field);
                Fields(Some(Arc::new(keep)))
            }
            other => Fields(other),
        }
    }
}

/// A key, borrowed from the body when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// One object, with only the kept fields.
struct ObjectSeed<'a>(&'a Fields);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0 .0.is_none() {
            let value = Value::deserialize(d)?;
            return if value.is_object() {
                Ok(value)
            } else {
                Err(serde::de::Error::custom("expected a JSON object"))
            };
        }
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key()? {
            if self.0.keeps(&key) {
                out.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
}

/// A JSON array of objects.
struct ListSeed<'a>(&'a Fields);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PAGE_SIZE));
        while let Some(v) = seq.next_element_seed(ObjectSeed(self.0))? {
            out.push(v);
        }
        Ok(out)
    }
}

/// A list page: `{"data": [...], "total_count": n}` (the rows under the
/// endpoint's [`Endpoint::list_field`]) or a bare array (no total). Both are
/// accepted whatever the endpoint's documented shape: Clerk's `paginated`
/// lists answer either, depending on that parameter.
struct PageSeed<'a>(&'a Fields, &'static str);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = (Vec<Value>, Option<i64>);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = (Vec<Value>, Option<i64>);
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a {\"data\": [...]} page or a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ListSeed(self.0).visit_seq(seq).map(|rows| (rows, None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut data, mut total) = (None, None);
        while let Some(Key(key)) = map.next_key()? {
            if key == self.1 {
                data = Some(map.next_value_seed(ListSeed(self.0))?);
            } else if key == "total_count" {
                total = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let data = data.ok_or_else(|| serde::de::Error::missing_field(self.1))?;
        Ok((data, total))
    }
}

pub(super) fn parse_page(
    endpoint: &Endpoint,
    fields: &Fields,
    body: &[u8],
) -> Result<(Vec<Value>, Option<i64>), ClerkError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = match endpoint.envelope {
        Envelope::Array | Envelope::Data | Envelope::Paginated => {
            PageSeed(fields, endpoint.list_field).deserialize(&mut de)
        }
        Envelope::Single => ObjectSeed(fields)
            .deserialize(&mut de)
            .map(|o| (vec![o], Some(1))),
    };
    parsed
        .and_then(|page| de.end().map(|()| page))
        .map_err(|e| ClerkError::Malformed(format!("invalid JSON page: {e}")))
}

pub(super) fn row_id(row: &Value) -> Result<&str, ClerkError> {
    row.get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ClerkError::Malformed("a listed object has no \"id\"".into()))
}

pub(super) fn created_at(row: &Value) -> Result<i64, ClerkError> {
    row.get("created_at")
        .and_then(Value::as_i64)
        .ok_or_else(|| ClerkError::Malformed("a listed object has no \"created_at\"".into()))
}

/// What a walk relying on Clerk's order has seen: rows must come in order
/// of the integer `field`, and an id may not come twice. A repeat can only
/// hide among rows of one value (anything else breaks the order), so only
/// the ids of the latest value are kept: memory is bounded by the largest
/// tie.
#[derive(Debug)]
pub(super) struct RowOrder {
    field: &'static str,
    descending: bool,
    last: Option<i64>,
    ids_at_last: HashSet<String>,
}

impl RowOrder {
    pub(super) fn new(field: &'static str, descending: bool) -> RowOrder {
        RowOrder {
            field,
            descending,
            last: None,
            ids_at_last: HashSet::new(),
        }
    }

    pub(super) fn check(&mut self, name: &str, rows: &[Value]) -> Result<(), ClerkError> {
        let field = self.field;
        for row in rows {
            let value = row.get(field).and_then(Value::as_i64).ok_or_else(|| {
                ClerkError::Malformed(format!(
                    "{name}: a listed object has no integer \"{field}\""
                ))
            })?;
            match self.last {
                Some(last)
                    if (self.descending && value > last) || (!self.descending && value < last) =>
                {
                    return Err(ClerkError::Malformed(format!(
                        "{name}: Clerk's rows are not in the {field} order asked for"
                    )));
                }
                Some(last) if last == value => {}
                _ => self.ids_at_last.clear(),
            }
            self.last = Some(value);
            let id = row_id(row)?;
            if !self.ids_at_last.insert(id.to_string()) {
                return Err(ClerkError::Malformed(format!(
                    "{name}: the server listed {id} twice"
                )));
            }
        }
        Ok(())
    }
}
