#!/usr/bin/env bash
# A real PostgreSQL of the project's own (Debian's postgresql-15 binaries, our own cluster: own
# data directory, own port, own socket directory), for the shared-store tests and CI. The
# machine's packaged cluster, if any, is never touched.
#
#   postgres-standalone.sh check
#       exits 0 when the server binaries (initdb, pg_ctl, postgres) are found.
#   postgres-standalone.sh install
#       apt-installs postgresql-15 when missing (needs root); does not start Debian's cluster.
#   postgres-standalone.sh start [--dir DIR] [--port P]
#       installs if missing, then in DIR (default: a new mktemp -d) initdb's a cluster (trust auth
#       on the socket and 127.0.0.1 only, fsync on: the store's durability is what is tested),
#       starts it on 127.0.0.1:P (default: a free port) with its socket in DIR, creates role
#       `ironledger` and database `ironledger`, and prints KEY=VALUE lines: PG_URL
#       (postgres://ironledger@127.0.0.1:P/ironledger), PG_PORT, PG_DIR, PG_PID, PG_LOG (also kept
#       in DIR/state.env).
#   postgres-standalone.sh stop DIR
#       stops that cluster (fast shutdown, then immediate), removes DIR.
#
# As root the cluster runs as the `postgres` user (initdb refuses root); otherwise as the caller.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
READY_TIMEOUT_S=${PG_READY_TIMEOUT_S:-60}

die() {
  echo "postgres-standalone: $*" >&2
  exit 1
}

say() {
  echo "postgres-standalone: $*" >&2
}

have_postgres() {
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/postgres" ]
}

install_postgres() {
  have_postgres && return 0
  [ "$(id -u)" = 0 ] || die "postgresql-15 is not installed and this is not root: apt-get install postgresql-15"
  say "apt-installing postgresql-15"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  # policy-rc.d keeps Debian's own cluster from being started by the package's scripts.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 >&2
  have_postgres || die "postgresql-15 installed, but $PG_BIN/initdb is still missing"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

cmd_start() {
  local dir="" port=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  install_postgres
  [ -n "$dir" ] || dir=$(mktemp -d /tmp/ironledger-pg.XXXXXX)
  mkdir -p "$dir"
  [ -n "$port" ] || port=$(free_port)
  local data=$dir/data log=$dir/postgres.log
  [ -e "$data" ] && die "$data exists: stop that cluster first (postgres-standalone.sh stop $dir)"
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    chmod 755 "$dir"
  fi
  as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -5 "$dir/initdb.log")"
  # Loopback only; the socket lives in DIR, not /var/run/postgresql (Debian's cluster's).
  cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
logging_collector = off
log_line_prefix = '%m [%p] '
EOF
  as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t "$READY_TIMEOUT_S" start >/dev/null ||
    die "the server did not start: $(tail -5 "$log")"
  local pid
  pid=$(head -1 "$data/postmaster.pid")
  "$PG_BIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE ironledger LOGIN" -c "CREATE DATABASE ironledger OWNER ironledger" >/dev/null ||
    die "could not create role and database ironledger"
  {
    echo "PG_URL=postgres://ironledger@127.0.0.1:$port/ironledger"
    echo "PG_PORT=$port"
    echo "PG_DIR=$dir"
    echo "PG_PID=$pid"
    echo "PG_LOG=$log"
  } | tee "$dir/state.env"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "stop: which DIR?"
  [ -d "$dir" ] || die "stop: $dir is not a directory"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      say "pg_ctl stop failed; the server may still run: $(head -1 "$dir/data/postmaster.pid" 2>/dev/null)"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  check) have_postgres ;;
  install) install_postgres ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) die "usage: postgres-standalone.sh check | install | start [--dir DIR] [--port P] | stop DIR" ;;
esac
