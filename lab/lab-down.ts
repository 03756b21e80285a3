import { rm } from 'node:fs/promises';
import { closeControlMaster } from './control-master.ts';
import { vmMarker } from './boot-director.ts';
import { findProcessesWith, isProcessWith, signal, waitGone } from './processes.ts';
import { deleteClusterNetwork } from './cluster-network.ts';
import { labDir, labPaths, labVms, readLabState } from './state.ts';
import { deleteTaps } from './tap-devices.ts';

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
