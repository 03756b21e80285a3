/**
 * A director pair that fails over without breaking a download (issue 24), on the cluster lab, declared and applied by
 * lvsform alone. One `DirectorPair` of the cluster's two directors carries a direct-routing service (IPv4) and a NAT
 * service (IPv6), and one `applyStack` writes all that the failover needs on both directors: the table, keepalived's
 * VRRP-only file (the two VIPs on the client's segment and the NAT real servers' gateway on the private segment, all
 * moving together; `nopreempt`), the connection sync daemons (or none, for the contrast) and the boot files that bring
 * them back after a power failure; and it prepares the real servers (the DR VIP on `lo` and the ARP settings; the NAT
 * default route through the pair's inside gateway). Nothing of the pair is written by this test.
 *
 * UDP flows (one source port each) run beside them through a UDP service on the DR VIP (udp-flows.ts): with the sync
 * daemon the new master holds their entries and each flow keeps its real server; without, the new master schedules
 * them anew, and after a new flow has taken round robin's first turn there, each lands on another real server.
 *
 * A third case drops VRRP's multicast on both directors (iptables on their output), as a network without multicast
 * does: the multicast pair ends with both holding the VIPs. The same pair applied with `vrrp.unicastPeers` has one
 * master again, the other takes over when it loses power, and it comes back as backup.
 *
 * Long downloads run from the client through both VIPs on the director VRRP made master; it is powered off
 * (`labStop`: its QEMU killed, no shutdown); keepalived on the other takes the VIPs and the gateway after its
 * advertisement timeout and announces them; the client's packets, and for NAT the real servers' replies, reach the
 * new master, whose table holds the connections from the sync daemon: every download completes, byte for byte. The
 * contrast, the same without the sync daemon: the new master knows none of the connections and resets them. Either
 * way new connections are served and balanced over both real servers; the director powered off, started again
 * (`labStart`), comes back as backup with what lvsform wrote (its table from the saved rules, keepalived's file, the
 * sync daemons from the boot unit) and the VIPs stay where they are; lvsform's plan is empty on every host.
 *
 * Who is master after the apply is VRRP's choice (both start as BACKUP under `nopreempt`; the higher priority, lb1,
 * usually times out first): the test reads it back and powers that one off. The two cases power off the two directors
 * in turn, so that one of them is lb1 coming back beside a master of lower priority: `nopreempt` keeps it backup.
 *
 * NAT's clients: the client namespace stands for the router of the client's segment; the NAT downloads come from an
 * address behind it (FAR, in a network of its own), as clients on the Internet do, and each director routes that
 * network through the router, as its default route would on a site. The real servers reach it only by the default
 * route lvsform sets through the pair's gateway, so their replies cross the director that rewrites them (to the
 * client's own address on the shared segment their connected route would take them around the director).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterFacts, type ClusterVmFacts, labStart, labStop } from '../../lab/index.ts';
import { DirectorPair, Forwarding, LvsStack, Protocol, RealServerHost, RealServerPool, Scheduler } from '../../lib/index.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import { planHasChanges } from '../../providers/ipvs/plan/plan.ts';
import { shQuote } from '../../providers/ipvs/host/shell-quote.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { cluster, onClient, onVm } from './cluster.ts';
import { DOWNLOAD_WRITE_OUT, type Download, parseDownloads } from './downloads.ts';
import { synthApp } from './ops-harness.ts';
import { answeredFlow, parseUdpFlows, UDP_CLIENT, UDP_RESPONDER, type UdpFlows } from './udp-flows.ts';

let facts: ClusterFacts<ClusterVmFacts>;
const pairVms = (): ClusterVmFacts[] => [facts.directors[0]!, facts.directors[1]!];

const STACK = 'failover';
/** The direct-routing VIP (IPv4) and the NAT VIP (IPv6), on the client's segment. */
const VIP = '198.51.100.50';
const VIP6 = '2001:db8:100::50';
/** The NAT real servers' default gateway: an address of the pair on the private segment, moved by VRRP with the VIPs. */
const GATEWAY6 = '2001:db8::254';
/** The NAT clients' network behind the router (the client namespace), and the address the NAT downloads come from. */
const FAR_NET = '2001:db8:c::/64';
const FAR = '2001:db8:c::10';
const VRRP_ROUTER_ID = 50;
const SYNC_ID = 50;
/** What each download fetches: the real servers' /big. */
const FILE_BYTES = 24 * 1024 * 1024;
/** Downloads through each VIP, all at once. */
const DOWNLOADS = { dr: 6, nat: 4 } as const;
/**
 * curl's own rate (the client namespace runs on this machine, not under emulation, so the limit holds): 24 MiB at
 * 1.5 MiB/s lasts 16 s, so the master is powered off in the middle of every download.
 */
const RATE = '1536K';
/**
 * The client's TCP receive buffer for the test (min, default, max): small, so that a real server is never more than
 * 256 KiB ahead of curl's rate. With the default (up to 6 MiB) a download's last megabytes wait in the client's buffer
 * while its real server has nothing left to send, and a download could end well after the power-off without any packet
 * of it crossing the new director (one in six did so without the sync daemon). IPv6 uses IPv4's TCP buffers.
 */
const CLIENT_RMEM = '4096 65536 262144';
/**
 * The UDP service on the direct-routing VIP, one port per case: each case's apply creates its service afresh on both
 * directors, so that round robin starts from the same place on the old master and on the new one (udp-flows.ts).
 */
const UDP_PORT = { sync: 5301, noSync: 5302 } as const;
/** UDP flows from the client (source ports UDP_FIRST_PORT+1…), and the probe's source port. */
const UDP_FLOWS = 6;
const UDP_FIRST_PORT = 41000;
/** Drops the director's VRRP multicast advertisements (IP protocol 112 to 224.0.0.18), as a network without multicast does. */
const NO_VRRP_MULTICAST = 'iptables-legacy -I OUTPUT -p 112 -d 224.0.0.18 -j DROP';
/** Where each real server's UDP responder writes its PID. */
const UDP_RESPONDER_PID = '/run/lvsform-test-udp.pid';
/** A VM boot beside three running VMs on two cores, under emulation. */
const BOOT_TIMEOUT_MS = 300_000;

/** The pair as lvsform declares it: both services on both directors, the sync daemons or not. */
const udpPort = (sync: boolean): number => (sync ? UDP_PORT.sync : UDP_PORT.noSync);

function pairApp(sync: boolean, unicast?: readonly string[]): Promise<LoadedStack> {
  return synthApp((app) => {
    const s = new LvsStack(app, STACK);
    const ssh = (vm: ClusterVmFacts) => ({ configFile: facts.sshConfig, alias: vm.alias });
    for (const r of facts.realServers) {
      new RealServerHost(s, r.name, {
        ssh: ssh(r),
        addresses: [r.shared.ipv4, r.private.ipv6],
        interface: r.shared.iface,
        nat: { gateways: [GATEWAY6], manage: true, clients: [FAR_NET] },
      });
    }
    const dr = new RealServerPool(s, 'dr', { forwarding: Forwarding.DIRECT_ROUTING, members: facts.realServers.map((r) => ({ address: r.shared.ipv4 })) });
    const nat = new RealServerPool(s, 'nat', { forwarding: Forwarding.NAT, members: facts.realServers.map((r) => ({ address: r.private.ipv6, port: 80 })) });
    const [a, b] = pairVms();
    const pair = new DirectorPair(s, 'pair', {
      // `setup`: what a director needs back after a power failure (the saved table, the boot unit, forwarding).
      directors: [
        { id: 'lb1', ssh: ssh(a!), priority: 150, setup: {} },
        { id: 'lb2', ssh: ssh(b!), priority: 100, setup: {} },
      ],
      vrrp: {
        interface: a!.shared.iface,
        virtualRouterId: VRRP_ROUTER_ID,
        authPass: 'lvsform',
        nopreempt: true,
        addresses: [{ address: GATEWAY6, prefixLength: 64, interface: a!.private.iface }],
        ...(unicast ? { unicastPeers: unicast } : {}),
      },
      ...(sync ? { sync: { interface: a!.shared.iface, syncId: SYNC_ID } } : {}),
    });
    pair.addVirtualService('dr', { address: VIP, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [dr] });
    pair.addVirtualService('nat', { address: VIP6, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [nat] });
    pair.addVirtualService('udp', { protocol: Protocol.UDP, address: VIP, port: udpPort(sync), scheduler: Scheduler.ROUND_ROBIN, pools: [dr] });
  });
}

let stack: LoadedStack | undefined;

/** A progress line with the seconds since the case started (the steps' times go into the closing figures). */
let caseStarted = 0;
const step = (what: string): void => console.log(`failover +${((performance.now() - caseStarted) / 1000).toFixed(1)} s: ${what}`);

/** Whether a director holds the pair's addresses: the VIP on the client's side and the gateway on the private side. */
const holdsVips = (d: ClusterVmFacts) =>
  `ip -o addr show dev ${d.shared.iface} | grep -q ' ${VIP}/32 ' && ip -o addr show dev ${d.private.iface} | grep -q ' ${GATEWAY6}/64 '`;
const holdsAny = `ip -o addr show | grep -qE ' (${VIP}/32|${GATEWAY6}/64) '`;

/** Polls a shell condition on a VM (every 0.2 s, `seconds` bound); throws with what it last saw. */
async function waitOnVm(vm: string, condition: string, seconds: number, what: string): Promise<void> {
  const script = `end=$(( $(date +%s) + ${seconds} )); until ${condition}; do [ "$(date +%s)" -ge "$end" ] && exit 1; sleep 0.2; done`;
  const r = await onVm(vm, script, { allowFailure: true });
  if (r.exitCode !== 0) throw new Error(`${vm}: ${what} not seen within ${seconds} s`);
}

/** The director VRRP made master (all of the pair's addresses on it, none on the other), once there is one. */
async function vrrpRoles(seconds: number): Promise<{ master: ClusterVmFacts; backup: ClusterVmFacts }> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const state = await Promise.all(
      pairVms().map(async (d) => (await onVm(d.name, `if ${holdsVips(d)}; then echo all; elif ${holdsAny}; then echo some; else echo none; fi`)).stdout.trim()),
    );
    if (state.join() === 'all,none') return { master: pairVms()[0]!, backup: pairVms()[1]! };
    if (state.join() === 'none,all') return { master: pairVms()[1]!, backup: pairVms()[0]! };
    if (performance.now() > deadline) throw new Error(`no single VRRP master within ${seconds} s (lb1, lb2: ${state.join(', ')})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** lvsform applies the pair (and prepares the real servers): one apply for both directors. */
async function applyPair(sync: boolean, unicast?: readonly string[]): Promise<{ master: ClusterVmFacts; backup: ClusterVmFacts }> {
  stack = await pairApp(sync, unicast);
  // The NAT clients' network through the router, on each director (a route a director's default route stands for;
  // a power-off forgets it, so it is set again before each case).
  await Promise.all(pairVms().map((d) => onVm(d.name, `ip -6 route replace ${FAR_NET} via ${facts.client.ipv6} dev ${d.shared.iface}`)));
  const report = await applyStack(stack.directors, {
    stack: stack.stack,
    drain: false,
    realServers: stack.realServers,
    onProgress: (d, m) => step(`${d}: ${m}`),
  });
  step('applied');
  expect(report.outcomes.map((o) => [o.director, o.status === 'failed' ? o.error?.message : 'ok'])).toEqual([
    ['lb1', 'ok'],
    ['lb2', 'ok'],
  ]);
  expect(report.realServerOutcomes?.filter((o) => o.status === 'failed').map((o) => [o.host, o.error?.message])).toEqual([]);
  return vrrpRoles(20);
}

const complete = (d: Download): boolean => d.exitCode === 0 && d.bytes === FILE_BYTES;

/** A real server's name from its address on the shared segment. */
const nameOf = (address: string): string => facts.realServers.find((r) => r.shared.ipv4 === address)?.name ?? address;

/**
 * The downloads of one VIP from the client, at once, one curl each; resolves when all have ended. curl's TCP
 * keepalive after 3 s without a packet (its default is 60 s): a NAT download whose connection the new master does
 * not know receives nothing at all (the real server's replies are not rewritten any more), sends nothing, and would
 * notice only at its first keepalive that the new master resets it. A download that moves receives again within a
 * few seconds; a probe that reaches the new master first is passed on to its real server like any packet.
 */
async function runDownloads(count: number, url: string, from: string[] = []): Promise<Download[]> {
  const curl = `curl --silent --output /dev/null ${from.join(' ')} --keepalive-time 3 --max-time 120 --limit-rate ${RATE} ${DOWNLOAD_WRITE_OUT} ${url}`;
  return parseDownloads(await onClient(`i=0; while [ $i -lt ${count} ]; do ${curl} & i=$((i + 1)); done; wait`), count);
}

const hostOf = (hostPort: string): string => hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[|\]$/g, '');
const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

/** A director's TCP connection entries to the pair's VIPs: `client address port` → state. */
async function connections(d: ClusterVmFacts): Promise<Map<string, string>> {
  const out = (await onVm(d.name, 'ipvsadm -L -n -c')).stdout;
  const entries = [...out.matchAll(/^TCP\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$/gm)].filter((m) => [VIP, VIP6].includes(hostOf(m[3]!)));
  return new Map(entries.map((m) => [`${hostOf(m[2]!)} ${portOf(m[2]!)}`, m[1]!]));
}

/** A director's UDP entries to the VIP's `port` from the client: client port → the real server's address. */
async function udpEntries(d: ClusterVmFacts, port: number): Promise<Map<string, string>> {
  const out = (await onVm(d.name, 'ipvsadm -L -n -c')).stdout;
  const entries = [...out.matchAll(/^UDP\s+\S+\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s*$/gm)].filter(
    (m) => m[2] === `${VIP}:${port}` && hostOf(m[1]!) === facts.client.ipv4,
  );
  return new Map(entries.map((m) => [String(portOf(m[1]!)), hostOf(m[3]!)]));
}

/** Polls until `d` holds an entry for each of the client's UDP flows (or `seconds` pass): client port → real server address. */
async function waitForUdp(d: ClusterVmFacts, port: number, seconds: number): Promise<Map<string, string>> {
  const flows = Array.from({ length: UDP_FLOWS }, (_, i) => String(UDP_FIRST_PORT + 1 + i));
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const table = await udpEntries(d, port);
    if (flows.every((f) => table.has(f)) || performance.now() > deadline) return table;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls until `count` connections not in `before` are ESTABLISHED on `d`; `seconds` bound. Their keys. */
async function waitForEstablished(d: ClusterVmFacts, before: ReadonlySet<string>, count: number, seconds: number): Promise<string[]> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const found = [...(await connections(d))].filter(([key, state]) => !before.has(key) && state === 'ESTABLISHED').map(([key]) => key);
    if (found.length >= count || performance.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls until `d`'s table holds each of `keys`, or `seconds` pass; those it holds. */
async function waitForKeys(d: ClusterVmFacts, keys: readonly string[], seconds: number): Promise<string[]> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const table = await connections(d);
    const held = keys.filter((k) => table.has(k));
    if (held.length === keys.length || performance.now() > deadline) return held;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** When the client first saw the move for one VIP: its neighbour entry naming the new master, a new connection served. */
interface Moved {
  readonly neighbourAt?: number;
  readonly servedAt?: number;
  readonly servedBy?: string;
}

/**
 * From the client, right after the power-off, for both VIPs at once: when its neighbour entry for the VIP names the
 * new master's MAC (its gratuitous ARP, or for IPv6 its unsolicited neighbour advertisement; polled every 50 ms), and
 * when a new connection is first served (curl after curl, each given 1 s: a SYN's first retransmission comes after
 * 1 s, so that is the resolution). Milliseconds since the epoch, on this machine's clock.
 */
async function watchFailover(to: ClusterVmFacts): Promise<{ dr: Moved; nat: Moved }> {
  const neigh = (tag: string, family: string, vip: string) => [
    `( while [ "$(date +%s)" -lt "$end" ]; do`,
    `    if ip ${family} neigh show ${vip} dev ${facts.client.iface} | grep -q 'lladdr ${to.shared.mac}'; then echo "neigh-${tag} $(date +%s%3N)"; break; fi`,
    '    sleep 0.05',
    '  done ) &',
  ];
  const served = (tag: string, url: string) => [
    `( while [ "$(date +%s)" -lt "$end" ]; do`,
    `    if name=$(curl --silent --max-time 1 ${url}); then echo "served-${tag} $(date +%s%3N) $name"; break; fi`,
    '    sleep 0.1',
    '  done ) &',
  ];
  const script = [
    'end=$(( $(date +%s) + 60 ))',
    ...neigh('dr', '-4', VIP),
    ...neigh('nat', '-6', VIP6),
    ...served('dr', `http://${VIP}/`),
    ...served('nat', `--interface ${FAR} http://[${VIP6}]/`),
    'wait',
  ].join('\n');
  const out = (await onClient(script)).stdout;
  const moved = (tag: string): Moved => {
    const n = new RegExp(`^neigh-${tag} (\\d+)$`, 'm').exec(out);
    const s = new RegExp(`^served-${tag} (\\d+) (\\S+)$`, 'm').exec(out);
    return { ...(n ? { neighbourAt: Number(n[1]) } : {}), ...(s ? { servedAt: Number(s[1]), servedBy: s[2]! } : {}) };
  };
  return { dr: moved('dr'), nat: moved('nat') };
}

/** Which real servers answered `count` requests to `url` from the client (their names, sorted, once each). */
async function answeredBy(url: string[], count: number): Promise<string[]> {
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const r = await onClient(['curl', '--silent', '--max-time', '5', ...url]);
    names.add(r.exitCode === 0 ? r.stdout.trim() : `failed (${r.exitCode})`);
  }
  return [...names].sort();
}

/** What one method's downloads and VIP did across the power-off. */
interface MethodRun {
  readonly downloads: readonly Download[];
  /** Downloads whose connection the new master's table held (from the sync daemon) before the power-off. */
  readonly known: number;
  /** Milliseconds from the power-off to the client's neighbour entry naming the new master, and to the first new connection served. */
  readonly neighbourMs?: number;
  readonly servedMs?: number;
  /** Real servers that answered new connections once the VIPs had moved (the old master still off). */
  readonly afterMove: readonly string[];
}

/** The UDP flows across the power-off. */
interface UdpRun extends UdpFlows {
  /** Flows whose entry the new master's table held (from the sync daemon) before the power-off. */
  readonly known: number;
  /** Flows the old master's table held before the power-off, and the real server (its name) it sent each to. */
  readonly onMaster: ReadonlyMap<string, string>;
}

interface FailoverRun {
  readonly dr: MethodRun;
  readonly nat: MethodRun;
  readonly udp: UdpRun;
  /** The director powered off (VRRP's master after the apply), and the one that took over. */
  readonly victim: ClusterVmFacts;
  readonly survivor: ClusterVmFacts;
  readonly bootMs: number;
}

/** Downloads through both VIPs on the master; the master powered off mid-way; the move measured; the master started again. */
async function failover(name: string, sync: boolean): Promise<FailoverRun> {
  const started = performance.now();
  caseStarted = started;
  const { master, backup } = await applyPair(sync);
  step(`pair up, ${master.name} master`);
  const before = new Set((await connections(master)).keys());
  const port = udpPort(sync);
  const flag = join(tmpdir(), `lvsform-udp-failover-${process.pid}-${port}`);
  rmSync(flag, { force: true });
  const drRunning = runDownloads(DOWNLOADS.dr, `http://${VIP}/big`);
  const natRunning = runDownloads(DOWNLOADS.nat, `http://[${VIP6}]/big`, ['--interface', FAR]);
  const udpRunning = onClient([
    '/usr/bin/python3',
    '-I',
    '-S',
    '-c',
    UDP_CLIENT,
    VIP,
    String(port),
    String(UDP_FIRST_PORT),
    String(UDP_FLOWS),
    flag,
    '90',
  ]).then(parseUdpFlows);
  for (const p of [drRunning, natRunning, udpRunning]) p.catch(() => undefined); // awaited below; a failed wait must not leave one unhandled
  const onMaster = await waitForEstablished(master, before, DOWNLOADS.dr + DOWNLOADS.nat, 30);
  expect(onMaster.length).toBe(DOWNLOADS.dr + DOWNLOADS.nat);
  const udpOnMaster = await waitForUdp(master, port, 30);
  expect(udpOnMaster.size).toBe(UDP_FLOWS);
  // With sync, the backup holds them once the master's daemon has sent them (it flushes at least every 2 s); without, never.
  const onBackup = await waitForKeys(backup, onMaster, sync ? 10 : 3);
  const udpOnBackup = await waitForUdp(backup, port, sync ? 10 : 3);
  step(`downloads established, ${onBackup.length} of ${onMaster.length} in ${backup.name}'s table; UDP flows ${udpOnBackup.size} of ${udpOnMaster.size}`);
  const { stoppedAt } = await labStop(master.name, { dir: facts.dir });
  // The UDP client's flows go silent until a new flow is answered through the new master (udp-flows.ts).
  writeFileSync(flag, '');
  const watch = await watchFailover(backup);
  const [dr, nat, udpFlows] = await Promise.all([drRunning, natRunning, udpRunning]);
  rmSync(flag, { force: true });
  step('downloads and UDP flows ended');
  // The old master boots meanwhile: it answers nothing before its network is up, many seconds after these requests.
  const booting = labStart(master.name, { dir: facts.dir, bootTimeoutMs: BOOT_TIMEOUT_MS });
  booting.catch(() => undefined); // awaited below
  const afterDr = await answeredBy([`http://${VIP}/`], 6);
  const afterNat = await answeredBy(['--interface', FAR, `http://[${VIP6}]/`], 6);
  const boot = await booting;
  const method = (downloads: Download[], from: string, moved: Moved, afterMove: string[]): MethodRun => ({
    downloads,
    known: downloads.filter((d) => onBackup.includes(`${from} ${d.port}`)).length,
    ...(moved.neighbourAt ? { neighbourMs: moved.neighbourAt - stoppedAt } : {}),
    ...(moved.servedAt ? { servedMs: moved.servedAt - stoppedAt } : {}),
    afterMove,
  });
  const run: FailoverRun = {
    dr: method(dr, facts.client.ipv4, watch.dr, afterDr),
    nat: method(nat, FAR, watch.nat, afterNat),
    udp: {
      ...udpFlows,
      known: [...udpOnMaster].filter(([flow, rs]) => udpOnBackup.get(flow) === rs).length,
      onMaster: new Map([...udpOnMaster].map(([flow, rs]) => [flow, nameOf(rs)])),
    },
    victim: master,
    survivor: backup,
    bootMs: boot.ms,
  };
  const s = (ms?: number) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  const said = (label: string, m: MethodRun) => {
    const times = m.downloads.map((d) => d.seconds);
    return (
      `${label}: ${m.known} of ${m.downloads.length} connections in ${backup.name}'s table before the power-off; VIP moved (client's neighbour entry) ` +
      `after ${s(m.neighbourMs)}, first new connection served after ${s(m.servedMs)}; ${m.downloads.filter((d) => !complete(d)).length} of ` +
      `${m.downloads.length} downloads broken (exit codes ${m.downloads.map((d) => d.exitCode).join(' ')}, ${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} s)`
    );
  };
  const flows = Object.keys(run.udp.before)
    .map((f) => `${f}: ${answeredFlow(run.udp.before[f]!).join('+')} -> ${answeredFlow(run.udp.after[f]!).join('+') || 'none'}`)
    .join(', ');
  console.log(
    `failover ${name}: case ${((performance.now() - started) / 1000).toFixed(1)} s; ${master.name} powered off; ${said('DR', run.dr)}; ` +
      `${said('NAT', run.nat)}; UDP: ${run.udp.known} of ${UDP_FLOWS} flows in ${backup.name}'s table, probe answered by ${run.udp.probe ?? 'none'}, ` +
      `flows ${flows}; ${master.name} back after ${s(run.bootMs)}`,
  );
  return run;
}

/** After its restart: the victim is backup (keepalived active, never master since its boot), the VIPs stay, the plans are empty. */
async function expectBackAsBackup(run: Pick<FailoverRun, 'victim' | 'survivor'>, sync: boolean): Promise<void> {
  const { victim, survivor } = run;
  await waitOnVm(victim.name, "journalctl -u keepalived -b --no-pager | grep -q 'Entering BACKUP STATE'", 60, 'keepalived as backup');
  // The master's advertisements reach it every second: a preempting director of higher priority would take the VIPs
  // at the first. Give it three.
  await new Promise((r) => setTimeout(r, 3000));
  const state = await onVm(
    victim.name,
    [
      'systemctl is-active keepalived',
      "journalctl -u keepalived -b --no-pager | grep -c 'Entering MASTER STATE'",
      `if ${holdsAny}; then echo held; else echo free; fi`,
      `test -f /etc/keepalived/lvsform-${STACK}-pair.conf && echo file`,
      'ipvsadm -L --daemon',
    ].join('; '),
    { allowFailure: true },
  );
  const [active, masterCount, vips, file] = state.stdout.split('\n');
  expect([active, masterCount, vips, file]).toEqual(['active', '0', 'free', 'file']);
  expect((await onVm(survivor.name, `${holdsVips(survivor)} && echo held || echo free`)).stdout.trim()).toBe('held');
  // The sync daemons came back with the boot unit lvsform wrote, or stayed off.
  const daemons = state.stdout.split('\n').slice(4).join('\n');
  for (const role of ['master', 'backup']) {
    expect([role, daemons.includes(`${role} sync daemon (mcast=${victim.shared.iface}, syncid=${SYNC_ID}`)]).toEqual([role, sync]);
  }
  // lvsform's plan is empty on both directors (the victim's table came back from the rules lvsform saved) and on the
  // real servers
  const plan = await planStack(stack!.directors, { stack: stack!.stack, realServers: stack!.realServers });
  expect(plan.directors.map((d) => [d.director, d.error?.message, d.drift])).toEqual([
    ['lb1', undefined, []],
    ['lb2', undefined, []],
  ]);
  expect(planHasChanges(plan)).toBe(false);
}

let savedRmem = '';

beforeAll(async () => {
  facts = await cluster();
  expect(facts.directors.length).toBeGreaterThanOrEqual(2);
  savedRmem = (await onClient(['sysctl', '-n', 'net.ipv4.tcp_rmem'])).stdout.trim().replace(/\s+/g, ' ');
  expect((await onClient(['sysctl', '-qw', `net.ipv4.tcp_rmem=${CLIENT_RMEM}`])).exitCode).toBe(0);
  // The NAT clients' address behind the router (see the top of this file)
  expect((await onClient(`ip -6 addr replace ${FAR}/128 dev ${facts.client.iface} nodad`)).exitCode).toBe(0);
  // Each real server's UDP responder, bound to the VIP (before lvsform puts it on lo) on both cases' ports
  await Promise.all(
    facts.realServers.map((r) =>
      onVm(
        r.name,
        `/usr/bin/python3 -I -S -c ${shQuote(UDP_RESPONDER)} ${shQuote(r.name)} ${VIP} ${UDP_PORT.sync} ${UDP_PORT.noSync} </dev/null >/dev/null 2>&1 & echo $! > ${UDP_RESPONDER_PID}`,
      ),
    ),
  );
}, 900_000);

afterAll(async () => {
  if (!facts) return;
  if (savedRmem) await onClient(['sysctl', '-qw', `net.ipv4.tcp_rmem=${savedRmem}`]);
  await onClient(`ip -6 addr del ${FAR}/128 dev ${facts.client.iface}`);
  await Promise.all(
    facts.realServers.map((r) => onVm(r.name, `kill $(cat ${UDP_RESPONDER_PID}) 2>/dev/null; rm -f ${UDP_RESPONDER_PID}`, { allowFailure: true })),
  );
  // Whatever happened: both directors running, lvsform's stack destroyed (tables, daemons, keepalived's file, the real
  // servers' preparation), then the directors as bare as the other cluster files expect them: keepalived stopped and
  // its main file gone, forwarding off, no route to the NAT clients.
  await Promise.all(pairVms().map((d) => labStart(d.name, { dir: facts.dir, bootTimeoutMs: BOOT_TIMEOUT_MS })));
  caseStarted = performance.now();
  if (stack) {
    await applyStack(
      stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() })),
      { stack: stack.stack, destroy: true, drain: false, realServers: stack.realServers },
    );
    step('destroyed');
  }
  const bare = [
    // disabled by removing its link: `systemctl disable` reloads systemd, seconds under emulation
    'systemctl stop keepalived; rm -f /etc/systemd/system/multi-user.target.wants/keepalived.service',
    'rm -f /etc/keepalived/keepalived.conf',
    `ip -6 route del ${FAR_NET}`,
    'sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0',
    `rm -f /etc/sysctl.d/90-lvsform-${STACK}.conf`,
    'sync',
  ].join('; ');
  await Promise.all(pairVms().map((d) => onVm(d.name, bare, { allowFailure: true })));
  step('directors bare');
}, 600_000);

describe('a director pair of lvsform: VRRP moves the VIPs and the NAT gateway, the sync daemon carries the connections', () => {
  it('with the sync daemon, every DR and NAT download completes and every UDP flow keeps its real server after the master loses power; it comes back as backup', async () => {
    // GIVEN the pair with the sync daemon, and downloads through both VIPs on the master, each known to the backup
    // WHEN the master is powered off mid-way
    const run = await failover('with sync', true);
    for (const [method, m] of Object.entries({ dr: run.dr, nat: run.nat })) {
      expect([method, m.known]).toEqual([method, m.downloads.length]);
      // THEN the VIPs move within keepalived's timeout (3 advertisements of 1 s and the skew, then the announcements)
      expect([method, m.neighbourMs! < 8000, m.servedMs! < 10_000]).toEqual([method, true, true]);
      // AND every download completes, byte for byte
      expect([method, m.downloads.filter((d) => !complete(d))]).toEqual([method, []]);
      // AND new connections are served by the new master, over both real servers
      expect([method, m.afterMove]).toEqual([method, facts.realServers.map((r) => r.name).sort()]);
    }
    // AND every UDP flow, known to the new master, is answered after the failover by the real server that answered it
    // before, even after a new flow took round robin's first turn on the new master
    expect(run.udp.known).toBe(UDP_FLOWS);
    expect(run.udp.probe).not.toBeNull();
    for (const [flow, rs] of run.udp.onMaster) {
      expect([flow, answeredFlow(run.udp.before[flow]!), answeredFlow(run.udp.after[flow]!)]).toEqual([flow, [rs], [rs]]);
    }
    // AND the director powered off, started again, is backup with what lvsform wrote, and every plan is empty
    await expectBackAsBackup(run, true);
  }, 900_000);

  it('without the sync daemon, the same power-off breaks the DR and NAT downloads that were established and moves the UDP flows', async () => {
    // GIVEN the pair without the sync daemon (the backup knows none of the master's connections) WHEN the master (the
    // other director this time) is powered off mid-way
    const run = await failover('without sync', false);
    for (const [method, m] of Object.entries({ dr: run.dr, nat: run.nat })) {
      expect([method, m.known]).toEqual([method, 0]);
      // THEN the VIPs move as before, and new connections are served over both real servers
      expect([method, m.neighbourMs! < 8000]).toEqual([method, true]);
      expect([method, m.afterMove]).toEqual([method, facts.realServers.map((r) => r.name).sort()]);
      // AND every established download breaks (the new master resets the client's next packet)
      expect([method, m.downloads.filter((d) => complete(d))]).toEqual([method, []]);
    }
    // AND every UDP flow, unknown to the new master, is scheduled anew there: after the new flow's turn, each lands on
    // another real server than before the failover
    expect(run.udp.known).toBe(0);
    expect(run.udp.probe).not.toBeNull();
    for (const [flow, rs] of run.udp.onMaster) {
      const after = answeredFlow(run.udp.after[flow]!);
      expect([flow, answeredFlow(run.udp.before[flow]!), after.length, after.includes(rs)]).toEqual([flow, [rs], 1, false]);
    }
    await expectBackAsBackup(run, false);
  }, 900_000);

  it('on a segment that carries no VRRP multicast, both directors take the VIPs; with unicast peers, one does, and the other takes over at a power-off', async () => {
    caseStarted = performance.now();
    const [lb1, lb2] = pairVms() as [ClusterVmFacts, ClusterVmFacts];
    // GIVEN the pair as the last case left it (multicast VRRP, one master), and VRRP's multicast dropped on both
    // directors as a network without multicast would (iptables on their output: VRRP is IP protocol 112)
    await Promise.all(pairVms().map((d) => onVm(d.name, NO_VRRP_MULTICAST)));
    try {
      // THEN each stops hearing the other, and both take the VIPs (the contrast)
      await Promise.all(pairVms().map((d) => waitOnVm(d.name, holdsVips(d), 15, 'the VIPs, with no advertisement heard')));
      step('multicast dropped: both directors hold the VIPs');
      // WHEN lvsform applies the pair with each director's address on the shared segment as its unicast peer
      const { master, backup } = await applyPair(false, [lb1.shared.ipv4, lb2.shared.ipv4]);
      step(`unicast peers applied: ${master.name} master`);
      // THEN one of them is master (which one is keepalived's: both were masters when the files changed, and under
      // nopreempt the one that reloads first may wait as backup for the other), and each file names the director's
      // own address and the other's
      for (const [self, other] of [
        [lb1, lb2],
        [lb2, lb1],
      ] as const) {
        const conf = (await onVm(self.name, `cat /etc/keepalived/lvsform-${STACK}-pair.conf`)).stdout;
        expect(conf).toContain(`unicast_src_ip ${self.shared.ipv4}`);
        expect(conf).toMatch(new RegExp(`unicast_peer \\{\\s+${other.shared.ipv4.replaceAll('.', '\\.')}\\s+\\}`));
      }
      // AND when the master loses power, the other takes the VIPs and the client is served through it
      const { stoppedAt } = await labStop(master.name, { dir: facts.dir });
      const watch = await watchFailover(backup);
      step(`${master.name} powered off: the VIPs moved after ${((watch.dr.neighbourAt ?? Number.NaN) - stoppedAt) / 1000} s`);
      expect(watch.dr.neighbourAt! - stoppedAt).toBeLessThan(8000);
      expect(watch.dr.servedAt! - stoppedAt).toBeLessThan(10_000);
      // AND it comes back as backup (the multicast rule went with its power: its unicast advertisements keep it so)
      await labStart(master.name, { dir: facts.dir, bootTimeoutMs: BOOT_TIMEOUT_MS });
      await onVm(master.name, NO_VRRP_MULTICAST);
      await expectBackAsBackup({ victim: master, survivor: backup }, false);
    } finally {
      await Promise.all(pairVms().map((d) => onVm(d.name, NO_VRRP_MULTICAST.replace(' -I ', ' -D '), { allowFailure: true })));
    }
  }, 900_000);
});
