/**
 * The plan key on the real kernel: a user `planner` is created inside lab director 1; an apply with the root key and
 * the Director's `setup` installs the read script and the one sudoers rule for it; then `plan --read-only` logs in as
 * planner and shows the plan a root plan shows, while everything that would change a director is refused before any
 * host is contacted. The script is then called through sudo as planner with hostile arguments: the table and the
 * records stay byte-identical and no canary file appears, and planner can run neither a shell nor ipvsadm as root.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler, type SshProps } from '../../lib/index.ts';
import { READ_SCRIPT, READ_SUDOERS } from '../../providers/ipvs/model/host-setup.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { lab, loginConfig, resetDirector, sh } from './helpers.ts';
import { cliOn, synthApp } from './ops-harness.ts';
import { alias, hostSnapshot } from './stack-harness.ts';

const CANARY = '/tmp/lvsform-read-only-canary';

let sshConfig = '';
const ssh = (): SshProps => ({ configFile: sshConfig, alias: 'lab-ro', planUser: 'planner' });

/** One NAT service with two real servers on director 1; `setup` on (it installs the read script and the rule). */
function webApp(members = ['192.0.2.11', '192.0.2.12']): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'ro');
    const lb = new Director(stack, 'lb1', { ssh: ssh(), setup: { saveRules: false } });
    const web = new RealServerPool(stack, 'web', { forwarding: Forwarding.NAT, members: members.map((address) => ({ address })) });
    lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  });
}

/**
 * planner's own ssh master (the config above has none): opened by the first `asPlanner`, so that the next commands
 * share planner's login instead of each logging in again (≈ 0.5 s each on the lab).
 */
const plannerMaster = (): string[] => ['-o', `ControlPath=${join(dirname(sshConfig), 'planner.sock')}`, '-l', 'planner'];
let plannerMasterOpen: Promise<void> | undefined;

async function openPlannerMaster(): Promise<void> {
  // -f: the master goes to the background once logged in, its messages to a file (a pipe would stay open with it).
  const log = join(dirname(sshConfig), 'planner-ssh.log');
  const r = await execa('ssh', ['-F', sshConfig, ...plannerMaster(), '-E', log, '-M', '-N', '-f', '-o', 'ControlPersist=300', 'lab-ro'], {
    reject: false,
    stdio: 'ignore',
    timeout: 30_000,
  });
  if (r.exitCode !== 0) throw new Error(`planner's ssh login failed (exit ${r.exitCode}):\n${readFileSync(log, 'utf8')}`);
}

/** Runs a command on director 1 as planner (its own login, through the config above). */
async function asPlanner(args: readonly string[]) {
  plannerMasterOpen ??= openPlannerMaster();
  await plannerMasterOpen;
  return execa('ssh', ['-F', sshConfig, ...plannerMaster(), '-o', 'ControlMaster=no', 'lab-ro', '--', ...args], { reject: false, stdin: 'ignore' });
}

afterAll(async () => {
  if (plannerMasterOpen) await execa('ssh', ['-F', sshConfig, ...plannerMaster(), '-O', 'exit', 'lab-ro'], { reject: false, stdin: 'ignore' });
});

/** The table, thresholds and records, plus the state directory's listing (no lock file content), in one round trip. */
async function snapshot(more = ''): Promise<string> {
  return hostSnapshot(1, `echo; ls -la --time-style=+ /var/lib/lvsform${more ? `; ${more}` : ''}`);
}

/** The snapshot, then whether the canary exists (`present` or `absent`), in one round trip. */
async function snapshotAndCanary(): Promise<{ snapshot: string; canary: string }> {
  const out = await snapshot(`echo @@canary; [ -e ${CANARY} ] && echo present || echo absent`);
  const at = out.lastIndexOf('@@canary\n');
  return { snapshot: out.slice(0, at), canary: out.slice(at + '@@canary\n'.length).trim() };
}

let applied: LoadedStack;

beforeAll(async () => {
  sshConfig = loginConfig('lab-ro', 'root');
  await sh(alias(1), "id planner >/dev/null 2>&1 || useradd -m -s /bin/sh planner; usermod -p '*' planner");
  await resetDirector(alias(1));
  await sh(alias(1), `rm -f ${READ_SCRIPT} ${READ_SUDOERS} ${CANARY}`);
  // The apply key (root) applies once: the set-up installs the read script and the sudoers rule.
  applied = await webApp();
  const res = await cliOn(applied, ['apply', '--no-synth', '--auto-approve']);
  expect(res.exitCode, res.stdout + res.stderr).toBe(0);
});

describe('plan --read-only on the lab', () => {
  it('installs the read script root-owned 0755 and a sudoers rule visudo accepts', async () => {
    // GIVEN the apply above
    // WHEN the installed files are looked at
    const st = await sh(
      alias(1),
      `stat -c "%a %U %G %n" ${READ_SCRIPT} ${READ_SCRIPT.slice(0, READ_SCRIPT.lastIndexOf('/'))} ${READ_SUDOERS}; visudo -cqf ${READ_SUDOERS} && echo valid`,
    );
    // THEN the script and its directory are root's, the rule is 0440 and valid
    expect(st.stdout.trim().split('\n')).toEqual([
      `755 root root ${READ_SCRIPT}`,
      '755 root root /usr/local/libexec/lvsform',
      `440 root root ${READ_SUDOERS}`,
      'valid',
    ]);
  });

  it('shows, as planner, the same plan a root plan shows, and changes nothing', async () => {
    // GIVEN a changed app (a third real server) and the director as applied
    const changed = await webApp(['192.0.2.11', '192.0.2.12', '192.0.2.13']);
    const before = await snapshot();
    // WHEN it is planned as root and read-only as planner, as JSON (side by side: both read under a shared lock)
    const [root, ro] = await Promise.all([cliOn(changed, ['plan', '--no-synth', '--json']), cliOn(changed, ['--read-only', 'plan', '--no-synth', '--json'])]);
    // THEN both succeed with the same changes, drift and set-up items
    expect(root.exitCode, root.stdout + root.stderr).toBe(0);
    expect(ro.exitCode, ro.stdout + ro.stderr).toBe(0);
    const pick = (text: string) => {
      const d = (JSON.parse(text) as { directors: Record<string, unknown>[] }).directors[0]!;
      return { changes: d.changes, drift: d.drift, unmanaged: d.unmanaged, conflicts: d.conflicts, host_setup: d.host_setup, error: d.error };
    };
    expect(pick(ro.stdout)).toEqual(pick(root.stdout));
    expect((JSON.parse(ro.stdout) as { directors: { changes: unknown[] }[] }).directors[0]!.changes).toHaveLength(1);
    // AND the director is as it was
    expect(await snapshot()).toBe(before);
  });

  it('plans the same with LVSFORM_READ_ONLY=1 as with the flag', async () => {
    // GIVEN the applied app
    // WHEN it is planned with LVSFORM_READ_ONLY=1 instead of the flag
    const res = await execa('node', ['bin/lvsform.mjs', '-C', projectDir(applied), 'plan', '--no-synth'], {
      cwd: join(import.meta.dirname, '../..'),
      reject: false,
      stdin: 'ignore',
      env: { NO_COLOR: '1', LVSFORM_READ_ONLY: '1' },
    });
    // THEN it succeeds with no changes and reports no error
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('No changes');
    expect(res.stderr).not.toContain('Error [');
  });

  it('goes through the sudoers rule: without it, the read-only plan fails with LVS_SUDO_REQUIRED naming the rule', async () => {
    // GIVEN the rule moved aside
    const before = await snapshot();
    await sh(alias(1), `mv ${READ_SUDOERS} /root/lvsform-plan.aside`);
    try {
      // WHEN the app is planned read-only, as JSON
      const res = await cliOn(applied, ['--read-only', 'plan', '--no-synth', '--json']);
      // THEN it exits 1 with the code, sudo's words and the rule to install
      expect(res.exitCode, res.stdout + res.stderr).toBe(1);
      const error = (JSON.parse(res.stdout) as { directors: { error: { code: string; message: string; hint: string } }[] }).directors[0]!.error;
      expect(error.code).toBe('LVS_SUDO_REQUIRED');
      expect(error.message).toContain('sudo: a password is required');
      expect(error.hint).toContain(`planner ALL=(root) NOPASSWD: ${READ_SCRIPT}`);
    } finally {
      await sh(alias(1), `mv /root/lvsform-plan.aside ${READ_SUDOERS}`);
    }
    // AND nothing changed
    expect(await snapshot()).toBe(before);
  });

  it('shows status as planner, as root sees it', async () => {
    // GIVEN the applied app
    // WHEN status is read as root and read-only as planner, as JSON (side by side: both only read)
    const [root, ro] = await Promise.all([
      cliOn(applied, ['status', '--no-synth', '--json']),
      cliOn(applied, ['--read-only', 'status', '--no-synth', '--json']),
    ]);
    // THEN both succeed and show the same services, real servers and ownership (counters aside)
    expect(root.exitCode, root.stdout + root.stderr).toBe(0);
    expect(ro.exitCode, ro.stdout + ro.stderr).toBe(0);
    type Status = {
      directors: { error?: unknown; services: { id: string; owned: boolean; path?: string; realServers: { id: string; weight: number }[] }[] }[];
    };
    const shape = (text: string) =>
      (JSON.parse(text) as Status).directors.map((d) => ({
        error: d.error,
        services: d.services.map((s) => ({ id: s.id, owned: s.owned, path: s.path, realServers: s.realServers.map((r) => [r.id, r.weight]) })),
      }));
    expect(shape(ro.stdout)).toEqual(shape(root.stdout));
    expect(shape(ro.stdout)[0]!.services).toHaveLength(1);
    expect(shape(ro.stdout)[0]!.services[0]!.owned).toBe(true);
  });

  it.each([
    ['apply', ['apply', '--no-synth', '--auto-approve']],
    ['destroy', ['destroy', '--no-synth', '--auto-approve']],
    ['force-unlock', ['force-unlock', 'lb1', '--no-synth']],
    ['state rm', ['state', 'rm', 'lb1:tcp/198.51.100.10:80', '--no-synth', '--auto-approve']],
  ])('refuses %s with LVS_READ_ONLY before contacting the director', async (_verb, args) => {
    // GIVEN a changed app
    const changed = await webApp(['192.0.2.11']);
    const before = await snapshot();
    // WHEN the verb runs read-only
    const res = await cliOn(changed, ['--read-only', ...args]);
    // THEN it exits 1 with the code, naming the director and the apply key
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    expect(res.stderr).toContain('Error [LVS_READ_ONLY]');
    expect(res.stderr).toContain('lb1');
    expect(res.stderr).toContain('apply key');
    // AND nothing changed on the director
    expect(await snapshot()).toBe(before);
  });
});

describe('the read script as planner, with hostile arguments', () => {
  const tag = '0123456789abcdef';
  /**
   * The director as applied, read once: each case below compares the director after it with this, so that a change
   * made by any case fails that case (and every later one).
   */
  let asApplied = '';
  beforeAll(async () => {
    asApplied = await snapshot();
  });
  const hostile: readonly (readonly string[])[] = [
    [tag, '0', `table=ro; ipvsadm -C; touch ${CANARY}`],
    [tag, '0', `table=$(touch ${CANARY})`],
    [tag, '0', `table=\`touch ${CANARY}\``],
    [tag, '0', 'table=../../../etc/shadow'],
    [tag, '0', 'table=../lvsform/ro'],
    [tag, '0', `table=ro\ntouch ${CANARY}`],
    [tag, '0', `table=${'a'.repeat(5000)}`],
    [tag, '0', `module=ip_vs_rr;touch${CANARY}`],
    [tag, '0', `facts=ro';touch ${CANARY};'`],
    [`$(touch ${CANARY})`, '0'],
    [tag, `0;touch ${CANARY}`],
    [tag, '0', '--help'],
    [tag, '0', ...Array.from({ length: 70 }, () => 'caps')],
  ];

  it.each(hostile.map((a) => [a.join(' ').slice(0, 60), a]))('refuses %j and changes nothing', async (_name, args) => {
    // GIVEN the applied director
    // WHEN planner runs the script through sudo with the hostile words, each quoted for the remote shell
    const quoted = (args as string[]).map((a) => `'${a.replaceAll("'", `'\\''`)}'`);
    const res = await asPlanner(['sudo', '-n', READ_SCRIPT, ...quoted]);
    // THEN the script refuses (exit 2, nothing read) and the table, the records and the canary are untouched
    expect(res.exitCode, res.stdout + res.stderr).toBe(2);
    expect(res.stderr).toContain('lvsform-read: refused');
    expect(res.stdout).toBe('');
    expect(await snapshotAndCanary()).toEqual({ snapshot: asApplied, canary: 'absent' });
  });

  it('reads the table when the arguments are plain', async () => {
    // GIVEN the applied director
    // WHEN planner reads the stack's table and record
    const res = await asPlanner(['sudo', '-n', READ_SCRIPT, tag, '0', 'table=ro']);
    // THEN the answer holds the lock line, the service and the record
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout.split('\n')[0]).toBe('@@lock ok');
    expect(res.stdout).toContain('-A -t 198.51.100.10:80 -s rr');
    expect(res.stdout).toContain('"stack":"ro"');
  });

  it.each([
    ['a root shell', ['sudo', '-n', '/bin/sh', '-s']],
    ['ipvsadm', ['sudo', '-n', 'ipvsadm', '-C']],
    ['another file as the script', ['sudo', '-n', '/usr/local/libexec/lvsform/../../../../bin/sh', '-c', 'true']],
  ])('cannot run %s as root', async (_what, args) => {
    // GIVEN the applied director
    // WHEN planner asks sudo for it
    const res = await asPlanner(args as string[]);
    // THEN sudo refuses and nothing changed
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/sudo: a password is required|not allowed/);
    expect(await snapshot()).toBe(asApplied);
  });
});

/** The project directory `cliOn` makes, for a run with its own environment. */
function projectDir(stack: LoadedStack): string {
  const outdir = join(stack.file, '../../..');
  const dir = mkdtempSync(join(lab().dir, 'read-only-project-'));
  writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ app: 'true', output: outdir }));
  return dir;
}
