/**
 * Graceful termination, as one unit (kube-proxy's graceful-termination manager): which real servers drain (those a
 * plan removes from TCP, SCTP and firewall-mark services; UDP has no connection to finish, so it leaves at once), the
 * order (weight 0 first, with every other change; the deletes last). The wait between is apply's (apply/drain-wait.ts).
 */
import { renderBatch } from './diff.ts';
import type { Change } from '../model/change.ts';
import { destinationId } from '../model/model.ts';
import type { DirectorPlan, DrainItem } from './plan.ts';
import { renderEditDestination } from '../model/render-restore.ts';

/** Seconds to wait for a drained real server's connections to end, unless the app or the command line says. */
export const DEFAULT_DRAIN_SECONDS = 30;

/** The real servers a set of changes removes from TCP, SCTP and firewall-mark services (UDP leaves at once). */
export function drainItems(changes: readonly Change[]): DrainItem[] {
  const items: DrainItem[] = [];
  for (const c of changes) {
    if (c.action !== 'delete' || c.replace || (c.serviceKey.kind === 'addr' && c.serviceKey.protocol === 'udp')) continue;
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

/**
 * The two batches of a drained apply: every change but the held deletes, with the drained real servers set to weight
 * 0 so that no new connection reaches them; then the held deletes, once they are idle.
 */
export function drainBatches(plan: DirectorPlan): { readonly first: string; readonly held: string; readonly firstCount: number } {
  const held = new Set(plan.drain.map((d) => `${d.serviceId} -> ${d.destinationId}`));
  const heldServices = new Set(plan.drain.map((d) => d.serviceId));
  const isHeld = (c: Change): boolean =>
    c.action === 'delete' && !c.replace && (c.kind === 'service' ? heldServices.has(c.serviceId) : held.has(`${c.serviceId} -> ${c.destinationId}`));
  const first = plan.changes.filter((c) => !isHeld(c));
  const zero = plan.drain.map((d) => renderEditDestination(d.serviceKey, { ...d.destination, weight: 0 }));
  return { first: renderBatch(first) + zero.map((l) => `${l}\n`).join(''), held: renderBatch(plan.changes.filter(isHeld)), firstCount: first.length };
}
