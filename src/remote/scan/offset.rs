//! Offset-paged lists: the first page tells the total, the others are
//! fetched concurrently, and their seams prove the pages joined up.

use super::count::plausible_rows;
use super::pages::row_id;
use super::Scan;
use crate::catalog::Envelope;
use crate::remote::client::ClerkError;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::task::JoinSet;

impl Scan {
    /// An offset-paged series: the first page, then all the others at once.
    /// Page k > 0 starts one row early, at the previous page's last row;
    /// once all are in, that row proves the pages joined up.
    pub(super) async fn walk_offset_pages(self: Arc<Self>, index: usize) -> Result<(), ClerkError> {
        let series = &self.plan.series[index];
        let name = self.plan.object.name;
        let max = series.endpoint.max_limit;
        let mut params = series.params.clone();
        params.push(("limit", max.to_string()));
        let permit = self.permit().await?;
        let Some((rows, total)) = self.fetch(series, &params).await? else {
            return Ok(());
        };
        let first_page = rows.len();
        let first_last = rows.last().map(row_id).transpose()?.map(String::from);
        self.send(rows).await?;
        drop(permit);
        let Some(total) = total else {
            if series.endpoint.envelope == Envelope::Data {
                return Err(ClerkError::Malformed(format!(
                    "{name}: a page without total_count"
                )));
            }
            // A bare array: the rest one page after another.
            if first_page < max {
                return Ok(());
            }
            return self
                .walk_series_from(series, &mut 0, first_page, first_last)
                .await
                .map(|_| ());
        };
        let total = plausible_rows(name, total)? as usize;
        if first_page < max || total <= max {
            return if first_page == total {
                Ok(())
            } else {
                Err(ClerkError::Inconsistent(format!(
                    "{name}: read {first_page} rows but Clerk reports {total}"
                )))
            };
        }
        // Pages k > 0 start one row early, at the previous page's last row.
        // At most `concurrency` are in flight, and each must be as full as
        // the total says: a total the list does not have (a lie, or rows
        // deleted meanwhile) ends the scan at the first short page, so no
        // work is ever scheduled in proportion to what the server claims.
        let step = max - 1;
        let pages = (total - max).div_ceil(step);
        let mut seams = BTreeMap::new();
        seams.insert(
            0,
            PageSeam {
                first: None,
                last: first_last,
                rows: first_page,
                total: Some(total as i64),
            },
        );
        let mut tasks = JoinSet::new();
        let mut next = 1;
        loop {
            while next <= pages && tasks.len() < self.concurrency {
                let k = next;
                next += 1;
                let scan = self.clone();
                tasks.spawn(async move {
                    scan.offset_page(index, k * step)
                        .await
                        .map(|seam| (k, seam))
                });
            }
            let Some(done) = tasks.join_next().await else {
                break;
            };
            let (k, seam) = joined(Some(done))?;
            let expected = (total - k * step).min(max);
            if seam.rows != expected {
                return Err(ClerkError::Inconsistent(format!(
                    "{name}: Clerk reports {total} rows, but the page at offset {} has {} rows where {expected} were due",
                    k * step,
                    seam.rows
                )));
            }
            seams.insert(k, seam);
        }
        check_seams(name, total, seams.into_values().collect())
    }

    /// Page `offset..offset + max_limit` of an offset-paged series; its rows but
    /// the first (the previous page's last) go to the reader.
    async fn offset_page(&self, index: usize, offset: usize) -> Result<PageSeam, ClerkError> {
        let series = &self.plan.series[index];
        let mut params = series.params.clone();
        params.push(("limit", series.endpoint.max_limit.to_string()));
        params.push(("offset", offset.to_string()));
        let permit = self.permit().await?;
        let (mut rows, total) = self.fetch(series, &params).await?.unwrap_or_default();
        let seam = PageSeam {
            first: rows.first().map(row_id).transpose()?.map(String::from),
            last: rows.last().map(row_id).transpose()?.map(String::from),
            rows: rows.len(),
            total,
        };
        if !rows.is_empty() {
            rows.remove(0);
        }
        self.send(rows).await?;
        drop(permit);
        Ok(seam)
    }
}

/// Where page k > 0 of an offset walk started and ended.
#[derive(Debug, Clone)]
pub(super) struct PageSeam {
    first: Option<String>,
    last: Option<String>,
    rows: usize,
    total: Option<i64>,
}

pub(super) fn joined<T>(
    done: Option<Result<Result<T, ClerkError>, tokio::task::JoinError>>,
) -> Result<T, ClerkError> {
    match done {
        Some(Ok(result)) => result,
        Some(Err(_)) | None => Err(ClerkError::Stopped),
    }
}

/// The pages of one offset walk, in order, join up (each starts at the
/// previous page's last row) and tell the same total: the list did not
/// change while they were read.
fn check_seams(name: &str, total: usize, seams: Vec<PageSeam>) -> Result<(), ClerkError> {
    let joined_up = seams
        .windows(2)
        .all(|w| w[1].first.is_some() && w[1].first == w[0].last);
    let same_total = seams.iter().all(|s| s.total == Some(total as i64));
    if joined_up && same_total {
        Ok(())
    } else {
        Err(ClerkError::Inconsistent(format!(
            "{name}: the list changed while its pages were read (Clerk reports {total} rows)"
        )))
    }
}
