#!/usr/bin/env bash
# The main job (`npm run demo`): installs what is missing, boots the lab, synthesizes examples/nat-web against the
# lab director, plans, applies, sends real traffic through the VIP, plans again, and takes the lab down (--keep
# leaves it up).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# Every step runs the built `lvsform` command (bin/lvsform.mjs -> dist/), so build it from the current sources.
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
