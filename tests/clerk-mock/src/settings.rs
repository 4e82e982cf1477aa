//! The instance's configuration objects and the waitlist, shaped like the
//! spec's `WaitlistEntry`, `Role`, `Permission`, `RoleSet`,
//! `EnterpriseConnection`, `OrganizationDomain`, `Machine`, `APIKey`,
//! `M2MToken`, `Instance` and `OrganizationSettings`.

use crate::data::{clerk_id, mix, oldest_first, org_id, DataConfig, INSTANCE_ID};
use serde_json::{json, Value};
use std::collections::HashMap;

const DAY_MS: i64 = 86_400_000;

/// One waitlist entry per two users, spread over the last 20 weeks.
fn waitlist_entries(cfg: &DataConfig) -> Vec<Value> {
    const STATUSES: [&str; 4] = ["pending", "invited", "completed", "rejected"];
    let n = cfg.users / 2 + 100;
    let mut entries: Vec<Value> = (0..n)
        .map(|k| {
            let created_at = cfg.newest_ms - 140 * DAY_MS + (k as i64 * 140 * DAY_MS) / n as i64;
            let status = STATUSES[(mix(k as u64) % 4) as usize];
            let invited = matches!(status, "invited" | "completed");
            let invited_at = created_at + 2 * DAY_MS;
            let inv = json!({"object": "invitation", "id": clerk_id("inv", 50_000 + k as u64),
                             "email_address": format!("waiting{k}@example.net"), "public_metadata": {},
                             "revoked": false, "status": if status == "completed" { "accepted" } else { "pending" },
                             "created_at": invited_at, "updated_at": invited_at});
            json!({"object": "waitlist_entry", "id": clerk_id("wle", k as u64),
                   "email_address": format!("waiting{k}@example.net"), "status": status,
                   "is_locked": k % 17 == 0, "created_at": created_at, "updated_at": created_at + 1,
                   "invitation": if invited { inv } else { Value::Null }})
        })
        .collect();
    oldest_first(&mut entries);
    entries
}

/// `(key, name, description, type)`.
const PERMISSIONS: [(&str, &str, &str, &str); 6] = [
    (
        "org:sys_profile:manage",
        "Manage organization",
        "Edit the organization",
        "system",
    ),
    (
        "org:sys_profile:delete",
        "Delete organization",
        "Delete the organization",
        "system",
    ),
    (
        "org:sys_memberships:read",
        "Read members",
        "See the members",
        "system",
    ),
    (
        "org:sys_memberships:manage",
        "Manage members",
        "Invite and remove members",
        "system",
    ),
    (
        "org:invoices:read",
        "Read invoices",
        "See the invoices",
        "user",
    ),
    (
        "org:reports:export",
        "Export reports",
        "Download reports as CSV",
        "user",
    ),
];

fn permission(cfg: &DataConfig, p: usize) -> Value {
    let (key, name, description, kind) = PERMISSIONS[p];
    let at = cfg.newest_ms - 300 * DAY_MS + p as i64;
    json!({"object": "permission", "id": clerk_id("perm", p as u64), "key": key, "name": name,
           "description": description, "type": kind, "created_at": at, "updated_at": at})
}

/// `(key, name, permissions)`.
const ROLES: [(&str, &str, &[usize]); 4] = [
    ("org:admin", "Admin", &[0, 1, 2, 3, 4, 5]),
    ("org:member", "Member", &[2]),
    ("org:billing_manager", "Billing manager", &[2, 4]),
    ("org:viewer", "Viewer", &[]),
];

fn role(cfg: &DataConfig, r: usize) -> Value {
    let (key, name, permissions) = ROLES[r];
    let at = cfg.newest_ms - 290 * DAY_MS + r as i64;
    json!({"object": "role", "id": clerk_id("role", r as u64), "key": key, "name": name,
           "description": if r < 2 { json!(format!("The {name} role")) } else { Value::Null },
           "is_creator_eligible": r == 0,
           "permissions": permissions.iter().map(|&p| permission(cfg, p)).collect::<Vec<_>>(),
           "created_at": at, "updated_at": at})
}

fn role_set_item(cfg: &DataConfig, r: usize) -> Value {
    let role = role(cfg, r);
    json!({"object": "role_set_item", "id": role["id"], "name": role["name"], "key": role["key"],
           "description": role["description"], "created_at": role["created_at"], "updated_at": role["updated_at"]})
}

fn role_sets(cfg: &DataConfig) -> Vec<Value> {
    [("default", "Default", "initial", vec![0, 1]), ("finance", "Finance teams", "custom", vec![0, 2, 3])]
        .into_iter()
        .enumerate()
        .map(|(n, (key, name, kind, roles))| {
            let at = cfg.newest_ms - 280 * DAY_MS + n as i64;
            json!({"object": "role_set", "id": clerk_id("rs", n as u64), "key": key, "name": name,
                   "description": Value::Null, "type": kind,
                   "roles": roles.iter().map(|&r| role_set_item(cfg, r)).collect::<Vec<_>>(),
                   "default_role": role_set_item(cfg, roles[1]), "creator_role": role_set_item(cfg, 0),
                   "created_at": at, "updated_at": at})
        })
        .collect()
}

fn enterprise_connections(cfg: &DataConfig) -> Vec<Value> {
    (0..3)
        .map(|n| {
            let at = cfg.newest_ms - 100 * DAY_MS + n as i64;
            let org = if n < 2 && cfg.organizations > n { json!(org_id(n)) } else { Value::Null };
            json!({"object": "enterprise_connection", "id": clerk_id("entc", n as u64),
                   "name": (["Okta", "Google Workspace", "Entra ID"][n]),
                   "provider": (["saml_okta", "oauth_google", "saml_microsoft"][n]), "active": n != 1,
                   "domains": [format!("corp{n}.example.com")], "organization_id": org,
                   "logo_public_url": Value::Null, "sync_user_attributes": true,
                   "disable_additional_identifications": false, "allow_organization_account_linking": n == 0,
                   "custom_attributes": [], "authenticatable": true, "disable_jit_provisioning": false,
                   "saml_connection": if n == 1 { Value::Null } else {
                       json!({"id": clerk_id("samlc", n as u64), "name": "SAML", "active": n != 1,
                              "idp_entity_id": format!("https://idp{n}.example.com"),
                              "idp_sso_url": format!("https://idp{n}.example.com/sso"),
                              "idp_certificate": "MIIC...", "acs_url": "https://clerk.example.com/v1/saml/acs",
                              "sp_entity_id": "https://clerk.example.com/saml", "sp_metadata_url": "https://clerk.example.com/v1/saml/metadata",
                              "allow_subdomains": false, "allow_idp_initiated": false, "force_authn": false})
                   },
                   "oauth_config": Value::Null, "created_at": at, "updated_at": at})
        })
        .collect()
}

/// A domain for every second organization.
fn organization_domains(cfg: &DataConfig) -> Vec<Value> {
    const MODES: [&str; 4] = [
        "manual_invitation",
        "automatic_invitation",
        "automatic_suggestion",
        "enterprise_sso",
    ];
    let mut domains: Vec<Value> = (0..cfg.organizations)
        .step_by(2)
        .map(|k| {
            let at = cfg.newest_ms - 150 * DAY_MS + k as i64 * 1000;
            let verified = k % 4 == 0;
            let verification = json!({"status": if verified { "verified" } else { "unverified" },
                                      "strategy": "email_code", "attempts": 1,
                                      "expire_at": at + DAY_MS,
                                      "verified_at": if verified { json!(at + 3_600_000) } else { Value::Null }});
            json!({"object": "organization_domain", "id": clerk_id("orgdmn", k as u64), "organization_id": org_id(k),
                   "name": format!("org{k}.example.com"), "enrollment_mode": MODES[(k / 2) % 4],
                   "affiliation_email_address": if verified { json!(format!("admin@org{k}.example.com")) } else { Value::Null },
                   "affiliation_verification": verification, "ownership_verification": Value::Null,
                   "verification": verification, "total_pending_invitations": k % 3,
                   "total_pending_suggestions": k % 2,
                   "public_organization_data": {"id": org_id(k), "name": format!("Org {k}"), "slug": format!("org-{k}"),
                                                "has_image": false},
                   "created_at": at, "updated_at": at})
        })
        .collect();
    oldest_first(&mut domains);
    domains
}

fn machine(cfg: &DataConfig, n: usize, scoped: bool) -> Value {
    let at = cfg.newest_ms - 50 * DAY_MS + n as i64;
    let mut m = json!({"object": "machine", "id": clerk_id("mch", n as u64),
                       "name": (["Billing worker", "Nightly ETL", "Support bot"][n]), "instance_id": INSTANCE_ID,
                       "created_at": at, "updated_at": at, "default_token_ttl": 3600});
    if scoped {
        m["scoped_machines"] = json!((0..3)
            .filter(|&o| o != n && n == 0)
            .map(|o| machine(cfg, o, false))
            .collect::<Vec<_>>());
    }
    m
}

/// `n` API keys for each subject: two per machine, one per fifth user.
fn api_keys(cfg: &DataConfig, subject: &str, first: usize, n: usize) -> Vec<Value> {
    (first..first + n)
        .map(|k| {
            let at = cfg.newest_ms - 20 * DAY_MS + k as i64 * 1000;
            json!({"object": "api_key", "id": format!("ak_{:016x}{:016x}", mix(k as u64), mix(!(k as u64))), "type": "api_key", "subject": subject,
                   "name": format!("key {k}"), "description": Value::Null, "claims": Value::Null,
                   "scopes": ["read"], "revoked": k % 3 == 1,
                   "revocation_reason": if k % 3 == 1 { json!("rotated") } else { Value::Null },
                   "expired": k % 5 == 4, "expiration": if k % 5 == 4 { json!(at + DAY_MS) } else { Value::Null },
                   "created_by": Value::Null, "last_used_at": Value::Null, "created_at": at, "updated_at": at})
        })
        .collect()
}

/// The configuration objects of the instance.
#[derive(Clone)]
pub struct Settings {
    pub waitlist_entries: Vec<Value>,
    pub organization_roles: Vec<Value>,
    pub organization_permissions: Vec<Value>,
    pub role_sets: Vec<Value>,
    pub enterprise_connections: Vec<Value>,
    pub organization_domains: Vec<Value>,
    pub machines: Vec<Value>,
    /// By subject, oldest first.
    pub api_keys: HashMap<String, Vec<Value>>,
    /// By subject (a machine), oldest first: 130 for the first machine, so
    /// a list takes two pages of 100.
    pub m2m_tokens: HashMap<String, Vec<Value>>,
    pub instance: Value,
    pub organization_settings: Value,
}

impl Settings {
    pub fn generate(cfg: &DataConfig, user_ids: &[String]) -> Settings {
        let machines: Vec<Value> = (0..3).map(|n| machine(cfg, n, true)).collect();
        let mut api_key_lists = HashMap::new();
        let mut next = 0;
        for m in &machines {
            let id = m["id"].as_str().unwrap_or_default().to_string();
            api_key_lists.insert(id.clone(), api_keys(cfg, &id, next, 2));
            next += 2;
        }
        for id in user_ids.iter().step_by(5) {
            api_key_lists.insert(id.clone(), api_keys(cfg, id, next, 1));
            next += 1;
        }
        let m2m_tokens = machines
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let subject = m["id"].as_str().unwrap_or_default().to_string();
                let tokens = (0..[130, 3, 0][n])
                    .map(|t| {
                        let at = cfg.newest_ms - 10 * DAY_MS + t as i64 * 60_000;
                        let seed = (n * 1000 + t) as u64;
                        json!({"object": "machine_to_machine_token", "id": format!("mt_{:016x}{:016x}", mix(seed), mix(!seed)),
                               "subject": subject, "claims": Value::Null, "scopes": [clerk_id("mch", 1)],
                               "revoked": t % 10 == 3, "revocation_reason": if t % 10 == 3 { json!("leaked") } else { Value::Null },
                               "expired": t % 10 == 7, "expiration": at + 3_600_000,
                               "last_used_at": if t % 2 == 0 { json!(at + 1000) } else { Value::Null },
                               "created_at": at, "updated_at": at})
                    })
                    .collect();
                (subject, tokens)
            })
            .collect();
        Settings {
            waitlist_entries: waitlist_entries(cfg),
            organization_roles: (0..ROLES.len()).map(|r| role(cfg, r)).collect(),
            organization_permissions: (0..PERMISSIONS.len()).map(|p| permission(cfg, p)).collect(),
            role_sets: role_sets(cfg),
            enterprise_connections: enterprise_connections(cfg),
            organization_domains: organization_domains(cfg),
            machines,
            api_keys: api_key_lists,
            m2m_tokens,
            instance: json!({"object": "instance", "id": INSTANCE_ID, "environment_type": "production",
                             "allowed_origins": ["https://app.example.com"], "workspace_id": Value::Null}),
            organization_settings: json!({
                "object": "organization_settings", "enabled": true, "max_allowed_memberships": 0,
                "max_allowed_roles": 10, "max_role_sets_allowed": 5, "max_allowed_domains": 10,
                "max_allowed_permissions": 50, "creator_role": "org:admin", "admin_delete_enabled": true,
                "domains_enabled": true, "slug_disabled": false,
                "domains_enrollment_modes": ["manual_invitation", "automatic_invitation", "automatic_suggestion"],
                "domains_default_role": "org:member", "initial_role_set_key": "default"}),
        }
    }
}
