import { type Counters, destinationId, serviceId, type Table } from '../model/model.ts';
import { parseCounters, parseRate, type Rates } from '../read/parse-list.ts';
import { parseSave } from '../read/parse-save.ts';
import type { OwnershipRecord } from '../model/record.ts';
import { errorPointer } from '../model/host-target.ts';
import type { SyncDaemon } from '../model/director-pair.ts';

export const STATUS_FORMAT = 1;

/** Counters and rates of one service or real server (zeros where the kernel printed none). */
export interface Observed {
  readonly activeConns: number;
  readonly inactiveConns: number;
  /** Connections since the service or real server was added. */
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
  readonly connsPerSecond: number;
  readonly inPacketsPerSecond: number;
  readonly outPacketsPerSecond: number;
  readonly inBytesPerSecond: number;
  readonly outBytesPerSecond: number;
}

export interface RealServerStatus extends Observed {
  readonly id: string;
  readonly forwarding: string;
  readonly weight: number;
}

export interface ServiceStatus extends Observed {
  readonly id: string;
  readonly scheduler: string;
  /** Owned by the stack (listed in its ownership record on the director). */
  readonly owned: boolean;
  /** The construct path that declared it, when owned. */
  readonly path?: string;
  readonly realServers: readonly RealServerStatus[];
}

export interface DirectorStatus {
  readonly director: string;
  readonly where: string;
  readonly services: readonly ServiceStatus[];
  /** A pair member's running connection sync daemons (read when the app asks for them). */
  readonly syncDaemons?: readonly SyncDaemon[];
  readonly error?: { readonly code: string; readonly message: string; readonly hint?: string };
}

const NO_RATES: Rates = { connsPerSecond: 0, inPacketsPerSecond: 0, outPacketsPerSecond: 0, inBytesPerSecond: 0, outBytesPerSecond: 0 };

function observed(c: Counters | undefined, r: Rates | undefined): Observed {
  return {
    activeConns: c?.activeConns ?? 0,
    inactiveConns: c?.inactiveConns ?? 0,
    conns: c?.conns ?? 0,
    inPackets: c?.inPackets ?? 0,
    outPackets: c?.outPackets ?? 0,
    inBytes: c?.inBytes ?? 0,
    outBytes: c?.outBytes ?? 0,
    ...NO_RATES,
    ...r,
  };
}

export interface StatusSections {
  readonly save: string;
  readonly list: string;
  readonly stats: string;
  readonly rate: string;
}

/** Joins the table, the counters and the record into one status per service (pure: the unit-tested part). */
export function buildStatus(director: string, where: string, sections: StatusSections, record: OwnershipRecord | undefined): DirectorStatus {
  const table: Table = parseSave(sections.save, `ipvsadm -S -n on ${where}`);
  const counters = parseCounters(sections.list, sections.stats, `ipvsadm -L -n on ${where}`);
  const rates = parseRate(sections.rate, `ipvsadm -L -n --rate on ${where}`);
  const services = table.services.map((s): ServiceStatus => {
    const id = serviceId(s.key);
    const owned = record?.services[id];
    return {
      id,
      scheduler: s.config.scheduler,
      owned: owned !== undefined,
      ...(owned ? { path: owned.path } : {}),
      ...observed(counters.get(id), rates.get(id)),
      realServers: s.destinations.map((d) => {
        const key = `${id} -> ${destinationId(d)}`;
        return { id: destinationId(d), forwarding: d.forwarding.method, weight: d.weight, ...observed(counters.get(key), rates.get(key)) };
      }),
    };
  });
  return { director, where, services };
}

/** 1234567 → `1.2M`; small numbers as they are. */
export function humanCount(n: number): string {
  if (n < 10_000) return String(n);
  for (const [unit, size] of [
    ['T', 1e12],
    ['G', 1e9],
    ['M', 1e6],
    ['K', 1e3],
  ] as const) {
    if (n >= size) return `${(n / size).toFixed(n / size < 100 ? 1 : 0)}${unit}`;
  }
  return String(n);
}

const HEADER = ['', 'ACTIVE', 'INACT', 'CONNS', 'CONN/S', 'PKTS IN/OUT', 'BYTES IN/OUT', 'B/S IN/OUT', 'SHARE OF CONNS'];

/** Width of a full share bar, in characters. */
export const BAR_WIDTH = 20;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * `part` of `total` as a bar of `width` characters drawn to an eighth of a character, and the percentage: the bars of
 * one service's real servers side by side show a skewed scheduler at a glance. Empty when the total is 0.
 */
export function shareBar(part: number, total: number, width = BAR_WIDTH): string {
  if (total <= 0) return '';
  const eighths = Math.round((Math.min(part, total) / total) * width * 8);
  const bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
  return `${bar.padEnd(width)} ${String(Math.round((part / total) * 100)).padStart(3)}%`;
}

function row(first: string, o: Observed, share = ''): string[] {
  return [
    first,
    String(o.activeConns),
    String(o.inactiveConns),
    humanCount(o.conns),
    String(o.connsPerSecond),
    `${humanCount(o.inPackets)}/${humanCount(o.outPackets)}`,
    `${humanCount(o.inBytes)}/${humanCount(o.outBytes)}`,
    `${humanCount(o.inBytesPerSecond)}/${humanCount(o.outBytesPerSecond)}`,
    share,
  ];
}

/**
 * The status of every director as a text table (one block per director). With `errorsApart`, the caller prints each
 * director's error on standard error and the table only marks the director, so that a terminal shows the error once.
 */
export function renderStatus(directors: readonly DirectorStatus[], opts: { readonly errorsApart?: boolean } = {}): string {
  const out: string[] = [];
  for (const d of directors) {
    out.push(d.where);
    if (d.error) {
      if (opts.errorsApart) out.push(`  not read (${errorPointer(d.error.code)})`, '');
      else out.push(`  error [${d.error.code}]: ${d.error.message}`, ...(d.error.hint ? [`  ${d.error.hint}`] : []), '');
      continue;
    }
    if (d.syncDaemons) {
      const running = d.syncDaemons.map((s) => `${s.role} (mcast=${s.interface}, syncid=${s.syncId})`);
      out.push(`  sync daemons: ${running.length > 0 ? running.join(', ') : 'none running'}`);
    }
    if (d.services.length === 0) {
      out.push('  (no virtual services)', '');
      continue;
    }
    const rows: string[][] = [HEADER];
    for (const s of d.services) {
      rows.push(row(`${s.id} ${s.scheduler} ${s.owned ? `owned (${s.path})` : 'not owned'}`, s));
      // Each real server's share of the connections its service has given out (CONNS), as a bar.
      const total = s.realServers.reduce((a, r) => a + r.conns, 0);
      for (const r of s.realServers) rows.push(row(`  -> ${r.id} ${r.forwarding} w=${r.weight}`, r, shareBar(r.conns, total)));
    }
    const last = HEADER.length - 1;
    const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const cell = (text: string, i: number): string => (i === 0 || i === last ? text.padEnd(widths[i]!) : text.padStart(widths[i]!));
    for (const r of rows) out.push(`  ${r.map(cell).join('  ')}`.trimEnd());
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
