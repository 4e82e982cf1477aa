//! Clerk Billing: plans, prices, subscriptions and their items,
//! statements and payment attempts.

use super::build::*;
use super::model::{Kind::*, Source::*, *};

#[rustfmt::skip]
const BILLING_PLANS_COLUMNS: &[ColumnSpec] = &[
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
const BILLING_PRICES_COLUMNS: &[ColumnSpec] = &[
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
const BILLING_SUBSCRIPTION_ITEMS_COLUMNS: &[ColumnSpec] = &[
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
const BILLING_STATEMENTS_COLUMNS: &[ColumnSpec] = &[
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
const BILLING_PAYMENT_ATTEMPTS_COLUMNS: &[ColumnSpec] = &[
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
const BILLING_SUBSCRIPTIONS_COLUMNS: &[ColumnSpec] = &[
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

const PAYER_TYPE: Filter = filter!("for_payer_type", "payer_type", One, ["user", "org"]);

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

pub(super) const BILLING_PLANS: ObjectSpec = ObjectSpec {
    name: "billing_plans",
    endpoints: &[list_endpoint(
        &["billing", "plans"],
        Envelope::Paginated,
        Paging::Offset,
        &[PAYER_TYPE],
        &[],
        Count::TotalCount,
    )],
    columns: BILLING_PLANS_COLUMNS,
    needs_key: false,
};

pub(super) const BILLING_PRICES: ObjectSpec = ObjectSpec {
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
    columns: BILLING_PRICES_COLUMNS,
    needs_key: false,
};

pub(super) const BILLING_SUBSCRIPTION_ITEMS: ObjectSpec = ObjectSpec {
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
    columns: BILLING_SUBSCRIPTION_ITEMS_COLUMNS,
    needs_key: false,
};

pub(super) const BILLING_STATEMENTS: ObjectSpec = ObjectSpec {
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
    columns: BILLING_STATEMENTS_COLUMNS,
    needs_key: false,
};

pub(super) const BILLING_PAYMENT_ATTEMPTS: ObjectSpec = ObjectSpec {
    name: "billing_payment_attempts",
    // Clerk lists the attempts of one statement only.
    endpoints: &[ATTEMPTS_OF_STATEMENT, ATTEMPTS_OF_STATEMENT],
    columns: BILLING_PAYMENT_ATTEMPTS_COLUMNS,
    needs_key: true,
};

pub(super) const BILLING_SUBSCRIPTIONS: ObjectSpec = ObjectSpec {
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
    columns: BILLING_SUBSCRIPTIONS_COLUMNS,
    needs_key: true,
};
