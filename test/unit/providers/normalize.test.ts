/**
 * normalizeTable: canonical order (services and real servers by identity, scheduler flags sorted without repeats), and
 * a table already in that order comes back as the very same object, so that a read normalized on every step of its
 * way to a plan is sorted once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { destinationId, normalizeTable, serviceId, type Service, type Table } from '../../../providers/ipvs/model/model.ts';

/** The definition: sort everything, whatever the input's order (what normalizeTable did before it kept sorted input). */
function reference(table: Table): Table {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    services: table.services
      .map((s) => ({
        ...s,
        config: { ...s.config, schedFlags: [...new Set(s.config.schedFlags)].sort() },
        destinations: [...s.destinations].sort((a, b) => cmp(destinationId(a), destinationId(b))),
      }))
      .sort((a, b) => cmp(serviceId(a.key), serviceId(b.key))),
  };
}

const service: fc.Arbitrary<Service> = fc.record({
  key: fc.oneof(
    fc.record({
      kind: fc.constant('addr' as const),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      address: fc.constantFrom('198.51.100.10', '198.51.100.9', '2001:db8::10'),
      port: fc.constantFrom(80, 443, 8080),
    }),
    fc.record({ kind: fc.constant('fwmark' as const), mark: fc.constantFrom(1, 10, 2), family: fc.constantFrom('inet' as const, 'inet6' as const) }),
  ),
  config: fc.record({
    scheduler: fc.constantFrom('rr', 'wlc'),
    schedFlags: fc.array(fc.constantFrom('flag-1' as const, 'flag-2' as const, 'flag-3' as const), { maxLength: 4 }),
    onePacket: fc.boolean(),
  }),
  destinations: fc.array(
    fc.record({
      address: fc.constantFrom('192.0.2.11', '192.0.2.2', '2001:db8::11'),
      port: fc.constantFrom(80, 8080, 9),
      forwarding: fc.constant({ method: 'masq' as const }),
      weight: fc.nat({ max: 3 }),
      upperThreshold: fc.constant(0),
      lowerThreshold: fc.constant(0),
    }),
    { maxLength: 4 },
  ),
});

describe('normalizeTable', () => {
  it('gives the canonical order of any table, and returns a table already in it as it is', () => {
    fc.assert(
      fc.property(fc.array(service, { maxLength: 6 }), (services) => {
        // GIVEN any table (duplicate identities and flags included), and a deep copy of it
        const table: Table = { services };
        const before = structuredClone(table);
        // WHEN it is normalized
        const once = normalizeTable(table);
        // THEN the result is the reference's, the input is unchanged, and normalizing again returns the same object
        expect(once).toEqual(reference(table));
        expect(table).toEqual(before);
        expect(normalizeTable(once)).toBe(once);
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });
});
