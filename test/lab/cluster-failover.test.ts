/**
 * A director pair that fails over without breaking a download (issue 24), on the cluster lab: two directors on the
 * client's segment with the same direct-routing service (lvsform's table on each, the real servers prepared by
 * lvsform), keepalived's VRRP moving the VIP, and IPVS's connection synchronisation daemon on both (`ipvsadm
 * --start-daemon master` and `backup` at once, the roles Debian's ipvsadm service calls `both`).
 *
 * Long downloads run from the client through the VIP on director A; A is powered off (`labStop`: its QEMU killed, no
 * shutdown); keepalived on B takes the VIP after its advertisement timeout and announces it; the client's packets of
 * the established downloads reach B, whose table holds their connections from the sync daemon, and B forwards them
 * to the same real servers: every download completes, byte for byte. The contrast, the same without the sync daemon:
 * B knows none of the connections, answers the client's next packet from its own stack with a reset, and the
 * downloads break. Either way new connections are served by B and balanced over both real servers; A, started again
 * (`labStart`: its disk's /etc, its enabled units), comes back as backup and the VIP stays on B, and lvsform's plan is
 * empty on both directors (A's table came back by Debian's ipvsadm service from the rules lvsform saved).
 *
 * VRRP: A has priority 150, B 100, both start as BACKUP with `nopreempt`, and A's keepalived starts first so that A
 * is master. nopreempt, so that A coming back does not take the VIP again: that would be a second failover (another
 * 3–4 s in which the client's packets go to a director that is just booting) for nothing, B serving well.
 *
 * The pair is set up by hand (`pairByHand`): keepalived's VRRP-only file and the sync daemon written by this test.
 * When lvsform declares a pair itself, only that function changes: the rest is what the pair must do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterFacts, type ClusterVmFacts, labStart, labStop } from '../../lab/index.ts';
import { Director, Forwarding, LvsStack, RealServerHost, RealServerPool, Scheduler } from '../../lib/index.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import { shQuote } from '../../providers/ipvs/host/shell-quote.ts';
import { planHasChanges } from '../../providers/ipvs/plan/plan.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { cluster, onClient, onVm } from './cluster.ts';
import { DOWNLOAD_WRITE_OUT, type Download, parseDownloads } from './downloads.ts';
import { synthApp } from './ops-harness.ts';

let facts: ClusterFacts<ClusterVmFacts>;
const directorA = (): ClusterVmFacts => facts.directors[0]!;
const directorB = (): ClusterVmFacts => facts.directors[1]!;

const VIP = '198.51.100.50';
const VRRP_ROUTER_ID = 50;
const SYNC_ID = 50;
/** What each download fetches: the real servers' /big. */
const FILE_BYTES = 24 * 1024 * 1024;
const DOWNLOADS = 6;
/**
 * curl's own rate (the client namespace runs on this machine, not under emulation, so the limit holds): 24 MiB at
 * 1.5 MiB/s lasts 16 s, so A is powered off in the middle of every download.
 */
const RATE = '1536K';
/**
 * The client's TCP receive buffer for the test (min, default, max): small, so that a real server is never more than
 * 256 KiB ahead of curl's rate. With the default (up to 6 MiB) a download's last megabytes wait in the client's buffer
 * while its real server has nothing left to send, and a download could end well after the power-off without any packet
 * of it crossing the new director (one in six did so without the sync daemon).
 */
const CLIENT_RMEM = '4096 65536 262144';
/** A VM boot beside three running VMs on two cores, under emulation. */
const BOOT_TIMEOUT_MS = 300_000;

/** What the test needs of a director pair: lvsform's table on both, VRRP moving the VIP, the sync daemon or not. */
interface Pair {
  /** lvsform's stack (both directors' tables and the real servers' preparation), once `up` has built it. */
  readonly stack: () => LoadedStack | undefined;
  /** Makes the pair serve the VIP with A as master and B as backup, with or without the connection sync daemon. */
  up(sync: boolean): Promise<void>;
  /** Takes VRRP (and the VIP with it) and the sync daemon away; lvsform's tables stay. */
  down(): Promise<void>;
}

/** keepalived's VRRP-only configuration for one director of the pair: no virtual_server, the table is lvsform's. */
function keepalivedConf(d: ClusterVmFacts, priority: number): string {
  return [
    "# The lab pair of test/lab/cluster-failover.test.ts: VRRP moves the VIP; the IPVS table is lvsform's.",
    'global_defs {',
    `  router_id ${d.name}`,
    '}',
    'vrrp_instance lab_pair {',
    '  state BACKUP',
    `  interface ${d.shared.iface}`,
    `  virtual_router_id ${VRRP_ROUTER_ID}`,
    `  priority ${priority}`,
    '  advert_int 1',
    '  nopreempt',
    '  authentication {',
    '    auth_type PASS',
    '    auth_pass lvsform',
    '  }',
    '  virtual_ipaddress {',
    `    ${VIP}/32 dev ${d.shared.iface}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The sync daemon in both roles now, and at boot by Debian's ipvsadm service (`DAEMON="both"` in
 * /etc/default/ipvsadm, whose `AUTO` line lvsform's set-up owns); or neither.
 */
function syncDaemonScript(d: ClusterVmFacts, sync: boolean): string {
  const f = '/etc/default/ipvsadm';
  const lines = sync ? ['DAEMON="both"', `IFACE="${d.shared.iface}"`, `SYNCID="${SYNC_ID}"`] : ['DAEMON="none"'];
  return [
    `sed -i '/^[[:space:]]*\\(DAEMON\\|IFACE\\|SYNCID\\)=/d' ${f}`,
    `printf '%s\\n' ${lines.map(shQuote).join(' ')} >> ${f}`,
    'ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null',
    ...(sync ? ['master', 'backup'].map((role) => `ipvsadm --start-daemon ${role} --mcast-interface ${d.shared.iface} --syncid ${SYNC_ID}`) : []),
    'true',
  ].join('\n');
}

/** Polls a shell condition on a VM (every 0.2 s, `seconds` bound); throws with what it last saw. */
async function waitOnVm(vm: string, condition: string, seconds: number, what: string): Promise<void> {
  const script = `end=$(( $(date +%s) + ${seconds} )); until ${condition}; do [ "$(date +%s)" -ge "$end" ] && exit 1; sleep 0.2; done`;
  const r = await onVm(vm, script, { allowFailure: true });
  if (r.exitCode !== 0) throw new Error(`${vm}: ${what} not seen within ${seconds} s`);
}

const vipHeldBy = (d: ClusterVmFacts) => `ip -o addr show dev ${d.shared.iface} | grep -q ' ${VIP}/32 '`;

/** The pair set up by hand: lvsform's app (no `vips`: VRRP moves the VIP), keepalived and the sync daemon by the test. */
function pairByHand(): Pair {
  let stack: LoadedStack | undefined;
  const build = () =>
    synthApp((app) => {
      const s = new LvsStack(app, 'failover');
      const ssh = (vm: ClusterVmFacts) => ({ configFile: facts.sshConfig, alias: vm.alias });
      for (const r of facts.realServers) new RealServerHost(s, r.name, { ssh: ssh(r), addresses: [r.shared.ipv4], interface: r.shared.iface });
      const web = new RealServerPool(s, 'web', {
        forwarding: Forwarding.DIRECT_ROUTING,
        members: facts.realServers.map((r) => ({ address: r.shared.ipv4 })),
      });
      for (const [id, d] of [
        ['lb1', directorA()],
        ['lb2', directorB()],
      ] as const) {
        // `setup`: the table comes back at boot (the rules file and Debian's ipvsadm service), as a director's must.
        const lb = new Director(s, id, { ssh: ssh(d), setup: {} });
        lb.addVirtualService('web', { address: VIP, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
      }
    });
  return {
    stack: () => stack,
    async up(sync) {
      stack ??= await build();
      // From no VRRP at all (an earlier run leaves B master), so that A is master below.
      await Promise.all([directorA(), directorB()].map((d) => onVm(d.name, 'systemctl stop keepalived', { allowFailure: true })));
      const report = await applyStack(stack.directors, { stack: stack.stack, drain: false, realServers: stack.realServers });
      step('applied');
      expect(report.outcomes.map((o) => [o.director, o.status === 'failed' ? o.error?.message : 'ok'])).toEqual([
        ['lb1', 'ok'],
        ['lb2', 'ok'],
      ]);
      expect(report.realServerOutcomes?.filter((o) => o.status === 'failed').map((o) => [o.host, o.error?.message])).toEqual([]);
      const pair = [
        { d: directorA(), priority: 150 },
        { d: directorB(), priority: 100 },
      ];
      for (const { d, priority } of pair) {
        // `sync` at the end: what the next boot needs is on the disk before a power failure (ext4 writes data back
        // after up to 30 s; lvsform's own boot files and rules are among what this flushes).
        await onVm(d.name, `${syncDaemonScript(d, sync)}\ncat > /etc/keepalived/keepalived.conf <<'EOF'\n${keepalivedConf(d, priority)}EOF\nsync`);
      }
      step('keepalived and the sync daemon configured');
      // A first, so that it is master (both start as backup; the first to time out takes the VIP); then B.
      await onVm(directorA().name, 'systemctl enable --quiet keepalived && systemctl restart keepalived');
      await waitOnVm(directorA().name, vipHeldBy(directorA()), 20, `${VIP} on eth1`);
      await onVm(directorB().name, 'systemctl enable --quiet keepalived && systemctl restart keepalived');
      await waitOnVm(directorB().name, "journalctl -u keepalived -b --no-pager | grep -q 'Entering BACKUP STATE'", 20, 'keepalived as backup');
      expect((await onVm(directorB().name, `${vipHeldBy(directorB())} && echo held || echo free`)).stdout.trim()).toBe('free');
    },
    async down() {
      for (const d of [directorA(), directorB()]) {
        await onVm(d.name, `systemctl stop keepalived; rm -f /etc/keepalived/keepalived.conf; ${syncDaemonScript(d, false)}\nsync`, {
          allowFailure: true,
        });
      }
    },
  };
}

/** A progress line with the seconds since the case started (the steps' times go into the closing figures). */
let caseStarted = 0;
const step = (what: string): void => console.log(`failover +${((performance.now() - caseStarted) / 1000).toFixed(1)} s: ${what}`);

const complete = (d: Download): boolean => d.exitCode === 0 && d.bytes === FILE_BYTES;

/** Starts the downloads from the client, at once, one curl each; resolves when all have ended. */
async function runDownloads(): Promise<Download[]> {
  const curl = `curl --silent --output /dev/null --max-time 120 --limit-rate ${RATE} ${DOWNLOAD_WRITE_OUT} http://${VIP}/big`;
  return parseDownloads(await onClient(`i=0; while [ $i -lt ${DOWNLOADS} ]; do ${curl} & i=$((i + 1)); done; wait`), DOWNLOADS);
}

/** A director's connection entries from the client to the VIP: client port → state and real server. */
async function connections(d: ClusterVmFacts): Promise<Map<number, { state: string; server: string }>> {
  const out = (await onVm(d.name, 'ipvsadm -L -n -c')).stdout;
  const line = new RegExp(`^TCP\\s+\\S+\\s+(\\S+)\\s+${facts.client.ipv4}:(\\d+)\\s+${VIP}:80\\s+([\\d.]+):80\\s*$`, 'gm');
  return new Map([...out.matchAll(line)].map((m) => [Number(m[2]), { state: m[1]!, server: m[3]! }]));
}

/** Polls until `count` new client ports are ESTABLISHED on `d` (those in `before` are older); `seconds` bound. */
async function waitForEstablished(d: ClusterVmFacts, before: ReadonlySet<number>, count: number, seconds: number): Promise<Map<number, string>> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const found = new Map([...(await connections(d))].filter(([port, e]) => !before.has(port) && e.state === 'ESTABLISHED').map(([p, e]) => [p, e.server]));
    if (found.size >= count || performance.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls until `d`'s table holds an entry for each of the client's `ports`, or `seconds` pass; those it holds. */
async function waitForPorts(d: ClusterVmFacts, ports: readonly number[], seconds: number): Promise<number[]> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const table = await connections(d);
    const held = ports.filter((p) => table.has(p));
    if (held.length === ports.length || performance.now() > deadline) return held;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * From the client, right after the power-off: when its neighbour entry for the VIP names B's MAC (B's gratuitous
 * ARP; polled every 50 ms), and when a new connection is first served (curl after curl, each given 1 s: a SYN's first
 * retransmission comes after 1 s, so that is the resolution). Milliseconds since the epoch, on this machine's clock.
 */
async function watchFailover(): Promise<{ neighbourAt?: number; servedAt?: number; servedBy?: string }> {
  const script = [
    'end=$(( $(date +%s) + 60 ))',
    '( while [ "$(date +%s)" -lt "$end" ]; do',
    `    if ip neigh show ${VIP} dev ${facts.client.iface} | grep -q 'lladdr ${directorB().shared.mac}'; then echo "neigh $(date +%s%3N)"; break; fi`,
    '    sleep 0.05',
    '  done ) &',
    'while [ "$(date +%s)" -lt "$end" ]; do',
    `  if name=$(curl --silent --max-time 1 http://${VIP}/); then echo "served $(date +%s%3N) $name"; break; fi`,
    '  sleep 0.1',
    'done',
    'wait',
  ].join('\n');
  const out = (await onClient(script)).stdout;
  const neigh = /^neigh (\d+)$/m.exec(out);
  const served = /^served (\d+) (\S+)$/m.exec(out);
  return {
    ...(neigh ? { neighbourAt: Number(neigh[1]) } : {}),
    ...(served ? { servedAt: Number(served[1]), servedBy: served[2]! } : {}),
  };
}

/** Which real servers answered `count` requests to the VIP from the client (their names, sorted, once each). */
async function answeredBy(count: number): Promise<string[]> {
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const r = await onClient(['curl', '--silent', '--max-time', '5', `http://${VIP}/`]);
    names.add(r.exitCode === 0 ? r.stdout.trim() : `failed (${r.exitCode})`);
  }
  return [...names].sort();
}

interface FailoverRun {
  readonly downloads: readonly Download[];
  /** Downloads whose connection B's table held (from the sync daemon) before A was powered off. */
  readonly knownToB: number;
  /** Milliseconds from A's power-off to the client's neighbour entry naming B, and to the first new connection served. */
  readonly neighbourMs?: number;
  readonly servedMs?: number;
  readonly servedBy?: string;
  /** Real servers that answered new connections once the VIP had moved (A still off). */
  readonly afterMove: readonly string[];
  readonly bootMs: number;
}

/** Downloads through the VIP on A; A powered off mid-way; the move measured; A started again. */
async function failover(name: string, sync: boolean): Promise<FailoverRun> {
  const started = performance.now();
  caseStarted = started;
  await pair.up(sync);
  step('pair up');
  const before = new Set((await connections(directorA())).keys());
  const running = runDownloads();
  running.catch(() => undefined); // awaited below; a failed wait must not leave it unhandled
  const onA = await waitForEstablished(directorA(), before, DOWNLOADS, 30);
  expect(onA.size).toBe(DOWNLOADS);
  // With sync, B holds them once A's master daemon has sent them (it flushes at least every 2 s); without, never.
  const onB = await waitForPorts(directorB(), [...onA.keys()], sync ? 10 : 3);
  step(`downloads established, ${onB.length} in B's table`);
  const { stoppedAt } = await labStop(directorA().name, { dir: facts.dir });
  const watch = await watchFailover();
  const downloads = await running;
  step('downloads ended');
  const afterMove = await answeredBy(8);
  const boot = await labStart(directorA().name, { dir: facts.dir, bootTimeoutMs: BOOT_TIMEOUT_MS });
  const run: FailoverRun = {
    downloads,
    knownToB: onB.length,
    ...(watch.neighbourAt ? { neighbourMs: watch.neighbourAt - stoppedAt } : {}),
    ...(watch.servedAt ? { servedMs: watch.servedAt - stoppedAt, servedBy: watch.servedBy! } : {}),
    afterMove,
    bootMs: boot.ms,
  };
  const times = downloads.map((d) => d.seconds);
  const s = (ms?: number) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  console.log(
    `failover ${name}: case ${((performance.now() - started) / 1000).toFixed(1)} s; ${run.knownToB} of ${DOWNLOADS} connections in B's table before the power-off; ` +
      `VIP moved (client's neighbour entry) after ${s(run.neighbourMs)}, first new connection served after ${s(run.servedMs)}; ` +
      `${downloads.filter((d) => !complete(d)).length} of ${DOWNLOADS} downloads broken (exit codes ${downloads.map((d) => d.exitCode).join(' ')}, ` +
      `${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} s); A back after ${s(run.bootMs)}`,
  );
  return run;
}

/** After A's restart: A is backup (keepalived active, never master since its boot), the VIP on B, the plans empty. */
async function expectBackAsBackup(sync: boolean): Promise<void> {
  const a = directorA();
  await waitOnVm(a.name, "journalctl -u keepalived -b --no-pager | grep -q 'Entering BACKUP STATE'", 60, 'keepalived as backup');
  // B's advertisements reach A every second: a preempting A would take the VIP at the first. Give it three.
  await new Promise((r) => setTimeout(r, 3000));
  const state = await onVm(
    a.name,
    `systemctl is-active keepalived; journalctl -u keepalived -b --no-pager | grep -c 'Entering MASTER STATE'; ${vipHeldBy(a)} && echo held || echo free; ipvsadm -L --daemon`,
    { allowFailure: true },
  );
  const [active, masterCount, vip] = state.stdout.split('\n');
  expect([active, masterCount, vip]).toEqual(['active', '0', 'free']);
  expect((await onVm(directorB().name, `${vipHeldBy(directorB())} && echo held || echo free`)).stdout.trim()).toBe('held');
  // The sync daemon came back with A's boot (Debian's ipvsadm service, DAEMON="both"), or stayed off.
  const daemons = state.stdout.split('\n').slice(3).join('\n');
  for (const role of ['master', 'backup']) {
    expect([role, daemons.includes(`${role} sync daemon (mcast=${a.shared.iface}, syncid=${SYNC_ID}`)]).toEqual([role, sync]);
  }
  // lvsform's plan is empty on both: A's table came back from the rules lvsform saved
  const stack = pair.stack()!;
  const plan = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
  expect(plan.directors.map((d) => [d.director, d.error?.message, d.drift])).toEqual([
    ['lb1', undefined, []],
    ['lb2', undefined, []],
  ]);
  expect(planHasChanges(plan)).toBe(false);
}

const pair = pairByHand();

let savedRmem = '';

beforeAll(async () => {
  facts = await cluster();
  expect(facts.directors.length).toBeGreaterThanOrEqual(2);
  savedRmem = (await onClient(['sysctl', '-n', 'net.ipv4.tcp_rmem'])).stdout.trim().replace(/\s+/g, ' ');
  expect((await onClient(['sysctl', '-qw', `net.ipv4.tcp_rmem=${CLIENT_RMEM}`])).exitCode).toBe(0);
}, 900_000);

afterAll(async () => {
  if (!facts) return;
  if (savedRmem) await onClient(['sysctl', '-qw', `net.ipv4.tcp_rmem=${savedRmem}`]);
  // Whatever happened: A running, VRRP and the sync daemon gone, lvsform's tables and preparation destroyed.
  await labStart(directorA().name, { dir: facts.dir, bootTimeoutMs: BOOT_TIMEOUT_MS });
  await pair.down();
  const stack = pair.stack();
  if (stack) {
    await applyStack(
      stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() })),
      { stack: stack.stack, destroy: true, drain: false, realServers: stack.realServers },
    );
  }
}, 600_000);

describe('a director pair: VRRP moves the VIP, the sync daemon carries the connections', () => {
  it('with the sync daemon, every download completes on B after A loses power; A comes back as backup', async () => {
    // GIVEN the pair with the sync daemon, and six downloads through the VIP on A, each known to B's table
    // WHEN A is powered off mid-way
    const run = await failover('with sync', true);
    expect(run.knownToB).toBe(DOWNLOADS);
    // THEN the VIP moves to B within keepalived's timeout (3 advertisements of 1 s and B's skew, then its gratuitous ARP)
    expect(run.neighbourMs).toBeLessThan(8000);
    expect(run.servedMs).toBeLessThan(10_000);
    // AND every download completes, byte for byte
    expect(run.downloads.filter((d) => !complete(d))).toEqual([]);
    // AND new connections are served by B, over both real servers
    expect(run.afterMove).toEqual(facts.realServers.map((r) => r.name).sort());
    // AND A, started again, is backup, and lvsform's plan is empty on both
    await expectBackAsBackup(true);
  }, 900_000);

  it('without the sync daemon, the same power-off breaks the downloads that were established', async () => {
    // GIVEN the pair without the sync daemon (B knows none of A's connections) WHEN A is powered off mid-way
    const run = await failover('without sync', false);
    expect(run.knownToB).toBe(0);
    // THEN the VIP moves as before, and new connections are served by B over both real servers
    expect(run.neighbourMs).toBeLessThan(8000);
    expect(run.afterMove).toEqual(facts.realServers.map((r) => r.name).sort());
    // AND every established download breaks (B resets the client's next packet)
    expect(run.downloads.filter((d) => complete(d))).toEqual([]);
    await expectBackAsBackup(false);
  }, 900_000);
});
