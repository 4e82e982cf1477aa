//! What joins tell a scan: join clauses a nested loop can hand it one key
//! at a time, a membership narrowing users or organizations, a local
//! table of ids.

use crate::catalog::{LINKED_THROUGH, MAX_PAGE_SIZE, MEMBERSHIP_LINKS};
use crate::pg::clauses::{extract, is_a, list_items, strip_relabel, Extracted, ScanRel};
use crate::pg::compat;
use crate::pg::options::Table;
use crate::pg::planned::LocalIds;
use crate::plan::{self};
use crate::request::{Condition, Op, Operand, Request};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::c_void;

/// Equivalence-class members that are the Var `arg` points at.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
unsafe extern "C-unwind" fn member_is_var(
    _root: *mut pg_sys::PlannerInfo,
    _rel: *mut pg_sys::RelOptInfo,
    _ec: *mut pg_sys::EquivalenceClass,
    em: *mut pg_sys::EquivalenceMember,
    arg: *mut c_void,
) -> bool {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let wanted = arg as *mut pg_sys::Var;
        let expr = strip_relabel((*em).em_expr.cast());
        is_a(expr.cast(), pg_sys::NodeTag::T_Var)
            && (*(expr as *mut pg_sys::Var)).varno == (*wanted).varno
            && (*(expr as *mut pg_sys::Var)).varattno == (*wanted).varattno
    }
}

/// Join clauses `this.column = outer expression` that a nested loop can
/// hand to this scan one outer row at a time.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn join_lookups(target: &ScanRel) -> Vec<*mut pg_sys::RestrictInfo> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
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
}

/// What a join with the memberships tells a users (or organizations) scan:
/// the rows it can keep are those with a membership in `value`.
pub(super) struct Linked {
    /// `organization_id = …` (or `user_id`) of the memberships relation.
    value: LinkedValue,
    /// The memberships relation's row estimate.
    pub rows: f64,
}

pub(super) enum LinkedValue {
    Constant(Operand),
    /// Evaluated when the query runs, of this type.
    Runtime(*mut pg_sys::Expr, u32),
}

impl Linked {
    /// Adds the condition to the scan's, a run-time expression as the
    /// next `fdw_exprs` entry.
    pub fn add_to(&self, extracted: &mut Extracted) {
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
pub(super) const TEXT_EQUAL_OPERATOR: u32 = 98;

/// The columns of other relations of the query that equal this scan's
/// `id` in every row the query returns, like postgres_fdw's deparse.c
/// deciding what is safe to push: one equivalence class with this
/// relation's `id` (an inner or semi join), or a join clause `id = col`
/// (the nullable side of a LEFT JOIN), of plain Vars of base relations
/// that no outer or anti join lets keep this relation's rows without a
/// match. Each with its relation and range table entry.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn id_partners(
    target: &ScanRel,
) -> Vec<(
    *mut pg_sys::Var,
    *mut pg_sys::RelOptInfo,
    *mut pg_sys::RangeTblEntry,
)> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
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
}

/// The membership a join narrows this scan to: a partner (see
/// [`id_partners`]) that is the `user_id` (or `organization_id`) of a
/// memberships table of the same server which says
/// `organization_id = value` (or `user_id`).
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn linked_by_membership(target: &ScanRel, table: &Table) -> Option<Linked> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
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
            let other = ScanRel {
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
}

/// At most this many ids of a local table are read to narrow a scan
/// (100 requests of 100 ids).
pub(super) const MAX_LOCAL_IDS: usize = 10_000;

/// A plain local table whose text column equals this scan's `id` (see
/// [`id_partners`]): a table of user ids joined to `users`. Its ids,
/// read when the query runs, narrow the scan to `id = ANY(ids)`, 100 per
/// request, when they are fewer than the whole list's pages hold.
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn local_ids(
    target: &ScanRel,
    total_rows: f64,
) -> Option<(LocalIds, f64, usize)> {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        let mut per_request = None;
        for (var, other_rel, rte) in id_partners(target) {
            let relkind = (*rte).relkind as u8;
            let text = (*var).vartype == pg_sys::TEXTOID || (*var).vartype == pg_sys::VARCHAROID;
            if !text || !(relkind == pg_sys::RELKIND_RELATION || relkind == pg_sys::RELKIND_MATVIEW)
            {
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
}

/// How many ids one request of `object` asks for by `id`; `None` when
/// Clerk cannot list it by id.
pub(super) fn ids_per_request(object: &'static crate::catalog::ObjectSpec) -> Option<usize> {
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
///
/// # Safety
/// Every pointer argument is valid, for the call: nodes of the query
/// Postgres is planning or running (NIL and NULL where allowed).
pub(super) unsafe fn keeps_rows_without(
    root: *mut pg_sys::PlannerInfo,
    rel: *mut pg_sys::RelOptInfo,
    other: *mut pg_sys::RelOptInfo,
) -> bool {
    // SAFETY: the caller keeps this function's `# Safety` contract.
    unsafe {
        use pg_sys::JoinType::*;
        list_items::<pg_sys::SpecialJoinInfo>((*root).join_info_list)
            .into_iter()
            .any(|sj| {
                let in_left = |r: *mut pg_sys::RelOptInfo| {
                    pg_sys::bms_overlap((*sj).syn_lefthand, (*r).relids)
                };
                let in_right = |r: *mut pg_sys::RelOptInfo| {
                    pg_sys::bms_overlap((*sj).syn_righthand, (*r).relids)
                };
                match (*sj).jointype {
                    JOIN_LEFT | JOIN_ANTI => in_left(rel) && in_right(other),
                    JOIN_FULL => {
                        (in_left(rel) && in_right(other)) || (in_right(rel) && in_left(other))
                    }
                    _ => false,
                }
            })
    }
}
