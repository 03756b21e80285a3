import type { TestProject } from 'vitest/node';
import { type LabState, labDir, labDown, labLeftovers, labStatus, labUp, readLabState } from '../../lab/index.ts';
import { clusterLabDir } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The lab every lab test runs on (booted once per run), or null when the run boots none (directors 0). */
    lab: LabState | null;
  }
}

/**
 * Boots one lab for the whole run: 3 directors ($LVSFORM_LAB_DIRECTORS overrides; 0 boots none, for a run of the
 * cluster tests alone) in $LVSFORM_LAB_DIR or /tmp/lvsform-lab. With LVSFORM_LAB_REUSE=1 a running lab is reused and
 * the lab is left up at the end. Otherwise the lab goes down at the end, and the teardown checks that nothing of it
 * is left. The cluster lab (test/lab/cluster.ts) is booted by the first test that needs it; the teardown takes it
 * down too and checks the same, its bridges, segment taps and client namespace included.
 */
export default async function setup(project: TestProject) {
  const dir = labDir();
  const reuse = process.env['LVSFORM_LAB_REUSE'] === '1';
  const directors = Number(process.env['LVSFORM_LAB_DIRECTORS'] ?? 3);
  const status = await labStatus({ dir });
  let state: LabState | null = null;
  if (directors === 0) {
    console.log('lab: none booted (LVSFORM_LAB_DIRECTORS=0)');
  } else if (reuse && status.running && status.state) {
    state = status.state;
    console.log(`lab: reusing ${state.directors.length} directors in ${dir}`);
  } else {
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
    const problems: string[] = [];
    for (const [name, lab] of [
      ['lab', state],
      ['cluster lab', await readLabState(clusterLabDir())],
    ] as const) {
      if (!lab) continue;
      const started = Date.now();
      await labDown({ dir: lab.dir });
      const leftovers = await labLeftovers(lab);
      if (leftovers.length > 0) problems.push(`${name} down left: ${leftovers.join(', ')}`);
      else console.log(`${name}: down in ${Date.now() - started} ms, nothing left`);
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
  };
}
