#!/usr/bin/env bash
# Installs what building and testing clerk_fdw needs, skipping what is there:
# PostgreSQL 15 with its server headers (and clang for bindgen), sudo and curl
# from Debian/Ubuntu packages, cargo-pgrx 0.16.1, and pgrx's config for pg15.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(postgresql-15 postgresql-server-dev-15 sudo curl)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if ! cargo pgrx --version 2>/dev/null | grep -q '0\.16\.1'; then
  echo "setup: installing cargo-pgrx 0.16.1 (a few minutes)"
  cargo install cargo-pgrx --version 0.16.1 --locked
fi

if ! grep -qs '^pg15' "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
  cargo pgrx init --pg15 "$PG_CONFIG"
fi
