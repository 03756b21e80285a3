/** The encapsulation of a tunnelled real server (`ipvsadm --tun-type`). */
export class TunnelType {
  /** IP-in-IP, the classic VS/TUN (`ipip`). */
  static readonly IPIP = new TunnelType('ipip');
  /** Generic UDP Encapsulation (`gue`); needs the UDP port the real server decapsulates on. */
  static readonly GUE = new TunnelType('gue');
  /** Generic Routing Encapsulation (`gre`). */
  static readonly GRE = new TunnelType('gre');

  private constructor(
    /** The name in the synthesized JSON and in ipvsadm. */
    readonly name: 'ipip' | 'gue' | 'gre',
  ) {}

  toString(): string {
    return this.name;
  }
}
