/**
 * The provider engine on the real kernel: every example applied, read back and balancing real traffic; exact
 * second plans; ownership (unmanaged services survive apply and destroy); drift; stale saved plans; destroy; two
 * directors in parallel.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { tableEquals } from '../../providers/ipvs/model/model.ts';
import { resetDirector, sh, traffic } from './helpers.ts';
import { alias, apply, cli, destroy, hostSnapshot, liveTable, plan, saveText, synthExample, type ExampleName } from './stack-harness.ts';

/** Where each example's services are reached from the client, and which real servers must answer. */
const TRAFFIC: Record<ExampleName, { target: string; protocol?: 'tcp' | 'udp'; servers: string[] }[]> = {
  'nat-web': [{ target: '198.51.100.10:80', servers: ['rs1', 'rs2', 'rs3'] }],
  'direct-routing': [
    { target: '198.51.100.20:80', servers: ['rs1', 'rs2', 'rs3'] },
    { target: '198.51.100.21:53', protocol: 'udp', servers: ['rs1', 'rs2', 'rs3'] },
  ],
  tunnel: [
    { target: '198.51.100.30:80', servers: ['rs1', 'rs2', 'rs3'] },
    { target: '198.51.100.31:80', servers: [] },
  ],
  'dual-stack-fwmark': [
    { target: '[2001:db8:100::10]:80', servers: ['rs1', 'rs2', 'rs3'] },
    { target: '198.51.100.50:80', servers: [] },
  ],
  'two-directors': [{ target: '198.51.100.10:80', servers: ['rs1', 'rs2', 'rs3'] }],
};

beforeEach(async () => {
  await Promise.all([resetDirector(alias(1)), resetDirector(alias(2))]);
});

describe('apply on the lab', () => {
  it.each(Object.keys(TRAFFIC) as ExampleName[])('applies %s, reads it back exactly, balances traffic, and plans no changes after', async (name) => {
    // GIVEN an example synthesized against lab directors 1 (and 2)
    const stack = await synthExample(name);
    // WHEN it is applied
    const report = await apply(stack);
    // THEN every director is applied and verified
    expect(report.outcomes.map((o) => [o.director, o.status, o.error?.message])).toEqual(stack.directors.map((d) => [d.name, 'applied', undefined]));
    // AND the kernel table read back with ipvsadm equals the desired table
    for (const [i, d] of stack.directors.entries()) {
      expect(tableEquals(await liveTable(i + 1), d.table)).toBe(true);
    }
    // AND real requests through each VIP reach the real servers with no failure
    for (const t of TRAFFIC[name]) {
      for (const [i] of stack.directors.entries()) {
        const r = await traffic({ director: alias(i + 1), target: t.target, protocol: t.protocol ?? 'tcp', count: 24 });
        expect(r.failures, `${t.target} on director ${i + 1}`).toBe(0);
        const expected = t.servers.length ? t.servers : Object.keys(r.perServer);
        expect(Object.keys(r.perServer).sort()).toEqual(expected.sort());
        expect(Object.keys(r.perServer).length).toBeGreaterThanOrEqual(t.servers.length ? 3 : 1);
      }
    }
    // AND a second plan is exactly empty
    const again = await plan(stack);
    expect(again.directors.map((d) => [d.error, d.changes.length, d.drift.length])).toEqual(stack.directors.map(() => [undefined, 0, 0]));
  });
});

describe('ownership', () => {
  it('never touches a service it does not own, through apply and destroy', async () => {
    // GIVEN a hand-made service on the director
    await sh(alias(1), 'ipvsadm -A -t 198.51.100.12:8080 -s lc && ipvsadm -a -t 198.51.100.12:8080 -r 192.0.2.14:8080 -m -w 3');
    const handMade = await saveText(1);
    const stack = await synthExample('nat-web');
    // WHEN the stack is planned, applied and destroyed
    const p = await plan(stack);
    expect(p.directors[0]!.unmanaged).toEqual(['tcp 198.51.100.12:8080']);
    expect((await apply(stack)).outcomes[0]!.status).toBe('applied');
    expect((await destroy(stack)).outcomes[0]!.status).toBe('applied');
    // THEN the hand-made service is exactly as it was, and nothing of the stack is left
    expect(await saveText(1)).toBe(handMade);
    // (the lock and its holder file, which the unlock empties rather than removes)
    expect((await sh(alias(1), 'ls /var/lib/lvsform; wc -c < /var/lib/lvsform/lock.holder')).stdout.trim()).toBe('lock\nlock.holder\n0');
  });

  it('refuses to take over a declared service that exists but is not owned, unless --adopt', async () => {
    // GIVEN the VIP already configured by hand with another scheduler
    await sh(alias(1), 'ipvsadm -A -t 198.51.100.10:80 -s wlc');
    const before = await hostSnapshot(1);
    const stack = await synthExample('nat-web');
    // WHEN applied without adopt THEN it fails naming the service and changes nothing
    const refused = await apply(stack);
    expect(refused.outcomes[0]!.error?.code).toBe('LVS_NOT_OWNED');
    expect(refused.outcomes[0]!.error?.message).toContain('tcp 198.51.100.10:80');
    expect(await hostSnapshot(1)).toBe(before);
    // WHEN applied with adopt THEN the service is made to match and owned
    const adopted = await apply(stack, { adopt: true });
    expect(adopted.outcomes[0]!.status).toBe('applied');
    expect(tableEquals(await liveTable(1), stack.directors[0]!.table)).toBe(true);
    expect((await plan(stack)).directors[0]!.changes).toEqual([]);
  });

  it('destroy leaves the director as it was before the first apply', async () => {
    // GIVEN an empty director
    const before = await saveText(1);
    const stack = await synthExample('dual-stack-fwmark');
    await apply(stack);
    // WHEN the stack is destroyed
    const report = await destroy(stack);
    // THEN the table is what it was and the ownership record is gone
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(await saveText(1)).toBe(before);
    expect((await sh(alias(1), 'test -e /var/lib/lvsform/dual-stack-fwmark.json; echo $?')).stdout.trim()).toBe('1');
  });
});

describe('drift', () => {
  it('shows exactly the hand-made change as drift, with the fix; --refresh-only proposes nothing', async () => {
    // GIVEN an applied stack whose real server weight was then changed by hand
    const stack = await synthExample('nat-web');
    await apply(stack);
    await sh(alias(1), 'ipvsadm -e -t 198.51.100.10:80 -r 192.0.2.12:80 -m -w 7');
    // WHEN planned
    const p = (await plan(stack)).directors[0]!;
    // THEN the service is drifted and the fix is one weight update back to 1
    expect(p.drift).toEqual(['tcp 198.51.100.10:80']);
    expect(p.changes.map((c) => [c.action, c.kind, 'destinationId' in c ? c.destinationId : '', c.changedFields])).toEqual([
      ['update', 'destination', '192.0.2.12:80', ['weight']],
    ]);
    // AND refresh-only shows the drift without changes
    const r = (await plan(stack, { refreshOnly: true })).directors[0]!;
    expect([r.drift, r.changes]).toEqual([['tcp 198.51.100.10:80'], []]);
    // AND apply restores it
    await apply(stack);
    expect(tableEquals(await liveTable(1), stack.directors[0]!.table)).toBe(true);
  });
});

describe('saved plans (CLI)', () => {
  /**
   * The CLI in a project of its own whose app is examples/nat-web (the repository's own cdktf.json runs the demo's
   * cluster app, which needs the cluster lab).
   */
  const project = (): string => {
    const root = join(import.meta.dirname, '../..');
    const dir = mkdtempSync(join(tmpdir(), 'lvsform-nat-web-'));
    const app = `${join(root, 'node_modules/.bin/tsx')} ${join(root, 'examples/nat-web/main.ts')}`;
    writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app, output: 'cdktf.out' }));
    return dir;
  };
  let dir = '';
  const natWeb = (args: readonly string[]) => cli(['-C', dir, ...args]);
  beforeEach(() => {
    dir = project();
  });

  it('plan --detailed-exitcode says 2 for changes, 0 after apply', async () => {
    const first = await natWeb(['plan', '--detailed-exitcode']);
    expect(first.exitCode, first.stderr).toBe(2);
    expect(first.stdout).toContain('Plan: 4 to add, 0 to change, 0 to destroy.');
    const applied = await natWeb(['apply', '--auto-approve', '--no-synth']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    const second = await natWeb(['plan', '--detailed-exitcode', '--no-synth']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('No changes.');
  });

  it('refuses a saved plan after the table changed, and changes nothing', async () => {
    // GIVEN a saved plan
    const file = join(mkdtempSync(join(tmpdir(), 'lvsform-plan-')), 'web.plan');
    expect((await natWeb(['plan', '--out', file])).exitCode).toBe(0);
    // AND someone changes the table afterwards
    await sh(alias(1), 'ipvsadm -A -u 198.51.100.11:53 -s rr');
    const before = await hostSnapshot(1);
    // WHEN the saved plan is applied
    const res = await natWeb(['apply', file]);
    // THEN it is refused as stale, and the director is byte-identical
    expect(res.exitCode).toBe(1);
    expect(res.stdout + res.stderr).toContain('table changed since the plan was made');
    expect(await hostSnapshot(1)).toBe(before);
  });

  it('applies a saved plan exactly when nothing changed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'lvsform-plan-')), 'web.plan');
    expect((await natWeb(['plan', '--out', file])).exitCode).toBe(0);
    const res = await natWeb(['apply', file]);
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('applied and verified');
  });
});

describe('fleet', () => {
  it('applies two directors in parallel, each verified', async () => {
    const stack = await synthExample('two-directors', [1, 2]);
    const report = await apply(stack, { parallelism: 2 });
    expect(report.outcomes.map((o) => o.status)).toEqual(['applied', 'applied']);
    expect(await saveText(1)).toBe(await saveText(2));
  });
});
