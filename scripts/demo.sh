#!/usr/bin/env bash
# The main job: install clerk_fdw into the local PostgreSQL (15 unless
# PG_VERSION says otherwise), connect it to Clerk and answer the classic
# questions in SQL.
#
#   CLERK_SECRET_KEY=sk_live_... bash scripts/demo.sh   # your real Clerk instance
#   bash scripts/demo.sh                                # built-in Clerk-compatible server with sample data
#
# With the built-in server, a second part mirrors the users into plain
# tables, starts the webhook receiver, makes a few changes on the server and
# shows them arrive by webhook, with a schema created for each new user.
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
  receiver_port=${DEMO_RECEIVER_PORT:-8089}
  webhook_secret=whsec_$(head -c 24 /dev/urandom | base64)
  ./target/release/clerk-mock --port "$port" --users 5000 --organizations 120 --secret-key "$api_key" \
    --webhook-url "http://127.0.0.1:$receiver_port/clerk/webhooks" --webhook-secret "$webhook_secret" \
    --webhook-retry-scale 0.01 &
  mock_pid=$!
  receiver_pid=
  trap 'kill $mock_pid $receiver_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/__mock/stats" >/dev/null && break; sleep 0.1; done
  echo "demo: no CLERK_SECRET_KEY set, using the built-in Clerk-compatible server with sample data"
fi

psql_pg -d postgres -c "drop database if exists $DB" -c "create database $DB"
# The key reaches psql as a variable on stdin, never on a command line.
{
  printf '\\set api_key %s\n\\set api_url %s\n' "'$api_key'" "'$api_url'"
  cat examples/demo.sql
} | psql_pg -d "$DB" -v ON_ERROR_STOP=1

[ -n "${CLERK_SECRET_KEY:-}" ] && {
  echo
  echo "demo: to mirror your instance and receive its webhooks, see the README's Mirror and Webhooks sections"
  exit 0
}

echo
echo "== Mirror: plain tables kept current by webhooks, and a schema per user"
{
  printf '\\set webhook_secret %s\n' "'$webhook_secret'"
  cat examples/demo_webhooks.sql
} | psql_pg -d "$DB" -v ON_ERROR_STOP=1
# The receiver runs as postgres (the cluster's peer authentication), from a
# copy that user can read.
bin=$(mktemp -d)
install -m 755 target/release/clerk-fdw-webhook "$bin/"
chmod 755 "$bin"
sudo -u postgres "$bin/clerk-fdw-webhook" --listen "127.0.0.1:$receiver_port" --mirror clerk_local \
  --database "host=$PG_HOST port=$PG_PORT dbname=$DB user=postgres" 2>"$bin/receiver.log" &
receiver_pid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$receiver_port/healthz" >/dev/null && break; sleep 0.1; done
if ! kill -0 "$receiver_pid" 2>/dev/null; then
  echo "demo: the webhook receiver did not start:" >&2
  cat "$bin/receiver.log" >&2
  exit 1
fi
echo "demo: clerk-fdw-webhook listens on 127.0.0.1:$receiver_port; the built-in server signs up 3 users and renames one"
curl -sf "http://127.0.0.1:$port/__mock/change?kind=create_user&count=3" >/dev/null
curl -sf "http://127.0.0.1:$port/__mock/change?kind=update_user&count=1" >/dev/null
for _ in $(seq 50); do
  [ "$(grep -c ' 200 applied' "$bin/receiver.log" || true)" -ge 4 ] && break
  sleep 0.1
done
echo "== What the receiver logged (one line per delivery)"
sed 's/^/  /' "$bin/receiver.log"
psql_pg -d "$DB" -v ON_ERROR_STOP=1 <<'SQL'
\pset footer off
\echo '== The newest users in the mirror, as the webhooks left them'
select email, first_name, created_at, updated_at from clerk_local.users order by created_at desc limit 3;
\echo '== Their schemas, made by the trigger on the mirror'
select t.user_id, t.schema_name, t.created_at from tenants.tenants t order by t.created_at desc limit 3;
\echo '== Events applied, per mirrored object'
select object, rows, events_applied, last_event_at from clerk_fdw.mirror_status order by object;
SQL
