/**
 * `fast-read` (`--refresh=false`): the stack's record, its stored table (`<stack>.table`) and /proc/net/ip_vs, and the
 * other stacks' records, in one read, compressed when large. Whether to trust them is decided above the seam
 * (apply/fast-path.ts).
 */
import { parseProcIpvs, type ProcDigest } from '../../read/parse-proc.ts';
import { stackFile } from '../host-script.ts';
import type { ForeignOwners, ForeignSettings } from '../../model/record.ts';
import { section } from '../sections.ts';
import type { RequestKind } from './kind.ts';
import { compressed, decodeSection, GZ_TEST } from './gzip.ts';
import { otherRecordsChunk, othersFrom } from './read-table.ts';

export interface FastReadRequest {
  readonly kind: 'fast-read';
  readonly stack: string;
  /** Send the record and /proc compressed where the host has gzip (a large table). */
  readonly compress: boolean;
}

export type FastReadReply = { readonly kind: 'fast-read' } & (
  | { readonly ended: false }
  | {
      readonly ended: true;
      /** The record's text; undefined when there is none. */
      readonly record: string | undefined;
      /** The stored table's text; undefined when there is none. */
      readonly table: string | undefined;
      /** /proc/net/ip_vs; undefined when it cannot be read. */
      readonly proc: ProcDigest | undefined;
      /** Whether the host has gzip and base64 (later writes may travel compressed). */
      readonly gzip: boolean;
      readonly others: ForeignOwners;
      readonly otherSettings: ForeignSettings;
    }
);

const NONE = '@@none';

/** The path of one of a stack's files in the state directory; the stack name is checked by `stackFile`. */
export function stackPath(stack: string, suffix: string, prefix = ''): string {
  return `"$lvs_dir"/${stackFile(stack, prefix, suffix)}`;
}

/** The script: the record, the stored table and /proc/net/ip_vs, then the other stacks' records. */
export function fastReadChunk(tag: string, stack: string, compress = true): string {
  const record = stackPath(stack, '.json');
  const table = stackPath(stack, '.table');
  return [
    GZ_TEST,
    section(tag, 'gzip'),
    'echo "$lvs_gz"',
    section(tag, 'record'),
    `if [ -f ${record} ]; then ${compressed(record, compress)}; else echo "${NONE}"; fi`,
    section(tag, 'table'),
    // The stored table is kept compressed (storedTableText): it travels as it is.
    `if [ -f ${table} ]; then cat ${table}; else echo "${NONE}"; fi`,
    section(tag, 'proc'),
    `if [ -r /proc/net/ip_vs ]; then ${compressed('/proc/net/ip_vs', compress)}; else echo "${NONE}"; fi`,
    otherRecordsChunk(tag, stack),
    section(tag, 'end'),
  ].join('\n');
}

function othersOf(o: { services: ForeignOwners; settings: ForeignSettings }): { others: ForeignOwners; otherSettings: ForeignSettings } {
  return { others: o.services, otherSettings: o.settings };
}

export const fastRead: RequestKind<FastReadRequest, FastReadReply> = {
  script: (req, tag) => fastReadChunk(tag, req.stack, req.compress),
  parse: (_req, sections, ctx) => {
    if (!sections.has('end')) return { kind: 'fast-read', ended: false };
    const recordRaw = (sections.get('record') ?? '').trim();
    const tableRaw = (sections.get('table') ?? '').trim();
    const procRaw = sections.get('proc') ?? '';
    return {
      kind: 'fast-read',
      ended: true,
      record: recordRaw === NONE ? undefined : decodeSection(`${recordRaw}\n`).trim(),
      table: tableRaw === NONE ? undefined : decodeSection(`${tableRaw}\n`),
      proc: procRaw.trim() === NONE ? undefined : parseProcIpvs(decodeSection(procRaw)),
      gzip: (sections.get('gzip') ?? '').trim() === '1',
      ...othersOf(othersFrom(sections, ctx.where)),
    };
  },
};
