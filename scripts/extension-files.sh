# Sourced by the scripts that build, install, package or test (after pg-env.sh):
# builds the extension's library and puts it where PostgreSQL looks, with its
# control file and SQL scripts. No cargo-pgrx: the install script is
# committed (sql/clerk_fdw--<version>.sql, see scripts/schema.sh).

# The version in Cargo.toml.
crate_version() { sed -n 's/^version = "\(.*\)"$/\1/p' "${1:-.}/Cargo.toml" | head -n 1; }

# The release build of the library for PG_VERSION, in the directory given
# (default: here); further arguments go to cargo. Prints nothing.
build_library() { # dir [cargo args...]
  local dir=${1:-.}
  shift || true
  (cd "$dir" && PGRX_PG_CONFIG_PATH=$PG_CONFIG cargo build --release --lib \
    --no-default-features --features "clerk_fdw/pg$PG_VERSION" "$@")
}

# version_le a b: a <= b as versions.
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

# Puts the library, the control file and every SQL script up to the version
# (install scripts of each release, upgrade scripts between them) into a
# library and an extension directory of one's own (install_extension puts
# them into PostgreSQL's).
stage_extension() { # library version pkglibdir extension_dir
  local library=$1 version=$2 libdir=$3 extdir=$4 script name target
  install -d -m 755 "$libdir" "$extdir"
  install -m 755 "$library" "$libdir/clerk_fdw.so"
  sed "s/@CARGO_VERSION@/$version/" clerk_fdw.control >"$extdir/clerk_fdw.control"
  chmod 644 "$extdir/clerk_fdw.control"
  for script in sql/releases/clerk_fdw--*.sql sql/clerk_fdw--*.sql; do
    name=${script##*/}
    target=${name%.sql}
    target=${target##*--}
    if version_le "$target" "$version"; then
      install -m 644 "$script" "$extdir/$name"
    fi
  done
  if [ ! -f "$extdir/clerk_fdw--$version.sql" ]; then
    echo "no install script for clerk_fdw $version in sql/ or sql/releases/" >&2
    return 1
  fi
}

# Installs the library and SQL scripts into the PostgreSQL of PG_CONFIG.
install_extension() { # library version
  local staged
  staged=$(mktemp -d)
  stage_extension "$1" "$2" "$staged/lib" "$staged/extension"
  as_root cp "$staged/lib/clerk_fdw.so" "$("$PG_CONFIG" --pkglibdir)/"
  as_root cp "$staged"/extension/* "$("$PG_CONFIG" --sharedir)/extension/"
  rm -rf "$staged"
}
