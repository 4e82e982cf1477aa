#!/usr/bin/env bash
# Debian packages: dist/postgresql-<major>-clerk-fdw_<version>_<arch>.deb for
# each PostgreSQL major in PACKAGE_PG_VERSIONS (default 15 16 17 18), for
# PostgreSQL from Debian or PGDG (/usr/lib/postgresql/<major>, Depends:
# postgresql-<major>). Each holds the library, the control file and every
# install and upgrade script. Each major builds against its own headers
# (scripts/pg-env.sh says where they come from; PG_CONFIG is honoured when
# PACKAGE_PG_VERSIONS names one major).
#   apt install ./dist/postgresql-15-clerk-fdw_0.3.0_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-env.sh
source scripts/extension-files.sh

# A .deb of a built library: make_deb major library version
make_deb() {
  local major=$1 library=$2 version=$3 root arch glibc size package
  arch=$(dpkg --print-architecture)
  package=postgresql-$major-clerk-fdw
  root=$(mktemp -d)
  chmod 755 "$root"
  stage_extension "$library" "$version" "$root/usr/lib/postgresql/$major/lib" \
    "$root/usr/share/postgresql/$major/extension"
  # As Debian ships libraries: without symbols the loader does not need.
  strip --strip-unneeded "$root/usr/lib/postgresql/$major/lib/clerk_fdw.so"
  install -d -m 755 "$root/usr/share/doc/$package"
  gzip -9n <CHANGELOG.md >"$root/usr/share/doc/$package/changelog.gz"
  chmod 644 "$root/usr/share/doc/$package/changelog.gz"
  # The newest glibc symbol version the library needs.
  glibc=$(objdump -T "$library" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  size=$(du -sk "$root" | cut -f1)
  install -d -m 755 "$root/DEBIAN"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: $arch
Maintainer: clerk_fdw developers <maintainers@clerk-fdw.invalid>
Depends: postgresql-$major, libc6 (>= $glibc), libgcc-s1
Section: database
Priority: optional
Installed-Size: $size
Description: PostgreSQL $major foreign data wrapper for Clerk
 Clerk's user-management data (users, organizations, memberships,
 invitations, sessions, billing, waitlist) as foreign tables, and a local
 mirror kept current by Clerk's webhooks. After installing:
 CREATE EXTENSION clerk_fdw;
CONTROL
  mkdir -p dist
  dpkg-deb --root-owner-group -Zxz --build "$root" "dist/${package}_${version}_$arch.deb" >/dev/null
  rm -rf "$root"
  echo "package: dist/${package}_${version}_$arch.deb"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  majors=(${PACKAGE_PG_VERSIONS:-15 16 17 18})
  own_pg_config=${PG_CONFIG:-}
  [ ${#majors[@]} -eq 1 ] || own_pg_config=
  for major in "${majors[@]}"; do
    PG_VERSION=$major PG_CONFIG=$own_pg_config
    source scripts/pg-env.sh
    export PG_VERSION PG_CONFIG
    bash scripts/setup.sh
    build_library .
    make_deb "$major" target/release/libclerk_fdw.so "$(crate_version)"
  done
fi
