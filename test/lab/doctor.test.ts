/**
 * `lvsform doctor` on the real kernel: a healthy director passes; ip_forward off fails the NAT forwarding check with
 * its fix; a scheduler module that cannot be loaded fails that module's check. Each test changes the director in
 * place and restores it in `finally`, so the shared lab needs no special boot options.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { resetDirector, sh } from './helpers.ts';
import { cliOn, labSsh, synthApp } from './ops-harness.ts';
import { alias } from './stack-harness.ts';

const SH_KO = '/lib/modules/$(uname -r)/kernel/net/netfilter/ipvs/ip_vs_sh.ko';

/** A NAT service (rr) and a source-hashing service on lab director 1. */
function natAndSourceHash(): Promise<LoadedStack> {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'doctor');
    const lb = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const web = new RealServerPool(stack, 'web', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }] });
    lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
    lb.addVirtualService('sticky', { address: '198.51.100.11', port: 80, scheduler: Scheduler.SOURCE_HASHING, pools: [web] });
  });
}

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('lvsform doctor on the lab', () => {
  it('passes a healthy director with exit 0 and prints the checklist', async () => {
    // GIVEN an app with NAT and source hashing on a healthy lab director
    const stack = await natAndSourceHash();
    // WHEN doctor runs
    const res = await cliOn(stack, ['doctor', '--no-synth']);
    // THEN it exits 0 and every check it needs is ticked
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    for (const line of ['✓ IPVS in the kernel', '✓ ipvsadm', '✓ IPv4 forwarding (NAT)', '✓ module ip_vs_rr', '✓ module ip_vs_sh']) {
      expect(res.stdout).toContain(line);
    }
    expect(res.stdout).toContain('Everything an apply needs is in place.');
  });

  it('fails the NAT forwarding check with its fix when ip_forward is off', async () => {
    // GIVEN the director with net.ipv4.ip_forward = 0
    const stack = await natAndSourceHash();
    await sh(alias(1), 'sysctl -qw net.ipv4.ip_forward=0');
    try {
      // WHEN doctor runs
      const res = await cliOn(stack, ['doctor', '--no-synth']);
      // THEN it exits 1, names the check and prints the fix
      expect(res.exitCode).toBe(1);
      expect(res.stdout).toContain('✗ IPv4 forwarding (NAT): net.ipv4.ip_forward = 0');
      expect(res.stdout).toContain('fix: sysctl -w net.ipv4.ip_forward=1');
      expect(res.stdout).toContain('✓ module ip_vs_sh');
    } finally {
      await sh(alias(1), 'sysctl -qw net.ipv4.ip_forward=1');
    }
  });

  it('fails the module check when the scheduler module cannot be loaded, though modprobe -n says yes', async () => {
    // GIVEN ip_vs_sh unloaded and its file emptied by a bind mount (modules.dep still lists it)
    const stack = await natAndSourceHash();
    await sh(alias(1), `rmmod ip_vs_sh 2>/dev/null; : > /tmp/lvsform-empty.ko && mount --bind /tmp/lvsform-empty.ko ${SH_KO} && modprobe -n ip_vs_sh`);
    try {
      // AND the kernel really refuses a service with that scheduler
      const add = await sh(alias(1), 'ipvsadm -A -t 198.51.100.99:80 -s sh', { allowFailure: true });
      expect(add.exitCode).not.toBe(0);
      // WHEN doctor runs, as JSON
      const res = await cliOn(stack, ['doctor', '--no-synth', '--json']);
      // THEN it exits 1 and the ip_vs_sh check fails with its fix, while ip_vs_rr passes
      expect(res.exitCode).toBe(1);
      const checks = (JSON.parse(res.stdout) as { directors: { checks: { name: string; status: string; detail: string; fix?: string }[] }[] }).directors[0]!
        .checks;
      const shCheck = checks.find((c) => c.name === 'module ip_vs_sh');
      expect(shCheck?.status).toBe('fail');
      expect(shCheck?.detail).toContain('file is missing or empty');
      expect(shCheck?.fix).toContain('ip_vs_sh.ko');
      expect(checks.find((c) => c.name === 'module ip_vs_rr')?.status).toBe('ok');
    } finally {
      await sh(alias(1), `umount ${SH_KO}; rm -f /tmp/lvsform-empty.ko; ipvsadm -C; modprobe ip_vs_sh`);
    }
  });
});
