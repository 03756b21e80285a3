/**
 * `batch`: feeds a batch to `ipvsadm -R`. It is not atomic: a line the kernel rejects prints an error and the rest
 * carries on, exit 0; so every batch is verified by reading back, and what it printed is kept for the report.
 */
import { section } from '../sections.ts';
import { hereDoc } from '../shell-quote.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface BatchRequest {
  readonly kind: 'batch';
  /** `ipvsadm -R` lines. */
  readonly batch: string;
}

export interface BatchReply {
  readonly kind: 'batch';
  /** What `ipvsadm -R` printed (kernel rejections, with exit 0), trimmed. */
  readonly said: string;
  /** Its exit status. */
  readonly status: number;
}

export function batchChunk(tag: string, batch: string): string {
  return [
    section(tag, 'restore'),
    `ipvsadm -R 2>&1 9>&- ${hereDoc(batch)}`,
    'lvs_rc=$?',
    section(tag, 'restore-status'),
    'echo "$lvs_rc"',
    section(tag, 'end'),
  ].join('\n');
}

export const batch: RequestKind<BatchRequest, BatchReply> = {
  script: (req, tag) => batchChunk(tag, req.batch),
  parse: (_req, sections, ctx) => {
    if (!sections.has('end')) throw endedEarly(ctx, 'the batch');
    return { kind: 'batch', said: (sections.get('restore') ?? '').trim(), status: Number((sections.get('restore-status') ?? '').trim()) };
  },
};
