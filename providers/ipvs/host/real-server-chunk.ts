/**
 * Real-server preparation on the host (model/real-server.ts): the `sh` that reads what a real server holds, the `sh`
 * that changes it and reads it back, the record's path, and the parsers of their replies. Pure functions; the request
 * kinds `real-server-read`, `real-server-apply` and `real-server-record` (requests/) carry them.
 *
 * The read is the same on every real server and costs three or four processes (`ip -o addr show`, the two main route
 * tables: the default routes, and the more specific routes NAT's replies could take around the director; and
 * `ip fou show` once the fou module is loaded); the sysctls come from `/proc` with the shell's own `read` (every device's ARP and rp_filter values,
 * so that a record naming an interface the app no longer names is still read), the tunnel devices from
 * `/sys/class/net/<dev>/flags`. Address lines and changes reuse the director settings' own (settings-chunk.ts).
 */
import { LvsError } from '../model/errors.ts';
import { addressLabel } from '../model/director-settings.ts';
import type { Family } from '../model/model.ts';
import {
  type FouPort,
  type LiveRealServer,
  type LiveRoute,
  type PrefixRoute,
  type RealServerChange,
  realServerPhase,
  realServerSysctlFile,
  TUNNEL_DEVICE_NAMES,
  TUNNEL_DEVICES,
} from '../model/real-server.ts';
import { canonicalAddress } from '../model/canonical.ts';
import { hostAddress, ifname, parseAddresses } from './settings-chunk.ts';
import { STATE_DIR, stackFile } from './host-script.ts';
import { section, type Sections } from './sections.ts';
import { hereDoc, shQuote } from './shell-quote.ts';

/** Where a real server's ownership record lives: apart from the directors' records, which `read-table` lists. */
export const REAL_SERVER_DIR = `${STATE_DIR}/real-server`;

/** The quoted path of a stack's record on a real server. */
export function realServerRecordFile(stack: string): string {
  return `"$lvs_dir"/real-server/${stackFile(stack)}`;
}

/**
 * The read: sections `<prefix>kernel`, `addresses`, `links`, `sysctls`, `fou`, `routes4`, `routes6`, `end`. Without
 * `routes` (a read-back after a phase that changed no route: two processes fewer) the route sections are left out and
 * parse as no route.
 */
export function realServerReadChunk(tag: string, prefix = 'rs-', routes = true): string {
  return [
    section(tag, `${prefix}kernel`),
    'read -r lvs_kr < /proc/sys/kernel/osrelease; printf \'%s\\n\' "$lvs_kr"',
    section(tag, `${prefix}addresses`),
    'ip -o addr show 2>&1 9>&-',
    section(tag, `${prefix}links`),
    `for lvs_d in ${TUNNEL_DEVICE_NAMES.join(' ')}; do`,
    '  if [ -r "/sys/class/net/$lvs_d/flags" ]; then read -r lvs_f < "/sys/class/net/$lvs_d/flags"; printf \'%s %s\\n\' "$lvs_d" "$lvs_f"; fi',
    'done',
    section(tag, `${prefix}sysctls`),
    'for lvs_f in /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/conf/*/rp_filter; do',
    '  [ -r "$lvs_f" ] || continue',
    '  read -r lvs_v < "$lvs_f"; lvs_n=${lvs_f#/proc/sys/net/ipv4/conf/}',
    '  printf \'net.ipv4.conf.%s.%s=%s\\n\' "${lvs_n%/*}" "${lvs_n##*/}" "$lvs_v"',
    'done',
    section(tag, `${prefix}fou`),
    // Without the fou module, `ip fou show` fails ("No such file or directory"): no port is open. A module that is
    // shipped but not loaded has no port either, which the shell tells without starting `ip` (≈ 0.2 s under emulation);
    // a kernel with fou built in has no module file, and is asked.
    'lvs_fou=1',
    'if [ ! -d /sys/module/fou ]; then for lvs_m in /lib/modules/"$lvs_kr"/kernel/net/ipv4/fou.ko*; do [ -e "$lvs_m" ] && lvs_fou=; done; fi',
    'if [ -n "$lvs_fou" ]; then ip fou show 2>/dev/null 9>&-; fi',
    ...(routes ? [section(tag, `${prefix}routes4`), 'ip -4 route show 2>&1 9>&-', section(tag, `${prefix}routes6`), 'ip -6 route show 2>&1 9>&-'] : []),
    section(tag, `${prefix}end`),
    'true',
  ].join('\n');
}

function lines(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** `ip fou show`: `port 6080 gue`, `port 6080 gue -6` (newer iproute2 may add `local`/`peer` words). */
export function parseFou(text: string): FouPort[] {
  const out: FouPort[] = [];
  for (const l of lines(text)) {
    const m = /^port (\d+) gue\b/.exec(l);
    if (m) out.push({ port: Number(m[1]), family: /(^|\s)-6(\s|$)/.test(l) ? 'inet6' : 'inet' });
  }
  return out;
}

/** `default via 192.0.2.1 dev eth0 …` (the first default route of the table). */
export function parseDefaultRoute(text: string, family: Family): LiveRoute[] {
  for (const l of lines(text)) {
    if (!l.startsWith('default')) continue;
    const via = / via (\S+)/.exec(l)?.[1];
    const dev = / dev (\S+)/.exec(l)?.[1];
    const gateway = via === undefined ? undefined : canonicalAddress(via);
    return [{ family, ...(gateway ? { gateway } : {}), ...(dev ? { device: dev } : {}) }];
  }
  return [];
}

/**
 * The main table's routes other than the default: `192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.11`,
 * `198.51.100.0/24 via 192.0.2.9 dev eth0`, `192.0.2.5 dev eth0` (a host route). Lines of another route type
 * (`unreachable`, `blackhole`, `prohibit`, `throw`, `multicast`) carry no reply anywhere and are left out, as are a
 * multipath route's `nexthop` lines.
 */
export function parsePrefixRoutes(text: string, family: Family): PrefixRoute[] {
  const out: PrefixRoute[] = [];
  for (const l of lines(text)) {
    const m = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?(?:\s|$)/.exec(l);
    if (!m || l.startsWith('default')) continue;
    const address = canonicalAddress(m[1]!);
    if (address === undefined || address.includes(':') !== (family === 'inet6')) continue;
    const via = / via (?:inet6 |inet )?(\S+)/.exec(l)?.[1];
    const dev = / dev (\S+)/.exec(l)?.[1];
    const gateway = via === undefined ? undefined : canonicalAddress(via);
    const length = m[2] ?? (family === 'inet6' ? '128' : '32');
    out.push({ family, prefix: `${address}/${length}`, ...(gateway ? { gateway } : {}), ...(dev ? { device: dev } : {}) });
  }
  return out;
}

/** Parses what `realServerReadChunk` printed. Undefined when the read did not run to its end. */
export function parseRealServerRead(sections: Sections, prefix = 'rs-'): LiveRealServer | undefined {
  if (!sections.has(`${prefix}end`)) return undefined;
  const get = (name: string) => sections.get(`${prefix}${name}`);
  const links: string[] = [];
  const up: string[] = [];
  for (const l of lines(get('links'))) {
    const [dev, flags] = l.split(/\s+/);
    if (dev === undefined || !(TUNNEL_DEVICE_NAMES as readonly string[]).includes(dev)) continue;
    links.push(dev);
    if ((Number.parseInt(flags ?? '0', 16) & 1) === 1) up.push(dev);
  }
  const sysctls: Record<string, string> = {};
  for (const l of lines(get('sysctls'))) {
    const at = l.indexOf('=');
    if (at > 0) sysctls[l.slice(0, at)] = l.slice(at + 1);
  }
  return {
    kernel: lines(get('kernel'))[0] ?? '',
    addresses: parseAddresses(get('addresses') ?? ''),
    links,
    up,
    sysctls,
    fou: parseFou(get('fou') ?? ''),
    routes: [...parseDefaultRoute(get('routes4') ?? '', 'inet'), ...parseDefaultRoute(get('routes6') ?? '', 'inet6')],
    prefixRoutes: [...parsePrefixRoutes(get('routes4') ?? '', 'inet'), ...parsePrefixRoutes(get('routes6') ?? '', 'inet6')],
  };
}

function sysctlFile(name: string): string {
  const file = realServerSysctlFile(name);
  if (file === undefined) throw new LvsError('LVS_UNSAFE_VALUE', `not a sysctl lvsform sets on a real server: ${JSON.stringify(name)}`);
  return file;
}

function gateway(address: string): string {
  return address === '' ? '' : hostAddress(address);
}

/**
 * One phase of a real server's changes, then the read-back. Order within the phase: modules (a tunnel device exists
 * once its module is loaded, and its sysctls with it), then in `before` the sysctls and one `ip -b` for tunnels, fou
 * ports and addresses, in `after` the `ip -b` and then the sysctls put back, then the default routes. A failed step
 * prints `@@rs fail <what>` and the rest carries on; the read-back says what holds.
 */
export function realServerApplyChunk(tag: string, changes: readonly RealServerChange[], phase: 'before' | 'after'): string {
  const mine = changes.filter((c) => realServerPhase(c) === phase);
  const out = [section(tag, 'rs-apply')];
  const modules = new Set<string>();
  const ip: string[] = [];
  for (const c of mine) {
    if (c.kind === 'tunnel') {
      const dev = ifname(c.device);
      if (c.action === 'create') modules.add(TUNNEL_DEVICES[c.device].module);
      ip.push(`link set ${dev} ${c.action === 'create' ? 'up' : 'down'}`);
    } else if (c.kind === 'fou') {
      const port = Math.floor(c.port);
      if (c.action === 'create') modules.add(c.family === 'inet6' ? 'fou6' : 'fou');
      ip.push(
        c.action === 'create' ? `fou add port ${port} gue${c.family === 'inet6' ? ' -6' : ''}` : `fou del port ${port}${c.family === 'inet6' ? ' -6' : ''}`,
      );
    } else if (c.kind === 'address') {
      const a = `${hostAddress(c.address)}/${c.prefix}`;
      const dev = ifname(c.device);
      if (c.action === 'delete') ip.push(`addr del ${a} dev ${dev}`);
      else if (c.address.includes(':')) ip.push(`addr add ${a} dev ${dev} nodad`);
      else {
        const label = addressLabel(dev);
        ip.push(`addr add ${a} dev ${dev}${label ? ` label ${label}` : ''}`);
      }
    }
  }
  const sysctls: string[] = [];
  const routes: string[] = [];
  for (const c of mine) {
    if (c.kind === 'sysctl') {
      if (!/^[0-9]{1,10}$/.test(c.after)) throw new LvsError('LVS_UNSAFE_VALUE', `not a sysctl value: ${JSON.stringify(c.after)}`);
      sysctls.push(`printf '%s\\n' ${shQuote(c.after)} > ${shQuote(sysctlFile(c.name))} || echo ${shQuote(`@@rs fail sysctl ${c.name}`)}`);
    } else if (c.kind === 'route') {
      const fam = c.family === 'inet6' ? '-6' : '-4';
      const gw = gateway(c.after);
      const cmd = gw === '' ? `ip ${fam} route del default` : `ip ${fam} route replace default via ${shQuote(gw)}`;
      routes.push(`${cmd} 2>&1 9>&- || echo ${shQuote(`@@rs fail route ${c.family}`)}`);
    }
  }
  const batch = ip.length > 0 ? [`ip -force -b - 2>&1 9>&- ${hereDoc(ip.join('\n'))}`, `[ $? = 0 ] || echo '@@rs fail ip'`] : [];
  // The module load creates the tunnel devices (their rp_filter exists from then on). The ARP settings go before the
  // VIPs are added to lo and are put back after they are removed: a VIP on lo without them answers ARP for it.
  if (modules.size > 0) out.push(`modprobe -a ${[...modules].sort().join(' ')} 2>&1 9>&- || echo '@@rs fail modprobe'`);
  out.push(...(phase === 'before' ? [...sysctls, ...batch] : [...batch, ...sysctls]), ...routes);
  // The read-back: the routes only when this phase changed one (nothing else reads them from it).
  out.push(realServerReadChunk(tag, 'rs-after-', routes.length > 0));
  return out.join('\n');
}

/** What an applied phase left: the steps that reported a failure, what the host said, and the read-back. */
export interface RealServerApplyOutput {
  readonly failed: readonly string[];
  readonly log: string;
  readonly after: LiveRealServer | undefined;
}

export function parseRealServerApply(sections: Sections): RealServerApplyOutput {
  const log = sections.get('rs-apply') ?? '';
  return {
    failed: log
      .split('\n')
      .filter((l) => l.startsWith('@@rs fail '))
      .map((l) => l.slice('@@rs fail '.length)),
    log: log
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('@@rs '))
      .join('\n'),
    after: parseRealServerRead(sections, 'rs-after-'),
  };
}
