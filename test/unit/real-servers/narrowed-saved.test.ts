/**
 * Real servers in narrowed runs (`--director`, `--target`), in saved plans, in read-only runs, and named as real
 * servers in the host's messages; against the in-memory host.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyStack, planStack } from '../../../providers/ipvs/apply/run-stack.ts';
import type { DesiredDirector } from '../../../providers/ipvs/model/desired-director.ts';
import type { DesiredRealServer } from '../../../providers/ipvs/model/desired-real-server.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { aboutTarget, hostLabel, type HostTarget } from '../../../providers/ipvs/model/host-target.ts';
import { serviceId } from '../../../providers/ipvs/model/model.ts';
import { prepFor, realServerChangeText } from '../../../providers/ipvs/model/real-server.ts';
import { parseRealServerRecord } from '../../../providers/ipvs/model/real-server-record.ts';
import { narrowRealServers } from '../../../providers/ipvs/plan/narrow-real-servers.ts';
import { readPlanFile, writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';
import { parseSave } from '../../../providers/ipvs/read/parse-save.ts';
import { ReadOnlyDirectorHost } from '../../../providers/ipvs/host/read-only-host.ts';
import { sessionEndError } from '../../../providers/ipvs/host/ssh-failure.ts';
import { FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';

const WEB = '-A -t 198.51.100.27:80 -s rr\n-a -t 198.51.100.27:80 -r 192.0.2.11:80 -g -w 1\n';
const API = '-A -t 198.51.100.57:80 -s rr\n-a -t 198.51.100.57:80 -r 192.0.2.11:80 -g -w 1\n';

function director(name: string, text: string, path: (id: string) => string = () => `web/${name}/svc`): DesiredDirector {
  const table = parseSave(text, 'test');
  return {
    name,
    target: { name, transport: 'ssh', ssh: { host: `${name}.example.net` } },
    table,
    paths: new Map(table.services.map((s) => [serviceId(s.key), path(serviceId(s.key))])),
  };
}

const RS_TARGET: HostTarget = { name: 'rs1', transport: 'ssh', ssh: { host: 'rs1.example.net' }, role: 'real-server' };

function realServer(directors: readonly DesiredDirector[]): DesiredRealServer {
  const addresses = ['192.0.2.11'];
  return { name: 'rs1', target: RS_TARGET, spec: { name: 'rs1', addresses, path: 'web/rs1', interface: 'eth0' }, prep: prepFor(addresses, directors) };
}

const lines = (changes: Parameters<typeof realServerChangeText>[0][]) => changes.map((c) => `${realServerChangeText(c).sign} ${realServerChangeText(c).text}`);

const lo = (rs: FakeDirector) =>
  rs.settings.addresses
    .filter((a) => a.device === 'lo')
    .map((a) => a.address)
    .sort();

describe('a run narrowed by --director or --target', () => {
  it('--director prepares the real servers its services send to, for those services only', async () => {
    // GIVEN lb1 and lb2 both sending to rs1 by direct routing, and rs2 behind lb2 only
    const lb1 = director('lb1', WEB);
    const lb2 = director('lb2', API);
    const rs2: DesiredRealServer = { ...realServer([lb1, lb2]), name: 'rs2', spec: { name: 'rs2', addresses: ['192.0.2.12'], path: 'web/rs2' } };
    // WHEN the run is narrowed to lb1
    const narrowed = narrowRealServers([realServer([lb1, lb2]), rs2], [lb1], []);
    // THEN rs1 alone is in the run, prepared for lb1's VIP only
    expect(narrowed.map((r) => r.name)).toEqual(['rs1']);
    expect(narrowed[0]!.narrowedTo?.vips).toEqual(['198.51.100.27']);
    expect(narrowed[0]!.prep.vips).toEqual(['198.51.100.27', '198.51.100.57']);
    const hosts = { lb1: new FakeDirector(), rs1: new FakeDirector() };
    const fleet = fakeFleet(hosts);
    const report = await applyStack([lb1], { stack: 'web', openHost: fleet.openHost, realServers: narrowed });
    expect(report.realServerOutcomes).toEqual([{ host: 'rs1', status: 'applied' }]);
    expect(lo(hosts.rs1)).toEqual(['198.51.100.27']);
  });

  it('--target prepares the real servers of the targeted services only', () => {
    // GIVEN one director with two services under different construct paths
    const lb1 = director('lb1', WEB + API, (id) => (id.includes('.27') ? 'web/lb1/www' : 'web/lb1/api'));
    // WHEN narrowed to web/lb1/api THEN rs1 is prepared for the API VIP alone; a target that sends to no one leaves it out
    expect(narrowRealServers([realServer([lb1])], [lb1], ['web/lb1/api'])[0]!.narrowedTo?.vips).toEqual(['198.51.100.57']);
    const other = { ...lb1, table: { services: [] } };
    expect(narrowRealServers([realServer([lb1])], [other], ['web/lb1/api'])).toEqual([]);
  });

  it('removes nothing: what another service may still send to waits, owned, for a full run', async () => {
    // GIVEN rs1 prepared by a full apply for lb1 and lb2
    const lb1 = director('lb1', WEB);
    const lb2 = director('lb2', API);
    const hosts = { lb1: new FakeDirector(), lb2: new FakeDirector(), rs1: new FakeDirector() };
    const fleet = fakeFleet(hosts);
    await applyStack([lb1, lb2], { stack: 'web', openHost: fleet.openHost, realServers: [realServer([lb1, lb2])] });
    expect(lo(hosts.rs1)).toEqual(['198.51.100.27', '198.51.100.57']);
    // WHEN the app moves lb1's service to another VIP and a run narrowed to lb1 applies it
    const lb1Other = director('lb1', '-A -t 198.51.100.77:80 -s rr\n-a -t 198.51.100.77:80 -r 192.0.2.11:80 -g -w 1\n');
    const narrowed = narrowRealServers([realServer([lb1Other, lb2])], [lb1Other], []);
    const report = await applyStack([lb1Other], { stack: 'web', openHost: fleet.openHost, realServers: narrowed });
    // THEN the new VIP is added, the old one and lb2's stay, and a note says what waits (lb2's VIP is not waiting)
    const rsPlan = report.plan.realServers![0]!;
    expect(lines([...rsPlan.changes])).toEqual(['+ address 198.51.100.77/32 on lo']);
    expect(rsPlan.notes.join('\n')).toMatch(/1 removal\(s\) wait for a full run .*- address 198\.51\.100\.27\/32 on lo/);
    expect(lo(hosts.rs1)).toEqual(['198.51.100.27', '198.51.100.57', '198.51.100.77']);
    // AND the record still owns the held VIP, so the next full run removes it
    const record = parseRealServerRecord(hosts.rs1.rs.records.get('web'), 'web', 'rs1')!;
    expect(record.prep.addresses?.map((a) => a.address).sort()).toEqual(['198.51.100.27', '198.51.100.57', '198.51.100.77']);
    const full = await planStack([lb1Other, lb2], { stack: 'web', openHost: fleet.openHost, realServers: [realServer([lb1Other, lb2])] });
    expect(lines([...full.realServers![0]!.changes])).toEqual(['- address 198.51.100.27/32 on lo  (after the services that use it)']);
  });
});

describe('a saved plan that prepares real servers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsform-rs-plan-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is carried out exactly, read back from its file, while the real server holds what it was made from', async () => {
    // GIVEN a plan saved to a file
    const lb1 = director('lb1', WEB);
    const hosts = { lb1: new FakeDirector(), rs1: new FakeDirector() };
    const fleet = fakeFleet(hosts);
    const plan = await planStack([lb1], { stack: 'web', openHost: fleet.openHost, realServers: [realServer([lb1])] });
    expect(plan.realServers![0]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const file = join(dir, 'ok.plan');
    await writePlanFile(file, plan);
    const saved = await readPlanFile(file, 'web');
    expect(saved.realServers![0]!.target.role).toBe('real-server');
    // WHEN applied from the file (the stack's real servers are not given: the plan names them)
    const directors = saved.directors.map((d) => ({ name: d.director, target: d.target, table: d.desired, paths: new Map(Object.entries(d.paths)) }));
    const report = await applyStack(directors, { stack: 'web', openHost: fleet.openHost, savedPlan: saved });
    // THEN the real server is prepared as planned, and a fresh plan is empty
    expect(report.realServerOutcomes).toEqual([{ host: 'rs1', status: 'applied' }]);
    expect(lo(hosts.rs1)).toEqual(['198.51.100.27']);
    expect(hosts.rs1.rs.sysctls['net.ipv4.conf.all.arp_ignore']).toBe('1');
    const again = await planStack([lb1], { stack: 'web', openHost: fleet.openHost, realServers: [realServer([lb1])] });
    expect(again.realServers![0]!.changes).toEqual([]);
  });

  it('is refused with LVS_STALE_PLAN, changing nothing, once the real server changed', async () => {
    // GIVEN a saved plan, then an ARP setting changed by hand on the real server
    const lb1 = director('lb1', WEB);
    const hosts = { lb1: new FakeDirector(), rs1: new FakeDirector() };
    const fleet = fakeFleet(hosts);
    const plan = await planStack([lb1], { stack: 'web', openHost: fleet.openHost, realServers: [realServer([lb1])] });
    hosts.rs1.rs.sysctls['net.ipv4.conf.all.arp_announce'] = '1';
    // WHEN applied
    const directors = plan.directors.map((d) => ({ name: d.director, target: d.target, table: d.desired, paths: new Map(Object.entries(d.paths)) }));
    const report = await applyStack(directors, { stack: 'web', openHost: fleet.openHost, savedPlan: plan });
    // THEN the real server is refused as stale and nothing was added there
    expect(report.realServerOutcomes).toEqual([{ host: 'rs1', status: 'failed', error: expect.objectContaining({ code: 'LVS_STALE_PLAN' }) }]);
    expect(report.plan.realServers![0]!.error?.message).toMatch(/^real server rs1 \(rs1\.example\.net\): what it holds changed since the plan was made/);
    expect(lo(hosts.rs1)).toEqual([]);
    expect(hosts.rs1.rs.records.size).toBe(0);
  });
});

describe('real servers named as real servers', () => {
  it('a read-only run refuses to read a real server, saying why, before anything is sent', async () => {
    const host = new ReadOnlyDirectorHost(RS_TARGET);
    const e = await host.exchange([{ kind: 'real-server-read', stack: 'web' }]).catch((x: unknown) => x as LvsError);
    expect(e).toBeInstanceOf(LvsError);
    expect((e as LvsError).code).toBe('LVS_READ_ONLY');
    expect((e as LvsError).message).toMatch(
      /^reading a real server \(the read script is installed on directors only\) has no read-only way yet \(real server\(s\) rs1\)/,
    );
    expect((e as LvsError).message).toContain('no real server was contacted');
  });

  it('lock and connection errors of a real server say "real server"', async () => {
    // GIVEN rs1 locked by another run
    const hosts = { lb1: new FakeDirector(), rs1: new FakeDirector() };
    const fleet = fakeFleet(hosts);
    const other = fleet.openHost(RS_TARGET);
    await other.exchange([{ kind: 'lock', exclusive: true, waitSeconds: 0, holder: 'apply by someone' }]);
    const lb1 = director('lb1', WEB);
    const plan = await planStack([lb1], { stack: 'web', openHost: fleet.openHost, realServers: [realServer([lb1])] });
    expect(plan.realServers![0]!.error?.message).toBe('real server rs1 is locked by apply by someone');
    // AND a lost connection, a refused login and sudo name the host's kind too
    expect(sessionEndError({ target: RS_TARGET, exitCode: 255, connected: false, stderr: 'Permission denied (publickey).' }).message).toMatch(
      /^real server rs1 \(rs1\.example\.net\): the host refused the SSH login/,
    );
    expect(sessionEndError({ target: RS_TARGET, exitCode: 1, connected: true, stderr: '' }).message).toMatch(/^real server rs1 /);
    // AND a message already labelled is not labelled twice
    const msg = `${hostLabel(RS_TARGET)}: the host's shell ended`;
    expect(aboutTarget(RS_TARGET, msg)).toBe(msg);
  });
});
