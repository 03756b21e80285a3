/** The transport protocol of an address-based virtual service. */
export class Protocol {
  /** TCP (`ipvsadm -t`). */
  static readonly TCP = new Protocol('tcp');
  /** UDP (`ipvsadm -u`). */
  static readonly UDP = new Protocol('udp');
  /** SCTP (`ipvsadm --sctp-service`). */
  static readonly SCTP = new Protocol('sctp');

  /** All protocols IPVS balances. */
  static readonly ALL: readonly Protocol[] = [Protocol.TCP, Protocol.UDP, Protocol.SCTP];

  private constructor(
    /** The name in the synthesized JSON and in `ipvsadm -S` output. */
    readonly name: 'tcp' | 'udp' | 'sctp',
  ) {}

  toString(): string {
    return this.name;
  }
}
