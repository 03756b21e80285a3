import { join } from 'node:path';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { MAX_DIRECTORS } from './addresses.ts';
import { CLUSTER_TOPOLOGY, type ClusterRole, clusterNetworkNames, clusterVmAddresses } from './cluster-addresses.ts';
import type { LabCluster, LabVm, labPaths } from './state.ts';

type Paths = ReturnType<typeof labPaths>;

export interface ClusterPlanOptions {
  readonly first: number;
  readonly directors: number;
  readonly realServers: number;
  /**
   * Real servers on the private segment only: their VMs get no card on the shared segment, so that the client is
   * reached only through a director (VS/NAT as it is racked). @default false
   */
  readonly privateRealServers?: boolean;
  /** Modules hidden on the directors. */
  readonly skipModules: readonly string[];
}

/**
 * The virtual machines and the network of a cluster lab: directors at VM indexes first.., then real servers. Every
 * VM boots like a persistent director (systemd as PID 1, a disk of its own under /etc and /var/lib), so that what
 * lvsform writes on a real server comes back after `lab reboot` by the distribution's own boot. Every VM is bare,
 * directors included: forwarding stays off (the kernel's default), since turning it on for NAT is lvsform's (a
 * Director's `setup`).
 */
export function planCluster(paths: Paths, o: ClusterPlanOptions): { directors: LabVm[]; cluster: LabCluster } {
  const { maxDirectors, maxRealServers } = CLUSTER_TOPOLOGY;
  if (!Number.isInteger(o.directors) || o.directors < 1 || o.directors > maxDirectors) {
    throw new LvsError('LVS_LAB_BAD_OPTIONS', `a cluster lab has 1..${maxDirectors} directors; got ${o.directors}`);
  }
  if (!Number.isInteger(o.realServers) || o.realServers < 1 || o.realServers > maxRealServers) {
    throw new LvsError('LVS_LAB_BAD_OPTIONS', `a cluster lab has 1..${maxRealServers} real servers; got ${o.realServers}`);
  }
  const last = o.first + o.directors + o.realServers - 1;
  if (!Number.isInteger(o.first) || o.first < 1 || last > MAX_DIRECTORS) {
    throw new LvsError('LVS_LAB_BAD_OPTIONS', `cluster VMs ${o.first}..${last} are outside 1..${MAX_DIRECTORS}`, {
      hint: 'pick a lower first index (lab up --first-index K)',
    });
  }
  const vm = (index: number, role: ClusterRole, n: number): LabVm => {
    const { shared, ...a } = clusterVmAddresses(index, role, n);
    return {
      ...a,
      ...(role === 'real-server' && o.privateRealServers ? {} : { shared }),
      skipModules: role === 'director' ? [...o.skipModules] : [],
      ipForward: false,
      persistent: true,
      init: 'systemd',
      vmPid: null,
      controlMasterPid: null,
      controlPath: join(paths.controlSockets, a.alias),
      consoleLog: join(paths.logs, `${a.name}.console.log`),
    };
  };
  const directors = Array.from({ length: o.directors }, (_, i) => vm(o.first + i, 'director', i + 1));
  const realServers = Array.from({ length: o.realServers }, (_, j) => vm(o.first + o.directors + j, 'real-server', j + 1));
  const { client } = CLUSTER_TOPOLOGY;
  return {
    directors,
    cluster: { ...clusterNetworkNames(o.first), client: { ipv4: client.ipv4, ipv6: client.ipv6, iface: client.interface }, realServers },
  };
}
