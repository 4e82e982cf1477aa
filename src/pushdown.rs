//! Turning what Postgres knows about a query (conditions on columns, the
//! wanted order, a safe LIMIT) into the narrowest Clerk requests. Pure Rust:
//! the FDW glue extracts [`Condition`]s from the plan and hands them here.
//!
//! Postgres re-checks every condition on the rows that come back, so a
//! filter Clerk applies more loosely than SQL (see [`Match::Wider`]) only
//! costs rows, never correctness; `exact` says when Clerk's answer *is* the
//! SQL answer, which is what counting and LIMIT pushdown need.

use crate::client::request_target;
use crate::convert::pg_micros_to_unix_ms;
use crate::objects::{
    Count, Endpoint, Envelope, Kind, Match, ObjectSpec, Paging, Source, KEY, MAX_PAGE_SIZE,
    MULTI_PAGE_ORDER_KEYS,
};
use serde::{Deserialize, Serialize};

/// Plans with more request series than this are estimated, not counted.
pub const MAX_SERIES_TO_COUNT: usize = 3;
/// Clerk's limit on values of one repeatable filter parameter.
pub const MAX_VALUES_PER_REQUEST: usize = 100;

/// A value a condition compares a column with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operand {
    Null,
    Text(String),
    Bool(bool),
    /// An integer; Unix milliseconds for a timestamp column declared `bigint`.
    Int(i64),
    /// A `timestamptz`, in Postgres microseconds since 2000-01-01 UTC.
    PgMicros(i64),
    /// The elements of `= ANY(array)` / `IN (...)`.
    List(Vec<Operand>),
    /// Known only when the query runs (a parameter, `now() - ...`, a join's
    /// outer value): `$n` in EXPLAIN, replaced by its value before a scan.
    Runtime(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `=`, and `= ANY` / `IN` with a [`Operand::List`].
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `lower(column) = value` (or `upper`): the column equals the value
    /// but for case. Only a case-insensitive filter can narrow by it.
    EqFolded,
    /// `column LIKE/ILIKE pattern`: the column contains the value (the
    /// pattern's longest literal part), ignoring case. Only a substring
    /// filter can narrow by it.
    Contains,
    /// `column LIKE/ILIKE pattern` with a pattern known only at run time
    /// (a parameter of a generic plan): once bound, a [`Op::Contains`] of
    /// the pattern's longest literal part.
    Like,
    /// Not a condition of the query but of a join it is in: the row (by
    /// its `id`) has a membership in the value (see
    /// [`crate::objects::MembershipLink`]). Only narrows.
    MemberOf,
}

/// `column op value`, with `column` a column name of the object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub value: Operand,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBy {
    pub column: String,
    pub descending: bool,
}

/// What a scan should return, as far as Clerk can help.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub conditions: Vec<Condition>,
    pub order: Option<OrderBy>,
    /// LIMIT + OFFSET of the query, given only when nothing above the scan
    /// (a join, an aggregate, a filter) can drop or need more rows.
    pub limit: Option<u64>,
    /// The columns the query reads (for fields Clerk sends only on request).
    #[serde(default)]
    pub reads: Vec<String>,
}

impl Request {
    /// Whether some value is known only when the query runs.
    pub fn has_runtime_values(&self) -> bool {
        fn runtime(value: &Operand) -> bool {
            match value {
                Operand::Runtime(_) => true,
                Operand::List(items) => items.iter().any(runtime),
                _ => false,
            }
        }
        self.conditions.iter().any(|c| runtime(&c.value))
    }

    /// Replaces every [`Operand::Runtime`] with its value.
    pub fn bind(&self, values: &[Operand]) -> Request {
        let mut bound = self.clone();
        for c in &mut bound.conditions {
            if let Operand::Runtime(i) = c.value {
                c.value = values.get(i).cloned().unwrap_or(Operand::Null);
            }
            if c.op == Op::Like {
                // A pattern without a literal part (or NULL) narrows nothing.
                let run = match &c.value {
                    Operand::Text(pattern) => like_literal(pattern),
                    _ => None,
                };
                c.op = Op::Contains;
                c.value = Operand::Text(run.unwrap_or_default());
            }
        }
        bound
    }
}

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

/// The values an equality allows, or a value known only at run time.
#[derive(Debug, Clone, PartialEq)]
enum Allowed {
    Values(Vec<Operand>),
    Runtime(usize),
}

/// A timestamp bound, exclusive, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Ms(i64),
    Runtime(usize),
}

/// What the conditions say about one column.
#[derive(Debug, Default)]
struct ColumnConstraint {
    allowed: Option<Allowed>,
    after: Option<Bound>,
    before: Option<Bound>,
    /// Values the column equals but for case.
    folded: Option<Allowed>,
    /// A text the column contains, ignoring case.
    contains: Option<String>,
    /// The row has a membership in one of these.
    member_of: Option<Allowed>,
}

/// Folds the conditions per column. Returns `None` when no row can match,
/// and whether some condition could not be folded (Postgres alone checks it).
fn fold(
    object: &'static ObjectSpec,
    conditions: &[Condition],
) -> Option<(Vec<(&'static str, ColumnConstraint)>, bool)> {
    let mut columns: Vec<(&'static str, ColumnConstraint)> = Vec::new();
    let mut partial = false;
    for c in conditions {
        let Some(spec) = object.column(&c.column) else {
            partial = true;
            continue;
        };
        let slot = match columns.iter().position(|(n, _)| *n == spec.name) {
            Some(i) => &mut columns[i].1,
            None => {
                columns.push((spec.name, ColumnConstraint::default()));
                &mut columns.last_mut().expect("just pushed").1
            }
        };
        match c.op {
            Op::EqFolded => {
                let new = match &c.value {
                    Operand::Null => return None,
                    Operand::Runtime(i) => Allowed::Runtime(*i),
                    Operand::List(items) => Allowed::Values(
                        items
                            .iter()
                            .filter(|v| **v != Operand::Null)
                            .cloned()
                            .collect(),
                    ),
                    v => Allowed::Values(vec![v.clone()]),
                };
                if new == Allowed::Values(vec![]) {
                    return None;
                }
                // Two of them: one narrows, Postgres checks both.
                partial |= slot.folded.is_some();
                slot.folded.get_or_insert(new);
            }
            Op::MemberOf => {
                let values = match &c.value {
                    Operand::Runtime(i) => Some(Allowed::Runtime(*i)),
                    Operand::Text(_) => Some(Allowed::Values(vec![c.value.clone()])),
                    Operand::List(items) if items.iter().all(|v| matches!(v, Operand::Text(_))) => {
                        Some(Allowed::Values(items.clone()))
                    }
                    _ => None,
                };
                // Narrows only: Clerk's rows are the join's, not the scan's.
                partial = true;
                // One is enough to narrow; the join checks them all.
                if slot.member_of.is_none() {
                    slot.member_of = values;
                }
            }
            // The pattern is known only at run time: shown as its
            // placeholder, replaced by its literal part when bound.
            Op::Like => {
                partial = true;
                if let (Operand::Runtime(i), None) = (&c.value, &slot.contains) {
                    slot.contains = Some(runtime_placeholder(*i));
                }
            }
            Op::Contains => match &c.value {
                Operand::Text(t) if !t.is_empty() && slot.contains.is_none() => {
                    slot.contains = Some(t.clone())
                }
                _ => partial = true,
            },
            Op::Eq => {
                let new = match &c.value {
                    Operand::Null => return None,
                    Operand::Runtime(i) => Allowed::Runtime(*i),
                    Operand::List(items) => {
                        let mut values: Vec<Operand> = Vec::new();
                        for v in items {
                            if *v != Operand::Null && !values.contains(v) {
                                values.push(v.clone());
                            }
                        }
                        Allowed::Values(values)
                    }
                    v => Allowed::Values(vec![v.clone()]),
                };
                slot.allowed = Some(match (slot.allowed.take(), new) {
                    (None, new) => new,
                    (Some(Allowed::Values(a)), Allowed::Values(b)) => {
                        Allowed::Values(a.into_iter().filter(|v| b.contains(v)).collect())
                    }
                    // Only known at run time: keep one, Postgres checks the other.
                    (Some(old), _) => {
                        partial = true;
                        old
                    }
                });
                if slot.allowed == Some(Allowed::Values(vec![])) {
                    return None;
                }
            }
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                if spec.kind != Kind::TimestampMs {
                    partial = true;
                    continue;
                }
                let bound = match &c.value {
                    Operand::Null => return None,
                    Operand::Runtime(i) => Bound::Runtime(*i),
                    v => match exclusive_ms(v, c.op) {
                        Some(ms) => Bound::Ms(ms),
                        None => {
                            partial = true;
                            continue;
                        }
                    },
                };
                let is_after = matches!(c.op, Op::Gt | Op::Ge);
                type Tighter = fn(i64, i64) -> i64;
                let (current, tighter): (&mut Option<Bound>, Tighter) = if is_after {
                    (&mut slot.after, i64::max)
                } else {
                    (&mut slot.before, i64::min)
                };
                *current = Some(match (*current, bound) {
                    (None, b) => b,
                    (Some(Bound::Ms(a)), Bound::Ms(b)) => Bound::Ms(tighter(a, b)),
                    (Some(old), _) => {
                        partial = true;
                        old
                    }
                });
            }
        }
    }
    Some((columns, partial))
}

/// The exclusive millisecond bound equivalent to `column op value` for a
/// column holding whole milliseconds: `> t` is `> floor(t)`, `>= t` is
/// `> ceil(t) - 1`, `< t` is `< ceil(t)`, `<= t` is `< floor(t) + 1`.
fn exclusive_ms(value: &Operand, op: Op) -> Option<i64> {
    let (floor, ceil) = match value {
        Operand::Int(ms) => (*ms, *ms),
        Operand::PgMicros(us) => {
            let floor = pg_micros_to_unix_ms(*us)?;
            let ceil = pg_micros_to_unix_ms(us.checked_add(999)?)?;
            (floor, ceil)
        }
        _ => return None,
    };
    match op {
        Op::Gt => Some(floor),
        Op::Ge => ceil.checked_sub(1),
        Op::Lt => Some(ceil),
        Op::Le => floor.checked_add(1),
        Op::Eq | Op::EqFolded | Op::Contains | Op::Like | Op::MemberOf => None,
    }
}

/// A value as Clerk receives it, `None` when no row can have it.
fn param_value(v: &Operand, how: Match) -> Option<String> {
    let text = match v {
        Operand::Text(s) if s.is_empty() => return None,
        Operand::Text(s) => s.clone(),
        Operand::Bool(b) => b.to_string(),
        Operand::Int(i) => i.to_string(),
        _ => return None,
    };
    Some(match how {
        Match::ExactSigned if text.starts_with(['+', '-']) => format!("+{text}"),
        _ => text,
    })
}

/// The longest literal part of a LIKE pattern (`%` and `_` are
/// wildcards, `\` escapes), when it is ASCII: Clerk's case-insensitive
/// substring match and Postgres' ILIKE then agree on what matches.
pub fn like_literal(pattern: &str) -> Option<String> {
    let mut best = String::new();
    let mut run = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' | '_' => {
                if run.len() > best.len() {
                    best = std::mem::take(&mut run);
                }
                run.clear();
            }
            '\\' => run.push(chars.next()?),
            c => run.push(c),
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    (!best.is_empty() && best.is_ascii()).then_some(best)
}

fn runtime_placeholder(i: usize) -> String {
    format!("${}", i + 1)
}

/// The narrowest requests for `request`.
pub fn plan(object: &'static ObjectSpec, request: &Request) -> ScanPlan {
    let empty = ScanPlan {
        object,
        series: Vec::new(),
        exact: true,
        ordered: true,
        sorted: false,
        max_rows: Some(0),
        missing_key: false,
        sort: None,
    };
    let Some((mut columns, mut partial)) = fold(object, &request.conditions) else {
        return empty;
    };
    let mut exact = true;

    // A key equality picks a narrower endpoint: one series per value.
    let keyed = object.endpoints[1..].iter().find_map(|e| {
        let (key, how) = e.key?;
        let i = columns
            .iter()
            .position(|(n, c)| *n == key && c.allowed.is_some())?;
        Some((e, how, i))
    });
    let missing_key = object.needs_key && keyed.is_none();
    let (endpoint, mut series) = match keyed {
        None => {
            let e = object.list();
            let path = e.path.iter().map(|s| s.to_string()).collect();
            (
                e,
                vec![Series {
                    endpoint: e,
                    path,
                    params: vec![],
                }],
            )
        }
        Some((e, how, i)) => {
            let (_, constraint) = columns.remove(i);
            exact &= how != Match::Wider;
            let keys: Vec<String> = match constraint.allowed.expect("found with allowed") {
                Allowed::Runtime(i) => vec![runtime_placeholder(i)],
                // "." and ".." would be dropped from the path by URL rules.
                Allowed::Values(vs) => vs
                    .iter()
                    .filter_map(|v| param_value(v, Match::Exact))
                    .filter(|k| k != "." && k != "..")
                    .collect(),
            };
            if keys.is_empty() {
                return empty;
            }
            partial |= constraint.after.is_some() || constraint.before.is_some();
            let series = keys
                .into_iter()
                .map(|k| Series {
                    endpoint: e,
                    path: e
                        .path
                        .iter()
                        .map(|s| if *s == KEY { k.clone() } else { s.to_string() })
                        .collect(),
                    params: e.key_param.map(|p| (p, k)).into_iter().collect(),
                })
                .collect();
            (e, series)
        }
    };

    for (column, mut constraint) in columns {
        if let Some(member_of) = constraint.member_of.take() {
            let filter = endpoint
                .filters
                .iter()
                .find(|f| f.column == column && f.how == Match::Member);
            let values: Vec<String> = match member_of {
                Allowed::Runtime(i) => vec![runtime_placeholder(i)],
                Allowed::Values(vs) => vs
                    .iter()
                    .filter_map(|v| param_value(v, Match::ExactSigned))
                    .collect(),
            };
            if let Some(f) = filter.filter(|_| (1..=MAX_VALUES_PER_REQUEST).contains(&values.len()))
            {
                for s in &mut series {
                    s.params.extend(values.iter().map(|v| (f.param, v.clone())));
                }
            }
        }
        // Case-folded equality and substring conditions only narrow: a
        // case-insensitive filter (Wider) or a substring one (Contains)
        // fetches a superset, and Postgres re-checks.
        let folded = constraint.folded.take();
        if let Some(text) = constraint.contains.take() {
            let substring = endpoint
                .filters
                .iter()
                .find(|f| f.column == column && f.how == Match::Contains);
            match substring {
                Some(f) if constraint.allowed.is_none() && folded.is_none() => {
                    exact = false;
                    series
                        .iter_mut()
                        .for_each(|s| s.params.push((f.param, text.clone())));
                }
                _ => partial = true,
            }
        }
        if let Some(folded) = folded {
            let case_insensitive = endpoint
                .filters
                .iter()
                .any(|f| f.column == column && f.how == Match::Wider);
            if case_insensitive && constraint.allowed.is_none() {
                constraint.allowed = Some(folded);
            } else {
                partial = true;
            }
        }
        if constraint.allowed.is_none() && constraint.after.is_none() && constraint.before.is_none()
        {
            continue;
        }
        let Some(filter) = endpoint
            .filters
            .iter()
            .find(|f| f.column == column && !matches!(f.how, Match::Contains | Match::Member))
        else {
            partial = true;
            continue;
        };
        match filter.how {
            Match::Contains | Match::Member => unreachable!("handled above"),
            Match::Exact | Match::ExactSigned | Match::Wider | Match::One => {
                partial |= constraint.after.is_some() || constraint.before.is_some();
                let Some(allowed) = constraint.allowed else {
                    continue;
                };
                if !filter.enum_of_rows {
                    match &allowed {
                        Allowed::Values(vs) => {
                            let outside = vs.iter().any(|v| {
                                param_value(v, filter.how)
                                    .is_some_and(|v| !filter.allowed.contains(&v.as_str()))
                            });
                            if outside {
                                partial = true;
                                continue;
                            }
                        }
                        // Only known at run time whether Clerk can filter
                        // by it: nothing may rely on the filter being exact.
                        Allowed::Runtime(_) => partial = true,
                    }
                }
                exact &= filter.how != Match::Wider;
                let values: Vec<String> = match allowed {
                    Allowed::Runtime(i) => vec![runtime_placeholder(i)],
                    // A value outside the spec's enum matches no row.
                    Allowed::Values(vs) => vs
                        .iter()
                        .filter_map(|v| param_value(v, filter.how))
                        .filter(|v| {
                            filter.allowed.is_empty() || filter.allowed.contains(&v.as_str())
                        })
                        .collect(),
                };
                if values.is_empty() {
                    return empty;
                }
                let per_request = if filter.how == Match::One {
                    1
                } else {
                    MAX_VALUES_PER_REQUEST
                };
                let batches: Vec<&[String]> = values.chunks(per_request).collect();
                if batches.len() > 1 && series.len() > 1 {
                    // Would multiply series; Postgres filters this one.
                    partial = true;
                    continue;
                }
                series = series
                    .into_iter()
                    .flat_map(|s| {
                        batches.iter().map(move |batch| {
                            let mut s = s.clone();
                            s.params
                                .extend(batch.iter().map(|v| (filter.param, v.clone())));
                            s
                        })
                    })
                    .collect();
            }
            Match::Flag => {
                partial |= constraint.after.is_some() || constraint.before.is_some();
                let value = match constraint.allowed {
                    Some(Allowed::Values(vs)) if vs.len() == 1 => param_value(&vs[0], Match::Flag),
                    Some(Allowed::Runtime(i)) => Some(runtime_placeholder(i)),
                    _ => None,
                };
                match value {
                    Some(v) => series
                        .iter_mut()
                        .for_each(|s| s.params.push((filter.param, v.clone()))),
                    None => partial = true,
                }
            }
            Match::Range => {
                partial |= constraint.allowed.is_some();
                let bounds = [("_after", constraint.after), ("_before", constraint.before)];
                if let (Some(Bound::Ms(a)), Some(Bound::Ms(b))) =
                    (constraint.after, constraint.before)
                {
                    if b <= a.saturating_add(1) {
                        return empty;
                    }
                }
                for (suffix, bound) in bounds {
                    let value = match bound {
                        None => continue,
                        Some(Bound::Ms(ms)) => ms.to_string(),
                        Some(Bound::Runtime(i)) => runtime_placeholder(i),
                    };
                    let name = range_param(filter.param, suffix);
                    series
                        .iter_mut()
                        .for_each(|s| s.params.push((name, value.clone())));
                }
            }
        }
    }
    exact &= !partial;

    if let Some((param, value)) = endpoint.unlisted_by_default {
        if !series
            .iter()
            .any(|s| s.params.iter().any(|(k, _)| *k == param))
        {
            let unlisted: Vec<Series> = series
                .iter()
                .map(|s| {
                    let mut s = s.clone();
                    s.params.push((param, value.to_string()));
                    s
                })
                .collect();
            series.extend(unlisted);
        }
    }

    let one_page = request
        .limit
        .is_some_and(|n| exact && n <= endpoint.max_limit as u64);
    let mut ordered = request.order.is_none();
    let mut sort = None;
    let order = match &request.order {
        Some(o)
            if series.len() == 1
                && endpoint.order_by.contains(&o.column.as_str())
                && (MULTI_PAGE_ORDER_KEYS.contains(&o.column.as_str()) || one_page) =>
        {
            ordered = true;
            sort = object.column(&o.column).and_then(|c| match c.source {
                Source::Path([field]) => Some((*field, o.descending)),
                _ => None,
            });
            Some(format!(
                "{}{}",
                if o.descending { "-" } else { "+" },
                o.column
            ))
        }
        _ => endpoint.default_order.map(String::from),
    };
    for (column, flag) in endpoint.included_on_request {
        let wanted = request.reads.iter().any(|r| {
            object
                .column(r)
                .is_some_and(|c| c.name == *column || c.source == Source::Whole)
        }) || request.order.as_ref().is_some_and(|o| o.column == *column);
        if wanted {
            series
                .iter_mut()
                .for_each(|s| s.params.push((flag, "true".into())));
        }
    }
    if let Some(order) = order {
        series
            .iter_mut()
            .for_each(|s| s.params.push(("order_by", order.clone())));
    }
    for (param, value) in endpoint.fixed_params {
        series
            .iter_mut()
            .for_each(|s| s.params.push((param, value.to_string())));
    }
    if endpoint.envelope == Envelope::Paginated {
        series
            .iter_mut()
            .for_each(|s| s.params.push(("paginated", "true".into())));
    }
    let max_rows = request
        .limit
        .filter(|_| exact && ordered)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if max_rows == Some(0) {
        return empty;
    }
    ScanPlan {
        object,
        series,
        exact,
        ordered,
        sorted: ordered && request.order.is_some(),
        max_rows,
        missing_key,
        sort: sort.filter(|_| ordered && request.order.is_some()),
    }
}

/// `created_at` + `_after` as a `'static` parameter name.
fn range_param(param: &'static str, suffix: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "created_at_after",
        "created_at_before",
        "last_sign_in_at_after",
        "last_sign_in_at_before",
        "last_active_at_after",
        "last_active_at_before",
    ];
    NAMES
        .iter()
        .find(|n| n.strip_prefix(param) == Some(suffix))
        .copied()
        .unwrap_or_else(|| panic!("no range parameter {param}{suffix} in the catalog"))
}

#[cfg(test)]
mod tests {
    /// `range_param` panics on a catalog range filter it does not know:
    /// every one in the catalog has both its parameter names.
    #[test]
    fn every_catalog_range_filter_has_its_parameter_names() {
        for object in crate::objects::OBJECTS {
            for endpoint in object.endpoints {
                for f in endpoint.filters.iter().filter(|f| f.how == Match::Range) {
                    assert_eq!(range_param(f.param, "_after"), format!("{}_after", f.param));
                    assert_eq!(
                        range_param(f.param, "_before"),
                        format!("{}_before", f.param)
                    );
                }
            }
        }
    }

    use super::*;
    use crate::objects::object;

    fn cond(column: &str, op: Op, value: Operand) -> Condition {
        Condition {
            column: column.into(),
            op,
            value,
        }
    }
    fn text(s: &str) -> Operand {
        Operand::Text(s.into())
    }
    fn plan_of(obj: &str, conditions: Vec<Condition>) -> ScanPlan {
        plan(
            object(obj).unwrap(),
            &Request {
                conditions,
                ..Request::default()
            },
        )
    }

    #[test]
    fn full_scans_use_the_instance_wide_lists() {
        let p = ScanPlan::full(object("users").unwrap());
        assert!(p.exact);
        assert_eq!(p.describe(), ["GET /users?order_by=-created_at&limit=500"]);
        let p = ScanPlan::full(object("organization_memberships").unwrap());
        assert_eq!(
            p.describe(),
            ["GET /organization_memberships?order_by=%2Bcreated_at&limit=500"]
        );
    }

    #[test]
    fn user_id_equality_and_in_lists_batch_by_100() {
        let p = plan_of("users", vec![cond("user_id", Op::Eq, text("user_1"))]);
        assert!(p.exact);
        assert_eq!(p.series.len(), 1);
        assert_eq!(p.series[0].params[0], ("user_id", "user_1".to_string()));

        let ids: Vec<Operand> = (0..150)
            .map(|i| text(&format!("user_{i}")))
            .chain([text("user_3"), Operand::Null])
            .collect();
        let p = plan_of("users", vec![cond("id", Op::Eq, Operand::List(ids))]);
        assert_eq!(p.series.len(), 2);
        let counts: Vec<usize> = p
            .series
            .iter()
            .map(|s| s.params.iter().filter(|(k, _)| *k == "user_id").count())
            .collect();
        assert_eq!(counts, [100, 50]);
    }

    #[test]
    fn a_membership_from_a_join_narrows_users_and_organizations() {
        let member_of = |v| cond("id", Op::MemberOf, v);
        let p = plan_of("users", vec![member_of(text("org_1"))]);
        assert!(!p.exact, "the join, not Clerk, makes the answer exact");
        assert_eq!(
            p.describe(),
            ["GET /users?organization_id=org_1&order_by=-created_at&limit=500"]
        );
        // With the query's own conditions, run-time and signed values.
        let p = plan_of(
            "users",
            vec![
                member_of(Operand::Runtime(0)),
                cond("created_at", Op::Gt, Operand::Int(5)),
            ],
        );
        assert_eq!(
            p.describe(),
            ["GET /users?organization_id=$1&created_at_after=5&order_by=-created_at&limit=500"]
        );
        let p = plan_of(
            "organizations",
            vec![member_of(Operand::List(vec![text("user_1"), text("-x")]))],
        );
        assert_eq!(
            p.describe(),
            ["GET /organizations?user_id=user_1&user_id=%2B-x&order_by=%2Bcreated_at&limit=500"]
        );
        // Nothing to narrow by: the whole list, still not exact.
        for v in [Operand::Null, Operand::Int(3), Operand::List(vec![])] {
            let p = plan_of("users", vec![member_of(v.clone())]);
            assert_eq!(
                p.describe(),
                ["GET /users?order_by=-created_at&limit=500"],
                "{v:?}"
            );
            assert!(!p.exact);
        }
        // An object Clerk cannot narrow that way lists everything.
        let p = plan_of("invitations", vec![member_of(text("org_1"))]);
        assert!(p.series[0]
            .params
            .iter()
            .all(|(k, _)| *k != "organization_id"));
    }

    #[test]
    fn impossible_conditions_send_no_request() {
        for conditions in [
            vec![cond("id", Op::Eq, Operand::Null)],
            vec![cond("id", Op::Eq, Operand::List(vec![]))],
            vec![cond("id", Op::Eq, text("a")), cond("id", Op::Eq, text("b"))],
            vec![cond("id", Op::Eq, text(""))],
            vec![
                cond("created_at", Op::Gt, Operand::Int(10)),
                cond("created_at", Op::Lt, Operand::Int(11)),
            ],
        ] {
            let p = plan_of("users", conditions.clone());
            assert!(p.series.is_empty(), "{conditions:?}");
        }
        let p = plan_of(
            "organization_memberships",
            vec![cond("user_id", Op::Eq, text(".."))],
        );
        assert!(p.series.is_empty());
    }

    #[test]
    fn timestamp_bounds_are_exact_at_millisecond_edges() {
        let ms = 1_700_000_000_123i64;
        let us = (ms - 946_684_800_000) * 1000; // Postgres micros of that ms
        let bound = |op, v| {
            let p = plan_of("users", vec![cond("created_at", op, v)]);
            p.series[0]
                .params
                .iter()
                .find(|(k, _)| k.starts_with("created_at_"))
                .cloned()
                .unwrap()
        };
        assert_eq!(
            bound(Op::Gt, Operand::PgMicros(us)),
            ("created_at_after", ms.to_string())
        );
        assert_eq!(
            bound(Op::Ge, Operand::PgMicros(us)),
            ("created_at_after", (ms - 1).to_string())
        );
        assert_eq!(
            bound(Op::Lt, Operand::PgMicros(us)),
            ("created_at_before", ms.to_string())
        );
        assert_eq!(
            bound(Op::Le, Operand::PgMicros(us)),
            ("created_at_before", (ms + 1).to_string())
        );
        // A microsecond past the millisecond: > keeps ms, >= needs ms + 1.
        assert_eq!(
            bound(Op::Gt, Operand::PgMicros(us + 1)),
            ("created_at_after", ms.to_string())
        );
        assert_eq!(
            bound(Op::Ge, Operand::PgMicros(us + 1)),
            ("created_at_after", ms.to_string())
        );
        assert_eq!(
            bound(Op::Lt, Operand::PgMicros(us + 1)),
            ("created_at_before", (ms + 1).to_string())
        );
        assert_eq!(
            bound(Op::Le, Operand::PgMicros(us + 1)),
            ("created_at_before", (ms + 1).to_string())
        );
        assert_eq!(
            bound(Op::Ge, Operand::Int(ms)),
            ("created_at_after", (ms - 1).to_string())
        );
        // BETWEEN keeps the tighter of repeated bounds.
        let p = plan_of(
            "users",
            vec![
                cond("created_at", Op::Ge, Operand::Int(100)),
                cond("created_at", Op::Gt, Operand::Int(200)),
                cond("created_at", Op::Le, Operand::Int(900)),
            ],
        );
        assert!(p.exact);
        assert_eq!(p.describe(), ["GET /users?created_at_after=200&created_at_before=901&order_by=-created_at&limit=500"]);
    }

    #[test]
    fn wider_filters_are_pushed_but_not_exact() {
        let p = plan_of("users", vec![cond("email", Op::Eq, text("a@b.c"))]);
        assert!(!p.exact);
        assert_eq!(
            p.series[0].params[0],
            ("email_address", "a@b.c".to_string())
        );
        assert!(p.count_requests().is_none());
    }

    #[test]
    fn signed_values_cannot_turn_into_exclusions() {
        let p = plan_of("users", vec![cond("id", Op::Eq, text("-user_1"))]);
        assert_eq!(p.series[0].params[0], ("user_id", "+-user_1".to_string()));
    }

    #[test]
    fn memberships_route_by_organization_or_user() {
        let p = plan_of(
            "organization_memberships",
            vec![
                cond(
                    "organization_id",
                    Op::Eq,
                    Operand::List(vec![text("org_1"), text("org_2")]),
                ),
                cond("role", Op::Eq, text("org:admin")),
            ],
        );
        assert!(p.exact);
        assert_eq!(p.describe(), [
            "GET /organizations/org_1/memberships?role=org%3Aadmin&order_by=%2Bcreated_at&limit=500",
            "GET /organizations/org_2/memberships?role=org%3Aadmin&order_by=%2Bcreated_at&limit=500",
        ]);
        let p = plan_of(
            "organization_memberships",
            vec![cond("user_id", Op::Eq, text("user_1"))],
        );
        assert_eq!(
            p.describe(),
            ["GET /users/user_1/organization_memberships?limit=500"]
        );
        assert_eq!(
            p.count_requests().unwrap()[0].params,
            [("limit", "1".to_string())]
        );
        // Role alone has no endpoint: the whole list, filtered by Postgres.
        let p = plan_of(
            "organization_memberships",
            vec![cond("role", Op::Eq, text("x"))],
        );
        assert!(!p.exact);
        assert_eq!(p.series[0].path, ["organization_memberships"]);
    }

    /// Clerk's invitation `status` is one string: `status=a&status=b` would
    /// be read as `a` alone, so a list is one series per status (disjoint:
    /// an invitation has one status).
    #[test]
    fn single_valued_filters_split_in_lists() {
        for object in ["invitations", "organization_invitations"] {
            let p = plan_of(
                object,
                vec![cond(
                    "status",
                    Op::Eq,
                    Operand::List(vec![text("pending"), text("accepted")]),
                )],
            );
            assert!(p.exact, "{object}");
            let statuses: Vec<Vec<&str>> = p
                .series
                .iter()
                .map(|s| {
                    s.params
                        .iter()
                        .filter(|(k, _)| *k == "status")
                        .map(|(_, v)| v.as_str())
                        .collect()
                })
                .collect();
            assert_eq!(statuses, [["pending"], ["accepted"]], "{object}");
        }
        let p = plan_of(
            "organization_invitations",
            vec![cond(
                "status",
                Op::Eq,
                Operand::List(vec![text("pending"), text("expired")]),
            )],
        );
        assert_eq!(
            p.count_requests().unwrap().len(),
            2,
            "counted per status, summed"
        );
    }

    #[test]
    fn sessions_are_listed_only_per_user_or_client() {
        let p = ScanPlan::full(object("sessions").unwrap());
        assert!(p.missing_key);
        assert_eq!(
            p.describe(),
            ["none: sessions needs user_id = ... or client_id = ... in WHERE"]
        );
        // A status condition alone selects no user either.
        let p = plan_of("sessions", vec![cond("status", Op::Eq, text("active"))]);
        assert!(p.missing_key);

        let p = plan_of(
            "sessions",
            vec![
                cond(
                    "user_id",
                    Op::Eq,
                    Operand::List(vec![text("user_1"), text("user_&2")]),
                ),
                cond("status", Op::Eq, text("active")),
            ],
        );
        assert!(!p.missing_key);
        assert!(p.exact);
        assert_eq!(
            p.describe(),
            [
                "GET /sessions?user_id=user_1&status=active&paginated=true&limit=500",
                "GET /sessions?user_id=user_%262&status=active&paginated=true&limit=500",
            ]
        );
        // Two users and two statuses would be four series: Postgres checks
        // the status.
        let two_statuses = || {
            cond(
                "status",
                Op::Eq,
                Operand::List(vec![text("active"), text("ended")]),
            )
        };
        let p = plan_of(
            "sessions",
            vec![
                cond(
                    "user_id",
                    Op::Eq,
                    Operand::List(vec![text("user_1"), text("user_2")]),
                ),
                two_statuses(),
            ],
        );
        assert!(!p.exact);
        assert_eq!(p.series.len(), 2);
        let p = plan_of(
            "sessions",
            vec![cond("user_id", Op::Eq, text("user_1")), two_statuses()],
        );
        assert!(p.exact);
        assert_eq!(
            p.describe(),
            [
                "GET /sessions?user_id=user_1&status=active&paginated=true&limit=500",
                "GET /sessions?user_id=user_1&status=ended&paginated=true&limit=500",
            ]
        );
        let p = plan_of(
            "sessions",
            vec![cond("client_id", Op::Eq, Operand::Runtime(0))],
        );
        assert!(p.exact && !p.missing_key);
        assert_eq!(
            p.describe(),
            ["GET /sessions?client_id=$1&paginated=true&limit=500"]
        );
        // user_id = NULL matches nothing: no request, and nothing missing.
        let p = plan_of("sessions", vec![cond("user_id", Op::Eq, Operand::Null)]);
        assert!(p.series.is_empty() && !p.missing_key);
    }

    #[test]
    fn values_never_change_the_endpoint_or_parameters() {
        let p = plan_of(
            "organization_memberships",
            vec![cond("user_id", Op::Eq, text("../organizations?x=1#"))],
        );
        assert_eq!(
            p.describe(),
            ["GET /users/..%2Forganizations%3Fx%3D1%23/organization_memberships?limit=500"]
        );
        let p = plan_of("users", vec![cond("email", Op::Eq, text("a&limit=1"))]);
        assert_eq!(
            p.describe(),
            ["GET /users?email_address=a%26limit%3D1&order_by=-created_at&limit=500"]
        );
        let p = plan_of("organizations", vec![cond("slug", Op::Eq, text("%2e%2e"))]);
        assert_eq!(p.describe(), ["GET /organizations/%252e%252e"]);
    }

    #[test]
    fn order_and_limit_are_pushed_only_when_safe() {
        let users = object("users").unwrap();
        let req = |conditions, column: &str, limit| Request {
            conditions,
            order: Some(OrderBy {
                column: column.into(),
                descending: true,
            }),
            limit,
            reads: vec![],
        };
        let p = plan(users, &req(vec![], "created_at", Some(10)));
        assert!(p.ordered);
        assert_eq!(p.describe(), ["GET /users?order_by=-created_at&limit=10"]);
        // Clerk cannot sort by email with the cursor: Postgres sorts, so all rows are needed.
        let p = plan(users, &req(vec![], "email", Some(10)));
        assert!(!p.ordered);
        assert_eq!(p.max_rows, None);
        // A filter Postgres re-checks may drop rows: LIMIT cannot be pushed.
        let p = plan(
            users,
            &req(
                vec![cond("email", Op::Eq, text("a"))],
                "created_at",
                Some(10),
            ),
        );
        assert_eq!(p.max_rows, None);
        assert_eq!(p.page_size(0), 500);
    }

    #[test]
    fn runtime_values_show_as_placeholders_and_bind_later() {
        let users = object("users").unwrap();
        let request = Request {
            conditions: vec![cond("created_at", Op::Gt, Operand::Runtime(0))],
            ..Request::default()
        };
        assert_eq!(
            plan(users, &request).describe(),
            ["GET /users?created_at_after=$1&order_by=-created_at&limit=500"]
        );
        let bound = request.bind(&[Operand::Int(5)]);
        assert_eq!(
            plan(users, &bound).describe(),
            ["GET /users?created_at_after=5&order_by=-created_at&limit=500"]
        );
    }

    #[test]
    fn estimates_follow_keys_and_ranges() {
        let total = || 100_000.0;
        assert_eq!(plan_of("users", vec![]).estimate_rows(total), 100_000.0);
        let ids = Operand::List(vec![text("user_1"), text("user_2")]);
        assert_eq!(
            plan_of("users", vec![cond("id", Op::Eq, ids)]).estimate_rows(|| unreachable!()),
            2.0
        );
        let recent = plan_of(
            "users",
            vec![cond("created_at", Op::Gt, Operand::Runtime(0))],
        );
        assert_eq!(recent.estimate_rows(total), 30_000.0);
        let by_user = plan_of(
            "organization_memberships",
            vec![cond("user_id", Op::Eq, text("u"))],
        );
        assert_eq!(by_user.estimate_rows(|| unreachable!()), 3.0);
        assert_eq!(
            plan_of("users", vec![cond("id", Op::Eq, Operand::Null)]).estimate_rows(total),
            0.0
        );
    }

    #[test]
    fn only_guessed_estimates_are_worth_a_count() {
        let guessed = |object: &str, conditions: Vec<Condition>| {
            plan_of(object, conditions).estimate_is_guessed()
        };
        assert!(!guessed("users", vec![]), "the total is a count already");
        assert!(!guessed("users", vec![cond("id", Op::Eq, text("u"))]));
        assert!(guessed(
            "users",
            vec![cond("created_at", Op::Gt, Operand::Int(5))]
        ));
        assert!(guessed(
            "users",
            vec![cond("banned", Op::Eq, Operand::Bool(true))]
        ));
        let org = || cond("organization_id", Op::Eq, text("org_1"));
        assert!(guessed("organization_memberships", vec![org()]));
        assert!(!guessed(
            "organization_memberships",
            vec![org(), cond("user_id", Op::Eq, text("u"))]
        ));
        assert!(!guessed(
            "organizations",
            vec![cond("id", Op::Eq, text("org_1"))]
        ));
    }

    #[test]
    fn runtime_values_are_found_in_lists_too() {
        let request = |value| Request {
            conditions: vec![cond("id", Op::Eq, value)],
            ..Request::default()
        };
        assert!(!request(text("u")).has_runtime_values());
        assert!(request(Operand::Runtime(0)).has_runtime_values());
        assert!(request(Operand::List(vec![text("u"), Operand::Runtime(1)])).has_runtime_values());
    }

    #[test]
    fn counts_use_the_count_endpoint_or_total_count() {
        let p = plan_of("users", vec![cond("created_at", Op::Gt, Operand::Int(5))]);
        let c = p.count_requests().unwrap();
        assert_eq!(c[0].path, ["users", "count"]);
        assert_eq!(c[0].params, [("created_at_after", "5".to_string())]);
        let p = plan_of("organizations", vec![]);
        assert_eq!(
            p.count_requests().unwrap()[0].params,
            [("limit", "1".to_string())]
        );
        let p = plan_of("organizations", vec![cond("slug", Op::Eq, text("acme"))]);
        assert!(p.count_requests().is_none());
    }
    #[test]
    fn values_outside_the_specs_enum_send_no_request() {
        for value in ["bogus", "Pending", "PENDING"] {
            let p = plan_of("invitations", vec![cond("status", Op::Eq, text(value))]);
            assert!(p.series.is_empty(), "{value}");
        }
        let p = plan_of(
            "organization_invitations",
            vec![cond(
                "status",
                Op::Eq,
                Operand::List(vec![text("pending"), text("bogus")]),
            )],
        );
        assert_eq!(p.series.len(), 1);
        assert!(p.series[0].params.contains(&("status", "pending".into())));
        let p = plan_of(
            "sessions",
            vec![
                cond("user_id", Op::Eq, text("user_1")),
                cond("status", Op::Eq, text("signed_in")),
            ],
        );
        assert!(p.series.is_empty());
    }

    #[test]
    fn statuses_the_filter_does_not_take_are_left_to_postgres() {
        // A subscription item can be canceled, but Clerk does not list by
        // that status: Postgres filters the whole list.
        let p = plan_of(
            "billing_subscription_items",
            vec![cond("status", Op::Eq, text("canceled"))],
        );
        assert!(!p.exact);
        assert_eq!(
            p.describe(),
            ["GET /billing/subscription_items?include_free=true&paginated=true&limit=500"]
        );
        let p = plan_of(
            "billing_subscription_items",
            vec![
                cond("status", Op::Eq, text("past_due")),
                cond("payer_type", Op::Eq, text("org")),
            ],
        );
        assert!(p.exact);
        assert_eq!(
            p.describe(),
            ["GET /billing/subscription_items?status=past_due&payer_type=org&include_free=true&paginated=true&limit=500"]
        );
        let p = plan_of(
            "billing_plans",
            vec![cond("for_payer_type", Op::Eq, text("team"))],
        );
        assert!(p.series.is_empty());
    }

    #[test]
    fn keyed_only_objects_and_their_page_sizes() {
        for (object_name, key) in [
            ("billing_payment_attempts", "statement_id"),
            ("billing_subscriptions", "user_id"),
            ("user_organization_invitations", "user_id"),
            ("api_keys", "subject"),
            ("m2m_tokens", "subject"),
        ] {
            let p = ScanPlan::full(object(object_name).unwrap());
            assert!(p.missing_key, "{object_name}");
            let p = plan_of(object_name, vec![cond(key, Op::Eq, text("x_1"))]);
            assert!(!p.missing_key, "{object_name}");
            assert_eq!(p.series[0].key_value(), Some("x_1"), "{object_name}");
        }
        let p = plan_of("m2m_tokens", vec![cond("subject", Op::Eq, text("mch_1"))]);
        assert_eq!(
            p.describe(),
            ["GET /m2m_tokens?subject=mch_1&revoked=true&expired=true&limit=100"]
        );
        let p = plan_of(
            "billing_subscriptions",
            vec![cond("organization_id", Op::Eq, text("org_1"))],
        );
        assert_eq!(
            p.describe(),
            ["GET /organizations/org_1/billing/subscription"]
        );
        let p = plan_of(
            "billing_statements",
            vec![cond("id", Op::Eq, text("stmt_1"))],
        );
        assert_eq!(p.describe(), ["GET /billing/statements/stmt_1"]);
    }

    #[test]
    fn revoked_invitations_are_asked_for_separately() {
        let p = ScanPlan::full(object("invitations").unwrap());
        let statuses: Vec<_> = p
            .series
            .iter()
            .map(|s| {
                s.params
                    .iter()
                    .find(|(k, _)| *k == "status")
                    .map(|(_, v)| v.clone())
            })
            .collect();
        assert_eq!(statuses, [None, Some("revoked".to_string())]);
        let p = plan_of(
            "invitations",
            vec![cond("status", Op::Eq, text("accepted"))],
        );
        assert_eq!(p.series.len(), 1);
        // organization_invitations lists every status by default.
        assert_eq!(
            ScanPlan::full(object("organization_invitations").unwrap())
                .series
                .len(),
            1
        );
    }

    #[test]
    fn members_count_is_asked_for_when_read_or_sorted_by() {
        let orgs = object("organizations").unwrap();
        let flag = ("include_members_count", "true".to_string());
        let reads = |columns: &[&str]| Request {
            reads: columns.iter().map(|c| c.to_string()).collect(),
            ..Request::default()
        };
        assert!(!plan(orgs, &reads(&["id", "name"])).series[0]
            .params
            .contains(&flag));
        assert!(plan(orgs, &reads(&["id", "members_count"])).series[0]
            .params
            .contains(&flag));
        assert!(plan(orgs, &reads(&["attrs"])).series[0]
            .params
            .contains(&flag));
        let by_slug = plan(
            orgs,
            &Request {
                conditions: vec![cond("slug", Op::Eq, text("org-1"))],
                ..reads(&["members_count"])
            },
        );
        assert_eq!(by_slug.series[0].path, ["organizations", "org-1"]);
        assert!(by_slug.series[0].params.contains(&flag));

        let top = |limit| Request {
            order: Some(OrderBy {
                column: "members_count".into(),
                descending: true,
            }),
            limit,
            ..reads(&["id"])
        };
        let p = plan(orgs, &top(Some(10)));
        assert!(p.ordered && p.sorted);
        assert_eq!(p.max_rows, Some(10));
        assert_eq!(p.sort, Some(("members_count", true)));
        assert!(p.series[0]
            .params
            .contains(&("order_by", "-members_count".into())));
        assert!(p.series[0].params.contains(&flag));
        // Not unique: more than one page could shift between offsets.
        for limit in [None, Some(501)] {
            let p = plan(orgs, &top(limit));
            assert!(!p.ordered, "{limit:?}");
            assert!(p.series[0]
                .params
                .contains(&("order_by", "+created_at".into())));
        }
    }
    #[test]
    fn like_patterns_narrow_by_their_longest_literal_part() {
        assert_eq!(like_literal("%@acme.com").as_deref(), Some("@acme.com"));
        assert_eq!(like_literal("ann.%").as_deref(), Some("ann."));
        assert_eq!(like_literal("a%bcd_e").as_deref(), Some("bcd"));
        assert_eq!(like_literal("100\\%%").as_deref(), Some("100%"));
        for nothing in ["%", "_%_", "", "%zoë%", "x\\"] {
            assert_eq!(like_literal(nothing), None, "{nothing}");
        }
    }

    #[test]
    fn case_folded_and_substring_conditions_narrow_but_are_never_exact() {
        let p = plan_of(
            "users",
            vec![cond("email", Op::EqFolded, text("ann@x.com"))],
        );
        assert_eq!(
            p.series[0].params,
            [
                ("email_address", "ann@x.com".to_string()),
                ("order_by", "-created_at".to_string())
            ]
        );
        assert!(!p.exact);
        let p = plan_of(
            "users",
            vec![cond("email", Op::Contains, text("@acme.com"))],
        );
        assert!(p.series[0]
            .params
            .contains(&("email_address_query", "@acme.com".to_string())));
        assert!(!p.exact && p.count_requests().is_none());
        let p = plan_of("users", vec![cond("username", Op::Contains, text("ann"))]);
        assert!(p.series[0]
            .params
            .contains(&("username_query", "ann".to_string())));
        // An exact equality wins; the other conditions are left to Postgres.
        let p = plan_of(
            "users",
            vec![
                cond("email", Op::Contains, text("acme")),
                cond("email", Op::EqFolded, text("b@acme.com")),
                cond("email", Op::Eq, text("A@acme.com")),
            ],
        );
        assert_eq!(
            p.series[0].params,
            [
                ("email_address", "A@acme.com".to_string()),
                ("order_by", "-created_at".to_string())
            ]
        );
        // Neither equality nor substring on a column without such filters.
        let p = plan_of(
            "users",
            vec![
                cond("first_name", Op::EqFolded, text("ann")),
                cond("first_name", Op::Contains, text("nn")),
            ],
        );
        assert_eq!(
            p.series[0].params,
            [("order_by", "-created_at".to_string())]
        );
        assert!(!p.exact);
        // lower(email) = NULL matches nothing.
        assert!(
            plan_of("users", vec![cond("email", Op::EqFolded, Operand::Null)])
                .series
                .is_empty()
        );
    }
    #[test]
    fn memberships_of_an_organization_in_a_time_range() {
        let p = plan_of(
            "organization_memberships",
            vec![
                cond("organization_id", Op::Eq, text("org_1")),
                cond("created_at", Op::Ge, Operand::Int(1_000)),
                cond("created_at", Op::Lt, Operand::Int(2_000)),
            ],
        );
        assert_eq!(p.series[0].path, ["organizations", "org_1", "memberships"]);
        assert!(p.series[0]
            .params
            .contains(&("created_at_after", "999".to_string())));
        assert!(p.series[0]
            .params
            .contains(&("created_at_before", "2000".to_string())));
        assert!(p.exact);
    }
}
