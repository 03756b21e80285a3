#!/usr/bin/env bash
# The main job (`npm run demo`): installs what is missing, boots the cluster lab (a director and three web servers as
# bare VMs), synthesizes examples/nat-cluster against them, plans, applies (the director's forwarding and each web
# server's route back included), sends real traffic through the VIP, plans again, and takes the lab down (--keep
# leaves it up).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Every step runs the built `lvsform` command (bin/lvsform.mjs -> dist/), so build it from the current sources.
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
