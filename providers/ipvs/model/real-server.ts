/**
 * Real-server preparation: what a real server needs for the forwarding methods of the services it backs, what it
 * holds, the changes between them and what its ownership record keeps. Pure data and pure derivations.
 *
 * What each method needs on the real server (the kernel's own documentation of LVS and every LVS guide agree):
 * - direct routing: the VIP on `lo` as a /32 or /128 (the packet arrives with the VIP as its destination), and for an
 *   IPv4 VIP `arp_ignore=1` and `arp_announce=2` (all, and the interface facing the director when named), so that the
 *   real server neither answers ARP for the VIP nor announces it: only the director may. IPv6 needs no setting: Linux
 *   answers neighbour solicitations only for addresses of the interface they arrive on, and `lo` is not that one;
 * - tunnelling: the decapsulating device of the tunnel type and the outer and inner families (ipip `tunl0`, IPv6 in
 *   IPv4 `sit0`, anything in IPv6 `ip6tnl0`, GRE `gre0` / `ip6gre0`; GUE is UDP to a `fou` port that hands the inner
 *   packet to the ipip or sit device), up; the VIP on `lo` and the same ARP settings; and `rp_filter` relaxed on the
 *   device, because the decapsulated packet's source (the client) is routed through another interface: with strict
 *   reverse-path filtering (1) the kernel drops it. lvsform sets the device's value to 2 (loose) only when the
 *   effective value, the larger of `all` and the device's, is 1; `all` is never changed;
 * - NAT: nothing on the real server but the route back: replies must reach the director to be rewritten. lvsform
 *   reads the default route of each family it serves and shows whether it goes through the gateway the app names;
 *   it replaces the default route only when the app asks (`manage`): a wrong default route cuts a host off.
 *
 * Ownership as for director settings: an address is added only when it is on no interface, and removed only if the
 * record says lvsform added it; a tunnel device is brought up (its module loaded) only when down, and set down only if
 * lvsform brought it up; a `fou` port likewise; a sysctl and a default route are recorded with the value found before
 * lvsform changed them, and put back on destroy.
 */
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { canonicalJson } from './live-state.ts';
import { type Family, familyOf, type Service, type Table } from './model.ts';

/** The decapsulating devices lvsform brings up, and the module that creates each (the kernel's fallback devices). */
export const TUNNEL_DEVICES = {
  tunl0: { module: 'ipip', what: 'IPv4 in IPv4 (ipip, and GUE carrying IPv4)' },
  sit0: { module: 'sit', what: 'IPv6 in IPv4 (and GUE carrying IPv6)' },
  ip6tnl0: { module: 'ip6_tunnel', what: 'IPv4 or IPv6 in IPv6' },
  gre0: { module: 'ip_gre', what: 'GRE over IPv4' },
  ip6gre0: { module: 'ip6_gre', what: 'GRE over IPv6' },
} as const;

export type TunnelDevice = keyof typeof TUNNEL_DEVICES;
export const TUNNEL_DEVICE_NAMES = Object.keys(TUNNEL_DEVICES) as TunnelDevice[];

/** A GUE receive port (`ip fou add port P gue [-6]`). */
export interface FouPort {
  readonly port: number;
  readonly family: Family;
}

/** The interface the VIPs go on. */
export const VIP_DEVICE = 'lo';

/** A NAT return path as the app describes it: the director's inside address per family, and whether to set it. */
export interface NatSpec {
  /** The gateway each family's default route should use (the director's inside address). */
  readonly gateways: readonly string[];
  /** Replace the default route when it goes elsewhere. */
  readonly manage: boolean;
  /**
   * The networks the clients are in (`192.0.2.0/24`): only routes to them are checked for a way around the director.
   * Absent: clients may be anywhere the default route reaches, so every more specific route is checked.
   */
  readonly clients?: readonly string[];
}

/** A real server as the app declares it: where it is, and the addresses that are its own. */
export interface RealServerHostSpec {
  readonly name: string;
  readonly addresses: readonly string[];
  /** The interface that faces the director and the clients: the ARP settings are set there too. */
  readonly interface?: string;
  readonly nat?: NatSpec;
  /** The construct path, for messages. */
  readonly path: string;
}

/** Why a real server is prepared a certain way: one service it backs, for the plan. */
export interface Backing {
  readonly director: string;
  readonly service: string;
  readonly member: string;
  readonly method: string;
}

/** What a real server must hold, derived from the services whose pools name one of its addresses. */
export interface RealServerPrep {
  /** VIPs for `lo`, sorted (direct routing and tunnelling). */
  readonly vips: readonly string[];
  /** Whether the ARP settings are needed (an IPv4 VIP on lo). */
  readonly arp: boolean;
  /** Decapsulating devices, in TUNNEL_DEVICE_NAMES order. */
  readonly tunnels: readonly TunnelDevice[];
  /** GUE receive ports, sorted. */
  readonly fou: readonly FouPort[];
  /** Families of the NAT services it backs (their replies must route back through the director). */
  readonly natFamilies: readonly Family[];
  /** Firewall-mark services under direct routing or tunnelling: their VIPs are unknown to lvsform. */
  readonly fwmarkServices: readonly string[];
  readonly backing: readonly Backing[];
}

function serviceName(s: Service): string {
  return s.key.kind === 'addr'
    ? `${s.key.protocol} ${s.key.address.includes(':') ? `[${s.key.address}]` : s.key.address}:${s.key.port}`
    : `fwmark ${s.key.mark}${s.key.family === 'inet6' ? ' inet6' : ''}`;
}

/** The decapsulating device a tunnel of `type` needs, for an outer family (the real server's) and an inner one (the VIP's). */
export function tunnelDevice(type: 'ipip' | 'gue' | 'gre', outer: Family, inner: Family): TunnelDevice {
  if (type === 'gre') return outer === 'inet' ? 'gre0' : 'ip6gre0';
  if (outer === 'inet6') return 'ip6tnl0';
  return inner === 'inet' ? 'tunl0' : 'sit0';
}

/**
 * What a real server with `addresses` needs for every service of `directors` whose real servers include one of them
 * (the union: an address in two pools, or in two services, is prepared once).
 */
export function prepFor(addresses: readonly string[], directors: readonly { readonly name: string; readonly table: Table }[]): RealServerPrep {
  const mine = new Set(addresses);
  const vips = new Set<string>();
  const tunnels = new Set<TunnelDevice>();
  const fou = new Map<string, FouPort>();
  const nat = new Set<Family>();
  const fwmark = new Set<string>();
  const backing: Backing[] = [];
  for (const d of directors) {
    for (const s of d.table.services) {
      for (const dest of s.destinations) {
        if (!mine.has(dest.address)) continue;
        const f = dest.forwarding;
        const inner: Family = s.key.kind === 'addr' ? familyOf(s.key.address) : s.key.family;
        const outer = familyOf(dest.address);
        backing.push({
          director: d.name,
          service: serviceName(s),
          member: dest.address,
          method: f.method === 'tunnel' ? `tunnel ${f.type}` : f.method === 'droute' ? 'direct routing' : 'nat',
        });
        if (f.method === 'masq') {
          nat.add(outer);
          continue;
        }
        if (s.key.kind === 'addr') vips.add(s.key.address);
        else fwmark.add(`${d.name} ${serviceName(s)}`);
        if (f.method === 'tunnel') {
          tunnels.add(tunnelDevice(f.type, outer, inner));
          if (f.type === 'gue' && f.port !== undefined) fou.set(`${f.port} ${outer}`, { port: f.port, family: outer });
        }
      }
    }
  }
  const sortedVips = [...vips].sort();
  return {
    vips: sortedVips,
    arp: sortedVips.some((v) => !v.includes(':')),
    tunnels: TUNNEL_DEVICE_NAMES.filter((t) => tunnels.has(t)),
    fou: [...fou.values()].sort((a, b) => a.port - b.port || (a.family < b.family ? -1 : a.family > b.family ? 1 : 0)),
    natFamilies: (['inet', 'inet6'] as const).filter((f) => nat.has(f)),
    fwmarkServices: [...fwmark].sort(),
    backing,
  };
}

/** A default route as `ip route show default` prints it. */
export interface LiveRoute {
  readonly family: Family;
  readonly gateway?: string;
  readonly device?: string;
}

/** A route of the main table other than the default (`ip route show`): where it leads, and how it leaves. */
export interface PrefixRoute {
  readonly family: Family;
  /** `192.0.2.0/24`, `2001:db8::/64` (a host route is `/32` or `/128`). */
  readonly prefix: string;
  readonly gateway?: string;
  readonly device?: string;
}

/** `192.0.2.0/24 dev eth0`, `198.51.100.0/24 via 192.0.2.9 dev eth0`. */
export function prefixRouteText(r: PrefixRoute): string {
  return `${r.prefix}${r.gateway ? ` via ${r.gateway}` : ''}${r.device ? ` dev ${r.device}` : ''}`;
}

function cidr(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  try {
    return ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
}

/** Whether two networks of one family share an address (the shorter prefix holds the other's network address). */
function overlaps(a: [ipaddr.IPv4 | ipaddr.IPv6, number], b: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
  if (a[0].kind() !== b[0].kind()) return false;
  return a[1] <= b[1] ? b[0].match(a) : a[0].match(b);
}

/**
 * The routes by which a NAT real server's replies would leave without passing the director whose inside address is
 * `gateway`: every route more specific than the default that does not go through it, leaving out the route to the
 * director's own network (the one that holds `gateway`: replies reach the director through it) and link-local and
 * multicast ones; with `clients`, only those that reach into a client network. The kernel takes the most specific route, so
 * each of these wins over the default route for the clients it covers.
 */
export function bypassRoutes(routes: readonly PrefixRoute[], family: Family, gateway: string, clients?: readonly string[]): PrefixRoute[] {
  const gw = ipaddr.parse(gateway);
  const nets = (clients ?? []).flatMap((c) => {
    const n = cidr(c);
    return n && n[0].kind() === gw.kind() ? [n] : [];
  });
  return routes.filter((r) => {
    if (r.family !== family || r.gateway === gateway) return false;
    const net = cidr(r.prefix);
    if (!net || net[0].kind() !== gw.kind()) return false;
    if (gw.match(net)) return false;
    // No client is link-local or multicast (zeroconf's 169.254.0.0/16, IPv6's fe80::/64 on every link).
    if (['linkLocal', 'multicast'].includes(net[0].range())) return false;
    return clients === undefined ? true : nets.some((n) => overlaps(n, net));
  });
}

/** One address as `ip -o addr show` lists it. */
export interface LiveRsAddress {
  readonly address: string;
  readonly prefix: number;
  readonly device: string;
}

/** What a real server holds of what lvsform reads. */
export interface LiveRealServer {
  readonly kernel: string;
  readonly addresses: readonly LiveRsAddress[];
  /** Of the tunnel devices asked about, those that exist, and of them those up. */
  readonly links: readonly string[];
  readonly up: readonly string[];
  /** Full sysctl names (`net.ipv4.conf.all.arp_ignore`) → value, of those the kernel has. */
  readonly sysctls: Readonly<Record<string, string>>;
  /** `ip fou show`. */
  readonly fou: readonly FouPort[];
  /** Default routes (`ip route show default`, `ip -6 route show default`). */
  readonly routes: readonly LiveRoute[];
  /** The main table's other routes (`ip route show`, `ip -6 route show`); absent when not read. */
  readonly prefixRoutes?: readonly PrefixRoute[];
}

/** What the real server's ownership record keeps: what lvsform added or changed, with the values found before. */
export interface RealServerRecordPrep {
  readonly addresses?: readonly LiveRsAddress[];
  /** Tunnel devices lvsform brought up. */
  readonly tunnels?: readonly string[];
  readonly fou?: readonly FouPort[];
  /** Full sysctl name → the value found before lvsform set it, and the value set. */
  readonly sysctls?: Readonly<Record<string, { readonly prior: string; readonly value: string }>>;
  /** Family → the default route's gateway found before lvsform replaced it (`''`: there was none), and the one set. */
  readonly routes?: Readonly<Partial<Record<Family, { readonly prior: string; readonly value: string }>>>;
}

/** One change on a real server. */
export type RealServerChange =
  | { readonly kind: 'address'; readonly action: 'create' | 'delete'; readonly address: string; readonly prefix: number; readonly device: string }
  | { readonly kind: 'tunnel'; readonly action: 'create' | 'delete'; readonly device: TunnelDevice }
  | { readonly kind: 'fou'; readonly action: 'create' | 'delete'; readonly port: number; readonly family: Family }
  | { readonly kind: 'sysctl'; readonly action: 'update'; readonly name: string; readonly before: string; readonly after: string; readonly restore?: boolean }
  | {
      readonly kind: 'route';
      readonly action: 'update';
      readonly family: Family;
      readonly before: string;
      readonly after: string;
      readonly restore?: boolean;
    };

/**
 * Additions and updates go before the directors' batches send a live service to it (a real server is ready before
 * traffic is sent to it; apply/run-real-servers.ts `waitsForRealServers`); removals after them (no service sends to it
 * any more). Sysctls that put a value back go after too.
 */
export function realServerPhase(c: RealServerChange): 'before' | 'after' {
  if (c.action === 'delete') return 'after';
  if ((c.kind === 'sysctl' || c.kind === 'route') && c.restore) return 'after';
  return 'before';
}

/** What the plan says about a NAT return path: checked, never changed unless the app asks. */
export interface RouteCheck {
  readonly family: Family;
  /** The default route's gateway now (absent: no default route). */
  readonly gateway?: string;
  /** The gateway the app names (absent: it names none, so lvsform cannot tell). */
  readonly expected?: string;
  /** Whether the route goes through the director (absent: unknown). */
  readonly ok?: boolean;
  /** More specific routes that do not go through the director (`prefixRouteText`), by which replies to clients in them leave. */
  readonly bypass?: readonly string[];
}

/** `+ address 198.51.100.27/32 on lo`: the change as one plan line. */
export function realServerChangeText(c: RealServerChange): { sign: '+' | '~' | '-'; text: string } {
  const sign = c.action === 'create' ? '+' : c.action === 'delete' ? '-' : '~';
  switch (c.kind) {
    case 'address':
      return { sign, text: `address ${c.address}/${c.prefix} on ${c.device}${c.action === 'delete' ? '  (after the services that use it)' : ''}` };
    case 'tunnel':
      return { sign, text: `tunnel ${c.device} ${c.action === 'create' ? `up  (modprobe ${TUNNEL_DEVICES[c.device].module})` : 'down'}` };
    case 'fou':
      return { sign, text: `fou port ${c.port} gue${c.family === 'inet6' ? ' -6' : ''}` };
    case 'sysctl':
      return { sign, text: `sysctl ${c.name} ${c.before} -> ${c.after}${c.restore ? '  (restored)' : ''}` };
    default:
      return {
        sign,
        text: `default route ${c.family === 'inet6' ? 'IPv6' : 'IPv4'} via ${c.before || '(none)'} -> ${c.after || '(none)'}${c.restore ? '  (restored)' : ''}`,
      };
  }
}

/**
 * `NAT route back (IPv4): default route via 192.0.2.1, through the director`: a route check as one plan line, and
 * whether it warns. `changes` are the same host's planned changes: a route the plan itself sets through the director
 * (`manage: true`) is said so, not warned about.
 */
export function routeCheckText(r: RouteCheck, changes: readonly RealServerChange[] = []): { warn: boolean; text: string } {
  const fam = r.family === 'inet6' ? 'IPv6' : 'IPv4';
  const via = r.gateway === undefined ? 'no default route' : `default route via ${r.gateway}`;
  if (r.expected === undefined) {
    return { warn: true, text: `NAT route back (${fam}): ${via}; name the director's inside address (nat: { gateways }) so lvsform can check it` };
  }
  // A more specific route wins over the default for the clients it reaches, whatever the default route is.
  const bypass = r.bypass?.length
    ? `; but ${r.bypass.join(', ')} ${r.bypass.length > 1 ? 'are' : 'is'} more specific and not through it: replies to clients there are not rewritten`
    : '';
  const warn = bypass !== '';
  if (r.ok) return { warn, text: `NAT route back (${fam}): ${via}, through the director${bypass}` };
  if (changes.some((c) => c.kind === 'route' && c.family === r.family && !c.restore && c.after === r.expected)) {
    return { warn, text: `NAT route back (${fam}): ${via}; this plan sets it through the director (${r.expected})${bypass}` };
  }
  return { warn: true, text: `NAT route back (${fam}): ${via}, not through the director (${r.expected}): replies will not be rewritten${bypass}` };
}

/**
 * sha256 of what a real server holds (its kernel release aside), its record and its boot files, in one canonical
 * form: the fingerprint a saved plan carries, as a director's plan carries its table's. Any change since the plan was
 * made (an address, a device, a sysctl, a route, the record, a boot file) makes the plan stale.
 */
export function realServerFingerprint(
  live: LiveRealServer,
  record: RealServerRecordPrep | undefined,
  files: Readonly<Record<string, string | null>> = {},
): string {
  const sorted = (a: readonly string[]) => [...a].sort();
  const view = {
    addresses: sorted(live.addresses.map((a) => `${a.address}/${a.prefix} ${a.device}`)),
    links: sorted(live.links),
    up: sorted(live.up),
    sysctls: live.sysctls,
    fou: sorted(live.fou.map((f) => `${f.port} ${f.family}`)),
    routes: sorted(live.routes.map((r) => `${r.family} ${r.gateway ?? ''} ${r.device ?? ''}`)),
    prefixRoutes: sorted((live.prefixRoutes ?? []).map((r) => `${r.family} ${prefixRouteText(r)}`)),
    record: record ?? null,
    files,
  };
  return createHash('sha256').update(canonicalJson(view)).digest('hex');
}

/** True when the record holds nothing. */
export function emptyRealServerRecord(r: RealServerRecordPrep | undefined): boolean {
  return (
    r === undefined ||
    ((r.addresses?.length ?? 0) === 0 &&
      (r.tunnels?.length ?? 0) === 0 &&
      (r.fou?.length ?? 0) === 0 &&
      Object.keys(r.sysctls ?? {}).length === 0 &&
      Object.keys(r.routes ?? {}).length === 0)
  );
}

/** The full sysctl names a real server's read covers: the ARP pair (all, interface) and rp_filter (all, each tunnel device). */
export function realServerSysctlNames(iface: string | undefined, tunnels: readonly string[], record: RealServerRecordPrep | undefined): string[] {
  const names = new Set<string>();
  for (const d of ['all', ...(iface ? [iface] : [])]) {
    names.add(`net.ipv4.conf.${d}.arp_ignore`);
    names.add(`net.ipv4.conf.${d}.arp_announce`);
  }
  for (const t of tunnels) {
    names.add('net.ipv4.conf.all.rp_filter');
    names.add(`net.ipv4.conf.${t}.rp_filter`);
  }
  for (const k of Object.keys(record?.sysctls ?? {})) names.add(k);
  return [...names].sort();
}

/** The sysctl names lvsform may read and write on a real server: `net.ipv4.conf.<device>.{arp_ignore,arp_announce,rp_filter}`. */
export const REAL_SERVER_SYSCTL = /^net\.ipv4\.conf\.((?!\.{1,2}\.)[A-Za-z0-9_.-]{1,15})\.(arp_ignore|arp_announce|rp_filter)$/;

/** `/proc/sys/net/ipv4/conf/<device>/<name>` of a sysctl lvsform may touch, or undefined. */
export function realServerSysctlFile(name: string): string | undefined {
  const m = REAL_SERVER_SYSCTL.exec(name);
  return m ? `/proc/sys/net/ipv4/conf/${m[1]}/${m[2]}` : undefined;
}
