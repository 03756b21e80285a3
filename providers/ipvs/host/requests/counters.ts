/** `counters`: connection counters per `serviceId -> destinationId` (`ipvsadm -L -n`), for draining. */
import type { Counters } from '../../model/model.ts';
import { parseCounters } from '../../read/parse-list.ts';
import { section } from '../sections.ts';
import type { RequestKind } from './kind.ts';

export interface CountersRequest {
  readonly kind: 'counters';
}

export interface CountersReply {
  readonly kind: 'counters';
  readonly counters: ReadonlyMap<string, Counters>;
}

export const counters: RequestKind<CountersRequest, CountersReply> = {
  script: (_req, tag) => [section(tag, 'list'), 'ipvsadm -L -n 2>&1 9>&-', section(tag, 'end')].join('\n'),
  parse: (_req, sections, ctx) => ({
    kind: 'counters',
    counters: parseCounters(sections.get('list') ?? '', undefined, `ipvsadm -L -n on ${ctx.target.name}`),
  }),
};
