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
