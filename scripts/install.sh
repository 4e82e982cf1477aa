#!/usr/bin/env bash
# Builds clerk_fdw in release mode, installs it into the local PostgreSQL 15
# and makes sure the cluster runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

bash scripts/setup.sh
cargo build --release -p clerk-mock
if [ "$(id -u)" = 0 ]; then
  cargo pgrx install --release --pg-config "$PG_CONFIG"
else
  cargo pgrx install --release --pg-config "$PG_CONFIG" --sudo
fi
if ! pg_lsclusters -h 2>/dev/null | awk '$1 == 15 && $2 == "main"' | grep -q .; then
  as_root pg_createcluster 15 main
fi
if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main" {print $4}' | grep -q online; then
  as_root pg_ctlcluster 15 main start
fi
