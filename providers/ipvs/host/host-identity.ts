/**
 * Which machine a director reaches, as one key: two directors with the same key share one IPVS table and one
 * ownership record per stack. The construct library keeps its own copy (lib/private/host-identity.ts), since the
 * synthesized JSON is the only thing the two sides share; a unit test holds the two equal.
 */
import fs from 'node:fs';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { LvsError } from '../model/errors.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';

/** The key of the machine lvsform runs on: `local: true`, and any loopback address or `localhost` on port 22. */
export const THIS_MACHINE = 'loopback:22';

/**
 * A host as the machine it names. Case and a trailing dot do not change a DNS name; `localhost` and every loopback
 * address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) are this machine; the numeric forms getaddrinfo (and so ssh) reads as an
 * IPv4 address through inet_aton (`127.1`, `2130706433`, `0177.0.0.1`) are that address; IPv6 is in RFC 5952 form and
 * an IPv4-mapped one is its IPv4 address.
 */
export function canonicalHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  let ip: ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  if (/^[0-9.]+$/.test(h) && ipaddr.IPv4.isValid(h)) ip = ipaddr.IPv4.parse(h);
  else if (h.includes(':') && ipaddr.IPv6.isValid(h)) {
    const v6 = ipaddr.IPv6.parse(h);
    ip = v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  if (!ip) return h;
  if (ip.range() === 'loopback') return 'loopback';
  return ip.kind() === 'ipv6' ? (ip as ipaddr.IPv6).toRFC5952String() : ip.toString();
}

/** A config file path as one file: absolute, `..` resolved, and its real path (symbolic links) where it exists. */
export function canonicalFile(file: string): string {
  const absolute = path.resolve(file);
  try {
    return fs.realpathSync(absolute);
  } catch {
    return absolute;
  }
}

/** How a director is reached, as the construct and the synthesized JSON say it. */
export interface Reach {
  readonly local?: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly configFile?: string;
  readonly alias?: string;
}

/**
 * The key of the machine a director reaches. A host with its port (22 when not given); an alias of a config file by
 * the file's real path, the alias (ssh matches Host patterns case-insensitively) and the port when one is given (else
 * the file's own). An alias is not resolved: two aliases of one HostName are not seen as one machine.
 */
export function reachKey(reach: Reach): string {
  if (reach.local) return THIS_MACHINE;
  if (reach.host !== undefined) {
    const host = canonicalHost(reach.host);
    return `${host.includes(':') ? `[${host}]` : host}:${reach.port ?? 22}`;
  }
  return `alias ${(reach.alias ?? '').toLowerCase()} in ${canonicalFile(reach.configFile ?? '')}${reach.port === undefined ? '' : ` port ${reach.port}`}`;
}

/** The machine a director's target reaches. */
export function targetReachKey(target: HostTarget): string {
  if (target.transport === 'local') return reachKey({ local: true });
  const { host, port, configFile, alias } = target.ssh ?? {};
  return reachKey({
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
    ...(configFile === undefined ? {} : { configFile }),
    ...(alias === undefined ? {} : { alias }),
  });
}

/**
 * Refuses two directors of one run that reach one machine: they would share one table and one record, each planning
 * the other's services away. The construct library refuses this at synth; this catches a hand-edited cdk.tf.json
 * before any host is opened.
 */
export function checkOneDirectorPerMachine(targets: readonly HostTarget[]): void {
  const seen = new Map<string, HostTarget>();
  for (const target of targets) {
    const key = targetReachKey(target);
    const first = seen.get(key);
    if (first) {
      throw new LvsError(
        'LVS_SYNTH_INVALID',
        `directors ${describeTarget(first)} and ${describeTarget(target)} reach the same machine (${key}); one host has one IPVS table and one record per stack, nothing was read`,
        { hint: 'Describe the machine with one Director, and synthesize again rather than editing the synthesized JSON by hand.' },
      );
    }
    seen.set(key, target);
  }
}
