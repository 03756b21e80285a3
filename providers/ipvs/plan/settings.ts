/**
 * Plans the director settings (model/director-settings.ts): the changes between what the app asks for and what the
 * director holds, the drift of what lvsform set, and the record afterwards. Pure.
 *
 * Ownership as for services: an address is added only when it is on no interface, recorded, and removed only if the
 * record says lvsform added it; a sysctl or timeout is recorded with the value found before lvsform first set it, and
 * put back to that value when the app stops naming it (or on destroy). What the app does not name is never touched.
 */
import { LvsError } from '../model/errors.ts';
import { type KeepalivedRecord, sameDaemon, type SyncDaemon } from '../model/director-pair.ts';
import {
  type AddressAnnounce,
  CONN_REUSE_AUTO,
  hostPrefix,
  type DirectorSettingsSpec,
  type IpvsSysctl,
  IPVS_SYSCTLS,
  type IpvsTimeouts,
  type LiveSettings,
  type LiveTimeouts,
  type OwnedAddress,
  type SettingChange,
  type SettingsRecord,
  settingPhase,
  TIMEOUT_FIELDS,
  vipDevice,
} from '../model/director-settings.ts';
import type { Table } from '../model/model.ts';
import { settingKey } from '../model/record.ts';
import { planDaemons, planKeepalived } from './settings-pair.ts';

export interface SettingsPlanInput {
  /** What the app asks for; undefined on destroy or when it asks for nothing. */
  readonly spec: DirectorSettingsSpec | undefined;
  /** The services the stack will own here (their addresses are the VIPs). */
  readonly table: Table;
  readonly live: LiveSettings;
  readonly record: SettingsRecord | undefined;
  /** Director, for messages. */
  readonly where: string;
  /** The set-up installs keepalived in this apply (before the keepalived file is written). */
  readonly installingKeepalived?: boolean;
}

export interface SettingsPlan {
  /** Ordered: links, added addresses, sysctls, timeouts (before the batch); removed addresses, links (after it). */
  readonly changes: SettingChange[];
  /** Settings lvsform set that were changed outside it (shown as drift, and set again). */
  readonly drift: string[];
  /** What the plan reader should know (no arping, conn_reuse_mode left to the kernel). */
  readonly notes: string[];
  /** The record once the changes hold; undefined when nothing is owned. */
  readonly record: SettingsRecord | undefined;
}

/** `6.1.0-57-amd64` → [6, 1]. */
export function kernelVersion(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function atLeast(v: [number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/**
 * The value `conn_reuse_mode: 'auto'` asks for on a kernel: 0 on 4.2 to 5.8 (kube-proxy's rule), undefined (left alone)
 * from 5.9 on, and before 4.2, which has no such sysctl.
 */
export function connReuseAuto(kernel: string): number | undefined {
  const v = kernelVersion(kernel);
  if (!v) return undefined;
  return atLeast(v, 4, 2) && !atLeast(v, 5, 9) ? 0 : undefined;
}

function settingError(where: string, message: string, hint: string): LvsError {
  return new LvsError('LVS_DIRECTOR_SETTING', `director ${where}: ${message}; nothing was changed`, { hint });
}

function planAddresses(input: SettingsPlanInput, changes: SettingChange[], drift: string[], notes: string[]): { addresses: OwnedAddress[]; links: string[] } {
  const { spec, live, record } = input;
  const liveAddrs = live.addresses ?? [];
  const liveLinks = live.links ?? [];
  const isLive = (a: string, dev?: string) => liveAddrs.some((x) => x.address === a && (dev === undefined || x.device === dev));
  const recorded = record?.addresses ?? [];
  const ownedLinks = new Set(record?.links ?? []);
  const links: string[] = [];
  const device = spec?.vips ? vipDevice(spec.vips) : undefined;
  if (spec?.vips && 'dummy' in spec.vips) {
    if (!liveLinks.includes(spec.vips.dummy)) {
      changes.push({ kind: 'link', action: 'create', name: spec.vips.dummy });
      links.push(spec.vips.dummy);
    } else if (ownedLinks.has(spec.vips.dummy)) links.push(spec.vips.dummy);
  } else if (spec?.vips && 'interface' in spec.vips && !liveLinks.includes(spec.vips.interface)) {
    throw settingError(
      input.where,
      `vips.interface ${spec.vips.interface} is not an interface of this director`,
      'Name an interface the director has (`ip link`), or use vips: { dummy: NAME } for a dummy interface lvsform creates.',
    );
  }
  const wanted = new Set<string>();
  // An address VRRP moves is keepalived's, never lvsform's to add (the rules refuse both at synth; this holds it here).
  const vrrp = new Set((spec?.vrrp?.addresses ?? []).map((a) => a.address));
  if (device !== undefined) for (const s of input.table.services) if (s.key.kind === 'addr' && !vrrp.has(s.key.address)) wanted.add(s.key.address);
  const owned: OwnedAddress[] = [];
  let unannounced = 0;
  let unadvertised = 0;
  for (const address of [...wanted].sort()) {
    const own = recorded.find((r) => r.address === address && r.device === device);
    if (isLive(address)) {
      if (own && isLive(address, own.device)) owned.push(own);
      continue;
    }
    const prefix = hostPrefix(address);
    const v4 = prefix === 32;
    const tool = v4 ? live.arping === true : live.perl === true;
    if (!tool && v4) unannounced += 1;
    else if (!tool) unadvertised += 1;
    const announce: AddressAnnounce | undefined = tool ? (v4 ? 'arping' : 'na') : undefined;
    changes.push({ kind: 'address', action: 'create', address, prefix, device: device!, ...(announce ? { announce } : {}) });
    owned.push({ address, prefix, device: device! });
    if (own) drift.push(`address ${address}/${prefix} on ${device} (removed outside lvsform)`);
  }
  for (const own of recorded) {
    if (wanted.has(own.address) && own.device === device) continue;
    if (isLive(own.address, own.device)) changes.push({ kind: 'address', action: 'delete', address: own.address, prefix: own.prefix, device: own.device });
  }
  for (const name of ownedLinks) {
    if (name === device || !liveLinks.includes(name)) continue;
    // A link of lvsform's goes once none but lvsform's own addresses (removed just before) are on it.
    const foreign = liveAddrs.some(
      (x) => x.device === name && !recorded.some((r) => r.address === x.address && r.device === name) && !x.address.startsWith('fe80:'),
    );
    if (foreign) {
      notes.push(`link ${name} is kept: it holds addresses lvsform did not add`);
      links.push(name);
    } else changes.push({ kind: 'link', action: 'delete', name });
  }
  if (unannounced > 0) {
    notes.push(
      `${unannounced} IPv4 address(es) added without a gratuitous ARP: arping is not on the director (install iputils-arping); neighbours learn them when they next ask`,
    );
  }
  if (unadvertised > 0) {
    notes.push(
      `${unadvertised} IPv6 address(es) added without an unsolicited neighbour advertisement: perl is not on the director (install perl-base); neighbours learn them when they next ask`,
    );
  }
  return { addresses: owned, links };
}

function planSysctls(input: SettingsPlanInput, changes: SettingChange[], drift: string[], notes: string[]): SettingsRecord['sysctls'] {
  const { spec, live, record } = input;
  const now = live.sysctls ?? {};
  const out: Record<string, { prior: string; value: string }> = {};
  const desired = new Map<string, string>();
  for (const [key, v] of Object.entries(spec?.sysctls ?? {})) {
    if (v === CONN_REUSE_AUTO) {
      const value = connReuseAuto(live.kernel);
      if (value === undefined) {
        notes.push(`conn_reuse_mode auto: kernel ${live.kernel || 'unknown'} needs no change (only 4.2 to 5.8 need 0), so it is left as it is`);
        continue;
      }
      desired.set(key, String(value));
    } else desired.set(key, String(v));
  }
  for (const [key, value] of desired) {
    const current = now[key];
    if (current === undefined) {
      const since = IPVS_SYSCTLS[key as IpvsSysctl]?.since ?? '?';
      throw settingError(
        input.where,
        `kernel ${live.kernel || 'unknown'} has no net.ipv4.vs.${key} (Linux ${since} and later)`,
        'Leave that sysctl out of the Director for this director, or run a kernel that has it.',
      );
    }
    const rec = record?.sysctls?.[key];
    if (rec && rec.value === value && current !== value) drift.push(`sysctl net.ipv4.vs.${key} (${value} -> ${current} outside lvsform)`);
    if (current !== value) changes.push({ kind: 'sysctl', action: 'update', name: key, before: current, after: value });
    out[key] = { prior: rec?.prior ?? current, value };
  }
  for (const [key, rec] of Object.entries(record?.sysctls ?? {})) {
    if (desired.has(key)) continue;
    const current = now[key];
    if (current !== undefined && current !== rec.prior)
      changes.push({ kind: 'sysctl', action: 'update', name: key, before: current, after: rec.prior, restore: true });
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function planTimeouts(input: SettingsPlanInput, changes: SettingChange[], drift: string[]): SettingsRecord['timeouts'] {
  const { spec, live, record } = input;
  const want = spec?.timeouts;
  if (want === undefined && record?.timeouts === undefined) return undefined;
  const now: LiveTimeouts | undefined = live.timeouts;
  if (now === undefined) return record?.timeouts;
  const after: { tcp: number; tcpfin: number; udp: number } = { ...now };
  const prior: { -readonly [K in keyof IpvsTimeouts]: number } = {};
  const value: { -readonly [K in keyof IpvsTimeouts]: number } = {};
  let restore = false;
  for (const f of TIMEOUT_FIELDS) {
    const w = want?.[f];
    const recPrior = record?.timeouts?.prior[f];
    if (w !== undefined) {
      if (record?.timeouts?.value[f] === w && now[f] !== w) drift.push(`timeouts ${f} (${w} -> ${now[f]} outside lvsform)`);
      after[f] = w;
      prior[f] = recPrior ?? now[f];
      value[f] = w;
    } else if (recPrior !== undefined) {
      after[f] = recPrior;
      restore = true;
    }
  }
  if (TIMEOUT_FIELDS.some((f) => after[f] !== now[f])) {
    changes.push({ kind: 'timeouts', action: 'update', before: now, after, ...(restore && want === undefined ? { restore: true } : {}) });
  }
  return Object.keys(value).length > 0 ? { prior, value } : undefined;
}

/** Plans a director's settings. @throws LvsError `LVS_DIRECTOR_SETTING` for what this director cannot do. */
export function planSettings(input: SettingsPlanInput): SettingsPlan {
  const changes: SettingChange[] = [];
  const drift: string[] = [];
  const notes: string[] = [];
  const { addresses, links } = planAddresses(input, changes, drift, notes);
  const sysctls = planSysctls(input, changes, drift, notes);
  const timeouts = planTimeouts(input, changes, drift);
  const daemons = planDaemons(input, changes, drift);
  const keepalived = planKeepalived(input, changes, drift, notes);
  const record: SettingsRecord = {
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(links.length > 0 ? { links: links.sort() } : {}),
    ...(sysctls ? { sysctls } : {}),
    ...(timeouts ? { timeouts } : {}),
    ...(daemons ? { daemons } : {}),
    ...(keepalived ? { keepalived } : {}),
  };
  const before = { link: 0, address: 1, sysctl: 2, timeouts: 3, daemon: 4, keepalived: 4 } as const;
  const order = (c: SettingChange): number => (settingPhase(c) === 'after' ? (c.kind === 'address' ? 5 : c.kind === 'link' ? 6 : 7) : before[c.kind]);
  changes.sort((a, b) => order(a) - order(b));
  return { changes, drift: drift.sort(), notes, record: Object.keys(record).length > 0 ? record : undefined };
}

/**
 * The record after an apply, from the planned one and what the read-back shows: an added address or link that is not
 * there is not owned; a removed one that is still there stays owned (the next plan removes it again).
 */
export function settingsRecordAfter(
  planned: SettingsRecord | undefined,
  changes: readonly SettingChange[],
  after: LiveSettings | undefined,
): SettingsRecord | undefined {
  if (after === undefined) return planned;
  const addrs = after.addresses;
  const links = after.links;
  const has = (a: string, dev: string) => addrs === undefined || addrs.some((x) => x.address === a && x.device === dev);
  const kept = (planned?.addresses ?? []).filter((a) => has(a.address, a.device));
  for (const c of changes) {
    if (c.kind === 'address' && c.action === 'delete' && has(c.address, c.device) && addrs !== undefined)
      kept.push({ address: c.address, prefix: c.prefix, device: c.device });
  }
  const keptLinks = (planned?.links ?? []).filter((l) => links === undefined || links.includes(l));
  for (const c of changes) if (c.kind === 'link' && c.action === 'delete' && links?.includes(c.name)) keptLinks.push(c.name);
  const { daemons, keepalived } = pairRecordAfter(planned, changes, after);
  const record: SettingsRecord = {
    ...(kept.length > 0 ? { addresses: kept } : {}),
    ...(keptLinks.length > 0 ? { links: keptLinks.sort() } : {}),
    ...(planned?.sysctls ? { sysctls: planned.sysctls } : {}),
    ...(planned?.timeouts ? { timeouts: planned.timeouts } : {}),
    ...(daemons.length > 0 ? { daemons } : {}),
    ...(keepalived ? { keepalived } : {}),
  };
  return Object.keys(record).length > 0 ? record : undefined;
}

/**
 * The pair's part of the record after an apply: of the daemons planned, those the read-back shows running (a stop
 * that did not happen keeps its daemon owned); the keepalived file as planned when the read-back shows its digest, the
 * record before when a write did not land.
 */
function pairRecordAfter(
  planned: SettingsRecord | undefined,
  changes: readonly SettingChange[],
  after: LiveSettings,
): { daemons: SyncDaemon[]; keepalived: KeepalivedRecord | undefined } {
  const running = after.daemons;
  const daemons = (planned?.daemons ?? []).filter((d) => running === undefined || running.some((r) => sameDaemon(r, d)));
  for (const c of changes) {
    if (c.kind === 'daemon' && c.action === 'delete' && running?.some((r) => sameDaemon(r, c)) && !daemons.some((d) => sameDaemon(d, c))) {
      daemons.push({ role: c.role, interface: c.interface, syncId: c.syncId });
    }
  }
  const write = changes.find((c) => c.kind === 'keepalived' && c.action !== 'delete');
  const removed = changes.find((c) => c.kind === 'keepalived' && c.action === 'delete');
  const k = after.keepalived;
  let keepalived = planned?.keepalived;
  if (write && k && planned?.keepalived && k.digest !== planned.keepalived.digest) {
    // The write did not land: still lvsform's path (the next plan writes it again), as the director holds it.
    keepalived = k.digest === undefined ? undefined : { ...planned.keepalived, digest: k.digest };
  }
  if (!keepalived && removed?.kind === 'keepalived' && k?.digest !== undefined)
    keepalived = { path: removed.path, main: removed.main === 'delete', digest: k.digest };
  return { daemons, keepalived };
}

/**
 * The sysctls and timeouts the app asks for that another stack's record holds on this director (`sysctl
 * net.ipv4.vs.conntrack (stack \`api\`)`): one setting has one owner, as one service does, or each stack would put back
 * the value it found and undo the other's. Empty when none.
 */
export function settingsOwnedElsewhere(spec: DirectorSettingsSpec | undefined, others: ReadonlyMap<string, string> | undefined): string[] {
  if (!spec || !others || others.size === 0) return [];
  const out: string[] = [];
  for (const key of Object.keys(spec.sysctls ?? {}).sort()) {
    const other = others.get(settingKey('sysctl', key));
    if (other !== undefined) out.push(`sysctl net.ipv4.vs.${key} (stack \`${other}\`)`);
  }
  for (const field of TIMEOUT_FIELDS) {
    if (spec.timeouts?.[field] === undefined) continue;
    const other = others.get(settingKey('timeout', field));
    if (other !== undefined) out.push(`timeout ${field} (stack \`${other}\`)`);
  }
  return out;
}

/**
 * A `--target` run that leaves some of the stack's services on this director alone: of the planned setting changes,
 * only the addresses of the targeted services (`vips`: added before the services that need them, removed after the
 * last of them goes) and the dummy interface an added one goes on. Sysctls and timeouts are the whole director's, so
 * they are left as they are, as are dummy interfaces to delete; the notes say so. The record keeps what it held, with
 * the addresses this run adds or removes.
 */
export function targetedSettings(
  planned: SettingsPlan,
  recorded: SettingsRecord | undefined,
  vips: ReadonlySet<string>,
  directorPath: string,
): { changes: SettingChange[]; record: SettingsRecord | undefined; notes: string[] } {
  const addresses = planned.changes.filter((c) => c.kind === 'address' && vips.has(c.address));
  const devices = new Set(addresses.flatMap((c) => (c.kind === 'address' && c.action === 'create' ? [c.device] : [])));
  const links = planned.changes.filter((c) => c.kind === 'link' && c.action === 'create' && devices.has(c.name));
  const changes = planned.changes.filter((c) => addresses.includes(c) || links.includes(c));
  const left = planned.changes.filter((c) => !changes.includes(c));
  const same = (a: OwnedAddress, c: SettingChange) => c.kind === 'address' && c.address === a.address && c.device === a.device;
  const owned: OwnedAddress[] = [
    ...(recorded?.addresses ?? []).filter((a) => !addresses.some((c) => c.kind === 'address' && c.action === 'delete' && same(a, c))),
    ...addresses.flatMap((c) =>
      c.kind === 'address' && c.action === 'create' && !(recorded?.addresses ?? []).some((a) => same(a, c))
        ? [{ address: c.address, prefix: c.prefix, device: c.device }]
        : [],
    ),
  ];
  const ownedLinks = [...new Set([...(recorded?.links ?? []), ...links.flatMap((c) => (c.kind === 'link' ? [c.name] : []))])].sort();
  const record: SettingsRecord = {
    ...(owned.length > 0 ? { addresses: owned } : {}),
    ...(ownedLinks.length > 0 ? { links: ownedLinks } : {}),
    ...(recorded?.sysctls ? { sysctls: recorded.sysctls } : {}),
    ...(recorded?.timeouts ? { timeouts: recorded.timeouts } : {}),
    ...(recorded?.daemons ? { daemons: recorded.daemons } : {}),
    ...(recorded?.keepalived ? { keepalived: recorded.keepalived } : {}),
  };
  const notes =
    left.length > 0
      ? [
          `a --target run changes only the VIPs of the targeted services; ${left.length} other director setting change(s) (sysctls, timeouts, sync daemons, the keepalived file, other addresses, dummy interfaces) are left as they are: target the whole director (${directorPath}) to make them`,
        ]
      : [];
  return { changes, record: Object.keys(record).length > 0 ? record : undefined, notes };
}
