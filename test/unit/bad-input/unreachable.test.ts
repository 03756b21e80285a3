/**
 * The bad-input catalogue, continued: a director that refuses the connection, plan files that cannot be saved, and
 * saved plans whose digest is right but whose content is malformed. The only host involved is a closed port on
 * loopback (127.0.0.1, where nothing listens): every connection is refused at once, and no traffic leaves the machine.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostSession } from '../../../providers/ipvs/host/transport.ts';
import { isLvsError } from '../../../providers/ipvs/model/errors.ts';
import { appSource, CDKTF_JSON, plain, project, runCli } from './cli-helpers.ts';
import { expectRefused, treeDigest, type EdgeCase } from './edges-helpers.ts';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let port = 0;
let dir = '';
beforeAll(async () => {
  port = await closedPort();
  const body = [
    `const far = new Director(stack, 'far', { ssh: { host: '127.0.0.1', port: ${port}, user: 'root', knownHostsFile: ${JSON.stringify('KH')} } });`,
    `const web = new RealServerPool(stack, 'web-pool', { members: [{ address: '192.0.2.11' }] });`,
    `far.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [web] });`,
  ].join('\n');
  dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': '' });
  // The app's only director is `far`; lb1 of appSource is replaced by it.
  const source = appSource(body)
    .replace(/const lb1 = new Director\(stack, 'lb1'.*\n/, '')
    .replace(', lb1]', ']')
    .replace('KH', path.join(dir, 'known_hosts'));
  fs.writeFileSync(path.join(dir, 'app.ts'), source);
  const first = await runCli(['-C', dir, 'synth']);
  expect(first.code, first.stderr).toBe(0);
}, 120_000);

describe('a director that refuses the connection', () => {
  it('a refused SSH connection is LVS_HOST_UNREACHABLE every time, never EPIPE or an internal error', async () => {
    // GIVEN a director on a closed loopback port
    const target = { name: 'far', transport: 'ssh' as const, ssh: { host: '127.0.0.1', port, knownHostsFile: path.join(dir, 'known_hosts') } };
    // WHEN a chunk is sent to it 8 times, each in a new session (the write races the exit of ssh)
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const session = HostSession.open(target);
      try {
        await session.run('echo hello');
        codes.push('no error');
      } catch (e) {
        codes.push(isLvsError(e) ? e.code : `not an LvsError: ${String(e)}`);
      } finally {
        await session.close();
      }
    }
    // THEN it is reported as unreachable each time
    expect(codes).toEqual(Array(8).fill('LVS_HOST_UNREACHABLE'));
  });

  it('a write that fails because the shell is going away is reported from the exit, never as a bare EPIPE', async () => {
    // GIVEN a local shell whose standard input is closed while it lives on for a moment (an EXIT trap that sleeps)
    const session = HostSession.open({ name: 'here', transport: 'local' });
    await session.run(`trap 'sleep 1' EXIT; exec 0</dev/null`);
    // WHEN another chunk is sent (the write fails with EPIPE before the exit is seen)
    let error: unknown;
    try {
      await session.run('echo hello');
    } catch (e) {
      error = e;
    } finally {
      await session.close();
    }
    // THEN it is the connection error with a stable code, from the exit of the shell
    expect(isLvsError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe('LVS_CONNECTION_LOST');
  });

  const cases: EdgeCase[] = [
    {
      name: 'plan',
      given: async () => ({ dir, argv: ['-C', dir, 'plan', '--no-synth'] }),
      code: 'LVS_HOST_UNREACHABLE',
      message: /director far \(root@127\.0\.0\.1:\d+\): cannot reach the host over SSH/,
    },
    {
      name: 'doctor',
      given: async () => ({ dir, argv: ['-C', dir, 'doctor', '--no-synth'] }),
      code: 'LVS_HOST_UNREACHABLE',
      message: /director far .*cannot reach the host over SSH/,
    },
    {
      name: 'status',
      given: async () => ({ dir, argv: ['-C', dir, 'status', '--no-synth'] }),
      code: 'LVS_HOST_UNREACHABLE',
      message: /director far .*cannot reach the host over SSH/,
    },
    {
      name: 'import --director',
      given: async () => ({ dir, argv: ['-C', dir, 'import', '--director', 'far', '--host', '127.0.0.1', '--ssh-port', String(port)] }),
      code: 'LVS_HOST_UNREACHABLE',
      message: /cannot reach the host over SSH/,
    },
    {
      name: 'apply --auto-approve',
      given: async () => ({ dir, argv: ['-C', dir, 'apply', '--no-synth', '--auto-approve'] }),
      code: 'LVS_HOST_UNREACHABLE',
      message: /director far .*cannot reach the host over SSH/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code} on standard error`, () => expectRefused(c));

  it('plan says the plan is incomplete, not "No changes"', async () => {
    // GIVEN the unreachable director WHEN planned
    const run = await runCli(['-C', dir, 'plan', '--no-synth']);
    // THEN the summary says what failed and claims no match
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/Plan incomplete: 1 of 1 director\(s\) could not be planned/);
    expect(run.stdout).not.toMatch(/The directors match the configuration/);
  });

  it('plan prints the error once, labelled once, naming the port', async () => {
    // GIVEN the unreachable director on a set port WHEN planned
    const run = await runCli(['-C', dir, 'plan', '--no-synth']);
    // THEN standard error has the one error with the port, and the plan marks the director with the code only
    const all = run.stdout + run.stderr;
    expect(all.match(/cannot reach the host over SSH/g)).toHaveLength(1);
    expect(all.match(/Nothing listens on the SSH port/g)).toHaveLength(1);
    expect(run.stderr).toContain(`Error [LVS_HOST_UNREACHABLE]: director far (root@127.0.0.1:${port}): cannot reach the host over SSH`);
    expect(run.stdout).toContain(`✗ far (root@127.0.0.1:${port}): could not be planned (LVS_HOST_UNREACHABLE; the error is printed to standard error)`);
    expect(all).not.toMatch(/\): director far/);
  });

  it('plan of directors that all failed claims nothing of "the 0 other directors"', async () => {
    // GIVEN the only director unreachable WHEN planned
    const run = await runCli(['-C', dir, 'plan', '--no-synth']);
    // THEN the plan ends with what is true: it is incomplete
    expect(run.stdout).not.toMatch(/0 other director/);
    expect(plain(run.stdout).trimEnd().split('\n').pop()).toMatch(/^Plan incomplete: 1 of 1 director\(s\) could not be planned/);
  });

  it('plan --json of an incomplete plan says so at the top', async () => {
    // GIVEN the unreachable director WHEN planned as JSON
    const run = await runCli(['-C', dir, 'plan', '--no-synth', '--json']);
    // THEN complete is false and errors lists the director's error, beside has_changes
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { complete: boolean; errors: { director: string; code: string; message: string }[]; has_changes: boolean };
    expect(doc.complete).toBe(false);
    expect(doc.errors).toEqual([expect.objectContaining({ director: 'far', code: 'LVS_HOST_UNREACHABLE', message: expect.stringMatching(/cannot reach/) })]);
  });

  it('apply --json says ok: false and lists the error at the top', async () => {
    // GIVEN the unreachable director WHEN applied as JSON
    const run = await runCli(['-C', dir, 'apply', '--no-synth', '--auto-approve', '--json']);
    // THEN the top level says it failed, and why
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { ok: boolean; complete: boolean; errors: { director: string; code: string }[] };
    expect([doc.ok, doc.complete]).toEqual([false, false]);
    expect(doc.errors.map((e) => `${e.director} ${e.code}`)).toEqual(['far LVS_HOST_UNREACHABLE']);
  });

  for (const verb of ['status', 'doctor']) {
    it(`${verb} --json says complete: false and lists the error at the top`, async () => {
      // GIVEN the unreachable director WHEN read as JSON
      const run = await runCli(['-C', dir, verb, '--no-synth', '--json']);
      // THEN the top level says a director was not read, and why
      expect(run.code).toBe(1);
      const doc = JSON.parse(run.stdout) as { complete: boolean; errors: { director: string; code: string }[] };
      expect(doc.complete).toBe(false);
      expect(doc.errors.map((e) => `${e.director} ${e.code}`)).toEqual(['far LVS_HOST_UNREACHABLE']);
    });

    it(`${verb} prints the error once`, async () => {
      // GIVEN the unreachable director WHEN read
      const run = await runCli(['-C', dir, verb, '--no-synth']);
      // THEN the message and its hint appear once, on standard error; the report marks the director with the code
      const all = run.stdout + run.stderr;
      expect(all.match(/cannot reach the host over SSH/g)).toHaveLength(1);
      expect(all.match(/Nothing listens on the SSH port/g)).toHaveLength(1);
      expect(run.stdout).toContain('LVS_HOST_UNREACHABLE; the error is printed to standard error');
    });
  }

  it('apply prints the error once', async () => {
    // GIVEN the unreachable director WHEN applied
    const run = await runCli(['-C', dir, 'apply', '--no-synth', '--auto-approve']);
    // THEN the message appears once, on standard error
    expect((run.stdout + run.stderr).match(/cannot reach the host over SSH/g)).toHaveLength(1);
    expect(run.stderr).toMatch(/^Error \[LVS_HOST_UNREACHABLE\]: director far \(root@127\.0\.0\.1:\d+\): cannot reach/m);
  });

  it('apply says the apply failed, not "No changes"', async () => {
    // GIVEN the unreachable director WHEN applied
    const run = await runCli(['-C', dir, 'apply', '--no-synth', '--auto-approve']);
    // THEN nothing claims that the directors match
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/Apply failed on 1 of 1 director\(s\)/);
    expect(run.stdout).not.toMatch(/The directors match the configuration/);
  });

  it('the Markdown title says the plan is incomplete', async () => {
    // GIVEN the unreachable director WHEN planned as Markdown
    const run = await runCli(['-C', dir, 'plan', '--no-synth', '--markdown']);
    // THEN the title says so, not "no changes"
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^### lvsform plan for stack web: incomplete, 1 of 1 director\(s\) could not be planned$/m);
    expect(run.stdout).not.toMatch(/: no changes$/m);
  });

  it('plan --out does not save or offer a failed plan', async () => {
    // GIVEN the unreachable director WHEN planned with --out
    const out = path.join(dir, 'failed.plan');
    const run = await runCli(['-C', dir, 'plan', '--no-synth', '--out', out]);
    // THEN no file is written and apply is not offered
    expect(run.code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect(run.stdout).not.toMatch(/Apply exactly this plan/);
    expect(run.stderr).toMatch(/The plan was not saved to .*failed\.plan: it is incomplete/);
  });
});

describe('plan --out into a place it cannot be saved: refused before anything is planned', () => {
  const cases: EdgeCase[] = [
    {
      name: 'a directory that does not exist',
      given: async () => ({ dir, argv: ['-C', dir, 'plan', '--out', path.join(dir, 'no/such/dir/p.plan')] }),
      code: 'LVS_PLAN_OUT',
      message: /cannot save the plan to .*no\/such\/dir\/p\.plan: the directory .*no\/such\/dir does not exist/,
      hint: /nothing was planned/,
      json: true,
    },
    {
      name: 'a path that is a directory',
      given: async () => ({ dir, argv: ['-C', dir, 'plan', '--no-synth', '--out', dir] }),
      code: 'LVS_PLAN_OUT',
      message: /cannot save the plan to .*: it is a directory/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c));
});

describe('saved plans whose digest is right but whose content is malformed', () => {
  const createHashOf = async (plan: unknown) => (await import('node:crypto')).createHash('sha256').update(JSON.stringify(plan)).digest('hex');
  const good = {
    formatVersion: 1,
    stack: 'web',
    createdAt: '2025-01-01T00:00:00.000Z',
    mode: 'apply',
    directors: [
      {
        director: 'lb1',
        target: { name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user: 'root' } },
        fingerprint: '0'.repeat(64),
        changes: [],
        drift: [],
        unmanaged: [],
        conflicts: [],
        adopted: [],
        batch: '',
        desired: { services: [] },
        paths: {},
        drain: [],
        drainTimeout: 0,
      },
    ],
  };
  const svc = {
    key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
    config: { scheduler: 'wlc', schedFlags: [], onePacket: false },
    destinations: [],
  };
  async function resigned(name: string, edit: (p: any) => void): Promise<string> {
    const plan = structuredClone(good) as any;
    edit(plan);
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify({ kind: 'lvsform-plan', format_version: 1, digest: await createHashOf(plan), plan }));
    return file;
  }
  const bad: { name: string; edit: (p: any) => void; at: RegExp }[] = [
    {
      name: 'a create without its "after"',
      edit: (p) => p.directors[0].changes.push({ action: 'create', kind: 'service', serviceId: 'tcp 198.51.100.10:80', serviceKey: svc.key }),
      at: /plan\.directors\.0\.changes\.0\.after: a create needs "after"/,
    },
    {
      name: 'a desired service whose address is no address',
      edit: (p) => p.directors[0].desired.services.push({ ...svc, key: { ...svc.key, address: 'x' } }),
      at: /plan\.directors\.0\.desired\.services\.0\.key\.address: an IPv4 or IPv6 address/,
    },
    { name: 'directors that is not a list', edit: (p) => (p.directors = null), at: /plan\.directors: Expected array, received null/ },
    { name: 'a director error without a message', edit: (p) => (p.directors[0].error = { code: 'LVS_X' }), at: /plan\.directors\.0\.error\.message: Required/ },
    {
      name: 'a weight as text in a drain',
      edit: (p) =>
        p.directors[0].drain.push({
          serviceId: 's',
          serviceKey: svc.key,
          destinationId: 'd',
          destination: { address: '192.0.2.11', port: 80, forwarding: { method: 'masq' }, weight: '1', upperThreshold: 0, lowerThreshold: 0 },
        }),
      at: /plan\.directors\.0\.drain\.0\.destination\.weight: Expected number/,
    },
    { name: 'an unknown field', edit: (p) => (p.directors[0].batchh = ''), at: /plan\.directors\.0: Unrecognized key\(s\) in object: 'batchh'/ },
  ];
  for (const b of bad) {
    for (const verb of [['show'], ['show', '--markdown'], ['show', '--json'], ['apply']]) {
      it(`${b.name}: ${verb.join(' ')} refuses it with LVS_PLAN_CORRUPT`, () =>
        expectRefused({
          name: b.name,
          given: async () => {
            const file = await resigned(`${b.name.replace(/\W+/g, '-')}.plan`, b.edit);
            return { dir, argv: ['-C', dir, verb[0]!, ...(verb[0] === 'apply' ? [file] : [file, ...verb.slice(1)])] };
          },
          code: 'LVS_PLAN_CORRUPT',
          message: new RegExp(`plan file .*\\.plan is malformed at ${b.at.source}`),
        }));
    }
  }

  it('the output directory is left as it was by every refused plan', () => {
    // GIVEN the project after all the cases above WHEN its output is digested THEN it still holds one synth
    expect(treeDigest(path.join(dir, 'cdktf.out'))).toMatch(/^\d+ files /);
  });
});
