/**
 * The cluster lab the cluster tests share (`test/lab/cluster-*.test.ts`): booted by the first test file that asks for
 * it, reused by the next ones (through its state file: the lab project runs its files one at a time), taken down by
 * the lab project's global teardown, which checks that nothing of it is left (test/lab/global-setup.ts). Runs that
 * never ask for it never boot it.
 *
 * Where: $LVSFORM_LAB_CLUSTER_DIR, else the lab directory with `-cluster` appended; VM indexes from
 * $LVSFORM_LAB_CLUSTER_FIRST_INDEX, else right after the main lab's directors (so both fit side by side).
 * With LVSFORM_LAB_REUSE=1 a cluster already running there is reused and left up at the end; otherwise one running
 * there from before this run is refused (LVS_LAB_RUNNING), as the single-guest lab is.
 */
import { inject } from 'vitest';
import {
  type ClusterFacts,
  type ClusterVmFacts,
  type LabExecResult,
  type LabState,
  clientExec,
  clusterFactsOf,
  labDir,
  labExec,
  labStatus,
  labUp,
} from '../../lab/index.ts';

/**
 * The cluster's shape: two directors (a pair, for the failover test; the others use the first) and two real servers
 * on both segments (what the DR and NAT tests need; the NAT test takes its real servers off the shared segment itself).
 * The second director boots beside the others, in parallel: cheaper for a whole run than booting it alone when the
 * failover test comes (see the README's cluster lab for the figures).
 */
export const CLUSTER_SHAPE = { directors: 2, realServers: 2 } as const;

export function clusterLabDir(): string {
  return process.env['LVSFORM_LAB_CLUSTER_DIR'] ?? `${labDir()}-cluster`;
}

export function clusterFirstIndex(): number {
  const explicit = process.env['LVSFORM_LAB_CLUSTER_FIRST_INDEX'];
  if (explicit) return Number(explicit);
  return Number(process.env['LVSFORM_LAB_FIRST_INDEX'] ?? 1) + Number(process.env['LVSFORM_LAB_DIRECTORS'] ?? 3);
}

let booted: Promise<LabState> | undefined;

/** The shared cluster lab: running already (reused), else booted now. Call it in `beforeAll` (boots take minutes). */
export function clusterLab(): Promise<LabState> {
  booted ??= (async () => {
    const dir = clusterLabDir();
    const status = await labStatus({ dir });
    const mine = status.state && Date.parse(status.state.createdAt) >= inject('runStartedAt');
    if (status.running && status.state?.cluster && (mine || process.env['LVSFORM_LAB_REUSE'] === '1')) return status.state;
    return labUp({
      dir,
      cluster: true,
      ...CLUSTER_SHAPE,
      firstIndex: clusterFirstIndex(),
      // Four VMs booting beside the unit tests (and another lab's idle VMs) on two cores: give each time.
      bootTimeoutMs: 300_000,
      onProgress: (m) => console.log(`cluster lab: ${m}`),
    });
  })();
  return booted;
}

/** The facts of the shared cluster (after `clusterLab()`): its real servers are on both segments. */
export async function cluster(): Promise<ClusterFacts<ClusterVmFacts>> {
  const facts = clusterFactsOf(await clusterLab());
  const onBoth = facts.realServers.filter((r): r is ClusterVmFacts => r.shared !== undefined);
  if (onBoth.length !== facts.realServers.length) throw new Error(`the cluster lab in ${facts.dir} has real servers off the shared segment`);
  return { ...facts, realServers: onBoth };
}

/** Runs a POSIX shell script on a cluster VM (by name); throws with its output when it fails (unless `allowFailure`). */
export async function onVm(vm: string, script: string, opts: { allowFailure?: boolean } = {}): Promise<LabExecResult> {
  const r = await labExec(vm, script, { state: await clusterLab() });
  if (r.exitCode !== 0 && !opts.allowFailure) {
    throw new Error(`script failed on ${vm} (exit ${r.exitCode}):\n${script}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  }
  return r;
}

/** Runs a command (argv, or a POSIX shell script) in the client namespace; the result, whatever its exit code. */
export async function onClient(command: readonly string[] | string): Promise<LabExecResult> {
  return clientExec(command, { state: await clusterLab() });
}
