import { Construct } from 'constructs';
import { AddressFamily } from './address-family.ts';
import { PersistenceEngine } from './persistence-engine.ts';
import { describe, notUnicast, parseAddress } from './private/address.ts';
import { intOutOf } from './private/checks.ts';
import { unknownKey } from './private/keys.ts';
import { LvsResource } from './private/lvs-resource.ts';
import { Protocol } from './protocol.ts';
import { RealServerPool, type RealServer, type RealServerProps } from './real-server-pool.ts';
import { MAX_PERSISTENCE_TIMEOUT } from './private/limits.ts';
import { runtimeManagedOf, type RuntimeManagedField } from './private/runtime-managed.ts';
import { Scheduler } from './scheduler.ts';
import { constructPathProblem, type RuleService, serviceProblems } from './private/rules.ts';
import { ValidationError } from './validation-error.ts';

/** ipvsadm's bound on `-p TIMEOUT` (MAX_TIMEOUT: 31 days, in seconds). */
export { MAX_PERSISTENCE_TIMEOUT };

/** Client affinity (`ipvsadm -p [timeout] -M netmask`). */
export interface PersistenceProps {
  /**
   * Seconds a client sticks to its real server after its last connection, 1..2678400 (ipvsadm's bound).
   * @default 360
   */
  readonly timeout?: number;
  /**
   * IPv4 services: the dotted mask grouping clients (`255.255.255.0` = one /24 per real server). Like the kernel, any
   * mask is accepted, non-contiguous ones too (`255.0.255.0` groups clients by the first and third octets).
   * @default '255.255.255.255'
   */
  readonly netmask?: string;
  /**
   * IPv6 services: the prefix length grouping clients, 1..128 (the kernel refuses 0).
   * @default 128
   */
  readonly prefixLength?: number;
}

const VIRTUAL_SERVICE_KEYS = [
  'protocol',
  'address',
  'port',
  'firewallMark',
  'family',
  'scheduler',
  'persistence',
  'persistenceEngine',
  'onePacket',
  'pools',
  'runtimeManaged',
];

/** Props of a VirtualService. Identity is `protocol` + `address` + `port`, or `firewallMark` + `family`. */
export interface VirtualServiceProps {
  /**
   * Transport protocol of an address service.
   * @default Protocol.TCP (address services); none for firewall-mark services
   */
  readonly protocol?: Protocol;
  /**
   * The virtual IP (IPv4 or IPv6). Mutually exclusive with `firewallMark`.
   * @default - none: required unless `firewallMark` is set
   */
  readonly address?: string;
  /**
   * The virtual port, 0..65535; 0 (all ports) only with persistence, as ipvsadm requires.
   * @default - none: required with `address`
   */
  readonly port?: number;
  /**
   * Firewall mark, 1..4294967295, set on packets by nftables/iptables. Mutually exclusive with `address`.
   * @default - none
   */
  readonly firewallMark?: number;
  /**
   * Address family of a firewall-mark service.
   * @default AddressFamily.IPV4
   */
  readonly family?: AddressFamily;
  /**
   * The scheduler and its flags.
   * @default Scheduler.WEIGHTED_LEAST_CONNECTION (ipvsadm's default)
   */
  readonly scheduler?: Scheduler;
  /**
   * Client persistence.
   * @default - none
   */
  readonly persistence?: PersistenceProps;
  /**
   * Persistence engine; needs `persistence`, and reads UDP only.
   * @default - none
   */
  readonly persistenceEngine?: PersistenceEngine;
  /**
   * One-packet scheduling (`-o`): schedule each UDP datagram on its own. UDP and firewall-mark services only.
   * @default false
   */
  readonly onePacket?: boolean;
  /**
   * Pools of real servers.
   * @default - none; add with `addPool` or `addRealServer`
   */
  readonly pools?: readonly RealServerPool[];
  /**
   * Fields of every real server of the service (all its pools) a health checker owns at run time: `'weight'` and/or
   * `'thresholds'`, added to what each pool leaves to it. See `RealServerPoolProps.runtimeManaged`.
   * @default - none beyond the pools'
   */
  readonly runtimeManaged?: readonly RuntimeManagedField[];
}

/** The identity of a service. */
export type ServiceIdentity =
  | { readonly kind: 'addr'; readonly protocol: Protocol; readonly address: string; readonly family: 'inet' | 'inet6'; readonly port: number }
  | { readonly kind: 'fwmark'; readonly mark: number; readonly family: 'inet' | 'inet6' };

/** Minimal view of the director a service belongs to (avoids an import cycle). */
interface ServiceOwner extends Construct {
  readonly name: string;
  readonly resourceAddress: string;
}

/**
 * One IPVS virtual service on a director: an identity, its configuration, and the real servers of its pools.
 * Synthesizes to one `lvsform_virtual_service` resource whose real servers are nested blocks.
 */
export class VirtualService extends Construct {
  /** The service identity, canonical. */
  readonly identity: ServiceIdentity;
  /** The scheduler. */
  readonly scheduler: Scheduler;
  /** Persistence with defaults filled in (netmask as synthesized), or undefined. */
  readonly persistence: { readonly timeout: number; readonly netmask: string } | undefined;
  /** The persistence engine, or undefined. */
  readonly persistenceEngine: PersistenceEngine | undefined;
  /** One-packet scheduling. */
  readonly onePacket: boolean;
  /** Fields of every real server left to a health checker (beyond the pools' own), sorted. */
  readonly runtimeManaged: readonly RuntimeManagedField[];
  private readonly director: ServiceOwner;
  private readonly _pools: RealServerPool[] = [];
  private ownPool: RealServerPool | undefined;

  constructor(director: ServiceOwner, id: string, props: VirtualServiceProps) {
    super(director, id);
    const path = this.node.path;
    const fail = (message: string): never => ValidationError.fail(path, message);
    if (props === null || typeof props !== 'object' || Array.isArray(props)) fail(`props must be an object; got ${describe(props)}`);
    const badPath = constructPathProblem(path);
    if (badPath) fail(badPath);
    const unknown = unknownKey('a VirtualService', props, VIRTUAL_SERVICE_KEYS);
    if (unknown) fail(unknown);
    this.director = director;
    this.identity = identityOf(props, fail);
    const family = this.identity.family;

    this.scheduler = props.scheduler ?? Scheduler.WEIGHTED_LEAST_CONNECTION;
    if (!(this.scheduler instanceof Scheduler)) {
      fail(`scheduler must be a Scheduler (e.g. Scheduler.ROUND_ROBIN or Scheduler.of('name')); got ${describe(this.scheduler)}`);
    }

    this.persistence = props.persistence === undefined ? undefined : persistenceOf(props.persistence, family, fail);
    if (this.identity.kind === 'addr' && this.identity.port === 0 && this.persistence === undefined) {
      fail(
        'port 0 needs persistence (ipvsadm -p): a port-0 service takes all ports and only makes sense when a client sticks to one real server; got port 0 without persistence',
      );
    }

    this.persistenceEngine = props.persistenceEngine;
    if (this.persistenceEngine !== undefined) {
      if (!(this.persistenceEngine instanceof PersistenceEngine) || this.persistenceEngine.name !== 'sip') {
        fail(`the 6.1 kernel has one persistence engine, sip (PersistenceEngine.SIP); got ${describe(String(this.persistenceEngine))}`);
      }
      if (this.persistence === undefined) {
        fail('persistenceEngine needs persistence: the engine is consulted only by persistent scheduling; got persistenceEngine sip without persistence');
      }
      if (this.identity.kind === 'addr' && this.identity.protocol !== Protocol.UDP) {
        fail(`the sip persistence engine reads UDP datagrams only; got it on a ${this.identity.protocol.name} service (use Protocol.UDP)`);
      }
    }

    this.onePacket = props.onePacket ?? false;
    if (typeof this.onePacket !== 'boolean') fail(`onePacket must be true or false; got ${describe(this.onePacket)}`);
    if (this.onePacket && this.identity.kind === 'addr' && this.identity.protocol !== Protocol.UDP) {
      fail(`onePacket (one-packet scheduling, -o) is for UDP services only; got onePacket on a ${this.identity.protocol.name} service`);
    }

    const runtime = runtimeManagedOf(props.runtimeManaged);
    this.runtimeManaged = typeof runtime === 'string' ? fail(runtime) : runtime;

    if (props.pools !== undefined && !Array.isArray(props.pools)) {
      fail(
        `pools must be an array of RealServerPool (pools: [web]); got ${props.pools instanceof RealServerPool ? `one pool, ${props.pools.node.path}, not in an array` : describe(props.pools)}`,
      );
    }
    for (const pool of props.pools ?? []) this.addPool(pool);

    new LvsResource(this, 'Resource', 'lvsform_virtual_service', () => this.render());
    this.node.addValidation({ validate: () => this.validate() });
  }

  /** The name of the director this service is on. */
  get directorName(): string {
    return this.director.name;
  }

  /** The identity as one string: `tcp 198.51.100.10:80`, `udp [2001:db8::10]:53`, `fwmark 1 inet6`. */
  get serviceId(): string {
    const i = this.identity;
    return i.kind === 'fwmark' ? `fwmark ${i.mark} ${i.family}` : `${i.protocol.name} ${hostPort(i.address, i.port)}`;
  }

  /** The pools backing this service, in the order added. */
  get pools(): readonly RealServerPool[] {
    return this._pools;
  }

  /** Adds a pool of real servers (shared pools are fine). Returns the service, so calls chain. */
  addPool(pool: RealServerPool): this {
    if (!(pool instanceof RealServerPool)) {
      ValidationError.fail(this.node.path, `addPool takes a RealServerPool; got ${describe(pool)}`);
    }
    if (!this._pools.includes(pool)) this._pools.push(pool);
    return this;
  }

  /**
   * Adds one real server to the service's own pool (`<service>/RealServers`, NAT, weight 1 unless the member says
   * otherwise). Returns the service, so calls chain.
   */
  addRealServer(member: RealServerProps): this {
    if (this.ownPool === undefined) {
      this.ownPool = new RealServerPool(this, 'RealServers');
      this.addPool(this.ownPool);
    }
    this.ownPool.addMember(member);
    return this;
  }

  /** The real servers as synthesized: defaults resolved, sorted by `address:port` text. */
  realServers(): { readonly server: RealServer; readonly port: number; readonly id: string }[] {
    const servicePort = this.identity.kind === 'addr' ? this.identity.port : 0;
    const out: { server: RealServer; port: number; id: string }[] = [];
    for (const pool of this._pools) {
      for (const server of pool.members) {
        const port = server.port ?? servicePort;
        out.push({ server, port, id: hostPort(server.address, port) });
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The problems of the service as it will be synthesized. The construct's own checks speak in its props' words; the
   * rule set every entrance applies (private/rules.ts, the same file as the provider's) has the last word, so that the
   * constructs refuse exactly what the synthesized-JSON reader and import refuse.
   */
  private validate(): string[] {
    const own = this.validateRealServers();
    if (own.length > 0) return own;
    return serviceProblems(this.asRuleService()).map((p) => p.message);
  }

  /** The service in the rule set's shape (the provider's model): what `render` writes, read back. */
  private asRuleService(): RuleService {
    const i = this.identity;
    return {
      key:
        i.kind === 'addr' ? { kind: 'addr', protocol: i.protocol.name, address: i.address, port: i.port } : { kind: 'fwmark', mark: i.mark, family: i.family },
      config: {
        scheduler: this.scheduler.name,
        schedFlags: this.scheduler.flags,
        ...(this.persistence ? { persistence: this.persistence } : {}),
        ...(this.persistenceEngine ? { persistenceEngine: this.persistenceEngine.name } : {}),
        onePacket: this.onePacket,
      },
      destinations: this.realServers().map(({ server, port }) => {
        const f = server.forwarding;
        return {
          address: server.address,
          port,
          forwarding: {
            method: f.method,
            ...(f.tunnelType ? { type: f.tunnelType.name } : {}),
            ...(f.tunnelPort !== undefined ? { port: f.tunnelPort } : {}),
            ...(f.tunnelChecksum ? { checksum: f.tunnelChecksum.name } : {}),
          },
          weight: server.weight,
          upperThreshold: server.upperThreshold,
          lowerThreshold: server.lowerThreshold,
        };
      }),
    };
  }

  private validateRealServers(): string[] {
    const problems: string[] = [];
    const i = this.identity;
    const seen = new Map<string, RealServer>();
    for (const { server, port, id } of this.realServers()) {
      const from = (): string => `real server ${id} (pool ${server.pool.path})`;
      const previous = seen.get(id);
      if (previous) {
        problems.push(`${from()} is already in the service from pool ${previous.pool.path}; IPVS holds one destination per address:port, remove one`);
        continue;
      }
      seen.set(id, server);
      if (server.family !== i.family && server.forwarding.method !== 'tunnel') {
        problems.push(
          `${from()} is ${server.family === 'inet' ? 'IPv4' : 'IPv6'} but the service is ${i.family === 'inet' ? 'IPv4' : 'IPv6'}; the kernel mixes families only under tunnelling (Forwarding.tunnel()); got ${server.forwarding.method}`,
        );
      }
      if (i.kind === 'addr' && server.forwarding.keepsServicePort && server.port !== undefined && server.port !== i.port) {
        problems.push(
          `${from()}: under ${server.forwarding.method === 'droute' ? 'direct routing' : 'tunnelling'} the kernel uses the service port ${i.port} and ignores the real-server port; got port ${server.port} (omit it or use ${i.port})`,
        );
      }
      if (i.kind === 'addr' && i.port !== 0 && port === 0 && server.forwarding.method === 'masq') {
        problems.push(`${from()}: port 0 under NAT would rewrite packets to port 0; omit port to use the service port ${i.port}`);
      }
    }
    return problems;
  }

  private render(): Record<string, unknown> {
    const i = this.identity;
    const out: Record<string, unknown> = { director: this.director.name, construct_path: this.node.path };
    if (i.kind === 'addr') {
      out.protocol = i.protocol.name;
      out.address = i.address;
      out.port = i.port;
    } else {
      out.firewall_mark = i.mark;
      out.family = i.family;
    }
    out.scheduler = this.scheduler.name;
    out.scheduler_flags = [...this.scheduler.flags];
    if (this.persistence) out.persistence = { timeout: this.persistence.timeout, netmask: this.persistence.netmask };
    if (this.persistenceEngine) out.persistence_engine = this.persistenceEngine.name;
    out.one_packet = this.onePacket;
    out.real_server = this.realServers().map(({ server, port }) => {
      const f = server.forwarding;
      const rs: Record<string, unknown> = { address: server.address, port, forwarding: f.method };
      if (f.tunnelType) rs.tunnel_type = f.tunnelType.name;
      if (f.tunnelPort !== undefined) rs.tunnel_port = f.tunnelPort;
      if (f.tunnelChecksum) rs.tunnel_checksum = f.tunnelChecksum.name;
      rs.weight = server.weight;
      rs.upper_threshold = server.upperThreshold;
      rs.lower_threshold = server.lowerThreshold;
      rs.pool = server.pool.path;
      // Written only when some field is left to a checker, so that apps without it synthesize the same bytes as before.
      const runtime = [...new Set([...this.runtimeManaged, ...server.pool.runtimeManaged])].sort();
      if (runtime.length > 0) rs.runtime_managed = runtime;
      return rs;
    });
    out.depends_on = [this.director.resourceAddress];
    return out;
  }
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function identityOf(props: VirtualServiceProps, fail: (m: string) => never): ServiceIdentity {
  const byMark = props.firewallMark !== undefined;
  const byAddress = props.address !== undefined || props.port !== undefined || props.protocol !== undefined;
  if (byMark && byAddress) {
    fail(
      'a service is either protocol + address + port or firewallMark (+ family), not both; got firewallMark with ' +
        [props.protocol && 'protocol', props.address !== undefined && 'address', props.port !== undefined && 'port'].filter(Boolean).join(', '),
    );
  }
  if (byMark) {
    const bad = intOutOf('firewallMark', props.firewallMark, 1, 4_294_967_295);
    if (bad) fail(bad);
    const family = props.family ?? AddressFamily.IPV4;
    if (!(family instanceof AddressFamily)) fail(`family must be AddressFamily.IPV4 or IPV6; got ${describe(family)}`);
    return { kind: 'fwmark', mark: props.firewallMark as number, family: family.name };
  }
  if (props.family !== undefined) {
    fail('family is for firewall-mark services; an address service takes the family of its address (drop family)');
  }
  if (props.address === undefined) fail('a service needs address + port (with protocol) or firewallMark; got neither');
  const parsed = parseAddress(props.address);
  if ('reason' in parsed) fail(`address: ${parsed.reason}`);
  const why = notUnicast(parsed);
  if (why) fail(`virtual address ${parsed.text} ${why}; a virtual service needs a unicast address`);
  if (props.port === undefined) fail(`a service on ${parsed.text} needs a port (0..65535; 0 = all ports, with persistence)`);
  const bad = intOutOf('port', props.port, 0, 65535);
  if (bad) fail(bad);
  const protocol = props.protocol ?? Protocol.TCP;
  if (!(protocol instanceof Protocol)) fail(`protocol must be Protocol.TCP, UDP or SCTP; got ${describe(protocol)}`);
  return { kind: 'addr', protocol, address: parsed.text, family: parsed.family, port: props.port };
}

function persistenceOf(p: PersistenceProps, family: 'inet' | 'inet6', fail: (m: string) => never): { timeout: number; netmask: string } {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) fail(`persistence must be an object ({} for the defaults); got ${describe(p)}`);
  const unknown = unknownKey('persistence', p, ['timeout', 'netmask', 'prefixLength']);
  if (unknown) fail(unknown);
  const timeout = p.timeout ?? 360;
  const bad = intOutOf('persistence timeout', timeout, 1, MAX_PERSISTENCE_TIMEOUT, ' seconds (ipvsadm -p bound: 31 days)');
  if (bad) fail(bad);
  if (family === 'inet') {
    if (p.prefixLength !== undefined) {
      fail(`prefixLength is for IPv6 services; an IPv4 service groups clients by netmask (e.g. '255.255.255.0'); got prefixLength ${describe(p.prefixLength)}`);
    }
    const netmask = p.netmask ?? '255.255.255.255';
    if (!isDottedMask(netmask)) {
      fail(`persistence netmask must be a dotted IPv4 mask like 255.255.255.0; got ${describe(netmask)}`);
    }
    return { timeout, netmask };
  }
  if (p.netmask !== undefined) {
    fail(`netmask is for IPv4 services; an IPv6 service groups clients by prefixLength (1..128); got netmask ${describe(p.netmask)}`);
  }
  const prefixLength = p.prefixLength ?? 128;
  const badPrefix = intOutOf('persistence prefixLength', prefixLength, 1, 128, ' (the kernel refuses 0)');
  if (badPrefix) fail(badPrefix);
  return { timeout, netmask: String(prefixLength) };
}

/**
 * A dotted IPv4 mask. The kernel ANDs the client address with it, so a non-contiguous mask works as written and
 * ipvsadm accepts it: lvsform follows, so that every table the kernel holds can be imported and applied again.
 */
function isDottedMask(mask: unknown): boolean {
  if (typeof mask !== 'string') return false;
  const parsed = parseAddress(mask);
  return !('reason' in parsed) && parsed.family === 'inet';
}
