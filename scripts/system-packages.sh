#!/usr/bin/env bash
# Installs the Debian packages greenlight's tests use, only those that are missing:
# PostgreSQL 15 (server), Docker (docker.io, dockerd), HAProxy, and for the simulated hosts of the
# multi-host tests OpenSSH (sshd, ssh) and iproute2 (their bridges and namespaces); openssl makes the
# TLS tests' CAs; zstd and nsenter serve the air-gapped hosts. Needs root (or sudo) and apt-get.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The air-gapped hosts: zstd for the image stream, nsenter to start their daemons in their namespaces.
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "system packages: missing ${missing[*]} and not root; install them with apt-get" >&2
    exit 1
  fi
fi
echo "system packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postinst may start these as system services; the tests start their own, on loopback.
for service in postgresql haproxy ssh; do $sudo service "$service" stop >/dev/null 2>&1 || true; done
