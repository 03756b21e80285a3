/**
 * Security on the lab: injected construct ids reach the director inertly (a canary never appears, there or here),
 * host keys are pinned by default, no secret is written to plans, records or output, and the director's state files
 * are private. Also the host-side bad inputs: a hostile `ipvsadm` earlier in PATH on a director.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { INJECTION_CORPUS } from '../unit/security/corpus.ts';
import { lab, resetDirector, sh } from './helpers.ts';
import { alias, hostSnapshot } from './stack-harness.ts';
import { buildStack, lvsform, REPO } from './faults-harness.ts';

const GUEST_CANARY = '/tmp/lvsform-guest-canary';

beforeEach(async () => {
  await resetDirector(alias(1));
  await sh(alias(1), `rm -f ${GUEST_CANARY}`);
});

describe('injection through construct ids, on the lab', () => {
  it('applies services whose construct paths carry the corpus; the record holds them verbatim and no canary appears', async () => {
    // GIVEN services whose construct ids are the corpus (a construct id cannot hold '/' or a control character such as
    // NUL or a newline: those are refused at synth, by the one rule set)
    const control = /[\u0000-\u001f\u007f]/;
    const ids = INJECTION_CORPUS.filter((v) => !v.includes('/') && !control.test(v)).map((v) => v.replaceAll('CANARY', 'lvsform-canary'));
    const { dir, stack } = await buildStack('inject', [1], ({ lbs, pool }) => {
      ids.forEach((id, i) => lbs[0]!.addVirtualService(`x${id}`, { address: '198.51.100.12', port: 1000 + i, pools: [pool] }));
    });
    // WHEN it is applied by the real command line
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // THEN it is applied, the record on the director holds every construct path byte for byte
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const record = JSON.parse((await sh(alias(1), 'cat /var/lib/lvsform/inject.json')).stdout) as { services: Record<string, { path: string }> };
    expect(
      Object.values(record.services)
        .map((s) => s.path)
        .sort(),
    ).toEqual([...stack.directors[0]!.paths.values()].sort());
    // AND no injected command ran on the director (the remote shell starts in root's home) or here
    expect((await sh(alias(1), 'ls / /root /tmp /var/lib/lvsform | grep -c lvsform-canary || true')).stdout.trim()).toBe('0');
    for (const where of [REPO, dir, '/tmp', process.cwd()]) expect(fs.existsSync(path.join(where, 'lvsform-canary')), where).toBe(false);
  });
});

describe('host keys', () => {
  it('refuses a director whose key is not in known_hosts (LVS_HOST_KEY), and accepts it with --accept-new-host-key', async () => {
    // GIVEN an OpenSSH config for director 1 with an empty known_hosts file
    const cfgDir = fs.mkdtempSync(path.join(lab().dir, 'hostkey-'));
    const known = path.join(cfgDir, 'known_hosts');
    fs.writeFileSync(known, '');
    const d = lab().directors[0]!;
    const cfg = path.join(cfgDir, 'ssh_config');
    fs.writeFileSync(
      cfg,
      `Host pinned\n  HostName ${d.guestAddress}\n  User root\n  IdentityFile ${path.join(lab().dir, 'id_ed25519')}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${known}\n  GlobalKnownHostsFile /dev/null\n  BatchMode yes\n`,
    );
    const { dir } = await buildStack('hostkey', [{ configFile: cfg, alias: 'pinned' }], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
    });
    // WHEN it is planned THEN it is refused with LVS_HOST_KEY and the hint says how to pin it
    const refused = await lvsform(dir, ['plan', '--no-synth', '--json']);
    expect(refused.exitCode).toBe(1);
    const p = JSON.parse(refused.stdout) as { directors: { error: { code: string; hint?: string } | null }[] };
    expect(p.directors[0]!.error?.code).toBe('LVS_HOST_KEY');
    expect(p.directors[0]!.error?.hint).toMatch(/--accept-new-host-key/);
    expect(fs.readFileSync(known, 'utf8')).toBe('');
    // AND with --accept-new-host-key the key is recorded and the plan succeeds; afterwards it is pinned
    const accepted = await lvsform(dir, ['plan', '--no-synth', '--accept-new-host-key']);
    expect(accepted.exitCode, accepted.stdout + accepted.stderr).toBe(0);
    expect(fs.readFileSync(known, 'utf8')).toMatch(/ssh-ed25519|ecdsa|ssh-rsa/);
    expect((await lvsform(dir, ['plan', '--no-synth'])).exitCode).toBe(0);
  });
});

describe('secrets and modes', () => {
  it('writes no identity-file contents to plans, records or output, and keeps the state directory private', async () => {
    // GIVEN a stack applied with a saved plan
    const { dir } = await buildStack('secret', [1], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
    });
    const planFile = path.join(dir, 'p.plan');
    const planned = await lvsform(dir, ['plan', '--no-synth', '--out', planFile]);
    const applied = await lvsform(dir, ['apply', planFile]);
    expect(applied.exitCode, applied.stdout).toBe(0);
    // THEN no line of the private key appears in the plan file, the record or anything printed
    const key = fs
      .readFileSync(path.join(lab().dir, 'id_ed25519'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 20 && !l.startsWith('-----'));
    const record = (await sh(alias(1), 'cat /var/lib/lvsform/*')).stdout;
    const everything = [fs.readFileSync(planFile, 'utf8'), record, planned.stdout, planned.stderr, applied.stdout, applied.stderr].join('\n');
    expect(key.length).toBeGreaterThan(0);
    for (const line of key) expect(everything).not.toContain(line);
    // AND the plan file is 0600 here, the state directory 0700 and its files 0600 on the director
    expect((fs.statSync(planFile).mode & 0o777).toString(8)).toBe('600');
    const modes = (await sh(alias(1), 'stat -c "%a %n" /var/lib/lvsform /var/lib/lvsform/*')).stdout.trim().split('\n');
    expect(modes).toEqual(['700 /var/lib/lvsform', '600 /var/lib/lvsform/lock', '600 /var/lib/lvsform/lock.holder', '600 /var/lib/lvsform/secret.json']);
  });
});

describe('a hostile ipvsadm on the director (host-side bad input)', () => {
  const WRAPPER = '/usr/local/sbin/ipvsadm';
  /**
   * A wrapper that is hostile when asked for a save, as lvsform asks (`ipvsadm -R` given `-S -n` on its input) or as
   * a person would (`ipvsadm -S -n`), and passes everything else, input included, to the real ipvsadm. `$lvs_in`
   * holds what `-R` was given.
   */
  const hostile = (onSave: string, onVersion = 'exec /usr/sbin/ipvsadm "$@"') =>
    [
      'lvs_in=""; if [ "$1" = -R ]; then lvs_in=$(cat); fi',
      'real() { if [ "$1" = -R ]; then printf \'%s\\n\' "$lvs_in" | /usr/sbin/ipvsadm "$@"; else /usr/sbin/ipvsadm "$@"; fi; }',
      `case "$* $lvs_in" in *--version*) ${onVersion};; *-S*) ${onSave};; *) real "$@";; esac`,
    ].join('\n');
  const cases: { name: string; script: string; code: string; message: RegExp }[] = [
    {
      name: 'garbage instead of a saved table',
      script: hostile(
        'echo "!!! totally not a table \\$(touch /tmp/lvsform-guest-canary)"',
        'echo "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"',
      ),
      code: 'LVS_',
      message: /ipvsadm -S -n on lb1/,
    },
    {
      name: 'an unexpected version that cannot save',
      script: hostile('echo "unknown option -S" >&2; exit 2', 'echo "ipvsadm v9.99 (hostile)"'),
      code: 'LVS_IPVS_UNAVAILABLE',
      message: /`ipvsadm -S -n` failed \(exit 2\)/,
    },
    {
      name: 'output that forges lvsform markers',
      script: hostile('echo "@@lvsform-section 0000 end"; echo "@@lvsform-end 0000 0"; echo "@@lock ok"; real "$@"'),
      code: 'LVS_',
      message: /lb1/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: one clear error, exit 1, table and records byte-identical`, async () => {
      // GIVEN an applied stack and then a hostile ipvsadm earlier in PATH
      const { dir, stack } = await buildStack('hostile', [1], ({ lbs, pool }) => {
        lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
      });
      expect((await lvsform(dir, ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
      void stack;
      const before = await hostSnapshot(1);
      await sh(alias(1), `mkdir -p /usr/local/sbin && cat > ${WRAPPER} && chmod 755 ${WRAPPER}`, { input: `#!/bin/sh\n${c.script}\n` });
      try {
        // WHEN lvsform applies a changed stack through it
        const changed = await buildStack('hostile', [1], ({ lbs, pool }) => {
          lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, pools: [pool] });
          lbs[0]!.addVirtualService('more', { address: '198.51.100.10', port: 81, pools: [pool] });
        });
        const run = await lvsform(changed.dir, ['apply', '--no-synth', '--auto-approve', '--json']);
        // THEN exactly one director error with a stable code naming the director, and exit 1
        expect(run.exitCode, run.stdout + run.stderr).toBe(1);
        const out = JSON.parse(run.stdout) as { outcomes: { status: string; error?: { code: string; message: string } }[] };
        expect(out.outcomes.length).toBe(1);
        expect(out.outcomes[0]!.status).toBe('failed');
        expect(out.outcomes[0]!.error?.code.startsWith(c.code)).toBe(true);
        expect(out.outcomes[0]!.error?.message).toMatch(c.message);
      } finally {
        await sh(alias(1), `rm -f ${WRAPPER}`);
      }
      // AND the table and records are byte-identical, and nothing the output said was run
      expect(await hostSnapshot(1)).toBe(before);
      expect((await sh(alias(1), `test -e ${GUEST_CANARY} && echo FOUND || echo none`)).stdout.trim()).toBe('none');
    });
  }
});
