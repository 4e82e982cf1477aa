//! Users and their sessions.

use super::build::*;
use super::model::{Kind::*, Source::*, *};

#[rustfmt::skip]
const USERS_COLUMNS: &[ColumnSpec] = &[
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
const SESSIONS_COLUMNS: &[ColumnSpec] = &[
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

pub(super) const USERS: ObjectSpec = ObjectSpec {
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
    columns: USERS_COLUMNS,
    needs_key: false,
};

pub(super) const SESSIONS: ObjectSpec = ObjectSpec {
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
    columns: SESSIONS_COLUMNS,
    needs_key: true,
};
