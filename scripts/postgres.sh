#!/usr/bin/env bash
# A throwaway PostgreSQL for the token server's database tests, on a free loopback port.
#
#   eval "$(bash scripts/postgres.sh)"     # start (or reuse) it; exports OSS_DIRECT_TEST_POSTGRES_URL
#   bash scripts/postgres.sh stop          # stop it and delete its folder
#
# Installs Debian's `postgresql` when no server binaries are found, runs `initdb` + `pg_ctl` from
# /usr/lib/postgresql/<version>/bin as the `postgres` OS user (as the current user when not
# root) in ${OSS_DIRECT_PG_DIR:-/tmp/oss-direct-postgres}, listening on 127.0.0.1 only, with a
# password (scram-sha-256) for TCP connections. Idempotent: a running cluster is reused. Progress
# goes to stderr; stdout's only line is the `export` to eval.
set -euo pipefail
source "$(dirname "$0")/env.sh"

DIR="${OSS_DIRECT_PG_DIR:-/tmp/oss-direct-postgres}"
DATA="$DIR/data"
DB=oss_direct_test
USER_NAME=oss_direct

say() { printf '== %s\n' "$*" >&2; }

pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && echo "$bin"
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# Nothing listens on 127.0.0.1:$1.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "no free loopback port found" >&2
  return 1
}

print_url() {
  echo "export OSS_DIRECT_TEST_POSTGRES_URL=postgres://$USER_NAME:$(cat "$DIR/password")@127.0.0.1:$(cat "$DIR/port")/$DB"
}

BIN="$(pg_bin || true)"

if [ "${1:-start}" = "stop" ]; then
  if [ -n "$BIN" ] && running; then
    say "stopping PostgreSQL in $DIR"
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
  fi
  # Only a folder this script made (it holds our password file) is deleted.
  if [ -f "$DIR/password" ]; then rm -rf "$DIR"; fi
  say "stopped"
  exit 0
fi
[ "${1:-start}" = "start" ] || { echo "usage: $0 [start|stop]" >&2; exit 2; }

if [ -z "$BIN" ]; then
  say "installing Debian's postgresql"
  # The package's own cluster is not used; keep apt from starting services in containers.
  apt_install postgresql >&2
  BIN="$(pg_bin)" || { echo "postgresql is installed but no initdb/pg_ctl under /usr/lib/postgresql" >&2; exit 1; }
fi

if running; then
  say "PostgreSQL already running in $DIR"
  print_url
  exit 0
fi

mkdir -p "$DIR"
chmod 700 "$DIR"
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "no postgres OS user (is the postgresql package installed?)" >&2; exit 1; }
  chown postgres: "$DIR"
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  say "initdb in $DATA ($("$BIN/postgres" --version))"
  rm -rf "$DATA"
  [ -s "$DIR/password" ] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$DIR/password"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR/password"; fi
  chmod 600 "$DIR/password"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --no-sync -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
  rm -f "$DIR/port"
fi

port="$(cat "$DIR/port" 2>/dev/null || true)"
if [ -z "$port" ] || ! port_free "$port"; then
  port="$(free_port)"
fi
echo "$port" > "$DIR/port"

say "starting PostgreSQL on 127.0.0.1:$port"
as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off" start >&2 \
  || { tail -n 20 "$DIR/server.log" >&2; exit 1; }

psql_admin() { as_owner "$BIN/psql" -h "$DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
password="$(cat "$DIR/password")"
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'")" != "1" ]; then
  psql_admin -c "CREATE ROLE $USER_NAME LOGIN PASSWORD '$password'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE $DB OWNER $USER_NAME" >&2
fi
say "database $DB ready (stop with: bash scripts/postgres.sh stop)"
print_url
