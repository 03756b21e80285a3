/**
 * Non-root SSH users: `ssh: { user, sudo: true }` from the construct through the synthesized JSON to the ssh argv and
 * the descriptions a plan prints. (The lab test test/lab/sudo.test.ts runs it against a real sudo.)
 */
import { describe, expect, it } from 'vitest';
import { App, Director, LvsStack } from '../../../lib/index.ts';
import { onlyResource, synthJson, tempOutdir } from '../lib/helpers.ts';
import { readSynth } from '../../../providers/ipvs/read/read-synth.ts';
import { sudoersLine } from '../../../providers/ipvs/model/host-target.ts';
import { sshArgs } from '../../../providers/ipvs/host/transport.ts';
import { describeTarget } from '../../../providers/ipvs/model/host-target.ts';
import { generateApp } from '../../../providers/ipvs/import/generate-app.ts';

function synthOf(build: (stack: LvsStack) => void): Record<string, unknown> {
  const outdir = tempOutdir();
  const app = new App({ outdir });
  build(new LvsStack(app, 'web'));
  return synthJson(app, outdir) as Record<string, unknown>;
}

describe('ssh sudo', () => {
  it('runs the host script as `sudo -n /bin/sh -s` after the host', () => {
    // GIVEN a director reached as deploy with sudo
    const target = { name: 'lb1', transport: 'ssh' as const, ssh: { host: '203.0.113.2', user: 'deploy', sudo: true } };
    // WHEN its argv is built
    const args = sshArgs(target);
    // THEN the remote command is sudo without a prompt, on the absolute shell the sudoers rule names
    expect(args.slice(-3)).toEqual(['--', '203.0.113.2', 'sudo -n /bin/sh -s']);
    expect(args).toEqual(expect.arrayContaining(['-l', 'deploy']));
  });

  it('names the user and sudo wherever the director is described (plans, errors)', () => {
    // GIVEN directors with sudo, by host and by alias WHEN they are described THEN the login user and sudo show
    expect(describeTarget({ name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user: 'deploy', sudo: true } })).toBe(
      'lb1 (deploy@203.0.113.2, with sudo)',
    );
    expect(describeTarget({ name: 'lb1', transport: 'ssh', ssh: { configFile: '/c', alias: 'a', user: 'deploy', sudo: true } })).toBe(
      'lb1 (a via /c, deploy with sudo)',
    );
  });

  it('gives the sudoers rule for the user', () => {
    // GIVEN a user WHEN the rule is built THEN it allows exactly the host shell, without a password
    expect(sudoersLine('deploy')).toBe('deploy ALL=(root) NOPASSWD: /bin/sh -s');
  });

  it('is synthesized as ssh.sudo and read back into the transport', () => {
    // GIVEN an app with sudo: true
    const json = synthOf((stack) => new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'deploy', sudo: true } }));
    // WHEN it is read as the provider reads it
    const synth = readSynth(json, 'cdk.tf.json');
    // THEN the director's ssh settings carry sudo
    expect(onlyResource(json, 'lvsform_director').ssh).toEqual({ host: '203.0.113.2', user: 'deploy', sudo: true });
    expect(synth.directors[0]!.ssh).toEqual({ host: '203.0.113.2', user: 'deploy', sudo: true });
  });

  it('writes no sudo key when the app does not ask for it', () => {
    // GIVEN an app with sudo: false WHEN it synthesizes THEN the JSON is as before (no key)
    const json = synthOf((stack) => new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root', sudo: false } }));
    expect(onlyResource(json, 'lvsform_director').ssh).toEqual({ host: '203.0.113.2', user: 'root' });
  });

  it.each([
    [{ host: '203.0.113.2', user: 'deploy', sudo: 'yes' }, 'ssh sudo must be true or false'],
    [{ host: '203.0.113.2', user: 'root', sudo: true }, 'ssh sudo is for a login user that is not root'],
  ])('refuses %j with the construct path', (ssh, message) => {
    // GIVEN bad sudo props WHEN the director is built THEN it throws with the path and the reason
    const app = new App({ outdir: tempOutdir() });
    const stack = new LvsStack(app, 'web');
    expect(() => new Director(stack, 'lb1', { ssh: ssh as never })).toThrow(new RegExp(`web/lb1.*${message}`));
  });

  it('is generated into an imported app', () => {
    // GIVEN an import from a director reached with sudo WHEN the app is generated THEN it says sudo: true
    const code = generateApp({ services: [] }, { stack: 'imported', director: { name: 'lb1', ssh: { host: '203.0.113.2', user: 'deploy', sudo: true } } });
    expect(code).toContain("ssh: { host: '203.0.113.2', user: 'deploy', sudo: true }");
  });
});
