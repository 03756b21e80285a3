/**
 * Synthesis the way `cdktf synth` does it: run the `app` command of `cdktf.json` with CDKTF_OUTDIR set, then read
 * the manifest and each stack's `cdk.tf.json`. The provider never imports the construct library: the synthesized
 * JSON is the contract between them.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { LvsError } from './errors.ts';
import type { DesiredDirector } from './plan.ts';
import { readSynth } from './read-synth.ts';

export interface ProjectConfig {
  readonly dir: string;
  readonly app: string;
  readonly outdir: string;
}

export async function readProjectConfig(dir: string): Promise<ProjectConfig> {
  const file = join(dir, 'cdktf.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new LvsError('LVS_PROJECT_CONFIG', missing ? `no cdktf.json in ${dir}` : `${file} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
      hint: missing ? 'Run lvsform in the project directory (or pass --dir DIR).' : 'Fix the JSON syntax of cdktf.json.',
    });
  }
  const cfg = raw as { app?: unknown; output?: unknown };
  if (typeof cfg.app !== 'string' || cfg.app.trim() === '') {
    throw new LvsError('LVS_PROJECT_CONFIG', `${file} has no "app" command`, {
      hint: 'Add "app": "npx tsx main.ts" (the command that runs your app) to cdktf.json.',
    });
  }
  if (cfg.output !== undefined && typeof cfg.output !== 'string') {
    throw new LvsError('LVS_PROJECT_CONFIG', `${file}: "output" must be a directory name`, { hint: 'Use "output": "cdktf.out".' });
  }
  const out = (cfg.output as string | undefined) ?? 'cdktf.out';
  return { dir, app: cfg.app, outdir: isAbsolute(out) ? out : resolve(dir, out) };
}

/** Runs the app command. Its own error output (validation errors with construct paths) is passed on unchanged. */
export async function runApp(cfg: ProjectConfig, env: Record<string, string> = {}): Promise<void> {
  const res = await execa(cfg.app, {
    shell: true,
    cwd: cfg.dir,
    reject: false,
    all: true,
    env: { ...env, CDKTF_OUTDIR: cfg.outdir },
  });
  if (res.exitCode !== 0) {
    const { validation, text } = appFailureText(res.all ?? '');
    if (validation) {
      throw new LvsError('LVS_VALIDATION', `the app (${cfg.app}) describes something IPVS cannot do:\n${text}`, {
        hint: 'Fix each construct named above; nothing was synthesized, planned or applied.',
      });
    }
    throw new LvsError('LVS_SYNTH_FAILED', `the app (${cfg.app}) failed with exit ${res.exitCode}:\n${text}`, {
      hint: 'Fix the errors above in the app; nothing was planned or applied.',
    });
  }
}

/**
 * What to show of a failed app's output. An uncaught error printed by Node carries a source excerpt, a stack and an
 * object dump around its message; the message (which names the construct paths) is what a person acts on, so only it
 * is kept. Output that is not such an error is passed on unchanged.
 */
export function appFailureText(all: string): { validation: boolean; text: string } {
  const lines = all.trim().split('\n');
  const start = lines.findIndex((l) => /^[A-Za-z]*Error(?: \[[A-Z_]+\])?: /.test(l));
  if (start < 0) return { validation: false, text: all.trim() };
  let end = lines.findIndex((l, i) => i > start && /^\s+at /.test(l));
  if (end < 0) end = lines.length;
  const message = lines.slice(start, end).join('\n');
  const validation = message.startsWith('ValidationError: ');
  return { validation, text: validation ? message.slice('ValidationError: '.length) : message };
}

export interface SynthesizedStack {
  readonly stack: string;
  readonly file: string;
  readonly directors: DesiredDirector[];
}

/** Reads every stack the last synth wrote. */
export async function loadStacks(outdir: string): Promise<SynthesizedStack[]> {
  const manifestFile = join(outdir, 'manifest.json');
  let manifest: { stacks?: Record<string, { synthesizedStackPath?: string }> };
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  } catch (e) {
    throw new LvsError('LVS_NOT_SYNTHESIZED', `cannot read ${manifestFile}: ${(e as Error).message}`, {
      cause: e,
      hint: 'Run `lvsform synth` first (plan and apply do it for you unless --no-synth).',
    });
  }
  const stacks: SynthesizedStack[] = [];
  for (const [name, entry] of Object.entries(manifest.stacks ?? {})) {
    const file = join(outdir, entry.synthesizedStackPath ?? join('stacks', name, 'cdk.tf.json'));
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new LvsError('LVS_SYNTH_INVALID', `cannot read ${file}: ${(e as Error).message}`, { cause: e, hint: 'Run `lvsform synth` again.' });
    }
    const synth = readSynth(json, file);
    stacks.push({
      stack: synth.stack,
      file,
      directors: synth.directors.map((d) => ({
        name: d.name,
        target: { name: d.name, transport: d.transport, ...(d.ssh ? { ssh: d.ssh } : {}) },
        table: d.table,
        paths: d.paths,
        ...(d.setup ? { setup: d.setup } : {}),
      })),
    });
  }
  if (stacks.length === 0) {
    throw new LvsError('LVS_NOT_SYNTHESIZED', `${manifestFile} lists no stacks`, { hint: 'Does the app create an LvsStack and call app.synth()?' });
  }
  return stacks;
}

/** Picks the stack to work on: the only one, or the one named. */
export function selectStack(stacks: SynthesizedStack[], name: string | undefined): SynthesizedStack {
  if (name !== undefined) {
    const s = stacks.find((x) => x.stack === name);
    if (!s) throw new LvsError('LVS_NO_STACK', `no stack "${name}"; the app has: ${stacks.map((x) => x.stack).join(', ')}`);
    return s;
  }
  if (stacks.length > 1) {
    throw new LvsError('LVS_NO_STACK', `the app has ${stacks.length} stacks (${stacks.map((x) => x.stack).join(', ')})`, {
      hint: 'Name one with --stack NAME.',
    });
  }
  return stacks[0]!;
}
