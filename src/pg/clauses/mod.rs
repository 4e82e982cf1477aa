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

mod text;
mod time;

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
