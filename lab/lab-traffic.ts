import { join } from 'node:path';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { clientExec } from './cluster-facts.ts';
import { type LabExecResult, labExec, requireLabState } from './lab-exec.ts';
import { type LabState, labPaths } from './state.ts';

export interface LabTrafficOptions {
  /** Director name, alias or number (single-guest lab: whose client sends). @default the first director */
  readonly director?: string | number;
  /** `198.51.100.10:80` or `[2001:db8:100::10]:80` (port defaults to 80 for tcp, 53 for udp). */
  readonly target: string;
  /** Requests (tcp: one HTTP GET per new connection; udp: one datagram per new source port). @default 20 */
  readonly count?: number;
  /** @default 'tcp' */
  readonly protocol?: 'tcp' | 'udp';
  /** Pause between requests. @default 0 */
  readonly intervalMs?: number;
  /** Per-request timeout. @default 2000 */
  readonly timeoutMs?: number;
  readonly dir?: string;
  readonly state?: LabState;
}

export interface LabTrafficResult {
  /** Answers by real-server name (`rs1` …). */
  readonly perServer: Record<string, number>;
  readonly failures: number;
  readonly total: number;
}

export function parseTarget(target: string, protocol: 'tcp' | 'udp'): { host: string; port: number; v6: boolean } {
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(target) ?? /^([0-9.]+)(?::(\d+))?$/.exec(target);
  if (!m?.[1]) {
    throw new LvsError('LVS_LAB_BAD_TARGET', `traffic target must look like 198.51.100.10:80 or [2001:db8:100::10]:80; got "${target}"`);
  }
  const port = m[2] === undefined ? (protocol === 'udp' ? 53 : 80) : Number(m[2]);
  if (port < 1 || port > 65535) throw new LvsError('LVS_LAB_BAD_TARGET', `bad port in "${target}"`);
  return { host: m[1], port, v6: m[1].includes(':') };
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const STATUS = /^lvsform-status:(\d{3})$/;

/** Counts HTTP bodies by name from curl's output, where each transfer ends with a `lvsform-status:CODE` line. */
export function countHttpAnswers(output: string): { perServer: Record<string, number>; answered: number } {
  const perServer: Record<string, number> = {};
  let answered = 0;
  let body: string[] = [];
  for (const line of output.split('\n')) {
    const status = STATUS.exec(line);
    if (!status) {
      body.push(line);
      continue;
    }
    const name = body.join('\n').trim();
    if (status[1] === '200' && NAME.test(name)) {
      perServer[name] = (perServer[name] ?? 0) + 1;
      answered++;
    }
    body = [];
  }
  return { perServer, answered };
}

/**
 * Sends real traffic from the `client` namespace of a director (in a cluster lab: from the client namespace on this
 * machine) to a VIP and counts which real server answered.
 * One process does all requests (a process costs ≈ 30 ms in the guest): curl with `Connection: close` for tcp
 * (a new connection each time, so the scheduler rotates), a small perl client for udp.
 */
export async function labTraffic(opts: LabTrafficOptions): Promise<LabTrafficResult> {
  const protocol = opts.protocol ?? 'tcp';
  const total = opts.count ?? 20;
  const interval = opts.intervalMs ?? 0;
  const timeout = opts.timeoutMs ?? 2000;
  const { host, port, v6 } = parseTarget(opts.target, protocol);
  const state = opts.state ?? (await requireLabState(opts.dir));
  const director = opts.director ?? state.directors[0]?.name ?? '1';
  const timeoutMs = 30_000 + total * (timeout + interval);
  const inClient = (argv: readonly string[], input?: string): Promise<LabExecResult> =>
    state.cluster
      ? clientExec(argv, { state, timeoutMs, ...(input === undefined ? {} : { input }) })
      : labExec(director, ['ip', 'netns', 'exec', 'client', ...argv], { state, timeoutMs, ...(input === undefined ? {} : { input }) });
  const udpClient = state.cluster ? join(labPaths(state.dir).guest, 'udp-client.pl') : '/etc/lvsform/udp-client.pl';

  if (protocol === 'udp') {
    const r = await inClient(['perl', udpClient, host, String(port), String(total), String(timeout), String(interval)]);
    const perServer: Record<string, number> = {};
    let answered = 0;
    for (const line of r.stdout.split('\n')) {
      const name = line.trim();
      if (name === '' || name === '@@fail' || !NAME.test(name)) continue;
      perServer[name] = (perServer[name] ?? 0) + 1;
      answered++;
    }
    return { perServer, failures: total - answered, total };
  }

  const url = `http://${v6 ? `[${host}]` : host}:${port}/`;
  const seconds = (timeout / 1000).toFixed(3);
  const args = [
    'curl',
    '--silent',
    '--globoff',
    '--max-time',
    seconds,
    '--connect-timeout',
    seconds,
    '--header',
    'Connection: close',
    '--write-out',
    '\nlvsform-status:%{http_code}\n',
    ...(interval > 0 ? ['--rate', `${Math.max(1, Math.round(3_600_000 / interval))}/h`] : []),
    '--config',
    '-',
  ];
  const config = `url = "${url}"\n`.repeat(total);
  const r = await inClient(args, config);
  const { perServer, answered } = countHttpAnswers(r.stdout);
  return { perServer, failures: total - answered, total };
}
