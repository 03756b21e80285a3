/**
 * Director set-up that survives a reboot, on the real kernel: a director with a persistent disk and ip_forward off,
 * booted by this machine's systemd as PID 1, gets the NAT stack applied with `setup: {}` (the plan shows the host
 * set-up first), is rebooted, and comes back with its table, modules and forwarding — restored by the distribution's
 * own boot (systemd-modules-load, systemd-sysctl, Debian's ipvsadm service), not by the lab — so that the next plan has
 * no changes and the VIP balances real traffic again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

/** The units of the distribution's boot that bring a director's set-up back, in the order systemd runs them. */
const BOOT_UNITS = ['systemd-modules-load.service', 'systemd-sysctl.service', 'ipvsadm.service'] as const;

interface BootState {
  /** The command of PID 1. */
  readonly pid1: string;
  /** `systemctl is-system-running --wait`: `running` when every unit of the boot succeeded. */
  readonly system: string;
  /** `systemctl --failed`, for the failure message. */
  readonly failed: string[];
  /** Each boot unit's `ActiveState/Result`. */
  readonly units: Record<string, string>;
  /** What each boot unit's program logged in this boot (journald). */
  readonly journal: Record<string, string>;
}

/** How the director booted: PID 1, the system's state and the boot units' results and logs, in one round trip. */
async function bootState(): Promise<BootState> {
  const units = BOOT_UNITS.join(' ');
  const script = [
    'ps -p 1 -o comm=',
    // Waits for the end of the boot (the lab's ready line comes when multi-user.target is reached).
    'timeout 60 systemctl is-system-running --wait',
    'echo @@; systemctl --failed --no-legend --plain',
    `echo @@; for u in ${units}; do echo "$u $(systemctl show -P ActiveState "$u")/$(systemctl show -P Result "$u")"; done`,
    // By syslog identifier: a process that exits before journald reads its cgroup is logged without its unit.
    `for u in ${units}; do echo "@@ $u"; journalctl -b -q -o cat --no-pager -t "\${u%.service}"; done`,
  ].join('\n');
  const out = (await sh(director().alias, script, { allowFailure: true })).stdout;
  const [head = '', failed = '', results = '', ...logs] = out.split(/^@@/m);
  const [pid1 = '', system = ''] = head.trim().split('\n');
  const lines = (t: string) =>
    t
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  return {
    pid1,
    system,
    failed: lines(failed),
    units: Object.fromEntries(lines(results).map((l) => l.split(' ') as [string, string])),
    journal: Object.fromEntries(logs.map((l) => [l.slice(1, l.indexOf('\n')), l.slice(l.indexOf('\n') + 1)])),
  };
}

// systemd's boot takes longer than the lab's init: on a busy machine under emulation it has neared 120 s.
const reboot = (options: DirectorBootOptions) =>
  labReboot(director().alias, { dir: lab().dir, options, bootTimeoutMs: 240_000, onProgress: (m) => console.log(`reboot: ${m}`) });

describe('director set-up that survives a reboot', () => {
  let stack: LoadedStack;

  beforeAll(async () => {
    // A fresh persistent disk, forwarding off, systemd as PID 1 and no IPVS module loaded by the lab: a director as a
    // distribution boots it.
    rmSync(diskFile(labPaths(lab().dir), director()), { force: true });
    await reboot({ persistent: true, init: 'systemd', ipForward: false });
    await resetDirector(director().alias);
    stack = await synthNat();
  });

  afterAll(async () => {
    // Leave the director as the other lab tests expect it.
    await resetDirector(director().alias);
    await reboot({ persistent: false, init: 'lab', ipForward: true });
  });

  it('boots with systemd as PID 1, every unit of the boot succeeding', async () => {
    // GIVEN the director booted for this test WHEN its boot is read
    const boot = await bootState();
    // THEN systemd is PID 1, the system runs with no failed unit, and the boot units ran (ipvsadm with nothing to load)
    expect({ pid1: boot.pid1, system: boot.system, failed: boot.failed }).toEqual({ pid1: 'systemd', system: 'running', failed: [] });
    expect(boot.units).toEqual(Object.fromEntries(BOOT_UNITS.map((u) => [u, 'active/success'])));
    expect(boot.journal['ipvsadm.service']).not.toContain('Loading IPVS configuration');
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

  it("comes back after a reboot by the distribution's own boot, balances traffic, and plans no changes", async () => {
    // GIVEN the applied director
    const before = await kernelState();
    expect(before.table).toContain('-A -t 198.51.100.10:80 -s rr');
    // WHEN it reboots (systemd as PID 1; the lab sets ip_forward 0 and loads no IPVS module)
    const { ms } = await reboot({});
    console.log(`reboot to ssh: ${(ms / 1000).toFixed(1)} s`);
    // THEN systemd booted it, and every unit of the boot succeeded (the failed ones are listed otherwise)
    const boot = await bootState();
    expect({ pid1: boot.pid1, system: boot.system, failed: boot.failed }).toEqual({ pid1: 'systemd', system: 'running', failed: [] });
    expect(boot.units).toEqual(Object.fromEntries(BOOT_UNITS.map((u) => [u, 'active/success'])));
    // AND the boot's own units brought the set-up back: systemd-modules-load the modules from modules-load.d,
    // systemd-sysctl forwarding from sysctl.d, Debian's ipvsadm service the table from /etc/ipvsadm.rules
    const after = await kernelState();
    expect(after).toEqual({ forward: '1', modules: ['ip_vs', 'ip_vs_rr'], table: before.table });
    expect(boot.journal['systemd-modules-load.service']).toContain("Inserted module 'ip_vs_rr'");
    expect(boot.journal['ipvsadm.service']).toContain('Loading IPVS configuration');
    // (Next to come back here, once lvsform manages them: the director's VIPs, the IPVS timeouts of `ipvsadm --set`
    // and the net.ipv4.vs.* sysctls, each read from the kernel and compared with the state before the reboot.)
    // AND the VIP balances real traffic over the three real servers
    const t = await traffic({ director: director().alias, target: '198.51.100.10:80', count: 12 });
    expect({ failures: t.failures, servers: Object.keys(t.perServer).sort() }).toEqual({ failures: 0, servers: ['rs1', 'rs2', 'rs3'] });
    // AND the plan has no changes, host set-up included
    const again = await plan(stack);
    expect({ changes: planHasChanges(again), text: renderPlan(again) }).toMatchObject({ changes: false });
  });
});
