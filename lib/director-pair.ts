import { Construct } from 'constructs';
import { describe, parseAddress } from './private/address.ts';
import { unknownKey } from './private/keys.ts';
import { stackMemberProblem } from './private/stacks.ts';
import { settingsProblems, vrrpProblems } from './private/rules.ts';
import { Director, DIRECTOR_KEYS, type DirectorProps, type SyncDaemonProps, syncDaemonJson } from './director.ts';
import type { LvsStack } from './lvs-stack.ts';
import type { VirtualService, VirtualServiceProps } from './virtual-service.ts';
import { ValidationError } from './validation-error.ts';

/** A director the pair creates: a Director's props, its construct id, and its VRRP priority. */
export interface DirectorPairMemberProps extends DirectorProps {
  /** The Director's construct id (and name, unless `name` is given). */
  readonly id: string;
  /**
   * VRRP priority, 1..254: the highest holds the VIPs (MASTER), the others wait (BACKUP).
   * @default - 150 for the first director, then 100, 99, 98…
   */
  readonly priority?: number;
}

/** A Director made elsewhere, taken into the pair with its VRRP priority. */
export interface DirectorPairMember {
  readonly director: Director;
  /** @default - 150 for the first director, then 100, 99, 98… */
  readonly priority?: number;
}

/** An address that moves with the VIPs (a NAT pair's inside gateway, which the real servers route back through). */
export interface VrrpAddressProps {
  readonly address: string;
  /**
   * @default - 32 for IPv4, 128 for IPv6
   */
  readonly prefixLength?: number;
  /**
   * The interface it goes on.
   * @default - the VRRP interface
   */
  readonly interface?: string;
}

/**
 * keepalived's VRRP for the pair: which interface it speaks on, its router id, and what moves besides the VIPs. lvsform
 * writes one `vrrp_instance` per director into `/etc/keepalived/lvsform-<instance>.conf` (no `virtual_server`: the
 * table stays lvsform's) and reloads keepalived when it changes.
 */
export interface VrrpProps {
  /** The interface VRRP advertises on, and the VIPs go on (the clients' side). */
  readonly interface: string;
  /** `virtual_router_id`, 1..255: unique among the VRRP routers of the segment. */
  readonly virtualRouterId: number;
  /**
   * `auth_type PASS` with this password (1 to 8 characters). Not with IPv6-only VIPs (VRRP version 3 has none).
   * @default - no authentication
   */
  readonly authPass?: string;
  /**
   * Seconds between advertisements (`advert_int`); a backup takes over after about 3 of them without one.
   * @default 1
   */
  readonly advertInterval?: number;
  /**
   * Seconds after taking the VIPs before the second round of gratuitous ARPs (`garp_master_delay`).
   * @default - keepalived's (5)
   */
  readonly garpMasterDelay?: number;
  /**
   * keepalived's `nopreempt`: a director that comes up while another holds the VIPs leaves them there, even with a
   * higher priority. A pair wants it: the director that failed and comes back would otherwise take the VIPs again,
   * a second failover for nothing (another few seconds in which clients' packets go to a director just booted, its
   * sync daemon still catching up) while the other serves well. Every director then starts as BACKUP; the first to
   * time out (the highest priority, whose wait is shortest) takes the VIPs.
   * @default false - the director of the highest priority takes the VIPs whenever it is up
   */
  readonly nopreempt?: boolean;
  /**
   * keepalived's `preempt_delay`, 1..1000 seconds: a director of higher priority that comes up waits this long before
   * taking the VIPs from a lower one (time for its table, sync daemon and real servers to settle). Not with `nopreempt`,
   * which never takes them back. Every director then starts as BACKUP.
   * @default - no delay
   */
  readonly preemptDelay?: number;
  /**
   * Addresses that move with the VIPs besides the VIPs of the pair's services (which move always): a NAT pair's
   * inside gateway, e.g. `{ address: '192.0.2.1', prefixLength: 24, interface: 'eth2' }`, or a plain address string.
   * @default - the services' VIPs only
   */
  readonly addresses?: readonly (string | VrrpAddressProps)[];
  /**
   * The `vrrp_instance` name, also the file's (`lvsform-<instance>.conf`): 1 to 64 of [A-Za-z0-9_.-].
   * @default - the pair's construct path with `/` as `-` (`web-edge`)
   */
  readonly instance?: string;
  /**
   * Unicast VRRP, for networks that carry no multicast (most clouds): each director's own address on the VRRP
   * interface, one per director in the order of `directors`. Each director then sends its advertisements from its own
   * (keepalived's `unicast_src_ip`) to the others' (`unicast_peer`) instead of to the VRRP multicast group. Of the family
   * the pair advertises in: IPv4 when it moves an IPv4 address, else IPv6.
   * @default - multicast advertisements
   */
  readonly unicastPeers?: readonly string[];
}

/** Props of a DirectorPair. */
export interface DirectorPairProps {
  /**
   * Two or more directors: created from their props (`{ id, ssh, priority, … }`), or existing Directors
   * (`lb1`, or `{ director: lb1, priority: 150 }`).
   */
  readonly directors: readonly (DirectorPairMemberProps | Director | DirectorPairMember)[];
  /** keepalived's VRRP, which moves the VIPs to the director of the highest priority that is up. */
  readonly vrrp: VrrpProps;
  /**
   * The connection sync daemons on every director, both roles (see `SyncDaemonProps`), so that connections survive
   * the move. Leave it out only if connections may break at a failover.
   * @default - no connection sync
   */
  readonly sync?: Omit<SyncDaemonProps, 'roles'>;
}

const VRRP_KEYS = [
  'interface',
  'virtualRouterId',
  'authPass',
  'advertInterval',
  'garpMasterDelay',
  'nopreempt',
  'preemptDelay',
  'addresses',
  'instance',
  'unicastPeers',
] as const;

/**
 * Directors that serve the same services and hand the VIPs over to each other: each is a normal Director (same table,
 * its own ownership record), plus the connection sync daemons and keepalived's VRRP instance. `addVirtualService` adds
 * the service to every director. The VIPs are left to VRRP: lvsform never adds them (a director of the pair with
 * `vips` that would place one of them is refused at synth).
 */
export class DirectorPair extends Construct {
  /** The directors, in the order given. */
  readonly directors: readonly Director[];
  private readonly priorities: readonly number[];
  private readonly vrrp: Readonly<Record<string, unknown>>;
  private readonly extra: readonly { address: string; prefix: number; interface?: string }[];
  /** Unicast VRRP: each director's own address, in the directors' order (undefined: multicast). */
  private readonly unicast: readonly string[] | undefined;
  /** `nopreempt` or `preemptDelay`: every director starts as BACKUP. */
  private readonly waits: boolean;

  constructor(scope: LvsStack, id: string, props: DirectorPairProps) {
    super(scope, id);
    const path = this.node.path;
    const fail = (message: string): never => ValidationError.fail(path, message);
    const problem = stackMemberProblem('a DirectorPair', scope, props, 'directors and vrrp', ['directors', 'vrrp', 'sync']);
    if (problem) fail(problem);
    if (!Array.isArray(props.directors) || props.directors.length < 2) {
      fail(`directors lists the pair's two (or more) directors; got ${describe(props.directors)}`);
    }
    const v = props.vrrp as unknown as Record<string, unknown>;
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      fail(`vrrp must be an object like { interface: 'eth1', virtualRouterId: 51 }; got ${describe(v)}`);
    const badKey = unknownKey('vrrp', v, VRRP_KEYS);
    if (badKey) fail(badKey);
    this.extra = (
      Array.isArray(v.addresses) ? v.addresses : v.addresses === undefined ? [] : fail(`vrrp.addresses must be a list; got ${describe(v.addresses)}`)
    ).map((a: unknown) => extraAddress(a, fail));
    this.vrrp = {
      instance: v.instance ?? path.replaceAll('/', '-').slice(0, 64),
      interface: v.interface,
      virtual_router_id: v.virtualRouterId,
      advert_int: v.advertInterval ?? 1,
      ...(v.authPass === undefined ? {} : { auth_pass: v.authPass }),
      ...(v.garpMasterDelay === undefined ? {} : { garp_master_delay: v.garpMasterDelay }),
      ...(v.nopreempt === undefined || v.nopreempt === false ? {} : { nopreempt: v.nopreempt }),
      ...(v.preemptDelay === undefined ? {} : { preempt_delay: v.preemptDelay }),
    };
    // With either, keepalived wants every director to start as BACKUP: the highest priority still times out first.
    this.waits = this.vrrp.nopreempt !== undefined || this.vrrp.preempt_delay !== undefined;
    // The VRRP props alone, checked now with a stand-in priority, state and address (the real ones come at synth).
    const early = vrrpProblems({ ...this.vrrp, priority: 100, state: 'BACKUP', addresses: [{ address: '192.0.2.1', prefix: 32 }] })[0];
    if (early) fail(early.message.replace(/vrrp\.([a-z_]+)/, (_m, k: string) => `vrrp.${camel(k)}`));
    const sync = props.sync === undefined ? undefined : syncDaemonJson(props.sync as unknown as Record<string, unknown>, fail, 'sync');
    const directors: Director[] = [];
    const priorities: number[] = [];
    props.directors.forEach((m, i) => {
      const fallback = i === 0 ? 150 : 101 - i;
      if (m instanceof Director) {
        directors.push(m);
        priorities.push(fallback);
      } else if (m !== null && typeof m === 'object' && 'director' in m) {
        if (!(m.director instanceof Director)) fail(`directors[${i}].director must be a Director; got ${describe(m.director)}`);
        const extraKey = unknownKey(`directors[${i}]`, m, ['director', 'priority']);
        if (extraKey) fail(extraKey);
        directors.push(m.director);
        priorities.push(m.priority ?? fallback);
      } else if (m !== null && typeof m === 'object' && typeof (m as DirectorPairMemberProps).id === 'string') {
        const { id: memberId, priority, ...rest } = m as DirectorPairMemberProps;
        const extraKey = unknownKey(`directors[${i}]`, rest, DIRECTOR_KEYS);
        if (extraKey) fail(extraKey);
        directors.push(new Director(scope, memberId, rest));
        priorities.push(priority ?? fallback);
      } else {
        fail(`directors[${i}] must be a Director, { director, priority } or a Director's props with an id; got ${describe(m)}`);
      }
    });
    priorities.forEach((p, i) => {
      const bad = vrrpProblems({ ...this.vrrp, priority: p, state: 'BACKUP', addresses: [{ address: '192.0.2.1', prefix: 32 }] }).find(
        (x) => x.path === 'vrrp.priority',
      );
      if (bad) fail(`directors[${i}] (${directors[i]!.node.path}): ${bad.message.replace('vrrp.priority', 'priority')}`);
    });
    if (new Set(priorities).size !== priorities.length) fail(`each director of a pair needs its own VRRP priority; got ${priorities.join(', ')}`);
    if (new Set(directors).size !== directors.length) fail('a director is listed twice in directors');
    this.unicast = v.unicastPeers === undefined ? undefined : unicastList(v.unicastPeers, directors.length, fail);
    this.directors = directors;
    this.priorities = priorities;
    directors.forEach((d, i) => d.joinPair(path, sync, () => this.renderVrrp(i)));
    this.node.addValidation({ validate: () => this.validatePair() });
  }

  /**
   * Adds the service to every director of the pair (each its own VirtualService, `<director>/<id>`, with the same
   * props) and returns them, in the directors' order.
   */
  addVirtualService(id: string, props: VirtualServiceProps): VirtualService[] {
    return this.directors.map((d) => d.addVirtualService(id, props));
  }

  /** The addresses VRRP moves: every address service's VIP on the pair's directors, then the extra ones. */
  private movedAddresses(): { address: string; prefix: number; interface?: string }[] {
    const vips = new Set<string>();
    for (const d of this.directors) for (const s of d.virtualServices) if (s.identity.kind === 'addr') vips.add(s.identity.address);
    const out = [...vips].sort().map((address) => ({ address, prefix: address.includes(':') ? 128 : 32 }));
    for (const e of this.extra) if (!vips.has(e.address)) out.push(e);
    return out;
  }

  /** The VRRP instance of the pair's `i`-th director (the one of the highest priority starts as MASTER, unless the pair waits). */
  private renderVrrp(i: number): Record<string, unknown> {
    const priority = this.priorities[i]!;
    const master = priority === Math.max(...this.priorities);
    return {
      ...this.vrrp,
      priority,
      state: master && !this.waits ? 'MASTER' : 'BACKUP',
      addresses: this.movedAddresses(),
      ...(this.unicast === undefined ? {} : { unicast_src_ip: this.unicast[i], unicast_peer: this.unicast.filter((_, j) => j !== i) }),
    };
  }

  private validatePair(): string[] {
    const problems: string[] = [];
    const moved = this.movedAddresses();
    if (moved.length === 0) problems.push('the pair has no VIP for VRRP to move: add a service with an address (addVirtualService) or vrrp.addresses');
    const vips = new Set(moved.map((a) => a.address));
    for (const d of this.directors) {
      if (!d.placesVips) continue;
      const clash = d.virtualServices.flatMap((s) => (s.identity.kind === 'addr' && vips.has(s.identity.address) ? [s.identity.address] : []));
      if (clash.length > 0) {
        problems.push(
          `director ${d.node.path} has vips, which puts ${[...new Set(clash)].join(', ')} on it, and the pair's VRRP moves them: an address has one owner; leave vips out of the pair's directors (keepalived places the VIPs)`,
        );
      }
    }
    // The rules on the first director's instance; its unicast addresses by their place in vrrp.unicastPeers.
    const first = settingsProblems({ vrrp: this.renderVrrp(0) })[0];
    if (first && moved.length > 0) {
      const peer = /^vrrp\.unicast_peer\[(\d+)\]/.exec(first.message);
      problems.push(
        peer
          ? first.message.replace(peer[0], `vrrp.unicastPeers[${Number(peer[1]) + 1}]`)
          : first.message.replace(/^vrrp\.unicast_src_ip/, 'vrrp.unicastPeers[0]'),
      );
    }
    return problems;
  }
}

function camel(k: string): string {
  return (
    {
      virtual_router_id: 'virtualRouterId',
      advert_int: 'advertInterval',
      auth_pass: 'authPass',
      garp_master_delay: 'garpMasterDelay',
      preempt_delay: 'preemptDelay',
    }[k] ?? k
  );
}

/**
 * `vrrp.unicastPeers`: one address per director, in canonical text (as every address of the app), each once: two
 * spellings of one IPv6 address are one address. The rules check each address's class and family at synth.
 */
function unicastList(list: unknown, directors: number, fail: (m: string) => never): string[] {
  if (!Array.isArray(list) || list.length !== directors || list.some((a) => typeof a !== 'string')) {
    fail(
      `vrrp.unicastPeers lists each director's own address on the VRRP interface, one per director in the order of directors (${directors}); got ${describe(list)}`,
    );
  }
  const addresses = (list as string[]).map((a, i) => {
    const parsed = parseAddress(a);
    return 'reason' in parsed ? fail(`vrrp.unicastPeers[${i}]: ${parsed.reason}`) : parsed.text;
  });
  const twice = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (twice !== undefined) fail(`vrrp.unicastPeers lists ${twice} twice: each director has its own address`);
  return addresses;
}

function extraAddress(a: unknown, fail: (m: string) => never): { address: string; prefix: number; interface?: string } {
  if (typeof a === 'string') return { address: a, prefix: a.includes(':') ? 128 : 32 };
  if (a === null || typeof a !== 'object' || Array.isArray(a))
    fail(`vrrp.addresses takes addresses or { address, prefixLength, interface }; got ${describe(a)}`);
  const o = a as Record<string, unknown>;
  const unknown = unknownKey('vrrp.addresses[]', o, ['address', 'prefixLength', 'interface']);
  if (unknown) fail(unknown);
  const address = typeof o.address === 'string' ? o.address : fail(`vrrp.addresses[].address must be an address; got ${describe(o.address)}`);
  const prefix = (o.prefixLength ?? (address.includes(':') ? 128 : 32)) as number;
  const out = { address, prefix, ...(o.interface === undefined ? {} : { interface: o.interface as string }) };
  const bad = vrrpProblems({ instance: 'x', interface: 'eth0', virtual_router_id: 1, priority: 1, state: 'BACKUP', advert_int: 1, addresses: [out] })[0];
  if (bad) fail(bad.message.replace('vrrp.addresses[0]', `vrrp.addresses (${address})`).replace('.prefix ', '.prefixLength '));
  return out;
}
