/**
 * Verification after a batch: `ipvsadm -R` exits 0 even when the kernel rejects lines, so every apply reads the table
 * back. Three strategies, cheapest first, behind `verifyApply`: the fast path (the stored table and /proc plus the
 * changed services' listings, `--refresh=false`), /proc/net/ip_vs alone when it shows every attribute of the owned
 * services, and the full read (`ipvsadm -S -n`, plus thresholds when any matter). A strategy that cannot be sure
 * gives way to the next; the caller diffs what it returns against the desired state.
 */
import type { Change } from '../model/change.ts';
import { digestFingerprint, procShowsAll, verifyByProc, verifyFast, type ExpectedProc, type FastContext, type SendProc } from './fast-path.ts';
import type { HostRequest, RepliesOf } from '../host/requests/index.ts';
import { normalizeTable, serviceId, type Service, type Table } from '../model/model.ts';
import { diffTables } from '../plan/diff.ts';
import { keepRuntimeValues } from '../model/runtime-managed.ts';
import { ownRecord } from '../plan/plan.ts';
import type { DirectorPlan } from '../plan/plan.ts';
import type { LiveState } from '../model/live-state.ts';

/** The live services (before the batch) that the stack owned or is taking over. */
export function ownedBefore(plan: DirectorPlan, before: LiveState): Service[] {
  if (before.table.services.length === 0) return [];
  const owned = new Set([...Object.keys(plan.paths), ...Object.keys(before.record?.services ?? {})]);
  return before.table.services.filter((s) => owned.has(serviceId(s.key)));
}

/**
 * Whether the read-back must list thresholds (a second full kernel dump, as costly as `ipvsadm -S -n`). Only when a
 * threshold is wanted, or was set before the batch, on a service the stack owns: every line of the batch writes the
 * thresholds it means (0 included), a real server the kernel creates starts at 0, and an edit the kernel rejects
 * leaves a difference `ipvsadm -S -n` shows (weight, method). A hand edit of only a threshold in the moment between
 * the batch and the read-back is the one thing this does not see; the next plan's full read does.
 */
function thresholdsMatter(plan: DirectorPlan, before: LiveState): boolean {
  const hasThresholds = (svcs: readonly Service[]) => svcs.some((s) => s.destinations.some((d) => d.upperThreshold > 0 || d.lowerThreshold > 0));
  const owned = new Set([...Object.keys(plan.paths), ...Object.keys(before.record?.services ?? {})]);
  return hasThresholds(plan.desired.services) || hasThresholds(before.table.services.filter((s) => owned.has(serviceId(s.key))));
}

/**
 * Sends requests in one round trip of a director's session (with whatever the caller carries in it) and resolves
 * with their replies.
 */
export type Send = <const R extends readonly HostRequest[]>(requests: R) => Promise<RepliesOf<R>>;

export interface Verified {
  /** The table after the batch (the owned services exact; others as they were). */
  readonly live: LiveState;
  /** The /proc fingerprint of that table, when a /proc read already gave it (worked out when asked: a hash of megabytes). */
  readonly procAfter?: () => string;
}

/** What /proc verification needs, worked out while the batch runs (work-ahead.ts). */
export interface VerifyAhead {
  /** Resolves once the work is done; undefined when /proc verification is not the strategy. */
  work(): Promise<{ readonly table: Table; readonly proc: ReadonlyMap<Service, ExpectedProc> } | undefined>;
}

/** Whether verifyApply reads /proc back (its second strategy): every attribute of the owned services shows there. */
export function verifiesByProc(plan: DirectorPlan, before: LiveState, fast: FastContext | undefined): boolean {
  if (fast && plan.drain.length === 0) return false;
  return procShowsAll(plan.desired.services) && procShowsAll(ownedBefore(plan, before));
}

/**
 * The table the batch is meant to leave: the owned services as desired, the others as they were. It depends on the
 * plan and the table before the batch only, so it can be worked out before the batch or while it runs.
 */
export function expectedTable(plan: DirectorPlan, before: LiveState): Table {
  const desiredIds = new Set(plan.desired.services.map((s) => serviceId(s.key)));
  const dropped = ownedBefore(plan, before)
    .map((s) => serviceId(s.key))
    .filter((id) => !desiredIds.has(id));
  const gone = new Set(dropped);
  const others = before.table.services.filter((s) => !desiredIds.has(serviceId(s.key)) && !gone.has(serviceId(s.key)));
  return normalizeTable({ services: [...others, ...plan.desired.services] });
}

/**
 * The differences left between the table read back and the desired state, on the services the stack owns now. A
 * health checker may have changed a run-time managed field since the plan was read: that is not a difference.
 */
export function residualAfter(plan: DirectorPlan, before: LiveState, after: Table): readonly Change[] {
  const ownedNow = new Set([...Object.keys(plan.paths), ...Object.keys(ownRecord(before)), ...plan.adopted]);
  return diffTables(after, keepRuntimeValues(plan.desired, after, plan.runtime), { owned: ownedNow }).changes;
}

/** Reads back what the batch left on the director, by the cheapest strategy that can be exact. */
export async function verifyApply(
  send: Send,
  stack: string,
  plan: DirectorPlan,
  before: LiveState,
  fast: FastContext | undefined,
  onProgress?: (director: string, message: string) => void,
  /** What a /proc verification needs, worked out while the batch ran (work-ahead.ts). */
  ahead?: VerifyAhead,
): Promise<Verified> {
  if (fast && plan.drain.length === 0) {
    onProgress?.(plan.director, 'verifying: /proc/net/ip_vs and the changed services');
    const v = await verifyFast(sendProc(send), fast, plan.changes as readonly Change[], plan.desired);
    if (v.ok) return { live: { ...before, table: v.owned }, procAfter: () => v.proc };
    onProgress?.(plan.director, `fast verification not possible (${v.reason})`);
  }
  if (procShowsAll(plan.desired.services) && procShowsAll(ownedBefore(plan, before))) {
    // Every attribute of the owned services shows in /proc/net/ip_vs: one cheap read verifies them exactly.
    onProgress?.(plan.director, 'verifying: reading /proc/net/ip_vs back');
    const desiredIds = new Set(plan.desired.services.map((s) => serviceId(s.key)));
    const dropped = ownedBefore(plan, before)
      .map((s) => serviceId(s.key))
      .filter((id) => !desiredIds.has(id));
    const live = before.table.services.length + plan.desired.services.length;
    const check = await verifyByProc(sendProc(send), plan.desired, dropped, live, async () => (await ahead?.work())?.proc);
    if (check.ok) {
      // The owned services as desired, the others as they were: worked out while the batch ran, or now.
      const table = (await ahead?.work())?.table ?? expectedTable(plan, before);
      return { live: { ...before, table }, procAfter: () => digestFingerprint(check.proc) };
    }
    onProgress?.(plan.director, `reading the whole table to report it exactly (${check.reason})`);
  }
  onProgress?.(plan.director, 'verifying: reading the table back');
  const [read] = await send([{ kind: 'read-table', stack, record: false, thresholds: thresholdsMatter(plan, before) }]);
  return { live: read.live };
}

/** One `proc` request in a round trip of its own (plus what the caller carries). */
export function sendProc(send: Send): SendProc {
  return async (req) => (await send([req]))[0];
}
