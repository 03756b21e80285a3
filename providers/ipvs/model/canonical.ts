/**
 * Canonical text for the values every reader shares: addresses as `inet_ntop` prints them (which is what
 * `ipvsadm -S -n` prints), ports, and `host:port` / `[v6]:port` pairs. Pure; used by the parsers and by readSynth.
 */
import ipaddr from 'ipaddr.js';

/** IPv4 in dotted decimal, or IPv6 in RFC 5952 form exactly as glibc's `inet_ntop` writes it; undefined if invalid. */
export function canonicalAddress(text: string): string | undefined {
  if (text.length > 64) return undefined;
  if (!text.includes(':')) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
    return ipaddr.IPv4.parse(text).toString();
  }
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !ipaddr.IPv6.isValid(text)) return undefined;
  return formatIpv6(ipaddr.IPv6.parse(text).parts);
}

/** glibc `inet_ntop(AF_INET6)`: longest run (first on ties) of two or more zero words becomes `::`; `::ffff:a.b.c.d`
 * and `::a.b.c.d` keep the embedded IPv4 address in dotted form. */
export function formatIpv6(words: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      const w6 = words[6] ?? 0;
      const w7 = words[7] ?? 0;
      out += `${w6 >> 8}.${w6 & 0xff}.${w7 >> 8}.${w7 & 0xff}`;
      break;
    }
    out += (words[i] ?? 0).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/**
 * The one reader of a whole number written as text (a CLI flag, a keepalived word): decimal digits only, so `1e3`,
 * `0x10`, ` 5`, `+5` and `-1` are refused rather than read as something else; at most 16 digits (exact in a double);
 * from `min` to `max`. Undefined otherwise.
 */
export function parseUint(text: string | undefined, min: number, max: number): number | undefined {
  const n = text !== undefined && /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN;
  return n >= min && n <= max ? n : undefined;
}

/** A decimal port 0..65535 without sign or leading garbage; undefined otherwise. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** Splits `198.51.100.10:80`, `[2001:db8::1]:80`, `198.51.100.10`, `[2001:db8::1]`, `2001:db8::1` into parts. */
export function splitHostPort(text: string): { host: string; port: string | undefined } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { host: text, port: undefined };
    const rest = text.slice(close + 1);
    return { host: text.slice(1, close), port: rest.startsWith(':') ? rest.slice(1) : rest === '' ? undefined : rest };
  }
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const i = text.indexOf(':');
    return { host: text.slice(0, i), port: text.slice(i + 1) };
  }
  return { host: text, port: undefined };
}

/** An IPv4 netmask in dotted form (any four octets, as the kernel accepts) or undefined. */
export function canonicalDottedMask(text: string): string | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? ipaddr.IPv4.parse(text).toString() : undefined;
}
