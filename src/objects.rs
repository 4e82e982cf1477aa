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
    /// One JSON object.
    Single,
}

/// How Clerk matches a filter parameter against a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// `param=v`, repeatable up to 100 times; Clerk matches exactly.
    Exact,
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
}

/// A column Clerk can filter an endpoint by.
#[derive(Debug)]
pub struct Filter {
    pub column: &'static str,
    pub param: &'static str,
    pub how: Match,
    /// Each value selects at most one row (for row estimates).
    pub unique: bool,
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
}

#[derive(Debug)]
pub struct ObjectSpec {
    /// The table option `object`.
    pub name: &'static str,
    /// The instance-wide list first, then the narrower endpoints a key
    /// equality selects, in order of preference.
    pub endpoints: &'static [Endpoint],
    pub columns: &'static [ColumnSpec],
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
}

macro_rules! col {
    ($name:literal, [$($alias:literal),*], $source:expr, $kind:expr, $doc:literal) => {
        ColumnSpec { name: $name, aliases: &[$($alias),*], source: $source, kind: $kind, doc: $doc }
    };
}

use Kind::*;
use Source::*;

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

const ORGANIZATIONS: &[ColumnSpec] = &[
    col!(
        "id",
        ["organization_id"],
        Path(&["id"]),
        Text,
        "Clerk organization id (`org_...`)."
    ),
    col!("name", [], Path(&["name"]), Text, "Name."),
    col!("slug", [], Path(&["slug"]), Text, "Unique slug."),
    col!("image_url", [], Path(&["image_url"]), Text, "Logo URL."),
    col!(
        "has_image",
        [],
        Path(&["has_image"]),
        Bool,
        "Whether a logo was uploaded."
    ),
    col!(
        "created_by",
        [],
        Path(&["created_by"]),
        Text,
        "Id of the user who created it."
    ),
    col!(
        "max_allowed_memberships",
        [],
        Path(&["max_allowed_memberships"]),
        Int,
        "Membership cap (0 = unlimited)."
    ),
    col!(
        "members_count",
        [],
        Path(&["members_count"]),
        Int,
        "Number of members, when Clerk includes it."
    ),
    col!(
        "admin_delete_enabled",
        [],
        Path(&["admin_delete_enabled"]),
        Bool,
        "Whether admins may delete it."
    ),
    col!(
        "public_metadata",
        [],
        Path(&["public_metadata"]),
        Json,
        "Public metadata."
    ),
    col!(
        "private_metadata",
        [],
        Path(&["private_metadata"]),
        Json,
        "Private metadata."
    ),
    col!(
        "created_at",
        [],
        Path(&["created_at"]),
        TimestampMs,
        "Creation time."
    ),
    col!(
        "updated_at",
        [],
        Path(&["updated_at"]),
        TimestampMs,
        "Last update."
    ),
    col!("attrs", [], Whole, Json, "The whole organization object."),
];

const MEMBERSHIPS: &[ColumnSpec] = &[
    col!(
        "id",
        [],
        Path(&["id"]),
        Text,
        "Membership id (`orgmem_...`)."
    ),
    col!(
        "user_id",
        [],
        Path(&["public_user_data", "user_id"]),
        Text,
        "The member's user id."
    ),
    col!(
        "organization_id",
        [],
        Path(&["organization", "id"]),
        Text,
        "The organization's id."
    ),
    col!(
        "role",
        [],
        Path(&["role"]),
        Text,
        "Role key, e.g. `org:admin`."
    ),
    col!(
        "role_name",
        [],
        Path(&["role_name"]),
        Text,
        "Role display name, e.g. `Admin`."
    ),
    col!(
        "permissions",
        [],
        Path(&["permissions"]),
        TextList,
        "Permission keys of the role."
    ),
    col!(
        "public_metadata",
        [],
        Path(&["public_metadata"]),
        Json,
        "Public metadata of the membership."
    ),
    col!(
        "private_metadata",
        [],
        Path(&["private_metadata"]),
        Json,
        "Private metadata of the membership."
    ),
    col!(
        "organization_name",
        [],
        Path(&["organization", "name"]),
        Text,
        "The organization's name."
    ),
    col!(
        "organization_slug",
        [],
        Path(&["organization", "slug"]),
        Text,
        "The organization's slug."
    ),
    col!(
        "identifier",
        [],
        Path(&["public_user_data", "identifier"]),
        Text,
        "The member's primary identifier (usually the email)."
    ),
    col!(
        "first_name",
        [],
        Path(&["public_user_data", "first_name"]),
        Text,
        "The member's first name."
    ),
    col!(
        "last_name",
        [],
        Path(&["public_user_data", "last_name"]),
        Text,
        "The member's last name."
    ),
    col!(
        "username",
        [],
        Path(&["public_user_data", "username"]),
        Text,
        "The member's username."
    ),
    col!(
        "created_at",
        [],
        Path(&["created_at"]),
        TimestampMs,
        "When the user joined."
    ),
    col!(
        "updated_at",
        [],
        Path(&["updated_at"]),
        TimestampMs,
        "Last update."
    ),
    col!(
        "attrs",
        [],
        Whole,
        Json,
        "The whole membership object (with `organization` and `public_user_data`)."
    ),
];

macro_rules! filter {
    ($column:literal, $param:literal, $how:ident) => {
        Filter {
            column: $column,
            param: $param,
            how: Match::$how,
            unique: false,
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
        }
    };
}

const USER_FILTERS: &[Filter] = &[
    unique_filter!("id", "user_id", ExactSigned),
    unique_filter!("external_id", "external_id", ExactSigned),
    unique_filter!("email", "email_address", Wider),
    unique_filter!("username", "username", Wider),
    unique_filter!("phone_number", "phone_number", Wider),
    filter!("banned", "banned", Flag),
    filter!("created_at", "created_at", Range),
    filter!("last_sign_in_at", "last_sign_in_at", Range),
    filter!("last_active_at", "last_active_at", Range),
];

const INVITATIONS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Invitation id (`inv_...`)."),
    col!(
        "email_address",
        ["email"],
        Path(&["email_address"]),
        Text,
        "Who was invited."
    ),
    col!(
        "status",
        [],
        Path(&["status"]),
        Text,
        "`pending`, `accepted`, `revoked` or `expired`."
    ),
    col!(
        "revoked",
        [],
        Path(&["revoked"]),
        Bool,
        "Whether the invitation was revoked."
    ),
    col!(
        "url",
        [],
        Path(&["url"]),
        Text,
        "The invitation link, if any."
    ),
    col!(
        "public_metadata",
        [],
        Path(&["public_metadata"]),
        Json,
        "Metadata given to the new user."
    ),
    col!(
        "expires_at",
        [],
        Path(&["expires_at"]),
        TimestampMs,
        "When it expires, NULL if never."
    ),
    col!(
        "created_at",
        [],
        Path(&["created_at"]),
        TimestampMs,
        "When it was sent."
    ),
    col!(
        "updated_at",
        [],
        Path(&["updated_at"]),
        TimestampMs,
        "Last change."
    ),
    col!("attrs", [], Whole, Json, "The whole invitation object."),
];

const ORGANIZATION_INVITATIONS: &[ColumnSpec] = &[
    col!(
        "id",
        [],
        Path(&["id"]),
        Text,
        "Invitation id (`orginv_...`)."
    ),
    col!(
        "email_address",
        ["email"],
        Path(&["email_address"]),
        Text,
        "Who was invited."
    ),
    col!(
        "organization_id",
        [],
        Path(&["organization_id"]),
        Text,
        "The organization invited to."
    ),
    col!(
        "organization_name",
        [],
        Path(&["public_organization_data", "name"]),
        Text,
        "Its name."
    ),
    col!(
        "role",
        [],
        Path(&["role"]),
        Text,
        "Role on joining (`org:member`, ...)."
    ),
    col!(
        "role_name",
        [],
        Path(&["role_name"]),
        Text,
        "The role's display name."
    ),
    col!(
        "status",
        [],
        Path(&["status"]),
        Text,
        "`pending`, `accepted`, `revoked` or `expired`."
    ),
    col!(
        "inviter_id",
        [],
        Path(&["inviter_id"]),
        Text,
        "The user who invited, if any."
    ),
    col!(
        "url",
        [],
        Path(&["url"]),
        Text,
        "The invitation link, if any."
    ),
    col!(
        "public_metadata",
        [],
        Path(&["public_metadata"]),
        Json,
        "Public metadata."
    ),
    col!(
        "private_metadata",
        [],
        Path(&["private_metadata"]),
        Json,
        "Private metadata."
    ),
    col!(
        "expires_at",
        [],
        Path(&["expires_at"]),
        TimestampMs,
        "When it expires, NULL if never."
    ),
    col!(
        "created_at",
        [],
        Path(&["created_at"]),
        TimestampMs,
        "When it was sent."
    ),
    col!(
        "updated_at",
        [],
        Path(&["updated_at"]),
        TimestampMs,
        "Last change."
    ),
    col!("attrs", [], Whole, Json, "The whole invitation object."),
];

const ALLOWLIST_IDENTIFIERS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`alid_...`)."),
    col!(
        "identifier",
        [],
        Path(&["identifier"]),
        Text,
        "Email address, domain or phone number allowed to sign up."
    ),
    col!(
        "identifier_type",
        [],
        Path(&["identifier_type"]),
        Text,
        "`email_address`, `phone_number`, `web3_wallet`, ..."
    ),
    col!(
        "invitation_id",
        [],
        Path(&["invitation_id"]),
        Text,
        "The invitation sent with it, if any."
    ),
    col!(
        "instance_id",
        [],
        Path(&["instance_id"]),
        Text,
        "The Clerk instance."
    ),
    col!(
        "created_at",
        [],
        Path(&["created_at"]),
        TimestampMs,
        "When it was added."
    ),
    col!(
        "updated_at",
        [],
        Path(&["updated_at"]),
        TimestampMs,
        "Last change."
    ),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

const BLOCKLIST_IDENTIFIERS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Entry id (`blid_...`)."),
    col!(
        "identifier",
        [],
        Path(&["identifier"]),
        Text,
        "Email address, domain or phone number blocked from signing up."
    ),
    col!(
        "identifier_type",
        [],
        Path(&["identifier_type"]),
        Text,
        "`email_address`, `phone_number`, `web3_wallet`, ..."
    ),
    col!(
        "instance_id",
        [],
        Path(&["instance_id"]),
        Text,
        "The Clerk instance."
    ),
    col!(
        "created_at",
        [],
        Path(&["created_at"]),
        TimestampMs,
        "When it was added."
    ),
    col!(
        "updated_at",
        [],
        Path(&["updated_at"]),
        TimestampMs,
        "Last change."
    ),
    col!("attrs", [], Whole, Json, "The whole entry."),
];

const DOMAINS: &[ColumnSpec] = &[
    col!("id", [], Path(&["id"]), Text, "Domain id (`dmn_...`)."),
    col!("name", [], Path(&["name"]), Text, "The domain name."),
    col!(
        "is_satellite",
        [],
        Path(&["is_satellite"]),
        Bool,
        "Whether it is a satellite domain."
    ),
    col!(
        "frontend_api_url",
        [],
        Path(&["frontend_api_url"]),
        Text,
        "Frontend API URL."
    ),
    col!(
        "accounts_portal_url",
        [],
        Path(&["accounts_portal_url"]),
        Text,
        "Account Portal URL, if any."
    ),
    col!(
        "proxy_url",
        [],
        Path(&["proxy_url"]),
        Text,
        "Proxy URL, if any."
    ),
    col!(
        "development_origin",
        [],
        Path(&["development_origin"]),
        Text,
        "Development origin."
    ),
    col!(
        "cname_targets",
        [],
        Path(&["cname_targets"]),
        Json,
        "DNS CNAME records to set, if any."
    ),
    col!("attrs", [], Whole, Json, "The whole domain object."),
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
    }
}

pub static OBJECTS: &[ObjectSpec] = &[
    ObjectSpec {
        name: "users",
        endpoints: &[Endpoint {
            path: &["users"],
            key: None,
            envelope: Envelope::Array,
            paging: Paging::Cursor,
            filters: USER_FILTERS,
            // `starting_after` only works on a created_at ordering.
            order_by: &["created_at"],
            default_order: Some("-created_at"),
            count: Count::Endpoint(&["users", "count"]),
            rows_per_key: 0.0,
        }],
        columns: USERS,
    },
    ObjectSpec {
        name: "organizations",
        endpoints: &[
            Endpoint {
                path: &["organizations"],
                key: None,
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[unique_filter!("id", "organization_id", ExactSigned)],
                order_by: &["created_at"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 0.0,
            },
            Endpoint {
                // Takes an id or a slug.
                path: &["organizations", KEY],
                key: Some(("slug", Match::Wider)),
                envelope: Envelope::Single,
                paging: Paging::Single,
                filters: &[],
                order_by: &[],
                default_order: None,
                count: Count::Unsupported,
                rows_per_key: 1.0,
            },
        ],
        columns: ORGANIZATIONS,
    },
    ObjectSpec {
        name: "organization_memberships",
        endpoints: &[
            Endpoint {
                path: &["organization_memberships"],
                key: None,
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[],
                order_by: &["created_at"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 0.0,
            },
            Endpoint {
                path: &["organizations", KEY, "memberships"],
                key: Some(("organization_id", Match::Exact)),
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[
                    unique_filter!("user_id", "user_id", ExactSigned),
                    filter!("role", "role", Exact),
                ],
                order_by: &["created_at"],
                default_order: Some("+created_at"),
                count: Count::TotalCount,
                rows_per_key: 20.0,
            },
            Endpoint {
                path: &["users", KEY, "organization_memberships"],
                key: Some(("user_id", Match::Exact)),
                envelope: Envelope::Data,
                paging: Paging::Offset,
                filters: &[],
                order_by: &[],
                default_order: None,
                count: Count::TotalCount,
                rows_per_key: 3.0,
            },
        ],
        columns: MEMBERSHIPS,
    },
    ObjectSpec {
        name: "invitations",
        endpoints: &[list_endpoint(
            &["invitations"],
            Envelope::Array,
            Paging::Offset,
            &[filter!("status", "status", Exact)],
            &["created_at"],
            Count::Unsupported,
        )],
        columns: INVITATIONS,
    },
    ObjectSpec {
        name: "organization_invitations",
        endpoints: &[list_endpoint(
            &["organization_invitations"],
            Envelope::Data,
            Paging::Offset,
            &[filter!("status", "status", Exact)],
            &["created_at"],
            Count::TotalCount,
        )],
        columns: ORGANIZATION_INVITATIONS,
    },
    ObjectSpec {
        name: "allowlist_identifiers",
        endpoints: &[list_endpoint(
            &["allowlist_identifiers"],
            Envelope::Array,
            Paging::Offset,
            &[],
            &[],
            Count::Unsupported,
        )],
        columns: ALLOWLIST_IDENTIFIERS,
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
