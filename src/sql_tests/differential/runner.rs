//! Running a statement on both sides, in every way a client may run it,
//! and collecting discrepancies.

use crate::sql_tests::support::*;
use std::collections::BTreeMap;

use super::corpus::*;

pub(super) const FOREIGN: &str = "diff_f";
pub(super) const ORACLE: &str = "diff_l";

/// The typed tables of IMPORT FOREIGN SCHEMA (the columns the corpus
/// reads) and the seed's bigint-milliseconds DDL, as local tables.
pub(super) const ORACLE_DDL: &str = "
    create table users (id text, external_id text, username text, first_name text,
      last_name text, email text, banned boolean, locked boolean, has_image boolean,
      created_at timestamptz, updated_at timestamptz, last_sign_in_at timestamptz,
      last_active_at timestamptz);
    create table organizations (id text, name text, slug text, created_by text,
      max_allowed_memberships bigint, created_at timestamptz, updated_at timestamptz);
    create table organization_memberships (id text, user_id text, organization_id text,
      role text, organization_slug text, identifier text, created_at timestamptz,
      updated_at timestamptz);
    create table seed_users (user_id text, first_name text, last_name text, email text,
      gender text, created_at bigint, updated_at bigint, last_sign_in_at bigint,
      phone_numbers bigint, username text);
    create table seed_organizations (organization_id text, name text, slug text,
      created_at bigint, updated_at bigint, created_by text);
    create table seed_organization_memberships (user_id text, organization_id text, role text);";

/// The seed's DDL (bigint milliseconds) on server `s`.
pub(super) const SEED_DDL: &str = "
    create foreign table seed_users (user_id text, first_name text, last_name text, email text,
      gender text, created_at bigint, updated_at bigint, last_sign_in_at bigint,
      phone_numbers bigint, username text) server diff_s options (object 'users');
    create foreign table seed_organizations (organization_id text, name text, slug text,
      created_at bigint, updated_at bigint, created_by text)
      server diff_s options (object 'organizations');
    create foreign table seed_organization_memberships (user_id text, organization_id text, role text)
      server diff_s options (object 'organization_memberships');";

/// Fills the oracle from the server's JSON (`$1` users, `$2`
/// organizations, `$3` memberships), with SQL of its own.
pub(super) const ORACLE_LOAD: &str = "
    create function pg_temp.ts(v jsonb) returns timestamptz language sql immutable as
      $$ select timestamptz 'epoch' + (v #>> '{}')::bigint * interval '1 millisecond' $$;
    create function pg_temp.primary_email(u jsonb) returns text language sql immutable as
      $$ select e->>'email_address' from jsonb_array_elements(u->'email_addresses') e
         where e->>'id' = u->>'primary_email_address_id' $$;
    insert into users select u->>'id', u->>'external_id', u->>'username', u->>'first_name',
      u->>'last_name', pg_temp.primary_email(u), (u->>'banned')::boolean, (u->>'locked')::boolean,
      (u->>'has_image')::boolean, pg_temp.ts(u->'created_at'), pg_temp.ts(u->'updated_at'),
      pg_temp.ts(u->'last_sign_in_at'), pg_temp.ts(u->'last_active_at')
      from jsonb_array_elements($1::text::jsonb) u;
    insert into organizations select o->>'id', o->>'name', o->>'slug', o->>'created_by',
      (o->>'max_allowed_memberships')::bigint, pg_temp.ts(o->'created_at'), pg_temp.ts(o->'updated_at')
      from jsonb_array_elements($2::text::jsonb) o;
    insert into organization_memberships select m->>'id', m#>>'{public_user_data,user_id}',
      m#>>'{organization,id}', m->>'role', m#>>'{organization,slug}',
      m#>>'{public_user_data,identifier}', pg_temp.ts(m->'created_at'), pg_temp.ts(m->'updated_at')
      from jsonb_array_elements($3::text::jsonb) m;
    insert into seed_users select u->>'id', u->>'first_name', u->>'last_name', pg_temp.primary_email(u),
      null, (u->>'created_at')::bigint, (u->>'updated_at')::bigint, (u->>'last_sign_in_at')::bigint,
      jsonb_array_length(u->'phone_numbers'), u->>'username'
      from jsonb_array_elements($1::text::jsonb) u;
    insert into seed_organizations select o->>'id', o->>'name', o->>'slug', (o->>'created_at')::bigint,
      (o->>'updated_at')::bigint, o->>'created_by' from jsonb_array_elements($2::text::jsonb) o;
    insert into seed_organization_memberships select m#>>'{public_user_data,user_id}',
      m#>>'{organization,id}', m->>'role' from jsonb_array_elements($3::text::jsonb) m;";

/// Runs the corpus on both sides and collects discrepancies.
pub(super) struct Runner {
    pub(super) foreign: postgres::Client,
    pub(super) oracle: postgres::Client,
    pub(super) statements: BTreeMap<&'static str, usize>,
    pub(super) executions: usize,
    pub(super) discrepancies: Vec<String>,
}

pub(super) fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

impl Runner {
    pub(super) fn expect(
        &mut self,
        st: &Statement,
        mode: &str,
        expected: &[String],
        got: Result<Vec<String>, postgres::Error>,
    ) {
        self.executions += 1;
        let got = match got {
            Ok(rows) => sorted(rows),
            Err(e) => {
                let message = error_message(e);
                self.discrepancies
                    .push(format!("[{mode}] {}\n  ERROR {message}", st.literal()));
                // A failed transaction block must not fail what follows.
                let _ = self.foreign.batch_execute("rollback");
                return;
            }
        };
        if got != expected {
            let missing: Vec<_> = expected
                .iter()
                .filter(|r| !got.contains(r))
                .take(3)
                .collect();
            let extra: Vec<_> = got
                .iter()
                .filter(|r| !expected.contains(r))
                .take(3)
                .collect();
            self.discrepancies.push(format!(
                "[{mode}] {}\n  {} rows, expected {}; missing {missing:?}, extra {extra:?}",
                st.literal(),
                got.len(),
                expected.len()
            ));
        }
    }

    /// What pgjdbc and psycopg do: prepare once (extended protocol),
    /// execute 20 times; the parameters travel as text.
    pub(super) fn client_prepared(&mut self, st: &Statement, expected_text: &[String]) {
        let mut sql = st.sql.clone();
        for (i, (ty, _)) in st.params.iter().enumerate().rev() {
            sql = sql.replace(&format!("${}", i + 1), &format!("${}::text::{ty}", i + 1));
        }
        let values: Vec<String> = st
            .params
            .iter()
            .map(
                |(_, v)| match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                    Some(inner) => inner.replace("''", "'"),
                    None => v.clone(),
                },
            )
            .collect();
        let args: Vec<&(dyn postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let statement = match self
            .foreign
            .prepare(&format!("select q::text from ({sql}) q"))
        {
            Ok(statement) => statement,
            Err(e) => return self.expect(st, "client prepare", expected_text, Err(e)),
        };
        for _ in 0..20 {
            let got = self.foreign.query(&statement, &args).map(|rows| {
                rows.iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<Vec<_>>()
            });
            self.expect(st, "client prepared", expected_text, got);
        }
    }

    pub(super) fn run(&mut self, st: &Statement, index: usize, client_prepares: bool) {
        let literal = st.literal();
        let as_text = format!("select q::text from ({literal}) q");
        let (expected, expected_text) = match (
            rows(&mut self.oracle, &literal),
            rows(&mut self.oracle, &as_text),
        ) {
            (Ok(a), Ok(b)) => (sorted(a), sorted(b)),
            (Err(e), _) | (_, Err(e)) => {
                self.discrepancies
                    .push(format!("[oracle] {literal}\n  ERROR {}", error_message(e)));
                return;
            }
        };
        *self.statements.entry(st.category).or_default() += 1;
        let got = rows(&mut self.foreign, &literal);
        self.expect(st, "plain", &expected, got);

        let (types, values) = (st.types(), st.values());
        let (declared, args) = if st.params.is_empty() {
            (String::new(), String::new())
        } else {
            (format!("({types})"), format!("({values})"))
        };
        for mode in ["auto", "force_generic_plan"] {
            let prepare = format!(
                "set plan_cache_mode = {mode}; prepare p{declared} as {}",
                st.sql
            );
            if let Err(e) = self.foreign.batch_execute(&prepare) {
                self.expect(st, "prepare", &expected, Err(e));
                continue;
            }
            for _ in 0..8 {
                let got = rows(&mut self.foreign, &format!("execute p{args}"));
                self.expect(st, mode, &expected, got);
            }
            let _ = self
                .foreign
                .batch_execute("deallocate p; reset plan_cache_mode");
        }

        let body = format!("select q::text from ({}) q", st.sql);
        let functions = format!(
            "create or replace function pg_temp.fs({types}) returns setof text language sql as $body$ {body} $body$;
             create or replace function pg_temp.fp({types}) returns setof text language plpgsql as
               $body$ begin return query {body}; end $body$;"
        );
        match self.foreign.batch_execute(&functions) {
            Err(e) => self.expect(st, "functions", &expected_text, Err(e)),
            Ok(()) => {
                for _ in 0..2 {
                    let got = rows(&mut self.foreign, &format!("select pg_temp.fs({values})"));
                    self.expect(st, "sql function", &expected_text, got);
                    let got = rows(
                        &mut self.foreign,
                        &format!("select * from pg_temp.fp({values})"),
                    );
                    self.expect(st, "plpgsql function", &expected_text, got);
                }
                let drop =
                    format!("drop function pg_temp.fs({types}); drop function pg_temp.fp({types})");
                let _ = self.foreign.batch_execute(&drop);
            }
        }

        if client_prepares {
            self.client_prepared(st, &expected_text);
        }

        let scroll = format!("begin; declare c scroll cursor for {literal}");
        match self.foreign.batch_execute(&scroll) {
            Err(e) => self.expect(st, "scroll cursor", &expected, Err(e)),
            Ok(()) => {
                let first = rows(&mut self.foreign, "fetch all from c");
                self.expect(st, "scroll cursor", &expected, first);
                let again = rows(&mut self.foreign, "move absolute 0 in c; fetch all from c");
                self.expect(st, "scroll cursor, again", &expected, again);
                let _ = self.foreign.batch_execute("commit");
            }
        }
        let hold = format!("begin; declare h cursor with hold for {literal}; commit");
        match self.foreign.batch_execute(&hold) {
            Err(e) => self.expect(st, "with hold cursor", &expected, Err(e)),
            Ok(()) => {
                let got = rows(&mut self.foreign, "fetch all from h");
                self.expect(st, "with hold cursor", &expected, got);
                let _ = self.foreign.batch_execute("close h");
            }
        }

        if index.is_multiple_of(7) {
            // An ERROR in the middle of reading, rolled back to a savepoint.
            let broken =
                format!("begin; savepoint s; select 1 / (count(*) - count(*)) from ({literal}) q");
            let _ = self.foreign.batch_execute(&broken);
            let _ = self.foreign.batch_execute("rollback to s");
            let got = rows(&mut self.foreign, &literal);
            self.expect(st, "after rollback to savepoint", &expected, got);
            let _ = self.foreign.batch_execute("commit");
        }
    }
}

pub(super) fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
