#!/usr/bin/env bash
# A real OpenStack Ironic (Debian's python3-ironic, 2023.1) on loopback, for tests and CI.
#
#   ironic-standalone.sh check
#       exits 0 when /usr/bin/python3 can import ironic (nothing is installed or started).
#   ironic-standalone.sh install
#       apt-installs python3-ironic when /usr/bin/python3 cannot import it (needs root).
#   ironic-standalone.sh start [--port P] [--deploy-delay S] [--power-delay S] [--boot-delay S]
#                              [--dir DIR] [--neutron-url URL]
#                              [--auth-keystone FILE | --auth-basic HTPASSWD]
#                              [--max-concurrent-deploy N] [--max-concurrent-clean N]
#       installs if missing, writes config + SQLite schema into DIR (default: a new mktemp -d),
#       starts API + conductor as ONE process on 127.0.0.1 port P (default: a free port; a P
#       already in use is refused), waits until it answers, and prints KEY=VALUE lines:
#       IRONIC_URL, IRONIC_DIR, IRONIC_PID, IRONIC_LOG.
#       Auth is noauth unless: --auth-keystone FILE (auth_strategy = keystone; FILE holds the
#       [keystone_authtoken] section, appended to ironic.conf as it is) or --auth-basic HTPASSWD
#       (auth_strategy = http_basic; the file of user:bcrypt-hash lines, re-read per request).
#       keystone-standalone.sh uses both.
#       --max-concurrent-deploy / --max-concurrent-clean set [conductor] max_concurrent_deploy /
#       max_concurrent_clean (Ironic's defaults 250 / 50): past them a deploy, resp. a teardown or
#       manual clean, is refused with HTTP 500 "The concurrent action limit ... has been reached".
#   ironic-standalone.sh restart DIR [--kill] | restart --dir DIR [--kill]
#       ends the process recorded in DIR/ironic.pid (SIGTERM, as stop; --kill: SIGKILL, a crash
#       that leaves in-flight work behind) and starts Ironic again from DIR: same port, config and
#       database, log appended. Prints the same KEY=VALUE lines as start. At start-up the conductor
#       fails nodes it finds in a state it cannot resume (deploying, deleting, cleaning, ...: Ironic's
#       STUCK_STATES_TREATED_AS_FAIL), so a node killed mid-teardown comes back in `error`.
#   ironic-standalone.sh stop DIR | stop --dir DIR
#       ends exactly the process recorded in DIR/ironic.pid, waits for it, removes DIR.
#
# Nothing outside DIR is changed, apart from the apt install. The real-Ironic suite starts and stops
# it in test/ironic-real/global-setup.ts; README.md ("Against a real Ironic") says how CI runs it.
set -euo pipefail

# Debian's interpreter: a pyenv python3 earlier on PATH cannot see dist-packages.
# IRONIC_PYTHON overrides it (another distribution's interpreter that can import ironic).
PY=${IRONIC_PYTHON:-/usr/bin/python3}
READY_TIMEOUT_S=${IRONIC_READY_TIMEOUT_S:-60}
# The cleaning network a --neutron-url stand-in must know (GET /v2.0/networks/<this>).
CLEANING_NETWORK=6d5e1f3a-0c4b-4f6e-9a55-2b1d7c8e9f00

die() {
  echo "ironic-standalone: $*" >&2
  exit 1
}

have_ironic() {
  [ -x "$PY" ] && "$PY" -c 'import ironic.cmd.singleprocess' >/dev/null 2>&1
}

cmd_install() {
  if have_ironic; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "python3-ironic is not installed and installing it needs root: sudo bash $0 install"
  fi
  command -v apt-get >/dev/null || die "python3-ironic is missing and apt-get is not available"
  local t0=$SECONDS
  echo "ironic-standalone: installing python3-ironic with apt ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends python3-ironic >&2
  have_ironic || die "python3-ironic installed but $PY cannot import ironic"
  echo "ironic-standalone: installed python3-ironic in $((SECONDS - t0)) s" >&2
}

free_port() {
  "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Whether nothing listens on 127.0.0.1:$1 (a bind that succeeds is released at once).
port_free() {
  "$PY" -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()' "$1"
}

check_port() {
  [[ "$2" =~ ^[0-9]{1,5}$ ]] && [ $((10#$2)) -ge 1 ] && [ $((10#$2)) -le 65535 ] ||
    die "$1 expects a TCP port from 1 to 65535, got '$2'"
}

# Seconds must be whole: the fake drivers parse their delays with int().
check_seconds() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 expects whole seconds, got '$2'"
}

# Ironic's IntOpt(min=1): a whole number of at least 1.
check_limit() {
  [[ "$2" =~ ^[0-9]+$ ]] && [ "$((10#$2))" -ge 1 ] || die "$1 expects a whole number >= 1, got '$2'"
}

# An absolute path to an existing readable file (ironic.conf is read from another directory).
readable_file() {
  [ -n "$2" ] || die "$1 needs a file"
  [ -f "$2" ] && [ -r "$2" ] || die "$1: $2 is not a readable file"
  echo "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
}

write_config() {
  local dir=$1 port=$2 deploy_delay=$3 power_delay=$4 boot_delay=$5 neutron_url=$6
  local auth_keystone=$7 auth_basic=$8 max_deploy=$9 max_clean=${10} auth_strategy=noauth basic_line=""
  if [ -n "$auth_keystone" ]; then
    auth_strategy=keystone
  elif [ -n "$auth_basic" ]; then
    auth_strategy=http_basic
    basic_line="http_basic_auth_user_file = $auth_basic"
  fi
  cat >"$dir/ironic.conf" <<EOF
[DEFAULT]
auth_strategy = $auth_strategy
$basic_line
rpc_transport = none
host = localhost
use_stderr = true
enabled_hardware_types = fake-hardware
enabled_boot_interfaces = fake
enabled_deploy_interfaces = fake
enabled_management_interfaces = fake
enabled_power_interfaces = fake
enabled_console_interfaces = fake, no-console
enabled_inspect_interfaces = fake, no-inspect
enabled_raid_interfaces = fake, no-raid
enabled_bios_interfaces = no-bios
enabled_rescue_interfaces = no-rescue
enabled_vendor_interfaces = no-vendor
enabled_storage_interfaces = noop
enabled_network_interfaces = noop, flat
default_network_interface = noop

[api]
host_ip = 127.0.0.1
port = $port
api_workers = 1

[conductor]
automated_clean = true
max_concurrent_deploy = $max_deploy
max_concurrent_clean = $max_clean

[database]
connection = sqlite:///$dir/ironic.sqlite

[dhcp]
dhcp_provider = none

# Only for nodes enrolled with network_interface=flat (the VIF checks): their validation looks the
# cleaning network up in Neutron; attaching to an address-less portgroup and detaching from a node
# that is not active make no other Neutron call. --neutron-url points at a stand-in that answers
# that look-up; without it, a closed port makes any Neutron call fail at once.
[neutron]
auth_type = none
endpoint_override = $neutron_url
cleaning_network = $CLEANING_NETWORK

[oslo_concurrency]
lock_path = $dir/locks

[fake]
deploy_delay = $deploy_delay
power_delay = $power_delay
boot_delay = $boot_delay
EOF
  if [ -n "$auth_keystone" ]; then
    printf '\n' >>"$dir/ironic.conf"
    cat -- "$auth_keystone" >>"$dir/ironic.conf"
  fi
}

# Starts API + conductor from $1/ironic.conf in the background and waits until it answers on
# port $2. The log is appended to, so a restart keeps what came before.
launch() {
  local dir=$1 port=$2 log=$1/ironic.log
  # setsid: the server must outlive this script and must not get the caller's Ctrl-C.
  # Without job control a background job is not a group leader, so setsid execs in place
  # and $! is the python process itself.
  setsid "$PY" -c 'import sys
from ironic.cmd.singleprocess import main
sys.argv = ["ironic", "--config-file", sys.argv[1]]
main()' "$dir/ironic.conf" </dev/null >>"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/ironic.pid"

  local url=http://127.0.0.1:$port deadline=$((SECONDS + READY_TIMEOUT_S)) code
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 50 "$log" >&2
      die "ironic exited during start-up (log: $log)"
    fi
    code=$("$PY" -c 'import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except Exception:
    print(0)' "$url/")
    [ "$code" = 200 ] && break
    if [ $SECONDS -ge $deadline ]; then
      tail -n 50 "$log" >&2
      kill "$pid" 2>/dev/null || true
      die "ironic did not answer 200 on $url/ within ${READY_TIMEOUT_S} s (log: $log)"
    fi
    sleep 0.3
  done
}

print_started() {
  local dir=$1 port=$2
  echo "IRONIC_URL=http://127.0.0.1:$port"
  echo "IRONIC_DIR=$dir"
  echo "IRONIC_PID=$(cat "$dir/ironic.pid")"
  echo "IRONIC_LOG=$dir/ironic.log"
}

# Ends the process in $1/ironic.pid with signal $2 (TERM, then KILL after 10 s; or KILL at once)
# and waits for it, but only if it is still OUR server (its command line names our config).
end_process() {
  local dir=$1 signal=$2 pid i
  pid=$(cat "$dir/ironic.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || die "bad pid file $dir/ironic.pid"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/ironic.conf"; then
    kill "-$signal" "$pid"
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  fi
}

cmd_start() {
  local deploy_delay=0 power_delay=0 boot_delay=0 dir="" neutron_url=http://127.0.0.1:9 port=""
  local auth_keystone="" auth_basic="" max_deploy=250 max_clean=50
  while [ $# -gt 0 ]; do
    case $1 in
      --port) check_port "$1" "${2-}"; port=$((10#$2)); shift 2 ;;
      --deploy-delay) check_seconds "$1" "${2-}"; deploy_delay=$2; shift 2 ;;
      --power-delay) check_seconds "$1" "${2-}"; power_delay=$2; shift 2 ;;
      --boot-delay) check_seconds "$1" "${2-}"; boot_delay=$2; shift 2 ;;
      --dir) dir=${2-}; [ -n "$dir" ] || die "--dir needs a value"; shift 2 ;;
      --neutron-url) neutron_url=${2-}; [ -n "$neutron_url" ] || die "--neutron-url needs a value"; shift 2 ;;
      --auth-keystone) auth_keystone=$(readable_file "$1" "${2-}"); shift 2 ;;
      --auth-basic) auth_basic=$(readable_file "$1" "${2-}"); shift 2 ;;
      --max-concurrent-deploy) check_limit "$1" "${2-}"; max_deploy=$((10#$2)); shift 2 ;;
      --max-concurrent-clean) check_limit "$1" "${2-}"; max_clean=$((10#$2)); shift 2 ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done

  [ -z "$auth_keystone" ] || [ -z "$auth_basic" ] || die "--auth-keystone and --auth-basic exclude each other"

  cmd_install
  local t0=$SECONDS
  # Checked before anything is written: on a port another server holds, the wait below would
  # take that server's answer for Ironic's.
  if [ -n "$port" ] && ! port_free "$port"; then
    die "port $port on 127.0.0.1 is in use"
  fi

  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ironic-standalone.XXXXXX")
  else
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "--dir $dir is not empty"
  fi
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/locks"

  [ -n "$port" ] || port=$(free_port)
  write_config "$dir" "$port" "$deploy_delay" "$power_delay" "$boot_delay" "$neutron_url" \
    "$auth_keystone" "$auth_basic" "$max_deploy" "$max_clean"

  "$PY" -c 'import sys
from ironic.cmd.dbsync import main
sys.argv = ["ironic-dbsync", "--config-file", sys.argv[1], "create_schema"]
sys.exit(main())' "$dir/ironic.conf" >"$dir/dbsync.log" 2>&1 ||
    { tail -n 50 "$dir/dbsync.log" >&2; die "create_schema failed (config in $dir)"; }

  launch "$dir" "$port"
  echo "ironic-standalone: up in $((SECONDS - t0)) s at http://127.0.0.1:$port" >&2
  print_started "$dir" "$port"
}

# The DIR argument of stop and restart: DIR or --dir DIR.
dir_arg() {
  case ${1-} in
    --dir) echo "${2-}" ;;
    *) echo "${1-}" ;;
  esac
}

cmd_stop() {
  local dir
  dir=$(dir_arg "$@")
  [ -n "$dir" ] || die "stop: give the DIR printed by start"
  [ -f "$dir/ironic.pid" ] || die "stop: $dir/ironic.pid not found"
  end_process "$dir" TERM
  rm -rf -- "$dir"
}

cmd_restart() {
  local dir="" signal=TERM
  while [ $# -gt 0 ]; do
    case $1 in
      --kill) signal=KILL; shift ;;
      --dir) dir=${2-}; [ -n "$dir" ] || die "--dir needs a value"; shift 2 ;;
      -*) die "restart: unknown argument '$1'" ;;
      *) [ -z "$dir" ] || die "restart: one DIR only"; dir=$1; shift ;;
    esac
  done
  [ -n "$dir" ] || die "restart: give the DIR printed by start"
  [ -f "$dir/ironic.pid" ] && [ -f "$dir/ironic.conf" ] || die "restart: $dir holds no Ironic started by this script"
  dir=$(cd "$dir" && pwd)
  local port
  port=$(sed -n '/^\[api\]/,/^\[/s/^port = \([0-9]*\)$/\1/p' "$dir/ironic.conf")
  [ -n "$port" ] || die "restart: no [api] port in $dir/ironic.conf"
  local t0=$SECONDS
  end_process "$dir" "$signal"
  # Until the old listener is gone (SO_REUSEADDR, as Ironic binds: connections it left in
  # TIME_WAIT do not count), the new server could not bind.
  local i
  for i in $(seq 1 50); do
    "$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()' "$port" && break
    [ "$i" -lt 50 ] || die "restart: port $port on 127.0.0.1 is still in use"
    sleep 0.1
  done
  echo "ironic-standalone: restarting (SIG$signal) at http://127.0.0.1:$port" >>"$dir/ironic.log"
  launch "$dir" "$port"
  echo "ironic-standalone: restarted (SIG$signal) in $((SECONDS - t0)) s at http://127.0.0.1:$port" >&2
  print_started "$dir" "$port"
}

case ${1-} in
  check) have_ironic ;;
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *)
    echo "usage: $0 check | install | start [--port P] [--deploy-delay S] [--power-delay S] [--boot-delay S] [--dir DIR] [--neutron-url URL] [--auth-keystone FILE | --auth-basic HTPASSWD] [--max-concurrent-deploy N] [--max-concurrent-clean N] | restart DIR [--kill] | stop DIR" >&2
    exit 2
    ;;
esac
