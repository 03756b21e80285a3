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
  /**
   * A script that runs at the end of the round trip, after every request's `script`, in the same sections: work the
   * request's reply does not wait on, that the host can do while the round trip's other answers travel (the ownership
   * record's rename after a batch, while its read-back is on its way and compared). Undefined: none.
   */
  tail?(req: Req, tag: string): string | undefined;
  /**
   * The typed reply, from the request's sections; throws LvsError when the answer says the request failed. `early`
   * holds what `early` worked out from a section while the rest of the answer was still coming.
   */
  parse(req: Req, sections: Sections, ctx: ReplyContext, early?: EarlyWork): Rep;
  /**
   * Work on one section that can start as soon as that section is complete, while the host still works on the
   * following ones (parsing a large dump): by section name. What it returns reaches `parse` through `early`, and only
   * for the very text `parse` is given; a throw is dropped (`parse` meets the same input and reports it in its order).
   */
  readonly early?: Readonly<Record<string, (req: Req, text: string, ctx: Pick<ReplyContext, 'target' | 'where'>) => unknown>>;
  /**
   * Sections whose `early` work takes only their head (`splitHead`): by section name, the start of the line that ends
   * the head. The work starts when that line arrives, and `parse` finds it under the head's text.
   */
  readonly heads?: Readonly<Record<string, string>>;
}

/** What a request kind's `early` work returned, by section name, with the text it was given. */
export type EarlyWork = ReadonlyMap<string, { readonly text: string; readonly value: unknown }>;

/** The result of `early` work on a section, if it was done on exactly `text`. */
export function earlyResult<T>(early: EarlyWork | undefined, section: string, text: string | undefined): T | undefined {
  const done = early?.get(section);
  return done !== undefined && done.text === text ? (done.value as T) : undefined;
}

/** The error for an answer whose sections stop before their end (the host's shell or its output broke off). */
export function endedEarly(ctx: Pick<ReplyContext, 'where' | 'stdout'> & { readonly target?: HostTarget }, what: string, keep = 300): LvsError {
  const kind = ctx.target ? hostKind(ctx.target) : 'director';
  return new LvsError('LVS_HOST_OUTPUT', `${kind} ${ctx.where}: ${what} ended early; the host printed: ${ctx.stdout.slice(-keep)}`);
}
