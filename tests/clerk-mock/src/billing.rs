//! Clerk Billing data, shaped like the spec's `CommercePlan`,
//! `BillingPriceResponse`, `CommerceSubscriptionItem`, `BillingStatement`,
//! `BillingPaymentAttempt` and `CommerceSubscription`: every second user and
//! every organization subscribes to a plan, some through a free trial.

use crate::data::{
    clerk_id, oldest_first, org_id, user_created_at, user_id, DataConfig, INSTANCE_ID,
};
use serde_json::{json, Value};
use std::collections::HashMap;

const DAY_MS: i64 = 86_400_000;

/// `(slug, name, payer type, monthly fee, monthly fee billed annually,
/// free trial days)`, fees in cents; the first plan of each payer type is
/// its free default.
type PlanRow = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    Option<i64>,
);
const PLANS: [PlanRow; 6] = [
    ("free_user", "Free", "user", 0, 0, None),
    ("pro", "Pro", "user", 2000, 1600, Some(14)),
    ("plus", "Plus", "user", 5000, 4000, None),
    ("free_org", "Free team", "org", 0, 0, None),
    ("team", "Team", "org", 9900, 7900, Some(30)),
    ("enterprise", "Enterprise", "org", 49900, 39900, None),
];

fn money(cents: i64) -> Value {
    json!({"amount": cents, "amount_formatted": format!("${}.{:02}", cents / 100, cents % 100),
           "currency": "USD", "currency_symbol": "$"})
}

fn plan_id(p: usize) -> String {
    clerk_id("cplan", p as u64)
}

fn plan(p: usize) -> Value {
    let (slug, name, payer, fee, annual_monthly, trial) = PLANS[p];
    let paid = fee > 0;
    json!({
        "object": "commerce_plan", "id": plan_id(p), "name": name, "slug": slug,
        "fee": money(fee), "annual_monthly_fee": money(annual_monthly), "annual_fee": money(annual_monthly * 12),
        "description": if paid { json!(format!("{name}: everything in the plan below, and more")) } else { Value::Null },
        "product_id": clerk_id("cprod", 0), "is_default": !paid, "is_recurring": true,
        "publicly_visible": true, "has_base_fee": paid, "for_payer_type": payer, "avatar_url": Value::Null,
        "free_trial_enabled": trial.is_some(), "free_trial_days": trial,
        "features": [{"object": "feature", "id": clerk_id("feat", p as u64), "name": format!("{name} seats"),
                      "description": "Seats included", "slug": format!("{slug}_seats"), "avatar_url": Value::Null}],
    })
}

/// One price per paid plan, and a second (annual only) for `pro`.
fn prices(cfg: &DataConfig) -> Vec<Value> {
    let mut prices: Vec<Value> = PLANS
        .iter()
        .enumerate()
        .filter(|(_, plan)| plan.3 > 0)
        .map(|(p, &(_, _, _, fee, annual_monthly, _))| (p, fee, annual_monthly, "both"))
        .chain([(1, 2000, 1500, "annual")])
        .enumerate()
        .map(|(n, (p, fee, annual_monthly, periods))| {
            json!({"object": "commerce_price", "id": clerk_id("cprice", n as u64), "plan_id": plan_id(p),
                   "instance_id": INSTANCE_ID, "currency": "USD", "currency_symbol": "$",
                   "amount": fee, "annual_monthly_amount": annual_monthly,
                   "fee": money(fee), "annual_monthly_fee": money(annual_monthly),
                   "description": if periods == "annual" { json!("Launch discount") } else { Value::Null },
                   "is_default": periods == "both", "created_at": cfg.newest_ms - 400 * DAY_MS + n as i64,
                   "supported_billing_periods": periods})
        })
        .collect();
    oldest_first(&mut prices);
    prices
}

/// Who pays: a user or an organization.
struct Payer {
    id: String,
    /// The user or organization id.
    key: String,
    user: bool,
    created_at: i64,
}

impl Payer {
    fn json(&self) -> Value {
        let (user_id, org_id) = if self.user {
            (json!(self.key), Value::Null)
        } else {
            (Value::Null, json!(self.key))
        };
        json!({"object": "commerce_payer", "id": self.id, "instance_id": INSTANCE_ID,
               "user_id": user_id, "organization_id": org_id,
               "email": if self.user { json!(format!("payer.{}@example.com", self.key)) } else { Value::Null },
               "first_name": Value::Null, "last_name": Value::Null,
               "organization_name": if self.user { Value::Null } else { json!(format!("Org {}", self.key)) },
               "image_url": "https://img.example.com/payer.png",
               "created_at": self.created_at, "updated_at": self.created_at})
    }
}

/// What one subscription item is.
struct Item<'a> {
    n: u64,
    payer: &'a Payer,
    plan: usize,
    status: &'static str,
    trial: bool,
    annual: bool,
    created_at: i64,
}

impl Item<'_> {
    fn fee(&self) -> i64 {
        if self.annual {
            PLANS[self.plan].4
        } else {
            PLANS[self.plan].3
        }
    }

    fn json(&self) -> Value {
        let fee = self.fee();
        let paid = fee > 0;
        // A free trial's period is the trial.
        let period = match PLANS[self.plan].5 {
            Some(days) if self.trial => days * DAY_MS,
            _ if self.annual => 365 * DAY_MS,
            _ => 30 * DAY_MS,
        };
        let period_end = self.created_at + period;
        let months = (self.n % 9) as i64 + 1;
        let at = |status: &str, offset: i64| {
            if self.status == status {
                json!(self.created_at + offset)
            } else {
                Value::Null
            }
        };
        json!({
            "object": "commerce_subscription_item", "id": clerk_id("csubi", self.n),
            "instance_id": INSTANCE_ID, "status": self.status, "plan_id": plan_id(self.plan),
            "price_id": clerk_id("cprice", self.plan as u64), "plan": plan(self.plan),
            "plan_period": if self.annual { "annual" } else { "month" },
            "payer_id": self.payer.id, "payer": self.payer.json(), "is_free_trial": self.trial,
            "lifetime_paid": money(if self.trial || !paid { 0 } else { fee * months }),
            "next_payment": if paid && matches!(self.status, "active" | "past_due" | "upcoming") {
                json!({"amount": money(fee), "date": period_end})
            } else { Value::Null },
            "period_start": self.created_at, "period_end": if paid { json!(period_end) } else { Value::Null },
            "canceled_at": at("canceled", 10 * DAY_MS), "past_due_at": at("past_due", period),
            "ended_at": at("ended", period),
            "created_at": self.created_at, "updated_at": self.created_at + 1,
        })
    }
}

/// All billing objects of the instance.
#[derive(Clone)]
pub struct Billing {
    pub plans: Vec<Value>,
    pub prices: Vec<Value>,
    /// Oldest first, free-plan items included.
    pub subscription_items: Vec<Value>,
    pub statements: Vec<Value>,
    /// By statement id.
    pub payment_attempts: HashMap<String, Vec<Value>>,
    /// By user or organization id.
    pub subscriptions: HashMap<String, Value>,
}

impl Billing {
    pub fn generate(cfg: &DataConfig) -> Billing {
        let payers: Vec<Payer> = (0..cfg.users)
            .step_by(2)
            .map(|i| (user_id(i), true, user_created_at(cfg, i)))
            .chain(
                (0..cfg.organizations)
                    .map(|k| (org_id(k), false, cfg.newest_ms - 200 * DAY_MS + k as i64)),
            )
            .enumerate()
            .map(|(n, (key, user, created_at))| Payer {
                id: clerk_id("cpayer", n as u64),
                key,
                user,
                created_at,
            })
            .collect();
        let mut items = Vec::new();
        for (n, payer) in payers.iter().enumerate() {
            let n = n as u64;
            let h = crate::data::mix(n) % 20;
            let plan = if payer.user {
                [0, 0, 1, 1, 2][n as usize % 5]
            } else {
                [3, 4, 4, 5][n as usize % 4]
            };
            let paid = PLANS[plan].3 > 0;
            let has_trial = PLANS[plan].5.is_some();
            let status = match h {
                _ if !paid => "active",
                0 | 1 => "past_due",
                2 => "ended",
                3 => "canceled",
                4 => "upcoming",
                _ => "active",
            };
            let start = payer.created_at + DAY_MS;
            let trial = has_trial && status == "active" && (5..=7).contains(&h);
            let converted = has_trial && (8..=11).contains(&h);
            let mut created_at = start;
            if converted {
                // The trial that ended when the paid item began.
                let days = PLANS[plan].5.unwrap_or(0);
                items.push(Item {
                    n: 10_000 + n,
                    payer,
                    plan,
                    status: "ended",
                    trial: true,
                    annual: false,
                    created_at: start,
                });
                created_at = start + days * DAY_MS;
            }
            items.push(Item {
                n,
                payer,
                plan,
                status,
                trial,
                annual: paid && n.is_multiple_of(3),
                created_at,
            });
        }
        let mut statements = Vec::new();
        let mut payment_attempts = HashMap::new();
        for item in items
            .iter()
            .filter(|i| i.fee() > 0 && !i.trial && i.status != "upcoming")
        {
            let id = clerk_id("stmt", item.n);
            let failed = item.status == "past_due";
            let attempts: Vec<Value> = (0..if failed { 2 } else { 1 })
                .map(|a| {
                    let at = item.created_at + 60_000 * (a + 1);
                    json!({"object": "commerce_payment", "id": clerk_id("cpay", item.n * 4 + a as u64),
                           "payment_id": clerk_id("cpmt", item.n), "instance_id": INSTANCE_ID,
                           "charge_type": if item.created_at == item.payer.created_at + DAY_MS { "checkout" } else { "recurring" },
                           "payee_id": "cpayee_mock", "payee": {"id": "cpayee_mock", "gateway_type": "stripe"},
                           "payer_id": item.payer.id, "payer": item.payer.json(), "amount": money(item.fee()),
                           "subscription_item_id": clerk_id("csubi", item.n),
                           "payment_method_id": clerk_id("cpm", item.n),
                           "payment_method": {"object": "commerce_payment_method", "id": clerk_id("cpm", item.n),
                                              "payer_id": item.payer.id, "payment_type": "card", "gateway": "stripe",
                                              "gateway_external_id": format!("pm_{}", item.n),
                                              "gateway_external_account_id": Value::Null,
                                              "last4": "4242", "status": "active", "card_type": "visa"},
                           "statement_id": id, "gateway_external_id": Value::Null, "gateway_external_url": Value::Null,
                           "status": if failed { "failed" } else { "paid" },
                           "paid_at": if failed { Value::Null } else { json!(at) },
                           "failed_at": if failed { json!(at) } else { Value::Null },
                           "created_at": at, "updated_at": at})
                })
                .collect();
            statements.push(json!({
                "object": "commerce_statement", "id": id, "instance_id": INSTANCE_ID,
                "timestamp": item.created_at, "payer": item.payer.json(),
                "status": if failed { "open" } else { "closed" },
                "totals": {"grand_total": money(item.fee()), "subtotal": money(item.fee()),
                           "base_fee": money(item.fee()), "tax_total": money(0)},
                "groups": [{"object": "commerce_statement_group", "timestamp": item.created_at, "items": attempts}],
            }));
            payment_attempts.insert(id, attempts);
        }
        statements.sort_by_key(|s| (s["timestamp"].as_i64(), s["id"].as_str().map(String::from)));
        let mut subscriptions = HashMap::new();
        for payer in &payers {
            let mine: Vec<&Item> = items
                .iter()
                .filter(|i| std::ptr::eq(i.payer, payer))
                .collect();
            let Some(latest) = mine.last() else { continue };
            let status = match latest.status {
                "upcoming" => "active",
                s => s,
            };
            let next = (latest.fee() > 0 && matches!(latest.status, "active" | "past_due")).then(
                || json!({"date": latest.created_at + 30 * DAY_MS, "amount": money(latest.fee())}),
            );
            let mut sub = json!({
                "object": "commerce_subscription", "id": clerk_id("csub", latest.n % 10_000),
                "instance_id": INSTANCE_ID, "status": status, "payer_id": payer.id,
                "created_at": mine[0].created_at, "updated_at": latest.created_at + 1,
                "active_at": if status == "active" { json!(latest.created_at) } else { Value::Null },
                "past_due_at": if status == "past_due" { json!(latest.created_at + 30 * DAY_MS) } else { Value::Null },
                "subscription_items": mine.iter().map(|i| i.json()).collect::<Vec<_>>(),
                "eligible_for_free_trial": mine.iter().all(|i| !i.trial),
            });
            if let Some(next) = next {
                sub["next_payment"] = next;
            }
            subscriptions.insert(payer.key.clone(), sub);
        }
        let mut subscription_items: Vec<Value> = items.iter().map(Item::json).collect();
        oldest_first(&mut subscription_items);
        Billing {
            plans: (0..PLANS.len()).map(plan).collect(),
            prices: prices(cfg),
            subscription_items,
            statements,
            payment_attempts,
            subscriptions,
        }
    }
}
