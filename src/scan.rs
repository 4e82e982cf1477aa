//! Walking a Clerk list endpoint page by page, on the background runtime,
//! into a bounded channel the Postgres thread drains: memory stays bounded
//! by the prefetch window whatever the row count.

use crate::client::{ClerkClient, ClerkError};
use crate::objects::{Envelope, Paging};
use crate::pushdown::{ScanPlan, Series};
use crate::runtime;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Clerk's largest page.
pub const MAX_PAGE_SIZE: usize = 500;

enum Msg {
    Page(Vec<Value>),
    Done,
    Failed(ClerkError),
}

#[derive(Deserialize)]
struct DataPage {
    data: Vec<Value>,
    total_count: Option<i64>,
}

fn malformed(what: &str) -> impl Fn(serde_json::Error) -> ClerkError + '_ {
    move |e| ClerkError::Malformed(format!("invalid JSON {what}: {e}"))
}

fn parse_page(envelope: Envelope, body: &[u8]) -> Result<(Vec<Value>, Option<i64>), ClerkError> {
    match envelope {
        Envelope::Array => Ok((
            serde_json::from_slice(body).map_err(malformed("list page"))?,
            None,
        )),
        Envelope::Data => {
            let page: DataPage = serde_json::from_slice(body).map_err(malformed("list page"))?;
            Ok((page.data, page.total_count))
        }
        Envelope::Single => {
            let object: Value = serde_json::from_slice(body).map_err(malformed("object"))?;
            if !object.is_object() {
                return Err(ClerkError::Malformed("expected a JSON object".into()));
            }
            Ok((vec![object], Some(1)))
        }
    }
}

fn row_id(row: &Value) -> Result<&str, ClerkError> {
    row.get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ClerkError::Malformed("a listed object has no \"id\"".into()))
}

/// GETs `path?params`; a 404 on an endpoint addressed by a key (a user or
/// organization that does not exist) is `None`: no rows.
async fn get(
    client: &ClerkClient,
    series: &Series,
    params: &[(&str, String)],
) -> Result<Option<Vec<u8>>, ClerkError> {
    let url = client.url(&series.path, params)?;
    match client.get(&url).await {
        Err(ClerkError::Api { status: 404, .. }) if series.endpoint.key.is_some() => Ok(None),
        other => other.map(Some),
    }
}

/// Fetches every page of every series of `plan`, handing each to `emit`;
/// stops early when `emit` returns false (the reader went away) or when
/// `plan.max_rows` rows were sent.
async fn walk(
    client: &ClerkClient,
    plan: &ScanPlan,
    emit: &mpsc::Sender<Msg>,
) -> Result<(), ClerkError> {
    let mut sent = 0usize;
    for series in &plan.series {
        if plan.max_rows.is_some_and(|max| sent >= max) {
            break;
        }
        if !walk_series(client, plan, series, &mut sent, emit).await? {
            break;
        }
    }
    Ok(())
}

/// One series; false when the scan should stop.
async fn walk_series(
    client: &ClerkClient,
    plan: &ScanPlan,
    series: &Series,
    sent: &mut usize,
    emit: &mpsc::Sender<Msg>,
) -> Result<bool, ClerkError> {
    let name = plan.object.name;
    let paging = series.endpoint.paging;
    let mut cursor: Option<String> = None;
    let mut read = 0usize;
    loop {
        let mut params = series.params.clone();
        // One extra row on offset pages: the previous page's last row,
        // re-read to prove the list did not shift under us.
        let overlap = usize::from(paging == Paging::Offset && read > 0);
        let limit = (plan.page_size(*sent) + overlap).min(MAX_PAGE_SIZE);
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
        let Some(body) = get(client, series, &params).await? else {
            return Ok(true);
        };
        let (mut rows, total) = parse_page(series.endpoint.envelope, &body)?;
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
        if let Some(last) = rows.last() {
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
        if !rows.is_empty() && emit.send(Msg::Page(rows)).await.is_err() {
            return Ok(false);
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

#[derive(Deserialize)]
struct TotalCount {
    total_count: i64,
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
            Err(ClerkError::Api { status: 404, .. }) if r.envelope.is_some() => continue,
            other => other?,
        };
        let n = serde_json::from_slice::<TotalCount>(&body)
            .map_err(malformed("count"))?
            .total_count;
        total += n;
    }
    Ok(Some(total))
}

/// A running scan: pages arrive in order through a bounded channel.
pub struct ScanStream {
    pages: mpsc::Receiver<Msg>,
    producer: JoinHandle<()>,
}

use runtime::POLL;

impl ScanStream {
    /// Starts fetching; up to `prefetch` pages wait ready in memory.
    pub fn start(
        client: Arc<ClerkClient>,
        plan: ScanPlan,
        prefetch: usize,
    ) -> Result<ScanStream, ClerkError> {
        let rt = runtime::runtime().map_err(|e| ClerkError::Unreachable {
            host: String::new(),
            cause: format!("cannot start the I/O runtime: {e}"),
            attempts: 0,
        })?;
        let (tx, rx) = mpsc::channel(prefetch.max(1));
        let producer = runtime::spawn_abortable(rt, async move {
            let last = match walk(&client, &plan, &tx).await {
                Ok(()) => Msg::Done,
                Err(e) => Msg::Failed(e),
            };
            let _ = tx.send(last).await;
        });
        Ok(ScanStream {
            pages: rx,
            producer,
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
                Ok(Some(Msg::Page(rows))) => return Ok(Some(rows)),
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
    stream: ScanStream,
    keep_limit: usize,
    kept: Vec<Value>,
    position: usize,
    streaming: Option<std::vec::IntoIter<Value>>,
    done: bool,
}

impl Rows {
    pub fn new(stream: ScanStream, keep_limit: usize) -> Rows {
        Rows {
            stream,
            keep_limit,
            kept: Vec::new(),
            position: 0,
            streaming: None,
            done: false,
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
            if self.done {
                return Ok(None);
            }
            match self.stream.next_page(on_wait)? {
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
    use crate::client::ClientConfig;
    use crate::objects::object;
    use crate::pushdown::ScanPlan;
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

    fn client(server: &MockServer) -> Arc<ClerkClient> {
        let mut cfg = ClientConfig::new(&server.url(), "sk");
        cfg.retry = crate::client::tests::fast_policy();
        Arc::new(ClerkClient::new(&cfg).unwrap())
    }

    fn collect(server: &MockServer, object_name: &str) -> Result<Vec<Value>, ClerkError> {
        let mut stream = ScanStream::start(
            client(server),
            ScanPlan::full(object(object_name).unwrap()),
            2,
        )?;
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
        let start =
            || ScanStream::start(client(&s), ScanPlan::full(object("users").unwrap()), 2).unwrap();
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
        let mut stream =
            ScanStream::start(client(&s), ScanPlan::full(object("users").unwrap()), 1).unwrap();
        assert!(stream.next_page(&mut || {}).unwrap().is_some());
        drop(stream);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            s.request_count() <= 3,
            "{} requests after drop",
            s.request_count()
        );
    }
}
