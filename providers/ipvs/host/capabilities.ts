/**
 * What a director can do, read before any change: the kernel release, what its `ipvsadm` accepts (from `ipvsadm -h`,
 * which every release prints in the same layout) and the state of the modules the desired table needs. Read in the
 * session that reads the table, under the same lock; a desired feature the director lacks fails that director's plan
 * (`LVS_CAPABILITY_MISSING`), naming the feature, the construct path and what is missing, before anything changes.
 *
 * The gates, from ipvsadm's and the kernel's history:
 * - scheduler flags (`-b`, sh-fallback / sh-port): ipvsadm 1.27; mh's flags with mh.
 * - tunnel types (`--tun-type gue|gre`, `--tun-port`, the checksum options): ipvsadm 1.31; in the kernel, GUE from
 *   Linux 5.2, GRE and the tunnel checksum options from 5.3 (the IPVS commits "allow tunneling with gue
 *   encapsulation", April 2019, then "add checksum support for gue encapsulation" and "allow tunneling with gre
 *   encapsulation", June and July 2019, each merged in the next release's window).
 * - SCTP services (`--sctp-service`): ipvsadm's help lists it from the release that added it.
 * - a scheduler or persistence engine: its kernel module (`ip_vs_<name>`, `ip_vs_pe_<name>`) must be loaded, built in
 *   or loadable. ipvsadm passes a scheduler name through to the kernel as given (its sources copy `-s` unchecked), so
 *   its own list (1.26 and 1.27 list rr…nq; later releases add fo, ovf, mh) is reported by `doctor`, not enforced.
 */
import { LvsError } from '../model/errors.ts';
import { requiredModules as modulesNeeded } from '../model/limits.ts';
import type { CapabilitiesRequest } from './requests/capabilities.ts';
import { serviceId, type Service, type Table } from '../model/model.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';

export interface IpvsadmHelp {
  /** `1.31`, from the first line (`ipvsadm v1.31 2019/12/24 …`); '' when it does not say. */
  readonly version: string;
  /** The schedulers `-s` lists (`one of rr|wrr|…`). */
  readonly schedulers: readonly string[];
  /** `-b` / `--sched-flags`. */
  readonly schedFlags: boolean;
  /** `--tun-type`'s list; empty when the release has no tunnel types (plain ipip only). */
  readonly tunnelTypes: readonly string[];
  /** `--tun-csum` / `--tun-remcsum`. */
  readonly tunnelChecksum: boolean;
  /** `--sctp-service`. */
  readonly sctp: boolean;
  /** `--pe`'s list (`may be sip`). */
  readonly persistenceEngines: readonly string[];
}

/** Reads `ipvsadm -h`. Unknown lines are ignored, so a newer release's extra options change nothing. */
export function parseIpvsadmHelp(text: string): IpvsadmHelp {
  const version = /ipvsadm v(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? '';
  const list = (re: RegExp): string[] => (re.exec(text)?.[1] ?? '').split('|').filter((x) => /^[a-z][a-z0-9_]*$/.test(x));
  return {
    version,
    schedulers: list(/--scheduler\s+-s scheduler\s+one of ([a-z0-9_|]+)/),
    schedFlags: /--sched-flags\b/.test(text),
    tunnelTypes: list(/--tun-type\s+type\s+one of ([a-z0-9_|]+)/),
    tunnelChecksum: /--tun-csum\b/.test(text),
    sctp: /--sctp-service\b/.test(text),
    persistenceEngines: list(/--pe\s+engine\s+alternate persistence engine may be ([a-z0-9_|]+)/),
  };
}

export type ModuleState = 'loaded' | 'builtin' | 'available' | 'unreadable' | 'disabled' | 'missing';

export interface Capabilities {
  /** `uname -r`. */
  readonly kernel: string;
  /** Absent when ipvsadm is not installed, or its help was not read (nothing the table asks for needs it). */
  readonly ipvsadm: IpvsadmHelp | undefined;
  /** The modules asked about, by name. */
  readonly modules: ReadonlyMap<string, ModuleState>;
}

/** Module names that may reach a host script. */
export const MODULE_NAME = /^ip_vs(_[a-z0-9_]+)?$/;

/** The modules whose state the capability read asks for: those the table needs (see doctor's `modulesNeeded`). */
export function capabilityModules(table: Table): string[] {
  return modulesNeeded(table).filter((m) => m !== 'ip_vs' && MODULE_NAME.test(m));
}

/** The capability read for a table: its modules, and `ipvsadm -h` when `help` (by default, when the table needs it). */
export function capabilitiesRequest(table: Table, help = needsIpvsadmHelp(table)): CapabilitiesRequest {
  return { kind: 'capabilities', modules: capabilityModules(table), help };
}

/**
 * Whether the table asks for something only ipvsadm's help can tell (scheduler flags, GUE/GRE tunnels, tunnel
 * checksums, SCTP). Otherwise the capability read skips `ipvsadm -h` (one process fewer per run).
 */
export function needsIpvsadmHelp(table: Table): boolean {
  return table.services.some(
    (s) =>
      s.config.schedFlags.length > 0 ||
      (s.key.kind === 'addr' && s.key.protocol === 'sctp') ||
      s.destinations.some((d) => d.forwarding.method === 'tunnel' && (d.forwarding.type !== 'ipip' || (d.forwarding.checksum ?? 'nocsum') !== 'nocsum')),
  );
}

/** `[major, minor]` of a kernel release (`6.1.0-57-amd64` → [6, 1]); undefined when it is not one. */
export function kernelVersion(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const v = kernelVersion(release);
  // A release that cannot be read is not held against the director: the kernel's own answer is verified after the batch.
  return v === undefined || v[0] > major || (v[0] === major && v[1] >= minor);
}

export interface MissingCapability {
  /** What the app asks for: `scheduler mh`, `GUE tunnel`, `scheduler flags`, … */
  readonly feature: string;
  /** The construct path of the service that asks for it. */
  readonly path: string;
  /** What the director lacks. */
  readonly missing: string;
}

const MODULE_WHY: Record<ModuleState, string> = {
  loaded: '',
  builtin: '',
  available: '',
  unreadable: 'is listed in modules.dep but its file is missing or empty',
  disabled: 'is disabled by an install rule in /etc/modprobe.d',
  missing: 'is not in this kernel',
};

function serviceNeeds(svc: Service, caps: Capabilities): { feature: string; missing: string }[] {
  const out: { feature: string; missing: string }[] = [];
  const help = caps.ipvsadm;
  const ipvsadm = help ? `ipvsadm ${help.version || '(unknown release)'}` : 'ipvsadm';
  const kernel = `kernel ${caps.kernel || '?'}`;
  const moduleGap = (feature: string, mod: string): void => {
    const state = caps.modules.get(mod);
    if (state === undefined || state === 'loaded' || state === 'builtin' || state === 'available') return;
    out.push({ feature, missing: `module ${mod} ${MODULE_WHY[state]} (${kernel})` });
  };
  moduleGap(`scheduler ${svc.config.scheduler}`, `ip_vs_${svc.config.scheduler}`);
  if (svc.config.persistenceEngine) moduleGap(`persistence engine ${svc.config.persistenceEngine}`, `ip_vs_pe_${svc.config.persistenceEngine}`);
  if (help && svc.config.schedFlags.length > 0 && !help.schedFlags) {
    out.push({ feature: `scheduler flags (${svc.config.schedFlags.join(', ')})`, missing: `${ipvsadm} has no -b/--sched-flags (added in ipvsadm 1.27)` });
  }
  if (help && svc.key.kind === 'addr' && svc.key.protocol === 'sctp' && !help.sctp) {
    out.push({ feature: 'SCTP service', missing: `${ipvsadm} has no --sctp-service` });
  }
  const tunnels = new Set<string>();
  let checksum = false;
  for (const d of svc.destinations) {
    if (d.forwarding.method !== 'tunnel') continue;
    if (d.forwarding.type !== 'ipip') tunnels.add(d.forwarding.type);
    if (d.forwarding.checksum !== undefined && d.forwarding.checksum !== 'nocsum') checksum = true;
  }
  for (const type of [...tunnels].sort()) {
    const name = `${type.toUpperCase()} tunnel`;
    if (help && !help.tunnelTypes.includes(type)) {
      out.push({ feature: name, missing: `${ipvsadm} has no --tun-type ${type} (tunnel types came with ipvsadm 1.31)` });
    }
    const [major, minor] = type === 'gue' ? [5, 2] : [5, 3];
    if (!kernelAtLeast(caps.kernel, major, minor)) out.push({ feature: name, missing: `${kernel}: IPVS learned ${type} tunnels in Linux ${major}.${minor}` });
  }
  if (checksum) {
    if (help && !help.tunnelChecksum) out.push({ feature: 'tunnel checksum', missing: `${ipvsadm} has no --tun-csum/--tun-remcsum (ipvsadm 1.31)` });
    if (!kernelAtLeast(caps.kernel, 5, 3)) out.push({ feature: 'tunnel checksum', missing: `${kernel}: IPVS learned tunnel checksums in Linux 5.3` });
  }
  return out;
}

/** Every desired feature the director lacks, with the construct path that asks for it. */
export function missingCapabilities(table: Table, paths: ReadonlyMap<string, string>, caps: Capabilities): MissingCapability[] {
  const out: MissingCapability[] = [];
  for (const svc of table.services) {
    const needs = serviceNeeds(svc, caps);
    if (needs.length === 0) continue;
    const path = paths.get(serviceId(svc.key)) ?? serviceId(svc.key);
    for (const need of needs) out.push({ ...need, path });
  }
  return out;
}

/** The error that fails a director's plan when it lacks something the app asks for. */
export function capabilityError(target: HostTarget, missing: readonly MissingCapability[]): LvsError {
  const first = missing.slice(0, 5).map((m) => `${m.path}: ${m.feature}: ${m.missing}`);
  return new LvsError(
    'LVS_CAPABILITY_MISSING',
    `director ${describeTarget(target)} lacks ${missing.length} feature(s) the app asks for (nothing was changed): ${first.join('; ')}${missing.length > 5 ? '; …' : ''}`,
    {
      hint: 'Change those services to what this director can do (another scheduler, ipip tunnels, no scheduler flags), or upgrade its kernel or ipvsadm; `lvsform doctor` lists what it has.',
    },
  );
}

/** One line for `doctor`: what the director has. */
export function describeCapabilities(caps: Capabilities): string {
  const h = caps.ipvsadm;
  if (!h) return `kernel ${caps.kernel}; ipvsadm not installed`;
  return [
    `kernel ${caps.kernel}`,
    `ipvsadm ${h.version || '?'}: schedulers ${h.schedulers.join(' ') || '?'}`,
    `scheduler flags ${h.schedFlags ? 'yes' : 'no'}`,
    `tunnel types ${h.tunnelTypes.length ? h.tunnelTypes.join(' ') : 'ipip only'}`,
    `SCTP ${h.sctp ? 'yes' : 'no'}`,
  ].join('; ');
}
