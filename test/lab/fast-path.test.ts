/**
 * apply/plan with refresh: false on the real kernel: it trusts the stored table while the /proc/net/ip_vs
 * fingerprint matches the last verified apply, verifies a fast batch, and falls back to the full read (showing the
 * drift) when a hand-made change moved the table.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Service, Table } from '../../providers/ipvs/model/model.ts';
import { normalizeTable, serviceId } from '../../providers/ipvs/model/model.ts';
import type { DesiredDirector } from '../../providers/ipvs/model/desired-director.ts';
import { applyStack, planStack } from '../../providers/ipvs/apply/run-stack.ts';
import { lab, resetDirector, sh } from './helpers.ts';
import { alias, liveTable } from './stack-harness.ts';
import { dest } from '../unit/render-graph/fixtures.ts';

const STACK = 'fastpath';

function table(weight: number): Table {
  const services: Service[] = [];
  for (let i = 0; i < 20; i++) {
    services.push({
      key: { kind: 'addr', protocol: 'tcp', address: `198.51.100.${10 + (i % 5)}`, port: 2000 + i },
      config: { scheduler: 'wrr', schedFlags: [], onePacket: false, ...(i === 1 ? { persistence: { timeout: 60, netmask: '255.255.255.0' } } : {}) },
      destinations: [11, 12, 13, 14].map((h, r) => ({
        address: `192.0.2.${h}`,
        port: 80,
        forwarding: { method: 'masq' as const },
        weight: i === 0 && r === 0 ? weight : 1,
        upperThreshold: i === 2 ? 100 : 0,
        lowerThreshold: i === 2 ? 10 : 0,
      })),
    });
  }
  return normalizeTable({ services });
}

function desired(t: Table): DesiredDirector[] {
  const d = lab().directors[0]!;
  const target = { name: d.name, transport: 'ssh' as const, ssh: { configFile: lab().sshConfig, alias: d.alias } };
  return [{ name: d.name, target, table: t, paths: new Map(t.services.map((s) => [serviceId(s.key), `fast/${serviceId(s.key)}`])) }];
}

const opts = { stack: STACK, drain: false, refresh: false } as const;

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('apply with refresh: false', () => {
  it('plans no changes from the stored table, applies one weight fast and verifies it, and falls back on a hand change', async () => {
    // GIVEN a table applied with refresh: false (no fast state yet: the full read, then the state is stored)
    const first = await applyStack(desired(table(1)), opts);
    expect(first.outcomes[0]?.status).toBe('applied');
    expect(first.plan.directors[0]?.refresh).toEqual({ trusted: false, reason: 'no ownership record yet' });

    // WHEN it is planned again with refresh: false / THEN the stored table is trusted and there is nothing to do
    const noop = await planStack(desired(table(1)), opts);
    expect(noop.directors[0]?.refresh).toEqual({ trusted: true });
    expect(noop.directors[0]?.changes).toEqual([]);

    // WHEN one weight changes / THEN it is planned from the stored table, applied, verified, and the kernel has it
    const fast = await applyStack(desired(table(5)), opts);
    expect(fast.plan.directors[0]?.refresh).toEqual({ trusted: true });
    expect(fast.plan.directors[0]?.changes.map((c) => c.changedFields)).toEqual([['weight']]);
    expect(fast.outcomes[0]?.status).toBe('applied');
    expect(normalizeTable(await liveTable(1))).toEqual(table(5));
    // and the next fast plan trusts the state that apply stored
    expect((await planStack(desired(table(5)), opts)).directors[0]?.refresh).toEqual({ trusted: true });

    // WHEN someone changes a weight by hand
    await sh(alias(1), 'ipvsadm -e -t 198.51.100.13:2003 -r 192.0.2.12:80 -m -w 9');
    // THEN the fingerprint differs: lvsform reads everything, shows the drift, and plans to put the weight back
    const drifted = await planStack(desired(table(5)), opts);
    const d = drifted.directors[0]!;
    expect(d.refresh?.trusted).toBe(false);
    expect(d.refresh?.reason).toMatch(/fingerprint differs/);
    expect(d.drift).toEqual(['tcp 198.51.100.13:2003']);
    expect(d.changes.map((c) => `${c.serviceId} ${c.kind === 'destination' ? c.destinationId : ''} ${c.changedFields?.join(',')}`)).toEqual([
      'tcp 198.51.100.13:2003 192.0.2.12:80 weight',
    ]);

    // WHEN applied / THEN the weight is back, and the stored state is trusted again afterwards
    const repaired = await applyStack(desired(table(5)), opts);
    expect(repaired.outcomes[0]?.status).toBe('applied');
    expect(normalizeTable(await liveTable(1))).toEqual(table(5));
    expect((await planStack(desired(table(5)), opts)).directors[0]?.refresh).toEqual({ trusted: true });
  });
});

describe('what /proc/net/ip_vs shows, on the real kernel', () => {
  const svc = (key: Service['key'], scheduler: string, destinations: Service['destinations'], onePacket = false): Service => ({
    key,
    config: { scheduler, schedFlags: [], onePacket },
    destinations,
  });
  // Every attribute here shows in /proc: protocols, both families, one-packet on IPv4, schedulers, methods, weight 0.
  const shown: Service[] = [
    svc({ kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 }, 'wrr', [
      dest('192.0.2.11', 3, 8080, 'masq'),
      dest('192.0.2.12', 0, 8080, 'masq'),
    ]),
    svc({ kind: 'addr', protocol: 'udp', address: '198.51.100.10', port: 53 }, 'sh', [dest('192.0.2.11', 1, 53, 'droute')], true),
    svc({ kind: 'addr', protocol: 'sctp', address: '198.51.100.11', port: 2905 }, 'lc', [dest('192.0.2.13', 1, 2905, 'masq')]),
    svc({ kind: 'addr', protocol: 'tcp', address: '2001:db8::10', port: 443 }, 'mh', [dest('2001:db8:1::11', 2, 443, 'droute')]),
  ];
  // One-packet scheduling on an IPv6 address: the kernel keeps it, and prints no "ops" for it in /proc.
  const blind = (weight: number) =>
    svc({ kind: 'addr', protocol: 'udp', address: '2001:db8::10', port: 53 }, 'rr', [dest('2001:db8:1::11', weight, 53, 'masq')], true);
  const fallbacks = (steps: string[]) => steps.filter((m) => /not possible|whole table to report/.test(m));

  it('verifies by /proc what it shows, as the kernel prints it (no "ops" on IPv6), and falls back for nothing', async () => {
    const steps: string[] = [];
    const onProgress = (_d: string, m: string) => steps.push(m);
    // GIVEN services whose every attribute /proc shows, applied with refresh: false (the verified state is kept)
    const first = await applyStack(desired(normalizeTable({ services: shown })), { ...opts, onProgress });
    // THEN one /proc read verified them, with no fallback
    expect(first.outcomes[0]?.status).toBe('applied');
    expect(steps).toContain('verifying: reading /proc/net/ip_vs back');
    expect(fallbacks(steps)).toEqual([]);
    expect(normalizeTable(await liveTable(1))).toEqual(normalizeTable({ services: shown }));

    // WHEN an IPv6 service with one-packet scheduling is added, fast (refresh: false)
    const withBlind = (w: number) => normalizeTable({ services: [...shown, blind(w)] });
    steps.length = 0;
    const second = await applyStack(desired(withBlind(1)), { ...opts, onProgress });
    // THEN the kernel prints "ops" for the IPv4 one-packet service and none for the IPv6 one
    expect(second.outcomes[0]?.status).toBe('applied');
    const proc = (await sh(alias(1), 'cat /proc/net/ip_vs')).stdout;
    expect(proc).toMatch(/^UDP {2}C633640A:0035 sh ops/m);
    expect(proc).toMatch(/^UDP {2}\[2001:0db8:0000:0000:0000:0000:0000:0010\]:0035 rr *$/m);
    // AND the fast verification (/proc and the service's own listing, which shows the flag) accepted it as desired
    expect(steps).toContain('verifying: /proc/net/ip_vs and the changed services');
    expect(fallbacks(steps)).toEqual([]);
    expect(normalizeTable(await liveTable(1))).toEqual(withBlind(1));
    // AND the state it stored is trusted by the next fast plan, which finds nothing to do
    const noop = await planStack(desired(withBlind(1)), opts);
    expect(noop.directors[0]?.refresh).toEqual({ trusted: true });
    expect(noop.directors[0]?.changes).toEqual([]);

    // WHEN its weight changes with a full read (refresh: true) THEN /proc cannot show the flag: the whole table verifies
    steps.length = 0;
    const third = await applyStack(desired(withBlind(4)), { stack: STACK, drain: false, onProgress });
    expect(third.outcomes[0]?.status).toBe('applied');
    expect(steps).toContain('verifying: reading the table back');
    expect(fallbacks(steps)).toEqual([]);
    expect(normalizeTable(await liveTable(1))).toEqual(withBlind(4));
  });
});
