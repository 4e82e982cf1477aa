#!/usr/bin/env bash
# Benchmark clerk_fdw through a real Postgres against the built-in
# Clerk-compatible server: requests per query, wall time, rows/s, the peak
# memory (VmHWM) of the backend that ran the query, 429s, and the most
# requests the server saw within any 10 seconds.
#
#   bash bench/run.sh                      # 100,000 users, 2,000 orgs, ~25,000 memberships, 50 ms
#   USERS=20000 LATENCY_MS=100 bash bench/run.sh
#
# The key is a production-style key, so the default request budget applies:
# 400 requests per 10 s (40% of Clerk's 1000 for production instances).
# Scenarios are 10 s apart, so each starts with the whole budget.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
ORGS=${ORGS:-2000}
BIG_ORG=${BIG_ORG:-600}
MEMBERS_PER_ORG=${MEMBERS_PER_ORG:-24}
LATENCY_MS=${LATENCY_MS:-50}
PORT=${BENCH_PORT:-8797}
PAUSE=${PAUSE:-10}
DB=clerk_bench
KEY=sk_live_bench

bash scripts/install.sh >/dev/null
source scripts/pg-env.sh
psql_pg() { sudo -u postgres psql -h "$PG_HOST" -p "$PG_PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }
mock_stats() { curl -sf "http://127.0.0.1:$PORT/__mock/stats"; }

start_mock() {
  ./target/release/clerk-mock --port "$PORT" --users "$USERS" --organizations "$ORGS" \
    --big-org-members "$BIG_ORG" --members-per-org "$MEMBERS_PER_ORG" \
    --latency-ms "$LATENCY_MS" --secret-key "$KEY" "$@" >/dev/null &
  mock_pid=$!
  for _ in $(seq 600); do mock_stats >/dev/null && return; sleep 0.1; done
  echo "bench: mock did not start" >&2; exit 1
}
stop_mock() { kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; }
trap stop_mock EXIT

psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
# Schema clerk: the defaults. Schema serial: one request at a time (what
# clerk_fdw did before concurrent scans), for comparison.
psql_pg -d "$DB" <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper
  options (api_url 'http://127.0.0.1:$PORT/v1');
create server clerk_serial foreign data wrapper clerk_wrapper
  options (api_url 'http://127.0.0.1:$PORT/v1', max_concurrency '1');
create user mapping for public server clerk options (api_key '$KEY');
create user mapping for public server clerk_serial options (api_key '$KEY');
create server clerk_off foreign data wrapper clerk_wrapper
  options (api_url 'http://127.0.0.1:$PORT/v1', pushdown 'false');
create user mapping for public server clerk_off options (api_key '$KEY');
SQL
for schema in clerk serial off; do
  server=clerk; [ "$schema" = serial ] && server=clerk_serial; [ "$schema" = off ] && server=clerk_off
  psql_pg -d "$DB" <<SQL
create schema $schema;
create foreign table $schema.users (id text, email text, first_name text, last_name text, username text,
  created_at timestamptz, last_sign_in_at timestamptz, last_active_at timestamptz, public_metadata jsonb)
  server $server options (object 'users');
create foreign table $schema.organizations (id text, name text, slug text, created_at timestamptz)
  server $server options (object 'organizations');
create foreign table $schema.memberships (id text, user_id text, organization_id text, role text,
  identifier text, created_at timestamptz)
  server $server options (object 'organization_memberships');
SQL
done
psql_pg -d "$DB" -c "import foreign schema clerk limit to (billing_plans, billing_subscription_items, waitlist_entries)
  from server clerk into clerk"

printf '%-50s %7s %6s %7s %8s %7s %5s %9s\n' scenario rows reqs secs rows/s hwm_mb 429s max/10s
report() { # name rows secs hwm_kb
  local stats; stats=$(mock_stats)
  python3 - "$@" "$stats" <<'PY'
import json, sys
name, rows, secs, hwm, stats = sys.argv[1:]
s = json.loads(stats)
print(f"{name:<50} {rows:>7} {s['requests']:>6} {float(secs):>7.2f} {int(rows)/max(float(secs),1e-9):>8.0f}"
      f" {int(hwm)/1024:>7.1f} {s['throttled']:>5} {s['busiest_10s']:>9}")
PY
}
run_sql() { # schema sql -> "rows secs vmhwm_kb", in a fresh backend
  psql_pg -d "$DB" -At -F ' ' <<SQL
set search_path = $1, public;
select extract(epoch from clock_timestamp()) as t0 \gset
select count(q) from ($2 offset 0) q \gset
select :count, extract(epoch from clock_timestamp()) - :t0,
       (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
}
scenario() { # name schema sql
  sleep "$PAUSE"
  curl -sf "http://127.0.0.1:$PORT/__mock/reset" >/dev/null
  local out
  if ! out=$(run_sql "$2" "$3" 2>/tmp/clerk_bench.err); then
    echo "$1: FAILED $(tr '\n' ' ' </tmp/clerk_bench.err)"; return
  fi
  report "$1" $out
}
sessions() { # name n sql: n sessions at once
  sleep "$PAUSE"
  curl -sf "http://127.0.0.1:$PORT/__mock/reset" >/dev/null
  local t0 t1 pids=() rows=0 hwm=0
  t0=$(date +%s.%N)
  for i in $(seq "$2"); do run_sql clerk "$3" >"/tmp/clerk_bench.$i" 2>&1 & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || { echo "$1: FAILED"; return; }; done
  t1=$(date +%s.%N)
  for i in $(seq "$2"); do
    read -r r _ h <"/tmp/clerk_bench.$i"; rows=$((rows + r)); [ "$h" -gt "$hwm" ] && hwm=$h
  done
  report "$1" "$rows" "$(python3 -c "print($t1 - $t0)")" "$hwm"
}

# A dashboard refresh: the four seed queries in one new connection.
SEEDS="select count(*) from users where created_at > now() - interval '30 days';
select date_trunc('week', created_at), count(*) from organizations group by 1;
select o.name from memberships m join organizations o on o.id = m.organization_id where m.user_id = (select user_id from memberships order by created_at desc limit 1);
select identifier, role from memberships where organization_id = (select id from organizations order by created_at limit 1);"
refresh() { # name
  sleep "$PAUSE"
  curl -sf "http://127.0.0.1:$PORT/__mock/reset" >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  psql_pg -d "$DB" -At -c "set search_path = clerk, public" -c "$SEEDS" >/dev/null
  t1=$(date +%s.%N)
  report "$1" 0 "$(python3 -c "print($t1 - $t0)")" 0
}

start_mock
# Planner row counts are shared by the cluster's backends for 5 minutes:
# start this run without any.
data_dir=$(psql_pg -d "$DB" -At -c "show data_directory")
rm -f "$data_dir/pg_stat_tmp/clerk_fdw.estimates"
refresh "dashboard refresh (4 seed queries), no counts yet"
refresh "  the next refresh, a new connection"
# Warm the row-count estimates (one request per object, cached 5 min).
psql_pg -d "$DB" -c "explain select * from clerk.users, clerk.organizations, clerk.memberships" >/dev/null
scenario "users full scan ($USERS, ${LATENCY_MS} ms)" clerk "select id, email, first_name, created_at, public_metadata from users"
scenario "  the same, one request at a time" serial "select id, email, first_name, created_at, public_metadata from users"
scenario "users full scan, select * (9 columns)" clerk "select * from users"
scenario "organizations full scan" clerk "select * from organizations"
scenario "memberships full scan" clerk "select * from memberships"
scenario "  the same, one request at a time" serial "select * from memberships"
scenario "seed: sign-ups in the past 30 days" clerk "select id from users where created_at > now() - interval '30 days'"
scenario "seed: organizations created per week" clerk "select date_trunc('week', created_at), count(*) from organizations group by 1"
scenario "seed: organizations of one user" clerk "select o.name from memberships m join organizations o on o.id = m.organization_id where m.user_id = (select user_id from memberships order by created_at desc limit 1)"
scenario "seed: users and roles of one org (members)" clerk "select identifier, role from memberships where organization_id = (select id from organizations order by created_at limit 1)"
scenario "seed: users and roles of one org (batched)" clerk "select u.email, m.role from memberships m join users u on u.id = m.user_id where m.organization_id = (select id from organizations order by created_at limit 1) and u.id = any(array(select user_id from memberships where organization_id = (select id from organizations order by created_at limit 1)))"
big_org=$(psql_pg -d "$DB" -At -c "select id from clerk.organizations order by created_at limit 1")
scenario "seed: users and roles of one org (join)" clerk "select u.email, m.role from memberships m join users u on u.id = m.user_id where m.organization_id = '$big_org'"
scenario "  the same, org id from a subquery" clerk "select u.email, m.role from memberships m join users u on u.id = m.user_id where m.organization_id = (select id from organizations order by created_at limit 1)"
# BI tools' filters: narrowed by Clerk (clerk) and, for comparison, the
# whole list filtered by Postgres (off: pushdown 'false', as these shapes
# were read before).
newest=$(psql_pg -d "$DB" -At -c "select max(created_at)::date - 3 from clerk.users")
for shape in "created_at >= date '$newest'" \
             "created_at::date = date '$newest'" \
             "date_trunc('day', created_at) = timestamp '$newest'" \
             "extract(epoch from created_at) >= extract(epoch from date '$newest')" \
             "lower(email) = 'user7@example.com'" \
             "email ilike '%user77777%'"; do
  scenario "bi: $shape" clerk "select id from users where $shape"
  scenario "  the same, pushdown off" off "select id from users where $shape"
done
# Search boxes and BI shapes of #21, and slices of the users list.
generic() { # name schema sql-with-$1 value: a prepared statement's generic plan
  sleep "$PAUSE"
  curl -sf "http://127.0.0.1:$PORT/__mock/reset" >/dev/null
  local out
  if ! out=$(psql_pg -d "$DB" -At -F ' ' 2>/tmp/clerk_bench.err <<SQL
set search_path = $2, public;
set plan_cache_mode = force_generic_plan;
prepare p(text) as select count(q) from ($3 offset 0) q;
select extract(epoch from clock_timestamp()) as t0 \gset
execute p('$4') \gset
select :count, extract(epoch from clock_timestamp()) - :t0,
       (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1];
SQL
  ); then
    echo "$1: FAILED $(tr '\n' ' ' </tmp/clerk_bench.err)"; return
  fi
  report "$1" $out
}
generic "search box: email ilike \$1, generic plan" clerk "select id from users where email ilike \$1" "%user7777%"
generic "  the same, pushdown off" off "select id from users where email ilike \$1" "%user7777%"
generic "search box: email ilike '%' || \$1 || '%'" clerk "select id from users where email ilike '%' || \$1 || '%'" "user7777"
for shape in "lower(email) like '%user7777%'" \
             "lower(email) like 'user7777%'" \
             "CAST(created_at AS timestamp) >= timestamp '$newest'" \
             "extract(epoch from created_at) >= extract(epoch from date '$newest')::float8"; do
  scenario "bi: $shape" clerk "select id from users where $shape"
  scenario "  the same, pushdown off" off "select id from users where $shape"
done
psql_pg -d "$DB" -q -c "drop table if exists bench_ids" \
  -c "create table bench_ids as select id as user_id from clerk.users where random() < 360.0 / $USERS limit 360" \
  -c "analyze bench_ids"
scenario "join: $(psql_pg -d "$DB" -At -c "select count(*) from bench_ids") local ids with users" clerk "select u.email from bench_ids b join users u on u.id = b.user_id"
scenario "  the same, ids LEFT JOIN users" clerk "select b.user_id, u.email from bench_ids b left join users u on u.id = b.user_id"
scenario "  the same, pushdown off" off "select u.email from bench_ids b join users u on u.id = b.user_id"
newest_at=$(psql_pg -d "$DB" -At -c "select created_at from clerk.users order by created_at desc limit 1")
for n in 2720 10000; do
  scenario "users: the newest $n (a created_at range)" clerk "select id from users where created_at > timestamptz '$newest_at' - interval '$n hours'"
done
scenario "count(*) users" clerk "select count(*) from users"
scenario "newest 10 users" clerk "select id from users order by created_at desc limit 10"
scenario "billing: MRR by plan (items join plans)" clerk "select p.slug, sum(case i.plan_period when 'annual' then p.annual_monthly_fee_amount else p.fee_amount end) from billing_subscription_items i join billing_plans p on p.id = i.plan_id where i.status in ('active', 'past_due') and not i.is_free_trial group by 1"
scenario "billing: past-due items (status=past_due)" clerk "select id, user_id, organization_id from billing_subscription_items where status = 'past_due'"
scenario "billing: count(*) active items" clerk "select count(*) from billing_subscription_items where status = 'active'"
scenario "waitlist: funnel per week" clerk "select date_trunc('week', created_at), count(*), count(*) filter (where status = 'completed') from waitlist_entries group by 1"
scenario "waitlist: 20 longest waiting (one request)" clerk "select email_address from waitlist_entries where status = 'pending' order by created_at limit 20"
sessions "8 sessions at once: memberships full scan" 8 "select * from memberships"
stop_mock

# The server allows half of the default budget: clerk_fdw learns the limit
# from the first 429s and slows down for every session.
start_mock --rate-limit 200/10
psql_pg -d "$DB" -c "explain select * from clerk.users" >/dev/null
scenario "users full scan, server limit 200 per 10 s" clerk "select id, email from users"
