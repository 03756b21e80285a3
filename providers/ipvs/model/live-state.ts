/**
 * A director's live state as read (`read-table`, or the fast path's trusted table): the table, its fingerprint, the
 * stack's ownership record and which services other stacks' records claim. The fingerprint and the per-service hash
 * are pure functions of the model, so the plan, the record and the read-back compute them without a host.
 */
import { createHash, hash } from 'node:crypto';
import { normalizeTable, type Service, type Table } from './model.ts';
import type { LiveSettings } from './director-settings.ts';
import type { ForeignOwners, ForeignSettings, OwnershipRecord } from './record.ts';

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
  /** The sysctls and timeouts other stacks' records hold here (read with `others`). */
  readonly otherSettings?: ForeignSettings;
  readonly ipvsadmVersion: string;
  /** The director settings, when the round trip asked for them (`settings-read`). */
  readonly settings?: LiveSettings;
}

/**
 * JSON with object keys sorted, so that equal models give equal text whichever reader built them. Its text is what
 * the records' service hashes were computed from: it stays exactly `JSON.stringify` of the value with every object's
 * entries rebuilt in sorted order (`canonicalJsonReference`), written here without the rebuilt objects, which at
 * 10,000 services cost more than the rest of the record.
 */
export function canonicalJson(value: unknown): string {
  return canonicalPart(value) ?? 'undefined';
}

/** A key an object keeps in ascending numeric order before every other key (an array index, as ECMAScript has it). */
const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;

function canonicalPart(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
    case 'number':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      // undefined, functions and symbols are left out of objects (and are null in arrays), as JSON.stringify does.
      return typeof v === 'bigint' ? JSON.stringify(v) : undefined;
  }
  if (v === null) return 'null';
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return canonicalJsonReference(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += `${i > 0 ? ',' : ''}${canonicalPart(v[i]) ?? 'null'}`;
    return `${out}]`;
  }
  const keys = sortedKeys(Object.keys(v));
  let out = '{';
  let first = true;
  for (const k of keys) {
    const part = canonicalPart((v as Record<string, unknown>)[k]);
    if (part === undefined) continue;
    out += `${first ? '' : ','}${quotedKey(k)}:${part}`;
    first = false;
  }
  return `${out}}`;
}

/** The models have a handful of object shapes: their key orders and quoted keys are worked out once each. */
const SORTED_KEYS = new Map<string, readonly string[]>();
const QUOTED_KEYS = new Map<string, string>();
const CACHE_MAX = 1_000;

function sortedKeys(own: string[]): readonly string[] {
  // The count and the keys name a shape without ambiguity when no key holds a NUL (a model's never does).
  const shape = own.some((k) => k.includes('\0')) ? undefined : `${own.length}\0${own.join('\0')}`;
  const known = shape === undefined ? undefined : SORTED_KEYS.get(shape);
  if (known) return known;
  const keys = own.sort();
  // An object rebuilt from sorted entries lists its index-like keys first, in numeric order.
  const isIndex = (k: string) => INDEX_KEY.test(k) && Number(k) < 4294967295;
  const ordered = keys.some(isIndex) ? [...keys.filter(isIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isIndex(k))] : keys;
  if (shape !== undefined && SORTED_KEYS.size < CACHE_MAX) SORTED_KEYS.set(shape, ordered);
  return ordered;
}

function quotedKey(k: string): string {
  let q = QUOTED_KEYS.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (QUOTED_KEYS.size < CACHE_MAX) QUOTED_KEYS.set(k, q);
  }
  return q;
}

/** The definition `canonicalJson` keeps to (and the way for values with a `toJSON`). */
export function canonicalJsonReference(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The canonical JSON and the record hash of each service met, by identity. Models are never changed in place, so a
 * service's text is worked out once however often it is hashed: a read's services while the director still prints
 * (`warmServiceHashes`), then by the fingerprint, the plan's drift check and the record.
 */
const SERVICE_JSON = new WeakMap<Service, string>();
const SERVICE_HASH = new WeakMap<Service, string>();

/**
 * The canonical texts of services met before as other objects, by their `JSON.stringify` text (which the engine
 * writes natively, several times faster than the canonical writer): equal texts are equal values, whose canonical
 * texts are equal. The directors of a pair, or of a fleet, declare the same services, each an object of its own:
 * every service is written out canonically once. Bounded; emptied when full.
 */
const JSON_BY_PLAIN = new Map<string, string>();
/** And their hashes, by canonical text. */
const HASH_BY_JSON = new Map<string, string>();
const PLAIN_MAX = 20_000;

function serviceJson(service: Service): string {
  let json = SERVICE_JSON.get(service);
  if (json === undefined) {
    const plain = JSON.stringify(service);
    json = JSON_BY_PLAIN.get(plain);
    if (json === undefined) {
      json = canonicalJson(service);
      if (JSON_BY_PLAIN.size >= PLAIN_MAX) {
        JSON_BY_PLAIN.clear();
        HASH_BY_JSON.clear();
      }
      JSON_BY_PLAIN.set(plain, json);
    }
    SERVICE_JSON.set(service, json);
  }
  return json;
}

/** sha256 of the canonical JSON of a table (`canonicalJson(normalizeTable(table))`, built from each service's text). */
export function tableFingerprint(table: Table): string {
  const h = createHash('sha256').update('{"services":[');
  let first = true;
  for (const s of normalizeTable(table).services) {
    h.update(first ? serviceJson(s) : `,${serviceJson(s)}`);
    first = false;
  }
  return h.update(']}').digest('hex');
}

/** A short hash of one service (configuration and destinations), stored in the ownership record to see drift. */
export function serviceHash(service: Service): string {
  let h = SERVICE_HASH.get(service);
  if (h === undefined) {
    const json = serviceJson(service);
    h = HASH_BY_JSON.get(json);
    if (h === undefined) {
      h = sha256Hex(json).slice(0, 16);
      HASH_BY_JSON.set(json, h);
    }
    SERVICE_HASH.set(service, h);
  }
  return h;
}

/** Works out the texts and hashes of a table's services ahead of the fingerprint and the plan that will ask for them. */
export function warmServiceHashes(table: Table): void {
  for (const s of table.services) serviceHash(s);
}

/** sha256 in hex with the one-shot `crypto.hash` (Node 20.12+): ten times cheaper than a Hash object for short texts. */
function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}
