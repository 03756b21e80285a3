/**
 * The shape of one request kind: its POSIX `sh` script (every value quoted, its answer in sections tagged with the
 * request's own tag) and the parser of those sections into the kind's typed reply. `index.ts` lists the kinds.
 */
import { LvsError } from '../../model/errors.ts';
import { hostKind, type HostTarget } from '../../model/host-target.ts';
import type { Sections } from '../sections.ts';

/** What a parser knows besides its own sections. */
export interface ReplyContext {
  readonly target: HostTarget;
  /** `describeTarget(target)`, for messages. */
  readonly where: string;
  /** The round trip's whole output, for "ended early" messages. */
  readonly stdout: string;
}

export interface RequestKind<Req, Rep> {
  /** The script; `tag` is the request's own (the round trip's tag and the request's place in it). */
  script(req: Req, tag: string): string;
  /** The typed reply, from the request's sections; throws LvsError when the answer says the request failed. */
  parse(req: Req, sections: Sections, ctx: ReplyContext): Rep;
}

/** The error for an answer whose sections stop before their end (the host's shell or its output broke off). */
export function endedEarly(ctx: Pick<ReplyContext, 'where' | 'stdout'> & { readonly target?: HostTarget }, what: string, keep = 300): LvsError {
  const kind = ctx.target ? hostKind(ctx.target) : 'director';
  return new LvsError('LVS_HOST_OUTPUT', `${kind} ${ctx.where}: ${what} ended early; the host printed: ${ctx.stdout.slice(-keep)}`);
}
