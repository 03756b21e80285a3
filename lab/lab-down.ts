import { rm } from 'node:fs/promises';
import { closeControlMaster } from './control-master.ts';
import { vmMarker } from './boot-director.ts';
import { findProcessesWith, isProcessWith, signal, waitGone } from './processes.ts';
import { clusterDevicesPresent, deleteClusterNetwork } from './cluster-network.ts';
import { type LabState, labDir, labPaths, labVms, readLabState } from './state.ts';
import { deleteTaps, tapExists } from './tap-devices.ts';

export interface LabDownOptions {
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
}

/**
 * Takes the lab down: stops its ControlMasters and virtual machines by PID (each QEMU's whole process group, plus any
 * process still carrying this lab's `-name lvsform-lab:DIR` argument, e.g. after a crash), deletes its taps (and a
 * cluster's bridges, segment taps and client namespace, after the processes left in it) and its directory.
 * Safe to run twice, with no lab, or after a crash.
 */
export async function labDown(opts: LabDownOptions = {}): Promise<void> {
  const dir = labDir(opts.dir);
  const paths = labPaths(dir);
  const state = await readLabState(dir);
  const directors = state ? labVms(state) : [];
  const stopping: number[] = [];

  for (const d of directors) {
    const pid = await closeControlMaster(d);
    if (pid) stopping.push(pid);
  }
  const marker = vmMarker(paths);
  for (const d of directors) {
    if (await isProcessWith(d.vmPid, marker)) {
      signal(-(d.vmPid as number), 'SIGKILL'); // QEMU is a process-group leader (started detached)
      stopping.push(d.vmPid as number);
    }
  }
  for (const pid of await findProcessesWith(marker)) {
    signal(pid, 'SIGKILL');
    stopping.push(pid);
  }
  const left = await waitGone(stopping, 10_000);
  for (const pid of left) signal(pid, 'SIGKILL');
  await waitGone(left, 5_000);

  await deleteTaps(directors.map((d) => d.tap));
  if (state?.cluster) await deleteClusterNetwork(state.cluster, directors);
  await rm(dir, { recursive: true, force: true });
}

/**
 * What of the lab described by `state` is still on this machine: its QEMU processes, ControlMasters, taps, a cluster's
 * bridges, segment taps and client namespace, and its state. After `labDown` it should be nothing.
 */
export async function labLeftovers(state: LabState): Promise<string[]> {
  const vms = labVms(state);
  const masters = await Promise.all(vms.map((d) => isProcessWith(d.controlMasterPid, d.alias)));
  return [
    ...(await findProcessesWith(vmMarker(labPaths(state.dir)))).map((p) => `process ${p}`),
    ...vms.filter((_, i) => masters[i]).map((d) => `ssh master ${d.controlMasterPid} (${d.alias})`),
    ...vms.filter((d) => tapExists(d.tap)).map((d) => `tap ${d.tap}`),
    ...(state.cluster ? clusterDevicesPresent(state.cluster, vms) : []),
    ...((await readLabState(state.dir)) ? [`state ${state.dir}`] : []),
  ];
}
