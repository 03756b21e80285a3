/**
 * Synthesis the way `cdktf synth` does it: run the `app` command of `cdktf.json` with CDKTF_OUTDIR set, then read
 * the manifest and each stack's `cdk.tf.json`. The provider never imports the construct library: the synthesized
 * JSON is the contract between them.
 */
import { describeValue } from '../model/describe-value.ts';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { LvsError } from '../model/errors.ts';
import { DuplicateKeyError, parseJsonStrict } from '../model/strict-json.ts';
import type { DesiredDirector } from '../model/desired-director.ts';
import { checkOutputDir, freshDirBeside, type OutputDirRule, replaceOutputDir } from './local-writes.ts';
import { readSynth } from './read-synth.ts';
import type { DesiredRealServer } from '../model/desired-real-server.ts';

export interface ProjectConfig {
  readonly dir: string;
  readonly app: string;
  readonly outdir: string;
}

/** Text of a JSON file without a leading byte-order mark (editors on Windows add one; JSON.parse refuses it unseen). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** What is wrong with a JSON file that did not parse: its syntax, or a key given twice. */
function notJson(e: unknown): string {
  return e instanceof DuplicateKeyError ? 'is ambiguous' : 'is not valid JSON';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function readProjectConfig(dir: string): Promise<ProjectConfig> {
  const file = join(dir, 'cdktf.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') {
      throw new LvsError('LVS_PROJECT_CONFIG', `${file} is a directory, not a file`, {
        cause: e,
        hint: 'Replace it with the JSON file cdktf.json ({"app": "npx tsx main.ts"}).',
      });
    }
    throw new LvsError('LVS_PROJECT_CONFIG', code === 'ENOENT' ? `no cdktf.json in ${dir}` : `cannot read ${file}: ${(e as Error).message}`, {
      cause: e,
      hint: 'Run lvsform in the project directory (or pass --dir DIR).',
    });
  }
  let raw: unknown;
  try {
    raw = parseJsonStrict(stripBom(text));
  } catch (e) {
    throw new LvsError('LVS_PROJECT_CONFIG', `${file} ${notJson(e)}: ${(e as Error).message}`, { cause: e, hint: 'Fix the JSON syntax of cdktf.json.' });
  }
  if (!isPlainObject(raw)) {
    throw new LvsError('LVS_PROJECT_CONFIG', `${file} must hold a JSON object; got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`, {
      hint: 'Write cdktf.json as {"app": "npx tsx main.ts", "output": "cdktf.out"}.',
    });
  }
  const cfg = raw as { app?: unknown; output?: unknown };
  if (typeof cfg.app !== 'string' || cfg.app.trim() === '') {
    throw new LvsError('LVS_PROJECT_CONFIG', `${file} has no "app" command${cfg.app === undefined ? '' : ` (got ${JSON.stringify(cfg.app)})`}`, {
      hint: 'Add "app": "npx tsx main.ts" (the command that runs your app) to cdktf.json.',
    });
  }
  if (cfg.output !== undefined && (typeof cfg.output !== 'string' || cfg.output.trim() === '')) {
    throw new LvsError('LVS_PROJECT_CONFIG', `${file}: "output" must be a directory name; got ${JSON.stringify(cfg.output)}`, {
      hint: 'Use "output": "cdktf.out".',
    });
  }
  const out = (cfg.output as string | undefined) ?? 'cdktf.out';
  return { dir, app: cfg.app, outdir: isAbsolute(out) ? out : resolve(dir, out) };
}

/**
 * Runs the app command, as `cdktf synth` does: with CDKTF_OUTDIR set and the project's node_modules/.bin on PATH, its
 * own console output passed on (to stderr, so that `--json` output stays one document). The app writes into a fresh directory beside the output directory, and
 * only an app that wrote a manifest there this run replaces the output directory with it; so the output lvsform reads
 * is always this run's, and an app that fails or writes nothing leaves the output directory exactly as it was. The
 * output directory itself must be one lvsform may replace (local-writes.ts): checked before the app runs, and again
 * before the swap.
 */
export async function runApp(cfg: ProjectConfig, env: Record<string, string> = {}): Promise<void> {
  const rule: OutputDirRule = { project: cfg.dir, source: `the "output" of ${join(cfg.dir, 'cdktf.json')}`, code: 'LVS_SYNTH_OUTPUT' };
  const real = await checkOutputDir(cfg.outdir, rule);
  const { fresh, remove } = await freshDirBeside(real);
  try {
    const res = await execa(cfg.app, {
      shell: true,
      cwd: cfg.dir,
      // The project's node_modules/.bin first on PATH, as npm scripts have it: `"app": "tsx main.ts"` runs the
      // project's own tsx without `npx`, whose start-up costs about a second on every synth.
      preferLocal: true,
      localDir: cfg.dir,
      reject: false,
      all: true,
      env: { ...env, CDKTF_OUTDIR: fresh },
    });
    if (res.exitCode !== 0) {
      const { validation, text } = appFailureText(res.all ?? '');
      if (validation) {
        throw new LvsError('LVS_VALIDATION', `the app (${cfg.app}) describes something IPVS cannot do:\n${text}`, {
          hint: 'Fix each construct named above; nothing was synthesized, planned or applied.',
        });
      }
      throw new LvsError('LVS_SYNTH_FAILED', `the app (${cfg.app}) ${howItEnded(res)}${text === '' ? '' : `:\n${text}`}`, {
        hint: res.signal
          ? 'Something outside the app stopped it (a kill, a timeout, the out-of-memory killer): run it by hand to see why; nothing was planned or applied.'
          : 'Fix the errors above in the app; nothing was planned or applied.',
      });
    }
    const shown = (res.all ?? '').trim();
    if (shown !== '') process.stderr.write(`${shown}\n`);
    if (!existsSync(join(fresh, 'manifest.json'))) {
      throw new LvsError(
        'LVS_NOT_SYNTHESIZED',
        `the app (${cfg.app}) exited 0 but synthesized nothing in this run (no manifest.json in CDKTF_OUTDIR); ${join(cfg.outdir, 'manifest.json')} is an older run's and was not used`,
        {
          hint: "Make the app call app.synth(), and let App choose its output directory (new App() reads CDKTF_OUTDIR, as cdktf's App does).",
        },
      );
    }
    await replaceOutputDir(cfg.outdir, real, fresh, rule);
  } finally {
    await remove();
  }
}

/**
 * How a failed app ended: its exit code, or the signal that killed it (execa reports no exit code then). A shell
 * reports a command killed by signal N as exit 128 + N; that is named too, as a likely reading.
 */
export function howItEnded(res: {
  exitCode?: number | undefined;
  signal?: string | undefined;
  signalDescription?: string | undefined;
  originalMessage?: string | undefined;
}): string {
  if (res.signal) return `was killed by signal ${res.signal}${res.signalDescription ? ` (${res.signalDescription})` : ''}`;
  if (res.exitCode === undefined) return `could not be started${res.originalMessage ? ` (${res.originalMessage})` : ''}`;
  const byNumber = Object.entries(osConstants.signals).find(([, n]) => n === (res.exitCode as number) - 128);
  return `failed with exit ${res.exitCode}${byNumber ? ` (as a shell reports a command killed by ${byNumber[0]})` : ''}`;
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

/** A stack loaded from the synth output: its file and its directors' desired state, ready to plan. */
export interface LoadedStack {
  readonly stack: string;
  readonly file: string;
  readonly directors: DesiredDirector[];
  /** The real-server hosts lvsform prepares (none when the app declares none). */
  readonly realServers: DesiredRealServer[];
}

const manifestSchema = z
  .object({
    stacks: z.record(z.object({ synthesizedStackPath: z.string().min(1).optional() }).passthrough()),
  })
  .passthrough();

/**
 * Reads every stack the last synth wrote. `fresh`: the output was written by a synth of this very run, so a problem
 * in it is the app's, not a stale or hand-edited file's (the hint says so).
 */
export async function loadStacks(outdir: string, options: { fresh?: boolean } = {}): Promise<LoadedStack[]> {
  const manifestFile = join(outdir, 'manifest.json');
  const again = options.fresh
    ? "It was written by this run's synth: check what the app does."
    : 'Run `lvsform synth` again (plan and apply do it for you unless --no-synth).';
  let text: string;
  try {
    text = await readFile(manifestFile, 'utf8');
  } catch (e) {
    throw new LvsError('LVS_NOT_SYNTHESIZED', `cannot read ${manifestFile}: ${(e as Error).message}`, {
      cause: e,
      hint: options.fresh ? again : 'Run `lvsform synth` first (plan and apply do it for you unless --no-synth).',
    });
  }
  let raw: unknown;
  try {
    raw = parseJsonStrict(stripBom(text));
  } catch (e) {
    throw new LvsError('LVS_SYNTH_INVALID', `${manifestFile} ${notJson(e)}: ${(e as Error).message}`, { cause: e, hint: again });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new LvsError(
      'LVS_SYNTH_INVALID',
      `${manifestFile}: ${at}: ${issue.message}${issue.code === 'invalid_type' ? '' : `; got ${describeValue(valueAt(raw, issue.path))}`}`,
      { hint: again },
    );
  }
  const stacks: LoadedStack[] = [];
  for (const [name, entry] of Object.entries(parsed.data.stacks)) {
    const file = resolve(outdir, entry.synthesizedStackPath ?? join('stacks', name, 'cdk.tf.json'));
    let json: unknown;
    try {
      json = parseJsonStrict(stripBom(await readFile(file, 'utf8')));
    } catch (e) {
      const message = e instanceof DuplicateKeyError ? `${file}: ${e.message}` : `cannot read ${file}: ${(e as Error).message}`;
      throw new LvsError('LVS_SYNTH_INVALID', message, { cause: e, hint: again });
    }
    let synth: ReturnType<typeof readSynth>;
    try {
      synth = readSynth(json, file);
    } catch (e) {
      // A file this very run wrote is not stale or hand-edited: say so rather than "synth again".
      if (options.fresh && e instanceof LvsError) throw new LvsError(e.code, e.message, { cause: e, hint: again });
      throw e;
    }
    stacks.push({
      stack: synth.stack,
      file,
      directors: synth.directors.map((d) => ({
        name: d.name,
        target: { name: d.name, transport: d.transport, ...(d.ssh ? { ssh: d.ssh } : {}) },
        table: d.table,
        paths: d.paths,
        ...(d.setup ? { setup: d.setup } : {}),
        ...(d.runtime ? { runtime: d.runtime } : {}),
        ...(d.settings ? { settings: d.settings } : {}),
      })),
      realServers: synth.realServers.map((h) => ({
        name: h.name,
        target: { name: h.name, transport: h.transport, ...(h.ssh ? { ssh: h.ssh } : {}), role: 'real-server' as const },
        spec: h.spec,
        prep: h.prep,
      })),
    });
  }
  if (stacks.length === 0) {
    throw new LvsError('LVS_NOT_SYNTHESIZED', `${manifestFile} lists no stacks`, { hint: 'Does the app create an LvsStack and call app.synth()?' });
  }
  return stacks;
}

/** The value at a JSON path (for messages that show what was found). */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** A short, printable description of a found value (model/describe-value.ts). */
export { describeValue };

/** Narrows a stack to the directors named (all when none is); an unknown name is refused, naming those it has. */
export function selectDirectors(stack: LoadedStack, names: readonly string[] | undefined): LoadedStack {
  if (!names?.length) return stack;
  const known = new Set(stack.directors.map((d) => d.name));
  for (const name of names) {
    if (!known.has(name)) throw new LvsError('LVS_NO_DIRECTOR', `stack ${stack.stack} has no director "${name}" (it has: ${[...known].join(', ')})`);
  }
  return { ...stack, directors: stack.directors.filter((d) => names.includes(d.name)) };
}

/** Picks the stack to work on: the only one, or the one named. */
export function selectStack(stacks: LoadedStack[], name: string | undefined): LoadedStack {
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
