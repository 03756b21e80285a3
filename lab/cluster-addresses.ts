import { type DirectorAddresses, directorAddresses } from './addresses.ts';

/**
 * The cluster lab's address plan (`labUp({ cluster: true })`): directors and real servers as virtual machines side by
 * side, the way a data centre has them, so that what happens between hosts (ARP, neighbour discovery, the return path
 * of direct routing and NAT) happens on real links.
 *
 * - Management: VM index k (the lab's first index, then one per VM, directors first) is reached over `lvsftap<k>`
 *   exactly as in the single-guest lab (see addresses.ts); it is the guest's `eth0`.
 * - The shared segment 198.51.100.0/24 and 2001:db8:100::/64 (the guests' `eth1`): a bridge on this machine with no
 *   address of this machine on it, joining every VM and a client network namespace on this machine that stands for
 *   the router. Client .200, directors .1–.9, real servers .11–.19; .20–.199 are free for VIPs (on-link for the
 *   client, so the client resolves them by ARP and neighbour discovery).
 * - The private segment 192.0.2.0/24 and 2001:db8::/64 (the guests' `eth2`): a second bridge joining every VM, for
 *   NAT. Directors .1–.9 (director 1 is the inside address .1), real servers .11–.19.
 *
 * Every name on this machine derives from the first index, so two cluster labs (in two lab directories) coexist.
 */
export const CLUSTER_TOPOLOGY = {
  maxDirectors: 9,
  maxRealServers: 9,
  interfaces: { management: 'eth0', shared: 'eth1', private: 'eth2' },
  shared: { ipv4: '198.51.100.', ipv4Prefix: 24, ipv6: '2001:db8:100::', ipv6Prefix: 64 },
  private: { ipv4: '192.0.2.', ipv6: '2001:db8::', ipv4Prefix: 24, ipv6Prefix: 64 },
  /** Host numbers on both segments: director i is `.i`, real server j is `.(10 + j)`. */
  firstDirector: 1,
  firstRealServer: 11,
  client: { ipv4: '198.51.100.200', ipv6: '2001:db8:100::200', interface: 'eth0' },
  /** Shared-segment host numbers the lab never uses: for VIPs (IPv4 198.51.100.N, IPv6 2001:db8:100::N). */
  vips: { first: 20, last: 199 },
  /** Each real server answers its name on TCP 80 and 8080 (HTTP, also `/big`) and any datagram on UDP 53. */
  ports: { http: [80, 8080], udpEcho: 53 },
  /** `/big` on every real server's HTTP ports: long enough to outlast a plan and an apply under emulation. */
  bigFile: { path: '/big', bytes: 24 * 1024 * 1024 },
} as const;

export type ClusterRole = 'director' | 'real-server';

/** One network card of a cluster VM on a segment. */
export interface ClusterNic {
  /** The tap on this machine (a port of the segment's bridge). */
  readonly tap: string;
  /** The interface in the guest (`eth1` shared, `eth2` private). */
  readonly iface: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The card's fixed MAC address (lower case), as the client's neighbour table shows it. */
  readonly mac: string;
}

export interface ClusterVmAddresses extends DirectorAddresses {
  readonly role: ClusterRole;
  readonly shared: ClusterNic;
  readonly private: ClusterNic;
}

/** Names on this machine of the cluster lab that starts at VM index `first`. */
export interface ClusterNetworkNames {
  readonly sharedBridge: string;
  readonly privateBridge: string;
  /** The client network namespace (the router's stand-in) and the host end of its veth (its `eth0` inside). */
  readonly clientNamespace: string;
  readonly clientVeth: string;
  readonly clientMac: string;
}

function mac(block: number, index: number): string {
  return `52:54:00:4c:${block.toString(16)}:${index.toString(16).padStart(2, '0')}`;
}

export function clusterNetworkNames(first: number): ClusterNetworkNames {
  return {
    sharedBridge: `lvsfbr${first}`,
    privateBridge: `lvsfpr${first}`,
    clientNamespace: `lvsfcl${first}`,
    clientVeth: `lvsfcv${first}`,
    clientMac: mac(0x59, first),
  };
}

/**
 * The addresses of the `number`-th director or real server (1-based) at VM index `index`: management as in
 * addresses.ts (its MAC 52:54:00:4c:56:kk), shared card 52:54:00:4c:57:kk, private card 52:54:00:4c:58:kk.
 */
export function clusterVmAddresses(index: number, role: ClusterRole, number: number): ClusterVmAddresses {
  const max = role === 'director' ? CLUSTER_TOPOLOGY.maxDirectors : CLUSTER_TOPOLOGY.maxRealServers;
  if (!Number.isInteger(number) || number < 1 || number > max) {
    throw new RangeError(`cluster ${role} number must be an integer 1..${max}; got ${number}`);
  }
  const base = directorAddresses(index);
  const name = role === 'director' ? `cluster-director-${number}` : `cluster-rs-${number}`;
  const host = (role === 'director' ? CLUSTER_TOPOLOGY.firstDirector - 1 : CLUSTER_TOPOLOGY.firstRealServer - 1) + number;
  const { shared, private: inside, interfaces } = CLUSTER_TOPOLOGY;
  return {
    ...base,
    name,
    alias: name,
    umid: `lvsf-${name}-${index}`,
    role,
    shared: { tap: `lvsfs${index}`, iface: interfaces.shared, ipv4: `${shared.ipv4}${host}`, ipv6: `${shared.ipv6}${host}`, mac: mac(0x57, index) },
    private: { tap: `lvsfp${index}`, iface: interfaces.private, ipv4: `${inside.ipv4}${host}`, ipv6: `${inside.ipv6}${host}`, mac: mac(0x58, index) },
  };
}

/** The MAC address of a VM's management card (the one tap of the single-guest lab). */
export function managementMac(index: number): string {
  return mac(0x56, index);
}
