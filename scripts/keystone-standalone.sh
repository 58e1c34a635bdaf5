#!/usr/bin/env bash
# A real OpenStack Keystone (Debian's python3-keystone) in front of a real Ironic on loopback, for
# tests and CI. ../shared/ironic/KEYSTONE.md (beside the repository) is the recipe it follows.
#
#   keystone-standalone.sh check
#       exits 0 when /usr/bin/python3 can import keystone and ironic (nothing is installed or started).
#   keystone-standalone.sh install
#       apt-installs python3-keystone (and python3-ironic through ironic-standalone.sh) when missing
#       (needs root).
#   keystone-standalone.sh start [--dir DIR] [--token-expiration S] [--token-cache-time S]
#                                [--basic | --basic-port P] [--deploy-delay S] [--power-delay S]
#                                [--boot-delay S] [--neutron-url URL]
#       installs if missing, then in DIR (default: a new mktemp -d): Keystone on a free 127.0.0.1
#       port (SQLite in WAL mode, fernet tokens, bcrypt rounds 4, [token] expiration S, default
#       3600), bootstrapped (user admin on project admin, region RegionOne), with the baremetal
#       service and its public and internal endpoints, project `service` with user `ironic` (admin),
#       project `demo` with user `demo` (member), and an application credential of admin's. Beside
#       it a real Ironic with auth_strategy = keystone (ironic-standalone.sh --auth-keystone; its
#       middleware's token_cache_time is S, default -1: every request is validated with Keystone,
#       so a revoked token is refused at once), and with --basic a second Ironic with
#       auth_strategy = http_basic (bcrypt htpasswd). Writes DIR/clouds.yaml (clouds
#       ironledger-admin, -demo, -appcred and, with --basic, ironledger-basic) and DIR/env (admin's
#       OS_* variables), and prints KEY=VALUE lines: KEYSTONE_URL (the auth_url, .../v3),
#       IRONIC_URL, the credentials, CLOUDS_YAML, pids and logs (all also kept in DIR/state.env).
#   keystone-standalone.sh appcred DIR [--expires-in S] [--name NAME] [--user admin|demo]
#       creates an application credential of that user (default admin) on their project, expiring
#       S seconds from now (default never), and prints APPCRED_ID, APPCRED_NAME, APPCRED_SECRET,
#       APPCRED_EXPIRES_AT. Its tokens end when it does: better for expiry tests than a short
#       token lifetime, which makes Ironic renew its own service token on every request.
#   keystone-standalone.sh stop-keystone DIR | start-keystone DIR [--token-expiration S]
#       stops only Keystone (Ironic with a token then answers 503), or starts it again on the same
#       port with the same database and keys, optionally with a new token lifetime for the tokens
#       it issues from then on (prints KEYSTONE_PID).
#   keystone-standalone.sh stop DIR
#       ends exactly the processes started with DIR (each checked by its command line), removes DIR.
#
# Nothing outside DIR is changed, apart from the apt install. The real-Keystone suite starts and
# stops it in test/keystone-real/global-setup.ts.
set -euo pipefail

# Debian's interpreter: a pyenv python3 earlier on PATH cannot see dist-packages.
PY=${KEYSTONE_PYTHON:-/usr/bin/python3}
READY_TIMEOUT_S=${KEYSTONE_READY_TIMEOUT_S:-90}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IRONIC_SCRIPT=$HERE/ironic-standalone.sh
REGION=RegionOne

die() {
  echo "keystone-standalone: $*" >&2
  exit 1
}

say() {
  echo "keystone-standalone: $*" >&2
}

# Found, not imported: importing keystone takes 2-7 s on a loaded machine.
have_keystone() {
  [ -x "$PY" ] && [ -f /usr/bin/keystone-wsgi-public ] && [ -f /usr/bin/keystone-manage ] &&
    "$PY" -c 'import importlib.util, sys
sys.exit(importlib.util.find_spec("keystone.server.wsgi") is None)' >/dev/null 2>&1
}

cmd_check() {
  have_keystone && IRONIC_PYTHON=$PY bash "$IRONIC_SCRIPT" check
}

cmd_install() {
  IRONIC_PYTHON=$PY bash "$IRONIC_SCRIPT" install
  if have_keystone; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "python3-keystone is not installed and installing it needs root: sudo bash $0 install"
  fi
  command -v apt-get >/dev/null || die "python3-keystone is missing and apt-get is not available"
  local t0=$SECONDS
  say "installing python3-keystone with apt ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends python3-keystone >&2
  have_keystone || die "python3-keystone installed but $PY cannot import keystone"
  say "installed python3-keystone in $((SECONDS - t0)) s"
}

check_port() {
  [[ "$2" =~ ^[0-9]{1,5}$ ]] && [ $((10#$2)) -ge 1 ] && [ $((10#$2)) -le 65535 ] ||
    die "$1 expects a TCP port from 1 to 65535, got '$2'"
}

check_seconds() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 expects whole seconds, got '$2'"
}

# N distinct ports nothing listens on right now: all bound at once, so they differ, then released.
free_ports() {
  "$PY" -c 'import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()' "$1"
}

# SO_REUSEADDR as Keystone's server sets it: a port that only has connections in TIME_WAIT (a
# Keystone just stopped) is free, one with a listener is not.
port_free() {
  "$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()' "$1"
}

# Whether pid $1 is alive AND is the process started with file $2 on its command line: a pid
# file naming a pid that was reused by another process must never lead to a signal.
ours() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ -r "/proc/$1/cmdline" ] &&
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# TERM, wait up to 10 s, then KILL: only a pid that ours() vouched for.
end_process() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# DIR/state.env: KEY=VALUE lines the other commands read back (values have no newlines).
state_set() {
  printf '%s=%s\n' "$2" "$3" >>"$1/state.env"
}

state_get() {
  local line
  line=$(grep -E "^$2=" "$1/state.env" | tail -n 1) || return 1
  printf '%s' "${line#*=}"
}

# The directory a command other than start is given: it must be one start made.
existing_dir() {
  [ -n "$2" ] || die "$1: give the DIR printed by start (KEYSTONE_DIR)"
  [ -f "$2/state.env" ] || die "$1: $2/state.env not found (not a directory made by start)"
  (cd "$2" && pwd)
}

# The REST calls against Keystone: token, catalog, projects, users, roles, app credentials.
# Secrets come in through the environment (never on a command line that ps shows).
REST_PY=$(
  cat <<'PY'
import datetime, json, os, sys, urllib.error, urllib.request

base = os.environ["KS_URL"]  # .../v3

def call(method, path, body=None, token=None, expect=(200, 201, 204)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            status, headers, text = res.status, res.headers, res.read().decode()
    except urllib.error.HTTPError as e:
        status, headers, text = e.code, e.headers, e.read().decode()
    if status not in expect:
        sys.exit(f"keystone-standalone: {method} {path} answered {status}: {text[:300]}")
    return headers, (json.loads(text) if text else None)

def password_token(user, password, project):
    headers, body = call("POST", "/auth/tokens", {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    return headers["X-Subject-Token"], body["token"]

def role_id(token, name):
    _, body = call("GET", "/roles?name=" + name, token=token)
    return body["roles"][0]["id"]

def project_user(token, project, user, password, role):
    _, p = call("POST", "/projects", {"project": {"name": project, "domain_id": "default"}}, token)
    pid = p["project"]["id"]
    _, u = call("POST", "/users", {"user": {"name": user, "domain_id": "default",
        "password": password, "default_project_id": pid}}, token)
    uid = u["user"]["id"]
    call("PUT", f"/projects/{pid}/users/{uid}/roles/{role_id(token, role)}", token=token)
    return pid, uid

def appcred(token, user_id, name, secret, expires_in):
    cred = {"name": name, "secret": secret}
    if expires_in is not None:
        at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
        cred["expires_at"] = at.strftime("%Y-%m-%dT%H:%M:%S")
    _, body = call("POST", f"/users/{user_id}/application_credentials",
                   {"application_credential": cred}, token)
    c = body["application_credential"]
    return c["id"], c["expires_at"] or ""

def out(key, value):
    print(f"{key}={value}")

cmd = sys.argv[1]
env = os.environ
if cmd == "setup":
    ironic_url = env["KS_IRONIC_URL"]
    token, data = password_token("admin", env["KS_ADMIN_PASSWORD"], "admin")
    _, s = call("POST", "/services", {"service": {"type": "baremetal", "name": "ironic",
        "enabled": True}}, token)
    for interface in ("public", "internal"):
        call("POST", "/endpoints", {"endpoint": {"service_id": s["service"]["id"],
            "interface": interface, "region_id": env["KS_REGION"], "url": ironic_url}}, token)
    project_user(token, "service", "ironic", env["KS_IRONIC_PASSWORD"], "admin")
    demo_project, demo_user = project_user(token, "demo", "demo", env["KS_DEMO_PASSWORD"], "member")
    cred_id, _ = appcred(token, data["user"]["id"], "ironledger", env["KS_APPCRED_SECRET"], None)
    out("ADMIN_USER_ID", data["user"]["id"])
    out("ADMIN_PROJECT_ID", data["project"]["id"])
    out("DEMO_USER_ID", demo_user)
    out("DEMO_PROJECT_ID", demo_project)
    out("APPCRED_ID", cred_id)
elif cmd == "appcred":
    user = env["KS_USER"]
    token, data = password_token(user, env["KS_PASSWORD"], env["KS_PROJECT"])
    expires_in = int(env["KS_EXPIRES_IN"]) if env.get("KS_EXPIRES_IN") else None
    cred_id, expires_at = appcred(token, data["user"]["id"], env["KS_NAME"], env["KS_SECRET"],
                                  expires_in)
    out("APPCRED_ID", cred_id)
    out("APPCRED_NAME", env["KS_NAME"])
    out("APPCRED_SECRET", env["KS_SECRET"])
    out("APPCRED_EXPIRES_AT", expires_at)
else:
    sys.exit("keystone-standalone: unknown REST command " + cmd)
PY
)

random_secret() {
  "$PY" -c 'import secrets, sys; print(sys.argv[1] + "-" + secrets.token_hex(12))' "$1"
}

# keystone-manage with our config only; its stdout and stderr go to DIR/keystone-manage.log.
# (At exit it prints a harmless "Exception ignored in: <function _removeHandlerRef ...>".)
keystone_manage() {
  local dir=$1
  shift
  "$PY" /usr/bin/keystone-manage --config-file "$dir/keystone/keystone.conf" "$@" \
    >>"$dir/keystone-manage.log" 2>&1 ||
    { tail -n 40 "$dir/keystone-manage.log" >&2; die "keystone-manage $1 failed (log: $dir/keystone-manage.log)"; }
}

# Starts keystone-wsgi-public (wsgiref, one request at a time) and waits until GET /v3 is 200.
launch_keystone() {
  local dir=$1 port=$2 conf=$1/keystone/keystone.conf log=$1/keystone.log
  port_free "$port" || die "port $port on 127.0.0.1 is in use: Keystone cannot listen there"
  # setsid: the server must outlive this script and must not get the caller's Ctrl-C; without
  # job control setsid execs in place, so $! is the python process itself.
  setsid "$PY" /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port "$port" -- \
    --config-file "$conf" </dev/null >>"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/keystone.pid"
  local url=http://127.0.0.1:$port/v3 deadline=$((SECONDS + READY_TIMEOUT_S)) code
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$log" >&2
      die "keystone exited during start-up (log: $log)"
    fi
    code=$("$PY" -c 'import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        ok = r.status == 200 and json.load(r)["version"]["id"].startswith("v3")
        print(200 if ok else 0)
except Exception:
    print(0)' "$url")
    [ "$code" = 200 ] && break
    if [ $SECONDS -ge $deadline ]; then
      tail -n 40 "$log" >&2
      kill "$pid" 2>/dev/null || true
      die "keystone did not answer 200 on $url within ${READY_TIMEOUT_S} s (log: $log)"
    fi
    sleep 0.3
  done
}

write_keystone_config() {
  local dir=$1 expiration=$2
  mkdir -p "$dir/keystone"
  cat >"$dir/keystone/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///$dir/keystone/keystone.sqlite

[token]
provider = fernet
expiration = $expiration

[fernet_tokens]
key_repository = $dir/keystone/fernet-keys

[credential]
key_repository = $dir/keystone/credential-keys

# bcrypt's minimum: a password token in ~0.15 s instead of ~0.7 s (affects passwords set later).
[identity]
password_hash_rounds = 4
EOF
}

# The [keystone_authtoken] section Ironic's ironic.conf gets (oslo.config: no inline comments).
write_authtoken() {
  local file=$1 ks_url=$2 password=$3 cache_time=$4
  cat >"$file" <<EOF
[keystone_authtoken]
www_authenticate_uri = $ks_url
auth_url = $ks_url
auth_type = password
username = ironic
password = $password
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = $REGION
# -1: no cache, every token is validated with Keystone (a cached token hides its revocation).
token_cache_time = $cache_time
service_token_roles_required = true
EOF
}

# JSON strings are YAML scalars: every value is written quoted that way.
write_clouds_yaml() {
  local dir=$1 basic_url=$2
  KS_DIR=$dir KS_BASIC_URL=$basic_url "$PY" - <<'PY'
import json, os
d = os.environ["KS_DIR"]
st = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(d, "state.env")) if "=" in l)
q = json.dumps
def password_cloud(name, who):
    return f"""  {name}:
    auth_type: password
    auth:
      auth_url: {q(st["KEYSTONE_URL"])}
      username: {q(st[who + "_USERNAME"])}
      password: {q(st[who + "_PASSWORD"])}
      project_name: {q(st[who + "_PROJECT_NAME"])}
      user_domain_name: {q(st["OS_USER_DOMAIN_NAME"])}
      project_domain_name: {q(st["OS_PROJECT_DOMAIN_NAME"])}
    region_name: {q(st["OS_REGION_NAME"])}
    interface: public
"""
text = "# Written by scripts/keystone-standalone.sh for the servers in this directory.\nclouds:\n"
text += password_cloud("ironledger-admin", "ADMIN")
text += password_cloud("ironledger-demo", "DEMO")
text += f"""  ironledger-appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: {q(st["KEYSTONE_URL"])}
      application_credential_id: {q(st["APPCRED_ID"])}
      application_credential_secret: {q(st["APPCRED_SECRET"])}
    region_name: {q(st["OS_REGION_NAME"])}
    interface: public
"""
if os.environ["KS_BASIC_URL"]:
    text += f"""  ironledger-basic:
    auth_type: http_basic
    auth:
      username: {q(st["BASIC_USERNAME"])}
      password: {q(st["BASIC_PASSWORD"])}
      endpoint: {q(st["IRONIC_BASIC_URL"])}
    baremetal_endpoint_override: {q(st["IRONIC_BASIC_URL"])}
"""
with open(os.path.join(d, "clouds.yaml"), "w") as f:
    f.write(text)
with open(os.path.join(d, "env"), "w") as f:
    for k, v in [("OS_AUTH_URL", st["KEYSTONE_URL"]), ("OS_AUTH_TYPE", "password"),
                 ("OS_IDENTITY_API_VERSION", "3"), ("OS_USERNAME", st["ADMIN_USERNAME"]),
                 ("OS_PASSWORD", st["ADMIN_PASSWORD"]), ("OS_PROJECT_NAME", st["ADMIN_PROJECT_NAME"]),
                 ("OS_USER_DOMAIN_NAME", st["OS_USER_DOMAIN_NAME"]),
                 ("OS_PROJECT_DOMAIN_NAME", st["OS_PROJECT_DOMAIN_NAME"]),
                 ("OS_REGION_NAME", st["OS_REGION_NAME"]), ("OS_INTERFACE", "public")]:
        f.write(f"{k}={v}\n")
PY
}

# Set while start runs: on a failure, end what it had started (logs stay in DIR).
START_DIR=""
START_IRONIC_JOBS=()

abort_start() {
  local rc=$?
  [ -n "$START_DIR" ] || return 0
  trap - EXIT
  local job
  for job in "${START_IRONIC_JOBS[@]}"; do wait "$job" 2>/dev/null || true; done
  stop_all "$START_DIR" keep
  say "start failed; its processes are stopped, logs are in $START_DIR"
  exit "$rc"
}

# Stops the Ironic(s) and Keystone started with DIR; removes DIR unless $2 = keep.
stop_all() {
  local dir=$1 sub pid
  for sub in ironic ironic-basic; do
    [ -f "$dir/$sub/ironic.pid" ] || continue
    if [ "${2-}" = keep ]; then
      pid=$(cat "$dir/$sub/ironic.pid")
      if [[ "$pid" =~ ^[0-9]+$ ]] && ours "$pid" "$dir/$sub/ironic.conf"; then end_process "$pid"; fi
    else
      IRONIC_PYTHON=$PY bash "$IRONIC_SCRIPT" stop "$dir/$sub"
    fi
  done
  stop_keystone_process "$dir"
  [ "${2-}" = keep ] || rm -rf -- "$dir"
}

stop_keystone_process() {
  local dir=$1 pid
  [ -f "$dir/keystone.pid" ] || return 0
  pid=$(cat "$dir/keystone.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || die "bad pid file $dir/keystone.pid"
  if ours "$pid" "$dir/keystone/keystone.conf"; then end_process "$pid"; fi
  rm -f -- "$dir/keystone.pid"
}

cmd_start() {
  local dir="" expiration=3600 cache_time=-1 basic=no basic_port=""
  local ironic_args=()
  while [ $# -gt 0 ]; do
    case $1 in
      --dir) dir=${2-}; [ -n "$dir" ] || die "--dir needs a value"; shift 2 ;;
      --token-expiration)
        [[ "${2-}" =~ ^[0-9]+$ ]] && [ $((10#$2)) -ge 1 ] ||
          die "--token-expiration expects whole seconds >= 1, got '${2-}'"
        expiration=$((10#$2)); shift 2 ;;
      --token-cache-time)
        [[ "${2-}" =~ ^(-1|[0-9]+)$ ]] || die "--token-cache-time expects whole seconds or -1, got '${2-}'"
        cache_time=$2; shift 2 ;;
      --basic) basic=yes; shift ;;
      --basic-port) check_port "$1" "${2-}"; basic=yes; basic_port=$((10#$2)); shift 2 ;;
      --deploy-delay | --power-delay | --boot-delay)
        check_seconds "$1" "${2-}"; ironic_args+=("$1" "$2"); shift 2 ;;
      --neutron-url) [ -n "${2-}" ] || die "--neutron-url needs a value"; ironic_args+=("$1" "$2"); shift 2 ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done

  cmd_install
  local t0=$SECONDS
  # Passwords go into state.env, clouds.yaml, env, htpasswd and ironic.conf: owner only.
  umask 077
  if [ -n "$basic_port" ] && ! port_free "$basic_port"; then
    die "port $basic_port on 127.0.0.1 is in use"
  fi
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/keystone-standalone.XXXXXX")
  else
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "--dir $dir is not empty"
  fi
  dir=$(cd "$dir" && pwd)
  START_DIR=$dir
  trap abort_start EXIT

  local ports ks_port ironic_port
  read -r ks_port ironic_port ports < <(free_ports 3)
  [ -n "$basic_port" ] || basic_port=$ports
  local ks_url=http://127.0.0.1:$ks_port/v3 ironic_url=http://127.0.0.1:$ironic_port basic_url=""
  [ "$basic" = yes ] && basic_url=http://127.0.0.1:$basic_port

  local admin_pw ironic_pw demo_pw appcred_secret basic_pw
  admin_pw=$(random_secret admin)
  ironic_pw=$(random_secret ironic)
  demo_pw=$(random_secret demo)
  appcred_secret=$(random_secret appcred)
  basic_pw=$(random_secret basic)

  : >"$dir/state.env"
  state_set "$dir" KEYSTONE_URL "$ks_url"
  state_set "$dir" KEYSTONE_PORT "$ks_port"
  state_set "$dir" KEYSTONE_DIR "$dir"
  state_set "$dir" KEYSTONE_LOG "$dir/keystone.log"
  state_set "$dir" IRONIC_URL "$ironic_url"
  state_set "$dir" OS_REGION_NAME "$REGION"
  state_set "$dir" OS_USER_DOMAIN_NAME Default
  state_set "$dir" OS_PROJECT_DOMAIN_NAME Default
  state_set "$dir" ADMIN_USERNAME admin
  state_set "$dir" ADMIN_PASSWORD "$admin_pw"
  state_set "$dir" ADMIN_PROJECT_NAME admin
  state_set "$dir" DEMO_USERNAME demo
  state_set "$dir" DEMO_PASSWORD "$demo_pw"
  state_set "$dir" DEMO_PROJECT_NAME demo
  state_set "$dir" APPCRED_SECRET "$appcred_secret"
  state_set "$dir" TOKEN_EXPIRATION "$expiration"
  state_set "$dir" TOKEN_CACHE_TIME "$cache_time"

  # Ironic first: it talks to Keystone only at its first authenticated request, so it boots
  # while Keystone's database is made (KEYSTONE.md).
  write_authtoken "$dir/keystone_authtoken.conf" "$ks_url" "$ironic_pw" "$cache_time"
  IRONIC_PYTHON=$PY bash "$IRONIC_SCRIPT" start --dir "$dir/ironic" --port "$ironic_port" \
    --auth-keystone "$dir/keystone_authtoken.conf" "${ironic_args[@]}" \
    >"$dir/ironic-start.out" 2>"$dir/ironic-start.err" &
  START_IRONIC_JOBS+=($!)
  if [ "$basic" = yes ]; then
    "$PY" -c 'import bcrypt, sys
print(sys.argv[1] + ":" + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(rounds=4)).decode())' \
      admin "$basic_pw" >"$dir/htpasswd"
    state_set "$dir" IRONIC_BASIC_URL "$basic_url"
    state_set "$dir" BASIC_USERNAME admin
    state_set "$dir" BASIC_PASSWORD "$basic_pw"
    IRONIC_PYTHON=$PY bash "$IRONIC_SCRIPT" start --dir "$dir/ironic-basic" --port "$basic_port" \
      --auth-basic "$dir/htpasswd" "${ironic_args[@]}" \
      >"$dir/ironic-basic-start.out" 2>"$dir/ironic-basic-start.err" &
    START_IRONIC_JOBS+=($!)
  fi

  write_keystone_config "$dir" "$expiration"
  local phase=$SECONDS phases=""
  keystone_manage "$dir" db_sync
  phases+="db_sync $((SECONDS - phase)) s"
  phase=$SECONDS
  # Without WAL a second write while Keystone serves another hangs 5 s and fails "database is
  # locked" (KEYSTONE.md). The mode is kept in the file.
  # The key repositories as keystone-manage fernet_setup and credential_setup leave them (key 0
  # staged, key 1 primary, owner only), written here: each keystone-manage run costs 3-7 s of
  # imports on a loaded machine.
  "$PY" -c 'import os, sqlite3, sys
from cryptography.fernet import Fernet
c = sqlite3.connect(sys.argv[1])
assert c.execute("pragma journal_mode=wal").fetchone()[0] == "wal"
c.close()
for repo in sys.argv[2:]:
    os.mkdir(repo, 0o700)
    for name in ("0", "1"):
        fd = os.open(os.path.join(repo, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, Fernet.generate_key())
        os.close(fd)' "$dir/keystone/keystone.sqlite" "$dir/keystone/fernet-keys" "$dir/keystone/credential-keys"
  # The admin password is read from OS_BOOTSTRAP_PASSWORD, never from the command line.
  OS_BOOTSTRAP_PASSWORD=$admin_pw keystone_manage "$dir" bootstrap --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "$ks_url" --bootstrap-internal-url "$ks_url" --bootstrap-public-url "$ks_url"
  phases+=", keys + bootstrap $((SECONDS - phase)) s"
  phase=$SECONDS
  launch_keystone "$dir" "$ks_port"
  state_set "$dir" KEYSTONE_PID "$(cat "$dir/keystone.pid")"
  phases+=", Keystone boot $((SECONDS - phase)) s"
  phase=$SECONDS

  local setup
  setup=$(KS_URL=$ks_url KS_IRONIC_URL=$ironic_url KS_REGION=$REGION KS_ADMIN_PASSWORD=$admin_pw \
    KS_IRONIC_PASSWORD=$ironic_pw KS_DEMO_PASSWORD=$demo_pw KS_APPCRED_SECRET=$appcred_secret \
    "$PY" -c "$REST_PY" setup) || die "registering Ironic in Keystone failed (log: $dir/keystone.log)"
  printf '%s\n' "$setup" >>"$dir/state.env"
  phases+=", REST setup $((SECONDS - phase)) s"
  phase=$SECONDS

  local job sub
  for job in "${START_IRONIC_JOBS[@]}"; do
    wait "$job" || true
  done
  for sub in ironic ironic-basic; do
    [ "$sub" = ironic ] || [ "$basic" = yes ] || continue
    local out=$dir/$sub-start.out prefix=IRONIC
    [ "$sub" = ironic ] || prefix=IRONIC_BASIC
    grep -q '^IRONIC_URL=' "$out" || { cat "$dir/$sub-start.err" >&2; die "$sub did not start"; }
    grep '^ironic-standalone:' "$dir/$sub-start.err" | sed "s/^ironic-standalone:/ironic-standalone ($sub):/" >&2 || true
    state_set "$dir" "${prefix}_PID" "$(grep '^IRONIC_PID=' "$out" | cut -d= -f2)"
    state_set "$dir" "${prefix}_LOG" "$(grep '^IRONIC_LOG=' "$out" | cut -d= -f2)"
  done

  phases+=", then waited $((SECONDS - phase)) s for Ironic"
  write_clouds_yaml "$dir" "$basic_url"
  state_set "$dir" CLOUDS_YAML "$dir/clouds.yaml"
  state_set "$dir" OS_ENV_FILE "$dir/env"

  trap - EXIT
  START_DIR=""
  say "Keystone at $ks_url and Ironic at $ironic_url${basic_url:+ (basic: $basic_url)} up in $((SECONDS - t0)) s ($phases)"
  cat "$dir/state.env"
}

cmd_appcred() {
  local dir
  dir=$(existing_dir appcred "${1-}")
  shift
  local expires_in="" name="" user=admin
  while [ $# -gt 0 ]; do
    case $1 in
      --expires-in)
        [[ "${2-}" =~ ^[0-9]+$ ]] && [ $((10#$2)) -ge 1 ] || die "--expires-in expects whole seconds >= 1, got '${2-}'"
        expires_in=$((10#$2)); shift 2 ;;
      --name) name=${2-}; [[ "$name" =~ ^[A-Za-z0-9_.-]{1,200}$ ]] || die "--name expects letters, digits, _ . -"; shift 2 ;;
      --user) user=${2-}; [ "$user" = admin ] || [ "$user" = demo ] || die "--user is admin or demo"; shift 2 ;;
      *) die "appcred: unknown argument '$1'" ;;
    esac
  done
  local prefix=ADMIN
  [ "$user" = admin ] || prefix=DEMO
  [ -n "$name" ] || name=appcred-$("$PY" -c 'import secrets; print(secrets.token_hex(6))')
  KS_URL=$(state_get "$dir" KEYSTONE_URL) KS_USER=$user KS_PASSWORD=$(state_get "$dir" "${prefix}_PASSWORD") \
    KS_PROJECT=$(state_get "$dir" "${prefix}_PROJECT_NAME") KS_NAME=$name KS_SECRET=$(random_secret appcred) \
    KS_EXPIRES_IN=$expires_in "$PY" -c "$REST_PY" appcred
}

cmd_stop_keystone() {
  local dir
  dir=$(existing_dir stop-keystone "${1-}")
  stop_keystone_process "$dir"
}

cmd_start_keystone() {
  local dir pid
  dir=$(existing_dir start-keystone "${1-}")
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --token-expiration)
        [[ "${2-}" =~ ^[0-9]+$ ]] && [ $((10#$2)) -ge 1 ] ||
          die "--token-expiration expects whole seconds >= 1, got '${2-}'"
        # Tokens issued before keep their own expires_at (it is inside the fernet token).
        sed -i "s/^expiration = .*/expiration = $((10#$2))/" "$dir/keystone/keystone.conf"
        state_set "$dir" TOKEN_EXPIRATION "$((10#$2))"
        shift 2 ;;
      *) die "start-keystone: unknown argument '$1'" ;;
    esac
  done
  if [ -f "$dir/keystone.pid" ]; then
    pid=$(cat "$dir/keystone.pid")
    ! ours "$pid" "$dir/keystone/keystone.conf" || die "start-keystone: Keystone is running (pid $pid)"
  fi
  launch_keystone "$dir" "$(state_get "$dir" KEYSTONE_PORT)"
  pid=$(cat "$dir/keystone.pid")
  state_set "$dir" KEYSTONE_PID "$pid"
  echo "KEYSTONE_PID=$pid"
}

cmd_stop() {
  local dir
  case ${1-} in
    --dir) dir=$(existing_dir stop "${2-}") ;;
    *) dir=$(existing_dir stop "${1-}") ;;
  esac
  stop_all "$dir"
}

case ${1-} in
  check) cmd_check ;;
  install) shift; cmd_install ;;
  start) shift; cmd_start "$@" ;;
  appcred) shift; cmd_appcred "$@" ;;
  stop-keystone) shift; cmd_stop_keystone "$@" ;;
  start-keystone) shift; cmd_start_keystone "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *)
    echo "usage: $0 check | install | start [--dir DIR] [--token-expiration S] [--token-cache-time S] [--basic | --basic-port P] [--deploy-delay S] [--power-delay S] [--boot-delay S] [--neutron-url URL] | appcred DIR [--expires-in S] [--name NAME] [--user admin|demo] | stop-keystone DIR | start-keystone DIR [--token-expiration S] | stop DIR" >&2
    exit 2
    ;;
esac
