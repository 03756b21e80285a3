/**
 * The lab's fixed address plan. Director k (1..64: the /30s of 203.0.113.0/24) is reached from the host over tap
 * `lvsftap<k>` (host 203.0.113.(4k-3), guest 203.0.113.(4k-2), a point-to-point link: the host routes only the
 * guest's /32); inside every director the same topology repeats.
 */
export const MAX_DIRECTORS = 64;

export interface DirectorAddresses {
  /** 1..64 */
  readonly index: number;
  /** e.g. `director-1` */
  readonly name: string;
  /** The Host name in the lab's ssh_config, e.g. `lab-director-1`. */
  readonly alias: string;
  readonly tap: string;
  readonly hostAddress: string;
  readonly guestAddress: string;
  readonly prefixLength: 30;
  /** The user-mode Linux instance id. */
  readonly umid: string;
}

export function directorAddresses(index: number): DirectorAddresses {
  if (!Number.isInteger(index) || index < 1 || index > MAX_DIRECTORS) {
    throw new RangeError(`director index must be an integer 1..${MAX_DIRECTORS}; got ${index}`);
  }
  return {
    index,
    name: `director-${index}`,
    alias: `lab-director-${index}`,
    tap: `lvsftap${index}`,
    hostAddress: `203.0.113.${4 * index - 3}`,
    guestAddress: `203.0.113.${4 * index - 2}`,
    prefixLength: 30,
    umid: `lvsf-director-${index}`,
  };
}

/** What every director holds inside (identical in each guest). */
export const LAB_TOPOLOGY = {
  client: { namespace: 'client', ipv4: '198.51.100.200', ipv6: '2001:db8:100::200' },
  director: {
    clientSide: { ipv4: '198.51.100.1', ipv6: '2001:db8:100::1' },
    serverSide: { ipv4: '192.0.2.1', ipv6: '2001:db8::1' },
  },
  /** Local on the director: 198.51.100.10–59 and 2001:db8:100::10–59, except `directorVips`. */
  vips: { first: 10, last: 59 },
  /**
   * Not put on the director by the lab (IPv4 and IPv6): a Director's `vips` puts them there. NAT 17–19, direct routing
   * 27–29, tunnels 47–49 (these two on every real server's `lo`, as their range is).
   */
  directorVips: [17, 18, 19, 27, 28, 29, 47, 48, 49],
  /** Conventions: NAT 10–19 and 50–59, direct routing 20–29, tunnels 30–49 (also on every real server's `lo`). */
  natVips: { first: 10, last: 19 },
  directRoutingVips: { first: 20, last: 29 },
  tunnelVips: { first: 30, last: 49 },
  /** Marked by the director's mangle PREROUTING: 198.51.100.50 tcp 80,8080 → mark 1; 2001:db8:100::50 → mark 2. */
  firewallMarks: { ipv4: { address: '198.51.100.50', mark: 1 }, ipv6: { address: '2001:db8:100::50', mark: 2 } },
  realServers: [1, 2, 3, 4].map((i) => ({
    name: `rs${i}`,
    namespace: `rs${i}`,
    ipv4: `192.0.2.1${i}`,
    ipv6: `2001:db8::1${i}`,
  })),
  /** Each real server answers its name on TCP 80 and 8080 (HTTP) and UDP 53 (any datagram), IPv4 and IPv6. */
  ports: { http: [80, 8080], udpEcho: 53 },
  /** Real servers decapsulate GUE on this UDP port. */
  guePort: 6080,
} as const;

export function vip4(n: number): string {
  return `198.51.100.${n}`;
}

export function vip6(n: number): string {
  return `2001:db8:100::${n}`;
}
