/**
 * NAT's route back, prepared by lvsform on the cluster lab (issue 22). The cluster's real servers also sit on the
 * client's segment (their `eth1`), so their replies to the client would leave by that connected route whatever their
 * default route says: the first test shows the plan warning about exactly that route (the app names the clients'
 * networks, `nat.clients`). Then this file's own set-up (not lvsform's) takes `eth1` down on every real server for the
 * rest of the file: a real server reaches the client only through a default route, as behind a NAT director, and it
 * starts with none (the cluster's real servers are bare).
 *
 * The contrast: with `nat: { gateways }` alone, the plan warns that the route back does not go through the director and
 * the client's requests through the VIPs (IPv4 and IPv6) fail; with `manage: true` one apply sets the default routes
 * via the director's inside addresses, every real server answers, and the next plan is empty. Destroy removes the
 * routes lvsform added and leaves the routing tables as they were (read back with `ip route`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerHost, RealServerPool, Scheduler } from '../../lib/index.ts';
import type { ClusterFacts, ClusterVmFacts } from '../../lab/index.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { renderPlan } from '../../providers/ipvs/render/render-plan.ts';
import { cluster, onClient, onVm } from './cluster.ts';
import { synthApp } from './ops-harness.ts';

let facts: ClusterFacts;
const director = (): ClusterVmFacts => facts.directors[0]!;

const NAT4 = '198.51.100.40';
const NAT6 = '2001:db8:100::40';
const URLS = [`http://${NAT4}/`, `http://[${NAT6}]/`];
/** The client's networks (the shared segment): only routes into them are checked for a way around the director. */
const CLIENTS = ['198.51.100.0/24', '2001:db8:100::/64'];

function build(manage: boolean | undefined): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'natprep');
    const ssh = (vm: ClusterVmFacts) => ({ configFile: facts.sshConfig, alias: vm.alias });
    const lb1 = new Director(stack, 'lb1', { ssh: ssh(director()), vips: { interface: director().shared.iface } });
    for (const r of facts.realServers) {
      new RealServerHost(stack, r.name, {
        ssh: ssh(r),
        addresses: [r.private.ipv4, r.private.ipv6],
        nat: { gateways: [director().private.ipv4, director().private.ipv6], clients: CLIENTS, ...(manage === undefined ? {} : { manage }) },
      });
    }
    const members = (pick: (r: ClusterVmFacts) => string) => facts.realServers.map((r) => ({ address: pick(r), port: 80 }));
    const nat4 = new RealServerPool(stack, 'nat4', { forwarding: Forwarding.NAT, members: members((r) => r.private.ipv4) });
    const nat6 = new RealServerPool(stack, 'nat6', { forwarding: Forwarding.NAT, members: members((r) => r.private.ipv6) });
    lb1.addVirtualService('nat4', { address: NAT4, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [nat4] });
    lb1.addVirtualService('nat6', { address: NAT6, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [nat6] });
  });
}

/** A real server's routing tables and lvsform's files there, read back as text. */
async function routes(r: ClusterVmFacts): Promise<string> {
  const out = await onVm(
    r.name,
    [
      'ip -4 route show',
      'echo --',
      'ip -6 route show | grep -v "^fe80\\|^multicast\\|^ff00"',
      'echo --',
      'ls /var/lib/lvsform/real-server 2>/dev/null',
      'true',
    ].join('; '),
  );
  return out.stdout;
}

/** Which real servers answered `count` requests to `url` from the client (their names, sorted, once each). */
async function answeredBy(url: string, count: number): Promise<string[]> {
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const r = await onClient(['curl', '--silent', '--max-time', '4', url]);
    names.add(r.exitCode === 0 ? r.stdout.trim() : `failed (${r.exitCode})`);
  }
  return [...names].sort();
}

async function destroy(stack: LoadedStack) {
  return applyStack(
    stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() })),
    { stack: stack.stack, destroy: true, drain: false, realServers: stack.realServers },
  );
}

const before = new Map<string, string>();
const keepAddr = new Map<string, string>();
let managed: LoadedStack | undefined;

beforeAll(async () => {
  facts = await cluster();
}, 900_000);

/** The test's own set-up, after the first test: the real servers off the client's segment. */
async function offClientSegment(): Promise<void> {
  // The test's own set-up: the real servers off the client's segment, keeping eth1's addresses for afterAll (the kernel
  // flushes static IPv6 addresses on link down unless keep_addr_on_down is set).
  for (const r of facts.realServers) {
    const dev = r.shared.iface;
    const k = await onVm(r.name, `cat /proc/sys/net/ipv6/conf/${dev}/keep_addr_on_down`);
    keepAddr.set(r.name, k.stdout.trim());
    await onVm(r.name, `sysctl -qw net.ipv6.conf.${dev}.keep_addr_on_down=1 && ip link set ${dev} down`);
    before.set(r.name, await routes(r));
  }
}

afterAll(async () => {
  if (!facts) return;
  if (managed) await destroy(managed);
  for (const r of facts.realServers) {
    const dev = r.shared.iface;
    await onVm(r.name, `ip link set ${dev} up; sysctl -qw net.ipv6.conf.${dev}.keep_addr_on_down=${keepAddr.get(r.name) ?? 0}`, { allowFailure: true });
  }
}, 300_000);

describe('NAT: the route back through the director', () => {
  it("a real server on the client's segment is warned about: its connected route takes replies around the director", async () => {
    // GIVEN the real servers still on the client's segment, and the app naming the clients' networks
    const stack = await build(undefined);
    // WHEN planned (one round trip per real server, as before)
    const plan = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    const text = renderPlan(plan);
    console.log(text);
    // THEN each real server's checks name the shared segment's connected routes as ways around the director
    for (const r of plan.realServers ?? []) {
      const dev = facts.realServers.find((x) => x.name === r.host)!.shared.iface;
      expect([r.host, r.checks.map((c) => [c.family, c.bypass])]).toEqual([
        r.host,
        [
          ['inet', [`198.51.100.0/24 dev ${dev}`]],
          ['inet6', [`2001:db8:100::/64 dev ${dev}`]],
        ],
      ]);
    }
    expect(text).toContain(
      `198.51.100.0/24 dev ${facts.realServers[0]!.shared.iface} is more specific and not through it: replies to clients there are not rewritten`,
    );
    // AND once off that segment (the rest of this file), no route into the clients' networks is left but the default
    await offClientSegment();
    const off = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    expect((off.realServers ?? []).flatMap((r) => r.checks.flatMap((c) => c.bypass ?? []))).toEqual([]);
  }, 600_000);

  it('without manage, the plan warns that the route back misses the director and requests through the VIPs fail', async () => {
    // GIVEN real servers off the client's segment, with no default route, and nat: { gateways } without manage
    const stack = await build(undefined);
    // WHEN planned THEN each real server shows the warning for IPv4 and IPv6, and no route change
    const plan = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    const text = renderPlan(plan);
    console.log(text);
    expect(text).toContain(`NAT route back (IPv4): no default route, not through the director (${director().private.ipv4}): replies will not be rewritten`);
    expect(text).toContain(`NAT route back (IPv6): no default route, not through the director (${director().private.ipv6}): replies will not be rewritten`);
    expect((plan.realServers ?? []).flatMap((r) => r.changes)).toEqual([]);
    // WHEN applied
    const report = await applyStack(stack.directors, { stack: stack.stack, drain: false, realServers: stack.realServers });
    expect(report.outcomes.map((o) => [o.director, o.status, o.error?.message])).toEqual([['lb1', 'applied', undefined]]);
    // THEN the routes are untouched and the client's requests reach no real server (no route back)
    for (const r of facts.realServers) expect([r.name, await routes(r)]).toEqual([r.name, before.get(r.name)]);
    for (const url of URLS) expect([url, await answeredBy(url, 3)]).toEqual([url, ['failed (28)']]);
  }, 600_000);

  it('with manage, one apply sets the route back, every real server answers, and the next plan is empty', async () => {
    // GIVEN the same app with nat.manage WHEN planned THEN each real server's default routes are to be set
    managed = await build(true);
    const plan = await planStack(managed.directors, { stack: managed.stack, realServers: managed.realServers });
    const text = renderPlan(plan);
    console.log(text);
    expect(text).toContain(`check: NAT route back (IPv4): no default route; this plan sets it through the director (${director().private.ipv4})`);
    expect(text).not.toContain('warning: NAT route back');
    for (const r of plan.realServers ?? []) {
      expect([r.host, r.changes.map((c) => (c.kind === 'route' ? [c.family, c.before, c.after] : c.kind))]).toEqual([
        r.host,
        [
          ['inet', '', director().private.ipv4],
          ['inet6', '', director().private.ipv6],
        ],
      ]);
    }
    // WHEN applied
    const report = await applyStack(managed.directors, { stack: managed.stack, drain: false, realServers: managed.realServers });
    // THEN the director is left as it was and every real server is applied and verified
    expect(report.outcomes.map((o) => [o.director, o.status, o.error?.message])).toEqual([['lb1', 'unchanged', undefined]]);
    expect(report.realServerOutcomes?.map((o) => [o.host, o.status, o.error?.message])).toEqual(facts.realServers.map((r) => [r.name, 'applied', undefined]));
    // AND each real server's default routes go through the director's inside addresses
    for (const r of facts.realServers) {
      const now = await onVm(r.name, 'ip -4 route show default; ip -6 route show default');
      expect(now.stdout).toMatch(new RegExp(`^default via ${director().private.ipv4.replaceAll('.', '\\.')} `, 'm'));
      expect(now.stdout).toMatch(new RegExp(`^default via ${director().private.ipv6} `, 'm'));
    }
    // AND the client's requests through both VIPs reach every real server
    const all = facts.realServers.map((r) => r.name).sort();
    for (const url of URLS) expect([url, await answeredBy(url, 8)]).toEqual([url, all]);
    // AND the next plan is empty
    const again = await planStack(managed.directors, { stack: managed.stack, realServers: managed.realServers });
    expect((again.realServers ?? []).flatMap((r) => r.changes)).toEqual([]);
    expect(again.directors.flatMap((d) => d.changes)).toEqual([]);
  }, 600_000);

  it('destroy removes the routes lvsform added and leaves the routing tables as they were', async () => {
    // GIVEN the managed apply WHEN destroyed
    const report = await destroy(managed!);
    expect(report.realServerOutcomes?.map((o) => [o.host, o.status, o.error?.message])).toEqual(facts.realServers.map((r) => [r.name, 'applied', undefined]));
    managed = undefined;
    // THEN every real server's routes read back as before the first apply, with no default route and no record
    for (const r of facts.realServers) expect([r.name, await routes(r)]).toEqual([r.name, before.get(r.name)]);
    // AND the client's requests fail again (the VIPs are gone with the services)
    for (const url of URLS) expect((await answeredBy(url, 1))[0]).toMatch(/^failed/);
  }, 600_000);
});
