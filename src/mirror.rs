//! The mirror: plain local tables kept current by Clerk's webhooks and
//! reconciled from Clerk's lists. Pure Rust: which objects are mirrored and
//! how each is kept, what an event means, which version of an object wins,
//! and an object's row as the mirror stores it (through the same
//! [`crate::convert`] as a foreign scan's rows).
//!
//! Svix delivers at least once and in no particular order, so every write
//! is decided by the object's own version ([`version`], [`delete_version`]),
//! never by arrival.

pub mod svix;

use crate::catalog::{object, Kind, ObjectSpec};
use crate::convert::{allowed_targets, convert, extract, Out};
use crate::remote::shared_words::{self, SharedWords};
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// An object the mirror can keep, and the prefix of Clerk's event types
/// about it (`user` for `user.created`, `user.updated`, `user.deleted`).
pub struct Mirrored {
    pub object: &'static str,
    pub event_prefix: &'static str,
}

/// The objects Clerk sends webhook events for, in the order
/// `create_mirror` makes their tables.
pub const MIRRORED: &[Mirrored] = &[
    Mirrored {
        object: "users",
        event_prefix: "user",
    },
    Mirrored {
        object: "organizations",
        event_prefix: "organization",
    },
    Mirrored {
        object: "organization_memberships",
        event_prefix: "organizationMembership",
    },
    Mirrored {
        object: "organization_invitations",
        event_prefix: "organizationInvitation",
    },
    Mirrored {
        object: "organization_domains",
        event_prefix: "organizationDomain",
    },
    Mirrored {
        object: "organization_roles",
        event_prefix: "role",
    },
    Mirrored {
        object: "organization_permissions",
        event_prefix: "permission",
    },
    Mirrored {
        object: "waitlist_entries",
        event_prefix: "waitlistEntry",
    },
    Mirrored {
        object: "billing_subscriptions",
        event_prefix: "subscription",
    },
    Mirrored {
        object: "billing_subscription_items",
        event_prefix: "subscriptionItem",
    },
    Mirrored {
        object: "billing_payment_attempts",
        event_prefix: "paymentAttempt",
    },
    Mirrored {
        object: "sessions",
        event_prefix: "session",
    },
];

/// How long a deleted object's tombstone is kept: longer than Svix retries
/// a delivery (about 28 hours), so no late event can bring it back.
pub const TOMBSTONE_DAYS: u32 = 7;

/// Why an object name cannot be mirrored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("clerk_fdw: cannot mirror \"{0}\": the objects Clerk sends webhook events for are {list}", list = mirrored_names().join(", "))]
pub struct NotMirrored(pub String);

pub fn mirrored_names() -> Vec<&'static str> {
    MIRRORED.iter().map(|m| m.object).collect()
}

/// The catalogue entries of `names` (all mirrored objects for `None`), in
/// [`MIRRORED`] order, each once.
pub fn select(names: Option<&[String]>) -> Result<Vec<&'static ObjectSpec>, NotMirrored> {
    if let Some(names) = names {
        if let Some(bad) = names
            .iter()
            .find(|n| !mirrored_names().contains(&n.as_str()))
        {
            return Err(NotMirrored(bad.clone()));
        }
    }
    Ok(MIRRORED
        .iter()
        .filter(|m| names.is_none_or(|names| names.iter().any(|n| n == m.object)))
        .filter_map(|m| object(m.object))
        .collect())
}

/// Whether a sync lists the object to reconcile it. Objects Clerk lists
/// only per parent (sessions per user, payment attempts per statement,
/// subscriptions per payer) would cost one request per parent: they are
/// kept by events alone.
pub fn reconciled(object: &ObjectSpec) -> bool {
    !object.needs_key
}

/// The version of an object: its `updated_at` (Unix ms), else its
/// `created_at`, else 0. A newer version replaces an older one, never the
/// other way round.
pub fn version(data: &Value) -> i64 {
    ["updated_at", "created_at"]
        .iter()
        .find_map(|f| data.get(f).and_then(Value::as_i64))
        .unwrap_or(0)
}

/// The version of a deletion: the event's time, which follows every change
/// of the object. Clerk's `timestamp` is documented in seconds and sent in
/// milliseconds: seconds are taken as the end of that second, so that a
/// deletion never ranks below an update of the same second. Never below the
/// object's own version when the event carries it.
pub fn delete_version(timestamp: i64, data: &Value) -> i64 {
    let ms = if timestamp.abs() < 100_000_000_000 {
        timestamp.saturating_mul(1000).saturating_add(999)
    } else {
        timestamp
    };
    ms.max(version(data))
}

/// SQL for [`version`] of a row of the mirror's `attrs`.
pub fn version_sql(attrs: &str) -> String {
    format!("coalesce(({attrs}->>'updated_at')::bigint, ({attrs}->>'created_at')::bigint, 0)")
}

/// What an event asks of the mirror.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Insert or replace the object, at `version`.
    Upsert { version: i64 },
    /// Remove the object, at `version`.
    Delete { version: i64 },
}

/// A webhook event, parsed.
#[derive(Debug, Clone)]
pub struct Event {
    /// Clerk's event type (`user.updated`).
    pub kind: String,
    /// The mirrored object it is about, `None` for an event type the
    /// mirror does not keep (`email.created`, ...).
    pub object: Option<&'static ObjectSpec>,
    pub id: String,
    pub change: Change,
    pub data: Value,
}

/// Why a body is not a Clerk event.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a Clerk event: {0}")]
    NotAnEvent(&'static str),
}

pub fn parse_event(body: &str) -> Result<Event, EventError> {
    let v: Value = serde_json::from_str(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or(EventError::NotAnEvent("no \"type\""))?
        .to_string();
    let timestamp = v
        .get("timestamp")
        .and_then(Value::as_i64)
        .ok_or(EventError::NotAnEvent("no integer \"timestamp\""))?;
    let data = v
        .get("data")
        .filter(|d| d.is_object())
        .ok_or(EventError::NotAnEvent("no object \"data\""))?
        .clone();
    let (prefix, action) = kind
        .rsplit_once('.')
        .ok_or(EventError::NotAnEvent("\"type\" is not <object>.<action>"))?;
    let object = MIRRORED
        .iter()
        .find(|m| m.event_prefix == prefix)
        .and_then(|m| object(m.object));
    let id = match data.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ if object.is_none() => String::new(),
        _ => return Err(EventError::NotAnEvent("no string \"data.id\"")),
    };
    let change = if action == "deleted" {
        Change::Delete {
            version: delete_version(timestamp, &data),
        }
    } else {
        Change::Upsert {
            version: version(&data),
        }
    };
    Ok(Event {
        kind,
        object,
        id,
        change,
        data,
    })
}

/// Why an object cannot become a mirror row.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{object}.{column} of {id}: {reason}")]
pub struct RowError {
    pub object: &'static str,
    pub column: &'static str,
    pub id: String,
    pub reason: String,
}

/// The mirror row of `data`: each column's value, converted as a foreign
/// scan converts it for the type `IMPORT FOREIGN SCHEMA` declares, written
/// as JSON that `jsonb_populate_record` reads back into that type.
pub fn row(object: &'static ObjectSpec, data: &Value) -> Result<Value, RowError> {
    let mut row = Map::new();
    for column in object.columns.iter().filter(|c| c.kind != Kind::Removed) {
        let target = allowed_targets(column.kind)[0];
        let value = extract(data, column.source).unwrap_or(&Value::Null);
        let out = convert(value, column.kind, target).map_err(|e| RowError {
            object: object.name,
            column: column.name,
            id: data
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            reason: e.to_string(),
        })?;
        row.insert(
            column.name.to_string(),
            out.map_or(Value::Null, record_json),
        );
    }
    Ok(Value::Object(row))
}

/// A converted value as `jsonb_populate_record` reads it.
fn record_json(out: Out) -> Value {
    match out {
        Out::Text(s) => Value::String(s),
        Out::Bool(b) => Value::Bool(b),
        Out::I16(n) => n.into(),
        Out::I32(n) => n.into(),
        Out::I64(n) | Out::Numeric(n) => n.into(),
        Out::F64(f) => f.into(),
        Out::PgMicros(us) => Value::String(pg_micros_iso(us)),
        Out::Json(v) => v,
        Out::TextArray(items) => items
            .into_iter()
            .map(|s| s.map_or(Value::Null, Value::String))
            .collect(),
    }
}

/// Postgres microseconds as an ISO 8601 UTC timestamp, exact to the
/// microsecond.
fn pg_micros_iso(us: i64) -> String {
    const PG_EPOCH_UNIX_SECONDS: i64 = 946_684_800;
    let secs = us.div_euclid(1_000_000) + PG_EPOCH_UNIX_SECONDS;
    let micros = us.rem_euclid(1_000_000) as u32;
    chrono::DateTime::from_timestamp(secs, micros * 1000)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_default()
}

/// Deliveries refused (bad signature or body), per mirror, counted across
/// the cluster's backends in [`SharedWords`]: a refusal is an ERROR, which
/// rolls back anything it could write to a table.
pub struct Refusals(Arc<SharedWords>);

/// Mirrors whose refusals are counted; later ones are not counted.
const REFUSAL_SLOTS: usize = 256;

impl Refusals {
    /// The counts kept in `path` (this process's own when `None`).
    pub fn open(path: Option<&Path>) -> Refusals {
        Refusals(shared_words::open(path, REFUSAL_SLOTS * 2))
    }

    pub fn add(&self, mirror: u64) {
        if let Some(slot) = self.slot(mirror, true) {
            self.0.words()[slot + 1].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, mirror: u64) -> u64 {
        self.slot(mirror, false)
            .map_or(0, |slot| self.0.words()[slot + 1].load(Ordering::Relaxed))
    }

    /// The word pair of `mirror`, claimed when `claim` and none is.
    fn slot(&self, mirror: u64, claim: bool) -> Option<usize> {
        let words = self.0.words();
        for slot in (0..REFUSAL_SLOTS).map(|i| i * 2) {
            let key = &words[slot];
            match key.load(Ordering::Acquire) {
                k if k == mirror => return Some(slot),
                0 if claim => {
                    match key.compare_exchange(0, mirror, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => return Some(slot),
                        Err(k) if k == mirror => return Some(slot),
                        Err(_) => continue,
                    }
                }
                0 => return None,
                _ => continue,
            }
        }
        None
    }
}

/// A mirror's key in [`Refusals`]: a hash of its database and schema,
/// never 0 (a free slot).
pub fn mirror_key(database: u32, schema: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in database.to_le_bytes().iter().chain(schema.as_bytes()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_mirrored_object_is_in_the_catalogue_with_an_id() {
        for m in MIRRORED {
            let o = object(m.object).unwrap_or_else(|| panic!("{}", m.object));
            assert!(o.column("id").is_some(), "{}", m.object);
            assert!(o.column("attrs").is_some(), "{}", m.object);
        }
        assert_eq!(select(None).unwrap().len(), MIRRORED.len());
        let err = select(Some(&["users".into(), "jwt_templates".into()])).unwrap_err();
        assert!(err.to_string().contains("\"jwt_templates\""), "{err}");
    }

    #[test]
    fn events_map_to_objects_versions_and_deletes() {
        let e = parse_event(r#"{"type":"user.updated","timestamp":1716883600123,"object":"event","instance_id":"ins_1","data":{"id":"user_1","created_at":5,"updated_at":9}}"#).unwrap();
        assert_eq!(e.object.unwrap().name, "users");
        assert_eq!(e.change, Change::Upsert { version: 9 });
        // Seconds are the end of that second; never below the object's own.
        let e = parse_event(r#"{"type":"organizationMembership.deleted","timestamp":1716883200,"data":{"id":"orgmem_1","updated_at":1716883200500}}"#).unwrap();
        assert_eq!(
            e.change,
            Change::Delete {
                version: 1716883200999
            }
        );
        let e = parse_event(r#"{"type":"role.deleted","timestamp":1716883200123,"data":{"id":"role_1","deleted":true}}"#).unwrap();
        assert_eq!(
            (e.object.unwrap().name, e.change),
            (
                "organization_roles",
                Change::Delete {
                    version: 1716883200123
                }
            )
        );
        let e = parse_event(r#"{"type":"email.created","timestamp":1,"data":{"to":"x"}}"#).unwrap();
        assert!(e.object.is_none());
        for (body, why) in [
            ("{", "not JSON"),
            (r#"{"type":"user.created","data":{"id":"u"}}"#, "timestamp"),
            (r#"{"type":"user.created","timestamp":1,"data":[]}"#, "data"),
            (
                r#"{"type":"user.created","timestamp":1,"data":{"id":5}}"#,
                "data.id",
            ),
            (
                r#"{"type":"usercreated","timestamp":1,"data":{}}"#,
                "<object>.<action>",
            ),
        ] {
            let err = parse_event(body).unwrap_err().to_string();
            assert!(err.contains(why), "{body}: {err}");
        }
    }

    #[test]
    fn refusals_are_counted_per_mirror() {
        let r = Refusals::open(None);
        let (a, b) = (mirror_key(5, "clerk_local"), mirror_key(5, "other"));
        assert_ne!(a, b);
        r.add(a);
        r.add(a);
        r.add(b);
        assert_eq!(
            (r.get(a), r.get(b), r.get(mirror_key(6, "clerk_local"))),
            (2, 1, 0)
        );
    }

    #[test]
    fn rows_convert_like_the_scan() {
        let users = object("users").unwrap();
        let data = json!({"id": "user_1", "created_at": 1_700_000_000_123i64, "banned": true,
            "primary_email_address_id": "e2", "email_addresses": [{"id": "e1", "email_address": "a@x"}, {"id": "e2", "email_address": "b@x"}],
            "public_metadata": {"plan": "pro"}});
        let r = row(users, &data).unwrap();
        assert_eq!(r["email"], "b@x");
        assert_eq!(r["email_addresses"], json!(["a@x", "b@x"]));
        assert_eq!(r["created_at"], "2023-11-14T22:13:20.123000Z");
        assert_eq!(r["banned"], true);
        assert_eq!(r["attrs"], data);
        assert_eq!(r["first_name"], Value::Null);
        let err = row(users, &json!({"id": "user_2", "created_at": "yesterday"})).unwrap_err();
        assert_eq!((err.column, err.id.as_str()), ("created_at", "user_2"));
    }
}
