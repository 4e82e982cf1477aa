//! The one place that describes each Clerk object clerk_fdw exposes: its
//! endpoint, how it pages, and its columns with their JSON sources and kinds.
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

/// How a list endpoint is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `starting_after=<last id>` on a `created_at` ordering (users).
    Cursor,
    /// `offset`, ascending `created_at`, re-reading the previous page's last
    /// row to prove nothing shifted in between.
    Offset,
}

/// The shape of a list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// A bare JSON array.
    Array,
    /// `{"data": [...], "total_count": n}`.
    Data,
}

#[derive(Debug)]
pub struct ObjectSpec {
    /// The table option `object`.
    pub name: &'static str,
    /// Path below `api_url`, e.g. `users`.
    pub endpoint: &'static str,
    pub envelope: Envelope,
    pub paging: Paging,
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

pub static OBJECTS: &[ObjectSpec] = &[
    ObjectSpec {
        name: "users",
        endpoint: "users",
        envelope: Envelope::Array,
        paging: Paging::Cursor,
        columns: USERS,
    },
    ObjectSpec {
        name: "organizations",
        endpoint: "organizations",
        envelope: Envelope::Data,
        paging: Paging::Offset,
        columns: ORGANIZATIONS,
    },
    ObjectSpec {
        name: "organization_memberships",
        endpoint: "organization_memberships",
        envelope: Envelope::Data,
        paging: Paging::Offset,
        columns: MEMBERSHIPS,
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
