/**
 * Readers for `ipvsadm -L -n` listings: the version header, thresholds (`--thresholds`, which `ipvsadm -S` does not
 * print), connection counts (plain `-L -n`), statistics (`--stats`) and rates (`--rate`). Keys follow model.ts:
 * `serviceId` for a service row, `serviceId + ' -> ' + destinationId` for a real-server row.
 */
import { describeValue } from '../model/describe-value.ts';
import { LvsError } from '../model/errors.ts';
import { canonicalAddress, parsePort, splitHostPort } from '../model/canonical.ts';
import { type Counters, type Table, destinationId, hostPort, normalizeTable, serviceId } from '../model/model.ts';

export interface ListVersion {
  /** `1.2.1` */
  readonly version: string;
  /** Connection hash table size. */
  readonly size: number;
}

export interface Thresholds {
  readonly upper: number;
  readonly lower: number;
}

export interface Stats {
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface Rates {
  readonly connsPerSecond: number;
  readonly inPacketsPerSecond: number;
  readonly outPacketsPerSecond: number;
  readonly inBytesPerSecond: number;
  readonly outBytesPerSecond: number;
}

type Row =
  | { readonly kind: 'service'; readonly id: string; readonly rest: readonly string[]; readonly lineNo: number }
  | { readonly kind: 'dest'; readonly id: string; readonly serviceId: string; readonly rest: readonly string[]; readonly lineNo: number };

function fail(source: string, lineNo: number, message: string): never {
  throw new LvsError('LVS_PARSE_LIST', `${source}:${lineNo}: ${message}`, {
    hint: 'pass the output of `ipvsadm -L -n` (numeric) with the matching option',
  });
}

/** A token of the input as a message shows it: quoted, cut with its length when long (model/describe-value.ts). */
function show(token: string): string {
  return describeValue(token);
}

/** `addr:port` in canonical form; `hosts` keeps each address met in one listing (a few real servers and VIPs, many rows). */
function addrPort(source: string, lineNo: number, text: string, hosts: Map<string, string | undefined>): string {
  const { host, port } = splitHostPort(text);
  let addr = hosts.get(host);
  if (addr === undefined && !hosts.has(host)) {
    addr = canonicalAddress(host);
    hosts.set(host, addr);
  }
  if (addr === undefined) fail(source, lineNo, `${show(text)} is not a numeric address (listing made without -n?)`);
  const p = port === undefined ? undefined : parsePort(port);
  if (p === undefined) fail(source, lineNo, `${show(text)} has no numeric port (listing made without -n?)`);
  return hostPort(addr, p);
}

const PROTOCOLS: Readonly<Record<string, string>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** Splits a listing into service and real-server rows, skipping the three header lines. */
function rows(text: string, source: string): Row[] {
  const out: Row[] = [];
  const hosts = new Map<string, string | undefined>();
  let current: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.replace(/\r$/, '');
    if (line.includes('\0')) fail(source, lineNo, 'the line contains a NUL byte: this is not ipvsadm output');
    if (line.trim() === '' || line.startsWith('IP Virtual Server version') || line.startsWith('Prot LocalAddress')) continue;
    const words = line.trim().split(/\s+/);
    if (words[0] === '->') {
      if (words[1] === 'RemoteAddress:Port') continue;
      if (current === undefined) fail(source, lineNo, 'a real server row before any service row');
      const id = addrPort(source, lineNo, words[1] ?? '', hosts);
      out.push({ kind: 'dest', id, serviceId: current, rest: words.slice(2), lineNo });
      continue;
    }
    const proto = PROTOCOLS[words[0] ?? ''];
    if (proto !== undefined) {
      current = `${proto} ${addrPort(source, lineNo, words[1] ?? '', hosts)}`;
      out.push({ kind: 'service', id: current, rest: words.slice(2), lineNo });
      continue;
    }
    if (words[0] === 'FWM') {
      const markText = words[1] ?? '';
      if (!/^-?[0-9]{1,10}$/.test(markText)) fail(source, lineNo, `firewall mark ${show(markText)} is not a number`);
      let mark = Number(markText);
      if (mark < 0) mark += 2 ** 32; // ipvsadm prints marks above 2^31-1 as negative numbers
      const v6 = words[2] === 'IPv6';
      current = `fwmark ${mark} ${v6 ? 'inet6' : 'inet'}`;
      out.push({ kind: 'service', id: current, rest: words.slice(v6 ? 3 : 2), lineNo });
      continue;
    }
    fail(source, lineNo, `unexpected line ${show(line.trim())}`);
  }
  return out;
}

/** ipvsadm prints large counters as `123K`, `45M`, `6G`, `7T` unless `--exact` is given; those come back approximate. */
function count(source: string, lineNo: number, text: string | undefined): number {
  const m = /^([0-9]{1,20})([KMGT]?)$/.exec(text ?? '');
  if (m === null) fail(source, lineNo, `expected a counter, got ${show(text ?? '(nothing)')}`);
  const scale = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * scale;
}

function rowKey(r: Row): string {
  return r.kind === 'service' ? r.id : `${r.serviceId} -> ${r.id}`;
}

/** How every `ipvsadm -L` listing (and /proc/net/ip_vs) begins; `ipvsadm -S` never prints it. */
export const LISTING_HEADER = 'IP Virtual Server version';

/** The `IP Virtual Server version 1.2.1 (size=4096)` header of any `ipvsadm -L` listing or /proc/net/ip_vs. */
export function parseListVersion(text: string, source = 'ipvsadm -L -n'): ListVersion {
  const m = /^IP Virtual Server version ([0-9]+\.[0-9]+\.[0-9]+) \(size=([0-9]{1,10})\)/.exec(text.slice(0, 200));
  if (m === null) {
    throw new LvsError('LVS_PARSE_LIST', `${source}:1: no "IP Virtual Server version" header: is IPVS loaded (modprobe ip_vs)?`);
  }
  return { version: m[1]!, size: Number(m[2]) };
}

/** Thresholds of every real server in `ipvsadm -L -n --thresholds`, keyed `serviceId -> destinationId`. */
export function parseThresholds(text: string, source = 'ipvsadm -L -n --thresholds'): Map<string, Thresholds> {
  const out = new Map<string, Thresholds>();
  for (const r of rows(text, source)) {
    if (r.kind !== 'dest') continue;
    out.set(rowKey(r), { upper: count(source, r.lineNo, r.rest[0]), lower: count(source, r.lineNo, r.rest[1]) });
  }
  return out;
}

/**
 * The table with the thresholds of `ipvsadm -L -n --thresholds` filled in. The two reads are not atomic: a real
 * server present in one and not the other means the table changed between them, reported as `LVS_PARSE_LIST`.
 */
export function mergeThresholds(table: Table, text: string, source = 'ipvsadm -L -n --thresholds'): Table {
  const thresholds = parseThresholds(text, source);
  let used = 0;
  const services = table.services.map((svc) => {
    const sid = serviceId(svc.key);
    let changed = false;
    const destinations = svc.destinations.map((d) => {
      const t = thresholds.get(`${sid} -> ${destinationId(d)}`);
      if (t === undefined) {
        throw new LvsError('LVS_PARSE_LIST', `${source}: real server ${sid} -> ${destinationId(d)} is missing from the thresholds listing`, {
          hint: 'the table changed between the two reads; read again',
        });
      }
      used++;
      if (t.upper === d.upperThreshold && t.lower === d.lowerThreshold) return d;
      changed = true;
      return { ...d, upperThreshold: t.upper, lowerThreshold: t.lower };
    });
    // What the listing does not change is kept as it is (most real servers have no thresholds).
    return changed ? { ...svc, destinations } : svc;
  });
  if (used !== thresholds.size) {
    const known = new Set(table.services.flatMap((s) => s.destinations.map((d) => `${serviceId(s.key)} -> ${destinationId(d)}`)));
    const extra = [...thresholds.keys()].find((k) => !known.has(k));
    throw new LvsError('LVS_PARSE_LIST', `${source}: real server ${extra ?? '?'} is not in the table`, {
      hint: 'the table changed between the two reads; read again',
    });
  }
  return normalizeTable({ services });
}

function fiveColumns<T>(text: string, source: string, make: (n: number[]) => T): Map<string, T> {
  const out = new Map<string, T>();
  for (const r of rows(text, source)) {
    if (r.rest.length !== 5) fail(source, r.lineNo, `expected 5 counters, got ${r.rest.length}`);
    out.set(rowKey(r), make(r.rest.map((w) => count(source, r.lineNo, w))));
  }
  return out;
}

/** `ipvsadm -L -n --stats` (add `--exact` for exact values): totals since the service or real server was added. */
export function parseStats(text: string, source = 'ipvsadm -L -n --stats'): Map<string, Stats> {
  return fiveColumns(text, source, ([conns = 0, inPackets = 0, outPackets = 0, inBytes = 0, outBytes = 0]) => ({
    conns,
    inPackets,
    outPackets,
    inBytes,
    outBytes,
  }));
}

/** `ipvsadm -L -n --rate`: the kernel's estimator (it lags about 2 s). */
export function parseRate(text: string, source = 'ipvsadm -L -n --rate'): Map<string, Rates> {
  return fiveColumns(text, source, ([a = 0, b = 0, c = 0, d = 0, e = 0]) => ({
    connsPerSecond: a,
    inPacketsPerSecond: b,
    outPacketsPerSecond: c,
    inBytesPerSecond: d,
    outBytesPerSecond: e,
  }));
}

/**
 * Connection counters from `ipvsadm -L -n` (active and inactive connections of each real server, summed for its
 * service), merged with `--stats` totals when given.
 */
export function parseCounters(list: string, stats?: string, source = 'ipvsadm -L -n'): Map<string, Counters> {
  const out = new Map<string, Counters>();
  const totals = stats === undefined ? undefined : parseStats(stats);
  const sums = new Map<string, { a: number; i: number }>();
  for (const r of rows(list, source)) {
    if (r.kind === 'service') {
      sums.set(r.id, { a: 0, i: 0 });
      continue;
    }
    // Forward Weight ActiveConn InActConn
    const a = count(source, r.lineNo, r.rest[2]);
    const i = count(source, r.lineNo, r.rest[3]);
    const s = sums.get(r.serviceId)!;
    s.a += a;
    s.i += i;
    out.set(rowKey(r), { activeConns: a, inactiveConns: i, ...totals?.get(rowKey(r)) });
  }
  for (const [id, s] of sums) out.set(id, { activeConns: s.a, inactiveConns: s.i, ...totals?.get(id) });
  return out;
}
