/**
 * The bad-input catalogue, continued: one service in two stacks of one app, two directors on one machine (however
 * spelt, at synth and in a hand-edited cdk.tf.json), and SSH set-ups that fail before anything runs (a config file
 * that does not exist, no ssh on PATH). Each ends in one error with its own code and a message naming the construct
 * paths, the directors or the file, and the project's cdktf.out is byte-identical afterwards. No host is ever reached.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appSource, CDKTF_JSON, project, runCli } from './cli-helpers.ts';
import { expectRefused, GOOD_BODY, synthesizedProject, treeDigest, type EdgeCase } from './edges-helpers.ts';

/** A project whose app is `body` (lb1 of appSource replaced by the body's own directors when `ownDirectors`). */
function appProject(body: string, ownDirectors = false): string {
  let source = appSource(body);
  if (ownDirectors) source = source.replace(/const lb1 = new Director\(stack, 'lb1'.*\n/, '').replace(', lb1]', ']');
  return project({ 'cdktf.json': CDKTF_JSON, 'app.ts': source });
}

/** A synthesized project whose director lb1 is reached through `ssh` (an object literal in TypeScript). */
async function projectReaching(ssh: string): Promise<string> {
  const dir = appProject(`const lb1 = new Director(stack, 'lb1', { ssh: ${ssh} });\n${GOOD_BODY}`, true);
  const first = await runCli(['-C', dir, 'synth']);
  expect(first.code, first.stderr).toBe(0);
  return dir;
}

const cases: EdgeCase[] = [
  {
    name: 'two stacks of one app declaring one service on one machine',
    given: async () => {
      const other = [
        `const other = new LvsStack(app, 'other');`,
        `const pool2 = new RealServerPool(other, 'pool', { members: [{ address: '192.0.2.21' }] });`,
        `new Director(other, 'lb1', { ssh: { host: 'LB1.example.' } }).addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool2] });`,
      ].join('\n');
      const dir = appProject([`const lb1 = new Director(stack, 'lb1', { ssh: { host: 'lb1.example', port: 22 } });`, GOOD_BODY, other].join('\n'), true);
      return { dir, argv: ['-C', dir, 'synth'] };
    },
    code: 'LVS_VALIDATION',
    message:
      /other\/lb1\/http: service tcp 198\.51\.100\.10:80 is declared by two stacks on one machine \(lb1\.example:22\): web\/lb1\/http and other\/lb1\/http/,
  },
  ...['127.1', '2130706433', 'localhost', '::ffff:127.0.0.1'].map(
    (spelling): EdgeCase => ({
      name: `two directors of a stack at 127.0.0.1 and ${spelling}`,
      given: async () => {
        const dir = appProject(
          [
            `const a = new Director(stack, 'a', { ssh: { host: '127.0.0.1' } });`,
            `const b = new Director(stack, 'b', { ssh: { host: ${JSON.stringify(spelling)} } });`,
            `void [a, b];`,
          ].join('\n'),
          true,
        );
        return { dir, argv: ['-C', dir, 'synth'] };
      },
      code: 'LVS_VALIDATION',
      message: /web: directors web\/a and web\/b reach the same machine \(loopback:22\)/,
    }),
  ),
  {
    name: 'two directors of one alias through /etc/ssh/../ssh/ssh_config and /etc/ssh/ssh_config',
    given: async () => {
      const dir = appProject(
        [
          `new Director(stack, 'a', { ssh: { configFile: '/etc/ssh/ssh_config', alias: 'lb' } });`,
          `new Director(stack, 'b', { ssh: { configFile: '/etc/ssh/../ssh/ssh_config', alias: 'lb' } });`,
        ].join('\n'),
        true,
      );
      return { dir, argv: ['-C', dir, 'synth'] };
    },
    code: 'LVS_VALIDATION',
    message: /directors web\/a and web\/b reach the same machine \(alias lb in \/etc\/ssh\/ssh_config\)/,
  },
  {
    name: 'a hand-edited cdk.tf.json with two directors on one machine',
    given: async () => {
      const dir = await projectReaching(`{ host: '127.0.0.1' }`);
      const file = path.join(dir, 'cdktf.out/stacks/web/cdk.tf.json');
      const json = JSON.parse(fs.readFileSync(file, 'utf8'));
      const [id, lb1] = Object.entries(json.resource.lvsform_director)[0] as [string, { ssh: object }];
      json.resource.lvsform_director[`${id}2`] = { ...lb1, name: 'lb2', ssh: { host: '127.1', port: 22 } };
      fs.writeFileSync(file, JSON.stringify(json));
      return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
    },
    code: 'LVS_SYNTH_INVALID',
    message: /directors lb1 \(127\.0\.0\.1\) and lb2 \(127\.1:22\) reach the same machine \(loopback:22\)/,
  },
  {
    name: 'plan through an ssh config file that does not exist',
    given: async () => {
      const dir = await projectReaching(`{ configFile: 'no-such-ssh-config', alias: 'lb1' }`);
      return { dir, argv: ['-C', dir, 'plan', '--no-synth'] };
    },
    code: 'LVS_SSH_CONFIG',
    message: /director lb1 \(lb1 via no-such-ssh-config\): ssh cannot use its configuration: Can't open user config file no-such-ssh-config/,
    hint: /Check the Director's configFile no-such-ssh-config/,
  },
];

describe('ownership and machines at synth, SSH set-ups that fail before anything runs', () => {
  for (const c of cases) it(`${c.name}: ${c.code}`, () => expectRefused(c));

  it('plan without ssh on PATH: LVS_SSH_MISSING, and cdktf.out byte-identical', async () => {
    // GIVEN a synthesized project and a PATH without ssh
    const dir = await synthesizedProject();
    const before = treeDigest(path.join(dir, 'cdktf.out'));
    const saved = process.env['PATH'];
    process.env['PATH'] = dir;
    let run: Awaited<ReturnType<typeof runCli>>;
    try {
      // WHEN planned
      run = await runCli(['-C', dir, 'plan', '--no-synth']);
    } finally {
      process.env['PATH'] = saved;
    }
    // THEN one error says there is no ssh here and how to install it; nothing changed
    expect(run.code).toBe(1);
    expect(run.stderr.match(/^Error \[[A-Z_]+\]/gm)).toEqual(['Error [LVS_SSH_MISSING]']);
    expect(run.stderr).toMatch(/director lb1 \(root@203\.0\.113\.2\): there is no `ssh` command on this machine/);
    expect(run.stderr).toMatch(/openssh-client/);
    expect(treeDigest(path.join(dir, 'cdktf.out'))).toBe(before);
  });
});
