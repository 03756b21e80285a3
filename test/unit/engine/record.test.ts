import { describe, expect, it } from 'vitest';
import { parseRecord, serializeRecord } from '../../../providers/ipvs/model/record.ts';

const good = {
  format: 1,
  stack: 'web',
  director: 'lb1',
  updated: '2026-01-01T00:00:00.000Z',
  services: { 'tcp 198.51.100.10:80': { path: 'web/lb1/http', h: '0011' } },
};

describe('parseRecord', () => {
  it('reads a record it wrote', () => {
    // GIVEN a serialized record WHEN parsed THEN the services come back
    const r = parseRecord(serializeRecord(good), 'web', 'lb1');
    expect(Object.keys(r!.services)).toEqual(['tcp 198.51.100.10:80']);
  });

  it('treats a missing record as owning nothing', () => {
    expect(parseRecord(undefined, 'web', 'lb1')).toBeUndefined();
  });

  it.each([
    ['corrupt JSON', '{"format":1,', 'LVS_RECORD_CORRUPT'],
    ['a newer format', JSON.stringify({ ...good, format: 9 }), 'LVS_RECORD_NEWER'],
    ['another stack', JSON.stringify({ ...good, stack: 'other' }), 'LVS_RECORD_CORRUPT'],
    ['services of the wrong shape', JSON.stringify({ ...good, services: [1, 2] }), 'LVS_RECORD_CORRUPT'],
  ])('refuses %s and says how to recover', (_name, text, code) => {
    // GIVEN a bad record WHEN parsed THEN a stable code and a hint naming --adopt or an upgrade
    expect(() => parseRecord(text, 'web', 'lb1')).toThrow(expect.objectContaining({ code }));
  });
});
