/**
 * The capability read: `ipvsadm -h` of real releases (test/fixtures/ipvsadm-help), the kernel release and module
 * states, and which desired features a director lacks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingCapabilities, needsIpvsadmHelp, parseIpvsadmHelp, type Capabilities } from '../../../providers/ipvs/host/capabilities.ts';
import { capabilityChunk, parseCapabilities } from '../../../providers/ipvs/host/requests/capabilities.ts';
import { normalizeTable, serviceId, type Destination, type Service } from '../../../providers/ipvs/model/model.ts';

const help = (release: string): string => fs.readFileSync(path.join(import.meta.dirname, '../../fixtures/ipvsadm-help', `${release}.txt`), 'utf8');

function service(port: number, over: Partial<Service['config']> = {}, dests: Destination[] = []): Service {
  return {
    key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port },
    config: { scheduler: 'rr', schedFlags: [], onePacket: false, ...over },
    destinations: dests,
  };
}

const gue: Destination = {
  address: '192.0.2.11',
  port: 80,
  forwarding: { method: 'tunnel', type: 'gue', port: 6080, checksum: 'nocsum' },
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
};

function caps(release: string, kernel = '6.1.0-57-amd64', modules: Record<string, string> = {}): Capabilities {
  return { kernel, ipvsadm: parseIpvsadmHelp(help(release)), modules: new Map(Object.entries(modules)) as Capabilities['modules'] };
}

function missing(services: Service[], c: Capabilities) {
  const table = normalizeTable({ services });
  const paths = new Map(table.services.map((s) => [serviceId(s.key), `web/lb1/svc${s.key.kind === 'addr' ? s.key.port : 0}`]));
  return missingCapabilities(table, paths, c);
}

describe('parseIpvsadmHelp on real help texts', () => {
  it('reads 1.31 (Debian 12): every scheduler, flags, the three tunnel types, checksums, SCTP', () => {
    // GIVEN the help ipvsadm 1.31 prints WHEN it is parsed THEN everything 1.31 added is seen
    expect(parseIpvsadmHelp(help('1.31'))).toEqual({
      version: '1.31',
      schedulers: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'],
      schedFlags: true,
      tunnelTypes: ['ipip', 'gue', 'gre'],
      tunnelChecksum: true,
      sctp: true,
      persistenceEngines: ['sip'],
    });
  });

  it('reads 1.27 (CentOS 7): scheduler flags but no fo/ovf/mh in its list, no tunnel types, no SCTP', () => {
    // GIVEN the help of 1.27 WHEN it is parsed THEN it has -b and nothing newer
    expect(parseIpvsadmHelp(help('1.27'))).toEqual({
      version: '1.27',
      schedulers: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq'],
      schedFlags: true,
      tunnelTypes: [],
      tunnelChecksum: false,
      sctp: false,
      persistenceEngines: ['sip'],
    });
  });

  it('reads 1.26 (the classic hand build): no scheduler flags, no tunnel types', () => {
    // GIVEN the help of 1.26 WHEN it is parsed THEN neither -b nor --tun-type is there
    const h = parseIpvsadmHelp(help('1.26'));
    expect([h.version, h.schedFlags, h.tunnelTypes, h.tunnelChecksum, h.schedulers.includes('mh')]).toEqual(['1.26', false, [], false, false]);
  });
});

describe('missingCapabilities', () => {
  it('finds nothing missing for mh with flags and GUE on 1.31 and kernel 6.1', () => {
    // GIVEN a table using mh with flags and a GUE real server, on a director that has it all
    const services = [service(80, { scheduler: 'mh', schedFlags: ['flag-1'] }, [gue])];
    // WHEN it is checked THEN nothing is missing
    expect(missing(services, caps('1.31', '6.1.0-57-amd64', { ip_vs_mh: 'loaded' }))).toEqual([]);
  });

  it('names scheduler flags, the construct path and the ipvsadm release on 1.26', () => {
    // GIVEN sh with sh-fallback on ipvsadm 1.26 WHEN it is checked THEN the flags are named as missing, with the path
    expect(missing([service(80, { scheduler: 'sh', schedFlags: ['flag-1'] })], caps('1.26'))).toEqual([
      { feature: 'scheduler flags (flag-1)', path: 'web/lb1/svc80', missing: 'ipvsadm 1.26 has no -b/--sched-flags (added in ipvsadm 1.27)' },
    ]);
  });

  it('names a GUE tunnel on 1.27, whose ipvsadm has no tunnel types', () => {
    // GIVEN a GUE real server on ipvsadm 1.27 WHEN it is checked THEN the missing --tun-type is named
    const found = missing([service(80, {}, [gue])], caps('1.27'));
    expect(found.map((m) => [m.feature, m.missing])).toEqual([['GUE tunnel', 'ipvsadm 1.27 has no --tun-type gue (tunnel types came with ipvsadm 1.31)']]);
  });

  it('names a GUE tunnel on a kernel older than 5.2', () => {
    // GIVEN a GUE real server, ipvsadm 1.31, kernel 4.19 WHEN it is checked THEN the kernel release is what is missing
    const found = missing([service(80, {}, [gue])], caps('1.31', '4.19.0-27-amd64'));
    expect(found.map((m) => m.missing)).toEqual(['kernel 4.19.0-27-amd64: IPVS learned gue tunnels in Linux 5.2']);
  });

  it('names a GRE tunnel on 5.2, which had GUE only', () => {
    // GIVEN a GRE real server on kernel 5.2 WHEN it is checked THEN GRE's 5.3 is named
    const gre: Destination = { ...gue, forwarding: { method: 'tunnel', type: 'gre', checksum: 'nocsum' } };
    expect(missing([service(80, {}, [gre])], caps('1.31', '5.2.21')).map((m) => m.missing)).toEqual(['kernel 5.2.21: IPVS learned gre tunnels in Linux 5.3']);
  });

  it.each([
    ['missing', 'is not in this kernel'],
    ['unreadable', 'is listed in modules.dep but its file is missing or empty'],
    ['disabled', 'is disabled by an install rule in /etc/modprobe.d'],
  ])('names a scheduler whose module is %s', (state, why) => {
    // GIVEN mh on a kernel whose ip_vs_mh is in that state WHEN it is checked THEN the module and why are named
    expect(missing([service(80, { scheduler: 'mh' })], caps('1.31', '6.1.0-57-amd64', { ip_vs_mh: state }))).toEqual([
      { feature: 'scheduler mh', path: 'web/lb1/svc80', missing: `module ip_vs_mh ${why} (kernel 6.1.0-57-amd64)` },
    ]);
  });

  it("does not hold ipvsadm 1.26's scheduler list against mh when the kernel has ip_vs_mh", () => {
    // GIVEN mh on ipvsadm 1.26 (which passes -s through) with the module available WHEN it is checked THEN nothing is missing
    expect(missing([service(80, { scheduler: 'mh' })], caps('1.26', '6.1.0-57-amd64', { ip_vs_mh: 'available' }))).toEqual([]);
  });
});

describe('capabilityChunk and parseCapabilities', () => {
  it('probes only module names of the fixed pattern', () => {
    // GIVEN a module name that is not one WHEN the chunk is built THEN it never reaches the script
    const chunk = capabilityChunk('t', ['ip_vs_mh', "ip_vs_x'; rm -rf /"]);
    expect(chunk).toContain("modprobe -n -v 'ip_vs_mh'");
    expect(chunk).not.toContain('rm -rf');
  });

  it('reads the sections the chunk prints', () => {
    // GIVEN what the chunk prints on a director WHEN it is parsed THEN kernel, help and modules come out
    const out = [
      '@@lvsform-section t kernel',
      '6.1.0-57-amd64',
      '@@lvsform-section t help',
      help('1.31'),
      '@@lvsform-section t modules',
      'module_ip_vs_ovf=unreadable',
      'module_ip_vs_rr=loaded',
      '@@lvsform-section t end',
    ].join('\n');
    const c = parseCapabilities('t', out, 'lb1');
    expect([c.kernel, c.ipvsadm?.version, [...c.modules]]).toEqual([
      '6.1.0-57-amd64',
      '1.31',
      [
        ['ip_vs_ovf', 'unreadable'],
        ['ip_vs_rr', 'loaded'],
      ],
    ]);
  });

  it('skips ipvsadm -h when nothing the table asks for needs it', () => {
    // GIVEN a plain rr service and one with scheduler flags
    const plain = normalizeTable({ services: [service(80)] });
    const flags = normalizeTable({ services: [service(80, { scheduler: 'sh', schedFlags: ['flag-1'] })] });
    // WHEN the need is decided and the chunk built
    // THEN only the table with flags reads the help, and a skipped help reads as no ipvsadm facts
    expect([needsIpvsadmHelp(plain), needsIpvsadmHelp(flags), needsIpvsadmHelp(normalizeTable({ services: [service(80, {}, [gue])] }))]).toEqual([
      false,
      true,
      true,
    ]);
    expect(capabilityChunk('t', [], false)).not.toContain('ipvsadm -h');
    const out = [
      '@@lvsform-section t kernel',
      '6.1.0-57-amd64',
      '@@lvsform-section t help',
      '@@skipped',
      '@@lvsform-section t modules',
      '@@lvsform-section t end',
    ].join('\n');
    expect(parseCapabilities('t', out, 'lb1').ipvsadm).toBeUndefined();
  });

  it('refuses a read that ended early', () => {
    // GIVEN output without the end marker WHEN it is parsed THEN it is a host-output error
    expect(() => parseCapabilities('t', '@@lvsform-section t kernel\n6.1', 'lb1')).toThrow(expect.objectContaining({ code: 'LVS_HOST_OUTPUT' }));
  });
});
