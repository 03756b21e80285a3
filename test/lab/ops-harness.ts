/**
 * Helpers for the operations lab tests (doctor, import, drain, status): apps built inline against the lab's
 * directors, and the CLI run on a synthesized output directory of their own (never the repository's cdktf.out).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, type SshProps } from '../../lib/index.ts';
import { loadStacks, type LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { lab } from './helpers.ts';
import { alias, cli } from './stack-harness.ts';

/** How the app reaches lab director number `n` (1-based). */
export function labSsh(n = 1): SshProps {
  return { configFile: lab().sshConfig, alias: alias(n) };
}

/** Builds and synthesizes an inline app into a fresh directory. */
export async function synthApp(build: (app: App) => void): Promise<LoadedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'lvsform-ops-'));
  const app = new App({ outdir });
  build(app);
  app.synth();
  const [stack] = await loadStacks(outdir);
  return stack!;
}

/**
 * A project directory whose cdktf.json points at the stack's synthesized output, so that `lvsform -C DIR … --no-synth`
 * works on exactly that stack.
 */
export function projectOf(stack: LoadedStack): string {
  const outdir = dirname(dirname(dirname(stack.file)));
  const dir = mkdtempSync(join(tmpdir(), 'lvsform-ops-project-'));
  writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ app: 'true', output: outdir }));
  return dir;
}

/** Runs the CLI on a synthesized stack (`-C` its project, `--no-synth` added by the caller where the verb has it). */
export function cliOn(stack: LoadedStack, args: readonly string[]) {
  return cli(['-C', projectOf(stack), ...args]);
}
