//! The inner side of a nested loop asks Clerk once per outer row (`users`
//! by `id = m.user_id`). When the planner's row estimate was wrong that
//! can be hundreds of lookups where one read of the list would do. After
//! as many lookups as reading the whole list costs requests, the list is
//! read once and the remaining lookups are answered from memory: at most
//! twice the requests of the better plan, whichever it was (the rent-or-buy
//! rule). Switching sooner would be faster for long loops but could cost a
//! short loop many times its requests, and the rate limit is shared with
//! the customer's application.

use crate::catalog::{Kind, ObjectSpec, Source};
use crate::convert;
use crate::request::{Op, Operand, Request};
use serde_json::Value;
use std::collections::HashMap;

/// The list is read only when it has at most this many rows (the
/// memory bound: rows keep only the fields the query reads).
pub const MAX_LIST_ROWS: usize = 250_000;

/// A lookup: `column = value` on a text column, the value known only when
/// the scan runs (a nested loop's outer row), and the rest of the request,
/// which selects the list the lookup narrows (`organization_id = 'org_…'`
/// for memberships looked up by `user_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub rest: Request,
    pub column: &'static str,
    pub source: Source,
    pub value: String,
}

impl Lookup {
    /// `bound` (`planned` with its run-time values) as a lookup, when it is
    /// one: a single `=` on a text column whose value is a run-time value,
    /// now a plain text, and no ORDER BY or LIMIT.
    pub fn of(object: &'static ObjectSpec, planned: &Request, bound: &Request) -> Option<Lookup> {
        if bound.limit.is_some() || bound.order.is_some() {
            return None;
        }
        let mut keys = planned
            .conditions
            .iter()
            .zip(&bound.conditions)
            .enumerate()
            .filter_map(|(i, (p, c))| {
                let spec = object.column(&c.column)?;
                match (&p.value, &c.op, &c.value, spec.kind, spec.source) {
                    (
                        Operand::Runtime(_),
                        Op::Eq,
                        Operand::Text(v),
                        Kind::Text,
                        Source::Path(_),
                    ) => Some((i, spec.name, spec.source, v.clone())),
                    _ => None,
                }
            });
        let (index, column, source, value) = keys.next()?;
        if keys.next().is_some() {
            return None;
        }
        let mut rest = bound.clone();
        rest.conditions.remove(index);
        Some(Lookup {
            rest,
            column,
            source,
            value,
        })
    }
}

/// The list a scan read once: each row as JSON text (a fraction of the
/// memory of parsed rows), by the lookup column's value.
pub struct KeptList {
    rest: Request,
    column: &'static str,
    source: Source,
    by_value: HashMap<String, Vec<Box<str>>>,
    rows: usize,
}

impl KeptList {
    pub fn new(lookup: &Lookup) -> KeptList {
        KeptList {
            rest: lookup.rest.clone(),
            column: lookup.column,
            source: lookup.source,
            by_value: HashMap::new(),
            rows: 0,
        }
    }

    /// Adds a page of the list; false past [`MAX_LIST_ROWS`] rows.
    pub fn add(&mut self, page: Vec<Value>) -> bool {
        self.rows += page.len();
        if self.rows > MAX_LIST_ROWS {
            return false;
        }
        for row in page {
            if let Some(v) = convert::extract(&row, self.source).and_then(Value::as_str) {
                self.by_value
                    .entry(v.to_string())
                    .or_default()
                    .push(row.to_string().into_boxed_str());
            }
        }
        true
    }
}

/// The lookups of one scan node (across its re-scans).
#[derive(Default)]
pub struct Lookups {
    /// Lookups sent to Clerk.
    pub sent: usize,
    /// Lookups answered from the list.
    pub answered: usize,
    list: Option<KeptList>,
    /// The list was too long to keep: every lookup goes to Clerk.
    gave_up: bool,
}

impl Lookups {
    /// The rows of `lookup`, when the list read once answers it.
    pub fn answer(&mut self, lookup: &Lookup) -> Option<Vec<Value>> {
        let list = self.list.as_ref()?;
        if list.rest != lookup.rest || list.column != lookup.column {
            return None;
        }
        self.answered += 1;
        let rows = list
            .by_value
            .get(&lookup.value)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Some(
            rows.iter()
                .filter_map(|text| serde_json::from_str(text).ok())
                .collect(),
        )
    }

    /// Whether to read the list now, before another lookup: `list_cost` is
    /// what reading it costs in lookups, `list_rows` how many rows it has
    /// (as Clerk counted them, when it could).
    pub fn should_read_list(&self, list_cost: usize, list_rows: Option<f64>) -> bool {
        self.may_read_list()
            && self.sent >= list_cost.max(1)
            && list_rows.is_some_and(|n| n <= MAX_LIST_ROWS as f64)
    }

    /// Whether a list may still be read: not yet read nor given up, and
    /// at least one lookup sent (nothing to weigh, or count, before that).
    pub fn may_read_list(&self) -> bool {
        !self.gave_up && self.list.is_none() && self.sent >= 1
    }

    /// Keeps the list, read in full.
    pub fn keep(&mut self, list: KeptList) {
        self.list = Some(list);
    }

    /// Gives up reading the list (it failed or grew too long).
    pub fn give_up(&mut self) {
        self.gave_up = true;
    }

    /// For EXPLAIN ANALYZE, when the scan looked up more than once.
    pub fn describe(&self) -> Option<String> {
        if self.sent < 2 && self.list.is_none() {
            return None;
        }
        Some(match &self.list {
            None => format!("{} sent", self.sent),
            Some(list) => format!(
                "{} sent, then one read of the list ({} rows) answered {} more",
                self.sent, list.rows, self.answered
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::object;
    use crate::request::Condition;
    use serde_json::json;

    fn request(conditions: Vec<(&str, Op, Operand)>) -> Request {
        Request {
            conditions: conditions
                .into_iter()
                .map(|(column, op, value)| Condition {
                    column: column.into(),
                    op,
                    value,
                })
                .collect(),
            ..Request::default()
        }
    }

    /// `conditions` as planned (`Runtime` for the outer row's value) and
    /// bound.
    fn lookup_of(
        obj: &'static ObjectSpec,
        conditions: Vec<(&str, Operand, Operand)>,
    ) -> Option<Lookup> {
        let planned = request(
            conditions
                .iter()
                .map(|(c, p, _)| (*c, Op::Eq, p.clone()))
                .collect(),
        );
        let bound = request(
            conditions
                .into_iter()
                .map(|(c, _, b)| (c, Op::Eq, b))
                .collect(),
        );
        Lookup::of(obj, &planned, &bound)
    }

    #[test]
    fn lookups_switch_to_one_read_of_the_list() {
        let users = object("users").unwrap();
        let text = |v: &str| Operand::Text(v.into());
        let id = |v: &str| {
            (
                request(vec![("id", Op::Eq, Operand::Runtime(0))]),
                request(vec![("id", Op::Eq, text(v))]),
            )
        };
        let (planned, bound) = id("user_1");
        let lookup = Lookup::of(users, &planned, &bound).unwrap();
        assert_eq!(lookup.column, "id");
        assert!(lookup.rest.conditions.is_empty());
        // A constant, two run-time text values, a range, a LIMIT: not
        // lookups.
        assert!(Lookup::of(users, &bound, &bound).is_none());
        let two = vec![
            ("id", Operand::Runtime(0), text("u")),
            ("username", Operand::Runtime(1), text("e")),
        ];
        assert!(lookup_of(users, two).is_none());
        let ranged = request(vec![("created_at", Op::Gt, Operand::Int(1))]);
        assert!(Lookup::of(users, &ranged, &ranged).is_none());
        let limited = Request {
            limit: Some(1),
            ..bound.clone()
        };
        assert!(Lookup::of(users, &planned, &limited).is_none());
        // Memberships by the outer row's user, of one organization: the
        // organization's list is what a read would fetch.
        let memberships = object("organization_memberships").unwrap();
        let by_user = lookup_of(
            memberships,
            vec![
                ("organization_id", text("org_1"), text("org_1")),
                ("user_id", Operand::Runtime(0), text("user_7")),
            ],
        )
        .unwrap();
        assert_eq!(
            (by_user.column, by_user.value.as_str()),
            ("user_id", "user_7")
        );
        assert_eq!(
            by_user.rest,
            request(vec![("organization_id", Op::Eq, text("org_1"))])
        );

        let mut lookups = Lookups {
            sent: 2,
            ..Lookups::default()
        };
        assert!(!lookups.should_read_list(3, Some(1200.0)));
        lookups.sent = 3;
        assert!(!lookups.should_read_list(3, None));
        assert!(!lookups.should_read_list(3, Some(1e9)));
        assert!(lookups.should_read_list(3, Some(1200.0)));
        let rows = vec![
            json!({"id": "user_1", "n": 1}),
            json!({"id": "user_2", "n": 2}),
        ];
        let mut list = KeptList::new(&lookup);
        assert!(list.add(rows));
        lookups.keep(list);
        assert_eq!(
            lookups.answer(&lookup).unwrap(),
            [json!({"id": "user_1", "n": 1})]
        );
        let (planned, bound) = id("user_3");
        let other = Lookup::of(users, &planned, &bound).unwrap();
        assert_eq!(lookups.answer(&other).unwrap(), Vec::<Value>::new());
        // Another list (another constant condition) is not answered.
        let narrower = lookup_of(
            users,
            vec![
                ("id", Operand::Runtime(0), text("user_1")),
                ("banned", Operand::Bool(true), Operand::Bool(true)),
            ],
        )
        .unwrap();
        assert!(lookups.answer(&narrower).is_none());
        assert_eq!(
            lookups.describe().unwrap(),
            "3 sent, then one read of the list (2 rows) answered 2 more"
        );
        assert!(!lookups.should_read_list(3, Some(10.0)));
        let mut long = KeptList::new(&lookup);
        assert!(!long.add(vec![json!({"id": "u"}); MAX_LIST_ROWS + 1]));
    }
}
