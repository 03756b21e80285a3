/** The host side of `lvsform status`: the chunk that reads table, counters, rates and record, and its call. */
import { LvsError } from '../model/errors.ts';
import { buildStatus, type DirectorStatus } from '../ops/status.ts';
import { sectionLine, splitSections } from './host-script.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { newTag } from './read-live.ts';
import { parseRecord } from '../model/record.ts';
import { shQuote } from './shell-quote.ts';
import type { HostSession } from './transport.ts';

const STATE_DIR_FILE = (stack: string): string => `"$lvs_dir"/${shQuote(`${stack}.json`)}`;

/** The chunk: table, counts, totals, rates and the ownership record, each in its own tagged section. */
export function statusChunk(tag: string, stack: string): string {
  const section = (name: string): string => `printf '%s\\n' ${shQuote(sectionLine(tag, name))}`;
  return [
    section('save'),
    'ipvsadm -S -n 2>&1 9>&-; lvs_rc=$?',
    section('save-status'),
    'echo "$lvs_rc"',
    section('list'),
    'ipvsadm -L -n 2>&1 9>&-',
    section('stats'),
    'ipvsadm -L -n --stats --exact 2>&1 9>&-',
    section('rate'),
    'ipvsadm -L -n --rate 2>&1 9>&-',
    section('record'),
    `if [ -f ${STATE_DIR_FILE(stack)} ]; then cat ${STATE_DIR_FILE(stack)}; else echo "@@none"; fi`,
    section('end'),
  ].join('\n');
}

/** Reads one director's status over an open session (prelude already run). */
export async function readStatus(session: HostSession, stack: string): Promise<DirectorStatus> {
  const tag = newTag();
  const { stdout } = await session.run(statusChunk(tag, stack));
  return parseStatus(tag, stdout, stack, session.target);
}

/** Parses what `statusChunk` printed (or the read-only script's status part, whose sections are the same). */
export function parseStatus(tag: string, stdout: string, stack: string, target: HostTarget): DirectorStatus {
  const where = describeTarget(target);
  const s = splitSections(tag, stdout);
  if (!s.has('end')) throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: the status read ended early; the host printed: ${stdout.slice(-400)}`);
  if ((s.get('save-status') ?? '').trim() !== '0') {
    throw new LvsError('LVS_IPVS_UNAVAILABLE', `director ${where}: \`ipvsadm -S -n\` failed: ${(s.get('save') ?? '').trim().split('\n').slice(-2).join(' ')}`, {
      hint: 'Run `lvsform doctor` on this director.',
    });
  }
  const recordText = (s.get('record') ?? '').trim();
  const record = recordText === '@@none' || recordText === '' ? undefined : parseRecord(recordText, stack, where);
  return buildStatus(
    target.name,
    where,
    { save: s.get('save') ?? '', list: s.get('list') ?? '', stats: s.get('stats') ?? '', rate: s.get('rate') ?? '' },
    record,
  );
}
