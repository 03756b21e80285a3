#!/usr/bin/env node
// The `lvsform` command: the compiled CLI in dist/ (`npm run build`; `npm pack` and a git install build it).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('Error [LVS_NOT_BUILT]: lvsform is not built (dist/cli/main.js is missing)\n  Run `npm run build` in the lvsform clone.\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
