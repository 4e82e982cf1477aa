//! Every kind of response the test server sends, checked against the
//! response schemas of Clerk's spec, so the server cannot drift from Clerk.
//! OpenAPI 3.0's `nullable` becomes JSON Schema's `null` type; the rest of
//! the spec's schemas are JSON Schema already.

use clerk_mock::{spec, Behaviour, DataConfig, Fault, MockServer};
use serde_json::{json, Map, Value};

/// OpenAPI 3.0 schema → JSON Schema 2020-12.
fn json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .filter(|(k, _)| *k != "nullable")
                .map(|(k, x)| (k.clone(), json_schema(x)))
                .collect();
            if m.get("nullable") == Some(&Value::Bool(true)) {
                json!({"anyOf": [Value::Object(out), {"type": "null"}]})
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

struct Checker {
    components: Value,
    checked: usize,
    /// Every mismatch, reported together at the end.
    failures: Vec<String>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            components: json_schema(&spec::bapi().document["components"]),
            checked: 0,
            failures: Vec::new(),
        }
    }

    /// GETs `target` and checks the answer against the spec's schema for
    /// its path and status, which must be `status`.
    fn check(&mut self, server: &MockServer, target: &str, status: u16) -> Value {
        let (got, body) = server.respond(target);
        let text = String::from_utf8_lossy(&body);
        assert_eq!(got, status, "GET {target}: {text}");
        let path = target.split('?').next().unwrap_or_default();
        let segments: Vec<String> = path
            .trim_start_matches("/v1/")
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let template = spec::bapi()
            .template(&segments)
            .unwrap_or_else(|| panic!("{path} is not in the spec"));
        let schema = spec::bapi()
            .response_schema(template, status)
            .unwrap_or_else(|| panic!("the spec documents no {status} for GET {template}"));
        let mut schema = json_schema(schema);
        // The spec documents some of these lists as bare arrays only; asked
        // with `paginated=true`, Clerk wraps the same array with its total.
        if target.contains("paginated=true") && schema["type"] == "array" {
            schema = json!({"type": "object", "required": ["data", "total_count"],
                            "properties": {"data": schema, "total_count": {"type": "integer"}}});
        }
        let root = json!({"allOf": [schema], "components": self.components});
        let validator = jsonschema::draft202012::new(&root).expect("a valid schema");
        let instance: Value = serde_json::from_slice(&body).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .take(5)
            .map(|e| {
                let mut text = format!("{} at {}", e, e.instance_path);
                text.truncate(text.floor_char_boundary(600));
                text
            })
            .collect();
        if !errors.is_empty() {
            self.failures
                .push(format!("GET {target} ({template} {status}): {errors:#?}"));
        }
        self.checked += 1;
        instance
    }
}

#[test]
fn every_response_matches_the_spec() {
    let cfg = DataConfig {
        users: 300,
        organizations: 12,
        big_org_members: 40,
        same_time: 3,
        ..DataConfig::default()
    };
    let server = MockServer::start(&cfg, "sk_test_schema", 0).unwrap();
    let ds = server.dataset();
    let user = ds.users[7]["id"].as_str().unwrap().to_string();
    let org = ds.organizations[0]["id"].as_str().unwrap().to_string();
    let client = ds.sessions[0]["client_id"].as_str().unwrap().to_string();
    let mut c = Checker::new();

    let lists = [
        "/v1/users?limit=5",
        "/v1/users?limit=5&order_by=-created_at&created_at_after=0&banned=false",
        "/v1/users?limit=5&order_by=%2Busername",
        "/v1/users?limit=5&order_by=-last_sign_in_at",
        "/v1/users?email_address=USER7@EXAMPLE.COM",
        "/v1/users?organization_id=ORG&limit=500",
        "/v1/users?query=user1&email_address_query=example",
        "/v1/users/count?created_at_before=1780000000000",
        "/v1/users/USER",
        "/v1/users/USER/organization_memberships?limit=10",
        "/v1/users/user_nobody/organization_memberships",
        "/v1/organizations?limit=3",
        "/v1/organizations?limit=3&include_members_count=true&order_by=-members_count",
        "/v1/organizations?order_by=name&user_id=USER&query=org",
        "/v1/organizations/ORG",
        "/v1/organizations/org-1?include_members_count=true",
        "/v1/organizations/ORG/memberships?limit=50&order_by=-created_at&role=org:admin",
        "/v1/organizations/ORG/memberships?order_by=username&created_at_after=0",
        "/v1/organizations/org_nobody/memberships",
        "/v1/organization_memberships?limit=100&order_by=-created_at",
        "/v1/invitations?paginated=true&limit=10",
        "/v1/invitations?status=revoked&order_by=expires_at",
        "/v1/invitations?limit=3",
        "/v1/organization_invitations?status=pending&order_by=email_address",
        "/v1/allowlist_identifiers?paginated=true",
        "/v1/allowlist_identifiers",
        "/v1/blocklist_identifiers",
        "/v1/domains",
        "/v1/saml_connections?organization_id=ORG&order_by=-created_at",
        "/v1/jwt_templates?paginated=true",
        "/v1/jwt_templates",
        "/v1/oauth_applications?order_by=name&limit=2",
        "/v1/redirect_urls?paginated=true",
        "/v1/redirect_urls",
        "/v1/sessions?user_id=USER&paginated=true",
        "/v1/sessions?user_id=USER&client_id=CLIENT&status=active",
        "/v1/sessions?client_id=CLIENT",
        "/v1/billing/plans?paginated=true&limit=500",
        "/v1/billing/plans?payer_type=org",
        "/v1/billing/prices?limit=500",
        "/v1/billing/prices?plan_id=PLAN&paginated=true",
        "/v1/billing/subscription_items?include_free=true&limit=500&paginated=true",
        "/v1/billing/subscription_items?status=past_due&payer_type=user&plan_id=PLAN",
        "/v1/billing/subscription_items?status=free_trial&query=payer",
        "/v1/billing/statements?limit=500",
        "/v1/billing/statements/STATEMENT",
        "/v1/billing/statements/STATEMENT/payment_attempts?paginated=true",
        "/v1/users/PAYING_USER/billing/subscription",
        "/v1/organizations/ORG/billing/subscription",
        "/v1/users/USER/organization_invitations?status=pending",
        "/v1/users/INVITED_USER/organization_invitations?limit=500",
        "/v1/waitlist_entries?limit=500&status=invited&order_by=-created_at",
        "/v1/waitlist_entries?query=waiting1&order_by=invited_at",
        "/v1/organization_roles?limit=500&order_by=%2Bkey&query=admin",
        "/v1/organization_permissions?order_by=-created_at",
        "/v1/role_sets?order_by=name",
        "/v1/enterprise_connections?organization_id=ORG&active=true",
        "/v1/enterprise_connections?limit=500",
        "/v1/organization_domains?limit=500&order_by=-created_at",
        "/v1/organization_domains?verified=true&enrollment_mode=-enterprise_sso&domains=org0.example.com&query=org",
        "/v1/machines?order_by=name&query=etl",
        "/v1/machines?limit=500",
        "/v1/api_keys?subject=MACHINE&include_invalid=true&limit=100",
        "/v1/api_keys?subject=USER",
        "/v1/m2m_tokens?subject=MACHINE&revoked=true&expired=true&limit=100&offset=99",
        "/v1/m2m_tokens?subject=MACHINE",
        "/v1/instance",
        "/v1/instance/organization_settings",
    ];
    let billing = &ds.billing;
    let statement = billing.statements[0]["id"].as_str().unwrap().to_string();
    let plan = billing.plans[1]["id"].as_str().unwrap().to_string();
    let paying_user = billing
        .subscription_items
        .iter()
        .find_map(|i| i["payer"]["user_id"].as_str())
        .unwrap()
        .to_string();
    let machine = ds.settings.machines[0]["id"].as_str().unwrap().to_string();
    let invited_user = ds
        .users
        .iter()
        .find(|u| {
            let email = &u["email_addresses"][0]["email_address"];
            ds.organization_invitations
                .iter()
                .any(|i| i["email_address"] == *email)
        })
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_string();
    for target in lists {
        let target = target
            .replace("PAYING_USER", &paying_user)
            .replace("INVITED_USER", &invited_user)
            .replace("USER", &user)
            .replace("ORG", &org)
            .replace("CLIENT", &client)
            .replace("STATEMENT", &statement)
            .replace("PLAN", &plan)
            .replace("MACHINE", &machine);
        c.check(&server, &target, 200);
    }

    // What the spec says of shapes and filters.
    let orgs = c.check(&server, "/v1/organizations?limit=500", 200);
    assert!(orgs["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o.get("members_count").is_none()));
    let orgs = c.check(
        &server,
        "/v1/organizations?limit=500&include_members_count=true",
        200,
    );
    assert!(orgs["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["members_count"].is_u64()));
    let invitations = c.check(&server, "/v1/invitations?limit=500", 200);
    assert!(invitations
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] != "revoked"));
    let found = c.check(&server, "/v1/users?email_address=USER7@EXAMPLE.COM", 200);
    assert_eq!(found.as_array().unwrap().len(), 1);
    let users = c.check(&server, "/v1/users?limit=500&order_by=%2Bcreated_at", 200);
    let keys: Vec<(i64, String)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["created_at"].as_i64().unwrap(),
                u["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ties in created_at by id");

    // Errors, where the spec documents them.
    c.check(&server, "/v1/users/user_nobody", 404);
    c.check(&server, "/v1/organizations/org_nobody", 404);
    c.check(&server, "/v1/billing/statements/stmt_nobody", 404);
    c.check(
        &server,
        "/v1/billing/statements/stmt_nobody/payment_attempts",
        404,
    );
    c.check(&server, "/v1/users/user_nobody/billing/subscription", 404);
    c.check(
        &server,
        "/v1/users/user_nobody/organization_invitations",
        404,
    );
    c.check(&server, "/v1/users?limit=5&order_by=-nothing", 422);
    c.check(&server, "/v1/users?offset=3&starting_after=x", 422);
    for (status, target) in [(403, "/v1/organizations"), (402, "/v1/saml_connections")] {
        server.set_behaviour(Behaviour {
            script: [Some(Fault::Status {
                status,
                retry_after: None,
            })]
            .into(),
            ..Behaviour::default()
        });
        c.check(&server, target, status);
    }
    assert!(c.failures.is_empty(), "{}", c.failures.join("\n"));
    assert!(
        server.spec_violations().is_empty(),
        "{:?}",
        server.spec_violations()
    );
    // 68 lists, 5 shape checks, 10 errors.
    assert_eq!(c.checked, 68 + 5 + 10);
}

#[test]
fn requests_outside_the_spec_are_refused() {
    let server = MockServer::start(&DataConfig::default(), "sk", 0).unwrap();
    for target in [
        "/v1/users?limit=501",
        "/v1/users?gender=x",
        "/v1/invitations?status=Pending",
        "/v1/organizations/x/memberships?paginated=true",
        "/v1/sessions?user_id=a&user_id=b",
        "/v1/invoices",
    ] {
        let (status, body) = server.respond(target);
        assert_eq!(status, 400, "{target}: {}", String::from_utf8_lossy(&body));
    }
    assert_eq!(server.spec_violations().len(), 6);
}
