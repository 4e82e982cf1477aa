//! How many rows a plan selects, from Clerk's counts.

use crate::plan::ScanPlan;
use crate::remote::client::{ClerkClient, ClerkError};
use serde::Deserialize;

#[derive(Deserialize)]
struct TotalCount {
    total_count: i64,
}

/// More rows than any Clerk instance holds (ten billion: more than there
/// are people): a count above it is a broken or hostile server's, and an
/// error, as a negative one is.
pub const MAX_PLAUSIBLE_ROWS: i64 = 10_000_000_000;

/// `n`, a `total_count` of list `name`, when it can be a number of rows.
pub(super) fn plausible_rows(name: &str, n: i64) -> Result<i64, ClerkError> {
    if (0..=MAX_PLAUSIBLE_ROWS).contains(&n) {
        Ok(n)
    } else {
        Err(ClerkError::Malformed(format!(
            "{name}: total_count {n} cannot be a number of rows"
        )))
    }
}

/// The number of rows `plan` selects, from Clerk's counts, when Clerk can
/// count them exactly (see [`ScanPlan::count_requests`]).
/// `quick`: one attempt with a short timeout (for planner estimates).
pub async fn count(
    client: &ClerkClient,
    plan: &ScanPlan,
    quick: bool,
) -> Result<Option<i64>, ClerkError> {
    let Some(requests) = plan.count_requests() else {
        return Ok(None);
    };
    let mut total = 0i64;
    for r in requests {
        let url = client.url(&r.path, &r.params)?;
        let answer = if quick {
            client.get_quick(&url).await
        } else {
            client.get(&url).await
        };
        let body = match answer {
            Err(ClerkError::NotFound { .. }) if r.not_found_means_no_rows => continue,
            other => other?,
        };
        let n = serde_json::from_slice::<TotalCount>(&body)
            .map_err(|e| ClerkError::Malformed(format!("invalid JSON count: {e}")))?
            .total_count;
        total = plausible_rows(plan.object.name, n)?
            .checked_add(total)
            .filter(|t| *t <= MAX_PLAUSIBLE_ROWS)
            .ok_or_else(|| {
                ClerkError::Malformed("the total_counts add up past any number of rows".into())
            })?;
    }
    Ok(Some(total))
}
