/**
 * A real server's ownership record (`/var/lib/lvsform/real-server/<stack>.json`, mode 0600, written atomically): what
 * lvsform added or changed there for the stack, with the values it found before, so that destroy removes exactly that
 * and puts back exactly those. A malformed record is refused, as a director's is: a lost entry would leave an address
 * on `lo` for good, or a sysctl never put back.
 */
import { z } from 'zod';
import { LvsError } from './errors.ts';
import { recordJson } from './record.ts';
import type { RealServerRecordPrep } from './real-server.ts';

export const REAL_SERVER_RECORD_FORMAT = 1;

const family = z.enum(['inet', 'inet6']);
const prior = z.object({ prior: z.string(), value: z.string() }).strict().readonly();
const prepSchema = z
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
    tunnels: z.array(z.string()).readonly().optional(),
    fou: z
      .array(
        z
          .object({ port: z.number().int().min(1).max(65535), family })
          .strict()
          .readonly(),
      )
      .readonly()
      .optional(),
    sysctls: z.record(z.string(), prior).readonly().optional(),
    routes: z.object({ inet: prior.optional(), inet6: prior.optional() }).strict().readonly().optional(),
  })
  .strict()
  .readonly() satisfies z.ZodType<RealServerRecordPrep>;

const recordSchema = z
  .object({
    format: z.number().int(),
    stack: z.string(),
    host: z.string(),
    updated: z.string(),
    prep: prepSchema,
  })
  .strict();

export type RealServerRecord = z.infer<typeof recordSchema>;

export function newRealServerRecord(stack: string, host: string, prep: RealServerRecordPrep): RealServerRecord {
  return { format: REAL_SERVER_RECORD_FORMAT, stack, host, updated: new Date().toISOString(), prep };
}

/** Parses a real server's record; `undefined` text means there is none. */
export function parseRealServerRecord(text: string | undefined, stack: string, where: string): RealServerRecord | undefined {
  if (text === undefined) return undefined;
  const file = `/var/lib/lvsform/real-server/${stack}.json on ${where}`;
  const recover = 'Compare it with what the real server holds, fix or move it aside, and plan again (lvsform then owns nothing there).';
  const raw = recordJson(text, file, recover, REAL_SERVER_RECORD_FORMAT);
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success || parsed.data.format !== REAL_SERVER_RECORD_FORMAT || parsed.data.stack !== stack) {
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    const why = issue ? `is malformed at ${issue.path.join('.') || '(top)'}: ${issue.message}` : 'belongs to another stack or format';
    throw new LvsError('LVS_RECORD_CORRUPT', `the ownership record ${file} ${why}`, { hint: recover });
  }
  return parsed.data;
}
