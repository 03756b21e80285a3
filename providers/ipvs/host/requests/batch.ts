/**
 * `batch`: feeds a batch to `ipvsadm -R`. It is not atomic: a line the kernel rejects prints an error and the rest
 * carries on, exit 0; so every batch is verified by reading back, and what it printed is kept for the report.
 *
 * With `record`, the ownership record is written on the director after the batch, at the end of the same round trip,
 * chosen there by what `ipvsadm -R` did: the record the apply expects when it exited 0 and printed nothing, else the
 * pending one (or none). The round trip is read whole before it runs and the shell outlives a lost connection, so
 * nothing after the batch can stop the write. The apply still verifies by reading back, and rewrites the record when
 * the table is not what it expected.
 */
import type { OwnershipRecord } from '../../model/record.ts';
import { serializeRecord } from '../../model/record.ts';
import { section } from '../sections.ts';
import { hereDoc } from '../shell-quote.ts';
import { endedEarly, type RequestKind } from './kind.ts';
import { recordPath, STATE_DIR_MADE, writeRecordChunk, writeRecordWith } from './write-record.ts';
import { PRINTF_WRITE_MAX, writeFileCommand } from '../host-script.ts';

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

/** The shell variable that holds whether the batch of the request tagged `tag` was silent (its tail reads it). */
function silentVar(tag: string): string {
  return `lvs_silent_${tag.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/**
 * The batch's script. With a record, its answer's last sections (`record`, `end`) come from `batchTail`, which the
 * round trip runs after its other requests.
 */
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
  // What ipvsadm says is held until it has ended: whether it said anything chooses the record.
  const silent = silentVar(tag);
  return [
    `lvs_said=$(ipvsadm -R 2>&1 9>&- ${hereDoc(batch)}\n)`,
    'lvs_rc=$?',
    `if [ "$lvs_rc" = 0 ] && [ -z "$lvs_said" ]; then ${silent}=1; else ${silent}=0; fi`,
    section(tag, 'restore'),
    'printf \'%s\\n\' "$lvs_said"',
    section(tag, 'restore-status'),
    'echo "$lvs_rc"',
  ].join('\n');
}

/**
 * A pending record as the director derives it from the expected record's text: each service's hash replaced by the
 * pending mark, `sed` on the director (started only when the batch complained) and this on lvsform's side.
 */
const HASH_ENTRY = /,"h":"[0-9a-f]+"\}/g;
const PENDING_ENTRY = ',"pending":true}';
const PENDING_SED = `sed 's/,"h":"[0-9a-f][0-9a-f]*"}/,"pending":true}/g'`;

export function pendingFromExpected(expected: string): string {
  return expected.replace(HASH_ENTRY, PENDING_ENTRY);
}

/**
 * Whether the pending record can be derived on the director from the expected one's text (`pendingFromExpected`
 * gives exactly the pending record's text, the time of writing apart): what a first apply, whose every service is
 * new, sends. Then the pending record does not travel at all: at 1,000 new services it is 65 KB that the director
 * would receive and its shell read before the batch, for a write that happens only when the batch complains.
 */
function derivable(record: BatchRecord, expected: string): boolean {
  const { otherwise } = record;
  if (!record.expected || !otherwise || expected.length >= PRINTF_WRITE_MAX) return false;
  // A pending record that keeps other entries (a service the batch deletes) is told apart without writing it out.
  if (Object.keys(otherwise.services).length !== Object.keys(record.expected.services).length) return false;
  return pendingFromExpected(expected) === serializeRecord({ ...otherwise, updated: record.expected.updated });
}

/**
 * The record's write, chosen by what the batch did, at the end of the round trip: its rename (a process) runs while
 * the read-back that follows the batch is on its way to lvsform and compared there. The shell has read it with the
 * rest of the round trip before the batch began, and a lost connection does not end the shell (`preludeChunk`), so
 * the record is written whatever happens to the connection meanwhile.
 */
export function batchTail(tag: string, record: BatchRecord): string {
  // The write's own words go nowhere: its exit status is what is reported (an unconfirmed record is written again
  // after verification, and that write's words are the ones reported).
  const write = (chunk: string): string => `if { ${chunk}\n} >/dev/null 2>&1; then lvs_wst=0; else lvs_wst=1; fi`;
  const expected = record.expected && serializeRecord(record.expected);
  const text = (json: string | undefined, gzip: boolean): string => write(writeRecordChunk(record.stack, json, gzip));
  // Derivable: the expected record is written once, before the choice, then renamed into place or turned into the
  // pending one (one pass of the shell over its text, as without).
  const src = recordPath(record.stack, 'new');
  const derived = expected !== undefined && derivable(record, expected) ? expected : undefined;
  const [before, silent, otherwise] =
    derived === undefined
      ? ['', text(expected, false), record.otherwise === null ? undefined : text(serializeRecord(record.otherwise), record.gzip)]
      : [
          `if { ${STATE_DIR_MADE}\n${writeFileCommand(src, derived, false)}\n} >/dev/null 2>&1; then lvs_src=0; else lvs_src=1; fi`,
          write(writeRecordWith(record.stack, () => '[ "$lvs_src" = 0 ]', src)),
          write(writeRecordWith(record.stack, (tmp) => `[ "$lvs_src" = 0 ] && ${PENDING_SED} ${src} > ${tmp}`)),
        ];
  return [
    ...(before ? [before] : []),
    `if [ "$${silentVar(tag)}" = 1 ]; then`,
    '  lvs_wrote=expected',
    silent,
    ...(otherwise === undefined ? ['else', '  lvs_wrote=none; lvs_wst=1'] : ['else', '  lvs_wrote=otherwise', otherwise]),
    'fi',
    section(tag, 'record'),
    'echo "$lvs_wrote $lvs_wst"',
    section(tag, 'end'),
  ].join('\n');
}

export const batch: RequestKind<BatchRequest, BatchReply> = {
  script: (req, tag) => batchChunk(tag, req.batch, req.record),
  tail: (req, tag) => (req.record ? batchTail(tag, req.record) : undefined),
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
