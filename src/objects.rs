//! The one place that describes each Clerk object clerk_fdw exposes: its
//! endpoints (how each pages, what it can filter, sort and count), and its
//! columns with their JSON sources and kinds.
//! The README's column reference is written from these tables.

/// What a column's JSON value is, which decides the SQL types it may be
/// declared as (see [`crate::convert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    /// Unix milliseconds.
    TimestampMs,
    /// A JSON object (metadata, the whole row).
    Json,
    /// An array of strings.
    TextList,
    /// An array of objects; as `text[]` it yields `text_field` of each.
    ObjectList {
        text_field: &'static str,
    },
    /// Kept only so old DDL keeps working (`gender`); always NULL.
    Removed,
}

/// Where a column's value comes from in the object's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A path of keys from the object's root.
    Path(&'static [&'static str]),
    /// The element of array `list` whose `id` equals the object's `id_key`,
    /// and from it the field `field` (the primary email or phone number).
    Primary {
        id_key: &'static str,
        list: &'static str,
        field: &'static str,
    },
    /// The whole object.
    Whole,
    /// No value at all.
    Nothing,
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    /// Other accepted names (the seed's `user_id` for `id`, ...).
    pub aliases: &'static [&'static str],
    pub source: Source,
    pub kind: Kind,
    pub doc: &'static str,
}

/// How an endpoint is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `starting_after=<last id>` on a `created_at` ordering (users).
    Cursor,
    /// `offset`, re-reading the previous page's last row to prove nothing
    /// shifted in between.
    Offset,
    /// One object, no paging; 404 means no row.
    Single,
}

/// The shape of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// A bare JSON array.
    Array,
    /// `{"data": [...], "total_count": n}`.
    Data,
    /// A list with Clerk's `paginated` parameter: documented as a bare
    /// array, it answers `{data, total_count}` when asked with
    /// `paginated=true`, which clerk_fdw always sends. Both shapes are read.
    Paginated,
    /// One JSON object.
    Single,
}

/// How Clerk matches a filter parameter against a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `param=v`, repeatable up to 100 times; Clerk matches exactly.
    Exact,
    /// `param=v` with a single value (Clerk's parameter is a string, not a
    /// list): an `IN` list becomes one request series per value.
    One,
    /// Like `Exact`, but a leading `+`/`-` means include/exclude to Clerk,
    /// so values starting with either are sent with an explicit `+`.
    ExactSigned,
    /// Clerk's match is wider than the column's `=` (any of the user's
    /// addresses, case-insensitive): fewer rows to fetch, but only Postgres'
    /// re-check makes the answer exact.
    Wider,
    /// `param=true|false`.
    Flag,
    /// `{param}_after` / `{param}_before`, Unix milliseconds, both exclusive.
    Range,
    /// Clerk's case-insensitive substring match (`email_address_query`):
    /// narrows `LIKE`/`ILIKE` by the pattern's literal part.
    Contains,
}

/// A column Clerk can filter an endpoint by.
#[derive(Debug)]
pub struct Filter {
    pub column: &'static str,
    pub param: &'static str,
    pub how: Match,
    /// Each value selects at most one row (for row estimates).
    pub unique: bool,
    /// The values Clerk's spec allows (an enum), empty for any: no row has
    /// another value, so one is answered without a request.
    pub allowed: &'static [&'static str],
}

/// How Clerk counts what an endpoint lists without sending the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// A dedicated endpoint taking the same filters (`/users/count`).
    Endpoint(&'static [&'static str]),
    /// The list's `total_count`, asked for with `limit=1`.
    TotalCount,
    Unsupported,
}

/// Clerk's largest page (`limit` is at most 500 on every list).
pub const MAX_PAGE_SIZE: usize = 500;

/// Stands for the key value in an [`Endpoint`] path.
pub const KEY: &str = "{key}";

/// One way of listing an object.
#[derive(Debug)]
pub struct Endpoint {
    /// Path below `api_url`; [`KEY`] is replaced by the key column's value.
    pub path: &'static [&'static str],
    /// The column whose `=`/`IN` selects this endpoint (one request series
    /// per value), with how exactly the endpoint matches it; `None` for the
    /// instance-wide list.
    pub key: Option<(&'static str, Match)>,
    /// The query parameter that carries the key value, for endpoints that
    /// take it there rather than in the path (`/sessions?user_id=`).
    pub key_param: Option<&'static str>,
    pub envelope: Envelope,
    pub paging: Paging,
    pub filters: &'static [Filter],
    /// Columns `order_by=+col|-col` accepts.
    pub order_by: &'static [&'static str],
    /// The order used when the query asks for none.
    pub default_order: Option<&'static str>,
    pub count: Count,
    /// Typical rows per key value (for row estimates).
    pub rows_per_key: f64,
    /// Clerk's spec documents 404 for a key that does not exist: it means
    /// no rows. Anywhere else a 404 is an error (a wrong `api_url`, say).
    pub not_found_means_no_rows: bool,
    /// Rows Clerk leaves out unless a filter asks for them, as
    /// `(param, value)`: without that filter they are read in a request
    /// series of their own (`/invitations` lists no revoked invitation
    /// unless asked `status=revoked`).
    pub unlisted_by_default: Option<(&'static str, &'static str)>,
    /// Columns Clerk sends only when a flag asks for them, as
    /// `(column, flag)`: the flag is sent `true` when the query reads the
    /// column (or the whole object) or sorts by it.
    pub included_on_request: &'static [(&'static str, &'static str)],
}

#[derive(Debug)]
pub struct ObjectSpec {
    /// The table option `object`.
    pub name: &'static str,
    /// The instance-wide list first, then the narrower endpoints a key
    /// equality selects, in order of preference.
    pub endpoints: &'static [Endpoint],
    pub columns: &'static [ColumnSpec],
    /// Clerk cannot list the object instance-wide: `endpoints[0]` is never
    /// requested, and a query must select rows by a key of the others.
    pub needs_key: bool,
}

impl ColumnSpec {
    /// Clerk sends the field in every object (`count(column)` is `count(*)`).
    pub fn always_present(&self) -> bool {
        self.source == Source::Path(&["id"])
    }
}

impl ObjectSpec {
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns
            .iter()
            .find(|c| c.name == name || c.aliases.contains(&name))
    }

    /// All accepted column names, for error messages.
    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns
            .iter()
            .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
            .collect()
    }

    /// The instance-wide list.
    pub fn list(&self) -> &'static Endpoint {
        &self.endpoints[0]
    }

    /// The columns whose `=` selects a narrower endpoint.
    pub fn key_columns(&self) -> Vec<&'static str> {
        self.endpoints[1..]
            .iter()
            .filter_map(|e| e.key.map(|(column, _)| column))
            .collect()
    }
}

macro_rules! col {
    ($name:literal, [$($alias:literal),*], $source:expr, $kind:expr, $doc:literal) => {
        ColumnSpec { name: $name, aliases: &[$($alias),*], source: $source, kind: $kind, doc: $doc }
    };
}

use Kind::*;
use Source::*;

#[rustfmt::skip]
const USERS: &[ColumnSpec] = &[
    col!("id", ["user_id"], Path(&["id"]), Text, "Clerk user id (`user_...`)."),
    col!("external_id", [], Path(&["external_id"]), Text, "Your own id for the user, if set."),
    col!("username", [], Path(&["username"]), Text, "Username, if usernames are enabled."),
    col!("first_name", [], Path(&["first_name"]), Text, "First name."),
    col!("last_name", [], Path(&["last_name"]), Text, "Last name."),
    col!("email", ["primary_email_address", "email_address"],
        Primary { id_key: "primary_email_address_id", list: "email_addresses", field: "email_address" },
        Text, "The primary email address (the one `primary_email_address_id` points at), NULL if none."),
    col!("email_addresses", [], Path(&["email_addresses"]), ObjectList { text_field: "email_address" },
        "All email addresses: `text[]` of addresses, `jsonb` of Clerk's objects, or an integer type for their count."),
    col!("phone_number", ["primary_phone_number"],
        Primary { id_key: "primary_phone_number_id", list: "phone_numbers", field: "phone_number" },
        Text, "The primary phone number, NULL if none."),
    col!("phone_numbers", [], Path(&["phone_numbers"]), ObjectList { text_field: "phone_number" },
        "All phone numbers: `text[]`, `jsonb`, or an integer type for their count (the seed's `phone_numbers bigint`)."),
    col!("image_url", [], Path(&["image_url"]), Text, "Profile image URL."),
    col!("has_image", [], Path(&["has_image"]), Bool, "Whether the user uploaded an image."),
    col!("public_metadata", [], Path(&["public_metadata"]), Json, "Public metadata."),
    col!("private_metadata", [], Path(&["private_metadata"]), Json, "Private metadata."),
    col!("unsafe_metadata", [], Path(&["unsafe_metadata"]), Json, "Unsafe metadata."),
    col!("banned", [], Path(&["banned"]), Bool, "Whether the user is banned."),
    col!("locked", [], Path(&["locked"]), Bool, "Whether the user is locked out."),
    col!("two_factor_enabled", [], Path(&["two_factor_enabled"]), Bool, "Whether any second factor is enabled."),
    col!("password_enabled", [], Path(&["password_enabled"]), Bool, "Whether the user has a password."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Sign-up time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last update of the user object."),
    col!("last_sign_in_at", [], Path(&["last_sign_in_at"]), TimestampMs, "Last sign-in, NULL if never."),
    col!("last_active_at", [], Path(&["last_active_at"]), TimestampMs, "Last session activity (day precision), NULL if never."),
    col!("gender", [], Nothing, Removed, "No longer in Clerk's API; always NULL (kept for old DDL)."),
    col!("attrs", [], Whole, Json, "The whole user object as Clerk returned it."),
];

#[rustfmt::skip]
const ORGANIZATIONS: &[ColumnSpec] = &[
    col!("id", ["organization_id"], Path(&["id"]), Text, "Clerk organization id (`org_...`)."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("slug", [], Path(&["slug"]), Text, "Unique slug."),
    col!("image_url", [], Path(&["image_url"]), Text, "Logo URL."),
    col!("has_image", [], Path(&["has_image"]), Bool, "Whether a logo was uploaded."),
    col!("created_by", [], Path(&["created_by"]), Text, "Id of the user who created it."),
    col!("max_allowed_memberships", [], Path(&["max_allowed_memberships"]), Int, "Membership cap (0 = unlimited)."),
    col!("members_count", [], Path(&["members_count"]), Int, "Number of members, when Clerk includes it."),
    col!("admin_delete_enabled", [], Path(&["admin_delete_enabled"]), Bool, "Whether admins may delete it."),
    col!("public_metadata", [], Path(&["public_metadata"]), Json, "Public metadata."),
    col!("private_metadata", [], Path(&["private_metadata"]), Json, "Private metadata."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last update."),
    col!("attrs", [], Whole, Json, "The whole organization object."),
];

#[rustfmt::skip]
const MEMBERSHIPS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Membership id (`orgmem_...`)."),
    col!("user_id", [], Path(&["public_user_data", "user_id"]), Text, "The member's user id."),
    col!("organization_id", [], Path(&["organization", "id"]), Text, "The organization's id."),
    col!("role", [], Path(&["role"]), Text, "Role key, e.g. `org:admin`."),
    col!("role_name", [], Path(&["role_name"]), Text, "Role display name, e.g. `Admin`."),
    col!("permissions", [], Path(&["permissions"]), TextList, "Permission keys of the role."),
    col!("public_metadata", [], Path(&["public_metadata"]), Json, "Public metadata of the membership."),
    col!("private_metadata", [], Path(&["private_metadata"]), Json, "Private metadata of the membership."),
    col!("organization_name", [], Path(&["organization", "name"]), Text, "The organization's name."),
    col!("organization_slug", [], Path(&["organization", "slug"]), Text, "The organization's slug."),
    col!("identifier", [], Path(&["public_user_data", "identifier"]), Text, "The member's primary identifier (usually the email)."),
    col!("first_name", [], Path(&["public_user_data", "first_name"]), Text, "The member's first name."),
    col!("last_name", [], Path(&["public_user_data", "last_name"]), Text, "The member's last name."),
    col!("username", [], Path(&["public_user_data", "username"]), Text, "The member's username."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When the user joined."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last update."),
    col!("attrs", [], Whole, Json, "The whole membership object (with `organization` and `public_user_data`)."),
];

macro_rules! filter {
    ($column:literal, $param:literal, $how:ident) => {
        Filter {
            column: $column,
            param: $param,
            how: Match::$how,
            unique: false,
            allowed: &[],
        }
    };
    ($column:literal, $param:literal, $how:ident, [$($value:literal),*]) => {
        Filter {
            column: $column,
            param: $param,
            how: Match::$how,
            unique: false,
            allowed: &[$($value),*],
        }
    };
}

/// A filter each value of which selects at most one row.
macro_rules! unique_filter {
    ($column:literal, $param:literal, $how:ident) => {
        Filter {
            column: $column,
            param: $param,
            how: Match::$how,
            unique: true,
            allowed: &[],
        }
    };
}

const USER_FILTERS: &[Filter] = &[
    unique_filter!("id", "user_id", ExactSigned),
    unique_filter!("external_id", "external_id", ExactSigned),
    unique_filter!("email", "email_address", Wider),
    unique_filter!("username", "username", Wider),
    unique_filter!("phone_number", "phone_number", Wider),
    filter!("email", "email_address_query", Contains),
    filter!("username", "username_query", Contains),
    filter!("banned", "banned", Flag),
    filter!("created_at", "created_at", Range),
    filter!("last_sign_in_at", "last_sign_in_at", Range),
    filter!("last_active_at", "last_active_at", Range),
];

#[rustfmt::skip]
const INVITATIONS: &[ColumnSpec] = &[
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
const ORGANIZATION_INVITATIONS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Invitation id (`orginv_...`)."),
    col!("email_address", ["email"], Path(&["email_address"]), Text, "Who was invited."),
    col!("organization_id", [], Path(&["organization_id"]), Text, "The organization invited to."),
    col!("organization_name", [], Path(&["public_organization_data", "name"]), Text, "Its name."),
    col!("role", [], Path(&["role"]), Text, "Role on joining (`org:member`, ...)."),
    col!("role_name", [], Path(&["role_name"]), Text, "The role's display name."),
    col!("status", [], Path(&["status"]), Text, "`pending`, `accepted`, `revoked` or `expired`."),
    col!("inviter_id", [], Path(&["inviter_id"]), Text, "The user who invited, if any."),
    col!("url", [], Path(&["url"]), Text, "The invitation link, if any."),
    col!("public_metadata", [], Path(&["public_metadata"]), Json, "Public metadata."),
    col!("private_metadata", [], Path(&["private_metadata"]), Json, "Private metadata."),
    col!("expires_at", [], Path(&["expires_at"]), TimestampMs, "When it expires, NULL if never."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was sent."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole invitation object."),
];

#[rustfmt::skip]
const ALLOWLIST_IDENTIFIERS: &[ColumnSpec] = &[
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
const BLOCKLIST_IDENTIFIERS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`blid_...`)."),
    col!("identifier", [], Path(&["identifier"]), Text, "Email address, domain or phone number blocked from signing up."),
    col!("identifier_type", [], Path(&["identifier_type"]), Text, "`email_address`, `phone_number`, `web3_wallet`, ..."),
    col!("instance_id", [], Path(&["instance_id"]), Text, "The Clerk instance."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was added."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

#[rustfmt::skip]
const DOMAINS: &[ColumnSpec] = &[
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
const SESSIONS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Session id (`sess_...`)."),
    col!("user_id", [], Path(&["user_id"]), Text, "The signed-in user; `user_id = ...` selects the sessions to list."),
    col!("client_id", [], Path(&["client_id"]), Text, "The client (browser or device); `client_id = ...` also selects."),
    col!("status", [], Path(&["status"]), Text, "`active`, `ended`, `expired`, `removed`, `replaced`, `revoked` or `abandoned`."),
    col!("last_active_organization_id", [], Path(&["last_active_organization_id"]), Text, "The organization active in it, if any."),
    col!("actor", [], Path(&["actor"]), Json, "Who acts on the user's behalf (impersonation), NULL if nobody."),
    col!("latest_activity", [], Path(&["latest_activity"]), Json, "Browser, device, IP address and location of the latest activity, if known."),
    col!("last_active_at", [], Path(&["last_active_at"]), TimestampMs, "Last activity."),
    col!("expire_at", [], Path(&["expire_at"]), TimestampMs, "When it expires."),
    col!("abandon_at", [], Path(&["abandon_at"]), TimestampMs, "When it is abandoned if unused."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Sign-in time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole session object."),
];

#[rustfmt::skip]
const JWT_TEMPLATES: &[ColumnSpec] = &[
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
const OAUTH_APPLICATIONS: &[ColumnSpec] = &[
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
const SAML_CONNECTIONS: &[ColumnSpec] = &[
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
const REDIRECT_URLS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`ru_...`)."),
    col!("url", [], Path(&["url"]), Text, "An allowed redirect URL (`https://...` or a custom scheme)."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "When it was added."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

/// A list endpoint of its own, without keyed lookups.
const fn list_endpoint(
    path: &'static [&'static str],
    envelope: Envelope,
    paging: Paging,
    filters: &'static [Filter],
    order_by: &'static [&'static str],
    count: Count,
) -> Endpoint {
    Endpoint {
        path,
        key: None,
        key_param: None,
        envelope,
        paging,
        filters,
        order_by,
        default_order: if order_by.is_empty() {
            None
        } else {
            Some("-created_at")
        },
        count,
        rows_per_key: 0.0,
        not_found_means_no_rows: false,
        unlisted_by_default: None,
        included_on_request: &[],
    }
}

/// `/sessions?{key}=...`: the sessions of one user or one client.
const fn session_endpoint(key: &'static str, rows_per_key: f64) -> Endpoint {
    Endpoint {
        key: Some((key, Match::Exact)),
        key_param: Some(key),
        rows_per_key,
        ..list_endpoint(
            &["sessions"],
            Envelope::Paginated,
            Paging::Offset,
            &[filter!(
                "status",
                "status",
                One,
                [
                    "abandoned",
                    "active",
                    "ended",
                    "expired",
                    "removed",
                    "replaced",
                    "revoked"
                ]
            )],
            &[],
            Count::Unsupported,
        )
    }
}

const INVITATION_STATUS: &[Filter] = &[filter!(
    "status",
    "status",
    One,
    ["pending", "accepted", "revoked", "expired"]
)];

/// Clerk sends `members_count` only when asked.
const MEMBERS_COUNT: &[(&str, &str)] = &[("members_count", "include_members_count")];

/// Sort keys other than these are pushed only when the whole answer fits
/// one page: they are not unique, so rows sharing a value could shift
/// between the pages of an offset walk.
pub const MULTI_PAGE_ORDER_KEYS: &[&str] = &["created_at"];

pub static OBJECTS: &[ObjectSpec] = &[
    ObjectSpec {
        name: "users",
        endpoints: &[Endpoint {
            path: &["users"],
            key: None,
            key_param: None,
            envelope: Envelope::Array,
            paging: Paging::Cursor,
            filters: USER_FILTERS,
            // `starting_after` only works on a created_at ordering.
            order_by: &["created_at"],
            default_order: Some("-created_at"),
            count: Count::Endpoint(&["users", "count"]),
            rows_per_key: 0.0,
            not_found_means_no_rows: false,
            unlisted_by_default: None,
            included_on_request: &[],
        }],
        columns: USERS,
        needs_key: false,
    },
    ObjectSpec {
        name: "organizations",
        endpoints: &[
            Endpoint {
                path: &["organizations"],
                key: None,
                key_param: None,
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[unique_filter!("id", "organization_id", ExactSigned)],
                // members_count only for what fits one page (see [`MULTI_PAGE_ORDER_KEYS`]).
                order_by: &["created_at", "members_count"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 0.0,
                not_found_means_no_rows: false,
                unlisted_by_default: None,
                included_on_request: MEMBERS_COUNT,
            },
            Endpoint {
                // Takes an id or a slug.
                path: &["organizations", KEY],
                key: Some(("slug", Match::Wider)),
                key_param: None,
                envelope: Envelope::Single,
                paging: Paging::Single,
                filters: &[],
                order_by: &[],
                default_order: None,
                count: Count::Unsupported,
                rows_per_key: 1.0,
                not_found_means_no_rows: true,
                unlisted_by_default: None,
                included_on_request: MEMBERS_COUNT,
            },
        ],
        columns: ORGANIZATIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "organization_memberships",
        endpoints: &[
            Endpoint {
                path: &["organization_memberships"],
                key: None,
                key_param: None,
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[],
                order_by: &["created_at"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 0.0,
                not_found_means_no_rows: false,
                unlisted_by_default: None,
                included_on_request: &[],
            },
            Endpoint {
                path: &["organizations", KEY, "memberships"],
                key: Some(("organization_id", Match::Exact)),
                key_param: None,
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[
                    unique_filter!("user_id", "user_id", ExactSigned),
                    filter!("role", "role", Exact),
                    filter!("created_at", "created_at", Range),
                ],
                order_by: &["created_at"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 20.0,
                not_found_means_no_rows: false,
                unlisted_by_default: None,
                included_on_request: &[],
            },
            Endpoint {
                path: &["users", KEY, "organization_memberships"],
                key: Some(("user_id", Match::Exact)),
                key_param: None,
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[],
                order_by: &[],
                default_order: None,
                count: Count::TotalCount,
                rows_per_key: 3.0,
                not_found_means_no_rows: false,
                unlisted_by_default: None,
                included_on_request: &[],
            },
        ],
        columns: MEMBERSHIPS,
        needs_key: false,
    },
    ObjectSpec {
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
        columns: INVITATIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "organization_invitations",
        endpoints: &[list_endpoint(
            &["organization_invitations"],
            Envelope::Data,
            Paging::Offset,
            INVITATION_STATUS,
            &["created_at"],
            Count::TotalCount,
        )],
        columns: ORGANIZATION_INVITATIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "allowlist_identifiers",
        endpoints: &[list_endpoint(
            &["allowlist_identifiers"],
            Envelope::Paginated,
            Paging::Offset,
            &[],
            &[],
            Count::Unsupported,
        )],
        columns: ALLOWLIST_IDENTIFIERS,
        needs_key: false,
    },
    ObjectSpec {
        name: "blocklist_identifiers",
        endpoints: &[list_endpoint(
            &["blocklist_identifiers"],
            Envelope::Data,
            Paging::Single,
            &[],
            &[],
            Count::Unsupported,
        )],
        columns: BLOCKLIST_IDENTIFIERS,
        needs_key: false,
    },
    ObjectSpec {
        name: "domains",
        endpoints: &[list_endpoint(
            &["domains"],
            Envelope::Data,
            Paging::Single,
            &[],
            &[],
            Count::Unsupported,
        )],
        columns: DOMAINS,
        needs_key: false,
    },
    ObjectSpec {
        name: "saml_connections",
        endpoints: &[list_endpoint(
            &["saml_connections"],
            Envelope::Data,
            Paging::Offset,
            &[filter!("organization_id", "organization_id", ExactSigned)],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: SAML_CONNECTIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "jwt_templates",
        endpoints: &[list_endpoint(
            &["jwt_templates"],
            Envelope::Paginated,
            Paging::Offset,
            &[],
            &[],
            Count::Unsupported,
        )],
        columns: JWT_TEMPLATES,
        needs_key: false,
    },
    ObjectSpec {
        name: "oauth_applications",
        endpoints: &[list_endpoint(
            &["oauth_applications"],
            Envelope::Data,
            Paging::Offset,
            &[],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: OAUTH_APPLICATIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "redirect_urls",
        endpoints: &[list_endpoint(
            &["redirect_urls"],
            Envelope::Paginated,
            Paging::Offset,
            &[],
            &[],
            Count::Unsupported,
        )],
        columns: REDIRECT_URLS,
        needs_key: false,
    },
    ObjectSpec {
        name: "sessions",
        // Clerk lists sessions of one user or one client only (newest
        // first); the other statuses are filtered by Postgres.
        endpoints: &[
            list_endpoint(
                &["sessions"],
                Envelope::Paginated,
                Paging::Offset,
                &[],
                &[],
                Count::Unsupported,
            ),
            session_endpoint("user_id", 3.0),
            session_endpoint("client_id", 1.0),
        ],
        columns: SESSIONS,
        needs_key: true,
    },
];

pub fn object(name: &str) -> Option<&'static ObjectSpec> {
    OBJECTS.iter().find(|o| o.name == name)
}

pub fn object_names() -> Vec<&'static str> {
    OBJECTS.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_per_object() {
        for o in OBJECTS {
            let mut names = o.column_names();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "duplicate column name in {}", o.name);
        }
    }

    #[test]
    fn seed_ddl_columns_exist() {
        let users = object("users").unwrap();
        for c in [
            "user_id",
            "first_name",
            "last_name",
            "email",
            "gender",
            "created_at",
            "updated_at",
            "last_sign_in_at",
            "phone_numbers",
            "username",
        ] {
            assert!(users.column(c).is_some(), "users.{c}");
        }
        let orgs = object("organizations").unwrap();
        for c in [
            "organization_id",
            "name",
            "slug",
            "created_at",
            "updated_at",
            "created_by",
        ] {
            assert!(orgs.column(c).is_some(), "organizations.{c}");
        }
        let m = object("organization_memberships").unwrap();
        for c in ["user_id", "organization_id", "role"] {
            assert!(m.column(c).is_some(), "organization_memberships.{c}");
        }
        assert!(object("invoices").is_none());
    }
}
