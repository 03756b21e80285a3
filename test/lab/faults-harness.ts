/**
 * Shared pieces of the fault and security lab tests: stacks built in the test against lab directors, synthesized into
 * a throwaway project directory that the real `lvsform` command line can run on (`-C DIR … --no-synth`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { loadStacks, type LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { lab } from './helpers.ts';
import { alias } from './stack-harness.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');

export interface BuiltStack {
  readonly dir: string;
  readonly stack: LoadedStack;
}

/** How a director of the stack is reached: lab director number, or an explicit OpenSSH config + alias. */
export type Reach = number | { readonly configFile: string; readonly alias: string };

/**
 * Builds stack `name` with one Director per entry of `directors` (named lb1, lb2, …) and `build` adding services,
 * synthesizes it into a fresh project directory (cdktf.json whose app must never run: `--no-synth` only).
 */
export async function buildStack(
  name: string,
  directors: readonly Reach[],
  build: (ctx: { stack: LvsStack; lbs: Director[]; pool: RealServerPool }) => void,
): Promise<BuiltStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-faults-'));
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ app: 'false', output: 'cdktf.out' }));
  const app = new App({ outdir: path.join(dir, 'cdktf.out') });
  const stack = new LvsStack(app, name);
  const lbs = directors.map(
    (r, i) =>
      new Director(stack, `lb${i + 1}`, {
        ssh: typeof r === 'number' ? { configFile: lab().sshConfig, alias: alias(r) } : { configFile: r.configFile, alias: r.alias },
      }),
  );
  const pool = new RealServerPool(stack, 'web', {
    forwarding: Forwarding.NAT,
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }],
  });
  build({ stack, lbs, pool });
  app.synth();
  const [s] = await loadStacks(path.join(dir, 'cdktf.out'));
  return { dir, stack: s! };
}

/** `count` NAT services on consecutive ports of a lab VIP (a batch large enough to take seconds to apply). */
export function manyServices(lb: Director, pool: RealServerPool, count: number, firstPort = 10000): void {
  for (let i = 0; i < count; i += 1) {
    lb.addVirtualService(`s${i}`, { address: '198.51.100.11', port: firstPort + i, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
  }
}

/** Runs the real `lvsform` command (a child process) in the built project. */
export function lvsform(dir: string, args: readonly string[]) {
  return execa('node', [path.join(REPO, 'bin/lvsform.mjs'), '-C', dir, ...args], {
    cwd: REPO,
    reject: false,
    stdin: 'ignore',
    env: { NO_COLOR: '1' },
  });
}

/** Child processes of `pid` whose command line contains every one of `words` (`ps`, by parent id only). */
export async function childrenMatching(pid: number, words: readonly string[]): Promise<number[]> {
  const r = await execa('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && words.every((w) => l.includes(w)))
    .map((l) => Number(l.split(/\s+/)[0]));
}

/** Waits until `probe` returns true (polling), or throws after `seconds`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}
