#!/usr/bin/env bash
# Installs what the tests and the demo need, only when it is missing: npm packages (npm ci when node_modules is
# absent or older than the lockfile) and the Debian packages of the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/install-lab-deps.sh
