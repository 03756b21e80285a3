/**
 * Helpers for the bad-input catalogue: throwaway projects (cdktf.json + an app using the construct library by
 * absolute path) and an in-process run of the `lvsform` command line that captures what it prints and its exit code.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../cli/main.ts';

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const TSX = path.join(REPO, 'node_modules/.bin/tsx');
export const LIB = path.join(REPO, 'lib/index.ts');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh project directory with the given files (paths relative to it). */
export function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-bad-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** cdktf.json running `app.ts` with tsx. */
export const CDKTF_JSON = JSON.stringify({ language: 'typescript', app: `${TSX} app.ts`, output: 'cdktf.out' });

/**
 * An app whose body (TypeScript, with `app`, `stack` and director `lb1` in scope, and every export of the library)
 * builds stack `web`. Director lb1 is reached over ssh at a documentation address: no test here ever reaches it.
 */
export function appSource(body: string): string {
  return [
    `import { App, LvsStack, Director, RealServerPool, Forwarding, Scheduler, Protocol } from ${JSON.stringify(LIB)};`,
    `const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });`,
    `const stack = new LvsStack(app, 'web');`,
    `const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root' } });`,
    `void [Forwarding, Scheduler, Protocol, RealServerPool, lb1];`,
    body,
    `app.synth();`,
  ].join('\n');
}

/** Runs `lvsform ARGV` in this process (as bin/lvsform.mjs does) and captures its output and exit code. */
export async function runCli(argv: readonly string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  const savedExit = process.exitCode;
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'lvsform', ...argv]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = savedExit;
  }
}

/** The `{error:{code,message,hint}}` object printed by `--json`. */
export function jsonError(run: CliRun): { code: string; message: string; hint?: string } {
  const line = run.stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as { error?: { code: string; message: string; hint?: string } };
  if (!parsed.error) throw new Error(`no error object in: ${run.stdout}`);
  return parsed.error;
}

/**
 * Text without its colour codes. The in-process runs colour their output where picocolors would (CI=true turns colour
 * on), so a test about what is said reads the words, not the escapes around them.
 */
export function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
