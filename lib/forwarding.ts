import { intOutOf } from './private/checks.ts';
import { describe } from './private/address.ts';
import { notAnObject, unknownKey } from './private/keys.ts';
import { TunnelChecksum } from './tunnel-checksum.ts';
import { TunnelType } from './tunnel-type.ts';
import { ValidationError } from './validation-error.ts';

/** Options of `Forwarding.tunnel`. */
export interface TunnelOptions {
  /**
   * The encapsulation.
   * @default TunnelType.IPIP
   */
  readonly type?: TunnelType;
  /**
   * The UDP port the real server decapsulates GUE on (`--tun-port`). Required for GUE, refused otherwise.
   * @default - none (required for GUE)
   */
  readonly port?: number;
  /**
   * Outer-header checksumming (`--tun-nocsum | --tun-csum | --tun-remcsum`); GUE and GRE only, `REMOTE_CHECKSUM`
   * GUE only.
   * @default TunnelChecksum.NONE for GUE and GRE
   */
  readonly checksum?: TunnelChecksum;
}

/** How the director hands packets to a real server (`ipvsadm -m | -g | -i`). */
export class Forwarding {
  /** Masquerading (`-m`, `masq`): the director rewrites the destination and must be the reals' gateway. */
  static readonly NAT = new Forwarding('masq');
  /** Direct routing (`-g`, `droute`): the reals hold the VIP on a non-ARPing interface and answer directly. */
  static readonly DIRECT_ROUTING = new Forwarding('droute');

  /** Tunnelling (`-i`, `tunnel`) by IP-in-IP, GUE or GRE. Throws on options the tunnel type cannot take. */
  static tunnel(options: TunnelOptions = {}): Forwarding {
    const where = 'Forwarding.tunnel';
    const wrong =
      notAnObject('the options', options, '{ type: TunnelType.GUE, port: 6080 }') ?? unknownKey('Forwarding.tunnel', options, ['type', 'port', 'checksum']);
    if (wrong) ValidationError.fail(where, wrong);
    const type = options.type ?? TunnelType.IPIP;
    if (!(type instanceof TunnelType)) {
      ValidationError.fail(where, `type must be TunnelType.IPIP, GUE or GRE; got ${describe(type)}`);
    }
    if (type === TunnelType.GUE) {
      if (options.port === undefined) {
        ValidationError.fail(where, 'a GUE tunnel needs port: the UDP port the real servers decapsulate on (e.g. 6080); got no port');
      }
      const bad = intOutOf('port', options.port, 1, 65535);
      if (bad) ValidationError.fail(where, bad);
    } else if (options.port !== undefined) {
      ValidationError.fail(where, `port is for GUE tunnels only; got port ${describe(options.port)} on a ${type.name} tunnel (drop it)`);
    }
    let checksum: TunnelChecksum | undefined;
    if (type === TunnelType.IPIP) {
      if (options.checksum !== undefined) {
        ValidationError.fail(where, `checksum is for GUE and GRE tunnels only; got ${describe(String(options.checksum))} on an ipip tunnel (drop it)`);
      }
    } else {
      checksum = options.checksum ?? TunnelChecksum.NONE;
      if (!(checksum instanceof TunnelChecksum)) {
        ValidationError.fail(where, `checksum must be TunnelChecksum.NONE, CHECKSUM or REMOTE_CHECKSUM; got ${describe(checksum)}`);
      }
      if (checksum === TunnelChecksum.REMOTE_CHECKSUM && type !== TunnelType.GUE) {
        ValidationError.fail(where, `remote checksum offload is a GUE option; got it on a ${type.name} tunnel (use TunnelChecksum.CHECKSUM or NONE)`);
      }
    }
    return new Forwarding('tunnel', type, type === TunnelType.GUE ? options.port : undefined, checksum);
  }

  private constructor(
    /** The method in the synthesized JSON: `masq`, `droute` or `tunnel`. */
    readonly method: 'masq' | 'droute' | 'tunnel',
    /** The tunnel type; tunnels only. */
    readonly tunnelType?: TunnelType,
    /** The GUE decapsulation port; GUE only. */
    readonly tunnelPort?: number,
    /** The outer checksum; GUE and GRE only. */
    readonly tunnelChecksum?: TunnelChecksum,
  ) {}

  /** True for direct routing and tunnelling, where the kernel ignores the real-server port. */
  get keepsServicePort(): boolean {
    return this.method !== 'masq';
  }

  toString(): string {
    if (this.method !== 'tunnel') return this.method;
    const parts = [`tunnel ${this.tunnelType?.name}`];
    if (this.tunnelPort !== undefined) parts.push(`port ${this.tunnelPort}`);
    if (this.tunnelChecksum !== undefined) parts.push(this.tunnelChecksum.name);
    return parts.join(' ');
  }
}
