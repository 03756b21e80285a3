import { readdir, readFile } from 'node:fs/promises';

/** The argv of a live (non-zombie) process, or undefined when it is gone. */
export async function processArgv(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a.length > 0);
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and its argv contains `marker` as a whole argument (guards against reused PIDs). */
export async function isProcessWith(pid: number | null | undefined, marker: string): Promise<boolean> {
  if (!pid) return false;
  const argv = await processArgv(pid);
  return argv?.includes(marker) === true;
}

/** PIDs of live processes whose argv contains `marker` as a whole argument. */
export async function findProcessesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if ((await processArgv(pid))?.includes(marker)) found.push(pid);
  }
  return found;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits until none of `pids` is alive (zombies count as gone); returns those still alive after `timeoutMs`. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = [...pids];
  for (;;) {
    const states = await Promise.all(alive.map((p) => processArgv(p)));
    alive = alive.filter((_, i) => states[i] !== undefined);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}
