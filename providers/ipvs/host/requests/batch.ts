/**
 * `batch`: feeds a batch to `ipvsadm -R`. It is not atomic: a line the kernel rejects prints an error and the rest
 * carries on, exit 0; so every batch is verified by reading back, and what it printed is kept for the report.
 *
 * With `record`, the ownership record is written on the director right after the batch, in the same script, chosen
 * there by what `ipvsadm -R` did: the record the apply expects when it exited 0 and printed nothing, else the pending
 * one (or none). The script is read whole before it runs and prints nothing between the batch and the write, so a
 * connection lost meanwhile does not stop it. The apply still verifies by reading back, and rewrites the record
 * when the table is not what it expected.
 */
import type { OwnershipRecord } from '../../model/record.ts';
import { serializeRecord } from '../../model/record.ts';
import { section } from '../sections.ts';
import { hereDoc } from '../shell-quote.ts';
import { endedEarly, type RequestKind } from './kind.ts';
import { writeRecordChunk } from './write-record.ts';

export interface BatchRecord {
  readonly stack: string;
  /** Written when `ipvsadm -R` exits 0 and prints nothing (undefined: the record is removed). */
  readonly expected: OwnershipRecord | undefined;
  /** Written otherwise (the pending record); `null`: nothing is written then. */
  readonly otherwise: OwnershipRecord | null;
  /**
   * The host has gzip and base64: a large `otherwise` record travels compressed. It is written only when the batch
   * complains, so its two decoding processes are paid then; what every run pays is its transfer and the shell's read
   * of it before the batch starts (0.66 MB at 10,000 new services, 72 KB compressed). The expected record travels as
   * it is: written after every silent batch, decoding it would cost more than its bytes.
   */
  readonly gzip: boolean;
}

export interface BatchRequest {
  readonly kind: 'batch';
  /** `ipvsadm -R` lines. */
  readonly batch: string;
  /** The ownership record to write after it, chosen on the director (see above). */
  readonly record?: BatchRecord;
}

export interface BatchReply {
  readonly kind: 'batch';
  /** What `ipvsadm -R` printed (kernel rejections, with exit 0), trimmed. */
  readonly said: string;
  /** Its exit status. */
  readonly status: number;
  /**
   * With `record`: which one the director wrote (`expected`, `otherwise`, or `none` when the batch was not silent and
   * there was no other), whether it confirmed the write, and what it printed instead.
   */
  readonly record?: { readonly wrote: 'expected' | 'otherwise' | 'none'; readonly confirmed: boolean; readonly said: string };
}

export function batchChunk(tag: string, batch: string, record?: BatchRecord): string {
  if (!record) {
    return [
      section(tag, 'restore'),
      `ipvsadm -R 2>&1 9>&- ${hereDoc(batch)}`,
      'lvs_rc=$?',
      section(tag, 'restore-status'),
      'echo "$lvs_rc"',
      section(tag, 'end'),
    ].join('\n');
  }
  // The write's own words go nowhere: its exit status is what is reported (an unconfirmed record is written again
  // after verification, and that write's words are the ones reported).
  const write = (r: OwnershipRecord | undefined, gzip: boolean): string =>
    `if { ${writeRecordChunk(record.stack, r ? serializeRecord(r) : undefined, gzip)}\n} >/dev/null 2>&1; then lvs_wst=0; else lvs_wst=1; fi`;
  // What ipvsadm says is held until the record is written: nothing reaches the connection in between.
  return [
    `lvs_said=$(ipvsadm -R 2>&1 9>&- ${hereDoc(batch)}\n)`,
    'lvs_rc=$?',
    'if [ "$lvs_rc" = 0 ] && [ -z "$lvs_said" ]; then',
    '  lvs_wrote=expected',
    write(record.expected, false),
    ...(record.otherwise === null ? ['else', '  lvs_wrote=none; lvs_wst=1'] : ['else', '  lvs_wrote=otherwise', write(record.otherwise, record.gzip)]),
    'fi',
    section(tag, 'restore'),
    'printf \'%s\\n\' "$lvs_said"',
    section(tag, 'restore-status'),
    'echo "$lvs_rc"',
    section(tag, 'record'),
    'echo "$lvs_wrote $lvs_wst"',
    section(tag, 'end'),
  ].join('\n');
}

export const batch: RequestKind<BatchRequest, BatchReply> = {
  script: (req, tag) => batchChunk(tag, req.batch, req.record),
  parse: (req, sections, ctx) => {
    if (!sections.has('end')) throw endedEarly(ctx, 'the batch');
    const reply = { kind: 'batch' as const, said: (sections.get('restore') ?? '').trim(), status: Number((sections.get('restore-status') ?? '').trim()) };
    if (!req.record) return reply;
    const [wrote = '', status = ''] = (sections.get('record') ?? '').trim().split(' ');
    if (wrote !== 'expected' && wrote !== 'otherwise') return { ...reply, record: { wrote: 'none', confirmed: false, said: '' } };
    const confirmed = status === '0';
    return { ...reply, record: { wrote, confirmed, said: confirmed ? '' : 'the write after the batch failed' } };
  },
};
