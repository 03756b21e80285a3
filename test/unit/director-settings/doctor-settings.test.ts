/**
 * `lvsform doctor` on a director whose app manages its settings, against the in-memory director: the VIPs (local,
 * routed here, or neither), the sysctls and timeouts against what the ownership record says lvsform set, and the boot
 * files. A table of director states, each with the check it must produce. The lab test
 * (test/lab/director-settings.test.ts) runs the same doctor on the real kernel.
 */
import { describe, expect, it } from 'vitest';
import { applyStack } from '../../../providers/ipvs/apply/run-stack.ts';
import type { DirectorSettingsSpec } from '../../../providers/ipvs/model/director-settings.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { doctorDirectors } from '../../../providers/ipvs/ops/doctor-director.ts';
import { doctorChunk, doctorFacts } from '../../../providers/ipvs/host/requests/doctor-facts.ts';
import { sectionLine, splitSections } from '../../../providers/ipvs/host/sections.ts';
import { bootUnitPath, bootUnitWantsPath } from '../../../providers/ipvs/plan/settings-boot.ts';
import { sysctlFile } from '../../../providers/ipvs/model/host-setup.ts';
import { desiredDirector, FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';

const WEB = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
const SETTINGS: DirectorSettingsSpec = { vips: { interface: 'eth0' }, timeouts: { tcp: 5 }, sysctls: { expire_nodest_conn: 1 } };
const SETUP = { installIpvsadm: false, loadModules: false, ipForward: false, saveRules: false };

function desired(settings: DirectorSettingsSpec | undefined, setup = false): DesiredDirector {
  return desiredDirector(WEB, { ...(settings ? { settings } : {}), ...(setup ? { setup: SETUP } : {}) });
}

/** Applies the app to a fresh fake director (so the record says what lvsform set), then lets `change` act on it. */
async function applied(setup: boolean, change: (d: FakeDirector) => void = () => undefined): Promise<FakeDirector> {
  const lb1 = new FakeDirector();
  const fleet = fakeFleet({ lb1 });
  const report = await applyStack([desired(SETTINGS, setup)], { stack: 'web', openHost: fleet.openHost });
  expect(report.outcomes[0]!.status).toBe('applied');
  change(lb1);
  return lb1;
}

/** `settings` null: an app that manages none. */
async function doctor(lb1: FakeDirector, settings: DirectorSettingsSpec | null = SETTINGS, setup = false) {
  const fleet = fakeFleet({ lb1 });
  const result = (await doctorDirectors([desired(settings ?? undefined, setup)], { openHost: fleet.openHost, stack: 'web' }))[0]!;
  return { result, sent: fleet.opened[0]!.sent, check: (name: string) => result.checks.find((c) => c.name === name) };
}

describe('doctor knows the director settings', () => {
  it('reads the settings in the same single round trip as the facts and capabilities (and the boot files with setup)', async () => {
    const lb1 = await applied(true);
    expect((await doctor(lb1, SETTINGS, false)).sent).toEqual([['doctor-facts', 'capabilities']]);
    expect((await doctor(lb1, SETTINGS, true)).sent).toEqual([['doctor-facts', 'capabilities', 'facts']]);
  });

  it('asks nothing more of a director whose app manages no settings', async () => {
    const { sent, result } = await doctor(new FakeDirector(), null);
    expect(sent).toEqual([['doctor-facts', 'capabilities']]);
    expect(result.checks.map((c) => c.name).filter((n) => /^(VIP|sysctl |timeout|boot|settings)/.test(n))).toEqual([]);
  });

  it.each([
    ['applied and untouched', () => undefined, 'VIP 198.51.100.10', 'ok', 'on eth0 (added by lvsform)'],
    [
      'the VIP removed by hand',
      (d: FakeDirector) => {
        d.settings.addresses = [];
      },
      'VIP 198.51.100.10',
      'fail',
      'neither local nor routed here (ip route get: 198.51.100.10 via 203.0.113.1',
    ],
    [
      'the VIP off every interface but routed here by a local route',
      (d: FakeDirector) => {
        d.settings.addresses = [];
        d.localRoutes.add('198.51.100.10');
      },
      'VIP 198.51.100.10',
      'ok',
      'routed here: local 198.51.100.10',
    ],
    ['applied and untouched', () => undefined, 'sysctl net.ipv4.vs.expire_nodest_conn', 'ok', '1'],
    [
      'a sysctl changed by hand',
      (d: FakeDirector) => {
        d.settings.sysctls['expire_nodest_conn'] = '0';
      },
      'sysctl net.ipv4.vs.expire_nodest_conn',
      'fail',
      '0, drifted: lvsform set 1 (the ownership record)',
    ],
    [
      'a timeout changed by hand',
      (d: FakeDirector) => {
        d.settings.timeouts = { ...d.settings.timeouts, tcp: 900 };
      },
      'timeout tcp',
      'fail',
      '900, drifted: lvsform set 5',
    ],
    [
      'a kernel without the sysctl',
      (d: FakeDirector) => {
        delete d.settings.sysctls['expire_nodest_conn'];
      },
      'sysctl net.ipv4.vs.expire_nodest_conn',
      'fail',
      'has no such sysctl (Linux 2.6 and later)',
    ],
  ])('%s: %s is %s', async (_state, change, name, status, detail) => {
    // GIVEN the app applied, then the director in that state
    const lb1 = await applied(false, change);
    // WHEN doctor runs
    const { check } = await doctor(lb1);
    // THEN the check says so
    expect(check(name)).toMatchObject({ status });
    expect(check(name)?.detail).toContain(detail);
  });

  it('says what an apply will do on a director the app was never applied to, without blocking it', async () => {
    const { check, result } = await doctor(new FakeDirector());
    expect(check('VIP 198.51.100.10')).toMatchObject({ status: 'warn', fix: 'lvsform apply adds it to eth0' });
    expect(check('sysctl net.ipv4.vs.expire_nodest_conn')).toMatchObject({ status: 'warn', detail: '0, not 1 yet' });
    expect(check('timeout tcp')).toMatchObject({ status: 'warn', detail: '900, not 5 yet' });
    expect(result.checks.filter((c) => c.blocking).map((c) => c.name)).toEqual(['IPv4 forwarding (NAT)']);
  });

  it('warns that settings are lost at reboot without setup', async () => {
    const { check } = await doctor(await applied(false));
    expect(check('settings at boot')).toMatchObject({ status: 'warn', fix: expect.stringContaining('setup: {}') });
  });

  it.each([
    ['as the apply wrote them', () => undefined, 'ok', 'ok'],
    [
      'the unit removed',
      (d: FakeDirector) => {
        d.files.delete(bootUnitPath('web'));
      },
      'fail',
      'ok',
    ],
    [
      'the unit disabled',
      (d: FakeDirector) => {
        d.files.delete(bootUnitWantsPath('web'));
      },
      'fail',
      'ok',
    ],
    [
      'the unit edited and the sysctl file emptied',
      (d: FakeDirector) => {
        d.files.set(bootUnitPath('web'), '[Unit]\n');
        d.files.set(sysctlFile('web'), '');
      },
      'fail',
      'fail',
    ],
  ])('with setup, the boot files %s: unit %s, sysctl file %s', async (_state, change, unit, file) => {
    // GIVEN the app applied with setup (the fake writes the files the set-up plans), then the files in that state
    const lb1 = await applied(true, (d) => {
      // The fake's `systemctl enable`: the set-up step writes the wants link as a file.
      if (d.files.has(bootUnitPath('web')) && !d.files.has(bootUnitWantsPath('web'))) d.files.set(bootUnitWantsPath('web'), d.files.get(bootUnitPath('web'))!);
      change(d);
    });
    // WHEN doctor runs THEN the boot unit and the sysctl file are judged
    const { check } = await doctor(lb1, SETTINGS, true);
    expect(check('boot unit')?.status).toBe(unit);
    expect(check('sysctl file')?.status).toBe(file);
  });

  it('never puts a VIP that is not a canonical address into the script', () => {
    const script = () =>
      doctorFacts.script(
        {
          kind: 'doctor-facts',
          modules: [],
          settings: { stack: 'web', query: { addresses: false, links: [], timeouts: false, sysctls: [] }, vips: ['1.2.3.4; reboot'] },
        },
        'T',
      );
    expect(script).toThrow(/not a canonical address/);
    expect(doctorChunk([])).not.toContain('route get');
  });

  it('reads a director whose ipvsadm prints no timeouts without failing the doctor', () => {
    // GIVEN the settings part of an answer whose `ipvsadm -L --timeout` said "not found"
    const tag = 'abcdef0123456789';
    const req = {
      kind: 'doctor-facts' as const,
      modules: [],
      settings: { stack: 'web', query: { addresses: false, links: [], timeouts: true, sysctls: [] }, vips: [] },
    };
    const part = (name: string, text: string) => `${sectionLine(tag, name)}\n${text}`;
    const out = [
      part('facts', 'kernel=6.1'),
      part('doctor-record', '@@none'),
      part('doctor-routes', ''),
      part('doctor-settings-kernel', '6.1.0'),
      part('doctor-settings-timeouts', 'sh: ipvsadm: not found'),
      part('doctor-settings-end', ''),
      part('end', ''),
    ].join('\n');
    const sections = splitSections(tag, out);
    // WHEN parsed THEN the settings read without timeouts
    const reply = doctorFacts.parse(req, sections, { target: { name: 'lb1', transport: 'local' }, where: 'lb1', stdout: out });
    expect(reply.settings?.live.timeouts).toBeUndefined();
    expect(reply.settings?.record).toBeUndefined();
  });
});
