/**
 * Working on many directors at once: each director's work runs up to `parallelism` at a time, and one that fails
 * (unreachable, locked, stale) is reported in its place and never stops the others. And the life of one director's
 * host around that work: killed and closed when its first step fails, closed when the caller is done.
 */
import pLimit from 'p-limit';
import type { DirectorHost } from './director-host.ts';

export interface EachDirectorOptions<D> {
  /** Directors worked on at once. @default 10 */
  readonly parallelism?: number | undefined;
  /** Called when a director's work has ended, whatever its end (progress lines: it waits on nothing now). */
  readonly done?: ((item: D) => void) | undefined;
}

/**
 * Runs `work` for every item (a director, a director's plan), up to `parallelism` at once, and resolves with the
 * results in the items' order. A work that throws gets `failed(item, error)` in its place; without `failed`, the first
 * failure rejects the whole (the others run on, as with `Promise.all`).
 */
export function eachDirector<D, T>(
  items: readonly D[],
  opts: EachDirectorOptions<D>,
  work: (item: D) => Promise<T>,
  failed?: (item: D, error: unknown) => T | Promise<T>,
): Promise<T[]> {
  const limit = pLimit(opts.parallelism ?? 10);
  return Promise.all(
    items.map((item) =>
      limit(async () => {
        try {
          return await work(item);
        } catch (e) {
          if (!failed) throw e;
          return await failed(item, e);
        } finally {
          opts.done?.(item);
        }
      }),
    ),
  );
}

/**
 * Runs the first step on a newly opened host (typically its lock and read). If it fails, the session is ended at once
 * and closed before the error goes on; otherwise the host stays open, and the caller closes it.
 */
export async function openWith<T>(host: DirectorHost, first: (host: DirectorHost) => Promise<T>): Promise<T> {
  try {
    return await first(host);
  } catch (e) {
    await dropHost(host);
    throw e;
  }
}

/** Runs `use` on a newly opened host and closes it after, whatever happens (ended at once first if `use` failed). */
export async function withHost<T>(host: DirectorHost, use: (host: DirectorHost) => Promise<T>): Promise<T> {
  const result = await openWith(host, use);
  await host.close();
  return result;
}

/** Ends a host's session at once (a failed step) and waits for it to close. */
export async function dropHost(host: DirectorHost): Promise<void> {
  host.kill();
  await host.close();
}
