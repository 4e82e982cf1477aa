//! The differential corpus: every statement runs against the foreign
//! tables and against a plain local copy of the test server's data (the
//! oracle, loaded from the server's JSON by SQL of its own, never through
//! clerk_fdw), and the answers must be the same multiset of rows.
//!
//! Each statement also runs as a prepared statement executed 8 times with
//! `plan_cache_mode` auto and `force_generic_plan`, inside a SQL and a
//! plpgsql function called twice each, through a scroll cursor read twice
//! and a WITH HOLD cursor, and every few statements again after an ERROR
//! rolled back to a savepoint. A backend crash fails the test (and stops
//! the test cluster, see `pg_test::postgresql_conf_options`).
//!
//! The corpus: the hand-written statements below, then statements
//! generated from a seed. `RUST_CLERK_FDW_DIFF_SEED`,
//! `RUST_CLERK_FDW_DIFF_STATEMENTS` and `RUST_CLERK_FDW_DIFF_WORKERS` (pairs
//! of sessions; the prefix lets them through to the test cluster) choose
//! another seed, size or parallelism; `scripts/campaign.sh` runs
//! long campaigns. A summary per category goes to
//! `/tmp/clerk_fdw-differential-pg<major>-seed<seed>.txt`.

mod corpus;
mod generate;
mod runner;

#[pgrx::pg_schema]
mod tests {
    use super::corpus::*;
    use super::generate::*;
    use super::runner::*;
    use crate::sql_tests::support::*;
    use clerk_mock::DataConfig;
    use pgrx::prelude::*;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::fmt::Write;

    #[pg_test]
    fn differential_corpus_matches_a_local_copy() {
        let seed = setting("RUST_CLERK_FDW_DIFF_SEED", 1);
        let total = setting("RUST_CLERK_FDW_DIFF_STATEMENTS", 1000) as usize;
        let summary_file = format!(
            "/tmp/clerk_fdw-differential-pg{}-seed{seed}.txt",
            pg_sys::PG_VERSION_NUM / 10000
        );
        // Two users per millisecond: ties for ORDER BY and the slices.
        let server = mock(DataConfig {
            users: 700,
            organizations: 30,
            big_org_members: 520,
            same_time: 2,
            ..DataConfig::default()
        });
        let url = server.url();
        let facts = Facts::of(&server);
        let mut foreign = session();
        foreign
            .batch_execute(&format!(
                "create foreign data wrapper diff_w handler clerk_fdw_handler validator clerk_fdw_validator;
                 create server diff_s foreign data wrapper diff_w
                   options (api_url '{url}', request_budget 'off', max_retries '2');
                 create user mapping for public server diff_s options (api_key '{KEY}');
                 create schema {FOREIGN};
                 import foreign schema clerk limit to (users, organizations, organization_memberships)
                   from server diff_s into {FOREIGN};
                 set search_path = {FOREIGN}, public;
                 {SEED_DDL}
                 create table public.diff_picks (user_id text);
                 insert into public.diff_picks values {picks};",
                picks = facts.user_ids.iter().step_by(17).chain(["user_nobody".to_string()].iter())
                    .map(|id| format!("('{id}')")).collect::<Vec<_>>().join(", ")
            ))
            .expect("foreign tables");
        let mut oracle = session();
        oracle
            .batch_execute(&format!(
                "create schema {ORACLE}; set search_path = {ORACLE}, public; {ORACLE_DDL}"
            ))
            .expect("oracle tables");
        let ds = server.dataset();
        let json = |v: &Vec<Value>| serde_json::to_string(v).unwrap();
        let (users, orgs, members) = (
            json(&ds.users),
            json(&ds.organizations),
            json(&ds.memberships),
        );
        for statement in ORACLE_LOAD
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            // Each statement reads at most one of the three lists.
            let list = [("$1", &users), ("$2", &orgs), ("$3", &members)]
                .into_iter()
                .find(|(p, _)| statement.contains(p));
            match list {
                Some((p, json)) => oracle.execute(&statement.replace(p, "$1"), &[json]),
                None => oracle.execute(statement, &[]),
            }
            .expect(statement);
        }
        assert_eq!(
            rows(&mut oracle, "select count(*) from users").unwrap(),
            [ds.users.len().to_string()]
        );

        let mut corpus = hand_written(&facts);
        let hand_written_count = corpus.len();
        let rng = Rng(std::cell::Cell::new(seed));
        while corpus.len() < total {
            corpus.push(generate(&rng, &facts));
        }
        // Workers, each with its own pair of sessions, take every n-th
        // statement.
        let workers = setting("RUST_CLERK_FDW_DIFF_WORKERS", 2).max(1) as usize;
        let mut pairs = vec![(foreign, oracle)];
        for _ in 1..workers {
            let (mut f, mut o) = (session(), session());
            f.batch_execute(&format!("set search_path = {FOREIGN}, public"))
                .unwrap();
            o.batch_execute(&format!("set search_path = {ORACLE}, public"))
                .unwrap();
            pairs.push((f, o));
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        let runners: Vec<Runner> = std::thread::scope(|scope| {
            let handles: Vec<_> = pairs
                .into_iter()
                .enumerate()
                .map(|(w, (foreign, oracle))| {
                    let (corpus, done, summary_file) = (&corpus, &done, &summary_file);
                    scope.spawn(move || {
                        let mut runner = Runner {
                            foreign,
                            oracle,
                            statements: BTreeMap::new(),
                            executions: 0,
                            discrepancies: Vec::new(),
                        };
                        for (i, st) in corpus.iter().enumerate().skip(w).step_by(workers) {
                            // The client-level mode for the hand-written
                            // statements and every tenth generated one.
                            runner.run(st, i, i < hand_written_count || i % 10 == 0);
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if n % 100 == 0 {
                                let progress = format!("{n} of {} statements\n", corpus.len());
                                let _ = std::fs::write(summary_file, progress);
                            }
                        }
                        runner
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker"))
                .collect()
        });
        let mut statements: BTreeMap<&str, usize> = BTreeMap::new();
        let mut discrepancies = Vec::new();
        let mut executions = 0;
        for mut runner in runners {
            // Every backend is alive: nothing crashed.
            assert_eq!(rows(&mut runner.foreign, "select 1").unwrap(), ["1"]);
            for (category, n) in runner.statements {
                *statements.entry(category).or_default() += n;
            }
            executions += runner.executions;
            discrepancies.extend(runner.discrepancies);
        }
        let mut summary = format!(
            "seed {seed}: {} statements, {executions} executions, {} discrepancies\n",
            corpus.len(),
            discrepancies.len()
        );
        for (category, n) in &statements {
            let _ = writeln!(summary, "  {category}: {n}");
        }
        let mut all = summary.clone();
        for (k, d) in discrepancies.iter().enumerate() {
            let _ = writeln!(all, "{d}");
            if k < 20 {
                let _ = writeln!(summary, "{d}");
            }
        }
        let _ = std::fs::write(&summary_file, &all);
        assert!(discrepancies.is_empty(), "{summary}");
    }
}
