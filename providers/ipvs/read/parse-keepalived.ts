/**
 * Reads the IPVS part of a keepalived configuration (`virtual_server`, `virtual_server_group`) into the canonical
 * Table, the way keepalived 2.2.7 would program the kernel with every real server healthy.
 *
 * It follows keepalived's own rules (check_parser.c, check_data.c): `lvs_sched`/`lb_algo` default to wlc, the
 * forwarding method (`lvs_method`/`lb_kind`) to NAT, an address service without `protocol` to UDP; the weight of
 * a real server defaults to the virtual server's `weight` (1); a NAT real server without a port takes the virtual
 * port, and direct routing and tunnelling use the virtual port (0 under a firewall mark); a port-0 service becomes
 * persistent (360 s); `persistence_granularity` alone means 360 s; `sh-*`/`mh-*` flags count only after
 * `lvs_sched sh`/`mh`; `ops` is dropped on TCP and SCTP services; a virtual server without real servers is dropped;
 * a duplicate real server is dropped; a non-tunnelled real server of the other address family is dropped; a server
 * address is read up to its first `-` or `/`, as inet_stosockaddr() reads it (`192.0.2.1/32` is 192.0.2.1).
 *
 * Health checkers, sorry servers, quorum handling, notification scripts and VRRP are keepalived's runtime behaviour
 * and are not part of the table: they are skipped, with a warning where the difference matters. Comments, `@ID`
 * conditional lines, `$NAME=value` definitions and `include` are read as keepalived reads them (keepalived/lines.ts,
 * keepalived/glob.ts), numbers as its read_unsigned() reads them (structure.ts); the structure is keepalived/structure.ts, group ranges keepalived/ranges.ts. Malformed structure
 * (unbalanced braces, unterminated quotes, NUL bytes, absurd nesting or size) is an `LVS_PARSE_KEEPALIVED` error
 * naming the file and line.
 */
import { looksLikeListing, looksLikeSavedRule } from './input-kind.ts';
import { INT_MAX, MAX_PERSISTENCE_TIMEOUT, SCHEDULERS } from '../model/limits.ts';
import { keepalivedLines, type IncludeReader } from './keepalived/lines.ts';
import { MAX_KEEPALIVED_BYTES, MAX_KEEPALIVED_DEPTH, fail, parseStructure, readUnsigned, shown, type Origin, type Stmt } from './keepalived/structure.ts';
import { type ImportedPair, readPair } from './keepalived/vrrp.ts';
import { MAX_KEEPALIVED_SERVICES, expandRange, socketAddress } from './keepalived/ranges.ts';
import { IPVS_WORDS, ROOT_KEYWORDS, SERVICE_WORDS, likelyKeyword } from './keepalived/keywords.ts';

export { MAX_KEEPALIVED_BYTES, MAX_KEEPALIVED_DEPTH, MAX_KEEPALIVED_SERVICES, parseStructure };
import { canonicalDottedMask, parseUint } from '../model/canonical.ts';
import {
  type Destination,
  type Family,
  type Forwarding,
  type Protocol,
  type SchedFlag,
  type Service,
  type ServiceKey,
  type Table,
  type TunnelChecksum,
  type TunnelType,
  defaultNetmask,
  destinationId,
  familyOf,
  normalizeTable,
  serviceId,
} from '../model/model.ts';

const UINT32_MAX = 4_294_967_295;
const MAX_PERSISTENCE = MAX_PERSISTENCE_TIMEOUT;
/** keepalived 2.2.7's scheduler names: the kernel's tree (`twos` needs a kernel newer than 6.1). */
const KEEPALIVED_SCHEDULERS = new Set(SCHEDULERS);
/** Checker blocks of a real server. */
const CHECKERS = new Set([
  'HTTP_GET',
  'SSL_GET',
  'TCP_CHECK',
  'SMTP_CHECK',
  'DNS_CHECK',
  'MISC_CHECK',
  'BFD_CHECK',
  'UDP_CHECK',
  'PING_CHECK',
  'FILE_CHECK',
  'track_file',
]);
/** Virtual server keywords that shape health checking or notifications only. */
const VS_RUNTIME = new Set([
  'delay_loop',
  'delay_before_retry',
  'retry',
  'warmup',
  'connect_timeout',
  'inhibit_on_failure',
  'ha_suspend',
  'smtp_alert',
  'virtualhost',
  'snmp_name',
  'alpha',
  'omega',
  'quorum',
  'quorum_up',
  'quorum_down',
  'hysteresis',
  'sorry_server_inhibit',
  'sorry_server_lvs_method',
]);
/** Real server keywords that shape health checking or notifications only. */
const RS_RUNTIME = new Set([
  'inhibit_on_failure',
  'notify_up',
  'notify_down',
  'alpha',
  'retry',
  'delay_before_retry',
  'warmup',
  'connect_timeout',
  'delay_loop',
  'smtp_alert',
  'virtualhost',
  'snmp_name',
]);
const INCLUDES = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea', 'includet']);

/** What the import found: the table and what it could not carry over. */
export interface KeepalivedImport {
  readonly table: Table;
  /** One line each, prefixed with `file:line:`. */
  readonly warnings: string[];
  /** The director pair the configuration's one `vrrp_instance` describes (keepalived/vrrp.ts), when it has one. */
  readonly pair?: ImportedPair;
}

// ---------------------------------------------------------------------------------------------------------------
// Semantics: statements -> virtual servers, real servers and groups -> the table.

type Method = 'masq' | 'droute' | 'tunnel';

interface FwdSetting {
  readonly method: Method;
  readonly type: TunnelType;
  readonly port: number;
  readonly checksum: TunnelChecksum;
}

interface RealServerDef {
  readonly address: string;
  readonly port: number;
  readonly line: number;
  fwd: FwdSetting | undefined;
  weight: number | undefined;
  upper: number;
  lower: number;
}

interface VirtualServerDef {
  readonly line: number;
  readonly label: string;
  readonly kind: 'addr' | 'fwmark' | 'group';
  readonly address?: string;
  readonly port?: number;
  readonly mark?: number;
  readonly group?: string;
  af: Family | undefined;
  scheduler: string | undefined;
  flags: Set<SchedFlag>;
  onePacket: boolean;
  fwd: FwdSetting | undefined;
  persistenceTimeout: number | undefined;
  granularity: string | undefined;
  pe: string | undefined;
  peLine: number;
  protocol: Protocol | undefined;
  protocolLine: number;
  weight: number;
  reals: RealServerDef[];
}

interface GroupEntry {
  readonly line: number;
  readonly key: { kind: 'addr'; address: string; port: number } | { kind: 'fwmark'; mark: number; family: Family | undefined };
}

interface Group {
  readonly name: string;
  readonly line: number;
  readonly entries: GroupEntry[];
}

/**
 * Where the reading stands and what it has said. Every position a message gives, its own or one it refers to, is a
 * line of the merged text turned into `file:line` by `at` (the origin map of keepalived/lines.ts): the merged text's
 * line numbers mean nothing to a reader once an include or a multi-line definition has been expanded.
 */
class Context {
  readonly warnings: string[] = [];
  checkers = 0;
  checkerFirst: number | undefined;
  readonly checkerKinds = new Map<string, number>();
  constructor(readonly at: Origin) {}

  private readonly seen = new Set<string>();

  /** Records a warning once (group ranges would otherwise repeat the same one for every address). */
  warn(line: number, message: string): void {
    const text = `${this.at(line)}: ${message}`;
    if (this.seen.has(text)) return;
    this.seen.add(text);
    this.warnings.push(text);
  }
}

/**
 * A port as keepalived reads it: absent or all zeros means "none" (0); otherwise inet_stosockaddr's lenient
 * read_unsigned(…, 1, 65535): a word with more after its digits (`80x`) is the number its digits make, with a warning
 * at `line`, as keepalived warns and programs it.
 */
function parsePortWord(ctx: Context, line: number, text: string | undefined): number | undefined {
  if (text === undefined) return 0;
  const strict = parseUint(text, 0, 65535);
  if (strict !== undefined) return strict;
  const read = readUnsigned(text, 1, 65535, true);
  if (read?.lenient !== undefined) ctx.warn(line, `port ${read.lenient}`);
  return read?.value;
}

function parseForwarding(ctx: Context, s: Stmt, previous: FwdSetting | undefined): FwdSetting | undefined {
  const kind = s.words[1];
  const base = { type: previous?.type ?? 'ipip', port: previous?.port ?? 0, checksum: previous?.checksum ?? 'nocsum' } as const;
  if (kind === 'NAT' || kind === 'DR') {
    if (s.words.length > 2) ctx.warn(s.line, `${s.words[0]} ${kind}: extra words ${shown(s.words.slice(2).join(' '))} ignored`);
    return { ...base, method: kind === 'NAT' ? 'masq' : 'droute' };
  }
  if (kind !== 'TUN') {
    ctx.warn(s.line, `${s.words[0]}: unknown forwarding method ${shown(kind ?? '')} (NAT, DR or TUN) - ignored, as keepalived does`);
    return previous;
  }
  let type: TunnelType = 'ipip';
  let port = 0;
  let checksum: TunnelChecksum = 'nocsum';
  const keepTunnel = (why: string): FwdSetting => {
    ctx.warn(s.line, `${s.words[0]} TUN: ${why} - keepalived keeps the previous tunnel settings`);
    return { ...base, method: 'tunnel' };
  };
  for (let i = 2; i < s.words.length; i++) {
    const w = s.words[i]!;
    if (w === 'type') {
      const t = s.words[i + 1];
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') return keepTunnel(`unknown tunnel type ${shown(t ?? '')}`);
      type = t;
      i++;
    } else if (w === 'port') {
      const n = readUnsigned(s.words[i + 1], 1, 65535);
      if (n === undefined) return keepTunnel(`invalid gue port ${shown(s.words[i + 1] ?? '')}`);
      port = n.value;
      i++;
    } else if (w === 'nocsum' || w === 'csum' || w === 'remcsum') {
      checksum = w;
    } else {
      return keepTunnel(`invalid tunnel option ${shown(w)}`);
    }
  }
  if ((type === 'gue') !== (port !== 0)) return keepTunnel('gue tunnels require a port, and only gue tunnels take one');
  if (type === 'ipip' && checksum !== 'nocsum') return keepTunnel('ipip tunnels take no checksum option');
  if (type === 'gre' && checksum === 'remcsum') return keepTunnel('gre tunnels do not support remcsum');
  return { method: 'tunnel', type, port, checksum };
}

function noteChecker(ctx: Context, s: Stmt): void {
  const kind = s.words[0]!;
  ctx.checkers++;
  ctx.checkerFirst ??= s.line;
  ctx.checkerKinds.set(kind, (ctx.checkerKinds.get(kind) ?? 0) + 1);
}

/**
 * keepalived reads one keyword per line inside a block: on `{ weight 1 uthreshold 100 }` its weight handler takes
 * `1` and the rest of the line is never read. The import does the same, and says what was not read.
 */
function extraWords(ctx: Context, s: Stmt): void {
  if (s.words.length <= 2) return;
  ctx.warn(
    s.line,
    `${s.words[0]} ${s.words[1]}: the rest of the line (${shown(s.words.slice(2).join(' '))}) is not read, as keepalived does not read it (one keyword per line); put each keyword on its own line`,
  );
}

/**
 * The address of a virtual or real server line, read as keepalived reads it (keepalived/ranges.ts `socketAddress`),
 * with a warning when a prefix or range was cut off: keepalived programs the address before it, silently.
 */
function serverAddress(ctx: Context, s: Stmt, what: string): string | undefined {
  const read = socketAddress(s.words[1] ?? '');
  if (read !== undefined && read.dropped !== '') {
    ctx.warn(
      s.line,
      `${what} ${shown(s.words[1]!)}: keepalived drops ${shown(read.dropped)} (a prefix or range means nothing here) and programs ${read.address} - imported as ${read.address}`,
    );
  }
  return read?.address;
}

function readRealServer(ctx: Context, vs: VirtualServerDef, s: Stmt): void {
  const address = serverAddress(ctx, s, 'real_server');
  const port = parsePortWord(ctx, s.line, s.words[2]);
  if (address === undefined || port === undefined) {
    ctx.warn(s.line, `real_server ${shown(s.words.slice(1).join(' '))}: not an IP address and port - real server skipped, as keepalived does`);
    return;
  }
  if (s.words.length > 3) ctx.warn(s.line, `real_server: extra words ${shown(s.words.slice(3).join(' '))} ignored`);
  const rs: RealServerDef = { address, port, line: s.line, fwd: vs.fwd, weight: undefined, upper: 0, lower: 0 };
  for (const c of s.block ?? []) {
    const key = c.words[0]!;
    if (CHECKERS.has(key)) {
      noteChecker(ctx, c);
    } else if (key === 'weight') {
      extraWords(ctx, c);
      const n = readUnsigned(c.words[1], 0, 65535, true);
      if (n === undefined) ctx.warn(c.line, `weight ${shown(c.words[1] ?? '')} is outside 0..65535 - ignored, as keepalived does`);
      else {
        if (n.lenient !== undefined) ctx.warn(c.line, `weight ${n.lenient}`);
        rs.weight = n.value;
      }
    } else if (key === 'lvs_method' || key === 'lb_kind') {
      rs.fwd = parseForwarding(ctx, c, rs.fwd);
    } else if (key === 'uthreshold' || key === 'lthreshold') {
      extraWords(ctx, c);
      const read = readUnsigned(c.words[1], 0, UINT32_MAX, true);
      if (read?.lenient !== undefined) ctx.warn(c.line, `${key} ${read.lenient}`);
      const n = read?.value;
      if (n === undefined) {
        ctx.warn(c.line, `${key} ${shown(c.words[1] ?? '')} is not a number - ignored, as keepalived does`);
      } else if (n > INT_MAX) {
        ctx.warn(c.line, `${key} ${n} is above ${INT_MAX}, which the kernel treats as no limit - imported as 0`);
      } else if (key === 'uthreshold') {
        rs.upper = n;
      } else {
        rs.lower = n;
      }
    } else if (RS_RUNTIME.has(key)) {
      // health-check and notification behaviour: not part of the table
    } else if (INCLUDES.has(key)) {
      ctx.warn(c.line, `${key} ${c.words[1] ?? ''} is not followed; import that file separately`);
    } else {
      ctx.warn(c.line, `unknown real_server keyword ${shown(key)} ignored`);
    }
  }
  const fwd = rs.fwd;
  const tunnelled = fwd?.method === 'tunnel';
  const family = familyOf(address);
  if (!tunnelled) {
    if (vs.af === undefined) {
      vs.af = family;
    } else if (vs.af !== family) {
      ctx.warn(s.line, `real server ${address} is ${family === 'inet' ? 'IPv4' : 'IPv6'} but ${vs.label} is not; keepalived skips it`);
      return;
    }
  }
  vs.reals.push(rs);
}

function readVirtualServer(ctx: Context, s: Stmt): VirtualServerDef | undefined {
  const [, first, second] = s.words;
  const label = `virtual_server ${s.words.slice(1).join(' ')}`;
  const common = {
    line: s.line,
    label,
    scheduler: undefined,
    flags: new Set<SchedFlag>(),
    onePacket: false,
    fwd: undefined,
    persistenceTimeout: undefined,
    granularity: undefined,
    pe: undefined,
    peLine: s.line,
    protocol: undefined,
    protocolLine: s.line,
    weight: 1,
    reals: [],
  };
  let vs: VirtualServerDef;
  if (first === 'group') {
    if (second === undefined) {
      ctx.warn(s.line, 'virtual_server group without a group name - skipped');
      return undefined;
    }
    vs = { ...common, kind: 'group', group: second, af: undefined };
  } else if (first === 'fwmark') {
    const mark = parseUint(second, 1, UINT32_MAX);
    if (mark === undefined) {
      ctx.warn(s.line, `${label}: firewall mark ${shown(second ?? '')} must be 1..${UINT32_MAX} - skipped`);
      return undefined;
    }
    vs = { ...common, kind: 'fwmark', mark, af: undefined };
  } else {
    const address = serverAddress(ctx, s, 'virtual_server');
    const port = parsePortWord(ctx, s.line, second);
    if (address === undefined || port === undefined) {
      ctx.warn(s.line, `${label}: not an IP address and port - skipped, as keepalived does`);
      return undefined;
    }
    vs = { ...common, kind: 'addr', address, port, af: familyOf(address) };
  }
  if (s.words.length > 3) ctx.warn(s.line, `${label}: extra words ignored`);
  if (s.block === undefined) {
    ctx.warn(s.line, `${label} has no { } block - skipped`);
    return undefined;
  }

  for (const c of s.block) {
    const key = c.words[0]!;
    const arg = c.words[1];
    switch (key) {
      case 'real_server':
        readRealServer(ctx, vs, c);
        break;
      case 'lvs_sched':
      case 'lb_algo':
        if (arg === undefined || !KEEPALIVED_SCHEDULERS.has(arg)) {
          ctx.warn(c.line, `invalid scheduler ${shown(arg ?? '')} - ignored, as keepalived does`);
        } else {
          vs.scheduler = arg;
          if (arg === 'twos') ctx.warn(c.line, 'scheduler twos needs a kernel newer than 6.1 (ip_vs_twos)');
        }
        break;
      case 'hashed':
        ctx.warn(c.line, 'hashed is a kernel-internal flag keepalived does not pass on - ignored');
        break;
      case 'ops':
        vs.onePacket = true;
        break;
      case 'flag-1':
      case 'flag-2':
      case 'flag-3':
        vs.flags.add(key);
        break;
      case 'sh-port':
      case 'sh-fallback':
      case 'mh-port':
      case 'mh-fallback': {
        const owner = key.slice(0, 2);
        if (vs.scheduler === owner) {
          vs.flags.add(key.endsWith('fallback') ? 'flag-1' : 'flag-2');
        } else {
          ctx.warn(c.line, `${key} counts only after lvs_sched ${owner}; the scheduler here is ${vs.scheduler ?? 'not set yet'} - ignored, as keepalived does`);
        }
        break;
      }
      case 'lvs_method':
      case 'lb_kind':
        vs.fwd = parseForwarding(ctx, c, vs.fwd);
        break;
      case 'persistence_timeout': {
        if (arg === undefined) {
          vs.persistenceTimeout = 360;
          break;
        }
        const n = readUnsigned(arg, 1, MAX_PERSISTENCE);
        if (n === undefined) ctx.warn(c.line, `persistence_timeout ${shown(arg)} must be 1..${MAX_PERSISTENCE} - ignored, as keepalived does`);
        else vs.persistenceTimeout = n.value;
        break;
      }
      case 'persistence_granularity': {
        const af = vs.af ?? (arg?.includes('.') ? 'inet' : 'inet6');
        const value = af === 'inet6' ? readUnsigned(arg, 1, 128)?.value.toString() : arg === undefined ? undefined : canonicalDottedMask(arg);
        if (value === undefined) {
          ctx.warn(
            c.line,
            `persistence_granularity ${shown(arg ?? '')} is not ${af === 'inet6' ? 'a prefix length 1..128' : 'a dotted IPv4 netmask'} - ignored`,
          );
          break;
        }
        vs.granularity = value;
        vs.af ??= af;
        vs.persistenceTimeout ??= 360;
        break;
      }
      case 'persistence_engine':
        if (arg === undefined) ctx.warn(c.line, 'persistence_engine without a name - ignored');
        else {
          vs.pe = arg;
          vs.peLine = c.line;
        }
        break;
      case 'protocol': {
        const p = arg?.toLowerCase();
        if (p === 'tcp' || p === 'udp' || p === 'sctp') {
          vs.protocol = p;
          vs.protocolLine = c.line;
        } else {
          ctx.warn(c.line, `unknown protocol ${shown(arg ?? '')} - ignored, as keepalived does`);
        }
        break;
      }
      case 'ip_family':
        if (arg !== 'inet' && arg !== 'inet6') ctx.warn(c.line, `unknown address family ${shown(arg ?? '')} - ignored`);
        else if (vs.af !== undefined && vs.af !== arg) ctx.warn(c.line, `ip_family ${arg} conflicts with the family of ${label} - ignored, as keepalived does`);
        else vs.af = arg;
        break;
      case 'weight': {
        const n = readUnsigned(arg, 1, 65535, true);
        if (n === undefined) ctx.warn(c.line, `virtual server weight ${shown(arg ?? '')} is outside 1..65535 - ignored`);
        else {
          if (n.lenient !== undefined) ctx.warn(c.line, `weight ${n.lenient}`);
          vs.weight = n.value;
        }
        break;
      }
      case 'sorry_server':
        ctx.warn(c.line, `sorry_server ${c.words.slice(1).join(' ')} is not imported: keepalived adds it only when the quorum of ${label} is lost`);
        break;
      default:
        if (CHECKERS.has(key)) noteChecker(ctx, c);
        else if (VS_RUNTIME.has(key)) {
          // health-check, quorum and notification behaviour: not part of the table
        } else if (INCLUDES.has(key)) ctx.warn(c.line, `${key} ${arg ?? ''} is not followed; import that file separately`);
        else ctx.warn(c.line, `unknown virtual_server keyword ${shown(key)} ignored`);
    }
  }
  return vs;
}

function readGroup(ctx: Context, s: Stmt): Group | undefined {
  const name = s.words[1];
  if (name === undefined || s.block === undefined) {
    ctx.warn(s.line, 'virtual_server_group needs a name and a { } block - skipped');
    return undefined;
  }
  const group: Group = { name, line: s.line, entries: [] };
  for (const e of s.block) {
    const [what, second, third] = e.words;
    if (e.block !== undefined) {
      ctx.warn(e.line, `unexpected block in virtual_server_group ${name} - skipped`);
      continue;
    }
    if (what === 'fwmark') {
      const mark = parseUint(second, 0, UINT32_MAX);
      if (mark === undefined || mark === 0) {
        ctx.warn(e.line, `${name}: fwmark ${shown(second ?? '')} must be 1..${UINT32_MAX} - skipped`);
        continue;
      }
      if (third !== undefined && third !== 'inet' && third !== 'inet6') {
        ctx.warn(e.line, `${name}: fwmark ${mark} family ${shown(third)} unknown - skipped, as keepalived does`);
        continue;
      }
      group.entries.push({ line: e.line, key: { kind: 'fwmark', mark, family: third } });
      continue;
    }
    const port = parsePortWord(ctx, e.line, second);
    if (port === undefined) {
      ctx.warn(e.line, `${name}: invalid port ${shown(second ?? '')} - entry skipped`);
      continue;
    }
    const addresses = expandRange(ctx, e.line, name, what!);
    if (addresses === undefined) continue;
    for (const address of addresses) group.entries.push({ line: e.line, key: { kind: 'addr', address, port } });
  }
  if (group.entries.length === 0) {
    ctx.warn(s.line, `virtual server group ${name} has no entries - removed, as keepalived does`);
    return undefined;
  }
  return group;
}

function destinationsFor(ctx: Context, vs: VirtualServerDef, key: ServiceKey, family: Family, entryLine: number): Destination[] {
  const out: Destination[] = [];
  const seen = new Set<string>();
  const servicePort = key.kind === 'addr' ? key.port : 0;
  for (const rs of vs.reals) {
    const fwd = rs.fwd ?? vs.fwd ?? { method: 'masq', type: 'ipip', port: 0, checksum: 'nocsum' };
    if (fwd.method !== 'tunnel' && familyOf(rs.address) !== family) {
      ctx.warn(rs.line, `real server ${rs.address} is not of the family of ${serviceId(key)} (${ctx.at(entryLine)}) and is not tunnelled - skipped for it`);
      continue;
    }
    let port: number;
    if (fwd.method === 'masq') {
      port = rs.port !== 0 || key.kind === 'fwmark' ? rs.port : servicePort;
      if (rs.port === 0 && key.kind === 'addr' && vs.kind === 'group') {
        ctx.warn(
          rs.line,
          `NAT real server ${rs.address} has no port; keepalived would program port 0 for the group entry at ${ctx.at(entryLine)} - imported with its port ${servicePort}`,
        );
      }
    } else {
      port = servicePort;
      if (rs.port !== 0 && rs.port !== servicePort) {
        ctx.warn(
          rs.line,
          `real server ${rs.address} port ${rs.port} differs from the virtual port ${servicePort} (${ctx.at(entryLine)}); under ${fwd.method === 'droute' ? 'direct routing' : 'tunnelling'} the kernel uses ${servicePort}`,
        );
      }
    }
    const forwarding: Forwarding =
      fwd.method === 'tunnel'
        ? fwd.type === 'ipip'
          ? { method: 'tunnel', type: 'ipip' }
          : fwd.type === 'gue'
            ? { method: 'tunnel', type: 'gue', port: fwd.port, checksum: fwd.checksum }
            : { method: 'tunnel', type: 'gre', checksum: fwd.checksum }
        : { method: fwd.method };
    const d: Destination = {
      address: rs.address,
      port,
      forwarding,
      weight: rs.weight ?? vs.weight,
      upperThreshold: rs.upper,
      lowerThreshold: rs.lower,
    };
    const id = destinationId(d);
    if (seen.has(id)) {
      ctx.warn(rs.line, `real server ${id} is duplicated in ${serviceId(key)} - the second is removed, as keepalived does`);
      continue;
    }
    if (d.lowerThreshold > d.upperThreshold) {
      // The kernel refuses this one real server (ERANGE); keepalived logs the failed add and programs the rest.
      ctx.warn(
        rs.line,
        `real server ${id}: lthreshold ${d.lowerThreshold} above uthreshold ${d.upperThreshold} (0 = no limit) - the kernel refuses this real server (ERANGE) and keepalived goes on without it: skipped; give it an uthreshold above its lthreshold`,
      );
      continue;
    }
    seen.add(id);
    out.push(d);
  }
  return out;
}

/** The services of a virtual server, each with the line that defines its identity (the group entry, for a group). */
function servicesOf(ctx: Context, vs: VirtualServerDef, groups: Map<string, Group>): { service: Service; line: number }[] {
  if (vs.reals.length === 0) {
    ctx.warn(vs.line, `${vs.label} has no real servers - ignored, as keepalived does`);
    return [];
  }
  // Identities, each with its family and the line that defined it.
  const keys: { key: ServiceKey; family: Family; line: number }[] = [];
  const hasAddress = vs.kind === 'addr' || (vs.kind === 'group' && groups.get(vs.group!)?.entries.some((e) => e.key.kind === 'addr'));
  const protocol: Protocol = vs.protocol ?? 'udp';
  if (vs.protocol === undefined && hasAddress) {
    ctx.warn(vs.line, `${vs.label}: no protocol set - keepalived defaults to UDP; add "protocol TCP" if that is not meant`);
  }
  const fallbackFamily = (): Family => {
    if (vs.af !== undefined) return vs.af;
    const families = new Set(vs.reals.map((r) => familyOf(r.address)));
    if (families.size === 1) return [...families][0]!;
    ctx.warn(
      vs.line,
      `${vs.label}: the address family of its firewall marks cannot be determined (tunnelled real servers of both families) - keepalived defaults to IPv4; state "ip_family" or "fwmark N inet6"`,
    );
    return 'inet';
  };
  if (vs.kind === 'addr') {
    keys.push({ key: { kind: 'addr', protocol, address: vs.address!, port: vs.port! }, family: familyOf(vs.address!), line: vs.line });
  } else if (vs.kind === 'fwmark') {
    if (vs.protocol !== undefined) ctx.warn(vs.protocolLine, 'protocol is ignored on a firewall-mark service, as keepalived does');
    const family = fallbackFamily();
    keys.push({ key: { kind: 'fwmark', mark: vs.mark!, family }, family, line: vs.line });
  } else {
    const group = groups.get(vs.group!);
    if (group === undefined) {
      ctx.warn(vs.line, `${vs.label}: no virtual_server_group ${vs.group} - skipped`);
      return [];
    }
    if (vs.protocol !== undefined && !hasAddress) ctx.warn(vs.protocolLine, 'protocol is ignored on a firewall-mark service, as keepalived does');
    for (const e of group.entries) {
      if (e.key.kind === 'addr') {
        keys.push({ key: { kind: 'addr', protocol, address: e.key.address, port: e.key.port }, family: familyOf(e.key.address), line: e.line });
      } else {
        const family = e.key.family ?? fallbackFamily();
        keys.push({ key: { kind: 'fwmark', mark: e.key.mark, family }, family, line: e.line });
      }
    }
  }

  // Configuration shared by every identity of this virtual server.
  let timeout = vs.persistenceTimeout;
  if (timeout === undefined && keys.some((k) => k.key.kind === 'addr' && k.key.port === 0)) {
    ctx.warn(vs.line, `${vs.label}: port 0 is only valid for persistent services - keepalived makes it persistent (360 s)`);
    timeout = 360;
  }
  if (protocol !== 'udp' && vs.onePacket && hasAddress) {
    ctx.warn(vs.line, `${vs.label}: one-packet scheduling (ops) needs UDP - keepalived resets it on ${protocol}`);
  }
  let pe = vs.pe;
  if (pe !== undefined && timeout === undefined) {
    ctx.warn(vs.peLine, `persistence_engine ${pe} without persistence_timeout has no effect - not imported`);
    pe = undefined;
  }

  const services: { service: Service; line: number }[] = [];
  for (const { key, family, line } of keys) {
    let netmask = defaultNetmask(family);
    if (vs.granularity !== undefined) {
      const isV6Mask = !vs.granularity.includes('.');
      if ((family === 'inet6') === isV6Mask) netmask = vs.granularity;
      else ctx.warn(line, `persistence_granularity ${vs.granularity} does not fit the family of ${serviceId(key)} - default kept`);
    }
    services.push({
      line,
      service: {
        key,
        config: {
          scheduler: vs.scheduler ?? 'wlc',
          schedFlags: [...vs.flags].sort(),
          ...(timeout !== undefined ? { persistence: { timeout, netmask } } : {}),
          ...(pe !== undefined ? { persistenceEngine: pe } : {}),
          onePacket: vs.onePacket && (key.kind === 'fwmark' || protocol === 'udp'),
        },
        destinations: destinationsFor(ctx, vs, key, family, line),
      },
    });
  }
  return services;
}

/** The addresses of a `virtual_ipaddress`-like block: the first word of each line (`198.51.100.10/24 dev eth0`). */
function addressesOf(block: Stmt[] | undefined): string[] {
  return (block ?? []).map((a) => a.words[0]!).filter((w) => w !== undefined);
}

function listed(words: string[]): string {
  const shownWords = words.slice(0, 4).map(shown).join(', ');
  return words.length > 4 ? `${shownWords} and ${words.length - 4} more` : shownWords;
}

/** keepalived's static addresses, which a pair does not carry: said once, so that nothing disappears without a word. */
function reportStatic(ctx: Context, s: Stmt): void {
  const addresses = addressesOf(s.block);
  if (addresses.length > 0) ctx.warn(s.line, `static_ipaddress (${listed(addresses)}) is not imported: keepalived adds those addresses`);
}

/** The shape of every keepalived keyword (`global_defs`, `SSL`, `vrrp_instance`, …): a line starting otherwise has none. */
const KEYWORD = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * The two files most often given in place of a keepalived configuration, refused as what they are (keepalived would
 * ignore every line and load nothing): saved ipvsadm rules and an `ipvsadm -L -n` listing.
 */
function notKeepalived(root: readonly Stmt[], origin: Origin): void {
  const first = root[0];
  if (first === undefined || root.some((s) => SERVICE_WORDS.has(s.words[0]!) || s.words[0] === 'vrrp_instance' || s.words[0] === 'global_defs')) return;
  const line = first.words.join(' ');
  if (looksLikeSavedRule(line)) {
    fail(origin, first.line, 'these are saved ipvsadm rules (`ipvsadm -S -n`), not a keepalived configuration', 'Import them with --save FILE.');
  }
  if (looksLikeListing(line)) {
    fail(
      origin,
      first.line,
      'this is an `ipvsadm -L -n` listing, not a keepalived configuration',
      'Save the table with `ipvsadm -S -n > FILE` and import it with --save FILE; or import the live table with --director.',
    );
  }
}

/** Warnings about the first unknown top-level keywords, one each; the rest counted. */
const MAX_UNKNOWN_SAID = 20;

/**
 * keepalived logs each word it has no keyword for (`Unknown keyword '...'`) and goes on without it: the import says
 * each, with the keyword it most likely misspells. (keepalived then reads the lines of such a block as if they stood
 * where the block does; a configuration that relies on that is not one to import as it is.)
 */
function reportUnknown(ctx: Context, unknown: readonly Stmt[]): void {
  for (const s of unknown.slice(0, MAX_UNKNOWN_SAID)) {
    const key = s.words[0]!;
    const like = likelyKeyword(key);
    const block = s.block === undefined ? '' : ` and its { } block`;
    ctx.warn(s.line, `unknown keyword ${shown(key)}${block} ignored, as keepalived ignores it${like === undefined ? '' : ` - did you mean ${like}?`}`);
    // Its real servers go with it (said above); a whole virtual_server in it is said on its own.
    misplaced(ctx, s, SERVICE_WORDS);
  }
  if (unknown.length > MAX_UNKNOWN_SAID) {
    const more = unknown[MAX_UNKNOWN_SAID]!;
    ctx.warn(more.line, `${unknown.length - MAX_UNKNOWN_SAID} more unknown keyword(s) from here on ignored, as keepalived ignores them`);
  }
}

/**
 * Each `virtual_server`, `virtual_server_group` or `real_server` inside a block keepalived does not read them in
 * (global_defs, a vrrp_instance, an unknown keyword's block): most often a brace out of place above it. keepalived
 * logs it as an unknown keyword and programs nothing of it; the import says so, once per statement found.
 */
function misplaced(ctx: Context, owner: Stmt, words: ReadonlySet<string>): void {
  const walk = (stmts: readonly Stmt[]): void => {
    for (const c of stmts) {
      if (words.has(c.words[0]!)) {
        ctx.warn(
          c.line,
          `${shown(c.words.join(' '))} is inside ${owner.words[0]} (${ctx.at(owner.line)}), where keepalived does not read it - not imported; check the braces above it`,
        );
      } else if (c.block !== undefined) walk(c.block);
    }
  };
  walk(owner.block ?? []);
}

/**
 * Reads a keepalived configuration into the canonical table. Returns warnings (each `file:line: ...`) for what was
 * skipped or changed the way keepalived changes it; throws `LvsError` `LVS_PARSE_KEEPALIVED` on broken structure.
 */
export function parseKeepalived(
  text: string,
  source: string,
  /**
   * `include`: follows include; `configId`: keepalived's config id, selecting the `@ID` lines (keepalived/lines.ts);
   * `origins`: filled with serviceId → `file:line` of the virtual_server declaring it.
   */
  options: { include?: IncludeReader; configId?: string; origins?: Map<string, string> } = {},
): KeepalivedImport {
  if (text.length > MAX_KEEPALIVED_BYTES) {
    fail(source, 1, `the file is ${text.length} bytes; the import reads at most ${MAX_KEEPALIVED_BYTES}`, 'Import the IPVS part of the configuration only.');
  }
  const layer = keepalivedLines(text, source, {
    ...(options.include !== undefined ? { include: options.include } : {}),
    ...(options.configId !== undefined ? { configId: options.configId } : {}),
  });
  const origin: Origin = (line) => layer.origins[line - 1] ?? `${source}:${line}`;
  const ctx = new Context(origin);
  ctx.warnings.push(...layer.warnings);
  const root = parseStructure(layer.lines.join('\n'), origin);
  notKeepalived(root, origin);
  const groups = new Map<string, Group>();
  const servers: VirtualServerDef[] = [];
  const instances: Stmt[] = [];
  const globals: Stmt[] = [];
  const strays: Stmt[] = [];
  const unknown: Stmt[] = [];
  for (const s of root) {
    const key = s.words[0]!;
    if (key.startsWith('@')) {
      if (s.words[1] !== undefined && SERVICE_WORDS.has(s.words[1])) {
        ctx.warn(s.line, `conditional configuration ${key} is not evaluated - ${s.words[1]} skipped`);
      }
    } else if (INCLUDES.has(key)) {
      ctx.warn(s.line, `${key} ${s.words[1] ?? ''} is not followed; import that file separately`);
    } else if (key === 'virtual_server_group') {
      const g = readGroup(ctx, s);
      if (g !== undefined) {
        if (groups.has(g.name))
          ctx.warn(s.line, `virtual_server_group ${g.name} is defined again (first at ${origin(groups.get(g.name)!.line)}) - the first is used`);
        else groups.set(g.name, g);
      }
    } else if (key === 'virtual_server') {
      const vs = readVirtualServer(ctx, s);
      if (vs !== undefined) servers.push(vs);
    } else if (key === 'real_server') {
      ctx.warn(s.line, `${shown(s.words.join(' '))} stands outside any virtual_server - not imported (keepalived logs it as an unknown keyword)`);
    } else if (!KEYWORD.test(key)) strays.push(s);
    else {
      if (key === 'vrrp_instance') instances.push(s);
      else if (key === 'global_defs') globals.push(s);
      else if (key === 'static_ipaddress') reportStatic(ctx, s);
      // Other known blocks (vrrp_script, SSL, bfd_instance, ...) are not IPVS: read no further, but a virtual_server
      // inside one (a brace out of place) is said, since keepalived does not read it there either.
      if (ROOT_KEYWORDS.has(key)) misplaced(ctx, s, IPVS_WORDS);
      else unknown.push(s);
    }
  }
  reportUnknown(ctx, unknown);
  // keepalived logs each line it has no keyword for and goes on: said once here, with the first of them.
  const stray = strays[0];
  if (stray) {
    const more = strays.length > 1 ? ` (and ${strays.length - 1} more line(s) like it)` : '';
    ctx.warn(stray.line, `${shown(stray.words[0]!)} is no keepalived keyword${more} - ignored, as keepalived does`);
  }

  const byId = new Map<string, { service: Service; line: number }>();
  for (const vs of servers) {
    for (const { service, line } of servicesOf(ctx, vs, groups)) {
      const id = serviceId(service.key);
      const previous = byId.get(id);
      if (previous !== undefined) {
        ctx.warn(line, `${id} is defined again (first at ${origin(previous.line)}) - the first is kept; IPVS holds one service per identity`);
        continue;
      }
      if (byId.size >= MAX_KEEPALIVED_SERVICES) {
        fail(origin, line, `the configuration expands to more than ${MAX_KEEPALIVED_SERVICES} services`);
      }
      byId.set(id, { service, line: vs.line });
    }
  }
  if (ctx.checkers > 0) {
    const kinds = [...ctx.checkerKinds].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} x${n}`);
    ctx.warn(ctx.checkerFirst!, `health checks are not imported (${ctx.checkers}: ${kinds.join(', ')}); every real server is imported as healthy`);
  }
  for (const [id, v] of byId) options.origins?.set(id, origin(v.line));
  const vips = new Set([...byId.values()].flatMap(({ service: { key } }) => (key.kind === 'addr' ? [key.address] : [])));
  const pair = readPair(instances, globals, vips, (line, message) => ctx.warn(line, message));
  return { table: normalizeTable({ services: [...byId.values()].map((v) => v.service) }), warnings: ctx.warnings, ...(pair ? { pair } : {}) };
}
