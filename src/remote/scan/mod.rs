//! Walking the planned requests into a bounded channel the Postgres thread
//! drains. Several requests are in flight at once (`max_concurrency`) unless
//! Postgres relies on the order of the rows; memory stays bounded by the
//! requests in flight plus the prefetch window, whatever the row count.
//!
//! - Offset-paged lists fetch their pages concurrently once the first page
//!   tells the total, and prove afterwards that the pages joined up.
//! - Users are paged by cursor, which is sequential. Their `created_at`
//!   range is split into slices instead, each walked newest first with the
//!   cursor; an idle worker splits the largest remaining slice (see
//!   [`Board`]), so every user is read exactly once however they are spread.
//!
//! [`pages`] parses a page keeping only the columns read; [`offset`] and
//! [`slices`] are the two concurrent walks; [`count`] asks Clerk how many
//! rows a plan selects.

mod count;
mod offset;
mod pages;
mod slices;
#[cfg(test)]
mod tests;

use crate::catalog::{Envelope, Paging, MAX_PAGE_SIZE};
use crate::plan::{ScanPlan, Series};
use crate::remote::budget::Counter;
use crate::remote::client::{ClerkClient, ClerkError};
use crate::remote::runtime;
pub use count::{count, MAX_PLAUSIBLE_ROWS};
use offset::joined;
pub use pages::Fields;
use pages::{parse_page, row_id, RowOrder};
use serde_json::Value;
use slices::sliceable;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

pub(super) enum Msg {
    Page(Vec<Value>),
    Done,
    Failed(ClerkError),
}

/// GETs `path?params`; a 404 where Clerk documents it for a key that does
/// not exist (an organization by id or slug) is `None`: no rows.
async fn get(
    client: &ClerkClient,
    series: &Series,
    params: &[(&str, String)],
) -> Result<Option<bytes::Bytes>, ClerkError> {
    let url = client.url(&series.path, params)?;
    match client.get(&url).await {
        Err(ClerkError::NotFound { .. }) if series.endpoint.not_found_means_no_rows => Ok(None),
        other => other.map(Some),
    }
}

/// How a scan runs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Requests in flight at once (when the order of rows does not matter).
    pub concurrency: usize,
    /// Pages kept ready for the Postgres thread.
    pub prefetch: usize,
    pub fields: Fields,
    /// The planner's estimate: users lists expected to be shorter than
    /// [`SLICE_ABOVE_ROWS`] are read one page after another, sparing the
    /// request that finds the oldest user.
    pub expected_rows: Option<f64>,
    /// A slice is split only when its unread range is expected to hold
    /// this many rows (see [`SPLIT_MIN_ROWS`]).
    pub split_min_rows: f64,
}

/// Each split of a users walk costs about one request more than the rows
/// fill (the last pages of the two halves are partial): splitting only
/// ranges of 16 pages or more keeps slicing within about 6% of the page
/// floor (measured in `slicing_costs_little_over_the_page_floor`).
pub const SPLIT_MIN_ROWS: f64 = (16 * MAX_PAGE_SIZE) as f64;

/// See [`ScanOptions::expected_rows`]: below this no split can pay for the
/// request that finds the oldest user.
pub const SLICE_ABOVE_ROWS: f64 = SPLIT_MIN_ROWS + MAX_PAGE_SIZE as f64;

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            concurrency: 1,
            prefetch: 2,
            fields: Fields::all(),
            expected_rows: None,
            split_min_rows: SPLIT_MIN_ROWS,
        }
    }
}

/// What every task of one scan shares.
pub(super) struct Scan {
    client: Arc<ClerkClient>,
    plan: ScanPlan,
    fields: Fields,
    concurrency: usize,
    expected_rows: Option<f64>,
    split_min_rows: f64,
    emit: mpsc::Sender<Msg>,
    /// One per request in flight, held until its page is handed on: pages
    /// in memory are bounded by these plus the channel.
    permits: Semaphore,
}

type Page = (Vec<Value>, Option<i64>);

impl Scan {
    async fn fetch(
        &self,
        series: &Series,
        params: &[(&str, String)],
    ) -> Result<Option<Page>, ClerkError> {
        let Some(body) = get(&self.client, series, params).await? else {
            return Ok(None);
        };
        let (mut rows, total) = parse_page(series.endpoint, &self.fields, &body)?;
        if let (Some(field), Some(key)) = (series.endpoint.key_in_row, series.key_value()) {
            for row in &mut rows {
                if let Value::Object(row) = row {
                    row.entry(field).or_insert_with(|| Value::from(key));
                }
            }
        }
        Ok(Some((rows, total)))
    }

    /// Hands rows to the reader; `Stopped` when it went away.
    async fn send(&self, rows: Vec<Value>) -> Result<(), ClerkError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.client.count(Counter::Rows, rows.len() as u64);
        self.emit
            .send(Msg::Page(rows))
            .await
            .map_err(|_| ClerkError::Stopped)
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ClerkError> {
        self.permits
            .acquire()
            .await
            .map_err(|_| ClerkError::Stopped)
    }

    /// Every series of the plan; `Stopped` only means the reader went away.
    async fn walk(self: Arc<Self>) -> Result<(), ClerkError> {
        if self.concurrency <= 1 || self.plan.sorted || self.plan.max_rows.is_some() {
            let mut sent = 0usize;
            for series in &self.plan.series {
                if self.plan.max_rows.is_some_and(|max| sent >= max) {
                    break;
                }
                if !self.walk_series(series, &mut sent).await? {
                    break;
                }
            }
            return Ok(());
        }
        let mut tasks = JoinSet::new();
        for index in 0..self.plan.series.len() {
            if tasks.len() >= self.concurrency {
                joined(tasks.join_next().await)?;
            }
            let scan = self.clone();
            tasks.spawn(async move { scan.walk_series_concurrently(index).await });
        }
        while let Some(done) = tasks.join_next().await {
            joined(Some(done))?;
        }
        Ok(())
    }

    async fn walk_series_concurrently(self: Arc<Self>, index: usize) -> Result<(), ClerkError> {
        let series = &self.plan.series[index];
        match series.endpoint.paging {
            Paging::Cursor
                if sliceable(series.endpoint)
                    && self.expected_rows.is_none_or(|r| r > SLICE_ABOVE_ROWS) =>
            {
                self.clone().walk_slices(index).await
            }
            // Pages can be fetched at once only when each tells the total.
            Paging::Offset
                if matches!(
                    series.endpoint.envelope,
                    Envelope::Data | Envelope::Paginated
                ) =>
            {
                self.clone().walk_offset_pages(index).await
            }
            _ => self.walk_series(series, &mut 0).await.map(|_| ()),
        }
    }

    /// One series, one page after another; false when the scan should stop.
    async fn walk_series(&self, series: &Series, sent: &mut usize) -> Result<bool, ClerkError> {
        self.walk_series_from(series, sent, 0, None).await
    }

    /// [`Self::walk_series`] after its first `read` rows, the last of which
    /// is `cursor`.
    async fn walk_series_from(
        &self,
        series: &Series,
        sent: &mut usize,
        mut read: usize,
        mut cursor: Option<String>,
    ) -> Result<bool, ClerkError> {
        let plan = &self.plan;
        let name = plan.object.name;
        let paging = series.endpoint.paging;
        // Clerk's order is checked where the walk relies on it: a cursor
        // walk, and an offset walk of a sorted plan.
        let mut order = match (paging, plan.sort) {
            (Paging::Cursor, _) => Some(RowOrder::new(
                "created_at",
                series
                    .params
                    .iter()
                    .any(|(k, v)| *k == "order_by" && v.starts_with('-')),
            )),
            (Paging::Offset, Some((field, descending))) => Some(RowOrder::new(field, descending)),
            _ => None,
        };
        loop {
            let mut params = series.params.clone();
            // One extra row on offset pages: the previous page's last row,
            // re-read to prove the list did not shift under us.
            let overlap = usize::from(paging == Paging::Offset && read > 0);
            let limit = match paging {
                // Clerk's spec: every parameter of a cursor walk but the
                // cursor stays the same, `limit` included.
                Paging::Cursor => plan.page_size(0),
                _ => (plan.page_size(*sent) + overlap).min(series.endpoint.max_limit),
            };
            match paging {
                Paging::Single => {}
                Paging::Cursor => {
                    params.push(("limit", limit.to_string()));
                    if let Some(c) = &cursor {
                        params.push(("starting_after", c.clone()));
                    }
                }
                Paging::Offset => {
                    params.push(("limit", limit.to_string()));
                    if read > 0 {
                        params.push(("offset", (read - 1).to_string()));
                    }
                }
            }
            let Some((mut rows, total)) = self.fetch(series, &params).await? else {
                return Ok(true);
            };
            let full_page = paging != Paging::Single && rows.len() >= limit;
            if overlap == 1 {
                let first = rows.first().map(row_id).transpose()?;
                if first != cursor.as_deref() {
                    return Err(ClerkError::Inconsistent(format!(
                        "{name}: row {read} is no longer where it was"
                    )));
                }
                rows.remove(0);
            }
            if let Some(order) = &mut order {
                order.check(name, &rows)?;
            }
            if let Some(last) = rows.last().filter(|_| paging != Paging::Single) {
                let last = row_id(last)?.to_string();
                if paging == Paging::Cursor && cursor.as_deref() == Some(last.as_str()) {
                    return Err(ClerkError::Malformed(format!(
                        "{name}: the server ignored the starting_after cursor"
                    )));
                }
                cursor = Some(last);
            }
            read += rows.len();
            let remaining = plan.max_rows.map_or(usize::MAX, |max| max - *sent);
            let reached_max = rows.len() >= remaining;
            rows.truncate(remaining);
            *sent += rows.len();
            match self.send(rows).await {
                Err(ClerkError::Stopped) => return Ok(false),
                other => other?,
            }
            if reached_max {
                return Ok(false);
            }
            if !full_page {
                if let Some(total) = total.filter(|_| paging == Paging::Offset) {
                    if total != read as i64 {
                        return Err(ClerkError::Inconsistent(format!(
                            "{name}: read {read} rows but Clerk reports {total}"
                        )));
                    }
                }
                return Ok(true);
            }
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running scan: pages arrive in order through a bounded channel.
pub struct ScanStream {
    pages: mpsc::Receiver<Msg>,
    producer: JoinHandle<()>,
    /// Ids returned so far, when more than one request series may list the
    /// same object (`slug IN (slug, id)`, e-mail batches): each object is
    /// returned once.
    seen: Option<HashSet<String>>,
}

use runtime::POLL;

impl ScanStream {
    /// Starts fetching.
    pub fn start(
        client: Arc<ClerkClient>,
        plan: ScanPlan,
        options: ScanOptions,
    ) -> Result<ScanStream, ClerkError> {
        let rt = runtime::runtime().map_err(|e| ClerkError::Unreachable {
            host: String::new(),
            cause: format!("cannot start the I/O runtime: {e}"),
            attempts: 0,
        })?;
        let seen = (plan.series.len() > 1).then(HashSet::new);
        let (tx, rx) = mpsc::channel(options.prefetch.max(1));
        let concurrency = options.concurrency.max(1);
        // The sort key is checked even when the query does not read it.
        let fields = match plan.sort {
            Some((field, _)) => options.fields.with(field),
            None => options.fields,
        };
        let scan = Arc::new(Scan {
            client,
            plan,
            fields,
            concurrency,
            expected_rows: options.expected_rows,
            split_min_rows: options.split_min_rows,
            emit: tx.clone(),
            permits: Semaphore::new(concurrency),
        });
        let producer = runtime::spawn_abortable(rt, async move {
            let last = match scan.walk().await {
                Ok(()) => Msg::Done,
                Err(e) => Msg::Failed(e),
            };
            let _ = tx.send(last).await;
        });
        Ok(ScanStream {
            pages: rx,
            producer,
            seen,
        })
    }

    /// The next page, `None` at the end. `on_wait` runs about every 50 ms
    /// while waiting (the FDW checks for query cancel there).
    pub fn next_page(
        &mut self,
        on_wait: &mut dyn FnMut(),
    ) -> Result<Option<Vec<Value>>, ClerkError> {
        let rt = runtime::runtime().map_err(|_| ClerkError::Stopped)?;
        loop {
            let pages = &mut self.pages;
            match rt.block_on(async { tokio::time::timeout(POLL, pages.recv()).await }) {
                Ok(Some(Msg::Page(mut rows))) => {
                    if let Some(seen) = &mut self.seen {
                        let mut new = Vec::with_capacity(rows.len());
                        for row in rows {
                            if seen.insert(row_id(&row)?.to_string()) {
                                new.push(row);
                            }
                        }
                        rows = new;
                    }
                    return Ok(Some(rows));
                }
                Ok(Some(Msg::Done)) => return Ok(None),
                Ok(Some(Msg::Failed(e))) => return Err(e),
                Ok(None) => return Err(ClerkError::Stopped),
                Err(_) => on_wait(),
            }
        }
    }
}

impl Drop for ScanStream {
    fn drop(&mut self) {
        self.producer.abort();
    }
}

/// The rows of a scan, kept in memory while they are few, so a re-scan (the
/// inner side of a nested loop, a re-run subquery) replays them instead of
/// asking Clerk again. Past `keep_limit` rows it streams page by page and a
/// re-scan starts over.
pub struct Rows {
    /// `None` for rows given in full ([`Rows::replay`]).
    stream: Option<ScanStream>,
    keep_limit: usize,
    kept: Vec<Value>,
    position: usize,
    streaming: Option<std::vec::IntoIter<Value>>,
    done: bool,
}

impl Rows {
    pub fn new(stream: ScanStream, keep_limit: usize) -> Rows {
        Rows {
            stream: Some(stream),
            keep_limit,
            kept: Vec::new(),
            position: 0,
            streaming: None,
            done: false,
        }
    }

    /// Rows already in memory.
    pub fn replay(rows: Vec<Value>) -> Rows {
        Rows {
            stream: None,
            keep_limit: rows.len(),
            kept: rows,
            position: 0,
            streaming: None,
            done: true,
        }
    }

    /// Applies `f` to the next row; `None` at the end.
    pub fn next_with<R>(
        &mut self,
        on_wait: &mut dyn FnMut(),
        f: impl FnOnce(&Value) -> R,
    ) -> Result<Option<R>, ClerkError> {
        loop {
            if let Some(page) = &mut self.streaming {
                if let Some(row) = page.next() {
                    return Ok(Some(f(&row)));
                }
            } else if self.position < self.kept.len() {
                self.position += 1;
                return Ok(Some(f(&self.kept[self.position - 1])));
            }
            let Some(stream) = self.stream.as_mut().filter(|_| !self.done) else {
                return Ok(None);
            };
            match stream.next_page(on_wait)? {
                None => self.done = true,
                Some(page)
                    if self.streaming.is_none()
                        && self.kept.len() + page.len() <= self.keep_limit =>
                {
                    self.position = self.kept.len();
                    self.kept.extend(page);
                }
                Some(page) => {
                    self.kept = Vec::new();
                    self.position = 0;
                    self.streaming = Some(page.into_iter());
                }
            }
        }
    }

    /// Back to the first row without a request; false when the rows were
    /// not kept and the scan must start over.
    pub fn rewind(&mut self) -> bool {
        self.position = 0;
        self.streaming.is_none()
    }
}
