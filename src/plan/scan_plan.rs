//! The result of planning: the request series a scan walks, and what the
//! plan promises (exact, ordered, at most so many rows), with estimates and
//! the count requests that answer `count(*)`.

use super::{plan, MAX_SERIES_TO_COUNT};
use crate::catalog::{Count, Endpoint, Match, ObjectSpec, Paging, KEY, MAX_PAGE_SIZE};
use crate::request::request_target;
use crate::request::Request;

/// One endpoint walked from its first page to its last.
#[derive(Debug, Clone)]
pub struct Series {
    pub endpoint: &'static Endpoint,
    pub path: Vec<String>,
    pub params: Vec<(&'static str, String)>,
}

impl Series {
    /// The key value the series was asked for, if its endpoint has a key.
    pub fn key_value(&self) -> Option<&str> {
        self.endpoint.key?;
        match self.endpoint.key_param {
            Some(param) => self
                .params
                .iter()
                .find(|(k, _)| *k == param)
                .map(|(_, v)| v.as_str()),
            None => {
                let at = self.endpoint.path.iter().position(|s| *s == KEY)?;
                self.path.get(at).map(String::as_str)
            }
        }
    }
}

/// The requests that answer a [`Request`].
#[derive(Debug, Clone)]
pub struct ScanPlan {
    pub object: &'static ObjectSpec,
    /// Walked one after another; their rows are disjoint. Empty when no row
    /// can match (`id = NULL`, `id IN ()`): no request at all.
    pub series: Vec<Series>,
    /// Clerk's rows are exactly the rows matching every condition.
    pub exact: bool,
    /// Rows arrive in the requested order.
    pub ordered: bool,
    /// An order was requested and Clerk provides it: Postgres relies on the
    /// rows arriving in that order, so they are fetched one page after
    /// another.
    pub sorted: bool,
    /// Stop after this many rows.
    pub max_rows: Option<usize>,
    /// The object can only be listed by key ([`ObjectSpec::needs_key`]) and
    /// the conditions give none: the plan must not be run.
    pub missing_key: bool,
    /// When `sorted`: the field the rows are sorted by, and whether
    /// descending, for checking that Clerk kept the order.
    pub sort: Option<(&'static str, bool)>,
}

impl ScanPlan {
    /// A plan that sends no request: no row can match.
    pub fn nothing(object: &'static ObjectSpec) -> ScanPlan {
        ScanPlan {
            object,
            series: Vec::new(),
            exact: true,
            ordered: true,
            sorted: false,
            max_rows: Some(0),
            missing_key: false,
            sort: None,
        }
    }

    /// Every row of the object.
    pub fn full(object: &'static ObjectSpec) -> ScanPlan {
        plan(object, &Request::default())
    }

    /// The largest page the plan's endpoint serves.
    fn max_limit(&self) -> usize {
        self.series
            .first()
            .map_or(MAX_PAGE_SIZE, |s| s.endpoint.max_limit)
    }

    /// `limit` for the next page when `read` rows have been returned.
    pub fn page_size(&self, read: usize) -> usize {
        match self.max_rows {
            Some(max) => max.saturating_sub(read).clamp(1, self.max_limit()),
            None => self.max_limit(),
        }
    }

    /// The requests that count the plan's rows without fetching them, when
    /// Clerk can count exactly what the conditions select.
    pub fn count_requests(&self) -> Option<Vec<CountRequest>> {
        if !self.exact {
            return None;
        }
        self.series
            .iter()
            .map(|s| {
                let filters = s.params.iter().filter(|(k, _)| *k != "order_by");
                match s.endpoint.count {
                    Count::Endpoint(path) => Some(CountRequest {
                        path: path.iter().map(|p| p.to_string()).collect(),
                        params: filters.cloned().collect(),
                        not_found_means_no_rows: false,
                    }),
                    Count::TotalCount => Some(CountRequest {
                        path: s.path.clone(),
                        params: filters
                            .cloned()
                            .chain([("limit", "1".to_string())])
                            .collect(),
                        not_found_means_no_rows: s.endpoint.not_found_means_no_rows,
                    }),
                    Count::Unsupported => None,
                }
            })
            .collect()
    }

    /// Rows the plan should return, given the object's total row count
    /// (asked for only when the conditions do not bound the rows already).
    pub fn estimate_rows(&self, total: impl FnOnce() -> f64) -> f64 {
        const RANGE_SELECTIVITY: f64 = 0.3;
        const FLAG_SELECTIVITY: f64 = 0.5;
        if self.series.is_empty() {
            return 0.0;
        }
        let mut keyed = 0.0;
        let mut selectivity = 1.0;
        let mut bounded = false;
        for s in &self.series {
            if s.endpoint.key.is_some() {
                keyed += s.endpoint.rows_per_key;
                bounded = true;
                continue;
            }
            let unique_values = s
                .params
                .iter()
                .filter(|(k, _)| s.endpoint.filters.iter().any(|f| f.param == *k && f.unique))
                .count();
            if unique_values > 0 {
                keyed += unique_values as f64;
                bounded = true;
            }
        }
        let first = &self.series[0];
        for (k, _) in &first.params {
            if k.ends_with("_after") || k.ends_with("_before") {
                selectivity *= RANGE_SELECTIVITY;
            } else if first
                .endpoint
                .filters
                .iter()
                .any(|f| f.param == *k && f.how == Match::Flag)
            {
                selectivity *= FLAG_SELECTIVITY;
            }
        }
        let rows = if bounded {
            keyed * selectivity
        } else {
            total() * selectivity
        };
        self.at_most_max_rows(rows)
    }

    /// `rows`, or fewer when the plan stops early.
    pub fn at_most_max_rows(&self, rows: f64) -> f64 {
        match self.max_rows {
            Some(max) => rows.min(max as f64),
            None => rows,
        }
    }

    /// Whether [`Self::estimate_rows`] guesses (rows per key, the selectivity
    /// of a range or a flag) where a count from Clerk would know, and a
    /// few count requests (at most [`MAX_SERIES_TO_COUNT`]) can ask.
    pub fn estimate_is_guessed(&self) -> bool {
        !self.missing_key
            && self.series.len() <= MAX_SERIES_TO_COUNT
            && self.series.iter().any(|s| {
                let unique = s
                    .params
                    .iter()
                    .any(|(k, _)| s.endpoint.filters.iter().any(|f| f.param == *k && f.unique));
                let keyed_guess = s.endpoint.key.is_some() && s.endpoint.rows_per_key != 1.0;
                let narrowed = s.params.iter().any(|(k, _)| {
                    k.ends_with("_after")
                        || k.ends_with("_before")
                        || s.endpoint
                            .filters
                            .iter()
                            .any(|f| f.param == *k && f.how == Match::Flag)
                });
                !unique && (keyed_guess || narrowed)
            })
    }

    /// The first request of each series, as EXPLAIN shows them.
    pub fn describe(&self) -> Vec<String> {
        if self.series.is_empty() {
            return vec!["none (no row can match)".into()];
        }
        if self.missing_key {
            return vec![format!(
                "none: {} needs {} in WHERE",
                self.object.name,
                self.object.key_columns().join(" = ... or ") + " = ..."
            )];
        }
        self.series
            .iter()
            .map(|s| {
                let mut params = s.params.clone();
                if s.endpoint.paging != Paging::Single {
                    params.push(("limit", self.page_size(0).to_string()));
                }
                // Run-time values show as $n, not %24n.
                format!(
                    "GET /{}",
                    request_target(&s.path, &params).replace("%24", "$")
                )
            })
            .collect()
    }
}

/// A request answered by a count.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRequest {
    pub path: Vec<String>,
    pub params: Vec<(&'static str, String)>,
    /// See [`Endpoint::not_found_means_no_rows`].
    pub not_found_means_no_rows: bool,
}
