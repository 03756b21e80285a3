/**
 * The one rule set every entrance applies: the construct library (at synth), the synthesized-JSON reader and import.
 * A table one of them accepts, the others accept; a table one refuses, the others refuse. Each rule is pure, never
 * throws, and returns the problems it finds (a path in the synthesized JSON's names, and a message naming the value).
 *
 * This file exists twice, byte for byte: providers/ipvs/model/rules.ts and lib/private/rules.ts, because the construct
 * library never imports the provider (the synthesized JSON is the contract). It imports only ipaddr.js and the limits
 * file beside it, whose two copies a unit test also holds equal; another unit test holds the two copies of this file
 * byte-equal, so a change is made in one and copied.
 *
 * Where the rules come from:
 * - bounds: ipvsadm's parser and the kernel's netlink policy (ports 0..65535, weights and thresholds 0..INT_MAX,
 *   `-p` 1..2678400 s, an IPv6 persistence prefix 1..128, firewall marks 1..2^32-1);
 * - combinations the kernel refuses or ignores: a lower threshold above the upper one (ERANGE), address families mixed
 *   outside tunnelling, a real-server port under direct routing or tunnelling (the kernel uses the service port),
 *   tunnel options of another tunnel type;
 * - combinations that do nothing: port 0 (all ports) without persistence (ipvsadm refuses it), a NAT real server on
 *   port 0 of a service with a port (packets rewritten to port 0), a persistence engine without persistence or on a
 *   TCP or SCTP service (ip_vs_pe_sip reads UDP datagrams only), one-packet scheduling on TCP or SCTP;
 * - address classes: IPVS forwards unicast. Unspecified (0.0.0.0/8, ::), limited broadcast, multicast (224.0.0.0/4,
 *   ff00::/8), IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses are refused as virtual and
 *   real-server addresses: no packet ever reaches a service on one. Loopback (127.0.0.0/8, ::1) and link-local
 *   (169.254.0.0/16, fe80::/10) are accepted, as ipvsadm and the kernel accept them: IPVS schedules locally generated
 *   connections (its LOCAL_OUT hook), so a loopback VIP serves the director's own clients, and a link-local VIP serves
 *   the link it is on;
 * - names: a scheduler or persistence-engine name is a kernel module suffix of at most 15 characters
 *   (IP_VS_SCHEDNAME_MAXLEN and IP_VS_PENAME_MAXLEN are 16 with the NUL); the kernel has one persistence engine, sip;
 *   director and stack names name files on each director (SAFE_NAME); construct paths are written into plans and
 *   ownership records, so they are bounded and free of control characters;
 * - SSH targets: every field reaches `ssh` as an argument, so a host is a host name or an address, a user a login
 *   name, an alias a `Host` word, and a file path neither empty nor starting with '-' nor holding a control character.
 */
import ipaddr from 'ipaddr.js';
import { FLAG_BITS, INT_MAX, MAX_PERSISTENCE_TIMEOUT, SAFE_NAME } from './limits.ts';

/** One thing a rule refuses: where (in the synthesized JSON's names, relative to what was checked) and why. */
export interface RuleProblem {
  /** `port`, `persistence.timeout`, `real_server[2].weight`, `ssh.user`; empty for the thing itself. */
  readonly path: string;
  /** What is wrong, with the value, and what to do. */
  readonly message: string;
}

/** A forwarding method as the rules see it (the model's shape). */
export interface RuleForwarding {
  readonly method: string;
  readonly type?: string;
  readonly port?: number;
  readonly checksum?: string;
}

/** A real server as the rules see it: the model's Destination, with its port resolved. */
export interface RuleDestination {
  readonly address: string;
  readonly port: number;
  readonly forwarding: RuleForwarding;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
}

/** A virtual service as the rules see it: the model's Service, addresses canonical. */
export interface RuleService {
  readonly key:
    | { readonly kind: 'addr'; readonly protocol: string; readonly address: string; readonly port: number }
    | { readonly kind: 'fwmark'; readonly mark: number; readonly family: string };
  readonly config: {
    readonly scheduler: string;
    /** Kernel bits (`flag-1`..`flag-3`). */
    readonly schedFlags: readonly string[];
    readonly persistence?: { readonly timeout: number; readonly netmask: string };
    readonly persistenceEngine?: string;
    readonly onePacket: boolean;
  };
  readonly destinations: readonly RuleDestination[];
}

/** How a director is reached over SSH (the host target's own shape). */
export interface RuleSsh {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly user?: unknown;
  readonly identityFile?: unknown;
  readonly knownHostsFile?: unknown;
  readonly configFile?: unknown;
  readonly alias?: unknown;
  readonly sudo?: unknown;
  readonly planUser?: unknown;
}

/** The largest firewall mark (a u32). */
export const MAX_FIREWALL_MARK = 4_294_967_295;
/** The longest construct path written into a plan or an ownership record. */
export const MAX_CONSTRUCT_PATH = 1024;
/** A scheduler or persistence-engine name: a kernel module suffix (`ip_vs_NAME`, `ip_vs_pe_NAME`) of at most 15. */
export const MODULE_NAME = /^[a-z][a-z0-9_]{0,14}$/;
/** The persistence engines of the kernel (net/netfilter/ipvs/ip_vs_pe_*.c). */
export const PERSISTENCE_ENGINES: readonly string[] = ['sip'];
export const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];
export const FORWARDING_METHODS: readonly string[] = ['masq', 'droute', 'tunnel'];
export const TUNNEL_TYPES: readonly string[] = ['ipip', 'gue', 'gre'];
export const TUNNEL_CHECKSUMS: readonly string[] = ['nocsum', 'csum', 'remcsum'];

const HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;
// Control characters could end a line of a script or an ssh option; a leading '-' could be read as an option.
const UNSAFE_PATH = /[\u0000-\u001f\u007f]|^-/;
const CONTROL = /[\u0000-\u001f\u007f]/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Text for a value in a message. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Why `value` is not an integer in [min, max], or undefined when it is. */
export function intOutOf(what: string, value: unknown, min: number, max: number, hint = ''): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  return `${what} must be an integer ${min}..${max}${hint}; got ${shown(value)}`;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function familyOf(address: string): 'inet' | 'inet6' {
  return address.includes(':') ? 'inet6' : 'inet';
}

/**
 * Why an address (IPv4 dotted decimal or IPv6) cannot be a virtual or real-server address, or undefined when it can.
 * See the header for the classes refused and accepted.
 */
export function addressClassProblem(address: string): string | undefined {
  if (!address.includes(':')) {
    if (!IPV4.test(address)) return 'is not an IPv4 (dotted decimal) or IPv6 address';
    const range = ipaddr.IPv4.parse(address).range();
    if (range === 'unspecified') return 'is unspecified (0.0.0.0/8)';
    if (range === 'broadcast') return 'is the limited broadcast address';
    if (range === 'multicast') return 'is multicast (224.0.0.0/4)';
    return undefined;
  }
  if (!ipaddr.IPv6.isValid(address) || address.includes('%')) return 'is not an IPv4 (dotted decimal) or IPv6 address';
  const ip = ipaddr.IPv6.parse(address);
  const range = ip.range();
  if (range === 'unspecified') return 'is unspecified (::)';
  if (range === 'multicast') return 'is multicast (ff00::/8)';
  if (range === 'ipv4Mapped') return `is IPv4-mapped; use the IPv4 address ${ip.toIPv4Address().toString()}`;
  const p = ip.parts;
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && p[6] !== 0) {
    const v4 = [p[6]! >> 8, p[6]! & 255, p[7]! >> 8, p[7]! & 255].join('.');
    return `is IPv4-compatible (deprecated); use the IPv4 address ${v4}`;
  }
  return undefined;
}

/** Why `name` cannot be a scheduler (`ipvsadm -s`, module ip_vs_NAME), or undefined. */
export function schedulerNameProblem(name: unknown): string | undefined {
  if (typeof name === 'string' && MODULE_NAME.test(name)) return undefined;
  return `a scheduler name is a kernel module suffix (ip_vs_NAME): a lower-case letter, then up to 14 of [a-z0-9_]; got ${shown(name)}`;
}

/**
 * Why a scheduler flag name (`ipvsadm -b`) cannot go on `scheduler`, or undefined: the name must be known, and
 * `sh-*` / `mh-*` names belong to their scheduler (ipvsadm's "incompatible scheduler flag").
 */
export function schedulerFlagProblem(scheduler: string, flag: unknown): string | undefined {
  if (typeof flag !== 'string' || !Object.hasOwn(FLAG_BITS, flag)) {
    return `scheduler flag ${shown(flag)} is unknown; use flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback or mh-port`;
  }
  const owner = flag.startsWith('sh-') ? 'sh' : flag.startsWith('mh-') ? 'mh' : undefined;
  if (owner !== undefined && owner !== scheduler) return `scheduler flag ${flag} is read by the ${owner} scheduler only; got it on ${scheduler}`;
  return undefined;
}

/** Why `path` cannot be a construct path (written into plans and ownership records), or undefined. */
export function constructPathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return `a construct path must be a non-empty string; got ${shown(path)}`;
  if (path.length > MAX_CONSTRUCT_PATH) {
    return `the construct path is ${path.length} characters; at most ${MAX_CONSTRUCT_PATH} are written into plans and ownership records (use shorter construct ids)`;
  }
  if (CONTROL.test(path)) return `the construct path ${shown(path)} holds a control character; construct ids are printed in plans, one per line`;
  return undefined;
}

/** Why `name` cannot name a director or stack (it names files on each director and appears in commands), or undefined. */
export function nameProblem(what: string, name: unknown): string | undefined {
  if (typeof name === 'string' && SAFE_NAME.test(name)) return undefined;
  return `${what} name must match ${SAFE_NAME} (it is used in shell commands and file names); got ${shown(name)}`;
}

/**
 * The `net.ipv4.vs.*` sysctls a director may manage (synthesized names, the kernel's), each with its largest value
 * (Documentation/networking/ipvs-sysctl.rst: booleans 0..1, `conn_reuse_mode` a bitmap 0..3, which also takes
 * `auto`).
 */
export const IPVS_SYSCTL_MAX: Readonly<Record<string, number>> = {
  conntrack: 1,
  expire_nodest_conn: 1,
  expire_quiescent_template: 1,
  conn_reuse_mode: 3,
  sloppy_tcp: 1,
  sloppy_sctp: 1,
  schedule_icmp: 1,
  ignore_tunneled: 1,
};

/**
 * The largest IPVS connection timeout (`ipvsadm --set`), in seconds: the kernel keeps it in jiffies as an int, so
 * seconds times HZ (up to 1000) must stay within INT_MAX.
 */
export const MAX_IPVS_TIMEOUT = 2_147_483;

/** An interface name the kernel accepts (IFNAMSIZ - 1 characters, no '/', ':' or white space, not . or ..). */
const IFNAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;

/** The director settings as the rules see them (the synthesized JSON's names). */
export interface RuleSettings {
  readonly vips?: { readonly interface?: unknown; readonly dummy?: unknown } | undefined;
  readonly timeouts?: { readonly tcp?: unknown; readonly tcp_fin?: unknown; readonly udp?: unknown } | undefined;
  readonly sysctls?: Readonly<Record<string, unknown>> | undefined;
  readonly sync_daemon?: { readonly interface?: unknown; readonly sync_id?: unknown; readonly roles?: unknown } | undefined;
  readonly vrrp?: RuleVrrp | undefined;
}

/** A pair member's VRRP instance as the rules see it (the synthesized JSON's names). */
export interface RuleVrrp {
  readonly instance?: unknown;
  readonly interface?: unknown;
  readonly virtual_router_id?: unknown;
  readonly priority?: unknown;
  readonly state?: unknown;
  readonly advert_int?: unknown;
  readonly auth_pass?: unknown;
  readonly garp_master_delay?: unknown;
  readonly nopreempt?: unknown;
  readonly preempt_delay?: unknown;
  readonly addresses?: unknown;
  /** Unicast VRRP: this director's own address on the VRRP interface, and the other directors' (keepalived's `unicast_peer`). */
  readonly unicast_src_ip?: unknown;
  readonly unicast_peer?: unknown;
}

/** A keepalived `vrrp_instance` name, also lvsform's file name (`lvsform-<instance>.conf`). */
const VRRP_INSTANCE = /^[A-Za-z0-9_.-]{1,64}$/;
/** keepalived's PASS authentication: up to 8 characters; none that keepalived's parser reads as a comment or block. */
const AUTH_PASS = /^[A-Za-z0-9_.,:;@%+=^~*()[\]/-]{1,8}$/;

/** Every problem of a pair member's sync daemon (`ipvsadm --start-daemon`). */
function syncDaemonProblems(d: NonNullable<RuleSettings['sync_daemon']>): RuleProblem[] {
  const out: RuleProblem[] = [];
  if (typeof d.interface !== 'string' || !IFNAME.test(d.interface)) {
    out.push({ path: 'sync_daemon.interface', message: `the sync daemon's interface is 1 to 15 of [A-Za-z0-9_.-]; got ${shown(d.interface)}` });
  }
  const id = intOutOf('sync_daemon.sync_id', d.sync_id, 0, 255, ' (ipvsadm --syncid; 0 takes every sync id in)');
  if (id) out.push({ path: 'sync_daemon.sync_id', message: id });
  const roles = d.roles;
  if (!Array.isArray(roles) || roles.length === 0 || roles.some((x) => x !== 'master' && x !== 'backup') || new Set(roles).size !== roles.length) {
    out.push({ path: 'sync_daemon.roles', message: `the sync daemon's roles are master, backup or both, each once; got ${shown(roles)}` });
  }
  return out;
}

/** Every problem of a pair member's VRRP instance: keepalived's own bounds, and what lvsform writes into its file. */
export function vrrpProblems(v: RuleVrrp): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: string, message: string | undefined) => {
    if (message) out.push({ path: `vrrp.${path}`, message });
  };
  if (typeof v.instance !== 'string' || !VRRP_INSTANCE.test(v.instance))
    add('instance', `a VRRP instance name is 1 to 64 of [A-Za-z0-9_.-]; got ${shown(v.instance)}`);
  if (typeof v.interface !== 'string' || !IFNAME.test(v.interface))
    add('interface', `the VRRP interface is 1 to 15 of [A-Za-z0-9_.-]; got ${shown(v.interface)}`);
  add('virtual_router_id', intOutOf('vrrp.virtual_router_id', v.virtual_router_id, 1, 255, ' (unique per segment)'));
  add('priority', intOutOf('vrrp.priority', v.priority, 1, 254, ' (255 is kept for the owner of the address)'));
  if (v.state !== 'MASTER' && v.state !== 'BACKUP') add('state', `vrrp.state is MASTER or BACKUP; got ${shown(v.state)}`);
  add('advert_int', intOutOf('vrrp.advert_int', v.advert_int, 1, 255, ' seconds'));
  if (v.garp_master_delay !== undefined) add('garp_master_delay', intOutOf('vrrp.garp_master_delay', v.garp_master_delay, 0, 255, ' seconds'));
  if (v.nopreempt !== undefined && typeof v.nopreempt !== 'boolean') add('nopreempt', `vrrp.nopreempt is true or false; got ${shown(v.nopreempt)}`);
  if (v.preempt_delay !== undefined) add('preempt_delay', intOutOf('vrrp.preempt_delay', v.preempt_delay, 1, 1000, ' seconds'));
  if (v.nopreempt === true && v.preempt_delay !== undefined) {
    add('preempt_delay', 'vrrp.preempt_delay delays a preemption that vrrp.nopreempt turns off (keepalived drops it): give one of them');
  }
  // keepalived clears both, with a warning, on an instance that starts as MASTER: every member starts as BACKUP.
  const waits = v.nopreempt === true ? 'nopreempt' : v.preempt_delay !== undefined ? 'preempt_delay' : undefined;
  if (waits && v.state === 'MASTER')
    add('state', `vrrp.${waits} needs state BACKUP on every director (keepalived ignores it on one that starts as MASTER); got MASTER`);
  if (v.auth_pass !== undefined && (typeof v.auth_pass !== 'string' || !AUTH_PASS.test(v.auth_pass))) {
    add('auth_pass', `vrrp.auth_pass is 1 to 8 characters (keepalived keeps 8) without spaces, quotes, #, !, { or }; got ${shown(v.auth_pass)}`);
  }
  const addrs = v.addresses;
  if (!Array.isArray(addrs) || addrs.length === 0) {
    add('addresses', `vrrp.addresses lists the addresses VRRP moves (the pair's VIPs); got ${shown(addrs)}`);
    return out;
  }
  const seen = new Set<string>();
  addrs.forEach((a: { address?: unknown; prefix?: unknown; interface?: unknown } | null, i) => {
    const at = `addresses[${i}]`;
    const address = a?.address;
    const bad = typeof address === 'string' ? addressClassProblem(address) : 'is not an address';
    if (bad) return add(`${at}.address`, `vrrp.${at}.address ${shown(address)} ${bad}`);
    const s = address as string;
    if (seen.has(s)) add(`${at}.address`, `vrrp.${at}.address ${s} is listed twice`);
    seen.add(s);
    add(`${at}.prefix`, intOutOf(`vrrp.${at}.prefix`, a!.prefix, 1, s.includes(':') ? 128 : 32));
    if (a!.interface !== undefined && (typeof a!.interface !== 'string' || !IFNAME.test(a!.interface))) {
      add(`${at}.interface`, `vrrp.${at}.interface is 1 to 15 of [A-Za-z0-9_.-]; got ${shown(a!.interface)}`);
    }
  });
  const v6only = addrs.every((a: { address?: unknown } | null) => typeof a?.address === 'string' && a.address.includes(':'));
  if (v.auth_pass !== undefined && v6only) {
    add('auth_pass', 'an instance with IPv6 addresses only speaks VRRP version 3, which has no authentication: leave authPass out');
  }
  if (v.unicast_src_ip !== undefined || v.unicast_peer !== undefined) unicastProblems(v, v6only ? 'IPv6' : 'IPv4', add);
  return out;
}

/**
 * Unicast VRRP (keepalived's `unicast_src_ip` and `unicast_peer`): the director's own address and its peers', each a
 * unicast address of the family the instance advertises in (IPv4 when it moves an IPv4 address, else IPv6), the peers
 * each once and none of them the director's own.
 */
function unicastProblems(v: RuleVrrp, family: 'IPv4' | 'IPv6', add: (path: string, message: string | undefined) => void): void {
  const why = (a: unknown): string | undefined => {
    if (typeof a !== 'string') return 'is not an address';
    const bad = addressClassProblem(a);
    if (bad) return bad;
    return a.includes(':') === (family === 'IPv6')
      ? undefined
      : `is not ${family}, the family the instance advertises in (IPv4 when it moves an IPv4 address, else IPv6)`;
  };
  const src = v.unicast_src_ip;
  if (src === undefined) add('unicast_src_ip', "vrrp.unicast_src_ip is missing: unicast VRRP needs the director's own address beside its peers'");
  else {
    const srcBad = why(src);
    if (srcBad) add('unicast_src_ip', `vrrp.unicast_src_ip ${shown(src)} ${srcBad}`);
  }
  const peers = v.unicast_peer;
  if (!Array.isArray(peers) || peers.length === 0) {
    add('unicast_peer', `vrrp.unicast_peer lists the other directors' addresses for unicast VRRP; got ${shown(peers)}`);
    return;
  }
  // Compared as addresses, not as text: `2001:DB8::1` and `2001:db8:0::1` are one address.
  const same = (a: unknown): string | undefined => (why(a) === undefined ? ipaddr.parse(a as string).toString() : undefined);
  const own = same(src);
  const seen = new Set<string>();
  peers.forEach((p: unknown, i) => {
    const bad = why(p);
    if (bad) return add(`unicast_peer[${i}]`, `vrrp.unicast_peer[${i}] ${shown(p)} ${bad}`);
    const key = same(p)!;
    if (key === own) add(`unicast_peer[${i}]`, `vrrp.unicast_peer[${i}] ${shown(p)} is the director's own address (unicast_src_ip)`);
    else if (seen.has(key)) add(`unicast_peer[${i}]`, `vrrp.unicast_peer[${i}] ${shown(p)} is listed twice`);
    seen.add(key);
  });
}

/** Every problem of a director's settings: VIP placement, timeouts, sysctls, a pair member's sync daemon and VRRP. */
export function settingsProblems(s: RuleSettings): RuleProblem[] {
  const problems: RuleProblem[] = [];
  if (s.vips !== undefined) {
    const given = (['interface', 'dummy'] as const).filter((k) => s.vips?.[k] !== undefined);
    if (given.length !== 1) {
      problems.push({
        path: 'vips',
        message: `vips takes exactly one of interface (an existing interface) or dummy (a dummy interface lvsform creates); got ${given.length === 0 ? 'neither' : 'both'}`,
      });
    } else {
      const name = s.vips[given[0]!];
      if (typeof name !== 'string' || !IFNAME.test(name)) {
        problems.push({ path: `vips.${given[0]}`, message: `an interface name is 1 to 15 of [A-Za-z0-9_.-] (the kernel's IFNAMSIZ); got ${shown(name)}` });
      }
    }
  }
  if (s.timeouts !== undefined) {
    const fields = ['tcp', 'tcp_fin', 'udp'] as const;
    if (fields.every((f) => s.timeouts?.[f] === undefined))
      problems.push({ path: 'timeouts', message: 'timeouts names none of tcp, tcp_fin, udp; leave it out to leave the timeouts alone' });
    for (const f of fields) {
      const v = s.timeouts[f];
      if (v === undefined) continue;
      const bad = intOutOf(`timeouts.${f}`, v, 1, MAX_IPVS_TIMEOUT, ' seconds (ipvsadm --set)');
      if (bad) problems.push({ path: `timeouts.${f}`, message: bad });
    }
  }
  if (s.sync_daemon !== undefined) problems.push(...syncDaemonProblems(s.sync_daemon));
  if (s.vrrp !== undefined) problems.push(...vrrpProblems(s.vrrp));
  for (const [key, v] of Object.entries(s.sysctls ?? {})) {
    const max = IPVS_SYSCTL_MAX[key];
    if (max === undefined || !Object.hasOwn(IPVS_SYSCTL_MAX, key)) {
      problems.push({
        path: `sysctls.${key}`,
        message: `net.ipv4.vs.${key} is not a sysctl lvsform manages; it manages ${Object.keys(IPVS_SYSCTL_MAX).join(', ')}`,
      });
      continue;
    }
    if (key === 'conn_reuse_mode' && v === 'auto') continue;
    const bad = intOutOf(`sysctls.${key}`, v, 0, max, key === 'conn_reuse_mode' ? " (or 'auto')" : '');
    if (bad) problems.push({ path: `sysctls.${key}`, message: bad });
  }
  return problems;
}

/** A real-server host as the rules see it (the synthesized JSON's names). */
export interface RuleRealServerHost {
  readonly addresses?: unknown;
  readonly interface?: unknown;
  readonly nat?: { readonly gateways?: unknown; readonly manage?: unknown; readonly clients?: unknown } | undefined;
}

/**
 * Why `text` is not a network as `ip route` writes one (`192.0.2.0/24`, `2001:db8::/32`: an address, a prefix length
 * of its family, no host bits set), or undefined.
 */
export function networkProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return 'is not a string';
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return 'is not a network ADDRESS/LENGTH (192.0.2.0/24, 2001:db8::/32)';
  const address = m[1]!;
  const length = Number(m[2]);
  const v6 = address.includes(':');
  if (v6 ? !ipaddr.IPv6.isValid(address) || address.includes('%') : !IPV4.test(address)) return 'is not a network ADDRESS/LENGTH (192.0.2.0/24, 2001:db8::/32)';
  if (length > (v6 ? 128 : 32)) return `has a prefix length above ${v6 ? 128 : 32}`;
  const ip = ipaddr.parse(address);
  const base = v6 ? ipaddr.IPv6.networkAddressFromCIDR(text) : ipaddr.IPv4.networkAddressFromCIDR(text);
  if (base.toString() !== ip.toString()) return `has host bits set; write ${base.toString()}/${length}`;
  return undefined;
}

/**
 * Every problem of a real-server host's own props: its addresses (the pool members it stands for: unicast, each once,
 * at least one), the interface facing the director, and the NAT gateways (addresses, at most one per family).
 */
export function realServerHostProblems(h: RuleRealServerHost): RuleProblem[] {
  const out: RuleProblem[] = [];
  if (!Array.isArray(h.addresses) || h.addresses.length === 0) {
    out.push({ path: 'addresses', message: `addresses must list the real server's own addresses, as its pools name them; got ${shown(h.addresses)}` });
  } else {
    const seen = new Set<unknown>();
    h.addresses.forEach((a, i) => {
      const bad = typeof a === 'string' ? addressClassProblem(a) : 'is not a string';
      if (bad) out.push({ path: `addresses[${i}]`, message: `address ${shown(a)} ${bad}` });
      else if (seen.has(a)) out.push({ path: `addresses[${i}]`, message: `address ${shown(a)} is listed twice` });
      seen.add(a);
    });
  }
  if (h.interface !== undefined && (typeof h.interface !== 'string' || !IFNAME.test(h.interface))) {
    out.push({ path: 'interface', message: `an interface name is 1 to 15 of [A-Za-z0-9_.-] (the kernel's IFNAMSIZ); got ${shown(h.interface)}` });
  }
  if (h.nat !== undefined) {
    const g = h.nat.gateways;
    if (!Array.isArray(g) || g.length === 0 || g.length > 2) {
      out.push({ path: 'nat.gateways', message: `nat.gateways lists the director's inside address, one per family (IPv4, IPv6); got ${shown(g)}` });
    } else {
      const families = new Set<string>();
      g.forEach((a, i) => {
        const bad = typeof a === 'string' ? addressClassProblem(a) : 'is not a string';
        if (bad) out.push({ path: `nat.gateways[${i}]`, message: `gateway ${shown(a)} ${bad}` });
        else if (families.has(familyOf(a as string)))
          out.push({
            path: `nat.gateways[${i}]`,
            message: `nat.gateways names two ${familyOf(a as string) === 'inet' ? 'IPv4' : 'IPv6'} gateways; one per family`,
          });
        else families.add(familyOf(a as string));
      });
    }
    if (h.nat.manage !== undefined && typeof h.nat.manage !== 'boolean')
      out.push({ path: 'nat.manage', message: `nat.manage must be true or false; got ${shown(h.nat.manage)}` });
    const c = h.nat.clients;
    if (c !== undefined && (!Array.isArray(c) || c.length === 0)) {
      out.push({ path: 'nat.clients', message: `nat.clients lists the networks the clients are in (192.0.2.0/24); got ${shown(c)}` });
    } else if (Array.isArray(c)) {
      c.forEach((n, i) => {
        const bad = networkProblem(n);
        if (bad) out.push({ path: `nat.clients[${i}]`, message: `client network ${shown(n)} ${bad}` });
      });
    }
  }
  return out;
}

/** Every problem of one virtual service: its identity, configuration and real servers. */
export function serviceProblems(s: RuleService): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: string, message: string | undefined): void => {
    if (message !== undefined) out.push({ path, message });
  };
  const key = s.key;
  let family: 'inet' | 'inet6' = 'inet';
  if (key.kind === 'addr') {
    if (!PROTOCOLS.includes(key.protocol)) add('protocol', `protocol must be tcp, udp or sctp; got ${shown(key.protocol)}`);
    const why = addressClassProblem(key.address);
    add('address', why && `virtual address ${key.address} ${why}; a virtual service needs a unicast address`);
    family = familyOf(key.address);
    add('port', intOutOf('port', key.port, 0, 65535));
  } else {
    add('firewall_mark', intOutOf('firewall mark', key.mark, 1, MAX_FIREWALL_MARK));
    if (key.family !== 'inet' && key.family !== 'inet6') add('family', `family must be inet or inet6; got ${shown(key.family)}`);
    family = key.family === 'inet6' ? 'inet6' : 'inet';
  }
  out.push(...configProblems(s, family));
  const seen = new Set<string>();
  s.destinations.forEach((d, i) => {
    const id = hostPort(d.address, d.port);
    if (seen.has(id))
      out.push({ path: `real_server[${i}]`, message: `real server ${id} appears twice in the service; IPVS holds one destination per address:port` });
    seen.add(id);
    for (const p of destinationProblems(s.key, family, d)) out.push({ path: `real_server[${i}]${p.path ? `.${p.path}` : ''}`, message: p.message });
  });
  return out;
}

function configProblems(s: RuleService, family: 'inet' | 'inet6'): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: string, message: string | undefined): void => {
    if (message !== undefined) out.push({ path, message });
  };
  const c = s.config;
  const key = s.key;
  const protocol = key.kind === 'addr' ? key.protocol : undefined;
  add('scheduler', schedulerNameProblem(c.scheduler));
  c.schedFlags.forEach((flag, i) => {
    if (!['flag-1', 'flag-2', 'flag-3'].includes(flag))
      add(`scheduler_flags[${i}]`, `scheduler flag ${shown(flag)} is not a kernel flag bit (flag-1, flag-2, flag-3)`);
  });
  if (c.persistence !== undefined) {
    add('persistence.timeout', intOutOf('persistence timeout', c.persistence.timeout, 1, MAX_PERSISTENCE_TIMEOUT, ' seconds (ipvsadm -p bound: 31 days)'));
    const mask = c.persistence.netmask;
    if (family === 'inet' && !IPV4.test(mask)) add('persistence.netmask', `an IPv4 persistence netmask is dotted (255.255.255.0); got ${shown(mask)}`);
    if (family === 'inet6' && (!/^[0-9]{1,3}$/.test(mask) || Number(mask) < 1 || Number(mask) > 128)) {
      add('persistence.netmask', `an IPv6 persistence netmask is a prefix length 1..128 (the kernel refuses 0); got ${shown(mask)}`);
    }
  } else if (key.kind === 'addr' && key.port === 0) {
    add(
      'port',
      'port 0 (all ports) needs persistence (ipvsadm -p): a port-0 service takes all ports and only makes sense when a client sticks to one real server',
    );
  }
  if (c.persistenceEngine !== undefined) {
    if (!PERSISTENCE_ENGINES.includes(c.persistenceEngine)) {
      add('persistence_engine', `the kernel has one persistence engine, sip; got ${shown(c.persistenceEngine)}`);
    }
    if (c.persistence === undefined) {
      add('persistence_engine', `persistence engine ${c.persistenceEngine} needs persistence: the engine is consulted only by persistent scheduling`);
    }
    if (protocol !== undefined && protocol !== 'udp') {
      add('persistence_engine', `the sip persistence engine reads UDP datagrams only; got it on a ${protocol} service`);
    }
  }
  if (c.onePacket && protocol !== undefined && protocol !== 'udp') {
    add('one_packet', `one-packet scheduling (-o) is for UDP services only; got it on a ${protocol} service`);
  }
  return out;
}

/** Every problem of one real server of a service (`family` is the service's). */
export function destinationProblems(key: RuleService['key'], family: 'inet' | 'inet6', d: RuleDestination): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: string, message: string | undefined): void => {
    if (message !== undefined) out.push({ path, message });
  };
  const label = `real server ${hostPort(d.address, d.port)}`;
  const why = addressClassProblem(d.address);
  add('address', why && `real server ${d.address} ${why}; a real server needs a unicast address`);
  add('port', intOutOf(`${label}: port`, d.port, 0, 65535));
  add('weight', intOutOf(`${label}: weight`, d.weight, 0, INT_MAX));
  add('upper_threshold', intOutOf(`${label}: upper threshold`, d.upperThreshold, 0, INT_MAX, ' (0 = no limit)'));
  add('lower_threshold', intOutOf(`${label}: lower threshold`, d.lowerThreshold, 0, INT_MAX, ' (0 = none)'));
  if (d.lowerThreshold > d.upperThreshold) {
    add(
      'lower_threshold',
      `${label}: lower threshold ${d.lowerThreshold} is above upper threshold ${d.upperThreshold}: the kernel refuses it (ERANGE), even when upper is 0 = no limit`,
    );
  }
  const f = d.forwarding;
  if (!FORWARDING_METHODS.includes(f.method)) add('forwarding', `${label}: forwarding must be masq, droute or tunnel; got ${shown(f.method)}`);
  if (why === undefined && familyOf(d.address) !== family && f.method !== 'tunnel') {
    add(
      'forwarding',
      `${label} is ${familyOf(d.address) === 'inet' ? 'IPv4' : 'IPv6'} but the service is ${family === 'inet' ? 'IPv4' : 'IPv6'}; the kernel mixes families only under tunnelling; got ${f.method}`,
    );
  }
  if (key.kind === 'addr' && f.method !== 'masq' && d.port !== key.port) {
    add('port', `${label}: under ${f.method} the kernel uses the service port ${key.port} and ignores the real-server port; got port ${d.port}`);
  }
  if (key.kind === 'addr' && key.port !== 0 && d.port === 0 && f.method === 'masq') {
    add('port', `${label}: port 0 under NAT would rewrite packets to port 0; use the service port ${key.port}`);
  }
  if (f.method === 'tunnel') out.push(...tunnelProblems(label, f));
  else {
    if (f.type !== undefined) add('tunnel_type', `${label}: tunnel settings need forwarding tunnel; got ${f.method}`);
    if (f.port !== undefined) add('tunnel_port', `${label}: tunnel settings need forwarding tunnel; got ${f.method}`);
    if (f.checksum !== undefined) add('tunnel_checksum', `${label}: tunnel settings need forwarding tunnel; got ${f.method}`);
  }
  return out;
}

function tunnelProblems(label: string, f: RuleForwarding): RuleProblem[] {
  const out: RuleProblem[] = [];
  const type = f.type ?? 'ipip';
  if (!TUNNEL_TYPES.includes(type)) return [{ path: 'tunnel_type', message: `${label}: a tunnel type is ipip, gue or gre; got ${shown(type)}` }];
  if (f.checksum !== undefined && !TUNNEL_CHECKSUMS.includes(f.checksum)) {
    out.push({ path: 'tunnel_checksum', message: `${label}: a tunnel checksum is nocsum, csum or remcsum; got ${shown(f.checksum)}` });
  }
  if (type === 'gue') {
    const bad = intOutOf(`${label}: a gue tunnel port`, f.port, 1, 65535, ' (the UDP port the real server decapsulates on)');
    if (bad) out.push({ path: 'tunnel_port', message: bad });
    return out;
  }
  if (f.port !== undefined) out.push({ path: 'tunnel_port', message: `${label}: a tunnel port is for gue tunnels only; got port ${shown(f.port)} on ${type}` });
  if (type === 'ipip' && f.checksum !== undefined && f.checksum !== 'nocsum') {
    out.push({ path: 'tunnel_checksum', message: `${label}: an ipip tunnel has no checksum option; got ${f.checksum}` });
  }
  if (type === 'gre' && f.checksum === 'remcsum') {
    out.push({ path: 'tunnel_checksum', message: `${label}: remote checksum offload is a gue option; a gre tunnel takes nocsum or csum` });
  }
  return out;
}

/** Every problem of an SSH target. Paths are the target's own field names (`host`, `configFile`). */
export function sshProblems(ssh: RuleSsh): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: string, message: string): void => {
    out.push({ path, message });
  };
  if (ssh.host !== undefined && ssh.alias !== undefined) {
    add('alias', `ssh takes host or alias (with configFile), not both; got host ${shown(ssh.host)} and alias ${shown(ssh.alias)}`);
  }
  if (ssh.host === undefined && ssh.alias === undefined) add('', 'ssh needs host, or configFile + alias; got neither');
  if (ssh.host !== undefined) {
    const isAddress =
      typeof ssh.host === 'string' && (IPV4.test(ssh.host) || (ssh.host.includes(':') && !ssh.host.includes('%') && ipaddr.IPv6.isValid(ssh.host)));
    if (!isAddress && (typeof ssh.host !== 'string' || !HOST.test(ssh.host)))
      add('host', `ssh host must be a host name or an IP address; got ${shown(ssh.host)}`);
  }
  if (ssh.alias !== undefined) {
    if (typeof ssh.alias !== 'string' || !ALIAS.test(ssh.alias)) {
      add('alias', `ssh alias must be a Host name of the config file ([A-Za-z0-9_.-], not starting with '-'); got ${shown(ssh.alias)}`);
    } else if (ssh.configFile === undefined) {
      add('configFile', `ssh alias ${ssh.alias} needs configFile, the OpenSSH config that defines it`);
    }
  }
  if (ssh.port !== undefined) {
    const bad = intOutOf('ssh port', ssh.port, 1, 65535);
    if (bad) add('port', bad);
  }
  if (ssh.user !== undefined && (typeof ssh.user !== 'string' || !USER.test(ssh.user))) {
    add('user', `ssh user must be a login name ([A-Za-z_][A-Za-z0-9_.-]*, up to 32); got ${shown(ssh.user)}`);
  }
  if (ssh.planUser !== undefined && (typeof ssh.planUser !== 'string' || !USER.test(ssh.planUser) || ssh.planUser === 'root')) {
    add('planUser', `ssh planUser must be a login name other than root ([A-Za-z_][A-Za-z0-9_.-]*, up to 32); got ${shown(ssh.planUser)}`);
  }
  if (ssh.sudo !== undefined && typeof ssh.sudo !== 'boolean') add('sudo', `ssh sudo must be true or false; got ${shown(ssh.sudo)}`);
  if (ssh.sudo === true && ssh.user === 'root') {
    add('sudo', "ssh sudo is for a login user that is not root; got user 'root' with sudo: true (drop sudo, or log in as another user)");
  }
  for (const key of ['identityFile', 'knownHostsFile', 'configFile'] as const) {
    const value = ssh[key];
    if (value !== undefined && (typeof value !== 'string' || value === '' || UNSAFE_PATH.test(value))) {
      add(key, `ssh ${key} must be a file path without control characters, not starting with '-'; got ${shown(value)}`);
    }
  }
  return out;
}
