import { inject } from 'vitest';
import { type LabExecResult, type LabState, type LabTrafficOptions, type LabTrafficResult, labExec, labTraffic } from '../../lab/index.ts';

/** The lab booted by the global setup. */
export function lab(): LabState {
  return inject('lab');
}

/** Runs a POSIX shell script on a director; throws with its output when it fails (unless `allowFailure`). */
export async function sh(director: string | number, script: string, opts: { input?: string; allowFailure?: boolean } = {}): Promise<LabExecResult> {
  const r = await labExec(director, script, { state: lab(), input: opts.input });
  if (r.exitCode !== 0 && !opts.allowFailure) {
    throw new Error(`script failed on ${director} (exit ${r.exitCode}):\n${script}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  }
  return r;
}

/** Empties the director's IPVS table and lvsform's records on it. */
export async function resetDirector(director: string | number): Promise<void> {
  await sh(director, 'ipvsadm -C && rm -rf /var/lib/lvsform');
}

/** Real traffic from the director's client namespace (see labTraffic). */
export function traffic(opts: Omit<LabTrafficOptions, 'state' | 'dir'>): Promise<LabTrafficResult> {
  return labTraffic({ ...opts, state: lab() });
}
