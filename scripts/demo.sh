#!/usr/bin/env bash
# The main job: install clerk_fdw into the local PostgreSQL (15 unless
# PG_VERSION says otherwise), connect it to Clerk and answer the classic
# questions in SQL.
#
#   CLERK_SECRET_KEY=sk_live_... bash scripts/demo.sh   # your real Clerk instance
#   bash scripts/demo.sh                                # built-in Clerk-compatible server with sample data
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/pg-env.sh

DB=${DEMO_DB:-clerk_demo}
psql_pg() { sudo -u postgres psql -h "$PG_HOST" -p "$PG_PORT" -X -q "$@"; }

if [ -n "${CLERK_SECRET_KEY:-}" ]; then
  api_key=$CLERK_SECRET_KEY
  api_url=${CLERK_API_URL:-https://api.clerk.com/v1}
  echo "demo: reading your Clerk instance at $api_url"
else
  port=${DEMO_MOCK_PORT:-8787}
  api_key=sk_test_demo
  api_url="http://127.0.0.1:$port/v1"
  ./target/release/clerk-mock --port "$port" --users 5000 --organizations 120 --secret-key "$api_key" &
  mock_pid=$!
  trap 'kill $mock_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/__mock/stats" >/dev/null && break; sleep 0.1; done
  echo "demo: no CLERK_SECRET_KEY set, using the built-in Clerk-compatible server with sample data"
fi

psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
# The key reaches psql as a variable on stdin, never on a command line.
{
  printf '\\set api_key %s\n\\set api_url %s\n' "'$api_key'" "'$api_url'"
  cat examples/demo.sql
} | psql_pg -d "$DB" -v ON_ERROR_STOP=1
