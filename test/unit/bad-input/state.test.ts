/**
 * The bad-input catalogue for `lvsform state show | rm` through the command line: an address that names no owned
 * service, one owned on two directors, a malformed identity, a director without a record, and `rm` without a
 * terminal. Each ends in one error with its code and message and leaves the project and the directors (their tables
 * and records) byte-identical. The directors are in-memory ones behind the real seam (`DirectorHost`): the command
 * line runs as it ships, only its way of reaching a director is replaced.
 */
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyStack } from '../../../providers/ipvs/apply/run-stack.ts';
import { loadStacks } from '../../../providers/ipvs/read/synth.ts';
import type { HostTarget } from '../../../providers/ipvs/model/host-target.ts';
import { FakeDirector, fakeFleet } from '../engine/fake-director-host.ts';
import { appSource, CDKTF_JSON, project, runCli } from './cli-helpers.ts';
import { treeDigest } from './edges-helpers.ts';

const fleet = vi.hoisted(() => ({ directors: {} as Record<string, unknown> }));

vi.mock('../../../providers/ipvs/host/sh-director-host.ts', async () => {
  const fake = await import('../engine/fake-director-host.ts');
  return { openShDirectorHost: (target: HostTarget) => fake.fakeFleet(fleet.directors as Record<string, FakeDirector>).openHost(target) };
});

const BODY = [
  `const lb2 = new Director(stack, 'lb2', { ssh: { host: '203.0.113.3', user: 'root' } });`,
  `const web = new RealServerPool(stack, 'web-pool', { members: [{ address: '192.0.2.11' }] });`,
  `lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [web] });`,
  `lb2.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [web] });`,
].join('\n');

let dir = '';
beforeAll(async () => {
  dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': appSource(BODY) });
  const first = await runCli(['-C', dir, 'synth']);
  expect(first.code, first.stderr).toBe(0);
}, 120_000);

/** lb1 and lb2 with the stack's service applied (or, with `empty`, lb2 holding nothing). */
async function directors(opts: { lb2Empty?: boolean } = {}): Promise<Record<string, FakeDirector>> {
  const all = { lb1: new FakeDirector(), lb2: new FakeDirector() };
  const [stack] = await loadStacks(path.join(dir, 'cdktf.out'));
  const chosen = stack!.directors.filter((d) => !(opts.lb2Empty && d.name === 'lb2'));
  const report = await applyStack(chosen, { stack: 'web', openHost: fakeFleet(all).openHost });
  expect(report.outcomes.every((o) => o.status === 'applied')).toBe(true);
  fleet.directors = all;
  return all;
}

function snapshot(all: Record<string, FakeDirector>): string {
  return JSON.stringify(Object.entries(all).map(([n, d]) => [n, d.table, [...d.records], d.batches.length]));
}

const cases: { name: string; argv: string[]; lb2Empty?: boolean; code: string; message: RegExp }[] = [
  {
    name: 'show: a construct path the stack does not own, with the nearest',
    argv: ['state', 'show', 'web/lb1/htp'],
    code: 'LVS_STATE_UNKNOWN',
    message: /stack web owns no service at "web\/lb1\/htp" \(did you mean web\/lb1\/http\?\)/,
  },
  {
    name: 'rm: an identity the stack does not own',
    argv: ['state', 'rm', '--auto-approve', 'lb1:tcp/198.51.100.10:81'],
    code: 'LVS_STATE_UNKNOWN',
    message: /owns no service at "lb1:tcp\/198\.51\.100\.10:81" \(did you mean lb1:tcp\/198\.51\.100\.10:80\?\)/,
  },
  {
    name: 'rm: an identity owned on two directors, without the director',
    argv: ['state', 'rm', '--auto-approve', 'tcp/198.51.100.10:80'],
    code: 'LVS_STATE_AMBIGUOUS',
    message: /names 2 owned services of stack web: lb1:tcp\/198\.51\.100\.10:80 \(web\/lb1\/http\), lb2:tcp/,
  },
  {
    name: 'show: a director without a record of the stack',
    argv: ['state', 'show', '--director', 'lb2', 'web/lb2/http'],
    lb2Empty: true,
    code: 'LVS_STATE_UNKNOWN',
    message: /stack web owns no service at "web\/lb2\/http"; it owns nothing on the directors read/,
  },
  {
    name: 'rm: a director without a record of the stack',
    argv: ['state', 'rm', '--auto-approve', 'lb2:tcp/198.51.100.10:80'],
    lb2Empty: true,
    code: 'LVS_STATE_UNKNOWN',
    message: /owns no service at "lb2:tcp\/198\.51\.100\.10:80"/,
  },
  {
    name: 'rm: a malformed identity, refused before any director is reached',
    argv: ['state', 'rm', '--auto-approve', 'lb1:tcp/198.51.100.10:99999'],
    code: 'LVS_USAGE',
    message: /state address "lb1:tcp\/198\.51\.100\.10:99999": port 99999 is not 0\.\.65535/,
  },
  {
    name: 'rm: no terminal and no --auto-approve',
    argv: ['state', 'rm', 'web/lb1/http'],
    code: 'LVS_NEEDS_APPROVAL',
    message: /state rm needs confirmation, and there is no terminal to ask on/,
  },
  {
    name: 'show: a director the stack does not have',
    argv: ['state', 'show', '--director', 'lb9', 'web/lb1/http'],
    code: 'LVS_NO_DIRECTOR',
    message: /stack web has no director "lb9"/,
  },
];

describe('state commands refuse bad input and change nothing', () => {
  beforeEach(() => {
    fleet.directors = {};
  });

  for (const c of cases) {
    it(`${c.name}: ${c.code}`, async () => {
      // GIVEN a synthesized project and its directors, as applied
      const all = await directors({ lb2Empty: Boolean(c.lb2Empty) });
      const before = [treeDigest(path.join(dir, 'cdktf.out')), snapshot(all)];
      // WHEN the command runs (without a terminal)
      const run = await runCli(['-C', dir, ...c.argv, '--no-synth']);
      // THEN one error line with the code and message, exit 1, and the project and directors byte-identical
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^Error \\[${c.code}\\]: `));
      expect(run.stderr).toMatch(c.message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect([treeDigest(path.join(dir, 'cdktf.out')), snapshot(all)]).toEqual(before);
    });
  }

  it('state list --json of a director without a record says so', async () => {
    // GIVEN lb1 applied and lb2 empty
    await directors({ lb2Empty: true });
    // WHEN listed as JSON
    const run = await runCli(['-C', dir, 'state', 'list', '--json', '--no-synth']);
    // THEN lb1 owns its service and lb2 has no record
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { directors: { director: string; record: boolean; services: { address: string }[] }[] };
    expect(doc.directors.map((d) => [d.director, d.record, d.services.map((s) => s.address)])).toEqual([
      ['lb1', true, ['lb1:tcp/198.51.100.10:80']],
      ['lb2', false, []],
    ]);
  });
});
