/**
 * Real servers through the seam, against the in-memory host: what the services they back ask of them, the round
 * trips, the order around the directors' batches, ownership and destroy putting back what lvsform found. The lab test
 * on a cluster is the judge of the same on real kernels.
 */
import { describe, expect, it } from 'vitest';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import type { DesiredRealServer } from '../../../providers/ipvs/model/desired-real-server.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { prepFor, realServerChangeText, type NatSpec } from '../../../providers/ipvs/model/real-server.ts';
import { parseRealServerRecord } from '../../../providers/ipvs/model/real-server-record.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { renderPlan } from '../../../providers/ipvs/render/render-plan.ts';
import { planToJson } from '../../../providers/ipvs/render/plan-json.ts';
import { renderMarkdown } from '../../../providers/ipvs/render/render-markdown.ts';
import { FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';
import { doctorRealServer } from '../../../providers/ipvs/ops/doctor-real-server.ts';

const DR = '-A -t 198.51.100.27:80 -s rr\n-a -t 198.51.100.27:80 -r 192.0.2.11:80 -g -w 1\n';
const TUN =
  '-A -t 198.51.100.37:80 -s rr\n-a -t 198.51.100.37:80 -r 192.0.2.11:80 -i -w 1\n' +
  '-A -t 198.51.100.47:80 -s rr\n-a -t 198.51.100.47:80 -r 192.0.2.11:80 -i --tun-type gue --tun-port 6080 -w 1\n';
const NAT = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1\n';

function director(text: string): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'ssh', ssh: { host: 'lb1.example.net' } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), 'web/lb1/svc'])),
  };
}

function realServer(d: DesiredDirector, nat?: NatSpec): DesiredRealServer {
  const addresses = ['192.0.2.11'];
  return {
    name: 'rs1',
    target: { name: 'rs1', transport: 'ssh', ssh: { host: 'rs1.example.net' } },
    spec: { name: 'rs1', addresses, path: 'web/rs1', interface: 'eth0', ...(nat ? { nat } : {}) },
    prep: prepFor(addresses, [d]),
  };
}

describe('real servers through the seam', () => {
  it('derives the union of what the services a member backs need', () => {
    // GIVEN one address behind a DR, an ipip and a GUE service, and a NAT service
    const prep = prepFor(['192.0.2.11'], [director(DR + TUN + NAT)]);
    // THEN the VIPs of DR and tunnels go on lo, tunl0 and a fou port are needed, and IPv4 NAT replies must route back
    expect(prep.vips).toEqual(['198.51.100.27', '198.51.100.37', '198.51.100.47']);
    expect(prep.arp).toBe(true);
    expect(prep.tunnels).toEqual(['tunl0']);
    expect(prep.fou).toEqual([{ port: 6080, family: 'inet' }]);
    expect(prep.natFamilies).toEqual(['inet']);
  });

  it('plans in one round trip per real server, beside the directors', async () => {
    // GIVEN a bare real server and a director
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(DR + TUN);
    // WHEN planned
    const plan = await planStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    // THEN the real server was read once, and its plan lists the tunnel, the fou port, the VIPs and the sysctls
    const rsHost = fleet.opened.find((h) => h.target.name === 'rs1')!;
    expect(rsHost.roundTrips).toBe(1);
    const lines = plan.realServers![0]!.changes.map((c) => `${realServerChangeText(c).sign} ${realServerChangeText(c).text}`);
    expect(lines).toEqual([
      '+ tunnel tunl0 up  (modprobe ipip)',
      '+ fou port 6080 gue',
      '~ sysctl net.ipv4.conf.all.arp_ignore 0 -> 1',
      '~ sysctl net.ipv4.conf.all.arp_announce 0 -> 2',
      '~ sysctl net.ipv4.conf.eth0.arp_ignore 0 -> 1',
      '~ sysctl net.ipv4.conf.eth0.arp_announce 0 -> 2',
      '~ sysctl net.ipv4.conf.tunl0.rp_filter 1 -> 2',
      '+ address 198.51.100.27/32 on lo',
      '+ address 198.51.100.37/32 on lo',
      '+ address 198.51.100.47/32 on lo',
    ]);
    // AND every rendering shows it
    expect(renderPlan(plan)).toContain('Real server rs1 (rs1.example.net) for direct routing, tunnel gue, tunnel ipip');
    expect(planToJson(plan).real_servers?.[0]?.changes).toHaveLength(10);
    expect(renderMarkdown(plan)).toContain('+ tunnel tunl0 up');
  });

  it('prepares the real server beside a batch that only creates services, records it, and a second plan is empty', async () => {
    // GIVEN a bare real server whose preparation is answered only once the director's batch has run (or after 2 s)
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(DR + TUN);
    let batchRan: () => void = () => undefined;
    const batch = new Promise<'batch'>((resolve) => {
      batchRan = () => resolve('batch');
    });
    lb1.afterBatch = () => batchRan();
    let released: 'batch' | 'timeout' | undefined;
    rs1.beforeAnswer = async (kinds) => {
      if (!kinds.includes('real-server-apply')) return;
      released = await Promise.race([batch, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000).unref())]);
    };
    // WHEN applied (every service is new: no connection can reach an unprepared host)
    const report = await applyStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    // THEN the director's batch did not wait for the real server's preparation
    expect(released).toBe('batch');
    // AND the real server is prepared, in two round trips (the read, the additions with the pending record)
    expect(report.realServerOutcomes).toEqual([{ host: 'rs1', status: 'applied' }]);
    expect(fleet.opened.find((h) => h.target.name === 'rs1')!.roundTrips).toBe(2);
    expect(rs1.rs.up).toEqual(['tunl0']);
    expect(rs1.rs.fou).toEqual([{ port: 6080, family: 'inet' }]);
    expect(rs1.rs.sysctls['net.ipv4.conf.all.arp_ignore']).toBe('1');
    // AND its record keeps what it added and the values found before
    const record = parseRealServerRecord(rs1.rs.records.get('web'), 'web', 'rs1')!;
    expect(record.prep.tunnels).toEqual(['tunl0']);
    expect(record.prep.sysctls?.['net.ipv4.conf.all.arp_ignore']).toEqual({ prior: '0', value: '1' });
    // AND its boot files bring it back after a reboot: the sysctls, and a unit that puts back the rest
    expect(rs1.files.get('/etc/sysctl.d/90-lvsform-web-real-server.conf')).toContain('net.ipv4.conf.all.arp_ignore = 1');
    const unit = rs1.files.get('/etc/systemd/system/lvsform-web-real-server.service') ?? '';
    expect(unit).toContain('ExecStart=modprobe -a fou ipip');
    expect(unit).toContain('ExecStart=ip link set tunl0 up');
    expect(unit).toContain('ExecStart=-ip fou add port 6080 gue');
    expect(unit).toContain('ExecStart=ip addr replace 198.51.100.27/32 dev lo label lo:lvs');
    expect(rs1.files.has('/etc/systemd/system/multi-user.target.wants/lvsform-web-real-server.service')).toBe(true);
    // AND they are on its disk before the round trip that wrote them ends (a sync after them)
    expect(fleet.opened.find((h) => h.target.name === 'rs1')!.sent.at(-1)).toEqual(['real-server-record', 'real-server-apply', 'setup', 'sync']);
    // WHEN planned again THEN nothing to do
    const again = await planStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    expect(again.realServers![0]!.changes).toEqual([]);
    expect(again.realServers![0]!.setup).toBeUndefined();
  });

  it('a batch that adds a real server to a live service waits for its preparation', async () => {
    // GIVEN a live DR service on lb1 with 192.0.2.12 only, and 192.0.2.11 (rs1, bare, slow to answer) to be added
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const before = director('-A -t 198.51.100.27:80 -s rr\n-a -t 198.51.100.27:80 -r 192.0.2.12:80 -g -w 1\n');
    await applyStack([before], { stack: 'web', openHost: fleet.openHost });
    const d = director(`${DR}-a -t 198.51.100.27:80 -r 192.0.2.12:80 -g -w 1\n`);
    rs1.beforeAnswer = async (kinds) => {
      if (kinds.includes('real-server-apply')) await new Promise((r) => setTimeout(r, 50));
    };
    let rsReadyAtBatch: boolean | undefined;
    lb1.afterBatch = () => {
      rsReadyAtBatch = rs1.settings.addresses.some((a) => a.address === '198.51.100.27' && a.device === 'lo');
    };
    // WHEN applied
    const report = await applyStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    // THEN the batch ran only once rs1 held the VIP on lo
    expect(report.outcomes[0]?.status).toBe('applied');
    expect(rsReadyAtBatch).toBe(true);
    expect(lb1.batches.at(-1)).toEqual(['-a -t 198.51.100.27:80 -r 192.0.2.11:80 -g -w 1']);
  });

  it('destroy removes the services first, then exactly what lvsform added, and puts the sysctls back', async () => {
    // GIVEN a real server that already had one VIP on lo and arp_announce 2, prepared by an apply
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    rs1.settings.addresses.push({ address: '198.51.100.37', prefix: 32, device: 'lo' });
    rs1.rs.sysctls['net.ipv4.conf.all.arp_announce'] = '2';
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(DR + TUN);
    await applyStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    let servicesAtRsAfter = -1;
    const before = rs1.rs.records.size;
    expect(before).toBe(1);
    // WHEN destroyed
    const empty = { ...d, table: { services: [] }, paths: new Map<string, string>() };
    const origApply = rs1.applyRealServer.bind(rs1);
    rs1.applyRealServer = (c) => {
      if (servicesAtRsAfter < 0) servicesAtRsAfter = lb1.table.services.length;
      origApply(c);
    };
    const report = await applyStack([empty], { stack: 'web', openHost: fleet.openHost, destroy: true, realServers: [realServer(d)] });
    // THEN the director's services went first, and the real server is as it was
    expect(report.realServerOutcomes).toEqual([{ host: 'rs1', status: 'applied' }]);
    expect(servicesAtRsAfter).toBe(0);
    expect(rs1.settings.addresses).toEqual([{ address: '198.51.100.37', prefix: 32, device: 'lo' }]);
    expect(rs1.rs.up).toEqual([]);
    expect(rs1.rs.fou).toEqual([]);
    expect(rs1.rs.sysctls['net.ipv4.conf.all.arp_ignore']).toBe('0');
    expect(rs1.rs.sysctls['net.ipv4.conf.all.arp_announce']).toBe('2');
    expect(rs1.rs.records.size).toBe(0);
    // AND the boot files are gone
    expect([...rs1.files.keys()].filter((f) => f.includes('lvsform-web-real-server'))).toEqual([]);
  });

  it('checks the NAT route back and changes it only when asked', async () => {
    // GIVEN a NAT member whose default route goes elsewhere
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(NAT);
    // WHEN planned with the gateway named THEN a warning and no change
    const checked = await planStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d, { gateways: ['192.0.2.1'], manage: false })] });
    expect(checked.realServers![0]!.changes).toEqual([]);
    expect(renderPlan(checked)).toContain('warning: NAT route back (IPv4): default route via 192.0.2.254, not through the director (192.0.2.1)');
    // WHEN applied with manage THEN the route is replaced, and destroy puts the old one back
    const managed = realServer(d, { gateways: ['192.0.2.1'], manage: true });
    await applyStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [managed] });
    expect(rs1.rs.routes).toEqual([{ family: 'inet', gateway: '192.0.2.1', device: 'eth0' }]);
    await applyStack([{ ...d, table: { services: [] }, paths: new Map() }], { stack: 'web', openHost: fleet.openHost, destroy: true, realServers: [managed] });
    expect(rs1.rs.routes[0]?.gateway).toBe('192.0.2.254');
  });

  it('a route back the plan itself sets through the director is shown as set, not warned about', async () => {
    // GIVEN a NAT member whose default route goes elsewhere, and nat.manage
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(NAT);
    // WHEN planned THEN the change is there and its check says the plan sets it, in text, Markdown and JSON alike
    const plan = await planStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d, { gateways: ['192.0.2.1'], manage: true })] });
    expect(plan.realServers![0]!.changes.map((c) => c.kind)).toEqual(['route']);
    const line = 'NAT route back (IPv4): default route via 192.0.2.254; this plan sets it through the director (192.0.2.1)';
    expect(renderPlan(plan)).toContain(`check: ${line}`);
    expect(renderPlan(plan)).not.toContain('warning: NAT route back');
    expect(renderMarkdown(plan)).toContain(`- ${line}`);
    expect(planToJson(plan).real_servers?.[0]?.route_checks).toEqual([expect.objectContaining({ warn: false, text: line })]);
  });

  it('an address removed by hand is drift and comes back', async () => {
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(DR);
    await applyStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    rs1.settings.addresses = [];
    const plan = await planStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [realServer(d)] });
    expect(plan.realServers![0]!.drift).toEqual(['address 198.51.100.27/32 on lo (removed outside lvsform)']);
    expect(plan.realServers![0]!.changes.map((c) => c.kind)).toEqual(['address']);
  });

  it('doctor warns about what a bare real server lacks, and passes it once prepared', async () => {
    // GIVEN a bare real server behind DR and GUE services
    const lb1 = new FakeDirector();
    const rs1 = new FakeDirector();
    const fleet = fakeFleet({ lb1, rs1 });
    const d = director(DR + TUN);
    const rs = realServer(d);
    // WHEN examined THEN the VIPs, the ARP settings, the tunnel and the fou port are warnings, in one round trip
    const bare = await doctorRealServer(rs, 'web', { openHost: fleet.openHost });
    expect(bare.checks.filter((c) => c.status === 'warn').map((c) => c.name)).toEqual([
      'VIP 198.51.100.27',
      'VIP 198.51.100.37',
      'VIP 198.51.100.47',
      'arp_ignore',
      'arp_announce',
      'tunnel tunl0',
      'fou port 6080',
    ]);
    expect(fleet.opened.at(-1)!.roundTrips).toBe(1);
    // WHEN prepared by an apply THEN every check passes
    await applyStack([d], { stack: 'web', openHost: fleet.openHost, realServers: [rs] });
    const ready = await doctorRealServer(rs, 'web', { openHost: fleet.openHost });
    expect(ready.checks.filter((c) => c.status !== 'ok')).toEqual([]);
  });
});
