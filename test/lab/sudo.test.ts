/**
 * Non-root SSH users on the real kernel: a user `deploy` is created inside lab director 1 (over ssh as root; the
 * guest's writes stay in its memory), logs in with the lab's key, and lvsform runs its host script as
 * `sudo -n /bin/sh -s` under a sudoers rule. A wrong rule and a missing sudo fail with LVS_SUDO_REQUIRED before
 * anything runs: the table and the records stay byte-identical.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler, type SshProps } from '../../lib/index.ts';
import { tableEquals } from '../../providers/ipvs/model/model.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { loginConfig, resetDirector, sh } from './helpers.ts';
import { cliOn, synthApp } from './ops-harness.ts';
import { alias, hostSnapshot, liveTable } from './stack-harness.ts';

const RULE = '/etc/sudoers.d/lvsform';

let config = '';
const deploy = (sudo = true): SshProps => ({ configFile: config, alias: 'lab-deploy', user: 'deploy', sudo });

/** One NAT service with two real servers on director 1, reached as deploy. */
function webApp(stackName = 'sudo', sudo = true): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, stackName);
    const lb = new Director(stack, 'lb1', { ssh: deploy(sudo) });
    const web = new RealServerPool(stack, 'web', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }] });
    lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  });
}

async function setRule(line: string | undefined): Promise<void> {
  await sh(alias(1), line === undefined ? `rm -f ${RULE}` : `printf '%s\\n' '${line}' > ${RULE} && chmod 440 ${RULE} && visudo -cqf ${RULE}`);
}

beforeAll(async () => {
  config = loginConfig('lab-deploy', 'deploy');
  // A login user: the lab's sshd reads one authorized-keys file for every user; `*` (not `!`) so that sshd without
  // PAM does not take the account for locked.
  await sh(alias(1), "id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy; usermod -p '*' deploy");
});

afterAll(async () => {
  await sh(alias(1), `rm -f ${RULE}; [ -e /usr/bin/sudo.hidden ] && mv /usr/bin/sudo.hidden /usr/bin/sudo; true`);
});

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('ssh: { user, sudo: true } on the lab', () => {
  it('plans naming the user, applies through sudo, and keeps the lock and record root-owned and private', async () => {
    // GIVEN the rule lvsform asks for and an app reaching director 1 as deploy with sudo
    await setRule('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    const stack = await webApp();
    // WHEN it is planned and applied with the real command line
    const planned = await cliOn(stack, ['plan', '--no-synth']);
    const applied = await cliOn(stack, ['apply', '--no-synth', '--auto-approve']);
    // THEN the plan names the login user and sudo, the apply is verified, and the kernel holds the desired table
    expect(planned.exitCode, planned.stdout + planned.stderr).toBe(0);
    expect(planned.stdout).toContain('lb1 (lab-deploy via');
    expect(planned.stdout).toContain('deploy with sudo)');
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(tableEquals(await liveTable(1), stack.directors[0]!.table)).toBe(true);
    // AND the state directory, lock and record are root's, with the modes a root login gives them
    const modes = await sh(alias(1), 'stat -c "%a %U %n" /var/lib/lvsform /var/lib/lvsform/lock /var/lib/lvsform/sudo.json');
    expect(modes.stdout.trim().split('\n')).toEqual(['700 root /var/lib/lvsform', '600 root /var/lib/lvsform/lock', '600 root /var/lib/lvsform/sudo.json']);
  });

  it('fails with LVS_SUDO_REQUIRED and the sudoers line when the rule allows another command, changing nothing', async () => {
    // GIVEN an applied stack, then a rule that allows only /bin/bash -s
    await setRule('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    const before = await webApp();
    expect((await cliOn(before, ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    await setRule('deploy ALL=(root) NOPASSWD: /bin/bash -s');
    const snapshot = await hostSnapshot(1);
    const changed = await synthApp((app) => {
      const stack = new LvsStack(app, 'sudo');
      new Director(stack, 'lb1', { ssh: deploy() }).addVirtualService('other', { address: '198.51.100.11', port: 80 });
    });
    // WHEN an apply that would change the table runs, as JSON
    const res = await cliOn(changed, ['apply', '--no-synth', '--auto-approve', '--json']);
    // THEN it exits 1 with the stable code, sudo's own words and the rule to add
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    const out = JSON.parse(res.stdout) as { outcomes: { error?: { code: string; message: string; hint?: string } }[] };
    const error = out.outcomes[0]!.error!;
    expect(error.code).toBe('LVS_SUDO_REQUIRED');
    expect(error.message).toContain('sudo: a password is required');
    expect(error.hint).toContain('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    // AND the table and records are byte-identical
    expect(await hostSnapshot(1)).toBe(snapshot);
  });

  it('fails with LVS_SUDO_REQUIRED when sudo is not installed, changing nothing', async () => {
    // GIVEN the rule, but no sudo on the director
    await setRule('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    await sh(alias(1), 'ipvsadm -A -t 198.51.100.20:80 -s rr');
    const snapshot = await hostSnapshot(1);
    await sh(alias(1), 'mv /usr/bin/sudo /usr/bin/sudo.hidden');
    try {
      // WHEN a plan runs, as JSON
      const res = await cliOn(await webApp(), ['plan', '--no-synth', '--json']);
      // THEN it exits 1 with the stable code, the shell's words and the rule to add
      expect(res.exitCode, res.stdout + res.stderr).toBe(1);
      const error = (JSON.parse(res.stdout) as { directors: { error: { code: string; message: string; hint: string } }[] }).directors[0]!.error;
      expect(error.code).toBe('LVS_SUDO_REQUIRED');
      expect(error.message).toMatch(/sudo: not found/);
      expect(error.hint).toContain('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    } finally {
      await sh(alias(1), 'mv /usr/bin/sudo.hidden /usr/bin/sudo');
    }
    // AND nothing on the director changed
    expect(await hostSnapshot(1)).toBe(snapshot);
  });

  it('without sudo, the same user is refused with LVS_NOT_ROOT before the lock, and the table stays as it was', async () => {
    // GIVEN an app reaching director 1 as deploy without sudo, and a hand-made service
    await sh(alias(1), 'ipvsadm -A -t 198.51.100.20:80 -s rr');
    const snapshot = await hostSnapshot(1);
    // WHEN it is applied, as JSON
    const res = await cliOn(await webApp('sudo', false), ['apply', '--no-synth', '--auto-approve', '--json']);
    // THEN it fails with LVS_NOT_ROOT naming the user and the sudo way, and the director is byte-identical
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    const error = (JSON.parse(res.stdout) as { outcomes: { error: { code: string; message: string; hint: string } }[] }).outcomes[0]!.error;
    expect([error.code, error.message]).toEqual(['LVS_NOT_ROOT', expect.stringContaining('deploy is not root and cannot write /var/lib/lvsform')]);
    expect(error.hint).toContain('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    expect(await hostSnapshot(1)).toBe(snapshot);
  });

  it('runs doctor, status and import --sudo as deploy', async () => {
    // GIVEN the rule and an applied stack
    await setRule('deploy ALL=(root) NOPASSWD: /bin/sh -s');
    const stack = await webApp();
    expect((await cliOn(stack, ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    // WHEN doctor, status and import run as deploy with sudo
    const doctor = await cliOn(stack, ['doctor', '--no-synth']);
    const status = await cliOn(stack, ['status', '--no-synth', '--json']);
    const imported = await cliOn(stack, ['import', '--director', 'lb1', '--ssh-config', config, '--alias', 'lab-deploy', '--sudo']);
    // THEN doctor sees root through sudo, status reads the owned service, import writes it with sudo: true
    expect(doctor.exitCode, doctor.stdout).toBe(0);
    expect(doctor.stdout).not.toContain('privileges');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toContain('198.51.100.10');
    expect(imported.exitCode, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('sudo: true');
    expect(imported.stdout).toContain("address: '198.51.100.10'");
  });
});
