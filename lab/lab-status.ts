import { vmMarker } from './boot-director.ts';
import { isProcessWith } from './processes.ts';
import { type LabState, labDir, labPaths, readLabState } from './state.ts';

export interface LabDirectorStatus {
  readonly name: string;
  readonly alias: string;
  readonly guestAddress: string;
  readonly kernelRunning: boolean;
  readonly controlMasterRunning: boolean;
}

export interface LabStatus {
  readonly dir: string;
  /** True when a state file exists and every director's kernel runs. */
  readonly running: boolean;
  readonly state: LabState | undefined;
  readonly directors: LabDirectorStatus[];
}

/** What runs of the lab in `dir` (from its state file and the live processes; no ssh). */
export async function labStatus(opts: { dir?: string } = {}): Promise<LabStatus> {
  const dir = labDir(opts.dir);
  const state = await readLabState(dir);
  const marker = vmMarker(labPaths(dir));
  const directors = await Promise.all(
    (state?.directors ?? []).map(async (d) => ({
      name: d.name,
      alias: d.alias,
      guestAddress: d.guestAddress,
      kernelRunning: await isProcessWith(d.vmPid, marker),
      controlMasterRunning: await isProcessWith(d.controlMasterPid, d.alias),
    })),
  );
  const running = state !== undefined && directors.length > 0 && directors.every((d) => d.kernelRunning);
  return { dir, running, state, directors };
}
