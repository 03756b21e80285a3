import { Construct } from 'constructs';
import { Forwarding } from './forwarding.ts';
import { describe, notUnicast, parseAddress } from './private/address.ts';
import { intOutOf } from './private/checks.ts';
import { INT_MAX } from './private/limits.ts';
import { notAnObject, unknownKey } from './private/keys.ts';
import { runtimeManagedOf, type RuntimeManagedField } from './private/runtime-managed.ts';

export type { RuntimeManagedField };
import { ValidationError } from './validation-error.ts';
import { constructPathProblem } from './private/rules.ts';

/** The largest threshold ipvsadm accepts (`-x`, `-y`: 0..INT_MAX). */
export const MAX_THRESHOLD = INT_MAX;
/** The largest real-server weight the kernel and ipvsadm accept (INT_MAX; measured: 2147483648 is refused). */
export const MAX_WEIGHT = INT_MAX;

/** One real server (an IPVS destination). Unset fields take the pool's defaults. */
export interface RealServerProps {
  /** The real server's IPv4 or IPv6 address. */
  readonly address: string;
  /**
   * The port the director forwards to. Under direct routing and tunnelling it must equal the service port (the
   * kernel uses the service port whatever is given).
   * @default - the service's port; 0 for a firewall-mark service
   */
  readonly port?: number;
  /**
   * Scheduling weight, 0..2147483647 (the kernel's and ipvsadm's bound, INT_MAX); 0 takes the server out of new
   * scheduling (drain).
   * @default - the pool's weight
   */
  readonly weight?: number;
  /**
   * Connection count above which the server gets no new connections (`-x`), 0..2147483647; 0 = no limit.
   * @default - the pool's upperThreshold
   */
  readonly upperThreshold?: number;
  /**
   * Connection count under which an overloaded server is used again (`-y`), 0..2147483647; 0 = none. The kernel
   * refuses a lower threshold above the upper one, including with upper 0.
   * @default - the pool's lowerThreshold
   */
  readonly lowerThreshold?: number;
  /**
   * Forwarding method.
   * @default - the pool's forwarding
   */
  readonly forwarding?: Forwarding;
}

/** Props of a RealServerPool: defaults for its members, and the members. */
export interface RealServerPoolProps {
  /**
   * Forwarding method of members that set none.
   * @default Forwarding.NAT
   */
  readonly forwarding?: Forwarding;
  /**
   * Weight of members that set none, 0..2147483647.
   * @default 1
   */
  readonly weight?: number;
  /**
   * Upper connection threshold of members that set none; 0 = no limit.
   * @default 0
   */
  readonly upperThreshold?: number;
  /**
   * Lower connection threshold of members that set none; 0 = none.
   * @default 0
   */
  readonly lowerThreshold?: number;
  /**
   * The members.
   * @default - none; add them with `addMember`
   */
  readonly members?: readonly RealServerProps[];
  /**
   * Fields of the members a health checker owns at run time (Terraform's `ignore_changes`): `'weight'` and/or
   * `'thresholds'`. For a member the director already has, the plan neither shows nor reverts the kernel's value of
   * these fields, and it is not drift; a new member still gets its declared value, and a member removed from the
   * pool is still removed.
   * @default - none: lvsform keeps every field as declared
   */
  readonly runtimeManaged?: readonly RuntimeManagedField[];
}

/** A member with every default filled in, as the pool holds it. */
export interface RealServer {
  /** Canonical address text. */
  readonly address: string;
  /** `inet` or `inet6`. */
  readonly family: 'inet' | 'inet6';
  /** The port given, or undefined for "the service's port". */
  readonly port: number | undefined;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  readonly forwarding: Forwarding;
  /** The pool the member belongs to. */
  readonly pool: RealServerPool;
}

/**
 * A set of real servers with shared defaults. A pool can back several virtual services (on one or more directors),
 * and a service can take several pools; each member becomes one destination of each service.
 */
export class RealServerPool extends Construct {
  /** Forwarding of members that set none. */
  readonly forwarding: Forwarding;
  /** Weight of members that set none. */
  readonly weight: number;
  /** Upper threshold of members that set none. */
  readonly upperThreshold: number;
  /** Lower threshold of members that set none. */
  readonly lowerThreshold: number;
  /** The construct path, as written in each member's `pool` attribute (fixed once constructed). */
  readonly path: string;
  /** Fields of the members left to a health checker, sorted. */
  readonly runtimeManaged: readonly RuntimeManagedField[];
  private readonly _members: RealServer[] = [];

  constructor(scope: Construct, id: string, props: RealServerPoolProps = {}) {
    super(scope, id);
    const path = this.node.path;
    this.path = path;
    const badPath = constructPathProblem(path);
    if (badPath) ValidationError.fail(path, badPath);
    const notObject = notAnObject('RealServerPool props', props, "{ members: [{ address: '192.0.2.11' }] }");
    if (notObject) ValidationError.fail(path, notObject);
    const unknown = unknownKey('a RealServerPool', props, ['forwarding', 'weight', 'upperThreshold', 'lowerThreshold', 'members', 'runtimeManaged']);
    if (unknown) ValidationError.fail(path, unknown);
    if (props.members !== undefined && !Array.isArray(props.members)) {
      ValidationError.fail(path, `members must be an array ([{ address: '192.0.2.11' }]); got ${describe(props.members)}`);
    }
    this.forwarding = props.forwarding ?? Forwarding.NAT;
    if (!(this.forwarding instanceof Forwarding)) {
      ValidationError.fail(path, `forwarding must be Forwarding.NAT, DIRECT_ROUTING or Forwarding.tunnel(); got ${describe(this.forwarding)}`);
    }
    this.weight = props.weight ?? 1;
    this.upperThreshold = props.upperThreshold ?? 0;
    this.lowerThreshold = props.lowerThreshold ?? 0;
    checkNumbers(path, 'pool ', this.weight, this.upperThreshold, this.lowerThreshold);
    const runtime = runtimeManagedOf(props.runtimeManaged);
    if (typeof runtime === 'string') ValidationError.fail(path, runtime);
    this.runtimeManaged = runtime;
    for (const member of props.members ?? []) this.addMember(member);
  }

  /** The members, with the pool's defaults filled in, in the order added. */
  get members(): readonly RealServer[] {
    return this._members;
  }

  /** Adds a member; throws at once on a bad address or number. Returns the pool, so calls chain. */
  addMember(member: RealServerProps): this {
    const path = this.path;
    if (member === null || typeof member !== 'object' || Array.isArray(member)) {
      ValidationError.fail(path, `a member must be an object with an address; got ${describe(member)}`);
    }
    const unknown = unknownKey(`member ${describe(member.address)}`, member, ['address', 'port', 'weight', 'upperThreshold', 'lowerThreshold', 'forwarding']);
    if (unknown) ValidationError.fail(path, unknown);
    const parsed = parseAddress(member.address);
    if ('reason' in parsed) ValidationError.fail(path, `member address: ${parsed.reason}`);
    const why = notUnicast(parsed);
    if (why) ValidationError.fail(path, `real server ${parsed.text} ${why}; a real server needs a unicast address`);
    const label = `real server ${parsed.text}`;
    if (member.port !== undefined) {
      const bad = intOutOf(`${label}: port`, member.port, 0, 65535);
      if (bad) ValidationError.fail(path, bad);
    }
    const forwarding = member.forwarding ?? this.forwarding;
    if (!(forwarding instanceof Forwarding)) {
      ValidationError.fail(path, `${label}: forwarding must be Forwarding.NAT, DIRECT_ROUTING or Forwarding.tunnel(); got ${describe(forwarding)}`);
    }
    const weight = member.weight ?? this.weight;
    const upperThreshold = member.upperThreshold ?? this.upperThreshold;
    const lowerThreshold = member.lowerThreshold ?? this.lowerThreshold;
    checkNumbers(path, `${label}: `, weight, upperThreshold, lowerThreshold);
    this._members.push({
      address: parsed.text,
      family: parsed.family,
      port: member.port,
      weight,
      upperThreshold,
      lowerThreshold,
      forwarding,
      pool: this,
    });
    return this;
  }
}

function checkNumbers(path: string, label: string, weight: unknown, upper: unknown, lower: unknown): void {
  const bad =
    intOutOf(`${label}weight`, weight, 0, MAX_WEIGHT) ??
    intOutOf(`${label}upperThreshold`, upper, 0, MAX_THRESHOLD, ' (0 = no limit)') ??
    intOutOf(`${label}lowerThreshold`, lower, 0, MAX_THRESHOLD, ' (0 = none)');
  if (bad) ValidationError.fail(path, bad);
  if ((lower as number) > (upper as number)) {
    ValidationError.fail(
      path,
      `${label}lowerThreshold must not exceed upperThreshold (the kernel refuses it with ERANGE, even when upper is 0 = no limit); got lower ${lower} > upper ${upper}`,
    );
  }
}
