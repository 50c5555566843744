#!/usr/bin/env bash
# Air-gapped Docker hosts on this machine, for the air-gapped tests and the delivery bench (as root).
# Host N (2, 3, 4, …) is its own network namespace gla<N> holding 10.253.0.N/24, its own sshd (port 22,
# root by key only, the `AcceptEnv` greenlight's remote commands need) and its own dockerd (own socket,
# data root, exec root, a container bridge inside the namespace, no iptables). Every host's veth and the
# runner's (10.253.0.1) meet on one bridge that lives in a namespace of its own (glasw): the hosts reach
# each other and the runner, nothing else. No default route, no DNS server they can reach, and dockerd
# sends every pull through a proxy at a closed port of the host's own loopback, so a pull fails at once.
# The runner reaches host N as `ssh root@10.253.0.N` through this script's ssh config (host keys pinned
# in its known_hosts): PATH=<dir>/bin:$PATH   (<dir>/bin/ssh runs ssh -F <dir>/ssh_config)
# Nothing outside the gla*/glasw names and 10.253.0.0/16 is touched (no iptables rule, no route).
#
# Usage: scripts/isolated-hosts.sh start [count] [first]  start hosts first … first+count-1 (default 3
#                                                        hosts from 2); idempotent
#        scripts/isolated-hosts.sh stop [count] [first]   stop them and remove everything they made
# Two sets of hosts (say 2-4 and 5-7, for two test files running at once) share the switch and the
# known_hosts file; the last one stopped removes them.
#        scripts/isolated-hosts.sh sshd-stop N | sshd-start N   stop or start host N's sshd only
#        scripts/isolated-hosts.sh env                 print the PATH line to reach the hosts
# GREENLIGHT_ISOLATED_DIR (default /var/tmp/greenlight-isolated) holds keys, configs, sockets and data.
set -euo pipefail

dir=${GREENLIGHT_ISOLATED_DIR:-/var/tmp/greenlight-isolated}
action=${1:-}
count=${2:-3}
first=${3:-2}
switch_ns=glasw
bridge=glabr
runner_link=glav0
runner_address=10.253.0.1

fail() {
  echo "isolated-hosts: $*" >&2
  exit 1
}

host_dir() { echo "$dir/h$1"; }
address() { echo "10.253.0.$1"; }
netns() { echo "gla$1"; }
# Inside host N's namespace: its end of the veth, and the bridge its containers use.
host_link() { echo "glap$1"; }
container_bridge() { echo "glab$1"; }
in_host() { nsenter --net="/var/run/netns/$(netns "$1")" "${@:2}"; }

# Daemons outlive this script: they must not keep its inherited descriptors open (a flock(1) lock taken
# around the script would stay held for as long as the hosts run). 255 is bash's own, closed on exec.
detached() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-"; fi
  done 2>/dev/null
  "$@"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

docker_answers() { docker -H "unix://$(host_dir "$1")/docker.sock" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

ssh_answers() { "$dir/bin/ssh" -o ConnectTimeout=2 "root@$(address "$1")" true >/dev/null 2>&1; }

prepare() {
  [ "$(id -u)" -eq 0 ] || fail "needs root (network namespaces, sshd, dockerd)"
  for tool in sshd dockerd ssh ssh-keygen ip docker nsenter; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
      fail "$tool is missing: scripts/system-packages.sh installs openssh-server, docker.io, iproute2 and util-linux"
  done
  mkdir -p "$dir/bin" /run/sshd
  chmod 700 "$dir"
  [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C greenlight-isolated-hosts -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  cat >"$dir/ssh_config" <<EOF
Host 10.253.0.*
  Port 22
  User root
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  # Each host's key is pinned: a host presenting another key is refused.
  StrictHostKeyChecking yes
  UserKnownHostsFile $dir/known_hosts
  BatchMode yes
  LogLevel ERROR
  ConnectTimeout 5
  SendEnv GREENLIGHT_* PG* AWS_* DATABASE_URL
  KexAlgorithms curve25519-sha256
EOF
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$dir/ssh_config" >"$dir/bin/ssh"
  chmod 755 "$dir/bin/ssh"
  # The switch: a bridge in its own namespace, whose empty firewall forwards between the hosts (the
  # runner's FORWARD policy, DROP under Docker, would drop bridged frames in the root namespace).
  [ -e "/var/run/netns/$switch_ns" ] || ip netns add "$switch_ns"
  ip -n "$switch_ns" link show "$bridge" >/dev/null 2>&1 || ip -n "$switch_ns" link add "$bridge" type bridge
  ip -n "$switch_ns" link set "$bridge" up
  if ! ip link show "$runner_link" >/dev/null 2>&1; then
    ip link add "$runner_link" type veth peer name glas0
    ip link set glas0 netns "$switch_ns"
    ip -n "$switch_ns" link set glas0 master "$bridge" up
    ip addr add "$runner_address/24" dev "$runner_link"
  fi
  ip link set "$runner_link" up
}

network_host() {
  local n=$1 ns link
  ns=$(netns "$n")
  link=$(host_link "$n")
  [ -e "/var/run/netns/$ns" ] || ip netns add "$ns"
  if ! ip -n "$ns" link show "$link" >/dev/null 2>&1; then
    ip link add "$link" type veth peer name "glas$n"
    ip link set "glas$n" netns "$switch_ns"
    ip -n "$switch_ns" link set "glas$n" master "$bridge" up
    ip link set "$link" netns "$ns"
    ip -n "$ns" addr add "$(address "$n")/24" dev "$link"
  fi
  ip -n "$ns" link set "$link" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link show "$(container_bridge "$n")" >/dev/null 2>&1 || {
    ip -n "$ns" link add "$(container_bridge "$n")" type bridge
    ip -n "$ns" addr add "10.253.$((100 + n)).1/24" dev "$(container_bridge "$n")"
  }
  ip -n "$ns" link set "$(container_bridge "$n")" up
}

start_sshd() {
  local n=$1 hdir
  hdir=$(host_dir "$n")
  pid_alive "$hdir/sshd.pid" && return 0
  (detached in_host "$n" "$(command -v sshd || echo /usr/sbin/sshd)" -f "$hdir/sshd_config" -E "$hdir/sshd.log")
}

# SHLVL=1: bash then skips this machine's root ~/.bashrc (pyenv here, ~0.5 s of CPU per session), which
# is the runner's, not a host's: a host's deploy user has a plain shell.
start_host() {
  local n=$1 hdir
  hdir=$(host_dir "$n")
  mkdir -p "$hdir"
  [ -f "$hdir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$hdir/ssh_host_ed25519_key"
  cat >"$hdir/sshd_config" <<EOF
ListenAddress $(address "$n"):22
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
SetEnv DOCKER_HOST=unix://$hdir/docker.sock SHLVL=1
AcceptEnv GREENLIGHT_* PG* AWS_* DATABASE_URL PULUMI_COMMAND_*
EOF
  network_host "$n"
  if ! docker_answers "$n"; then
    # A pull goes to a proxy at a closed port of the host's own loopback: refused at once, whatever the
    # machine's resolv.conf names (the host has no route to it anyway).
    (detached in_host "$n" env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY= \
      setsid "$(command -v dockerd || echo /usr/sbin/dockerd)" \
      -H "unix://$hdir/docker.sock" --data-root "$hdir/docker" --exec-root "$hdir/exec" \
      --pidfile "$hdir/docker.pid" --bridge="$(container_bridge "$n")" --iptables=false --ip-masq=false \
      >"$hdir/dockerd.log" 2>&1 </dev/null &)
  fi
  start_sshd "$n"
}

# Every running host's key, whichever start made it.
pin_host_keys() {
  local key n
  : >"$dir/known_hosts.new"
  for key in "$dir"/h*/ssh_host_ed25519_key.pub; do
    [ -f "$key" ] || continue
    n=$(basename "$(dirname "$key")")
    printf '%s %s\n' "$(address "${n#h}")" "$(cut -d' ' -f1-2 "$key")" >>"$dir/known_hosts.new"
  done
  mv "$dir/known_hosts.new" "$dir/known_hosts"
}

wait_host() {
  local n=$1 deadline=$((SECONDS + 180))
  until docker_answers "$n"; do
    [ $SECONDS -lt $deadline ] || fail "host $n: dockerd did not answer within 180 s (a loaded machine starts it slowly); see $(host_dir "$n")/dockerd.log"
    sleep 0.3
  done
  until ssh_answers "$n"; do
    [ $SECONDS -lt $deadline ] || fail "host $n: sshd on $(address "$n"):22 did not answer; see $(host_dir "$n")/sshd.log"
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
  local n=$1 hdir ns
  hdir=$(host_dir "$n")
  ns=$(netns "$n")
  if [ -d "$hdir" ]; then
    stop_pid "$hdir/sshd.pid" 5
    # Containers go first, at once: a daemon stopping them itself waits for each one's stop timeout.
    if docker_answers "$n"; then
      docker -H "unix://$hdir/docker.sock" ps -aq | xargs -r docker -H "unix://$hdir/docker.sock" rm -f >/dev/null 2>&1 || true
    fi
    stop_pid "$hdir/docker.pid" 20
    for pidfile in "$hdir"/exec/containerd/containerd.pid; do stop_pid "$pidfile" 5; done
    { grep -o " $hdir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do
      umount -l "$mount" 2>/dev/null || true
    done
    rm -rf "$hdir"
  fi
  # Deleting the namespace deletes its veth end, and with it the peer on the switch.
  if [ -e "/var/run/netns/$ns" ]; then ip netns del "$ns"; fi
}

hosts() { seq "$first" $((first + count - 1)); }

# One start or stop at a time: they share the switch, the runner's link and known_hosts.
if [ "$action" = start ] || [ "$action" = stop ]; then
  mkdir -p "$(dirname "$dir")"
  exec 9>"$dir.lock"
  flock 9
fi

case "$action" in
  start)
    prepare
    for n in $(hosts); do start_host "$n"; done
    pin_host_keys
    for n in $(hosts); do wait_host "$n"; done
    echo "isolated-hosts: $(hosts | sed 's/^/10.253.0./' | paste -sd' ') answer on port 22; PATH=$dir/bin:\$PATH"
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
    # The switch and the runner's link go with the last host.
    if [ -z "$(ip netns list | grep -E '^gla[0-9]+( |$)' || true)" ]; then
      if ip link show "$runner_link" >/dev/null 2>&1; then ip link del "$runner_link"; fi
      if [ -e "/var/run/netns/$switch_ns" ]; then ip netns del "$switch_ns"; fi
      rm -rf "$dir"
    elif [ -d "$dir" ]; then
      pin_host_keys
    fi
    echo "isolated-hosts: stopped"
    ;;
  sshd-stop) stop_pid "$(host_dir "${2:?host number}")/sshd.pid" 5 ;;
  sshd-start)
    start_sshd "${2:?host number}"
    wait_host "$2"
    ;;
  env) echo "PATH=$dir/bin:\$PATH" ;;
  *) fail "usage: isolated-hosts.sh start|stop [count] [first] | sshd-stop N | sshd-start N | env" ;;
esac
