//! Shorthands the object families are written with: column and filter
//! macros, and the common shapes of an endpoint.

use super::model::*;

macro_rules! col {
    ($name:literal, [$($alias:literal),*], $source:expr, $kind:expr, $doc:literal) => {
        ColumnSpec { name: $name, aliases: &[$($alias),*], source: $source, kind: $kind, doc: $doc }
    };
}

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

/// A list endpoint of its own, without keyed lookups.
pub(super) const fn list_endpoint(
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
pub(super) const fn keyed_endpoint(
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

pub(super) const INVITATION_STATUS: &[Filter] = &[filter!(
    "status",
    "status",
    One,
    ["pending", "accepted", "revoked", "expired"]
)];

/// Clerk sends `members_count` only when asked.
pub(super) const MEMBERS_COUNT: &[(&str, &str)] = &[("members_count", "include_members_count")];
