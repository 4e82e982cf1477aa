#!/usr/bin/env bash
# Benchmark the mirror through a real Postgres against the built-in
# Clerk-compatible server: a backfill (requests, seconds, the backend's peak
# memory), a second sync with nothing changed (rows written), webhook
# events applied per second by one session and by eight, and the seed
# dashboard on the mirror (Clerk requests, time).
#
#   bash bench/mirror.sh                   # 100,000 users, 2,000 orgs, 50 ms
#   USERS=20000 EVENTS=2000 bash bench/mirror.sh
#   USERS=1000000 LEAN=1 bash bench/mirror.sh   # a million users (the test
#                                     # server keeps them serialised; no events)
#
# A production-style key: the default request budget (400 per 10 s) applies.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
ORGS=${ORGS:-2000}
LATENCY_MS=${LATENCY_MS:-50}
EVENTS=${EVENTS:-4000}
LEAN=${LEAN:-0}
PORT=${BENCH_PORT:-8798}
DB=clerk_mirror_bench
KEY=sk_live_bench
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
WORK=$(mktemp -d)
chmod 755 "$WORK" # psql runs as postgres

bash scripts/install.sh >/dev/null
source scripts/pg-env.sh
psql_pg() { sudo -u postgres psql -h "$PG_HOST" -p "$PG_PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }
mock() { curl -sf "http://127.0.0.1:$PORT/__mock/$1"; }

./target/release/clerk-mock --port "$PORT" --users "$USERS" --organizations "$ORGS" \
  --big-org-members 600 --members-per-org 24 --latency-ms "$LATENCY_MS" --secret-key "$KEY" --lean "$LEAN" >/dev/null &
mock_pid=$!
trap 'kill $mock_pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 3000); do mock stats >/dev/null && break; sleep 0.1; done
mock "webhook_secret?secret=$SECRET" >/dev/null

psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
psql_pg -d "$DB" <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper options (api_url 'http://127.0.0.1:$PORT/v1');
create user mapping for public server clerk options (api_key '$KEY', webhook_secret '$SECRET');
select count(*) from clerk_fdw.create_mirror('clerk', 'clerk_local', array['users', 'organizations', 'organization_memberships']);
SQL

# sync_mirror in a fresh backend: its rows, the requests the server saw,
# and the backend's peak memory.
sync() { # title
  mock reset >/dev/null
  echo "== $1"
  psql_pg -d "$DB" -c "\\timing on" -c "select * from clerk_fdw.sync_mirror('clerk_local')" \
    -c "select (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\\s+(\\d+)'))[1]::int / 1024 as backend_peak_mb"
  echo "requests the server saw: $(mock stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["requests"], "(429s:", s["throttled"], ", most in any 10 s:", s["busiest_10s"], ")")')"
}
sync "backfill of $USERS users, $ORGS organizations and their memberships"
sleep 10
sync "second sync, nothing changed"
psql_pg -d "$DB" -At -c "select pg_sleep(1)" -c "select 'rows updated or deleted by both syncs: ' || relname || ' ' || (n_tup_upd + n_tup_del) from pg_stat_user_tables where schemaname like 'clerk_local%' and n_tup_upd + n_tup_del > 0" || true

# Webhook events: signed by the test server, applied by receive_webhook.
events() { # sessions kind
  mock "change?kind=$2&count=$EVENTS" >"$WORK/events.jsonl"
  python3 - "$WORK" "$1" <<'PY'
import json, sys
work, sessions = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(f"{work}/events.jsonl")]
def lit(s): return "'" + s.replace("'", "''") + "'"
for i in range(sessions):
    with open(f"{work}/events.{i}.sql", "w") as f:
        for e in lines[i::sessions]:
            f.write(f"select clerk_fdw.receive_webhook('clerk_local', {lit(e['body'])}, {lit(json.dumps(e['headers']))}::jsonb);\n")
PY
  local t0 t1 pids=()
  t0=$(date +%s.%N)
  for i in $(seq 0 $(($1 - 1))); do psql_pg -d "$DB" -o /dev/null -f "$WORK/events.$i.sql" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  python3 -c "print(f'$EVENTS $2 events by $1 session(s): {$t1 - $t0:.2f} s, {$EVENTS / ($t1 - $t0):.0f} events/s')"
}
if [ "$LEAN" = 0 ]; then
echo "== webhook events"
events 1 create_user
events 1 update_user
events 8 create_user
events 8 update_user
psql_pg -d "$DB" -c "select object, rows, events_applied, events_duplicate, events_stale from clerk_fdw.mirror_status where mirror = 'clerk_local' and object in ('users', 'organizations')"
fi

echo "== the seed dashboard on the mirror"
mock reset >/dev/null
psql_pg -d "$DB" -c "\\timing on" -c "set search_path = clerk_local" -f examples/mirror_dashboard.sql >/dev/null
psql_pg -d "$DB" -c "\\timing on" -c "set search_path = clerk_local" -f examples/mirror_dashboard.sql | grep -i '^time' || true
echo "Clerk requests for the dashboard on the mirror: $(mock stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')"
echo "test server peak memory: $(grep VmHWM /proc/$mock_pid/status | tr -s " ")"
