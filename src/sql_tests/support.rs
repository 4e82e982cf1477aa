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
