//! Folding a request's conditions into one [`ColumnConstraint`] per column:
//! the values an equality allows, the tightest time bounds, a case-folded
//! value, a substring, a membership. Each condition kind has its own
//! method; a new kind of condition starts here.

use super::NoRows;
use crate::catalog::{Kind, Match, ObjectSpec};
use crate::convert::pg_micros_to_unix_ms;
use crate::request::{Condition, Op, Operand};

/// The values an equality allows, or a value known only at run time.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Allowed {
    Values(Vec<Operand>),
    Runtime(usize),
}

/// A timestamp bound, exclusive, in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Bound {
    Ms(i64),
    Runtime(usize),
}

/// What the conditions say about one column.
#[derive(Debug, Default)]
pub(super) struct ColumnConstraint {
    pub allowed: Option<Allowed>,
    pub after: Option<Bound>,
    pub before: Option<Bound>,
    /// Values the column equals but for case.
    pub folded: Option<Allowed>,
    /// A text the column contains, ignoring case.
    pub contains: Option<String>,
    /// The row has a membership in one of these.
    pub member_of: Option<Allowed>,
}

/// Each column's constraint, in the order the conditions name them.
pub(super) type Columns = Vec<(&'static str, ColumnConstraint)>;

/// Whether a condition was folded whole, or only in part (Postgres alone
/// checks the rest).
type Folded = Result<bool, NoRows>;
const WHOLE: Folded = Ok(false);
const IN_PART: Folded = Ok(true);

/// The conditions folded per column, and whether some condition could not
/// be folded (Postgres alone checks it); `NoRows` when no row can match.
pub(super) fn fold(
    object: &'static ObjectSpec,
    conditions: &[Condition],
) -> Result<(Columns, bool), NoRows> {
    let mut columns: Columns = Vec::new();
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
        partial |= match c.op {
            Op::EqFolded => slot.add_folded(&c.value),
            Op::MemberOf => slot.add_member_of(&c.value),
            Op::Like => slot.add_like(&c.value),
            Op::Contains => slot.add_contains(&c.value),
            Op::Eq => slot.add_equality(&c.value),
            Op::Lt | Op::Le | Op::Gt | Op::Ge if spec.kind == Kind::TimestampMs => {
                slot.add_bound(c.op, &c.value)
            }
            Op::Lt | Op::Le | Op::Gt | Op::Ge => IN_PART,
        }?;
    }
    Ok((columns, partial))
}

impl ColumnConstraint {
    /// `lower(column) = value`.
    fn add_folded(&mut self, value: &Operand) -> Folded {
        let new = match value {
            Operand::Null => return Err(NoRows),
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
            return Err(NoRows);
        }
        // Two of them: one narrows, Postgres checks both.
        let two = self.folded.is_some();
        self.folded.get_or_insert(new);
        Ok(two)
    }

    /// A membership a join asks for. Narrows only: Clerk's rows are the
    /// join's, not the scan's.
    fn add_member_of(&mut self, value: &Operand) -> Folded {
        let values = match value {
            Operand::Runtime(i) => Some(Allowed::Runtime(*i)),
            Operand::Text(_) => Some(Allowed::Values(vec![value.clone()])),
            Operand::List(items) if items.iter().all(|v| matches!(v, Operand::Text(_))) => {
                Some(Allowed::Values(items.clone()))
            }
            _ => None,
        };
        // One is enough to narrow; the join checks them all.
        if self.member_of.is_none() {
            self.member_of = values;
        }
        IN_PART
    }

    /// A LIKE pattern known only at run time: shown as its placeholder,
    /// replaced by its literal part when bound.
    fn add_like(&mut self, value: &Operand) -> Folded {
        if let (Operand::Runtime(i), None) = (value, &self.contains) {
            self.contains = Some(runtime_placeholder(*i));
        }
        IN_PART
    }

    fn add_contains(&mut self, value: &Operand) -> Folded {
        match value {
            Operand::Text(t) if !t.is_empty() && self.contains.is_none() => {
                self.contains = Some(t.clone());
                WHOLE
            }
            _ => IN_PART,
        }
    }

    /// `=`, `IN`, `= ANY`: the values both this and earlier equalities allow.
    fn add_equality(&mut self, value: &Operand) -> Folded {
        let new = match value {
            Operand::Null => return Err(NoRows),
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
        let mut partial = false;
        self.allowed = Some(match (self.allowed.take(), new) {
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
        if self.allowed == Some(Allowed::Values(vec![])) {
            return Err(NoRows);
        }
        Ok(partial)
    }

    /// `<`, `<=`, `>`, `>=` on a timestamp: the tightest bound each way.
    fn add_bound(&mut self, op: Op, value: &Operand) -> Folded {
        let bound = match value {
            Operand::Null => return Err(NoRows),
            Operand::Runtime(i) => Bound::Runtime(*i),
            v => match exclusive_ms(v, op) {
                Some(ms) => Bound::Ms(ms),
                None => return IN_PART,
            },
        };
        type Tighter = fn(i64, i64) -> i64;
        let (current, tighter): (&mut Option<Bound>, Tighter) = if matches!(op, Op::Gt | Op::Ge) {
            (&mut self.after, i64::max)
        } else {
            (&mut self.before, i64::min)
        };
        let mut partial = false;
        *current = Some(match (*current, bound) {
            (None, b) => b,
            (Some(Bound::Ms(a)), Bound::Ms(b)) => Bound::Ms(tighter(a, b)),
            (Some(old), _) => {
                partial = true;
                old
            }
        });
        Ok(partial)
    }
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
pub(super) fn param_value(v: &Operand, how: Match) -> Option<String> {
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

/// How EXPLAIN shows run-time value `i`.
pub(super) fn runtime_placeholder(i: usize) -> String {
    format!("${}", i + 1)
}
