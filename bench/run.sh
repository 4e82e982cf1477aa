#!/usr/bin/env bash
# Benchmark clerk_fdw through a real Postgres against the built-in
# Clerk-compatible server: requests per query, wall time, rows/s and the peak
# memory (VmHWM) of the backend that ran the query.
#
#   bash bench/run.sh                      # 100,000 users, 2,000 orgs, 50 ms latency
#   USERS=20000 LATENCY_MS=100 bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
ORGS=${ORGS:-2000}
BIG_ORG=${BIG_ORG:-600}
LATENCY_MS=${LATENCY_MS:-50}
PORT=${BENCH_PORT:-8797}
DB=clerk_bench
KEY=sk_test_bench

bash scripts/install.sh >/dev/null
psql_pg() { sudo -u postgres psql -X -q -v ON_ERROR_STOP=1 "$@"; }

start_mock() {
  ./target/release/clerk-mock --port "$PORT" --users "$USERS" --organizations "$ORGS" \
    --big-org-members "$BIG_ORG" --latency-ms "$LATENCY_MS" --secret-key "$KEY" "$@" >/dev/null &
  mock_pid=$!
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/__mock/stats" >/dev/null && return; sleep 0.1; done
  echo "bench: mock did not start" >&2; exit 1
}
stop_mock() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; }
trap stop_mock EXIT

psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
psql_pg -d "$DB" <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper
  options (api_key '$KEY', api_url 'http://127.0.0.1:$PORT/v1');
create foreign table users (id text, email text, first_name text, last_name text, username text,
  created_at timestamptz, last_sign_in_at timestamptz, last_active_at timestamptz, public_metadata jsonb)
  server clerk options (object 'users');
create foreign table organizations (id text, name text, slug text, created_at timestamptz)
  server clerk options (object 'organizations');
create foreign table memberships (id text, user_id text, organization_id text, role text)
  server clerk options (object 'organization_memberships');
SQL

printf '%-44s %8s %8s %9s %10s %10s %5s\n' scenario rows requests wall_s rows_per_s vmhwm_mb 429s
scenario() {
  local name=$1 sql=$2
  curl -sf "http://127.0.0.1:$PORT/__mock/reset" >/dev/null
  # One fresh backend per scenario, so VmHWM is this query's peak.
  local out
  out=$(psql_pg -d "$DB" -At -F ' ' 2>/tmp/clerk_bench.err <<SQL
select extract(epoch from clock_timestamp()) as t0 \gset
select count(*) from ($sql) q \gset
select :count, extract(epoch from clock_timestamp()) - :t0,
       (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
  ) || { echo "$name: FAILED: $(cat /tmp/clerk_bench.err)"; return; }
  local rows secs hwm stats requests throttled
  read -r rows secs hwm <<<"$out"
  stats=$(curl -sf "http://127.0.0.1:$PORT/__mock/stats")
  requests=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
  throttled=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["throttled"])')
  printf '%-44s %8s %8s %9.2f %10.0f %10.1f %5s\n' "$name" "$rows" "$requests" "$secs" \
    "$(python3 -c "print($rows/max($secs,1e-9))")" "$(python3 -c "print($hwm/1024)")" "$throttled"
}

start_mock
scenario "users full scan ($USERS, ${LATENCY_MS}ms)" "select id, email, first_name, created_at, public_metadata from users"
scenario "organizations full scan" "select * from organizations"
scenario "memberships full scan" "select * from memberships"
scenario "seed: sign-ups in the past 30 days" "select id from users where created_at > now() - interval '30 days'"
scenario "seed: organizations created per week" "select date_trunc('week', created_at), count(*) from organizations group by 1"
scenario "seed: organizations of one user" "select o.name from memberships m join organizations o on o.id = m.organization_id where m.user_id = (select user_id from memberships order by created_at desc limit 1)"
scenario "seed: users and roles of one organization" "select u.email, m.role from memberships m join users u on u.id = m.user_id where m.organization_id = (select id from organizations order by created_at limit 1)"
scenario "count(*) users" "select 1 from users"
stop_mock

start_mock --rate-limit 20/1
scenario "users full scan, server limit 20 req/s" "select id, email from users"
