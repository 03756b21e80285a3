/**
 * The difference between a live table and a desired one, within what a stack owns, as ordered changes; and the
 * `ipvsadm -R` batch that carries them out.
 *
 * Identity first (serviceId, destinationId), then configuration. Measured on the 6.1 kernel with ipvsadm 1.31
 * (test/fixtures/ipvsadm/edits.log.txt, edited.save.txt): `-E` changes every service attribute in place (scheduler,
 * scheduler flags, persistence on and off, timeout, netmask, persistence engine on and off, one-packet) and `-e`
 * every real-server attribute (forwarding method, weight, thresholds, tunnel type, port and checksum). What cannot
 * change in place is identity: a real server's port under direct routing or tunnelling is forced to the service port,
 * so moving it between ports is a delete and a create of two different real servers. The `*_REPLACED_BY` lists below
 * name the fields that would force a delete + create of the same identity; on this kernel they are empty.
 */
import { type Destination, type Service, type ServiceKey, type Table, configEquals, destinationEquals, destinationId, serviceId } from '../model/model.ts';
import type { Change } from '../model/change.ts';
import {
  renderAddDestination,
  renderAddService,
  renderDeleteDestination,
  renderDeleteService,
  renderEditDestination,
  renderEditService,
} from '../model/render-restore.ts';

export interface Diff {
  /** In the order to apply them. */
  readonly changes: readonly Change[];
  /** Live services neither owned nor desired: left alone. Sorted. */
  readonly unmanaged: readonly string[];
  /** Desired services that exist live but are not owned by the stack: they need adopting first. Sorted. */
  readonly conflicts: readonly string[];
}

export interface DiffOptions {
  /** serviceIds this stack owns (from its ownership record on the host). */
  readonly owned: ReadonlySet<string>;
}

/** Service fields the kernel cannot change in place with `-E` (none on 6.1: see the module comment). */
export const SERVICE_FIELDS_REPLACED_BY: readonly string[] = [];
/** Real-server fields the kernel cannot change in place with `-e` (none on 6.1: see the module comment). */
export const DESTINATION_FIELDS_REPLACED_BY: readonly string[] = [];

/** The configuration fields that differ, as dotted paths into a Service. */
export function serviceChangedFields(a: Service, b: Service): string[] {
  const x = a.config;
  const y = b.config;
  const out: string[] = [];
  if (x.scheduler !== y.scheduler) out.push('config.scheduler');
  if (x.schedFlags.join(',') !== y.schedFlags.join(',')) out.push('config.schedFlags');
  if ((x.persistence === undefined) !== (y.persistence === undefined)) out.push('config.persistence');
  else if (x.persistence !== undefined && y.persistence !== undefined) {
    if (x.persistence.timeout !== y.persistence.timeout) out.push('config.persistence.timeout');
    if (x.persistence.netmask !== y.persistence.netmask) out.push('config.persistence.netmask');
  }
  if ((x.persistenceEngine ?? '') !== (y.persistenceEngine ?? '')) out.push('config.persistenceEngine');
  if (x.onePacket !== y.onePacket) out.push('config.onePacket');
  return out;
}

/** The fields that differ, as dotted paths into a Destination. */
export function destinationChangedFields(a: Destination, b: Destination): string[] {
  const out: string[] = [];
  const f = a.forwarding;
  const g = b.forwarding;
  if (f.method !== g.method) out.push('forwarding');
  else if (f.method === 'tunnel' && g.method === 'tunnel') {
    if (f.type !== g.type) out.push('forwarding.type');
    if ((f.port ?? 0) !== (g.port ?? 0)) out.push('forwarding.port');
    if ((f.checksum ?? 'nocsum') !== (g.checksum ?? 'nocsum')) out.push('forwarding.checksum');
  }
  if (a.weight !== b.weight) out.push('weight');
  if (a.upperThreshold !== b.upperThreshold) out.push('upperThreshold');
  if (a.lowerThreshold !== b.lowerThreshold) out.push('lowerThreshold');
  return out;
}

function needsReplace(fields: readonly string[], replacedBy: readonly string[]): boolean {
  return fields.some((f) => replacedBy.some((r) => f === r || f.startsWith(`${r}.`)));
}

/**
 * Compares the live table with the desired one. Owned services that are not desired are deleted; services neither
 * owned nor desired are listed as `unmanaged` and never touched; desired services that exist live without being owned
 * are listed as `conflicts` and not touched either. Order: service creates (each followed by its real servers),
 * service updates, real-server creates, real-server updates (a replacement as delete then create), real-server
 * deletes, service deletes: capacity is added before it is removed, and nothing refers to what does not exist yet.
 */
export function diffTables(live: Table, desired: Table, opts: DiffOptions): Diff {
  const liveById = new Map<string, Service>();
  for (const s of live.services) liveById.set(serviceId(s.key), s);

  const serviceCreates: Change[] = [];
  const serviceUpdates: Change[] = [];
  const destCreates: Change[] = [];
  const destUpdates: Change[] = [];
  const destDeletes: Change[] = [];
  const serviceDeletes: Change[] = [];
  const conflicts: string[] = [];
  const unmanaged: string[] = [];
  const desiredIds = new Set<string>();

  for (const want of desired.services) {
    const sid = serviceId(want.key);
    desiredIds.add(sid);
    const have = liveById.get(sid);
    if (have === undefined) {
      serviceCreates.push({ kind: 'service', action: 'create', serviceId: sid, serviceKey: want.key, after: want });
      for (const d of want.destinations) {
        serviceCreates.push({ kind: 'destination', action: 'create', serviceId: sid, serviceKey: want.key, destinationId: destinationId(d), after: d });
      }
      continue;
    }
    if (!opts.owned.has(sid)) {
      conflicts.push(sid);
      continue;
    }
    const fields = configEquals(have.config, want.config) ? [] : serviceChangedFields(have, want);
    if (fields.length > 0) {
      const base = { kind: 'service' as const, serviceId: sid, serviceKey: want.key };
      if (needsReplace(fields, SERVICE_FIELDS_REPLACED_BY)) {
        serviceUpdates.push({ ...base, action: 'delete', before: have, replace: true });
        serviceUpdates.push({ ...base, action: 'create', after: want, replace: true });
        for (const d of want.destinations) {
          serviceUpdates.push({
            kind: 'destination',
            action: 'create',
            serviceId: sid,
            serviceKey: want.key,
            destinationId: destinationId(d),
            after: d,
            replace: true,
          });
        }
        continue;
      }
      serviceUpdates.push({ ...base, action: 'update', before: have, after: want, changedFields: fields });
    }
    diffDestinations(sid, want.key, have.destinations, want.destinations, destCreates, destUpdates, destDeletes);
  }

  for (const have of live.services) {
    const sid = serviceId(have.key);
    if (desiredIds.has(sid)) continue;
    if (opts.owned.has(sid)) serviceDeletes.push({ kind: 'service', action: 'delete', serviceId: sid, serviceKey: have.key, before: have });
    else unmanaged.push(sid);
  }

  const byId = (a: Change, b: Change): number => (a.serviceId < b.serviceId ? -1 : a.serviceId > b.serviceId ? 1 : 0);
  return {
    changes: [
      ...serviceCreates, // desired order is canonical (sorted) already, each service followed by its real servers
      ...serviceUpdates,
      ...destCreates,
      ...destUpdates,
      ...destDeletes,
      ...serviceDeletes.sort(byId),
    ],
    unmanaged: unmanaged.sort(),
    conflicts: conflicts.sort(),
  };
}

function diffDestinations(
  sid: string,
  key: ServiceKey,
  have: readonly Destination[],
  want: readonly Destination[],
  creates: Change[],
  updates: Change[],
  deletes: Change[],
): void {
  // Fast path, the common case: the same real servers in the same (canonical) order.
  if (have.length === want.length && have.every((d, i) => d.port === want[i]!.port && d.address === want[i]!.address)) {
    for (let i = 0; i < want.length; i++) {
      const old = have[i]!;
      const d = want[i]!;
      if (destinationEquals(old, d)) continue;
      const fields = destinationChangedFields(old, d);
      const base = { kind: 'destination' as const, serviceId: sid, serviceKey: key, destinationId: destinationId(d) };
      if (needsReplace(fields, DESTINATION_FIELDS_REPLACED_BY)) {
        updates.push({ ...base, action: 'delete', before: old, replace: true });
        updates.push({ ...base, action: 'create', after: d, replace: true });
      } else {
        updates.push({ ...base, action: 'update', before: old, after: d, changedFields: fields });
      }
    }
    return;
  }
  const liveById = new Map<string, Destination>();
  for (const d of have) liveById.set(destinationId(d), d);
  const wanted = new Set<string>();
  for (const d of want) {
    const did = destinationId(d);
    wanted.add(did);
    const base = { kind: 'destination' as const, serviceId: sid, serviceKey: key, destinationId: did };
    const old = liveById.get(did);
    if (old === undefined) {
      creates.push({ ...base, action: 'create', after: d });
      continue;
    }
    if (destinationEquals(old, d)) continue;
    const fields = destinationChangedFields(old, d);
    if (needsReplace(fields, DESTINATION_FIELDS_REPLACED_BY)) {
      updates.push({ ...base, action: 'delete', before: old, replace: true });
      updates.push({ ...base, action: 'create', after: d, replace: true });
    } else {
      updates.push({ ...base, action: 'update', before: old, after: d, changedFields: fields });
    }
  }
  for (const d of have) {
    const did = destinationId(d);
    if (!wanted.has(did)) deletes.push({ kind: 'destination', action: 'delete', serviceId: sid, serviceKey: key, destinationId: did, before: d });
  }
}

/** The change as one `ipvsadm -R` line. */
export function renderChange(c: Change): string {
  if (c.kind === 'service') {
    if (c.action === 'delete') return renderDeleteService(c.serviceKey);
    const svc = c.after!;
    return c.action === 'create' ? renderAddService(svc) : renderEditService(svc);
  }
  if (c.action === 'delete') return renderDeleteDestination(c.serviceKey, c.before!);
  return c.action === 'create' ? renderAddDestination(c.serviceKey, c.after!) : renderEditDestination(c.serviceKey, c.after!);
}

/** The `ipvsadm -R` batch for ordered changes: one line each, no comments or blank lines (`-R` refuses both). */
export function renderBatch(changes: readonly Change[]): string {
  if (changes.length === 0) return '';
  let out = '';
  for (const c of changes) out += `${renderChange(c)}\n`;
  return out;
}
