/**
 * The lab cluster where ARP is real (issue 22): a director and two real servers as virtual machines on one shared L2
 * segment with the client, so that what direct routing needs on a real server can be seen to matter. Everything here
 * is done by hand over ssh, not by lvsform: it shows the problem lvsform's real-server preparation has to solve.
 *
 * With the kernel's defaults (arp_ignore=0) a host answers ARP for any of its addresses on any interface, so a real
 * server with the VIP on `lo` answers the client's ARP for the VIP and can take the VIP's traffic from the director.
 * arp_ignore=1 (answer only for addresses of the interface asked) and arp_announce=2 (never announce another
 * interface's address) silence it, and only the director answers. Each step starts from the same bare hosts, and the
 * contrast (the real server answering alone, then not at all) shows the test could fail. IPv6's neighbour discovery
 * answers only for addresses of the interface asked: a VIP on `lo` needs no setting there.
 *
 * The cluster is shared with the other cluster tests (test/lab/cluster.ts); these leave its hosts bare again.
 */
import { execa } from 'execa';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ClusterFacts, type ClusterVmFacts, labTraffic } from '../../lab/index.ts';
import { cluster, clusterLab, onClient, onVm } from './cluster.ts';

/** Free shared-segment addresses (CLUSTER_TOPOLOGY.vips): the VIP of these tests. */
const VIP = '198.51.100.21';
const VIP6 = '2001:db8:100::21';

let facts: ClusterFacts<ClusterVmFacts>;
const director = (): ClusterVmFacts => facts.directors[0]!;
const rs1 = (): ClusterVmFacts => facts.realServers[0]!;

/** Every VM back to bare (no VIP, the kernel's ARP defaults) and the client's neighbour table empty. */
async function bare(): Promise<void> {
  const iface = director().shared.iface;
  await Promise.all([
    onVm(director().name, `ip addr del ${VIP}/32 dev ${iface} 2>/dev/null; ip addr del ${VIP6}/128 dev ${iface} 2>/dev/null; true`),
    ...facts.realServers.map((r) =>
      onVm(
        r.name,
        `ip addr del ${VIP}/32 dev lo 2>/dev/null; ip addr del ${VIP6}/128 dev lo 2>/dev/null; ` +
          `sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 ` +
          `net.ipv4.conf.${r.shared.iface}.arp_ignore=0 net.ipv4.conf.${r.shared.iface}.arp_announce=0`,
      ),
    ),
  ]);
  await flushNeighbours();
}

async function flushNeighbours(): Promise<void> {
  const r = await onClient(['ip', 'neigh', 'flush', 'dev', facts.client.iface]);
  expect(r.exitCode).toBe(0);
}

/**
 * The MAC addresses that answer the client's ARP for `address`: `arping -b` broadcasts every probe (plain arping
 * turns to unicast after the first reply, which would hide a second host answering), until `replies` answers or
 * `seconds` have passed.
 */
async function arpAnswers(address: string, replies: number, seconds: number): Promise<string[]> {
  const r = await onClient(['arping', '-b', '-I', facts.client.iface, '-c', String(replies), '-w', String(seconds), address]);
  return [...r.stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1]!.toLowerCase());
}

/** The MAC the client's kernel holds for `address` (after traffic to it), or `none`, e.g. INCOMPLETE. */
async function neighbour(address: string): Promise<string> {
  const r = await onClient(['ip', 'neigh', 'show', address, 'dev', facts.client.iface]);
  return /lladdr ([0-9a-f:]{17})/.exec(r.stdout)?.[1] ?? `none (${r.stdout.trim() || 'no entry'})`;
}

async function ping(address: string): Promise<boolean> {
  const r = await onClient(['busybox', 'ping', ...(address.includes(':') ? ['-6'] : []), '-c', '1', '-W', '2', address]);
  return r.exitCode === 0;
}

beforeAll(async () => {
  facts = await cluster();
}, 900_000);
beforeEach(bare);
afterAll(async () => {
  if (facts) await bare();
});

describe('the cluster lab', () => {
  it("serves each real server's application to the client on its shared addresses: HTTP on 80 and 8080, /big, UDP echo", async () => {
    // GIVEN the cluster's real servers, bare WHEN the client asks each on its shared IPv4 and IPv6 addresses
    for (const r of facts.realServers) {
      const http = await onClient([
        'curl',
        '--silent',
        '--max-time',
        '10',
        '--write-out',
        ' %{http_code}\n',
        `http://${r.shared.ipv4}/`,
        `http://[${r.shared.ipv6}]:8080/`,
      ]);
      const big = await onClient([
        'curl',
        '--silent',
        '--max-time',
        '60',
        '--output',
        '/dev/null',
        '--write-out',
        '%{size_download}',
        `http://${r.shared.ipv4}:8080/big`,
      ]);
      const udp = await onClient(
        ['perl', `${facts.dir}/guest/udp-client.pl`, r.shared.ipv4, '53', '1', '3000', '0'].join(' ') +
          ` && ${['perl', `${facts.dir}/guest/udp-client.pl`, r.shared.ipv6, '53', '1', '3000', '0'].join(' ')}`,
      );
      // THEN each answers with its name, the big file is whole, and the UDP echo answers from the address asked
      expect(http.stdout).toBe(`${r.name}\n 200\n${r.name}\n 200\n`);
      expect(Number(big.stdout)).toBe(24 * 1024 * 1024);
      expect(udp.stdout).toBe(`${r.name}\n${r.name}\n`);
    }
  });

  it('sends `lab traffic` from the client namespace on this machine, TCP and UDP', async () => {
    // GIVEN the cluster lab's state WHEN lab traffic targets a real server's shared addresses
    const state = await clusterLab();
    const tcp = await labTraffic({ state, target: `${rs1().shared.ipv4}:8080`, count: 3 });
    const udp = await labTraffic({ state, target: `[${rs1().shared.ipv6}]:53`, protocol: 'udp', count: 3 });
    // THEN every request is answered by that real server
    expect([tcp, udp]).toEqual([
      { perServer: { [rs1().name]: 3 }, failures: 0, total: 3 },
      { perServer: { [rs1().name]: 3 }, failures: 0, total: 3 },
    ]);
  });

  it('reaches a real server over ssh on its private address through the director, with its pinned host key', async () => {
    // GIVEN a real server's private alias (ProxyJump through the director, no ssh master)
    const r = rs1();
    // WHEN plain ssh runs a command there
    const out = await execa('ssh', ['-F', r.sshConfig, r.privateAlias!, 'hostname; ip -o -4 addr show dev eth2'], { reject: false });
    // THEN it is that real server, reached on its private card
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^${r.name}\n.*inet ${r.private.ipv4.replaceAll('.', '\\.')}/24`));
  });

  it('boots the hosts bare: no VIP, no IPVS table, no ARP settings, no default route on a real server, no forwarding', async () => {
    // GIVEN the cluster as booted WHEN its hosts are read
    const rs = await onVm(
      rs1().name,
      `ip -o addr show dev lo | awk '{print $4}'; ip route show default; ip -6 route show default; ` +
        `sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce net.ipv4.conf.all.rp_filter; ` +
        `cat /sys/class/net/${rs1().shared.iface}/address /sys/class/net/${rs1().private.iface}/address`,
    );
    const lb = await onVm(
      director().name,
      `ipvsadm -S -n; sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding; ip -o -4 addr show dev ${director().shared.iface} | awk '{print $4}'`,
    );
    // THEN the real server has only loopback on lo, no default route, the kernel's ARP and rp_filter defaults, and
    // the MACs the facts name; the director has an empty table, only its own address on the segment, and forwarding
    // off (the kernel's default: turning it on for NAT is lvsform's, cluster-nat.test.ts)
    expect(rs.stdout.split('\n')).toEqual(['127.0.0.1/8', '::1/128', '0', '0', '0', rs1().shared.mac, rs1().private.mac, '']);
    expect(lb.stdout).toBe(`0\n0\n${director().shared.ipv4}/24\n`);
  });
});

describe("direct routing's ARP problem, by hand", () => {
  it('a real server with the VIP on lo answers the ARP for it with the kernel defaults, taking the traffic', async () => {
    // GIVEN the VIP on rs1's lo only, with the kernel's ARP defaults
    await onVm(rs1().name, `ip addr add ${VIP}/32 dev lo`);
    // WHEN the client asks who has the VIP and sends to it
    const answers = await arpAnswers(VIP, 2, 4);
    const reached = await ping(VIP);
    // THEN the real server answers from its shared card, and the client's neighbour entry for the VIP is its MAC
    expect(new Set(answers)).toEqual(new Set([rs1().shared.mac]));
    expect(reached).toBe(true);
    expect(await neighbour(VIP)).toBe(rs1().shared.mac);
  });

  it('with the VIP on the director as well, both answer: the client may resolve the VIP to the real server', async () => {
    // GIVEN the VIP on the director's shared card and on rs1's lo, with the kernel's ARP defaults
    await onVm(director().name, `ip addr add ${VIP}/32 dev ${director().shared.iface}`);
    await onVm(rs1().name, `ip addr add ${VIP}/32 dev lo`);
    // WHEN the client broadcasts ARP requests for the VIP
    const answers = await arpAnswers(VIP, 4, 4);
    // THEN the director and the real server both answer: which MAC the client keeps is a race
    expect(new Set(answers)).toEqual(new Set([director().shared.mac, rs1().shared.mac]));
  });

  it('arp_ignore=1 and arp_announce=2 on the real server leave only the director answering for the VIP', async () => {
    // GIVEN the VIP on the director and on rs1's lo, and rs1 with arp_ignore=1, arp_announce=2 (all and eth1)
    const eth = rs1().shared.iface;
    await onVm(director().name, `ip addr add ${VIP}/32 dev ${director().shared.iface}`);
    await onVm(
      rs1().name,
      `ip addr add ${VIP}/32 dev lo && sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 ` +
        `net.ipv4.conf.${eth}.arp_ignore=1 net.ipv4.conf.${eth}.arp_announce=2`,
    );
    // WHEN the client broadcasts ARP requests for the VIP and sends to it
    const answers = await arpAnswers(VIP, 3, 4);
    const reached = await ping(VIP);
    // THEN only the director answers, and the client's neighbour entry for the VIP is the director's MAC
    expect(answers.length).toBeGreaterThan(0);
    expect(new Set(answers)).toEqual(new Set([director().shared.mac]));
    expect(reached).toBe(true);
    expect(await neighbour(VIP)).toBe(director().shared.mac);

    // AND WHEN the director lets the VIP go THEN nobody answers: the real server, which answered alone with the
    // defaults, keeps quiet with the settings
    await onVm(director().name, `ip addr del ${VIP}/32 dev ${director().shared.iface}`);
    await flushNeighbours();
    expect(await arpAnswers(VIP, 1, 2)).toEqual([]);
  });

  it('IPv6 needs no setting: a real server does not answer neighbour discovery for a VIP on lo', async () => {
    // GIVEN the IPv6 VIP on rs1's lo only, with the kernel's defaults
    await onVm(rs1().name, `ip addr add ${VIP6}/128 dev lo nodad`);
    // WHEN the client sends to it THEN nothing answers (neighbour discovery answers only for the interface's addresses)
    expect(await ping(VIP6)).toBe(false);
    expect(await neighbour(VIP6)).toMatch(/^none/);

    // AND WHEN the director holds the VIP too THEN the client reaches it at the director's MAC
    await onVm(director().name, `ip addr add ${VIP6}/128 dev ${director().shared.iface} nodad`);
    await onClient(['ip', '-6', 'neigh', 'flush', 'dev', facts.client.iface]);
    expect(await ping(VIP6)).toBe(true);
    expect(await neighbour(VIP6)).toBe(director().shared.mac);
  });
});
