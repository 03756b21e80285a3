/**
 * Drives lvsform on the lab the way an operator does: an example app is built against the lab's OpenSSH config and
 * director aliases, synthesized, and planned/applied with the library functions the CLI calls (or the CLI itself).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { App } from '../../lib/index.ts';
import { parseSave } from '../../providers/ipvs/read/parse-save.ts';
import { mergeThresholds } from '../../providers/ipvs/read/parse-list.ts';
import { applyStack, planStack, type ApplyOptions, type RunOptions } from '../../providers/ipvs/apply/run-stack.ts';
import { loadStacks, type LoadedStack } from '../../providers/ipvs/read/synth.ts';
import type { Table } from '../../providers/ipvs/model/model.ts';
import { lab, sh } from './helpers.ts';

export const EXAMPLES = ['nat-web', 'direct-routing', 'tunnel', 'dual-stack-fwmark', 'two-directors'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

/** The lab alias of director number `n` of this run (1-based). */
export function alias(n: number): string {
  const d = lab().directors[n - 1];
  if (!d) throw new Error(`the lab has no director number ${n}`);
  return d.alias;
}

function withLabEnv<T>(directors: readonly number[], fn: () => T): T {
  const saved = { ...process.env };
  process.env['LVSFORM_SSH_CONFIG'] = lab().sshConfig;
  process.env['LVSFORM_DIRECTOR_ALIAS'] = alias(directors[0] ?? 1);
  process.env['LVSFORM_DIRECTOR_ALIAS_2'] = alias(directors[1] ?? 2);
  try {
    return fn();
  } finally {
    process.env = saved;
  }
}

/** Builds and synthesizes an example against lab directors (by number), returning the synthesized stack. */
export async function synthExample(name: ExampleName, directors: readonly number[] = [1, 2]): Promise<LoadedStack> {
  const { build } = (await import(`../../examples/${name}/app.ts`)) as { build: (app: App) => unknown };
  const outdir = mkdtempSync(join(tmpdir(), `lvsform-${name}-`));
  withLabEnv(directors, () => {
    const app = new App({ outdir });
    build(app);
    app.synth();
  });
  const [stack] = await loadStacks(outdir);
  return stack!;
}

export function runOpts(stack: LoadedStack, extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return { stack: stack.stack, drain: false, ...extra };
}

export async function plan(stack: LoadedStack, extra: Partial<RunOptions> = {}) {
  return planStack(stack.directors, runOpts(stack, extra));
}

export async function apply(stack: LoadedStack, extra: Partial<ApplyOptions> = {}) {
  return applyStack(stack.directors, runOpts(stack, extra));
}

export async function destroy(stack: LoadedStack, extra: Partial<ApplyOptions> = {}) {
  const empty = stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() }));
  return applyStack(empty, runOpts(stack, { ...extra, destroy: true }));
}

/** `ipvsadm -S -n` of a director, byte for byte. */
export async function saveText(director: number): Promise<string> {
  return (await sh(alias(director), 'ipvsadm -S -n')).stdout;
}

/** The director's live table as lvsform's model (thresholds merged). */
export async function liveTable(director: number): Promise<Table> {
  const out = (await sh(alias(director), 'ipvsadm -S -n; echo @@; ipvsadm -L -n --thresholds')).stdout;
  const [save, thresholds] = out.split('@@\n');
  return mergeThresholds(parseSave(save ?? ''), thresholds ?? '');
}

/**
 * The table plus lvsform's records on the director (not its lock file), to compare before and after; `more` is a
 * script whose output is appended, read in the same round trip.
 */
export async function hostSnapshot(director: number, more = ''): Promise<string> {
  return (
    await sh(
      alias(director),
      `ipvsadm -S -n; ipvsadm -L -n --thresholds | sed "s/ *[0-9]* *[0-9]*$//"; ls -la --time-style=+ /var/lib/lvsform/*.json 2>/dev/null; cat /var/lib/lvsform/*.json 2>/dev/null; ${more}${more ? '; ' : ''}true`,
    )
  ).stdout;
}

/** Runs the lvsform CLI in the repository with the lab's environment. */
export async function cli(args: readonly string[], opts: { directors?: readonly number[]; env?: Record<string, string> } = {}) {
  const directors = opts.directors ?? [1, 2];
  return execa('node', ['bin/lvsform.mjs', ...args], {
    cwd: join(import.meta.dirname, '../..'),
    reject: false,
    stdin: 'ignore',
    env: {
      LVSFORM_SSH_CONFIG: lab().sshConfig,
      LVSFORM_DIRECTOR_ALIAS: alias(directors[0] ?? 1),
      // A lab of one director (a run of the one-director tests) has no second alias to give.
      ...(lab().directors.length >= (directors[1] ?? 2) ? { LVSFORM_DIRECTOR_ALIAS_2: alias(directors[1] ?? 2) } : {}),
      NO_COLOR: '1',
      ...opts.env,
    },
  });
}
