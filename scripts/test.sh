#!/usr/bin/env bash
# Runs the whole test suite: the Clerk-compatible server's tests, the pure-Rust
# unit tests and the SQL-level tests in a throwaway Postgres cluster (pgrx).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGDATA_DIR=${PGRX_TEST_PGDATA:-/tmp/clerk_fdw-test-pgdata}

cargo test -p clerk-mock

runas=()
if [ "$(id -u)" = 0 ]; then
  runas=(--runas postgres)
  # A previous run's cluster may still be up; initdb needs an empty directory.
  if [ -f "$PGDATA_DIR/15/postmaster.pid" ]; then
    sudo -u postgres "$(dirname "$PG_CONFIG")/pg_ctl" stop -D "$PGDATA_DIR/15" -m fast || true
  fi
  rm -rf "$PGDATA_DIR"
fi
cargo pgrx test pg15 "${runas[@]}" --pgdata "$PGDATA_DIR" "$@"
