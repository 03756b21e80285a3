import { rename } from 'node:fs/promises';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { ensureDisk, startDirector, vmMarker, waitForDirector } from './boot-director.ts';
import { closeControlMaster, openControlMaster } from './control-master.ts';
import { isProcessWith, signal, waitGone } from './processes.ts';
import { type LabState, type LabVm, findDirector, labDir, labPaths, readLabState, writeLabState } from './state.ts';

type Paths = ReturnType<typeof labPaths>;

export interface LabStopOptions {
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
  readonly onProgress?: (msg: string) => void;
}

export interface LabStopResult {
  /** False when the VM was not running (nothing was done). */
  readonly wasRunning: boolean;
  /** When its QEMU was killed (ms since the epoch): the moment of the power failure, for failover timings. */
  readonly stoppedAt: number;
}

export interface LabStartOptions {
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
  /** Memory of the virtual machine. @default 512 */
  readonly memoryMb?: number;
  /** @default 120000 */
  readonly bootTimeoutMs?: number;
  readonly onProgress?: (msg: string) => void;
}

export interface LabStartResult {
  /** True when the VM was running already (nothing was done). */
  readonly wasRunning: boolean;
  /** Milliseconds from the start to a working ssh (0 when it was running). */
  readonly ms: number;
  readonly vmPid: number;
}

/** The lab state in `dir`, or LVS_LAB_NOT_RUNNING with how to boot one. */
export async function requireState(dir: string): Promise<LabState> {
  const state = await readLabState(dir);
  if (!state) throw new LvsError('LVS_LAB_NOT_RUNNING', `no lab in ${dir}`, { hint: 'boot one first: lvsform lab up' });
  return state;
}

/**
 * Powers one VM off as a power failure would: its QEMU (a process-group leader) is killed by PID with SIGKILL, so the
 * guest neither syncs nor shuts anything down, and its peers see it vanish mid-conversation. Its taps, keys and disk
 * stay; the state remembers it as stopped on purpose (`lab status` says so) until `labStart` boots it again.
 */
export async function labStop(vm: string | number, opts: LabStopOptions = {}): Promise<LabStopResult> {
  const progress = opts.onProgress ?? (() => {});
  const dir = labDir(opts.dir);
  const state = await requireState(dir);
  const d = findDirector(state, vm);
  const wasRunning = await powerOff(labPaths(dir), d);
  const stoppedAt = Date.now();
  await forgetProcesses(d);
  d.stopped = true;
  await writeLabState(state);
  progress(wasRunning ? `${d.alias}: powered off (its virtual machine killed)` : `${d.alias}: was not running`);
  return { wasRunning, stoppedAt };
}

/**
 * Boots a stopped VM again from its disk, as `labReboot` does after its power-off: same taps, keys and (persistent)
 * disk, so its /etc and /var/lib come back and, with systemd as PID 1, its enabled units run. A VM that runs is left
 * alone.
 */
export async function labStart(vm: string | number, opts: LabStartOptions = {}): Promise<LabStartResult> {
  const started = Date.now();
  const progress = opts.onProgress ?? (() => {});
  const dir = labDir(opts.dir);
  const paths = labPaths(dir);
  const state = await requireState(dir);
  const d = findDirector(state, vm);
  if (await isProcessWith(d.vmPid, vmMarker(paths))) {
    progress(`${d.alias}: already running`);
    return { wasRunning: true, ms: 0, vmPid: d.vmPid as number };
  }
  if (d.persistent) await ensureDisk(paths, d);
  const vmPid = await bootAgain(state, d, { ...opts, onProgress: progress });
  const ms = Date.now() - started;
  progress(`${d.alias}: up after ${(ms / 1000).toFixed(1)} s`);
  return { wasRunning: false, ms, vmPid };
}

/** Kills the VM's QEMU process group (SIGKILL) and waits until it is gone; false when it was not running. */
export async function powerOff(paths: Paths, d: LabVm): Promise<boolean> {
  if (!(await isProcessWith(d.vmPid, vmMarker(paths)))) return false;
  signal(-(d.vmPid as number), 'SIGKILL');
  await waitGone([d.vmPid as number], 5_000);
  return true;
}

/** Closes the VM's ControlMaster (its connection died with the guest) and forgets both PIDs. */
async function forgetProcesses(d: LabVm): Promise<void> {
  const masterPid = await closeControlMaster(d);
  if (masterPid) await waitGone([masterPid], 5_000);
  d.controlMasterPid = null;
  d.vmPid = null;
}

/**
 * Boots a VM whose QEMU is gone: its kernel again on the same taps, keys and disk, a fresh console log (the ready line
 * is what the wait looks for; the old log is kept beside it), then a new ControlMaster. Returns the new QEMU's PID.
 */
export async function bootAgain(
  state: LabState,
  d: LabVm,
  opts: { readonly memoryMb?: number; readonly bootTimeoutMs?: number; readonly onProgress: (msg: string) => void },
): Promise<number> {
  const paths = labPaths(state.dir);
  await forgetProcesses(d);
  await rename(d.consoleLog, d.consoleLog.replace(/\.log$/, `.before-${Date.now()}.log`)).catch(() => undefined);
  await writeLabState(state);

  const how = [d.persistent ? 'persistent disk' : '', d.init === 'systemd' ? 'systemd' : ''].filter(Boolean).join(', ');
  opts.onProgress(`${d.alias}: booting${how ? ` (${how})` : ''}`);
  d.vmPid = startDirector(paths, d, opts.memoryMb ?? 512, state.boot);
  delete d.stopped;
  await writeLabState(state);
  await waitForDirector(paths, d, opts.bootTimeoutMs ?? 120_000, (w) => opts.onProgress(`warning: ${w}`));
  d.controlMasterPid = await openControlMaster(state, d);
  await writeLabState(state);
  return d.vmPid;
}
