import { vmMarker } from './boot-director.ts';
import { clusterDevices, deviceExists } from './cluster-network.ts';
import { isProcessWith } from './processes.ts';
import { type LabState, type LabVm, labDir, labPaths, labVms, readLabState } from './state.ts';

export interface LabDirectorStatus {
  readonly name: string;
  readonly alias: string;
  readonly guestAddress: string;
  readonly kernelRunning: boolean;
  /** Powered off on purpose (`lab stop`) and not booted since: `lab start` boots it. */
  readonly stopped: boolean;
  readonly controlMasterRunning: boolean;
}

export interface LabStatus {
  readonly dir: string;
  /**
   * True when a state file exists, every VM's kernel runs and, in a cluster lab, its network is all there. A VM stopped
   * on purpose (`lab stop`) counts as not running: a lab with one is not the lab the tests expect.
   */
  readonly running: boolean;
  readonly state: LabState | undefined;
  readonly directors: LabDirectorStatus[];
  /** A cluster lab's real servers (empty otherwise). */
  readonly realServers: LabDirectorStatus[];
  /** A cluster lab's network on this machine: which of its links and namespace exist (undefined: no cluster). */
  readonly network?: { readonly present: string[]; readonly missing: string[] };
}

/** What runs of the lab in `dir` (from its state file and the live processes; no ssh). */
export async function labStatus(opts: { dir?: string } = {}): Promise<LabStatus> {
  const dir = labDir(opts.dir);
  const state = await readLabState(dir);
  const marker = vmMarker(labPaths(dir));
  const look = (vms: readonly LabVm[]) =>
    Promise.all(
      vms.map(async (d) => ({
        name: d.name,
        alias: d.alias,
        guestAddress: d.guestAddress,
        kernelRunning: await isProcessWith(d.vmPid, marker),
        stopped: d.stopped === true,
        controlMasterRunning: await isProcessWith(d.controlMasterPid, d.alias),
      })),
    );
  const directors = await look(state?.directors ?? []);
  const realServers = await look(state?.cluster?.realServers ?? []);
  const cluster = state?.cluster;
  let network: LabStatus['network'];
  if (state && cluster) {
    const devices = clusterDevices(cluster, labVms(state));
    network = { present: devices.filter(deviceExists), missing: devices.filter((x) => !deviceExists(x)) };
  }
  const vms = [...directors, ...realServers];
  const running = state !== undefined && vms.length > 0 && vms.every((d) => d.kernelRunning) && (network?.missing.length ?? 0) === 0;
  return { dir, running, state, directors, realServers, ...(network ? { network } : {}) };
}
