import { execa } from 'execa';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { CLUSTER_TOPOLOGY, type ClusterNic, type ClusterRole } from './cluster-addresses.ts';
import { type LabExecResult, requireLabState } from './lab-exec.ts';
import { PRIVATE_ALIAS_SUFFIX } from './ssh-files.ts';
import type { LabState, LabVm } from './state.ts';

/** One VM of a cluster lab, as a test needs it. */
export interface ClusterVmFacts {
  /** e.g. `cluster-director-1`, `cluster-rs-2`; also its hostname and (real servers) what its application answers. */
  readonly name: string;
  readonly role: ClusterRole;
  /** Its VM index (the management plan of addresses.ts). */
  readonly index: number;
  /** `Host` in `sshConfig` (ssh -F SSHCONFIG ALIAS). */
  readonly alias: string;
  /**
   * Real servers: a second `Host` in `sshConfig` that reaches it on its private address through the first director
   * (`ProxyJump`), as an operator reaches real servers behind a NAT director.
   */
  readonly privateAlias?: string;
  readonly sshConfig: string;
  /** Its address on the management tap (what ssh reaches). */
  readonly managementAddress: string;
  /** Its card on the shared segment (`eth1`): the client's link. */
  readonly shared: ClusterNic;
  /** Its card on the private segment (`eth2`): NAT's inside. */
  readonly private: ClusterNic;
}

/** A real server booted on the private segment only (`lab up --cluster --private-real-servers`): no shared card. */
export type PrivateClusterVmFacts = Omit<ClusterVmFacts, 'shared'> & { readonly shared?: undefined };

/**
 * A cluster lab: its VMs, the client namespace on this machine, and the segments' bridges. `R` is what its real
 * servers are: on both segments (`ClusterVmFacts`, the default topology) or, with `privateRealServers`, on the
 * private one only.
 */
export interface ClusterFacts<R extends ClusterVmFacts | PrivateClusterVmFacts = ClusterVmFacts | PrivateClusterVmFacts> {
  readonly dir: string;
  readonly sshConfig: string;
  readonly knownHosts: string;
  readonly identityFile: string;
  readonly client: {
    /** The network namespace on this machine that stands for the router (`ip netns exec NAMESPACE …`). */
    readonly namespace: string;
    readonly iface: string;
    readonly ipv4: string;
    readonly ipv6: string;
    readonly mac: string;
  };
  readonly sharedBridge: string;
  readonly privateBridge: string;
  readonly directors: ClusterVmFacts[];
  readonly realServers: R[];
  /** The real servers sit on the private segment only (no card on the client's segment). */
  readonly privateRealServers: boolean;
  /** Host numbers free for VIPs on the shared segment: 198.51.100.N and 2001:db8:100::N. */
  readonly vips: { readonly first: number; readonly last: number };
}

function vmFacts(state: LabState, vm: LabVm): PrivateClusterVmFacts {
  if (!vm.role || !vm.private) throw new LvsError('LVS_LAB_NOT_CLUSTER', `${vm.name} in ${state.dir} is not a cluster VM`);
  return {
    name: vm.name,
    role: vm.role,
    index: vm.index,
    alias: vm.alias,
    ...(vm.role === 'real-server' ? { privateAlias: `${vm.alias}${PRIVATE_ALIAS_SUFFIX}` } : {}),
    sshConfig: state.sshConfig,
    managementAddress: vm.guestAddress,
    private: vm.private,
  };
}

/** A cluster VM on both segments (every director; the real servers of the default topology). */
function sharedVmFacts(state: LabState, vm: LabVm): ClusterVmFacts {
  if (!vm.shared) throw new LvsError('LVS_LAB_NOT_CLUSTER', `${vm.name} in ${state.dir} has no card on the shared segment`);
  return { ...vmFacts(state, vm), shared: vm.shared };
}

/** The facts of the cluster lab in `state`; throws LVS_LAB_NOT_CLUSTER for a single-guest lab. */
export function clusterFactsOf(state: LabState): ClusterFacts {
  const c = state.cluster;
  if (!c) {
    throw new LvsError('LVS_LAB_NOT_CLUSTER', `the lab in ${state.dir} is not a cluster lab`, {
      hint: 'boot one with: lvsform lab up --cluster (labUp({ cluster: true }))',
    });
  }
  return {
    dir: state.dir,
    sshConfig: state.sshConfig,
    knownHosts: state.knownHosts,
    identityFile: state.identityFile,
    client: { namespace: c.clientNamespace, iface: c.client.iface, ipv4: c.client.ipv4, ipv6: c.client.ipv6, mac: c.clientMac },
    sharedBridge: c.sharedBridge,
    privateBridge: c.privateBridge,
    directors: state.directors.map((d) => sharedVmFacts(state, d)),
    realServers: c.realServers.map((r) => (r.shared ? sharedVmFacts(state, r) : vmFacts(state, r))),
    privateRealServers: c.realServers.some((r) => !r.shared),
    vips: { ...CLUSTER_TOPOLOGY.vips },
  };
}

/** The facts of the cluster lab in `dir` (default $LVSFORM_LAB_DIR or /tmp/lvsform-lab), from its state file. */
export async function clusterFacts(dir?: string): Promise<ClusterFacts> {
  return clusterFactsOf(await requireLabState(dir));
}

export interface ClientExecOptions {
  /** @default $LVSFORM_LAB_DIR or /tmp/lvsform-lab */
  readonly dir?: string;
  /** The lab state, when the caller has it (saves reading state.json). */
  readonly state?: LabState;
  /** Sent to the command's standard input. */
  readonly input?: string;
  /** @default 120000 */
  readonly timeoutMs?: number;
}

/**
 * Runs a command in a cluster lab's client namespace on this machine (`ip netns exec`), as the router in front of the
 * cluster would: `command` is an argv, or a POSIX `sh` script. Its exit code is returned, not thrown.
 */
export async function clientExec(command: readonly string[] | string, opts: ClientExecOptions = {}): Promise<LabExecResult> {
  const state = opts.state ?? (await requireLabState(opts.dir));
  const { client } = clusterFactsOf(state);
  const argv = typeof command === 'string' ? ['sh', '-c', command] : [...command];
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const r = await execa('ip', ['netns', 'exec', client.namespace, ...argv], {
    input: opts.input ?? '',
    reject: false,
    timeout: timeoutMs,
    stripFinalNewline: false,
  });
  if (r.timedOut) {
    throw new LvsError('LVS_LAB_EXEC_TIMEOUT', `command in the client namespace ${client.namespace} took longer than ${timeoutMs} ms`);
  }
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 255 };
}
