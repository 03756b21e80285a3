/**
 * `lvsform state list | show | rm`: what a stack owns on its directors, and letting go of a service without touching
 * it (Terraform's `removed { lifecycle { destroy = false } }`). Every director is reached through `DirectorHost` in
 * one round trip per phase: the lock and the read together, then (for `rm`, after the confirmation, under the same
 * lock) the rewritten record. The IPVS table is read, never written.
 */
import { LvsError, errorInfo, isErrorCode } from '../model/errors.ts';
import type { DesiredDirector } from '../model/desired-director.ts';
import { ownedEntries, recordWithout, resolveStateAddresses, type DirectorState, type StackState, type StateEntry } from '../plan/state.ts';
import type { LiveState } from '../model/live-state.ts';
import type { DirectorHost, OpenDirectorHost } from '../host/director-host.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import { lockRequest, replyOf } from '../host/requests/index.ts';
import { eachDirector, openWith } from '../host/fan-out.ts';
import type { SessionOptions } from '../host/transport.ts';
import { describeTarget } from '../model/host-target.ts';

export interface StateOptions extends SessionOptions {
  readonly stack: string;
  /** Directors read at once. @default 10 */
  readonly parallelism?: number;
  /** Seconds to wait for another run's lock. @default 0 */
  readonly lockTimeout?: number;
  readonly onProgress?: (director: string, message: string) => void;
  /** How a director is reached. @default the `sh` host (local or OpenSSH); tests pass an in-memory one. */
  readonly openHost?: OpenDirectorHost;
}

interface OpenState {
  readonly desired: DesiredDirector;
  readonly host: DirectorHost;
  readonly live: LiveState;
}

/** Opens a director: the lock and the read of the table and record, in one round trip. */
async function open(desired: DesiredDirector, exclusive: boolean, operation: string, opts: StateOptions): Promise<OpenState> {
  opts.onProgress?.(desired.name, `connecting to ${describeTarget(desired.target)}; reading the ownership record`);
  return openWith((opts.openHost ?? openShDirectorHost)(desired.target, opts), async (host) => {
    const [, { live }] = await host.exchange(
      [lockRequest(operation, exclusive, opts.lockTimeout ?? 0), { kind: 'read-table', stack: opts.stack, thresholds: true, record: true }],
      { underLock: true },
    );
    return { desired, host, live };
  });
}

function stateOf(o: OpenState): DirectorState {
  return {
    director: o.desired.name,
    target: o.desired.target,
    record: o.live.record !== undefined,
    entries: ownedEntries(o.desired.name, o.live, o.desired.paths, o.desired.runtime),
  };
}

/** `state list` and `state show`: every director read under a shared lock. A director that fails is reported in place. */
export async function readState(directors: readonly DesiredDirector[], opts: StateOptions): Promise<StackState> {
  const states = await eachDirector(
    directors,
    opts,
    async (desired): Promise<DirectorState> => {
      const opened = await open(desired, false, 'state list', opts);
      try {
        return stateOf(opened);
      } finally {
        await opened.host.close();
      }
    },
    (desired, e) => ({ director: desired.name, target: desired.target, record: false, entries: [], error: errorInfo(e) }),
  );
  return { stack: opts.stack, directors: states };
}

/** Every owned service of a read stack, refusing to resolve addresses while a director could not be read. */
export function allEntries(state: StackState): StateEntry[] {
  const failed = state.directors.find((d) => d.error);
  if (failed?.error) {
    throw new LvsError(
      isErrorCode(failed.error.code) ? failed.error.code : 'LVS_INTERNAL',
      `${failed.error.message.includes(`director ${failed.director}`) ? '' : `${describeTarget(failed.target)}: `}${failed.error.message}`,
      {
        hint: `${failed.error.hint ? `${failed.error.hint} ` : ''}An address is resolved against every director of the stack; name the others with --director to leave this one out.`,
      },
    );
  }
  return state.directors.flatMap((d) => d.entries);
}

export interface RemoveOptions extends StateOptions {
  /** Asked once, while every director is locked, with the services about to be let go of. Return false to change nothing. */
  readonly confirm?: (entries: readonly StateEntry[]) => Promise<boolean>;
}

export interface RemoveReport {
  /** The services no longer owned (empty when the confirmation was declined). */
  readonly removed: readonly StateEntry[];
  readonly confirmed: boolean;
}

/**
 * `state rm`: under each director's exclusive lock (as apply), reads the records, resolves the addresses, asks, and
 * rewrites the record of each director concerned without the services named. The IPVS table is never written.
 */
export async function removeFromState(directors: readonly DesiredDirector[], addresses: readonly string[], opts: RemoveOptions): Promise<RemoveReport> {
  const opened: OpenState[] = [];
  try {
    // Every director is opened (or fails) before the first failure is thrown, so that each opened one is closed.
    const results = await eachDirector(
      directors,
      opts,
      async (desired): Promise<{ failure?: unknown }> => {
        opened.push(await open(desired, true, 'state rm', opts));
        return {};
      },
      (_, failure) => ({ failure }),
    );
    const failed = results.find((r) => 'failure' in r);
    if (failed) throw failed.failure;
    const byName = new Map(opened.map((o) => [o.desired.name, o]));
    const state: StackState = { stack: opts.stack, directors: directors.map((d) => stateOf(byName.get(d.name)!)) };
    const chosen = resolveStateAddresses(opts.stack, addresses, allEntries(state));
    if (opts.confirm && !(await opts.confirm(chosen))) return { removed: [], confirmed: false };
    await eachDirector([...new Set(chosen.map((e) => e.director))], opts, async (name) => {
      const o = byName.get(name)!;
      const ids = chosen.filter((e) => e.director === name).map((e) => e.serviceId);
      const record = recordWithout(o.live.record!, ids);
      opts.onProgress?.(name, `rewriting the ownership record (${ids.length} service(s) no longer owned)`);
      // The table stored for --refresh=false lists the services let go of: it goes with the record, same round trip.
      const dropTable = o.live.record?.fast ? [{ kind: 'store-table', stack: opts.stack, text: undefined } as const] : [];
      const replies = await o.host.exchange([...dropTable, { kind: 'write-record', stack: opts.stack, record, gzip: false }], { underLock: true });
      const written = replyOf(replies, 'write-record')!;
      if (!written.confirmed) {
        throw new LvsError('LVS_RECORD_WRITE', `director ${describeTarget(o.desired.target)}: the ownership record was not rewritten: ${written.said}`, {
          hint: 'Nothing else was changed; the services are still owned there. Run `lvsform state rm` again.',
        });
      }
    });
    return { removed: chosen, confirmed: true };
  } finally {
    await Promise.all(opened.map((o) => o.host.close()));
  }
}
