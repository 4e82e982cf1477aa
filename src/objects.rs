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
    /// An amount of money in the currency's smallest unit (cents), as
    /// Clerk sends it: `bigint` or `numeric`, never floating point.
    Cents,
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
    /// `param=v`, repeatable and signed like `ExactSigned`: the rows with a
    /// membership in `v` (users of an organization, organizations of a
    /// user). Asked for when a join with the memberships gives `v` (see
    /// [`MEMBERSHIP_LINKS`]).
    Member,
}

/// A column Clerk can filter an endpoint by.
#[derive(Debug)]
pub struct Filter {
    pub column: &'static str,
    pub param: &'static str,
    pub how: Match,
    /// Each value selects at most one row (for row estimates).
    pub unique: bool,
    /// The values Clerk's spec allows (an enum), empty for any.
    pub allowed: &'static [&'static str],
    /// `allowed` is every value a row can have: another value matches no
    /// row and is answered without a request. Otherwise the parameter
    /// takes fewer values than rows have (a subscription item can be
    /// `canceled` but not be listed by that status): other values are
    /// left to Postgres.
    pub enum_of_rows: bool,
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

/// A join that narrows a scan through the memberships: `users.id =
/// organization_memberships.user_id` with `organization_memberships.
/// organization_id = 'org_…'` lets the users scan ask Clerk for the users
/// with a membership in that organization (`/users?organization_id=`). The
/// join keeps only those users anyway, so the filter changes the requests,
/// never the answer.
#[derive(Debug)]
pub struct MembershipLink {
    /// The object narrowed, by its `id` (a [`Match::Member`] filter).
    pub object: &'static str,
    /// The memberships' column that equals the object's `id` in the join.
    pub joined_on: &'static str,
    /// The memberships' column whose value Clerk narrows by.
    pub by: &'static str,
}

/// The object the links go through.
pub const LINKED_THROUGH: &str = "organization_memberships";

pub const MEMBERSHIP_LINKS: &[MembershipLink] = &[
    MembershipLink {
        object: "users",
        joined_on: "user_id",
        by: "organization_id",
    },
    MembershipLink {
        object: "organizations",
        joined_on: "organization_id",
        by: "user_id",
    },
];

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
    /// The largest `limit` the endpoint accepts.
    pub max_limit: usize,
    /// The field of a `{...}` page that holds the rows (`data`, or
    /// `m2m_tokens` for M2M tokens).
    pub list_field: &'static str,
    /// Parameters sent on every request: the flags that make Clerk list
    /// rows it leaves out by default (`include_free=true`, ...).
    pub fixed_params: &'static [(&'static str, &'static str)],
    /// The field each row gets set to the request's key value, for
    /// objects that do not carry it (a subscription fetched by user id has
    /// no `user_id`): the key column's condition stays checkable.
    pub key_in_row: Option<&'static str>,
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
            enum_of_rows: true,
        }
    };
    ($column:literal, $param:literal, $how:ident, [$($value:literal),*]) => {
        Filter {
            column: $column,
            param: $param,
            how: Match::$how,
            unique: false,
            allowed: &[$($value),*],
            enum_of_rows: true,
        }
    };
    ($column:literal, $param:literal, $how:ident, accepts [$($value:literal),*]) => {
        Filter {
            column: $column,
            param: $param,
            how: Match::$how,
            unique: false,
            allowed: &[$($value),*],
            enum_of_rows: false,
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
            enum_of_rows: true,
        }
    };
}

const USER_FILTERS: &[Filter] = &[
    unique_filter!("id", "user_id", ExactSigned),
    filter!("id", "organization_id", Member),
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

/// The columns of an organization invitation, then `extra`.
macro_rules! organization_invitation_columns {
    ($($extra:expr),*) => {
        &[
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
            $($extra),*
        ]
    };
}

const ORGANIZATION_INVITATIONS: &[ColumnSpec] = organization_invitation_columns!();

const USER_ORGANIZATION_INVITATIONS: &[ColumnSpec] = organization_invitation_columns!(col!(
    "user_id",
    [],
    Path(&["user_id"]),
    Text,
    "The invited user; `user_id = ...` selects the invitations to list."
));

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

#[rustfmt::skip]
const BILLING_PLANS: &[ColumnSpec] = &[
    col!("id", ["plan_id"], Path(&["id"]), Text, "Plan id (`cplan_...`)."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("slug", [], Path(&["slug"]), Text, "Unique slug."),
    col!("description", [], Path(&["description"]), Text, "Description, if any."),
    col!("product_id", [], Path(&["product_id"]), Text, "The billing product it belongs to."),
    col!("for_payer_type", ["payer_type"], Path(&["for_payer_type"]), Text, "`user` or `org`: who subscribes to it."),
    col!("fee_amount", [], Path(&["fee", "amount"]), Cents, "Monthly fee in cents (the currency's smallest unit), NULL if none."),
    col!("annual_monthly_fee_amount", [], Path(&["annual_monthly_fee", "amount"]), Cents, "Monthly fee in cents when billed annually, NULL if none."),
    col!("annual_fee_amount", [], Path(&["annual_fee", "amount"]), Cents, "Annual fee in cents, NULL if none."),
    col!("currency", [], Path(&["fee", "currency"]), Text, "Currency of the fees (`USD`, ...)."),
    col!("is_default", [], Path(&["is_default"]), Bool, "Whether new payers get it."),
    col!("is_recurring", [], Path(&["is_recurring"]), Bool, "Whether it renews."),
    col!("publicly_visible", [], Path(&["publicly_visible"]), Bool, "Whether it is shown in the pricing table."),
    col!("has_base_fee", [], Path(&["has_base_fee"]), Bool, "Whether it has a fee (false for free plans)."),
    col!("free_trial_enabled", [], Path(&["free_trial_enabled"]), Bool, "Whether it starts with a free trial."),
    col!("free_trial_days", [], Path(&["free_trial_days"]), Int, "Length of the free trial, NULL if none."),
    col!("features", [], Path(&["features"]), ObjectList { text_field: "slug" }, "Its features: `text[]` of slugs, or `jsonb`."),
    col!("attrs", [], Whole, Json, "The whole plan object."),
];

#[rustfmt::skip]
const BILLING_PRICES: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Price id."),
    col!("plan_id", [], Path(&["plan_id"]), Text, "The plan it prices; `plan_id = ...` lists one plan's prices."),
    col!("amount", [], Path(&["amount"]), Cents, "Monthly amount in cents."),
    col!("annual_monthly_amount", [], Path(&["annual_monthly_amount"]), Cents, "Monthly amount in cents when billed annually."),
    col!("fee_amount", [], Path(&["fee", "amount"]), Cents, "The monthly fee in cents, NULL if none."),
    col!("currency", [], Path(&["currency"]), Text, "Currency (`USD`, ...)."),
    col!("currency_symbol", [], Path(&["currency_symbol"]), Text, "Currency symbol (`$`, ...)."),
    col!("supported_billing_periods", [], Path(&["supported_billing_periods"]), Text, "`month`, `annual` or `both`."),
    col!("is_default", [], Path(&["is_default"]), Bool, "Whether it is the plan's default price."),
    col!("description", [], Path(&["description"]), Text, "Description, if any."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("attrs", [], Whole, Json, "The whole price object."),
];

#[rustfmt::skip]
const BILLING_SUBSCRIPTION_ITEMS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Subscription item id (`csubi_...`)."),
    col!("status", [], Path(&["status"]), Text, "`active`, `past_due`, `upcoming`, `ended`, `canceled`, `expired`, `incomplete` or `abandoned`."),
    col!("plan_id", [], Path(&["plan_id"]), Text, "The plan subscribed to."),
    col!("plan_name", [], Path(&["plan", "name"]), Text, "The plan's name."),
    col!("plan_slug", [], Path(&["plan", "slug"]), Text, "The plan's slug."),
    col!("payer_type", [], Path(&["plan", "for_payer_type"]), Text, "`user` or `org`: the plan's payer type."),
    col!("price_id", [], Path(&["price_id"]), Text, "The price subscribed at, if known."),
    col!("plan_period", [], Path(&["plan_period"]), Text, "`month` or `annual`."),
    col!("is_free_trial", [], Path(&["is_free_trial"]), Bool, "Whether it is in its free trial."),
    col!("payer_id", [], Path(&["payer_id"]), Text, "The payer (`cpayer_...`)."),
    col!("user_id", [], Path(&["payer", "user_id"]), Text, "The paying user, NULL for an organization."),
    col!("organization_id", [], Path(&["payer", "organization_id"]), Text, "The paying organization, NULL for a user."),
    col!("fee_amount", [], Path(&["plan", "fee", "amount"]), Cents, "The plan's monthly fee in cents."),
    col!("annual_monthly_fee_amount", [], Path(&["plan", "annual_monthly_fee", "amount"]), Cents, "The plan's monthly fee in cents when billed annually."),
    col!("currency", [], Path(&["plan", "fee", "currency"]), Text, "Currency of the fees."),
    col!("lifetime_paid_amount", [], Path(&["lifetime_paid", "amount"]), Cents, "Paid over its lifetime, in cents."),
    col!("next_payment_amount", [], Path(&["next_payment", "amount", "amount"]), Cents, "The next payment in cents, NULL if none."),
    col!("next_payment_at", [], Path(&["next_payment", "date"]), TimestampMs, "When the next payment is due, NULL if none."),
    col!("period_start", [], Path(&["period_start"]), TimestampMs, "Start of the current period."),
    col!("period_end", [], Path(&["period_end"]), TimestampMs, "End of the current period, NULL if open."),
    col!("canceled_at", [], Path(&["canceled_at"]), TimestampMs, "When it was canceled, NULL if not."),
    col!("past_due_at", [], Path(&["past_due_at"]), TimestampMs, "When it became past due, NULL if not."),
    col!("ended_at", [], Path(&["ended_at"]), TimestampMs, "When it ended, NULL if not."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole subscription item (with `plan` and `payer`)."),
];

#[rustfmt::skip]
const BILLING_STATEMENTS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Statement id; `id = ...` reads one statement."),
    col!("status", [], Path(&["status"]), Text, "`open` or `closed`."),
    col!("timestamp", [], Path(&["timestamp"]), TimestampMs, "The statement's date."),
    col!("payer_id", [], Path(&["payer", "id"]), Text, "The payer (`cpayer_...`)."),
    col!("user_id", [], Path(&["payer", "user_id"]), Text, "The paying user, NULL for an organization."),
    col!("organization_id", [], Path(&["payer", "organization_id"]), Text, "The paying organization, NULL for a user."),
    col!("email", [], Path(&["payer", "email"]), Text, "The payer's email, if known."),
    col!("grand_total_amount", [], Path(&["totals", "grand_total", "amount"]), Cents, "Grand total in cents."),
    col!("subtotal_amount", [], Path(&["totals", "subtotal", "amount"]), Cents, "Subtotal in cents."),
    col!("tax_total_amount", [], Path(&["totals", "tax_total", "amount"]), Cents, "Tax in cents."),
    col!("currency", [], Path(&["totals", "grand_total", "currency"]), Text, "Currency of the totals."),
    col!("groups", [], Path(&["groups"]), Json, "The statement's line groups (payment attempts by date)."),
    col!("attrs", [], Whole, Json, "The whole statement object."),
];

#[rustfmt::skip]
const BILLING_PAYMENT_ATTEMPTS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Payment attempt id."),
    col!("statement_id", [], Path(&["statement_id"]), Text, "The statement; `statement_id = ...` selects the attempts to list."),
    col!("payment_id", [], Path(&["payment_id"]), Text, "The payment it attempts."),
    col!("status", [], Path(&["status"]), Text, "`pending`, `paid` or `failed`."),
    col!("charge_type", [], Path(&["charge_type"]), Text, "`checkout`, `recurring`, ..."),
    col!("amount", [], Path(&["amount", "amount"]), Cents, "Amount in cents."),
    col!("currency", [], Path(&["amount", "currency"]), Text, "Currency of the amount."),
    col!("payer_id", [], Path(&["payer_id"]), Text, "The payer (`cpayer_...`)."),
    col!("user_id", [], Path(&["payer", "user_id"]), Text, "The paying user, NULL for an organization."),
    col!("organization_id", [], Path(&["payer", "organization_id"]), Text, "The paying organization, NULL for a user."),
    col!("payee_id", [], Path(&["payee_id"]), Text, "The payee."),
    col!("subscription_item_id", [], Path(&["subscription_item_id"]), Text, "The subscription item paid for, if any."),
    col!("payment_method_id", [], Path(&["payment_method_id"]), Text, "The payment method used."),
    col!("paid_at", [], Path(&["paid_at"]), TimestampMs, "When it succeeded, NULL if not."),
    col!("failed_at", [], Path(&["failed_at"]), TimestampMs, "When it failed, NULL if not."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole payment attempt."),
];

#[rustfmt::skip]
const BILLING_SUBSCRIPTIONS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Subscription id (`csub_...`)."),
    col!("user_id", [], Path(&["user_id"]), Text, "The user; `user_id = ...` reads that user's subscription."),
    col!("organization_id", [], Path(&["organization_id"]), Text, "The organization; `organization_id = ...` reads its subscription."),
    col!("status", [], Path(&["status"]), Text, "`active`, `past_due`, `canceled`, `ended`, `abandoned` or `incomplete`."),
    col!("payer_id", [], Path(&["payer_id"]), Text, "The payer (`cpayer_...`)."),
    col!("active_at", [], Path(&["active_at"]), TimestampMs, "When it became active, NULL if not yet."),
    col!("past_due_at", [], Path(&["past_due_at"]), TimestampMs, "When it became past due, NULL if not."),
    col!("next_payment_amount", [], Path(&["next_payment", "amount", "amount"]), Cents, "The next payment in cents, NULL if none."),
    col!("next_payment_currency", [], Path(&["next_payment", "amount", "currency"]), Text, "Its currency."),
    col!("next_payment_at", [], Path(&["next_payment", "date"]), TimestampMs, "When it is due."),
    col!("eligible_for_free_trial", [], Path(&["eligible_for_free_trial"]), Bool, "Whether the payer may still start a free trial."),
    col!("subscription_items", [], Path(&["subscription_items"]), Json, "Its subscription items."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole subscription, with the `user_id` or `organization_id` it was read by."),
];

#[rustfmt::skip]
const WAITLIST_ENTRIES: &[ColumnSpec] = &[
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
const ORGANIZATION_ROLES: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Role id (`role_...`)."),
    col!("key", [], Path(&["key"]), Text, "Role key (`org:admin`, ...), as in memberships' `role`."),
    col!("name", [], Path(&["name"]), Text, "Display name."),
    col!("description", [], Path(&["description"]), Text, "Description, if any."),
    col!("is_creator_eligible", [], Path(&["is_creator_eligible"]), Bool, "Whether an organization's creator may get it."),
    col!("permissions", [], Path(&["permissions"]), ObjectList { text_field: "key" }, "Its permissions: `text[]` of keys, `jsonb`, or an integer type for their count."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole role object."),
];

#[rustfmt::skip]
const ORGANIZATION_PERMISSIONS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Permission id (`perm_...`)."),
    col!("key", [], Path(&["key"]), Text, "Permission key (`org:invoices:read`, ...)."),
    col!("name", [], Path(&["name"]), Text, "Display name."),
    col!("description", [], Path(&["description"]), Text, "Description."),
    col!("type", [], Path(&["type"]), Text, "`system` or `user`."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole permission object."),
];

#[rustfmt::skip]
const ROLE_SETS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Role set id."),
    col!("key", [], Path(&["key"]), Text, "Role set key."),
    col!("name", [], Path(&["name"]), Text, "Display name."),
    col!("description", [], Path(&["description"]), Text, "Description, if any."),
    col!("type", [], Path(&["type"]), Text, "`initial` or `custom`."),
    col!("roles", [], Path(&["roles"]), ObjectList { text_field: "key" }, "Its roles: `text[]` of keys, `jsonb`, or an integer type for their count."),
    col!("default_role", [], Path(&["default_role", "key"]), Text, "Key of the role new members get."),
    col!("creator_role", [], Path(&["creator_role", "key"]), Text, "Key of the role an organization's creator gets."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole role set."),
];

#[rustfmt::skip]
const ENTERPRISE_CONNECTIONS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Connection id."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("provider", [], Path(&["provider"]), Text, "`saml_okta`, `oauth_custom`, ..."),
    col!("active", [], Path(&["active"]), Bool, "Whether users can sign in with it."),
    col!("domains", [], Path(&["domains"]), TextList, "The email domains it serves."),
    col!("organization_id", [], Path(&["organization_id"]), Text, "The organization it belongs to, if any."),
    col!("logo_public_url", [], Path(&["logo_public_url"]), Text, "Logo URL, if any."),
    col!("sync_user_attributes", [], Path(&["sync_user_attributes"]), Bool, "Whether user attributes are updated at each sign-in."),
    col!("disable_additional_identifications", [], Path(&["disable_additional_identifications"]), Bool, "Whether users may not add other identifications."),
    col!("allow_organization_account_linking", [], Path(&["allow_organization_account_linking"]), Bool, "Whether existing accounts are linked by organization."),
    col!("saml_connection_id", [], Path(&["saml_connection", "id"]), Text, "Its SAML connection, if it is one."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole connection object."),
];

#[rustfmt::skip]
const ORGANIZATION_DOMAINS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Domain id."),
    col!("organization_id", [], Path(&["organization_id"]), Text, "The organization."),
    col!("name", [], Path(&["name"]), Text, "The domain name."),
    col!("enrollment_mode", [], Path(&["enrollment_mode"]), Text, "`manual_invitation`, `automatic_invitation`, `automatic_suggestion` or `enterprise_sso`."),
    col!("affiliation_email_address", [], Path(&["affiliation_email_address"]), Text, "The address that verified the affiliation, if any."),
    col!("verification_status", [], Path(&["affiliation_verification", "status"]), Text, "`verified` or `unverified`, NULL if never attempted."),
    col!("verified_at", [], Path(&["affiliation_verification", "verified_at"]), TimestampMs, "When it was verified, NULL if not."),
    col!("total_pending_invitations", [], Path(&["total_pending_invitations"]), Int, "Pending invitations sent for it."),
    col!("total_pending_suggestions", [], Path(&["total_pending_suggestions"]), Int, "Pending suggestions made for it."),
    col!("organization_name", [], Path(&["public_organization_data", "name"]), Text, "The organization's name."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole domain object."),
];

#[rustfmt::skip]
const MACHINES: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Machine id (`mch_...`)."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("instance_id", [], Path(&["instance_id"]), Text, "The Clerk instance."),
    col!("default_token_ttl", [], Path(&["default_token_ttl"]), Int, "Default lifetime of its tokens, in seconds."),
    col!("scoped_machines", [], Path(&["scoped_machines"]), ObjectList { text_field: "id" }, "Machines it may call: `text[]` of ids, `jsonb`, or a count."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole machine object."),
];

#[rustfmt::skip]
const API_KEYS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "API key id (`ak_...`); never the secret."),
    col!("subject", [], Path(&["subject"]), Text, "The user, organization or machine it belongs to; `subject = ...` selects the keys to list."),
    col!("type", [], Path(&["type"]), Text, "`api_key`."),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("description", [], Path(&["description"]), Text, "Description, if any."),
    col!("scopes", [], Path(&["scopes"]), TextList, "Scopes."),
    col!("claims", [], Path(&["claims"]), Json, "Custom claims, if any."),
    col!("revoked", [], Path(&["revoked"]), Bool, "Whether it was revoked."),
    col!("revocation_reason", [], Path(&["revocation_reason"]), Text, "Why, if revoked."),
    col!("expired", [], Path(&["expired"]), Bool, "Whether it expired."),
    col!("expiration", [], Path(&["expiration"]), TimestampMs, "When it expires, NULL if never."),
    col!("created_by", [], Path(&["created_by"]), Text, "The user who created it, if any."),
    col!("last_used_at", [], Path(&["last_used_at"]), TimestampMs, "Last use, NULL if never."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole API key object (Clerk lists no secret)."),
];

#[rustfmt::skip]
const M2M_TOKENS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Token id (`mt_...`); never the token."),
    col!("subject", [], Path(&["subject"]), Text, "The machine it belongs to; `subject = ...` selects the tokens to list."),
    col!("scopes", [], Path(&["scopes"]), TextList, "Scopes."),
    col!("claims", [], Path(&["claims"]), Json, "Custom claims, if any."),
    col!("revoked", [], Path(&["revoked"]), Bool, "Whether it was revoked."),
    col!("revocation_reason", [], Path(&["revocation_reason"]), Text, "Why, if revoked."),
    col!("expired", [], Path(&["expired"]), Bool, "Whether it expired."),
    col!("expiration", [], Path(&["expiration"]), TimestampMs, "When it expires, NULL if never."),
    col!("last_used_at", [], Path(&["last_used_at"]), TimestampMs, "Last use, NULL if never."),
    col!("created_at", [], Path(&["created_at"]), TimestampMs, "Creation time."),
    col!("updated_at", [], Path(&["updated_at"]), TimestampMs, "Last change."),
    col!("attrs", [], Whole, Json, "The whole token object (Clerk lists no secret)."),
];

#[rustfmt::skip]
const INSTANCE: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Instance id (`ins_...`)."),
    col!("environment_type", [], Path(&["environment_type"]), Text, "`development`, `staging` or `production`."),
    col!("allowed_origins", [], Path(&["allowed_origins"]), TextList, "Origins allowed to call the Frontend API, if set."),
    col!("workspace_id", [], Path(&["workspace_id"]), Text, "The workspace, if any."),
    col!("attrs", [], Whole, Json, "The whole instance object."),
];

#[rustfmt::skip]
const INSTANCE_ORGANIZATION_SETTINGS: &[ColumnSpec] = &[
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
        max_limit: MAX_PAGE_SIZE,
        list_field: "data",
        fixed_params: &[],
        key_in_row: None,
    }
}

/// An endpoint a key equality selects: `{key}` in `path` or, with
/// `key_param`, a query parameter carries the value. Clerk documents 404
/// for a key that does not exist on all of these: it means no rows.
const fn keyed_endpoint(
    path: &'static [&'static str],
    key: &'static str,
    key_param: Option<&'static str>,
    envelope: Envelope,
    paging: Paging,
    rows_per_key: f64,
) -> Endpoint {
    Endpoint {
        key: Some((key, Match::Exact)),
        key_param,
        rows_per_key,
        not_found_means_no_rows: true,
        ..list_endpoint(path, envelope, paging, &[], &[], Count::Unsupported)
    }
}

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

const PAYER_TYPE: Filter = filter!("for_payer_type", "payer_type", One, ["user", "org"]);

/// API keys and M2M tokens: listed by subject, at most 100 a page.
const fn subject_endpoint(
    path: &'static [&'static str],
    list_field: &'static str,
    fixed_params: &'static [(&'static str, &'static str)],
) -> Endpoint {
    Endpoint {
        max_limit: 100,
        list_field,
        fixed_params,
        not_found_means_no_rows: false,
        count: Count::TotalCount,
        ..keyed_endpoint(
            path,
            "subject",
            Some("subject"),
            Envelope::Data,
            Paging::Offset,
            5.0,
        )
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

const ATTEMPTS_OF_STATEMENT: Endpoint = Endpoint {
    count: Count::TotalCount,
    ..keyed_endpoint(
        &["billing", "statements", KEY, "payment_attempts"],
        "statement_id",
        None,
        Envelope::Paginated,
        Paging::Offset,
        2.0,
    )
};

const SUBSCRIPTION_OF_USER: Endpoint = Endpoint {
    key_in_row: Some("user_id"),
    ..keyed_endpoint(
        &["users", KEY, "billing", "subscription"],
        "user_id",
        None,
        Envelope::Single,
        Paging::Single,
        1.0,
    )
};

const USER_ORG_INVITATIONS: Endpoint = Endpoint {
    key_in_row: Some("user_id"),
    filters: INVITATION_STATUS,
    count: Count::TotalCount,
    ..keyed_endpoint(
        &["users", KEY, "organization_invitations"],
        "user_id",
        None,
        Envelope::Data,
        Paging::Offset,
        1.0,
    )
};

const API_KEYS_OF_SUBJECT: Endpoint =
    subject_endpoint(&["api_keys"], "data", &[("include_invalid", "true")]);

/// Revoked and expired tokens are listed only when asked for.
const M2M_TOKENS_OF_SUBJECT: Endpoint = subject_endpoint(
    &["m2m_tokens"],
    "m2m_tokens",
    &[("revoked", "true"), ("expired", "true")],
);

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
            max_limit: MAX_PAGE_SIZE,
            list_field: "data",
            fixed_params: &[],
            key_in_row: None,
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
                filters: &[
                    unique_filter!("id", "organization_id", ExactSigned),
                    filter!("id", "user_id", Member),
                ],
                // members_count only for what fits one page (see [`MULTI_PAGE_ORDER_KEYS`]).
                order_by: &["created_at", "members_count"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 0.0,
                not_found_means_no_rows: false,
                unlisted_by_default: None,
                included_on_request: MEMBERS_COUNT,
                max_limit: MAX_PAGE_SIZE,
                list_field: "data",
                fixed_params: &[],
                key_in_row: None,
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
                max_limit: MAX_PAGE_SIZE,
                list_field: "data",
                fixed_params: &[],
                key_in_row: None,
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
                max_limit: MAX_PAGE_SIZE,
                list_field: "data",
                fixed_params: &[],
                key_in_row: None,
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
                max_limit: MAX_PAGE_SIZE,
                list_field: "data",
                fixed_params: &[],
                key_in_row: None,
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
                max_limit: MAX_PAGE_SIZE,
                list_field: "data",
                fixed_params: &[],
                key_in_row: None,
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
    ObjectSpec {
        name: "billing_plans",
        endpoints: &[list_endpoint(
            &["billing", "plans"],
            Envelope::Paginated,
            Paging::Offset,
            &[PAYER_TYPE],
            &[],
            Count::TotalCount,
        )],
        columns: BILLING_PLANS,
        needs_key: false,
    },
    ObjectSpec {
        name: "billing_prices",
        endpoints: &[
            list_endpoint(
                &["billing", "prices"],
                Envelope::Paginated,
                Paging::Offset,
                &[],
                &[],
                Count::TotalCount,
            ),
            Endpoint {
                count: Count::TotalCount,
                ..keyed_endpoint(
                    &["billing", "prices"],
                    "plan_id",
                    Some("plan_id"),
                    Envelope::Paginated,
                    Paging::Offset,
                    2.0,
                )
            },
        ],
        columns: BILLING_PRICES,
        needs_key: false,
    },
    ObjectSpec {
        name: "billing_subscription_items",
        endpoints: &[Endpoint {
            // Free-plan items are listed only when asked for.
            fixed_params: &[("include_free", "true")],
            ..list_endpoint(
                &["billing", "subscription_items"],
                Envelope::Paginated,
                Paging::Offset,
                &[
                    filter!(
                        "status",
                        "status",
                        One,
                        accepts ["active", "ended", "past_due", "upcoming"]
                    ),
                    filter!("payer_type", "payer_type", One, ["user", "org"]),
                    filter!("plan_id", "plan_id", One),
                ],
                &[],
                Count::TotalCount,
            )
        }],
        columns: BILLING_SUBSCRIPTION_ITEMS,
        needs_key: false,
    },
    ObjectSpec {
        name: "billing_statements",
        endpoints: &[
            list_endpoint(
                &["billing", "statements"],
                Envelope::Paginated,
                Paging::Offset,
                &[],
                &[],
                Count::TotalCount,
            ),
            keyed_endpoint(
                &["billing", "statements", KEY],
                "id",
                None,
                Envelope::Single,
                Paging::Single,
                1.0,
            ),
        ],
        columns: BILLING_STATEMENTS,
        needs_key: false,
    },
    ObjectSpec {
        name: "billing_payment_attempts",
        // Clerk lists the attempts of one statement only.
        endpoints: &[ATTEMPTS_OF_STATEMENT, ATTEMPTS_OF_STATEMENT],
        columns: BILLING_PAYMENT_ATTEMPTS,
        needs_key: true,
    },
    ObjectSpec {
        name: "billing_subscriptions",
        // One subscription per user or organization, read by its id.
        endpoints: &[
            SUBSCRIPTION_OF_USER,
            SUBSCRIPTION_OF_USER,
            Endpoint {
                key_in_row: Some("organization_id"),
                ..keyed_endpoint(
                    &["organizations", KEY, "billing", "subscription"],
                    "organization_id",
                    None,
                    Envelope::Single,
                    Paging::Single,
                    1.0,
                )
            },
        ],
        columns: BILLING_SUBSCRIPTIONS,
        needs_key: true,
    },
    ObjectSpec {
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
        columns: WAITLIST_ENTRIES,
        needs_key: false,
    },
    ObjectSpec {
        name: "organization_roles",
        endpoints: &[list_endpoint(
            &["organization_roles"],
            Envelope::Data,
            Paging::Offset,
            &[],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: ORGANIZATION_ROLES,
        needs_key: false,
    },
    ObjectSpec {
        name: "organization_permissions",
        endpoints: &[list_endpoint(
            &["organization_permissions"],
            Envelope::Data,
            Paging::Offset,
            &[],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: ORGANIZATION_PERMISSIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "role_sets",
        endpoints: &[list_endpoint(
            &["role_sets"],
            Envelope::Data,
            Paging::Offset,
            &[],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: ROLE_SETS,
        needs_key: false,
    },
    ObjectSpec {
        name: "enterprise_connections",
        endpoints: &[list_endpoint(
            &["enterprise_connections"],
            Envelope::Data,
            Paging::Offset,
            &[
                filter!("organization_id", "organization_id", One),
                filter!("active", "active", Flag),
            ],
            &[],
            Count::TotalCount,
        )],
        columns: ENTERPRISE_CONNECTIONS,
        needs_key: false,
    },
    ObjectSpec {
        name: "organization_domains",
        endpoints: &[list_endpoint(
            &["organization_domains"],
            Envelope::Data,
            Paging::Offset,
            &[
                filter!("organization_id", "organization_id", One),
                filter!(
                    "enrollment_mode",
                    "enrollment_mode",
                    Exact,
                    [
                        "manual_invitation",
                        "automatic_invitation",
                        "automatic_suggestion",
                        "enterprise_sso"
                    ]
                ),
                unique_filter!("name", "domains", Exact),
            ],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: ORGANIZATION_DOMAINS,
        needs_key: false,
    },
    ObjectSpec {
        name: "user_organization_invitations",
        endpoints: &[USER_ORG_INVITATIONS, USER_ORG_INVITATIONS],
        columns: USER_ORGANIZATION_INVITATIONS,
        needs_key: true,
    },
    ObjectSpec {
        name: "machines",
        endpoints: &[list_endpoint(
            &["machines"],
            Envelope::Data,
            Paging::Offset,
            &[],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: MACHINES,
        needs_key: false,
    },
    ObjectSpec {
        name: "api_keys",
        // Revoked and expired keys are listed only when asked for.
        endpoints: &[API_KEYS_OF_SUBJECT, API_KEYS_OF_SUBJECT],
        columns: API_KEYS,
        needs_key: true,
    },
    ObjectSpec {
        name: "m2m_tokens",
        endpoints: &[M2M_TOKENS_OF_SUBJECT, M2M_TOKENS_OF_SUBJECT],
        columns: M2M_TOKENS,
        needs_key: true,
    },
    ObjectSpec {
        name: "instance",
        endpoints: &[instance_endpoint(&["instance"])],
        columns: INSTANCE,
        needs_key: false,
    },
    ObjectSpec {
        name: "instance_organization_settings",
        endpoints: &[instance_endpoint(&["instance", "organization_settings"])],
        columns: INSTANCE_ORGANIZATION_SETTINGS,
        needs_key: false,
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
    use clerk_mock::spec::{bapi, Spec};
    use serde_json::Value;

    /// Each membership link names a `Member` filter of its object's list
    /// and two text columns of the memberships.
    #[test]
    fn membership_links_name_real_filters_and_columns() {
        let memberships = object(LINKED_THROUGH).unwrap();
        for link in MEMBERSHIP_LINKS {
            let narrowed = object(link.object).unwrap();
            assert!(
                narrowed
                    .list()
                    .filters
                    .iter()
                    .any(|f| f.column == "id" && f.how == Match::Member),
                "{link:?}"
            );
            for column in [link.joined_on, link.by] {
                let c = memberships.column(column).unwrap();
                assert_eq!(c.kind, Kind::Text, "{link:?}");
            }
        }
    }

    /// The properties of an object schema, through `$ref` and `allOf`.
    fn properties<'a>(spec: &'a Spec, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        let Some(schema) = spec.resolve(schema) else {
            return;
        };
        for part in schema["allOf"].as_array().into_iter().flatten() {
            properties(spec, part, out);
        }
        for (name, value) in schema["properties"].as_object().into_iter().flatten() {
            out.push((name, value));
        }
    }

    /// The schema of `path` below `schema`, `None` when the spec has no
    /// such field.
    fn field<'a>(spec: &'a Spec, schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
        let Some((first, rest)) = path.split_first() else {
            return Some(schema);
        };
        let mut props = Vec::new();
        properties(spec, schema, &mut props);
        let (_, next) = props.into_iter().find(|(name, _)| name == first)?;
        field(spec, next, rest)
    }

    /// A sample request to `e` with each of its parameters, as Clerk's spec
    /// must accept it.
    fn sample_requests(e: &Endpoint) -> Vec<Vec<(String, String)>> {
        let mut base: Vec<(String, String)> = e
            .fixed_params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        base.extend(e.key_param.map(|p| (p.to_string(), "x_1".to_string())));
        if e.envelope == Envelope::Paginated {
            base.push(("paginated".into(), "true".into()));
        }
        let mut requests = Vec::new();
        if e.paging == Paging::Offset || e.paging == Paging::Cursor {
            let mut r = base.clone();
            r.push(("limit".into(), e.max_limit.to_string()));
            r.push(("offset".into(), "1".into()));
            requests.push(r);
        }
        for f in e.filters {
            let values: Vec<Vec<(String, String)>> = match f.how {
                Match::Range => vec![vec![
                    (format!("{}_after", f.param), "1".into()),
                    (format!("{}_before", f.param), "2".into()),
                ]],
                Match::Flag => vec![vec![(f.param.into(), "true".into())]],
                _ if f.allowed.is_empty() => vec![vec![(f.param.into(), "v".into())]],
                _ => f
                    .allowed
                    .iter()
                    .map(|v| vec![(f.param.to_string(), v.to_string())])
                    .collect(),
            };
            for v in values {
                let mut r = base.clone();
                r.extend(v);
                requests.push(r);
            }
        }
        for column in e.order_by {
            for sign in ["+", "-"] {
                let mut r = base.clone();
                r.push(("order_by".into(), format!("{sign}{column}")));
                requests.push(r);
            }
        }
        for (_, flag) in e.included_on_request {
            let mut r = base.clone();
            r.push((flag.to_string(), "true".into()));
            requests.push(r);
        }
        requests.push(base);
        requests
    }

    /// Every path, parameter and enum value clerk_fdw sends, and every JSON
    /// field a column reads, is in Clerk's spec.
    #[test]
    fn every_request_and_column_is_in_clerks_spec() {
        let spec = bapi();
        for o in OBJECTS {
            for e in o.endpoints {
                let segments: Vec<String> = e
                    .path
                    .iter()
                    .map(|s| {
                        if *s == KEY {
                            "x_1".into()
                        } else {
                            s.to_string()
                        }
                    })
                    .collect();
                for query in sample_requests(e) {
                    if let Err(e) = spec.check_get(&segments, &query) {
                        panic!("{}: {e}", o.name);
                    }
                }
                let template = spec.template(&segments).expect("checked above");
                let response = spec
                    .response_schema(template, 200)
                    .unwrap_or_else(|| panic!("{}: no 200 response for {template}", o.name));
                let row = match e.envelope {
                    Envelope::Single => response,
                    Envelope::Array => &spec.resolve(response).unwrap()["items"],
                    // Documented as a bare array or as `{data, total_count}`.
                    Envelope::Data | Envelope::Paginated => {
                        let list = match spec.resolve(response).unwrap()["type"].as_str() {
                            Some("array") => response,
                            _ => field(spec, response, &[e.list_field]).unwrap_or_else(|| {
                                panic!("{}: no {} in {template}", o.name, e.list_field)
                            }),
                        };
                        &spec.resolve(list).unwrap()["items"]
                    }
                };
                for c in o.columns {
                    let Source::Path(path) = c.source else {
                        continue;
                    };
                    // Set from the key the rows were asked by.
                    if o.endpoints.iter().any(|e| e.key_in_row == Some(path[0])) {
                        continue;
                    }
                    assert!(
                        field(spec, row, path).is_some(),
                        "{}.{}: {template} has no field {}",
                        o.name,
                        c.name,
                        path.join(".")
                    );
                }
            }
        }
    }

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
