//! Planner and executor hooks around supabase-wrappers' scan callbacks.
//!
//! The framework hands an FDW only `column op constant` quals. clerk_fdw
//! reads the restriction clauses itself, the way postgres_fdw does: a value
//! that is not a constant but cannot change during the scan (`now() -
//! interval '30 days'`, a parameter, the outer row of a nested loop) goes
//! into the plan's `fdw_exprs`, is evaluated when the scan begins or
//! restarts, and is handed to the scan as a [`Request`]. The hooks also add
//! sorted and parameterized paths, pick a safe LIMIT, and print the Clerk
//! requests in EXPLAIN. Every clause stays in the plan's qual list, so
//! Postgres re-checks each row.

use crate::objects::{self, Kind, ObjectSpec};
use crate::pushdown::{self, Condition, Op, Operand, OrderBy, Request};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::FromDatum;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

/// Planner cost of one Clerk request (a round trip of 50-150 ms) and of
/// turning one JSON object into a row, in Postgres cost units. Only their
/// ratio decides between clerk_fdw's own paths; kept small enough that a
/// scan of 100,000 users (21,000) stays under `jit_above_cost` (100,000).
const REQUEST_COST: f64 = 100.0;
const ROW_COST: f64 = 0.01;
/// The cost of a plan that cannot run (Postgres' own `disable_cost`).
const NO_KEY_COST: f64 = 1.0e10;

/// What the planner decided for one foreign scan; travels in the plan's
/// `fdw_private` (after the framework's own entry) as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Planned {
    object: String,
    /// Conditions with [`Operand::Runtime`]`(i)` for `fdw_exprs[i]`.
    request: Request,
    /// Type of each `fdw_exprs` entry.
    value_types: Vec<u32>,
}

thread_local! {
    /// The request of a scan about to read its first row, set just before
    /// the framework calls into [`crate::fdw`], taken there.
    static PENDING: RefCell<Option<Request>> = const { RefCell::new(None) };
    /// The plan of the relation being sized, for [`take_rel_plan`].
    static REL_PLAN: RefCell<Option<RelPlan>> = const { RefCell::new(None) };
    /// Expression states of running scans, by scan node.
    static RUNNING: RefCell<HashMap<usize, Running>> = RefCell::new(HashMap::new());
}

struct Running {
    planned: Planned,
    states: Vec<*mut pg_sys::ExprState>,
    /// Values must be (re-)evaluated before the next row: at the first
    /// row, not in BeginForeignScan, because init-plans and a nested loop's
    /// outer values are only set by then (as in postgres_fdw).
    stale: bool,
}

/// What the planner found Clerk can do for a relation being sized.
pub struct RelPlan {
    /// With `$n` for run-time values.
    pub plan: pushdown::ScanPlan,
    /// Every clause is one Clerk applies exactly, and Clerk can count.
    pub count_pushable: bool,
    /// The relation is joined and every value is known at planning time:
    /// a count from Clerk may be worth its request, as a bad guess of the
    /// rows can pick a join that makes hundreds of requests.
    pub worth_counting: bool,
}

/// The plan of the relation [`crate::fdw`] is asked to size; `None` with
/// pushdown off.
pub fn take_rel_plan() -> Option<RelPlan> {
    REL_PLAN.with(|p| p.borrow_mut().take())
}

/// The request of a scan about to read its first row (after starting or
/// restarting), if the plan has one.
pub fn take_pending() -> Option<Request> {
    PENDING.with(|p| p.borrow_mut().take())
}

/// The request for the scan the framework is starting; the full scan when
/// the plan carries none (pushdown off).
pub fn take_pending_request() -> Request {
    take_pending().unwrap_or_default()
}

/// Forgets running scans at transaction end (errors skip EndForeignScan).
pub fn forget_running_scans() {
    RUNNING.with(|r| r.borrow_mut().clear());
}

/// The framework's callbacks, called from ours.
struct Framework {
    get_foreign_rel_size: pg_sys::GetForeignRelSize_function,
    get_foreign_plan: pg_sys::GetForeignPlan_function,
    begin_foreign_scan: pg_sys::BeginForeignScan_function,
    iterate_foreign_scan: pg_sys::IterateForeignScan_function,
    re_scan_foreign_scan: pg_sys::ReScanForeignScan_function,
    end_foreign_scan: pg_sys::EndForeignScan_function,
}

// SAFETY: plain function pointers.
unsafe impl Sync for Framework {}
unsafe impl Send for Framework {}

static FRAMEWORK: OnceLock<Framework> = OnceLock::new();

/// Installs the hooks into the FDW routine the framework built.
pub fn install(routine: &mut pg_sys::FdwRoutine) {
    FRAMEWORK.get_or_init(|| Framework {
        get_foreign_rel_size: routine.GetForeignRelSize,
        get_foreign_plan: routine.GetForeignPlan,
        begin_foreign_scan: routine.BeginForeignScan,
        iterate_foreign_scan: routine.IterateForeignScan,
        re_scan_foreign_scan: routine.ReScanForeignScan,
        end_foreign_scan: routine.EndForeignScan,
    });
    routine.GetForeignRelSize = Some(get_foreign_rel_size);
    routine.GetForeignPaths = Some(get_foreign_paths);
    routine.GetForeignPlan = Some(get_foreign_plan);
    routine.ExplainForeignScan = Some(explain_foreign_scan);
    routine.BeginForeignScan = Some(begin_foreign_scan);
    routine.IterateForeignScan = Some(iterate_foreign_scan);
    routine.ReScanForeignScan = Some(re_scan_foreign_scan);
    routine.EndForeignScan = Some(end_foreign_scan);
}

fn framework() -> &'static Framework {
    FRAMEWORK
        .get()
        .expect("planner hooks are installed with the routine")
}

unsafe fn list_items<T>(list: *mut pg_sys::List) -> Vec<*mut T> {
    if list.is_null() {
        return Vec::new();
    }
    (0..(*list).length as usize)
        .map(|i| (*(*list).elements.add(i)).ptr_value as *mut T)
        .collect()
}

unsafe fn is_a(node: *mut c_void, tag: pg_sys::NodeTag) -> bool {
    !node.is_null() && (*(node as *mut pg_sys::Node)).type_ == tag
}

/// Options of a foreign table and of its server, table first.
unsafe fn options_of(table_oid: pg_sys::Oid) -> HashMap<String, String> {
    let table = pg_sys::GetForeignTable(table_oid);
    let server = pg_sys::GetForeignServer((*table).serverid);
    let mut options = HashMap::new();
    for list in [(*server).options, (*table).options] {
        for def in list_items::<pg_sys::DefElem>(list) {
            let name = CStr::from_ptr((*def).defname)
                .to_string_lossy()
                .into_owned();
            let value = CStr::from_ptr(pg_sys::defGetString(def))
                .to_string_lossy()
                .into_owned();
            options.insert(name, value);
        }
    }
    options
}

/// The Clerk object of a foreign table and whether pushdown is on (the
/// `pushdown` option, table over server, default on).
unsafe fn scan_object(table_oid: pg_sys::Oid) -> Option<(&'static ObjectSpec, bool)> {
    let options = options_of(table_oid);
    let enabled = options
        .get("pushdown")
        .is_none_or(|v| crate::fdw::parse_bool(v).unwrap_or(true));
    Some((objects::object(options.get("object")?)?, enabled))
}

/// The Clerk object of a foreign table, `None` when pushdown is off.
unsafe fn pushdown_object(table_oid: pg_sys::Oid) -> Option<&'static ObjectSpec> {
    scan_object(table_oid).and_then(|(object, enabled)| enabled.then_some(object))
}

unsafe fn table_oid_of(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
) -> pg_sys::Oid {
    let rte = *(*root).simple_rte_array.add((*rel).relid as usize);
    (*rte).relid
}

/// The clauses of a scan, sorted into Clerk conditions and the rest.
#[derive(Default)]
struct Extracted {
    conditions: Vec<Condition>,
    /// Expressions evaluated at run time, `Operand::Runtime(i)` = `exprs[i]`.
    exprs: Vec<*mut pg_sys::Expr>,
    types: Vec<u32>,
    /// Clauses Postgres alone applies.
    unpushed: usize,
}

struct Target {
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
    object: &'static ObjectSpec,
}

impl Target {
    /// The column a Var of this scan names, with its declared type.
    unsafe fn column(&self, node: *mut pg_sys::Node) -> Option<(&'static str, Kind, pg_sys::Oid)> {
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

    /// Whether `expr` has one value for the whole scan (or per outer row of
    /// a parameterized scan): no Var of this scan, nothing volatile.
    unsafe fn is_scan_constant(&self, expr: *mut pg_sys::Node) -> bool {
        !pg_sys::contain_volatile_functions(expr)
            && !pg_sys::contain_subplans(expr)
            && !pg_sys::bms_is_member((*self.rel).relid as i32, pull_varnos(self.root, expr))
    }
}

#[cfg(feature = "pg13")]
unsafe fn pull_varnos(
    _root: *mut pg_sys::PlannerInfo,
    node: *mut pg_sys::Node,
) -> *mut pg_sys::Bitmapset {
    pg_sys::pull_varnos(node)
}

#[cfg(not(feature = "pg13"))]
unsafe fn pull_varnos(
    root: *mut pg_sys::PlannerInfo,
    node: *mut pg_sys::Node,
) -> *mut pg_sys::Bitmapset {
    pg_sys::pull_varnos(root, node)
}

unsafe fn strip_relabel(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    while is_a(node.cast(), pg_sys::NodeTag::T_RelabelType) {
        node = (*(node as *mut pg_sys::RelabelType)).arg.cast();
    }
    node
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
unsafe fn operand_of(
    datum: pg_sys::Datum,
    is_null: bool,
    type_oid: pg_sys::Oid,
) -> Option<Operand> {
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

unsafe fn array_elements(datum: pg_sys::Datum, element: pg_sys::Oid) -> Option<Vec<Operand>> {
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

impl Extracted {
    /// `value` as a constant operand or, when only known at run time, a
    /// reference to a new `fdw_exprs` entry.
    unsafe fn operand(&mut self, value: *mut pg_sys::Node) -> Option<Operand> {
        let value = strip_relabel(value);
        if is_a(value.cast(), pg_sys::NodeTag::T_Const) {
            let c = value as *mut pg_sys::Const;
            return operand_of((*c).constvalue, (*c).constisnull, (*c).consttype);
        }
        self.exprs.push(value.cast());
        self.types.push(pg_sys::exprType(value).into());
        Some(Operand::Runtime(self.exprs.len() - 1))
    }

    unsafe fn add(&mut self, target: &Target, clause: *mut pg_sys::Node) {
        if !self.try_add(target, clause) {
            self.unpushed += 1;
        }
    }

    unsafe fn try_add(&mut self, target: &Target, clause: *mut pg_sys::Node) -> bool {
        use pg_sys::NodeTag::*;
        let push_bool =
            |this: &mut Self, column: Option<(&'static str, Kind, pg_sys::Oid)>, value: bool| {
                match column {
                    Some((name, Kind::Bool, pg_sys::BOOLOID)) => {
                        this.conditions.push(Condition {
                            column: name.into(),
                            op: Op::Eq,
                            value: Operand::Bool(value),
                        });
                        true
                    }
                    _ => false,
                }
            };
        if is_a(clause.cast(), T_Var) {
            return push_bool(self, target.column(clause), true);
        }
        if is_a(clause.cast(), T_BoolExpr) {
            let b = clause as *mut pg_sys::BoolExpr;
            let args = list_items::<pg_sys::Node>((*b).args);
            return (*b).boolop == pg_sys::BoolExprType::NOT_EXPR
                && args.len() == 1
                && push_bool(self, target.column(args[0]), false);
        }
        if is_a(clause.cast(), T_BooleanTest) {
            let t = clause as *mut pg_sys::BooleanTest;
            let value = match (*t).booltesttype {
                pg_sys::BoolTestType::IS_TRUE => true,
                pg_sys::BoolTestType::IS_FALSE => false,
                _ => return false,
            };
            return push_bool(self, target.column((*t).arg.cast()), value);
        }
        let (opno, args, is_any) = if is_a(clause.cast(), T_OpExpr) {
            let e = clause as *mut pg_sys::OpExpr;
            ((*e).opno, list_items::<pg_sys::Node>((*e).args), false)
        } else if is_a(clause.cast(), T_ScalarArrayOpExpr) {
            let e = clause as *mut pg_sys::ScalarArrayOpExpr;
            if !(*e).useOr {
                return false;
            }
            ((*e).opno, list_items::<pg_sys::Node>((*e).args), true)
        } else {
            return false;
        };
        if args.len() != 2 {
            return false;
        }
        let (column, value, commuted) = match (target.column(args[0]), target.column(args[1])) {
            (Some(c), None) => (c, args[1], false),
            (None, Some(c)) if !is_any => (c, args[0], true),
            _ => return false,
        };
        let name_ptr = pg_sys::get_opname(opno);
        if name_ptr.is_null() {
            return false;
        }
        let Some(op) = op_of(&CStr::from_ptr(name_ptr).to_string_lossy(), commuted) else {
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

unsafe fn extract(target: &Target, restrict_infos: *mut pg_sys::List) -> Extracted {
    let mut extracted = Extracted::default();
    for ri in list_items::<pg_sys::RestrictInfo>(restrict_infos) {
        if (*ri).pseudoconstant {
            continue;
        }
        extracted.add(target, (*ri).clause.cast());
    }
    extracted
}

/// The query's ORDER BY as a Clerk order, when it is one column of this
/// scan that Clerk can sort by for these conditions.
unsafe fn pushable_order(
    target: &Target,
    extracted: &Extracted,
    pathkeys: *mut pg_sys::List,
) -> Option<OrderBy> {
    let keys = list_items::<pg_sys::PathKey>(pathkeys);
    let [key] = keys.as_slice() else {
        return None;
    };
    let ec = (**key).pk_eclass;
    if (*ec).ec_has_volatile {
        return None;
    }
    let column = list_items::<pg_sys::EquivalenceMember>((*ec).ec_members)
        .into_iter()
        .filter(|em| pg_sys::bms_equal((**em).em_relids, (*target.rel).relids))
        .find_map(|em| target.column((*em).em_expr.cast()))?;
    #[cfg(feature = "pg18")]
    let descending = (**key).pk_cmptype == pg_sys::CompareType::COMPARE_GT;
    #[cfg(not(feature = "pg18"))]
    let descending = (**key).pk_strategy as u32 == pg_sys::BTGreaterStrategyNumber;
    let order = OrderBy {
        column: column.0.into(),
        descending,
    };
    let request = Request {
        conditions: extracted.conditions.clone(),
        order: Some(order.clone()),
        limit: None,
    };
    pushdown::plan(target.object, &request)
        .ordered
        .then_some(order)
}

#[allow(clippy::too_many_arguments)]
unsafe fn add_foreign_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup: f64,
    total: f64,
    pathkeys: *mut pg_sys::List,
    required_outer: pg_sys::Relids,
) {
    let path = pg_sys::create_foreignscan_path(
        root,
        rel,
        ptr::null_mut(),
        rows,
        #[cfg(feature = "pg18")]
        0,
        startup,
        total,
        pathkeys,
        required_outer,
        ptr::null_mut(),
        #[cfg(any(feature = "pg17", feature = "pg18"))]
        ptr::null_mut(),
        ptr::null_mut(),
    );
    pg_sys::add_path(rel, path.cast());
}

fn scan_cost(rows: f64) -> f64 {
    let pages = (rows / crate::scan::MAX_PAGE_SIZE as f64).ceil().max(1.0);
    pages * REQUEST_COST + rows * ROW_COST
}

/// Equivalence-class members that are the Var `arg` points at.
#[pg_guard]
unsafe extern "C-unwind" fn member_is_var(
    _root: *mut pg_sys::PlannerInfo,
    _rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut c_void,
) -> bool {
    let wanted = arg as *mut pg_sys::Var;
    let expr = strip_relabel((*em).em_expr.cast());
    is_a(expr.cast(), pg_sys::NodeTag::T_Var)
        && (*(expr as *mut pg_sys::Var)).varno == (*wanted).varno
        && (*(expr as *mut pg_sys::Var)).varattno == (*wanted).varattno
}

/// Join clauses `this.column = outer expression` that a nested loop can
/// hand to this scan one outer row at a time.
unsafe fn join_lookups(target: &Target) -> Vec<*mut pg_sys::RestrictInfo> {
    let rel = target.rel;
    let mut clauses = Vec::new();
    for ri in list_items::<pg_sys::RestrictInfo>((*rel).joininfo) {
        if pg_sys::join_clause_is_movable_to(ri, rel) {
            clauses.push(ri);
        }
    }
    if (*rel).has_eclass_joins {
        let tlist = list_items::<pg_sys::Node>((*(*rel).reltarget).exprs);
        for expr in tlist {
            if !is_a(expr.cast(), pg_sys::NodeTag::T_Var) || target.column(expr).is_none() {
                continue;
            }
            let found = pg_sys::generate_implied_equalities_for_column(
                target.root,
                rel,
                Some(member_is_var),
                expr.cast(),
                (*rel).lateral_referencers,
            );
            for ri in list_items::<pg_sys::RestrictInfo>(found) {
                if pg_sys::join_clause_is_movable_to(ri, rel) {
                    clauses.push(ri);
                }
            }
        }
    }
    clauses
}

#[pg_guard]
unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
) {
    if let Some(object) = pushdown_object(table_oid) {
        let target = Target {
            root,
            rel,
            table_oid,
            object,
        };
        let extracted = extract(&target, (*rel).baserestrictinfo);
        let request = Request {
            conditions: extracted.conditions,
            ..Request::default()
        };
        let plan = pushdown::plan(object, &request);
        let count_pushable = extracted.unpushed == 0 && plan.count_requests().is_some();
        REL_PLAN.with(|p| {
            *p.borrow_mut() = Some(RelPlan {
                plan,
                count_pushable,
                worth_counting: !request.has_runtime_values() && joined(root),
            })
        });
    }
    let size = framework()
        .get_foreign_rel_size
        .expect("framework sizes relations");
    size(root, rel, table_oid);
    REL_PLAN.with(|p| p.borrow_mut().take());
}

#[pg_guard]
unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
) {
    let rows = (*rel).rows;
    let lateral = (*rel).lateral_relids;
    let Some(object) = pushdown_object(table_oid) else {
        add_foreign_path(
            root,
            rel,
            rows,
            REQUEST_COST,
            scan_cost(rows),
            ptr::null_mut(),
            lateral,
        );
        return;
    };
    let target = Target {
        root,
        rel,
        table_oid,
        object,
    };
    let extracted = extract(&target, (*rel).baserestrictinfo);
    let own = Request {
        conditions: extracted.conditions.clone(),
        ..Request::default()
    };
    // Without a key of its own, an object Clerk lists only by key can run
    // only as the inner side of a join that supplies one: make every other
    // plan a last resort (it fails when run, saying what is missing).
    let unparameterized_cost = if pushdown::plan(object, &own).missing_key {
        NO_KEY_COST
    } else {
        scan_cost(rows)
    };
    // Unsorted, and sorted by Clerk when it can give the query's order.
    let sorted =
        pushable_order(&target, &extracted, (*root).query_pathkeys).map(|_| (*root).query_pathkeys);
    for pathkeys in [Some(ptr::null_mut()), sorted].into_iter().flatten() {
        add_foreign_path(
            root,
            rel,
            rows,
            REQUEST_COST,
            unparameterized_cost,
            pathkeys,
            lateral,
        );
    }
    // One parameterized path per join clause Clerk can look up by.
    for ri in join_lookups(&target) {
        let mut with_join = Extracted {
            conditions: extracted.conditions.clone(),
            exprs: extracted.exprs.clone(),
            types: extracted.types.clone(),
            unpushed: 0,
        };
        if !with_join.try_add(&target, (*ri).clause.cast()) {
            continue;
        }
        let request = Request {
            conditions: with_join.conditions,
            ..Request::default()
        };
        let plan = pushdown::plan(object, &request);
        let per_key = plan.estimate_rows(|| f64::INFINITY);
        if !per_key.is_finite() {
            continue; // Clerk cannot narrow by this column.
        }
        let required_outer = pg_sys::bms_union(
            pg_sys::bms_difference((*ri).clause_relids, (*rel).relids),
            lateral,
        );
        let rows = per_key.max(1.0);
        add_foreign_path(
            root,
            rel,
            rows,
            REQUEST_COST,
            REQUEST_COST + rows * ROW_COST,
            ptr::null_mut(),
            required_outer,
        );
    }
}

/// The query has more than one base relation.
unsafe fn joined(root: *mut pg_sys::PlannerInfo) -> bool {
    pg_sys::bms_membership((*root).all_baserels) == pg_sys::BMS_Membership::BMS_MULTIPLE
}

/// The LIMIT (plus OFFSET) Clerk may stop at: only when this scan is the
/// whole query below the LIMIT, every clause is Clerk's, and the rows come
/// in the query's order.
unsafe fn safe_limit(root: *mut pg_sys::PlannerInfo, ordered: bool) -> Option<u64> {
    let parse = (*root).parse;
    let single_rel = !joined(root);
    let plain = (*parse).groupClause.is_null()
        && !(*parse).hasAggs
        && !(*parse).hasWindowFuncs
        && !(*parse).hasTargetSRFs
        && (*parse).distinctClause.is_null()
        && (*parse).havingQual.is_null()
        && (*parse).setOperations.is_null()
        && (*parse).groupingSets.is_null()
        && (*parse).limitOption == pg_sys::LimitOption::LIMIT_OPTION_COUNT
        && ((*parse).sortClause.is_null() || ordered);
    if !single_rel || !plain {
        return None;
    }
    let constant = |node: *mut pg_sys::Node| -> Option<Option<i64>> {
        if node.is_null() {
            return Some(None);
        }
        if !is_a(node.cast(), pg_sys::NodeTag::T_Const) {
            return None;
        }
        let c = node as *mut pg_sys::Const;
        if (*c).constisnull {
            return Some(None);
        }
        Some(i64::from_datum((*c).constvalue, false))
    };
    let count = constant((*parse).limitCount)??;
    let offset = constant((*parse).limitOffset)?.unwrap_or(0);
    u64::try_from(count.checked_add(offset.max(0))?).ok()
}

/// The base relation an upper (aggregate) relation was built on.
unsafe fn base_rel_of(
    root: *mut pg_sys::PlannerInfo,
    upper: *mut pg_sys::RelOptInfo,
) -> Option<*mut pg_sys::RelOptInfo> {
    (1..(*root).simple_rel_array_size as usize)
        .map(|i| *(*root).simple_rel_array.add(i))
        .find(|rel| !rel.is_null() && (**rel).fdw_private == (*upper).fdw_private)
}

#[pg_guard]
unsafe extern "C-unwind" fn get_foreign_plan(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    let plan_fn = framework().get_foreign_plan.expect("framework plans scans");
    let scan = plan_fn(
        root,
        rel,
        table_oid,
        best_path,
        tlist,
        scan_clauses,
        outer_plan,
    );
    let is_upper = (*rel).reloptkind == pg_sys::RelOptKind::RELOPT_UPPER_REL;
    let (base, clauses) = if is_upper {
        let Some(base) = base_rel_of(root, rel) else {
            return scan;
        };
        (base, (*base).baserestrictinfo)
    } else {
        (rel, scan_clauses)
    };
    let table_oid = table_oid_of(root, base);
    let Some((object, enabled)) = scan_object(table_oid) else {
        return scan;
    };
    let target = Target {
        root,
        rel: base,
        table_oid,
        object,
    };
    let extracted = if enabled {
        extract(&target, clauses)
    } else {
        Extracted::default()
    };
    let order = if is_upper {
        None
    } else {
        pushable_order(&target, &extracted, (*best_path).path.pathkeys)
    };
    let limit = if is_upper || extracted.unpushed > 0 {
        None
    } else {
        safe_limit(root, order.is_some())
    };
    let planned = Planned {
        object: object.name.into(),
        request: Request {
            conditions: extracted.conditions,
            order,
            limit,
        },
        value_types: extracted.types,
    };
    let json = CString::new(serde_json::to_string(&planned).expect("plain data serialises"))
        .expect("JSON has no NUL");
    let mut exprs: *mut pg_sys::List = ptr::null_mut();
    for e in extracted.exprs {
        exprs = pg_sys::lappend(exprs, e.cast());
    }
    (*scan).fdw_exprs = exprs;
    (*scan).fdw_private = pg_sys::lappend(
        (*scan).fdw_private,
        pg_sys::makeString(pg_sys::pstrdup(json.as_ptr())).cast(),
    );
    scan
}

unsafe fn planned_of(plan: *mut pg_sys::ForeignScan) -> Option<Planned> {
    let items = list_items::<pg_sys::Node>((*plan).fdw_private);
    let node = *items.get(1)?;
    if !is_a(node.cast(), pg_sys::NodeTag::T_String) {
        return None;
    }
    let text = CStr::from_ptr((*(node as *mut pg_sys::String)).sval);
    serde_json::from_slice(text.to_bytes()).ok()
}

/// The run-time values of a scan, evaluated now.
unsafe fn evaluate(
    node: *mut pg_sys::ForeignScanState,
    states: &[*mut pg_sys::ExprState],
    types: &[u32],
) -> Vec<Operand> {
    let econtext = (*node).ss.ps.ps_ExprContext;
    let old = pg_sys::MemoryContextSwitchTo((*econtext).ecxt_per_tuple_memory);
    let values = states
        .iter()
        .zip(types)
        .map(|(state, type_oid)| {
            let mut is_null = false;
            let datum = match (**state).evalfunc {
                Some(eval) => eval(*state, econtext, &mut is_null),
                None => {
                    is_null = true;
                    pg_sys::Datum::from(0)
                }
            };
            operand_of(datum, is_null, pg_sys::Oid::from(*type_oid)).unwrap_or(Operand::Null)
        })
        .collect();
    pg_sys::MemoryContextSwitchTo(old);
    pg_sys::MemoryContextReset((*econtext).ecxt_per_tuple_memory);
    values
}

fn set_pending(request: Request) {
    PENDING.with(|p| *p.borrow_mut() = Some(request));
}

#[pg_guard]
unsafe extern "C-unwind" fn begin_foreign_scan(node: *mut pg_sys::ForeignScanState, eflags: i32) {
    let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let explain_only = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0;
    if let Some(planned) = planned_of(plan).filter(|_| !explain_only) {
        let states = list_items::<pg_sys::ExprState>(pg_sys::ExecInitExprList(
            (*plan).fdw_exprs,
            node.cast(),
        ));
        let running = Running {
            planned,
            states,
            stale: true,
        };
        RUNNING.with(|r| r.borrow_mut().insert(node as usize, running));
    }
    let begin = framework()
        .begin_foreign_scan
        .expect("framework begins scans");
    begin(node, eflags);
}

#[pg_guard]
unsafe extern "C-unwind" fn iterate_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
) -> *mut pg_sys::TupleTableSlot {
    let key = node as usize;
    let stale = RUNNING.with(|r| r.borrow().get(&key).is_some_and(|running| running.stale));
    if stale {
        // Evaluated outside the borrow: an expression may run a sub-query.
        let (planned, states) = RUNNING.with(|r| {
            let r = r.borrow();
            let running = &r[&key];
            (running.planned.clone(), running.states.clone())
        });
        let values = evaluate(node, &states, &planned.value_types);
        set_pending(planned.request.bind(&values));
        RUNNING.with(|r| {
            if let Some(running) = r.borrow_mut().get_mut(&key) {
                running.stale = false;
            }
        });
    }
    let iterate = framework()
        .iterate_foreign_scan
        .expect("framework iterates scans");
    let slot = iterate(node);
    PENDING.with(|p| p.borrow_mut().take());
    slot
}

#[pg_guard]
unsafe extern "C-unwind" fn re_scan_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    RUNNING.with(|r| {
        if let Some(running) = r.borrow_mut().get_mut(&(node as usize)) {
            running.stale = true;
        }
    });
    let re_scan = framework()
        .re_scan_foreign_scan
        .expect("framework restarts scans");
    re_scan(node);
}

#[pg_guard]
unsafe extern "C-unwind" fn end_foreign_scan(node: *mut pg_sys::ForeignScanState) {
    RUNNING.with(|r| r.borrow_mut().remove(&(node as usize)));
    let end = framework().end_foreign_scan.expect("framework ends scans");
    end(node);
}

/// EXPLAIN shows the Clerk requests, in the spirit of postgres_fdw's
/// "Remote SQL", with `$n` for values known only at run time.
#[pg_guard]
unsafe extern "C-unwind" fn explain_foreign_scan(
    node: *mut pg_sys::ForeignScanState,
    es: *mut pg_sys::ExplainState,
) {
    let plan = (*node).ss.ps.plan as *mut pg_sys::ForeignScan;
    let property = |label: &str, value: &str| {
        let label = CString::new(label).expect("no NUL");
        let value = CString::new(value.replace('\0', "")).expect("NUL removed");
        pg_sys::ExplainPropertyText(label.as_ptr(), value.as_ptr(), es);
    };
    let Some(planned) = planned_of(plan) else {
        return;
    };
    let Some(object) = objects::object(&planned.object) else {
        return;
    };
    let scan_plan = pushdown::plan(object, &planned.request);
    let is_count = (*plan).scan.scanrelid == 0;
    let requests: Vec<String> = if is_count {
        scan_plan
            .count_requests()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                format!(
                    "GET /{}",
                    pushdown::request_target(&r.path, &r.params).replace("%24", "$")
                )
            })
            .collect()
    } else {
        scan_plan.describe()
    };
    const SHOWN: usize = 3;
    for r in requests.iter().take(SHOWN) {
        property("Clerk request", r);
    }
    if requests.len() > SHOWN {
        property(
            "Clerk requests",
            &format!("{} more like these", requests.len() - SHOWN),
        );
    }
    let exprs = list_items::<pg_sys::Node>((*plan).fdw_exprs);
    for (i, e) in exprs.iter().enumerate() {
        let text = pg_sys::deparse_expression(*e, (*es).deparse_cxt, false, false);
        if !text.is_null() {
            property(
                "Clerk value",
                &format!("${} = {}", i + 1, CStr::from_ptr(text).to_string_lossy()),
            );
        }
    }
    if !is_count && !scan_plan.exact {
        property(
            "Clerk filter",
            "wider than the query; Postgres re-checks every row",
        );
    }
}
