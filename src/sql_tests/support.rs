//! What the SQL-level tests share: the test server, the key, and other
//! sessions on the test cluster.

use clerk_mock::{DataConfig, MockServer};
use pgrx::prelude::*;

pub const KEY: &str = "sk_test_0123456789secret";

pub fn mock(cfg: DataConfig) -> MockServer {
    MockServer::start(&cfg, KEY, 0).expect("mock server")
}

/// Another session on the test cluster, as an application opens one.
pub fn session() -> postgres::Client {
    let db = Spi::get_one::<String>("select current_database()::text")
        .unwrap()
        .unwrap();
    session_in(&db)
}

/// A real client connection to database `db` of the test cluster. Its
/// statements time out so that a test waiting on it fails, not hangs.
pub fn session_in(db: &str) -> postgres::Client {
    let setting = |sql: &str| Spi::get_one::<String>(sql).unwrap().unwrap();
    let port = setting("select current_setting('port')");
    let user = setting("select current_user::text");
    postgres::Client::connect(
        &format!(
            "host=localhost port={port} user={user} dbname={db} \
             options='-c statement_timeout=300s'"
        ),
        postgres::NoTls,
    )
    .expect("a second session")
}

/// The rows `sql` returns (simple protocol, every value as text, `NULL`
/// for SQL NULL), each as its values joined by `|`.
pub fn rows(client: &mut postgres::Client, sql: &str) -> Result<Vec<String>, postgres::Error> {
    Ok(client
        .simple_query(sql)?
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL"))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect())
}

/// The server's message of a failed statement.
pub fn error_message(e: postgres::Error) -> String {
    e.as_db_error()
        .map(|db| db.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

/// Server `name` with the key in the PUBLIC user mapping and every
/// object imported into schema `name`, made by (and committed in) a
/// session of its own.
pub fn imported(server: &MockServer, name: &str) -> postgres::Client {
    imported_with(server, name, "")
}

/// [`imported`], with more server options (`, pushdown 'false'`).
pub fn imported_with(server: &MockServer, name: &str, options: &str) -> postgres::Client {
    let url = server.url();
    let mut c = session();
    c.batch_execute(&format!(
        "create foreign data wrapper {name}_w handler clerk_fdw_handler validator clerk_fdw_validator;
         create server {name} foreign data wrapper {name}_w options (api_url '{url}', max_retries '1', request_budget '2000/1s'{options});
         create user mapping for public server {name} options (api_key '{KEY}');
         create schema {name};
         import foreign schema clerk from server {name} into {name};"
    ))
    .expect("imported schema");
    c
}

/// Runs `sql` in `client`, which must fail; its SQLSTATE and message.
/// The failure is caught by a savepoint and the session goes on.
pub fn failure(client: &mut postgres::Client, sql: &str) -> (String, String) {
    client.batch_execute("begin; savepoint before").unwrap();
    let err = client
        .simple_query(sql)
        .expect_err("the statement should fail");
    let code = err.code().map(|c| c.code().to_string()).unwrap_or_default();
    client
        .batch_execute("rollback to savepoint before; commit")
        .unwrap();
    assert_eq!(rows(client, "select 1").unwrap(), ["1"]);
    (code, error_message(err))
}

/// A session of `role` (a login role) with connection `options`, as
/// `PGOPTIONS` gives them (`-c name=value`).
pub fn session_as(role: &str, options: &str) -> postgres::Client {
    let db = Spi::get_one::<String>("select current_database()::text")
        .unwrap()
        .unwrap();
    session_with(role, &db, options)
}

/// A session of `role` (a login role) in database `db`.
pub fn session_as_in(role: &str, db: &str) -> postgres::Client {
    session_with(role, db, "")
}

fn session_with(role: &str, db: &str, options: &str) -> postgres::Client {
    session_config(role, db, options)
        .connect(postgres::NoTls)
        .expect("a session of the role")
}

/// How a session of `role` in database `db` with connection `options`
/// connects, to add to (a notice callback, say) before connecting.
pub fn session_config(role: &str, db: &str, options: &str) -> postgres::Config {
    let port = Spi::get_one::<String>("select current_setting('port')")
        .unwrap()
        .unwrap();
    let mut config = postgres::Config::new();
    config
        .host("localhost")
        .port(port.parse().unwrap())
        .user(role)
        .dbname(db)
        .options(&format!("-c statement_timeout=300s {options}"));
    config
}
