/**
 * `state list | show | rm` against the in-memory director: what each director's record says the stack owns, and
 * `state rm` letting go of services under the exclusive lock without a line to `ipvsadm -R`, in one round trip per
 * phase. The lab proves the same on the real kernel (test/lab/state.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { parseRecord, serializeRecord } from '../../../providers/ipvs/model/record.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { readState, removeFromState } from '../../../providers/ipvs/ops/state.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { parseStateAddress, recordWithout } from '../../../providers/ipvs/plan/state.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { FakeDirector, fakeFleet } from './fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
const API = '-A -t 198.51.100.11:8080 -s rr\n-a -t 198.51.100.11:8080 -r 192.0.2.21:8080 -m -w 1\n-a -t 198.51.100.11:8080 -r 192.0.2.22:8080 -m -w 1\n';
const WEB_ID = 'tcp 198.51.100.10:80';
const API_ID = 'tcp 198.51.100.11:8080';

function desired(name: string, text: string): DesiredDirector {
  const table = parseSave(text, 'test');
  const path = (port: number) => `web/${name}/${port === 80 ? 'web' : 'api'}`;
  return {
    name,
    target: { name, transport: 'ssh', ssh: { host: `${name}.example.net` } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), path(s.key.kind === 'addr' ? s.key.port : 0)])),
  };
}

/** Directors with WEB and API applied by the stack. */
async function applied(names: string[] = ['lb1']): Promise<Record<string, FakeDirector>> {
  const fleet = Object.fromEntries(names.map((n) => [n, new FakeDirector()]));
  const report = await applyStack(
    names.map((n) => desired(n, WEB + API)),
    { stack: 'web', openHost: fakeFleet(fleet).openHost },
  );
  expect(report.outcomes.every((o) => o.status === 'applied')).toBe(true);
  return fleet;
}

function snapshot(d: FakeDirector): string {
  return JSON.stringify([d.table, [...d.records]]);
}

async function refused(p: Promise<unknown>): Promise<LvsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LvsError) return e;
    throw e;
  }
  throw new Error('expected an LvsError');
}

describe('state list', () => {
  it('lists what the stack owns on each director, with its path, identity and status, in one round trip each', async () => {
    // GIVEN WEB and API applied on lb1, then API's weight changed by hand
    const { lb1 } = await applied();
    lb1!.applyLine('-e -t 198.51.100.11:8080 -r 192.0.2.21:8080 -m -w 5');
    const fleet = fakeFleet({ lb1: lb1! });
    // WHEN the state is read
    const state = await readState([desired('lb1', WEB + API)], { stack: 'web', openHost: fleet.openHost });
    // THEN both services, sorted by path, API drifted, and the director answered once
    expect(state.directors[0]!.entries.map((e) => [e.path, e.address, e.status, e.declared])).toEqual([
      ['web/lb1/api', 'lb1:tcp/198.51.100.11:8080', 'drifted', true],
      ['web/lb1/web', 'lb1:tcp/198.51.100.10:80', 'in-sync', true],
    ]);
    expect(fleet.opened[0]!.roundTrips).toBe(1);
  });

  it('says a director holds no record of the stack', async () => {
    // GIVEN an empty director WHEN read THEN no record and no entries
    const state = await readState([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1: new FakeDirector() }).openHost });
    expect([state.directors[0]!.record, state.directors[0]!.entries]).toEqual([false, []]);
  });

  it('reports a director that cannot be reached in place, and reads the others', async () => {
    // GIVEN lb1 applied and lb2 unreachable
    const { lb1 } = await applied();
    // WHEN read
    const state = await readState([desired('lb1', WEB + API), desired('lb2', WEB)], { stack: 'web', openHost: fakeFleet({ lb1: lb1! }).openHost });
    // THEN lb1's services and lb2's error
    expect(state.directors.map((d) => [d.entries.length, d.error?.code])).toEqual([
      [2, undefined],
      [0, 'LVS_HOST_UNREACHABLE'],
    ]);
  });
});

describe('state rm', () => {
  it('stops owning a service named by its construct path without a batch, in two round trips', async () => {
    // GIVEN WEB and API applied on lb1
    const { lb1 } = await applied();
    const batches = lb1!.batches.length;
    const table = JSON.stringify(lb1!.table);
    const fleet = fakeFleet({ lb1: lb1! });
    // WHEN API is removed from the state
    const report = await removeFromState([desired('lb1', WEB + API)], ['web/lb1/api'], { stack: 'web', openHost: fleet.openHost });
    // THEN the record lists WEB only, the kernel table is as it was, no batch ran, and two round trips were made
    expect(report.removed.map((e) => e.serviceId)).toEqual([API_ID]);
    expect(Object.keys(parseRecord(lb1!.records.get('web'), 'web', 'lb1')!.services)).toEqual([WEB_ID]);
    expect([JSON.stringify(lb1!.table), lb1!.batches.length]).toEqual([table, batches]);
    expect(fleet.opened[0]!.roundTrips).toBe(2);
  });

  it('takes the exclusive lock: a run holding the lock makes it fail and change nothing', async () => {
    // GIVEN WEB and API applied, and a plan holding lb1's shared lock
    const { lb1 } = await applied();
    const fleet = fakeFleet({ lb1: lb1! });
    const other = fleet.openHost({ name: 'lb1', transport: 'local' });
    await other.exchange([{ kind: 'lock', exclusive: false, waitSeconds: 0, holder: 'plan by someone' }]);
    const before = snapshot(lb1!);
    // WHEN API is removed from the state
    const e = await refused(removeFromState([desired('lb1', WEB + API)], ['web/lb1/api'], { stack: 'web', openHost: fleet.openHost }));
    // THEN LVS_LOCKED, and the record and table are unchanged
    expect(e.code).toBe('LVS_LOCKED');
    expect(snapshot(lb1!)).toBe(before);
  });

  it('removes the record when the last owned service goes, by its identity', async () => {
    // GIVEN only WEB owned
    const lb1 = new FakeDirector();
    await applyStack([desired('lb1', WEB)], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // WHEN it is removed by identity
    await removeFromState([desired('lb1', WEB)], ['lb1:tcp/198.51.100.10:80'], { stack: 'web', openHost: fakeFleet({ lb1 }).openHost });
    // THEN no record is left, and the service is still in the kernel
    expect(lb1.records.has('web')).toBe(false);
    expect(lb1.table.services.map((s) => serviceId(s.key))).toEqual([WEB_ID]);
  });

  it('refuses an identity owned on two directors without the director, changing nothing', async () => {
    // GIVEN WEB and API applied on lb1 and lb2
    const fleet = await applied(['lb1', 'lb2']);
    const before = [snapshot(fleet['lb1']!), snapshot(fleet['lb2']!)];
    // WHEN removed by an identity without a director
    const e = await refused(
      removeFromState([desired('lb1', WEB + API), desired('lb2', WEB + API)], ['tcp/198.51.100.10:80'], { stack: 'web', openHost: fakeFleet(fleet).openHost }),
    );
    // THEN LVS_STATE_AMBIGUOUS naming both, and both directors unchanged
    expect(e.code).toBe('LVS_STATE_AMBIGUOUS');
    expect(e.message).toContain('lb1:tcp/198.51.100.10:80 (web/lb1/web), lb2:tcp/198.51.100.10:80 (web/lb2/web)');
    expect([snapshot(fleet['lb1']!), snapshot(fleet['lb2']!)]).toEqual(before);
  });

  it('refuses an address it does not know with the nearest one, changing nothing', async () => {
    // GIVEN WEB and API applied
    const { lb1 } = await applied();
    const before = snapshot(lb1!);
    // WHEN a misspelt path is removed
    const e = await refused(removeFromState([desired('lb1', WEB + API)], ['web/lb1/apj'], { stack: 'web', openHost: fakeFleet({ lb1: lb1! }).openHost }));
    // THEN LVS_STATE_UNKNOWN with "did you mean", and nothing changed
    expect(e.code).toBe('LVS_STATE_UNKNOWN');
    expect(e.message).toContain('(did you mean web/lb1/api?)');
    expect(snapshot(lb1!)).toBe(before);
  });

  it('changes nothing when the confirmation is declined', async () => {
    // GIVEN WEB and API applied
    const { lb1 } = await applied();
    const before = snapshot(lb1!);
    // WHEN the confirmation says no
    const report = await removeFromState([desired('lb1', WEB + API)], ['web/lb1/api'], {
      stack: 'web',
      openHost: fakeFleet({ lb1: lb1! }).openHost,
      confirm: async () => false,
    });
    // THEN nothing was removed or written
    expect([report.confirmed, report.removed]).toEqual([false, []]);
    expect(snapshot(lb1!)).toBe(before);
  });

  it('leaves the service to the next plan as unmanaged once the app drops it, and as not owned while it declares it', async () => {
    // GIVEN WEB and API applied, and API removed from the state
    const { lb1 } = await applied();
    const openHost = fakeFleet({ lb1: lb1! }).openHost;
    await removeFromState([desired('lb1', WEB + API)], ['web/lb1/api'], { stack: 'web', openHost });
    // WHEN planned with the app still declaring API, and with API dropped from the app
    const declared = await planStack([desired('lb1', WEB + API)], { stack: 'web', openHost });
    const dropped = await planStack([desired('lb1', WEB)], { stack: 'web', openHost });
    // THEN API is a conflict (existing, not owned) in the first and unmanaged in the second; neither changes anything
    expect([declared.directors[0]!.conflicts, declared.directors[0]!.changes]).toEqual([[API_ID], []]);
    expect([dropped.directors[0]!.unmanaged, dropped.directors[0]!.changes]).toEqual([[API_ID], []]);
  });
});

describe('state addresses', () => {
  it.each([
    ['web/lb1/http', { kind: 'path', path: 'web/lb1/http' }],
    ['web/lb1/http/', { kind: 'path', path: 'web/lb1/http' }],
    ['lb1:tcp/198.51.100.10:80', { kind: 'identity', director: 'lb1', serviceId: 'tcp 198.51.100.10:80' }],
    ['udp [2001:DB8:0::10]:53', { kind: 'identity', serviceId: 'udp [2001:db8::10]:53' }],
    ['lb1:fwmark/1', { kind: 'identity', director: 'lb1', serviceId: 'fwmark 1 inet' }],
    ['fwmark/7/inet6', { kind: 'identity', serviceId: 'fwmark 7 inet6' }],
  ])('reads %s', (text, expected) => {
    // GIVEN an address WHEN read THEN its canonical form
    expect(parseStateAddress(text)).toEqual(expected);
  });

  it.each([
    ['lb1:tcp/198.51.100.300:80', /is not an IPv4 or IPv6 address/],
    ['tcp/2001:db8::10:80', /an IPv6 address goes in brackets/],
    ['tcp/198.51.100.10:70000', /port 70000 is not 0..65535/],
    ['lb1:fwmark/0', /firewall mark 0 is not 1..4294967295/],
    ['lb1:tcp/198.51.100.10', /not an identity of the form/],
  ])('refuses %s with LVS_USAGE', (text, message) => {
    // GIVEN a malformed identity WHEN read THEN LVS_USAGE saying what is wrong
    let error: unknown;
    try {
      parseStateAddress(text);
    } catch (e) {
      error = e;
    }
    expect((error as LvsError).code).toBe('LVS_USAGE');
    expect((error as LvsError).message).toMatch(message);
  });

  it('drops the fast-path state from a rewritten record', () => {
    // GIVEN a record with two services and --refresh=false state
    const record = parseRecord(
      serializeRecord({
        format: 1,
        stack: 'web',
        director: 'lb1',
        updated: '2026-01-01T00:00:00.000Z',
        services: { [WEB_ID]: { path: 'web/lb1/web', h: 'a' }, [API_ID]: { path: 'web/lb1/api', h: 'b' } },
        fast: { proc: 'p', table: 't' },
      }),
      'web',
      'lb1',
    )!;
    // WHEN API is let go of
    const after = recordWithout(record, [API_ID], new Date('2026-02-01T00:00:00.000Z'))!;
    // THEN WEB's entry is kept as it was, and no fast state is left
    expect(after).toEqual({
      format: 1,
      stack: 'web',
      director: 'lb1',
      updated: '2026-02-01T00:00:00.000Z',
      services: { [WEB_ID]: { path: 'web/lb1/web', h: 'a' } },
    });
  });
});
