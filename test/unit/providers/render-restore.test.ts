import { describe, expect, it } from 'vitest';
import type { Destination, Service, ServiceKey } from '../../../providers/ipvs/model/model.ts';
import { tableEquals } from '../../../providers/ipvs/model/model.ts';
import { mergeThresholds } from '../../../providers/ipvs/read/parse-list.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import {
  renderAddDestination,
  renderAddService,
  renderDeleteDestination,
  renderDeleteService,
  renderEditDestination,
  renderEditService,
  renderTable,
} from '../../../providers/ipvs/model/render-restore.ts';
import { fixture } from './fixtures.ts';

const tcp80: ServiceKey = { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 };
const plain: Service['config'] = { scheduler: 'wlc', schedFlags: [], onePacket: false };
const masq: Destination = { address: '192.0.2.11', port: 8080, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 };

describe('restore lines', () => {
  const cases: { name: string; line: string; expected: string }[] = [
    { name: 'add service', line: renderAddService({ key: tcp80, config: plain }), expected: '-A -t 198.51.100.10:80 -s wlc' },
    {
      name: 'edit service with every option',
      line: renderEditService({
        key: { kind: 'addr', protocol: 'udp', address: '198.51.100.13', port: 5060 },
        config: {
          scheduler: 'sh',
          schedFlags: ['flag-1', 'flag-2'],
          persistence: { timeout: 60, netmask: '255.255.255.0' },
          persistenceEngine: 'sip',
          onePacket: true,
        },
      }),
      expected: '-E -u 198.51.100.13:5060 -s sh -p 60 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port',
    },
    {
      name: 'mh flag names',
      line: renderAddService({ key: tcp80, config: { ...plain, scheduler: 'mh', schedFlags: ['flag-2'] } }),
      expected: '-A -t 198.51.100.10:80 -s mh -b mh-port',
    },
    {
      name: 'raw flag names on other schedulers',
      line: renderAddService({ key: tcp80, config: { ...plain, scheduler: 'rr', schedFlags: ['flag-1', 'flag-3'] } }),
      expected: '-A -t 198.51.100.10:80 -s rr -b flag-1,flag-3',
    },
    {
      name: 'default IPv6 netmask omitted',
      line: renderAddService({
        key: { kind: 'addr', protocol: 'tcp', address: '2001:db8::10', port: 443 },
        config: { ...plain, persistence: { timeout: 360, netmask: '128' } },
      }),
      expected: '-A -t [2001:db8::10]:443 -s wlc -p 360',
    },
    {
      name: 'a large firewall mark unsigned, IPv6',
      line: renderAddService({ key: { kind: 'fwmark', mark: 4294967295, family: 'inet6' }, config: plain }),
      expected: '-A -f 4294967295 -6 -s wlc',
    },
    {
      name: 'sctp',
      line: renderDeleteService({ kind: 'addr', protocol: 'sctp', address: '198.51.100.15', port: 3868 }),
      expected: '-D --sctp-service 198.51.100.15:3868',
    },
    { name: 'add masq real server', line: renderAddDestination(tcp80, masq), expected: '-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1' },
    {
      name: 'edit with thresholds',
      line: renderEditDestination(tcp80, { ...masq, weight: 0, upperThreshold: 100, lowerThreshold: 50 }),
      expected: '-e -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 0 -x 100 -y 50',
    },
    {
      name: 'gue tunnel',
      line: renderAddDestination(tcp80, { ...masq, port: 80, forwarding: { method: 'tunnel', type: 'gue', port: 6080, checksum: 'remcsum' } }),
      expected: '-a -t 198.51.100.10:80 -r 192.0.2.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum',
    },
    {
      name: 'gre tunnel, default checksum',
      line: renderAddDestination(tcp80, { ...masq, port: 80, forwarding: { method: 'tunnel', type: 'gre' } }),
      expected: '-a -t 198.51.100.10:80 -r 192.0.2.11:80 -i -w 1 --tun-type gre --tun-nocsum',
    },
    {
      name: 'ipip tunnel',
      line: renderAddDestination(tcp80, { ...masq, port: 80, forwarding: { method: 'tunnel', type: 'ipip' } }),
      expected: '-a -t 198.51.100.10:80 -r 192.0.2.11:80 -i -w 1 --tun-type ipip',
    },
    {
      name: 'delete IPv6 real server of a firewall mark',
      line: renderDeleteDestination({ kind: 'fwmark', mark: 2, family: 'inet6' }, { address: '2001:db8::31', port: 0 }),
      expected: '-d -f 2 -6 -r [2001:db8::31]:0',
    },
  ];
  for (const c of cases) {
    it(`renders ${c.name}`, () => {
      expect(c.line).toBe(c.expected);
    });
  }
});

describe('renderTable', () => {
  it('renders the captured table in the order and spelling of ipvsadm -S -n (set equality)', () => {
    // GIVEN the live table as the kernel saved it
    const save = fixture('full.save.txt');
    // WHEN parsed and rendered
    const rendered = renderTable(parseSave(save));
    // THEN the same lines, except the firewall mark ipvsadm prints signed
    const norm = (t: string) =>
      t
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace('-f -1 ', '-f 4294967295 '))
        .sort();
    expect(norm(rendered)).toEqual(norm(save));
  });

  it('is an identity through the kernel: the rendered table restored and saved again parses equal (round trip on UML 6.1)', () => {
    // GIVEN the table before and after `ipvsadm -C; ipvsadm -R < renderTable(...)` on the kernel
    const before = mergeThresholds(parseSave(fixture('full.save.txt')), fixture('full.thresholds.txt'));
    const after = mergeThresholds(parseSave(fixture('roundtrip.save.txt')), fixture('roundtrip.thresholds.txt'));
    // THEN the kernel accepted every line, and both tables are equal
    expect(fixture('roundtrip.restore.txt')).toBe('');
    expect(renderTable(before)).toBe(fixture('roundtrip.input.txt'));
    expect(tableEquals(before, after)).toBe(true);
  });

  it('renders an empty table as empty text', () => {
    expect(renderTable({ services: [] })).toBe('');
  });
});
