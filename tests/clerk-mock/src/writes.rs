//! The Backend API's writes that clerk_fdw sends (users, organizations,
//! memberships, invitations, allow- and blocklist, waitlist), applied to
//! the instance's objects with Clerk's answers and webhook events. The
//! request itself was checked against the spec before it gets here.
//!
//! Business refusals (an address already taken, a member already in the
//! organization) are Clerk's 422 with its error body; a missing object is
//! its 404.

use crate::data::{self, INSTANCE_ID};
use crate::webhooks::{newest, Outbox};
use crate::{clerk_error, Data};
use serde_json::{json, Value};

pub(crate) type Refusal = (u16, Vec<u8>);

/// What a write answers, and the events it makes as (type, data).
pub(crate) type Written = (Value, Vec<(String, Value)>);

fn not_found(what: &str, id: &str) -> Refusal {
    clerk_error(
        404,
        "resource_not_found",
        "not found",
        &format!("No {what} was found with id {id}"),
    )
}

fn unprocessable(code: &str, long: &str) -> Refusal {
    clerk_error(422, code, "Unprocessable request", long)
}

fn find(items: &[Value], id: &str, what: &str) -> Result<usize, Refusal> {
    items
        .iter()
        .position(|v| v["id"] == id)
        .ok_or_else(|| not_found(what, id))
}

fn field<'a>(body: Option<&'a Value>, name: &str) -> &'a Value {
    body.and_then(|b| b.get(name)).unwrap_or(&Value::Null)
}

/// Clerk's deep merge of metadata: `null` removes a key.
fn merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        match value {
            Value::Null => {
                map.remove(key);
            }
            Value::Object(_) if map.get(key).is_some_and(Value::is_object) => {
                merge(map.get_mut(key).expect("checked above"), value);
            }
            _ => {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Clerk's display name of a role key (`org:admin`: `Admin`).
fn role_name(role: &str) -> String {
    let name = role.trim_start_matches("org:");
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn deleted(object: &str, id: &str) -> Value {
    json!({"object": object, "id": id, "deleted": true})
}

/// Unix ms of an RFC 3339 time.
fn ms_of(text: &Value) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.as_str()?)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn email_taken(data: &Data, address: &str) -> bool {
    let address = address.to_lowercase();
    data.dataset.users.iter().any(|u| {
        u["email_addresses"].as_array().is_some_and(|list| {
            list.iter().any(|e| {
                e["email_address"]
                    .as_str()
                    .is_some_and(|a| a.to_lowercase() == address)
            })
        })
    })
}

/// Applies a write of `method` on `segments` (below `/v1`).
pub(crate) fn apply(
    out: &mut Outbox,
    data: &mut Data,
    method: &str,
    segments: &[&str],
    body: Option<&Value>,
) -> Result<Written, Refusal> {
    match (method, segments) {
        ("POST", ["users"]) => create_user(out, data, body),
        ("PATCH", ["users", id]) => update_user(out, data, id, |user| {
            for name in ["first_name", "last_name", "username", "external_id"] {
                if let Some(v) = body.and_then(|b| b.get(name)) {
                    user[name] = v.clone();
                }
            }
        }),
        ("PATCH", ["users", id, "metadata"]) => update_user(out, data, id, |user| {
            for name in ["public_metadata", "private_metadata", "unsafe_metadata"] {
                merge(&mut user[name], field(body, name));
            }
        }),
        ("POST", ["users", id, action @ ("ban" | "unban" | "lock" | "unlock")]) => {
            update_user(out, data, id, |user| match *action {
                "ban" => user["banned"] = json!(true),
                "unban" => user["banned"] = json!(false),
                "lock" => user["locked"] = json!(true),
                _ => user["locked"] = json!(false),
            })
        }
        ("DELETE", ["users", id]) => {
            let i = find(&data.dataset.users, id, "user")?;
            let user = data.dataset.users.remove(i);
            let mut events = end_memberships(data, |m| m["public_user_data"]["user_id"] == *id);
            let mut gone = deleted("user", id);
            gone["external_id"] = user["external_id"].clone();
            events.push(("user.deleted".into(), gone.clone()));
            Ok((deleted("user", id), events))
        }
        ("POST", ["organizations"]) => create_organization(out, data, body),
        ("PATCH", ["organizations", id]) => update_organization(out, data, id, |org| {
            for name in [
                "name",
                "slug",
                "max_allowed_memberships",
                "admin_delete_enabled",
            ] {
                if let Some(v) = body.and_then(|b| b.get(name)) {
                    org[name] = v.clone();
                }
            }
        }),
        ("PATCH", ["organizations", id, "metadata"]) => update_organization(out, data, id, |org| {
            for name in ["public_metadata", "private_metadata"] {
                merge(&mut org[name], field(body, name));
            }
        }),
        ("DELETE", ["organizations", id]) => {
            let i = find(&data.dataset.organizations, id, "organization")?;
            data.dataset.organizations.remove(i);
            let mut events = end_memberships(data, |m| m["organization"]["id"] == *id);
            events.push(("organization.deleted".into(), deleted("organization", id)));
            Ok((deleted("organization", id), events))
        }
        ("POST", ["organizations", org, "memberships"]) => create_membership(out, data, org, body),
        ("PATCH", ["organizations", org, "memberships", user]) => {
            update_membership(out, data, org, user, |m| {
                let role = field(body, "role").as_str().unwrap_or("org:member");
                m["role_name"] = json!(role_name(role));
                m["role"] = json!(role);
            })
        }
        ("PATCH", ["organizations", org, "memberships", user, "metadata"]) => {
            update_membership(out, data, org, user, |m| {
                for name in ["public_metadata", "private_metadata"] {
                    merge(&mut m[name], field(body, name));
                }
            })
        }
        ("DELETE", ["organizations", org, "memberships", user]) => {
            let i = membership_of(data, org, user)?;
            let m = data.dataset.memberships.remove(i);
            Ok((
                m.clone(),
                vec![("organizationMembership.deleted".into(), m)],
            ))
        }
        ("POST", ["invitations"]) => {
            let inv = new_invitation(out, data, body.unwrap_or(&Value::Null))?;
            Ok((inv, Vec::new()))
        }
        ("POST", ["invitations", "bulk"]) => {
            let items = body.and_then(Value::as_array).cloned().unwrap_or_default();
            let mut created = Vec::new();
            // All or nothing, as Clerk validates the whole list first.
            let saved = data.dataset.invitations.clone();
            for item in &items {
                match new_invitation(out, data, item) {
                    Ok(v) => created.push(v),
                    Err(refusal) => {
                        data.dataset.invitations = saved;
                        return Err(refusal);
                    }
                }
            }
            Ok((Value::Array(created), Vec::new()))
        }
        ("POST", ["invitations", id, "revoke"]) => {
            let i = find(&data.dataset.invitations, id, "invitation")?;
            let at = out.tick();
            let inv = &mut data.dataset.invitations[i];
            if inv["status"] != "pending" {
                return Err(unprocessable(
                    "invitation_not_pending",
                    "Only pending invitations can be revoked.",
                ));
            }
            inv["status"] = json!("revoked");
            inv["revoked"] = json!(true);
            inv["updated_at"] = json!(at);
            inv.as_object_mut().map(|o| o.remove("url"));
            Ok((inv.clone(), Vec::new()))
        }
        ("POST", ["organizations", org, "invitations"]) => {
            let inv = new_organization_invitation(out, data, org, body.unwrap_or(&Value::Null))?;
            Ok((
                inv.clone(),
                vec![("organizationInvitation.created".into(), inv)],
            ))
        }
        ("POST", ["organizations", org, "invitations", "bulk"]) => {
            let items = body.and_then(Value::as_array).cloned().unwrap_or_default();
            let mut created = Vec::new();
            // All or nothing, as Clerk validates the whole list first.
            let saved = data.dataset.organization_invitations.clone();
            for item in &items {
                match new_organization_invitation(out, data, org, item) {
                    Ok(v) => created.push(v),
                    Err(refusal) => {
                        data.dataset.organization_invitations = saved;
                        return Err(refusal);
                    }
                }
            }
            let events = created
                .iter()
                .map(|inv| ("organizationInvitation.created".to_string(), inv.clone()))
                .collect();
            let n = created.len();
            Ok((json!({"data": created, "total_count": n}), events))
        }
        ("POST", ["organizations", org, "invitations", id, "revoke"]) => {
            let i = find(
                &data.dataset.organization_invitations,
                id,
                "organization invitation",
            )?;
            let at = out.tick();
            let inv = &mut data.dataset.organization_invitations[i];
            if inv["organization_id"] != *org {
                return Err(not_found("organization invitation", id));
            }
            if inv["status"] != "pending" {
                return Err(unprocessable(
                    "invitation_not_pending",
                    "Only pending invitations can be revoked.",
                ));
            }
            inv["status"] = json!("revoked");
            inv["updated_at"] = json!(at);
            Ok((
                inv.clone(),
                vec![("organizationInvitation.revoked".into(), inv.clone())],
            ))
        }
        ("POST", [list @ ("allowlist_identifiers" | "blocklist_identifiers")]) => {
            let identifier = field(body, "identifier")
                .as_str()
                .unwrap_or_default()
                .to_string();
            let items = identifiers(data, list);
            if items.iter().any(|v| v["identifier"] == identifier.as_str()) {
                return Err(unprocessable(
                    "duplicate_record",
                    "This identifier is already on the list.",
                ));
            }
            let at = out.tick();
            let n = out.number();
            let kind = if identifier.contains('@') {
                "email_address"
            } else if identifier.starts_with('+') {
                "phone_number"
            } else {
                "web3_wallet"
            };
            let (prefix, object) = if *list == "allowlist_identifiers" {
                ("alid", "allowlist_identifier")
            } else {
                ("blid", "blocklist_identifier")
            };
            let mut entry = json!({
                "object": object, "id": format!("{prefix}_new_{n}"), "identifier": identifier,
                "identifier_type": kind, "instance_id": INSTANCE_ID, "created_at": at, "updated_at": at,
            });
            if *list == "allowlist_identifiers" {
                entry["invitation_id"] = Value::Null;
            }
            identifiers(data, list).push(entry.clone());
            Ok((entry, Vec::new()))
        }
        ("DELETE", [list @ ("allowlist_identifiers" | "blocklist_identifiers"), id]) => {
            let items = identifiers(data, list);
            let i = find(items, id, "identifier")?;
            let entry = items.remove(i);
            Ok((
                deleted(entry["object"].as_str().unwrap_or("identifier"), id),
                Vec::new(),
            ))
        }
        ("POST", ["waitlist_entries"]) => {
            let entry = new_waitlist_entry(out, data, body.unwrap_or(&Value::Null))?;
            Ok((entry.clone(), vec![("waitlistEntry.created".into(), entry)]))
        }
        ("POST", ["waitlist_entries", "bulk"]) => {
            let items = body.and_then(Value::as_array).cloned().unwrap_or_default();
            let mut created = Vec::new();
            // All or nothing, as Clerk validates the whole list first.
            let saved = data.dataset.settings.waitlist_entries.clone();
            for item in &items {
                match new_waitlist_entry(out, data, item) {
                    Ok(v) => created.push(v),
                    Err(refusal) => {
                        data.dataset.settings.waitlist_entries = saved;
                        return Err(refusal);
                    }
                }
            }
            let events = created
                .iter()
                .map(|e| ("waitlistEntry.created".to_string(), e.clone()))
                .collect();
            Ok((Value::Array(created), events))
        }
        ("POST", ["waitlist_entries", id, action @ ("invite" | "reject")]) => {
            let entries = &mut data.dataset.settings.waitlist_entries;
            let i = find(entries, id, "waitlist entry")?;
            let at = out.tick();
            let n = out.number();
            let entry = &mut entries[i];
            if entry["status"] != "pending" {
                return Err(unprocessable(
                    "waitlist_entry_not_pending",
                    "Only pending waitlist entries can be invited or rejected.",
                ));
            }
            if *action == "invite" {
                entry["status"] = json!("invited");
                entry["invitation"] = json!({
                    "object": "invitation", "id": format!("inv_wl_{n}"), "email_address": entry["email_address"],
                    "public_metadata": {}, "revoked": false, "status": "pending",
                    "url": format!("https://accounts.example.com/invite/wl{n}"),
                    "expires_at": at + 30 * 86_400_000, "created_at": at, "updated_at": at,
                });
            } else {
                entry["status"] = json!("rejected");
            }
            entry["updated_at"] = json!(at);
            Ok((
                entry.clone(),
                vec![("waitlistEntry.updated".into(), entry.clone())],
            ))
        }
        ("DELETE", ["waitlist_entries", id]) => {
            let entries = &mut data.dataset.settings.waitlist_entries;
            let i = find(entries, id, "waitlist entry")?;
            entries.remove(i);
            Ok((deleted("waitlist_entry", id), Vec::new()))
        }
        _ => Err(not_found("endpoint", &segments.join("/"))),
    }
}

fn identifiers<'a>(data: &'a mut Data, list: &str) -> &'a mut Vec<Value> {
    if list == "allowlist_identifiers" {
        &mut data.dataset.allowlist_identifiers
    } else {
        &mut data.dataset.blocklist_identifiers
    }
}

/// Removes the memberships `ends` picks; their deletion events.
fn end_memberships(data: &mut Data, ends: impl Fn(&Value) -> bool) -> Vec<(String, Value)> {
    let (ended, kept): (Vec<Value>, Vec<Value>) =
        data.dataset.memberships.drain(..).partition(|m| ends(m));
    data.dataset.memberships = kept;
    ended
        .into_iter()
        .map(|m| ("organizationMembership.deleted".to_string(), m))
        .collect()
}

fn create_user(
    out: &mut Outbox,
    data: &mut Data,
    body: Option<&Value>,
) -> Result<Written, Refusal> {
    let emails: Vec<String> = field(body, "email_address")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(String::from))
        .collect();
    if let Some(taken) = emails.iter().find(|e| email_taken(data, e)) {
        return Err(unprocessable(
            "form_identifier_exists",
            &format!("That email address is taken: {taken}"),
        ));
    }
    if let Some(username) = field(body, "username").as_str() {
        if data.dataset.users.iter().any(|u| u["username"] == username) {
            return Err(unprocessable(
                "form_identifier_exists",
                "That username is taken. Please try another.",
            ));
        }
    }
    let n = out.cfg().users + out.number() as usize;
    let mut user = data::user(&newest(out.cfg(), n), n);
    let at = out.tick();
    let created = ms_of(field(body, "created_at")).unwrap_or(at);
    let phones: Vec<String> = field(body, "phone_number")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(String::from))
        .collect();
    let identification = |kind: &str, k: usize, text: &str| {
        let mut v = json!({
            "id": format!("idn_new{n}{kind}{k}"), "object": kind, kind: text, "reserved": false,
            "verification": {"object": "verification_admin", "status": "verified", "strategy": "admin", "attempts": null, "expire_at": null},
            "linked_to": [], "created_at": created, "updated_at": created,
        });
        if kind == "phone_number" {
            v["reserved_for_second_factor"] = json!(false);
            v["default_second_factor"] = json!(false);
        }
        v
    };
    user["email_addresses"] = json!(emails
        .iter()
        .enumerate()
        .map(|(k, e)| identification("email_address", k, e))
        .collect::<Vec<_>>());
    user["primary_email_address_id"] = if emails.is_empty() {
        Value::Null
    } else {
        json!(format!("idn_new{n}email_address0"))
    };
    user["phone_numbers"] = json!(phones
        .iter()
        .enumerate()
        .map(|(k, p)| identification("phone_number", k, p))
        .collect::<Vec<_>>());
    user["primary_phone_number_id"] = if phones.is_empty() {
        Value::Null
    } else {
        json!(format!("idn_new{n}phone_number0"))
    };
    for name in ["first_name", "last_name", "username", "external_id"] {
        user[name] = field(body, name).clone();
    }
    for name in ["public_metadata", "private_metadata", "unsafe_metadata"] {
        user[name] = metadata(field(body, name));
    }
    user["banned"] = json!(field(body, "banned").as_bool().unwrap_or(false));
    user["locked"] = json!(field(body, "locked").as_bool().unwrap_or(false));
    user["password_enabled"] =
        json!(field(body, "password").is_string() || field(body, "password_digest").is_string());
    user["two_factor_enabled"] = json!(false);
    for name in ["last_sign_in_at", "last_active_at"] {
        user[name] = Value::Null;
    }
    user["created_at"] = json!(created);
    user["updated_at"] = json!(at);
    data.dataset.users.push(user.clone());
    Ok((user.clone(), vec![("user.created".into(), user)]))
}

fn update_user(
    out: &mut Outbox,
    data: &mut Data,
    id: &str,
    change: impl FnOnce(&mut Value),
) -> Result<Written, Refusal> {
    let i = find(&data.dataset.users, id, "user")?;
    let before = data.dataset.users[i].clone();
    let mut user = before.clone();
    change(&mut user);
    if user["username"] != before["username"]
        && !user["username"].is_null()
        && data
            .dataset
            .users
            .iter()
            .any(|u| u["username"] == user["username"])
    {
        return Err(unprocessable(
            "form_identifier_exists",
            "That username is taken. Please try another.",
        ));
    }
    user["updated_at"] = json!(out.tick());
    data.dataset.users[i] = user.clone();
    Ok((user.clone(), vec![("user.updated".into(), user)]))
}

fn create_organization(
    out: &mut Outbox,
    data: &mut Data,
    body: Option<&Value>,
) -> Result<Written, Refusal> {
    let k = out.cfg().organizations + out.number() as usize;
    let mut org = data::organization(&newest(out.cfg(), k), k, 0);
    let slug = match field(body, "slug").as_str() {
        Some(slug) => slug.to_string(),
        None => format!("org-new-{k}"),
    };
    if data
        .dataset
        .organizations
        .iter()
        .any(|o| o["slug"] == slug.as_str())
    {
        return Err(unprocessable(
            "form_identifier_exists",
            "This slug is already taken by another organization.",
        ));
    }
    if let Some(creator) = field(body, "created_by").as_str() {
        find(&data.dataset.users, creator, "user")?;
    }
    let at = out.tick();
    org["name"] = field(body, "name").clone();
    org["slug"] = json!(slug);
    org["created_by"] = field(body, "created_by").clone();
    org["max_allowed_memberships"] =
        json!(field(body, "max_allowed_memberships").as_i64().unwrap_or(0));
    for name in ["public_metadata", "private_metadata"] {
        org[name] = metadata(field(body, name));
    }
    org["created_at"] = json!(at);
    org["updated_at"] = json!(at);
    data.dataset.organizations.push(org.clone());
    Ok((org.clone(), vec![("organization.created".into(), org)]))
}

fn update_organization(
    out: &mut Outbox,
    data: &mut Data,
    id: &str,
    change: impl FnOnce(&mut Value),
) -> Result<Written, Refusal> {
    let i = find(&data.dataset.organizations, id, "organization")?;
    let mut org = data.dataset.organizations[i].clone();
    change(&mut org);
    if org["slug"] != data.dataset.organizations[i]["slug"]
        && data
            .dataset
            .organizations
            .iter()
            .any(|o| o["slug"] == org["slug"])
    {
        return Err(unprocessable(
            "form_identifier_exists",
            "This slug is already taken by another organization.",
        ));
    }
    org["updated_at"] = json!(out.tick());
    data.dataset.organizations[i] = org.clone();
    Ok((org.clone(), vec![("organization.updated".into(), org)]))
}

fn membership_of(data: &Data, org: &str, user: &str) -> Result<usize, Refusal> {
    data.dataset
        .memberships
        .iter()
        .position(|m| m["organization"]["id"] == org && m["public_user_data"]["user_id"] == user)
        .ok_or_else(|| not_found("organization membership", &format!("{org}/{user}")))
}

fn create_membership(
    out: &mut Outbox,
    data: &mut Data,
    org: &str,
    body: Option<&Value>,
) -> Result<Written, Refusal> {
    let k = find(&data.dataset.organizations, org, "organization")?;
    let user = field(body, "user_id")
        .as_str()
        .unwrap_or_default()
        .to_string();
    let u = find(&data.dataset.users, &user, "user")?;
    if membership_of(data, org, &user).is_ok() {
        return Err(unprocessable(
            "already_a_member_in_organization",
            "The user is already a member of the organization.",
        ));
    }
    let n = out.number();
    let organization = data.dataset.organizations[k].clone();
    // A template only: its times and ids are set below.
    let mut m = data::membership(out.cfg(), &organization, 0, 1, 0);
    let person = &data.dataset.users[u];
    m["id"] = json!(format!("orgmem_new_{n}"));
    m["public_user_data"] = json!({
        "user_id": person["id"], "first_name": person["first_name"], "last_name": person["last_name"],
        "profile_image_url": person["image_url"], "image_url": person["image_url"],
        "has_image": person["has_image"], "identifier": person["username"], "username": person["username"],
    });
    let role = field(body, "role").as_str().unwrap_or("org:member");
    m["role_name"] = json!(role_name(role));
    m["role"] = json!(role);
    for name in ["public_metadata", "private_metadata"] {
        m[name] = metadata(field(body, name));
    }
    let at = out.tick();
    m["created_at"] = json!(at);
    m["updated_at"] = json!(at);
    data.dataset.memberships.push(m.clone());
    Ok((
        m.clone(),
        vec![("organizationMembership.created".into(), m)],
    ))
}

fn update_membership(
    out: &mut Outbox,
    data: &mut Data,
    org: &str,
    user: &str,
    change: impl FnOnce(&mut Value),
) -> Result<Written, Refusal> {
    let i = membership_of(data, org, user)?;
    let m = &mut data.dataset.memberships[i];
    change(m);
    m["updated_at"] = json!(out.tick());
    Ok((
        m.clone(),
        vec![("organizationMembership.updated".into(), m.clone())],
    ))
}

/// Metadata as given, `{}` when not.
fn metadata(given: &Value) -> Value {
    match given {
        Value::Null => json!({}),
        v => v.clone(),
    }
}

fn new_invitation(out: &mut Outbox, data: &mut Data, item: &Value) -> Result<Value, Refusal> {
    let email = item["email_address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pending = data
        .dataset
        .invitations
        .iter()
        .any(|i| i["email_address"] == email.as_str() && i["status"] == "pending");
    if pending && item["ignore_existing"] != true {
        return Err(unprocessable(
            "duplicate_record",
            &format!("There is already a pending invitation for {email}."),
        ));
    }
    let at = out.tick();
    let n = out.number();
    let days = item["expires_in_days"].as_i64().unwrap_or(30).clamp(1, 365);
    let inv = json!({
        "object": "invitation", "id": format!("inv_new_{n}"), "email_address": email,
        "public_metadata": metadata(&item["public_metadata"]), "revoked": false, "status": "pending",
        "url": format!("https://accounts.example.com/invite/new{n}"),
        "expires_at": at + days * 86_400_000, "created_at": at, "updated_at": at,
    });
    data.dataset.invitations.push(inv.clone());
    Ok(inv)
}

fn new_organization_invitation(
    out: &mut Outbox,
    data: &mut Data,
    org: &str,
    item: &Value,
) -> Result<Value, Refusal> {
    let k = find(&data.dataset.organizations, org, "organization")?;
    let email = item["email_address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if data.dataset.organization_invitations.iter().any(|i| {
        i["organization_id"] == org
            && i["email_address"] == email.as_str()
            && i["status"] == "pending"
    }) {
        return Err(unprocessable(
            "duplicate_record",
            &format!("There is already a pending invitation for {email} to this organization."),
        ));
    }
    let at = out.tick();
    let n = out.number();
    let role = item["role"].as_str().unwrap_or("org:member");
    let organization = &data.dataset.organizations[k];
    let inv = json!({
        "object": "organization_invitation", "id": format!("orginv_new_{n}"), "email_address": email,
        "role": role, "role_name": role_name(role),
        "organization_id": org, "inviter_id": item["inviter_user_id"].clone(),
        "public_organization_data": {"id": org, "name": organization["name"], "slug": organization["slug"],
            "image_url": organization["image_url"], "has_image": organization["has_image"]},
        "status": "pending", "public_metadata": metadata(&item["public_metadata"]),
        "private_metadata": metadata(&item["private_metadata"]),
        "url": format!("https://accounts.example.com/org-invite/new{n}"),
        "expires_at": at + 30 * 86_400_000, "created_at": at, "updated_at": at,
    });
    data.dataset.organization_invitations.push(inv.clone());
    Ok(inv)
}

fn new_waitlist_entry(out: &mut Outbox, data: &mut Data, item: &Value) -> Result<Value, Refusal> {
    let email = item["email_address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let entries = &mut data.dataset.settings.waitlist_entries;
    if entries.iter().any(|e| e["email_address"] == email.as_str()) {
        return Err(unprocessable(
            "duplicate_record",
            &format!("{email} is already on the waitlist."),
        ));
    }
    let at = out.tick();
    let n = out.number();
    let entry = json!({
        "object": "waitlist_entry", "id": format!("wle_new_{n}"), "email_address": email,
        "status": "pending", "is_locked": false, "invitation": null, "created_at": at, "updated_at": at,
    });
    entries.push(entry.clone());
    Ok(entry)
}
