//! Fixtures the SQL-level tests share: test servers, tables, and ways to
//! read what a query returned or sent.

use super::support::*;
use clerk_mock::{DataConfig, MockServer};
use pgrx::prelude::*;
use serde_json::Value;

pub fn small() -> DataConfig {
    DataConfig {
        users: 1200,
        organizations: 30,
        big_org_members: 620,
        ..DataConfig::default()
    }
}

/// The seed's DDL, unchanged but for `api_url`, under server `name`.
pub fn create_seed_tables(server: &MockServer, name: &str) {
    Spi::run(
        "do $$ begin
           if not exists (select from pg_foreign_data_wrapper where fdwname = 'clerk_wrapper') then
             create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
           end if;
         end $$",
    )
    .expect("wrapper");
    let url = server.url();
    Spi::run(&format!(
        "
        create server {name} foreign data wrapper clerk_wrapper
          options (api_key '{KEY}', api_url '{url}', request_timeout_ms '1500', max_retries '2', max_retry_wait_ms '4000',
                   request_budget '2000/1s');
        create foreign table {name}_users (user_id text, first_name text, last_name text, email text, gender text,
          created_at bigint, updated_at bigint, last_sign_in_at bigint, phone_numbers bigint, username text)
          server {name} options (object 'users');
        create foreign table {name}_organizations (organization_id text, name text, slug text, created_at bigint,
          updated_at bigint, created_by text) server {name} options (object 'organizations');
        create foreign table {name}_organization_memberships (user_id text, organization_id text, role text)
          server {name} options (object 'organization_memberships');
        "
    ))
    .expect("seed DDL");
}

pub fn query_json(sql: &str) -> Value {
    let text = Spi::get_one::<String>(&format!(
        "select coalesce(json_agg(row_to_json(q))::text, '[]') from ({sql}) q"
    ))
    .expect("query")
    .expect("json");
    serde_json::from_str(&text).expect("json text")
}

/// Requests that fetched rows or counts for a query, leaving out the
/// planner's row-count estimates (`/users/count` or `?limit=1`, cached
/// for minutes per backend).
pub fn data_requests(server: &MockServer) -> Vec<clerk_mock::RequestRecord> {
    server
        .requests()
        .into_iter()
        .filter(|r| {
            let whole_list = [
                "/v1/users/count",
                "/v1/organizations",
                "/v1/organization_memberships",
            ];
            let estimate_params =
                r.query.is_empty() || r.query == [("limit".to_string(), "1".to_string())];
            let estimate = whole_list.contains(&r.path.as_str()) && estimate_params;
            !estimate
        })
        .collect()
}

pub fn count(sql: &str) -> i64 {
    Spi::get_one::<i64>(sql).expect("query").expect("a count")
}

/// The error message `sql` raises, or None when it succeeds.
pub fn error_of(sql: &str) -> Option<String> {
    Spi::run(
        "create or replace function pg_temp.error_of(q text) returns text language plpgsql as $$
         begin execute q; return null;
         exception when others then return sqlerrm;
         end $$;",
    )
    .ok();
    Spi::get_one_with_args::<String>("select pg_temp.error_of($1)", &[sql.into()])
        .expect("error_of")
}

/// `create_seed_tables` plus, on the same Clerk, `{name}_off_*` tables
/// with pushdown off and a users table with `timestamptz` columns.
pub fn create_pushdown_tables(server: &MockServer, name: &str) {
    create_seed_tables(server, name);
    let url = server.url();
    Spi::run(&format!(
        "
        create server {name}_off foreign data wrapper clerk_wrapper
          options (api_key '{KEY}', api_url '{url}', pushdown 'false', request_budget '2000/1s');
        create foreign table {name}_off_users (user_id text, email text, created_at bigint, username text)
          server {name}_off options (object 'users');
        create foreign table {name}_off_organization_memberships (user_id text, organization_id text, role text)
          server {name}_off options (object 'organization_memberships');
        create foreign table {name}_tz_users (id text, email text, banned boolean, created_at timestamptz,
          last_sign_in_at timestamptz) server {name} options (object 'users');
        create foreign table {name}_tz_off_users (id text, email text, banned boolean, created_at timestamptz,
          last_sign_in_at timestamptz) server {name}_off options (object 'users');
        "
    ))
    .expect("pushdown DDL");
}

/// Runs `sql` with `{t}` replaced by the pushdown table and by its
/// pushdown-off twin; asserts equal rows; returns the rows and the
/// data requests of the pushdown run.
pub fn same_rows(
    server: &MockServer,
    sql: &str,
    on: &str,
    off: &str,
) -> (Value, Vec<clerk_mock::RequestRecord>) {
    let expected = query_json(&sql.replace("{t}", off));
    // Plan once so the cached row-count estimate is not counted.
    Spi::run(&format!("explain {}", sql.replace("{t}", on))).expect("explain");
    server.clear_log();
    let rows = query_json(&sql.replace("{t}", on));
    assert_eq!(rows, expected, "{sql}");
    (rows, data_requests(server))
}

pub fn now_config() -> DataConfig {
    DataConfig {
        newest_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
        ..small()
    }
}

/// A users table for another session, with a wrapper of its own so that
/// nothing waits for this test's uncommitted one.
pub fn session_ddl(tag: &str, server: &MockServer, options: &str) -> String {
    let url = server.url();
    format!(
        "create foreign data wrapper w_{tag} handler clerk_fdw_handler validator clerk_fdw_validator;
         create server s_{tag} foreign data wrapper w_{tag}
           options (api_key '{KEY}', api_url '{url}', max_retries '3'{options});
         create foreign table u_{tag} (id text, email text) server s_{tag} options (object 'users');"
    )
}

pub fn sorted_ids(rows: &Value, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn dataset_ids(server: &MockServer) -> Vec<String> {
    let mut ids: Vec<String> = server
        .dataset()
        .users
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A server without a key, and the key in a PUBLIC user mapping.
pub fn create_keyless_server(server: &MockServer, name: &str) {
    Spi::run(
        "do $$ begin
           if not exists (select from pg_foreign_data_wrapper where fdwname = 'clerk_wrapper') then
             create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
           end if;
         end $$",
    )
    .unwrap();
    let url = server.url();
    Spi::run(&format!(
        "create server {name} foreign data wrapper clerk_wrapper
           options (api_url '{url}', request_budget '2000/1s');
         create user mapping for public server {name} options (api_key '{KEY}');"
    ))
    .unwrap();
}
