/**
 * A pair member's settings through the seam, against the in-memory director: the sync daemons and lvsform's keepalived
 * file planned, applied with the batch's round trips, recorded, shown as drift, checked by doctor and removed on
 * destroy, and never a daemon or file lvsform did not make. The lab test (test/lab/director-pair.test.ts) proves the
 * same on the real kernel and keepalived.
 */
import { describe, expect, it } from 'vitest';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import type { DirectorSettingsSpec } from '../../../providers/ipvs/model/director-settings.ts';
import { KEEPALIVED_MAIN, keepalivedDigest, partialPairNotes, type VrrpSpec } from '../../../providers/ipvs/model/director-pair.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import { keepalivedContent } from '../../../providers/ipvs/plan/keepalived-conf.ts';
import { evaluatePair } from '../../../providers/ipvs/ops/doctor-pair.ts';
import { bootUnitContent } from '../../../providers/ipvs/plan/settings-boot.ts';
import { desiredDirector, FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';
import { StatusReader } from '../../../providers/ipvs/ops/status-reader.ts';
import { renderStatus } from '../../../providers/ipvs/ops/status.ts';
import { planToJson } from '../../../providers/ipvs/render/plan-json.ts';

const WEB = '-A -t 198.51.100.20:80 -s rr\n-a -t 198.51.100.20:80 -r 198.51.100.11:80 -g -w 1\n';
const FILE = '/etc/keepalived/lvsform-web-edge.conf';
const VRRP: VrrpSpec = {
  instance: 'web-edge',
  interface: 'eth1',
  virtualRouterId: 51,
  priority: 150,
  state: 'MASTER',
  advertInterval: 1,
  authPass: 'lvsform',
  addresses: [{ address: '198.51.100.20', prefix: 32 }],
};
const PAIR: DirectorSettingsSpec = { syncDaemon: { interface: 'eth1', syncId: 51, roles: ['master', 'backup'] }, vrrp: VRRP };

function desired(settings?: DirectorSettingsSpec, text = WEB): DesiredDirector {
  return desiredDirector(text, settings ? { settings } : {});
}

const empty = (d: DesiredDirector): DesiredDirector => ({ ...d, table: { services: [] }, paths: new Map() });
const kinds = (d: { settings?: readonly { kind: string; action: string }[] }) => (d.settings ?? []).map((c) => `${c.kind} ${c.action}`);

describe('a pair member through the seam', () => {
  it('starts both sync daemons and writes the keepalived file with the batch, in the same three round trips', async () => {
    // GIVEN an empty director with keepalived installed and not running
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN planned THEN one round trip, the daemons before the batch and the file after it
    const plan = await planStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(fleet.opened[0]!.roundTrips).toBe(1);
    expect(kinds(plan.directors[0]!)).toEqual(['daemon create', 'daemon create', 'keepalived create']);
    // WHEN applied
    const report = await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    // THEN three round trips, both daemons run, the file and a keepalived.conf that includes it are written, keepalived runs
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(fleet.opened[1]!.roundTrips).toBe(3);
    expect(lb1.settings.daemons).toEqual([
      { role: 'master', interface: 'eth1', syncId: 51 },
      { role: 'backup', interface: 'eth1', syncId: 51 },
    ]);
    expect(lb1.keepalived.files.get(FILE)).toBe(keepalivedContent(VRRP));
    expect(lb1.keepalived.files.get(KEEPALIVED_MAIN)).toContain('include /etc/keepalived/lvsform-*.conf');
    expect(lb1.keepalived.running).toBe(true);
    // AND the record owns the daemons and the file (with keepalived.conf), and the next plan is empty
    expect(parseRecord(lb1.records.get('web'), 'web', 'lb1')?.settings).toEqual({
      daemons: [
        { role: 'master', interface: 'eth1', syncId: 51 },
        { role: 'backup', interface: 'eth1', syncId: 51 },
      ],
      keepalived: { path: FILE, main: true, digest: keepalivedDigest(keepalivedContent(VRRP)) },
    });
    const again = await planStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(again.directors[0]!.settings).toEqual([]);
    expect(again.directors[0]!.settingsDrift).toBeUndefined();
  });

  it('writes the file with the VIPs for VRRP and never puts a VIP on the director itself', async () => {
    // GIVEN an app whose pair moves 198.51.100.20
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    // WHEN applied
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    // THEN the address is keepalived's to place: in the file, on no interface
    expect(lb1.keepalived.files.get(FILE)).toContain('198.51.100.20/32 dev eth1');
    expect(lb1.settings.addresses).toEqual([]);
  });

  it('shows a stopped daemon and a hand-edited file as drift, and puts both back', async () => {
    // GIVEN the pair applied, then the backup daemon stopped and the file edited by hand
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    lb1.settings.daemons = lb1.settings.daemons.filter((d) => d.role !== 'backup');
    lb1.keepalived.files.set(FILE, `${keepalivedContent(VRRP)}# edited\n`);
    // WHEN planned THEN both are drift, and the plan starts the daemon and rewrites the file
    const plan = await planStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(plan.directors[0]!.settingsDrift).toEqual([
      `backup sync daemon (mcast=eth1, syncid=51) (stopped outside lvsform)`,
      `keepalived file ${FILE} (changed outside lvsform)`,
    ]);
    expect(kinds(plan.directors[0]!)).toEqual(['daemon create', 'keepalived update']);
    // WHEN applied THEN both are back, and keepalived was reloaded once
    const before = lb1.keepalived.reloads;
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(lb1.settings.daemons.map((d) => d.role).sort()).toEqual(['backup', 'master']);
    expect(lb1.keepalived.files.get(FILE)).toBe(keepalivedContent(VRRP));
    expect(lb1.keepalived.reloads).toBe(before + 1);
  });

  it('reloads keepalived only when the file changes', async () => {
    // GIVEN the pair applied and keepalived running
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    const reloads = lb1.keepalived.reloads;
    // WHEN the table alone changes THEN keepalived is not reloaded
    await applyStack([desired(PAIR, `${WEB}-a -t 198.51.100.20:80 -r 198.51.100.12:80 -g -w 1\n`)], { stack: 'web', openHost: fleet.openHost });
    expect(lb1.keepalived.reloads).toBe(reloads);
    // WHEN the priority changes THEN the file is rewritten and keepalived reloaded once
    const lower: DirectorSettingsSpec = { ...PAIR, vrrp: { ...VRRP, priority: 100, state: 'BACKUP' } };
    const report = await applyStack([desired(lower)], { stack: 'web', openHost: fleet.openHost });
    expect(kinds(report.plan.directors[0]!)).toEqual(['keepalived update']);
    expect(lb1.keepalived.reloads).toBe(reloads + 1);
    expect(lb1.keepalived.files.get(FILE)).toContain('priority 100');
  });

  it('refuses a daemon of the same role that lvsform did not start, changing nothing', async () => {
    // GIVEN a master daemon on another sync id, started outside lvsform (keepalived's lvs_sync_daemon)
    const lb1 = new FakeDirector();
    lb1.settings.daemons.push({ role: 'master', interface: 'eth0', syncId: 7 });
    const fleet = fakeFleet({ lb1 });
    // WHEN applied THEN the director's plan fails with LVS_DIRECTOR_SETTING naming the daemon, and nothing changed
    const report = await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(report.outcomes[0]!.error?.code).toBe('LVS_DIRECTOR_SETTING');
    expect(report.outcomes[0]!.error?.message).toContain('a master sync daemon (mcast=eth0, syncid=7) runs that lvsform did not start');
    expect(lb1.settings.daemons).toEqual([{ role: 'master', interface: 'eth0', syncId: 7 }]);
    expect(lb1.table.services).toEqual([]);
    expect(lb1.keepalived.files.size).toBe(0);
  });

  it('leaves running a daemon that was there before lvsform, as asked, on destroy', async () => {
    // GIVEN the backup daemon already running as the app asks
    const lb1 = new FakeDirector();
    lb1.settings.daemons.push({ role: 'backup', interface: 'eth1', syncId: 51 });
    const fleet = fakeFleet({ lb1 });
    // WHEN applied THEN only the master is started; WHEN destroyed THEN only the master is stopped
    const applied = await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(kinds(applied.plan.directors[0]!)).toEqual(['daemon create', 'keepalived create']);
    await applyStack([empty(desired(PAIR))], { stack: 'web', openHost: fleet.openHost, destroy: true });
    expect(lb1.settings.daemons).toEqual([{ role: 'backup', interface: 'eth1', syncId: 51 }]);
  });

  it('destroy stops the daemons, removes the file and the keepalived.conf it wrote, and reloads keepalived', async () => {
    // GIVEN the pair applied, keepalived stopped since (so that its main file may go)
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    lb1.keepalived.running = false;
    // WHEN destroyed
    const report = await applyStack([empty(desired(PAIR))], { stack: 'web', openHost: fleet.openHost, destroy: true });
    // THEN the daemons stop before the batch, the file goes after it, and nothing of lvsform's is left
    expect(kinds(report.plan.directors[0]!)).toEqual(['daemon delete', 'daemon delete', 'keepalived delete']);
    expect(lb1.settings.daemons).toEqual([]);
    expect(lb1.keepalived.files.size).toBe(0);
    expect(lb1.records.has('web')).toBe(false);
  });

  it("keeps an operator's keepalived.conf, warns until it includes lvsform's file, and never writes it", async () => {
    // GIVEN an operator's keepalived.conf without the include
    const lb1 = new FakeDirector();
    lb1.keepalived.files.set(KEEPALIVED_MAIN, 'global_defs {\n}\n');
    const fleet = fakeFleet({ lb1 });
    // WHEN planned THEN the note names the line to add, and the change does not write keepalived.conf
    const plan = await planStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(plan.directors[0]!.settingsNotes?.join('\n')).toContain('add the line `include /etc/keepalived/lvsform-*.conf`');
    expect(plan.directors[0]!.settings?.find((c) => c.kind === 'keepalived')).not.toHaveProperty('main');
    // WHEN applied THEN keepalived.conf is as it was, and doctor fails it with the fix
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(lb1.keepalived.files.get(KEEPALIVED_MAIN)).toBe('global_defs {\n}\n');
    const facts = lb1.doctorSettings(
      { stack: 'web', query: { addresses: false, links: [], timeouts: false, sysctls: [], daemons: true, keepalived: FILE }, vips: [] },
      'lb1',
    );
    const main = evaluatePair(PAIR, facts).find((c) => c.name === 'keepalived.conf');
    expect(main?.status).toBe('fail');
    expect(main?.fix).toContain('include /etc/keepalived/lvsform-*.conf');
  });

  it('fails the apply when keepalived -t refuses the file, and keeps the old file', async () => {
    // GIVEN the pair applied, and a keepalived that refuses the next text
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    lb1.keepalived.refuse = 'priority 90';
    // WHEN a new priority is applied
    const report = await applyStack([desired({ ...PAIR, vrrp: { ...VRRP, priority: 90, state: 'BACKUP' } })], { stack: 'web', openHost: fleet.openHost });
    // THEN the apply fails with LVS_SETTINGS_FAILED and the file is the one before
    expect(report.outcomes[0]!.error?.code).toBe('LVS_SETTINGS_FAILED');
    expect(lb1.keepalived.files.get(FILE)).toBe(keepalivedContent(VRRP));
  });

  it('refuses a pair on a director without keepalived before any change', async () => {
    // GIVEN a director without keepalived
    const lb1 = new FakeDirector();
    lb1.keepalived.installed = false;
    const fleet = fakeFleet({ lb1 });
    // WHEN applied THEN LVS_DIRECTOR_SETTING with the install as the hint, and nothing changed
    const report = await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    expect(report.outcomes[0]!.error?.code).toBe('LVS_DIRECTOR_SETTING');
    expect(report.outcomes[0]!.error?.hint).toContain('apt-get install keepalived');
    expect(lb1.settings.daemons).toEqual([]);
  });

  it('doctor says the daemons run as asked and keepalived reads the file', async () => {
    // GIVEN the pair applied
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    // WHEN doctor evaluates the pair THEN every check passes
    const facts = lb1.doctorSettings(
      { stack: 'web', query: { addresses: false, links: [], timeouts: false, sysctls: [], daemons: true, keepalived: FILE }, vips: [] },
      'lb1',
    );
    expect(evaluatePair(PAIR, facts).map((c) => `${c.name}: ${c.status}`)).toEqual([
      'master sync daemon: ok',
      'backup sync daemon: ok',
      'keepalived file: ok',
      'keepalived.conf: ok',
      'keepalived running: ok',
    ]);
    // AND a daemon stopped by hand fails, with the apply as the fix
    lb1.settings.daemons = [];
    const after = evaluatePair(
      PAIR,
      lb1.doctorSettings(
        { stack: 'web', query: { addresses: false, links: [], timeouts: false, sysctls: [], daemons: true, keepalived: FILE }, vips: [] },
        'lb1',
      ),
    );
    expect(after[0]).toMatchObject({ status: 'fail', fix: 'lvsform apply starts it again' });
  });

  it('puts what the next boot reads on the disk before the apply ends: a power failure right after it keeps all of it', async () => {
    // GIVEN an empty director whose disk holds nothing of lvsform's, and a pair member that saves its table
    const lb1 = new FakeDirector();
    lb1.sync();
    const fleet = fakeFleet({ lb1 });
    const member = { ...desired(PAIR), setup: { installIpvsadm: false, loadModules: false, ipForward: false, saveRules: true } };
    // WHEN applied
    expect((await applyStack([member], { stack: 'web', openHost: fleet.openHost })).outcomes[0]!.status).toBe('applied');
    // THEN the last round trip ends with one sync, after the saved table and the record
    expect(fleet.opened[0]!.sent.at(-1)).toEqual(['write-record', 'save-rules', 'sync']);
    expect(lb1.syncs).toBe(1);
    // AND after a power failure the boot unit (with the daemons), the saved table, keepalived's files and the record are there
    const written = () => [...lb1.files.keys(), ...lb1.keepalived.files.keys(), ...lb1.records.keys()].sort();
    const before = written();
    expect(before).toEqual(expect.arrayContaining(['/etc/ipvsadm.rules', '/etc/systemd/system/lvsform-web.service', FILE, KEEPALIVED_MAIN, 'web']));
    lb1.powerFail();
    expect(written()).toEqual(before);
    // AND an apply that writes nothing for the boot sends no sync
    await applyStack([member], { stack: 'web', openHost: fleet.openHost });
    expect(fleet.opened[1]!.sent.flat()).not.toContain('sync');
    expect(lb1.syncs).toBe(1);
  });

  it('starts the daemons again at boot through the boot unit', () => {
    // GIVEN a record owning both daemons WHEN the boot unit is written THEN it starts each
    const unit = bootUnitContent('web', {
      daemons: [
        { role: 'master', interface: 'eth1', syncId: 51 },
        { role: 'backup', interface: 'eth1', syncId: 51 },
      ],
    });
    expect(unit).toContain('ExecStart=ipvsadm --start-daemon master --mcast-interface eth1 --syncid 51');
    expect(unit).toContain('ExecStart=ipvsadm --start-daemon backup --mcast-interface eth1 --syncid 51');
    expect(unit).toContain('Before=keepalived.service');
  });
});

describe('an apply while one director of a pair is down', () => {
  it('applies the reachable director, says the pair is partial, and the next apply converges the other', async () => {
    // GIVEN a pair lb1 (MASTER) and lb2 (BACKUP), lb2 unreachable
    const lb1 = new FakeDirector();
    const lb2 = new FakeDirector();
    const reachable: Record<string, FakeDirector> = { lb1 };
    const fleet = fakeFleet(reachable);
    const member = (name: string, priority: number): DesiredDirector => ({
      ...desired({ ...PAIR, vrrp: { ...VRRP, priority, state: priority === 150 ? 'MASTER' : 'BACKUP' } }),
      name,
      target: { name, transport: 'ssh', ssh: { host: `${name}.example.net` } },
    });
    const app = [member('lb1', 150), member('lb2', 100)];
    // WHEN applied
    const report = await applyStack(app, { stack: 'web', openHost: fleet.openHost });
    // THEN lb1 is applied, lb2 failed, and the pair note says so
    expect(report.outcomes.map((o) => `${o.director} ${o.status}`)).toEqual(['lb1 applied', 'lb2 failed']);
    expect(partialPairNotes(report.pairs ?? [], new Set(['lb2']))).toEqual([
      'director pair web-edge: applied on lb1; not on lb2, which keeps what it had. VRRP serves the VIPs from the directors that are up; run `lvsform apply` again once lb2 is back to converge the pair.',
    ]);
    expect(lb1.settings.daemons).toHaveLength(2);
    // WHEN lb2 is back and the app applied again THEN lb2 converges and lb1 has nothing to do
    reachable.lb2 = lb2;
    const again = await applyStack(app, { stack: 'web', openHost: fleet.openHost });
    expect(again.outcomes.map((o) => `${o.director} ${o.status}`)).toEqual(['lb1 unchanged', 'lb2 applied']);
    expect(lb2.keepalived.files.get(FILE)).toContain('state BACKUP');
  });
});

describe('the set-up of a pair member', () => {
  it('installs keepalived when it is missing, then writes its file in the same apply', async () => {
    // GIVEN a director without keepalived, and a pair member with setup
    const lb1 = new FakeDirector();
    lb1.keepalived.installed = false;
    const fleet = fakeFleet({ lb1 });
    const app = {
      ...desired(PAIR),
      setup: { installIpvsadm: true, installKeepalived: true, loadModules: false, ipForward: false, saveRules: false },
    };
    // WHEN planned THEN the set-up installs keepalived and the settings write its file
    const plan = await planStack([app], { stack: 'web', openHost: fleet.openHost });
    expect(plan.directors[0]!.error).toBeUndefined();
    expect(plan.directors[0]!.hostSetup?.filter((i) => i.kind === 'package').map((i) => i.name)).toEqual(['keepalived']);
    // WHEN applied THEN keepalived is installed, runs, and reads lvsform's file
    const report = await applyStack([app], { stack: 'web', openHost: fleet.openHost });
    expect(report.outcomes[0]!.status).toBe('applied');
    expect(lb1.keepalived.installed).toBe(true);
    expect(lb1.keepalived.running).toBe(true);
    expect(lb1.keepalived.files.get(FILE)).toBe(keepalivedContent(VRRP));
  });
});

describe('status of a pair member', () => {
  it('lists the running sync daemons under the director, in the same round trip as the counters', async () => {
    // GIVEN the pair applied
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    await applyStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    // WHEN status is read and rendered
    const reader = new StatusReader('web', [desired(PAIR)], { openHost: fleet.openHost });
    const [status] = await reader.read();
    await reader.close();
    // THEN one round trip, and the daemons are listed under the director
    expect(fleet.opened.at(-1)!.roundTrips).toBe(1);
    expect(renderStatus([status!])).toContain('  sync daemons: master (mcast=eth1, syncid=51), backup (mcast=eth1, syncid=51)');
  });
});

describe('the plan JSON of a pair member', () => {
  it('shows the keepalived file without its VRRP password', async () => {
    // GIVEN a pair with authPass WHEN planned and rendered as JSON
    const lb1 = new FakeDirector();
    const fleet = fakeFleet({ lb1 });
    const plan = await planStack([desired(PAIR)], { stack: 'web', openHost: fleet.openHost });
    const json = JSON.stringify(planToJson(plan));
    // THEN the file is there, its password is not
    expect(json).toContain('auth_pass (hidden)');
    expect(json).not.toContain('lvsform\\n');
  });
});
