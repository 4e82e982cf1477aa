//! Everything that touches Postgres: the FDW routine, its planner and
//! executor callbacks, options, and the SQL functions. All FFI and `unsafe`
//! of clerk_fdw is in this folder; the modules outside it are plain Rust
//! and never import it.
//!
//! supabase-wrappers provides the handler and validator functions and
//! IMPORT FOREIGN SCHEMA. Its scan and aggregate callbacks keep scan state
//! as a pointer inside the plan, which a cached plan runs on after it was
//! freed, so clerk_fdw installs its own planner and executor callbacks in
//! their place (see [`planner`] and [`executor`]).

mod clauses;
mod compat;
mod counts;
mod error;
mod executor;
mod functions;
mod mirror;
mod modify;
mod option_names;
mod options;
mod planned;
mod planner;

pub use error::FdwError;

use crate::catalog;
use crate::convert::allowed_targets;
use crate::remote::runtime;
use pgrx::prelude::*;
use std::ffi::c_void;
use supabase_wrappers::prelude::*;

/// Registers what every backend needs once the library is loaded.
pub fn init() {
    // SAFETY: runs once per backend, on the backend thread, before any query.
    unsafe {
        pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut());
    }
}

/// A transaction that aborts has dropped its scans' state with its memory,
/// which stops their requests; this also stops any other background work
/// still running for it.
///
/// # Safety
/// Called by Postgres, with pointers to the nodes it is planning or
/// running, valid for the call.
#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(event: pg_sys::XactEvent::Type, _arg: *mut c_void) {
    use pg_sys::XactEvent::*;
    if event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT {
        runtime::abort_all();
    }
}

#[wrappers_fdw(
    version = "0.3.0",
    author = "clerk_fdw developers",
    website = "https://github.com/clerk-fdw/clerk_fdw",
    error_type = "FdwError"
)]
pub(crate) struct ClerkFdw;

impl ClerkFdw {
    fn not_the_routine() -> FdwError {
        FdwError::Internal("clerk_fdw's own callbacks read foreign tables")
    }
}

impl ForeignDataWrapper<FdwError> for ClerkFdw {
    /// Only IMPORT FOREIGN SCHEMA makes an instance; it needs no key.
    fn new(_server: ForeignServer) -> Result<Self, FdwError> {
        Ok(ClerkFdw)
    }

    // The framework's scan callbacks are replaced in `fdw_routine_hook`:
    // these are never called.
    fn begin_scan(
        &mut self,
        _quals: &[Qual],
        _columns: &[Column],
        _sorts: &[Sort],
        _limit: &Option<Limit>,
        _options: &std::collections::HashMap<String, String>,
    ) -> Result<(), FdwError> {
        Err(Self::not_the_routine())
    }

    fn iter_scan(&mut self, _row: &mut Row) -> Result<Option<()>, FdwError> {
        Err(Self::not_the_routine())
    }

    fn end_scan(&mut self) -> Result<(), FdwError> {
        Err(Self::not_the_routine())
    }

    fn fdw_routine_hook(routine: &mut supabase_wrappers::FdwRoutine<pgrx::AllocatedByRust>) {
        routine.GetForeignRelSize = Some(planner::get_foreign_rel_size);
        routine.GetForeignPaths = Some(planner::get_foreign_paths);
        routine.GetForeignPlan = Some(planner::get_foreign_plan);
        routine.GetForeignUpperPaths = Some(planner::get_foreign_upper_paths);
        routine.ExplainForeignScan = Some(executor::explain_foreign_scan);
        routine.BeginForeignScan = Some(executor::begin_foreign_scan);
        routine.IterateForeignScan = Some(executor::iterate_foreign_scan);
        routine.ReScanForeignScan = Some(executor::re_scan_foreign_scan);
        routine.EndForeignScan = Some(executor::end_foreign_scan);
        // clerk_fdw's own writes: the framework's modify callbacks keep
        // their state as a pointer in the plan, like its scan.
        routine.AddForeignUpdateTargets = Some(modify::add_foreign_update_targets);
        routine.PlanForeignModify = Some(modify::plan_foreign_modify);
        routine.BeginForeignModify = Some(modify::begin_foreign_modify);
        routine.ExecForeignInsert = Some(modify::exec_foreign_insert);
        routine.GetForeignModifyBatchSize = Some(modify::get_foreign_modify_batch_size);
        routine.ExecForeignBatchInsert = Some(modify::exec_foreign_batch_insert);
        routine.ExecForeignUpdate = Some(modify::exec_foreign_update);
        routine.ExecForeignDelete = Some(modify::exec_foreign_delete);
        routine.EndForeignModify = None;
        routine.BeginForeignInsert = None;
        routine.EndForeignInsert = None;
        routine.PlanDirectModify = None;
        routine.IsForeignRelUpdatable = Some(modify::is_foreign_rel_updatable);
        routine.ExplainForeignModify = Some(modify::explain_foreign_modify);
    }

    /// `IMPORT FOREIGN SCHEMA clerk FROM SERVER s INTO local`: one table per
    /// object with every column, typed (timestamps as timestamptz).
    fn import_foreign_schema(
        &mut self,
        stmt: ImportForeignSchemaStmt,
    ) -> Result<Vec<String>, FdwError> {
        if stmt.remote_schema != crate::pg::option_names::REMOTE_SCHEMA {
            return Err(FdwError::UnknownRemoteSchema(stmt.remote_schema));
        }
        let names = catalog::object_names();
        if matches!(stmt.list_type, ImportSchemaType::FdwImportSchemaLimitTo) {
            if let Some(unknown) = stmt
                .table_list
                .iter()
                .find(|t| !names.contains(&t.as_str()))
            {
                return Err(FdwError::UnknownObject(unknown.clone()));
            }
        }
        let schema = pgrx::spi::quote_identifier(&stmt.local_schema);
        let server = pgrx::spi::quote_identifier(&stmt.server_name);
        Ok(catalog::OBJECTS
            .iter()
            .map(|object| {
                let columns: Vec<String> = object
                    .columns
                    .iter()
                    .filter(|c| c.kind != catalog::Kind::Removed)
                    .map(|c| format!("{} {}", c.name, allowed_targets(c.kind)[0].sql_name()))
                    .collect();
                format!(
                    "CREATE FOREIGN TABLE {schema}.{} ({}) SERVER {server} OPTIONS (object '{}')",
                    object.name,
                    columns.join(", "),
                    object.name
                )
            })
            .collect())
    }

    fn validator(
        options: Vec<Option<String>>,
        catalog: Option<pg_sys::Oid>,
    ) -> Result<(), FdwError> {
        options::validate(options, catalog)
    }
}
