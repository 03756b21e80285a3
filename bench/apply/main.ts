// lvsform apply on one lab director against baselines measured in the same run, on the same director, over the same
// SSH transport (one connection each). Run: npx tsx bench/apply/main.ts [--sizes 100,1000,10000] [--reps 3]
//
// 1. fresh apply (applyStack: read, diff, batch, verify) vs raw `ipvsadm -R` of the same lines, on one boot of the
//    director. Before every measurement of either side IPVS is unloaded and loaded again and lvsform's state removed
//    (common.ts's freshen: no table, no dest trash, see LAB-NOTES), as a boot leaves it; one warm-up of each side is
//    not counted; sides alternate ABAB… / BABA… per repetition.
// 2. exact no-op plan (planStack) vs the raw reads it needs (`ipvsadm -S -n` + `ipvsadm -L -n --thresholds`),
//    interleaved; also vs the same two dumps from one `ipvsadm -R` process, as lvsform makes them (no target); plus
//    an in-process profile of parseSave / mergeThresholds / diff on the captured output.
// 3. one changed weight, applied and verified with `refresh: false` (fast path), vs a keepalived 2.2.7 reload
//    (SIGHUP with the edited file, timed until the kernel shows the new weight); keepalived's fresh load as the peer.
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { diffTables } from '../../providers/ipvs/plan/diff.ts';
import { serviceId, type Table } from '../../providers/ipvs/model/model.ts';
import { mergeThresholds } from '../../providers/ipvs/read/parse-list.ts';
import { parseSave } from '../../providers/ipvs/read/parse-save.ts';
import { renderTable } from '../../providers/ipvs/model/render-restore.ts';
import { applyStack, planStack, type ApplyReport } from '../../providers/ipvs/apply/run-stack.ts';
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
} from './common.ts';

const SIZES = argList('--sizes', [100, 1000, 10_000]);
const REPS = argNumber('--reps', 3);
const STACK = 'bench';

function check(report: ApplyReport, what: string): void {
  const bad = report.outcomes.filter((o) => o.status === 'failed' || o.status === 'skipped');
  if (bad.length > 0) throw new Error(`${what}: ${JSON.stringify(bad[0]?.error ?? bad[0]?.residual.slice(0, 2))}`);
}

function line(label: string, ours: number[], base: number[], ratioTarget: string): void {
  const o = median(ours);
  const b = median(base);
  console.log(
    `  ${label.padEnd(44)} lvsform ${fmt(o).padStart(6)} s  baseline ${fmt(b).padStart(6)} s  ratio ${(o / b).toFixed(2)} (target ${ratioTarget})` +
      `   [lvsform ${ours.map(fmt).join(' ')} | baseline ${base.map(fmt).join(' ')}]`,
  );
}

async function freshPhase(n: number, table: Table, target: HostTarget): Promise<void> {
  const lines = renderTable(table);
  const ours: number[] = [];
  const base: number[] = [];
  // Where lvsform's time went, phase by phase (run-stack's onTiming; a phase met twice in one run is summed there).
  const phases = new Map<string, number[]>();
  const cpu: number[] = [];
  const measure = async (side: string, keep: boolean): Promise<void> => {
    await freshen([target]);
    if (side === 'raw') {
      const [s] = await time(() => rawRestore(target, lines));
      if (keep) base.push(s);
      return;
    }
    const desired = desiredFor(target, table);
    const c0 = process.cpuUsage();
    const seen = new Map<string, number>();
    const [s, report] = await time(() => applyStack([desired], { stack: STACK, drain: false, onTiming: (_d, p, ms) => seen.set(p, (seen.get(p) ?? 0) + ms) }));
    const c = process.cpuUsage(c0);
    check(report, 'fresh apply');
    if (!keep) return;
    for (const [p, ms] of seen) phases.set(p, [...(phases.get(p) ?? []), ms]);
    cpu.push((c.user + c.system) / 1e6);
    ours.push(s);
  };
  // One warm-up of each side (binaries and the table's text paged in on the director), not counted.
  await measure('raw', false);
  await measure('lvsform', false);
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? ['raw', 'lvsform'] : ['lvsform', 'raw'];
    // The last measurement of the phase is lvsform's, so the table and its record stay for the next phases.
    if (rep === REPS - 1) order.sort((a) => (a === 'raw' ? -1 : 1));
    for (const side of order) await measure(side, true);
  }
  line(`fresh apply ${n} x 4 (fresh IPVS each)`, ours, base, '<= 1.2');
  const perRun = [...phases].map(([p, ms]) => `${p} ${fmt(median(ms) / 1000)}`);
  console.log(`    phases, seconds (medians): ${perRun.join(', ')}; host CPU ${fmt(median(cpu))} s (process.cpuUsage, all threads)`);
}

async function noopPhase(n: number, table: Table, target: HostTarget): Promise<void> {
  const ours: number[] = [];
  const base: number[] = [];
  const oneProcess: number[] = [];
  let captured = '';
  for (let rep = 0; rep < REPS; rep++) {
    const raw = async () => {
      captured = await runOnce(target, 'ipvsadm -S -n; echo @@split; ipvsadm -L -n --thresholds');
    };
    // The same two dumps as lvsform makes them: one `ipvsadm -R` given both as input lines.
    const rawOne = () => runOnce(target, "ipvsadm -R <<'E'\n-S -n\n-L -n --thresholds\nE");
    const desired = desiredFor(target, table);
    const plan = async () => {
      const p = await planStack([desired], { stack: STACK, drain: false });
      if (p.directors[0]?.error || (p.directors[0]?.changes.length ?? 1) !== 0) throw new Error(`no-op plan: ${JSON.stringify(p.directors[0]?.error)}`);
    };
    for (const side of rep % 2 === 0 ? ['raw', 'plan', 'one'] : ['one', 'plan', 'raw']) {
      if (side === 'raw') base.push((await time(raw))[0]);
      else if (side === 'one') oneProcess.push((await time(rawOne))[0]);
      else ours.push((await time(plan))[0]);
    }
  }
  line(`exact no-op plan ${n} x 4`, ours, base, '<= 1.1');
  line(`  the same, vs both dumps from one ipvsadm -R`, ours, oneProcess, 'none');
  const [save, thresholds] = captured.split('@@split\n');
  const t0 = performance.now();
  const parsed = parseSave(save ?? '');
  const t1 = performance.now();
  const merged = mergeThresholds(parsed, thresholds ?? '');
  const t2 = performance.now();
  const owned = new Set(table.services.map((s) => serviceId(s.key)));
  const diff = diffTables(merged, table, { owned });
  const t3 = performance.now();
  if (diff.changes.length !== 0) throw new Error('profile: the diff is not empty');
  console.log(
    `    in-process: parseSave ${(t1 - t0).toFixed(0)} ms, mergeThresholds ${(t2 - t1).toFixed(0)} ms, diff ${(t3 - t2).toFixed(0)} ms (of ${fmt(median(ours))} s)`,
  );
}

async function fastPhase(n: number, table: Table, target: HostTarget): Promise<number[]> {
  // Prime: the first refresh=false apply finds no fast state, reads everything, and stores it.
  const primed = await applyStack([desiredFor(target, table)], { stack: STACK, drain: false, refresh: false });
  check(primed, 'priming apply');
  const again = desiredFor(target, table);
  const [noop, plan] = await time(() => planStack([again], { stack: STACK, drain: false, refresh: false }));
  if (!plan.directors[0]?.refresh?.trusted) throw new Error(`fast no-op plan did not trust the record: ${plan.directors[0]?.refresh?.reason}`);
  console.log(`  fast no-op plan ${n} x 4 (refresh=false): ${fmt(noop)} s, ${plan.directors[0].changes.length} changes`);
  const times: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const w = rep % 2 === 0 ? 2 : 1;
    const changed = benchTable(n, (i, r) => (i === 0 && r === 0 ? w : 1));
    const desired = desiredFor(target, changed);
    const [s, report] = await time(() => applyStack([desired], { stack: STACK, drain: false, refresh: false }));
    check(report, 'fast apply');
    const d = report.plan.directors[0]!;
    if (!d.refresh?.trusted || d.changes.length !== 1)
      throw new Error(`fast apply: trusted=${d.refresh?.trusted} (${d.refresh?.reason}), ${d.changes.length} changes`);
    times.push(s);
  }
  const last = benchTable(n, (i, r) => (i === 0 && r === 0 && (REPS - 1) % 2 === 0 ? 2 : 1));
  const first = last.services[0]!;
  const shown = await runOnce(target, `ipvsadm -L -n -t ${first.key.kind === 'addr' ? `${first.key.address}:${first.key.port}` : ''}`);
  if (!shown.includes(`Masq    ${first.destinations[0]!.weight} `)) throw new Error(`the kernel does not show the weight: ${shown}`);
  return times;
}

function keepalivedConf(table: Table, weight: number): string {
  const out = ['global_defs {', '  router_id lvsform_bench', '}'];
  table.services.forEach((s, i) => {
    if (s.key.kind !== 'addr') return;
    out.push(`virtual_server ${s.key.address} ${s.key.port} {`, '  lb_algo rr', '  lb_kind NAT', '  protocol TCP');
    s.destinations.forEach((d, r) => out.push(`  real_server ${d.address} ${d.port} {`, `    weight ${i === 0 && r === 0 ? weight : d.weight}`, '  }'));
    out.push('}');
  });
  return `${out.join('\n')}\n`;
}

/** Seconds the keepalived phase waits for a fresh load (10,000 × 4 takes ≈ 22 s under emulation) and for a reload. */
const LOAD_DEADLINE_S = 300;
const RELOAD_DEADLINE_S = 120;

/**
 * A guest-side poll of `condition` every `every` seconds that gives up after `deadline` seconds, or at once when
 * keepalived has exited (its log is printed): no wait of the benchmark can hang.
 */
function pollUntil(condition: string, every: number, deadline: number, what: string): string {
  return (
    `end=$(( $(date +%s) + ${deadline} )); until ${condition}; do ` +
    `if ! kill -0 "$(cat /tmp/k.main)" 2>/dev/null; then echo "keepalived exited while ${what}:" >&2; cat /tmp/k.log >&2; exit 1; fi; ` +
    `if [ "$(date +%s)" -ge "$end" ]; then echo "${what}: not done after ${deadline} s" >&2; tail -n 20 /tmp/k.log >&2; exit 1; fi; ` +
    `sleep ${every}; done`
  );
}

/** keepalived runs in the guest from this machine's root: the lab's packages (keepalived among them) when missing. */
async function ensureKeepalived(): Promise<void> {
  await execa('bash', [fileURLToPath(new URL('../../scripts/install-lab-deps.sh', import.meta.url))], { stdio: 'inherit' });
}

async function keepalivedPhase(n: number, table: Table, lab: LabState): Promise<{ load: number; reloads: number[] }> {
  await freshen([targetOf(lab, 0)]);
  const alias = lab.directors[0]!.alias;
  const ssh = (script: string, input?: string) => execa('ssh', ['-F', lab.sshConfig, alias, script], { input: input ?? '' });
  await ssh('cat > /tmp/k.conf', keepalivedConf(table, 1));
  const first = table.services[0]!;
  const vip = first.key.kind === 'addr' ? `${first.key.address}:${first.key.port}` : '';
  const dests = n * 4;
  // Start and wait until the kernel holds every real server (polled every 0.5 s from inside the guest), failing at once
  // when keepalived is gone and at the deadline otherwise.
  const [load] = await time(() =>
    ssh(
      `setsid keepalived -n -l -C -f /tmp/k.conf -p /tmp/k.pid -c /tmp/k.pid >/tmp/k.log 2>&1 </dev/null & echo $! > /tmp/k.main; ` +
        pollUntil(`[ "$(grep -c -- '->' /proc/net/ip_vs)" -ge ${dests + 1} ]`, 0.5, LOAD_DEADLINE_S, 'keepalived loading the table'),
    ),
  );
  // Line of the first real server's weight in the file: global_defs (3 lines) + 4 service lines + real_server.
  const weightLine = 3 + 4 + 2;
  const reloads: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const w = rep % 2 === 0 ? 2 : 1;
    const [s] = await time(() =>
      ssh(
        `sed -i '${weightLine}s/weight [0-9]*/weight ${w}/' /tmp/k.conf && kill -HUP "$(cat /tmp/k.main)" && ` +
          pollUntil(`ipvsadm -L -n -t ${vip} | grep -q '192.0.2.11:8000 *Masq *${w} '`, 0.05, RELOAD_DEADLINE_S, 'keepalived reloading'),
      ),
    );
    reloads.push(s);
  }
  // keepalived gone (waited for, at most 10 s) before the next size unloads the module its table holds.
  await ssh('p=$(cat /tmp/k.main); kill "$p"; i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; true').catch(
    () => undefined,
  );
  return { load, reloads };
}

async function main(): Promise<void> {
  console.log(
    `lvsform apply benchmark, ${new Date().toISOString()}, sizes ${SIZES.join(', ')}, ${REPS} repetitions, one lab director (${LAB_DIR}, number ${FIRST_INDEX})`,
  );
  await ensureKeepalived();
  downOnStop(LAB_DIR);
  const [boot, { lab }] = await time(() => bootLab(1, true));
  console.log(`  lab boot: ${fmt(boot)} s`);
  const target = targetOf(lab, 0);
  try {
    for (const n of SIZES) {
      console.log(`N = ${n} services x 4 NAT reals`);
      const table = benchTable(n);
      await freshPhase(n, table, target);
      await noopPhase(n, table, target);
      const fast = await fastPhase(n, table, target);
      const k = await keepalivedPhase(n, table, lab);
      line(`one weight, fast apply vs keepalived reload`, fast, k.reloads, '<= 1.0');
      console.log(`  keepalived fresh load ${n} x 4 (peer figure): ${fmt(k.load)} s`);
    }
  } finally {
    await labDown({ dir: LAB_DIR });
  }
}

await main();
