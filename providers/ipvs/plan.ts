/**
 * A plan is data before it is text: per director, the ordered changes with before/after values, the fingerprint of
 * the live table it was computed against, the batch that carries it out, and what the stack will own afterwards.
 * Text, JSON and Markdown are renderings of this one object.
 */
import { diffTables, renderBatch, type Change } from './diff.ts';
import { serviceHash, type LiveState } from './read-live.ts';
import { destinationId, serviceId, type Destination, type ServiceKey, type Table } from './model.ts';
import type { HostTarget } from './transport.ts';

export const PLAN_FORMAT = 1;

export interface DirectorPlan {
  readonly director: string;
  readonly target: HostTarget;
  /** Fingerprint of the live table the plan was computed against; `apply PLANFILE` refuses any other. */
  readonly fingerprint: string;
  readonly changes: readonly Change[];
  /** Owned services whose live state differs from what lvsform last applied (changed outside lvsform). */
  readonly drift: readonly string[];
  /** Live services this stack neither owns nor declares: listed, never touched. */
  readonly unmanaged: readonly string[];
  /** Declared services that exist live but are not owned by this stack (need `--adopt`). */
  readonly conflicts: readonly string[];
  /** Declared services taken over by this plan (`--adopt`). */
  readonly adopted: readonly string[];
  /** The `ipvsadm -R` lines that carry out `changes`. */
  readonly batch: string;
  /** The desired state of every service the stack will own here, to verify against after the batch. */
  readonly desired: Table;
  /** serviceId → construct path, for the ownership record after apply. */
  readonly paths: Readonly<Record<string, string>>;
  /**
   * Real servers that leave gracefully: their weight goes to 0 first, and they are deleted when their connections
   * reach 0 or `drainTimeout` passes (UDP and an explicit --no-drain skip this).
   */
  readonly drain: readonly DrainItem[];
  /** Seconds to wait for drained real servers. */
  readonly drainTimeout: number;
  /**
   * How the live state was read: `trusted` when `refresh: false` trusted the stored table (its /proc fingerprint
   * matched), else the full read, with the reason the fast path was not taken. Absent for the default full read.
   */
  readonly refresh?: { readonly trusted: boolean; readonly reason?: string };
  /** Set when the director could not be planned (unreachable, locked, unreadable). */
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

export interface DrainItem {
  readonly serviceId: string;
  readonly serviceKey: ServiceKey;
  readonly destinationId: string;
  readonly destination: Destination;
}

export interface Plan {
  readonly formatVersion: typeof PLAN_FORMAT;
  readonly stack: string;
  readonly createdAt: string;
  readonly mode: 'apply' | 'destroy' | 'refresh-only';
  readonly directors: readonly DirectorPlan[];
}

export interface DesiredDirector {
  readonly name: string;
  readonly target: HostTarget;
  readonly table: Table;
  /** serviceId → construct path. */
  readonly paths: ReadonlyMap<string, string>;
}

export interface PlanOptions {
  /** Take ownership of declared services that exist live but are not owned. */
  readonly adopt?: boolean;
  /** Report drift only; propose no changes. */
  readonly refreshOnly?: boolean;
  /** Drain real servers before deleting them. @default true */
  readonly drain?: boolean;
  /** Seconds to wait for a drained real server's connections to end. @default 30 */
  readonly drainTimeout?: number;
}

export const DEFAULT_DRAIN_SECONDS = 30;

/** The real servers a set of changes removes from TCP, SCTP and firewall-mark services (UDP leaves at once). */
export function drainItems(changes: readonly Change[]): DrainItem[] {
  const items: DrainItem[] = [];
  for (const c of changes) {
    if (c.action !== 'delete' || c.replace || c.serviceId.startsWith('udp ')) continue;
    if (c.kind === 'destination') {
      items.push({ serviceId: c.serviceId, serviceKey: c.serviceKey, destinationId: c.destinationId, destination: c.before! });
    } else {
      for (const d of c.before?.destinations ?? []) {
        items.push({ serviceId: c.serviceId, serviceKey: c.serviceKey, destinationId: destinationId(d), destination: d });
      }
    }
  }
  return items;
}

/** Plans one director: the exact diff between its live table and the desired one, within what the stack owns. */
export function planDirector(desired: DesiredDirector, live: LiveState, opts: PlanOptions = {}): DirectorPlan {
  const recorded = live.record?.services ?? {};
  const liveById = new Map(live.table.services.map((s) => [serviceId(s.key), s]));
  const desiredIds = new Set(desired.table.services.map((s) => serviceId(s.key)));

  const owned = new Set(Object.keys(recorded));
  const adopted: string[] = [];
  if (opts.adopt) {
    for (const id of desiredIds) {
      if (!owned.has(id) && liveById.has(id)) {
        owned.add(id);
        adopted.push(id);
      }
    }
  }

  const drift: string[] = [];
  for (const [id, entry] of Object.entries(recorded)) {
    const svc = liveById.get(id);
    const applied = (entry as { h?: unknown }).h;
    if (!svc || (typeof applied === 'string' && applied !== serviceHash(svc))) drift.push(id);
  }

  const diff = diffTables(live.table, desired.table, { owned });
  const changes = opts.refreshOnly ? [] : diff.changes;
  const ownedDesired = desired.table.services.filter((s) => !diff.conflicts.includes(serviceId(s.key)));
  const paths: Record<string, string> = {};
  for (const s of ownedDesired) {
    const id = serviceId(s.key);
    paths[id] = desired.paths.get(id) ?? recorded[id]?.path ?? id;
  }
  return {
    director: desired.name,
    target: desired.target,
    fingerprint: live.fingerprint,
    changes,
    drift: drift.sort(),
    unmanaged: diff.unmanaged,
    conflicts: diff.conflicts,
    adopted: adopted.sort(),
    batch: renderBatch(changes),
    drain: opts.drain === false ? [] : drainItems(changes),
    drainTimeout: opts.drainTimeout ?? DEFAULT_DRAIN_SECONDS,
    desired: { services: ownedDesired },
    paths,
  };
}

export interface PlanCounts {
  add: number;
  change: number;
  destroy: number;
}

/** Terraform-style counts: services and real servers alike; a replacement counts as one add and one destroy. */
export function countChanges(changes: readonly Change[]): PlanCounts {
  const counts = { add: 0, change: 0, destroy: 0 };
  for (const c of changes) {
    if (c.action === 'create') counts.add += 1;
    else if (c.action === 'update') counts.change += 1;
    else counts.destroy += 1;
  }
  return counts;
}

export function planHasChanges(plan: Plan): boolean {
  return plan.directors.some((d) => d.changes.length > 0 || d.adopted.length > 0);
}

export function planHasErrors(plan: Plan): boolean {
  return plan.directors.some((d) => d.error !== undefined || d.conflicts.length > 0);
}
