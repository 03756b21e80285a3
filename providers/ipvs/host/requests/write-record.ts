/**
 * `write-record`: writes the stack's ownership record atomically (temporary file in the same directory, then
 * rename), mode 0600; or with no record, removes it. The reply says whether the host confirmed it: an unconfirmed
 * write is never taken for a written one.
 */
import { stackFile, writeFileCommand } from '../host-script.ts';
import { serializeRecord, type OwnershipRecord } from '../../model/record.ts';
import { section } from '../sections.ts';
import type { RequestKind } from './kind.ts';

export interface WriteRecordRequest {
  readonly kind: 'write-record';
  readonly stack: string;
  /** The record; undefined removes it (the stack owns nothing there any more). */
  readonly record: OwnershipRecord | undefined;
  /** The host has gzip and base64: a large record travels compressed. */
  readonly gzip: boolean;
}

export interface WriteRecordReply {
  readonly kind: 'write-record';
  /** The host confirmed the write (or the removal). */
  readonly confirmed: boolean;
  /** What the host printed instead, when it did not confirm ('no answer' when nothing). */
  readonly said: string;
}

const WRITTEN = '@@record written';
const REMOVED = '@@record removed';

/** The script for a record's JSON (`undefined`: remove it). */
export function writeRecordChunk(stack: string, json: string | undefined, gzip = false): string {
  if (json === undefined) return `rm -f ${recordPath(stack)} && echo "${REMOVED}"`;
  return writeRecordWith(stack, (tmp) => writeFileCommand(tmp, json, gzip));
}

/** The quoted path of a stack's record, or of a temporary file beside it (`.<stack>.json.<temp>`). */
export function recordPath(stack: string, temp?: 'tmp' | 'new'): string {
  return `"$lvs_dir"/${temp === undefined ? stackFile(stack) : stackFile(stack, '.', `.json.${temp}`)}`;
}

/** The state directory made if it is missing (the shell's own test first: no process when it is there). */
export const STATE_DIR_MADE = '[ -d "$lvs_dir" ] || mkdir -p "$lvs_dir"';

/**
 * The script that writes the record whose text `write(tmp)` puts in the file `tmp` (a quoted path in the state
 * directory): then the rename, and the confirmation.
 */
export function writeRecordWith(stack: string, write: (tmp: string) => string, tmp = recordPath(stack, 'tmp')): string {
  // The temporary file is created under the session's umask 077 (0600); the directory exists once the lock is held.
  // The rename only follows a complete write: a failed one (a full or read-only file system) is never confirmed.
  return [STATE_DIR_MADE, write(tmp), `[ $? = 0 ] && mv -f ${tmp} ${recordPath(stack)} && echo "${WRITTEN}"`].join('\n');
}

export const writeRecord: RequestKind<WriteRecordRequest, WriteRecordReply> = {
  script: (req, tag) =>
    [
      section(tag, 'answer'),
      `{ ${writeRecordChunk(req.stack, req.record ? serializeRecord(req.record) : undefined, req.gzip)}\n} 2>&1`,
      section(tag, 'end'),
    ].join('\n'),
  parse: (req, sections) => {
    const answer = (sections.get('answer') ?? '').trim();
    const confirmed = answer.split('\n').includes(req.record ? WRITTEN : REMOVED);
    return { kind: 'write-record', confirmed, said: confirmed ? '' : answer.slice(0, 200) || 'no answer' };
  },
};
