/**
 * `real-server-read`: what a real server holds (addresses, tunnel devices, ARP and rp_filter sysctls, fou ports,
 * default routes: real-server-chunk.ts) and the stack's record there. Changes nothing. The plan's one round trip to a
 * real server is `lock` and this.
 */
import type { LiveRealServer } from '../../model/real-server.ts';
import { parseRealServerRecord, type RealServerRecord } from '../../model/real-server-record.ts';
import { parseRealServerRead, realServerReadChunk, realServerRecordFile } from '../real-server-chunk.ts';
import { section } from '../sections.ts';
import { endedEarly, type RequestKind } from './kind.ts';

export interface RealServerReadRequest {
  readonly kind: 'real-server-read';
  readonly stack: string;
}

export interface RealServerReadReply {
  readonly kind: 'real-server-read';
  readonly live: LiveRealServer;
  readonly record: RealServerRecord | undefined;
}

export const realServerRead: RequestKind<RealServerReadRequest, RealServerReadReply> = {
  script: (req, tag) =>
    [
      section(tag, 'rs-record'),
      `if [ -f ${realServerRecordFile(req.stack)} ]; then cat ${realServerRecordFile(req.stack)}; echo; else echo "@@none"; fi`,
      realServerReadChunk(tag),
    ].join('\n'),
  parse: (req, sections, ctx) => {
    const live = parseRealServerRead(sections);
    if (!live) throw endedEarly(ctx, 'the real-server read');
    const text = (sections.get('rs-record') ?? '').trim();
    return { kind: 'real-server-read', live, record: text === '@@none' ? undefined : parseRealServerRecord(text, req.stack, ctx.where) };
  },
};
