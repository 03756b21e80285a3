/** The address family of a firewall-mark service (an address service takes the family of its address). */
export class AddressFamily {
  /** IPv4 (`AF_INET`), the default of `ipvsadm -f`. */
  static readonly IPV4 = new AddressFamily('inet');
  /** IPv6 (`AF_INET6`, `ipvsadm -f MARK -6`). */
  static readonly IPV6 = new AddressFamily('inet6');

  private constructor(
    /** The name in the synthesized JSON: `inet` or `inet6`. */
    readonly name: 'inet' | 'inet6',
  ) {}

  toString(): string {
    return this.name;
  }
}
