import { describe } from './private/address.ts';
import { notAnObject, unknownKey } from './private/keys.ts';
import { closest } from './private/closest.ts';
import { FLAG_BITS as LIMIT_FLAG_BITS, SCHEDULERS } from './private/limits.ts';
import { MODULE_NAME, schedulerNameProblem } from './private/rules.ts';
import { ValidationError } from './validation-error.ts';

/** A scheduler flag as the kernel stores it: one of three bits. */
export type SchedulerFlagBit = 'flag-1' | 'flag-2' | 'flag-3';

/**
 * A flag name as ipvsadm accepts it (`-b`): the raw bits, or the names the `sh` and `mh` schedulers give them
 * (`sh-fallback` = `mh-fallback` = flag-1, `sh-port` = `mh-port` = flag-2).
 */
export type SchedulerFlagName = SchedulerFlagBit | 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port';

/** Options of the hashing schedulers. */
export interface HashSchedulerOptions {
  /**
   * When the hashed real server is unavailable (weight 0 or overloaded), pick another instead of dropping.
   * @default false
   */
  readonly fallback?: boolean;
  /**
   * Hash the source port as well as the source address.
   * @default false
   */
  readonly port?: boolean;
}

/** Options of `Scheduler.of`. */
export interface SchedulerOptions {
  /**
   * Scheduler flags (`ipvsadm -b`). `sh-*` only on `sh`, `mh-*` only on `mh`; `flag-1..3` on any scheduler.
   * @default - none
   */
  readonly flags?: readonly SchedulerFlagName[];
}

/**
 * The schedulers of the kernel's tree (net/netfilter/ipvs/ip_vs_*.c): those of the 6.1 kernel, and `twos` (6.2).
 * `Scheduler.of` accepts these names only, so that a typo (`rrr`) is refused here rather than by the kernel at apply.
 */
export const KERNEL_SCHEDULERS: readonly string[] = SCHEDULERS;
const FLAG_BITS: Readonly<Record<SchedulerFlagName, SchedulerFlagBit>> = LIMIT_FLAG_BITS;

/**
 * How a virtual service picks a real server (`ipvsadm -s`), with its flags. Static members cover every scheduler of
 * the 6.1 kernel; `Scheduler.of` names another (a newer kernel's) and is where flags are checked.
 */
export class Scheduler {
  /** Round robin (`rr`). */
  static readonly ROUND_ROBIN = new Scheduler('rr', []);
  /** Weighted round robin (`wrr`). */
  static readonly WEIGHTED_ROUND_ROBIN = new Scheduler('wrr', []);
  /** Least connection (`lc`). */
  static readonly LEAST_CONNECTION = new Scheduler('lc', []);
  /** Weighted least connection (`wlc`), ipvsadm's default. */
  static readonly WEIGHTED_LEAST_CONNECTION = new Scheduler('wlc', []);
  /** Locality-based least connection (`lblc`). */
  static readonly LOCALITY_BASED_LEAST_CONNECTION = new Scheduler('lblc', []);
  /** Locality-based least connection with replication (`lblcr`). */
  static readonly LOCALITY_BASED_LEAST_CONNECTION_WITH_REPLICATION = new Scheduler('lblcr', []);
  /** Destination hashing (`dh`). */
  static readonly DESTINATION_HASHING = new Scheduler('dh', []);
  /** Source hashing (`sh`) without flags; see `Scheduler.sourceHash` for fallback and port hashing. */
  static readonly SOURCE_HASHING = new Scheduler('sh', []);
  /** Shortest expected delay (`sed`). */
  static readonly SHORTEST_EXPECTED_DELAY = new Scheduler('sed', []);
  /** Never queue (`nq`). */
  static readonly NEVER_QUEUE = new Scheduler('nq', []);
  /** Weighted failover (`fo`). */
  static readonly WEIGHTED_FAILOVER = new Scheduler('fo', []);
  /** Weighted overflow (`ovf`). */
  static readonly WEIGHTED_OVERFLOW = new Scheduler('ovf', []);
  /** Maglev hashing (`mh`) without flags; see `Scheduler.maglevHash`. */
  static readonly MAGLEV_HASHING = new Scheduler('mh', []);

  /** Source hashing (`sh`) with `sh-fallback` and/or `sh-port`. */
  static sourceHash(options: HashSchedulerOptions = {}): Scheduler {
    checkHashOptions('Scheduler.sourceHash', options);
    return Scheduler.of('sh', { flags: hashFlags('sh', options) });
  }

  /** Maglev hashing (`mh`) with `mh-fallback` and/or `mh-port`. */
  static maglevHash(options: HashSchedulerOptions = {}): Scheduler {
    checkHashOptions('Scheduler.maglevHash', options);
    return Scheduler.of('mh', { flags: hashFlags('mh', options) });
  }

  /**
   * A scheduler of the kernel's tree (`KERNEL_SCHEDULERS`) by its module name (`ip_vs_NAME`), with flags. Throws when the name is not one
   * (use `Scheduler.custom` for a module outside the tree) or a flag belongs to another scheduler (ipvsadm's "incompatible scheduler flag").
   */
  static of(name: string, options: SchedulerOptions = {}): Scheduler {
    const where = `Scheduler.of(${describe(name)})`;
    if (typeof name === 'string' && !KERNEL_SCHEDULERS.includes(name) && MODULE_NAME.test(name)) {
      const near = closest(name, KERNEL_SCHEDULERS);
      ValidationError.fail(
        where,
        `the kernel has no scheduler ${describe(name)}${near ? ` (did you mean ${near}?)` : ''}; its schedulers are ${KERNEL_SCHEDULERS.join(', ')}. ` +
          `For a scheduler module built outside the kernel's tree, say so with Scheduler.custom(${describe(name)})`,
      );
    }
    return Scheduler.build(where, name, options);
  }

  /**
   * A scheduler module that is not in the kernel's tree (`ip_vs_NAME.ko` built on its own), by name, with flags.
   * The escape hatch of `Scheduler.of`: only the name's syntax is checked here; `lvsform doctor` checks that the
   * module is on each director, and the kernel refuses the service at apply when it is not.
   */
  static custom(name: string, options: SchedulerOptions = {}): Scheduler {
    return Scheduler.build(`Scheduler.custom(${describe(name)})`, name, options);
  }

  private static build(where: string, name: string, options: SchedulerOptions): Scheduler {
    const badName = schedulerNameProblem(name);
    if (badName) ValidationError.fail(where, badName);
    const wrong = notAnObject('the options', options, "{ flags: ['flag-1'] }") ?? unknownKey(where, options, ['flags']);
    if (wrong) ValidationError.fail(where, wrong);
    if (options.flags !== undefined && !Array.isArray(options.flags)) ValidationError.fail(where, `flags must be an array; got ${describe(options.flags)}`);
    const bits = new Set<SchedulerFlagBit>();
    for (const flag of options.flags ?? []) {
      const bit = FLAG_BITS[flag as SchedulerFlagName];
      if (bit === undefined || !Object.hasOwn(FLAG_BITS, flag)) {
        ValidationError.fail(where, `scheduler flag ${describe(flag)} is unknown; use flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback or mh-port`);
      }
      const owner = flag.startsWith('sh-') ? 'sh' : flag.startsWith('mh-') ? 'mh' : undefined;
      if (owner !== undefined && owner !== name) {
        ValidationError.fail(
          where,
          `scheduler flag ${flag} is read by the ${owner} scheduler only; got it on ${name} (use Scheduler.${owner === 'sh' ? 'sourceHash' : 'maglevHash'}(), or drop the flag)`,
        );
      }
      bits.add(bit);
    }
    return new Scheduler(name, [...bits].sort());
  }

  private constructor(
    /** The kernel scheduler name (`rr`, `wlc`, `sh`, ...). */
    readonly name: string,
    /** The flags as kernel bits, sorted, without duplicates. */
    readonly flags: readonly SchedulerFlagBit[],
  ) {}

  toString(): string {
    return this.flags.length > 0 ? `${this.name} (${this.flags.join(',')})` : this.name;
  }
}

function checkHashOptions(where: string, options: HashSchedulerOptions): void {
  const wrong = notAnObject('the options', options, '{ fallback: true }') ?? unknownKey(where, options, ['fallback', 'port']);
  if (wrong) ValidationError.fail(where, wrong);
}

function hashFlags(prefix: 'sh' | 'mh', options: HashSchedulerOptions): SchedulerFlagName[] {
  const flags: SchedulerFlagName[] = [];
  if (options.fallback) flags.push(`${prefix}-fallback`);
  if (options.port) flags.push(`${prefix}-port`);
  return flags;
}
