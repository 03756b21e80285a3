/**
 * Orchestration through the typed seam, on the in-memory director that answers every request kind: the round trips
 * each verb makes (the wire protocol, pinned), the fast path (`--refresh=false`), host set-up, doctor, status, the
 * drain wait, force-unlock and the ownership record's confirmation. Each behaviour keeps its lab test; the lab judges.
 */
import { describe, expect, it } from 'vitest';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import type { HostSetupSpec } from '../../../providers/ipvs/model/host-setup.ts';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { waitForDrain } from '../../../providers/ipvs/apply/drain-wait.ts';
import type { Send } from '../../../providers/ipvs/apply/verify.ts';
import { doctorDirectors } from '../../../providers/ipvs/ops/doctor-director.ts';
import { StatusReader } from '../../../providers/ipvs/ops/status-reader.ts';
import { forceUnlockDirector } from '../../../providers/ipvs/ops/force-unlock.ts';
import { FakeDirector, FakeDirectorHost, fakeFleet } from './fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 1\n-a -t 198.51.100.10:80 -r 192.0.2.12:8080 -m -w 1\n';
const WEB_3 = `${WEB}-a -t 198.51.100.10:80 -r 192.0.2.13:8080 -m -w 1\n`;
const FLAGGED = '-A -t 198.51.100.20:443 -s sh -b sh-port\n-a -t 198.51.100.20:443 -r 192.0.2.31:443 -m -w 2 -x 10 -y 5\n';

function desired(name: string, text: string, setup?: HostSetupSpec): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name,
    target: { name, transport: 'ssh', ssh: { host: `${name}.example.net` } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), `web/${name}/${s.key.kind === 'addr' ? `${s.key.protocol}${s.key.port}` : 'fwm'}`])),
    ...(setup ? { setup } : {}),
  };
}

const recordOf = (d: FakeDirector) => parseRecord(d.records.get('web'), 'web', 'lb1');

describe('round trips: one exchange is one round trip', () => {
  const cases: { name: string; run: (fleet: ReturnType<typeof fakeFleet>) => Promise<unknown>; trips: string[][] }[] = [
    {
      name: 'plan: lock, capabilities and read together',
      run: (f) => planStack([desired('lb1', WEB)], { stack: 'web', openHost: f.openHost }),
      trips: [['lock', 'capabilities', 'read-table']],
    },
    {
      name: 'apply: read; batch (the record written with it) and /proc read-back; nothing more once verified',
      run: (f) => applyStack([desired('lb1', WEB)], { stack: 'web', openHost: f.openHost }),
      trips: [
        ['lock', 'capabilities', 'read-table'],
        ['batch', 'proc'],
      ],
    },
    {
      name: 'apply --refresh=false: the fast read, then the stored table travels with the record',
      run: (f) => applyStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: f.openHost }),
      trips: [['lock', 'capabilities', 'fast-read'], ['read-table'], ['write-record', 'batch', 'proc'], ['store-table', 'write-record']],
    },
    {
      name: 'apply with set-up: lock and facts; capabilities and read; set-up with the pending record; batch; record, saved rules and the sync to disk',
      run: (f) =>
        applyStack([desired('lb1', WEB, { installIpvsadm: true, loadModules: true, ipForward: true, saveRules: true })], {
          stack: 'web',
          openHost: f.openHost,
        }),
      trips: [
        ['lock', 'facts'],
        ['capabilities', 'read-table'],
        ['write-record', 'setup'],
        ['batch', 'proc'],
        ['write-record', 'save-rules', 'sync'],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // GIVEN an empty director WHEN the verb runs THEN these round trips, in this order, and no others
      const lb1 = new FakeDirector();
      const fleet = fakeFleet({ lb1 });
      await c.run(fleet);
      expect(fleet.opened[0]!.sent).toEqual(c.trips);
      expect(fleet.opened[0]!.roundTrips).toBe(c.trips.length);
    });
  }

  it('plans each of three directors in one round trip, and applies each in two', async () => {
    const fleet = fakeFleet({ lb1: new FakeDirector(), lb2: new FakeDirector(), lb3: new FakeDirector() });
    const names = ['lb1', 'lb2', 'lb3'];
    await planStack(
      names.map((n) => desired(n, WEB)),
      { stack: 'web', openHost: fleet.openHost },
    );
    expect(fleet.opened.map((h) => h.roundTrips)).toEqual([1, 1, 1]);
    const report = await applyStack(
      names.map((n) => desired(n, WEB)),
      { stack: 'web', openHost: fleet.openHost },
    );
    expect(report.outcomes.map((o) => o.status)).toEqual(['applied', 'applied', 'applied']);
    expect(fleet.opened.slice(3).map((h) => h.roundTrips)).toEqual([2, 2, 2]);
  });
});

describe('the fast path (--refresh=false) on the fake', () => {
  it('trusts the stored table after a verified fast apply, and plans from it in one round trip', async () => {
    // GIVEN WEB applied with --refresh=false (the table and /proc fingerprint stored)
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fakeFleet({ lb1 }).openHost });
    expect(lb1.tables.get('web')).toBeDefined();
    expect(recordOf(lb1)?.fast).toBeDefined();
    // WHEN planned again with --refresh=false
    const fleet = fakeFleet({ lb1 });
    const plan = await planStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fleet.openHost });
    // THEN the stored table is trusted: no change, one round trip, no full read
    expect(plan.directors[0]!.refresh).toEqual({ trusted: true });
    expect(plan.directors[0]!.changes).toEqual([]);
    expect(fleet.opened[0]!.sent).toEqual([['lock', 'capabilities', 'fast-read']]);
  });

  const fallbacks: { name: string; touch: (d: FakeDirector) => void; reason: RegExp }[] = [
    {
      name: 'a hand change of a weight (/proc differs)',
      touch: (d) => d.applyLine('-e -t 198.51.100.10:80 -r 192.0.2.11:8080 -m -w 5'),
      reason: /fingerprint differs/,
    },
    { name: 'a stored table edited on the host', touch: (d) => d.tables.set('web', `${d.tables.get('web')}x\n`), reason: /does not match the record/ },
    { name: 'a missing stored table', touch: (d) => d.tables.delete('web'), reason: /no stored table/ },
  ];
  for (const f of fallbacks) {
    it(`falls back to the full read after ${f.name}`, async () => {
      const lb1 = new FakeDirector();
      await applyStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fakeFleet({ lb1 }).openHost });
      f.touch(lb1);
      const fleet = fakeFleet({ lb1 });
      const plan = await planStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fleet.openHost });
      expect(plan.directors[0]!.refresh).toMatchObject({ trusted: false, reason: expect.stringMatching(f.reason) });
      expect(fleet.opened[0]!.sent).toEqual([['lock', 'capabilities', 'fast-read'], ['read-table']]);
    });
  }

  it('verifies a fast apply from /proc and the changed service listing, then stores the new table', async () => {
    // GIVEN WEB applied fast WHEN a third real server is added fast
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fakeFleet({ lb1 }).openHost });
    const before = lb1.tables.get('web');
    const fleet = fakeFleet({ lb1 });
    const report = await applyStack([desired('lb1', WEB_3)], { stack: 'web', refresh: false, openHost: fleet.openHost });
    // THEN applied in three round trips (no full read), the stored table and its hash renewed
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(fleet.opened[0]!.sent).toEqual([
      ['lock', 'capabilities', 'fast-read'],
      ['batch', 'proc'],
      ['store-table', 'write-record'],
    ]);
    expect(lb1.tables.get('web')).not.toBe(before);
  });

  it('reads thresholds and flags back through the listing, which /proc does not show', async () => {
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fakeFleet({ lb1 }).openHost });
    const fleet = fakeFleet({ lb1 });
    const report = await applyStack([desired('lb1', WEB + FLAGGED)], { stack: 'web', refresh: false, openHost: fleet.openHost });
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(lb1.table.services.find((s) => s.config.scheduler === 'sh')?.destinations[0]?.upperThreshold).toBe(10);
  });
});

describe('host set-up on the fake', () => {
  const SETUP: HostSetupSpec = { installIpvsadm: true, loadModules: true, ipForward: true, saveRules: true };

  it('installs ipvsadm on a director without it, then applies into the empty table and saves it for the next boot', async () => {
    // GIVEN a director without ipvsadm
    const lb1 = new FakeDirector();
    lb1.commands = ['apt-get', 'systemctl'];
    // WHEN applied with set-up
    const report = await applyStack([desired('lb1', WEB, SETUP)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the package, the forwarding sysctl and the rules file were set up, the table applied and saved
    expect(report.outcomes[0]).toMatchObject({ status: 'applied' });
    expect(lb1.setupDone.map((i) => i.kind)).toContain('package');
    expect(lb1.sysctls.get('net.ipv4.ip_forward')).toBe('1');
    expect(lb1.files.get('/etc/ipvsadm.rules')).toContain('-A -t 198.51.100.10:80');
  });

  it('plans nothing more once the set-up is done', async () => {
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB, SETUP)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    const plan = await planStack([desired('lb1', WEB, SETUP)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    expect(plan.directors[0]!.changes).toEqual([]);
    expect(plan.directors[0]!.hostSetup ?? []).toEqual([]);
  });

  it('fails the director with LVS_SETUP_FAILED when a step fails, before any batch', async () => {
    const lb1 = new FakeDirector();
    lb1.failSetup = (item) => (item.kind === 'sysctl' ? 'Permission denied' : undefined);
    const report = await applyStack([desired('lb1', WEB, SETUP)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_SETUP_FAILED', message: expect.stringContaining('sysctl net.ipv4.ip_forward') });
    expect(lb1.batches).toEqual([]);
    expect(lb1.table.services).toEqual([]);
  });
});

describe('the ownership record: no answer is dropped', () => {
  it('fails the apply with LVS_RECORD_WRITE when the director does not confirm the record, the table applied and verified', async () => {
    // GIVEN a director whose state directory refuses writes
    const lb1 = new FakeDirector();
    lb1.stateReadOnly = true;
    // WHEN applied
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN the director fails with LVS_RECORD_WRITE naming it and what the host said; the batch did run
    const o = report.outcomes[0]!;
    expect(o.status).toBe('failed');
    expect(o.error).toMatchObject({ code: 'LVS_RECORD_WRITE', hint: expect.stringContaining('/var/lib/lvsform') });
    expect(o.error!.message).toMatch(/^director lb1 \(lb1\.example\.net\): the table was applied and verified, but .*Read-only file system/);
    expect(o.residual).toEqual([]);
    expect(lb1.table.services.map((s) => serviceId(s.key))).toEqual(['tcp 198.51.100.10:80']);
    expect(lb1.records.size).toBe(0);
  });

  it('fails a --refresh=false apply the same way when the stored table is not confirmed', async () => {
    const lb1 = new FakeDirector();
    lb1.stateReadOnly = true;
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', refresh: false, openHost: fakeFleet({ lb1 }).openHost });
    expect(report.outcomes[0]!.error).toMatchObject({ code: 'LVS_RECORD_WRITE', message: expect.stringContaining('the table stored for --refresh=false') });
  });

  it('applies and records once the state directory is writable again', async () => {
    const lb1 = new FakeDirector();
    lb1.stateReadOnly = true;
    await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    lb1.stateReadOnly = false;
    // The services were created by a run whose record was lost: the next apply adopts them (nothing else to change).
    const report = await applyStack([desired('lb1', WEB)], { stack: 'web', adopt: true, openHost: fakeFleet({ lb1 }).openHost });
    expect(report.outcomes[0]!.status).toBe('unchanged');
    expect(report.outcomes[0]!.error).toBeUndefined();
    expect(Object.keys(recordOf(lb1)?.services ?? {})).toEqual(['tcp 198.51.100.10:80']);
  });
});

describe('the drain wait', () => {
  const drain = [{ serviceId: 'tcp 198.51.100.10:80', destinationId: '192.0.2.11:8080' }];
  const cases: { name: string; counts: number[]; timeout: number; reads?: number; last: RegExp | undefined }[] = [
    { name: 'returns at once when the drained real server is idle', counts: [0], timeout: 30, reads: 1, last: undefined },
    { name: 'polls until the connections end', counts: [3, 1, 0], timeout: 30, reads: 3, last: /draining: 1 real server/ },
    { name: 'gives up at the drain timeout', counts: [5], timeout: 0.05, last: /drain timeout \(0\.05 s\): 1 real server/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // GIVEN counters that read as listed, one read per round trip WHEN the drain waits THEN it stops as it should
      let reads = 0;
      const send = (async () => {
        const n = c.counts[Math.min(reads++, c.counts.length - 1)]!;
        return [{ kind: 'counters', counters: new Map([['tcp 198.51.100.10:80 -> 192.0.2.11:8080', { activeConns: n, inactiveConns: 0 }]]) }];
      }) as unknown as Send;
      const said: string[] = [];
      await waitForDrain(send, { director: 'lb1', drainTimeout: c.timeout, drain } as never, (_d, m) => said.push(m), 10);
      if (c.reads !== undefined) expect(reads).toBe(c.reads);
      expect(said.at(-1)).toEqual(c.last ? expect.stringMatching(c.last) : undefined);
    });
  }
});

describe('doctor, status and force-unlock on the fake', () => {
  it('doctor reads facts and capabilities in one round trip and judges them', async () => {
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    const [result] = await doctorDirectors([desired('lb1', WEB)], { openHost: fleet.openHost });
    expect(fleet.opened[0]!.sent).toEqual([['doctor-facts', 'capabilities']]);
    expect(result!.error).toBeUndefined();
    // ip_forward is 0 on the fake: a NAT table needs it.
    expect(result!.checks.find((c) => c.name.includes('forward'))).toMatchObject({ status: expect.stringMatching(/warn|fail/) });
  });

  it('status builds each service from the table, counters and record, one round trip per read', async () => {
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    lb1.connections.set('tcp 198.51.100.10:80 -> 192.0.2.11:8080', 4);
    const fleet = fakeFleet({ lb1 });
    const reader = new StatusReader('web', [desired('lb1', WEB)], { openHost: fleet.openHost });
    const [status] = await reader.read();
    await reader.close();
    expect(fleet.opened[0]!.sent).toEqual([['status']]);
    expect(status!.error).toBeUndefined();
    expect(status!.services.map((s) => s.id)).toEqual(['tcp 198.51.100.10:80']);
    expect(JSON.stringify(status)).toContain('"activeConns":4');
  });

  it('force-unlock finds no lock, or refuses while one is held', async () => {
    const lb1 = new FakeDirector();
    expect(await forceUnlockDirector({ name: 'lb1', transport: 'local' }, { openHost: fakeFleet({ lb1 }).openHost })).toBe('none');
    const holder = new FakeDirectorHost({ name: 'lb1', transport: 'local' }, lb1);
    await holder.exchange([{ kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by ops' }]);
    await expect(forceUnlockDirector({ name: 'lb1', transport: 'local' }, { openHost: fakeFleet({ lb1 }).openHost })).rejects.toMatchObject({
      code: 'LVS_LOCK_HELD',
    });
  });
});
