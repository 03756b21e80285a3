import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonReference, serviceHash, tableFingerprint } from '../../../providers/ipvs/model/live-state.ts';
import { normalizeTable, type Service } from '../../../providers/ipvs/model/model.ts';

// The records on directors hold hashes of this text: the quick writer must give exactly the reference's bytes.
describe('canonicalJson', () => {
  const values: unknown[] = [
    null,
    0,
    -0,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    'a"b\\c\n\u2028',
    true,
    false,
    [],
    {},
    [1, undefined, null, () => 1, 'x'],
    { b: 1, a: undefined, c: [{ z: 1, y: { x: 2, w: undefined } }] },
    { 10: 'ten', 9: 'nine', a: 1, '01': 'zero-one', '-1': 'minus', 4294967295: 'big', 4294967294: 'max' },
    { when: new Date(0), nested: { toJSON: () => ({ b: 2, a: 1 }) } },
    { é: 1, e: 2, E: 3, '': 4, ' ': 5 },
  ];
  for (const v of values) {
    it(`writes ${JSON.stringify(v) ?? String(v)} as the reference does`, () => {
      expect(canonicalJson(v)).toBe(canonicalJsonReference(v));
    });
  }

  it('writes any JSON value as the reference does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => canonicalJson(v) === canonicalJsonReference(v) && canonicalJson([v, v]) === canonicalJsonReference([v, v])),
      { numRuns: 500 },
    );
  });

  it('gives the hashes and fingerprint of the reference for a table of every kind of service', () => {
    const services: Service[] = [
      {
        key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
        config: {
          scheduler: 'sh',
          schedFlags: ['flag-1', 'flag-2'],
          onePacket: false,
          persistence: { timeout: 300, netmask: '255.255.255.0' },
          persistenceEngine: 'sip',
        },
        destinations: [
          {
            address: '192.0.2.11',
            port: 80,
            forwarding: { method: 'tunnel', type: 'gue', port: 6080, checksum: 'csum' },
            weight: 3,
            upperThreshold: 10,
            lowerThreshold: 2,
          },
          { address: '192.0.2.12', port: 80, forwarding: { method: 'droute' }, weight: 0, upperThreshold: 0, lowerThreshold: 0 },
        ],
      },
      {
        key: { kind: 'fwmark', mark: 7, family: 'inet6' },
        config: { scheduler: 'wrr', schedFlags: [], onePacket: true },
        destinations: [{ address: '2001:db8::11', port: 0, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
      },
    ];
    const table = normalizeTable({ services });
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    for (const s of table.services) {
      expect(canonicalJson(s)).toBe(canonicalJsonReference(s));
      // The hash of the reference text, the same when asked again (it is kept by the service's identity)
      expect(serviceHash(s)).toBe(sha(canonicalJsonReference(s)).slice(0, 16));
      expect(serviceHash(s)).toBe(serviceHash(structuredClone(s)));
    }
    // The fingerprint is the hash of the whole table's reference text, whatever order the table comes in
    expect(tableFingerprint(table)).toBe(sha(canonicalJsonReference(table)));
    expect(tableFingerprint({ services: [...services].reverse() })).toBe(sha(canonicalJsonReference(table)));
    expect(tableFingerprint({ services: [] })).toBe(sha(canonicalJsonReference({ services: [] })));
  });

  it('gives each service the hash of its own reference text, however many objects share a value or an order of keys', () => {
    // GIVEN services as JSON values (any keys, any order), each met as several objects: copies, and copies whose every
    // object lists its keys reversed (equal values, other JSON.stringify texts)
    const reversed = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reversed)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reversed(x)]),
            )
          : v;
    const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.constantFrom('key', 'config', 'destinations', 'b', 'a'), fc.jsonValue()), { maxLength: 6 }), (values) => {
        const objects = values.flatMap((v) => [v, structuredClone(v), reversed(v)]) as unknown as Service[];
        // THEN every object's hash is that of its own value's reference text, in any order of asking
        for (const s of [...objects].reverse()) expect(serviceHash(s)).toBe(sha(canonicalJsonReference(s)));
      }),
      { numRuns: 300 },
    );
  });
});
