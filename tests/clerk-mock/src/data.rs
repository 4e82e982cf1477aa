//! Deterministic synthetic Clerk data, shaped like the objects of Clerk's
//! Backend API spec (`User`, `Organization`, `OrganizationMembership`).
//!
//! Everything is a pure function of [`DataConfig`], so tests can recompute the
//! expected value of any field.

use crate::billing::Billing;
use crate::settings::Settings;
use serde_json::{json, Value};

/// Shape and size of the synthetic instance.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub users: usize,
    pub organizations: usize,
    /// Members of the first (largest) organization; the others get
    /// 1..=`members_per_org`.
    pub big_org_members: usize,
    pub members_per_org: usize,
    /// Unix milliseconds of the newest user; older users go back one
    /// `spacing_ms` each.
    pub newest_ms: i64,
    pub spacing_ms: i64,
    /// Users created in the same millisecond, in groups of this many.
    pub same_time: usize,
    /// Sign-ups accelerate: the gaps between users shrink towards the newest
    /// (quadratically), as in a growing product.
    pub skewed: bool,
    /// For benchmarks at a million users: users are kept serialised only
    /// (lists, counts, `created_at` ranges and lookups by id are served;
    /// other user filters and orders are not), and the objects made per
    /// user (sessions, billing, invitations, the waitlist) are made for
    /// the first [`LEAN_SATELLITE_USERS`] only. Needs `same_time` 1.
    pub lean: bool,
}

/// Users that get sessions, billing and invitations in a `lean` instance.
pub const LEAN_SATELLITE_USERS: usize = 10_000;

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            users: 1200,
            organizations: 40,
            big_org_members: 600,
            members_per_org: 5,
            newest_ms: 1_780_000_000_000,
            spacing_ms: 3_600_000,
            same_time: 1,
            skewed: false,
            lean: false,
        }
    }
}

const FIRST_NAMES: &[Option<&str>] = &[
    Some("Zoë"),
    Some("José"),
    Some("李"),
    Some("Łukasz"),
    None,
    Some("Émilie"),
    Some("O'Brien"),
    Some("Ана"),
    Some("🙂 Smiley"),
    Some("Ada"),
    Some("Grace"),
];
const LAST_NAMES: &[Option<&str>] = &[
    Some("Müller"),
    Some("Ñúñez"),
    Some("山田"),
    None,
    Some("Smith"),
    Some("Δημητρίου"),
    Some("\"Quoted\""),
];

/// The instance every object belongs to.
pub const INSTANCE_ID: &str = "ins_2bpU6YPvNfkLHS0T6NnuRDx6ufS";

/// splitmix64: a tiny deterministic mixer for ids and pseudo-random choices.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

pub(crate) fn clerk_id(prefix: &str, n: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = String::with_capacity(prefix.len() + 28);
    s.push_str(prefix);
    s.push('_');
    let mut h = mix(n ^ 0xC1E2_u64);
    for i in 0..27 {
        if i % 10 == 0 {
            h = mix(h ^ n ^ i as u64);
        }
        s.push(ALPHABET[(h % 62) as usize] as char);
        h /= 62;
    }
    s
}

pub fn user_id(i: usize) -> String {
    clerk_id("user", i as u64)
}
pub fn org_id(k: usize) -> String {
    clerk_id("org", k as u64)
}

/// Creation time of user `i` (0 = oldest); increasing in `i`, strictly
/// unless `same_time` > 1.
pub fn user_created_at(cfg: &DataConfig, i: usize) -> i64 {
    let age = ((cfg.users.saturating_sub(1) - i) / cfg.same_time.max(1)) as i64;
    if cfg.skewed {
        cfg.newest_ms - age * age * cfg.spacing_ms / cfg.users.max(1) as i64
    } else {
        cfg.newest_ms - age * cfg.spacing_ms
    }
}

pub fn user_first_name(i: usize) -> Option<&'static str> {
    FIRST_NAMES[i % FIRST_NAMES.len()]
}
pub fn user_last_name(i: usize) -> Option<&'static str> {
    LAST_NAMES[i % LAST_NAMES.len()]
}

/// Number of email addresses of user `i`: every 10th has none, every 7th two
/// (and then the primary one is the second), the rest one.
pub fn user_email_count(i: usize) -> usize {
    if i % 10 == 3 {
        0
    } else if i % 7 == 2 {
        2
    } else {
        1
    }
}

/// The primary email of user `i`, if it has any.
pub fn user_primary_email(i: usize) -> Option<String> {
    match user_email_count(i) {
        0 => None,
        1 => Some(format!("user{i}@example.com")),
        _ => Some(format!("primary.{i}@example.org")),
    }
}

pub fn user_phone_count(i: usize) -> usize {
    i % 4
}

pub fn user_last_sign_in_at(cfg: &DataConfig, i: usize) -> Option<i64> {
    (i % 4 != 1).then(|| user_created_at(cfg, i) + (i as i64 % 13) * 60_000 + 1)
}

pub fn user(cfg: &DataConfig, i: usize) -> Value {
    let id = user_id(i);
    let created_at = user_created_at(cfg, i);
    let ts = |offset: i64| json!(created_at + offset);
    let email = |n: usize, addr: String| {
        json!({
            "id": format!("idn_e{i}x{n}"),
            "object": "email_address",
            "email_address": addr,
            "reserved": false,
            "verification": {"object": "verification_admin", "status": "verified", "strategy": "admin", "attempts": null, "expire_at": null},
            "linked_to": [],
            "created_at": created_at,
            "updated_at": created_at,
        })
    };
    let (emails, primary_email_id) = match user_email_count(i) {
        0 => (vec![], Value::Null),
        1 => (
            vec![email(0, format!("user{i}@example.com"))],
            json!(format!("idn_e{i}x0")),
        ),
        _ => (
            vec![
                email(0, format!("secondary.{i}@example.net")),
                email(1, format!("primary.{i}@example.org")),
            ],
            json!(format!("idn_e{i}x1")),
        ),
    };
    let phones: Vec<Value> = (0..user_phone_count(i))
        .map(|n| {
            json!({
                "id": format!("idn_p{i}x{n}"),
                "object": "phone_number",
                "phone_number": format!("+1555{:04}{:03}", i % 10_000, n),
                "reserved_for_second_factor": false,
                "default_second_factor": false,
                "reserved": false,
                "verification": null,
                "linked_to": [],
                "backup_codes": null,
                "created_at": created_at,
                "updated_at": created_at,
            })
        })
        .collect();
    let primary_phone_id = if phones.is_empty() {
        Value::Null
    } else {
        json!(format!("idn_p{i}x{}", phones.len() - 1))
    };
    let last_sign_in = user_last_sign_in_at(cfg, i);
    json!({
        "id": id,
        "object": "user",
        "external_id": if i.is_multiple_of(3) { json!(format!("ext-{i}")) } else { Value::Null },
        "primary_email_address_id": primary_email_id,
        "primary_phone_number_id": primary_phone_id,
        "primary_web3_wallet_id": null,
        "username": if i % 5 == 4 { Value::Null } else { json!(format!("user_{i}")) },
        "first_name": user_first_name(i),
        "last_name": user_last_name(i),
        "locale": null,
        "profile_image_url": format!("https://img.clerk.com/{id}"),
        "image_url": format!("https://img.clerk.com/{id}"),
        "has_image": i.is_multiple_of(2),
        "public_metadata": if i.is_multiple_of(6) { json!({}) } else { json!({"plan": if i.is_multiple_of(2) { "pro" } else { "free" }, "seats": i % 9, "tags": ["beta", "ünïcödé"]}) },
        "private_metadata": if i.is_multiple_of(8) { Value::Null } else { json!({"stripe_customer": format!("cus_{i}")}) },
        "unsafe_metadata": {},
        "email_addresses": emails,
        "phone_numbers": phones,
        "web3_wallets": [],
        "passkeys": [],
        "password_enabled": true,
        "two_factor_enabled": i.is_multiple_of(5),
        "totp_enabled": i.is_multiple_of(5),
        "backup_code_enabled": false,
        "mfa_enabled_at": null,
        "mfa_disabled_at": null,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "last_sign_in_at": last_sign_in,
        "banned": i.is_multiple_of(97),
        "locked": i.is_multiple_of(89),
        "deprovisioned": false,
        "lockout_expires_in_seconds": null,
        "verification_attempts_remaining": 100,
        "created_at": created_at,
        "updated_at": ts(1000),
        "delete_self_enabled": true,
        "create_organization_enabled": true,
        "last_active_at": if i % 4 == 1 { Value::Null } else { ts(86_400_000) },
        "legal_accepted_at": null,
    })
}

/// Creation time of organization `k` (0 = oldest).
pub fn org_created_at(cfg: &DataConfig, k: usize) -> i64 {
    cfg.newest_ms - (cfg.organizations.saturating_sub(1) - k) as i64 * 86_400_000 - 500
}

/// Members of organization `k`, as user indexes (first one is the admin).
pub fn org_member_indexes(cfg: &DataConfig, k: usize) -> Vec<usize> {
    if cfg.users == 0 {
        return vec![];
    }
    let n = if k == 0 {
        cfg.big_org_members
    } else {
        k % cfg.members_per_org.max(1) + 1
    };
    let n = n.min(cfg.users);
    let start = (mix(k as u64) as usize) % cfg.users;
    (0..n).map(|j| (start + j) % cfg.users).collect()
}

pub fn organization(cfg: &DataConfig, k: usize, members_count: usize) -> Value {
    let id = org_id(k);
    let created_at = org_created_at(cfg, k);
    let creator = if cfg.users > 0 {
        json!(user_id(org_member_indexes(cfg, k)[0]))
    } else {
        Value::Null
    };
    json!({
        "object": "organization",
        "id": id,
        "name": format!("Org {k} – Ωmega"),
        "slug": format!("org-{k}"),
        "image_url": format!("https://img.clerk.com/{id}"),
        "has_image": false,
        "members_count": members_count,
        "max_allowed_memberships": if k.is_multiple_of(2) { 0 } else { 25 },
        "admin_delete_enabled": true,
        "public_metadata": {"tier": if k.is_multiple_of(3) { "enterprise" } else { "team" }},
        "private_metadata": {"crm_id": k},
        "created_by": creator,
        "created_at": created_at,
        "updated_at": created_at + 10,
    })
}

pub fn membership(cfg: &DataConfig, org: &Value, k: usize, j: usize, user_index: usize) -> Value {
    let admin = j == 0;
    let user = user(cfg, user_index);
    let created_at = org_created_at(cfg, k) + j as i64 + 1;
    json!({
        "id": format!("orgmem_{k}_{j}"),
        "object": "organization_membership",
        "role": if admin { "org:admin" } else { "org:member" },
        "role_name": if admin { "Admin" } else { "Member" },
        "permissions": if admin { json!(["org:sys_memberships:manage", "org:sys_profile:manage"]) } else { json!(["org:sys_memberships:read"]) },
        "public_metadata": if admin { json!({"team": "core"}) } else { json!({}) },
        "private_metadata": {},
        "organization": org,
        "public_user_data": {
            "user_id": user["id"],
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "profile_image_url": user["image_url"],
            "image_url": user["image_url"],
            "has_image": user["has_image"],
            "identifier": user_primary_email(user_index).map(Value::from).unwrap_or(user["username"].clone()),
            "username": user["username"],
        },
        "created_at": created_at,
        "updated_at": created_at,
    })
}

/// Sorts by (created_at, id), the order a database gives rows that share
/// a `created_at` when it also sorts by id.
pub(crate) fn oldest_first(items: &mut [Value]) {
    items.sort_by(|a, b| {
        (a["created_at"].as_i64(), a["id"].as_str())
            .cmp(&(b["created_at"].as_i64(), b["id"].as_str()))
    });
}

/// The whole instance, materialised once at server start.
#[derive(Clone)]
pub struct Dataset {
    /// Oldest first (ties by id), like every list below.
    pub users: Vec<Value>,
    pub organizations: Vec<Value>,
    pub memberships: Vec<Value>,
    pub invitations: Vec<Value>,
    pub organization_invitations: Vec<Value>,
    pub allowlist_identifiers: Vec<Value>,
    pub blocklist_identifiers: Vec<Value>,
    pub domains: Vec<Value>,
    /// `i % 3` per user `i`, in user order.
    pub sessions: Vec<Value>,
    pub jwt_templates: Vec<Value>,
    pub oauth_applications: Vec<Value>,
    pub saml_connections: Vec<Value>,
    pub redirect_urls: Vec<Value>,
    pub billing: Billing,
    pub settings: Settings,
}

const STATUSES: [&str; 4] = ["pending", "accepted", "revoked", "expired"];

/// One invitation per ten users.
fn invitation(cfg: &DataConfig, n: usize) -> Value {
    let created_at = user_created_at(cfg, n * 10) + 7;
    let status = STATUSES[n % 4];
    let mut v = json!({
        "object": "invitation", "id": clerk_id("inv", n as u64),
        "email_address": format!("invitee{n}@example.com"),
        "public_metadata": if n.is_multiple_of(3) { json!({"plan": "pro"}) } else { json!({}) },
        "revoked": status == "revoked", "status": status,
        "expires_at": if status == "accepted" { Value::Null } else { json!(created_at + 30 * 86_400_000) },
        "created_at": created_at, "updated_at": created_at + 1,
    });
    // Not nullable in the spec: absent when there is none.
    if status == "pending" {
        v["url"] = json!(format!("https://accounts.example.com/invite/{n}"));
    }
    v
}

/// `k % 3` invitations for organization `k`.
fn organization_invitation(cfg: &DataConfig, org: &Value, k: usize, j: usize) -> Value {
    let created_at = org_created_at(cfg, k) + 100 + j as i64;
    let status = STATUSES[(k + j) % 4];
    json!({
        "object": "organization_invitation", "id": clerk_id("orginv", (k * 3 + j) as u64),
        "email_address": format!("org{k}.invitee{j}@example.com"),
        "role": if j == 0 { "org:admin" } else { "org:member" },
        "role_name": if j == 0 { "Admin" } else { "Member" },
        "organization_id": org["id"], "inviter_id": Value::Null, "public_inviter_data": Value::Null,
        "status": status, "public_metadata": {}, "private_metadata": {},
        "url": Value::Null, "expires_at": created_at + 30 * 86_400_000,
        "created_at": created_at, "updated_at": created_at,
        "public_organization_data": {"id": org["id"], "name": org["name"], "slug": org["slug"],
                                     "image_url": org["image_url"], "has_image": org["has_image"]},
    })
}

fn identifier(kind: &str, n: usize, created_at: i64) -> Value {
    let (identifier, identifier_type) = match n % 3 {
        0 => (format!("person{n}@example.com"), "email_address"),
        1 => (format!("*@domain{n}.example"), "email_address"),
        _ => (format!("+1555000{n:04}"), "phone_number"),
    };
    let mut v = json!({
        "object": format!("{kind}_identifier"), "id": clerk_id(&format!("{}id", &kind[..1]), n as u64),
        "identifier": identifier, "identifier_type": identifier_type, "instance_id": "ins_mock",
        "created_at": created_at, "updated_at": created_at,
    });
    // Not nullable in the spec: absent when there is none.
    if kind == "allowlist" && n.is_multiple_of(2) {
        v["invitation_id"] = json!(clerk_id("inv", n as u64));
    }
    v
}

const SESSION_STATUSES: [&str; 4] = ["active", "ended", "expired", "revoked"];
const CITIES: [(&str, &str); 3] = [("São Paulo", "BR"), ("Zürich", "CH"), ("東京", "JP")];

/// Session `j` of user `i`; all of one user's sessions share a client.
fn session(cfg: &DataConfig, i: usize, j: usize) -> Value {
    let n = i * 3 + j;
    let created_at = user_created_at(cfg, i) + 1000 * (j as i64 + 1);
    let (city, country) = CITIES[n % 3];
    json!({
        "object": "session", "id": clerk_id("sess", n as u64), "user_id": user_id(i),
        "client_id": clerk_id("client", i as u64), "status": SESSION_STATUSES[n % 4],
        "actor": if n.is_multiple_of(5) { json!({"sub": "user_support"}) } else { Value::Null },
        "last_active_organization_id": Value::Null,
        "latest_activity": if n.is_multiple_of(2) {
            json!({"object": "session_activity", "id": clerk_id("sess_activity", n as u64),
                   "browser_name": "Firefox", "device_type": "Macintosh", "is_mobile": false,
                   "ip_address": format!("203.0.113.{}", n % 250), "city": city, "country": country})
        } else { Value::Null },
        "last_active_at": created_at + 60_000, "expire_at": created_at + 7 * 86_400_000,
        "abandon_at": created_at + 30 * 86_400_000, "created_at": created_at,
        "updated_at": created_at + 60_000, "tasks": Value::Null,
    })
}

fn jwt_templates(cfg: &DataConfig) -> Vec<Value> {
    [("supabase", "HS256", true, 60), ("hasura", "RS256", false, 3600), ("convex", "RS256", false, 60)]
        .iter()
        .enumerate()
        .map(|(n, &(name, algorithm, custom, lifetime))| {
            let at = cfg.newest_ms - 90_000_000 + n as i64;
            json!({"object": "jwt_template", "id": clerk_id("jtmp", n as u64), "name": name,
                   "claims": {"aud": name, "email": "{{user.primary_email_address}}", "role": "authenticated"},
                   "lifetime": lifetime, "allowed_clock_skew": 5, "custom_signing_key": custom,
                   "signing_algorithm": algorithm, "created_at": at, "updated_at": at + 1})
        })
        .collect()
}

fn oauth_applications(cfg: &DataConfig) -> Vec<Value> {
    (0..3)
        .map(|n| {
            let at = cfg.newest_ms - 80_000_000 + n as i64;
            let base = "https://clerk.example.com/oauth";
            json!({"object": "oauth_application", "id": clerk_id("oa", n), "instance_id": "ins_mock",
                   "name": (["Zapier", "Internal BI", "Ünïcode App"][n as usize]),
                   "client_id": format!("client{n}"), "client_uri": if n == 0 { json!("https://zapier.com") } else { Value::Null },
                   "client_image_url": Value::Null, "dynamically_registered": n == 2, "consent_screen_enabled": true,
                   "pkce_required": n != 1, "public": n == 2, "scopes": "profile email",
                   "redirect_uris": [format!("https://app{n}.example.com/callback")],
                   "callback_url": format!("https://app{n}.example.com/callback"),
                   "authorize_url": format!("{base}/authorize"), "token_fetch_url": format!("{base}/token"),
                   "user_info_url": format!("{base}/userinfo"),
                   "discovery_url": "https://clerk.example.com/.well-known/openid-configuration",
                   "token_introspection_url": format!("{base}/token_info"),
                   "created_at": at, "updated_at": at})
        })
        .collect()
}

fn saml_connections(cfg: &DataConfig) -> Vec<Value> {
    (0..2)
        .map(|n| {
            let at = cfg.newest_ms - 70_000_000 + n as i64;
            let org = if n == 0 && cfg.organizations > 0 { json!(org_id(0)) } else { Value::Null };
            json!({"object": "saml_connection", "id": clerk_id("samlc", n), "name": (["Okta", "Entra ID"][n as usize]),
                   "domain": format!("corp{n}.example.com"), "domains": [format!("corp{n}.example.com")],
                   "provider": (["saml_okta", "saml_microsoft"][n as usize]), "active": n == 0,
                   "organization_id": org, "user_count": 40 * (n + 1),
                   "idp_entity_id": format!("https://idp{n}.example.com"), "idp_sso_url": format!("https://idp{n}.example.com/sso"),
                   "idp_certificate": "MIIC...", "idp_metadata_url": Value::Null, "idp_metadata": Value::Null,
                   "idp_certificate_issued_at": if n == 0 { json!(at - 1000) } else { Value::Null },
                   "idp_certificate_expires_at": if n == 0 { json!(at + 31_536_000_000i64) } else { Value::Null },
                   "acs_url": format!("https://clerk.example.com/v1/saml/acs/{n}"),
                   "sp_entity_id": format!("https://clerk.example.com/saml/{n}"),
                   "sp_metadata_url": format!("https://clerk.example.com/v1/saml/metadata/{n}"),
                   "attribute_mapping": {"user_id": "", "email_address": "mail", "first_name": "givenName", "last_name": "sn"},
                   "sync_user_attributes": true, "allow_subdomains": false, "allow_idp_initiated": n == 1,
                   "disable_additional_identifications": false, "allow_organization_account_linking": false,
                   "force_authn": false, "authenticatable": true, "enterprise_connection_id": Value::Null,
                   "login_hint": {"mode": "email_address"}, "disable_jit_provisioning": false,
                   "created_at": at, "updated_at": at})
        })
        .collect()
}

fn redirect_urls(cfg: &DataConfig) -> Vec<Value> {
    [
        "https://app.example.com/sso-callback",
        "myapp://oauth-callback",
        "https://例え.jp/コールバック",
    ]
    .iter()
    .enumerate()
    .map(|(n, url)| {
        let at = cfg.newest_ms - 60_000_000 + n as i64;
        json!({"object": "redirect_url", "id": clerk_id("ru", n as u64), "url": url,
                   "created_at": at, "updated_at": at})
    })
    .collect()
}

impl Dataset {
    pub fn generate(all: &DataConfig) -> Dataset {
        // Memberships and organizations are made for every user; the rest
        // only for the satellite users of a lean instance.
        let lean = DataConfig {
            users: all.users.min(LEAN_SATELLITE_USERS),
            ..all.clone()
        };
        let cfg = if all.lean { &lean } else { all };
        let mut users: Vec<Value> = if all.lean {
            Vec::new()
        } else {
            (0..cfg.users).map(|i| user(cfg, i)).collect()
        };
        oldest_first(&mut users);
        let mut organizations = Vec::with_capacity(all.organizations);
        let mut memberships = Vec::new();
        for k in 0..all.organizations {
            let members = org_member_indexes(all, k);
            let org = organization(all, k, members.len());
            for (j, &u) in members.iter().enumerate() {
                memberships.push(membership(all, &org, k, j, u));
            }
            organizations.push(org);
        }
        oldest_first(&mut memberships);
        let mut invitations: Vec<Value> = (0..cfg.users / 10).map(|n| invitation(cfg, n)).collect();
        oldest_first(&mut invitations);
        let mut organization_invitations: Vec<Value> = organizations
            .iter()
            .enumerate()
            .flat_map(|(k, org)| (0..k % 3).map(move |j| (k, org, j)))
            .map(|(k, org, j)| organization_invitation(cfg, org, k, j))
            .collect();
        // Some invitations go to users' own addresses: a user's
        // organization invitations.
        if cfg.organizations > 0 {
            organization_invitations.extend((5..cfg.users).step_by(100).filter_map(|i| {
                let email = user_primary_email(i)?;
                let k = (i / 100) % cfg.organizations;
                let mut inv = organization_invitation(cfg, &organizations[k], k, 3 + i);
                inv["email_address"] = json!(email);
                inv["id"] = json!(clerk_id("orginv", 100_000 + i as u64));
                Some(inv)
            }));
        }
        oldest_first(&mut organization_invitations);
        let allowlist_identifiers = (0..cfg.users / 50)
            .map(|n| {
                identifier(
                    "allowlist",
                    n,
                    cfg.newest_ms - 1000 * (cfg.users / 50 - n) as i64,
                )
            })
            .collect();
        let blocklist_identifiers = (0..3)
            .map(|n| identifier("blocklist", n, cfg.newest_ms - 5000 + n as i64))
            .collect();
        let domains = vec![
            json!({"object": "domain", "id": "dmn_primary", "name": "example.com", "is_satellite": false,
                   "frontend_api_url": "https://clerk.example.com", "accounts_portal_url": "https://accounts.example.com",
                   "proxy_url": null, "development_origin": "", "cname_targets": [{"host": "clerk.example.com", "value": "frontend-api.clerk.services", "required": true}]}),
            json!({"object": "domain", "id": "dmn_satellite", "name": "example.org", "is_satellite": true,
                   "frontend_api_url": "https://clerk.example.org", "accounts_portal_url": null,
                   "proxy_url": "https://example.org/__clerk", "development_origin": "", "cname_targets": null}),
        ];
        let sessions = (0..cfg.users)
            .flat_map(|i| (0..i % 3).map(move |j| session(cfg, i, j)))
            .collect();
        let user_ids: Vec<String> = if all.lean {
            (0..cfg.users).map(user_id).collect()
        } else {
            users
                .iter()
                .filter_map(|u| u["id"].as_str().map(String::from))
                .collect()
        };
        Dataset {
            billing: Billing::generate(cfg),
            settings: Settings::generate(cfg, &user_ids),
            sessions,
            jwt_templates: jwt_templates(cfg),
            oauth_applications: oauth_applications(cfg),
            saml_connections: saml_connections(cfg),
            redirect_urls: redirect_urls(cfg),
            users,
            organizations,
            memberships,
            invitations,
            organization_invitations,
            allowlist_identifiers,
            blocklist_identifiers,
            domains,
        }
    }
}
