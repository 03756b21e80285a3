/**
 * The bad-input catalogue, continued: saved plans that must read back (a sudo director's), and flags that a mode of
 * plan, apply or destroy would not honour, refused with one error before anything is synthesized, read or changed
 * (cli/flag-modes.ts holds the table). No case reaches a host: the refusals come first, and the one director that is
 * dialled is a closed port on loopback.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFlags, MODES, NEEDS, type Mode } from '../../../cli/flag-modes.ts';
import { registerStackCommands } from '../../../cli/stack-commands.ts';
import type { Plan } from '../../../providers/ipvs/plan/plan.ts';
import { writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';
import { jsonError, plain, runCli } from './cli-helpers.ts';
import { synthesizedProject, treeDigest } from './edges-helpers.ts';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A plan as the planner writes it for one director reached as `deploy` with sudo. */
function sudoPlan(port: number, knownHosts: string): Plan {
  const svc = {
    key: { kind: 'addr' as const, protocol: 'tcp' as const, address: '198.51.100.10', port: 80 },
    config: { scheduler: 'rr', schedFlags: [], onePacket: false },
    destinations: [{ address: '192.0.2.11', port: 80, forwarding: { method: 'masq' as const }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
  };
  return {
    formatVersion: 1,
    stack: 'web',
    createdAt: '2026-01-01T00:00:00.000Z',
    mode: 'apply',
    directors: [
      {
        director: 'lb1',
        target: { name: 'lb1', transport: 'ssh', ssh: { host: '127.0.0.1', port, user: 'deploy', sudo: true, knownHostsFile: knownHosts } },
        fingerprint: '0'.repeat(64),
        changes: [
          { action: 'create', kind: 'service', serviceId: 'tcp 198.51.100.10:80', serviceKey: svc.key, after: svc },
          {
            action: 'create',
            kind: 'destination',
            serviceId: 'tcp 198.51.100.10:80',
            serviceKey: svc.key,
            destinationId: '192.0.2.11:80',
            after: svc.destinations[0]!,
          },
        ],
        drift: [],
        unmanaged: [],
        conflicts: [],
        adopted: [],
        batch: '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n',
        desired: { services: [svc] },
        paths: { 'tcp 198.51.100.10:80': 'web/lb1/http' },
        drain: [],
        drainTimeout: 30,
      },
    ],
  };
}

let dir = '';
let planFile = '';
let port = 0;
beforeAll(async () => {
  dir = await synthesizedProject();
  port = await closedPort();
  planFile = path.join(dir, 'sudo.plan');
  await writePlanFile(planFile, sudoPlan(port, path.join(dir, 'known_hosts')));
}, 120_000);

/** Digest of everything a refused command must leave as it was: cdktf.out and the saved plan. */
function state(): string {
  return `${treeDigest(path.join(dir, 'cdktf.out'))} ${fs.readFileSync(planFile, 'utf8')}`;
}

describe('a saved plan of a sudo director reads back', () => {
  it('show prints it, naming the sudo login', async () => {
    // GIVEN a saved plan whose director is reached as deploy with sudo WHEN shown
    const run = await runCli(['-C', dir, 'show', planFile]);
    // THEN it is printed, not refused as malformed
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(plain(run.stdout)).toMatch(/lvsform will perform the following actions on lb1 \(deploy@127\.0\.0\.1:\d+, with sudo\)/);
  });

  it('show --json prints it with its target', async () => {
    // GIVEN the same plan WHEN shown as JSON
    const run = await runCli(['-C', dir, 'show', planFile, '--json']);
    // THEN the document carries the target and the two changes (the service and its real server)
    expect(run.code, run.stdout).toBe(0);
    const doc = JSON.parse(run.stdout) as { directors: { target: string; changes: unknown[] }[] };
    expect(doc.directors[0]!.target).toMatch(/^lb1 \(deploy@127\.0\.0\.1:\d+, with sudo\)$/);
    expect(doc.directors[0]!.changes).toHaveLength(2);
  });

  it('show --markdown prints it', async () => {
    // GIVEN the same plan WHEN shown as Markdown THEN it renders, with the sudo login named
    const run = await runCli(['-C', dir, 'show', planFile, '--markdown']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/with sudo/);
  });

  it('apply FILE reads it and goes on to the director (unreachable here), changing nothing', async () => {
    // GIVEN the same plan, its director a closed loopback port
    const before = state();
    // WHEN applied
    const run = await runCli(['-C', dir, 'apply', planFile, '--connect-timeout', '2']);
    // THEN the plan was read: the error is the director's, not a malformed plan
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/LVS_PLAN_CORRUPT/);
    expect(run.stderr).toMatch(/^Error \[LVS_HOST_UNREACHABLE\]: director lb1 \(deploy@127\.0\.0\.1:\d+, with sudo\): cannot reach/m);
    expect(state()).toBe(before);
  });
});

/** Arguments for a flag that takes a value. */
const VALUES: Readonly<Record<string, string[]>> = {
  '--target': ['web/lb1/http'],
  '--drain-timeout': ['2'],
  '--max-deletes': ['1'],
  '--out': ['never-written.plan'],
};

/** The commands as the command line declares them, to hold the table to their options. */
function commands(): Map<string, Command> {
  const program = new Command('lvsform');
  registerStackCommands(program);
  return new Map(program.commands.map((c) => [c.name(), c]));
}

/** The command line of a mode, before any flag under test. */
function modeArgv(mode: Mode): string[] {
  const base: Record<Mode, string[]> = {
    plan: ['plan'],
    'plan --destroy': ['plan', '--destroy'],
    'plan --refresh-only': ['plan', '--refresh-only'],
    apply: ['apply'],
    'apply PLANFILE': ['apply', planFile],
    destroy: ['destroy'],
  };
  return base[mode];
}

describe('the flag table', () => {
  const cmds = commands();
  const command = (mode: Mode) => cmds.get(mode.split(' ')[0]!)!;

  it('names only options the command has', () => {
    // GIVEN the table and the declared commands WHEN every accepted name is looked up THEN each is an option there
    const unknown = (Object.keys(MODES) as Mode[]).flatMap((m) =>
      MODES[m].accepts.filter((a) => !command(m).options.some((o) => o.attributeName() === a)).map((a) => `${m}: ${a}`),
    );
    expect(unknown).toEqual([]);
  });

  it('gives every option of plan, apply and destroy a mode that honours it', () => {
    // GIVEN the declared options WHEN each is looked up in the modes of its command THEN one accepts it
    const orphans: string[] = [];
    for (const [name, cmd] of cmds) {
      if (!['plan', 'apply', 'destroy'].includes(name)) continue;
      const modes = (Object.keys(MODES) as Mode[]).filter((m) => m.split(' ')[0] === name);
      for (const o of cmd.options) if (!modes.some((m) => MODES[m].accepts.includes(o.attributeName()))) orphans.push(`${name} ${o.long}`);
    }
    expect(orphans).toEqual([]);
  });

  it('accepts every flag a mode honours', () => {
    // GIVEN each mode with each flag it accepts (and what that flag needs) WHEN checked THEN nothing is refused
    for (const m of Object.keys(MODES) as Mode[]) {
      for (const a of MODES[m].accepts) {
        const given = new Map([[a, `--${a}`]]);
        const need = NEEDS[a];
        if (need) given.set(need.option, `--${need.option}`);
        expect(() => checkFlags(m, given), `${m} ${a}`).not.toThrow();
      }
    }
  });
});

describe('a flag a mode would not honour is refused, nothing read or changed', () => {
  const cmds = commands();
  // The flags that choose a mode change it rather than being refused by it: --destroy or --refresh-only makes a plan
  // a destroy or refresh-only plan, and --destroy wins over --refresh-only (which the destroy plan then refuses).
  const changesMode = (mode: Mode, flag: string) =>
    (mode === 'plan' && (flag === '--destroy' || flag === '--refresh-only')) || (mode === 'plan --refresh-only' && flag === '--destroy');
  const refusals: { mode: Mode; flag: string }[] = [];
  for (const mode of Object.keys(MODES) as Mode[]) {
    const cmd = cmds.get(mode.split(' ')[0]!)!;
    for (const o of cmd.options) {
      if (!MODES[mode].accepts.includes(o.attributeName()) && !changesMode(mode, o.long!)) refusals.push({ mode, flag: o.long! });
    }
  }

  it('the table refuses at least the flags found ignored', () => {
    // GIVEN the refusals the table implies THEN they include each ignored flag reported
    const names = refusals.map((r) => `${r.mode} ${r.flag}`);
    for (const want of [
      'apply PLANFILE --no-drain',
      'apply PLANFILE --drain-timeout',
      'apply PLANFILE --target',
      'apply PLANFILE --adopt',
      'apply PLANFILE --no-refresh',
      'plan --destroy --adopt',
      'plan --destroy --refresh-only',
      'plan --refresh-only --adopt',
      'plan --refresh-only --no-drain',
      'plan --refresh-only --max-deletes',
    ]) {
      expect(names).toContain(want);
    }
  });

  for (const { mode, flag } of refusals) {
    it(`${mode} ${flag}: LVS_USAGE naming the flag`, async () => {
      // GIVEN the mode's command line with the flag
      const argv = ['-C', dir, ...modeArgv(mode), '--no-synth', flag, ...(VALUES[flag] ?? [])];
      const before = state();
      // WHEN run
      const run = await runCli(argv);
      // THEN one usage error names the flag and the mode, and nothing changed
      expect(run.code, run.stderr + run.stdout).toBe(1);
      expect(run.stderr.match(/^Error \[[A-Z_]+\]/gm)).toEqual(['Error [LVS_USAGE]']);
      const label = mode === 'apply PLANFILE' ? `the saved plan ${planFile}` : mode;
      expect(run.stderr).toContain(`${flag} does nothing with ${label}: ${MODES[mode].why}; nothing was read or changed`);
      expect(state()).toBe(before);
      expect(fs.existsSync(path.join(dir, 'never-written.plan'))).toBe(false);
    });
  }

  it('apply FILE --no-drain --drain-timeout 2: one error naming both', async () => {
    // GIVEN a saved plan and both drain flags
    const before = state();
    // WHEN applied
    const run = await runCli(['-C', dir, 'apply', planFile, '--no-drain', '--drain-timeout', '2']);
    // THEN one error names both, says why and what to do, and nothing changed
    expect(run.code).toBe(1);
    expect(run.stderr.match(/^Error \[[A-Z_]+\]/gm)).toEqual(['Error [LVS_USAGE]']);
    expect(run.stderr).toMatch(/--no-drain and --drain-timeout do nothing with the saved plan .*sudo\.plan: a saved plan is applied exactly as it was made/);
    expect(run.stderr).toMatch(/lvsform plan … --out FILE/);
    expect(state()).toBe(before);
  });

  it('apply FILE --adopt --json: the same refusal as the JSON error', async () => {
    // GIVEN a saved plan and --adopt, as JSON WHEN applied THEN the error document carries the code and message
    const before = state();
    const run = await runCli(['-C', dir, 'apply', planFile, '--adopt', '--json']);
    expect(run.code).toBe(1);
    const e = jsonError(run);
    expect(e.code).toBe('LVS_USAGE');
    expect(e.message).toMatch(/^--adopt does nothing with the saved plan /);
    expect(state()).toBe(before);
  });

  for (const verb of ['plan', 'apply']) {
    it(`${verb} --allow-deletes without --max-deletes: LVS_USAGE`, async () => {
      // GIVEN --allow-deletes alone WHEN run
      const before = state();
      const run = await runCli(['-C', dir, verb, '--no-synth', '--allow-deletes']);
      // THEN it is refused: there is no limit for it to lift
      expect(run.code).toBe(1);
      expect(run.stderr.match(/^Error \[[A-Z_]+\]/gm)).toEqual(['Error [LVS_USAGE]']);
      expect(run.stderr).toMatch(/--allow-deletes does nothing here: it lifts the limit of --max-deletes, and there is none without it/);
      expect(state()).toBe(before);
    });
  }
});
