//! Turning a [`Request`] (conditions on columns, the wanted order, a safe
//! LIMIT) into the narrowest Clerk requests, a [`ScanPlan`]. Pure Rust: the
//! FDW glue extracts the conditions from Postgres' plan and hands them here.
//!
//! Postgres re-checks every condition on the rows that come back, so a
//! filter Clerk applies more loosely than SQL (see [`Match::Wider`]) only
//! costs rows, never correctness; `exact` says when Clerk's answer *is* the
//! SQL answer, which is what counting and LIMIT pushdown need.
//!
//! The steps: [`fold`] the conditions per column; pick the endpoint (a key
//! equality picks a narrower one, one series per key); add each column's
//! filter parameters ([`Draft::narrow`]); then order, flags and paging.

mod fold;
mod scan_plan;
#[cfg(test)]
mod tests;

use crate::catalog::{
    Endpoint, Envelope, Filter, Match, ObjectSpec, Source, KEY, MULTI_PAGE_ORDER_KEYS,
};
use crate::request::Request;
use fold::{fold, param_value, runtime_placeholder, Allowed, Bound, ColumnConstraint};
pub use scan_plan::{CountRequest, ScanPlan, Series};

/// Plans with more request series than this are estimated, not counted.
pub const MAX_SERIES_TO_COUNT: usize = 3;
/// Clerk's limit on values of one repeatable filter parameter.
pub const MAX_VALUES_PER_REQUEST: usize = 100;

/// No row can match: the plan sends no request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NoRows;

/// The narrowest requests for `request`.
pub fn plan(object: &'static ObjectSpec, request: &Request) -> ScanPlan {
    draft(object, request)
        .map(|d| d.finish(object, request))
        .unwrap_or_else(|NoRows| ScanPlan::nothing(object))
}

/// The series so far, and what is known about their answer.
struct Draft {
    endpoint: &'static Endpoint,
    series: Vec<Series>,
    /// No condition is applied more loosely than SQL.
    exact: bool,
    /// Some condition is left to Postgres alone.
    partial: bool,
    missing_key: bool,
}

fn draft(object: &'static ObjectSpec, request: &Request) -> Result<Draft, NoRows> {
    let (mut columns, partial) = fold(object, &request.conditions)?;
    // A key equality picks a narrower endpoint: one series per value.
    let keyed = object.endpoints[1..].iter().find_map(|e| {
        let (key, how) = e.key?;
        let i = columns
            .iter()
            .position(|(n, c)| *n == key && c.allowed.is_some())?;
        Some((e, how, i))
    });
    let mut draft = Draft {
        endpoint: object.list(),
        series: vec![],
        exact: true,
        partial,
        missing_key: object.needs_key && keyed.is_none(),
    };
    match keyed {
        None => draft.series.push(Series {
            endpoint: draft.endpoint,
            path: draft.endpoint.path.iter().map(|s| s.to_string()).collect(),
            params: vec![],
        }),
        Some((e, how, i)) => {
            let (_, constraint) = columns.remove(i);
            draft.endpoint = e;
            draft.exact &= how != Match::Wider;
            draft.partial |= constraint.after.is_some() || constraint.before.is_some();
            draft.series = keyed_series(e, constraint.allowed.expect("found with allowed"))?;
        }
    }
    for (column, constraint) in columns {
        draft.narrow(column, constraint)?;
    }
    draft.exact &= !draft.partial;
    Ok(draft)
}

/// One series per key value of a keyed endpoint.
fn keyed_series(e: &'static Endpoint, keys: Allowed) -> Result<Vec<Series>, NoRows> {
    let keys: Vec<String> = match keys {
        Allowed::Runtime(i) => vec![runtime_placeholder(i)],
        // "." and ".." would be dropped from the path by URL rules.
        Allowed::Values(vs) => vs
            .iter()
            .filter_map(|v| param_value(v, Match::Exact))
            .filter(|k| k != "." && k != "..")
            .collect(),
    };
    if keys.is_empty() {
        return Err(NoRows);
    }
    Ok(keys
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
        .collect())
}

impl Draft {
    /// The endpoint's filter of `column` matching as `pick` says.
    fn filter(&self, column: &str, pick: impl Fn(Match) -> bool) -> Option<&'static Filter> {
        self.endpoint
            .filters
            .iter()
            .find(|f| f.column == column && pick(f.how))
    }

    /// Adds `(param, value)` to every series.
    fn add_param(&mut self, param: &'static str, value: &str) {
        self.series
            .iter_mut()
            .for_each(|s| s.params.push((param, value.to_string())));
    }

    /// Narrows the series by what the conditions say about `column`.
    fn narrow(&mut self, column: &str, mut constraint: ColumnConstraint) -> Result<(), NoRows> {
        if let Some(member_of) = constraint.member_of.take() {
            self.add_member_of(column, member_of);
        }
        self.add_text_matches(column, &mut constraint);
        if constraint.allowed.is_none() && constraint.after.is_none() && constraint.before.is_none()
        {
            return Ok(());
        }
        let Some(filter) = self.filter(column, |how| {
            !matches!(how, Match::Contains | Match::Member)
        }) else {
            self.partial = true;
            return Ok(());
        };
        match filter.how {
            Match::Contains | Match::Member => unreachable!("not picked above"),
            Match::Exact | Match::ExactSigned | Match::Wider | Match::One => {
                self.partial |= constraint.after.is_some() || constraint.before.is_some();
                match constraint.allowed {
                    Some(allowed) => self.add_values(filter, allowed),
                    None => Ok(()),
                }
            }
            Match::Flag => {
                self.partial |= constraint.after.is_some() || constraint.before.is_some();
                self.add_flag(filter, constraint.allowed);
                Ok(())
            }
            Match::Range => {
                self.partial |= constraint.allowed.is_some();
                self.add_range(filter, constraint.after, constraint.before)
            }
        }
    }

    /// A membership a join asks for, when the list can filter by it.
    fn add_member_of(&mut self, column: &str, member_of: Allowed) {
        let values: Vec<String> = match member_of {
            Allowed::Runtime(i) => vec![runtime_placeholder(i)],
            Allowed::Values(vs) => vs
                .iter()
                .filter_map(|v| param_value(v, Match::ExactSigned))
                .collect(),
        };
        let filter = self.filter(column, |how| how == Match::Member);
        if let Some(f) = filter.filter(|_| (1..=MAX_VALUES_PER_REQUEST).contains(&values.len())) {
            for v in &values {
                self.add_param(f.param, v);
            }
        }
    }

    /// Case-folded equality and substring conditions only narrow: a
    /// case-insensitive filter (Wider) or a substring one (Contains) fetches
    /// a superset, and Postgres re-checks. A case-folded value becomes the
    /// column's allowed values when the filter ignores case.
    fn add_text_matches(&mut self, column: &str, constraint: &mut ColumnConstraint) {
        let folded = constraint.folded.take();
        if let Some(text) = constraint.contains.take() {
            match self.filter(column, |how| how == Match::Contains) {
                Some(f) if constraint.allowed.is_none() && folded.is_none() => {
                    self.exact = false;
                    self.add_param(f.param, &text);
                }
                _ => self.partial = true,
            }
        }
        if let Some(folded) = folded {
            let case_insensitive = self.filter(column, |how| how == Match::Wider).is_some();
            if case_insensitive && constraint.allowed.is_none() {
                constraint.allowed = Some(folded);
            } else {
                self.partial = true;
            }
        }
    }

    /// Equality values: up to 100 per request (one for a filter taking one
    /// value), a series per batch.
    fn add_values(&mut self, filter: &'static Filter, allowed: Allowed) -> Result<(), NoRows> {
        if !filter.enum_of_rows {
            match &allowed {
                Allowed::Values(vs) => {
                    let outside = vs.iter().any(|v| {
                        param_value(v, filter.how)
                            .is_some_and(|v| !filter.allowed.contains(&v.as_str()))
                    });
                    if outside {
                        self.partial = true;
                        return Ok(());
                    }
                }
                // Only known at run time whether Clerk can filter by it:
                // nothing may rely on the filter being exact.
                Allowed::Runtime(_) => self.partial = true,
            }
        }
        self.exact &= filter.how != Match::Wider;
        let values: Vec<String> = match allowed {
            Allowed::Runtime(i) => vec![runtime_placeholder(i)],
            // A value outside the spec's enum matches no row.
            Allowed::Values(vs) => vs
                .iter()
                .filter_map(|v| param_value(v, filter.how))
                .filter(|v| filter.allowed.is_empty() || filter.allowed.contains(&v.as_str()))
                .collect(),
        };
        if values.is_empty() {
            return Err(NoRows);
        }
        let per_request = if filter.how == Match::One {
            1
        } else {
            MAX_VALUES_PER_REQUEST
        };
        let batches: Vec<&[String]> = values.chunks(per_request).collect();
        if batches.len() > 1 && self.series.len() > 1 {
            // Would multiply series; Postgres filters this one.
            self.partial = true;
            return Ok(());
        }
        self.series = std::mem::take(&mut self.series)
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
        Ok(())
    }

    /// `banned`, `NOT banned`, `banned = $1`.
    fn add_flag(&mut self, filter: &'static Filter, allowed: Option<Allowed>) {
        let value = match allowed {
            Some(Allowed::Values(vs)) if vs.len() == 1 => param_value(&vs[0], Match::Flag),
            Some(Allowed::Runtime(i)) => Some(runtime_placeholder(i)),
            _ => None,
        };
        match value {
            Some(v) => self.add_param(filter.param, &v),
            None => self.partial = true,
        }
    }

    /// `*_after` / `*_before`; an empty range matches no row.
    fn add_range(
        &mut self,
        filter: &'static Filter,
        after: Option<Bound>,
        before: Option<Bound>,
    ) -> Result<(), NoRows> {
        if let (Some(Bound::Ms(a)), Some(Bound::Ms(b))) = (after, before) {
            if b <= a.saturating_add(1) {
                return Err(NoRows);
            }
        }
        for (suffix, bound) in [("_after", after), ("_before", before)] {
            let value = match bound {
                None => continue,
                Some(Bound::Ms(ms)) => ms.to_string(),
                Some(Bound::Runtime(i)) => runtime_placeholder(i),
            };
            self.add_param(range_param(filter.param, suffix), &value);
        }
        Ok(())
    }

    /// Objects Clerk leaves out unless asked (revoked invitations): a
    /// second set of series asks for them.
    fn add_unlisted(&mut self) {
        let Some((param, value)) = self.endpoint.unlisted_by_default else {
            return;
        };
        if self
            .series
            .iter()
            .any(|s| s.params.iter().any(|(k, _)| *k == param))
        {
            return;
        }
        let unlisted: Vec<Series> = self
            .series
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.params.push((param, value.to_string()));
                s
            })
            .collect();
        self.series.extend(unlisted);
    }

    /// Order, the fields Clerk sends on request, fixed parameters and
    /// paging: the plan.
    fn finish(mut self, object: &'static ObjectSpec, request: &Request) -> ScanPlan {
        self.add_unlisted();
        let endpoint = self.endpoint;
        let one_page = request
            .limit
            .is_some_and(|n| self.exact && n <= endpoint.max_limit as u64);
        let pushed_order = request.order.as_ref().filter(|o| {
            self.series.len() == 1
                && endpoint.order_by.contains(&o.column.as_str())
                && (MULTI_PAGE_ORDER_KEYS.contains(&o.column.as_str()) || one_page)
        });
        let ordered = request.order.is_none() || pushed_order.is_some();
        let order = match pushed_order {
            Some(o) => Some(format!(
                "{}{}",
                if o.descending { "-" } else { "+" },
                o.column
            )),
            None => endpoint.default_order.map(String::from),
        };
        for (column, flag) in endpoint.included_on_request {
            let wanted = request.reads.iter().any(|r| {
                object
                    .column(r)
                    .is_some_and(|c| c.name == *column || c.source == Source::Whole)
            }) || request.order.as_ref().is_some_and(|o| o.column == *column);
            if wanted {
                self.add_param(flag, "true");
            }
        }
        if let Some(order) = order {
            self.add_param("order_by", &order);
        }
        for (param, value) in endpoint.fixed_params {
            self.add_param(param, value);
        }
        if endpoint.envelope == Envelope::Paginated {
            self.add_param("paginated", "true");
        }
        let max_rows = request
            .limit
            .filter(|_| self.exact && ordered)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if max_rows == Some(0) {
            return ScanPlan::nothing(object);
        }
        let sorted = ordered && request.order.is_some();
        ScanPlan {
            object,
            series: self.series,
            exact: self.exact,
            ordered,
            sorted,
            max_rows,
            missing_key: self.missing_key,
            sort: pushed_order
                .and_then(|o| match object.column(&o.column)?.source {
                    Source::Path([field]) => Some((*field, o.descending)),
                    _ => None,
                })
                .filter(|_| sorted),
        }
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
