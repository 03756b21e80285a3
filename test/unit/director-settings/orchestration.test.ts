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
import { desiredDirector, FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
const WEB2 = `${WEB}-a -t 198.51.100.10:80 -r 192.0.2.12:80 -m -w 1\n`;
const SETTINGS: DirectorSettingsSpec = { vips: { interface: 'eth0' }, timeouts: { tcp: 5 }, sysctls: { expire_nodest_conn: 1 } };

function desired(text: string, settings?: DirectorSettingsSpec): DesiredDirector {
  return desiredDirector(text, settings ? { settings } : {});
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

  it('changes only the table of an app that manages settings in two round trips, like a table-only app', async () => {
    // GIVEN the app applied with its settings
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(WEB, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    // WHEN a real server is added
    const report = await applyStack([desired(WEB2, SETTINGS)], { stack: 'web', openHost: fleet.openHost });
    // THEN no setting changes, and the apply costs the same three round trips
    expect(report.plan.directors[0]!.settings).toEqual([]);
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(fleet.opened[1]!.roundTrips).toBe(2);
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

/** Two services on two VIPs, each with its own construct path (for --target). */
const TWO = `${WEB}-A -t 198.51.100.20:80 -s rr\n-a -t 198.51.100.20:80 -r 192.0.2.11:80 -m -w 1\n`;

function two(settings: DirectorSettingsSpec, text = TWO): DesiredDirector {
  const d = desired(text, settings);
  return {
    ...d,
    paths: new Map(d.table.services.map((s) => [serviceId(s.key), s.key.kind === 'addr' && s.key.address.endsWith('.20') ? 'web/lb1/api' : 'web/lb1/http'])),
  };
}

describe('two stacks on one director', () => {
  it('refuses a sysctl or timeout another stack manages there, before any change, and lets each manage its own', async () => {
    // GIVEN stack api applied with conntrack and the tcp timeout
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    const api = desired('-A -t 198.51.100.20:80 -s rr\n', { sysctls: { conntrack: 1 }, timeouts: { tcp: 60 } });
    expect((await applyStack([api], { stack: 'api', openHost: fleet.openHost })).outcomes[0]!.status).toBe('applied');
    const before = JSON.stringify(lb1.settings);
    // WHEN stack web asks for conntrack and the tcp timeout too
    const clash = await planStack([desired(WEB, { sysctls: { conntrack: 0, expire_nodest_conn: 1 }, timeouts: { tcp: 5, udp: 30 } })], {
      stack: 'web',
      openHost: fleet.openHost,
    });
    // THEN its plan fails for that director, naming both settings and their owner, and nothing changed
    const error = clash.directors[0]!.error!;
    expect(error.code).toBe('LVS_OWNED_BY_OTHER_STACK');
    expect(error.message).toBe(
      'director lb1 (lb1.example.net): 2 director setting(s) that stack web asks for are managed by another stack: sysctl net.ipv4.vs.conntrack (stack `api`), timeout tcp (stack `api`); nothing was changed',
    );
    expect(error.hint).toContain('Set it in one stack only');
    expect(JSON.stringify(lb1.settings)).toBe(before);
    // WHEN web manages other sysctls and timeouts THEN it applies beside api
    const own = await applyStack([desired(WEB, { sysctls: { expire_nodest_conn: 1 }, timeouts: { udp: 30 } })], { stack: 'web', openHost: fleet.openHost });
    expect(own.outcomes[0]!.status).toBe('applied');
    expect(lb1.settings.timeouts).toEqual({ tcp: 60, tcpfin: 120, udp: 30 });
  });
});

describe('--target and the director settings', () => {
  it('adds the VIP of a targeted service, and leaves sysctls, timeouts and the other VIPs as they are, saying so', async () => {
    // GIVEN two services (http on .10, api on .20) and settings never applied
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN only http is targeted
    const report = await applyStack([two(SETTINGS)], { stack: 'web', openHost: fleet.openHost, targets: ['web/lb1/http'] });
    // THEN the plan adds .10 only, and its notes say what is left and how to include it
    const d = report.plan.directors[0]!;
    expect(d.settings).toEqual([{ kind: 'address', action: 'create', address: '198.51.100.10', prefix: 32, device: 'eth0', announce: 'arping' }]);
    expect(d.settingsNotes).toEqual([
      'a --target run changes only the VIPs of the targeted services; 2 other director setting change(s) (sysctls, timeouts, sync daemons, the keepalived file, other addresses, dummy interfaces) are left as they are: target the whole director (web/lb1) to make them',
    ]);
    // AND the kernel and the record hold .10 only; the sysctl and timeout are untouched
    expect(lb1.settings.addresses.map((a) => a.address)).toEqual(['198.51.100.10']);
    expect(lb1.settings.timeouts.tcp).toBe(900);
    expect(lb1.settings.sysctls['expire_nodest_conn']).toBe('0');
    expect(parseRecord(lb1.records.get('web'), 'web', 'lb1')?.settings).toEqual({ addresses: [{ address: '198.51.100.10', prefix: 32, device: 'eth0' }] });
    // WHEN the whole director is targeted THEN the rest follows, as in an untargeted run
    const whole = await applyStack([two(SETTINGS)], { stack: 'web', openHost: fleet.openHost, targets: ['web/lb1'] });
    expect(whole.plan.directors[0]!.settings?.map((c) => c.kind)).toEqual(['address', 'sysctl', 'timeouts']);
    expect(whole.plan.directors[0]!.settingsNotes).toBeUndefined();
    expect(lb1.settings.addresses.map((a) => a.address).sort()).toEqual(['198.51.100.10', '198.51.100.20']);
    expect(lb1.settings.timeouts.tcp).toBe(5);
  });

  it('removes the VIP of a targeted service it removes, and keeps the VIP of an untargeted one', async () => {
    // GIVEN both services and their VIPs applied
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([two({ vips: { interface: 'eth0' } })], { stack: 'web', openHost: fleet.openHost });
    // WHEN the app drops both services, and only api is targeted
    const gone = { ...two({ vips: { interface: 'eth0' } }), table: { services: [] }, paths: new Map() };
    const report = await applyStack([gone], { stack: 'web', openHost: fleet.openHost, targets: ['web/lb1/api'] });
    // THEN .20 goes with api, .10 stays with http (outside the targets)
    expect(report.plan.directors[0]!.settings?.map((c) => (c.kind === 'address' ? `${c.action} ${c.address}` : c.kind))).toEqual(['delete 198.51.100.20']);
    expect(lb1.settings.addresses.map((a) => a.address)).toEqual(['198.51.100.10']);
    expect(parseRecord(lb1.records.get('web'), 'web', 'lb1')?.settings?.addresses?.map((a) => a.address)).toEqual(['198.51.100.10']);
  });
});
