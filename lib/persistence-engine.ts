/**
 * A persistence engine (`ipvsadm --pe`): groups connections by something other than the client address. The 6.1
 * kernel ships one, `sip`, which reads the Call-ID of SIP datagrams (UDP only) of a persistent service.
 */
export class PersistenceEngine {
  /** SIP Call-ID persistence (`ip_vs_pe_sip`). */
  static readonly SIP = new PersistenceEngine('sip');

  private constructor(
    /** The name in the synthesized JSON and in ipvsadm. */
    readonly name: 'sip',
  ) {}

  toString(): string {
    return this.name;
  }
}
