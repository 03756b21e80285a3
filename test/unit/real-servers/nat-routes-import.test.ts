/**
 * The NAT check's more specific routes (read in the same round trip as the default routes), and the import of what a
 * real server holds as a RealServerHost; against the in-memory host and the parsers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import type { DesiredRealServer } from '../../../providers/ipvs/model/desired-real-server.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { bypassRoutes, type LiveRealServer, type NatSpec, prepFor } from '../../../providers/ipvs/model/real-server.ts';
import { parsePrefixRoutes, parseRealServerRead, realServerReadChunk } from '../../../providers/ipvs/host/real-server-chunk.ts';
import { sectionLine, splitSections } from '../../../providers/ipvs/host/sections.ts';
import { renderPlan } from '../../../providers/ipvs/render/render-plan.ts';
import { planToJson } from '../../../providers/ipvs/render/plan-json.ts';
import { doctorRealServer } from '../../../providers/ipvs/ops/doctor-real-server.ts';
import { generateRealServerApp, importedRealServer } from '../../../providers/ipvs/import/import-real-server.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';

const NAT = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1\n';

function director(): DesiredDirector {
  const table = parseSave(NAT, 'test');
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'ssh', ssh: { host: 'lb1.example.net' } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), 'web/lb1/svc'])),
  };
}

function realServer(d: DesiredDirector, nat: NatSpec): DesiredRealServer {
  const addresses = ['192.0.2.11'];
  return {
    name: 'rs1',
    target: { name: 'rs1', transport: 'ssh', ssh: { host: 'rs1.example.net' }, role: 'real-server' },
    spec: { name: 'rs1', addresses, path: 'web/rs1', nat },
    prep: prepFor(addresses, [d]),
  };
}

describe("NAT's route back: more specific routes around the director", () => {
  it('parses the main table: networks, host routes, gateways; other route types left out', () => {
    const v4 = [
      'default via 192.0.2.1 dev eth0 onlink',
      '192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.11',
      '203.0.113.0/24 dev eth1 proto kernel scope link src 203.0.113.11',
      '198.18.0.5 via 192.0.2.9 dev eth0',
      'unreachable 10.0.0.0/8',
      'blackhole 172.16.0.0/12',
    ].join('\n');
    expect(parsePrefixRoutes(v4, 'inet')).toEqual([
      { family: 'inet', prefix: '192.0.2.0/24', device: 'eth0' },
      { family: 'inet', prefix: '203.0.113.0/24', device: 'eth1' },
      { family: 'inet', prefix: '198.18.0.5/32', gateway: '192.0.2.9', device: 'eth0' },
    ]);
    const v6 =
      '2001:db8::/64 dev eth0 proto kernel metric 256 pref medium\nfe80::/64 dev eth0 proto kernel metric 256 pref medium\ndefault via 2001:db8::1 dev eth0';
    expect(parsePrefixRoutes(v6, 'inet6')).toEqual([
      { family: 'inet6', prefix: '2001:db8::/64', device: 'eth0' },
      { family: 'inet6', prefix: 'fe80::/64', device: 'eth0' },
    ]);
  });

  it('the read asks for the whole main table of each family, in the same section as before, and keeps the default route', () => {
    const script = realServerReadChunk('t');
    expect(script).toContain('ip -4 route show 2>&1');
    expect(script).toContain('ip -6 route show 2>&1');
    expect(script).not.toContain('route show default');
    const out = [
      ...['kernel', 'addresses', 'links', 'sysctls', 'fou'].map((s) => sectionLine('t', `rs-${s}`)),
      sectionLine('t', 'rs-routes4'),
      'default via 192.0.2.1 dev eth0',
      '203.0.113.0/24 dev eth1 scope link',
      sectionLine('t', 'rs-routes6'),
      sectionLine('t', 'rs-end'),
    ].join('\n');
    const live = parseRealServerRead(splitSections('t', out))!;
    expect(live.routes).toEqual([{ family: 'inet', gateway: '192.0.2.1', device: 'eth0' }]);
    expect(live.prefixRoutes).toEqual([{ family: 'inet', prefix: '203.0.113.0/24', device: 'eth1' }]);
  });

  it('a route that does not go through the director is a bypass, but the way to the director itself is not', () => {
    const routes = parsePrefixRoutes('192.0.2.0/24 dev eth0\n203.0.113.0/24 dev eth1\n198.51.100.0/24 via 192.0.2.1 dev eth0\n', 'inet');
    // THEN without client networks every other route is one; with them, only those reaching into them
    expect(bypassRoutes(routes, 'inet', '192.0.2.1').map((r) => r.prefix)).toEqual(['203.0.113.0/24']);
    expect(bypassRoutes(routes, 'inet', '192.0.2.1', ['203.0.113.128/25']).map((r) => r.prefix)).toEqual(['203.0.113.0/24']);
    expect(bypassRoutes(routes, 'inet', '192.0.2.1', ['198.51.100.0/24'])).toEqual([]);
    expect(bypassRoutes(routes, 'inet', '192.0.2.1', ['0.0.0.0/0']).map((r) => r.prefix)).toEqual(['203.0.113.0/24']);
  });

  it('plan and doctor warn about a client network reached around the director, and say nothing once the clients are elsewhere', async () => {
    // GIVEN a NAT real server whose default route goes through the director, and a connected client segment
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    rs1.rs.routes = [{ family: 'inet', gateway: '192.0.2.1', device: 'eth0' }];
    rs1.rs.prefixRoutes.push({ family: 'inet', prefix: '203.0.113.0/24', device: 'eth1' });
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director();
    // WHEN planned with no client networks named
    const plan = await planStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d, { gateways: ['192.0.2.1'], manage: false })] });
    // THEN the route check warns about 203.0.113.0/24 (in text and JSON), in the plan's one round trip
    expect(renderPlan(plan)).toContain(
      'warning: NAT route back (IPv4): default route via 192.0.2.1, through the director; but 203.0.113.0/24 dev eth1 is more specific and not through it',
    );
    expect(planToJson(plan).real_servers?.[0]?.route_checks[0]).toEqual(expect.objectContaining({ ok: true, bypass: ['203.0.113.0/24 dev eth1'], warn: true }));
    expect(fleet.opened.find((h) => h.target.name === 'rs1')!.roundTrips).toBe(1);
    // AND doctor says the same
    const doc = await doctorRealServer(realServer(d, { gateways: ['192.0.2.1'], manage: false }), 'web', { openHost: fleet.openHost });
    expect(doc.checks.find((c) => c.name === 'NAT route back (IPv4)')).toEqual(expect.objectContaining({ status: 'warn' }));
    // WHEN the clients are declared elsewhere THEN no warning
    const elsewhere = await planStack([d], {
      stack: 'web',
      openHost: fleet.openHost,
      realServers: [realServer(d, { gateways: ['192.0.2.1'], manage: false, clients: ['198.51.100.0/24'] })],
    });
    expect(renderPlan(elsewhere)).not.toContain('warning: NAT route back');
  });
});

const BARE_ADDRESSES = [
  { address: '127.0.0.1', prefix: 8, device: 'lo' },
  { address: '::1', prefix: 128, device: 'lo' },
  { address: '192.0.2.11', prefix: 24, device: 'eth0' },
  { address: 'fe80::5054:ff:fe00:11', prefix: 64, device: 'eth0' },
];

function live(extra: Partial<LiveRealServer> = {}): LiveRealServer {
  return {
    kernel: '6.1.0',
    addresses: BARE_ADDRESSES,
    links: [],
    up: [],
    sysctls: { 'net.ipv4.conf.all.arp_ignore': '0', 'net.ipv4.conf.all.arp_announce': '0', 'net.ipv4.conf.eth0.arp_ignore': '0' },
    fou: [],
    routes: [{ family: 'inet', gateway: '192.0.2.1', device: 'eth0' }],
    prefixRoutes: [],
    ...extra,
  };
}

describe('import --real-server', () => {
  it('infers the addresses, the interface and the gateway of a bare host, and says what it cannot know', () => {
    const r = importedRealServer(live());
    expect(r.addresses).toEqual(['192.0.2.11']);
    expect(r.interface).toBe('eth0');
    expect(r.gateways).toEqual(['192.0.2.1']);
    expect(r.found).toEqual(['arp_ignore 0, arp_announce 0 on all', 'default route IPv4 via 192.0.2.1 dev eth0']);
    expect(r.notes.join('\n')).toContain("which pool and forwarding method each VIP serves, which is the director's side");
  });

  it('reads a host prepared by hand for direct routing and tunnels: VIPs on lo and a dummy, ARP settings, tunnels, fou', () => {
    const r = importedRealServer(
      live({
        addresses: [
          ...BARE_ADDRESSES,
          { address: '198.51.100.27', prefix: 32, device: 'lo', label: 'lo:lvs' } as LiveRealServer['addresses'][number],
          { address: '2001:db8::27', prefix: 128, device: 'lo' },
          { address: '198.51.100.99', prefix: 32, device: 'dummy0' },
          { address: '203.0.113.11', prefix: 24, device: 'eth1' },
          { address: '203.0.113.138', prefix: 32, device: 'eth2' },
        ],
        // eth2 is a point-to-point link: its /32 has a route to the peer, so it is an address of the host, not a VIP
        prefixRoutes: [{ family: 'inet', prefix: '203.0.113.137/32', device: 'eth2' }],
        links: ['tunl0'],
        up: ['tunl0'],
        sysctls: {
          'net.ipv4.conf.all.arp_ignore': '1',
          'net.ipv4.conf.all.arp_announce': '2',
          'net.ipv4.conf.eth1.arp_ignore': '1',
          'net.ipv4.conf.eth1.arp_announce': '2',
          'net.ipv4.conf.all.rp_filter': '0',
          'net.ipv4.conf.tunl0.rp_filter': '2',
        },
        fou: [{ port: 6080, family: 'inet' }],
      }),
    );
    // THEN the VIPs are not its addresses, the device with ARP settings of its own is the interface
    expect(r.addresses).toEqual(['192.0.2.11', '203.0.113.11', '203.0.113.138']);
    expect(r.interface).toBe('eth1');
    expect(r.found).toEqual([
      'VIP 198.51.100.27/32 on lo (label lo:lvs): direct routing or tunnelling sends to it',
      'VIP 2001:db8::27/128 on lo: direct routing or tunnelling sends to it',
      'host address 198.51.100.99/32 on dummy0: a VIP there is kept (lvsform adds a VIP on lo only when it is on no interface)',
      'arp_ignore 1, arp_announce 2 on all',
      'arp_ignore 1, arp_announce 2 on eth1',
      'tunnel tunl0 up: IPv4 in IPv4 (ipip, and GUE carrying IPv4); rp_filter 2',
      "rp_filter 0 on all (the kernel takes the larger of all and the device's)",
      'fou port 6080 gue (GUE tunnelling)',
      'default route IPv4 via 192.0.2.1 dev eth0',
    ]);
  });

  it('writes an app that synthesizes to the RealServerHost it describes', async () => {
    // GIVEN the app generated for a host reached over SSH
    const code = generateRealServerApp(importedRealServer(live()), {
      stack: 'imported',
      name: 'web1',
      ssh: { host: '192.0.2.11', user: 'ops', sudo: true },
      source: 'real server web1 (ops@192.0.2.11, with sudo)',
      importFrom: join(import.meta.dirname, '../../../lib/index.ts'),
    });
    expect(code).toContain("new RealServerHost(stack, 'web1', {");
    expect(code).toContain("nat: { gateways: ['192.0.2.1'] }");
    // WHEN it runs THEN its synthesized JSON reads back as that host
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-rs-import-'));
    try {
      writeFileSync(join(dir, 'main.ts'), code);
      const tsx = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
      const run = await execa(tsx, ['main.ts'], { cwd: dir, reject: false, all: true, env: { CDKTF_OUTDIR: join(dir, 'out') } });
      expect(run.exitCode, run.all).toBe(0);
      const json = JSON.parse(readFileSync(join(dir, 'out/stacks/imported/cdk.tf.json'), 'utf8'));
      const synth = readSynth(json, 'imported');
      expect(synth.realServers).toEqual([
        expect.objectContaining({
          name: 'web1',
          transport: 'ssh',
          ssh: { host: '192.0.2.11', user: 'ops', sudo: true },
          spec: expect.objectContaining({ addresses: ['192.0.2.11'], interface: 'eth0', nat: { gateways: ['192.0.2.1'], manage: false } }),
        }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
