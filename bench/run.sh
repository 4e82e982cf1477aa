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
# The same tables twice: schema pd_off with pushdown disabled (every query
# reads whole lists, as v0.1 did) and schema pd_on with pushdown.
psql_pg -d "$DB" <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper
  options (api_key '$KEY', api_url 'http://127.0.0.1:$PORT/v1');
create server clerk_off foreign data wrapper clerk_wrapper
  options (api_key '$KEY', api_url 'http://127.0.0.1:$PORT/v1', pushdown 'false');
SQL
for mode in pd_on pd_off; do
  server=clerk; [ "$mode" = pd_off ] && server=clerk_off
  psql_pg -d "$DB" <<SQL
create schema $mode;
create foreign table $mode.users (id text, email text, first_name text, last_name text, username text,
  created_at timestamptz, last_sign_in_at timestamptz, last_active_at timestamptz, public_metadata jsonb)
  server $server options (object 'users');
create foreign table $mode.organizations (id text, name text, slug text, created_at timestamptz)
  server $server options (object 'organizations');
create foreign table $mode.memberships (id text, user_id text, organization_id text, role text,
  identifier text, created_at timestamptz)
  server $server options (object 'organization_memberships');
create table $mode.crm (clerk_id text primary key);
SQL
done


printf '%-46s %7s %9s %8s %8s %8s %9s %8s %5s\n' scenario rows req_off req_on s_off s_on rows/s_on hwm_mb 429s
run_once() { # mode sql -> "rows secs vmhwm_kb requests throttled"
  curl -sf "http://127.0.0.1:$PORT/__mock/reset" >/dev/null
  # One fresh backend per run, so VmHWM is this query's peak (and its
  # row-count estimate is one more request). OFFSET 0 keeps the query a
  # subquery, so the outer count(*) is not pushed down.
  local out stats
  out=$(psql_pg -d "$DB" -At -F ' ' 2>/tmp/clerk_bench.err <<SQL
set search_path = $1, public;
select extract(epoch from clock_timestamp()) as t0 \gset
select count(*) from ($2 offset 0) q \gset
select :count, extract(epoch from clock_timestamp()) - :t0,
       (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
  ) || { echo "FAILED $(tr '\n' ' ' </tmp/clerk_bench.err)"; return; }
  stats=$(curl -sf "http://127.0.0.1:$PORT/__mock/stats")
  echo "$out $(echo "$stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["requests"], s["throttled"])')"
}
scenario() {
  local name=$1 sql=$2 off on
  off=$(run_once pd_off "$sql"); on=$(run_once pd_on "$sql")
  if [[ $off == FAILED* || $on == FAILED* ]]; then echo "$name: off: $off / on: $on"; return; fi
  python3 - "$name" $off $on <<'PY'
import sys
name, r0, s0, h0, q0, t0, r1, s1, h1, q1, t1 = sys.argv[1:]
if r0 != r1: name += f" (ROWS DIFFER: {r0})"
print(f"{name:<46} {r1:>7} {q0:>9} {q1:>8} {float(s0):>8.2f} {float(s1):>8.2f} {int(r1)/max(float(s1),1e-9):>9.0f} {int(h1)/1024:>8.1f} {t1:>5}")
PY
}

start_mock
# 50 user ids in a local table, as an app database would have them.
psql_pg -d "$DB" -c "insert into pd_on.crm select id from pd_on.users order by created_at limit 50" \
  -c "insert into pd_off.crm select * from pd_on.crm" -c "analyze pd_on.crm" -c "analyze pd_off.crm" >/dev/null
# Warm both servers' row-count estimates (one request each, cached 5 min).
psql_pg -d "$DB" -c "explain select * from pd_on.users, pd_on.organizations, pd_on.memberships" >/dev/null
scenario "users full scan ($USERS, ${LATENCY_MS}ms)" "select id, email, first_name, created_at, public_metadata from users"
scenario "organizations full scan" "select * from organizations"
scenario "memberships full scan" "select * from memberships"
scenario "seed: sign-ups in the past 30 days" "select id from users where created_at > now() - interval '30 days'"
scenario "seed: organizations created per week" "select date_trunc('week', created_at), count(*) from organizations group by 1"
scenario "seed: organizations of one user" "select o.name from memberships m join organizations o on o.id = m.organization_id where m.user_id = (select user_id from memberships order by created_at desc limit 1)"
scenario "seed: users and roles of one org (join)" "select u.email, m.role from memberships m join users u on u.id = m.user_id where m.organization_id = (select id from organizations order by created_at limit 1)"
scenario "seed: users and roles of one org (batched)" "select u.email, m.role from memberships m join users u on u.id = m.user_id where m.organization_id = (select id from organizations order by created_at limit 1) and u.id = any(array(select user_id from memberships where organization_id = (select id from organizations order by created_at limit 1)))"
scenario "seed: users and roles of one org (members)" "select identifier, role from memberships where organization_id = (select id from organizations order by created_at limit 1)"
scenario "count(*) users" "select count(*) from users"
scenario "count(*) sign-ups in the past 30 days" "select count(*) from users where created_at > now() - interval '30 days'"
scenario "one user by id" "select * from users where id = (select clerk_id from crm limit 1)"
scenario "50 local ids joined to users" "select c.clerk_id, u.email from crm c join users u on u.id = c.clerk_id"
scenario "newest 10 users" "select id from users order by created_at desc limit 10"
stop_mock

start_mock --rate-limit 20/1
psql_pg -d "$DB" -c "explain select * from pd_on.users" >/dev/null
scenario "users full scan, server limit 20 req/s" "select id, email from users"
