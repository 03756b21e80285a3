import { chmod, copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { MAX_DIRECTORS, directorAddresses } from './addresses.ts';
import { chooseAccel } from './accel.ts';
import { type LabBoot, ensureDisk, startDirector, waitForDirector } from './boot-director.ts';
import { openControlMaster } from './control-master.ts';
import { checkLabAddresses, checkLabHost } from './host-check.ts';
import { ensureInitramfs, ensureKernel } from './kernel.ts';
import { labDown } from './lab-down.ts';
import { labStatus } from './lab-status.ts';
import { writeSshFiles } from './ssh-files.ts';
import { bridgeFirewallWarning, clusterDevicesPresent, createClusterNetwork } from './cluster-network.ts';
import { planCluster } from './cluster-plan.ts';
import {
  CLUSTER_FORWARDING_HINT,
  type DirectorBootOptions,
  type LabCluster,
  type LabState,
  type LabVm,
  defaultInit,
  labDir,
  labPaths,
  readLabState,
  writeLabState,
} from './state.ts';
import { createTaps, tapExists } from './tap-devices.ts';

const GUEST_FILES = join(dirname(fileURLToPath(import.meta.url)), 'guest');

export interface LabUpOptions extends DirectorBootOptions {
  /** How many directors (independent kernels) to boot in parallel. @default 1 */
  readonly directors?: number;
  /**
   * Boot the cluster topology instead of the single-guest lab: directors and real servers as virtual machines on a
   * shared segment with a client namespace on this machine, and a private segment for NAT (see cluster-addresses.ts).
   * Every cluster VM boots with systemd and a disk of its own. @default false
   */
  readonly cluster?: boolean;
  /** Real-server VMs of a cluster lab (1..9). @default 2 (cluster only) */
  readonly realServers?: number;
  /**
   * A cluster lab's real servers sit on the private segment only, behind the directors: no card on the client's
   * segment, so that a reply reaches the client only through a route via a director, as in VS/NAT. @default false
   * (cluster only)
   */
  readonly privateRealServers?: boolean;
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
  /**
   * Number of the first director (VM index), so that a second lab (in another `dir`) can run beside the main one on
   * other taps and addresses, e.g. `{ dir: '/tmp/lvsform-lab-noforward', firstIndex: 60, ipForward: false }`. In a
   * cluster lab the real servers follow the directors. @default 1
   */
  readonly firstIndex?: number;
  /** Boot options of single directors by number, over the lab-wide `skipModules` / `ipForward`. @default {} */
  readonly directorOptions?: Readonly<Record<number, DirectorBootOptions>>;
  /** Memory of each virtual machine. @default 512 */
  readonly memoryMb?: number;
  /**
   * `kvm` or `tcg`. @default $LVSFORM_LAB_ACCEL, else KVM when a short probe boot under it works (remembered in the
   * cache), else TCG
   */
  readonly accel?: string;
  /** @default 120000 */
  readonly bootTimeoutMs?: number;
  /** Progress lines (what is happening, the time to usable ssh). */
  readonly onProgress?: (msg: string) => void;
}

/**
 * Where one guest's boot went, from the uptime marks its init prints (`lvsform-time: PHASE SECONDS`): the kernel and
 * initramfs up to init.sh, then each phase of init.sh (under systemd: `systemd` is init.sh before systemd starts, the
 * next phase includes systemd's own start, and `boot-over` the rest of the boot after the lab's unit).
 */
async function guestTimings(d: LabVm): Promise<string> {
  const log = await readFile(d.consoleLog, 'utf8').catch(() => '');
  const marks = [...log.matchAll(/^lvsform-time: (\S+) ([\d.]+)/gm)].map((m) => ({ name: m[1]!, at: Number(m[2]) }));
  if (marks.length === 0) return 'no timings on the console';
  const parts = [`kernel ${marks[0]!.at.toFixed(1)} s`];
  for (let i = 1; i < marks.length; i++) {
    parts.push(`${marks[i]!.name} ${(marks[i]!.at - marks[i - 1]!.at).toFixed(1)} s`);
  }
  return parts.join(', ');
}

/** The single-guest lab's directors: one VM each, with the client and real servers inside. */
function planDirectors(paths: ReturnType<typeof labPaths>, opts: LabUpOptions, first: number, count: number): LabVm[] {
  if (!Number.isInteger(count) || count < 1 || first < 1 || first + count - 1 > MAX_DIRECTORS) {
    throw new LvsError('LVS_LAB_BAD_OPTIONS', `directors ${first}..${first + count - 1} are outside 1..${MAX_DIRECTORS}`);
  }
  const directors: LabVm[] = [];
  for (let index = first; index < first + count; index++) {
    const a = directorAddresses(index);
    const own = opts.directorOptions?.[index] ?? {};
    directors.push({
      ...a,
      skipModules: [...(own.skipModules ?? opts.skipModules ?? [])],
      ipForward: own.ipForward ?? opts.ipForward ?? true,
      persistent: own.persistent ?? opts.persistent ?? false,
      init: own.init ?? opts.init ?? defaultInit(own.persistent ?? opts.persistent),
      vmPid: null,
      controlMasterPid: null,
      controlPath: join(paths.controlSockets, a.alias),
      consoleLog: join(paths.logs, `${a.name}.console.log`),
    });
  }
  return directors;
}

/** The directors (and a cluster's real servers and network) that `labUp` boots, or why it cannot. */
function planLab(paths: ReturnType<typeof labPaths>, opts: LabUpOptions): { directors: LabVm[]; cluster?: LabCluster } {
  const first = opts.firstIndex ?? 1;
  const count = opts.directors ?? 1;
  if (!opts.cluster) {
    if (opts.realServers !== undefined || opts.privateRealServers !== undefined) {
      throw new LvsError('LVS_LAB_BAD_OPTIONS', 'real servers are virtual machines of their own only in a cluster lab', {
        hint: 'add --cluster (labUp({ cluster: true }))',
      });
    }
    return { directors: planDirectors(paths, opts, first, count) };
  }
  if (opts.init === 'lab' || opts.persistent === false || opts.directorOptions !== undefined) {
    throw new LvsError(
      'LVS_LAB_BAD_OPTIONS',
      'a cluster lab boots every VM with systemd and a disk of its own: --init lab, --no-persistent and per-director options do not apply',
    );
  }
  if (opts.ipForward !== undefined) {
    throw new LvsError('LVS_LAB_BAD_OPTIONS', 'a cluster lab boots its directors bare, forwarding off: ipForward (--no-ip-forward) does not apply', {
      hint: CLUSTER_FORWARDING_HINT,
    });
  }
  return planCluster(paths, {
    first,
    directors: count,
    realServers: opts.realServers ?? 2,
    privateRealServers: opts.privateRealServers ?? false,
    skipModules: opts.skipModules ?? [],
  });
}

/**
 * Boots the lab: one QEMU virtual machine per director running Debian's own kernel, in parallel, each with its own
 * IPVS table, sshd, client and real-server namespaces (see lab/guest/init.sh and LAB_TOPOLOGY); a persistent director
 * boots with systemd as PID 1 unless `init` says otherwise. With `cluster`, directors and real servers are VMs of
 * their own on shared and private segments made on this machine (see cluster-addresses.ts). Returns once every VM
 * answers ssh. Installs no package; fetches Debian's kernel into the cache on first use. On failure or SIGINT/SIGTERM
 * it takes down everything it started.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabState> {
  const started = Date.now();
  const progress = opts.onProgress ?? (() => {});
  const dir = labDir(opts.dir);
  if (/\s/.test(dir)) throw new LvsError('LVS_LAB_BAD_OPTIONS', `the lab directory may not contain spaces: "${dir}"`);
  const paths = labPaths(dir);
  const { directors, cluster } = planLab(paths, opts);
  await checkLabHost({ cluster: cluster !== undefined });

  if (await readLabState(dir)) {
    const status = await labStatus({ dir });
    if (status.running) {
      throw new LvsError('LVS_LAB_RUNNING', `a lab is already running in ${dir}`, {
        hint: `take it down first: lvsform lab down${opts.dir ? ` --dir ${dir}` : ''}`,
      });
    }
  }
  await labDown({ dir }); // leftovers of a crashed run

  const vms = [...directors, ...(cluster?.realServers ?? [])];
  refuseBusyDevices(vms, cluster);
  const timings: string[] = [];
  const boot = await prepareBoot(opts, progress, timings);

  const state: LabState = {
    version: 1,
    dir,
    status: 'booting',
    createdAt: new Date().toISOString(),
    bootMs: null,
    sshConfig: paths.sshConfig,
    knownHosts: paths.knownHosts,
    identityFile: paths.identityFile,
    logDir: paths.logs,
    boot,
    directors,
    ...(cluster ? { cluster } : {}),
  };

  let interrupted: NodeJS.Signals | undefined;
  let goingDown: Promise<void> | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    progress(`${sig}: taking the lab down`);
    goingDown = labDown({ dir }).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const p of [paths.guest, paths.logs, paths.controlSockets]) await mkdir(p, { recursive: true });
    await writeLabState(state); // before anything starts, so that labDown finds it after a crash
    for (const f of await readdir(GUEST_FILES)) await copyFile(join(GUEST_FILES, f), join(paths.guest, f));
    await chmod(join(paths.guest, 'init.sh'), 0o755);
    await writeSshFiles(paths, vms);

    progress(`booting ${describeVms(directors.length, cluster?.realServers.length)} (${vms.map((d) => d.alias).join(', ')})`);
    await checkLabAddresses(vms);
    await createTaps(vms);
    if (cluster) {
      await createClusterNetwork(cluster, vms);
      const warning = await bridgeFirewallWarning();
      if (warning) progress(`warning: ${warning}`);
    }
    await Promise.all(vms.filter((d) => d.persistent).map((d) => ensureDisk(paths, d)));
    const bootStarted = Date.now();
    for (const d of vms) {
      if (interrupted) break;
      d.vmPid = startDirector(paths, d, opts.memoryMb ?? 512, boot);
    }
    await writeLabState(state);
    const perDirector = await Promise.all(
      vms.map(async (d) => {
        await waitForDirector(paths, d, opts.bootTimeoutMs ?? 120_000, (w) => progress(`warning: ${w}`));
        const ready = Date.now();
        d.controlMasterPid = await openControlMaster(state, d);
        return { d, bootMs: ready - bootStarted, sshMs: Date.now() - ready };
      }),
    );
    for (const { d, bootMs, sshMs } of perDirector) {
      const guest = await guestTimings(d);
      progress(`${d.alias}: ready after ${(bootMs / 1000).toFixed(1)} s (${guest}), first ssh ${(sshMs / 1000).toFixed(1)} s`);
    }
    if (interrupted) throw new LvsError('LVS_LAB_INTERRUPTED', `lab up interrupted by ${interrupted}`);
    state.status = 'up';
    state.bootMs = Date.now() - started;
    await writeLabState(state);
    progress(
      `lab up: ${describeVms(directors.length, cluster?.realServers.length)} answer ssh after ${(state.bootMs / 1000).toFixed(1)} s ` +
        `(${timings.join(', ')}; boot and ssh ${((Date.now() - bootStarted) / 1000).toFixed(1)} s)`,
    );
    progress(`try: ssh -F ${paths.sshConfig} ${directors[0]?.alias} ipvsadm -L -n`);
    const onShared = cluster?.realServers[0]?.shared;
    if (cluster && onShared) progress(`the client: ip netns exec ${cluster.clientNamespace} curl http://${onShared.ipv4}/`);
    return state;
  } catch (e) {
    if (interrupted) {
      await goingDown; // the kernels died because of the signal: that is no boot failure to report
      throw new LvsError('LVS_LAB_INTERRUPTED', `lab up interrupted by ${interrupted}; the lab was taken down`);
    }
    await labDown({ dir });
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Refuses to boot when a tap, bridge or namespace of these VMs exists already (another lab on the same numbers). */
function refuseBusyDevices(vms: readonly LabVm[], cluster: LabCluster | undefined): void {
  const busy = [...vms.filter((d) => tapExists(d.tap)).map((d) => `link ${d.tap}`), ...(cluster ? clusterDevicesPresent(cluster, vms) : [])];
  if (busy.length > 0) {
    throw new LvsError('LVS_LAB_TAP_IN_USE', `network devices of this lab already exist: ${busy.join(', ')}`, {
      hint: 'another lab uses these VM numbers: take it down, or pick other numbers with firstIndex (lab up --first-index K)',
    });
  }
}

/** Debian's kernel, the initramfs and the accelerator every VM of the lab boots, each step timed into `timings`. */
async function prepareBoot(opts: LabUpOptions, progress: (msg: string) => void, timings: string[]): Promise<LabBoot> {
  const phase = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const r = await f();
    timings.push(`${name} ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return r;
  };
  const kernel = await phase('kernel', () => ensureKernel(progress));
  const initramfs = await phase('initramfs', () => ensureInitramfs(kernel));
  const choice = await phase('accelerator', () => chooseAccel(kernel, initramfs, { ...(opts.accel !== undefined ? { accel: opts.accel } : {}), progress }));
  progress(
    `kernel ${kernel.release} (${kernel.packageName} ${kernel.packageVersion}), ${choice.accel.toUpperCase()} ` +
      `(${choice.source}${choice.detail ? `: ${choice.detail}` : ''})`,
  );
  const { release, packageName, packageVersion, image, moduleDir } = kernel;
  return { kernel: { release, packageName, packageVersion, image, moduleDir }, initramfs, accel: choice.accel };
}

function describeVms(directors: number, realServers: number | undefined): string {
  const d = `${directors} director${directors > 1 ? 's' : ''}`;
  return realServers === undefined ? d : `${d} and ${realServers} real server${realServers > 1 ? 's' : ''}`;
}
