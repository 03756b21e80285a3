/** Ownership records read from a director: every kind of bad record is refused with its file, director and recovery. */
import { describe, expect, it } from 'vitest';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';

const good = { format: 1, stack: 'web', director: 'lb1', updated: '2025-01-01T00:00:00.000Z', services: { 'tcp 198.51.100.10:80': { path: 'web/lb1/http' } } };

describe('parseRecord refuses bad ownership records', () => {
  const cases: { name: string; text: string; code: string; message: RegExp; hint: RegExp }[] = [
    {
      name: 'corrupt JSON',
      text: '{"format": 1, "sta',
      code: 'LVS_RECORD_CORRUPT',
      message: /\/var\/lib\/lvsform\/web\.json on lb1 \(lab\) is not valid JSON/,
      hint: /--adopt/,
    },
    {
      name: "another stack's record",
      text: JSON.stringify({ ...good, stack: 'api' }),
      code: 'LVS_RECORD_CORRUPT',
      message: /belongs to stack "api", not "web"/,
      hint: /--adopt/,
    },
    {
      name: 'a newer format',
      text: JSON.stringify({ ...good, format: 2 }),
      code: 'LVS_RECORD_NEWER',
      message: /has format 2; this lvsform reads format 1/,
      hint: /Upgrade lvsform/,
    },
    {
      name: 'an older, unknown format',
      text: JSON.stringify({ ...good, format: 0 }),
      code: 'LVS_RECORD_CORRUPT',
      message: /unknown format 0/,
      hint: /--adopt/,
    },
    {
      name: 'services of the wrong shape',
      text: JSON.stringify({ ...good, services: { x: 'web/lb1/http' } }),
      code: 'LVS_RECORD_CORRUPT',
      message: /malformed at services\.x/,
      hint: /--adopt/,
    },
    { name: 'a JSON array', text: '[]', code: 'LVS_RECORD_CORRUPT', message: /malformed at \(top\)/, hint: /--adopt/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with ${c.code}`, () => {
      // GIVEN a bad record WHEN it is parsed THEN one LvsError with the code, the file and director, and what to do
      let error: unknown;
      try {
        parseRecord(c.text, 'web', 'lb1 (lab)');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LvsError);
      expect((error as LvsError).code).toBe(c.code);
      expect((error as LvsError).message).toMatch(c.message);
      expect((error as LvsError).hint).toMatch(c.hint);
    });
  }
});
