/**
 * A director's live state as read: the table, its fingerprint, the stack's ownership record and which services other
 * stacks' records claim. The fingerprint and the per-service hash are pure functions of the model, so the plan, the
 * record and the read-back compute them without a host.
 */
import { createHash } from 'node:crypto';
import { normalizeTable, type Service, type Table } from './model.ts';
import type { ForeignOwners, OwnershipRecord } from './record.ts';
import type { LiveSettings } from './director-settings.ts';

export interface LiveState {
  readonly table: Table;
  /** sha256 of the canonical table: equal fingerprints mean equal tables (counters excluded). */
  readonly fingerprint: string;
  readonly record: OwnershipRecord | undefined;
  /**
   * serviceId → the other stack that owns it here, from the other stacks' records read in the same round trip.
   * Absent when they were not read (a read without records).
   */
  readonly others?: ForeignOwners;
  readonly ipvsadmVersion: string;
  /** The director settings, when the read asked for them (host/settings-chunk.ts). */
  readonly settings?: LiveSettings;
}

/** JSON with object keys sorted, so that equal models give equal text whichever reader built them. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** sha256 of the canonical JSON of a table. */
export function tableFingerprint(table: Table): string {
  return createHash('sha256')
    .update(canonicalJson(normalizeTable(table)))
    .digest('hex');
}

/** A short hash of one service (configuration and destinations), stored in the ownership record to see drift. */
export function serviceHash(service: Service): string {
  return createHash('sha256').update(canonicalJson(service)).digest('hex').slice(0, 16);
}
