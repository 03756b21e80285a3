/**
 * Plans a real server's preparation (model/real-server.ts): the changes between what the services it backs need and
 * what it holds, the drift of what lvsform set, the NAT route checks, and the record afterwards. Pure.
 *
 * The rules of ownership are the director settings' (plan/settings.ts): nothing is added that is already there,
 * nothing is removed or put back that lvsform did not add or set, and what the app no longer needs goes back to the
 * value lvsform found.
 */
import type { Family } from '../model/model.ts';
import type { HostTarget } from '../model/host-target.ts';
import type { HostFacts, SetupItem } from '../model/host-setup.ts';
import { realServerBootItems } from './real-server-boot.ts';
import { hostPrefix } from '../model/director-settings.ts';
import {
  type Backing,
  type FouPort,
  type LiveRealServer,
  type LiveRsAddress,
  type RealServerChange,
  type RealServerHostSpec,
  type RealServerPrep,
  type RealServerRecordPrep,
  type RouteCheck,
  bypassRoutes,
  emptyRealServerRecord,
  prefixRouteText,
  realServerChangeText,
  realServerFingerprint,
  realServerPhase,
  TUNNEL_DEVICE_NAMES,
  type TunnelDevice,
  VIP_DEVICE,
} from '../model/real-server.ts';

export interface RealServerPlanInput {
  readonly host: RealServerHostSpec;
  /** What the services need; undefined on destroy. */
  readonly prep: RealServerPrep | undefined;
  readonly live: LiveRealServer;
  readonly record: RealServerRecordPrep | undefined;
  /**
   * A run narrowed to some directors or services (`--director`, `--target`): `prep` is what those services need, and
   * nothing is removed or put back, since a service outside the run may still send to it (see `holdRemovals`);
   * `full` is what every service of the app needs, to tell which of the held removals a full run would make.
   */
  readonly narrowed?: { readonly full: RealServerPrep };
}

export interface RealServerPlanData {
  /** Ordered: tunnels, fou ports, sysctls, addresses, routes (before the directors); removals and restores after. */
  readonly changes: RealServerChange[];
  readonly drift: string[];
  readonly notes: string[];
  readonly checks: RouteCheck[];
  readonly record: RealServerRecordPrep | undefined;
}

const fouKey = (f: FouPort) => `${f.port} ${f.family}`;

function planAddresses(input: RealServerPlanInput, changes: RealServerChange[], drift: string[]): LiveRsAddress[] {
  const { live, record } = input;
  const wanted = new Set(input.prep?.vips ?? []);
  const isLive = (a: string, dev?: string) => live.addresses.some((x) => x.address === a && (dev === undefined || x.device === dev));
  const recorded = record?.addresses ?? [];
  const owned: LiveRsAddress[] = [];
  for (const address of [...wanted].sort()) {
    const own = recorded.find((r) => r.address === address && r.device === VIP_DEVICE);
    if (isLive(address)) {
      if (own && isLive(address, VIP_DEVICE)) owned.push(own);
      continue;
    }
    const prefix = hostPrefix(address);
    changes.push({ kind: 'address', action: 'create', address, prefix, device: VIP_DEVICE });
    owned.push({ address, prefix, device: VIP_DEVICE });
    if (own) drift.push(`address ${address}/${prefix} on ${VIP_DEVICE} (removed outside lvsform)`);
  }
  for (const own of recorded) {
    if (wanted.has(own.address) && own.device === VIP_DEVICE) continue;
    if (isLive(own.address, own.device)) changes.push({ kind: 'address', action: 'delete', ...own });
  }
  return owned;
}

function planTunnels(input: RealServerPlanInput, changes: RealServerChange[], drift: string[]): TunnelDevice[] {
  const { live, record } = input;
  const wanted = new Set<string>(input.prep?.tunnels ?? []);
  const ownedBefore = new Set(record?.tunnels ?? []);
  const owned: TunnelDevice[] = [];
  for (const device of TUNNEL_DEVICE_NAMES) {
    if (!wanted.has(device)) continue;
    if (live.up.includes(device)) {
      if (ownedBefore.has(device)) owned.push(device);
      continue;
    }
    changes.push({ kind: 'tunnel', action: 'create', device });
    owned.push(device);
    if (ownedBefore.has(device)) drift.push(`tunnel ${device} (set down outside lvsform)`);
  }
  for (const device of ownedBefore) {
    if (wanted.has(device)) continue;
    if (live.up.includes(device)) changes.push({ kind: 'tunnel', action: 'delete', device: device as TunnelDevice });
  }
  return owned;
}

function planFou(input: RealServerPlanInput, changes: RealServerChange[], drift: string[]): FouPort[] {
  const { live, record } = input;
  const has = (f: FouPort) => live.fou.some((x) => fouKey(x) === fouKey(f));
  const wanted = new Map((input.prep?.fou ?? []).map((f) => [fouKey(f), f]));
  const recorded = new Map((record?.fou ?? []).map((f) => [fouKey(f), f]));
  const owned: FouPort[] = [];
  for (const [key, f] of wanted) {
    if (has(f)) {
      if (recorded.has(key)) owned.push(f);
      continue;
    }
    changes.push({ kind: 'fou', action: 'create', port: f.port, family: f.family });
    owned.push(f);
    if (recorded.has(key)) drift.push(`fou port ${f.port}${f.family === 'inet6' ? ' -6' : ''} (removed outside lvsform)`);
  }
  for (const [key, f] of recorded) if (!wanted.has(key) && has(f)) changes.push({ kind: 'fou', action: 'delete', port: f.port, family: f.family });
  return owned;
}

/**
 * The sysctls the preparation needs: each name → a test of the value now and the value to set when it fails.
 * `arp_ignore` 1 or 2 both keep the VIP on lo from answering (2 also checks the sender's subnet), so a 2 found is kept.
 * A tunnel device's `rp_filter` must not be strict in effect: the kernel uses the larger of `all` and the device's.
 */
function wantedSysctls(input: RealServerPlanInput): Map<string, { ok: (v: string, eff: (n: string) => string | undefined) => boolean; value: string }> {
  const out = new Map<string, { ok: (v: string, eff: (n: string) => string | undefined) => boolean; value: string }>();
  const prep = input.prep;
  if (prep?.arp) {
    for (const d of ['all', ...(input.host.interface ? [input.host.interface] : [])]) {
      out.set(`net.ipv4.conf.${d}.arp_ignore`, { ok: (v) => v === '1' || v === '2', value: '1' });
      out.set(`net.ipv4.conf.${d}.arp_announce`, { ok: (v) => v === '2', value: '2' });
    }
  }
  for (const t of prep?.tunnels ?? []) {
    out.set(`net.ipv4.conf.${t}.rp_filter`, {
      ok: (v, get) => Math.max(Number(v), Number(get('net.ipv4.conf.all.rp_filter') ?? '0')) !== 1,
      value: '2',
    });
  }
  return out;
}

function planSysctls(input: RealServerPlanInput, changes: RealServerChange[], drift: string[], created: ReadonlySet<string>): RealServerRecordPrep['sysctls'] {
  const { live, record } = input;
  const out: Record<string, { prior: string; value: string }> = {};
  const get = (n: string) => live.sysctls[n];
  const wanted = wantedSysctls(input);
  for (const [name, want] of wanted) {
    // A tunnel device lvsform is about to create has no sysctls yet: it will take `default`'s value.
    const device = /^net\.ipv4\.conf\.(.+)\.rp_filter$/.exec(name)?.[1];
    const current = get(name) ?? (device !== undefined && created.has(device) ? get('net.ipv4.conf.default.rp_filter') : undefined);
    if (current === undefined) continue;
    const rec = record?.sysctls?.[name];
    if (want.ok(current, get)) {
      if (rec) out[name] = rec;
      continue;
    }
    if (rec && rec.value !== current) drift.push(`sysctl ${name} (${rec.value} -> ${current} outside lvsform)`);
    changes.push({ kind: 'sysctl', action: 'update', name, before: current, after: want.value });
    out[name] = { prior: rec?.prior ?? current, value: want.value };
  }
  for (const [name, rec] of Object.entries(record?.sysctls ?? {})) {
    if (wanted.has(name)) continue;
    const current = get(name);
    if (current !== undefined && current !== rec.prior)
      changes.push({ kind: 'sysctl', action: 'update', name, before: current, after: rec.prior, restore: true });
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function planRoutes(input: RealServerPlanInput, changes: RealServerChange[], checks: RouteCheck[]): RealServerRecordPrep['routes'] {
  const { live, record, host } = input;
  const out: Partial<Record<Family, { prior: string; value: string }>> = {};
  const families = input.prep?.natFamilies ?? [];
  for (const family of families) {
    const gateway = live.routes.find((r) => r.family === family)?.gateway;
    const expected = host.nat?.gateways.find((g) => g.includes(':') === (family === 'inet6'));
    const ok = expected === undefined ? undefined : gateway === expected;
    const bypass = expected === undefined ? [] : bypassRoutes(live.prefixRoutes ?? [], family, expected, host.nat?.clients).map(prefixRouteText);
    const rec = record?.routes?.[family];
    if (host.nat?.manage && expected !== undefined && !ok) {
      changes.push({ kind: 'route', action: 'update', family, before: gateway ?? '', after: expected });
      out[family] = { prior: rec?.prior ?? gateway ?? '', value: expected };
      checks.push(routeCheckOf(family, gateway, expected, false, bypass));
      continue;
    }
    if (rec && ok) out[family] = rec;
    checks.push(routeCheckOf(family, gateway, expected, ok, bypass));
  }
  for (const [family, rec] of Object.entries(record?.routes ?? {}) as [Family, { prior: string; value: string }][]) {
    if (out[family] || (families.includes(family) && host.nat?.manage)) continue;
    const gateway = live.routes.find((r) => r.family === family)?.gateway ?? '';
    // Put back only a route lvsform's value still holds: one changed since is someone else's.
    if (gateway === rec.value && gateway !== rec.prior)
      changes.push({ kind: 'route', action: 'update', family, before: gateway, after: rec.prior, restore: true });
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function routeCheckOf(
  family: Family,
  gateway: string | undefined,
  expected: string | undefined,
  ok: boolean | undefined,
  bypass: readonly string[] = [],
): RouteCheck {
  return {
    family,
    ...(gateway === undefined ? {} : { gateway }),
    ...(expected === undefined ? {} : { expected }),
    ...(ok === undefined ? {} : { ok }),
    ...(bypass.length > 0 ? { bypass } : {}),
  };
}

/**
 * The order of the `before` phase (the `after` phase runs it backwards): a tunnel device before its rp_filter, and the
 * ARP settings before the VIPs on lo, since a VIP on lo without them answers the segment's ARP for the director's
 * address; the route last. Removals: the VIPs go before the ARP settings are put back, for the same reason.
 */
const ORDER: Record<RealServerChange['kind'], number> = { tunnel: 0, fou: 1, sysctl: 2, address: 3, route: 4 };

/** Plans one real server. */
export function planRealServer(input: RealServerPlanInput): RealServerPlanData {
  const changes: RealServerChange[] = [];
  const drift: string[] = [];
  const notes: string[] = [];
  const checks: RouteCheck[] = [];
  const tunnels = planTunnels(input, changes, drift);
  const created = new Set(changes.flatMap((c) => (c.kind === 'tunnel' && c.action === 'create' ? [c.device] : [])));
  const fou = planFou(input, changes, drift);
  const addresses = planAddresses(input, changes, drift);
  const sysctls = planSysctls(input, changes, drift, created);
  const routes = planRoutes(input, changes, checks);
  for (const s of input.prep?.fwmarkServices ?? []) notes.push(`${s}: a firewall-mark service has no VIP lvsform knows; put its VIPs on lo yourself`);
  const record: RealServerRecordPrep = {
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(tunnels.length > 0 ? { tunnels } : {}),
    ...(fou.length > 0 ? { fou } : {}),
    ...(sysctls ? { sysctls } : {}),
    ...(routes ? { routes } : {}),
  };
  const rank = (c: RealServerChange) => (realServerPhase(c) === 'after' ? 10 - ORDER[c.kind] : ORDER[c.kind]);
  changes.sort((a, b) => rank(a) - rank(b));
  const planned = { changes, drift: drift.sort(), notes, checks, record: Object.keys(record).length > 0 ? record : undefined };
  if (!input.narrowed) return planned;
  const waiting = planRealServer({ ...input, prep: input.narrowed.full, narrowed: undefined }).changes.filter((c) => realServerPhase(c) === 'after');
  return holdRemovals(planned, input.record, waiting);
}

/**
 * A narrowed run's plan: the removals and values put back (the `after` phase) are held, and what they would have
 * taken stays in the record, owned: what the services outside the run need stays as it is, and what no service needs
 * any more (`waiting`: a full run's removals) waits for the next full run, which a note says.
 */
export function holdRemovals(plan: RealServerPlanData, previous: RealServerRecordPrep | undefined, waiting: readonly RealServerChange[]): RealServerPlanData {
  const held = plan.changes.filter((c) => realServerPhase(c) === 'after');
  if (held.length === 0) return plan;
  const addresses = [...(plan.record?.addresses ?? [])];
  const tunnels = [...(plan.record?.tunnels ?? [])];
  const fou = [...(plan.record?.fou ?? [])];
  const sysctls = { ...(plan.record?.sysctls ?? {}) };
  const routes = { ...(plan.record?.routes ?? {}) };
  for (const c of held) {
    if (c.kind === 'address') addresses.push({ address: c.address, prefix: c.prefix, device: c.device });
    else if (c.kind === 'tunnel') tunnels.push(c.device);
    else if (c.kind === 'fou') fou.push({ port: c.port, family: c.family });
    else if (c.kind === 'sysctl') {
      const rec = previous?.sysctls?.[c.name];
      if (rec) sysctls[c.name] = rec;
    } else {
      const rec = previous?.routes?.[c.family];
      if (rec) routes[c.family] = rec;
    }
  }
  const record: RealServerRecordPrep = {
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(tunnels.length > 0 ? { tunnels: TUNNEL_DEVICE_NAMES.filter((t) => tunnels.includes(t)) } : {}),
    ...(fou.length > 0 ? { fou } : {}),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
    ...(Object.keys(routes).length > 0 ? { routes } : {}),
  };
  const which = waiting.map((c) => `${realServerChangeText(c).sign} ${realServerChangeText(c).text.replace(/ {2}\(.*\)$/, '')}`);
  const note =
    waiting.length > 0
      ? [`${waiting.length} removal(s) wait for a full run (a run narrowed by --director or --target removes nothing from a real server): ${which.join('; ')}`]
      : [];
  return { ...plan, changes: plan.changes.filter((c) => realServerPhase(c) === 'before'), notes: [...plan.notes, ...note], record };
}

/**
 * The record after an apply, from the planned one and what the read-back shows: an added address, tunnel or port that
 * is not there is not owned; a removed one still there stays owned (the next plan removes it again).
 */
export function realServerRecordAfter(
  planned: RealServerRecordPrep | undefined,
  changes: readonly RealServerChange[],
  after: LiveRealServer | undefined,
): RealServerRecordPrep | undefined {
  if (after === undefined) return planned;
  const addresses = (planned?.addresses ?? []).filter((a) => after.addresses.some((x) => x.address === a.address && x.device === a.device));
  const tunnels = (planned?.tunnels ?? []).filter((t) => after.up.includes(t));
  const fou = (planned?.fou ?? []).filter((f) => after.fou.some((x) => fouKey(x) === fouKey(f)));
  for (const c of changes) {
    if (c.action !== 'delete') continue;
    if (c.kind === 'address' && after.addresses.some((x) => x.address === c.address && x.device === c.device))
      addresses.push({ address: c.address, prefix: c.prefix, device: c.device });
    if (c.kind === 'tunnel' && after.up.includes(c.device)) tunnels.push(c.device);
    if (c.kind === 'fou' && after.fou.some((x) => x.port === c.port && x.family === c.family)) fou.push({ port: c.port, family: c.family });
  }
  const record: RealServerRecordPrep = {
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(tunnels.length > 0 ? { tunnels } : {}),
    ...(fou.length > 0 ? { fou } : {}),
    ...(planned?.sysctls ? { sysctls: planned.sysctls } : {}),
    ...(planned?.routes ? { routes: planned.routes } : {}),
  };
  return Object.keys(record).length > 0 ? record : undefined;
}

/** The changes a read-back shows not done. Empty when every change holds. */
export function unfinishedRealServer(changes: readonly RealServerChange[], after: LiveRealServer): string[] {
  const out: string[] = [];
  for (const c of changes) {
    if (c.kind === 'address') {
      const has = after.addresses.some((x) => x.address === c.address && x.device === c.device);
      if ((c.action === 'create') !== has) out.push(`address ${c.address}/${c.prefix} on ${c.device} was not ${c.action === 'create' ? 'added' : 'removed'}`);
    } else if (c.kind === 'tunnel') {
      if ((c.action === 'create') !== after.up.includes(c.device)) out.push(`tunnel ${c.device} is not ${c.action === 'create' ? 'up' : 'down'}`);
    } else if (c.kind === 'fou') {
      const has = after.fou.some((x) => x.port === c.port && x.family === c.family);
      if ((c.action === 'create') !== has) out.push(`fou port ${c.port} was not ${c.action === 'create' ? 'added' : 'removed'}`);
    } else if (c.kind === 'sysctl') {
      if (after.sysctls[c.name] !== c.after) out.push(`${c.name} is ${after.sysctls[c.name] ?? 'missing'}, not ${c.after}`);
    } else {
      const gw = after.routes.find((r) => r.family === c.family)?.gateway ?? '';
      if (gw !== c.after) out.push(`the ${c.family === 'inet6' ? 'IPv6' : 'IPv4'} default route is via ${gw || '(none)'}, not ${c.after || '(none)'}`);
    }
  }
  return out;
}

/** A real server's part of a plan: its changes, drift, notes and route checks, and the record once they hold. */
export interface RealServerPlan {
  readonly host: string;
  readonly target: HostTarget;
  readonly changes: readonly RealServerChange[];
  readonly drift: readonly string[];
  readonly notes: readonly string[];
  readonly checks: readonly RouteCheck[];
  /** The services that send to it (director, service, member, method), for the plan's heading. */
  readonly backing: readonly Backing[];
  readonly record?: RealServerRecordPrep;
  /**
   * What the real server held when the plan was made (`realServerFingerprint`): a saved plan is carried out only if it
   * still holds that.
   */
  readonly fingerprint?: string;
  /** The boot files that bring the preparation back after a reboot (real-server-boot.ts), when they must change. */
  readonly setup?: readonly SetupItem[];
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

/** A real server's plan from what it holds: `prep` undefined on destroy. */
export function realServerPlanOf(
  host: RealServerHostSpec,
  target: HostTarget,
  prep: RealServerPrep | undefined,
  live: LiveRealServer,
  record: RealServerRecordPrep | undefined,
  boot?: { readonly stack: string; readonly facts: Pick<HostFacts, 'files' | 'commands'> },
  narrowed?: RealServerPlanInput['narrowed'],
): RealServerPlan {
  const p = planRealServer({ host, prep, live, record, narrowed });
  const notes = [...p.notes];
  let setup: SetupItem[] = [];
  if (boot && boot.facts.commands.includes('systemctl')) setup = realServerBootItems(boot.stack, boot.facts, p.record);
  else if (boot && !emptyRealServerRecord(p.record)) notes.push('no systemctl on this host: the preparation is not brought back at boot');
  return {
    host: host.name,
    target,
    changes: p.changes,
    drift: p.drift,
    notes,
    checks: p.checks,
    backing: prep?.backing ?? [],
    ...(boot ? { fingerprint: realServerFingerprint(live, record, boot.facts.files) } : {}),
    ...(p.record ? { record: p.record } : {}),
    ...(setup.length > 0 ? { setup } : {}),
  };
}
