// A cluster apply (one director and its real servers, from bare) against the same changes sent by hand over SSH to
// every host at once, on the cluster lab. Run:
//   npx tsx bench/cluster/main.ts [--services 100,1000] [--real-servers 2] [--reps 3] [--first-index K]
//
// The app: direct routing, N services (50 VIPs on the shared segment × ports from 1000) round robin over every real
// server, each real server a RealServerHost. lvsform's apply puts the table on the director, and on each real server
// the 50 VIPs on lo, arp_ignore=1 / arp_announce=2 (all and the segment's card), its record and its boot files (a
// sysctl.d file, a oneshot unit, enabled).
//
// Sides, interleaved (the order rotates every repetition):
// - cluster: applyStack of the director and its real servers;
// - raw: all hosts at once, one `ssh … sh -s` each as lvsform uses: the director's `ipvsadm -R` of the same lines, each
//   real server's `ip -force -b -` of the same `addr add` lines, one `sysctl -w` of the four settings, and the same two
//   boot files written and the unit enabled;
// - director only: the same table applied to the director alone (no RealServerHost), for what the real servers add.
//
// Between measurements every host goes back to bare: lvsform's destroy (or the raw side's undo), then ip_vs unloaded
// on the director (`modprobe -r`), which frees IPVS's dest trash with the module: the state of a fresh boot (deleted
// real servers stay ≈ 120 s in the trash, and a re-add of the same destination finds and revives them, see LAB-NOTES),
// in under a second instead of a ≈ 30 s reboot. Before every measurement each host is read back and compared with the
// bare state read at the start (after one warm-up of each side): a measurement starts only from bare.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Director, Forwarding, LvsStack, RealServerHost, RealServerPool, Scheduler } from '../../lib/index.ts';
import { type ClusterVmFacts, clusterFactsOf, labDown, labStatus, labUp } from '../../lab/index.ts';
import { applyStack, type ApplyReport } from '../../providers/ipvs/apply/run-stack.ts';
import type { DirectorHost, ExchangeOptions, OpenDirectorHost } from '../../providers/ipvs/host/director-host.ts';
import type { HostRequest, RepliesOf } from '../../providers/ipvs/host/requests/index.ts';
import { openShDirectorHost } from '../../providers/ipvs/host/sh-director-host.ts';
import type { HostTarget } from '../../providers/ipvs/model/host-target.ts';
import { renderTable } from '../../providers/ipvs/model/render-restore.ts';
import { type LoadedStack, loadStacks } from '../../providers/ipvs/read/synth.ts';
import { FIRST_INDEX, LAB_DIR, UNLOAD_IPVS, argList, argNumber, fmt, median, rawRestore, runOnce, time } from '../apply/common.ts';

const SIZES = argList('--services', [100, 1000]);
const REAL_SERVERS = argNumber('--real-servers', 2);
const REPS = argNumber('--reps', 3);
const DIR = process.env['LVSFORM_LAB_CLUSTER_DIR'] ?? `${LAB_DIR}-cluster`;
const FIRST = argNumber('--first-index', Number(process.env['LVSFORM_LAB_CLUSTER_FIRST_INDEX'] ?? FIRST_INDEX));
/** A running cluster lab in DIR is used and left up (for iterating on the bench itself). */
const REUSE = process.env['LVSFORM_LAB_REUSE'] === '1';
const STACK = 'cbench';
const VIPS = 50;
/** The raw side's boot files, named like lvsform's so that both write the same amount in the same directories. */
const RAW_UNIT = 'raw-cbench-real-server.service';
const RAW_SYSCTL = '/etc/sysctl.d/90-raw-cbench-real-server.conf';
/** Deadlines: a boot, one measurement or clean-up of a host (1,000 services take seconds; emulation under load, more). */
const BOOT_MS = 300_000;
const STEP_MS = 600_000;

type Side = 'cluster' | 'raw' | 'director only';

const vip = (i: number) => `198.51.100.${20 + (i % VIPS)}`;
const port = (i: number) => 1000 + Math.floor(i / VIPS);

/** Rejects when `work` has not settled after `ms` (the lab is then taken down, which ends any ssh still waiting). */
function deadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The app: `n` direct-routing services over every real server, each real server a RealServerHost (unless `alone`). */
async function synth(director: ClusterVmFacts, realServers: readonly ClusterVmFacts[], n: number, alone: boolean): Promise<LoadedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'lvsform-cbench-'));
  try {
    const app = new App({ outdir });
    const stack = new LvsStack(app, STACK);
    const ssh = (vm: ClusterVmFacts) => ({ configFile: vm.sshConfig, alias: vm.alias });
    const lb1 = new Director(stack, 'lb1', { ssh: ssh(director) });
    if (!alone) for (const r of realServers) new RealServerHost(stack, r.name, { ssh: ssh(r), addresses: [r.shared.ipv4], interface: r.shared.iface });
    const web = new RealServerPool(stack, 'web', { forwarding: Forwarding.DIRECT_ROUTING, members: realServers.map((r) => ({ address: r.shared.ipv4 })) });
    for (let i = 0; i < n; i++) lb1.addVirtualService(`svc-${i}`, { address: vip(i), port: port(i), scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
    app.synth();
    const [loaded] = await loadStacks(outdir);
    return loaded!;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function targetOf(vm: ClusterVmFacts): HostTarget {
  return { name: vm.name, transport: 'ssh', ssh: { configFile: vm.sshConfig, alias: vm.alias } };
}

/** The four ARP settings of direct routing on a real server, at `on` (1 and 2) or off (0). */
function arpSysctls(r: ClusterVmFacts, on: boolean): string[] {
  return ['all', r.shared.iface].flatMap((dev) => [`net.ipv4.conf.${dev}.arp_ignore=${on ? 1 : 0}`, `net.ipv4.conf.${dev}.arp_announce=${on ? 2 : 0}`]);
}

/** What an operator sends a real server by hand, in one `sh -s`: the VIPs on lo, the ARP settings, their boot files. */
function rawPrepare(r: ClusterVmFacts, vips: readonly string[]): string {
  const add = vips.map((v) => `addr add ${v}/32 dev lo label lo:lvs`);
  const unit = [
    '[Unit]',
    'Description=VIPs on lo and the ARP settings of direct routing',
    'After=network-online.target systemd-sysctl.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...vips.map((v) => `ExecStart=ip addr replace ${v}/32 dev lo label lo:lvs`),
    `ExecStart=sysctl -q -w ${arpSysctls(r, true).join(' ')}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return [
    `ip -force -b - <<'EOF'\n${add.join('\n')}\nEOF`,
    `sysctl -q -w ${arpSysctls(r, true).join(' ')}`,
    `cat > ${RAW_SYSCTL} <<'EOF'\n${arpSysctls(r, true)
      .map((s) => s.replace('=', ' = '))
      .join('\n')}\nEOF`,
    `cat > /etc/systemd/system/${RAW_UNIT} <<'EOF'\n${unit.join('\n')}\nEOF`,
    `systemctl enable ${RAW_UNIT} 2>&1`,
  ].join('\n');
}

/** The raw side's undo on a real server. */
function rawUndo(r: ClusterVmFacts, vips: readonly string[]): string {
  const del = vips.map((v) => `addr del ${v}/32 dev lo`);
  return [
    `ip -force -b - <<'EOF'\n${del.join('\n')}\nEOF`,
    `sysctl -q -w ${arpSysctls(r, false).join(' ')}`,
    `systemctl disable ${RAW_UNIT} 2>&1; rm -f /etc/systemd/system/${RAW_UNIT} ${RAW_SYSCTL}`,
  ].join('\n');
}

/** What either side may change on a host, read back as text (never loading ip_vs: no `ipvsadm` here). */
const SNAPSHOT = [
  "grep '^ip_vs' /proc/modules | cut -d' ' -f1",
  "ip -o addr show | awk '{print $2, $4}'",
  'for f in /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/ip_forward; do echo "$f $(cat $f)"; done',
  'ls /etc/sysctl.d /etc/systemd/system /etc/systemd/system/multi-user.target.wants',
  'find /var/lib/lvsform -type f 2>/dev/null | sort',
].join('; ');

async function snapshots(hosts: readonly ClusterVmFacts[]): Promise<string[]> {
  return deadline('reading the hosts back', STEP_MS, Promise.all(hosts.map((h) => runOnce(targetOf(h), SNAPSHOT))));
}

function check(report: ApplyReport, what: string): void {
  const bad = [
    ...report.outcomes.filter((o) => o.status !== 'applied').map((o) => `${o.director}: ${o.status} ${JSON.stringify(o.error ?? o.residual.slice(0, 2))}`),
    ...(report.realServerOutcomes ?? []).filter((o) => o.status !== 'applied').map((o) => `${o.host}: ${o.status} ${JSON.stringify(o.error)}`),
  ];
  if (bad.length > 0) throw new Error(`${what}: ${bad.join('; ')}`);
}

function destroyOf(stack: LoadedStack) {
  return applyStack(
    stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() })),
    { stack: stack.stack, destroy: true, drain: false, realServers: stack.realServers },
  );
}

interface Lab {
  readonly director: ClusterVmFacts;
  readonly realServers: ClusterVmFacts[];
  readonly hosts: ClusterVmFacts[];
}

/** One round trip of an apply (or a session's close): on which host, when (ms from the apply's start), what it carried. */
interface Trip {
  readonly host: string;
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

/** lvsform's own hosts (ssh, `sh -s`), each round trip and close logged: the timeline of an apply, host by host. */
function tracing(trips: Trip[], t0: number): OpenDirectorHost {
  return (target, opts) => {
    const host = openShDirectorHost(target, opts);
    const logged = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      const start = performance.now() - t0;
      try {
        return await work();
      } finally {
        trips.push({ host: target.name, start, end: performance.now() - t0, what });
      }
    };
    const traced: DirectorHost = {
      target: host.target,
      exchange: <const R extends readonly HostRequest[]>(requests: R, o?: ExchangeOptions): Promise<RepliesOf<R>> =>
        logged(requests.map((r) => r.kind).join('+'), () => host.exchange(requests, o)),
      close: () => logged('close', () => host.close()),
      kill: () => host.kill(),
    };
    return traced;
  };
}

/** The timeline of one apply, a line per host: each round trip's start and end in seconds, and what it carried. */
function timeline(trips: readonly Trip[]): string[] {
  const hosts = [...new Set(trips.map((t) => t.host))];
  return hosts.map((h) => {
    const mine = trips.filter((t) => t.host === h).sort((a, b) => a.start - b.start);
    return `${h.padEnd(20)} ${mine.map((t) => `${fmt(t.start / 1000)}-${fmt(t.end / 1000)} ${t.what}`).join(' | ')}`;
  });
}

/** One measurement of `side` (from bare), then its undo back to bare; the seconds of the measurement. */
async function measure(lab: Lab, side: Side, n: number, stacks: { cluster: LoadedStack; alone: LoadedStack }, trips: Trip[] = []): Promise<number> {
  const vips = Array.from({ length: Math.min(n, VIPS) }, (_, i) => vip(i));
  let seconds: number;
  if (side === 'raw') {
    const lines = renderTable(stacks.cluster.directors[0]!.table);
    const t0 = performance.now();
    const timed = async (host: string, what: string, work: () => Promise<unknown>) => {
      const start = performance.now() - t0;
      await work();
      trips.push({ host, start, end: performance.now() - t0, what });
    };
    [seconds] = await time(() =>
      deadline(
        'raw side',
        STEP_MS,
        Promise.all([
          timed(lab.director.name, 'ipvsadm -R', () => rawRestore(targetOf(lab.director), lines)),
          ...lab.realServers.map((r) => timed(r.name, 'ip -b, sysctl, boot files', () => runOnce(targetOf(r), rawPrepare(r, vips)))),
        ]),
      ),
    );
    await deadline(
      'raw undo',
      STEP_MS,
      Promise.all([runOnce(targetOf(lab.director), UNLOAD_IPVS), ...lab.realServers.map((r) => runOnce(targetOf(r), rawUndo(r, vips)))]),
    );
  } else {
    const stack = side === 'cluster' ? stacks.cluster : stacks.alone;
    const t0 = performance.now();
    const [s, report] = await time(() =>
      deadline(
        `${side} apply`,
        STEP_MS,
        applyStack(stack.directors, { stack: stack.stack, drain: false, realServers: stack.realServers, openHost: tracing(trips, t0) }),
      ),
    );
    check(report, `${side} apply`);
    seconds = s;
    check(await deadline(`${side} destroy`, STEP_MS, destroyOf(stack)), `${side} destroy`);
    await deadline('unloading ip_vs', STEP_MS, runOnce(targetOf(lab.director), UNLOAD_IPVS));
  }
  return seconds;
}

async function bootCluster(): Promise<Lab> {
  const status = await labStatus({ dir: DIR });
  let state = REUSE && status.running && status.state?.cluster ? status.state : undefined;
  if (state) console.log(`  reusing the cluster lab in ${DIR}`);
  else {
    await labDown({ dir: DIR });
    const [boot, up] = await time(() =>
      labUp({
        dir: DIR,
        cluster: true,
        directors: 1,
        realServers: REAL_SERVERS,
        firstIndex: FIRST,
        bootTimeoutMs: BOOT_MS,
        onProgress: (m) => console.log(`  lab: ${m}`),
      }),
    );
    console.log(`  lab boot (1 director, ${REAL_SERVERS} real servers): ${fmt(boot)} s`);
    state = up;
  }
  const facts = clusterFactsOf(state);
  const realServers = facts.realServers.filter((r): r is ClusterVmFacts => r.shared !== undefined);
  if (realServers.length !== facts.realServers.length) throw new Error(`the cluster lab in ${DIR} has real servers off the shared segment`);
  const director = facts.directors[0]!;
  return { director, realServers, hosts: [director, ...realServers] };
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

async function sizePhase(lab: Lab, n: number, bare: readonly string[]): Promise<void> {
  const stacks = { cluster: await synth(lab.director, lab.realServers, n, false), alone: await synth(lab.director, lab.realServers, n, true) };
  const times: Record<Side, number[]> = { cluster: [], raw: [], 'director only': [] };
  // The round trips of each lvsform apply, per side and repetition.
  const trips: Record<Side, Trip[][]> = { cluster: [], raw: [], 'director only': [] };
  const sides: Side[] = ['raw', 'cluster', 'director only'];
  for (let rep = 0; rep < REPS; rep++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(k + rep) % sides.length]!;
      const now = await snapshots(lab.hosts);
      const differs = lab.hosts.filter((_, h) => now[h] !== bare[h]).map((h) => h.name);
      if (differs.length > 0) throw new Error(`not back to bare before the ${side} side: ${differs.join(', ')}`);
      const log: Trip[] = [];
      times[side].push(await measure(lab, side, n, stacks, log));
      trips[side].push(log);
    }
  }
  const c = median(times.cluster);
  const r = median(times.raw);
  const a = median(times['director only']);
  const runs = (xs: number[]) => xs.map(fmt).join(' ');
  console.log(
    `  ${n} services x ${lab.realServers.length} reals: cluster apply ${fmt(c)} s, raw to all hosts at once ${fmt(r)} s, ratio ${(c / r).toFixed(2)} (target <= 1.2)` +
      `   [cluster ${runs(times.cluster)} | raw ${runs(times.raw)}]`,
  );
  console.log(
    `      director only (same table, no real server hosts): ${fmt(a)} s [${runs(times['director only'])}]; cluster / director only ${(c / a).toFixed(2)}`,
  );
  const directorTrips = (side: Side) =>
    trips[side].map((l) => l.filter((t) => t.host === stacks.cluster.directors[0]!.name && t.what !== 'close').length).join(' ');
  console.log(`      the director's round trips per apply: cluster ${directorTrips('cluster')}; director only ${directorTrips('director only')}`);
  // The timeline of the cluster apply closest to the median: where its time went, host by host.
  const mid = times.cluster.indexOf([...times.cluster].sort((x, y) => Math.abs(x - c) - Math.abs(y - c))[0]!);
  console.log(`      timeline of the cluster apply of ${fmt(times.cluster[mid]!)} s (seconds from its start):`);
  for (const l of timeline(trips.cluster[mid]!)) console.log(`        ${l}`);
  const rawMid = times.raw.indexOf([...times.raw].sort((x, y) => Math.abs(x - r) - Math.abs(y - r))[0]!);
  console.log(`      the raw side of ${fmt(times.raw[rawMid]!)} s:`);
  for (const l of timeline(trips.raw[rawMid]!)) console.log(`        ${l}`);
}

async function main(): Promise<void> {
  console.log(
    `lvsform cluster apply benchmark, ${new Date().toISOString()}, services ${SIZES.join(', ')}, ${REAL_SERVERS} real servers, ${REPS} repetitions, lab ${DIR} (VMs from ${FIRST})`,
  );
  console.log(`  load average at start: ${load()}`);
  let done = false;
  const down = async () => {
    if (!REUSE) await labDown({ dir: DIR });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: taking the lab down`);
      void down().finally(() => process.exit(130));
    });
  }
  try {
    const lab = await bootCluster();
    // One warm-up of each side at the smallest size (the binaries paged in, lvsform's state directory made), then the
    // bare state every measurement must start from.
    const warm = { cluster: await synth(lab.director, lab.realServers, 10, false), alone: await synth(lab.director, lab.realServers, 10, true) };
    await measure(lab, 'cluster', 10, warm);
    await measure(lab, 'raw', 10, warm);
    const bare = await snapshots(lab.hosts);
    for (const n of SIZES) await sizePhase(lab, n, bare);
    done = true;
  } finally {
    console.log(`  load average at end: ${load()}${done ? '' : ' (stopped by an error)'}`);
    await down();
  }
}

await main();
