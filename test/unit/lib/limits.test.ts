/** The limits and rules written on each side of the JSON contract are the same. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as lib from '../../../lib/private/limits.ts';
import * as provider from '../../../providers/ipvs/model/limits.ts';
import { RUNTIME_FIELDS } from '../../../providers/ipvs/model/runtime-managed.ts';

describe('limits on each side of the synthesized JSON', () => {
  it('names stacks and directors by the same rule', () => {
    // GIVEN the two copies WHEN compared THEN the patterns are equal
    expect(lib.SAFE_NAME.source).toBe(provider.SAFE_NAME.source);
  });

  it('bounds integers, persistence and flags alike', () => {
    // GIVEN the two copies WHEN compared THEN every bound and flag bit is equal
    expect(lib.INT_MAX).toBe(provider.INT_MAX);
    expect(lib.MAX_PERSISTENCE_TIMEOUT).toBe(provider.MAX_PERSISTENCE_TIMEOUT);
    expect(lib.FLAG_BITS).toEqual(provider.FLAG_BITS);
  });

  it('knows the same schedulers', () => {
    // GIVEN the two copies WHEN compared THEN the scheduler names are equal
    expect(lib.SCHEDULERS).toEqual(provider.SCHEDULERS);
  });

  it('names the run-time managed fields alike', () => {
    // GIVEN the two copies WHEN compared THEN the field names are equal
    expect(lib.RUNTIME_MANAGED_FIELDS).toEqual(RUNTIME_FIELDS);
  });

  it('applies one rule set: the two copies of rules.ts are byte-equal', () => {
    // GIVEN the rules file of the construct library and of the provider
    const read = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8');
    // WHEN compared byte for byte THEN they are the same file (edit one, copy it over the other)
    expect(read('../../../lib/private/rules.ts')).toBe(read('../../../providers/ipvs/model/rules.ts'));
  });

  it('suggests names alike: the two copies of closest.ts are byte-equal', () => {
    // GIVEN the "did you mean" of the construct library and of the provider
    const read = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8');
    // WHEN compared byte for byte THEN they are the same file (edit one, copy it over the other)
    expect(read('../../../lib/private/closest.ts')).toBe(read('../../../providers/ipvs/model/closest.ts'));
  });
});
