/** `status`: the table, counters, totals, rates and the stack's ownership record, for `lvsform status`. */
import { LvsError } from '../../model/errors.ts';
import { parseRecord, type OwnershipRecord } from '../../model/record.ts';
import { section, splitSections, type Sections } from '../sections.ts';
import { shQuote } from '../shell-quote.ts';
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

/** The script: each part in its own tagged section. */
export function statusChunk(tag: string, stack: string, daemons = false): string {
  const file = `"$lvs_dir"/${shQuote(`${stack}.json`)}`;
  return [
    ...(daemons ? daemonsReadLines(tag, '') : []),
    section(tag, 'save'),
    'ipvsadm -S -n 2>&1 9>&-; lvs_rc=$?',
    section(tag, 'save-status'),
    'echo "$lvs_rc"',
    section(tag, 'list'),
    'ipvsadm -L -n 2>&1 9>&-',
    section(tag, 'stats'),
    'ipvsadm -L -n --stats --exact 2>&1 9>&-',
    section(tag, 'rate'),
    'ipvsadm -L -n --rate 2>&1 9>&-',
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
  const recordText = (s.get('record') ?? '').trim();
  return {
    kind: 'status',
    save: s.get('save') ?? '',
    list: s.get('list') ?? '',
    stats: s.get('stats') ?? '',
    rate: s.get('rate') ?? '',
    record: recordText === '@@none' || recordText === '' ? undefined : parseRecord(recordText, req.stack, where),
    ...(s.has('daemons') ? { daemons: parseDaemons(s.get('daemons') ?? '') } : {}),
  };
}

/** Parses what `statusChunk` printed under `tag`. */
export function parseStatus(tag: string, stdout: string, stack: string, where: string): StatusReply {
  return fromSections({ kind: 'status', stack }, splitSections(tag, stdout), { where, stdout });
}

export const status: RequestKind<StatusRequest, StatusReply> = {
  script: (req, tag) => statusChunk(tag, req.stack, req.daemons),
  parse: (req, sections, ctx) => fromSections(req, sections, ctx),
};
