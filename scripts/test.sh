#!/usr/bin/env bash
# Runs the whole test suite on the PostgreSQL major PG_VERSION chooses (15 by
# default; see scripts/pg-env.sh): the test server's own check against
# Clerk's spec, pure-Rust unit tests (client, paging, conversion) and
# SQL-level tests in a throwaway cluster (cargo pgrx test), both against the
# built-in Clerk-compatible server; then checks that the committed install
# script (sql/clerk_fdw--<version>.sql) matches the code, and runs the
# webhook receiver's end-to-end and hostile-input tests in clusters of their
# own (pg_cron where it is installed). Installs what is missing first.
# Arguments filter the SQL-level tests by name (and skip the others).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-env.sh
source scripts/extension-files.sh
PGDATA_DIR=${PGRX_TEST_PGDATA:-/tmp/clerk_fdw-test-pgdata}

bash scripts/setup.sh tests

runas=()
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses root: the test cluster runs as postgres.
  runas=(--runas postgres)
  as_owner=(sudo -u postgres)
fi
# A previous run's cluster may still be up, and initdb wants an empty
# directory (each major has its own, so majors can be tested side by side).
if [ -f "$PGDATA_DIR/$PG_VERSION/postmaster.pid" ]; then
  "${as_owner[@]}" "$("$PG_CONFIG" --bindir)/pg_ctl" stop -D "$PGDATA_DIR/$PG_VERSION" -m fast || true
fi
rm -rf "${PGDATA_DIR:?}/$PG_VERSION"
# Released install scripts, for the upgrade test (see sql/README.md).
as_root cp sql/releases/*.sql "$("$PG_CONFIG" --sharedir)/extension/"
# The test server against Clerk's spec (its responses, the requests it
# accepts); needs no Postgres.
if [ $# -eq 0 ]; then
  cargo test -p clerk-mock
fi
echo "test: PostgreSQL $("$PG_CONFIG" --version)"
# Each test server appends how many requests it checked against Clerk's
# spec (one file per user: the tests run as root, the cluster as postgres).
checked_logs=(/tmp/clerk-mock-spec-checked-*.log)
rm -f "${checked_logs[@]}"
cargo pgrx test "pg$PG_VERSION" "${runas[@]}" --pgdata "$PGDATA_DIR" "$@"
# (A filter may pick tests that start no test server: no log, no failure.)
spec_checked() { cat /tmp/clerk-mock-spec-checked-*.log 2>/dev/null || true; }
spec_checked | { grep '^!' || true; } | sort | uniq -c
spec_checked | { grep -v '^!' || true; } |
  awk '{ n += $1; v += $2 } END { printf "test: %d requests checked against Clerk'"'"'s spec by the test servers, %d outside it\n", n, v }'
# cargo pgrx test installed the install script that pgrx generated.
version=$(crate_version)
python3 scripts/schema.py check "$("$PG_CONFIG" --sharedir)/extension/clerk_fdw--$version.sql" \
  "sql/clerk_fdw--$version.sql"
if [ $# -eq 0 ]; then
  # The receiver's tests use the clerk_fdw that cargo pgrx test installed.
  PG_CONFIG=$PG_CONFIG cargo test -p clerk-fdw-webhook -- --test-threads=1
fi
