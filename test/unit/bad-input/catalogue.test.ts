/**
 * The bad-input catalogue, end to end through the `lvsform` command line: construct props, arguments and flags,
 * cdktf.json, hand-edited synthesized JSON, and saved plan files. Every case must end in ONE error with a stable code
 * (in the text and in `--json`), a non-zero exit, and a message naming the construct path, file or director and
 * what to do. None of these cases reaches a host (the only director is a documentation address nobody answers on,
 * and every case fails before a connection is opened).
 *
 * Host-side bad input (ownership records, a hostile ipvsadm) is in test/lab/bad-input/host.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../../lib/index.ts';
import type { Plan } from '../../../providers/ipvs/plan/plan.ts';
import { writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';
import { createHash } from 'node:crypto';
import { appSource, CDKTF_JSON, jsonError, project, runCli } from './cli-helpers.ts';

interface Case {
  readonly name: string;
  /** Builds the project (or files) and returns the arguments after `lvsform`. */
  readonly argv: () => string[] | Promise<string[]>;
  readonly code: string;
  /** What the message must say (construct path, file, director, value…). */
  readonly message: RegExp;
  /** Also check `--json` (commands that take it). @default true */
  readonly json?: boolean;
}

/** Runs a case twice, as text and as `--json`, and checks the one error each time. */
function check(c: Case): void {
  it(`${c.name}: exits 1 with ${c.code}`, async () => {
    // GIVEN the bad input
    const argv = await c.argv();
    // WHEN lvsform runs on it
    const text = await runCli(argv);
    // THEN it exits 1 with one error line carrying the stable code and a message that says where and what
    expect(text.code, text.stderr + text.stdout).toBe(1);
    const errors = text.stderr.match(/^Error \[[A-Z_]+\]/gm) ?? [];
    expect(errors, text.stderr).toEqual([`Error [${c.code}]`]);
    expect(text.stderr).toMatch(c.message);
    expect(text.stderr).not.toMatch(/Internal error| {4}at /);
    if (c.json === false) return;
    // AND with --json the same code is printed as {error:{code,…}}
    const json = await runCli([...argv, '--json']);
    expect(json.code).toBe(1);
    const e = jsonError(json);
    expect(e.code).toBe(c.code);
    expect(e.message).toMatch(c.message);
  });
}

/** A project whose app has `body` (see appSource). */
function appProject(body: string): string {
  return project({ 'cdktf.json': CDKTF_JSON, 'app.ts': appSource(body) });
}

const POOL = `const web = new RealServerPool(stack, 'web-pool', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }] });`;

describe('construct props: the app fails at synth and the error names the construct path', () => {
  const cases: Case[] = [
    {
      name: 'a host name as VIP',
      argv: () => ['-C', appProject(`lb1.addVirtualService('http', { address: 'www.example.com', port: 80 });`), 'synth'],
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: .*"www\.example\.com" is not an IPv4/,
      json: false,
    },
    {
      name: 'port 0 without persistence',
      argv: () => ['-C', appProject(`lb1.addVirtualService('any', { address: '198.51.100.10', port: 0 });`), 'plan'],
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/any: .*port 0.*persistence/,
    },
    {
      name: 'an sh scheduler flag on mh',
      argv: () => [
        '-C',
        appProject(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.of('mh', { flags: ['sh-port'] }) });`),
        'synth',
      ],
      code: 'LVS_VALIDATION',
      message: /sh-port/,
      json: false,
    },
    {
      name: 'a port remap under direct routing',
      argv: () => [
        '-C',
        appProject(
          `const dr = new RealServerPool(stack, 'dr', { forwarding: Forwarding.DIRECT_ROUTING, members: [{ address: '192.0.2.11', port: 8080 }] });\n` +
            `lb1.addVirtualService('http', { address: '198.51.100.20', port: 80, pools: [dr] });`,
        ),
        'plan',
      ],
      code: 'LVS_VALIDATION',
      message: /web\/(lb1\/http|dr).*8080/,
    },
    {
      name: 'a port remap under tunnelling',
      argv: () => [
        '-C',
        appProject(
          `const tun = new RealServerPool(stack, 'tun', { forwarding: Forwarding.tunnel(), members: [{ address: '192.0.2.11', port: 8080 }] });\n` +
            `lb1.addVirtualService('http', { address: '198.51.100.30', port: 80, pools: [tun] });`,
        ),
        'synth',
      ],
      code: 'LVS_VALIDATION',
      message: /web\/(lb1\/http|tun).*8080/,
      json: false,
    },
    {
      name: 'a duplicate real server',
      argv: () => [
        '-C',
        appProject(
          `const p = new RealServerPool(stack, 'p', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }, { address: '192.0.2.11' }] });\n` +
            `lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [p] });`,
        ),
        'plan',
      ],
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: real server 192\.0\.2\.11:80 \(pool web\/p\) is already in the service/,
    },
    {
      name: 'a weight above 2147483647 (INT_MAX, the kernel bound)',
      argv: () => ['-C', appProject(`new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11', weight: 2147483648 }] });`), 'synth'],
      code: 'LVS_VALIDATION',
      message: /web\/p.*weight must be an integer 0\.\.2147483647; got 2147483648/,
      json: false,
    },
    {
      name: 'one service declared twice on a director',
      argv: () => [
        '-C',
        appProject(
          `${POOL}\nlb1.addVirtualService('a', { address: '198.51.100.10', port: 80, pools: [web] });\nlb1.addVirtualService('b', { address: '198.51.100.10', port: 80, pools: [web] });`,
        ),
        'plan',
      ],
      code: 'LVS_VALIDATION',
      message: /web\/lb1: service tcp 198\.51\.100\.10:80 is defined twice on director lb1: web\/lb1\/a and web\/lb1\/b/,
    },
    {
      name: 'a director host with a shell command',
      argv: () => ['-C', appProject(`new Director(stack, 'lb2', { ssh: { host: '203.0.113.6;touch /tmp/x' } });`), 'synth'],
      code: 'LVS_VALIDATION',
      message: /web\/lb2: ssh host must be a host name or an IP address/,
      json: false,
    },
    {
      name: 'a stack name that is a path',
      argv: () => [
        '-C',
        project({ 'cdktf.json': CDKTF_JSON, 'app.ts': appSource('').replace("new LvsStack(app, 'web')", "new LvsStack(app, '../etc')") }),
        'synth',
      ],
      code: 'LVS_VALIDATION',
      message: /stack name must match/,
      json: false,
    },
  ];
  cases.forEach(check);
});

describe('arguments and flags', () => {
  let dir = '';
  beforeAll(() => {
    dir = appProject(`${POOL}\nlb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [web] });`);
  });
  const cases: Case[] = [
    { name: 'an unknown flag', argv: () => ['-C', dir, 'plan', '--frobnicate'], code: 'LVS_USAGE', message: /lvsform plan has no option --frobnicate/ },
    { name: 'an unknown command', argv: () => ['-C', dir, 'plna'], code: 'LVS_USAGE', message: /lvsform has no command "plna" \(did you mean plan\?\)/ },
    {
      name: '--parallelism that is no number',
      argv: () => ['-C', dir, 'plan', '--parallelism', 'ten'],
      code: 'LVS_USAGE',
      message: /--parallelism takes a whole number from 1 to 1000; got "ten"/,
    },
    {
      name: '--parallelism 0 (nothing would run)',
      argv: () => ['-C', dir, 'plan', '--parallelism', '0'],
      code: 'LVS_USAGE',
      message: /--parallelism takes a whole number from 1 to 1000; got "0"/,
    },
    {
      name: '--parallelism above its range',
      argv: () => ['-C', dir, 'plan', '--parallelism', '1001'],
      code: 'LVS_USAGE',
      message: /--parallelism .*got "1001"/,
    },
    { name: 'a negative --lock-timeout', argv: () => ['-C', dir, 'apply', '--lock-timeout', '-5'], code: 'LVS_USAGE', message: /--lock-timeout .*got "-5"/ },
    {
      name: 'a fractional --lock-timeout',
      argv: () => ['-C', dir, 'plan', '--lock-timeout', '1.5'],
      code: 'LVS_USAGE',
      message: /--lock-timeout .*got "1\.5"/,
    },
    {
      name: '--drain-timeout in exponent notation',
      argv: () => ['-C', dir, 'destroy', '--drain-timeout', '1e3'],
      code: 'LVS_USAGE',
      message: /--drain-timeout .*got "1e3"/,
    },
    {
      name: 'a missing value for --stack',
      argv: () => ['-C', dir, 'plan', '--stack'],
      code: 'LVS_USAGE',
      message: /--stack needs a value: --stack <name>/,
      // `--stack --json` would take --json for the stack's name, as commander reads a flag that needs a value.
      json: false,
    },
    {
      name: 'an unknown --director',
      argv: () => ['-C', dir, 'plan', '--director', 'lb9'],
      code: 'LVS_NO_DIRECTOR',
      message: /stack web has no director "lb9" \(it has: lb1\)/,
    },
    { name: 'an unknown --stack', argv: () => ['-C', dir, 'plan', '--stack', 'api'], code: 'LVS_NO_STACK', message: /no stack "api"; the app has: web/ },
    {
      name: 'a missing plan file',
      argv: () => ['-C', dir, 'apply', path.join(dir, 'nope.plan')],
      code: 'LVS_PLAN_MISSING',
      message: /cannot read plan file .*nope\.plan/,
    },
    { name: 'apply without a terminal or --auto-approve', argv: () => ['-C', dir, 'apply'], code: 'LVS_NEEDS_APPROVAL', message: /apply needs confirmation/ },
    {
      name: 'destroy without a terminal or --auto-approve',
      argv: () => ['-C', dir, 'destroy'],
      code: 'LVS_NEEDS_APPROVAL',
      message: /destroy needs confirmation/,
    },
    {
      name: 'force-unlock of an unknown director',
      argv: () => ['-C', dir, 'force-unlock', 'lb9'],
      code: 'LVS_NO_DIRECTOR',
      message: /no director "lb9"/,
      json: false,
    },
    {
      name: 'a project directory that does not exist',
      argv: () => ['-C', path.join(dir, 'missing'), 'plan'],
      code: 'LVS_PROJECT_CONFIG',
      message: /no cdktf\.json in .*missing/,
    },
  ];
  cases.forEach(check);
});

describe('cdktf.json', () => {
  const cases: Case[] = [
    {
      name: 'no cdktf.json',
      argv: () => ['-C', project({ 'app.ts': '' }), 'plan'],
      code: 'LVS_PROJECT_CONFIG',
      message: /no cdktf\.json in .*Run lvsform in the project directory|no cdktf\.json in /,
    },
    {
      name: 'cdktf.json that is not JSON',
      argv: () => ['-C', project({ 'cdktf.json': '{ "app": "x", }' }), 'plan'],
      code: 'LVS_PROJECT_CONFIG',
      message: /cdktf\.json is not valid JSON/,
    },
    {
      name: 'cdktf.json without "app"',
      argv: () => ['-C', project({ 'cdktf.json': '{"language":"typescript"}' }), 'synth'],
      code: 'LVS_PROJECT_CONFIG',
      message: /cdktf\.json has no "app" command/,
      json: false,
    },
    {
      name: 'cdktf.json whose "output" is no name',
      argv: () => ['-C', project({ 'cdktf.json': '{"app":"true","output":7}' }), 'plan'],
      code: 'LVS_PROJECT_CONFIG',
      message: /"output" must be a directory name/,
    },
    {
      name: 'an app that fails',
      argv: () => ['-C', project({ 'cdktf.json': '{"app":"echo the app broke >&2; exit 3"}' }), 'plan'],
      code: 'LVS_SYNTH_FAILED',
      message: /failed with exit 3:\nthe app broke/,
    },
    {
      name: 'an app that synthesizes nothing',
      argv: () => ['-C', project({ 'cdktf.json': '{"app":"true"}' }), 'plan'],
      code: 'LVS_NOT_SYNTHESIZED',
      message: /cdktf\.out\/manifest\.json/,
    },
    {
      name: '--no-synth before any synth',
      argv: () => ['-C', project({ 'cdktf.json': CDKTF_JSON }), 'plan', '--no-synth'],
      code: 'LVS_NOT_SYNTHESIZED',
      message: /Run `lvsform synth` first|cannot read .*manifest\.json/,
    },
  ];
  cases.forEach(check);
});

describe('synthesized JSON edited by hand (plan --no-synth)', () => {
  /** A project synthesized once; each case copies it and edits its cdk.tf.json. */
  let base = '';
  beforeAll(() => {
    base = project({ 'cdktf.json': '{"app":"false"}' });
    const app = new App({ outdir: path.join(base, 'cdktf.out') });
    const stack = new LvsStack(app, 'web');
    const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root' } });
    const web = new RealServerPool(stack, 'web-pool', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }] });
    lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
    app.synth();
  });
  const file = (dir: string) => path.join(dir, 'cdktf.out/stacks/web/cdk.tf.json');
  function edited(edit: (doc: any, svc: any, director: any) => void, raw?: (text: string) => string): string[] {
    const dir = project({});
    fs.cpSync(base, dir, { recursive: true });
    const text = fs.readFileSync(file(dir), 'utf8');
    if (raw) fs.writeFileSync(file(dir), raw(text));
    else {
      const doc = JSON.parse(text);
      const svc = Object.values(doc.resource.lvsform_virtual_service)[0];
      const director = Object.values(doc.resource.lvsform_director)[0];
      edit(doc, svc, director);
      fs.writeFileSync(file(dir), JSON.stringify(doc));
    }
    return ['-C', dir, 'plan', '--no-synth'];
  }
  const at = /cdktf\.out\/stacks\/web\/cdk\.tf\.json: resource\.lvsform_virtual_service\.[A-Za-z0-9_]+/;
  const svcAt = (rest: string) => new RegExp(`${at.source}${rest}`);
  const cases: Case[] = [
    {
      name: 'a truncated file',
      argv: () =>
        edited(
          () => {},
          (t) => t.slice(0, t.length / 2),
        ),
      code: 'LVS_SYNTH_INVALID',
      message: /cannot read .*cdk\.tf\.json/,
    },
    {
      name: 'a bad VIP',
      argv: () => edited((_, s) => void (s.address = '198.51.100.300')),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.address: "198\\.51\\.100\\.300" is not an IPv4'),
    },
    { name: 'a port out of range', argv: () => edited((_, s) => void (s.port = 70000)), code: 'LVS_SYNTH_INVALID', message: svcAt('\\.port:') },
    {
      name: 'a misspelt key',
      argv: () => edited((_, s) => void (s.sheduler = 'rr')),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt(": Unrecognized key\\(s\\) in object: 'sheduler'"),
    },
    {
      name: 'a weight as text',
      argv: () => edited((_, s) => void (s.real_server[0].weight = '5')),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.real_server\\[0\\]\\.weight: Expected number'),
    },
    {
      name: 'an unknown scheduler',
      argv: () => edited((_, s) => void (s.scheduler = 'rr; reboot')),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.scheduler'),
    },
    {
      name: 'a service of an unknown director',
      argv: () => edited((_, s) => void (s.director = 'lb9')),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.director: no lvsform_director is named "lb9"'),
    },
    {
      name: 'a newer format_version',
      argv: () => edited((_, __, d) => void (d.format_version = 2)),
      code: 'LVS_SYNTH_INVALID',
      message: /lvsform_director\.[A-Za-z0-9_]+\.format_version: format_version must be 1/,
    },
    {
      name: 'direct routing to another port',
      argv: () => edited((_, s) => void Object.assign(s.real_server[0], { forwarding: 'droute', port: 8080 })),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.real_server\\[0\\]\\.port: real server 192\\.0\\.2\\.11:8080: under droute the kernel uses the service port 80'),
    },
    {
      name: 'a duplicate real server',
      argv: () => edited((_, s) => void s.real_server.push({ ...s.real_server[0] })),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.real_server\\[1\\]: real server 192\\.0\\.2\\.11:80 appears twice'),
    },
    {
      name: 'port 0 without persistence',
      argv: () => edited((_, s) => void (s.port = 0)),
      code: 'LVS_SYNTH_INVALID',
      message: svcAt('\\.port: port 0 \\(all ports\\) needs persistence'),
    },
    {
      name: 'a stack name that leaves the state directory',
      argv: () => edited((doc) => void (doc['//'].metadata.stackName = '../../tmp/owned')),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: \["\/\/"\]\.metadata\.stackName: a stack name/,
    },
    {
      name: 'a director name with a shell metacharacter',
      argv: () => edited((_, __, d) => void (d.name = 'lb1;id')),
      code: 'LVS_SYNTH_INVALID',
      message: /lvsform_director\.[A-Za-z0-9_]+\.name: a director name/,
    },
  ];
  cases.forEach(check);
});

describe('saved plan files (apply FILE)', () => {
  let dir = '';
  let good = '';
  const plan: Plan = {
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
  beforeAll(async () => {
    dir = project({ 'cdktf.json': '{"app":"false"}' });
    good = path.join(dir, 'good.plan');
    await writePlanFile(good, plan);
  });
  const variant = (name: string, edit: (text: string) => string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, edit(fs.readFileSync(good, 'utf8')));
    return f;
  };
  /** Re-signs an edited plan with a correct digest (anyone can: the digest guards against damage, not malice). */
  const resigned = (name: string, edit: (p: any) => void) =>
    variant(name, (t) => {
      const doc = JSON.parse(t);
      edit(doc.plan);
      doc.digest = createHash('sha256').update(JSON.stringify(doc.plan)).digest('hex');
      return JSON.stringify(doc);
    });
  const cases: Case[] = [
    {
      name: 'a truncated plan',
      argv: () => ['-C', dir, 'apply', variant('t.plan', (t) => t.slice(0, 200))],
      code: 'LVS_PLAN_CORRUPT',
      message: /plan file .*t\.plan is not valid JSON \(truncated or damaged\)/,
    },
    {
      name: 'a plan edited after it was written',
      argv: () => ['-C', dir, 'apply', variant('e.plan', (t) => t.replace('"batch": ""', '"batch": "-C\\n"'))],
      code: 'LVS_PLAN_CORRUPT',
      message: /e\.plan was modified after it was written \(digest mismatch\)/,
    },
    {
      name: 'a plan of another stack',
      argv: () => ['-C', dir, 'apply', good, '--stack', 'api'],
      code: 'LVS_PLAN_MISMATCH',
      message: /good\.plan is for stack "web", not "api"/,
    },
    {
      name: 'a plan of an older format',
      argv: () => ['-C', dir, 'apply', variant('o.plan', (t) => t.replace('"format_version": 1', '"format_version": 0'))],
      code: 'LVS_PLAN_FORMAT',
      message: /o\.plan has format 0; this lvsform applies format 1/,
    },
    {
      name: 'a file that is no plan',
      argv: () => ['-C', dir, 'apply', path.join(dir, 'cdktf.json')],
      code: 'LVS_PLAN_CORRUPT',
      message: /cdktf\.json is not an lvsform plan file/,
    },
    { name: 'a directory given as plan', argv: () => ['-C', dir, 'apply', dir], code: 'LVS_PLAN_MISSING', message: /cannot read plan file/ },
    {
      name: 'a re-signed plan whose stack leaves the state directory',
      argv: () => ['-C', dir, 'apply', resigned('s.plan', (p) => void (p.stack = '../../tmp/owned'))],
      code: 'LVS_PLAN_CORRUPT',
      message: /s\.plan is malformed at plan\.stack/,
    },
    {
      name: 'a re-signed plan with an unknown change action',
      argv: () => ['-C', dir, 'show', resigned('a.plan', (p) => void p.directors[0].changes.push({ action: 'flush', kind: 'service' }))],
      code: 'LVS_PLAN_CORRUPT',
      message: /a\.plan is malformed at plan\.directors\.0\.changes\.0\.action/,
    },
    {
      name: 'a re-signed plan whose batch is not what its changes render',
      argv: () => ['-C', dir, 'apply', resigned('b.plan', (p) => void (p.directors[0].batch = '-C\n'))],
      code: 'LVS_PLAN_INCONSISTENT',
      message: /b\.plan: the batch for director lb1 is not what its changes render \(the file was edited and signed again\); nothing was changed/,
    },
  ];
  cases.forEach(check);
});
