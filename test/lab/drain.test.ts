/**
 * Graceful drain under load on the real kernel: while a bounded stream of requests runs through the VIP, an apply that
 * adds, reweights and removes real servers loses no request. IPVS keeps a closed TCP connection as an inactive entry
 * for its FIN timeout (TIME_WAIT, 120 s by default), which would hold the drain until --drain-timeout: the test lowers
 * the FIN timeout to 2 s (`ipvsadm --set 900 2 300`) and restores the director's values after.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { resetDirector, sh, traffic } from './helpers.ts';
import { labSsh, synthApp } from './ops-harness.ts';
import { alias, apply, liveTable, plan } from './stack-harness.ts';

/** The web service on director 1 with these real servers (address → weight). */
function web(members: Record<string, number>): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'drain');
    const lb = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const pool = new RealServerPool(stack, 'web', {
      forwarding: Forwarding.NAT,
      members: Object.entries(members).map(([address, weight]) => ({ address, weight })),
    });
    lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.WEIGHTED_ROUND_ROBIN, pools: [pool] });
  });
}

let savedTimeouts = '';

beforeEach(async () => {
  await resetDirector(alias(1));
  // "Timeout (tcp tcpfin udp): 900 120 300"
  savedTimeouts = /:\s*(\d+ \d+ \d+)/.exec((await sh(alias(1), 'ipvsadm -L --timeout')).stdout)?.[1] ?? '900 120 300';
  await sh(alias(1), 'ipvsadm --set 900 2 300');
});

afterEach(async () => {
  await sh(alias(1), `ipvsadm --set ${savedTimeouts}`);
});

describe('graceful drain on the lab', () => {
  it('adds, reweights and removes real servers under load with no failed request', async () => {
    // GIVEN rs1 and rs3 serving the VIP
    expect((await apply(await web({ '192.0.2.11': 1, '192.0.2.13': 1 }))).outcomes[0]?.status).toBe('applied');
    const next = await web({ '192.0.2.11': 2, '192.0.2.12': 1 });
    // AND a plan that adds rs2, reweights rs1 and drains rs3
    const p = await plan(next, { drain: true });
    expect(p.directors[0]!.drain.map((d) => d.destinationId)).toEqual(['192.0.2.13:80']);
    expect(p.directors[0]!.changes.map((c) => `${c.action} ${c.kind === 'destination' ? c.destinationId : c.serviceId}`).sort()).toEqual([
      'create 192.0.2.12:80',
      'delete 192.0.2.13:80',
      'update 192.0.2.11:80',
    ]);
    // WHEN 300 requests run through the VIP while the change is applied with drain
    const load = traffic({ director: alias(1), target: '198.51.100.10:80', count: 300, intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 1500));
    const report = await apply(next, { drain: true, drainTimeout: 30 });
    const result = await load;
    // THEN the apply is verified, every request was answered, and rs3 answered only before it left
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    expect(result.failures).toBe(0);
    expect(result.total).toBe(300);
    expect(Object.keys(result.perServer).sort()).toEqual(['rs1', 'rs2', 'rs3']);
    // AND the table is the new one
    const table = await liveTable(1);
    expect(table.services[0]!.destinations.map((d) => [d.address, d.weight])).toEqual([
      ['192.0.2.11', 2],
      ['192.0.2.12', 1],
    ]);
  });
});
