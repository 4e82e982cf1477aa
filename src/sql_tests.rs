//! SQL-level tests: a real Postgres backend talking to the Clerk-compatible
//! server, which runs inside the backend on a free 127.0.0.1 port.

#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn smoke() {
        assert_eq!(Spi::get_one::<i32>("select 1").unwrap(), Some(1));
    }
}
