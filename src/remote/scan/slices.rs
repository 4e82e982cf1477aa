//! The users list by `created_at` slices: each walked newest first with
//! the cursor, and an idle worker splits the largest remaining slice.

use super::offset::joined;
use super::pages::{created_at, row_id, RowOrder};
use super::{lock, Scan};
use crate::catalog::{Endpoint, Match, MAX_PAGE_SIZE};
use crate::remote::client::ClerkError;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;

impl Scan {
    /// A users list, split by `created_at` (see [`Board`]).
    pub(super) async fn walk_slices(self: Arc<Self>, index: usize) -> Result<(), ClerkError> {
        let series = &self.plan.series[index];
        let bound = |name: &str| -> Option<Option<i64>> {
            match series.params.iter().find(|(k, _)| *k == name) {
                None => Some(None),
                Some((_, v)) => v.parse().ok().map(Some),
            }
        };
        let (Some(after), Some(before)) = (bound("created_at_after"), bound("created_at_before"))
        else {
            return self.walk_series(series, &mut 0).await.map(|_| ());
        };
        let base: Vec<(&'static str, String)> = series
            .params
            .iter()
            .filter(|(k, _)| !matches!(*k, "created_at_after" | "created_at_before" | "order_by"))
            .cloned()
            .collect();
        let request =
            |after, before, order, limit| slice_params(&base, after, before, order, limit, None);

        // The newest page; only a full one is worth splitting the rest of.
        let permit = self.permit().await?;
        let head_params = request(after, before, "-created_at", MAX_PAGE_SIZE);
        let (head, _) = self.fetch(series, &head_params).await?.unwrap_or_default();
        check_descending(&head, None)?;
        let full = head.len() >= MAX_PAGE_SIZE;
        let (Some(newest), Some(last)) = (head.first(), head.last()) else {
            return Ok(());
        };
        let (newest, last_at, cursor) = (
            created_at(newest)?,
            created_at(last)?,
            row_id(last)?.to_string(),
        );
        let head_rows = head.len() as u64;
        self.send(head).await?;
        drop(permit);
        if !full {
            return Ok(());
        }
        let permit = self.permit().await?;
        let oldest_params = request(after, before, "+created_at", 1);
        let oldest = match self
            .fetch(series, &oldest_params)
            .await?
            .unwrap_or_default()
            .0
            .first()
        {
            Some(row) => created_at(row)?,
            None => last_at,
        };
        drop(permit);

        let board = Arc::new(Mutex::new(Board {
            slices: vec![Slice {
                after: (oldest - 1).max(after.unwrap_or(i64::MIN)),
                before,
                newest_seen: Some(newest),
                last_seen: Some(last_at),
                rows: head_rows,
                done: false,
                order: RowOrder::new("created_at", true),
            }],
        }));
        let mut workers = JoinSet::new();
        for worker in 0..self.concurrency {
            let scan = self.clone();
            let board = board.clone();
            let base = base.clone();
            // Worker 0 goes on with the head page's walk, and its bounds.
            let start = (worker == 0).then(|| (0, Some(cursor.clone()), after));
            workers.spawn(async move { scan.slice_worker(index, base, board, start).await });
        }
        while let Some(done) = workers.join_next().await {
            joined(Some(done))?;
        }
        Ok(())
    }

    /// Walks its slice, then splits off part of another, until nothing is
    /// worth splitting.
    async fn slice_worker(
        self: Arc<Self>,
        index: usize,
        base: Vec<(&'static str, String)>,
        board: Arc<Mutex<Board>>,
        mut current: Option<(usize, Option<String>, Option<i64>)>,
    ) -> Result<(), ClerkError> {
        let series = &self.plan.series[index];
        loop {
            // A walk keeps the lower bound it started with even when a
            // split raises its slice's (Clerk's spec: a cursor walk's
            // parameters stay the same); `claim` cuts its pages instead.
            let (slice, cursor, walk_after) = match current.take() {
                Some(c) => c,
                None => {
                    let mut b = lock(&board);
                    match b.split(self.split_min_rows) {
                        Some(slice) => (slice, None, Some(b.slices[slice].after)),
                        None => return Ok(()),
                    }
                }
            };
            let permit = self.permit().await?;
            let before = lock(&board).slices[slice].before;
            let params = slice_params(
                &base,
                walk_after,
                before,
                "-created_at",
                MAX_PAGE_SIZE,
                cursor.clone(),
            );
            let (mut rows, _) = self.fetch(series, &params).await?.unwrap_or_default();
            let full = rows.len() >= MAX_PAGE_SIZE;
            let next = rows.last().map(row_id).transpose()?.map(String::from);
            if cursor.is_some() && next == cursor {
                return Err(ClerkError::Malformed(format!(
                    "{}: the server ignored the starting_after cursor",
                    self.plan.object.name
                )));
            }
            let ended = lock(&board).claim(slice, &mut rows, full)?;
            self.send(rows).await?;
            drop(permit);
            if !ended {
                current = Some((slice, next, walk_after));
            }
        }
    }
}

/// The parameters of one page of a `created_at` slice.
fn slice_params(
    base: &[(&'static str, String)],
    after: Option<i64>,
    before: Option<i64>,
    order: &str,
    limit: usize,
    cursor: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut params = base.to_vec();
    params.extend(after.map(|a| ("created_at_after", a.to_string())));
    params.extend(before.map(|b| ("created_at_before", b.to_string())));
    params.push(("order_by", order.to_string()));
    params.push(("limit", limit.to_string()));
    params.extend(cursor.map(|c| ("starting_after", c)));
    params
}

/// A cursor-paged endpoint that filters by a `created_at` range.
pub(super) fn sliceable(endpoint: &Endpoint) -> bool {
    endpoint.default_order == Some("-created_at")
        && endpoint
            .filters
            .iter()
            .any(|f| f.column == "created_at" && f.param == "created_at" && f.how == Match::Range)
}

/// Rows must come newest first (ties allowed), and not above `top`.
fn check_descending(rows: &[Value], top: Option<i64>) -> Result<(), ClerkError> {
    let mut previous = top.unwrap_or(i64::MAX);
    for row in rows {
        let at = created_at(row)?;
        if at > previous {
            return Err(ClerkError::Malformed(
                "users are not in created_at order".into(),
            ));
        }
        previous = at;
    }
    Ok(())
}

/// A range of `created_at` (after, before) exclusive, walked newest first.
#[derive(Debug)]
struct Slice {
    after: i64,
    before: Option<i64>,
    newest_seen: Option<i64>,
    /// `created_at` of the last row claimed: everything newer is read.
    last_seen: Option<i64>,
    rows: u64,
    done: bool,
    order: RowOrder,
}

impl Slice {
    /// The newest `created_at` that may still be unread.
    fn top(&self) -> Option<i64> {
        self.last_seen.or(self.before.map(|b| b - 1))
    }
}

/// The slices of one users walk.
///
/// Exactly once: a row is *claimed* only under the board's lock, by the
/// slice whose range holds it at that moment. A split takes the lower part
/// `(after, mid]` of a slice's unread range and raises the slice's `after`
/// to `mid`, where `mid` is below every row the slice claimed. The slice
/// later claims only rows above its new `after` (a page asked with the old
/// bound is cut at the new one), and the new slice only rows up to `mid`.
/// The cursor keeps each slice's walk complete, ties included.
#[derive(Debug)]
struct Board {
    slices: Vec<Slice>,
}

impl Board {
    /// Rows per millisecond, from what was read so far (finished slices
    /// count their whole range, so empty stretches lower it).
    fn density(&self) -> f64 {
        let (rows, ms) = self.slices.iter().fold((0u64, 0i64), |(r, m), s| {
            let top = s.before.map(|b| b - 1).or(s.newest_seen);
            let bottom = if s.done {
                Some(s.after)
            } else {
                s.last_seen.map(|l| l - 1)
            };
            match (top, bottom) {
                (Some(t), Some(b)) if t > b => (r + s.rows, m + (t - b)),
                _ => (r + s.rows, m),
            }
        });
        rows as f64 / ms.max(1) as f64
    }

    /// Splits the unread range expected to hold the most rows, if that is
    /// more than `min_rows`; the new slice's index.
    fn split(&mut self, min_rows: f64) -> Option<usize> {
        let density = self.density();
        let (index, span) = self
            .slices
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.done)
            .filter_map(|(i, s)| Some((i, s.top()?.saturating_sub(s.after))))
            .max_by_key(|(_, span)| *span)?;
        if span < 2 || (span as f64) * density < min_rows {
            return None;
        }
        let victim = &mut self.slices[index];
        let mid = victim.after + span / 2;
        let stolen = Slice {
            after: victim.after,
            before: Some(mid + 1),
            newest_seen: None,
            last_seen: None,
            rows: 0,
            done: false,
            order: RowOrder::new("created_at", true),
        };
        victim.after = mid;
        self.slices.push(stolen);
        Some(self.slices.len() - 1)
    }

    /// Keeps the rows of `page` that are still the slice's; true when the
    /// slice is finished.
    fn claim(
        &mut self,
        index: usize,
        page: &mut Vec<Value>,
        full: bool,
    ) -> Result<bool, ClerkError> {
        let slice = &mut self.slices[index];
        check_descending(page, slice.top())?;
        let mut keep = 0;
        for row in page.iter() {
            if created_at(row)? <= slice.after {
                break;
            }
            keep += 1;
        }
        let cut = keep < page.len();
        page.truncate(keep);
        slice.order.check("users", page)?;
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            slice.newest_seen = slice.newest_seen.or(Some(created_at(first)?));
            slice.last_seen = Some(created_at(last)?);
        }
        slice.rows += keep as u64;
        slice.done = cut || !full;
        Ok(slice.done)
    }
}
