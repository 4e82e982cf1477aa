//! Planning a scan of a Clerk foreign table: its size, its paths (sorted by
//! Clerk, parameterized by a join, `count(*)` by Clerk), and the plan.
//!
//! A plan carries only data Postgres can copy: the run-time values in
//! `fdw_exprs`, and a [`Planned`] as JSON in a String node of
//! `fdw_private`. Nothing is handed from planning to execution any other
//! way, so a cached plan (prepared statements, plpgsql, generic plans) runs
//! as often as Postgres likes.
//!
//! The callbacks take planner pointers of the relation being planned,
//! valid for the call.

use crate::catalog::{LINKED_THROUGH, MAX_PAGE_SIZE, MEMBERSHIP_LINKS};
use crate::pg::clauses::{extract, is_a, list_items, strip_relabel, Extracted, Target};
use crate::pg::compat;
use crate::pg::error::{FdwError, OrRaise};
use crate::pg::options::{self, bind_columns, Declared, Table};
use crate::plan::{self, ScanPlan};
use crate::remote::client::ClerkClient;
use crate::remote::estimates::{self, Estimates};
use crate::remote::{budget, runtime, scan};
use crate::request::{Condition, Op, Operand, OrderBy, Request};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::FromDatum;
use serde::{Deserialize, Serialize};
use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::{Arc, OnceLock};

/// Planner cost of one Clerk request (a round trip of 50-150 ms) and of
/// turning one JSON object into a row, in Postgres cost units. Only their
/// ratio decides between clerk_fdw's own paths; kept small enough that a
/// scan of 100,000 users (21,000) stays under `jit_above_cost` (100,000).
const REQUEST_COST: f64 = 100.0;
const ROW_COST: f64 = 0.01;
/// The cost of a plan that cannot run (Postgres' own `disable_cost`).
const NO_KEY_COST: f64 = 1.0e10;

/// What the planner decided for one foreign scan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    /// The foreign table.
    pub table: u32,
    /// Conditions with [`crate::request::Operand::Runtime`]`(i)` for
    /// `fdw_exprs[i]`.
    pub request: Request,
    /// Type of each `fdw_exprs` entry.
    pub value_types: Vec<u32>,
    /// The table's columns the query reads (0-based); the others are NULL.
    pub columns: Vec<usize>,
    /// An aggregate Clerk answers: one row, every column the count.
    pub count: bool,
    /// The planner's row estimate.
    pub expected_rows: f64,
    /// A local table whose ids narrow the scan when it runs.
    #[serde(default)]
    pub local_ids: Option<LocalIds>,
    /// The scan reads the rows an UPDATE or DELETE (named here) changes in
    /// Clerk: it counts them against `max_write_rows` before returning the
    /// first.
    #[serde(default)]
    pub write_target: Option<String>,
}

/// A column of a local table that equals the scan's `id` in every row the
/// query returns (see [`local_ids`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalIds {
    pub table: u32,
    /// Attribute number of the column.
    pub column: i16,
    /// More distinct ids than this: the whole list costs fewer requests.
    pub max: usize,
}

impl Planned {
    /// `fdw_private` of a plan: one String node holding the JSON.
    unsafe fn to_list(&self) -> *mut pg_sys::List {
        let json = serde_json::to_string(self).unwrap_or_default();
        // Serde's JSON escapes control characters: no NUL inside.
        let text = CString::new(json).unwrap_or_default();
        pg_sys::lappend(
            ptr::null_mut(),
            pg_sys::makeString(pg_sys::pstrdup(text.as_ptr())).cast(),
        )
    }

    /// The [`Planned`] of a plan made by [`get_foreign_plan`].
    ///
    /// # Safety
    /// `plan` is a valid ForeignScan.
    pub unsafe fn of(plan: *mut pg_sys::ForeignScan) -> Result<Planned, FdwError> {
        list_items::<pg_sys::Node>((*plan).fdw_private)
            .first()
            .filter(|node| is_a(node.cast(), pg_sys::NodeTag::T_String))
            .and_then(|node| {
                let text = CStr::from_ptr((*(*node as *mut pg_sys::String)).sval);
                serde_json::from_slice(text.to_bytes()).ok()
            })
            .ok_or(FdwError::Internal(
                "a foreign scan plan clerk_fdw did not make",
            ))
    }
}

/// Assumed when Clerk cannot be asked (pushdown off, API unreachable).
const DEFAULT_ROW_COUNT: f64 = 1000.0;

/// The object's total row count for planner estimates.
fn total_rows(table: &Table, client: &Arc<ClerkClient>) -> f64 {
    clerk_count(table, client, &ScanPlan::full(table.object)).unwrap_or(DEFAULT_ROW_COUNT)
}

/// The rows Clerk has for `plan`, for planner estimates: one quick count
/// request per server, key and distinct request every few minutes, shared
/// by the cluster's backends (see [`crate::remote::estimates`]). `None` when Clerk
/// cannot count them or cannot be asked.
pub fn clerk_count(table: &Table, client: &Arc<ClerkClient>, plan: &ScanPlan) -> Option<f64> {
    static ESTIMATES: OnceLock<Estimates> = OnceLock::new();
    let estimates = ESTIMATES
        .get_or_init(|| estimates::table(options::shared_file("clerk_fdw.estimates").as_deref()));
    let key = estimates::key((table.server_identity(), client.instance(), plan.describe()));
    if let Some(rows) = estimates.get(key, budget::now_ns()) {
        return rows.map(|n| n as f64);
    }
    let task_client = client.clone();
    let task_plan = plan.clone();
    let counted = runtime::wait_for(
        async move { scan::count(&task_client, &task_plan, true).await },
        &mut check_for_interrupts,
    );
    let rows = match counted {
        Ok(Some(Ok(Some(n)))) => u64::try_from(n).ok(),
        _ => None,
    };
    estimates.put(key, budget::now_ns(), rows);
    rows.map(|n| n as f64)
}

/// Checks for query cancel while waiting for Clerk.
pub fn check_for_interrupts() {
    pgrx::check_for_interrupts!();
}

unsafe fn table_oid_of(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
) -> pg_sys::Oid {
    let rte = *(*root).simple_rte_array.add((*rel).relid as usize);
    (*rte).relid
}

/// The table's columns a scan of `rel` reads: those of its target list and
/// of `clauses` (RestrictInfos); all of them for a whole-row reference.
unsafe fn used_columns(rel: *mut pg_sys::RelOptInfo, clauses: *mut pg_sys::List) -> Vec<usize> {
    let relid = (*rel).relid;
    let mut attrs: *mut pg_sys::Bitmapset = ptr::null_mut();
    pg_sys::pull_varattnos((*(*rel).reltarget).exprs.cast(), relid, &mut attrs);
    for ri in list_items::<pg_sys::RestrictInfo>(clauses) {
        pg_sys::pull_varattnos((*ri).clause.cast(), relid, &mut attrs);
    }
    let mut columns = Vec::new();
    let mut member = -1;
    loop {
        member = pg_sys::bms_next_member(attrs, member);
        if member < 0 {
            break;
        }
        let attno = member + pg_sys::FirstLowInvalidHeapAttributeNumber;
        if attno == 0 {
            // A whole-row reference.
            return (0..(*rel).max_attr.max(0) as usize).collect();
        }
        if attno > 0 {
            columns.push(attno as usize - 1);
        }
    }
    columns
}

/// The declared columns at `indexes` (all when `None`), dropped ones left
/// out.
///
/// # Safety
/// `desc` is a valid tuple descriptor.
pub unsafe fn declared_columns(desc: pg_sys::TupleDesc, indexes: &[usize]) -> Vec<Declared> {
    // pgrx's accessor: the attribute array's layout differs between majors.
    let desc = pgrx::PgTupleDesc::from_pg_unchecked(desc);
    indexes
        .iter()
        .filter_map(|&i| {
            let attr = desc.get(i)?;
            (!attr.attisdropped).then(|| Declared {
                index: i,
                name: attr.name().to_string(),
                type_oid: attr.atttypid,
                typmod: attr.atttypmod,
            })
        })
        .collect()
}

/// The catalogue names of the table's columns at `indexes`.
unsafe fn read_column_names(table: &Table, indexes: &[usize]) -> Vec<String> {
    let relation = pg_sys::RelationIdGetRelation(table.oid);
    if relation.is_null() {
        return Vec::new();
    }
    let declared = declared_columns((*relation).rd_att, indexes);
    pg_sys::RelationClose(relation);
    declared
        .iter()
        .filter_map(|d| table.object.column(&d.name).map(|c| c.name.to_string()))
        .collect()
}

/// Checks the columns a scan reads, before any request: an unknown column
/// or a type that cannot hold its field is an ERROR now.
unsafe fn check_columns(table: &Table, columns: &[usize]) -> Result<(), FdwError> {
    let relation = pg_sys::RelationIdGetRelation(table.oid);
    if relation.is_null() {
        return Err(FdwError::Internal("the foreign table is gone"));
    }
    let declared = declared_columns((*relation).rd_att, columns);
    pg_sys::RelationClose(relation);
    bind_columns(table, &declared).map(|_| ())
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_rel_size(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
) {
    let table = Table::load(table_oid).or_raise();
    check_columns(&table, &used_columns(rel, (*rel).baserestrictinfo)).or_raise();
    let client = table.client().or_raise();
    let object = table.object;
    (*rel).rows = if table.pushdown() {
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
        let plan = plan::plan(object, &request);
        // A few constant keys or ranges in a join: Clerk's count beats a
        // guess (20 members per organization) that would pick a nested loop
        // of hundreds of lookups over one scan.
        let counted = if !request.has_runtime_values() && joined(root) && plan.estimate_is_guessed()
        {
            clerk_count(&table, &client, &plan).map(|n| plan.at_most_max_rows(n))
        } else {
            None
        };
        counted.unwrap_or_else(|| plan.estimate_rows(|| total_rows(&table, &client)))
    } else {
        // With pushdown off clerk_fdw sends Clerk nothing but the scan's
        // own pages, not even a count.
        DEFAULT_ROW_COUNT
    };
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
    // Clerk sorts by time or by a count: the declared type must sort the
    // same way (text sorts by collation).
    use pg_sys::{FLOAT8OID, INT2OID, INT4OID, INT8OID, NUMERICOID, TIMESTAMPOID, TIMESTAMPTZOID};
    let numeric = [
        TIMESTAMPTZOID,
        TIMESTAMPOID,
        INT8OID,
        INT4OID,
        INT2OID,
        NUMERICOID,
        FLOAT8OID,
    ];
    if !numeric.contains(&column.2) {
        return None;
    }
    let order = OrderBy {
        column: column.0.into(),
        descending: compat::descending(*key),
    };
    // Some sort keys are pushed only with a LIMIT of at most one page.
    let limit = if extracted.unpushed == 0 {
        safe_limit(target.root, true)
    } else {
        None
    };
    let request = Request {
        conditions: extracted.conditions.clone(),
        order: Some(order.clone()),
        limit,
        reads: Vec::new(),
    };
    plan::plan(target.object, &request).ordered.then_some(order)
}

unsafe fn add_foreign_path(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    rows: f64,
    startup: f64,
    total: f64,
    pathkeys: *mut pg_sys::List,
    required_outer: pg_sys::Relids,
) {
    let path = compat::foreign_scan_path(root, rel, rows, startup, total, pathkeys, required_outer);
    pg_sys::add_path(rel, path.cast());
}

fn scan_cost(rows: f64) -> f64 {
    let pages = (rows / MAX_PAGE_SIZE as f64).ceil().max(1.0);
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

/// What a join with the memberships tells a users (or organizations) scan:
/// the rows it can keep are those with a membership in `value`.
struct Linked {
    /// `organization_id = …` (or `user_id`) of the memberships relation.
    value: LinkedValue,
    /// The memberships relation's row estimate.
    rows: f64,
}

enum LinkedValue {
    Constant(Operand),
    /// Evaluated when the query runs, of this type.
    Runtime(*mut pg_sys::Expr, u32),
}

impl Linked {
    /// Adds the condition to the scan's, a run-time expression as the
    /// next `fdw_exprs` entry.
    fn add_to(&self, extracted: &mut Extracted) {
        let value = match &self.value {
            LinkedValue::Runtime(expr, type_oid) => {
                extracted.exprs.push(*expr);
                extracted.types.push(*type_oid);
                Operand::Runtime(extracted.exprs.len() - 1)
            }
            LinkedValue::Constant(value) => value.clone(),
        };
        extracted.conditions.push(Condition {
            column: "id".into(),
            op: Op::MemberOf,
            value,
        });
    }
}

/// `text = text` (`texteq`), which `varchar` columns use too.
const TEXT_EQUAL_OPERATOR: u32 = 98;

/// The columns of other relations of the query that equal this scan's
/// `id` in every row the query returns, like postgres_fdw's deparse.c
/// deciding what is safe to push: one equivalence class with this
/// relation's `id` (an inner or semi join), or a join clause `id = col`
/// (the nullable side of a LEFT JOIN), of plain Vars of base relations
/// that no outer or anti join lets keep this relation's rows without a
/// match. Each with its relation and range table entry.
unsafe fn id_partners(
    target: &Target,
) -> Vec<(
    *mut pg_sys::Var,
    *mut pg_sys::RelOptInfo,
    *mut pg_sys::RangeTblEntry,
)> {
    let (root, rel) = (target.root, target.rel);
    let mut partners = Vec::new();
    let plain_var = |node: *mut pg_sys::Node| -> Option<*mut pg_sys::Var> {
        let node = strip_relabel(node);
        let var = node as *mut pg_sys::Var;
        (is_a(node.cast(), pg_sys::NodeTag::T_Var)
            && (*var).varlevelsup == 0
            && (*var).varattno > 0
            && !compat::var_is_nulled(var))
        .then_some(var)
    };
    let is_id = |var: *mut pg_sys::Var| target.column(var.cast()).is_some_and(|c| c.0 == "id");
    let mut add = |var: *mut pg_sys::Var| {
        let varno = (*var).varno as u32;
        if varno == (*rel).relid || varno as i32 >= (*root).simple_rel_array_size {
            return;
        }
        let other_rel = *(*root).simple_rel_array.add(varno as usize);
        let rte = *(*root).simple_rte_array.add(varno as usize);
        if !other_rel.is_null()
            && (*other_rel).reloptkind == pg_sys::RelOptKind::RELOPT_BASEREL
            && (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION
            && !keeps_rows_without(root, rel, other_rel)
        {
            partners.push((var, other_rel, rte));
        }
    };
    if (*rel).has_eclass_joins {
        for ec in list_items::<pg_sys::EquivalenceClass>((*root).eq_classes) {
            if (*ec).ec_has_volatile {
                continue;
            }
            let vars: Vec<*mut pg_sys::Var> =
                list_items::<pg_sys::EquivalenceMember>((*ec).ec_members)
                    .into_iter()
                    .filter(|&em| !(*em).em_is_child)
                    .filter_map(|em| plain_var((*em).em_expr.cast()))
                    .collect();
            if vars.iter().any(|&v| is_id(v)) {
                vars.into_iter().for_each(&mut add);
            }
        }
    }
    for ri in list_items::<pg_sys::RestrictInfo>((*rel).joininfo) {
        let clause = (*ri).clause as *mut pg_sys::Node;
        if !is_a(clause.cast(), pg_sys::NodeTag::T_OpExpr) {
            continue;
        }
        let op = clause as *mut pg_sys::OpExpr;
        let args = list_items::<pg_sys::Node>((*op).args);
        let ([left, right], true) = (
            args.as_slice(),
            (*op).opno == pg_sys::Oid::from(TEXT_EQUAL_OPERATOR),
        ) else {
            continue;
        };
        if let (Some(l), Some(r)) = (plain_var(*left), plain_var(*right)) {
            if is_id(l) {
                add(r);
            } else if is_id(r) {
                add(l);
            }
        }
    }
    partners
}

/// The membership a join narrows this scan to: a partner (see
/// [`id_partners`]) that is the `user_id` (or `organization_id`) of a
/// memberships table of the same server which says
/// `organization_id = value` (or `user_id`).
unsafe fn linked_by_membership(target: &Target, table: &Table) -> Option<Linked> {
    let link = MEMBERSHIP_LINKS
        .iter()
        .find(|l| l.object == target.object.name)?;
    let root = target.root;
    for (var, other_rel, rte) in id_partners(target) {
        if (*rte).relkind != pg_sys::RELKIND_FOREIGN_TABLE as std::ffi::c_char
            || (*pg_sys::GetForeignTable((*rte).relid)).serverid != table.server_oid()
        {
            continue;
        }
        let Ok(memberships) = Table::load((*rte).relid) else {
            continue;
        };
        if memberships.object.name != LINKED_THROUGH {
            continue;
        }
        let other = Target {
            root,
            rel: other_rel,
            table_oid: (*rte).relid,
            object: memberships.object,
        };
        if other.column(var.cast()).map(|c| c.0) != Some(link.joined_on) {
            continue;
        }
        let extracted = extract(&other, (*other_rel).baserestrictinfo);
        let found = extracted.conditions.iter().find_map(|c| {
            let usable = c.column == link.by && c.op == Op::Eq && c.value != Operand::Null;
            usable.then_some(&c.value)
        });
        let value = match found {
            Some(Operand::Runtime(i)) => {
                let expr = extracted.exprs[*i];
                let varnos = pg_sys::pull_varnos(root, expr.cast());
                if pg_sys::bms_membership(varnos) != pg_sys::BMS_Membership::BMS_EMPTY_SET {
                    continue;
                }
                LinkedValue::Runtime(expr, extracted.types[*i])
            }
            Some(value) => LinkedValue::Constant(value.clone()),
            None => continue,
        };
        return Some(Linked {
            value,
            rows: (*other_rel).rows,
        });
    }
    None
}

/// At most this many ids of a local table are read to narrow a scan
/// (100 requests of 100 ids).
const MAX_LOCAL_IDS: usize = 10_000;

/// A plain local table whose text column equals this scan's `id` (see
/// [`id_partners`]): a table of user ids joined to `users`. Its ids,
/// read when the query runs, narrow the scan to `id = ANY(ids)`, 100 per
/// request, when they are fewer than the whole list's pages hold.
unsafe fn local_ids(target: &Target, total_rows: f64) -> Option<(LocalIds, f64, usize)> {
    let mut per_request = None;
    for (var, other_rel, rte) in id_partners(target) {
        let relkind = (*rte).relkind as u8;
        let text = (*var).vartype == pg_sys::TEXTOID || (*var).vartype == pg_sys::VARCHAROID;
        if !text || !(relkind == pg_sys::RELKIND_RELATION || relkind == pg_sys::RELKIND_MATVIEW) {
            continue;
        }
        // Asked once a partner is found: most scans have none.
        let per_request = *per_request.get_or_insert_with(|| ids_per_request(target.object));
        let per_request = per_request?;
        let full_pages = (total_rows / MAX_PAGE_SIZE as f64).ceil().max(1.0);
        // Narrowing pays while the ids take fewer requests than the list.
        let max = ((full_pages as usize).saturating_mul(per_request))
            .saturating_sub(1)
            .min(MAX_LOCAL_IDS);
        let ids = (*other_rel).tuples.max(1.0);
        if ids > max as f64 {
            continue;
        }
        let local = LocalIds {
            table: (*rte).relid.into(),
            column: (*var).varattno,
            max,
        };
        return Some((local, ids, per_request));
    }
    None
}

/// How many ids one request of `object` asks for by `id`; `None` when
/// Clerk cannot list it by id.
fn ids_per_request(object: &'static crate::catalog::ObjectSpec) -> Option<usize> {
    let n = plan::MAX_VALUES_PER_REQUEST;
    let probe = Request {
        conditions: vec![Condition {
            column: "id".into(),
            op: Op::Eq,
            value: Operand::List((0..n).map(|i| Operand::Text(format!("id_{i}"))).collect()),
        }],
        ..Request::default()
    };
    let plan = plan::plan(object, &probe);
    if plan.missing_key || plan.series.is_empty() {
        return None;
    }
    // Narrowed by id: every id went into the requests' parameters.
    let sent: usize = plan
        .series
        .iter()
        .map(|s| {
            s.params
                .iter()
                .filter(|(_, v)| v.starts_with("id_"))
                .count()
        })
        .sum();
    (sent == n).then(|| n.div_ceil(plan.series.len()))
}

/// Whether an outer or anti join keeps rows of `rel` that have no match in
/// `other` (`rel LEFT JOIN other`, a FULL join between them, `NOT EXISTS`).
unsafe fn keeps_rows_without(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    other: *mut pg_sys::RelOptInfo,
) -> bool {
    use pg_sys::JoinType::*;
    list_items::<pg_sys::SpecialJoinInfo>((*root).join_info_list)
        .into_iter()
        .any(|sj| {
            let in_left =
                |r: *mut pg_sys::RelOptInfo| pg_sys::bms_overlap((*sj).syn_lefthand, (*r).relids);
            let in_right =
                |r: *mut pg_sys::RelOptInfo| pg_sys::bms_overlap((*sj).syn_righthand, (*r).relids);
            match (*sj).jointype {
                JOIN_LEFT | JOIN_ANTI => in_left(rel) && in_right(other),
                JOIN_FULL => (in_left(rel) && in_right(other)) || (in_right(rel) && in_left(other)),
                _ => false,
            }
        })
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_paths(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
) {
    let rows = (*rel).rows;
    let lateral = (*rel).lateral_relids;
    let table = Table::load(table_oid).or_raise();
    let object = table.object;
    if !table.pushdown() {
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
    }
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
    // A join with the memberships may narrow the scan to members.
    let members = linked_by_membership(&target, &table).map(|l| l.rows.min(rows));
    let unparameterized_cost = if plan::plan(object, &own).missing_key {
        NO_KEY_COST
    } else if let Some(members) = members {
        scan_cost(members)
    } else if let Some((_, ids, per_request)) = local_ids(&target, rows) {
        // A local table's ids, `per_request` to a request.
        (ids / per_request as f64).ceil() * REQUEST_COST + ids.min(rows) * ROW_COST
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
    // One parameterized path per join clause Clerk can look up by; none
    // for the table an UPDATE or DELETE changes, whose rows are counted
    // against max_write_rows in one read before the first write.
    let lookups = if write_target(root, rel).is_some() {
        Vec::new()
    } else {
        join_lookups(&target)
    };
    for ri in lookups {
        let mut with_join = extracted.clone();
        if !with_join.try_add(&target, (*ri).clause.cast()) {
            continue;
        }
        let request = Request {
            conditions: with_join.conditions,
            ..Request::default()
        };
        let plan = plan::plan(object, &request);
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

/// A List of `exprs`.
unsafe fn list_of<T>(exprs: &[*mut T]) -> *mut pg_sys::List {
    exprs
        .iter()
        .fold(ptr::null_mut(), |list, e| pg_sys::lappend(list, e.cast()))
}

#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_plan(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    table_oid: pg_sys::Oid,
    best_path: *mut pg_sys::ForeignPath,
    tlist: *mut pg_sys::List,
    scan_clauses: *mut pg_sys::List,
    outer_plan: *mut pg_sys::Plan,
) -> *mut pg_sys::ForeignScan {
    if (*rel).reloptkind == pg_sys::RelOptKind::RELOPT_UPPER_REL {
        // The count path: [planned, fdw_exprs, fdw_scan_tlist].
        let private = list_items::<pg_sys::List>((*best_path).fdw_private);
        let [planned, exprs, scan_tlist] = private.as_slice() else {
            FdwError::Internal("an aggregate path clerk_fdw did not make").raise()
        };
        return pg_sys::make_foreignscan(
            tlist,
            ptr::null_mut(),
            0,
            *exprs,
            *planned,
            *scan_tlist,
            ptr::null_mut(),
            outer_plan,
        );
    }
    let table = Table::load(table_oid).or_raise();
    let target = Target {
        root,
        rel,
        table_oid,
        object: table.object,
    };
    // With pushdown off Clerk narrows nothing: no condition, order or limit.
    let mut extracted = if table.pushdown() {
        extract(&target, scan_clauses)
    } else {
        Extracted::default()
    };
    let mut expected_rows = (*best_path).path.rows;
    let mut local = None;
    if table.pushdown() && (*best_path).path.param_info.is_null() {
        if let Some(linked) = linked_by_membership(&target, &table) {
            linked.add_to(&mut extracted);
            expected_rows = expected_rows.min(linked.rows);
        } else if let Some((ids, rows, _)) = local_ids(&target, (*rel).rows) {
            local = Some(ids);
            expected_rows = expected_rows.min(rows);
        }
    }
    let order = if table.pushdown() {
        pushable_order(&target, &extracted, (*best_path).path.pathkeys)
    } else {
        None
    };
    let limit = if table.pushdown() && extracted.unpushed == 0 {
        safe_limit(root, order.is_some())
    } else {
        None
    };
    let columns = used_columns(rel, scan_clauses);
    let planned = Planned {
        table: table_oid.into(),
        request: Request {
            conditions: extracted.conditions,
            order,
            limit,
            reads: read_column_names(&table, &columns),
        },
        value_types: extracted.types,
        columns,
        count: false,
        expected_rows,
        local_ids: local,
        write_target: write_target(root, rel),
    };
    pg_sys::make_foreignscan(
        tlist,
        pg_sys::extract_actual_clauses(scan_clauses, false),
        (*rel).relid,
        list_of(&extracted.exprs),
        planned.to_list(),
        ptr::null_mut(),
        ptr::null_mut(),
        outer_plan,
    )
}

/// The command, when `rel` is the table an UPDATE or DELETE changes.
unsafe fn write_target(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
) -> Option<String> {
    let parse = (*root).parse;
    let command = match (*parse).commandType {
        pg_sys::CmdType::CMD_UPDATE => "UPDATE",
        pg_sys::CmdType::CMD_DELETE => "DELETE",
        _ => return None,
    };
    ((*parse).resultRelation as pg_sys::Index == (*rel).relid).then(|| command.to_string())
}

/// `count(*)`, `count(1)`, `count(id)`: aggregates Clerk's counts give
/// exactly, without FILTER, DISTINCT or ORDER BY.
unsafe fn is_clerk_count(target: &Target, aggref: *mut pg_sys::Aggref) -> bool {
    let a = &*aggref;
    let plain = (a.aggfnoid == pg_sys::Oid::from(pg_sys::F_COUNT_)
        || a.aggfnoid == pg_sys::Oid::from(pg_sys::F_COUNT_ANY))
        && a.aggfilter.is_null()
        && a.aggdistinct.is_null()
        && a.aggorder.is_null()
        && a.agglevelsup == 0
        && a.aggsplit == pg_sys::AggSplit::AGGSPLIT_SIMPLE
        // AGGKIND_NORMAL
        && a.aggkind == b'n' as std::ffi::c_char;
    if !plain {
        return false;
    }
    if a.aggstar {
        return true;
    }
    let args = list_items::<pg_sys::TargetEntry>(a.args);
    let [arg] = args.as_slice() else {
        return false;
    };
    let expr = strip_relabel((**arg).expr.cast());
    if is_a(expr.cast(), pg_sys::NodeTag::T_Const) {
        return !(*(expr as *mut pg_sys::Const)).constisnull;
    }
    // A column Clerk never leaves empty.
    target
        .column(expr)
        .and_then(|(name, _, _)| target.object.column(name))
        .is_some_and(|c| c.always_present())
}

/// Adds the aggregates of one output expression to `counts`; false when the
/// expression needs anything but Clerk's counts (another aggregate, a
/// column, a sub-query, something volatile or set-returning).
unsafe fn counts_of(
    target: &Target,
    expr: *mut pg_sys::Node,
    counts: &mut Vec<*mut pg_sys::Aggref>,
) -> bool {
    if pg_sys::contain_subplans(expr)
        || pg_sys::contain_volatile_functions(expr)
        || pg_sys::expression_returns_set(expr)
    {
        return false;
    }
    let flags = pg_sys::PVC_INCLUDE_AGGREGATES
        | pg_sys::PVC_RECURSE_WINDOWFUNCS
        | pg_sys::PVC_RECURSE_PLACEHOLDERS;
    for node in list_items::<pg_sys::Node>(pg_sys::pull_var_clause(expr, flags as i32)) {
        if !is_a(node.cast(), pg_sys::NodeTag::T_Aggref) {
            return false;
        }
        let aggref = node as *mut pg_sys::Aggref;
        if !is_clerk_count(target, aggref) {
            return false;
        }
        if !counts
            .iter()
            .any(|c| pg_sys::equal(c.cast(), aggref.cast()))
        {
            counts.push(aggref);
        }
    }
    true
}

/// Offers Clerk's count for an aggregate query, the way postgres_fdw
/// decides a grouping is safe to push: one table, no GROUP BY, grouping
/// sets or HAVING, every output made of counts Clerk gives exactly, and
/// every WHERE clause applied by Clerk exactly (a clause without a column,
/// evaluated by Postgres above the scan, keeps the aggregate local).
#[pg_guard]
pub unsafe extern "C-unwind" fn get_foreign_upper_paths(
    root: *mut pg_sys::PlannerInfo,
    stage: pg_sys::UpperRelationKind::Type,
    input_rel: *mut pg_sys::RelOptInfo,
    output_rel: *mut pg_sys::RelOptInfo,
    _extra: *mut c_void,
) {
    let parse = (*root).parse;
    if stage != pg_sys::UpperRelationKind::UPPERREL_GROUP_AGG
        || (*input_rel).reloptkind != pg_sys::RelOptKind::RELOPT_BASEREL
        || !(*output_rel).fdw_private.is_null()
        || !(*parse).hasAggs
        || !(*parse).groupClause.is_null()
        || !(*parse).groupingSets.is_null()
        || !(*parse).havingQual.is_null()
        || (*parse).hasTargetSRFs
    {
        return;
    }
    let table_oid = table_oid_of(root, input_rel);
    let table = Table::load(table_oid).or_raise();
    if !table.pushdown() {
        return;
    }
    let target = Target {
        root,
        rel: input_rel,
        table_oid,
        object: table.object,
    };
    let extracted = extract(&target, (*input_rel).baserestrictinfo);
    if extracted.unpushed > 0 || extracted.pseudoconstant {
        return;
    }
    let request = Request {
        conditions: extracted.conditions.clone(),
        ..Request::default()
    };
    let plan = plan::plan(table.object, &request);
    let Some(count_requests) = plan.count_requests().filter(|_| !plan.missing_key) else {
        return;
    };
    let mut counts = Vec::new();
    for expr in list_items::<pg_sys::Node>((*(*output_rel).reltarget).exprs) {
        if !counts_of(&target, expr, &mut counts) {
            return;
        }
    }
    let scan_tlist = counts
        .iter()
        .enumerate()
        .fold(ptr::null_mut(), |list, (i, count)| {
            let entry =
                pg_sys::makeTargetEntry(count.cast(), (i + 1) as i16, ptr::null_mut(), false);
            pg_sys::lappend(list, entry.cast())
        });
    let planned = Planned {
        table: table_oid.into(),
        request,
        value_types: extracted.types,
        columns: Vec::new(),
        count: true,
        expected_rows: 1.0,
        local_ids: None,
        write_target: None,
    };
    let private = list_of(&[planned.to_list(), list_of(&extracted.exprs), scan_tlist]);
    let cost = REQUEST_COST * count_requests.len() as f64;
    let path = compat::foreign_upper_path(root, output_rel, 1.0, cost, cost, private);
    pg_sys::add_path(output_rel, path.cast());
    // Marks the relation as planned: Postgres may ask again.
    (*output_rel).fdw_private = private.cast();
}
