#!/usr/bin/env bash
# Starts and checks what a real `pulumi up --stack local` needs on this machine, as Pulumi.local.yaml
# describes it:
#   postgresql  PostgreSQL 15 on 127.0.0.1:<greenlight:dbPort> with the database <greenlight:dbName>; the
#               admin <greenlight:dbAdminUser> logs in over TCP without a password (trust: the stack sets no
#               dbAdminPassword), every other role with its password (scram-sha-256: the migrator and app
#               roles pulumi up creates)
#   s3          s3rver (node_modules) on the port of <greenlight:s3Endpoint>, credentials S3RVER/S3RVER;
#               the bucket <greenlight:backupBucket> is created by pulumi up (a bucket made here would make
#               its create fail)
#   docker      a Docker engine that answers (dockerd is started when installed and not running)
#   images      the images of <greenlight:blueImage> and <greenlight:greenImage> (greenlight-sample:v1, v2),
#               built without a registry by tests/fixtures/app/build.ts
#   tools       pg_dump/pg_restore 15 and haproxy, which the backup and switch steps run
# Usage: scripts/local-services.sh [--check | --stop]
#   (none)   start what is down; a second run says what is already up and changes nothing
#   --check  only report; exit 0 when everything is up, 1 otherwise
#   --stop   stop what this script started (never a service it found running); data stays
# State (pid files, data, logs) lives in .greenlight/local-services/ (gitignored). Environment overrides,
# for a machine whose ports are taken (then set the same ports in Pulumi.local.yaml):
#   GREENLIGHT_LOCAL_STATE  state folder          GREENLIGHT_PG_PORT  PostgreSQL port
#   GREENLIGHT_S3_PORT      s3rver port           GREENLIGHT_PG_BIN   PostgreSQL 15 binaries
#   GREENLIGHT_STACK_FILE   the stack file (default Pulumi.local.yaml)
# Exit 0: everything up (or stopped); 1: a service is down or could not start (the line says why); 2: usage.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="start"
case "${1:-}" in
  "") ;;
  --check) MODE="check" ;;
  --stop) MODE="stop" ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "local-services: unknown argument '$1'; use --check, --stop or nothing (start); --help explains" >&2
    exit 2
    ;;
esac
if [ "$#" -gt 1 ]; then
  echo "local-services: one argument at most, got $#: $*; --help explains" >&2
  exit 2
fi

STACK_FILE="${GREENLIGHT_STACK_FILE:-$ROOT/Pulumi.local.yaml}"
if [ ! -f "$STACK_FILE" ]; then
  echo "local-services: $STACK_FILE does not exist: run this from the greenlight project" >&2
  exit 2
fi
if [ ! -d "$ROOT/node_modules/yaml" ] || [ ! -d "$ROOT/node_modules/s3rver" ]; then
  echo "local-services: $ROOT/node_modules is not installed: run npm ci first" >&2
  exit 2
fi

# The stack's values, read with the project's own YAML parser: name=value lines. A file it cannot read
# is one line naming the file and the problem, exit 2 (never a stack trace).
if ! values="$(
  cd "$ROOT" && STACK_FILE="$STACK_FILE" node -e '
    const { parse } = require("yaml");
    const file = process.env.STACK_FILE;
    let config;
    try {
      config = parse(require("fs").readFileSync(file, "utf8"))?.config || {};
    } catch (error) {
      const first = String(error.message).split("\n")[0];
      process.stderr.write(`local-services: ${file} is not readable YAML: ${first}; fix the file (pulumi config set writes it correctly)\n`);
      process.exit(2);
    }
    const get = (key, fallback) => (config["greenlight:" + key] ?? fallback);
    let endpoint;
    try {
      endpoint = new URL(String(get("s3Endpoint", "http://127.0.0.1:4569")));
    } catch {
      process.stderr.write(`local-services: ${file}: greenlight:s3Endpoint ${JSON.stringify(get("s3Endpoint"))} is not a URL such as http://127.0.0.1:4569\n`);
      process.exit(2);
    }
    const values = {
      DB_PORT: get("dbPort", 5432),
      DB_NAME: get("dbName", "shop"),
      DB_ADMIN: get("dbAdminUser", "postgres"),
      S3_PORT: endpoint.port || 80,
      BUCKET: get("backupBucket", ""),
      IMAGES: [get("blueImage", ""), get("greenImage", "")].join(" "),
    };
    for (const [name, value] of Object.entries(values)) {
      if (!/^[A-Za-z0-9_.:\/ -]*$/.test(String(value))) {
        process.stderr.write(`local-services: ${file}: the value for ${name} ${JSON.stringify(value)} has characters a stack value cannot have\n`);
        process.exit(2);
      }
      console.log(`${name}="${value}"`);
    }
  '
)"; then
  exit 2
fi
eval "$values"

STATE="${GREENLIGHT_LOCAL_STATE:-$ROOT/.greenlight/local-services}"
PG_PORT="${GREENLIGHT_PG_PORT:-$DB_PORT}"
S3_PORT="${GREENLIGHT_S3_PORT:-$S3_PORT}"
PG_BIN="${GREENLIGHT_PG_BIN:-/usr/lib/postgresql/15/bin}"
for port in "$PG_PORT" "$S3_PORT"; do
  if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "local-services: port '$port' is not a TCP port (1-65535); check GREENLIGHT_PG_PORT / GREENLIGHT_S3_PORT" >&2
    exit 2
  fi
done

PG_DIR="$STATE/postgresql"
# A Unix socket's path holds at most 107 bytes (sun_path): under a deep checkout, the cluster's socket
# goes to a short folder named after the state folder instead.
PG_SOCKET_DIR="$PG_DIR/socket"
if [ $(( ${#PG_SOCKET_DIR} + ${#PG_PORT} + 10 )) -gt 107 ]; then
  PG_SOCKET_DIR="/tmp/greenlight-pg-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)"
fi
S3_DIR="$STATE/s3rver"
DOCKER_DIR="$STATE/docker"
failed=0

# One line per service: name, state, detail.
report() { printf '%-11s %-9s %s\n' "$1" "$2" "$3"; }
down() {
  report "$1" "down" "$2"
  failed=1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# --- PostgreSQL --------------------------------------------------------------------------------------

pg_ours_running() { [ -f "$PG_DIR/data/PG_VERSION" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; }
pg_ours_port() { sed -n '4p' "$PG_DIR/data/postmaster.pid" 2>/dev/null; }
psql_admin() { psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_ADMIN" -d postgres -v ON_ERROR_STOP=1 "$@"; }

pg_describe() {
  local owner="$1"
  if ! PGCONNECT_TIMEOUT=5 psql_admin -w -tAc "SELECT 1" >/dev/null 2>&1; then
    down postgresql "127.0.0.1:$PG_PORT answers, but $DB_ADMIN cannot log in without a password (the local stack sets no greenlight:dbAdminPassword): stop that server, or run with GREENLIGHT_PG_PORT=<free port> and set greenlight:dbPort to it"
    return
  fi
  local version
  version="$(psql_admin -w -tAc "SHOW server_version_num")"
  if [ "${version:0:2}" != "15" ]; then
    down postgresql "127.0.0.1:$PG_PORT runs PostgreSQL $version; greenlight's steps use PostgreSQL 15 (pg_dump 15 cannot dump a newer server)"
    return
  fi
  local database="database $DB_NAME"
  if [ "$(psql_admin -w -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]; then
    if [ "$MODE" = "start" ]; then
      psql_admin -w -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
      database="database $DB_NAME created"
    else
      down postgresql "127.0.0.1:$PG_PORT is up, but the database $DB_NAME does not exist (run without --check to create it)"
      return
    fi
  fi
  report postgresql "up" "127.0.0.1:$PG_PORT, $database, $DB_ADMIN without password; $owner"
}

pg_start() {
  if [ ! -x "$PG_BIN/postgres" ]; then
    down postgresql "no PostgreSQL 15 server in $PG_BIN: apt-get install postgresql (or set GREENLIGHT_PG_BIN)"
    return
  fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      install -d -o postgres -g postgres -m 755 "$PG_DIR" "$PG_SOCKET_DIR"
      install -d -o postgres -g postgres -m 700 "$PG_DIR/data"
    else
      install -d -m 755 "$PG_DIR" "$PG_SOCKET_DIR"
      install -d -m 700 "$PG_DIR/data"
    fi
    as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$DB_ADMIN" -A trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 || {
      down postgresql "initdb failed; see $PG_DIR/initdb.log"
      return
    }
    # The admin over loopback without a password (as the stack expects), everyone else with theirs.
    as_postgres tee "$PG_DIR/data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all $DB_ADMIN 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  fi
  # The socket folder may be a short one under /tmp, which a reboot empties: made on every start.
  if [ "$(id -u)" -eq 0 ]; then
    install -d -o postgres -g postgres -m 755 "$PG_SOCKET_DIR"
  else
    install -d -m 755 "$PG_SOCKET_DIR"
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_SOCKET_DIR -c listen_addresses=127.0.0.1" start >/dev/null 2>&1 || {
    down postgresql "pg_ctl start failed on 127.0.0.1:$PG_PORT; see $PG_DIR/postgres.log"
    return
  }
  pg_describe "started now (data in $PG_DIR/data)"
}

postgresql() {
  if pg_ours_running; then
    local running_port
    running_port="$(pg_ours_port)"
    if [ "$running_port" != "$PG_PORT" ]; then
      down postgresql "this script's cluster runs on port $running_port, not $PG_PORT: run --stop, then start again"
      return
    fi
    if [ "$MODE" = "stop" ]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
      report postgresql "stopped" "127.0.0.1:$PG_PORT (data kept in $PG_DIR/data)"
      return
    fi
    pg_describe "$([ "$MODE" = start ] && echo "already up, " || true)started by this script"
  elif [ "$MODE" = "stop" ]; then
    report postgresql "left" "not started by this script$(port_open "$PG_PORT" && echo "; 127.0.0.1:$PG_PORT belongs to another server" || true)"
  elif port_open "$PG_PORT"; then
    pg_describe "$([ "$MODE" = start ] && echo "already up, " || true)not started by this script (--stop leaves it)"
  elif [ "$MODE" = "check" ]; then
    down postgresql "nothing answers on 127.0.0.1:$PG_PORT (run scripts/local-services.sh to start it)"
  else
    pg_start
  fi
}

# --- S3-compatible server --------------------------------------------------------------------------

s3_pid() {
  local pid
  pid="$(cat "$S3_DIR/s3rver.pid" 2>/dev/null || true)"
  # Only a live s3rver serving this script's data folder counts as ours.
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "s3rver.js -d $S3_DIR/data"; then
    echo "$pid"
  fi
}
s3_answers() { curl -s -m 5 "http://127.0.0.1:$S3_PORT/" 2>/dev/null | grep -q "ListAllMyBucketsResult"; }

s3_describe() {
  local bucket="bucket $BUCKET: not there yet (pulumi up creates it)"
  if curl -s -m 5 "http://127.0.0.1:$S3_PORT/" | grep -q "<Name>$BUCKET</Name>"; then bucket="bucket $BUCKET exists"; fi
  report s3 "up" "http://127.0.0.1:$S3_PORT, $bucket; $1"
}

s3() {
  local pid
  pid="$(s3_pid)"
  if [ -n "$pid" ]; then
    if [ "$MODE" = "stop" ]; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$S3_DIR/s3rver.pid"
      report s3 "stopped" "s3rver pid $pid (data kept in $S3_DIR/data)"
    elif s3_answers; then
      s3_describe "$([ "$MODE" = start ] && echo "already up, " || true)s3rver pid $pid started by this script"
    else
      down s3 "s3rver pid $pid runs but http://127.0.0.1:$S3_PORT does not answer as S3; see $S3_DIR/s3rver.log"
    fi
  elif [ "$MODE" = "stop" ]; then
    report s3 "left" "not started by this script"
  elif port_open "$S3_PORT"; then
    if s3_answers; then
      s3_describe "$([ "$MODE" = start ] && echo "already up, " || true)not started by this script (--stop leaves it)"
    else
      down s3 "127.0.0.1:$S3_PORT is taken by something that is not an S3 server: free it, or run with GREENLIGHT_S3_PORT=<free port> and set greenlight:s3Endpoint to it"
    fi
  elif [ "$MODE" = "check" ]; then
    down s3 "nothing answers on 127.0.0.1:$S3_PORT (run scripts/local-services.sh to start it)"
  else
    mkdir -p "$S3_DIR/data"
    setsid node "$ROOT/node_modules/s3rver/bin/s3rver.js" -d "$S3_DIR/data" -a 127.0.0.1 -p "$S3_PORT" --silent \
      </dev/null >"$S3_DIR/s3rver.log" 2>&1 &
    echo $! >"$S3_DIR/s3rver.pid"
    for _ in $(seq 100); do s3_answers && break; sleep 0.1; done
    if s3_answers; then
      s3_describe "started now (s3rver pid $(cat "$S3_DIR/s3rver.pid"), data in $S3_DIR/data)"
    else
      down s3 "s3rver did not answer on 127.0.0.1:$S3_PORT within 10 s; see $S3_DIR/s3rver.log"
    fi
  fi
}

# --- Docker -------------------------------------------------------------------------------------------

docker_version() { docker info --format '{{.ServerVersion}}' 2>/dev/null; }
docker_ours() {
  local pid
  pid="$(cat "$DOCKER_DIR/dockerd.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ]; then echo "$pid"; fi
}

docker_service() {
  local ours version
  ours="$(docker_ours)"
  if [ "$MODE" = "stop" ]; then
    if [ -n "$ours" ]; then
      kill "$ours"
      for _ in $(seq 100); do kill -0 "$ours" 2>/dev/null || break; sleep 0.1; done
      report docker "stopped" "dockerd pid $ours (its containers stopped with it)"
    else
      report docker "left" "not started by this script"
    fi
    return
  fi
  version="$(docker_version || true)"
  local problem
  problem="$( (docker version 2>&1 >/dev/null || true) | grep -i 'permission denied' | head -n 1 || true)"
  if [ -z "$version" ] && [[ "$problem" == *"permission denied"* ]]; then
    # The engine runs; its socket refuses this user (it is not in the docker group).
    down docker "Docker's socket refuses $(id -un) (permission denied): add the user to the docker group (sudo usermod -aG docker $(id -un), then log in again) or run as root"
  elif [ -n "$version" ]; then
    report docker "up" "Docker $version; $([ "$MODE" = start ] && echo "already up, " || true)$([ -n "$ours" ] && echo "dockerd pid $ours started by this script" || echo "not started by this script (--stop leaves it)")"
  elif [ "$MODE" = "check" ]; then
    down docker "no Docker engine answers (run scripts/local-services.sh to start dockerd)"
  elif ! command -v dockerd >/dev/null 2>&1; then
    down docker "no Docker engine answers and dockerd is not installed: apt-get install docker.io"
  elif [ "$(id -u)" -ne 0 ]; then
    down docker "no Docker engine answers and starting dockerd needs root: sudo dockerd &, or start Docker your usual way"
  else
    mkdir -p "$DOCKER_DIR"
    setsid dockerd --pidfile "$DOCKER_DIR/dockerd.pid" </dev/null >"$DOCKER_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 120); do version="$(docker_version || true)"; [ -n "$version" ] && break; sleep 0.5; done
    if [ -n "$version" ]; then
      report docker "up" "Docker $version; started now (dockerd pid $(docker_ours))"
    else
      down docker "dockerd did not answer within 60 s; see $DOCKER_DIR/dockerd.log"
    fi
  fi
}

# --- The sample images -------------------------------------------------------------------------------

image_id() { docker image inspect --format "{{.Id}}" "$1" 2>/dev/null | cut -c8-19 || true; }

images() {
  [ "$MODE" = "stop" ] && return
  if [ -z "$(docker_version || true)" ]; then
    down images "cannot look at $IMAGES: no Docker engine answers"
    return
  fi
  local before=() names=() image missing=()
  for image in $IMAGES; do
    before+=("$(image_id "$image")")
    [ -z "${before[-1]}" ] && missing+=("$image")
    names+=("${image#greenlight-sample:}")
  done
  if [ "$MODE" = "check" ]; then
    if [ ${#missing[@]} -gt 0 ]; then
      down images "missing ${missing[*]} (run scripts/local-services.sh to build them)"
    else
      report images "up" "$(for image in $IMAGES; do printf '%s %s  ' "$image" "$(image_id "$image")"; done)"
    fi
    return
  fi
  for image in $IMAGES; do
    if [[ "$image" != greenlight-sample:* ]]; then
      down images "$image is not a sample image this script can build; pull or build it yourself"
      return
    fi
  done
  # build.ts rebuilds only when the sample app's files changed (a content label on the image).
  if ! (cd "$ROOT" && npx --no-install ts-node --transpile-only tests/fixtures/app/build.ts "${names[@]}") \
    >"$STATE/images.log" 2>&1; then
    down images "building ${names[*]} failed; see $STATE/images.log"
    return
  fi
  local index=0 changed=0 line=""
  for image in $IMAGES; do
    local now
    now="$(image_id "$image")"
    [ "$now" != "${before[$index]}" ] && changed=1
    line+="$image $now  "
    index=$((index + 1))
  done
  report images "up" "${line}$([ "$changed" -eq 1 ] && echo "(built now)" || echo "(already built)")"
}

# --- Tools the steps run -----------------------------------------------------------------------------

tools() {
  [ "$MODE" = "stop" ] && return
  local missing=() dump
  dump="$(command -v pg_dump || true)"
  [ -x "$PG_BIN/pg_dump" ] && dump="$PG_BIN/pg_dump"
  if [ -z "$dump" ]; then missing+=("pg_dump (apt-get install postgresql-client)"); fi
  local haproxy="${GREENLIGHT_HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
  [ -x "$haproxy" ] || missing+=("haproxy (apt-get install haproxy)")
  if [ ${#missing[@]} -gt 0 ]; then
    down tools "missing ${missing[*]}"
  else
    report tools "present" "$dump ($("$dump" --version | awk '{print $3}')), $haproxy (the backup and switch steps run them)"
  fi
}

# --check only reports: it creates nothing, not even the state folder.
[ "$MODE" = "check" ] || mkdir -p "$STATE"
postgresql
s3
docker_service
images
tools
exit "$failed"
