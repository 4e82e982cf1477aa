#!/usr/bin/env bash
# The Debian package on PostgreSQL 15 from Debian, as a user meets it (CI
# runs this after the tests): the previous release's package (0.2.0, built
# from the commit it was released from) goes into a system PostgreSQL with no
# clerk_fdw files, answers a query against the built-in test server, is
# upgraded in place by this version's package (`apt install`, then ALTER
# EXTENSION ... UPDATE), which also installs afresh; then the package is
# removed and leaves no file behind. Uses a cluster of its own (15/clerkpkg,
# port 5439) and removes clerk_fdw from the system PostgreSQL 15.
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_VERSION=15 PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
source scripts/pg-env.sh
source scripts/extension-files.sh
source scripts/package.sh
bash scripts/setup.sh

# The tree 0.2.0 was released from (sql/releases/clerk_fdw--0.2.0.sql).
previous_version=0.2.0
previous_commit=c4f7531e83c1368f5f8756a6a878203f5189c74a
version=$(crate_version)
package=postgresql-15-clerk-fdw
arch=$(dpkg --print-architecture)
cluster_port=5439
mock_port=8739
work=$(mktemp -d)
mock_pid=
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  pg_dropcluster --stop 15 clerkpkg 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }
psql_pkg() { sudo -u postgres psql -h /var/run/postgresql -p "$cluster_port" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
# The extension, connected to the test server, its tables imported.
connect_clerk() { # database
  psql_pkg -d "$1" <<SQL
create extension clerk_fdw;
create foreign data wrapper clerk_wrapper handler clerk_fdw_handler validator clerk_fdw_validator
  options (allowed_hosts '127.0.0.1:$mock_port');
create server clerk foreign data wrapper clerk_wrapper options (api_url 'http://127.0.0.1:$mock_port/v1');
create user mapping for public server clerk options (api_key 'sk_test_pkg');
create schema clerk;
import foreign schema clerk from server clerk into clerk;
SQL
}

echo "package-test: building $previous_version from $previous_commit"
git cat-file -e "$previous_commit^{commit}" 2>/dev/null ||
  fail "commit $previous_commit ($previous_version) is not in this clone (a shallow clone?)"
mkdir "$work/previous"
git archive "$previous_commit" | tar -x -C "$work/previous"
# The same target directory, so that the dependencies are built once. Both
# versions' libraries have one name there and cargo copies a library out only
# when it compiles it: without it, cargo compiles it again.
forget_library() { rm -f target/release/libclerk_fdw.so target/release/deps/libclerk_fdw.so; }
forget_library
CARGO_TARGET_DIR=$PWD/target build_library "$work/previous" -p clerk_fdw
cp target/release/libclerk_fdw.so "$work/previous.so"
make_deb 15 "$work/previous.so" "$previous_version"
forget_library
build_library .
(cd tests/clerk-mock && cargo build --release --quiet)
make_deb 15 target/release/libclerk_fdw.so "$version"
if cmp -s target/release/libclerk_fdw.so "$work/previous.so"; then fail "the two builds made the same library"; fi

# A system PostgreSQL without clerk_fdw (install.sh and the tests put it there).
if dpkg -s "$package" >/dev/null 2>&1; then apt-get remove -y -qq "$package" >/dev/null; fi
rm -f /usr/lib/postgresql/15/lib/clerk_fdw.so /usr/share/postgresql/15/extension/clerk_fdw[.-]*
pg_dropcluster --stop 15 clerkpkg 2>/dev/null || true
pg_createcluster -p "$cluster_port" 15 clerkpkg >/dev/null
pg_ctlcluster 15 clerkpkg start

./target/release/clerk-mock --port "$mock_port" --users 300 --organizations 12 --secret-key sk_test_pkg &
mock_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$mock_port/__mock/stats" >/dev/null && break; sleep 0.1; done

echo "package-test: apt install the $previous_version package"
apt-get install -y -qq "./dist/${package}_${previous_version}_$arch.deb" >/dev/null
connect_clerk postgres
[ "$(psql_pkg -d postgres -c "select extversion from pg_extension where extname = 'clerk_fdw'")" = "$previous_version" ] ||
  fail "the $previous_version package did not install $previous_version"
# The library is the one built from that release.
[ "$(psql_pkg -d postgres -c 'select version from clerk_fdw_meta()')" = "$previous_version" ] ||
  fail "the $previous_version package holds another library"
[ "$(psql_pkg -d postgres -c 'select count(*) from clerk.users')" = 300 ] || fail "$previous_version: users"

echo "package-test: apt install the $version package over it"
apt-get install -y -qq "./dist/${package}_${version}_$arch.deb" >/dev/null
[ "$(dpkg-query -W -f '${Version}' "$package")" = "$version" ] || fail "dpkg does not list $version"
psql_pkg -d postgres -c 'alter extension clerk_fdw update'
[ "$(psql_pkg -d postgres -c "select extversion from pg_extension where extname = 'clerk_fdw'")" = "$version" ] ||
  fail "ALTER EXTENSION did not reach $version"
[ "$(psql_pkg -d postgres -c 'select version from clerk_fdw_meta()')" = "$version" ] || fail "upgraded: library"
# The server, mapping and foreign tables made under 0.2.0 still answer, and
# the mirror (new in 0.3.0) works on them.
[ "$(psql_pkg -d postgres -c 'select count(*) from clerk.users')" = 300 ] || fail "upgraded: users"
psql_pkg -d postgres -c "select count(*) from clerk_fdw.create_mirror('clerk', 'clerk_local', array['users', 'organizations'])" >/dev/null
psql_pkg -d postgres -c "select count(*) from clerk_fdw.sync_mirror('clerk_local')" >/dev/null 2>&1
[ "$(psql_pkg -d postgres -c 'select count(*) from clerk_local.users')" = 300 ] || fail "upgraded: mirrored users"
# A fresh install of this version, in another database.
psql_pkg -d postgres -c 'create database fresh'
connect_clerk fresh
[ "$(psql_pkg -d fresh -c "select extversion from pg_extension where extname = 'clerk_fdw'")" = "$version" ] || fail "fresh: version"
[ "$(psql_pkg -d fresh -c 'select count(*) from clerk.organizations')" = 12 ] || fail "fresh: organizations"

echo "package-test: drop the extension, then apt remove"
files=$(dpkg -L "$package" | while read -r f; do if [ -f "$f" ]; then echo "$f"; fi; done)
[ -n "$files" ] || fail "dpkg -L lists no files"
for db in postgres fresh; do
  psql_pkg -d "$db" -c 'drop extension clerk_fdw cascade' 2>/dev/null
done
apt-get remove -y -qq "$package" >/dev/null
if dpkg -s "$package" 2>/dev/null | grep -q '^Status: install'; then fail "still installed"; fi
left=$(for f in $files; do if [ -e "$f" ]; then echo "$f"; fi; done)
[ -z "$left" ] || fail "removal left $left"
if psql_pkg -d postgres -c 'create extension clerk_fdw' 2>"$work/err"; then
  fail "create extension worked after removal"
fi
grep -q 'clerk_fdw' "$work/err" || fail "unexpected error after removal: $(cat "$work/err")"
echo "package-test: passed ($(echo "$files" | wc -l) files installed, upgraded and removed)"
