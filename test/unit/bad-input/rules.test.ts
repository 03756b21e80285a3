/**
 * The bad-input catalogue, continued: one rule set at every entrance. A hand-edited cdk.tf.json, an app and an import
 * are refused for the same things (values the kernel or ipvsadm refuses, combinations that do nothing, addresses no
 * packet reaches), and no JSON lvsform reads may hold a key twice. Every case ends in one error with a stable code,
 * names the file, construct path or flag, and changes nothing: cdktf.out byte-identical, no app written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecord } from '../../../providers/ipvs/model/record.ts';
import { LvsError } from '../../../providers/ipvs/model/errors.ts';
import { appSource, CDKTF_JSON, project, runCli } from './cli-helpers.ts';
import { expectRefused, synthesizedProject, type EdgeCase } from './edges-helpers.ts';

const STACK_FILE = 'cdktf.out/stacks/web/cdk.tf.json';
const SVC = /cdk\.tf\.json: resource\.lvsform_virtual_service\.lb1_http_[0-9A-F]+/.source;

/** A synthesized project whose cdk.tf.json is then edited by hand; `plan --no-synth` reads it. */
async function edited(edit: (service: any, doc: any) => void): Promise<{ dir: string; argv: string[] }> {
  const dir = await synthesizedProject();
  const file = path.join(dir, STACK_FILE);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(Object.values<any>(doc.resource.lvsform_virtual_service)[0], doc);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2));
  return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
}

/** A synthesized project whose file `name` (relative to it) is then rewritten by `rewrite` as text. */
async function rewritten(name: string, rewrite: (text: string) => string, argv: (dir: string) => string[]): Promise<{ dir: string; argv: string[] }> {
  const dir = await synthesizedProject();
  const file = path.join(dir, name);
  const before = fs.readFileSync(file, 'utf8');
  const text = rewrite(before);
  // An edit that missed would leave a good project, and the command would go on to reach its director.
  if (text === before) throw new Error(`the edit of ${name} changed nothing`);
  fs.writeFileSync(file, text);
  return { dir, argv: argv(dir) };
}

describe('a hand-edited cdk.tf.json is refused for what the constructs refuse', () => {
  const vip = (address: string, realServer = '192.0.2.11') =>
    edited((s) => {
      s.address = address;
      s.real_server[0].address = realServer;
    });
  const cases: EdgeCase[] = [
    {
      name: 'a persistence timeout of 3,000,000 s',
      given: () => edited((s) => void (s.persistence = { timeout: 3_000_000 })),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.persistence\\.timeout: persistence timeout must be an integer 1\\.\\.2678400 seconds.*; got 3000000`),
      json: true,
    },
    {
      name: 'persistence_engine "foo"',
      given: () =>
        edited((s) => {
          s.protocol = 'udp';
          s.persistence = { timeout: 60 };
          s.persistence_engine = 'foo';
        }),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.persistence_engine: the kernel has one persistence engine, sip; got "foo"`),
    },
    {
      name: 'sip on TCP without persistence',
      given: () => edited((s) => void (s.persistence_engine = 'sip')),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.persistence_engine: persistence engine sip needs persistence`),
    },
    {
      name: 'a NAT real server on port 0 of a port-80 service',
      given: () => edited((s) => void (s.real_server[0].port = 0)),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.real_server\\[0\\]\\.port: real server 192\\.0\\.2\\.11:0: port 0 under NAT would rewrite packets to port 0`),
    },
    {
      name: 'a multicast VIP (224.0.0.1)',
      given: () => vip('224.0.0.1'),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.address: virtual address 224\\.0\\.0\\.1 is multicast`),
    },
    {
      name: 'an unspecified VIP (0.0.0.0)',
      given: () => vip('0.0.0.0'),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.address: virtual address 0\\.0\\.0\\.0 is unspecified`),
    },
    {
      name: 'the limited broadcast address as VIP',
      given: () => vip('255.255.255.255'),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.address: virtual address 255\\.255\\.255\\.255 is the limited broadcast address`),
    },
    {
      name: 'the unspecified IPv6 address as VIP (::)',
      given: () => vip('::', '2001:db8::11'),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.address: virtual address :: is unspecified`),
    },
    {
      name: 'a multicast IPv6 VIP (ff02::1)',
      given: () => vip('ff02::1', '2001:db8::11'),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.address: virtual address ff02::1 is multicast \\(ff00::/8\\)`),
    },
    {
      name: 'an IPv4-mapped real server (::ffff:192.0.2.11)',
      given: () => edited((s) => void (s.real_server[0].address = '::ffff:192.0.2.11')),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.real_server\\[0\\]\\.address: real server ::ffff:192\\.0\\.2\\.11 is IPv4-mapped; use the IPv4 address 192\\.0\\.2\\.11`),
    },
    {
      name: 'a scheduler named __proto__',
      given: () => edited((s) => void (s.scheduler = '__proto__')),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.scheduler: a scheduler name such as rr, wlc, sh; got "__proto__"`),
    },
    {
      name: 'a construct path of 2,000 characters',
      given: () => edited((s) => void (s.construct_path = `web/lb1/${'h'.repeat(1992)}`)),
      code: 'LVS_SYNTH_INVALID',
      message: new RegExp(`${SVC}\\.construct_path: the construct path is 2000 characters; at most 1024`),
    },
    {
      name: 'an ssh host that is not a host name',
      given: () =>
        edited((_s, doc) => {
          Object.values<any>(doc.resource.lvsform_director)[0].ssh.host = 'bad host;x';
        }),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: resource\.lvsform_director\.lb1_[0-9A-F]+\.ssh\.host: ssh host must be a host name or an IP address; got "bad host;x"/,
    },
    {
      name: 'ssh sudo with user root',
      given: () =>
        edited((_s, doc) => {
          Object.values<any>(doc.resource.lvsform_director)[0].ssh.sudo = true;
        }),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: resource\.lvsform_director\.lb1_[0-9A-F]+\.ssh\.sudo: ssh sudo is for a login user that is not root/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c), 60_000);
});

describe('no JSON lvsform reads may hold a key twice', () => {
  const cases: EdgeCase[] = [
    {
      name: 'a second, empty lvsform_virtual_service (read as "no services", a plan would destroy them all)',
      given: () =>
        rewritten(
          STACK_FILE,
          (t) => t.replace('"resource": {', '"resource": {\n    "lvsform_virtual_service": {},'),
          (dir) => ['-C', dir, 'plan', '--no-synth'],
        ),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: duplicate key resource\.lvsform_virtual_service \(line \d+\)/,
      json: true,
    },
    {
      name: 'a duplicated "port" (the last value would win)',
      given: () =>
        rewritten(
          STACK_FILE,
          (t) => t.replace('"port": 80,', '"port": 80,\n"port": 8080,'),
          (dir) => ['-C', dir, 'plan', '--no-synth'],
        ),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: duplicate key resource\.lvsform_virtual_service\.lb1_http_[0-9A-F]+\.port \(line \d+\)/,
    },
    {
      name: 'a duplicated "stacks" in the manifest',
      given: () =>
        rewritten(
          'cdktf.out/manifest.json',
          (t) => t.replace(/^\{/, '{"stacks": {},'),
          (dir) => ['-C', dir, 'plan', '--no-synth'],
        ),
      code: 'LVS_SYNTH_INVALID',
      message: /manifest\.json is ambiguous: duplicate key stacks \(line \d+\)/,
    },
    {
      name: 'a duplicated "output" in cdktf.json',
      given: () =>
        rewritten(
          'cdktf.json',
          (t) => t.replace(/\}$/, ',"output":"elsewhere"}'),
          (dir) => ['-C', dir, 'synth'],
        ),
      code: 'LVS_PROJECT_CONFIG',
      message: /cdktf\.json is ambiguous: duplicate key output \(line 1\)/,
    },
    {
      name: 'a plan file with a duplicated "kind"',
      given: async () => {
        const dir = project({ 'a.plan': '{"kind":"lvsform-plan","format_version":1,"kind":"lvsform-plan"}' });
        return { dir, argv: ['-C', dir, 'show', path.join(dir, 'a.plan')] };
      },
      code: 'LVS_PLAN_CORRUPT',
      message: /plan file .*a\.plan is ambiguous: duplicate key kind \(line 1\)/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c), 60_000);

  it('an ownership record with a duplicated "services" is refused: LVS_RECORD_CORRUPT', () => {
    // GIVEN a record whose second "services" would hide the first
    const text =
      '{"format":1,"stack":"web","director":"lb1","updated":"2025-01-01T00:00:00.000Z","services":{"tcp 198.51.100.10:80":{"path":"web/lb1/http"}},"services":{}}';
    // WHEN it is read
    const error = (() => {
      try {
        parseRecord(text, 'web', 'lb1 (lab)');
      } catch (e) {
        return e;
      }
    })();
    // THEN it is refused, naming the file and the key, with the recovery
    expect(error).toBeInstanceOf(LvsError);
    expect(error).toMatchObject({ code: 'LVS_RECORD_CORRUPT' });
    expect((error as LvsError).message).toMatch(/\/var\/lib\/lvsform\/web\.json on lb1 \(lab\) is ambiguous: duplicate key services \(line 1\)/);
    expect((error as LvsError).hint).toMatch(/--adopt/);
  });
});

describe('the constructs refuse what the reader refuses', () => {
  const app = (body: string) => project({ 'cdktf.json': CDKTF_JSON, 'app.ts': appSource(body) });
  const cases: EdgeCase[] = [
    {
      name: 'a construct id of 5,000 characters',
      given: async () => {
        const dir = app(`lb1.addVirtualService('${'h'.repeat(5000)}', { address: '198.51.100.10', port: 80 });`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /the construct path is 5008 characters; at most 1024 are written into plans and ownership records/,
    },
    {
      name: "Scheduler.custom('__proto__')",
      given: async () => {
        const dir = app(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.custom('__proto__') });`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /Scheduler\.custom\("__proto__"\): a scheduler name is a kernel module suffix/,
    },
    {
      name: 'a scheduler name of 16 characters (the kernel holds 15)',
      given: async () => {
        const dir = app(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.custom('abcdefghijklmnop') });`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /a scheduler name is a kernel module suffix \(ip_vs_NAME\): a lower-case letter, then up to 14/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.code}, nothing synthesized`, async () => {
      await expectRefused(c);
      const { dir } = await c.given();
      expect(fs.existsSync(path.join(dir, 'cdktf.out'))).toBe(false);
    }, 60_000);
  }
});

describe('import refuses what the constructs refuse, and writes no app', () => {
  const save = '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n';
  /** `lvsform import --save` of `text` to app.ts, with `flags`. */
  const importing =
    (text: string, ...flags: string[]) =>
    async () => {
      const dir = project({ 'rules.save': text });
      return { dir, argv: ['-C', dir, 'import', '--save', path.join(dir, 'rules.save'), '--out', path.join(dir, 'app.ts'), ...flags] };
    };
  const cases: EdgeCase[] = [
    {
      name: 'a NAT real server on port 0 (-r 192.0.2.11:0 -m)',
      given: importing('-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:0 -m -w 1\n'),
      code: 'LVS_IMPORT_UNSUPPORTED',
      message: /rules\.save:1: tcp 198\.51\.100\.10:80: real server 192\.0\.2\.11:0: port 0 under NAT would rewrite packets to port 0/,
    },
    {
      name: 'a persistence engine other than sip (--pe foo)',
      given: importing('-A -u 198.51.100.10:5060 -s rr -p 60 --pe foo\n'),
      code: 'LVS_IMPORT_UNSUPPORTED',
      message: /rules\.save:1: udp 198\.51\.100\.10:5060: the kernel has one persistence engine, sip; got "foo"/,
    },
    {
      name: 'a multicast VIP',
      given: importing('-A -u 224.0.0.1:53 -s rr\n'),
      code: 'LVS_IMPORT_UNSUPPORTED',
      message: /rules\.save:1: udp 224\.0\.0\.1:53: virtual address 224\.0\.0\.1 is multicast/,
    },
    {
      name: "--host 'bad host;x'",
      given: importing(save, '--host', 'bad host;x'),
      code: 'LVS_USAGE',
      message: /--host: ssh host must be a host name or an IP address; got "bad host;x"/,
    },
    {
      name: "--alias 'a b'",
      given: importing(save, '--ssh-config', '/etc/ssh/ssh_config', '--alias', 'a b'),
      code: 'LVS_USAGE',
      message: /--alias: ssh alias must be a Host name of the config file/,
    },
    {
      name: "--ssh-config ''",
      given: importing(save, '--ssh-config', '', '--alias', 'lb1'),
      code: 'LVS_USAGE',
      message: /--ssh-config: ssh configFile must be a file path .*; got ""/,
    },
    {
      name: '--user root --sudo',
      given: importing(save, '--host', '203.0.113.2', '--user', 'root', '--sudo'),
      code: 'LVS_USAGE',
      message: /--sudo: ssh sudo is for a login user that is not root/,
    },
    {
      name: '--user with a space',
      given: importing(save, '--host', '203.0.113.2', '--user', 'a b'),
      code: 'LVS_USAGE',
      message: /--user: ssh user must be a login name/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.code}, no app written`, async () => {
      await expectRefused(c);
      const { dir } = await c.given();
      expect(fs.readdirSync(dir)).toEqual(['rules.save']);
    }, 60_000);
  }

  it('a table every entrance accepts imports to an app that synthesizes', async () => {
    // GIVEN the good save file imported to app.ts
    const { dir, argv } = await importing(save)();
    const run = await runCli(argv);
    expect(run.code, run.stderr).toBe(0);
    // WHEN the generated app is synthesized (against the library by path)
    const code = fs
      .readFileSync(path.join(dir, 'app.ts'), 'utf8')
      .replace(/from 'lvsform'/g, `from ${JSON.stringify(path.resolve(import.meta.dirname, '../../../lib/index.ts'))}`);
    fs.writeFileSync(path.join(dir, 'app.ts'), code);
    fs.writeFileSync(path.join(dir, 'cdktf.json'), CDKTF_JSON);
    const synth = await runCli(['-C', dir, 'synth']);
    // THEN it synthesizes
    expect(synth.code, synth.stderr).toBe(0);
  }, 60_000);
});
