/**
 * Ownership is exclusive: one service of a director has one owning stack. Plan and apply read every stack's record on
 * the director in the same round trip as the table; a service another stack owns is never created, changed, adopted
 * or deleted. Proven on the real kernel by test/lab/ownership.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { planHasErrors } from '../../../providers/ipvs/plan/plan.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { RECORD_FORMAT, serializeRecord } from '../../../providers/ipvs/model/record.ts';
import { FakeDirector, fakeFleet } from './fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1\n';
const API = '-A -t 198.51.100.20:443 -s wlc\n-a -t 198.51.100.20:443 -r 192.0.2.31:443 -m -w 1\n';
const WEB_ID = 'tcp 198.51.100.10:80';

function desired(stack: string, text: string): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'local' },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), `${stack}/lb1/${s.key.kind === 'addr' ? s.key.port : 'fwm'}`])),
  };
}

/** A director where stack `a` applied WEB. */
async function ownedByA(): Promise<FakeDirector> {
  const lb1 = new FakeDirector();
  const report = await applyStack([desired('a', WEB)], { stack: 'a', openHost: fakeFleet({ lb1 }).openHost });
  expect(report.outcomes[0]!.status).toBe('applied');
  return lb1;
}

/** What must stay byte-identical when a run is refused. */
function snapshot(d: FakeDirector): string {
  return JSON.stringify({ table: d.table, records: [...d.records].sort(), batches: d.batches.length });
}

describe('ownership across stacks', () => {
  it('plans a service another stack owns as a conflict naming that stack, in one round trip', async () => {
    // GIVEN WEB applied and owned by stack a
    const lb1 = await ownedByA();
    const fleet = fakeFleet({ lb1 });
    // WHEN stack b, which declares WEB too, is planned
    const plan = await planStack([desired('b', WEB)], { stack: 'b', openHost: fleet.openHost });
    // THEN WEB is a conflict owned by stack a, nothing is to change, the plan has errors, and the host answered once
    const d = plan.directors[0]!;
    expect(d.conflicts).toEqual([WEB_ID]);
    expect(d.owners).toEqual({ [WEB_ID]: 'a' });
    expect(d.changes).toEqual([]);
    expect(planHasErrors(plan)).toBe(true);
    expect(fleet.opened[0]!.roundTrips).toBe(1);
  });

  it('refuses --adopt of a service another stack owns, naming it and how to release it', async () => {
    // GIVEN WEB owned by stack a
    const lb1 = await ownedByA();
    // WHEN stack b plans with --adopt
    const plan = await planStack([desired('b', WEB)], { stack: 'b', adopt: true, openHost: fakeFleet({ lb1 }).openHost });
    // THEN the director's plan fails with LVS_OWNED_BY_OTHER_STACK naming stack a and the ways to release it
    const error = plan.directors[0]!.error!;
    expect(error.code).toBe('LVS_OWNED_BY_OTHER_STACK');
    expect(error.message).toContain(`${WEB_ID} (owned by stack \`a\`)`);
    expect(error.message).toContain('--adopt never takes them');
    expect(error.hint).toContain('lvsform destroy --stack a');
    expect(error.hint).toContain('remove it from stack b');
  });

  it('apply --adopt by another stack changes neither the table nor either record', async () => {
    // GIVEN WEB owned by stack a
    const lb1 = await ownedByA();
    const before = snapshot(lb1);
    // WHEN stack b applies WEB with --adopt
    const report = await applyStack([desired('b', WEB)], { stack: 'b', adopt: true, openHost: fakeFleet({ lb1 }).openHost });
    // THEN it fails with LVS_OWNED_BY_OTHER_STACK; the table, the records and the batches are as they were
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_OWNED_BY_OTHER_STACK' });
    expect(snapshot(lb1)).toBe(before);
    expect(lb1.records.has('b')).toBe(false);
  });

  it('apply without --adopt fails naming the owning stack, not suggesting --adopt', async () => {
    // GIVEN WEB owned by stack a
    const lb1 = await ownedByA();
    const before = snapshot(lb1);
    // WHEN stack b applies WEB
    const report = await applyStack([desired('b', WEB)], { stack: 'b', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the error names stack a and its hint never offers --adopt; nothing changed
    const error = report.outcomes[0]!.error!;
    expect(error.code).toBe('LVS_OWNED_BY_OTHER_STACK');
    expect(error.message).toContain('owned by stack `a`');
    expect(error.hint).not.toContain('--adopt');
    expect(snapshot(lb1)).toBe(before);
  });

  it('never creates a service another stack owns that is missing from the kernel', async () => {
    // GIVEN stack a's record claims WEB, which someone deleted by hand
    const lb1 = await ownedByA();
    lb1.table = { services: [] };
    // WHEN stack b applies WEB
    const report = await applyStack([desired('b', WEB)], { stack: 'b', openHost: fakeFleet({ lb1 }).openHost });
    // THEN it is refused as stack a's, and the kernel stays empty
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_OWNED_BY_OTHER_STACK' });
    expect(lb1.table.services).toEqual([]);
  });

  it("applies a stack's own services beside another stack's, leaving that stack's record as it was", async () => {
    // GIVEN WEB owned by stack a
    const lb1 = await ownedByA();
    const recordA = lb1.records.get('a');
    const fleet = fakeFleet({ lb1 });
    // WHEN stack b applies API, a service of its own
    const report = await applyStack([desired('b', API)], { stack: 'b', openHost: fleet.openHost });
    // THEN b owns API, a's record is byte-identical, WEB is still there, and the apply took two round trips
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(Object.keys(JSON.parse(lb1.records.get('b')!).services)).toEqual(['tcp 198.51.100.20:443']);
    expect(lb1.records.get('a')).toBe(recordA);
    expect(lb1.table.services.map((s) => serviceId(s.key)).sort()).toEqual(['tcp 198.51.100.10:80', 'tcp 198.51.100.20:443']);
    expect(fleet.opened[0]!.roundTrips).toBe(2);
  });

  it('destroy of one of two stacks claiming a service leaves the service and drops only its own claim', async () => {
    // GIVEN WEB claimed by both stacks' records (as an --adopt of an older lvsform left it)
    const lb1 = await ownedByA();
    const claim = JSON.parse(lb1.records.get('a')!).services[WEB_ID];
    lb1.records.set(
      'b',
      serializeRecord({ format: RECORD_FORMAT, stack: 'b', director: 'lb1', updated: new Date(0).toISOString(), services: { [WEB_ID]: claim } }),
    );
    const recordB = lb1.records.get('b');
    // WHEN stack a is destroyed
    const empty = { ...desired('a', ''), paths: new Map<string, string>() };
    const report = await applyStack([empty], { stack: 'a', destroy: true, openHost: fakeFleet({ lb1 }).openHost });
    // THEN WEB is still in the kernel, a's claim is gone, and b's record is byte-identical
    expect(report.outcomes[0]!.error).toBeUndefined();
    expect(lb1.table.services.map((s) => serviceId(s.key))).toEqual([WEB_ID]);
    expect(lb1.records.has('a')).toBe(false);
    expect(lb1.records.get('b')).toBe(recordB);
    expect(lb1.batches.slice(1)).toEqual([]);
  });

  it('refuses a saved plan whose service another stack took since it was made', async () => {
    // GIVEN stack b's plan to create WEB on an empty director
    const lb1 = new FakeDirector();
    const saved = await planStack([desired('b', WEB)], { stack: 'b', openHost: fakeFleet({ lb1 }).openHost });
    expect(saved.directors[0]!.changes.length).toBeGreaterThan(0);
    // AND stack a then claims WEB without changing the table
    lb1.records.set(
      'a',
      serializeRecord({ format: RECORD_FORMAT, stack: 'a', director: 'lb1', updated: new Date(0).toISOString(), services: { [WEB_ID]: { path: 'a/lb1/80' } } }),
    );
    // WHEN the saved plan is applied
    const report = await applyStack([desired('b', WEB)], { stack: 'b', savedPlan: saved, openHost: fakeFleet({ lb1 }).openHost });
    // THEN it is refused naming stack a, and no batch ran
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_OWNED_BY_OTHER_STACK' });
    expect(lb1.batches).toEqual([]);
    expect(lb1.table.services).toEqual([]);
  });

  it("refuses to plan against another stack's record it cannot read", async () => {
    // GIVEN a director where stack a's record is not JSON
    const lb1 = new FakeDirector();
    lb1.records.set('a', '{not json');
    // WHEN stack b is planned
    const plan = await planStack([desired('b', API)], { stack: 'b', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the director fails with LVS_RECORD_CORRUPT naming a's record (what a owns is not guessed)
    expect(plan.directors[0]!.error).toMatchObject({ code: 'LVS_RECORD_CORRUPT' });
    expect(plan.directors[0]!.error!.message).toContain('/var/lib/lvsform/a.json');
  });
});
