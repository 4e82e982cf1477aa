//! Functions of a timestamp column (`created_at::date`, `date_trunc`,
//! `extract(epoch ...)`, `created_at::timestamp`) turned into bounds on the
//! column itself, computed when the query runs.

use super::*;
use crate::catalog::Kind;
use crate::request::{Condition, Op};
use pgrx::pg_sys;
use std::ffi::CStr;
use std::ptr;

/// Bounds on `created_at` for `created_at::date op value` (a date):
/// computed in the session's time zone when the query runs, the lower
/// ones 3 hours wider for zones whose midnight a DST change makes
/// ambiguous. `None` when Clerk cannot narrow by it.
///
/// # Safety
/// `value` is a valid expression node of type `value_type`.
unsafe fn date_bounds(
    op: Op,
    value: *mut pg_sys::Node,
    value_type: pg_sys::Oid,
) -> Option<Vec<(Op, *mut pg_sys::Node)>> {
    if value_type != pg_sys::DATEOID {
        return None;
    }
    // SAFETY: per the function's contract; the nodes built are the
    // planner's, in its memory.
    unsafe {
        let one = pg_sys::makeConst(
            pg_sys::INT4OID,
            -1,
            pg_sys::InvalidOid,
            4,
            pg_sys::Datum::from(1i32),
            false,
            true,
        );
        let start = cast(copy(value), pg_sys::TIMESTAMPTZOID);
        let next = cast(
            operator(c"+", copy(value), one.cast()),
            pg_sys::TIMESTAMPTZOID,
        );
        let widened = |t| operator(c"-", t, interval(c"3 hours"));
        match op {
            Op::Ge => Some(vec![(Op::Ge, widened(start))]),
            Op::Gt => Some(vec![(Op::Ge, widened(next))]),
            Op::Lt => Some(vec![(Op::Lt, start)]),
            Op::Le => Some(vec![(Op::Lt, next)]),
            Op::Eq => Some(vec![(Op::Ge, widened(start)), (Op::Lt, next)]),
            Op::EqFolded | Op::Contains | Op::Like | Op::MemberOf => None,
        }
    }
}

/// Bounds for `created_at::timestamp op value` (its local time). The local
/// time and the instant differ by the zone's offset, which can change
/// between them: widened by the most any two offsets of a zone differ (26
/// hours).
///
/// # Safety
/// `value` is a valid expression node of type `value_type`.
unsafe fn local_time_bounds(
    op: Op,
    value: *mut pg_sys::Node,
    value_type: pg_sys::Oid,
) -> Option<Vec<(Op, *mut pg_sys::Node)>> {
    if value_type != pg_sys::TIMESTAMPOID {
        return None;
    }
    // SAFETY: per the function's contract.
    let instant = || unsafe { cast(copy(value), pg_sys::TIMESTAMPTZOID) };
    // SAFETY: nodes of the planner, in its memory.
    let lower = || unsafe { operator(c"-", instant(), interval(c"26 hours")) };
    let upper = || unsafe { operator(c"+", instant(), interval(c"26 hours")) };
    widened_bounds(op, lower, upper)
}

/// Bounds for `extract(epoch from created_at) op value` (a number):
/// `'epoch' + n seconds`, a millisecond wider each way, as a float8 need not
/// be exact to the microsecond.
///
/// # Safety
/// `value` is a valid expression node of type `value_type`.
unsafe fn epoch_bounds(
    op: Op,
    value: *mut pg_sys::Node,
    value_type: pg_sys::Oid,
) -> Option<Vec<(Op, *mut pg_sys::Node)>> {
    let numbers = [
        pg_sys::INT2OID,
        pg_sys::INT4OID,
        pg_sys::INT8OID,
        pg_sys::NUMERICOID,
        pg_sys::FLOAT4OID,
        pg_sys::FLOAT8OID,
    ];
    if !numbers.contains(&value_type) {
        return None;
    }
    // SAFETY: per the function's contract; nodes of the planner.
    let instant = || unsafe {
        let seconds = operator(
            c"*",
            cast(copy(value), pg_sys::FLOAT8OID),
            interval(c"1 second"),
        );
        let epoch = typed_const(c"1970-01-01 00:00:00+00", pg_sys::TIMESTAMPTZOID);
        operator(c"+", epoch, seconds)
    };
    // SAFETY: nodes of the planner, in its memory.
    let lower = || unsafe { operator(c"-", instant(), interval(c"1 millisecond")) };
    let upper = || unsafe { operator(c"+", instant(), interval(c"1 millisecond")) };
    widened_bounds(op, lower, upper)
}

/// `>= lower`, `< upper`, or both for an equality: bounds of a value
/// known only roughly.
fn widened_bounds(
    op: Op,
    lower: impl Fn() -> *mut pg_sys::Node,
    upper: impl Fn() -> *mut pg_sys::Node,
) -> Option<Vec<(Op, *mut pg_sys::Node)>> {
    match op {
        Op::Ge | Op::Gt => Some(vec![(Op::Ge, lower())]),
        Op::Lt | Op::Le => Some(vec![(Op::Lt, upper())]),
        Op::Eq => Some(vec![(Op::Ge, lower()), (Op::Lt, upper())]),
        Op::EqFolded | Op::Contains | Op::Like | Op::MemberOf => None,
    }
}

/// Bounds for `date_trunc(unit, created_at) op value`:
/// `trunc(c) <= c < trunc(c) + unit`.
///
/// # Safety
/// `value` is a valid expression node of type `value_type`.
unsafe fn trunc_bounds(
    op: Op,
    value: *mut pg_sys::Node,
    value_type: pg_sys::Oid,
    unit: &str,
) -> Option<Vec<(Op, *mut pg_sys::Node)>> {
    let times = [
        pg_sys::TIMESTAMPTZOID,
        pg_sys::TIMESTAMPOID,
        pg_sys::DATEOID,
    ];
    if !times.contains(&value_type) {
        return None;
    }
    let unit = std::ffi::CString::new(unit).ok()?;
    // SAFETY: per the function's contract; nodes of the planner.
    let bound = || unsafe {
        match value_type {
            pg_sys::TIMESTAMPTZOID => copy(value),
            _ => cast(copy(value), pg_sys::TIMESTAMPTZOID),
        }
    };
    // SAFETY: nodes of the planner, in its memory.
    let end = || unsafe { operator(c"+", bound(), interval(&unit)) };
    match op {
        Op::Ge => Some(vec![(Op::Ge, bound())]),
        Op::Gt => Some(vec![(Op::Gt, bound())]),
        Op::Lt | Op::Le => Some(vec![(Op::Lt, end())]),
        Op::Eq => Some(vec![(Op::Ge, bound()), (Op::Lt, end())]),
        Op::EqFolded | Op::Contains | Op::Like | Op::MemberOf => None,
    }
}

/// A `timestamptz` column under a function that keeps its order: its local
/// date (`created_at::date`), `date_trunc(unit, created_at)` or its Unix
/// time (`extract(epoch from created_at)`, Grafana's).
struct TimeFunction {
    column: &'static str,
    shape: Shape,
}

enum Shape {
    Date,
    /// Its local time (`created_at::timestamp`).
    Local,
    /// The truncation unit as an interval (`1 day`).
    Trunc(&'static str),
    Epoch,
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn time_function(target: &ScanRel, node: *mut pg_sys::Node) -> Option<TimeFunction> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let (name, args) = function_call(node)?;
        let timestamptz_column = |node| match target.column(node) {
            Some((column, Kind::TimestampMs, pg_sys::TIMESTAMPTZOID)) => Some(column),
            _ => None,
        };
        match (name.as_str(), args.as_slice()) {
            ("date", [arg]) => Some(TimeFunction {
                column: timestamptz_column(*arg)?,
                shape: Shape::Date,
            }),
            ("timestamp", [arg]) => Some(TimeFunction {
                column: timestamptz_column(*arg)?,
                shape: Shape::Local,
            }),
            // `extract(epoch from c)` is numeric: compared with a float8, the
            // parser casts it.
            ("float8", [arg]) => {
                time_function(target, *arg).filter(|f| matches!(f.shape, Shape::Epoch))
            }
            ("extract" | "date_part", [field, arg]) => {
                if !const_text(*field)?.eq_ignore_ascii_case("epoch") {
                    return None;
                }
                Some(TimeFunction {
                    column: timestamptz_column(*arg)?,
                    shape: Shape::Epoch,
                })
            }
            ("date_trunc", [unit, arg]) => {
                let unit = const_text(*unit)?;
                let interval = match unit.to_ascii_lowercase().as_str() {
                    "second" => "1 second",
                    "minute" => "1 minute",
                    "hour" => "1 hour",
                    "day" => "1 day",
                    "week" => "7 days",
                    "month" => "1 month",
                    "quarter" => "3 months",
                    "year" => "1 year",
                    _ => return None,
                };
                Some(TimeFunction {
                    column: timestamptz_column(*arg)?,
                    shape: Shape::Trunc(interval),
                })
            }
            _ => None,
        }
    }
}

/// `left OPERATOR(pg_catalog.name) right`, resolved as the parser resolves
/// an operator, in `pg_catalog` whatever the `search_path`.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn operator(
    name: &'static std::ffi::CStr,
    left: *mut pg_sys::Node,
    right: *mut pg_sys::Node,
) -> *mut pg_sys::Node {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let opname = pg_sys::lappend(
            pg_sys::lappend(
                ptr::null_mut(),
                pg_sys::makeString(pg_sys::pstrdup(c"pg_catalog".as_ptr())).cast(),
            ),
            pg_sys::makeString(pg_sys::pstrdup(name.as_ptr())).cast(),
        );
        pg_sys::make_op(
            pg_sys::make_parsestate(ptr::null_mut()),
            opname,
            left,
            right,
            ptr::null_mut(),
            -1,
        )
        .cast()
    }
}

/// `node::target`, evaluated when the query runs.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn cast(node: *mut pg_sys::Node, target: pg_sys::Oid) -> *mut pg_sys::Node {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        pg_sys::coerce_to_target_type(
            ptr::null_mut(),
            node,
            pg_sys::exprType(node),
            target,
            -1,
            pg_sys::CoercionContext::COERCION_EXPLICIT,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CAST,
            -1,
        )
    }
}

/// A copy of `node`, so that no two expressions share a subtree.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn copy(node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe { pg_sys::copyObjectImpl(node.cast()).cast() }
}

/// An interval constant such as `1 day`.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn interval(text: &CStr) -> *mut pg_sys::Node {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe { typed_const(text, pg_sys::INTERVALOID) }
}

/// `'text'::target`.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn typed_const(text: &CStr, target: pg_sys::Oid) -> *mut pg_sys::Node {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let value = pg_sys::makeConst(
            pg_sys::TEXTOID,
            -1,
            pg_sys::DEFAULT_COLLATION_OID,
            -1,
            pg_sys::Datum::from(pg_sys::cstring_to_text(text.as_ptr())),
            false,
            false,
        );
        cast(value.cast(), target)
    }
}

impl Extracted {
    /// `created_at::date op d`, `created_at::timestamp op t`,
    /// `date_trunc(unit, created_at) op t` and
    /// `extract(epoch from created_at) op n`: bounds on the column itself, computed when the query runs in the
    /// session's time zone. They are necessary conditions, not the clause
    /// (a lower bound of a date is widened by 3 hours, for zones whose
    /// midnight a DST change makes ambiguous), so Postgres still applies
    /// the clause: `Some(false)` after adding them.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    pub(super) unsafe fn try_add_time_function(
        &mut self,
        target: &ScanRel,
        opname: &str,
        args: &[*mut pg_sys::Node],
        is_any: bool,
    ) -> Option<bool> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            if is_any {
                return None;
            }
            let (function, value, commuted) = match (
                time_function(target, args[0]),
                time_function(target, args[1]),
            ) {
                (Some(f), None) => (f, args[1], false),
                (None, Some(f)) => (f, args[0], true),
                _ => return None,
            };
            let Some(op) = op_of(opname, commuted) else {
                return Some(false);
            };
            if !target.is_scan_constant(value) {
                return Some(false);
            }
            let value_type = pg_sys::exprType(value);
            let bounds = match function.shape {
                Shape::Date => date_bounds(op, value, value_type),
                Shape::Local => local_time_bounds(op, value, value_type),
                Shape::Epoch => epoch_bounds(op, value, value_type),
                Shape::Trunc(unit) => trunc_bounds(op, value, value_type, unit),
            };
            let Some(bounds) = bounds else {
                return Some(false);
            };
            for (op, bound) in bounds {
                if bound.is_null() {
                    continue;
                }
                if let Some(operand) = self.operand(bound) {
                    self.conditions.push(Condition {
                        column: function.column.into(),
                        op,
                        value: operand,
                    });
                }
            }
            Some(false)
        }
    }
}
