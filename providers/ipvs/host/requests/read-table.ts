/**
 * `read-table`: the live table (`ipvsadm -S -n`, with thresholds merged from `ipvsadm -L -n --thresholds`), its
 * fingerprint, the stack's ownership record and the other stacks' records.
 */
import { LvsError } from '../../model/errors.ts';
import { LISTING_HEADER, mergeThresholds } from '../../read/parse-list.ts';
import { parseSave } from '../../read/parse-save.ts';
import { stackFile } from '../host-script.ts';
import { tableFingerprint, warmServiceHashes, type LiveState } from '../../model/live-state.ts';
import { foreignOwnership, parseRecord, type OwnershipRecord } from '../../model/record.ts';
import type { Table } from '../../model/model.ts';
import { section, sectionLine, splitHead, splitSections, type Sections } from '../sections.ts';
import { hereDoc, shQuote } from '../shell-quote.ts';
import { earlyResult, endedEarly, type EarlyWork, type RequestKind } from './kind.ts';
import { GZ_TEST } from './gzip.ts';

export interface ReadTableRequest {
  readonly kind: 'read-table';
  readonly stack: string;
  /**
   * Also list thresholds (`ipvsadm -S` omits them). Without, every threshold reads as 0: the caller must know that
   * none can be set.
   */
  readonly thresholds: boolean;
  /** Also read the stack's record and the other stacks' records. */
  readonly record: boolean;
}

export interface ReadTableReply {
  readonly kind: 'read-table';
  readonly live: LiveState;
  /**
   * Whether the host has gzip and base64 (the shell's `command -v`, no process), so that a large text written later in
   * the run may travel compressed. Undefined when the read did not say (the read-only script's).
   */
  readonly gzip?: boolean;
}

/** The name of the section that holds the record of another stack: `other <stack>` . */
export const OTHER_RECORD_SECTION = 'other ';

/** The other stacks' records in a read's sections (`other <stack>`), as the services and settings they own. */
export function othersFrom(sections: ReadonlyMap<string, string>, where: string): { services: Map<string, string>; settings: Map<string, string> } {
  const records: [string, string][] = [];
  for (const [name, text] of sections) if (name.startsWith(OTHER_RECORD_SECTION)) records.push([name.slice(OTHER_RECORD_SECTION.length), text]);
  return foreignOwnership(records, where);
}

/**
 * Prints the ownership record of every other stack on the director, one section `other <stack>` each, so that a plan
 * knows which services another stack owns (ownership is exclusive). The glob and the tests are the shell's own: no
 * process starts when no other stack has a record. A file whose name is not a stack name (the temporary `.x.json.tmp`
 * is hidden from `*`) is skipped, so no name can break a marker line.
 */
export function otherRecordsChunk(tag: string, stack: string): string {
  return [
    'for lvs_f in "$lvs_dir"/*.json; do',
    '  [ -f "$lvs_f" ] || continue',
    '  lvs_n=${lvs_f##*/}; lvs_n=${lvs_n%.json}',
    `  case $lvs_n in ${stackFile(stack, '', '')}|""|[!A-Za-z0-9]*|*[!A-Za-z0-9_.-]*) continue ;; esac`,
    `  printf '%s %s\\n' ${shQuote(sectionLine(tag, OTHER_RECORD_SECTION.trim()))} "$lvs_n"; cat "$lvs_f"; echo`,
    'done',
  ].join('\n');
}

/**
 * Sets `lvs_empty=1` when /proc/net/ip_vs shows an empty table: its three header lines and nothing after them. Read
 * with the shell's own `read` (a few hundred bytes, no process); a missing or unreadable file, or a header this does
 * not know, is not taken for an empty table.
 */
export const EMPTY_TABLE_TEST = [
  'lvs_empty=0; lvs_n=0; lvs_h=""',
  '{ while IFS= read -r lvs_l; do lvs_n=$((lvs_n + 1)); lvs_h=$lvs_l; [ "$lvs_n" -gt 3 ] && break; done < /proc/net/ip_vs; } 2>/dev/null',
  'if [ "$lvs_n" = 3 ]; then case $lvs_h in *"-> RemoteAddress:Port"*) lvs_empty=1 ;; esac; fi',
].join('\n');

/**
 * The two dumps of a read with thresholds, done by one `ipvsadm` process: `-R` takes each line of its input as the
 * options of one invocation (ipvsadm(8)), and these two change nothing. The save comes first and the listing after it,
 * in one section: the listing's header line (which a save never prints) is where the save ends.
 */
const DUMP_BOTH = `ipvsadm -R 2>&1 9>&- ${hereDoc('-S -n\n-L -n --thresholds', 'LVSFORM_DUMP')}`;

/**
 * Reads the live table: the stack's ownership record and the other stacks' records, then `ipvsadm -S -n` and
 * `ipvsadm -L -n --thresholds`, one process for both. The record comes first so that lvsform parses it (and then the
 * save) while the director still dumps the table (`early` below). When /proc shows the table empty (read by the shell,
 * no process) no dump runs: on a fresh director the read starts no process at all. Otherwise the merge holds the two
 * dumps to each other, so a table that changed between them is reported as before. The record is followed by a
 * newline of its own, so that a record damaged to lack its last newline still ends before the next marker (and is then
 * reported as corrupt, not as a broken read).
 */
export function readChunk(req: Omit<ReadTableRequest, 'kind'> & { readonly tag: string }): string {
  const lines = [
    section(req.tag, 'ipvsadm-version'),
    'command -v ipvsadm >/dev/null 2>&1 || echo "@@missing ipvsadm"',
    GZ_TEST,
    section(req.tag, 'gzip'),
    'echo "$lvs_gz"',
  ];
  if (req.record) {
    lines.push(
      section(req.tag, 'record'),
      `if [ -f "$lvs_dir"/${stackFile(req.stack)} ]; then cat "$lvs_dir"/${stackFile(req.stack)}; echo; else echo "@@none"; fi`,
      otherRecordsChunk(req.tag, req.stack),
    );
  }
  lines.push(
    EMPTY_TABLE_TEST,
    section(req.tag, 'save'),
    req.thresholds
      ? `if [ "$lvs_empty" = 1 ]; then lvs_rc=0; else ${DUMP_BOTH}\nlvs_rc=$?; fi`
      : 'if [ "$lvs_empty" = 1 ]; then lvs_rc=0; else ipvsadm -S -n 2>&1 9>&-; lvs_rc=$?; fi',
    section(req.tag, 'save-status'),
    'echo "$lvs_rc"',
    section(req.tag, 'end'),
  );
  return lines.join('\n');
}

/** The stack's own record as its section holds it (`@@none`: there is none). */
function recordOf(text: string, stack: string, where: string): OwnershipRecord | undefined {
  return text.trim() === '@@none' ? undefined : parseRecord(text.trim(), stack, where);
}

function fromSections(sections: Sections, stdout: string, stack: string, where: string, thresholds: boolean, early?: EarlyWork): LiveState {
  if (!sections.has('end')) throw endedEarly({ where, stdout }, 'the read', 400);
  const version = (sections.get('ipvsadm-version') ?? '').trim();
  if (version.includes('@@missing ipvsadm')) {
    throw new LvsError('LVS_NO_IPVSADM', `director ${where}: ipvsadm is not installed`, {
      hint: 'Install it (Debian: apt-get install ipvsadm; RHEL: dnf install ipvsadm), then run `lvsform doctor`.',
    });
  }
  const saveStatus = (sections.get('save-status') ?? '').trim();
  const dump = sections.get('save') ?? '';
  if (saveStatus !== '0') {
    const first = dump.trim().split('\n').slice(-2).join(' ');
    throw new LvsError('LVS_IPVS_UNAVAILABLE', `director ${where}: \`ipvsadm -S -n\` failed (exit ${saveStatus}): ${first}`, {
      hint: 'Run `lvsform doctor` on this director: the kernel may lack IPVS or the ip_vs module may not load.',
    });
  }
  // The listing follows the save in its section (one process, `readChunk`), or comes in a section of its own (the
  // read-only script's); an empty table (no dump ran) has neither, and needs none.
  const { head: save, rest } = thresholds ? splitHead(dump, LISTING_HEADER) : { head: dump, rest: undefined };
  const listing = sections.get('thresholds') ?? rest;
  const saved = earlyResult<Table>(early, 'save', save) ?? parseSave(save, `ipvsadm -S -n on ${where}`);
  if (thresholds && listing === undefined && saved.services.length > 0) {
    throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: \`ipvsadm -L -n --thresholds\` printed no listing after the save`, {
      hint: 'Run `lvsform doctor` on this director; its ipvsadm may not be the one lvsform knows.',
    });
  }
  const table = !thresholds ? saved : mergeThresholds(saved, listing ?? '', `ipvsadm -L -n --thresholds on ${where}`);
  const recordText = sections.get('record');
  const record = recordText === undefined ? undefined : (earlyResult<OwnershipRecord>(early, 'record', recordText) ?? recordOf(recordText, stack, where));
  const others = recordText === undefined ? undefined : othersFrom(sections, where);
  return {
    table,
    fingerprint: tableFingerprint(table),
    record,
    ...(others ? { others: others.services, otherSettings: others.settings } : {}),
    ipvsadmVersion: version.split('\n')[0] ?? '',
  };
}

/** Parses what `readChunk` printed under `tag`. */
export function parseLive(tag: string, stdout: string, stack: string, where: string, thresholds = true): LiveState {
  return fromSections(splitSections(tag, stdout), stdout, stack, where, thresholds);
}

export const readTable: RequestKind<ReadTableRequest, ReadTableReply> = {
  script: (req, tag) => readChunk({ ...req, tag }),
  parse: (req, sections, ctx, early) => {
    const live = fromSections(sections, ctx.stdout, req.stack, ctx.where, req.thresholds, early);
    const gzip = sections.get('gzip')?.trim();
    return { kind: 'read-table', live, ...(gzip === undefined ? {} : { gzip: gzip === '1' }) };
  },
  // Parsed while the director dumps the table: the record (it comes first), then the save (during the listing).
  heads: { save: LISTING_HEADER },
  early: {
    record: (req, text, ctx) => recordOf(text, req.stack, ctx.where),
    save: (_req, text, ctx) => {
      const table = parseSave(text, `ipvsadm -S -n on ${ctx.where}`);
      // The services the listing leaves as they are (most) keep these for the fingerprint and the plan's drift check.
      warmServiceHashes(table);
      return table;
    },
  },
};
