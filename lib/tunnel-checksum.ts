/** Checksumming of the outer header of a GUE or GRE tunnel (`ipvsadm --tun-nocsum | --tun-csum | --tun-remcsum`). */
export class TunnelChecksum {
  /** No checksum (`nocsum`), the kernel's default. */
  static readonly NONE = new TunnelChecksum('nocsum');
  /** Checksum of the outer UDP (GUE) or GRE header (`csum`). */
  static readonly CHECKSUM = new TunnelChecksum('csum');
  /** Remote checksum offload (`remcsum`); a GUE option, GUE only. */
  static readonly REMOTE_CHECKSUM = new TunnelChecksum('remcsum');

  private constructor(
    /** The name in the synthesized JSON. */
    readonly name: 'nocsum' | 'csum' | 'remcsum',
  ) {}

  toString(): string {
    return this.name;
  }
}
