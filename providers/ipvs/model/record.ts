/**
 * The ownership record: which services of a director a stack owns. It lives on the director
 * (`/var/lib/lvsform/<stack>.json`, mode 0600, written atomically) so that every operator and every CI runner sees the
 * same truth, and it is rewritten after each verified apply to say what is really there.
 */
import { z } from 'zod';
import { LvsError } from './errors.ts';
import { DuplicateKeyError, parseJsonStrict } from './strict-json.ts';
import type { SettingsRecord } from './director-settings.ts';

export const RECORD_FORMAT = 1;

/**
 * One owned service. `h` (its hash when the record was written) and `pending` (created by a batch not verified yet)
 * are ignored when malformed, as a missing one is: the next apply rewrites the entry.
 */
const ownedServiceSchema = z
  .object({
    /** The construct path that declared it. */
    path: z.string(),
    /** serviceHash of the service as verified. */
    h: z.string().optional().catch(undefined),
    /** Written before the batch that creates it; no hash yet. */
    pending: z.boolean().optional().catch(undefined),
  })
  .passthrough();

/** What `--refresh=false` trusts (see fast-path.ts); ignored when malformed. */
const fastStateSchema = z.object({
  /** The /proc/net/ip_vs fingerprint right after the verified apply. */
  proc: z.string(),
  /** sha256 of `<stack>.table`. */
  table: z.string(),
});

/**
 * The director settings lvsform changed (model/director-settings.ts): the addresses and dummy interfaces it added, and
 * each sysctl and timeout it set with the value found before. Refused when malformed, as the record is: a lost entry
 * would leave an address lvsform added on the director for good, or a sysctl never put back.
 */
const timeoutsSchema = z.object({ tcp: z.number().int().optional(), tcpfin: z.number().int().optional(), udp: z.number().int().optional() }).strict();
const settingsSchema = z
  .object({
    addresses: z
      .array(
        z
          .object({ address: z.string(), prefix: z.number().int().min(0).max(128), device: z.string() })
          .strict()
          .readonly(),
      )
      .readonly()
      .optional(),
    links: z.array(z.string()).readonly().optional(),
    sysctls: z
      .record(z.string(), z.object({ prior: z.string(), value: z.string() }).strict().readonly())
      .readonly()
      .optional(),
    timeouts: z.object({ prior: timeoutsSchema.readonly(), value: timeoutsSchema.readonly() }).strict().readonly().optional(),
    daemons: z
      .array(
        z
          .object({ role: z.enum(['master', 'backup']), interface: z.string(), syncId: z.number().int().min(0).max(255) })
          .strict()
          .readonly(),
      )
      .readonly()
      .optional(),
    keepalived: z.object({ path: z.string(), main: z.boolean(), digest: z.string() }).strict().readonly().optional(),
  })
  .strict()
  .readonly() satisfies z.ZodType<SettingsRecord>;

const recordSchema = z
  .object({
    format: z.number().int(),
    stack: z.string(),
    director: z.string(),
    updated: z.string(),
    /** serviceId → the owned service. */
    services: z.record(z.string(), ownedServiceSchema),
    /** sha256 of the canonical live table right after the apply that wrote this record. */
    fingerprint: z.string().optional(),
    fast: fastStateSchema.optional().catch(undefined),
    settings: settingsSchema.optional(),
  })
  .passthrough();

export type OwnedService = z.infer<typeof ownedServiceSchema>;
export type FastState = z.infer<typeof fastStateSchema>;
export type OwnershipRecord = z.infer<typeof recordSchema>;

export function emptyRecord(stack: string, director: string): OwnershipRecord {
  return { format: RECORD_FORMAT, stack, director, updated: new Date(0).toISOString(), services: {} };
}

/**
 * The JSON of an ownership record (`file` names it in errors): refused when it is not strict JSON
 * (`LVS_RECORD_CORRUPT`, with `recover` as the hint) or when a newer lvsform wrote it (`LVS_RECORD_NEWER`).
 * Its shape is the caller's to check.
 */
export function recordJson(text: string, file: string, recover: string, readsFormat: number): unknown {
  let raw: unknown;
  try {
    raw = parseJsonStrict(text);
  } catch (e) {
    const why = e instanceof DuplicateKeyError ? `is ambiguous: ${e.message}` : 'is not valid JSON';
    throw new LvsError('LVS_RECORD_CORRUPT', `the ownership record ${file} ${why}`, { cause: e, hint: recover });
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (typeof format === 'number' && format > readsFormat) {
    throw new LvsError('LVS_RECORD_NEWER', `the ownership record ${file} has format ${format}; this lvsform reads format ${readsFormat}`, {
      hint: 'Upgrade lvsform to the version that wrote it.',
    });
  }
  return raw;
}

/**
 * Parses a record read from a director. `undefined` text means there is none (the stack owns nothing there).
 * A corrupt record, one of another stack or of a newer format is refused: lvsform does not guess what it owns.
 */
export function parseRecord(text: string | undefined, stack: string, where: string): OwnershipRecord | undefined {
  if (text === undefined) return undefined;
  const file = `/var/lib/lvsform/${stack}.json on ${where}`;
  const recover = `Move the file aside and run \`lvsform plan --adopt\` to take ownership of the stack's services again.`;
  const raw = recordJson(text, file, recover, RECORD_FORMAT);
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LvsError('LVS_RECORD_CORRUPT', `the ownership record ${file} is malformed at ${issue?.path.join('.') || '(top)'}: ${issue?.message}`, {
      hint: recover,
    });
  }
  if (parsed.data.format !== RECORD_FORMAT) {
    throw new LvsError('LVS_RECORD_CORRUPT', `the ownership record ${file} has unknown format ${parsed.data.format}`, { hint: recover });
  }
  if (parsed.data.stack !== stack) {
    throw new LvsError('LVS_RECORD_CORRUPT', `the ownership record ${file} belongs to stack "${parsed.data.stack}", not "${stack}"`, {
      hint: recover,
    });
  }
  return parsed.data;
}

export function serializeRecord(record: OwnershipRecord): string {
  const services = Object.fromEntries(Object.entries(record.services).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ ...record, services });
}

/** serviceId → the other stack whose record on the director claims it (ownership is exclusive). */
export type ForeignOwners = ReadonlyMap<string, string>;

/**
 * The director settings the other stacks' records on a director hold: `sysctl <key>` (a net.ipv4.vs key) and
 * `timeout <field>` (tcp, tcpfin, udp) → the stack that set it. One setting has one owner, as one service does: two
 * stacks setting one sysctl would each put back the value it found, and undo the other.
 */
export type ForeignSettings = ReadonlyMap<string, string>;

/** The key of a sysctl or timeout in `ForeignSettings`. */
export function settingKey(kind: 'sysctl' | 'timeout', name: string): string {
  return `${kind} ${name}`;
}

/**
 * Which services and settings the other stacks' records on a director claim, from `[stack, record text]` pairs, each
 * record parsed once. A record that cannot be read is refused as the stack's own would be: lvsform does not guess what
 * another stack owns either. When two records claim one service or setting (written before ownership was exclusive),
 * the first stack by name is named.
 */
export function foreignOwnership(
  records: Iterable<readonly [string, string]>,
  where: string,
): { services: Map<string, string>; settings: Map<string, string> } {
  const services = new Map<string, string>();
  const settings = new Map<string, string>();
  const sorted = [...records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const claim = (map: Map<string, string>, key: string, stack: string) => {
    if (!map.has(key)) map.set(key, stack);
  };
  for (const [stack, text] of sorted) {
    const record = parseRecord(text.trim(), stack, where);
    for (const id of Object.keys(record?.services ?? {})) claim(services, id, stack);
    for (const key of Object.keys(record?.settings?.sysctls ?? {})) claim(settings, settingKey('sysctl', key), stack);
    for (const field of Object.keys(record?.settings?.timeouts?.value ?? {})) claim(settings, settingKey('timeout', field), stack);
  }
  return { services, settings };
}

/** Which services the other stacks' records on a director claim (see `foreignOwnership`). */
export function foreignOwners(records: Iterable<readonly [string, string]>, where: string): Map<string, string> {
  return foreignOwnership(records, where).services;
}
