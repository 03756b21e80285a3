import type { TestProject } from 'vitest/node';
import { vmMarker } from '../../lab/boot-director.ts';
import { findProcessesWith } from '../../lab/processes.ts';
import { type LabState, labDir, labDown, labPaths, labStatus, labUp } from '../../lab/index.ts';
import { tapExists } from '../../lab/tap-devices.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The lab every lab test runs on (booted once per run). */
    lab: LabState;
  }
}

/**
 * Boots one lab for the whole run: 3 directors ($LVSFORM_LAB_DIRECTORS overrides) in $LVSFORM_LAB_DIR or
 * /tmp/lvsform-lab. With LVSFORM_LAB_REUSE=1 a running lab is reused and the lab is left up at the end.
 * Otherwise the lab goes down at the end, and the teardown checks that nothing of it is left.
 */
export default async function setup(project: TestProject) {
  const dir = labDir();
  const reuse = process.env['LVSFORM_LAB_REUSE'] === '1';
  const status = await labStatus({ dir });
  let state: LabState;
  if (reuse && status.running && status.state) {
    state = status.state;
    console.log(`lab: reusing ${state.directors.length} directors in ${dir}`);
  } else {
    const directors = Number(process.env['LVSFORM_LAB_DIRECTORS'] ?? 3);
    // A second lab beside another one needs other tap devices and addresses: LVSFORM_LAB_FIRST_INDEX moves them.
    const firstIndex = Number(process.env['LVSFORM_LAB_FIRST_INDEX'] ?? 1);
    // The run's third director boots without the ovf scheduler module: the capability tests need a director that lacks
    // a scheduler (its plan fails before any change), and the fault tests put a file that is no module in its place for
    // a line the kernel rejects in a batch (ipvsadm -R carries on and exits 0), which only verification can catch.
    const directorOptions = { [firstIndex + 2]: { skipModules: ['ip_vs_ovf'] } };
    state = await labUp({ dir, directors, firstIndex, directorOptions, onProgress: (m) => console.log(`lab: ${m}`) });
  }
  project.provide('lab', state);

  return async () => {
    if (reuse) return;
    const started = Date.now();
    await labDown({ dir });
    const leftovers = [
      ...(await findProcessesWith(vmMarker(labPaths(dir)))).map((p) => `process ${p}`),
      ...state.directors.filter((d) => tapExists(d.tap)).map((d) => `tap ${d.tap}`),
      ...((await labStatus({ dir })).state ? [`state ${dir}`] : []),
    ];
    if (leftovers.length > 0) throw new Error(`lab down left: ${leftovers.join(', ')}`);
    console.log(`lab: down in ${Date.now() - started} ms`);
  };
}
