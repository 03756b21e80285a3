/**
 * `lvsform doctor` on a real-server host: what the services that send to it need (model/real-server.ts), held against
 * what it holds, read through the seam in one round trip (`real-server-read`, no lock: it changes nothing). The checks
 * are a pure function of the two: each VIP on `lo`, the ARP settings in effect (the kernel takes the larger of `all`
 * and the interface's value), each tunnel device up, each GUE port open, and the NAT route back.
 */
import { errorInfo } from '../model/errors.ts';
import { describeTarget } from '../model/host-target.ts';
import type { DesiredRealServer } from '../model/desired-real-server.ts';
import { type LiveRealServer, routeCheckText } from '../model/real-server.ts';
import { planRealServer } from '../plan/real-server.ts';
import type { OpenDirectorHost } from '../host/director-host.ts';
import { eachDirector } from '../host/fan-out.ts';
import { openShDirectorHost } from '../host/sh-director-host.ts';
import type { SessionOptions } from '../host/transport.ts';
import type { Check } from './doctor.ts';
import type { DoctorResult } from './doctor-director.ts';

const APPLY = 'lvsform apply prepares it (RealServerHost)';

/** The checklist of a real server, from what it holds. */
export function evaluateRealServer(d: DesiredRealServer, live: LiveRealServer): Check[] {
  const checks: Check[] = [];
  const prep = d.prep;
  const warn = (name: string, ok: boolean, good: string, bad: string): void => {
    checks.push(ok ? { name, status: 'ok', detail: good, blocking: false } : { name, status: 'warn', detail: bad, fix: APPLY, blocking: false });
  };
  if (prep.backing.length === 0) {
    checks.push({ name: 'services', status: 'info', detail: `no service of the app sends to ${d.spec.addresses.join(', ')}`, blocking: false });
  }
  for (const vip of prep.vips) {
    const onLo = live.addresses.some((a) => a.address === vip && a.device === 'lo');
    const elsewhere = live.addresses.find((a) => a.address === vip && a.device !== 'lo');
    warn(
      `VIP ${vip}`,
      onLo || elsewhere !== undefined,
      `on ${onLo ? 'lo' : elsewhere?.device}`,
      'not on lo: packets sent to it by direct routing or a tunnel are dropped',
    );
  }
  if (prep.arp) {
    const value = (dev: string, name: string) => Number(live.sysctls[`net.ipv4.conf.${dev}.${name}`] ?? '0');
    const devs = d.spec.interface ? [d.spec.interface] : [];
    const eff = (name: string) => Math.max(value('all', name), ...devs.map((x) => value(x, name)));
    const ignore = eff('arp_ignore');
    const announce = eff('arp_announce');
    warn(
      'arp_ignore',
      ignore === 1 || ignore === 2,
      `${ignore} in effect: the VIPs on lo are not answered`,
      `${ignore} in effect: this host answers ARP for the VIPs on lo, taking the director's traffic`,
    );
    warn('arp_announce', announce === 2, `${announce} in effect`, `${announce} in effect: this host may announce a VIP as a source address`);
  }
  for (const t of prep.tunnels)
    warn(`tunnel ${t}`, live.up.includes(t), 'up', live.links.includes(t) ? 'down: tunnelled packets are dropped' : 'missing (its module is not loaded)');
  for (const f of prep.fou) {
    const open = live.fou.some((x) => x.port === f.port && x.family === f.family);
    warn(`fou port ${f.port}${f.family === 'inet6' ? ' (IPv6)' : ''}`, open, 'open (gue)', 'not open: GUE packets are dropped');
  }
  // The route checks are the plan's own: one rule for both.
  const planned = planRealServer({ host: d.spec, prep, live, record: undefined });
  for (const c of planned.checks) {
    const { warn: bad, text } = routeCheckText(c);
    checks.push({
      name: `NAT route back (${c.family === 'inet6' ? 'IPv6' : 'IPv4'})`,
      status: bad ? 'warn' : 'ok',
      detail: text,
      ...(bad ? { fix: "Route this host's replies through the director (or nat: { gateways, manage: true })" } : {}),
      blocking: false,
    });
  }
  for (const n of planned.notes) checks.push({ name: 'note', status: 'info', detail: n, blocking: false });
  return checks;
}

/** Examines every real-server host, ten at once, as `doctorDirectors` does the directors. */
export function doctorRealServers(
  hosts: readonly DesiredRealServer[],
  stack: string,
  opts: SessionOptions & { readonly onProgress?: (host: string, message: string) => void; readonly onIdle?: (host: string) => void } = {},
): Promise<DoctorResult[]> {
  return eachDirector(hosts, { done: (h) => opts.onIdle?.(h.name) }, (h) => doctorRealServer(h, stack, opts));
}

/** Reads a real server and judges it; an unreachable one is a failed `reachable` check, as for a director. */
export async function doctorRealServer(
  d: DesiredRealServer,
  stack: string,
  opts: SessionOptions & { readonly openHost?: OpenDirectorHost; readonly onProgress?: (host: string, message: string) => void } = {},
): Promise<DoctorResult> {
  const where = `real server ${describeTarget(d.target)}`;
  opts.onProgress?.(d.name, `connecting to ${describeTarget(d.target)}`);
  const host = (opts.openHost ?? openShDirectorHost)(d.target, opts);
  try {
    const [read] = await host.exchange([{ kind: 'real-server-read', stack }]);
    return { director: d.name, where, checks: evaluateRealServer(d, read.live) };
  } catch (e) {
    const error = errorInfo(e);
    return {
      director: d.name,
      where,
      checks: [{ name: 'reachable', status: 'fail', detail: error.message, ...(error.hint ? { fix: error.hint } : {}), blocking: true }],
      error,
    };
  } finally {
    await host.close();
  }
}
