#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the PostgreSQL gallery's tests, on a unix socket only
# (no TCP port), in a temporary folder:
#   eval "$(scripts/postgres-test-server.sh start)"   # exports FACETWIN_TEST_POSTGRES and FACETWIN_TEST_POSTGRES_DIR
#   scripts/postgres-test-server.sh stop "$FACETWIN_TEST_POSTGRES_DIR"
# Installs Debian's postgresql-15 when missing. PostgreSQL refuses to run as root: as root the
# server runs as the unprivileged user `postgres` (the package's), else as the current user.
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  if [ ! -x "$BIN/pg_ctl" ]; then
    echo "postgres-test-server: installing postgresql-15" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || { echo "postgres-test-server: need root (or sudo) to apt-get install postgresql-15" >&2; exit 1; }
      SUDO="sudo"
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 >/dev/null
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  dir=$(mktemp -d /tmp/facetwin-pg.XXXXXX)
  chmod 0755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  as_server_user "$BIN/initdb" -D "$dir/data" -U facetwin -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_server_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -c listen_addresses='' -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  encoded=$(printf '%s' "$dir" | sed 's|/|%2F|g')
  echo "export FACETWIN_TEST_POSTGRES='postgres://facetwin@$encoded/postgres'"
  echo "export FACETWIN_TEST_POSTGRES_DIR='$dir'"
  ;;
stop)
  dir="${2:?give the folder start printed}"
  case "$dir" in /tmp/facetwin-pg.*) ;; *) echo "postgres-test-server: $dir is not a test server folder" >&2; exit 2 ;; esac
  as_server_user "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start | stop DIR" >&2
  exit 2
  ;;
esac
