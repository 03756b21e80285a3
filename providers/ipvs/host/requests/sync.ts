/**
 * `sync`: flushes what an apply wrote for the next boot (the boot unit, the sysctl and modules files, the saved table,
 * the keepalived file, the ownership record) from the host's page cache to its disk. A file system such as ext4 keeps a
 * fresh write in memory for seconds (its journal commits every 5 s, delayed allocation waits up to 30 s): a director
 * that loses power in that time boots with the files of before the apply, or empty ones. A pair member is exactly the
 * director that is expected to lose power. Sent last, in the apply's last round trip, and only when the apply wrote
 * such a file.
 */
import { section } from '../sections.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface SyncRequest {
  readonly kind: 'sync';
}

export interface SyncReply {
  readonly kind: 'sync';
}

export const sync: RequestKind<SyncRequest, SyncReply> = {
  script: (_req, tag) => [section(tag, 'answer'), 'sync 2>&1 9>&-', section(tag, 'end')].join('\n'),
  parse: (_req, sections, ctx) => {
    if (!sections.has('end')) throw endedEarly(ctx, 'the sync to disk');
    return { kind: 'sync' };
  },
};
