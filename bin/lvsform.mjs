#!/usr/bin/env node
// The `lvsform` command. Sources are TypeScript run through tsx, so no build step stands between a change and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
