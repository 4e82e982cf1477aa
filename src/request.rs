//! What Postgres asks of a scan, as far as Clerk can help: conditions on
//! columns, an order, a safe LIMIT. The FDW glue fills a [`Request`] from
//! the query; [`crate::plan`] turns it into Clerk requests. It travels in
//! the plan as JSON, with [`Operand::Runtime`] for values known only when
//! the query runs.

use serde::{Deserialize, Serialize};

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
    /// [`crate::catalog::MembershipLink`]). Only narrows.
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

/// `segments` escaped and joined, then the encoded query: what follows
/// `api_url/`. A value can never change the endpoint or add a parameter.
pub fn request_target<S: AsRef<str>>(segments: &[S], params: &[(&str, String)]) -> String {
    use url::form_urlencoded;
    let path: Vec<String> = segments
        .iter()
        .map(|s| percent_encoding::utf8_percent_encode(s.as_ref(), SEGMENT).to_string())
        .collect();
    let mut target = path.join("/");
    if !params.is_empty() {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        target.push('?');
        target.push_str(&query);
    }
    target
}

/// Everything but RFC 3986's unreserved characters is escaped in a path
/// segment (`/`, `%`, `?`, `#` included).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
