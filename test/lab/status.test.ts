/**
 * `lvsform status` on the real kernel: after real traffic through an owned service, the table shows non-zero
 * connection counts for it and its real servers, and says which services the stack owns.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DirectorStatus } from '../../providers/ipvs/ops/status.ts';
import { resetDirector, sh, traffic } from './helpers.ts';
import { cliOn } from './ops-harness.ts';
import { alias, apply, synthExample } from './stack-harness.ts';

interface StatusDocument {
  readonly format_version: number;
  readonly directors: DirectorStatus[];
}

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('lvsform status on the lab', () => {
  it('shows connections of the owned service after traffic, and a hand-made service as not owned', async () => {
    // GIVEN nat-web applied on director 1, a hand-made service beside it, and 30 requests through the VIP
    const stack = await synthExample('nat-web', [1]);
    expect((await apply(stack)).outcomes[0]?.status).toBe('applied');
    await sh(alias(1), 'ipvsadm -A -u 198.51.100.12:53 -s rr');
    const sent = await traffic({ director: alias(1), target: '198.51.100.10:80', count: 30 });
    expect(sent.failures).toBe(0);
    // WHEN status is read as JSON, polling because the kernel's rate estimator lags about 2 s
    let doc: StatusDocument | undefined;
    for (let i = 0; i < 15; i++) {
      const res = await cliOn(stack, ['status', '--no-synth', '--json']);
      expect(res.exitCode, res.stderr).toBe(0);
      doc = JSON.parse(res.stdout) as StatusDocument;
      // Totals lag as well as rates (the 6.1 estimator folds per-CPU counters on a timer): wait for both.
      const web = doc.directors[0]?.services.find((s) => s.id === 'tcp 198.51.100.10:80');
      if ((web?.connsPerSecond ?? 0) > 0 && (web?.conns ?? 0) >= 30) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    // THEN the owned service counts the 30 connections, with packets and bytes both ways, spread over its real servers
    const services = doc!.directors[0]!.services;
    const web = services.find((s) => s.id === 'tcp 198.51.100.10:80')!;
    expect(web.owned).toBe(true);
    expect(web.path).toBe('nat-web/lb1/http');
    expect(web.conns).toBe(30);
    expect(web.inactiveConns + web.activeConns).toBeGreaterThan(0);
    expect(web.connsPerSecond).toBeGreaterThan(0);
    expect(web.inPackets).toBeGreaterThan(0);
    expect(web.outBytes).toBeGreaterThan(0);
    expect(web.realServers.map((r) => r.conns)).toEqual([10, 10, 10]);
    // AND the hand-made service is listed as not owned
    expect(services.find((s) => s.id === 'udp 198.51.100.12:53')?.owned).toBe(false);
  });

  it('prints a table per director and refreshes a bounded number of times with --watch --count', async () => {
    // GIVEN nat-web applied on director 1
    const stack = await synthExample('nat-web', [1]);
    await apply(stack);
    // WHEN status is watched for two refreshes one second apart
    const res = await cliOn(stack, ['status', '--no-synth', '--watch', '--count', '2', '--interval', '1']);
    // THEN both refreshes print the table with the owned service and its three real servers
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout.match(/lvsform status: stack nat-web/g)).toHaveLength(2);
    expect(res.stdout).toMatch(/tcp 198\.51\.100\.10:80 rr owned \(nat-web\/lb1\/http\)/);
    expect(res.stdout.match(/-> 192\.0\.2\.1[123]:80 masq w=1/g)).toHaveLength(6);
  });
});
