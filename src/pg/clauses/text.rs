//! Text matches: `lower(col) = v`, `col LIKE pattern` and their
//! case-folded forms, narrowed by Clerk's case-insensitive filters.

use super::*;
use crate::catalog::Kind;
use crate::request::{Condition, Op, Operand};
use pgrx::pg_sys;

impl Extracted {
    /// `lower(col) = v` / `upper(col) = v` (and `= ANY`), and `col LIKE p`
    /// / `col ILIKE p` with a constant pattern, for a text column: `None`
    /// when the clause is not one of these.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    pub(super) unsafe fn try_add_text_match(
        &mut self,
        target: &ScanRel,
        opname: &str,
        args: &[*mut pg_sys::Node],
        is_any: bool,
    ) -> Option<bool> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let text_column = |node: *mut pg_sys::Node| match target.column(node) {
                Some((name, Kind::Text, declared))
                    if declared == pg_sys::TEXTOID || declared == pg_sys::VARCHAROID =>
                {
                    Some(name)
                }
                _ => None,
            };
            let (op, column, value) = match opname {
                "=" => {
                    let column = text_column(case_folded(args[0])?)?;
                    let Some(value) = self.text_operand(target, args[1], is_any) else {
                        return Some(false);
                    };
                    (Op::EqFolded, column, value)
                }
                // Also `lower(col) LIKE p` (Metabase's text filters): Clerk's
                // substring match ignores case either way.
                "~~" | "~~*" if !is_any => {
                    let column =
                        text_column(args[0]).or_else(|| text_column(case_folded(args[0])?))?;
                    if let Some(pattern) = const_text(args[1]) {
                        match crate::request::like_literal(&pattern) {
                            Some(run) => (Op::Contains, column, Operand::Text(run)),
                            None => return Some(false),
                        }
                    } else {
                        // A pattern known when the query runs (`$1`,
                        // `'%' || $1 || '%'`): its literal part is taken then.
                        let Some(value) = self.text_operand(target, args[1], false) else {
                            return Some(false);
                        };
                        (Op::Like, column, value)
                    }
                }
                _ => return None,
            };
            self.conditions.push(Condition {
                column: column.into(),
                op,
                value,
            });
            Some(true)
        }
    }
}

impl Extracted {
    /// A `text` (or `varchar`) value, or array of them with `is_any`, with
    /// one value for the whole scan, as an operand.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn text_operand(
        &mut self,
        target: &ScanRel,
        value: *mut pg_sys::Node,
        is_any: bool,
    ) -> Option<Operand> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let mut value_type = pg_sys::exprType(value);
            if is_any {
                value_type = pg_sys::get_element_type(value_type);
            }
            let text = value_type == pg_sys::TEXTOID || value_type == pg_sys::VARCHAROID;
            if !text || !target.is_scan_constant(value) {
                return None;
            }
            self.operand(value)
        }
    }
}

/// The argument of `lower(arg)` or `upper(arg)`.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn case_folded(node: *mut pg_sys::Node) -> Option<*mut pg_sys::Node> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        match function_call(node)? {
            (name, args) if matches!(name.as_str(), "lower" | "upper") && args.len() == 1 => {
                Some(args[0])
            }
            _ => None,
        }
    }
}
