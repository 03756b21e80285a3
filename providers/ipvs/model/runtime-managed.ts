/**
 * Real-server attributes left to a health checker at run time (Terraform's `ignore_changes`). keepalived's checkers,
 * or a script that sets weight 0 on a failed server, change weights and thresholds in the kernel behind lvsform's
 * back; a pool or service that declares them run-time managed keeps whatever the kernel holds for its existing
 * members: the plan neither shows nor reverts them, and drift ignores them. A member the kernel does not have yet
 * still gets its declared values, and a member the app drops is still removed: only the values of members that
 * exist on both sides are the checker's.
 */
import { destinationId, serviceId, type Destination, type Service, type Table } from './model.ts';

/** The attributes a checker may own: `weight`, and `thresholds` (upper and lower together, as the kernel checks them). */
export const RUNTIME_FIELDS = ['thresholds', 'weight'] as const;
export type RuntimeField = (typeof RUNTIME_FIELDS)[number];

/** serviceId → destinationId → the run-time managed fields of that real server (only real servers that have some). */
export type RuntimeManaged = Readonly<Record<string, Readonly<Record<string, readonly RuntimeField[]>>>>;

/** The value of `field` taken from `from` into `into`. */
function take(into: Destination, from: Destination, fields: readonly RuntimeField[]): Destination {
  let out = into;
  if (fields.includes('weight') && out.weight !== from.weight) out = { ...out, weight: from.weight };
  if (fields.includes('thresholds') && (out.upperThreshold !== from.upperThreshold || out.lowerThreshold !== from.lowerThreshold)) {
    out = { ...out, upperThreshold: from.upperThreshold, lowerThreshold: from.lowerThreshold };
  }
  return out;
}

/**
 * The desired table with the run-time managed fields of every real server that is live already replaced by their
 * live values, so that a diff against `live` neither shows nor reverts them. Returns `desired` itself when nothing
 * is run-time managed (the common case costs nothing and keeps identity).
 */
export function keepRuntimeValues(desired: Table, live: Table, runtime: RuntimeManaged | undefined): Table {
  if (runtime === undefined || Object.keys(runtime).length === 0) return desired;
  const liveById = new Map(live.services.map((s) => [serviceId(s.key), s]));
  let changed = false;
  const services = desired.services.map((want): Service => {
    const sid = serviceId(want.key);
    const fields = runtime[sid];
    const have = liveById.get(sid);
    if (fields === undefined || have === undefined) return want;
    const liveDest = new Map(have.destinations.map((d) => [destinationId(d), d]));
    let touched = false;
    const destinations = want.destinations.map((d) => {
      const own = fields[destinationId(d)];
      const now = liveDest.get(destinationId(d));
      if (own === undefined || now === undefined) return d;
      const kept = take(d, now, own);
      if (kept !== d) touched = true;
      return kept;
    });
    if (!touched) return want;
    changed = true;
    return { ...want, destinations };
  });
  return changed ? { services } : desired;
}

/**
 * A live service with its run-time managed fields set to 0, for the drift hash: a checker's change of them is not
 * drift. Returns `service` itself when none of its real servers has such a field.
 */
export function maskRuntimeValues(service: Service, runtime: RuntimeManaged | undefined): Service {
  const fields = runtime?.[serviceId(service.key)];
  if (fields === undefined) return service;
  let touched = false;
  const destinations = service.destinations.map((d) => {
    const own = fields[destinationId(d)];
    if (own === undefined) return d;
    const zero = { ...d, weight: 0, upperThreshold: 0, lowerThreshold: 0 };
    const masked = take(d, zero, own);
    if (masked !== d) touched = true;
    return masked;
  });
  return touched ? { ...service, destinations } : service;
}
