/**
 * `store-table`: writes (or with no text, removes) `<stack>.table`, the owned table the next `--refresh=false` run
 * trusts. Written in place (no rename, one process less): the record's sha256 of the table is what a fast read
 * trusts, so a table torn by a lost connection only sends the next run to the full read.
 */
import { writeFileCommand } from '../host-script.ts';
import { section } from '../sections.ts';
import type { RequestKind } from './kind.ts';
import { stackPath } from './fast-read.ts';
import { STATE_DIR_MADE } from './write-record.ts';

export interface StoreTableRequest {
  readonly kind: 'store-table';
  readonly stack: string;
  /** The text to store (`storedTableText`); undefined removes the file. */
  readonly text: string | undefined;
}

export interface StoreTableReply {
  readonly kind: 'store-table';
  /** The host confirmed the write (or the removal). */
  readonly confirmed: boolean;
  /** What the host printed instead, when it did not confirm. */
  readonly said: string;
}

const DONE = '@@table done';

/** Writes `<stack>.table` (sent gzip-compressed when `gzip`), created under the session's umask 077 (0600). */
export function writeTableChunk(stack: string, tableText: string, gzip = false): string {
  const file = stackPath(stack, '.table');
  const write = writeFileCommand(file, tableText, gzip);
  return [STATE_DIR_MADE, `{ ${write}\n} && echo "${DONE}"`].join('\n');
}

/** Removes `<stack>.table` (the stack owns nothing there any more). */
export function removeTableChunk(stack: string): string {
  return `rm -f ${stackPath(stack, '.table')} && echo "${DONE}"`;
}

export const storeTable: RequestKind<StoreTableRequest, StoreTableReply> = {
  script: (req, tag) =>
    [
      section(tag, 'answer'),
      `{ ${req.text === undefined ? removeTableChunk(req.stack) : writeTableChunk(req.stack, req.text)}\n} 2>&1`,
      section(tag, 'end'),
    ].join('\n'),
  parse: (_req, sections) => {
    const answer = (sections.get('answer') ?? '').trim();
    const confirmed = answer.split('\n').includes(DONE);
    return { kind: 'store-table', confirmed, said: confirmed ? '' : answer.slice(0, 200) || 'no answer' };
  },
};
