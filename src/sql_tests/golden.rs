//! Expected-output tests, as pg_regress and pg_graphql write them: each
//! `tests/sql/NAME.sql` runs statement by statement in a database of its
//! own against the test server, and its echo and results must equal
//! `tests/expected/NAME.out`. A change to a plan's shape is then a diff to
//! review. On a difference the actual output is written to
//! `/tmp/clerk_fdw-golden/NAME.out`; copy it over the expected file once
//! it is right.

/// Each golden test's name, its statements and its expected outputs:
/// `NAME.out`, or an alternative `NAME_n.out` where a major prints a plan
/// differently (`"joins" or "joins_1"`), as pg_regress allows.
macro_rules! golden_files {
    ($($name:literal $(or $alt:literal)*),* $(,)?) => {
        &[$((
            $name,
            include_str!(concat!("../../tests/sql/", $name, ".sql")),
            &[
                ($name, include_str!(concat!("../../tests/expected/", $name, ".out"))),
                $(($alt, include_str!(concat!("../../tests/expected/", $alt, ".out"))),)*
            ],
        )),*]
    };
}

/// (name, statements, [(expected file's name, its contents)]).
type Golden = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The `_1` files: PostgreSQL 17 and later show an InitPlan's value as
/// `(InitPlan 1).col1`, 15 and 16 as `$0`.
const GOLDEN: &[Golden] = golden_files!(
    "joins" or "joins_1",
    "objects",
    "order_limit_count",
    "users" or "users_1",
    "users_time",
);

/// The statements of a golden file, each with the comment lines before it:
/// a statement ends with a line ending in `;`.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') && !line.trim_start().starts_with("--") {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod files {
    use super::*;

    #[test]
    fn every_golden_file_is_listed_and_has_statements() {
        let names = |dir: &str, ext: &str| {
            let dir = format!("{}/tests/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut found: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter_map(|n| n.strip_suffix(ext).map(String::from))
                .collect();
            found.sort();
            found
        };
        let mut listed: Vec<&str> = GOLDEN.iter().map(|(name, ..)| *name).collect();
        assert_eq!(names("sql", ".sql"), listed, "tests/sql and golden.rs");
        listed = GOLDEN
            .iter()
            .flat_map(|(_, _, expected)| expected.iter().map(|(name, _)| *name))
            .collect();
        listed.sort();
        assert_eq!(
            names("expected", ".out"),
            listed,
            "tests/expected and golden.rs"
        );
        for (name, sql, _) in GOLDEN {
            let parts = statements(sql);
            assert!(parts.len() >= 3, "{name}: {} statements", parts.len());
            assert_eq!(parts.concat(), *sql, "{name} splits without loss");
        }
    }
}

#[pgrx::pg_schema]
mod tests {
    use super::{statements, GOLDEN};
    use crate::sql_tests::support::*;
    use clerk_mock::DataConfig;
    use pgrx::prelude::*;

    /// What one statement prints: its rows, one per line with values joined
    /// by `|`, or its error.
    fn run(client: &mut postgres::Client, statement: &str) -> String {
        match rows(client, statement) {
            Ok(rows) => rows.iter().map(|r| format!("{r}\n")).collect(),
            Err(e) => format!("ERROR:  {}\n", error_message(e)),
        }
    }

    #[pg_test]
    fn explain_verbose_matches_the_expected_files() {
        let server = mock(DataConfig::default());
        session()
            .batch_execute("create database clerk_golden")
            .unwrap_or_else(|e| panic!("create database: {}", error_message(e)));
        let mut c = session_in("clerk_golden");
        let url = server.url();
        c.batch_execute(&format!(
            "create extension clerk_fdw;
             create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
             create server clerk_server foreign data wrapper clerk_wrapper options (api_url '{url}', request_budget '2000/1s');
             create user mapping for public server clerk_server options (api_key '{KEY}');
             create schema clerk;
             import foreign schema clerk from server clerk_server into clerk;
             create server clerk_off_server foreign data wrapper clerk_wrapper options (api_url '{url}', pushdown 'false');
             create user mapping for public server clerk_off_server options (api_key '{KEY}');
             create schema clerk_off;
             import foreign schema clerk limit to (users) from server clerk_off_server into clerk_off;
             create table my_ids (clerk_id text primary key);
             insert into my_ids select 'user_' || g from generate_series(1, 30) g;
             analyze my_ids;"
        ))
        .unwrap_or_else(|e| panic!("set-up: {}", error_message(e)));
        let mut differ = Vec::new();
        for (name, sql, expected) in GOLDEN {
            let actual: String = statements(sql)
                .iter()
                .map(|s| format!("{s}{}", run(&mut c, s)))
                .collect();
            if expected.iter().all(|(_, e)| actual != *e) {
                let dir = "/tmp/clerk_fdw-golden";
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(format!("{dir}/{name}.out"), &actual).unwrap();
                let first = actual
                    .lines()
                    .zip(
                        expected[0]
                            .1
                            .lines()
                            .chain(std::iter::repeat("<end of file>")),
                    )
                    .find(|(a, e)| a != e)
                    .map(|(a, e)| format!("expected: {e}\n  actual: {a}"))
                    .unwrap_or_else(|| "the expected file goes on".into());
                differ.push(format!(
                    "{name} (actual in {dir}/{name}.out), first difference from {name}.out:\n{first}"
                ));
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }
}
