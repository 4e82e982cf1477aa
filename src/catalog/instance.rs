//! Instance-wide lists and settings: invitations, allow and block lists,
//! domains, SAML, JWT templates, OAuth applications, redirect URLs, the
//! waitlist, and the instance itself.

use super::build::*;
use super::model::{Kind::*, Source::*, *};

#[rustfmt::skip]
const INVITATIONS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Invitation id (`inv_...`)."),
    col!("email_address", ["email"], Path(&["email_address"]), Text, "Who was invited."),
    col!("status", [], Path(&["status"]), Text, "`pending`, `accepted`, `revoked` or `expired`."),
    col!("revoked", [], Path(&["revoked"]), Bool, "Whether the invitation was revoked."),
    col!("url", [], Path(&["url"]), Text, "The invitation link, if any."),
    col!("public_metadata", [], Path(&["public_metadata"]), Json, "Metadata given to the new user."),
    col!("expires_at", [], Path(&["expires_at"]), TimestampMs, "When it expires, NULL if never."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was sent."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole invitation object."),
];

#[rustfmt::skip]
const ALLOWLIST_IDENTIFIERS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`alid_...`)."),
    col!("identifier", [], Path(&["identifier"]), Text, "Email address, domain or phone number allowed to sign up."),
    col!("identifier_type", [], Path(&["identifier_type"]), Text, "`email_address`, `phone_number`, `web3_wallet`, ..."),
    col!("invitation_id", [], Path(&["invitation_id"]), Text, "The invitation sent with it, if any."),
    col!("instance_id", [], Path(&["instance_id"]), Text, "The Clerk instance."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was added."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

#[rustfmt::skip]
const BLOCKLIST_IDENTIFIERS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`blid_...`)."),
    col!("identifier", [], Path(&["identifier"]), Text, "Email address, domain or phone number blocked from signing up."),
    col!("identifier_type", [], Path(&["identifier_type"]), Text, "`email_address`, `phone_number`, `web3_wallet`, ..."),
    col!("instance_id", [], Path(&["instance_id"]), Text, "The Clerk instance."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was added."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

#[rustfmt::skip]
const DOMAINS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Domain id (`dmn_...`)."),
    col!("name", [], Path(&["name"]), Text, "The domain name."),
    col!("is_satellite", [], Path(&["is_satellite"]), Bool, "Whether it is a satellite domain."),
    col!("frontend_api_url", [], Path(&["frontend_api_url"]), Text, "Frontend API URL."),
    col!("accounts_portal_url", [], Path(&["accounts_portal_url"]), Text, "Account Portal URL, if any."),
    col!("proxy_url", [], Path(&["proxy_url"]), Text, "Proxy URL, if any."),
    col!("development_origin", [], Path(&["development_origin"]), Text, "Development origin."),
    col!("cname_targets", [], Path(&["cname_targets"]), Json, "DNS CNAME records to set, if any."),
    col!("attrs", [], Whole, Json, "The whole domain object."),
];

#[rustfmt::skip]
const JWT_TEMPLATES_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Template id (`jtmp_...`)."),
    col!("name", [], Path(&["name"]), Text, "Template name, as passed to `getToken({ template })`."),
    col!("claims", [], Path(&["claims"]), Json, "The claims, with their `{{shortcodes}}`."),
    col!("lifetime", [], Path(&["lifetime"]), Int, "Token lifetime in seconds."),
    col!("allowed_clock_skew", [], Path(&["allowed_clock_skew"]), Int, "Allowed clock skew in seconds."),
    col!("custom_signing_key", [], Path(&["custom_signing_key"]), Bool, "Whether tokens are signed with your own key."),
    col!("signing_algorithm", [], Path(&["signing_algorithm"]), Text, "`RS256`, `HS256`, ..."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole template."),
];

#[rustfmt::skip]
const OAUTH_APPLICATIONS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Application id (`oa_...`)."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("client_id", [], Path(&["client_id"]), Text, "OAuth client id (the secret is never listed)."),
    col!("instance_id", [], Path(&["instance_id"]), Text, "The Clerk instance."),
    col!("public", [], Path(&["public"]), Bool, "Whether it is a public client (no secret)."),
    col!("pkce_required", [], Path(&["pkce_required"]), Bool, "Whether PKCE is required."),
    col!("consent_screen_enabled", [], Path(&["consent_screen_enabled"]), Bool, "Whether users see a consent screen."),
    col!("dynamically_registered", [], Path(&["dynamically_registered"]), Bool, "Whether it registered itself (RFC 7591)."),
    col!("scopes", [], Path(&["scopes"]), Text, "Space-separated scopes."),
    col!("redirect_uris", [], Path(&["redirect_uris"]), TextList, "Allowed redirect URIs."),
    col!("client_uri", [], Path(&["client_uri"]), Text, "The application's home page, if set."),
    col!("client_image_url", [], Path(&["client_image_url"]), Text, "Logo URL, if set."),
    col!("callback_url", [], Path(&["callback_url"]), Text, "Deprecated single redirect URI."),
    col!("authorize_url", [], Path(&["authorize_url"]), Text, "Authorization endpoint."),
    col!("token_fetch_url", [], Path(&["token_fetch_url"]), Text, "Token endpoint."),
    col!("user_info_url", [], Path(&["user_info_url"]), Text, "UserInfo endpoint."),
    col!("discovery_url", [], Path(&["discovery_url"]), Text, "OpenID discovery document."),
    col!("token_introspection_url", [], Path(&["token_introspection_url"]), Text, "Token introspection endpoint."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole application object."),
];

#[rustfmt::skip]
const SAML_CONNECTIONS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Connection id (`samlc_...`)."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("domain", [], Path(&["domain"]), Text, "The email domain it serves (deprecated by Clerk for `domains`)."),
    col!("domains", [], Path(&["domains"]), TextList, "The email domains it serves."),
    col!("provider", [], Path(&["provider"]), Text, "`saml_custom`, `saml_okta`, `saml_google` or `saml_microsoft`."),
    col!("active", [], Path(&["active"]), Bool, "Whether users can sign in with it."),
    col!("organization_id", [], Path(&["organization_id"]), Text, "The organization it belongs to, if any."),
    col!("user_count", [], Path(&["user_count"]), Int, "Users who signed in with it."),
    col!("idp_entity_id", [], Path(&["idp_entity_id"]), Text, "The identity provider's entity id."),
    col!("idp_sso_url", [], Path(&["idp_sso_url"]), Text, "The identity provider's sign-in URL."),
    col!("idp_metadata_url", [], Path(&["idp_metadata_url"]), Text, "The identity provider's metadata URL."),
    col!("idp_certificate_issued_at", [], Path(&["idp_certificate_issued_at"]), TimestampMs, "When the provider's certificate was issued."),
    col!("idp_certificate_expires_at", [], Path(&["idp_certificate_expires_at"]), TimestampMs, "When the provider's certificate expires."),
    col!("acs_url", [], Path(&["acs_url"]), Text, "Clerk's assertion consumer service URL."),
    col!("sp_entity_id", [], Path(&["sp_entity_id"]), Text, "Clerk's service provider entity id."),
    col!("sp_metadata_url", [], Path(&["sp_metadata_url"]), Text, "Clerk's service provider metadata URL."),
    col!("attribute_mapping", [], Path(&["attribute_mapping"]), Json, "Which SAML attributes fill which user fields."),
    col!("sync_user_attributes", [], Path(&["sync_user_attributes"]), Bool, "Whether user attributes are updated at each sign-in."),
    col!("allow_subdomains", [], Path(&["allow_subdomains"]), Bool, "Whether subdomains of its domains may sign in."),
    col!("allow_idp_initiated", [], Path(&["allow_idp_initiated"]), Bool, "Whether sign-ins may start at the provider."),
    col!("enterprise_connection_id", [], Path(&["enterprise_connection_id"]), Text, "The enterprise connection that replaces it, if any."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole connection object (with the certificate and metadata)."),
];

#[rustfmt::skip]
const REDIRECT_URLS_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`ru_...`)."),
    col!("url", [], Path(&["url"]), Text, "An allowed redirect URL (`https://...` or a custom scheme)."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was added."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

#[rustfmt::skip]
const WAITLIST_ENTRIES_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`wle_...`)."),
    col!("email_address", ["email"], Path(&["email_address"]), Text, "Who joined the waitlist."),
    col!("status", [], Path(&["status"]), Text, "`pending`, `invited`, `completed` or `rejected`."),
    col!("is_locked", [], Path(&["is_locked"]), Bool, "Whether it is locked."),
    col!("invitation_id", [], Path(&["invitation", "id"]), Text, "The invitation sent, if any."),
    col!("invited_at", [], Path(&["invitation", "created_at"]), TimestampMs, "When the invitation was sent, NULL if none."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When they joined."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole entry (with the invitation)."),
];

#[rustfmt::skip]
const INSTANCE_COLUMNS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Instance id (`ins_...`)."),
    col!("environment_type", [], Path(&["environment_type"]), Text, "`development`, `staging` or `production`."),
    col!("allowed_origins", [], Path(&["allowed_origins"]), TextList, "Origins allowed to call the Frontend API, if set."),
    col!("workspace_id", [], Path(&["workspace_id"]), Text, "The workspace, if any."),
    col!("attrs", [], Whole, Json, "The whole instance object."),
];

#[rustfmt::skip]
const INSTANCE_ORGANIZATION_SETTINGS_COLUMNS: &[ColumnSpec] = &[
    col!("enabled", [], Path(&["enabled"]), Bool, "Whether organizations are enabled."),
    col!("max_allowed_memberships", [], Path(&["max_allowed_memberships"]), Int, "Membership cap per organization (0 = unlimited)."),
    col!("max_allowed_roles", [], Path(&["max_allowed_roles"]), Int, "Most custom roles."),
    col!("max_role_sets_allowed", [], Path(&["max_role_sets_allowed"]), Int, "Most role sets."),
    col!("max_allowed_domains", [], Path(&["max_allowed_domains"]), Int, "Most domains per organization."),
    col!("max_allowed_permissions", [], Path(&["max_allowed_permissions"]), Int, "Most custom permissions."),
    col!("creator_role", [], Path(&["creator_role"]), Text, "Role an organization's creator gets."),
    col!("admin_delete_enabled", [], Path(&["admin_delete_enabled"]), Bool, "Whether admins may delete organizations."),
    col!("domains_enabled", [], Path(&["domains_enabled"]), Bool, "Whether verified domains are enabled."),
    col!("slug_disabled", [], Path(&["slug_disabled"]), Bool, "Whether slugs are turned off."),
    col!("domains_enrollment_modes", [], Path(&["domains_enrollment_modes"]), TextList, "Enrollment modes domains may use."),
    col!("domains_default_role", [], Path(&["domains_default_role"]), Text, "Role given through a domain."),
    col!("initial_role_set_key", [], Path(&["initial_role_set_key"]), Text, "Role set new organizations get, if any."),
    col!("attrs", [], Whole, Json, "The whole settings object."),
];

/// One object of the instance (`/instance`): a one-row table.
const fn instance_endpoint(path: &'static [&'static str]) -> Endpoint {
    list_endpoint(
        path,
        Envelope::Single,
        Paging::Single,
        &[],
        &[],
        Count::Unsupported,
    )
}

pub(super) const INVITATIONS: ObjectSpec = ObjectSpec {
    name: "invitations",
    endpoints: &[Endpoint {
        unlisted_by_default: Some(("status", "revoked")),
        ..list_endpoint(
            &["invitations"],
            Envelope::Paginated,
            Paging::Offset,
            INVITATION_STATUS,
            &["created_at"],
            Count::Unsupported,
        )
    }],
    columns: INVITATIONS_COLUMNS,
    needs_key: false,
};

pub(super) const ALLOWLIST_IDENTIFIERS: ObjectSpec = ObjectSpec {
    name: "allowlist_identifiers",
    endpoints: &[list_endpoint(
        &["allowlist_identifiers"],
        Envelope::Paginated,
        Paging::Offset,
        &[],
        &[],
        Count::Unsupported,
    )],
    columns: ALLOWLIST_IDENTIFIERS_COLUMNS,
    needs_key: false,
};

pub(super) const BLOCKLIST_IDENTIFIERS: ObjectSpec = ObjectSpec {
    name: "blocklist_identifiers",
    endpoints: &[list_endpoint(
        &["blocklist_identifiers"],
        Envelope::Data,
        Paging::Single,
        &[],
        &[],
        Count::Unsupported,
    )],
    columns: BLOCKLIST_IDENTIFIERS_COLUMNS,
    needs_key: false,
};

pub(super) const DOMAINS: ObjectSpec = ObjectSpec {
    name: "domains",
    endpoints: &[list_endpoint(
        &["domains"],
        Envelope::Data,
        Paging::Single,
        &[],
        &[],
        Count::Unsupported,
    )],
    columns: DOMAINS_COLUMNS,
    needs_key: false,
};

pub(super) const SAML_CONNECTIONS: ObjectSpec = ObjectSpec {
    name: "saml_connections",
    endpoints: &[list_endpoint(
        &["saml_connections"],
        Envelope::Data,
        Paging::Offset,
        &[filter!("organization_id", "organization_id", ExactSigned)],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: SAML_CONNECTIONS_COLUMNS,
    needs_key: false,
};

pub(super) const JWT_TEMPLATES: ObjectSpec = ObjectSpec {
    name: "jwt_templates",
    endpoints: &[list_endpoint(
        &["jwt_templates"],
        Envelope::Paginated,
        Paging::Offset,
        &[],
        &[],
        Count::Unsupported,
    )],
    columns: JWT_TEMPLATES_COLUMNS,
    needs_key: false,
};

pub(super) const OAUTH_APPLICATIONS: ObjectSpec = ObjectSpec {
    name: "oauth_applications",
    endpoints: &[list_endpoint(
        &["oauth_applications"],
        Envelope::Data,
        Paging::Offset,
        &[],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: OAUTH_APPLICATIONS_COLUMNS,
    needs_key: false,
};

pub(super) const REDIRECT_URLS: ObjectSpec = ObjectSpec {
    name: "redirect_urls",
    endpoints: &[list_endpoint(
        &["redirect_urls"],
        Envelope::Paginated,
        Paging::Offset,
        &[],
        &[],
        Count::Unsupported,
    )],
    columns: REDIRECT_URLS_COLUMNS,
    needs_key: false,
};

pub(super) const WAITLIST_ENTRIES: ObjectSpec = ObjectSpec {
    name: "waitlist_entries",
    endpoints: &[list_endpoint(
        &["waitlist_entries"],
        Envelope::Data,
        Paging::Offset,
        &[filter!(
            "status",
            "status",
            One,
            ["pending", "invited", "completed", "rejected"]
        )],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: WAITLIST_ENTRIES_COLUMNS,
    needs_key: false,
};

pub(super) const INSTANCE: ObjectSpec = ObjectSpec {
    name: "instance",
    endpoints: &[instance_endpoint(&["instance"])],
    columns: INSTANCE_COLUMNS,
    needs_key: false,
};

pub(super) const INSTANCE_ORGANIZATION_SETTINGS: ObjectSpec = ObjectSpec {
    name: "instance_organization_settings",
    endpoints: &[instance_endpoint(&["instance", "organization_settings"])],
    columns: INSTANCE_ORGANIZATION_SETTINGS_COLUMNS,
    needs_key: false,
};
