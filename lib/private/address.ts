import { describeValue } from './describe-value.ts';
import { addressClassProblem } from './rules.ts';
import ipaddr from 'ipaddr.js';

/** An address in canonical text (IPv4 dotted decimal, IPv6 RFC 5952 as `inet_ntop` prints it) and its family. */
export interface CanonicalAddress {
  readonly family: 'inet' | 'inet6';
  readonly text: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Parses an IP address strictly: four-part decimal IPv4 without leading zeros (inet_aton would read `010` as octal),
 * or IPv6 without a zone. Returns a reason when the text is not an address.
 */
export function parseAddress(input: unknown): CanonicalAddress | { readonly reason: string } {
  if (typeof input !== 'string') return { reason: `an address must be a string; got ${describe(input)}` };
  if (IPV4.test(input)) return { family: 'inet', text: input };
  if (input.includes(':') && !input.includes('%')) {
    // ipaddr.js reads a dotted tail after a bare '::' as IPv4-mapped; write the tail as two hex groups first.
    const tail = /^(.*:)((?:\d{1,3}\.){3}\d{1,3})$/.exec(input);
    let text = input;
    if (tail) {
      if (!IPV4.test(tail[2]!)) return { reason: `"${input}" is not an IPv4 (dotted decimal) or IPv6 address` };
      const [a, b, c, d] = tail[2]!.split('.').map(Number) as [number, number, number, number];
      text = `${tail[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    }
    if (ipaddr.IPv6.isValid(text)) return { family: 'inet6', text: ipaddr.IPv6.parse(text).toRFC5952String() };
  }
  return { reason: `"${input}" is not an IPv4 (dotted decimal) or IPv6 address` };
}

/**
 * Why an address cannot be a virtual or real server address, or undefined when it can. IPVS forwards unicast only;
 * IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) IPv6 addresses never appear on the wire as the
 * destination of an IPv6 packet, so a service or real server on one would never see traffic: use the IPv4 address.
 */
export function notUnicast(address: CanonicalAddress): string | undefined {
  // The one rule set (rules.ts) decides, so the constructs refuse exactly what the reader and import refuse.
  return addressClassProblem(address.text);
}

/** Text for a value in an error message (see describe-value.ts). */
export const describe = describeValue;
