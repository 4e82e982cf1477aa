#!/usr/bin/env bash
# Runs the whole test suite: pure-Rust unit tests (client, paging, conversion)
# and SQL-level tests in a throwaway Postgres cluster (cargo pgrx test), both
# against the built-in Clerk-compatible server. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGDATA_DIR=${PGRX_TEST_PGDATA:-/tmp/clerk_fdw-test-pgdata}

bash scripts/setup.sh

runas=()
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses root: the test cluster runs as postgres.
  runas=(--runas postgres)
  as_owner=(sudo -u postgres)
fi
# A previous run's cluster may still be up, and initdb wants an empty directory.
if [ -f "$PGDATA_DIR/15/postmaster.pid" ]; then
  "${as_owner[@]}" "$(dirname "$PG_CONFIG")/pg_ctl" stop -D "$PGDATA_DIR/15" -m fast || true
fi
rm -rf "$PGDATA_DIR"
# Released install scripts, for the upgrade test (see sql/README.md).
extension_dir="$("$PG_CONFIG" --sharedir)/extension"
if [ "$(id -u)" = 0 ]; then
  cp sql/releases/*.sql "$extension_dir/"
else
  sudo cp sql/releases/*.sql "$extension_dir/"
fi
cargo pgrx test pg15 "${runas[@]}" --pgdata "$PGDATA_DIR" "$@"
