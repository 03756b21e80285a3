/** Ownership records to test with. */
import type { OwnershipRecord } from '../../../providers/ipvs/model/record.ts';

/**
 * A record of `n` services of `stack` on lb1: each pending (as before the batch that creates them) or verified, with
 * a hash in the record's form (16 hex digits). 5,000 services make ≈ 300 KB, over what travels as one printf word.
 */
export function recordOf(stack: string, n: number, pending: boolean): OwnershipRecord {
  return {
    format: 1,
    stack,
    director: 'lb1',
    updated: new Date(0).toISOString(),
    services: Object.fromEntries(
      Array.from({ length: n }, (_, i) => [
        `tcp 198.51.100.${10 + (i % 50)}:${1000 + Math.floor(i / 50)}`,
        pending ? { path: `${stack}/lb1/service-${i}`, pending: true } : { path: `${stack}/lb1/service-${i}`, h: i.toString(16).padStart(16, '0') },
      ]),
    ),
  };
}
