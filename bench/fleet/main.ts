// lvsform apply to a fleet of lab directors against the raw baseline in the same run: `ipvsadm -R` of the same lines
// over SSH (one connection per director), to all N directors at once. Run:
//   npx tsx bench/fleet/main.ts [--directors 1,5,10] [--services 1000] [--reps 2]
// The N directors boot once; before every measurement of either side their IPVS is unloaded and loaded again and
// lvsform's state removed (bench/apply/common.ts's freshen: the state a boot leaves, no dest trash); one warm-up of
// each side is not counted; sides alternate.
// Also prints lvsform's own CPU time (process.cpuUsage) and peak RSS (process.memoryUsage, sampled every 20 ms).
// Then, on the directors of the last apply: the exact no-op plan (planStack) against the raw reads it needs
// (`ipvsadm -S -n` + `ipvsadm -L -n --thresholds`, one connection per director), on all N at once, interleaved.
import { readFileSync, readdirSync } from 'node:fs';
import { renderTable } from '../../providers/ipvs/model/render-restore.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import type { HostTarget } from '../../providers/ipvs/model/host-target.ts';
import { labDown, type LabState } from '../../lab/index.ts';
import {
  FIRST_INDEX,
  LAB_DIR,
  argList,
  argNumber,
  benchTable,
  bootLab,
  desiredFor,
  downOnStop,
  fmt,
  freshen,
  median,
  rawRestore,
  runOnce,
  targetOf,
  time,
} from '../apply/common.ts';

const DIRECTORS = argList('--directors', [1, 5, 10]);
const SERVICES = argNumber('--services', 1000);
const REPS = argNumber('--reps', 2);
/** Its own lab directory and first director number, so that it may run beside bench/apply (director 1). */
const DIR = process.env['LVSFORM_FLEET_LAB_DIR'] ?? LAB_DIR;
const FIRST = argNumber('--first-index', FIRST_INDEX);

/** Host memory (RSS, MB) of every process in each director kernel's process group. */
function vmMemoryMb(lab: LabState): number[] {
  const rss = new Map<number, number>();
  for (const pid of readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pgid = Number(fields[2]);
      const kb = Number(/VmRSS:\s+([0-9]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      rss.set(pgid, (rss.get(pgid) ?? 0) + kb);
    } catch {
      /* gone */
    }
  }
  return lab.directors.map((d) => (rss.get(d.vmPid ?? -1) ?? 0) / 1024);
}

/** The exact no-op plan of N directors against the raw reads on all N at once, interleaved. */
async function noopPhase(n: number, table: ReturnType<typeof benchTable>, targets: readonly HostTarget[]): Promise<void> {
  const ours: number[] = [];
  const base: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    for (const side of rep % 2 === 0 ? ['raw', 'plan'] : ['plan', 'raw']) {
      if (side === 'raw') {
        base.push((await time(() => Promise.all(targets.map((t) => runOnce(t, 'ipvsadm -S -n; ipvsadm -L -n --thresholds')))))[0]);
      } else {
        const desired = targets.map((t) => desiredFor(t, table));
        const [s, plan] = await time(() => planStack(desired, { stack: 'fleet', drain: false, parallelism: Math.max(10, n) }));
        const bad = plan.directors.find((d) => d.error || d.changes.length > 0);
        if (bad) throw new Error(`no-op plan of ${n}: ${bad.director}: ${JSON.stringify(bad.error) ?? `${bad.changes.length} changes`}`);
        ours.push(s);
      }
    }
  }
  const o = median(ours);
  const b = median(base);
  console.log(
    `  ${String(n).padStart(2)} director(s): exact no-op plan ${fmt(o)} s, raw reads on all at once ${fmt(b)} s, ratio ${(o / b).toFixed(2)} (target <= 1.1)` +
      `   [lvsform ${ours.map(fmt).join(' ')} | baseline ${base.map(fmt).join(' ')}]`,
  );
}

async function main(): Promise<void> {
  console.log(`lvsform fleet benchmark, ${new Date().toISOString()}, ${SERVICES} services x 4 reals, directors ${DIRECTORS.join(', ')}, ${REPS} repetitions`);
  const table = benchTable(SERVICES);
  const lines = renderTable(table);
  downOnStop(DIR);
  try {
    for (const n of DIRECTORS) {
      const ours: number[] = [];
      const base: number[] = [];
      let cpu = 0;
      let peak = 0;
      let rssBefore = 0;
      const { lab, seconds: boot } = await bootLab(n, false, DIR, FIRST);
      const targets = lab.directors.map((_, k) => targetOf(lab, k));
      let mem: number[] = [];
      const measure = async (side: string, keep: boolean): Promise<void> => {
        await freshen(targets);
        if (side === 'raw') {
          const [s] = await time(() => Promise.all(targets.map((t) => rawRestore(t, lines))));
          if (keep) base.push(s);
          return;
        }
        rssBefore = process.memoryUsage().rss;
        let high = rssBefore;
        const timer = setInterval(() => (high = Math.max(high, process.memoryUsage().rss)), 20);
        const desired = targets.map((t) => desiredFor(t, table));
        const c0 = process.cpuUsage();
        const [s, report] = await time(() => applyStack(desired, { stack: 'fleet', drain: false, parallelism: Math.max(10, n) }));
        const c = process.cpuUsage(c0);
        clearInterval(timer);
        high = Math.max(high, process.memoryUsage().rss);
        const bad = report.outcomes.filter((o) => o.status !== 'applied');
        if (bad.length > 0) throw new Error(`apply to ${n}: ${JSON.stringify(bad[0])}`);
        if (!keep) return;
        ours.push(s);
        cpu = (c.user + c.system) / 1e6;
        peak = high;
        mem = vmMemoryMb(lab);
      };
      // One warm-up of each side, not counted.
      await measure('raw', false);
      await measure('lvsform', false);
      for (let rep = 0; rep < REPS; rep++) {
        const order = rep % 2 === 0 ? ['raw', 'lvsform'] : ['lvsform', 'raw'];
        // The last measurement is lvsform's: its directors keep the table for the no-op plans.
        if (rep === REPS - 1) order.sort((a) => (a === 'raw' ? -1 : 1));
        for (const side of order) await measure(side, true);
      }
      const o = median(ours);
      const b = median(base);
      console.log(
        `  ${String(n).padStart(2)} director(s): lvsform ${fmt(o)} s, raw ipvsadm -R to all at once ${fmt(b)} s, ratio ${(o / b).toFixed(2)} (target <= 1.2)` +
          `   [lvsform ${ours.map(fmt).join(' ')} | baseline ${base.map(fmt).join(' ')}]`,
      );
      console.log(
        `      lvsform CPU ${fmt(cpu)} s (${fmt(cpu / n)} s per director); peak RSS ${(peak / 2 ** 20).toFixed(0)} MB ` +
          `(+${((peak - rssBefore) / 2 ** 20 / n).toFixed(1)} MB per director over ${(rssBefore / 2 ** 20).toFixed(0)} MB); ` +
          `boot of ${n} director(s) ${fmt(boot)} s; host RSS per director kernel after the apply ${fmt(median(mem))} MB`,
      );
      await noopPhase(n, table, targets);
    }
  } finally {
    await labDown({ dir: DIR });
  }
}

await main();
