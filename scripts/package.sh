#!/usr/bin/env bash
# A release artifact for the PostgreSQL major PG_VERSION chooses (see
# scripts/pg-env.sh): `cargo pgrx package` output (the library, the control
# file, the install and upgrade SQL) as
# dist/clerk_fdw-<version>-pg<major>-<arch>.tar.gz, with paths relative to
# the root of the file system (`tar -xzf ... -C /` installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-env.sh
bash scripts/setup.sh
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=target/release/clerk_fdw-pg$PG_VERSION
rm -rf "$out"
cargo pgrx package --pg-config "$PG_CONFIG" --no-default-features --features "pg$PG_VERSION" --out-dir "$out"
# The upgrade scripts between versions go with the install script.
extension_dir=$out$("$PG_CONFIG" --sharedir)/extension
cp sql/clerk_fdw--*--*.sql "$extension_dir/"
mkdir -p dist
artifact=dist/clerk_fdw-$version-pg$PG_VERSION-$(uname -m).tar.gz
tar -czf "$artifact" -C "$out" .
echo "package: $artifact"
tar -tzf "$artifact"
