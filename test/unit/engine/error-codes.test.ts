/** The error codes: one union in the source, the same catalogue in docs/errors.md, and no code used that it lacks. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LvsError, causeChain } from '../../../providers/ipvs/model/errors.ts';
import { renderCatalogue } from './error-catalogue.ts';

const root = path.resolve(import.meta.dirname, '../../..');

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(root, dir, f));
}

describe('error codes', () => {
  it('docs/errors.md is the catalogue of the codes', () => {
    // GIVEN the codes in the source WHEN rendered THEN docs/errors.md holds exactly that
    expect(fs.readFileSync(path.join(root, 'docs/errors.md'), 'utf8')).toBe(renderCatalogue());
  });

  it('every code the sources raise is catalogued', () => {
    // GIVEN every quoted LVS_ code in lib/, providers/, cli/ and lab/ WHEN looked up THEN each is in the catalogue
    const used = new Set<string>();
    for (const f of ['lib', 'providers', 'cli', 'lab'].flatMap(sourceFiles)) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/'(LVS_[A-Z_]+)'/g)) used.add(m[1]!);
    }
    expect([...used].filter((c) => !Object.hasOwn(ERROR_CODES, c))).toEqual([]);
  });

  it('lists the causes behind an error, outermost first', () => {
    // GIVEN an LvsError caused by another, caused by a system error
    const e = new LvsError('LVS_SYNTH_FAILED', 'outer', { cause: new LvsError('LVS_PARSE_SAVE', 'middle', { cause: new TypeError('inner') }) });
    // WHEN its chain is asked for THEN both causes are named in order
    expect(causeChain(e)).toEqual(['[LVS_PARSE_SAVE] middle', 'TypeError: inner']);
  });
});
