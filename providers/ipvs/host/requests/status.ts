/** `status`: the table, counters, totals, rates and the stack's ownership record, for `lvsform status`. */
import { LvsError } from '../../model/errors.ts';
import { parseRecord, type OwnershipRecord } from '../../model/record.ts';
import { section, splitHead, splitSections, type Sections } from '../sections.ts';
import { hereDoc, shQuote } from '../shell-quote.ts';
import { LISTING_HEADER } from '../../read/parse-list.ts';
import type { ReplyContext, RequestKind } from './kind.ts';
import { endedEarly } from './kind.ts';
import { daemonsReadLines, parseDaemons } from '../pair-chunk.ts';
import type { SyncDaemon } from '../../model/director-pair.ts';

export interface StatusRequest {
  readonly kind: 'status';
  readonly stack: string;
  /** Also list the connection sync daemons (`ipvsadm -L --daemon`): a pair member's. */
  readonly daemons?: boolean;
}

export interface StatusReply {
  readonly kind: 'status';
  /** `ipvsadm -S -n`, `-L -n`, `-L -n --stats --exact` and `-L -n --rate`, as printed (ops/status.ts reads them). */
  readonly save: string;
  readonly list: string;
  readonly stats: string;
  readonly rate: string;
  readonly record: OwnershipRecord | undefined;
  /** The running sync daemons, when asked (a read-only run's fixed script does not list them). */
  readonly daemons?: readonly SyncDaemon[];
}

/** The four reads, one `ipvsadm -R` input line each: one process prints them all (see read-table.ts). */
const READS = ['-S -n', '-L -n', '-L -n --stats --exact', '-L -n --rate'];

/**
 * The script: the save and the three listings from one `ipvsadm` process, in one section (each listing begins with
 * its header line, which a save never prints), then the record.
 */
export function statusChunk(tag: string, stack: string, daemons = false): string {
  const file = `"$lvs_dir"/${shQuote(`${stack}.json`)}`;
  return [
    ...(daemons ? daemonsReadLines(tag, '') : []),
    section(tag, 'save'),
    `ipvsadm -R 2>&1 9>&- ${hereDoc(READS.join('\n'), 'LVSFORM_DUMP')}`,
    'lvs_rc=$?',
    section(tag, 'save-status'),
    'echo "$lvs_rc"',
    section(tag, 'record'),
    `if [ -f ${file} ]; then cat ${file}; else echo "@@none"; fi`,
    section(tag, 'end'),
  ].join('\n');
}

function fromSections(req: StatusRequest, s: Sections, ctx: Pick<ReplyContext, 'where' | 'stdout'>): StatusReply {
  const { where } = ctx;
  if (!s.has('end')) throw endedEarly(ctx, 'the status read', 400);
  if ((s.get('save-status') ?? '').trim() !== '0') {
    throw new LvsError('LVS_IPVS_UNAVAILABLE', `director ${where}: \`ipvsadm -S -n\` failed: ${(s.get('save') ?? '').trim().split('\n').slice(-2).join(' ')}`, {
      hint: 'Run `lvsform doctor` on this director.',
    });
  }
  // The read-only script prints each read in a section of its own; this script, all in the save's.
  const parts = s.has('list') ? [s.get('save') ?? '', s.get('list') ?? '', s.get('stats') ?? '', s.get('rate') ?? ''] : dumpsOf(s.get('save') ?? '');
  if (parts.length !== READS.length) {
    throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: ipvsadm printed ${parts.length} of the ${READS.length} reads of the status`, {
      hint: 'Run `lvsform doctor` on this director; its ipvsadm may not be the one lvsform knows.',
    });
  }
  const [save = '', list = '', stats = '', rate = ''] = parts;
  const recordText = (s.get('record') ?? '').trim();
  return {
    kind: 'status',
    save,
    list,
    stats,
    rate,
    record: recordText === '@@none' || recordText === '' ? undefined : parseRecord(recordText, req.stack, where),
    ...(s.has('daemons') ? { daemons: parseDaemons(s.get('daemons') ?? '') } : {}),
  };
}

/** One process's save and listings, as separate sections would hold them: the save, then each listing from its header. */
function dumpsOf(text: string): string[] {
  const { head, rest } = splitHead(text, LISTING_HEADER);
  const parts = [head];
  let left = rest;
  while (left !== undefined) {
    const next = left.indexOf(`\n${LISTING_HEADER}`);
    parts.push(next < 0 ? left : left.slice(0, next));
    left = next < 0 ? undefined : left.slice(next + 1);
  }
  return parts;
}

/** Parses what `statusChunk` printed under `tag`. */
export function parseStatus(tag: string, stdout: string, stack: string, where: string): StatusReply {
  return fromSections({ kind: 'status', stack }, splitSections(tag, stdout), { where, stdout });
}

export const status: RequestKind<StatusRequest, StatusReply> = {
  script: (req, tag) => statusChunk(tag, req.stack, req.daemons),
  parse: (req, sections, ctx) => fromSections(req, sections, ctx),
};
