/**
 * Director settings through the seam, against the in-memory director: what they cost in round trips, the order of
 * their changes around the batch, ownership of addresses, and destroy putting back what lvsform found. The lab test
 * (test/lab/director-settings.test.ts) proves the same on the real kernel.
 */
import { describe, expect, it } from 'vitest';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import type { DirectorSettingsSpec } from '../../../providers/ipvs/model/director-settings.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
const WEB2 = `${WEB}-a -t 198.51.100.10:80 -r 192.0.2.12:80 -m -w 1\n`;
const SETTINGS: DirectorSettingsSpec = { vips: { interface: 'eth0' }, timeouts: { tcp: 5 }, sysctls: { expire_nodest_conn: 1 } };

function desired(text: string, settings?: DirectorSettingsSpec): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name: 'lb1',
    target: { name: 'lb1', transport: 'ssh', ssh: { host: 'lb1.example.net' } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), 'web/lb1/http'])),
    ...(settings ? { settings } : {}),
  };
}

const empty = (d: DesiredDirector): DesiredDirector => ({ ...d, table: { services: [] }, paths: new Map() });

describe('director settings through the seam', () => {
  it('reads the settings in the plan round trip, and applies them with the batch: no extra round trip', async () => {
    // GIVEN an empty director and an app that places its VIP and sets a timeout and a sysctl
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN planned THEN one round trip, and the changes are the address, the sysctl and the timeouts, in that order
    const plan = await planStack([desired(WEB, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    expect(fleet.opened[0]!.roundTrips).toBe(1);
    expect(plan.directors[0]!.settings?.map((c) => c.kind)).toEqual(['address', 'sysctl', 'timeouts']);
    // WHEN applied THEN three round trips, as a table-only apply, and the kernel holds the settings
    const report = await applyStack([desired(WEB, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(fleet.opened[1]!.roundTrips).toBe(3);
    expect(lb1.settings.addresses).toEqual([{ address: '198.51.100.10', prefix: 32, device: 'eth0' }]);
    expect(lb1.settings.timeouts).toEqual({ tcp: 5, tcpfin: 120, udp: 300 });
    expect(lb1.settings.sysctls['expire_nodest_conn']).toBe('1');
    // AND the record owns the address and keeps the values found before
    expect(parseRecord(lb1.records.get('web'), 'web', 'lb1')?.settings).toEqual({
      addresses: [{ address: '198.51.100.10', prefix: 32, device: 'eth0' }],
      sysctls: { expire_nodest_conn: { prior: '0', value: '1' } },
      timeouts: { prior: { tcp: 900 }, value: { tcp: 5 } },
    });
  });

  it('changes only the table of an app that manages settings in three round trips, like a table-only app', async () => {
    // GIVEN the app applied with its settings
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(WEB, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    // WHEN a real server is added
    const report = await applyStack([desired(WEB2, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    // THEN no setting changes, and the apply costs the same three round trips
    expect(report.plan.directors[0]!.settings).toEqual([]);
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(fleet.opened[1]!.roundTrips).toBe(3);
  });

  it('never adds nor removes an address that was there before lvsform', async () => {
    // GIVEN the VIP already on eth0
    const lb1 = new FakeDirector();
    lb1.settings.addresses.push({ address: '198.51.100.10', prefix: 32, device: 'eth0' });
    const fleet = fakeFleet({ lb1 });
    // WHEN applied and destroyed
    const applied = await applyStack([desired(WEB, { vips: { interface: 'eth0' } })], { stack: 'web', openHost: fleet.openHost });
    expect(applied.plan.directors[0]!.settings).toEqual([]);
    await applyStack([empty(desired(WEB, { vips: { interface: 'eth0' } }))], { stack: 'web', openHost: fleet.openHost, destroy: true });
    // THEN the address is still there
    expect(lb1.settings.addresses).toEqual([{ address: '198.51.100.10', prefix: 32, device: 'eth0' }]);
  });

  it('destroy removes the addresses after the services and puts the sysctls and timeouts back', async () => {
    // GIVEN the app applied
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(WEB, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    // WHEN destroyed
    const report = await applyStack([empty(desired(WEB, SETTINGS))], { stack: 'web', openHost: fleet.openHost, destroy: true });
    // THEN the address goes after the batch, the values found before are back, and the record is gone
    expect(report.plan.directors[0]!.settings?.map((c) => `${c.kind} ${c.action}`)).toEqual(['sysctl update', 'timeouts update', 'address delete']);
    expect(lb1.table.services).toEqual([]);
    expect(lb1.settings.addresses).toEqual([]);
    expect(lb1.settings.timeouts).toEqual({ tcp: 900, tcpfin: 120, udp: 300 });
    expect(lb1.settings.sysctls['expire_nodest_conn']).toBe('0');
    expect(lb1.records.has('web')).toBe(false);
  });

  it('puts back a setting the app stops naming, and leaves alone one it never named', async () => {
    // GIVEN the app applied with a timeout and a sysctl, and conntrack set by hand
    const lb1 = new FakeDirector();
    lb1.settings.sysctls['conntrack'] = '1';
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(WEB, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    // WHEN the app drops the sysctl and the timeout
    const report = await applyStack([desired(WEB, { vips: { interface: 'eth0' } })], { stack: 'web', openHost: fleet.openHost });
    // THEN both are back to what lvsform found, and conntrack (never named) is untouched
    expect(report.plan.directors[0]!.settings?.map((c) => c.kind)).toEqual(['sysctl', 'timeouts']);
    expect(lb1.settings.sysctls['expire_nodest_conn']).toBe('0');
    expect(lb1.settings.timeouts.tcp).toBe(900);
    expect(lb1.settings.sysctls['conntrack']).toBe('1');
    expect(parseRecord(lb1.records.get('web'), 'web', 'lb1')?.settings).toEqual({ addresses: [{ address: '198.51.100.10', prefix: 32, device: 'eth0' }] });
  });
});
