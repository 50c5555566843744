#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages (if missing), Node 22+ (scripts/use-node.sh), npm ci,
# then npm test
# (type-check, lint and format checks run as tests; services are started by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/system-packages.sh
# shellcheck source=scripts/use-node.sh
source ./scripts/use-node.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec npm test --silent
