/**
 * The engine's orchestration (plan, apply, destroy across directors) against the in-memory director: lock, round
 * trips, partial failure, the kernel carrying on past a rejected line, drain order, the ownership record. Each of
 * these behaviours is also proven on the real kernel by the lab tests.
 */
import { describe, expect, it } from 'vitest';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { FakeDirector, FakeDirectorHost, fakeFleet } from './fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1\n-a -t 198.51.100.10:80 -r 192.0.2.12:8080 -m -w 1\n';
const DNS = '-A -u 198.51.100.10:53 -s rr\n-a -u 198.51.100.10:53 -r 192.0.2.21:53 -m -w 1\n-a -u 198.51.100.10:53 -r 192.0.2.22:53 -m -w 1\n';
const WEB_ID = 'tcp 198.51.100.10:80';
const DNS_ID = 'udp 198.51.100.10:53';

function desired(name: string, text: string): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name,
    // One machine per director (two directors on one machine are refused before any host is opened).
    target: { name, transport: 'ssh', ssh: { host: `${name}.example.net` } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), `web/${name}/${s.key.kind === 'addr' ? s.key.protocol : 'fwm'}`])),
  };
}

function recordOf(d: FakeDirector) {
  return parseRecord(d.records.get('web'), 'web', 'lb1');
}

describe('plan and apply through the director seam', () => {
  it('plans in one round trip and changes nothing', async () => {
    // GIVEN an empty director
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN the stack is planned
    const plan = await planStack([desired('lb1', WEB)], { stack: 'web', openHost: fleet.openHost });
    // THEN the plan creates the service, the host answered once, and no batch ran
    expect(plan.directors[0]!.changes.filter((c) => c.kind === 'service').map((c) => c.action)).toEqual(['create']);
    expect(fleet.opened[0]!.roundTrips).toBe(1);
    expect(lb1.batches).toEqual([]);
  });

  it('applies a new service in two round trips and records it as owned', async () => {
    // GIVEN an empty director
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN the stack is applied
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fleet.openHost });
    // THEN the kernel holds the service, the record owns it with its path, and the host answered twice (the read; the
    // batch with the record and the read-back)
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(lb1.table).toEqual(parseSave(WEB, 'test'));
    expect(recordOf(lb1)?.services[WEB_ID]).toMatchObject({ path: 'web/lb1/tcp' });
    expect(recordOf(lb1)?.services[WEB_ID]?.['pending']).toBeUndefined();
    expect(fleet.opened[0]!.roundTrips).toBe(2);
  });

  it('refuses a director locked by another run and changes nothing there', async () => {
    // GIVEN a director whose lock another apply holds
    const lb1 = new FakeDirector();
    const other = new FakeDirectorHost({ name: 'lb1', transport: 'local' }, lb1);
    await other.exchange([{ kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by ops@ci' }]);
    // WHEN the stack is applied
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the director fails with LVS_LOCKED naming the holder, and no batch ran
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_LOCKED' });
    expect(report.outcomes[0]!.error!.message).toContain('apply by ops@ci');
    expect(lb1.batches).toEqual([]);
  });

  it('applies the directors it reaches when another one is unreachable', async () => {
    // GIVEN two directors, only lb1 reachable
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN the stack is applied to both
    const report = await applyStack([desired('lb1', WEB), desired('lb2', WEB)], { stack: 'web', openHost: fleet.openHost });
    // THEN lb1 is applied and lb2 reports LVS_HOST_UNREACHABLE
    const by = new Map(report.outcomes.map((o) => [o.director, o]));
    expect(by.get('lb1')!.status).toBe('applied');
    expect(by.get('lb2')!.error).toMatchObject({ code: 'LVS_HOST_UNREACHABLE' });
  });

  it('without a confirmation, a director goes on to its batch while another is still reading; with one, none does', async () => {
    for (const confirm of [false, true]) {
      // GIVEN two empty directors, lb2 slow to answer its read: held until lb1's batch has run (or 1 s)
      const lb1 = new FakeDirector();
      const lb2 = new FakeDirector();
      const fleet = fakeFleet({ lb1, lb2 });
      let batchRan: () => void = () => undefined;
      const batch = new Promise<'lb1 batch'>((resolve) => {
        batchRan = () => resolve('lb1 batch');
      });
      lb1.afterBatch = () => batchRan();
      let released: string | undefined;
      lb2.beforeAnswer = async (kinds) => {
        if (kinds.includes('read-table')) released = await Promise.race([batch, new Promise<string>((r) => setTimeout(() => r('1 s'), 1000).unref())]);
      };
      // WHEN both are applied, with --auto-approve's options (no confirmation) and then with a confirmation
      let confirmedBefore: string | undefined;
      const report = await applyStack([desired('lb1', WEB), desired('lb2', DNS)], {
        stack: 'web',
        openHost: fleet.openHost,
        ...(confirm ? { confirm: async () => ((confirmedBefore = String(lb1.batches.length)), true) } : {}),
      });
      // THEN both are applied; lb1's batch ran while lb2 still read, or only after the whole plan was confirmed
      expect(report.outcomes.map((o) => o.status)).toEqual(['applied', 'applied']);
      expect(report.plan.directors.map((d) => d.changes.length)).toEqual([3, 3]);
      expect([released, confirmedBefore]).toEqual(confirm ? ['1 s', '0'] : ['lb1 batch', undefined]);
    }
  });

  it('reports a line the kernel rejected, keeps what it accepted, and records only what is there', async () => {
    // GIVEN a kernel that refuses every real server of the UDP service (`ipvsadm -R` carries on and exits 0)
    const lb1 = new FakeDirector();
    lb1.reject = (line) => (line.startsWith('-a -u') ? 'Memory allocation problem' : undefined);
    // WHEN both services are applied
    const report = await applyStack([desired('lb1', WEB + DNS)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the apply fails verification, says what ipvsadm said, and the TCP service is fully there
    const outcome = report.outcomes[0]!;
    expect(outcome.error).toMatchObject({ code: 'LVS_VERIFY_FAILED' });
    expect(outcome.restoreOutput).toContain('Memory allocation problem');
    expect(outcome.residual.map((c) => `${c.action} ${c.kind} ${c.serviceId}`)).toEqual([`create destination ${DNS_ID}`, `create destination ${DNS_ID}`]);
    expect(lb1.table.services.find((s) => serviceId(s.key) === WEB_ID)?.destinations).toHaveLength(2);
    // AND the record owns both services, as they really are (the UDP one without real servers)
    expect(Object.keys(recordOf(lb1)!.services).sort()).toEqual([WEB_ID, DNS_ID].sort());
  });

  it('fails verification when the kernel holds something else than the batch asked for', async () => {
    // GIVEN a kernel that accepts the batch but ends up with another weight on one real server
    const lb1 = new FakeDirector();
    lb1.afterBatch = () => {
      lb1.table = parseSave(WEB.replace('192.0.2.12:8080 -m -w 1', '192.0.2.12:8080 -m -w 7'), 'tampered');
    };
    // WHEN the stack is applied
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the read-back finds the one difference and the apply fails with LVS_VERIFY_FAILED
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_VERIFY_FAILED' });
    expect(report.outcomes[0]!.residual.map((c) => `${c.action} ${c.kind}`)).toEqual(['update destination']);
  });
});

describe('drain', () => {
  it('sets a removed real server to weight 0, waits for its connections, then deletes it', async () => {
    // GIVEN an owned service whose real server 192.0.2.12 still has connections, which end after the first look
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fleet.openHost });
    lb1.batches.length = 0;
    const busy = `${WEB_ID} -> 192.0.2.12:8080`;
    lb1.connections.set(busy, 5);
    let looks = 0;
    lb1.onCounters = () => {
      if (++looks > 1) lb1.connections.set(busy, 0);
    };
    // WHEN the app drops that real server
    const keep = WEB.split('\n')
      .filter((l) => !l.includes('192.0.2.12'))
      .join('\n');
    const report = await applyStack([desired('lb1', keep)], { stack: 'web', openHost: fleet.openHost, drainTimeout: 10 });
    // THEN the first batch sets its weight to 0, the counters are read until it is idle, and the second batch deletes it
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(lb1.batches).toEqual([['-e -t 198.51.100.10:80 -r 192.0.2.12:8080 -m -w 0'], ['-d -t 198.51.100.10:80 -r 192.0.2.12:8080']]);
    expect(looks).toBe(2);
  });

  it('deletes a UDP real server at once, without draining', async () => {
    // GIVEN an owned UDP service with connections on a real server
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired('lb1', DNS)], { stack: 'web', openHost: fleet.openHost });
    lb1.batches.length = 0;
    lb1.connections.set(`${DNS_ID} -> 192.0.2.22:53`, 5);
    // WHEN the app drops it
    const keep = DNS.split('\n')
      .filter((l) => !l.includes('192.0.2.22'))
      .join('\n');
    const report = await applyStack([desired('lb1', keep)], { stack: 'web', openHost: fleet.openHost });
    // THEN one batch deletes it
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(lb1.batches).toEqual([['-d -u 198.51.100.10:53 -r 192.0.2.22:53']]);
  });
});

describe('ownership record', () => {
  it('writes the record with the batch, so a connection lost right after it leaves the record as expected', async () => {
    // GIVEN an apply whose connection drops right after the batch
    const lb1 = new FakeDirector();
    lb1.dropAfterBatch = true;
    const first = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    expect(first.outcomes[0]!.error).toMatchObject({ code: 'LVS_CONNECTION_LOST' });
    // THEN the batch was silent, so the director wrote the record the apply expected: the service, with its hash
    expect(recordOf(lb1)?.services[WEB_ID]?.['pending']).toBeUndefined();
    expect(recordOf(lb1)?.services[WEB_ID]?.['h']).toMatch(/^[0-9a-f]{16}$/);
    // AND the next apply finds nothing to do
    const second = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    expect(second.outcomes[0]!.status).toBe('unchanged');
  });

  it('owns what a lost connection left behind after a rejected line, and rebuilds the record on the next apply', async () => {
    // GIVEN an apply whose batch has a line the kernel rejects, and whose connection drops right after it
    const lb1 = new FakeDirector();
    lb1.dropAfterBatch = true;
    let rejected = false;
    lb1.reject = (line) => (!rejected && line.startsWith('-a') ? ((rejected = true), 'Memory allocation problem') : undefined);
    const first = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    expect(first.outcomes[0]!.error).toMatchObject({ code: 'LVS_CONNECTION_LOST' });
    // THEN the director wrote the pending record instead: the service it created is owned, as pending
    expect(recordOf(lb1)?.services[WEB_ID]?.['pending']).toBe(true);
    // WHEN the stack is applied again, without --adopt
    const second = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN nothing conflicts, the missing real server is added, and the record owns the service with its hash
    expect(second.outcomes[0]!.status).toBe('applied');
    expect(recordOf(lb1)?.services[WEB_ID]?.['pending']).toBeUndefined();
    expect(recordOf(lb1)?.services[WEB_ID]?.['h']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('rewrites a record written with the batch when the read-back is not what the apply expected', async () => {
    // GIVEN a director that loses a real server between the batch and the read-back (a silent batch)
    const lb1 = new FakeDirector();
    lb1.afterBatch = () => {
      const svc = lb1.table.services[0];
      if (svc && svc.destinations.length > 1) lb1.table = { services: [{ ...svc, destinations: svc.destinations.slice(1) }] };
    };
    // WHEN the stack is applied
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN verification fails, and the record is rewritten from what is really there: the next plan sees no drift,
    // only the real server still to add (the record written with the batch would have made the service drifted)
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_VERIFY_FAILED' });
    lb1.afterBatch = () => undefined;
    const plan = await planStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    expect(plan.directors[0]!.drift).toEqual([]);
    expect(plan.directors[0]!.changes.map((c) => `${c.kind} ${c.action}`)).toEqual(['destination create']);
  });

  it('leaves a service the stack does not own alone and reports it as a conflict', async () => {
    // GIVEN a director where the declared service already exists, owned by no stack
    const lb1 = new FakeDirector(WEB);
    // WHEN the stack is applied without --adopt
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN it fails with LVS_NOT_OWNED and no batch ran
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_NOT_OWNED' });
    expect(lb1.batches).toEqual([]);
  });

  it('destroy removes the owned services and the record', async () => {
    // GIVEN an applied stack
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // WHEN it is destroyed
    const empty = { ...desired('lb1', ''), paths: new Map<string, string>() };
    const report = await applyStack([empty], { stack: 'web', destroy: true, openHost: fakeFleet({ lb1 }).openHost });
    // THEN the table is empty and the record is gone
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(lb1.table.services).toEqual([]);
    expect(lb1.records.has('web')).toBe(false);
  });
});
