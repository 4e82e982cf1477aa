//! Clerk's row counts for the planner's estimates (and the executor's
//! `count(*)`), each asked once per few minutes and shared by the
//! cluster's backends.

use crate::pg::options::{self, Table};
use crate::plan::ScanPlan;
use crate::remote::client::ClerkClient;
use crate::remote::estimates::{self, Estimates};
use crate::remote::{budget, runtime, scan};
use std::sync::{Arc, OnceLock};

/// Assumed when Clerk cannot be asked (pushdown off, API unreachable).
pub const DEFAULT_ROW_COUNT: f64 = 1000.0;

/// The object's total row count for planner estimates.
pub fn total_rows(table: &Table, client: &Arc<ClerkClient>) -> f64 {
    clerk_count(table, client, &ScanPlan::full(table.object)).unwrap_or(DEFAULT_ROW_COUNT)
}

/// The rows Clerk has for `plan`, for planner estimates: one quick count
/// request per server, key and distinct request every few minutes, shared
/// by the cluster's backends (see [`crate::remote::estimates`]). `None` when Clerk
/// cannot count them or cannot be asked.
pub fn clerk_count(table: &Table, client: &Arc<ClerkClient>, plan: &ScanPlan) -> Option<f64> {
    static ESTIMATES: OnceLock<Estimates> = OnceLock::new();
    let estimates = ESTIMATES
        .get_or_init(|| estimates::table(options::shared_file("clerk_fdw.estimates").as_deref()));
    let key = estimates::key((table.server_identity(), client.instance(), plan.describe()));
    if let Some(rows) = estimates.get(key, budget::now_ns()) {
        return rows.map(|n| n as f64);
    }
    let task_client = client.clone();
    let task_plan = plan.clone();
    let counted = runtime::wait_for(
        async move { scan::count(&task_client, &task_plan, true).await },
        &mut check_for_interrupts,
    );
    let rows = match counted {
        Ok(Some(Ok(Some(n)))) => u64::try_from(n).ok(),
        _ => None,
    };
    estimates.put(key, budget::now_ns(), rows);
    rows.map(|n| n as f64)
}

/// Checks for query cancel while waiting for Clerk.
pub fn check_for_interrupts() {
    pgrx::check_for_interrupts!();
}
