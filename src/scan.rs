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

use crate::budget::Counter;
use crate::catalog::{Endpoint, Envelope, Match, Paging, Source, MAX_PAGE_SIZE};
use crate::client::{ClerkClient, ClerkError};
use crate::plan::{ScanPlan, Series};
use crate::runtime;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

enum Msg {
    Page(Vec<Value>),
    Done,
    Failed(ClerkError),
}

/// The top-level fields of each object a scan keeps; the others are skipped
/// while parsing, so a page costs memory for the selected columns only.
#[derive(Debug, Clone, Default)]
pub struct Fields(Option<Arc<HashSet<&'static str>>>);

impl Fields {
    pub fn all() -> Fields {
        Fields(None)
    }

    /// What columns with these sources read (plus `id` and `created_at`,
    /// which paging uses).
    pub fn for_sources(sources: impl IntoIterator<Item = Source>) -> Fields {
        let mut keep: HashSet<&'static str> = ["id", "created_at"].into();
        for source in sources {
            match source {
                Source::Path(keys) => keep.extend(keys.first()),
                Source::Primary { id_key, list, .. } => keep.extend([id_key, list]),
                Source::Whole => return Fields::all(),
                Source::Nothing => {}
            }
        }
        Fields(Some(Arc::new(keep)))
    }

    fn keeps(&self, key: &str) -> bool {
        self.0.as_ref().is_none_or(|k| k.contains(key))
    }

    /// These fields and `field`.
    fn with(self, field: &'static str) -> Fields {
        match self.0 {
            Some(keep) if !keep.contains(field) => {
                let mut keep = (*keep).clone();
                keep.insert(field);
                Fields(Some(Arc::new(keep)))
            }
            other => Fields(other),
        }
    }
}

/// A key, borrowed from the body when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// One object, with only the kept fields.
struct ObjectSeed<'a>(&'a Fields);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0 .0.is_none() {
            let value = Value::deserialize(d)?;
            return if value.is_object() {
                Ok(value)
            } else {
                Err(serde::de::Error::custom("expected a JSON object"))
            };
        }
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key()? {
            if self.0.keeps(&key) {
                out.insert(key.into_owned(), map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
}

/// A JSON array of objects.
struct ListSeed<'a>(&'a Fields);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<Value>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<Value>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PAGE_SIZE));
        while let Some(v) = seq.next_element_seed(ObjectSeed(self.0))? {
            out.push(v);
        }
        Ok(out)
    }
}

/// A list page: `{"data": [...], "total_count": n}` (the rows under the
/// endpoint's [`Endpoint::list_field`]) or a bare array (no total). Both are
/// accepted whatever the endpoint's documented shape: Clerk's `paginated`
/// lists answer either, depending on that parameter.
struct PageSeed<'a>(&'a Fields, &'static str);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = (Vec<Value>, Option<i64>);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = (Vec<Value>, Option<i64>);
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a {\"data\": [...]} page or a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ListSeed(self.0).visit_seq(seq).map(|rows| (rows, None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut data, mut total) = (None, None);
        while let Some(Key(key)) = map.next_key()? {
            if key == self.1 {
                data = Some(map.next_value_seed(ListSeed(self.0))?);
            } else if key == "total_count" {
                total = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let data = data.ok_or_else(|| serde::de::Error::missing_field(self.1))?;
        Ok((data, total))
    }
}

fn parse_page(
    endpoint: &Endpoint,
    fields: &Fields,
    body: &[u8],
) -> Result<(Vec<Value>, Option<i64>), ClerkError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = match endpoint.envelope {
        Envelope::Array | Envelope::Data | Envelope::Paginated => {
            PageSeed(fields, endpoint.list_field).deserialize(&mut de)
        }
        Envelope::Single => ObjectSeed(fields)
            .deserialize(&mut de)
            .map(|o| (vec![o], Some(1))),
    };
    parsed
        .and_then(|page| de.end().map(|()| page))
        .map_err(|e| ClerkError::Malformed(format!("invalid JSON page: {e}")))
}

fn row_id(row: &Value) -> Result<&str, ClerkError> {
    row.get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ClerkError::Malformed("a listed object has no \"id\"".into()))
}

fn created_at(row: &Value) -> Result<i64, ClerkError> {
    row.get("created_at")
        .and_then(Value::as_i64)
        .ok_or_else(|| ClerkError::Malformed("a listed object has no \"created_at\"".into()))
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
struct Scan {
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

    /// An offset-paged series: the first page, then all the others at once.
    /// Page k > 0 starts one row early, at the previous page's last row;
    /// once all are in, that row proves the pages joined up.
    async fn walk_offset_pages(self: Arc<Self>, index: usize) -> Result<(), ClerkError> {
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
        let total = (0..=MAX_PLAUSIBLE_ROWS)
            .contains(&total)
            .then_some(total as usize)
            .ok_or_else(|| {
                ClerkError::Malformed(format!(
                    "{name}: total_count {total} cannot be a number of rows"
                ))
            })?;
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
        let seams: Vec<PageSeam> = seams.into_values().collect();
        let joined_up = seams
            .windows(2)
            .all(|w| w[1].first.is_some() && w[1].first == w[0].last);
        let same_total = seams.iter().all(|s| s.total == Some(total as i64));
        if !joined_up || !same_total {
            return Err(ClerkError::Inconsistent(format!(
                "{name}: the list changed while its pages were read (Clerk reports {total} rows)"
            )));
        }
        Ok(())
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

    /// A users list, split by `created_at` (see [`Board`]).
    async fn walk_slices(self: Arc<Self>, index: usize) -> Result<(), ClerkError> {
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

/// Where page k > 0 of an offset walk started and ended.
#[derive(Debug, Clone)]
struct PageSeam {
    first: Option<String>,
    last: Option<String>,
    rows: usize,
    total: Option<i64>,
}

fn joined<T>(
    done: Option<Result<Result<T, ClerkError>, tokio::task::JoinError>>,
) -> Result<T, ClerkError> {
    match done {
        Some(Ok(result)) => result,
        Some(Err(_)) | None => Err(ClerkError::Stopped),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
fn sliceable(endpoint: &Endpoint) -> bool {
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

/// What a walk relying on Clerk's order has seen: rows must come in order
/// of the integer `field`, and an id may not come twice. A repeat can only
/// hide among rows of one value (anything else breaks the order), so only
/// the ids of the latest value are kept: memory is bounded by the largest
/// tie.
#[derive(Debug)]
struct RowOrder {
    field: &'static str,
    descending: bool,
    last: Option<i64>,
    ids_at_last: HashSet<String>,
}

impl RowOrder {
    fn new(field: &'static str, descending: bool) -> RowOrder {
        RowOrder {
            field,
            descending,
            last: None,
            ids_at_last: HashSet::new(),
        }
    }

    fn check(&mut self, name: &str, rows: &[Value]) -> Result<(), ClerkError> {
        let field = self.field;
        for row in rows {
            let value = row.get(field).and_then(Value::as_i64).ok_or_else(|| {
                ClerkError::Malformed(format!(
                    "{name}: a listed object has no integer \"{field}\""
                ))
            })?;
            match self.last {
                Some(last)
                    if (self.descending && value > last) || (!self.descending && value < last) =>
                {
                    return Err(ClerkError::Malformed(format!(
                        "{name}: Clerk's rows are not in the {field} order asked for"
                    )));
                }
                Some(last) if last == value => {}
                _ => self.ids_at_last.clear(),
            }
            self.last = Some(value);
            let id = row_id(row)?;
            if !self.ids_at_last.insert(id.to_string()) {
                return Err(ClerkError::Malformed(format!(
                    "{name}: the server listed {id} twice"
                )));
            }
        }
        Ok(())
    }
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

#[derive(Deserialize)]
struct TotalCount {
    total_count: i64,
}

/// More rows than any Clerk instance holds (ten billion: more than there
/// are people): a count above it is a broken or hostile server's, and an
/// error, as a negative one is.
pub const MAX_PLAUSIBLE_ROWS: i64 = 10_000_000_000;

/// `n` when it can be a number of rows.
fn plausible_rows(n: i64) -> Result<i64, ClerkError> {
    if (0..=MAX_PLAUSIBLE_ROWS).contains(&n) {
        Ok(n)
    } else {
        Err(ClerkError::Malformed(format!(
            "total_count {n} cannot be a number of rows"
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
        total = plausible_rows(n)?
            .checked_add(total)
            .filter(|t| *t <= MAX_PLAUSIBLE_ROWS)
            .ok_or_else(|| {
                ClerkError::Malformed("the total_counts add up past any number of rows".into())
            })?;
    }
    Ok(Some(total))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::object;
    use crate::client::ClientConfig;
    use crate::plan::ScanPlan;
    use clerk_mock::{Behaviour, DataConfig, Fault, MockServer};
    use std::time::Duration;

    fn server(users: usize, orgs: usize, big: usize) -> MockServer {
        let cfg = DataConfig {
            users,
            organizations: orgs,
            big_org_members: big,
            ..DataConfig::default()
        };
        MockServer::start(&cfg, "sk", 0).unwrap()
    }

    /// Splitting as soon as a range holds a page, to exercise the board.
    fn parallel(concurrency: usize) -> ScanOptions {
        ScanOptions {
            concurrency,
            split_min_rows: MAX_PAGE_SIZE as f64,
            ..ScanOptions::default()
        }
    }

    fn client(server: &MockServer) -> Arc<ClerkClient> {
        let mut cfg = ClientConfig::new(&server.url(), "sk");
        cfg.retry = crate::client::tests::fast_policy();
        Arc::new(ClerkClient::new(&cfg).unwrap())
    }

    fn collect(server: &MockServer, object_name: &str) -> Result<Vec<Value>, ClerkError> {
        collect_with(
            server,
            ScanPlan::full(object(object_name).unwrap()),
            ScanOptions::default(),
        )
    }

    fn collect_with(
        server: &MockServer,
        plan: ScanPlan,
        options: ScanOptions,
    ) -> Result<Vec<Value>, ClerkError> {
        let mut stream = ScanStream::start(client(server), plan, options)?;
        let mut rows = Vec::new();
        while let Some(page) = stream.next_page(&mut || {})? {
            rows.extend(page);
        }
        Ok(rows)
    }

    fn ids(rows: &[Value]) -> Vec<String> {
        let mut ids: Vec<String> = rows
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn every_user_exactly_once_at_page_boundaries() {
        for n in [0, 1, 499, 500, 501, 1000, 1001] {
            let s = server(n, 0, 0);
            let rows = collect(&s, "users").unwrap();
            assert_eq!(rows.len(), n);
            assert_eq!(ids(&rows), ids(&s.dataset().users), "users={n}");
            assert_eq!(s.request_count(), n / 500 + 1, "requests for {n} users");
            let cursors: Vec<_> = s
                .requests()
                .iter()
                .map(|r| r.param("starting_after").map(String::from))
                .collect();
            assert_eq!(cursors[0], None);
            assert!(cursors[1..].iter().all(Option::is_some));
        }
    }

    #[test]
    fn memberships_of_an_organization_larger_than_a_page() {
        let s = server(1200, 30, 1100);
        let rows = collect(&s, "organization_memberships").unwrap();
        assert_eq!(ids(&rows), ids(&s.dataset().memberships));
        let big = &s.dataset().organizations[0]["id"];
        assert_eq!(
            rows.iter()
                .filter(|m| &m["organization"]["id"] == big)
                .count(),
            1100
        );
        let n = s.dataset().memberships.len();
        // 499 new rows per page after the first (one row of overlap).
        assert_eq!(s.request_count(), 1 + (n - 500) / 499 + 1);
        assert!(s
            .requests()
            .iter()
            .all(|r| r.path == "/v1/organization_memberships"));
    }

    #[test]
    fn organizations_all_rows() {
        let s = server(10, 1234, 3);
        let rows = collect(&s, "organizations").unwrap();
        assert_eq!(ids(&rows), ids(&s.dataset().organizations));
    }

    #[test]
    fn malformed_page_or_reset_mid_scan_is_an_error_not_a_short_result() {
        let s = server(1200, 0, 0);
        s.set_behaviour(Behaviour {
            script: [None, Some(Fault::Malformed)].into(),
            ..Behaviour::default()
        });
        assert!(matches!(
            collect(&s, "users"),
            Err(ClerkError::Malformed(_))
        ));

        let s = server(1200, 0, 0);
        s.set_behaviour(Behaviour {
            script: vec![
                None,
                Some(Fault::Reset),
                Some(Fault::Reset),
                Some(Fault::Reset),
                Some(Fault::Reset),
            ]
            .into(),
            ..Behaviour::default()
        });
        assert!(matches!(
            collect(&s, "users"),
            Err(ClerkError::Unreachable { .. })
        ));
    }

    fn reply(body: Vec<u8>) -> Option<Fault> {
        Some(Fault::Reply {
            status: 200,
            headers: vec![("Content-Type", "application/json".into())],
            body,
        })
    }

    #[test]
    fn a_lying_total_count_ends_at_the_first_short_page() {
        for lie in [10_000_000i64, 2_000] {
            let s = server(10, 600, 3);
            let ds = s.dataset();
            let first: Vec<&Value> = ds.organizations.iter().take(500).collect();
            let body = serde_json::to_vec(&serde_json::json!({"data": first, "total_count": lie}))
                .unwrap();
            s.set_behaviour(Behaviour {
                script: [reply(body)].into(),
                ..Behaviour::default()
            });
            let err = collect_with(
                &s,
                ScanPlan::full(object("organizations").unwrap()),
                parallel(8),
            )
            .unwrap_err();
            assert!(matches!(err, ClerkError::Inconsistent(_)), "{err}");
            // The first page, then at most one round of 8.
            assert!(s.request_count() <= 9, "{} requests", s.request_count());
        }
        // Totals that cannot be a number of rows.
        for absurd in ["-3", "1000000000000", "9223372036854775807"] {
            let s = server(10, 5, 3);
            let body = format!(r#"{{"data": [], "total_count": {absurd}}}"#);
            s.set_behaviour(Behaviour {
                script: [reply(body.into_bytes())].into(),
                ..Behaviour::default()
            });
            let err = collect_with(
                &s,
                ScanPlan::full(object("organizations").unwrap()),
                parallel(4),
            )
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("total_count {absurd} cannot")),
                "{err}"
            );
            assert_eq!(s.request_count(), 1);
        }
    }

    /// The first page of users, as the server sends it.
    fn first_users_page(s: &MockServer) -> Vec<u8> {
        let c = client(s);
        let url = c
            .url(
                &["users"],
                &[("order_by", "-created_at".into()), ("limit", "500".into())],
            )
            .unwrap();
        let body = runtime::runtime().unwrap().block_on(c.get(&url)).unwrap();
        s.clear_log();
        body.to_vec()
    }

    #[test]
    fn cursor_pages_that_repeat_or_go_back_are_errors() {
        // All users in one millisecond: a repeated page keeps the order.
        let s = MockServer::start(
            &DataConfig {
                users: 1200,
                organizations: 0,
                same_time: 1200,
                ..DataConfig::default()
            },
            "sk",
            0,
        )
        .unwrap();
        let page = first_users_page(&s);
        s.set_behaviour(Behaviour {
            script: [None, reply(page)].into(),
            ..Behaviour::default()
        });
        let err = collect(&s, "users").unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        assert_eq!(s.request_count(), 2);

        // Distinct times: page 1, page 2, page 1 again.
        let s = server(1600, 0, 0);
        let page = first_users_page(&s);
        s.set_behaviour(Behaviour {
            script: [None, None, reply(page)].into(),
            ..Behaviour::default()
        });
        let err = collect(&s, "users").unwrap_err();
        assert!(
            err.to_string().contains("not in the created_at order"),
            "{err}"
        );
        assert_eq!(s.request_count(), 3);
    }

    #[test]
    fn transient_failures_mid_scan_are_retried_and_rows_stay_exact() {
        let s = server(2600, 0, 0);
        s.set_behaviour(Behaviour {
            fail_every: 3,
            ..Behaviour::default()
        });
        let rows = collect(&s, "users").unwrap();
        assert_eq!(ids(&rows), ids(&s.dataset().users));
    }

    fn drain(rows: &mut Rows) -> usize {
        let mut n = 0;
        while rows.next_with(&mut || {}, |_| ()).unwrap().is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn small_results_replay_without_requests_large_ones_start_over() {
        let s = server(1200, 0, 0);
        let start = || {
            ScanStream::start(
                client(&s),
                ScanPlan::full(object("users").unwrap()),
                ScanOptions::default(),
            )
            .unwrap()
        };
        let mut rows = Rows::new(start(), 5000);
        assert_eq!(drain(&mut rows), 1200);
        assert!(rows.rewind());
        assert_eq!(drain(&mut rows), 1200);
        assert_eq!(s.request_count(), 3);

        // Rewound halfway through: replays what was read, then continues.
        let mut rows = Rows::new(start(), 5000);
        assert!(rows.next_with(&mut || {}, |_| ()).unwrap().is_some());
        assert!(rows.rewind());
        assert_eq!(drain(&mut rows), 1200);

        let mut rows = Rows::new(start(), 700);
        assert_eq!(drain(&mut rows), 1200);
        assert!(!rows.rewind());
    }

    #[test]
    fn dropping_the_stream_stops_the_producer() {
        let s = server(3000, 0, 0);
        s.set_behaviour(Behaviour {
            latency: Duration::from_millis(30),
            ..Behaviour::default()
        });
        let options = ScanOptions {
            prefetch: 1,
            ..ScanOptions::default()
        };
        let mut stream = ScanStream::start(
            client(&s),
            ScanPlan::full(object("users").unwrap()),
            options,
        )
        .unwrap();
        assert!(stream.next_page(&mut || {}).unwrap().is_some());
        drop(stream);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            s.request_count() <= 3,
            "{} requests after drop",
            s.request_count()
        );
    }

    /// Sorted ids, failing on any duplicate.
    fn exactly_once(rows: &[Value]) -> Vec<String> {
        let list = ids(rows);
        let mut unique = list.clone();
        unique.dedup();
        assert_eq!(unique.len(), list.len(), "duplicate rows");
        list
    }

    #[test]
    fn sliced_users_every_user_exactly_once() {
        // Even spacing, many users per millisecond, and accelerating sign-ups.
        let shapes = [
            (3001, 1, false),
            (2503, 7, false),
            (2000, 400, false),
            (4000, 1, true),
            (501, 1, false),
        ];
        for (users, same_time, skewed) in shapes {
            let cfg = DataConfig {
                users,
                organizations: 0,
                same_time,
                skewed,
                ..DataConfig::default()
            };
            let s = MockServer::start(&cfg, "sk", 0).unwrap();
            for concurrency in [3, 8] {
                s.clear_log();
                let plan = ScanPlan::full(object("users").unwrap());
                let rows = collect_with(&s, plan, parallel(concurrency)).unwrap();
                assert_eq!(
                    exactly_once(&rows),
                    ids(&s.dataset().users),
                    "{users} users, {same_time} per ms, skewed {skewed}, {concurrency} workers"
                );
                // Splitting costs little: at most a partial page per slice.
                let pages = users.div_ceil(500);
                assert!(
                    s.request_count() <= pages + 2 + 2 * concurrency,
                    "{} requests for {pages} pages",
                    s.request_count()
                );
            }
        }
    }

    /// With the default split threshold, a full users scan costs at most
    /// a tenth more than the pages its rows fill, plus 3.
    #[test]
    fn slicing_costs_little_over_the_page_floor() {
        for users in [2_720, 10_000, 100_000] {
            let s = server(users, 0, 0);
            for expected in [None, Some(users as f64)] {
                s.clear_log();
                let options = ScanOptions {
                    concurrency: 8,
                    expected_rows: expected,
                    ..ScanOptions::default()
                };
                let rows =
                    collect_with(&s, ScanPlan::full(object("users").unwrap()), options).unwrap();
                assert_eq!(rows.len(), users);
                let floor = users.div_ceil(MAX_PAGE_SIZE);
                let requests = s.request_count();
                eprintln!(
                    "{users} users, expected {expected:?}: {requests} requests, floor {floor}"
                );
                assert!(
                    requests <= floor + floor / 10 + 3,
                    "{users} users, expected {expected:?}: {requests} requests for {floor} pages"
                );
            }
        }
    }

    #[test]
    fn sliced_users_keep_the_queries_own_range() {
        let s = server(6000, 0, 0);
        let users = &s.dataset().users;
        let (lo, hi) = (
            users[1000]["created_at"].as_i64().unwrap(),
            users[5000]["created_at"].as_i64().unwrap(),
        );
        let request = crate::request::Request {
            conditions: vec![
                crate::request::Condition {
                    column: "created_at".into(),
                    op: crate::request::Op::Gt,
                    value: crate::request::Operand::Int(lo),
                },
                crate::request::Condition {
                    column: "created_at".into(),
                    op: crate::request::Op::Le,
                    value: crate::request::Operand::Int(hi),
                },
            ],
            ..Default::default()
        };
        let plan = crate::plan::plan(object("users").unwrap(), &request);
        let rows = collect_with(&s, plan, parallel(4)).unwrap();
        let expected: Vec<Value> = users[1001..=5000].to_vec();
        assert_eq!(exactly_once(&rows), ids(&expected));
    }

    #[test]
    fn concurrent_offset_pages_join_up() {
        let s = MockServer::start(
            &DataConfig {
                users: 3000,
                organizations: 700,
                big_org_members: 1400,
                members_per_org: 9,
                ..DataConfig::default()
            },
            "sk",
            0,
        )
        .unwrap();
        for name in ["organization_memberships", "organizations"] {
            s.clear_log();
            let rows =
                collect_with(&s, ScanPlan::full(object(name).unwrap()), parallel(4)).unwrap();
            let expected = if name == "organizations" {
                &s.dataset().organizations
            } else {
                &s.dataset().memberships
            };
            assert_eq!(exactly_once(&rows), ids(expected), "{name}");
            let n = expected.len();
            assert_eq!(s.request_count(), 1 + (n - 1).saturating_sub(1) / 499);
        }
    }

    #[test]
    fn paginated_lists_read_either_shape_exactly_once() {
        // 1,300 invitations: 975 listed by default (two pages), and the
        // revoked ones, which Clerk lists only when asked (one page).
        let s = server(13_000, 0, 0);
        for bare_arrays in [false, true] {
            s.set_behaviour(Behaviour {
                bare_arrays,
                ..Behaviour::default()
            });
            for concurrency in [1, 4] {
                s.clear_log();
                let plan = ScanPlan::full(object("invitations").unwrap());
                let rows = collect_with(&s, plan, parallel(concurrency)).unwrap();
                assert_eq!(
                    exactly_once(&rows),
                    ids(&s.dataset().invitations),
                    "bare arrays {bare_arrays}, concurrency {concurrency}"
                );
                let log = s.requests();
                assert_eq!(log.len(), 3, "{log:?}");
                assert!(log.iter().all(|r| r.param("paginated") == Some("true")));
                let revoked: Vec<_> = log.iter().filter(|r| r.param("status").is_some()).collect();
                assert_eq!(revoked.len(), 1, "{log:?}");
                assert_eq!(revoked[0].param("status"), Some("revoked"));
                // Bare arrays give no total: one page after another, each
                // re-reading the previous page's last row.
                let offsets: Vec<_> = log
                    .iter()
                    .filter(|r| r.param("status").is_none())
                    .map(|r| r.param("offset").map(String::from))
                    .collect();
                if bare_arrays || concurrency == 1 {
                    assert_eq!(offsets, [None, Some("499".into())]);
                }
            }
        }
    }

    #[test]
    fn concurrent_scans_stay_exact_through_failures_and_fail_on_bad_pages() {
        let s = server(5000, 300, 800);
        s.set_behaviour(Behaviour {
            fail_every: 10,
            ..Behaviour::default()
        });
        for name in ["users", "organization_memberships"] {
            let rows =
                collect_with(&s, ScanPlan::full(object(name).unwrap()), parallel(4)).unwrap();
            let expected = if name == "users" {
                &s.dataset().users
            } else {
                &s.dataset().memberships
            };
            assert_eq!(exactly_once(&rows), ids(expected), "{name}");
        }
        for fault in [Fault::Malformed, Fault::Reset] {
            s.set_behaviour(Behaviour {
                script: [None, None, None]
                    .into_iter()
                    .chain(std::iter::repeat_n(Some(fault.clone()), 40))
                    .collect(),
                ..Behaviour::default()
            });
            let result = collect_with(&s, ScanPlan::full(object("users").unwrap()), parallel(4));
            assert!(
                matches!(
                    result,
                    Err(ClerkError::Malformed(_) | ClerkError::Unreachable { .. })
                ),
                "{fault:?}: {:?}",
                result.map(|r| r.len())
            );
        }
    }

    #[test]
    fn pages_keep_only_the_fields_columns_read() {
        let s = server(3, 0, 0);
        let users = object("users").unwrap();
        let fields =
            Fields::for_sources(["email", "first_name"].map(|c| users.column(c).unwrap().source));
        let options = ScanOptions {
            fields,
            ..ScanOptions::default()
        };
        let rows = collect_with(&s, ScanPlan::full(users), options).unwrap();
        let mut keys: Vec<&str> = rows[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "created_at",
                "email_addresses",
                "first_name",
                "id",
                "primary_email_address_id"
            ]
        );
    }
}
