/**
 * The seam between the engine and a director, as kube-proxy's proxier talks to `utilipvs.Interface`: every verb
 * (plan, apply, destroy, doctor, status, state, import, force-unlock) reaches a director only through a
 * `DirectorHost`, and only by `exchange`: a list of typed requests out (requests/index.ts), their typed replies back,
 * one call one round trip. What to ask and what the answers mean (verification, set-up, doctor, status, the drain
 * wait) is decided above it, in apply/ and ops/.
 *
 * Implementations: the `sh` host (sh-director-host.ts: one POSIX shell per director, locally or over OpenSSH), the
 * read-only host (read-only-host.ts: the fixed read script a plan key may run), and in the tests an in-memory fake
 * that answers every request kind with the kernel's rules.
 */
import type { HostTarget } from '../model/host-target.ts';
import type { HostRequest, RepliesOf } from './requests/index.ts';
import type { SessionOptions } from './transport.ts';

export interface ExchangeOptions {
  /**
   * The requests after a `lock` run only if that lock was taken (a refused lock fails the round trip with its
   * error); with no lock in the round trip, they run only while the session holds the lock it took before.
   */
  readonly underLock?: boolean;
  /** Called when the host's answer has arrived, before it is parsed (timings). */
  readonly onAnswer?: () => void;
  /**
   * Called once the whole round trip has been handed to the host's transport: host work started then does not hold
   * up the sending (see apply/work-ahead.ts).
   */
  readonly onSent?: () => void;
}

export interface DirectorHost {
  readonly target: HostTarget;
  /**
   * Sends the requests in one round trip and resolves with their replies, in order. Rejects with the first error an
   * answer carries, in request order (a refused lock, a failed read), or with the transport's (LVS_HOST_UNREACHABLE,
   * LVS_CONNECTION_LOST). Never called twice at once on one host.
   */
  exchange<const R extends readonly HostRequest[]>(requests: R, opts?: ExchangeOptions): Promise<RepliesOf<R>>;
  /** Releases the lock (if this session took it) and ends the session. */
  close(): Promise<void>;
  /** Ends the session at once (a failed step, Ctrl-C). */
  kill(): void;
}

/** Opens a `DirectorHost` for a director. The engine's default is the `sh` implementation. */
export type OpenDirectorHost = (target: HostTarget, opts: SessionOptions) => DirectorHost;
