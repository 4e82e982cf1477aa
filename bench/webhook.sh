#!/usr/bin/env bash
# Benchmark webhooks through clerk-fdw-webhook into a mirror, on the local
# PostgreSQL (scripts/install.sh) with the built-in Clerk-compatible server
# delivering its changes over HTTP, signed as Svix signs them:
#   - latency from a change on the test server to its row in the mirror
#     (the event's time to the `versions` row's clock_timestamp()), p50 and
#     p99, for PACED changes made 20 a second, delivered by one sender;
#   - deliveries per second through the receiver with 1 and 16 concurrent
#     senders, from a burst of EVENTS sign-ups queued at once;
#   - the receiver's peak memory.
#
#   bash bench/webhook.sh                    # 5,000 events per burst
#   EVENTS=20000 PACED=500 bash bench/webhook.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-5000}
PACED=${PACED:-300}
PORT=${BENCH_PORT:-8797}
RECEIVER_PORT=${BENCH_RECEIVER_PORT:-8096}
DB=clerk_webhook_bench
KEY=sk_live_bench
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
WORK=$(mktemp -d)
chmod 755 "$WORK" # the receiver runs as postgres

bash scripts/install.sh >/dev/null
source scripts/pg-env.sh
psql_pg() { sudo -u postgres psql -h "$PG_HOST" -p "$PG_PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }
mock() { curl -sf "http://127.0.0.1:$PORT/__mock/$1"; }
install -m 755 target/release/clerk-fdw-webhook "$WORK/"
mock_pid= receiver_pid=
trap 'kill $mock_pid $receiver_pid 2>/dev/null || true; rm -rf "$WORK"' EXIT

# A fresh database, mirror, test server (with `senders` delivery threads)
# and receiver.
start() { # senders
  kill $mock_pid $receiver_pid 2>/dev/null || true
  wait 2>/dev/null || true
  ./target/release/clerk-mock --port "$PORT" --users 1000 --organizations 20 --secret-key "$KEY" \
    --webhook-url "http://127.0.0.1:$RECEIVER_PORT/clerk/webhooks" --webhook-secret "$SECRET" \
    --webhook-retry-scale 0.001 --webhook-senders "$1" >/dev/null &
  mock_pid=$!
  for _ in $(seq 100); do mock stats >/dev/null && break; sleep 0.1; done
  psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
  psql_pg -d "$DB" >/dev/null <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator;
create server clerk foreign data wrapper clerk_wrapper options (api_url 'http://127.0.0.1:$PORT/v1');
create user mapping for public server clerk options (api_key '$KEY', webhook_secret '$SECRET');
select count(*) from clerk_fdw.create_mirror('clerk', 'clerk_local', array['users']);
set client_min_messages = warning;
select count(*) from clerk_fdw.sync_mirror('clerk_local');
SQL
  sudo -u postgres "$WORK/clerk-fdw-webhook" --listen "127.0.0.1:$RECEIVER_PORT" --mirror clerk_local \
    --connections "$(($1 < 8 ? 8 : $1))" --database "host=$PG_HOST port=$PG_PORT dbname=$DB user=postgres" \
    2>"$WORK/receiver.log" &
  receiver_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$RECEIVER_PORT/healthz" >/dev/null && break; sleep 0.1; done
}

drained() {
  for _ in $(seq 6000); do
    [ "$(mock webhooks | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')" = 0 ] && return
    sleep 0.05
  done
  echo "bench: deliveries still pending after 5 minutes" >&2
  exit 1
}

# Deliveries per second, and (for changes made at a steady pace, whose
# event times are the wall clock's) the latency from change to mirror row.
report() { # title with-latency
  psql_pg -d "$DB" -At -F ' ' <<'SQL' | while read -r n secs p50 p99 max; do
select count(*), extract(epoch from max(v.written_at) - min(v.written_at)),
       percentile_cont(0.5) within group (order by extract(epoch from v.written_at - u.created_at) * 1000),
       percentile_cont(0.99) within group (order by extract(epoch from v.written_at - u.created_at) * 1000),
       max(extract(epoch from v.written_at - u.created_at) * 1000)
from clerk_local.users u
join clerk_local_sync.versions v on v.object = 'users' and v.id = u.id
where u.created_at > (select min(started_at) from clerk_local_sync.syncs)
SQL
    printf '%s: %s events into the mirror in %.2f s (%.0f/s)' "$1" "$n" "$secs" "$(python3 -c "print($n / max($secs, 1e-9))")"
    [ "$2" = latency ] && printf '; change to mirror row: p50 %.1f ms, p99 %.1f ms, max %.1f ms' "$p50" "$p99" "$max"
    echo
  done
  echo "  receiver peak memory: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$(pgrep -f "$WORK/clerk-fdw-webhook" | tail -n 1)/status");" \
    "answers: $(grep ': delivery ' "$WORK/receiver.log" | awk '{print $4, $5}' | sort | uniq -c | tr '\n' ';' | tr -s ' ')"
}

echo "== paced: $PACED sign-ups, 20 per second, 1 sender"
start 1
for _ in $(seq "$PACED"); do mock "change?kind=create_user" >/dev/null; sleep 0.05; done
drained
report "paced, 1 sender" latency

for senders in 1 16; do
  echo "== burst: $EVENTS sign-ups queued at once, $senders concurrent sender(s)"
  start "$senders"
  mock "change?kind=create_user&count=$EVENTS" >/dev/null
  drained
  # The test server makes changes faster than one per millisecond here, so
  # their event times run ahead of the clock: no latency for a burst.
  report "burst, $senders sender(s)" throughput
done
