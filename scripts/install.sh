#!/usr/bin/env bash
# Builds clerk_fdw in release mode and installs it into the PostgreSQL major
# PG_VERSION chooses (15 by default, see scripts/pg-env.sh), builds the
# built-in Clerk-compatible server and the webhook receiver
# (target/release/clerk-fdw-webhook), and makes sure a cluster runs:
# Debian's 15/main, or for the other majors a cluster under
# /var/lib/clerk_fdw/pg<major> on port 54<major>.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-env.sh
source scripts/extension-files.sh

bash scripts/setup.sh
build_library .
# The built-in Clerk-compatible server and the webhook receiver.
cargo build --release -p clerk-mock -p clerk-fdw-webhook
install_extension target/release/libclerk_fdw.so "$(crate_version)"

if [ "$PG_VERSION" = 15 ] && [ "$PG_CONFIG" = "$default_pg_config" ]; then
  if ! pg_lsclusters -h 2>/dev/null | awk '$1 == 15 && $2 == "main"' | grep -q .; then
    as_root pg_createcluster 15 main
  fi
  if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main" {print $4}' | grep -q online; then
    as_root pg_ctlcluster 15 main start
  fi
else
  bin=$("$PG_CONFIG" --bindir)
  data=/var/lib/clerk_fdw/pg$PG_VERSION
  as_postgres() { as_root sudo -u postgres "$@"; }
  if [ ! -f "$data/PG_VERSION" ]; then
    as_root install -d -o postgres -m 700 "$data"
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=''" start
  fi
fi
echo "install: clerk_fdw $(crate_version) is installed; psql: sudo -u postgres psql -h $PG_HOST -p $PG_PORT"
