/**
 * keepalived's address ranges in a virtual server group: `A`, `A-N` (last octet or last hex word), `A-B` (a full end
 * address) and `A/len`, expanded into addresses, with the same refusals keepalived makes.
 */
import ipaddr from 'ipaddr.js';
import { canonicalAddress, formatIpv6, parseUint } from '../../model/canonical.ts';
import { familyOf } from '../../model/model.ts';
import { type Origin, fail, shown } from './structure.ts';

/** The most services a configuration may expand to (virtual server group ranges multiply quickly). */
export const MAX_KEEPALIVED_SERVICES = 65_536;

/** What a range expansion reports to: a warning once per line, and `file:line` of a line (the origin map) for errors. */
export interface RangeContext {
  readonly at: Origin;
  warn(line: number, message: string): void;
}

function addrToBig(text: string): { value: bigint; bits: number } {
  if (!text.includes(':')) return { value: text.split('.').reduce((a, o) => a * 256n + BigInt(o), 0n), bits: 32 };
  return { value: ipaddr.IPv6.parse(text).parts.reduce((a, w) => a * 65536n + BigInt(w), 0n), bits: 128 };
}

function bigToAddr(value: bigint, bits: number): string {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 255n).toString()).join('.');
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  return formatIpv6(words);
}

/**
 * The address of a `virtual_server` or `real_server` line as keepalived's inet_stosockaddr() (lib/utils.c) reads it:
 * the family is IPv6 when the word holds a `:`, and everything from the first `-` (else the first `/`) on, a range or a
 * prefix, is cut off before the address is read: `192.0.2.1/32` and `192.0.2.1-10` program 192.0.2.1. Returns the
 * address and what was cut (empty when nothing was), or undefined for a word keepalived refuses.
 */
export function socketAddress(word: string): { address: string; dropped: string } | undefined {
  const cut = word.indexOf('-') >= 0 ? word.indexOf('-') : word.indexOf('/');
  const text = cut >= 0 ? word.slice(0, cut) : word;
  const address = canonicalAddress(text);
  if (address === undefined || address.includes(':') !== word.includes(':')) return undefined;
  return { address, dropped: cut >= 0 ? word.slice(cut) : '' };
}

/** Expands `A`, `A-N` (last octet / last hex word), `A-B` (full end address) and `A/len` into addresses. */
export function expandRange(ctx: RangeContext, line: number, group: string, text: string): string[] | undefined {
  const bad = (why: string): undefined => {
    ctx.warn(line, `${group}: ${shown(text)} ${why} - entry skipped, as keepalived does`);
    return undefined;
  };
  let start: string | undefined;
  let first: bigint;
  let last: bigint;
  let bits: number;
  const slash = text.indexOf('/');
  const dash = text.indexOf('-');
  if (slash >= 0) {
    start = canonicalAddress(text.slice(0, slash));
    if (start === undefined) return bad('is not an address');
    ({ value: first, bits } = addrToBig(start));
    const len = parseUint(text.slice(slash + 1), 1, bits);
    if (len === undefined) return bad('has an invalid prefix length');
    const hostMask = (1n << BigInt(bits - len)) - 1n;
    if ((first & hostMask) !== 0n) return bad('has host bits set below the prefix');
    last = first | hostMask;
  } else if (dash >= 0) {
    start = canonicalAddress(text.slice(0, dash));
    if (start === undefined) return bad('is not an address');
    ({ value: first, bits } = addrToBig(start));
    const endText = text.slice(dash + 1);
    const fullEnd = bits === 32 ? endText.includes('.') : endText.includes(':');
    if (fullEnd) {
      const end = canonicalAddress(endText);
      if (end === undefined || familyOf(end) !== familyOf(start)) return bad('has an invalid range end');
      last = addrToBig(end).value;
      if (last < first) return bad('ends before it starts');
    } else {
      const n = bits === 32 ? (/^[0-9]{1,3}$/.test(endText) ? Number(endText) : NaN) : /^[0-9a-fA-F]{1,4}$/.test(endText) ? parseInt(endText, 16) : NaN;
      if (Number.isNaN(n) || n > (bits === 32 ? 255 : 0xffff)) return bad('has an invalid range end');
      const width = bits === 32 ? 8n : 16n;
      const low = first & ((1n << width) - 1n);
      if (BigInt(n) <= low) return bad('has a range end not above its start');
      last = (first & ~((1n << width) - 1n)) | BigInt(n);
    }
  } else {
    start = canonicalAddress(text);
    if (start === undefined) return bad('is not an address');
    return [start];
  }
  const count = last - first + 1n;
  if (count > BigInt(MAX_KEEPALIVED_SERVICES)) {
    fail(ctx.at, line, `${group}: ${text} expands to ${count} addresses; the import takes at most ${MAX_KEEPALIVED_SERVICES} services`);
  }
  const out: string[] = [];
  for (let v = first; v <= last; v++) out.push(bigToAddr(v, bits));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// From definitions to the table.
