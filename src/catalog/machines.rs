//! Machines and their credentials: API keys and M2M tokens.

use super::build::*;
use super::model::{Kind::*, Source::*, *};

#[rustfmt::skip]
const MACHINES_COLUMNS: &[ColumnSpec] = &[
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
const API_KEYS_COLUMNS: &[ColumnSpec] = &[
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
const M2M_TOKENS_COLUMNS: &[ColumnSpec] = &[
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

const API_KEYS_OF_SUBJECT: Endpoint =
    subject_endpoint(&["api_keys"], "data", &[("include_invalid", "true")]);

/// Revoked and expired tokens are listed only when asked for.
const M2M_TOKENS_OF_SUBJECT: Endpoint = subject_endpoint(
    &["m2m_tokens"],
    "m2m_tokens",
    &[("revoked", "true"), ("expired", "true")],
);

pub(super) const MACHINES: ObjectSpec = ObjectSpec {
    name: "machines",
    endpoints: &[list_endpoint(
        &["machines"],
        Envelope::Data,
        Paging::Offset,
        &[],
        &["created_at"],
        Count::TotalCount,
    )],
    columns: MACHINES_COLUMNS,
    needs_key: false,
};

pub(super) const API_KEYS: ObjectSpec = ObjectSpec {
    name: "api_keys",
    // Revoked and expired keys are listed only when asked for.
    endpoints: &[API_KEYS_OF_SUBJECT, API_KEYS_OF_SUBJECT],
    columns: API_KEYS_COLUMNS,
    needs_key: true,
};

pub(super) const M2M_TOKENS: ObjectSpec = ObjectSpec {
    name: "m2m_tokens",
    endpoints: &[M2M_TOKENS_OF_SUBJECT, M2M_TOKENS_OF_SUBJECT],
    columns: M2M_TOKENS_COLUMNS,
    needs_key: true,
};
