//! Reading WHERE and join clauses into Clerk [`Condition`]s, the way
//! postgres_fdw's deparse.c decides what is safe to send: a column of this
//! scan compared with a value that cannot change during the scan. A value
//! known only at run time (`now() - interval '30 days'`, a parameter, a
//! nested loop's outer row) becomes an [`Operand::Runtime`] that refers to
//! an expression of the plan's `fdw_exprs`.
//!
//! Every function here takes planner pointers of the relation being
//! planned, valid for the duration of the call.

use crate::catalog::{Kind, ObjectSpec};
use crate::request::{Condition, Op, Operand};
use pgrx::pg_sys;
use pgrx::FromDatum;
use std::ffi::{c_void, CStr};
use std::ptr;

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub unsafe fn list_items<T>(list: *mut pg_sys::List) -> Vec<*mut T> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        if list.is_null() {
            return Vec::new();
        }
        (0..(*list).length as usize)
            .map(|i| (*(*list).elements.add(i)).ptr_value as *mut T)
            .collect()
    }
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub unsafe fn is_a(node: *mut c_void, tag: pg_sys::NodeTag) -> bool {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe { !node.is_null() && (*(node as *mut pg_sys::Node)).type_ == tag }
}

/// The clauses of a scan, sorted into Clerk conditions and the rest.
#[derive(Default, Clone)]
pub struct Extracted {
    pub conditions: Vec<Condition>,
    /// Expressions evaluated at run time, `Operand::Runtime(i)` = `exprs[i]`.
    pub exprs: Vec<*mut pg_sys::Expr>,
    pub types: Vec<u32>,
    /// Clauses Postgres alone applies.
    pub unpushed: usize,
    /// Some clause has no variable of the scan (`now() < ...`, `$1`,
    /// `(select false)`): Postgres evaluates it once, above the scan.
    pub pseudoconstant: bool,
}

/// The scan whose clauses are read.
pub struct ScanRel {
    pub root: *mut pg_sys::PlannerInfo,
    pub rel: *mut pg_sys::RelOptInfo,
    pub table_oid: pg_sys::Oid,
    pub object: &'static ObjectSpec,
}

impl ScanRel {
    /// The column a Var of this scan names, with its declared type.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    pub unsafe fn column(
        &self,
        node: *mut pg_sys::Node,
    ) -> Option<(&'static str, Kind, pg_sys::Oid)> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let node = strip_relabel(node);
            if !is_a(node.cast(), pg_sys::NodeTag::T_Var) {
                return None;
            }
            let var = node as *mut pg_sys::Var;
            if (*var).varno as u32 != (*self.rel).relid
                || (*var).varlevelsup != 0
                || (*var).varattno < 1
            {
                return None;
            }
            let name = pg_sys::get_attname(self.table_oid, (*var).varattno, true);
            if name.is_null() {
                return None;
            }
            let spec = self
                .object
                .column(&CStr::from_ptr(name).to_string_lossy())?;
            Some((spec.name, spec.kind, (*var).vartype))
        }
    }

    /// Whether `expr` has one value for the whole scan (or per outer row of
    /// a parameterized scan): no Var of this scan, nothing volatile.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    pub unsafe fn is_scan_constant(&self, expr: *mut pg_sys::Node) -> bool {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            !pg_sys::contain_volatile_functions(expr)
                && !pg_sys::contain_subplans(expr)
                && !pg_sys::bms_is_member((*self.rel).relid as i32, pull_varnos(self.root, expr))
        }
    }
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn pull_varnos(
    root: *mut pg_sys::PlannerInfo,
    node: *mut pg_sys::Node,
) -> *mut pg_sys::Bitmapset {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe { pg_sys::pull_varnos(root, node) }
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub unsafe fn strip_relabel(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        while is_a(node.cast(), pg_sys::NodeTag::T_RelabelType) {
            node = (*(node as *mut pg_sys::RelabelType)).arg.cast();
        }
        node
    }
}

/// Whether a value of type `operand` compares with a column of `kind`
/// declared as `declared` the way Clerk compares.
fn operand_fits(kind: Kind, declared: pg_sys::Oid, operand: pg_sys::Oid) -> bool {
    use pg_sys::*;
    let text = |t| t == TEXTOID || t == VARCHAROID;
    let int = |t| t == INT2OID || t == INT4OID || t == INT8OID;
    match kind {
        Kind::Text => text(declared) && text(operand),
        Kind::Bool => declared == BOOLOID && operand == BOOLOID,
        Kind::TimestampMs => {
            (declared == TIMESTAMPTZOID && operand == TIMESTAMPTZOID)
                || (declared == TIMESTAMPOID && operand == TIMESTAMPOID)
                || (int(declared) && int(operand))
        }
        _ => false,
    }
}

fn op_of(name: &str, commuted: bool) -> Option<Op> {
    Some(match (name, commuted) {
        ("=", _) => Op::Eq,
        ("<", false) | (">", true) => Op::Lt,
        ("<=", false) | (">=", true) => Op::Le,
        (">", false) | ("<", true) => Op::Gt,
        (">=", false) | ("<=", true) => Op::Ge,
        _ => return None,
    })
}

/// A datum as an operand; `None` for a type clerk_fdw does not push.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub unsafe fn operand_of(
    datum: pg_sys::Datum,
    is_null: bool,
    type_oid: pg_sys::Oid,
) -> Option<Operand> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        use pg_sys::*;
        if is_null {
            return Some(Operand::Null);
        }
        Some(match type_oid {
            TEXTOID | VARCHAROID => Operand::Text(std::string::String::from_datum(datum, false)?),
            BOOLOID => Operand::Bool(bool::from_datum(datum, false)?),
            INT2OID => Operand::Int(i16::from_datum(datum, false)?.into()),
            INT4OID => Operand::Int(i32::from_datum(datum, false)?.into()),
            INT8OID => Operand::Int(i64::from_datum(datum, false)?),
            // Both are int64 microseconds since 2000-01-01 (UTC for timestamptz).
            TIMESTAMPTZOID | TIMESTAMPOID => Operand::PgMicros(datum.value() as i64),
            _ => {
                let element = pg_sys::get_element_type(type_oid);
                if element == pg_sys::InvalidOid {
                    return None;
                }
                Operand::List(array_elements(datum, element)?)
            }
        })
    }
}

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn array_elements(datum: pg_sys::Datum, element: pg_sys::Oid) -> Option<Vec<Operand>> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        let (mut len, mut by_val, mut align) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(element, &mut len, &mut by_val, &mut align);
        let mut values: *mut pg_sys::Datum = ptr::null_mut();
        let mut nulls: *mut bool = ptr::null_mut();
        let mut n = 0;
        pg_sys::deconstruct_array(
            array,
            element,
            len.into(),
            by_val,
            align,
            &mut values,
            &mut nulls,
            &mut n,
        );
        (0..n as usize)
            .map(|i| operand_of(*values.add(i), *nulls.add(i), element))
            .collect()
    }
}

impl Extracted {
    /// `value` as a constant operand or, when only known at run time, a
    /// reference to a new `fdw_exprs` entry.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn operand(&mut self, value: *mut pg_sys::Node) -> Option<Operand> {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let value = strip_relabel(value);
            if is_a(value.cast(), pg_sys::NodeTag::T_Const) {
                let c = value as *mut pg_sys::Const;
                return operand_of((*c).constvalue, (*c).constisnull, (*c).consttype);
            }
            self.exprs.push(value.cast());
            self.types.push(pg_sys::exprType(value).into());
            Some(Operand::Runtime(self.exprs.len() - 1))
        }
    }

    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn add(&mut self, target: &ScanRel, clause: *mut pg_sys::Node) {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            if !self.try_add(target, clause) {
                self.unpushed += 1;
            }
        }
    }

    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    pub unsafe fn try_add(&mut self, target: &ScanRel, clause: *mut pg_sys::Node) -> bool {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            if let Some(pushed) = self.try_add_bool(target, clause) {
                return pushed;
            }
            let Some((opno, args, is_any)) = operator_clause(clause) else {
                return false;
            };
            if args.len() != 2 || !is_builtin(opno) {
                return false;
            }
            let name_ptr = pg_sys::get_opname(opno);
            if name_ptr.is_null() {
                return false;
            }
            let opname = CStr::from_ptr(name_ptr).to_string_lossy().into_owned();
            if let Some(pushed) = self.try_add_text_match(target, &opname, &args, is_any) {
                return pushed;
            }
            if let Some(pushed) = self.try_add_time_function(target, &opname, &args, is_any) {
                return pushed;
            }
            self.try_add_comparison(target, &opname, &args, is_any)
        }
    }

    /// `flag`, `NOT flag`, `flag IS TRUE/FALSE` on a boolean column; `None`
    /// when the clause is none of these.
    ///
    /// # Safety
    /// As for [`Extracted::try_add`].
    unsafe fn try_add_bool(&mut self, target: &ScanRel, clause: *mut pg_sys::Node) -> Option<bool> {
        use pg_sys::NodeTag::*;
        // SAFETY: the caller keeps this function's `# Safety` contract.
        let (column, value) = unsafe {
            if is_a(clause.cast(), T_Var) {
                (target.column(clause), true)
            } else if is_a(clause.cast(), T_BoolExpr) {
                let b = clause as *mut pg_sys::BoolExpr;
                let args = list_items::<pg_sys::Node>((*b).args);
                if (*b).boolop != pg_sys::BoolExprType::NOT_EXPR || args.len() != 1 {
                    return Some(false);
                }
                (target.column(args[0]), false)
            } else if is_a(clause.cast(), T_BooleanTest) {
                let t = clause as *mut pg_sys::BooleanTest;
                let value = match (*t).booltesttype {
                    pg_sys::BoolTestType::IS_TRUE => true,
                    pg_sys::BoolTestType::IS_FALSE => false,
                    _ => return Some(false),
                };
                (target.column((*t).arg.cast()), value)
            } else {
                return None;
            }
        };
        Some(match column {
            Some((name, Kind::Bool, pg_sys::BOOLOID)) => {
                self.conditions.push(Condition {
                    column: name.into(),
                    op: Op::Eq,
                    value: Operand::Bool(value),
                });
                true
            }
            _ => false,
        })
    }

    /// `column op value` (or `value op column`, or `column = ANY(value)`)
    /// with a value known before the scan, of a type Clerk's filter takes.
    ///
    /// # Safety
    /// As for [`Extracted::try_add`]; `args` are the operator's two.
    unsafe fn try_add_comparison(
        &mut self,
        target: &ScanRel,
        opname: &str,
        args: &[*mut pg_sys::Node],
        is_any: bool,
    ) -> bool {
        // SAFETY: the caller keeps this function's `# Safety` contract.
        unsafe {
            let (column, value, commuted) = match (target.column(args[0]), target.column(args[1])) {
                (Some(c), None) => (c, args[1], false),
                (None, Some(c)) if !is_any => (c, args[0], true),
                _ => return false,
            };
            let Some(op) = op_of(opname, commuted) else {
                return false;
            };
            let (name, kind, declared) = column;
            let mut value_type = pg_sys::exprType(value);
            if is_any {
                if op != Op::Eq {
                    return false;
                }
                value_type = pg_sys::get_element_type(value_type);
            }
            let mut value = value;
            if kind == Kind::TimestampMs
                && declared == pg_sys::TIMESTAMPTZOID
                && !is_any
                && (value_type == pg_sys::TIMESTAMPOID || value_type == pg_sys::DATEOID)
            {
                // `timestamptz op timestamp|date` (what BI tools write) converts
                // the value in the session's time zone, exactly as a cast does:
                // the cast is evaluated when the query runs.
                let cast = pg_sys::coerce_to_target_type(
                    ptr::null_mut(),
                    value,
                    value_type,
                    pg_sys::TIMESTAMPTZOID,
                    -1,
                    pg_sys::CoercionContext::COERCION_EXPLICIT,
                    pg_sys::CoercionForm::COERCE_EXPLICIT_CAST,
                    -1,
                );
                if cast.is_null() {
                    return false;
                }
                value = cast;
                value_type = pg_sys::TIMESTAMPTZOID;
            }
            if !operand_fits(kind, declared, value_type) || !target.is_scan_constant(value) {
                return false;
            }
            let Some(operand) = self.operand(value) else {
                return false;
            };
            self.conditions.push(Condition {
                column: name.into(),
                op,
                value: operand,
            });
            true
        }
    }
}

/// An operator clause's operator, arguments, and whether it is `= ANY`
/// (an OR-ed ScalarArrayOpExpr); `None` for any other clause.
///
/// # Safety
/// `clause` is a valid expression node.
unsafe fn operator_clause(
    clause: *mut pg_sys::Node,
) -> Option<(pg_sys::Oid, Vec<*mut pg_sys::Node>, bool)> {
    use pg_sys::NodeTag::*;
    // SAFETY: per the function's contract.
    unsafe {
        if is_a(clause.cast(), T_OpExpr) {
            let e = clause as *mut pg_sys::OpExpr;
            Some(((*e).opno, list_items::<pg_sys::Node>((*e).args), false))
        } else if is_a(clause.cast(), T_ScalarArrayOpExpr) {
            let e = clause as *mut pg_sys::ScalarArrayOpExpr;
            (*e).useOr
                .then(|| ((*e).opno, list_items::<pg_sys::Node>((*e).args), true))
        } else {
            None
        }
    }
}

impl Extracted {
    /// `lower(col) = v` / `upper(col) = v` (and `= ANY`), and `col LIKE p`
    /// / `col ILIKE p` with a constant pattern, for a text column: `None`
    /// when the clause is not one of these.
    ///
    /// # Safety
    /// Every pointer argument is valid, for the call: nodes of the query
    /// Postgres is planning or running (NIL and NULL where allowed).
    unsafe fn try_add_text_match(
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

/// Whether `oid` is one of PostgreSQL's own objects, whose meaning is
/// known (postgres_fdw's `is_builtin` in shippable.c). Operators and
/// functions are recognised by name only then: a user's `=` or `lower`
/// in another schema, found first on the `search_path`, is never taken
/// for the built-in one and sent to Clerk.
fn is_builtin(oid: pg_sys::Oid) -> bool {
    u32::from(oid) < pg_sys::FirstGenbkiObjectId
}

/// A built-in function call's name and arguments.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn function_call(node: *mut pg_sys::Node) -> Option<(String, Vec<*mut pg_sys::Node>)> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let node = strip_relabel(node);
        if !is_a(node.cast(), pg_sys::NodeTag::T_FuncExpr) {
            return None;
        }
        let f = node as *mut pg_sys::FuncExpr;
        if !is_builtin((*f).funcid) {
            return None;
        }
        let name = pg_sys::get_func_name((*f).funcid);
        if name.is_null() {
            return None;
        }
        let name = CStr::from_ptr(name).to_string_lossy().into_owned();
        Some((name, list_items((*f).args)))
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

/// The value of a non-null `text` constant.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
unsafe fn const_text(node: *mut pg_sys::Node) -> Option<String> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let node = strip_relabel(node);
        if !is_a(node.cast(), pg_sys::NodeTag::T_Const) {
            return None;
        }
        let c = node as *mut pg_sys::Const;
        if (*c).constisnull || (*c).consttype != pg_sys::TEXTOID {
            return None;
        }
        std::string::String::from_datum((*c).constvalue, false)
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
    unsafe fn try_add_time_function(
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

/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub unsafe fn extract(target: &ScanRel, restrict_infos: *mut pg_sys::List) -> Extracted {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let mut extracted = Extracted::default();
        for ri in list_items::<pg_sys::RestrictInfo>(restrict_infos) {
            if (*ri).pseudoconstant {
                extracted.pseudoconstant = true;
                continue;
            }
            extracted.add(target, (*ri).clause.cast());
        }
        extracted
    }
}
