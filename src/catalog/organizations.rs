//! Organizations and what hangs off them: memberships, invitations, roles,
//! permissions, role sets, domains, enterprise connections.

use super::build::*;
use super::model::{Kind::*, Source::*, *};

#[rustfmt::skip]
const ORGANIZATIONS_COLUMNS: &[ColumnSpec] = &[
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
const MEMBERSHIPS_COLUMNS: &[ColumnSpec] = &[
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

const ORGANIZATION_INVITATIONS_COLUMNS: &[ColumnSpec] = organization_invitation_columns!();

const USER_ORGANIZATION_INVITATIONS_COLUMNS: &[ColumnSpec] =
    organization_invitation_columns!(col!(
        "user_id",
        [],
        Path(&["user_id"]),
        Text,
        "The invited user; `user_id = ...` selects the invitations to list."
    ));

#[rustfmt::skip]
const ORGANIZATION_ROLES_COLUMNS: &[ColumnSpec] = &[
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
const ORGANIZATION_PERMISSIONS_COLUMNS: &[ColumnSpec] = &[
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
const ROLE_SETS_COLUMNS: &[ColumnSpec] = &[
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
const ENTERPRISE_CONNECTIONS_COLUMNS: &[ColumnSpec] = &[
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
const ORGANIZATION_DOMAINS_COLUMNS: &[ColumnSpec] = &[
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

pub(super) const ORGANIZATIONS: ObjectSpec = ObjectSpec {
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
    columns: ORGANIZATIONS_COLUMNS,
    needs_key: false,
};

pub(super) const ORGANIZATION_MEMBERSHIPS: ObjectSpec = ObjectSpec {
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
    columns: MEMBERSHIPS_COLUMNS,
    needs_key: false,
};

pub(super) const ORGANIZATION_INVITATIONS: ObjectSpec = ObjectSpec {
    name: "organization_invitations",
    endpoints: &[list_endpoint(
        &["organization_invitations"],
        Envelope::Data,
        Paging::Offset,
        INVITATION_STATUS,
        &["created_at"],
        Count::TotalCount,
    )],
    columns: ORGANIZATION_INVITATIONS_COLUMNS,
    needs_key: false,
};

pub(super) const ORGANIZATION_ROLES: ObjectSpec = ObjectSpec {
    name: "organization_roles",
    endpoints: &[list_endpoint(
        &["organization_roles"],
        Envelope::Data,
        Paging::Offset,
        &[],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: ORGANIZATION_ROLES_COLUMNS,
    needs_key: false,
};

pub(super) const ORGANIZATION_PERMISSIONS: ObjectSpec = ObjectSpec {
    name: "organization_permissions",
    endpoints: &[list_endpoint(
        &["organization_permissions"],
        Envelope::Data,
        Paging::Offset,
        &[],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: ORGANIZATION_PERMISSIONS_COLUMNS,
    needs_key: false,
};

pub(super) const ROLE_SETS: ObjectSpec = ObjectSpec {
    name: "role_sets",
    endpoints: &[list_endpoint(
        &["role_sets"],
        Envelope::Data,
        Paging::Offset,
        &[],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: ROLE_SETS_COLUMNS,
    needs_key: false,
};

pub(super) const ENTERPRISE_CONNECTIONS: ObjectSpec = ObjectSpec {
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
    columns: ENTERPRISE_CONNECTIONS_COLUMNS,
    needs_key: false,
};

pub(super) const ORGANIZATION_DOMAINS: ObjectSpec = ObjectSpec {
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
    columns: ORGANIZATION_DOMAINS_COLUMNS,
    needs_key: false,
};

pub(super) const USER_ORGANIZATION_INVITATIONS: ObjectSpec = ObjectSpec {
    name: "user_organization_invitations",
    endpoints: &[USER_ORG_INVITATIONS, USER_ORG_INVITATIONS],
    columns: USER_ORGANIZATION_INVITATIONS_COLUMNS,
    needs_key: true,
};
