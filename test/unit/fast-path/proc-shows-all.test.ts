import { describe, expect, it } from 'vitest';
import { expectedProc, procAgrees, procShowsAll } from '../../../providers/ipvs/apply/fast-path.ts';
import { parseProcIpvs, procServiceText } from '../../../providers/ipvs/read/parse-proc.ts';
import type { Destination, Service } from '../../../providers/ipvs/model/model.ts';

const real: Destination = { address: '192.0.2.11', port: 80, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 };
const plain: Service = {
  key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
  config: { scheduler: 'rr', schedFlags: [], onePacket: false },
  destinations: [real],
};

describe('procShowsAll', () => {
  it('accepts address services whose every attribute /proc/net/ip_vs shows', () => {
    expect(procShowsAll([plain, { ...plain, destinations: [{ ...real, forwarding: { method: 'droute' }, weight: 0 }] }])).toBe(true);
  });

  it.each<[string, Service]>([
    ['a firewall mark (its family is not in /proc)', { ...plain, key: { kind: 'fwmark', mark: 1, family: 'inet' } }],
    ['scheduler flags', { ...plain, config: { ...plain.config, scheduler: 'sh', schedFlags: ['flag-1'] } }],
    ['persistence (its timeout is in kernel ticks)', { ...plain, config: { ...plain.config, persistence: { timeout: 300, netmask: '255.255.255.255' } } }],
    ['a persistence engine', { ...plain, config: { ...plain.config, persistenceEngine: 'sip' } }],
    ['a tunnel real server', { ...plain, destinations: [{ ...real, forwarding: { method: 'tunnel', type: 'gue', port: 6080 } }] }],
    ['a threshold', { ...plain, destinations: [{ ...real, upperThreshold: 100 }] }],
    [
      'one-packet scheduling on an IPv6 address (the kernel prints no "ops" there)',
      {
        key: { kind: 'addr', protocol: 'udp', address: '2001:db8::10', port: 53 },
        config: { scheduler: 'rr', schedFlags: [], onePacket: true },
        destinations: [{ ...real, address: '2001:db8::11', port: 53 }],
      },
    ],
  ])('refuses %s, so the read-back lists the whole table', (_name, service) => {
    expect(procShowsAll([plain, service])).toBe(false);
  });
});

describe('/proc/net/ip_vs and one-packet scheduling', () => {
  // As the lab's kernel (6.1.0-57-amd64) printed them: "ops" after an IPv4 service's scheduler, nothing for an IPv6 one.
  const proc = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
    'UDP  C633640A:0035 rr ops ',
    '  -> C000020B:0035      Masq    1      0          0         ',
    'UDP  [2001:0db8:0000:0000:0000:0000:0000:0010]:0035 rr ',
    '  -> [2001:0db8:0000:0000:0000:0000:0000:0011]:0035      Masq    1      0          0         ',
    '',
  ].join('\n');
  const v4: Service = {
    key: { kind: 'addr', protocol: 'udp', address: '198.51.100.10', port: 53 },
    config: { scheduler: 'rr', schedFlags: [], onePacket: true },
    destinations: [{ ...real, port: 53 }],
  };
  const v6: Service = {
    key: { kind: 'addr', protocol: 'udp', address: '2001:db8::10', port: 53 },
    config: { scheduler: 'rr', schedFlags: [], onePacket: true },
    destinations: [{ ...real, address: '2001:db8::11', port: 53 }],
  };

  it('expects /proc to show the flag of an IPv4 service and not of an IPv6 one, as the kernel prints them', () => {
    // GIVEN the kernel's /proc text for two one-packet services
    const digest = parseProcIpvs(proc);
    const text = (id: string) => procServiceText(digest.services.find((s) => s.id === id)!);
    // THEN what lvsform expects of each is exactly what the kernel shows
    expect(expectedProc(v4).text).toBe(text('udp 198.51.100.10:53'));
    expect(expectedProc(v6).text).toBe(text('udp [2001:db8::10]:53'));
    // AND the table /proc agrees with is the one holding both flags (the full read shows the IPv6 one)
    expect(procAgrees(digest, { services: [v4, v6] })).toBe(true);
    // AND an IPv4 service without the flag does not agree with a /proc that shows it
    expect(procAgrees(digest, { services: [{ ...v4, config: { ...v4.config, onePacket: false } }] })).toBe(false);
  });
});
