/**
 * Helpers for the edge cases of the bad-input catalogue: a project synthesized once with a good app, then given bad
 * input, and a digest of its output directory, so that a case can prove that nothing in it changed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { appSource, CDKTF_JSON, jsonError, project, runCli } from './cli-helpers.ts';

export const GOOD_BODY = [
  `const web = new RealServerPool(stack, 'web-pool', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }] });`,
  `lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });`,
].join('\n');

/** Every file under `dir` (relative path, size and sha256), or "absent". */
export function treeDigest(dir: string): string {
  if (!fs.existsSync(dir)) return 'absent';
  const h = createHash('sha256');
  const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const names = files.map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
  for (const n of names)
    h.update(`${n}\0`)
      .update(fs.readFileSync(path.join(dir, n)))
      .update('\0');
  return `${names.length} files ${h.digest('hex')}`;
}

/** A project whose cdktf.out holds a good synth of stack web (one service); then its app is replaced by `app`. */
export async function synthesizedProject(files: Record<string, string> = {}): Promise<string> {
  const dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': appSource(GOOD_BODY) });
  const first = await runCli(['-C', dir, 'synth']);
  expect(first.code, first.stderr).toBe(0);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

export interface EdgeCase {
  readonly name: string;
  /** Builds the input; returns the project directory and the arguments after `lvsform`. */
  readonly given: () => Promise<{ dir: string; argv: string[] }>;
  readonly code: string;
  readonly message: RegExp;
  /** What the hint must say, when it matters. */
  readonly hint?: RegExp;
  /** Also run with `--json`. @default false */
  readonly json?: boolean;
}

/**
 * Runs a case: one error line with the code, the message, no stack trace, exit 1, and the project's cdktf.out
 * byte-identical afterwards.
 */
export async function expectRefused(c: EdgeCase): Promise<void> {
  const { dir, argv } = await c.given();
  const out = path.join(dir, 'cdktf.out');
  const before = treeDigest(out);
  const run = await runCli(argv);
  expect(run.code, run.stderr + run.stdout).toBe(1);
  if (argv.includes('--json')) {
    // With --json the error is the one document on standard output.
    const e = jsonError(run);
    expect(e.code).toBe(c.code);
    expect(e.message).toMatch(c.message);
    expect(treeDigest(out)).toBe(before);
    return;
  }
  const errors = run.stderr.match(/^Error \[[A-Z_]+\]/gm) ?? [];
  expect(errors, run.stderr).toEqual([`Error [${c.code}]`]);
  expect(run.stderr).toMatch(c.message);
  if (c.hint) expect(run.stderr).toMatch(c.hint);
  expect(run.stderr).not.toMatch(/Internal error|TypeError| {4}at /);
  expect(treeDigest(out)).toBe(before);
  if (c.json) {
    const json = await runCli([...argv, '--json']);
    expect(json.code).toBe(1);
    const e = jsonError(json);
    expect(e.code).toBe(c.code);
    expect(e.message).toMatch(c.message);
    expect(treeDigest(out)).toBe(before);
  }
}
