import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import type { DirectorAddresses } from './addresses.ts';
import type { LabBoot } from './boot-director.ts';
import type { ClusterNetworkNames, ClusterNic, ClusterRole } from './cluster-addresses.ts';

export const DEFAULT_LAB_DIR = '/tmp/lvsform-lab';

/** How one director boots. */
export interface DirectorBootOptions {
  /** Kernel modules hidden inside the guest and never loaded (e.g. `['ip_vs_sh']`). @default [] */
  readonly skipModules?: readonly string[];
  /** net.ipv4.ip_forward and IPv6 forwarding on the director. @default true */
  readonly ipForward?: boolean;
  /**
   * A disk of the director's own (an ext4 image in the lab directory) under /etc and /var/lib, so that what is written
   * there survives `labReboot`. @default false
   */
  readonly persistent?: boolean;
  /**
   * PID 1 of the guest. `lab`: the lab's own init (lab/guest/init.sh), fast, with every IPVS module loaded.
   * `systemd`: this machine's systemd boots the guest to multi-user.target, so the director comes back by the
   * distribution's own boot (systemd-modules-load, systemd-sysctl, Debian's ipvsadm service) and the lab loads no IPVS
   * module; the lab's set-up runs as a unit (lvsform-lab.service). Slower to boot.
   * @default 'systemd' for a persistent director, else 'lab'
   */
  readonly init?: LabInit;
}

export type LabInit = 'lab' | 'systemd';

/** A director's PID 1: as given, else systemd when it keeps a disk (what it keeps should come back as on a real boot). */
export function defaultInit(persistent: boolean | undefined): LabInit {
  return persistent ? 'systemd' : 'lab';
}

/** One virtual machine of the lab: a director, or in a cluster lab also a real server. */
export interface LabVm extends DirectorAddresses {
  readonly skipModules: string[];
  readonly ipForward: boolean;
  /** Whether the director has a persistent disk (older state files lack it: false). */
  persistent?: boolean;
  /** The guest's PID 1 (older state files lack it: `lab`). */
  init?: LabInit;
  /** PID of the director's QEMU process (also its process group), once started. */
  vmPid: number | null;
  /** PID of the OpenSSH ControlMaster, once open. */
  controlMasterPid: number | null;
  /** True from `labStop` (powered off on purpose) until `labStart` or `labReboot` boots it again. */
  stopped?: boolean;
  readonly controlPath: string;
  readonly consoleLog: string;
  /** Cluster VMs only: what the VM is, and its cards on the shared (none for a private real server) and private segments. */
  readonly role?: ClusterRole;
  readonly shared?: ClusterNic;
  readonly private?: ClusterNic;
}

/**
 * A cluster VM's cards on the segments, in PCI order: the shared one (a private real server has none), then the
 * private one; nothing for a VM of the single-guest lab.
 */
export function segmentCards(vm: Pick<LabVm, 'shared' | 'private'>): { readonly segment: 'shared' | 'private'; readonly nic: ClusterNic }[] {
  if (!vm.private) return [];
  return [...(vm.shared ? [{ segment: 'shared' as const, nic: vm.shared }] : []), { segment: 'private' as const, nic: vm.private }];
}

/** Why a cluster VM takes no forwarding option: its directors boot bare, and forwarding for NAT is lvsform's. */
export const CLUSTER_FORWARDING_HINT = "turn forwarding on with lvsform itself: the Director's setup (setup: { ipForward: true })";

/** A director of the lab (in a cluster lab, a cluster director). */
export type LabDirector = LabVm;

/** What a cluster lab adds on this machine (`labUp({ cluster: true })`), and its real servers. */
export interface LabCluster extends ClusterNetworkNames {
  readonly client: { readonly ipv4: string; readonly ipv6: string; readonly iface: string };
  readonly realServers: LabVm[];
}

/** `state.json` in the lab directory. */
export interface LabState {
  readonly version: 1;
  readonly dir: string;
  status: 'booting' | 'up';
  readonly createdAt: string;
  /** Milliseconds from `labUp` to a working ssh on every director. */
  bootMs: number | null;
  readonly sshConfig: string;
  readonly knownHosts: string;
  readonly identityFile: string;
  readonly logDir: string;
  /** The kernel, initramfs and accelerator every director boots (a reboot boots the same). */
  readonly boot: LabBoot;
  readonly directors: LabDirector[];
  /** Present in a cluster lab: its network on this machine and its real servers. */
  readonly cluster?: LabCluster;
}

/** The lab directory: `dir`, else `$LVSFORM_LAB_DIR`, else /tmp/lvsform-lab. */
export function labDir(dir?: string): string {
  return resolve(dir ?? process.env['LVSFORM_LAB_DIR'] ?? DEFAULT_LAB_DIR);
}

export function labPaths(dir: string) {
  return {
    dir,
    state: join(dir, 'state.json'),
    sshConfig: join(dir, 'ssh_config'),
    knownHosts: join(dir, 'known_hosts'),
    identityFile: join(dir, 'id_ed25519'),
    guest: join(dir, 'guest'),
    logs: join(dir, 'logs'),
    controlSockets: join(dir, 'cm'),
    disks: join(dir, 'disks'),
  };
}

/** Reads `state.json`; `undefined` when there is none (or it is unreadable). */
export async function readLabState(dir?: string): Promise<LabState | undefined> {
  const file = labPaths(labDir(dir)).state;
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as LabState;
    return parsed.version === 1 && Array.isArray(parsed.directors) && parsed.boot ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `state.json` atomically. */
export async function writeLabState(state: LabState): Promise<void> {
  const file = labPaths(state.dir).state;
  await mkdir(state.dir, { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** Every virtual machine of the lab: the directors, then a cluster's real servers. */
export function labVms(state: LabState): LabVm[] {
  return [...state.directors, ...(state.cluster?.realServers ?? [])];
}

/**
 * Finds a virtual machine by name (`director-1`, `cluster-rs-1`), ssh alias (`lab-director-1`) or VM index (`1`):
 * a director, or a cluster's real server.
 */
export function findDirector(state: LabState, director: string | number): LabVm {
  const key = String(director);
  const vms = labVms(state);
  const found = vms.find((d) => d.name === key || d.alias === key || String(d.index) === key);
  if (!found) {
    const known = vms.map((d) => d.alias).join(', ');
    throw new LvsError('LVS_LAB_NO_DIRECTOR', `no lab machine "${key}" in ${state.dir}; the lab has: ${known}`);
  }
  return found;
}
