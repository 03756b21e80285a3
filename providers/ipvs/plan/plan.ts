import type { RealServerPlan } from './real-server.ts';
/**
 * A plan is data before it is text: per director, the ordered changes with before/after values, the fingerprint of
 * the live table it was computed against, the batch that carries it out, and what the stack will own afterwards.
 * Text, JSON and Markdown are renderings of this one object.
 */
import { diffTables, renderBatch } from './diff.ts';
import type { Change } from '../model/change.ts';
import { DEFAULT_DRAIN_SECONDS, drainItems } from './drain.ts';
import { LvsError } from '../model/errors.ts';
import { serviceHash, type LiveState } from '../model/live-state.ts';
import type { OwnedService } from '../model/record.ts';
import { serviceId, type Destination, type Service, type ServiceKey, type Table } from '../model/model.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { planHostSetup, tableAfter } from './host-setup.ts';
import type { HostFacts, SetupItem } from '../model/host-setup.ts';
import { keepRuntimeValues, maskRuntimeValues, type RuntimeManaged } from '../model/runtime-managed.ts';
import { emptySettingsRecord, managesSettings, type DirectorSettingsSpec, type SettingChange, type SettingsRecord } from '../model/director-settings.ts';
import { planSettings, settingsOwnedElsewhere, targetedSettings } from './settings.ts';
import { bootUnitPath } from './settings-boot.ts';
import type { DesiredDirector } from '../model/desired-director.ts';

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
  /**
   * Declared services this stack may not change: those that exist live but are not owned by it (need `--adopt`), and
   * those another stack's record owns (never adopted; see `owners`).
   */
  readonly conflicts: readonly string[];
  /** serviceId → the other stack that owns it, for the conflicts another stack owns. Absent when there are none. */
  readonly owners?: Readonly<Record<string, string>>;
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
  /** Set when the plan was limited with `--target`: the services of the stack here it covers, and those it leaves. */
  readonly targeted?: TargetedScope;
  /** Host set-up changes (package, modules, sysctls, boot files, saved table), in the order they are carried out. */
  readonly hostSetup?: readonly SetupItem[];
  /**
   * How the live state was read: `trusted` when `refresh: false` trusted the stored table (its /proc fingerprint
   * matched), else the full read, with the reason the fast path was not taken. Absent for the default full read.
   */
  readonly refresh?: { readonly trusted: boolean; readonly reason?: string };
  /**
   * Real-server fields left to a health checker (`runtimeManaged`): `desired` carries their live values, and the
   * read-back and the drift hash ignore them. Absent when the app leaves none.
   */
  readonly runtime?: RuntimeManaged;
  /**
   * Director-setting changes (VIPs, dummy interface, sysctls, timeouts), ordered: those before the batch, then those
   * after it (see model/director-settings.ts). Absent when the director has no settings to manage.
   */
  readonly settings?: readonly SettingChange[];
  /** Settings lvsform set that were changed outside it. */
  readonly settingsDrift?: readonly string[];
  /** What the reader of the plan should know about the settings (no arping, conn_reuse_mode left to the kernel). */
  readonly settingsNotes?: readonly string[];
  /** The settings part of the ownership record once the changes hold (absent: nothing owned). */
  readonly settingsRecord?: SettingsRecord;
  /** Set when the director could not be planned (unreachable, locked, unreadable). */
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

export interface TargetedScope {
  /** The construct paths asked for. */
  readonly targets: readonly string[];
  /** Services of the stack on this director (declared or owned) at or under a target. */
  readonly matched: number;
  /** Services of the stack on this director (declared or owned). */
  readonly total: number;
  /** serviceIds of the stack outside the targets: left exactly as they are, ownership entries included. */
  readonly untouched: readonly string[];
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
  /** The real servers lvsform prepares (absent when the app declares none). */
  readonly realServers?: readonly RealServerPlan[];
}

export interface PlanOptions {
  /** The stack being planned, for messages. */
  readonly stack?: string;
  /** Take ownership of declared services that exist live but are not owned. */
  readonly adopt?: boolean;
  /** Report drift only; propose no changes. */
  readonly refreshOnly?: boolean;
  /** Drain real servers before deleting them. @default true */
  readonly drain?: boolean;
  /** Seconds to wait for a drained real server's connections to end. @default 30 */
  readonly drainTimeout?: number;
  /** A destroy: every owned service goes and every director setting lvsform changed is put back. */
  readonly destroy?: boolean;
  /**
   * Construct paths (`web/lb1/http`, `web/lb1`): only the stack's services at or under one of them are created,
   * changed or deleted; every other service of the stack is left exactly as it is. @default every service
   */
  readonly targets?: readonly string[];
}

export { DEFAULT_DRAIN_SECONDS, drainItems };

/** True when a construct path is one of the targets or lies under one (`web/lb1/http` is under `web/lb1`). */
export function pathIsTargeted(path: string, targets: readonly string[]): boolean {
  return targets.some((t) => path === t || path.startsWith(`${t}/`));
}

/**
 * Limits a director's desired state to the targets: the targeted services as declared, and every other service the
 * stack owns as it is live now, so that the diff neither creates, changes nor deletes anything outside the targets.
 */
export function scopeToTargets(desired: DesiredDirector, live: LiveState, targets: readonly string[]): { desired: DesiredDirector; scope: TargetedScope } {
  const recorded = ownRecord(live);
  const liveById = new Map(live.table.services.map((s) => [serviceId(s.key), s]));
  const declared = new Map(desired.table.services.map((s) => [serviceId(s.key), s]));
  const ids = new Set([...declared.keys(), ...Object.keys(recorded)]);
  const services: Service[] = [];
  const paths = new Map<string, string>();
  const untouched: string[] = [];
  let matched = 0;
  for (const id of ids) {
    const path = desired.paths.get(id) ?? recorded[id]?.path ?? id;
    if (pathIsTargeted(path, targets)) {
      matched += 1;
      const svc = declared.get(id);
      if (svc) {
        services.push(svc);
        paths.set(id, path);
      }
      continue;
    }
    untouched.push(id);
    const now = liveById.get(id);
    if (recorded[id] && now) {
      services.push(now);
      paths.set(id, recorded[id].path);
    }
  }
  services.sort((a, b) => (serviceId(a.key) < serviceId(b.key) ? -1 : serviceId(a.key) > serviceId(b.key) ? 1 : 0));
  return {
    desired: { ...desired, table: { services }, paths },
    scope: { targets: [...targets], matched, total: ids.size, untouched: untouched.sort() },
  };
}

/**
 * The entries of the stack's record that are its own: an entry another stack's record also claims (two records written
 * before ownership was exclusive) is nobody's to change, so neither stack changes or deletes that service, and the
 * stack that no longer declares it drops its claim.
 */
export function ownRecord(live: LiveState): Readonly<Record<string, OwnedService>> {
  const recorded = live.record?.services ?? {};
  const others = live.others;
  if (!others || others.size === 0) return recorded;
  return Object.fromEntries(Object.entries(recorded).filter(([id]) => !others.has(id)));
}

/** The error for declared services another stack owns: what `--adopt` and an apply refuse. */
export function ownedElsewhereError(target: HostTarget, stack: string, owners: Readonly<Record<string, string>>, adopt: boolean): LvsError {
  const entries = Object.entries(owners).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const list = entries.slice(0, 5).map(([id, other]) => `${id} (owned by stack \`${other}\`)`);
  const stacks = [...new Set(entries.map(([, other]) => other))].sort();
  return new LvsError(
    'LVS_OWNED_BY_OTHER_STACK',
    `director ${describeTarget(target)}: ${entries.length} service(s) that stack ${stack} asks for are owned by another stack${adopt ? ', and --adopt never takes them' : ''}: ${list.join(', ')}${entries.length > 5 ? ', …' : ''}; nothing was changed`,
    {
      hint: `One service has one owner. Release it from stack ${stacks.map((o) => `\`${o}\``).join(', ')} (\`lvsform destroy --stack ${stacks[0]}\`, or remove it from that stack's app and apply), or remove it from stack ${stack}.`,
    },
  );
}

/** Plans one director: the exact diff between its live table and the desired one, within what the stack owns. */
export function planDirector(
  declared: DesiredDirector,
  live: LiveState,
  opts: PlanOptions = {},
  host?: {
    readonly stack: string;
    readonly facts: HostFacts;
    readonly destroy: boolean;
    /** The read-only script's text (host/read-script.ts), which the set-up installs when the target has a plan user. */
    readonly readScript: string;
  },
): DirectorPlan {
  const scoped = opts.targets?.length ? scopeToTargets(declared, live, opts.targets) : undefined;
  const desired = scoped?.desired ?? declared;
  const recorded = ownRecord(live);
  const liveById = new Map(live.table.services.map((s) => [serviceId(s.key), s]));
  const desiredIds = new Set(desired.table.services.map((s) => serviceId(s.key)));
  // What another stack owns is never created, changed, adopted or deleted here, whether or not it is live now.
  const owners: Record<string, string> = {};
  for (const id of [...desiredIds].sort()) {
    const other = live.others?.get(id);
    if (other !== undefined) owners[id] = other;
  }
  const foreign = Object.keys(owners);
  if (opts.adopt && foreign.length > 0)
    throw ownedElsewhereError(desired.target, opts.stack ?? host?.stack ?? live.record?.stack ?? 'this stack', owners, true);

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
    const applied = entry.h;
    // A pending entry (written before a batch that never finished) is not drift when its service is missing.
    if (entry.pending === true && !svc) continue;
    // A checker's change of a run-time managed field is not drift; a record written before the field was left to the
    // checker holds the unmasked hash, which still matches an unchanged service.
    const changed = (s: Service) => applied !== serviceHash(s) && applied !== serviceHash(maskRuntimeValues(s, declared.runtime));
    if (!svc || (typeof applied === 'string' && changed(svc))) drift.push(id);
  }

  // Run-time managed fields of real servers that exist already keep their live values: nothing to show or revert.
  const wanted = keepRuntimeValues(desired.table, live.table, declared.runtime);
  const mine = foreign.length === 0 ? wanted : { services: wanted.services.filter((s) => owners[serviceId(s.key)] === undefined) };
  const diff = diffTables(live.table, mine, { owned });
  const changes = opts.refreshOnly ? [] : diff.changes;
  const conflicts = foreign.length === 0 ? diff.conflicts : [...new Set([...diff.conflicts, ...foreign])].sort();
  const ownedDesired = wanted.services.filter((s) => !conflicts.includes(serviceId(s.key)));
  const paths: Record<string, string> = {};
  const runtime: Record<string, RuntimeManaged[string]> = {};
  for (const s of ownedDesired) {
    const id = serviceId(s.key);
    paths[id] = desired.paths.get(id) ?? recorded[id]?.path ?? id;
    const fields = declared.runtime?.[id];
    if (fields !== undefined) runtime[id] = fields;
  }
  const settings = planDirectorSettings(
    declared,
    live,
    opts,
    { services: ownedDesired },
    scoped ? targetedVips(declared, live, opts.targets ?? []) : undefined,
    Boolean(host && !host.destroy && declared.setup?.installKeepalived && !host.facts.commands.includes('keepalived')),
  );
  return {
    director: desired.name,
    target: desired.target,
    fingerprint: live.fingerprint,
    changes,
    drift: drift.sort(),
    unmanaged: foreign.length === 0 ? diff.unmanaged : diff.unmanaged.filter((id) => owners[id] === undefined),
    conflicts,
    ...(foreign.length > 0 ? { owners } : {}),
    adopted: adopted.sort(),
    batch: renderBatch(changes),
    drain: opts.drain === false ? [] : drainItems(changes),
    drainTimeout: opts.drainTimeout ?? DEFAULT_DRAIN_SECONDS,
    desired: { services: ownedDesired },
    paths,
    ...(host && declared.setup && !opts.refreshOnly
      ? {
          hostSetup: planHostSetup({
            stack: host.stack,
            director: desired.name,
            spec: declared.setup,
            facts: host.facts,
            desired: { services: ownedDesired },
            after: tableAfter(live.table, owned, { services: ownedDesired }),
            destroy: host.destroy,
            ...(desired.target.ssh?.planUser === undefined ? {} : { readAccess: { user: desired.target.ssh.planUser, script: host.readScript } }),
            ...(settings.settings !== undefined || host.facts.files[bootUnitPath(host.stack)] != null ? { settings: { record: settings.settingsRecord } } : {}),
            ...(declared.settings?.vrrp ? { keepalived: true } : {}),
          }),
        }
      : {}),
    ...(scoped ? { targeted: scoped.scope } : {}),
    ...(Object.keys(runtime).length > 0 ? { runtime } : {}),
    ...settings,
  };
}

/**
 * The VIPs of a `--target` run's services on a director that leaves some of the stack's services alone: the addresses
 * of the targeted services, declared or live (a targeted service being removed still names its VIP). Undefined when
 * the targets cover every service of the stack here: the run is then the whole director's, settings included.
 */
function targetedVips(declared: DesiredDirector, live: LiveState, targets: readonly string[]): ReadonlySet<string> | undefined {
  const recorded = ownRecord(live);
  const ids = new Set([...declared.table.services.map((s) => serviceId(s.key)), ...Object.keys(recorded)]);
  const pathOf = (id: string) => declared.paths.get(id) ?? recorded[id]?.path ?? id;
  if ([...ids].every((id) => pathIsTargeted(pathOf(id), targets))) return undefined;
  const vips = new Set<string>();
  for (const s of [...declared.table.services, ...live.table.services]) {
    const id = serviceId(s.key);
    if (s.key.kind === 'addr' && ids.has(id) && pathIsTargeted(pathOf(id), targets)) vips.add(s.key.address);
  }
  return vips;
}

/**
 * The director-settings part of a director's plan: empty when the app manages none and the record holds none. A
 * `--refresh-only` run shows the drift and changes nothing; a `--target` run that leaves some of the stack's services
 * here alone changes only the VIPs of the targeted ones (`targetedSettings`), one that covers them all is the whole
 * director's. A sysctl or timeout another stack's record holds here is refused (`LVS_OWNED_BY_OTHER_STACK`).
 */
function planDirectorSettings(
  declared: DesiredDirector,
  live: LiveState,
  opts: PlanOptions,
  owned: Table,
  targeted: ReadonlySet<string> | undefined,
  installingKeepalived = false,
): Pick<DirectorPlan, 'settings' | 'settingsDrift' | 'settingsNotes' | 'settingsRecord'> {
  const spec = opts.destroy ? undefined : declared.settings;
  const recorded = live.record?.settings;
  if (!managesSettings(spec) && emptySettingsRecord(recorded)) return {};
  if (live.settings === undefined) {
    throw new LvsError('LVS_INTERNAL', `director ${describeTarget(declared.target)}: the director settings were not read`);
  }
  const elsewhere = settingsOwnedElsewhere(spec, live.otherSettings);
  if (elsewhere.length > 0) {
    const stack = opts.stack ?? live.record?.stack ?? 'this stack';
    throw new LvsError(
      'LVS_OWNED_BY_OTHER_STACK',
      `director ${describeTarget(declared.target)}: ${elsewhere.length} director setting(s) that stack ${stack} asks for are managed by another stack: ${elsewhere.join(', ')}; nothing was changed`,
      {
        hint: `One sysctl or timeout has one owner on a director (each stack puts back the value it found). Set it in one stack only: remove it from ${declared.name}'s props in stack ${stack}, or from the other stack's app and apply that first.`,
      },
    );
  }
  const planned = planSettings({
    spec,
    table: owned,
    live: live.settings,
    record: recorded,
    where: describeTarget(declared.target),
    ...(installingKeepalived ? { installingKeepalived } : {}),
  });
  if (opts.refreshOnly) {
    return {
      settings: [],
      ...(planned.drift.length > 0 ? { settingsDrift: planned.drift } : {}),
      ...(planned.notes.length > 0 ? { settingsNotes: planned.notes } : {}),
      ...(recorded === undefined ? {} : { settingsRecord: recorded }),
    };
  }
  const directorPath = [...declared.paths.values()][0]?.split('/').slice(0, -1).join('/') || declared.name;
  const part = targeted === undefined ? undefined : targetedSettings(planned, recorded, targeted, directorPath);
  const notes = [...planned.notes, ...(part?.notes ?? [])];
  const record = part ? part.record : planned.record;
  return {
    settings: part ? part.changes : planned.changes,
    ...(planned.drift.length > 0 ? { settingsDrift: planned.drift } : {}),
    ...(notes.length > 0 ? { settingsNotes: notes } : {}),
    ...(record === undefined ? {} : { settingsRecord: record }),
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

/** The counts of a whole plan, every director's changes added up. */
export function planTotals(plan: Plan): PlanCounts {
  const total = { add: 0, change: 0, destroy: 0 };
  for (const d of plan.directors) {
    const n = countChanges(d.changes);
    total.add += n.add;
    total.change += n.change;
    total.destroy += n.destroy;
  }
  return total;
}

export function planHasChanges(plan: Plan): boolean {
  return (
    plan.directors.some((d) => d.changes.length > 0 || d.adopted.length > 0 || (d.hostSetup?.length ?? 0) > 0 || (d.settings?.length ?? 0) > 0) ||
    (plan.realServers ?? []).some((r) => r.changes.length > 0 || (r.setup?.length ?? 0) > 0)
  );
}

export function planHasErrors(plan: Plan): boolean {
  return plan.directors.some((d) => d.error !== undefined || d.conflicts.length > 0) || (plan.realServers ?? []).some((r) => r.error !== undefined);
}

/** What a plan deletes: services, and real servers (those of a deleted service included). Failed directors count 0. */
export function deleteCount(plan: Plan): { services: number; realServers: number } {
  let services = 0;
  let realServers = 0;
  for (const d of plan.directors) {
    if (d.error) continue;
    for (const c of d.changes) {
      if (c.action !== 'delete') continue;
      if (c.kind === 'service') {
        services += 1;
        realServers += c.before?.destinations.length ?? 0;
      } else realServers += 1;
    }
  }
  return { services, realServers };
}

/** Refuses a plan that deletes more than `max` services and real servers together (`--max-deletes`). */
export function checkMaxDeletes(plan: Plan, max: number): void {
  const n = deleteCount(plan);
  const total = n.services + n.realServers;
  if (total <= max) return;
  throw new LvsError(
    'LVS_TOO_MANY_DELETES',
    `stack ${plan.stack}: the plan deletes ${n.services} service(s) and ${n.realServers} real server(s), ${total} in all, more than --max-deletes ${max}; nothing was changed`,
    { hint: 'Review the plan (`lvsform plan`); if these deletions are intended, pass --allow-deletes or raise --max-deletes.' },
  );
}

/**
 * Checks `--target` paths against the construct paths of a stack's services: each must be one of them or lie above
 * one. Returns the targets without trailing slashes.
 */
export function checkTargets(directors: readonly DesiredDirector[], targets: readonly string[]): string[] {
  const known = [...new Set(directors.flatMap((d) => [...d.paths.values()]))].sort();
  const out: string[] = [];
  for (const raw of targets) {
    const t = raw.replace(/\/+$/, '');
    if (t === '' || !known.some((p) => pathIsTargeted(p, [t]))) {
      const list = known.slice(0, 30).join(', ') + (known.length > 30 ? `, and ${known.length - 30} more` : '');
      throw new LvsError('LVS_TARGET_UNKNOWN', `--target "${raw}" matches no service of the stack; its construct paths are: ${list || '(none)'}`, {
        hint: 'Pass a construct path as printed above, or one of its parents (e.g. the director `stack/lb1`).',
      });
    }
    out.push(t);
  }
  return out;
}
