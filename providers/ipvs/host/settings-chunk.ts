/**
 * The director settings on the host (model/director-settings.ts): the `sh` that reads them, the `sh` that changes them
 * and reads them back, and the parsers of both replies, each over its own tagged sections. Pure functions; the request
 * kinds `settings-read` and `settings-apply` (requests/) carry them: the read rides in the plan's round trip, the
 * changes in the batch's.
 *
 * Cost under emulation is process starts, so the read uses the shell's own `read` for `/proc` (the sysctls and the
 * kernel release) and `[ -d ]` for interfaces, and starts a process only for what the app manages: `ip -o addr show`
 * once when it places VIPs, `ipvsadm -L --timeout` once when it sets timeouts. An app that manages no setting reads
 * nothing here.
 */
import { canonicalAddress } from '../model/canonical.ts';
import { LvsError } from '../model/errors.ts';
import {
  addressLabel,
  type IpvsSysctl,
  IPVS_SYSCTL_NAMES,
  type LiveAddress,
  type LiveSettings,
  type LiveTimeouts,
  type SettingChange,
  type SettingsQuery,
  settingPhase,
} from '../model/director-settings.ts';
import { section, splitSections, type Sections } from './sections.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { hereDoc, shQuote } from './shell-quote.ts';
import { neighbourAdvertLines } from './neighbour-advert.ts';
import { daemonsReadLines, keepalivedReadLines, pairApplyLines, pairUnfinished, parseDaemons, parseKeepalived } from './pair-chunk.ts';
import { keepalivedDigest } from '../model/director-pair.ts';

const IFNAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;

export function ifname(name: string): string {
  if (!IFNAME.test(name)) throw new LvsError('LVS_UNSAFE_VALUE', `not an interface name: ${JSON.stringify(name)}`);
  return name;
}

function sysctlKey(key: string): string {
  if (!(IPVS_SYSCTL_NAMES as readonly string[]).includes(key)) throw new LvsError('LVS_UNSAFE_VALUE', `not a sysctl lvsform sets: ${JSON.stringify(key)}`);
  return key;
}

export function hostAddress(address: string): string {
  const a = canonicalAddress(address);
  if (a === undefined || a !== address) throw new LvsError('LVS_UNSAFE_VALUE', `not a canonical address: ${JSON.stringify(address)}`);
  return a;
}

/** The read, its sections named `<prefix>kernel`, `<prefix>addresses`, …; `prefix` tells the plan's read from the read-back. */
export function settingsReadChunk(tag: string, q: SettingsQuery, prefix = 'settings-'): string {
  const lines = [section(tag, `${prefix}kernel`), 'read -r lvs_kr < /proc/sys/kernel/osrelease; printf \'%s\\n\' "$lvs_kr"'];
  if (q.sysctls.length > 0) {
    lines.push(
      section(tag, `${prefix}sysctls`),
      `for lvs_k in ${q.sysctls.map((k) => shQuote(sysctlKey(k))).join(' ')}; do`,
      '  if [ -r "/proc/sys/net/ipv4/vs/$lvs_k" ]; then read -r lvs_v < "/proc/sys/net/ipv4/vs/$lvs_k"; printf \'%s=%s\\n\' "$lvs_k" "$lvs_v"; fi',
      'done',
    );
  }
  if (q.links.length > 0) {
    lines.push(section(tag, `${prefix}links`));
    for (const l of q.links) lines.push(`[ -d /sys/class/net/${shQuote(ifname(l))} ] && echo ${shQuote(l)}`);
  }
  if (q.addresses) {
    lines.push(
      section(tag, `${prefix}addresses`),
      'ip -o addr show 2>&1 9>&-',
      section(tag, `${prefix}arping`),
      'if command -v arping >/dev/null 2>&1; then echo yes; else echo no; fi',
      section(tag, `${prefix}perl`),
      'if command -v perl >/dev/null 2>&1; then echo yes; else echo no; fi',
    );
  }
  if (q.timeouts) lines.push(section(tag, `${prefix}timeouts`), 'ipvsadm -L --timeout 2>&1 9>&-');
  if (q.daemons) lines.push(...daemonsReadLines(tag, prefix));
  if (q.keepalived !== undefined) lines.push(...keepalivedReadLines(tag, prefix, q.keepalived));
  lines.push(section(tag, `${prefix}end`), 'true');
  return lines.join('\n');
}

/** One line of `ip -o addr show`: `3: client0    inet 198.51.100.17/32 scope global client0:lvs\ …`. */
const ADDR_LINE = /^\d+:\s+([^\s@]+)(?:@\S+)?\s+(inet6?)\s+([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?/;
/** The label of an IPv4 line: the last word before the `\` that ends the address part, after `scope …`. */
const LABEL = /\sscope\s+\S+(?:\s+\S+)*?\s+(\S+:\S+)\\/;

export function parseAddresses(text: string): LiveAddress[] {
  const out: LiveAddress[] = [];
  for (const line of text.split('\n')) {
    const m = ADDR_LINE.exec(line.trim());
    if (!m) continue;
    const address = canonicalAddress(m[3]!);
    if (address === undefined) continue;
    const label = m[2] === 'inet' ? LABEL.exec(line)?.[1] : undefined;
    out.push({
      address,
      prefix: m[4] === undefined ? (m[2] === 'inet6' ? 128 : 32) : Number(m[4]),
      device: m[1]!,
      ...(label !== undefined && label !== m[1] ? { label } : {}),
    });
  }
  return out;
}

export function parseTimeouts(text: string, where: string): LiveTimeouts {
  const m = /Timeout \(tcp tcpfin udp\):\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  if (!m) throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: \`ipvsadm -L --timeout\` printed no timeouts: ${text.trim().slice(0, 200)}`);
  return { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) };
}

/** Parses what `settingsReadChunk` printed (sections already split). Undefined when the read did not run. */
export function parseSettingsRead(sections: ReadonlyMap<string, string>, q: SettingsQuery, where: string, prefix = 'settings-'): LiveSettings | undefined {
  if (!sections.has(`${prefix}end`)) return undefined;
  const get = (name: string) => sections.get(`${prefix}${name}`);
  const words = (name: string) =>
    (get(name) ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const sysctls: Record<string, string> = {};
  for (const line of words('sysctls')) {
    const at = line.indexOf('=');
    const key = line.slice(0, at);
    if (at > 0 && q.sysctls.includes(key)) sysctls[key] = line.slice(at + 1).trim();
  }
  return {
    kernel: words('kernel')[0] ?? '',
    ...(q.addresses ? { addresses: parseAddresses(get('addresses') ?? ''), arping: words('arping')[0] === 'yes', perl: words('perl')[0] === 'yes' } : {}),
    ...(q.links.length > 0 ? { links: words('links').filter((l) => q.links.includes(l)) } : {}),
    ...(q.timeouts ? { timeouts: parseTimeouts(get('timeouts') ?? '', where) } : {}),
    ...(q.sysctls.length > 0 ? { sysctls } : {}),
    ...(q.daemons ? { daemons: parseDaemons(get('daemons') ?? '') } : {}),
    ...(q.keepalived !== undefined ? { keepalived: parseKeepalived(get('keepalived') ?? '') } : {}),
  };
}

/** The `ip -b` lines of a phase's link and address changes. */
export function ipBatch(changes: readonly SettingChange[]): string[] {
  const out: string[] = [];
  for (const c of changes) {
    if (c.kind === 'link') {
      const n = ifname(c.name);
      out.push(...(c.action === 'create' ? [`link add ${n} type dummy`, `link set ${n} up`] : [`link del ${n}`]));
    } else if (c.kind === 'address') {
      const a = `${hostAddress(c.address)}/${c.prefix}`;
      const dev = ifname(c.device);
      if (c.action === 'delete') out.push(`addr del ${a} dev ${dev}`);
      else if (c.address.includes(':')) out.push(`addr add ${a} dev ${dev} nodad`);
      else {
        const label = addressLabel(dev);
        out.push(`addr add ${a} dev ${dev}${label ? ` label ${label}` : ''}`);
      }
    }
  }
  return out;
}

/**
 * Carries out one phase of setting changes (`before` the batch: links, added addresses, sysctls, timeouts; `after` it:
 * removed addresses and links), then reads back what it touched (sections `settings-after-*`). Added IPv4 addresses
 * are announced with one gratuitous ARP (`arping -U`, in the background: the apply does not wait for it). IPv6
 * addresses are added without duplicate address detection (`nodad`), so they serve at once, and announced with one
 * unsolicited neighbour advertisement (neighbour-advert.ts, perl, in the background too).
 */
export function settingsApplyChunk(tag: string, changes: readonly SettingChange[], phase: 'before' | 'after', readBack: SettingsQuery): string {
  const mine = changes.filter((c) => settingPhase(c) === phase);
  const lines = [section(tag, 'settings-apply')];
  const ip = ipBatch(mine);
  if (ip.length > 0) lines.push(`ip -force -b - 2>&1 9>&- ${hereDoc(ip.join('\n'))}`, `[ $? = 0 ] || echo '@@settings fail ip'`);
  for (const c of mine) {
    if (c.kind === 'sysctl') {
      const file = `/proc/sys/net/ipv4/vs/${sysctlKey(c.name)}`;
      if (!/^[0-9]{1,10}$/.test(c.after)) throw new LvsError('LVS_UNSAFE_VALUE', `not a sysctl value: ${JSON.stringify(c.after)}`);
      lines.push(`printf '%s\\n' ${shQuote(c.after)} > ${shQuote(file)} || echo ${shQuote(`@@settings fail sysctl ${c.name}`)}`);
    } else if (c.kind === 'timeouts') {
      const t = [c.after.tcp, c.after.tcpfin, c.after.udp].map((n) => shQuote(Math.floor(n)));
      lines.push(`ipvsadm --set ${t.join(' ')} 2>&1 9>&- || echo '@@settings fail timeouts'`);
    } else if (c.kind === 'address' && c.action === 'create' && c.announce === 'arping') {
      lines.push(`arping -q -U -c 1 -I ${shQuote(ifname(c.device))} ${shQuote(hostAddress(c.address))} </dev/null >/dev/null 2>&1 9>&- &`);
    } else if (c.kind === 'address' && c.action === 'create' && c.announce === 'na') {
      lines.push(...neighbourAdvertLines(ifname(c.device), hostAddress(c.address)));
    } else lines.push(...pairApplyLines(c));
  }
  lines.push(settingsReadChunk(tag, readBack, 'settings-after-'));
  return lines.join('\n');
}

/** What an applied phase left: the steps that reported a failure, what the host said, and the settings read back. */
export interface SettingsApplyReply {
  readonly failed: readonly string[];
  readonly log: string;
  readonly after: LiveSettings | undefined;
}

export function parseSettingsApply(tag: string, stdout: string, readBack: SettingsQuery, where: string): SettingsApplyReply {
  return settingsApplyFrom(splitSections(tag, stdout), readBack, where);
}

/** Parses what `settingsApplyChunk` printed, its sections already split. */
export function settingsApplyFrom(sections: Sections, readBack: SettingsQuery, where: string): SettingsApplyReply {
  const log = sections.get('settings-apply') ?? '';
  const failed = log
    .split('\n')
    .filter((l) => l.startsWith('@@settings fail '))
    .map((l) => l.slice('@@settings fail '.length));
  return {
    failed,
    log: log
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('@@settings '))
      .join('\n'),
    after: parseSettingsRead(sections, readBack, where, 'settings-after-'),
  };
}

/**
 * The changes a read-back shows not done: an added address or link missing, a removed one still there, a sysctl or the
 * timeouts not at their new value. Empty when every change holds.
 */
export function unfinishedSettings(changes: readonly SettingChange[], after: LiveSettings): string[] {
  const out: string[] = [];
  const has = (a: string, dev: string) => (after.addresses ?? []).some((x) => x.address === a && x.device === dev);
  const readPath = keepalivedReadBack(changes).keepalived;
  for (const c of changes) {
    const k = c.kind === 'keepalived' && c.path !== readPath ? undefined : after.keepalived;
    const pair = pairUnfinished(c, after.daemons, k, c.kind === 'keepalived' && c.content !== undefined ? keepalivedDigest(c.content) : undefined);
    if (pair !== undefined) {
      if (pair !== '') out.push(pair);
    } else if (c.kind === 'address') {
      if ((c.action === 'create') !== has(c.address, c.device))
        out.push(`address ${c.address}/${c.prefix} on ${c.device} was not ${c.action === 'create' ? 'added' : 'removed'}`);
    } else if (c.kind === 'link') {
      const exists = (after.links ?? []).includes(c.name);
      if ((c.action === 'create') !== exists) out.push(`link ${c.name} was not ${c.action === 'create' ? 'created' : 'deleted'}`);
    } else if (c.kind === 'sysctl') {
      const now = after.sysctls?.[c.name as IpvsSysctl];
      if (now !== c.after) out.push(`net.ipv4.vs.${c.name} is ${now ?? 'missing'}, not ${c.after}`);
    } else if (c.kind === 'timeouts') {
      const t = after.timeouts;
      if (!t || t.tcp !== c.after.tcp || t.tcpfin !== c.after.tcpfin || t.udp !== c.after.udp) {
        out.push(`the timeouts are ${t ? `${t.tcp} ${t.tcpfin} ${t.udp}` : 'unread'}, not ${c.after.tcp} ${c.after.tcpfin} ${c.after.udp}`);
      }
    }
  }
  return out;
}

/** The read-back a phase needs: what its changes touched. */
export function readBackQuery(changes: readonly SettingChange[]): SettingsQuery {
  return {
    addresses: changes.some((c) => c.kind === 'address'),
    links: [...new Set(changes.flatMap((c) => (c.kind === 'link' ? [c.name] : [])))],
    timeouts: changes.some((c) => c.kind === 'timeouts'),
    sysctls: [...new Set(changes.flatMap((c) => (c.kind === 'sysctl' ? [c.name] : [])))],
    ...(changes.some((c) => c.kind === 'daemon') ? { daemons: true } : {}),
    ...keepalivedReadBack(changes),
  };
}

/** The keepalived file a phase writes (else the one it removes) is read back. */
function keepalivedReadBack(changes: readonly SettingChange[]): { keepalived?: string } {
  const k = changes.filter((c) => c.kind === 'keepalived');
  const path = (k.find((c) => c.action !== 'delete') ?? k[0])?.path;
  return path === undefined ? {} : { keepalived: path };
}

/** `LVS_SETTINGS_FAILED`, carrying the read-back so that the ownership record says what was really changed. */
export class SettingsFailedError extends LvsError {
  constructor(
    message: string,
    readonly after: LiveSettings,
  ) {
    super('LVS_SETTINGS_FAILED', message, {
      hint: 'Fix the cause on the director (the interface, the kernel, ipvsadm) and apply again; the ownership record keeps what was really changed.',
    });
  }
}

/**
 * The read-back of an applied phase, or the error naming what does not hold.
 * @throws LvsError `LVS_SETTINGS_FAILED` when a step failed or the read-back does not show a change.
 */
export function checkSettingsApply(target: HostTarget, changes: readonly SettingChange[], reply: SettingsApplyReply): LiveSettings {
  const where = describeTarget(target);
  if (!reply.after)
    throw new LvsError('LVS_HOST_OUTPUT', `director ${where}: the director settings' step ended early${reply.log ? `: ${reply.log.slice(-300)}` : ''}`);
  const missing = unfinishedSettings(changes, reply.after);
  if (missing.length > 0 || reply.failed.length > 0) {
    const said = reply.log ? `; the host said: ${reply.log.split('\n').slice(-5).join(' | ')}` : '';
    throw new SettingsFailedError(
      `director ${where}: director settings not applied: ${(missing.length > 0 ? missing : reply.failed).join('; ')}${said}`,
      reply.after,
    );
  }
  return reply.after;
}
