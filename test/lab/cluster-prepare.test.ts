/**
 * Real servers prepared by lvsform, on the cluster lab where ARP is real (issue 22): from bare real servers (the
 * cluster boots them with only their application), one apply puts the VIPs on `lo`, sets the ARP sysctls, brings the
 * decapsulating devices up and opens the GUE port; then the client's requests through each VIP reach both real
 * servers, for direct routing on IPv4 and IPv6 and for ipip, GUE and GRE tunnels. The ARP contrast: after lvsform's
 * preparation only the director answers the client's ARP for the direct-routing VIP; with the VIP on a real server's
 * `lo` but without the settings (put there by hand after destroy) the real server answers. Destroy leaves the real
 * servers exactly as they were (read back: addresses on lo, the sysctls, the tunnel devices' flags, fou ports, and no
 * record).
 *
 * The first apply carries out the saved plan (the real servers' changes checked against their fingerprints). After it,
 * `doctor` passes every real server; a VIP taken off `lo` and the ARP settings reset by hand are reported by `doctor`,
 * an import reads the preparation back as a RealServerHost's findings, and an apply narrowed to the direct-routing
 * service (`--target`) repairs exactly that, and doctor passes again.
 *
 * NAT is proven in cluster-nat.test.ts: the cluster's real servers are on the client's segment too, so their replies
 * to the client leave by the connected route whatever their default route is, and that test takes them off it first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerHost, RealServerPool, TunnelType } from '../../lib/index.ts';
import { type ClusterFacts, type ClusterVmFacts, labReboot } from '../../lab/index.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import { doctorRealServers } from '../../providers/ipvs/ops/doctor-real-server.ts';
import { importRealServer } from '../../providers/ipvs/import/import-real-server.ts';
import { narrowRealServers } from '../../providers/ipvs/plan/narrow-real-servers.ts';
import { realServerChangeText } from '../../providers/ipvs/model/real-server.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { renderPlan } from '../../providers/ipvs/render/render-plan.ts';
import { cluster, onClient, onVm } from './cluster.ts';
import { synthApp } from './ops-harness.ts';

let facts: ClusterFacts<ClusterVmFacts>;
const director = (): ClusterVmFacts => facts.directors[0]!;

const DR4 = '198.51.100.30';
const DR6 = '2001:db8:100::30';
const IPIP = '198.51.100.31';
const GUE = '198.51.100.32';
const GRE = '198.51.100.33';
const IPIP6 = '2001:db8:100::31';

function build(): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'rsprep');
    const ssh = (vm: ClusterVmFacts) => ({ configFile: facts.sshConfig, alias: vm.alias });
    const lb1 = new Director(stack, 'lb1', { ssh: ssh(director()), vips: { interface: director().shared.iface } });
    for (const r of facts.realServers) {
      new RealServerHost(stack, r.name, {
        ssh: ssh(r),
        addresses: [r.shared.ipv4, r.shared.ipv6, r.private.ipv4, r.private.ipv6],
        interface: r.shared.iface,
      });
    }
    const members = (pick: (r: ClusterVmFacts) => string) => facts.realServers.map((r) => ({ address: pick(r) }));
    const pools = {
      dr4: new RealServerPool(stack, 'dr4', { forwarding: Forwarding.DIRECT_ROUTING, members: members((r) => r.shared.ipv4) }),
      dr6: new RealServerPool(stack, 'dr6', { forwarding: Forwarding.DIRECT_ROUTING, members: members((r) => r.shared.ipv6) }),
      ipip: new RealServerPool(stack, 'ipip', { forwarding: Forwarding.tunnel(), members: members((r) => r.private.ipv4) }),
      gue: new RealServerPool(stack, 'gue', {
        forwarding: Forwarding.tunnel({ type: TunnelType.GUE, port: 6080 }),
        members: members((r) => r.private.ipv4),
      }),
      gre: new RealServerPool(stack, 'gre', { forwarding: Forwarding.tunnel({ type: TunnelType.GRE }), members: members((r) => r.private.ipv4) }),
      ipip6: new RealServerPool(stack, 'ipip6', { forwarding: Forwarding.tunnel(), members: members((r) => r.private.ipv6) }),
    };
    lb1.addVirtualService('dr4', { address: DR4, port: 80, pools: [pools.dr4] });
    lb1.addVirtualService('dr6', { address: DR6, port: 80, pools: [pools.dr6] });
    lb1.addVirtualService('ipip', { address: IPIP, port: 80, pools: [pools.ipip] });
    lb1.addVirtualService('gue', { address: GUE, port: 80, pools: [pools.gue] });
    lb1.addVirtualService('gre', { address: GRE, port: 80, pools: [pools.gre] });
    lb1.addVirtualService('ipip6', { address: IPIP6, port: 80, pools: [pools.ipip6] });
  });
}

/** What lvsform may touch on a real server, read back as text: lo's addresses, the sysctls, tunnels, fou, its record. */
async function snapshot(r: ClusterVmFacts): Promise<string> {
  const out = await onVm(
    r.name,
    [
      "ip -o addr show dev lo | awk '{print $4}' | sort",
      'for f in /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/conf/*/rp_filter; do echo "$f $(cat $f)"; done',
      'for d in tunl0 sit0 ip6tnl0 gre0 ip6gre0; do [ -r /sys/class/net/$d/flags ] && echo "$d $(( $(cat /sys/class/net/$d/flags) & 1 ))"; done',
      'ip fou show 2>/dev/null',
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
    const r = await onClient(['curl', '--silent', '--max-time', '5', url]);
    names.add(r.exitCode === 0 ? r.stdout.trim() : `failed (${r.exitCode})`);
  }
  return [...names].sort();
}

async function arpAnswers(address: string): Promise<string[]> {
  await onClient(['ip', 'neigh', 'flush', 'dev', facts.client.iface]);
  const r = await onClient(['arping', '-b', '-I', facts.client.iface, '-c', '3', '-w', '4', address]);
  return [...new Set([...r.stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase()))].sort();
}

let stack: LoadedStack;
const bare = new Map<string, string>();

beforeAll(async () => {
  facts = await cluster();
  stack = await build();
  for (const r of facts.realServers) bare.set(r.name, await snapshot(r));
}, 900_000);

afterAll(async () => {
  // Whatever happened, leave the cluster bare for the next file.
  if (!stack) return;
  await applyStack(
    stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() })),
    { stack: stack.stack, destroy: true, drain: false, realServers: stack.realServers },
  );
  await Promise.all(facts.realServers.map((r) => onVm(r.name, `ip addr del ${DR4}/32 dev lo 2>/dev/null; true`)));
}, 300_000);

describe('real servers prepared by lvsform', () => {
  it('one apply takes bare real servers to serving DR (IPv4, IPv6), ipip, GUE, GRE and ipip over IPv6', async () => {
    // GIVEN bare real servers and the app WHEN planned THEN each real server has its section
    const plan = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    const text = renderPlan(plan);
    console.log(text);
    expect(text).toContain('+ address 198.51.100.30/32 on lo');
    expect(text).toContain('+ tunnel tunl0 up');
    expect(text).toContain('+ fou port 6080 gue');
    // WHEN that plan is applied as a saved plan: the real servers' changes are the plan's, checked against what they hold
    const directors = plan.directors.map((d) => ({ name: d.director, target: d.target, table: d.desired, paths: new Map(Object.entries(d.paths)) }));
    const report = await applyStack(directors, { stack: stack.stack, drain: false, savedPlan: plan });
    // THEN every host is applied and verified
    expect(report.outcomes.map((o) => [o.director, o.status, o.error?.message])).toEqual([['lb1', 'applied', undefined]]);
    expect(report.realServerOutcomes?.map((o) => [o.host, o.status, o.error?.message])).toEqual(facts.realServers.map((r) => [r.name, 'applied', undefined]));
    // AND the client's requests through every VIP reach both real servers
    const both = facts.realServers.map((r) => r.name).sort();
    for (const url of [`http://${DR4}/`, `http://[${DR6}]/`, `http://${IPIP}/`, `http://${GUE}/`, `http://${GRE}/`, `http://[${IPIP6}]/`]) {
      expect([url, await answeredBy(url, 8)]).toEqual([url, both]);
    }
    // AND a second plan is empty
    const again = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    expect((again.realServers ?? []).flatMap((r) => r.changes)).toEqual([]);
  }, 600_000);

  it("after lvsform's preparation only the director answers the client's ARP for the DR VIP", async () => {
    // GIVEN the applied stack (the previous test) WHEN the client broadcasts ARP requests for the DR VIP
    // THEN only the director's MAC answers, and the client's neighbour entry is the director's
    expect(await arpAnswers(DR4)).toEqual([director().shared.mac]);
    await onClient(['curl', '--silent', '--max-time', '5', `http://${DR4}/`]);
    const neigh = await onClient(['ip', 'neigh', 'show', DR4, 'dev', facts.client.iface]);
    expect(/lladdr ([0-9a-f:]{17})/.exec(neigh.stdout)?.[1]).toBe(director().shared.mac);
  }, 120_000);

  it('doctor passes prepared real servers and reports a VIP or ARP setting undone by hand; a --target apply repairs it', async () => {
    // GIVEN the applied stack WHEN examined THEN every real-server check passes
    const ok = await doctorRealServers(stack.realServers, stack.stack);
    expect(ok.map((r) => [r.director, r.checks.filter((c) => c.status !== 'ok').map((c) => `${c.name}: ${c.detail}`)])).toEqual(
      facts.realServers.map((r) => [r.name, []]),
    );
    // AND an import of rs1 reads its preparation back
    const rs1 = facts.realServers[0]!;
    const rsTarget = stack.realServers.find((r) => r.name === rs1.name)!.target;
    const { imported, code } = await importRealServer(rsTarget, { stack: 'imported', ssh: rsTarget.ssh! });
    console.log(code);
    expect(imported.found).toEqual(
      expect.arrayContaining([
        `VIP ${DR4}/32 on lo (label lo:lvs): direct routing or tunnelling sends to it`,
        `VIP ${DR6}/128 on lo: direct routing or tunnelling sends to it`,
        'arp_ignore 1, arp_announce 2 on all',
        `arp_ignore 1, arp_announce 2 on ${rs1.shared.iface}`,
        'fou port 6080 gue (GUE tunnelling)',
      ]),
    );
    expect(imported.found.some((l) => l.startsWith('tunnel tunl0 up'))).toBe(true);
    // (the lab's management link is point to point: its /32 is the host's own address, not a VIP on a dummy)
    expect(imported.found.filter((l) => l.startsWith('host address'))).toEqual([]);
    expect(imported.addresses).toEqual(expect.arrayContaining([rs1.shared.ipv4, rs1.private.ipv4]));
    expect(imported.interface).toBe(rs1.shared.iface);
    // WHEN the DR VIP is taken off rs1's lo and its ARP settings reset by hand
    const dev = rs1.shared.iface;
    await onVm(rs1.name, `ip addr del ${DR4}/32 dev lo && sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.${dev}.arp_ignore=0`);
    // THEN doctor reports both on rs1 only
    const broken = await doctorRealServers(stack.realServers, stack.stack);
    const warned = (name: string) =>
      broken
        .find((r) => r.director === name)!
        .checks.filter((c) => c.status !== 'ok')
        .map((c) => c.name);
    expect(warned(rs1.name)).toEqual([`VIP ${DR4}`, 'arp_ignore']);
    expect(warned(facts.realServers[1]!.name)).toEqual([]);
    // WHEN an apply narrowed to the DR service runs THEN it repairs exactly those on rs1, and nothing else anywhere
    const targeted = narrowRealServers(stack.realServers, stack.directors, ['rsprep/lb1/dr4']);
    const repair = await applyStack(stack.directors, { stack: stack.stack, drain: false, targets: ['rsprep/lb1/dr4'], realServers: targeted });
    const rsLines = (repair.plan.realServers ?? []).map((r) => [r.host, r.changes.map((c) => realServerChangeText(c).text)]);
    expect(rsLines).toEqual([
      [rs1.name, ['sysctl net.ipv4.conf.all.arp_ignore 0 -> 1', `sysctl net.ipv4.conf.${dev}.arp_ignore 0 -> 1`, `address ${DR4}/32 on lo`]],
      [facts.realServers[1]!.name, []],
    ]);
    expect(repair.realServerOutcomes?.map((o) => [o.host, o.status])).toEqual([
      [rs1.name, 'applied'],
      [facts.realServers[1]!.name, 'unchanged'],
    ]);
    const again = await doctorRealServers(stack.realServers, stack.stack);
    expect(again.flatMap((r) => r.checks.filter((c) => c.status !== 'ok'))).toEqual([]);
  }, 600_000);

  it('a real server rebooted comes back prepared by its boot files: the plan is empty and traffic flows', async () => {
    // GIVEN the applied stack WHEN rs1 reboots (systemd as PID 1, /etc and /var/lib on its disk)
    const rs1 = facts.realServers[0]!;
    const unit = await onVm(rs1.name, 'cat /etc/systemd/system/lvsform-rsprep-real-server.service; cat /etc/sysctl.d/90-lvsform-rsprep-real-server.conf');
    console.log(unit.stdout);
    await labReboot(rs1.name, { dir: facts.dir, bootTimeoutMs: 300_000 });
    // THEN its unit ran, the plan has nothing to do on it, and it serves every VIP again
    const state = await onVm(rs1.name, 'systemctl is-active lvsform-rsprep-real-server.service; ip -o addr show dev lo | wc -l', { allowFailure: true });
    expect(state.stdout.split('\n')[0]).toBe('active');
    const plan = await planStack(stack.directors, { stack: stack.stack, realServers: stack.realServers });
    expect(plan.realServers?.find((r) => r.host === rs1.name)?.changes).toEqual([]);
    for (const url of [`http://${DR4}/`, `http://${GUE}/`, `http://${GRE}/`, `http://[${IPIP6}]/`]) {
      expect([url, (await answeredBy(url, 8)).includes(rs1.name)]).toEqual([url, true]);
    }
  }, 600_000);

  it('destroy leaves the real servers as they were; the VIP on lo without the settings is then answered by the real server', async () => {
    // WHEN destroyed
    const report = await applyStack(
      stack.directors.map((d) => ({ ...d, table: { services: [] }, paths: new Map<string, string>() })),
      { stack: stack.stack, destroy: true, drain: false, realServers: stack.realServers },
    );
    expect(report.realServerOutcomes?.map((o) => [o.host, o.status, o.error?.message])).toEqual(facts.realServers.map((r) => [r.name, 'applied', undefined]));
    // THEN every real server reads back as before the apply (tunnel devices stay, down: the kernel's fallback devices go
    // only with their module, which lvsform leaves loaded)
    // (a reused cluster's "before" may hold such down devices already, from an earlier run: both sides drop them)
    const withoutDownDevices = (text: string) =>
      text
        .split('\n')
        .filter((l) => !/^(tunl0|sit0|ip6tnl0|gre0|ip6gre0) 0$/.test(l) && !/\/(tunl0|sit0|ip6tnl0|gre0|ip6gre0|gretap0|erspan0|ip6_vti0|ip_vti0)\//.test(l))
        .join('\n');
    for (const r of facts.realServers) {
      const now = withoutDownDevices(await snapshot(r));
      const before = withoutDownDevices(bare.get(r.name)!);
      expect([r.name, now]).toEqual([r.name, before]);
    }
    // AND the contrast: the VIP on a real server's lo by hand, without the ARP settings, is answered by the real server
    const rs1 = facts.realServers[0]!;
    await onVm(rs1.name, `ip addr add ${DR4}/32 dev lo`);
    expect(await arpAnswers(DR4)).toEqual([rs1.shared.mac]);
  }, 600_000);
});
