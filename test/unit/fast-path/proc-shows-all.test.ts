import { describe, expect, it } from 'vitest';
import { procShowsAll } from '../../../providers/ipvs/apply/fast-path.ts';
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
  ])('refuses %s, so the read-back lists the whole table', (_name, service) => {
    expect(procShowsAll([plain, service])).toBe(false);
  });
});
