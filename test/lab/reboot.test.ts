/**
 * Director set-up that survives a reboot, on the real kernel: a director with a persistent disk and ip_forward off
 * gets the NAT stack applied with `setup: {}` (the plan shows the host set-up first), is rebooted, and comes back
 * with its table, modules and forwarding — restored by the boot the way a Debian director restores them — so that the
 * next plan has no changes and the VIP balances real traffic again.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { labReboot } from '../../lab/index.ts';
import { diskFile } from '../../lab/boot-director.ts';
import { type DirectorBootOptions, labPaths } from '../../lab/state.ts';
import { planHasChanges } from '../../providers/ipvs/plan/plan.ts';
import { planToJson } from '../../providers/ipvs/render/plan-json.ts';
import { renderPlan } from '../../providers/ipvs/render/render-plan.ts';
import { loadStacks, type LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { lab, resetDirector, sh, traffic } from './helpers.ts';
import { apply, plan } from './stack-harness.ts';

/** The last director of the run's lab (the engine tests use the first two). */
function director() {
  const d = lab().directors.at(-1);
  if (!d) throw new Error('the lab has no director');
  return d;
}

async function synthNat(): Promise<LoadedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'lvsform-reboot-'));
  const app = new App({ outdir });
  const stack = new LvsStack(app, 'reboot-web');
  const lb = new Director(stack, 'lb', { ssh: { configFile: lab().sshConfig, alias: director().alias }, setup: {} });
  const web = new RealServerPool(stack, 'web', {
    forwarding: Forwarding.NAT,
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  app.synth();
  const [s] = await loadStacks(outdir);
  return s!;
}

async function kernelState(): Promise<{ forward: string; modules: string[]; table: string }> {
  const out = (
    await sh(director().alias, 'cat /proc/sys/net/ipv4/ip_forward; for m in ip_vs ip_vs_rr; do [ -d /sys/module/$m ] && echo $m; done; echo @@; ipvsadm -S -n')
  ).stdout;
  const [head, table] = out.split('@@\n');
  const [forward, ...modules] = head!.trim().split('\n');
  return { forward: forward!, modules, table: table ?? '' };
}

const reboot = (options: DirectorBootOptions) => labReboot(director().alias, { dir: lab().dir, options, onProgress: (m) => console.log(`reboot: ${m}`) });

describe('director set-up that survives a reboot', () => {
  let stack: LoadedStack;

  beforeAll(async () => {
    // A fresh persistent disk, forwarding off, no IPVS module loaded by the lab: a director as a distribution boots it.
    rmSync(diskFile(labPaths(lab().dir), director()), { force: true });
    await reboot({ persistent: true, ipForward: false });
    await resetDirector(director().alias);
    stack = await synthNat();
  });

  afterAll(async () => {
    // Leave the director as the other lab tests expect it.
    await resetDirector(director().alias);
    await reboot({ persistent: false, ipForward: true });
  });

  it('shows the host set-up in the plan (ip_forward 0 -> 1 among it) and carries it out with the apply', async () => {
    // GIVEN a director with ip_forward off and no lvsform files
    expect((await kernelState()).forward).toBe('0');
    // WHEN the stack is planned
    const first = await plan(stack);
    const text = renderPlan(first);
    // THEN the plan lists the host set-up, forwarding included, as changes
    expect(text).toContain('~ sysctl net.ipv4.ip_forward 0 -> 1');
    expect(text).toContain('+ file /etc/modules-load.d/lvsform-reboot-web.conf');
    expect(text).toContain('+ file /etc/sysctl.d/90-lvsform-reboot-web.conf');
    expect(text).toMatch(/~ file \/etc\/default\/ipvsadm AUTO="false" -> AUTO="true"/);
    expect(text).toMatch(/[+~] file \/etc\/ipvsadm\.rules/);
    expect(planToJson(first).directors[0]!.host_setup.map((i) => `${i.kind} ${i.name}`)).toContain('sysctl net.ipv4.ip_forward');
    // WHEN it is applied
    const report = await apply(stack);
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN forwarding is on now, and the boot files hold what the next boot needs
    const now = await kernelState();
    expect(now.forward).toBe('1');
    const files = (
      await sh(
        director().alias,
        'cat /etc/sysctl.d/90-lvsform-reboot-web.conf /etc/modules-load.d/lvsform-reboot-web.conf; grep ^AUTO= /etc/default/ipvsadm; cat /etc/ipvsadm.rules',
      )
    ).stdout;
    expect(files).toContain('net.ipv4.ip_forward = 1\n');
    expect(files).toContain('ip_vs_rr\n');
    expect(files).toContain('AUTO="true"\n');
    expect(files).toContain(`# ipvsadm.rules\n${now.table}`);
    // AND a second plan has nothing left to do
    expect(planHasChanges(await plan(stack))).toBe(false);
  });

  it('comes back after a reboot with its table, modules and ip_forward, balances traffic, and plans no changes', async () => {
    // GIVEN the applied director
    const before = await kernelState();
    expect(before.table).toContain('-A -t 198.51.100.10:80 -s rr');
    // WHEN it reboots (the lab boots it with ip_forward 0 and no IPVS module)
    const { ms } = await reboot({});
    console.log(`reboot to ssh: ${(ms / 1000).toFixed(1)} s`);
    // THEN the boot restored the table, the modules and forwarding
    const after = await kernelState();
    expect(after).toEqual({ forward: '1', modules: ['ip_vs', 'ip_vs_rr'], table: before.table });
    // (by the boot, as the console shows: modules-load.d, sysctl.d and Debian's ipvsadm restore)
    const console_ = readFileSync(director().consoleLog, 'utf8');
    expect(
      ['module ip_vs_rr', 'sysctl net.ipv4.ip_forward=1', 'ipvsadm -R < /etc/ipvsadm.rules'].filter((l) => !console_.includes(`lvsform-boot: ${l}`)),
    ).toEqual([]);
    // AND the VIP balances real traffic over the three real servers
    const t = await traffic({ director: director().alias, target: '198.51.100.10:80', count: 12 });
    expect({ failures: t.failures, servers: Object.keys(t.perServer).sort() }).toEqual({ failures: 0, servers: ['rs1', 'rs2', 'rs3'] });
    // AND the plan has no changes, host set-up included
    const again = await plan(stack);
    expect({ changes: planHasChanges(again), text: renderPlan(again) }).toMatchObject({ changes: false });
  });
});
