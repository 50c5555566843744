#!/usr/bin/env bash
# Simulated Docker hosts on this machine, for the multi-host tests, the bench and CI (as root).
# Host N (2, 3, 4, …) is the loopback address 127.0.0.N with its own sshd on port 2222 (root by key only,
# `AcceptEnv` for the variables greenlight's remote commands carry) and its own dockerd (own socket,
# data root, exec root, pidfile and bridge; no iptables), which an SSH session on that address reaches
# as its local Docker. So `DOCKER_HOST=ssh://root@127.0.0.N docker …` reaches host N's engine the way
# the program's ssh:// docker providers reach a real host, once `ssh` reads this script's ssh config:
#   PATH=<dir>/bin:$PATH   (<dir>/bin/ssh runs ssh -F <dir>/ssh_config)
# Host keys are pinned as the program pins them: <dir>/known_hosts holds each host's own key, and the
# ssh config checks it strictly (a host presenting another key is refused before authentication).
# The main dockerd (/var/run/docker.sock) is never touched.
#
# Usage: scripts/sim-hosts.sh start [count]       start hosts 2 … count+1 (default 3); idempotent
#        scripts/sim-hosts.sh stop [count]        stop them and remove everything they made
#        scripts/sim-hosts.sh sshd-stop N | sshd-start N   stop or start host N's sshd only
#        scripts/sim-hosts.sh env                 print the PATH line to reach the hosts
# GREENLIGHT_HOSTS_DIR (default /var/tmp/greenlight-hosts) holds keys, configs, sockets and data roots.
set -euo pipefail

dir=${GREENLIGHT_HOSTS_DIR:-/var/tmp/greenlight-hosts}
ssh_port=2222
action=${1:-}
count=${2:-3}

fail() {
  echo "sim-hosts: $*" >&2
  exit 1
}

host_dir() { echo "$dir/h$1"; }
address() { echo "127.0.0.$1"; }
bridge() { echo "glh$1"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

docker_answers() { docker -H "unix://$(host_dir "$1")/docker.sock" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

ssh_answers() { "$dir/bin/ssh" -o ConnectTimeout=2 "root@$(address "$1")" true >/dev/null 2>&1; }

prepare() {
  [ "$(id -u)" -eq 0 ] || fail "needs root (sshd, dockerd and bridges)"
  for tool in sshd dockerd ssh ssh-keygen ip docker; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
      fail "$tool is missing: scripts/system-packages.sh installs openssh-server, docker.io and iproute2"
  done
  mkdir -p "$dir/bin" /run/sshd
  chmod 700 "$dir"
  [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C greenlight-sim-hosts -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  cat >"$dir/ssh_config" <<EOF
Host 127.0.0.*
  Port $ssh_port
  User root
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  StrictHostKeyChecking yes
  UserKnownHostsFile $dir/known_hosts
  GlobalKnownHostsFile /dev/null
  UpdateHostKeys no
  HostKeyAlgorithms ssh-ed25519
  LogLevel ERROR
  ConnectTimeout 5
  SendEnv GREENLIGHT_* PG* AWS_* DATABASE_URL
  # What Pulumi's Go SSH client (golang.org/x/crypto/ssh) negotiates; OpenSSH's own first choice,
  # sntrup761x25519, costs ~0.3 s more per connection here.
  KexAlgorithms curve25519-sha256
EOF
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$dir/ssh_config" >"$dir/bin/ssh"
  chmod 755 "$dir/bin/ssh"
}

start_sshd() {
  local n=$1 hdir
  hdir=$(host_dir "$n")
  pid_alive "$hdir/sshd.pid" && return 0
  "$(command -v sshd || echo /usr/sbin/sshd)" -f "$hdir/sshd_config" -E "$hdir/sshd.log"
}

start_host() {
  local n=$1 hdir addr br
  hdir=$(host_dir "$n")
  addr=$(address "$n")
  br=$(bridge "$n")
  mkdir -p "$hdir"
  [ -f "$hdir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$hdir/ssh_host_ed25519_key"
  # The variables greenlight's remote commands carry: @pulumi/command's remote.Command sends its
  # `environment` as SSH "env" requests, which sshd refuses unless AcceptEnv lists them.
  cat >"$hdir/sshd_config" <<EOF
ListenAddress $addr:$ssh_port
HostKey $hdir/ssh_host_ed25519_key
PidFile $hdir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 100
LogLevel ERROR
SetEnv DOCKER_HOST=unix://$hdir/docker.sock
AcceptEnv GREENLIGHT_* PG* AWS_* DATABASE_URL PULUMI_COMMAND_*
EOF
  if ! docker_answers "$n"; then
    ip link show "$br" >/dev/null 2>&1 || ip link add "$br" type bridge
    ip addr show dev "$br" | grep -q "10.250.$n.1/24" || ip addr add "10.250.$n.1/24" dev "$br"
    ip link set "$br" up
    # Never --bridge=none while another daemon runs: it deletes the docker0 link the main daemon uses.
    setsid "$(command -v dockerd || echo /usr/sbin/dockerd)" \
      -H "unix://$hdir/docker.sock" --data-root "$hdir/docker" --exec-root "$hdir/exec" \
      --pidfile "$hdir/docker.pid" --bridge="$br" --iptables=false --ip-masq=false \
      >"$hdir/dockerd.log" 2>&1 </dev/null &
  fi
  start_sshd "$n"
}

wait_host() {
  local n=$1 deadline=$((SECONDS + 60))
  until docker_answers "$n"; do
    [ $SECONDS -lt $deadline ] || fail "host $n: dockerd did not answer within 60 s; see $(host_dir "$n")/dockerd.log"
    sleep 0.3
  done
  until ssh_answers "$n"; do
    [ $SECONDS -lt $deadline ] || fail "host $n: sshd on $(address "$n"):$ssh_port did not answer; see $(host_dir "$n")/sshd.log"
    sleep 0.2
  done
}

stop_pid() {
  local pidfile=$1 timeout=${2:-30} pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((timeout * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop_host() {
  local n=$1 hdir
  hdir=$(host_dir "$n")
  [ -d "$hdir" ] || return 0
  stop_pid "$hdir/sshd.pid" 5
  # Containers go first, at once: a daemon stopping them itself waits for each one's stop timeout.
  if docker_answers "$n"; then
    docker -H "unix://$hdir/docker.sock" ps -aq | xargs -r docker -H "unix://$hdir/docker.sock" rm -f >/dev/null 2>&1 || true
  fi
  stop_pid "$hdir/docker.pid" 20
  # dockerd's own containerd and shims, if any outlived it.
  for pidfile in "$hdir"/exec/containerd/containerd.pid; do stop_pid "$pidfile" 5; done
  { grep -o " $hdir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
  if ip link show "$(bridge "$n")" >/dev/null 2>&1; then ip link del "$(bridge "$n")"; fi
  rm -rf "$hdir"
}

hosts() { seq 2 $((count + 1)); }

case "$action" in
  start)
    prepare
    for n in $(hosts); do start_host "$n"; done
    # Every host's key pinned, as greenlight:hosts[].hostKey pins a real host's.
    for n in $(hosts); do
      printf '[%s]:%s %s\n' "$(address "$n")" "$ssh_port" "$(cut -d' ' -f1,2 "$(host_dir "$n")/ssh_host_ed25519_key.pub")"
    done >"$dir/known_hosts"
    for n in $(hosts); do wait_host "$n"; done
    echo "sim-hosts: $(hosts | sed 's/^/127.0.0./' | paste -sd' ') answer on port $ssh_port; PATH=$dir/bin:\$PATH"
    ;;
  stop)
    pids=()
    for n in $(hosts); do
      stop_host "$n" &
      pids+=($!)
    done
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    [ "$status" -eq 0 ] || fail "stopping a host failed; see the lines above"
    if [ -d "$dir" ] && [ -z "$(find "$dir" -maxdepth 1 -name 'h*' -type d)" ]; then rm -rf "$dir"; fi
    echo "sim-hosts: stopped"
    ;;
  sshd-stop) stop_pid "$(host_dir "${2:?host number}")/sshd.pid" 5 ;;
  sshd-start)
    start_sshd "${2:?host number}"
    wait_host "$2"
    ;;
  env) echo "PATH=$dir/bin:\$PATH" ;;
  *) fail "usage: sim-hosts.sh start|stop [count] | sshd-stop N | sshd-start N | env" ;;
esac
