#!/usr/bin/env bash
# The test command (`npm test`): installs what is missing, type-checks, lints and checks the formatting (biome), then
# runs the unit tests and the lab tests on
# a real IPVS kernel (the lab: Debian's kernel under QEMU). It builds dist/ first: the tests run the built `lvsform`
# command, and the consumer test packs the package. Prints one closing line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc --noEmit
npx biome check .
npm run --silent build
report=$(mktemp /tmp/lvsform-vitest.XXXXXX.json)
# The tests' scratch files (synthesized apps, plan files, records) go to one directory removed at the end.
scratch=$(mktemp -d /tmp/lvsform-tests.XXXXXX)
export TMPDIR="$scratch"
trap 'rm -f "$report"; rm -rf "$scratch"' EXIT
set +e
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@"
rc=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) process.exit(1);
' "$report" || rc=1
exit $rc
