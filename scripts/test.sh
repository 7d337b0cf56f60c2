#!/usr/bin/env bash
# Set-up command 2: installs what is missing, builds, starts a private PostgreSQL/PostGIS for the
# case ledger's tests, and runs the whole test suite (ctest). With WEIPIAN_TEST_PG already set
# (a "PG:…" connection string to a database with PostGIS), that database is used instead.
#   scripts/test.sh             the Release build in build/
#   scripts/test.sh --sanitize  the same suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#                               in build-asan/ (see scripts/build.sh); any report fails the test
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
case "${1:-}" in
  "") ;;
  --sanitize) build_dir=build-asan ;;
  *) echo "usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
esac
scripts/install_deps.sh
scripts/build.sh "$@"
if [ "$build_dir" = build-asan ]; then
  # Leaks are errors (checked at every test process's exit); the suppressions file lists the
  # leaks of libraries weipian does not own, each with its reason. UBSan stops at the first report.
  export ASAN_OPTIONS="detect_leaks=1:strict_init_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export LSAN_OPTIONS="suppressions=$(pwd)/scripts/sanitizers/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi

# A throwaway cluster for the tests: listens on a unix socket in its own folder only (no TCP
# port to clash with), trusts local connections, and is stopped when this script ends.
pg_bin=""
pg_root=""
pg_as=()
stop_test_postgres() {
  [ -n "$pg_root" ] && "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -m fast stop >/dev/null 2>&1 || true
}
start_test_postgres() {
  local dir version
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    version=$(basename "$(dirname "$dir")")
    [ -f "/usr/share/postgresql/$version/extension/postgis.control" ] && pg_bin="$dir"
  done
  if [ -z "$pg_bin" ]; then
    echo "weipian: no PostgreSQL server with PostGIS installed; the ledger's PostgreSQL tests will be skipped" >&2
    return 0
  fi
  pg_root="${TMPDIR:-/tmp}/weipian-test-pg-$(id -u)"
  mkdir -p "$pg_root"
  if [ "$(id -u)" -eq 0 ]; then
    pg_as=(runuser -u postgres --)  # initdb and postgres refuse to run as root
    chown postgres "$pg_root"
  fi
  if [ ! -f "$pg_root/data/PG_VERSION" ]; then
    "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_root/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
      >"$pg_root/initdb.log" 2>&1 || { cat "$pg_root/initdb.log" >&2; exit 1; }
  fi
  trap stop_test_postgres EXIT
  if ! "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" status >/dev/null 2>&1; then
    "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w \
      -o "-c listen_addresses='' -c unix_socket_directories='$pg_root' -p 5432" start >/dev/null \
      || { tail -20 "$pg_root/server.log" >&2; exit 1; }
  fi
  local psql=("$pg_bin/psql" -h "$pg_root" -p 5432 -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'weipian_test'")" ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE weipian_test" >/dev/null
  fi
  "${psql[@]}" -d weipian_test -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  export WEIPIAN_TEST_PG="PG:host=$pg_root port=5432 user=postgres dbname=weipian_test"
  echo "weipian: ledger tests use PostgreSQL/PostGIS at $WEIPIAN_TEST_PG" >&2
}
[ -n "${WEIPIAN_TEST_PG:-}" ] || start_test_postgres

cd "$build_dir"
ctest --output-on-failure -j"$(nproc)"
