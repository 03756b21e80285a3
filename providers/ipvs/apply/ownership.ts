/**
 * The ownership record over an apply: the pending record written before a batch that creates services (so a lost
 * connection leaves nothing unowned), and the record rebuilt after it from what is really on the director.
 */
import { fastStateOf } from './fast-path.ts';
import { serviceId, type Service } from '../model/model.ts';
import type { DirectorPlan } from '../plan/plan.ts';
import { serviceHash, type LiveState } from '../model/live-state.ts';
import { RECORD_FORMAT, type ForeignOwners, type OwnershipRecord } from '../model/record.ts';
import { maskRuntimeValues } from '../model/runtime-managed.ts';
import { sameDaemon } from '../model/director-pair.ts';
import { emptySettingsRecord, type LiveSettings, type OwnedAddress, type SettingsRecord } from '../model/director-settings.ts';
import type { HostReply, SettingsApplyReply } from '../host/requests/index.ts';
import { settingsRecordAfter } from '../plan/settings.ts';

/**
 * Builds the ownership record from what is really on the director after the batch. `others` (the services other
 * stacks' records claim) drops this stack's claim on a service another stack also claims.
 */
export function recordAfter(
  stack: string,
  plan: DirectorPlan,
  live: LiveState,
  previous: OwnershipRecord | undefined,
  others?: ForeignOwners,
  settings?: SettingsRecord,
  /** A service's hash worked out ahead (work-ahead.ts), for the very service objects of `live`; else worked out here. */
  hashOf: (svc: Service) => string | undefined = () => undefined,
): OwnershipRecord | undefined {
  const liveById = new Map(live.table.services.map((s) => [serviceId(s.key), s]));
  const services: OwnershipRecord['services'] = {};
  const candidates = new Set([...Object.keys(plan.paths), ...Object.keys(previous?.services ?? {})]);
  const untouched = new Set(plan.targeted?.untouched ?? []);
  for (const id of candidates) {
    const svc = liveById.get(id);
    if (!svc) continue;
    // A claim another stack's record also makes is dropped, the service left as it is: ownership is exclusive. (A
    // service this stack still declares is then a conflict of the plan, and no apply reaches this point.)
    if (others?.has(id)) continue;
    // A service outside --target keeps its entry as it was, so drift on it stays visible to the next plan.
    const kept = untouched.has(id) ? previous?.services[id] : undefined;
    // The hash leaves out what a health checker owns (runtimeManaged), so that its changes are not drift.
    services[id] = kept ?? { path: plan.paths[id] ?? previous?.services[id]?.path ?? id, h: hashOf(svc) ?? recordHash(svc, plan) };
  }
  if (Object.keys(services).length === 0 && emptySettingsRecord(settings)) return undefined;
  return newRecord(stack, plan, services, emptySettingsRecord(settings) ? undefined : settings);
}

/** A service's hash in the record: it leaves out what a health checker owns (runtimeManaged). */
export function recordHash(svc: Service, plan: DirectorPlan): string {
  return serviceHash(maskRuntimeValues(svc, plan.runtime));
}

/** A record of this run, written now: its services, and its settings when it has any. */
function newRecord(stack: string, plan: DirectorPlan, services: OwnershipRecord['services'], settings: SettingsRecord | undefined): OwnershipRecord {
  return {
    format: RECORD_FORMAT,
    stack,
    director: plan.director,
    updated: new Date().toISOString(),
    services,
    ...(settings === undefined ? {} : { settings }),
  };
}

/**
 * The settings to record before a batch whose settings add something: what the previous record owned and what the plan
 * will own, together, so that a connection lost mid-way leaves no added address unowned and no prior value forgotten.
 */
function pendingSettings(plan: DirectorPlan, previous: SettingsRecord | undefined): SettingsRecord | undefined {
  const adds = (plan.settings ?? []).some((c) => c.action !== 'delete');
  if (!adds) return undefined;
  const next = plan.settingsRecord;
  const key = (a: OwnedAddress) => `${a.address} ${a.device}`;
  const addresses = new Map([...(previous?.addresses ?? []), ...(next?.addresses ?? [])].map((a) => [key(a), a]));
  const links = [...new Set([...(previous?.links ?? []), ...(next?.links ?? [])])].sort();
  const sysctls = { ...(next?.sysctls ?? {}), ...(previous?.sysctls ?? {}) };
  const timeouts = previous?.timeouts ?? next?.timeouts;
  // The daemons about to start and the keepalived file about to be written are lvsform's from now on, whatever happens.
  const daemons = [...(previous?.daemons ?? []), ...(next?.daemons ?? [])].filter((d, i, all) => all.findIndex((x) => sameDaemon(x, d)) === i);
  const keepalived = next?.keepalived ?? previous?.keepalived;
  return {
    ...(addresses.size > 0 ? { addresses: [...addresses.values()] } : {}),
    ...(links.length > 0 ? { links } : {}),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
    ...(timeouts ? { timeouts } : {}),
    ...(daemons.length > 0 ? { daemons } : {}),
    ...(keepalived ? { keepalived } : {}),
  };
}

/** The read-backs of the settings phases, merged, and the first failure (whose read-back is merged too). */
export function settledSettings(replies: readonly HostReply[]): { after?: LiveSettings; error?: unknown } {
  let after: LiveSettings | undefined;
  let error: unknown;
  for (const r of replies.filter((x): x is SettingsApplyReply => x.kind === 'settings-apply')) {
    after = after ? { ...after, ...r.after } : r.after;
    error ??= r.error;
  }
  return { ...(after ? { after } : {}), ...(error === undefined ? {} : { error }) };
}

/**
 * The settings part of the record after an apply: the plan's, kept to what the read-back shows. After a failure the
 * values found before lvsform set anything are kept from the previous record too, so nothing to put back is forgotten.
 */
export function settingsAfter(
  plan: DirectorPlan,
  previous: SettingsRecord | undefined,
  outcome: { after?: LiveSettings; error?: unknown },
): SettingsRecord | undefined {
  const after = settingsRecordAfter(plan.settingsRecord, plan.settings ?? [], outcome.after);
  if (outcome.error === undefined || previous === undefined) return after;
  const sysctls = { ...(previous.sysctls ?? {}), ...(after?.sysctls ?? {}) };
  const timeouts = after?.timeouts ?? previous.timeouts;
  return {
    ...(after ?? {}),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
    ...(timeouts ? { timeouts } : {}),
  };
}

/**
 * The record to write before the batch when the plan creates services the stack does not own yet: the previous
 * entries plus one `pending` entry (no hash) per new service. Undefined when nothing new is created.
 */
export function pendingRecord(stack: string, plan: DirectorPlan, previous: OwnershipRecord | undefined): OwnershipRecord | undefined {
  const created = plan.changes.filter((c) => c.kind === 'service' && c.action === 'create' && !previous?.services[c.serviceId]);
  const settings = pendingSettings(plan, previous?.settings);
  const sameSettings = settings === undefined || JSON.stringify(settings) === JSON.stringify(previous?.settings);
  if (created.length === 0 && sameSettings) return undefined;
  const services: OwnershipRecord['services'] = { ...(previous?.services ?? {}) };
  for (const c of created) services[c.serviceId] = { path: plan.paths[c.serviceId] ?? c.serviceId, pending: true };
  // The fast-path state describes the table before this batch: a pending record carries none.
  return newRecord(stack, plan, services, settings ?? previous?.settings);
}

export function sameRecord(a: OwnershipRecord | undefined, b: OwnershipRecord | undefined): boolean {
  if (!a || !b) return a === b;
  const ka = Object.keys(a.services).sort();
  const kb = Object.keys(b.services).sort();
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && a.services[k]?.path === b.services[k]?.path && a.services[k]?.h === b.services[k]?.h) &&
    JSON.stringify(fastStateOf(a)) === JSON.stringify(fastStateOf(b)) &&
    JSON.stringify(a.settings ?? null) === JSON.stringify(b.settings ?? null)
  );
}
