/**
 * The seed's VS/NAT cluster on IPv4 and IPv6, deployed by lvsform on the cluster lab from bare hosts (issue 22):
 * examples/nat-cluster, synthesized exactly as written, with the lab's ssh config and aliases in the environment
 * (examples/reach.ts; the real servers are reached on their private addresses through the director, as an operator
 * reaches them). The cluster boots its director with forwarding off and its real servers with no default route: both
 * are lvsform's.
 *
 * The cluster's real servers also sit on the client's segment (their `eth1`), so their replies to the client would
 * leave by that connected route whatever their default route says: the first test shows the plan warning about exactly
 * that route (the contrast's app names the clients' networks, `nat.clients`). Then this file's own set-up (not
 * lvsform's) takes `eth1` down on every real server for the rest of the file, which leaves them as
 * `lab up --cluster --private-real-servers` (the demo's cluster) boots them: reaching the client only by a default
 * route, as behind a NAT director.
 *
 * The contrast: with `nat: { gateways }` alone (an app of this file, no forwarding asked for), the plan warns that the
 * route back does not go through the director and the client's requests through the VIPs (IPv4 and IPv6) fail. The
 * example then turns forwarding on at the director and sets each real server's default routes through it: every real
 * server answers through both VIPs, and the next plan is empty. Destroy removes the routes lvsform added and leaves
 * the routing tables as they were (read back with `ip route`); forwarding stays on, as lvsform's destroy leaves it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Director, Forwarding, LvsStack, RealServerHost, RealServerPool, Scheduler } from '../../lib/index.ts';
import { build as natCluster } from '../../examples/nat-cluster/app.ts';
import { type ClusterFacts, type ClusterVmFacts, labTraffic } from '../../lab/index.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import { planHasChanges } from '../../providers/ipvs/plan/plan.ts';
import { type LoadedStack, loadStacks } from '../../providers/ipvs/read/synth.ts';
import { renderPlan } from '../../providers/ipvs/render/render-plan.ts';
import { cluster, clusterLab, onClient, onVm } from './cluster.ts';
import { synthApp } from './ops-harness.ts';

let facts: ClusterFacts<ClusterVmFacts>;
const director = (): ClusterVmFacts => facts.directors[0]!;

/** The example's stack; the contrast's app uses the same name, so that the example's apply replaces it. */
const STACK = 'nat-cluster';
const SYSCTL_FILE = `/etc/sysctl.d/90-lvsform-${STACK}.conf`;
/** The example's VIPs, and the contrast's. */
const VIP = '198.51.100.10';
const VIP6 = '2001:db8:100::10';
const NAT4 = '198.51.100.40';
const NAT6 = '2001:db8:100::40';
/** The client's networks (the shared segment): only routes into them are checked for a way around the director. */
const CLIENTS = ['198.51.100.0/24', '2001:db8:100::/64'];

/** The contrast: NAT services on IPv4 and IPv6 whose real servers name the director as gateway, without `manage`. */
function contrast(): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, STACK);
    const ssh = (vm: ClusterVmFacts) => ({ configFile: facts.sshConfig, alias: vm.alias });
    const lb1 = new Director(stack, 'lb1', { ssh: ssh(director()), vips: { interface: director().shared.iface } });
    for (const r of facts.realServers) {
      new RealServerHost(stack, r.name, {
        ssh: ssh(r),
        addresses: [r.private.ipv4, r.private.ipv6],
        nat: { gateways: [director().private.ipv4, director().private.ipv6], clients: CLIENTS },
      });
    }
    const members = (pick: (r: ClusterVmFacts) => string) => facts.realServers.map((r) => ({ address: pick(r), port: 80 }));
    const nat4 = new RealServerPool(stack, 'nat4', { forwarding: Forwarding.NAT, members: members((r) => r.private.ipv4) });
    const nat6 = new RealServerPool(stack, 'nat6', { forwarding: Forwarding.NAT, members: members((r) => r.private.ipv6) });
    lb1.addVirtualService('nat4', { address: NAT4, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [nat4] });
    lb1.addVirtualService('nat6', { address: NAT6, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [nat6] });
  });
}

/** examples/nat-cluster as written, reaching the cluster's director and its real servers through the director. */
async function example(): Promise<LoadedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'lvsform-nat-cluster-'));
  const env = {
    LVSFORM_SSH_CONFIG: facts.sshConfig,
    LVSFORM_DIRECTOR_ALIAS: director().alias,
    LVSFORM_REAL_SERVER_ALIASES: facts.realServers.map((r) => r.privateAlias!).join(','),
  };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const app = new App({ outdir });
    natCluster(app);
    app.synth();
  } finally {
    process.env = saved;
  }
  const [stack] = await loadStacks(outdir);
  return stack!;
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

/** The director's forwarding (IPv4, IPv6) and lvsform's sysctl file there. */
async function forwarding(): Promise<string> {
  return (await onVm(director().name, `sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding; cat ${SYSCTL_FILE} 2>/dev/null; true`)).stdout;
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
let applied: LoadedStack | undefined;

beforeAll(async () => {
  facts = await cluster();
}, 900_000);

/** The test's own set-up, after the first test: the real servers off the client's segment. */
async function offClientSegment(): Promise<void> {
  // The real servers off the client's segment, keeping eth1's addresses for afterAll (the kernel flushes static IPv6
  // addresses on link down unless keep_addr_on_down is set).
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
  if (applied) await destroy(applied);
  for (const r of facts.realServers) {
    const dev = r.shared.iface;
    await onVm(r.name, `ip link set ${dev} up; sysctl -qw net.ipv6.conf.${dev}.keep_addr_on_down=${keepAddr.get(r.name) ?? 0}`, { allowFailure: true });
  }
  // The director back to bare for the next file: lvsform's destroy leaves forwarding on (now and at boot).
  await onVm(director().name, `sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0; rm -f ${SYSCTL_FILE}`, { allowFailure: true });
}, 300_000);

describe('the seed VS/NAT cluster from bare hosts (examples/nat-cluster)', () => {
  it("a real server on the client's segment is warned about: its connected route takes replies around the director", async () => {
    // GIVEN the real servers still on the client's segment, and the contrast's app naming the clients' networks
    const stack = await contrast();
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
    const stack = await contrast();
    applied = stack;
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
    // THEN the routes are untouched, the director does not forward, and the client's requests reach no real server
    for (const r of facts.realServers) expect([r.name, await routes(r)]).toEqual([r.name, before.get(r.name)]);
    expect(await forwarding()).toBe('0\n0\n');
    for (const url of [`http://${NAT4}/`, `http://[${NAT6}]/`]) expect([url, await answeredBy(url, 2)]).toEqual([url, ['failed (28)']]);
  }, 600_000);

  it('the example turns forwarding on and routes each real server through the director: all answer, the next plan is empty', async () => {
    // GIVEN examples/nat-cluster WHEN planned
    const stack = await example();
    applied = stack;
    const plan = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    const text = renderPlan(plan);
    console.log(text);
    // THEN the director's set-up turns forwarding of both families on, now and at boot (beside the boot unit that puts
    // its VIPs back), and does nothing else: no package, no module, no saved table
    expect(plan.directors[0]!.hostSetup?.map((i) => [i.kind, i.name, i.action])).toEqual([
      ['sysctl', 'net.ipv4.ip_forward', 'update'],
      ['sysctl', 'net.ipv6.conf.all.forwarding', 'update'],
      ['file', SYSCTL_FILE, 'create'],
      ['file', `/etc/systemd/system/lvsform-${STACK}.service`, 'create'],
      ['boot-service', `lvsform-${STACK}.service`, 'update'],
    ]);
    // AND each real server, reached through the director, gets its default routes through the director's inside
    // addresses
    expect(text).toContain(`check: NAT route back (IPv4): no default route; this plan sets it through the director (${director().private.ipv4})`);
    expect(text).toContain(`check: NAT route back (IPv6): no default route; this plan sets it through the director (${director().private.ipv6})`);
    expect(text).not.toContain('warning: NAT route back');
    expect((plan.realServers ?? []).map((r) => [r.host, r.changes.map((c) => (c.kind === 'route' ? [c.family, c.before, c.after] : c.kind))])).toEqual(
      facts.realServers.map((_, i) => [
        `web${i + 1}`,
        [
          ['inet', '', director().private.ipv4],
          ['inet6', '', director().private.ipv6],
        ],
      ]),
    );
    // WHEN applied
    const report = await applyStack(stack.directors, { stack: stack.stack, drain: false, realServers: stack.realServers });
    // THEN the director and every real server are applied and verified
    expect(report.outcomes.map((o) => [o.director, o.status, o.error?.message])).toEqual([['lb1', 'applied', undefined]]);
    expect(report.realServerOutcomes?.map((o) => [o.host, o.status, o.error?.message])).toEqual(
      facts.realServers.map((_, i) => [`web${i + 1}`, 'applied', undefined]),
    );
    // AND the director forwards both families, now and at boot
    expect((await forwarding()).split('\n')).toEqual([
      '1',
      '1',
      `# Written by lvsform (stack ${STACK}): forwarding its NAT services need, set at boot.`,
      'net.ipv4.ip_forward = 1',
      'net.ipv6.conf.all.forwarding = 1',
      '',
    ]);
    // AND each real server's default routes go through the director's inside addresses
    for (const r of facts.realServers) {
      const now = await onVm(r.name, 'ip -4 route show default; ip -6 route show default');
      expect(now.stdout).toMatch(new RegExp(`^default via ${director().private.ipv4.replaceAll('.', '\\.')} `, 'm'));
      expect(now.stdout).toMatch(new RegExp(`^default via ${director().private.ipv6} `, 'm'));
    }
    // AND the client's requests through both VIPs reach every real server, none failing
    const all = facts.realServers.map((r) => r.name).sort();
    for (const target of [`${VIP}:80`, `[${VIP6}]:80`]) {
      const t = await labTraffic({ state: await clusterLab(), target, count: 4 * facts.realServers.length });
      expect([target, Object.keys(t.perServer).sort(), t.failures]).toEqual([target, all, 0]);
    }
    // AND the contrast's VIPs are gone with its services
    expect((await answeredBy(`http://${NAT4}/`, 1))[0]).toMatch(/^failed/);
    // AND the next plan is empty
    const again = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    expect(planHasChanges(again)).toBe(false);
  }, 600_000);

  it('destroy removes the routes lvsform added and leaves the routing tables as they were; forwarding stays on', async () => {
    // GIVEN the example applied WHEN destroyed
    const report = await destroy(applied!);
    expect(report.realServerOutcomes?.map((o) => [o.host, o.status, o.error?.message])).toEqual(
      facts.realServers.map((_, i) => [`web${i + 1}`, 'applied', undefined]),
    );
    applied = undefined;
    // THEN every real server's routes read back as before the first apply, with no default route and no record
    for (const r of facts.realServers) expect([r.name, await routes(r)]).toEqual([r.name, before.get(r.name)]);
    // AND the client's requests fail again (the VIPs are gone with the services)
    for (const url of [`http://${VIP}/`, `http://[${VIP6}]/`]) expect((await answeredBy(url, 1))[0]).toMatch(/^failed/);
    // AND the director still forwards: a destroy leaves the host set-up's forwarding as it is
    expect((await forwarding()).split('\n').slice(0, 2)).toEqual(['1', '1']);
  }, 600_000);
});
