/**
 * Reads `ipvsadm -S -n` output and ipvsadm-save / restore files (`-A` and `-a` lines) into the canonical Table.
 *
 * It mirrors what ipvsadm 1.31 and the 6.1 kernel do with each line (measured on a UML 6.1.176 kernel, see
 * test/fixtures/ipvsadm/README.md): a destination without a port gets the service port (0 under a firewall mark);
 * direct routing and tunnelling force the service port; `-p` alone means 360 s; `-M` without `-p` is not kept;
 * the default scheduler is wlc and the default forwarding method is direct routing; `ipvsadm -S` prints a
 * firewall mark above 2^31-1 as a negative number. Lines that ipvsadm or the kernel would refuse are errors here.
 */
import { SAVE_COMMANDS, looksLikeKeepalived, looksLikeListing } from './input-kind.ts';
import { describeValue } from '../model/describe-value.ts';
import { INT_MAX } from '../model/limits.ts';
import { LvsError } from '../model/errors.ts';
import { canonicalAddress, canonicalDottedMask, parsePort, splitHostPort } from '../model/canonical.ts';
import {
  type Destination,
  type Family,
  type Forwarding,
  type Persistence,
  type Protocol,
  type SchedFlag,
  type Service,
  type ServiceConfig,
  type ServiceKey,
  type Table,
  type TunnelChecksum,
  type TunnelType,
  defaultNetmask,
  destinationId,
  familyOf,
  normalizeTable,
  serviceFamily,
  serviceId,
} from '../model/model.ts';

/** Long options and their short equivalents, as ipvsadm 1.31's popt table names them. */
const LONG: Readonly<Record<string, string>> = {
  '--add-service': '-A',
  '--add-server': '-a',
  '--edit-service': '-E',
  '--edit-server': '-e',
  '--delete-service': '-D',
  '--delete-server': '-d',
  '--clear': '-C',
  '--tcp-service': '-t',
  '--udp-service': '-u',
  '--sctp-service': '--sctp-service',
  '--fwmark-service': '-f',
  '--ipv6': '-6',
  '--scheduler': '-s',
  '--persistent': '-p',
  '--netmask': '-M',
  '--sched-flags': '-b',
  '--pe': '--pe',
  '--ops': '-o',
  '--real-server': '-r',
  '--gatewaying': '-g',
  '--ipip': '-i',
  '--masquerading': '-m',
  '--weight': '-w',
  '--u-threshold': '-x',
  '--l-threshold': '-y',
  '--tun-type': '--tun-type',
  '--tun-port': '--tun-port',
  '--tun-nocsum': '--tun-nocsum',
  '--tun-csum': '--tun-csum',
  '--tun-remcsum': '--tun-remcsum',
};
const SHORT = new Set([
  '-A',
  '-a',
  '-E',
  '-e',
  '-D',
  '-d',
  '-C',
  '-t',
  '-u',
  '-f',
  '-6',
  '-s',
  '-p',
  '-M',
  '-b',
  '-o',
  '-r',
  '-g',
  '-i',
  '-m',
  '-w',
  '-x',
  '-y',
]);
const TAKES_VALUE = new Set(['-t', '-u', '--sctp-service', '-f', '-s', '-M', '-b', '--pe', '-r', '-w', '-x', '-y', '--tun-type', '--tun-port']);

interface Line {
  readonly source: string;
  readonly lineNo: number;
}

/** A token of the input as a message shows it: quoted, cut with its length when long (model/describe-value.ts). */
function show(token: string): string {
  return describeValue(token);
}

function fail(at: Line, message: string, hint?: string): never {
  throw new LvsError('LVS_PARSE_SAVE', `${at.source}:${at.lineNo}: ${message}`, hint === undefined ? {} : { hint });
}

/**
 * A line that starts with no option. The two files most often given in place of saved rules are named as what they
 * are, with the command that makes the right one: an `ipvsadm -L -n` listing and a keepalived configuration.
 */
function notSavedRules(at: Line, line: string): never {
  if (looksLikeListing(line)) {
    fail(
      at,
      'this is an `ipvsadm -L -n` listing, not saved rules',
      'Save the table with `ipvsadm -S -n > FILE` and give that file; or import the live table with --director.',
    );
  }
  if (looksLikeKeepalived(line)) {
    fail(at, 'this is a keepalived configuration, not saved rules', 'Import it with --keepalived FILE.');
  }
  fail(at, `unexpected ${show(line.split(/\s+/)[0] ?? '')}: expected an option (a line of \`ipvsadm -S -n\` starts with -A or -a)`);
}

function int(at: Line, option: string, text: string, min: number, max: number): number {
  if (!/^-?[0-9]+$/.test(text)) fail(at, `${option} needs a whole number, got ${show(text)}`);
  const n = Number(text);
  if (n < min || n > max) fail(at, `${option} must be between ${min} and ${max}, got ${show(text)}`);
  return n;
}

function address(at: Line, what: string, host: string, token: string): string {
  const canonical = canonicalAddress(host);
  if (canonical !== undefined) return canonical;
  if (/^[A-Za-z0-9.-]+$/.test(host) && /[A-Za-z]/.test(host)) {
    fail(at, `${what} ${show(token)} is a host name, not an address`, 'read the table with `ipvsadm -S -n` (numeric output)');
  }
  return fail(at, `${what} ${show(token)} is not an IPv4 or IPv6 address`);
}

function port(at: Line, what: string, text: string, token: string): number {
  const p = parsePort(text);
  if (p !== undefined) return p;
  if (/^[A-Za-z][A-Za-z0-9_-]*$/.test(text)) {
    fail(at, `${what} ${show(token)} names a service (${show(text)}), not a port number`, 'read the table with `ipvsadm -S -n` (numeric output)');
  }
  return fail(at, `${what} ${show(token)} has no valid port (0-65535)`);
}

const FLAG_NAMES: Readonly<Record<string, { flag: SchedFlag; only?: string }>> = {
  'flag-1': { flag: 'flag-1' },
  'flag-2': { flag: 'flag-2' },
  'flag-3': { flag: 'flag-3' },
  'sh-fallback': { flag: 'flag-1', only: 'sh' },
  'sh-port': { flag: 'flag-2', only: 'sh' },
  'mh-fallback': { flag: 'flag-1', only: 'mh' },
  'mh-port': { flag: 'flag-2', only: 'mh' },
};

/** The options of one line, after long forms and `--opt=value` are folded into their short names. */
type Options = Map<string, { value: string | undefined; token: string }>;

function tokenize(_at: Line, text: string): string[] {
  const tokens: string[] = [];
  for (const raw of text.split(/[ \t\r\f\v]+/)) if (raw !== '') tokens.push(...unbundle(raw));
  return tokens;
}

/**
 * ipvsadm reads its options with popt, which takes short options as getopt does: several flags in one word (`-gm`),
 * and the value of an option that takes one attached to it (`-w3`, `-p360`, `-t198.51.100.10:80`, popt also skipping
 * an `=`: `-w=3`). Such a word is split into the words the rest of the reader knows; a word that is not made of known
 * short options is left as it is, to be refused by name.
 */
function unbundle(word: string): string[] {
  if (!/^-[^-]./.test(word)) return [word];
  const out: string[] = [];
  for (let i = 1; i < word.length; i++) {
    const option = `-${word[i]}`;
    if (!SHORT.has(option)) return [word];
    out.push(option);
    if (TAKES_VALUE.has(option) || option === '-p') {
      const rest = word.slice(i + 1).replace(/^=/, '');
      if (rest !== '') out.push(rest);
      return out;
    }
  }
  return out;
}

function readOptions(at: Line, tokens: readonly string[]): Options {
  const opts: Options = new Map();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    let name = token;
    let inline: string | undefined;
    if (token.startsWith('--') && token.includes('=')) {
      name = token.slice(0, token.indexOf('='));
      inline = token.slice(token.indexOf('=') + 1);
    }
    const short = token.startsWith('--') ? LONG[name] : SHORT.has(name) ? name : undefined;
    if (short === undefined) {
      if (!token.startsWith('-')) fail(at, `unexpected ${show(token)}: expected an option`);
      fail(at, `unknown option ${show(token)}`);
    }
    if (opts.has(short)) fail(at, `option ${show(token)} given twice`);
    let value = inline;
    if (value === undefined && TAKES_VALUE.has(short)) {
      value = tokens[i + 1];
      if (value === undefined) fail(at, `option ${show(token)} needs a value`);
      i++;
    } else if (value === undefined && short === '-p') {
      // ipvsadm's -p takes an optional value: the next word when it does not look like an option
      const next = tokens[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        value = next;
        i++;
      }
    } else if (inline !== undefined && !TAKES_VALUE.has(short) && short !== '-p') {
      fail(at, `option ${show(name)} takes no value`);
    }
    opts.set(short, { value, token });
  }
  return opts;
}

function serviceKey(at: Line, opts: Options): ServiceKey {
  const kinds = ['-t', '-u', '--sctp-service', '-f'].filter((k) => opts.has(k));
  if (kinds.length === 0) fail(at, 'no service given (-t, -u, --sctp-service or -f)');
  if (kinds.length > 1) fail(at, `more than one service given (${kinds.join(', ')})`);
  const kind = kinds[0]!;
  const { value = '' } = opts.get(kind)!;
  if (kind === '-f') {
    // ipvsadm -S prints marks above 2^31-1 as negative numbers (%d); both spellings name the same mark
    let mark = int(at, '-f', value, -(2 ** 31), 2 ** 32 - 1);
    if (mark < 0) mark += 2 ** 32;
    if (mark === 0) fail(at, 'firewall mark 0 is not allowed (-f 1 to 4294967295)');
    return { kind: 'fwmark', mark, family: opts.has('-6') ? 'inet6' : 'inet' };
  }
  const protocol: Protocol = kind === '-t' ? 'tcp' : kind === '-u' ? 'udp' : 'sctp';
  const { host, port: portText } = splitHostPort(value);
  const addr = address(at, 'virtual service', host, value);
  if (portText === undefined) fail(at, `virtual service ${show(value)} has no port`);
  const p = port(at, 'virtual service', portText, value);
  if (opts.has('-6') && familyOf(addr) !== 'inet6') fail(at, `-6 given with the IPv4 service ${show(value)}`);
  return { kind: 'addr', protocol, address: addr, port: p };
}

function serviceConfig(at: Line, key: ServiceKey, opts: Options): ServiceConfig {
  const family: Family = serviceFamily(key);
  const scheduler = opts.get('-s')?.value ?? 'wlc';
  if (!/^[a-z][a-z0-9_]{0,15}$/.test(scheduler)) fail(at, `scheduler ${show(scheduler)} is not a scheduler name`);

  const flags = new Set<SchedFlag>();
  const b = opts.get('-b');
  if (b !== undefined) {
    for (const name of (b.value ?? '').split(',')) {
      const f = FLAG_NAMES[name];
      if (f === undefined) fail(at, `invalid scheduler flag ${show(name)} (sh-fallback, sh-port, mh-fallback, mh-port, flag-1..3)`);
      if (f.only !== undefined && f.only !== scheduler) fail(at, `scheduler flag ${show(name)} is for ${f.only}, not ${scheduler}`);
      flags.add(f.flag);
    }
  }

  let persistence: Persistence | undefined;
  const p = opts.get('-p');
  if (p !== undefined) {
    const timeout = p.value === undefined ? 360 : int(at, '-p', p.value, 1, INT_MAX);
    let netmask = defaultNetmask(family);
    const m = opts.get('-M');
    if (m !== undefined) {
      const text = m.value ?? '';
      if (family === 'inet6') netmask = String(int(at, '-M', text, 1, 128));
      else netmask = canonicalDottedMask(text) ?? fail(at, `-M ${show(text)} is not a dotted IPv4 netmask`);
    }
    persistence = { timeout, netmask };
  } else if (key.kind === 'addr' && key.port === 0) {
    fail(at, `service ${show(serviceId(key))} has port 0 but no persistence (-p)`);
  }

  const pe = opts.get('--pe')?.value;
  if (pe !== undefined && !/^[a-z][a-z0-9_]{0,15}$/.test(pe)) fail(at, `--pe ${show(pe)} is not a persistence engine name`);
  const onePacket = opts.has('-o');
  if (onePacket && key.kind === 'addr' && key.protocol !== 'udp') fail(at, 'one-packet scheduling (-o) is only for UDP services');

  return {
    scheduler,
    schedFlags: [...flags].sort(),
    ...(persistence === undefined ? {} : { persistence }),
    ...(pe === undefined ? {} : { persistenceEngine: pe }),
    onePacket,
  };
}

function forwarding(at: Line, opts: Options): Forwarding {
  const methods = ['-g', '-i', '-m'].filter((m) => opts.has(m));
  if (methods.length > 1) fail(at, `more than one forwarding method (${methods.join(', ')})`);
  const method = methods[0] ?? '-g';
  const tunType = opts.get('--tun-type')?.value;
  const tunPort = opts.get('--tun-port')?.value;
  const sums = (['--tun-nocsum', '--tun-csum', '--tun-remcsum'] as const).filter((c) => opts.has(c));
  if (method !== '-i') {
    if (tunType !== undefined || tunPort !== undefined || sums.length > 0) fail(at, 'tunnel options given without -i (tunnelling)');
    return { method: method === '-m' ? 'masq' : 'droute' };
  }
  if (sums.length > 1) fail(at, `more than one tunnel checksum option (${sums.join(', ')})`);
  const type = (tunType ?? 'ipip') as TunnelType;
  if (type !== 'ipip' && type !== 'gue' && type !== 'gre') fail(at, `--tun-type ${show(tunType ?? '')} is not ipip, gue or gre`);
  const checksum = (sums[0]?.slice('--tun-'.length) ?? 'nocsum') as TunnelChecksum;
  if (type === 'ipip') {
    if (tunPort !== undefined) fail(at, "--tun-port is not allowed with the 'ipip' tunnel type");
    if (sums.length > 0) fail(at, `${sums[0]} is not allowed with the 'ipip' tunnel type`);
    return { method: 'tunnel', type };
  }
  if (type === 'gue') {
    if (tunPort === undefined) fail(at, "the 'gue' tunnel type needs --tun-port");
    return { method: 'tunnel', type, port: int(at, '--tun-port', tunPort, 1, 65535), checksum };
  }
  if (tunPort !== undefined) fail(at, "--tun-port is not allowed with the 'gre' tunnel type");
  if (checksum === 'remcsum') fail(at, "--tun-remcsum is not allowed with the 'gre' tunnel type");
  return { method: 'tunnel', type, checksum };
}

function destination(at: Line, key: ServiceKey, opts: Options): Destination {
  const r = opts.get('-r');
  if (r === undefined) fail(at, 'a real server line (-a) needs -r ADDRESS[:PORT]');
  const text = r.value ?? '';
  const { host, port: portText } = splitHostPort(text);
  const addr = address(at, 'real server', host, text);
  let p = portText === undefined ? (key.kind === 'addr' ? key.port : 0) : port(at, 'real server', portText, text);
  const fwd = forwarding(at, opts);
  if (fwd.method !== 'masq' && key.kind === 'addr') p = key.port; // as ipvsadm does for -g and -i
  if (familyOf(addr) !== serviceFamily(key) && fwd.method !== 'tunnel') {
    fail(at, `real server ${show(text)} is of another address family than its service: allowed only for tunnelling (-i)`);
  }
  const weight = opts.has('-w') ? int(at, '-w', opts.get('-w')!.value ?? '', 0, INT_MAX) : 1;
  const upper = opts.has('-x') ? int(at, '-x', opts.get('-x')!.value ?? '', 0, INT_MAX) : 0;
  const lower = opts.has('-y') ? int(at, '-y', opts.get('-y')!.value ?? '', 0, INT_MAX) : 0;
  if (lower > upper) fail(at, `lower threshold ${lower} is above upper threshold ${upper} (the kernel refuses it)`);
  return { address: addr, port: p, forwarding: fwd, weight, upperThreshold: upper, lowerThreshold: lower };
}

const SERVICE_ONLY = ['-s', '-p', '-M', '-b', '--pe', '-o'];
const DEST_ONLY = ['-r', '-g', '-i', '-m', '-w', '-x', '-y', '--tun-type', '--tun-port', '--tun-nocsum', '--tun-csum', '--tun-remcsum'];

/**
 * Parses `ipvsadm -S -n` output or an ipvsadm-save file into the canonical table. `source` names the text in
 * errors (a file name, or `lb1: ipvsadm -S -n`).
 * @throws LvsError `LVS_PARSE_SAVE` naming the source, the line number and the offending token.
 */
export function parseSave(text: string, source = 'ipvsadm -S -n', lines?: Map<string, number>): Table {
  const services = new Map<string, { key: ServiceKey; config: ServiceConfig; dests: Map<string, Destination> }>();
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    lineNo++;
    const at: Line = { source, lineNo };
    if (raw.includes('\0')) fail(at, 'the line contains a NUL byte: this is not ipvsadm output');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (!trimmed.startsWith('-')) notSavedRules(at, trimmed);
    const tokens = tokenize(at, trimmed);
    const opts = readOptions(at, tokens);
    const command = SAVE_COMMANDS.filter((c) => opts.has(c));
    if (command.length !== 1) {
      fail(
        at,
        command.length === 0
          ? `no command: expected -A (add service) or -a (add real server), got ${show(tokens[0] ?? '')}`
          : `more than one command (${command.join(', ')})`,
      );
    }
    const cmd = command[0]!;
    if (cmd !== '-A' && cmd !== '-a') fail(at, `${cmd} does not describe a table: a saved table holds only -A and -a lines`);
    const key = serviceKey(at, opts);
    const id = serviceId(key);
    if (cmd === '-A') {
      for (const o of DEST_ONLY) if (opts.has(o)) fail(at, `option ${show(opts.get(o)!.token)} belongs on a real server line (-a)`);
      if (services.has(id)) fail(at, `service ${show(id)} is defined twice`);
      services.set(id, { key, config: serviceConfig(at, key, opts), dests: new Map() });
      lines?.set(id, lineNo);
    } else {
      for (const o of SERVICE_ONLY) if (opts.has(o)) fail(at, `option ${show(opts.get(o)!.token)} belongs on a service line (-A)`);
      const svc = services.get(id);
      if (svc === undefined) fail(at, `real server for ${show(id)}, which no earlier -A line defines`);
      const dest = destination(at, key, opts);
      const did = destinationId(dest);
      if (svc.dests.has(did)) fail(at, `real server ${show(did)} is defined twice in ${show(id)}`);
      svc.dests.set(did, dest);
    }
  }
  const list: Service[] = [];
  for (const s of services.values()) list.push({ key: s.key, config: s.config, destinations: [...s.dests.values()] });
  return normalizeTable({ services: list });
}
