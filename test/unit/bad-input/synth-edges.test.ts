/**
 * The bad-input catalogue, continued: the edges of synth. Stale output passed off as current, configuration lost
 * without a word (misspelt props, unknown schedulers, unknown resource types in hand-edited JSON), odd project files
 * (null, a directory, a byte-order mark) and unknown director names. Every case ends in one error with a stable code
 * and leaves cdktf.out byte-identical; none reaches a host.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appSource, CDKTF_JSON, project, runCli } from './cli-helpers.ts';
import { expectRefused, GOOD_BODY, synthesizedProject, treeDigest, type EdgeCase } from './edges-helpers.ts';

const STACK_FILE = 'cdktf.out/stacks/web/cdk.tf.json';

/** A synthesized project whose app.ts is then replaced by one with `body`. */
async function appAfterGoodSynth(body: string): Promise<string> {
  return synthesizedProject({ 'app.ts': appSource(body) });
}

describe('stale synthesized output is never reported as current', () => {
  const cases: EdgeCase[] = [
    {
      name: 'an app command that writes nothing ("app": "true") after a good synth',
      given: async () => {
        const dir = await synthesizedProject({ 'cdktf.json': '{"app":"true"}' });
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_NOT_SYNTHESIZED',
      message: /the app \(true\) exited 0 but synthesized nothing in this run .*cdktf\.out\/manifest\.json is an older run's and was not used/,
      hint: /call app\.synth\(\)/,
    },
    {
      name: 'plan with an app that no longer calls app.synth()',
      given: async () => {
        const dir = await synthesizedProject();
        fs.writeFileSync(path.join(dir, 'app.ts'), appSource(GOOD_BODY).replace('app.synth();', ''));
        return { dir, argv: ['-C', dir, 'plan'] };
      },
      code: 'LVS_NOT_SYNTHESIZED',
      message: /synthesized nothing in this run/,
      json: true,
    },
    {
      name: 'an app that writes to a fixed directory instead of CDKTF_OUTDIR',
      given: async () => {
        const dir = await synthesizedProject();
        fs.writeFileSync(path.join(dir, 'app.ts'), appSource(GOOD_BODY).replace("process.env.CDKTF_OUTDIR ?? 'cdktf.out'", "'elsewhere.out'"));
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_NOT_SYNTHESIZED',
      message: /no manifest\.json in CDKTF_OUTDIR/,
      hint: /reads CDKTF_OUTDIR/,
    },
    {
      name: 'an app that fails after a good synth',
      given: async () => {
        const dir = await synthesizedProject({ 'cdktf.json': '{"app":"echo broke >&2; exit 2"}' });
        return { dir, argv: ['-C', dir, 'plan'] };
      },
      code: 'LVS_SYNTH_FAILED',
      message: /failed with exit 2:\nbroke/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}, cdktf.out untouched`, () => expectRefused(c));

  it('a good synth replaces the whole output: a stack the app no longer has is gone', async () => {
    // GIVEN a project synthesized with stacks web and old
    const dir = await synthesizedProject();
    fs.mkdirSync(path.join(dir, 'cdktf.out/stacks/old'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'cdktf.out/stacks/old/cdk.tf.json'), '{}');
    // WHEN it is synthesized again
    const run = await runCli(['-C', dir, 'synth']);
    // THEN the output is exactly this run's
    expect(run.code, run.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'cdktf.out/stacks/old'))).toBe(false);
    expect(fs.existsSync(path.join(dir, STACK_FILE))).toBe(true);
  });

  it('honours the "output" of cdktf.json, as cdktf does (through CDKTF_OUTDIR)', async () => {
    // GIVEN cdktf.json with "output": "build/lvs"
    const dir = project({ 'cdktf.json': CDKTF_JSON.replace('"cdktf.out"', '"build/lvs"'), 'app.ts': appSource(GOOD_BODY) });
    // WHEN it is synthesized
    const run = await runCli(['-C', dir, 'synth']);
    // THEN the stack is written there, and nothing to cdktf.out
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(path.join(dir, 'build/lvs/stacks/web/cdk.tf.json'));
    expect(fs.existsSync(path.join(dir, 'cdktf.out'))).toBe(false);
  });

  it("shows the app's own console output", async () => {
    // GIVEN an app that logs a line
    const dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': appSource(`console.log('hello from the app');\n${GOOD_BODY}`) });
    // WHEN it is synthesized
    const run = await runCli(['-C', dir, 'synth']);
    // THEN the line is shown (on stderr, so that --json output stays one document)
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('hello from the app');
  });
});

describe('configuration is never silently lost', () => {
  const cases: EdgeCase[] = [
    {
      name: 'a misspelt service prop (persistance)',
      given: async () => {
        const dir = await appAfterGoodSynth(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, persistance: { timeout: 60 } } as never);`);
        return { dir, argv: ['-C', dir, 'plan'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: a VirtualService has no prop "persistance" \(did you mean persistence\?\)/,
      json: true,
    },
    {
      name: 'pool instead of pools',
      given: async () => {
        const dir = await appAfterGoodSynth(
          `const p = new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11' }] });\nlb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pool: [p] } as never);`,
        );
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: a VirtualService has no prop "pool" \(did you mean pools\?\)/,
    },
    {
      name: 'a misspelt director prop',
      given: async () => {
        const dir = await appAfterGoodSynth(`new Director(stack, 'lb2', { ssh: { host: '203.0.113.3' }, setpu: {} } as never);`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb2: a Director has no prop "setpu" \(did you mean setup\?\)/,
    },
    {
      name: 'a misspelt ssh prop',
      given: async () => {
        const dir = await appAfterGoodSynth(`new Director(stack, 'lb2', { ssh: { host: '203.0.113.3', identityfile: '/k' } } as never);`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb2: ssh has no prop "identityfile" \(did you mean identityFile\?\)/,
    },
    {
      name: 'a misspelt persistence prop',
      given: async () => {
        const dir = await appAfterGoodSynth(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, persistence: { timout: 60 } } as never);`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: persistence has no prop "timout" \(did you mean timeout\?\)/,
    },
    {
      name: 'a misspelt pool prop',
      given: async () => {
        const dir = await appAfterGoodSynth(`new RealServerPool(stack, 'p', { member: [{ address: '192.0.2.11' }] } as never);`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/p: a RealServerPool has no prop "member" \(did you mean members\?\)/,
    },
    {
      name: 'a misspelt member prop',
      given: async () => {
        const dir = await appAfterGoodSynth(`new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11', wieght: 5 }] } as never);`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/p: member "192\.0\.2\.11" has no prop "wieght" \(did you mean weight\?\)/,
    },
    {
      name: 'a misspelt tunnel option',
      given: async () => {
        const dir = await appAfterGoodSynth(`new RealServerPool(stack, 'p', { forwarding: Forwarding.tunnel({ typ: 'gue' } as never) });`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /Forwarding\.tunnel: Forwarding\.tunnel has no prop "typ" \(did you mean type\?\)/,
    },
    {
      name: 'a misspelt hash-scheduler option',
      given: async () => {
        const dir = await appAfterGoodSynth(
          `lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.sourceHash({ fallbak: true } as never) });`,
        );
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /Scheduler\.sourceHash has no prop "fallbak" \(did you mean fallback\?\)/,
    },
    {
      name: "Scheduler.of('rrr'), a scheduler the kernel does not have",
      given: async () => {
        const dir = await appAfterGoodSynth(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.of('rrr') });`);
        return { dir, argv: ['-C', dir, 'plan'] };
      },
      code: 'LVS_VALIDATION',
      message: /Scheduler\.of\("rrr"\): the kernel has no scheduler "rrr" \(did you mean rr\?\).*Scheduler\.custom\("rrr"\)/,
      json: true,
    },
    {
      name: 'a misspelt App option (outDir)',
      given: async () => {
        const dir = await synthesizedProject({
          'app.ts': appSource(GOOD_BODY).replace(
            "new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' })",
            'new App({ outDir: process.env.CDKTF_OUTDIR } as never)',
          ),
        });
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /App: App has no prop "outDir" \(did you mean outdir\?\)/,
    },
    {
      name: 'pools given one pool, not an array',
      given: async () => {
        const dir = await appAfterGoodSynth(
          `const p = new RealServerPool(stack, 'p', { members: [{ address: '192.0.2.11' }] });\nlb1.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: p as never });`,
        );
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/lb1\/http: pools must be an array of RealServerPool \(pools: \[web\]\); got one pool, web\/p, not in an array/,
    },
    {
      name: 'members given one member, not an array',
      given: async () => {
        const dir = await appAfterGoodSynth(`new RealServerPool(stack, 'p', { members: { address: '192.0.2.11' } as never });`);
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web\/p: members must be an array/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}, cdktf.out untouched`, () => expectRefused(c));

  it("Scheduler.custom('rrr') is the documented way to name a scheduler outside the kernel's tree", async () => {
    // GIVEN an app naming a custom scheduler module through the escape hatch
    const dir = project({
      'cdktf.json': CDKTF_JSON,
      'app.ts': appSource(`lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.custom('rrr') });`),
    });
    // WHEN it is synthesized
    const run = await runCli(['-C', dir, 'synth']);
    // THEN it synthesizes with that scheduler
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, STACK_FILE), 'utf8')).toContain('"scheduler": "rrr"');
  });
});

describe('hand-edited synthesized JSON is read strictly (plan --no-synth)', () => {
  async function edited(edit: (doc: any) => void): Promise<{ dir: string; argv: string[] }> {
    const dir = await synthesizedProject();
    const file = path.join(dir, STACK_FILE);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(doc);
    fs.writeFileSync(file, JSON.stringify(doc));
    return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
  }
  const cases: EdgeCase[] = [
    {
      name: 'services under an unknown lvsform_* resource type (read as "no services" before, so a plan destroyed them)',
      given: () =>
        edited((doc) => {
          doc.resource.lvsform_virtual_servce = doc.resource.lvsform_virtual_service;
          delete doc.resource.lvsform_virtual_service;
        }),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: resource\.lvsform_virtual_servce: unknown resource type "lvsform_virtual_servce" \(did you mean "lvsform_virtual_service"\?\)/,
      json: true,
    },
    {
      name: 'an unknown top-level block',
      given: () => edited((doc) => void (doc.resources = doc.resource)),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: resources: unknown top-level block "resources"/,
    },
    {
      name: 'an unknown field of a real server',
      given: () => edited((doc) => void (Object.values<any>(doc.resource.lvsform_virtual_service)[0].real_server[0].wieght = 3)),
      code: 'LVS_SYNTH_INVALID',
      message: /real_server\[0\]: Unrecognized key\(s\) in object: 'wieght' \(did you mean 'weight'\?\)/,
    },
    {
      name: 'a bad scheduler value, shown',
      given: () => edited((doc) => void (Object.values<any>(doc.resource.lvsform_virtual_service)[0].scheduler = 'Round Robin')),
      code: 'LVS_SYNTH_INVALID',
      message: /\.scheduler: a scheduler name such as rr, wlc, sh; got "Round Robin"/,
    },
    {
      name: 'resource null',
      given: () => edited((doc) => void (doc.resource = null)),
      code: 'LVS_SYNTH_INVALID',
      message: /cdk\.tf\.json: resource: Expected object, received null/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c));
});

describe('odd project files end in one clear error, not a crash', () => {
  const cases: EdgeCase[] = [
    {
      name: 'cdktf.json that is null',
      given: async () => {
        const dir = project({ 'cdktf.json': 'null' });
        return { dir, argv: ['-C', dir, 'plan'] };
      },
      code: 'LVS_PROJECT_CONFIG',
      message: /cdktf\.json must hold a JSON object; got null/,
      json: true,
    },
    {
      name: 'cdktf.json that is an array',
      given: async () => {
        const dir = project({ 'cdktf.json': '[]' });
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_PROJECT_CONFIG',
      message: /must hold a JSON object; got an array/,
    },
    {
      name: 'cdktf.json with "app": null',
      given: async () => {
        const dir = project({ 'cdktf.json': '{"app":null}' });
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_PROJECT_CONFIG',
      message: /has no "app" command \(got null\)/,
    },
    {
      name: 'cdktf.json with "output": null',
      given: async () => {
        const dir = project({ 'cdktf.json': '{"app":"true","output":null}' });
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_PROJECT_CONFIG',
      message: /"output" must be a directory name; got null/,
    },
    {
      name: 'cdktf.json that is a directory',
      given: async () => {
        const dir = project({ 'cdktf.json/x': '' });
        return { dir, argv: ['-C', dir, 'plan'] };
      },
      code: 'LVS_PROJECT_CONFIG',
      message: /cdktf\.json is a directory, not a file/,
    },
    {
      name: 'a manifest that is null (plan --no-synth)',
      given: async () => {
        const dir = await synthesizedProject({ 'cdktf.out/manifest.json': 'null' });
        return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
      },
      code: 'LVS_SYNTH_INVALID',
      message: /manifest\.json: \(top level\): Expected object, received null$/m,
      json: true,
    },
    {
      name: 'a manifest whose stack entry is null',
      given: async () => {
        const dir = await synthesizedProject({ 'cdktf.out/manifest.json': '{"stacks":{"web":null}}' });
        return { dir, argv: ['-C', dir, 'status', '--no-synth'] };
      },
      code: 'LVS_SYNTH_INVALID',
      message: /manifest\.json: stacks\.web: Expected object, received null/,
    },
    {
      name: 'a manifest whose stacks is a list',
      given: async () => {
        const dir = await synthesizedProject({ 'cdktf.out/manifest.json': '{"stacks":[]}' });
        return { dir, argv: ['-C', dir, 'doctor', '--no-synth'] };
      },
      code: 'LVS_SYNTH_INVALID',
      message: /manifest\.json: stacks: Expected object, received array/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c));

  it('cdktf.json with a byte-order mark is read as the JSON it is', async () => {
    // GIVEN cdktf.json saved with a UTF-8 byte-order mark
    const dir = project({ 'cdktf.json': `\uFEFF${CDKTF_JSON}`, 'app.ts': appSource(GOOD_BODY) });
    // WHEN it is synthesized
    const run = await runCli(['-C', dir, 'synth']);
    // THEN it works as without the mark
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/web: 1 director\(s\), 1 service\(s\)/);
  });
});

describe('unknown director names are refused by every command', () => {
  const cases: EdgeCase[] = [
    {
      name: 'doctor --director nope',
      given: async () => {
        const dir = await synthesizedProject();
        return { dir, argv: ['-C', dir, 'doctor', '--no-synth', '--director', 'nope'] };
      },
      code: 'LVS_NO_DIRECTOR',
      message: /stack web has no director "nope" \(it has: lb1\)/,
      json: true,
    },
    {
      name: 'status --director nope',
      given: async () => {
        const dir = await synthesizedProject();
        return { dir, argv: ['-C', dir, 'status', '--no-synth', '--director', 'nope'] };
      },
      code: 'LVS_NO_DIRECTOR',
      message: /stack web has no director "nope" \(it has: lb1\)/,
      json: true,
    },
    {
      name: 'doctor --director nope (with synth)',
      given: async () => {
        const dir = await synthesizedProject();
        return { dir, argv: ['-C', dir, 'doctor', '--director', 'nope'] };
      },
      code: 'LVS_NO_DIRECTOR',
      message: /no director "nope"/,
    },
  ];
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c));
});

describe('messages say what happened', () => {
  it('a problem in the output of a synth of this very run is not blamed on a stale synth', async () => {
    // GIVEN an app whose output lists no stacks
    const dir = project({
      'cdktf.json': CDKTF_JSON,
      'app.ts': `import fs from 'node:fs';\nfs.writeFileSync(process.env.CDKTF_OUTDIR + '/manifest.json', '{"stacks":{"web":{"synthesizedStackPath":"nope.json"}}}');\n`,
    });
    // WHEN plan synthesizes it
    const run = await runCli(['-C', dir, 'plan']);
    // THEN the hint says the file is this run's, and does not say to run synth first
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Error \[LVS_SYNTH_INVALID\]: cannot read .*nope\.json/);
    expect(run.stderr).toMatch(/written by this run's synth/);
    expect(run.stderr).not.toMatch(/lvsform synth/);
    expect(treeDigest(path.join(dir, 'cdktf.out'))).not.toBe('absent');
  });
});
