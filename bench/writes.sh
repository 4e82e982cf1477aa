#!/usr/bin/env bash
# Benchmark writes through a real Postgres against the built-in
# Clerk-compatible server at Clerk-like latency, with a production key's
# request budget (400 per 10 s): a 1,000-row INSERT into invitations (the
# bulk endpoint, 10 rows a request), the same rows one request each (with
# RETURNING), and a 100-row UPDATE of users' metadata. For each: requests
# the server saw, seconds, and the backend's peak memory.
#
#   bash bench/writes.sh
#   ROWS=5000 LATENCY_MS=100 bash bench/writes.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000}
UPDATES=${UPDATES:-100}
LATENCY_MS=${LATENCY_MS:-50}
PORT=${BENCH_PORT:-8797}
DB=clerk_writes_bench
KEY=sk_live_bench

bash scripts/install.sh >/dev/null
source scripts/pg-env.sh
psql_pg() { sudo -u postgres psql -h "$PG_HOST" -p "$PG_PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }
mock() { curl -sf "http://127.0.0.1:$PORT/__mock/$1"; }

./target/release/clerk-mock --port "$PORT" --users 5000 --organizations 50 \
  --latency-ms "$LATENCY_MS" --secret-key "$KEY" >/dev/null &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do mock stats >/dev/null && break; sleep 0.1; done

psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
psql_pg -d "$DB" <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper
  options (api_url 'http://127.0.0.1:$PORT/v1', writable 'true', max_write_rows '$UPDATES');
create user mapping for public server clerk options (api_key '$KEY');
create schema clerk;
import foreign schema clerk from server clerk into clerk;
SQL

run() { # title sql
  mock reset >/dev/null
  echo "== $1"
  psql_pg -d "$DB" -c "\\timing on" -c "$2" \
    -c "select (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\\s+(\\d+)'))[1]::int / 1024 as backend_peak_mb" |
    grep -E 'Time|INSERT|UPDATE|backend_peak|^ +[0-9]+$'
  mock stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print("requests the server saw:", s["requests"], "of which writes:", s["writes"], "429s:", s["throttled"])'
}
run "INSERT of $ROWS invitations (bulk endpoint)" \
  "insert into clerk.invitations (email_address, public_metadata)
   select 'bench' || i || '@example.com', jsonb_build_object('batch', i % 7) from generate_series(1, $ROWS) i"
run "INSERT of $ROWS invitations with RETURNING (one request each)" \
  "with made as (insert into clerk.invitations (email_address)
     select 'each' || i || '@example.com' from generate_series(1, $ROWS) i returning id) select count(*) from made"
run "UPDATE of $UPDATES users' public_metadata" \
  "update clerk.users set public_metadata = public_metadata || '{\"plan\": \"pro\"}'
    where id = any (array(select id from clerk.users order by created_at desc limit $UPDATES))"
