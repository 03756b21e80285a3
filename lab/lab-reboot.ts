import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { ensureDisk, vmMarker } from './boot-director.ts';
import { bootAgain, powerOff, requireState } from './lab-power.ts';
import { isProcessWith, waitGone } from './processes.ts';
import { CLUSTER_FORWARDING_HINT, type DirectorBootOptions, defaultInit, findDirector, labDir, labPaths } from './state.ts';

export interface LabRebootOptions {
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
  /** New boot options for this director (kept for later reboots); unset fields keep their current value. */
  readonly options?: DirectorBootOptions;
  /** Memory of the virtual machine. @default 512 */
  readonly memoryMb?: number;
  /** @default 120000 */
  readonly bootTimeoutMs?: number;
  readonly onProgress?: (msg: string) => void;
}

export interface LabRebootResult {
  /** Milliseconds from the halt to a working ssh. */
  readonly ms: number;
  readonly vmPid: number;
}

/**
 * Reboots one director the way a machine reboots: `sync`, power off from inside (the table, the loaded modules and
 * every sysctl are gone), then its kernel boots again on the same tap, with the same keys and, when it is persistent,
 * the same disk under /etc and /var/lib; with init `systemd`, what the disk holds comes back by the distribution's own
 * boot (the lab's ready line waits for multi-user.target).
 */
export async function labReboot(director: string | number, opts: LabRebootOptions = {}): Promise<LabRebootResult> {
  const started = Date.now();
  const progress = opts.onProgress ?? (() => {});
  const dir = labDir(opts.dir);
  const paths = labPaths(dir);
  const state = await requireState(dir);
  const d = findDirector(state, director);
  const o = opts.options ?? {};
  if (d.role && o.ipForward !== undefined) {
    throw new LvsError('LVS_LAB_BAD_OPTIONS', `${d.name} is a cluster VM, booted bare: --ip-forward and --no-ip-forward do not apply`, {
      hint: CLUSTER_FORWARDING_HINT,
    });
  }
  if (o.skipModules !== undefined) (d as { skipModules: string[] }).skipModules = [...o.skipModules];
  if (o.ipForward !== undefined) (d as { ipForward: boolean }).ipForward = o.ipForward;
  if (o.persistent !== undefined) d.persistent = o.persistent;
  // A new disk setting without an init brings its default init along (systemd with a disk, the lab's without).
  if (o.init !== undefined) d.init = o.init;
  else if (o.persistent !== undefined) d.init = defaultInit(o.persistent);
  if (d.persistent) await ensureDisk(paths, d);

  progress(`${d.alias}: sync and power off`);
  if (await isProcessWith(d.vmPid, vmMarker(paths))) {
    // The command returns before the power-off, so ssh does not wait on a connection that dies.
    await execa('ssh', ['-F', state.sshConfig, d.alias, 'sync; (sleep 0.3; busybox poweroff -f) </dev/null >/dev/null 2>&1 &'], {
      reject: false,
      timeout: 15_000,
      stdin: 'ignore',
    });
    const left = await waitGone([d.vmPid as number], 15_000);
    if (left.length > 0) {
      progress(`${d.alias}: no clean power-off; killing its virtual machine`);
      await powerOff(paths, d);
    }
  }
  const vmPid = await bootAgain(state, d, { ...opts, onProgress: progress });
  const ms = Date.now() - started;
  progress(`${d.alias}: back after ${(ms / 1000).toFixed(1)} s`);
  return { ms, vmPid };
}
