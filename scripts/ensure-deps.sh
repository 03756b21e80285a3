#!/usr/bin/env bash
# Installs what the tests and the demo need, only when it is missing: npm packages (npm ci when node_modules is
# absent or older than the lockfile), the Debian packages of the lab and the shells the completion tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tap devices of a lab whose kernel is gone (a killed run) would keep routes on this machine: remove them first.
command -v pgrep >/dev/null && for tap in $(ls /sys/class/net 2>/dev/null | grep "^lvsftap" || true); do
  if ! pgrep -f "ifname=${tap}," >/dev/null 2>&1; then ip link del dev "$tap" 2>/dev/null || true; fi
done
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (npm ci)…"
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
fi
# zsh and fish: the completion tests run the scripts `lvsform completion zsh|fish` prints in the real shells.
bash scripts/install-lab-deps.sh zsh fish
