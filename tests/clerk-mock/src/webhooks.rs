//! Clerk's webhooks from the test server: each change made through
//! [`crate::MockServer::change`] yields the events Clerk sends for it, with
//! the payload shape of Clerk's webhook spec (`webhooks-2025-04-15.yml`),
//! signed with Svix's scheme when delivered.
//!
//! Like Clerk, deleting a user or an organization also ends its
//! memberships (an `organizationMembership.deleted` each). Unlike Clerk, a
//! membership keeps the copy of its organization and user made when it was
//! created: a membership's nested objects change only with the membership.

use crate::data::{self, DataConfig, INSTANCE_ID};
use crate::Data;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

/// A change to the instance's objects.
#[derive(Debug, Clone)]
pub enum Change {
    CreateUser,
    /// New names and metadata, a newer `updated_at`.
    UpdateUser(String),
    DeleteUser(String),
    CreateOrganization,
    UpdateOrganization(String),
    DeleteOrganization(String),
    CreateMembership {
        organization: String,
        user: String,
    },
    /// The other role.
    UpdateMembership(String),
    DeleteMembership(String),
}

/// One event as Svix delivers it: the message id (the same on every
/// attempt) and the raw body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub kind: String,
    pub body: String,
}

/// The events made so far and how they are signed.
pub struct Outbox {
    cfg: DataConfig,
    pub(crate) secret: String,
    pub(crate) sent: Vec<Delivery>,
    /// Numbers new objects and messages.
    next: u64,
    /// The last time given out: changes get strictly increasing times.
    last_ms: i64,
}

impl Outbox {
    pub(crate) fn new(cfg: DataConfig) -> Outbox {
        Outbox {
            cfg,
            secret: String::new(),
            sent: Vec::new(),
            next: 0,
            last_ms: 0,
        }
    }

    /// Now in Unix ms, after every time given out before.
    pub(crate) fn tick(&mut self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.last_ms = now.max(self.last_ms + 1).max(self.cfg.newest_ms + 1);
        self.last_ms
    }

    pub(crate) fn number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub(crate) fn cfg(&self) -> &DataConfig {
        &self.cfg
    }

    pub(crate) fn deliver(&mut self, kind: &str, data: Value) -> Delivery {
        let timestamp = self.tick();
        let n = self.number();
        let body = json!({
            "data": data,
            "event_attributes": {"http_request": {"client_ip": "203.0.113.7", "user_agent": "clerk-mock"}},
            "instance_id": INSTANCE_ID,
            "object": "event",
            "timestamp": timestamp,
            "type": kind,
        });
        let delivery = Delivery {
            id: format!(
                "msg_{}",
                data::clerk_id("mock", n).trim_start_matches("mock_")
            ),
            kind: kind.to_string(),
            body: body.to_string(),
        };
        self.sent.push(delivery.clone());
        delivery
    }

    pub(crate) fn headers(&self, delivery: &Delivery) -> Vec<(String, String)> {
        sign(&self.secret, delivery)
    }
}

/// The `svix-id`, `svix-timestamp` and `svix-signature` headers of
/// `delivery`, signed now with `secret` (`whsec_` and base64).
pub fn sign(secret: &str, delivery: &Delivery) -> Vec<(String, String)> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string();
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_default();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{}.{timestamp}.", delivery.id).as_bytes());
    mac.update(delivery.body.as_bytes());
    let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    vec![
        ("svix-id".into(), delivery.id.clone()),
        ("svix-timestamp".into(), timestamp),
        ("svix-signature".into(), signature),
    ]
}

fn position(items: &[Value], id: &str) -> Result<usize, String> {
    items
        .iter()
        .position(|v| v["id"] == id)
        .ok_or_else(|| format!("no object {id}"))
}

/// A copy of `cfg` in which object number `n` is the newest of `n + 1`.
pub(crate) fn newest(cfg: &DataConfig, n: usize) -> DataConfig {
    DataConfig {
        users: n + 1,
        organizations: n + 1,
        ..cfg.clone()
    }
}

/// Makes `change` in `data`; returns the events, as (type, data).
pub(crate) fn apply(
    out: &mut Outbox,
    data: &mut Data,
    change: Change,
) -> Result<Vec<(String, Value)>, String> {
    let Data {
        dataset: ds,
        users_by_id,
        ..
    } = data;
    let mut events = Vec::new();
    let deleted = |object: &str, id: &str| json!({"object": object, "id": id, "deleted": true});
    match change {
        Change::CreateUser => {
            let n = out.cfg.users + out.number() as usize;
            let mut user = data::user(&newest(&out.cfg, n), n);
            let at = out.tick();
            user["created_at"] = json!(at);
            user["updated_at"] = json!(at);
            ds.users.push(user.clone());
            events.push(("user.created".into(), user));
        }
        Change::UpdateUser(id) => {
            let i = *users_by_id
                .get(&id)
                .ok_or_else(|| format!("no user {id}"))?;
            let n = out.number();
            let at = out.tick();
            let user = &mut ds.users[i];
            user["first_name"] = json!(format!("Renamed {n}"));
            user["public_metadata"] =
                json!({"plan": if n.is_multiple_of(2) { "pro" } else { "team" }, "change": n});
            user["updated_at"] = json!(at);
            events.push(("user.updated".into(), user.clone()));
        }
        Change::DeleteUser(id) => {
            let i = position(&ds.users, &id)?;
            let user = ds.users.remove(i);
            let ended: Vec<Value> = ds
                .memberships
                .iter()
                .filter(|m| m["public_user_data"]["user_id"] == id)
                .cloned()
                .collect();
            ds.memberships
                .retain(|m| m["public_user_data"]["user_id"] != id);
            for m in ended {
                events.push(("organizationMembership.deleted".into(), m));
            }
            let mut gone = deleted("user", &id);
            gone["external_id"] = user["external_id"].clone();
            events.push(("user.deleted".into(), gone));
        }
        Change::CreateOrganization => {
            let k = out.cfg.organizations + out.number() as usize;
            let mut org = data::organization(&newest(&out.cfg, k), k, 0);
            let at = out.tick();
            org["created_at"] = json!(at);
            org["updated_at"] = json!(at);
            org["created_by"] = Value::Null;
            ds.organizations.push(org.clone());
            events.push(("organization.created".into(), org));
        }
        Change::UpdateOrganization(id) => {
            let i = position(&ds.organizations, &id)?;
            let n = out.number();
            let at = out.tick();
            let org = &mut ds.organizations[i];
            org["name"] = json!(format!("Renamed org {n}"));
            org["public_metadata"] = json!({"tier": "enterprise", "change": n});
            org["updated_at"] = json!(at);
            events.push(("organization.updated".into(), org.clone()));
        }
        Change::DeleteOrganization(id) => {
            let i = position(&ds.organizations, &id)?;
            ds.organizations.remove(i);
            let ended: Vec<Value> = ds
                .memberships
                .iter()
                .filter(|m| m["organization"]["id"] == id)
                .cloned()
                .collect();
            ds.memberships.retain(|m| m["organization"]["id"] != id);
            for m in ended {
                events.push(("organizationMembership.deleted".into(), m));
            }
            events.push(("organization.deleted".into(), deleted("organization", &id)));
        }
        Change::CreateMembership { organization, user } => {
            let k = position(&ds.organizations, &organization)?;
            let u = users_by_id
                .get(&user)
                .copied()
                .ok_or_else(|| format!("no user {user}"))?;
            let j = out.number() as usize;
            let org = ds.organizations[k].clone();
            // `newest`: an organization made by a change is past `cfg`'s count.
            let mut m = data::membership(&newest(&out.cfg, k), &org, k, 1, 0);
            // The user's data, from the user as it is now.
            let person = &ds.users[u];
            m["id"] = json!(format!("orgmem_new_{j}"));
            m["public_user_data"] = json!({
                "user_id": person["id"], "first_name": person["first_name"], "last_name": person["last_name"],
                "profile_image_url": person["image_url"], "image_url": person["image_url"],
                "has_image": person["has_image"], "identifier": person["username"], "username": person["username"],
            });
            let at = out.tick();
            m["created_at"] = json!(at);
            m["updated_at"] = json!(at);
            ds.memberships.push(m.clone());
            events.push(("organizationMembership.created".into(), m));
        }
        Change::UpdateMembership(id) => {
            let i = position(&ds.memberships, &id)?;
            let at = out.tick();
            let m = &mut ds.memberships[i];
            let admin = m["role"] == "org:admin";
            m["role"] = json!(if admin { "org:member" } else { "org:admin" });
            m["role_name"] = json!(if admin { "Member" } else { "Admin" });
            m["updated_at"] = json!(at);
            events.push(("organizationMembership.updated".into(), m.clone()));
        }
        Change::DeleteMembership(id) => {
            let i = position(&ds.memberships, &id)?;
            let m = ds.memberships.remove(i);
            events.push(("organizationMembership.deleted".into(), m));
        }
    }
    Ok(events)
}
