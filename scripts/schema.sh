#!/usr/bin/env bash
# Writes sql/clerk_fdw--<version>.sql, the install script, from the code
# (pgrx generates it; scripts/schema.py explains the committed form). Run it
# after changing a #[pg_extern] or extension_sql!; scripts/test.sh fails until
# the file matches the code.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-env.sh
source scripts/extension-files.sh
bash scripts/setup.sh tests
version=$(crate_version)
generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
cargo pgrx schema "pg$PG_VERSION" --pg-config "$PG_CONFIG" --no-default-features \
  --features "pg$PG_VERSION" --out "$generated"
python3 scripts/schema.py write "$generated" "sql/clerk_fdw--$version.sql"
echo "schema: wrote sql/clerk_fdw--$version.sql"
