/**
 * The one real `DirectorHost`: a POSIX `sh` on the director (`sh -s` locally, or OpenSSH), kept open for the whole
 * run and fed one script per round trip on its standard input (transport.ts). A round trip's script is its requests'
 * scripts in order (requests/), each answering in sections tagged with the round trip's random tag and its place in
 * it; the first round trip also sets the environment (`preludeChunk`).
 */
import { preludeChunk } from './host-script.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import type { DirectorHost, ExchangeOptions } from './director-host.ts';
import { type HostReply, type HostRequest, KINDS, type RepliesOf } from './requests/index.ts';
import type { EarlyWork, ReplyContext, RequestKind } from './requests/kind.ts';
import { unlockChunk } from './requests/unlock.ts';
import { newTag, partTag, sectionWatcher, splitRoundTrip } from './sections.ts';
import { HostSession, type SessionOptions } from './transport.ts';

/** A script that runs only while the lock is held (`lockChunk` sets `lvs_lock_ok` when it takes it). */
function whenLocked(script: string): string {
  return `if [ "$lvs_lock_ok" = 1 ]; then\n${script}\nfi`;
}

function kindOf<R extends HostRequest>(req: R): RequestKind<R, HostReply> {
  return KINDS[req.kind] as unknown as RequestKind<R, HostReply>;
}

/**
 * The script of a round trip: each request's own, then their tails (`RequestKind.tail`), those after a lock (or all,
 * without one) guarded by `underLock`. The shell reads a guarded group whole before it runs any of it.
 */
export function roundTripScript(requests: readonly HostRequest[], tag: string, underLock: boolean): string {
  const firstLock = requests.findIndex((r) => r.kind === 'lock');
  const parts = requests.map((r, i) => kindOf(r).script(r, partTag(tag, i)));
  const tails = requests.map((r, i) => kindOf(r).tail?.(r, partTag(tag, i)));
  const some = (list: readonly (string | undefined)[]): string[] => list.filter((t): t is string => t !== undefined);
  if (!underLock) return [...parts, ...some(tails)].join('\n');
  const free = firstLock < 0 ? 0 : firstLock + 1;
  const guarded = [...parts.slice(free), ...some(tails.slice(free))];
  return [...parts.slice(0, free), ...(guarded.length > 0 ? [whenLocked(guarded.join('\n'))] : []), ...some(tails.slice(0, free))].join('\n');
}

/** Early work by request (its part in the round trip), then by section name. */
type EarlyByPart = ReadonlyMap<string, EarlyWork>;

/** Parses a round trip's output into its replies, in request order; throws the first error an answer carries. */
export function parseRoundTrip(requests: readonly HostRequest[], tag: string, stdout: string, target: HostTarget, early?: EarlyByPart): HostReply[] {
  const { parts } = splitRoundTrip(tag, stdout);
  const ctx: ReplyContext = { target, where: describeTarget(target), stdout };
  return requests.map((r, i) => kindOf(r).parse(r, parts.get(String(i)) ?? new Map(), ctx, early?.get(String(i))));
}

/**
 * Runs the requests' `early` work on each section as soon as it is complete, while the answer is still coming (a
 * request kind with none costs nothing). Undefined when no request has any.
 */
export function earlyWatcher(
  requests: readonly HostRequest[],
  tag: string,
  target: HostTarget,
): { readonly onData: (piece: string) => void; readonly results: EarlyByPart } | undefined {
  const kinds = requests.map((r) => kindOf(r));
  if (!kinds.some((k) => k.early)) return undefined;
  const results = new Map<string, Map<string, { text: string; value: unknown }>>();
  const ctx = { target, where: describeTarget(target) };
  const onData = sectionWatcher(
    tag,
    (part, name, text) => {
      const i = Number(part);
      const work = Number.isInteger(i) ? kinds[i]?.early?.[name] : undefined;
      if (!work) return;
      try {
        const value = work(requests[i]!, text, ctx);
        const mine = results.get(part) ?? new Map<string, { text: string; value: unknown }>();
        mine.set(name, { text, value });
        results.set(part, mine);
      } catch {
        // The parse meets the same text and reports it, in its order.
      }
    },
    (part, name) => {
      const i = Number(part);
      return Number.isInteger(i) ? kinds[i]?.heads?.[name] : undefined;
    },
  );
  return { onData, results };
}

export class ShDirectorHost implements DirectorHost {
  private readonly session: HostSession;
  private prelude = false;
  private locked = false;

  constructor(
    readonly target: HostTarget,
    opts: SessionOptions = {},
  ) {
    this.session = HostSession.open(target, opts);
  }

  async exchange<const R extends readonly HostRequest[]>(requests: R, opts: ExchangeOptions = {}): Promise<RepliesOf<R>> {
    const tag = newTag();
    let script = roundTripScript(requests, tag, opts.underLock ?? false);
    if (!this.prelude) {
      // The environment travels with the first round trip: no round trip of its own.
      this.prelude = true;
      script = `${preludeChunk()}\n${script}`;
    }
    if (requests.some((r) => r.kind === 'lock')) this.locked = true;
    const early = earlyWatcher(requests, tag, this.target);
    const { stdout } = await this.session.run(script, opts.onSent, early?.onData);
    opts.onAnswer?.();
    return parseRoundTrip(requests, tag, stdout, this.target, early?.results) as RepliesOf<R>;
  }

  /** The unlock is the shell's last input: no round trip is waited for (the kernel frees the lock with the shell anyway). */
  close(): Promise<void> {
    return this.session.close(this.locked ? unlockChunk() : undefined);
  }

  kill(): void {
    this.session.kill();
  }
}

/** The engine's default way to open a director. */
export function openShDirectorHost(target: HostTarget, opts: SessionOptions = {}): DirectorHost {
  return new ShDirectorHost(target, opts);
}
