/**
 * Director set-up that survives a reboot, on the real kernel: a director with a persistent disk and ip_forward off,
 * booted by this machine's systemd as PID 1, gets the NAT stack applied with `setup: {}` (the plan shows the host
 * set-up first) and director settings — VIPs the lab's init does not put there (198.51.100.17 and 2001:db8:100::17 on
 * client0), non-default IPVS timeouts and net.ipv4.vs sysctls — is rebooted, and comes back with its table, modules,
 * forwarding, VIPs, timeouts and sysctls, restored by the distribution's own boot (systemd-modules-load, systemd-sysctl,
 * Debian's ipvsadm service and lvsform's oneshot unit), not by the lab — so that the next plan has no changes and the
 * VIPs balance real traffic again. Before the apply the same read shows the kernel's defaults, so a boot that lost any
 * of it cannot pass. A second stack on the same director places its VIPs (.18, ::18) on a dummy interface lvsform
 * creates: after the reboot its unit has made the interface again (NOARP) with both VIPs, .18 serves, its plan is
 * empty, and `doctor` finds both stacks' settings and boot units in place.
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
import { doctorDirectors } from '../../providers/ipvs/ops/doctor-director.ts';

/** The last director of the run's lab (the engine tests use the first two). */
function director() {
  const d = lab().directors.at(-1);
  if (!d) throw new Error('the lab has no director');
  return d;
}

const STACK = 'reboot-web';
const UNIT = `lvsform-${STACK}.service`;
/** VIPs the lab's guest init leaves off the director: only lvsform's apply, and then its boot unit, put them there. */
const VIP4 = '198.51.100.17';
const VIP6 = '2001:db8:100::17';
/** The settings the app manages, each away from the kernel's default (timeouts 900 120 300; sysctls 0, 0, 1). */
const TIMEOUTS = { tcp: 1800, tcpFin: 60, udp: 100 } as const;
const SYSCTLS = { expire_nodest_conn: '1', expire_quiescent_template: '1', conn_reuse_mode: '0' } as const;
const DEFAULTS = {
  timeouts: 'Timeout (tcp tcpfin udp): 900 120 300',
  sysctls: { expire_nodest_conn: '0', expire_quiescent_template: '0', conn_reuse_mode: '1' },
};

async function synthNat(): Promise<LoadedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'lvsform-reboot-'));
  const app = new App({ outdir });
  const stack = new LvsStack(app, STACK);
  const lb = new Director(stack, 'lb', {
    ssh: { configFile: lab().sshConfig, alias: director().alias },
    setup: {},
    vips: { interface: 'client0' },
    timeouts: TIMEOUTS,
    sysctls: { expireNodestConn: true, expireQuiescentTemplate: true, connReuseMode: 0 },
  });
  const web = new RealServerPool(stack, 'web', {
    forwarding: Forwarding.NAT,
    members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
  });
  const web6 = new RealServerPool(stack, 'web6', {
    forwarding: Forwarding.NAT,
    members: [{ address: '2001:db8::11' }, { address: '2001:db8::12' }, { address: '2001:db8::13' }],
  });
  // .10 is the lab's own address (left alone); .17 and ::17 are placed by lvsform.
  lb.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  lb.addVirtualService('http17', { address: VIP4, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  lb.addVirtualService('http17v6', { address: VIP6, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web6] });
  app.synth();
  const [s] = await loadStacks(outdir);
  return s!;
}

/** A second stack on the same director: its VIPs (.18, ::18) on a dummy interface lvsform creates, NOARP. */
const DUMMY_STACK = 'reboot-dummy';
const DUMMY = 'lvsform0';
const DUMMY_VIP4 = '198.51.100.18';
const DUMMY_VIP6 = '2001:db8:100::18';

async function synthDummy(): Promise<LoadedStack> {
  const outdir = mkdtempSync(join(tmpdir(), 'lvsform-reboot-'));
  const app = new App({ outdir });
  const stack = new LvsStack(app, DUMMY_STACK);
  const lb = new Director(stack, 'lb', { ssh: { configFile: lab().sshConfig, alias: director().alias }, setup: {}, vips: { dummy: DUMMY } });
  const web = new RealServerPool(stack, 'web', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }] });
  const web6 = new RealServerPool(stack, 'web6', { forwarding: Forwarding.NAT, members: [{ address: '2001:db8::11' }, { address: '2001:db8::12' }] });
  lb.addVirtualService('http18', { address: DUMMY_VIP4, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
  lb.addVirtualService('http18v6', { address: DUMMY_VIP6, port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web6] });
  app.synth();
  const [s] = await loadStacks(outdir);
  return s!;
}

/** The dummy interface as the kernel has it: its link flags and its addresses (`inet 198.51.100.18/32`). */
async function dummyState(): Promise<{ link: string; addresses: string[] }> {
  const out = (await sh(director().alias, `ip -o link show ${DUMMY} 2>&1; echo @@; ip -o addr show dev ${DUMMY} 2>&1 || true`)).stdout;
  const [link = '', addrs = ''] = out.split('@@\n');
  const addresses = addrs.split('\n').flatMap((l) => {
    const m = /\s(inet6?)\s(\S+)/.exec(l);
    return m && !m[2]!.startsWith('fe80:') ? [`${m[1]} ${m[2]}`] : [];
  });
  return { link: link.trim(), addresses: addresses.sort() };
}

const DUMMY_APPLIED = { noarp: true, addresses: [`inet ${DUMMY_VIP4}/32`, `inet6 ${DUMMY_VIP6}/128`] };

interface KernelState {
  readonly forward: string;
  readonly modules: string[];
  readonly table: string;
  /** lvsform's VIPs as `ip -o addr` shows them: `client0 inet 198.51.100.17/32 client0:lvs` (IPv4 with its label). */
  readonly vips: string[];
  /** `ipvsadm -L --timeout`. */
  readonly timeouts: string;
  /** The managed /proc/sys/net/ipv4/vs values. */
  readonly sysctls: Record<string, string>;
  /** The boot unit's `systemctl show` properties (empty values before it exists). */
  readonly unit: Record<string, string>;
  /** When the unit started, and when systemd-modules-load and Debian's ipvsadm service were done (µs of uptime). */
  readonly order: { unitStart: number; modulesLoaded: number; ipvsadmDone: number };
}

/** Everything the director should bring back at boot, in one round trip. */
async function kernelState(): Promise<KernelState> {
  const script = [
    'cat /proc/sys/net/ipv4/ip_forward; for m in ip_vs ip_vs_rr; do [ -d /sys/module/$m ] && echo $m; done',
    `echo @@; ip -o addr show | grep -F -e ' ${VIP4}/' -e ' ${VIP6}/' || true`,
    'echo @@; ipvsadm -L --timeout',
    `echo @@; for s in ${Object.keys(SYSCTLS).join(' ')}; do echo "$s=$(cat /proc/sys/net/ipv4/vs/$s)"; done`,
    `echo @@; systemctl show -p ActiveState,SubState,Result,ExecMainStatus,UnitFileState ${UNIT}`,
    `echo @@; systemctl show -P ExecMainStartTimestampMonotonic ${UNIT}`,
    'systemctl show -P ActiveEnterTimestampMonotonic systemd-modules-load.service',
    'systemctl show -P ActiveEnterTimestampMonotonic ipvsadm.service',
    'echo @@; ipvsadm -S -n',
  ].join('\n');
  const out = (await sh(director().alias, script)).stdout;
  const [head = '', addrs = '', timeouts = '', sysctls = '', unit = '', order = '', table = ''] = out.split('@@\n');
  const [forward = '', ...modules] = head.trim().split('\n');
  const lines = (t: string) =>
    t
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const pairs = (t: string) => Object.fromEntries(lines(t).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const vips = lines(addrs).map((l) => {
    // `5: client0    inet 198.51.100.17/32 scope global client0:lvs\       valid_lft …`
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)(.*?)\\/.exec(l);
    if (!m) return l;
    const label = m[2] === 'inet' ? ` ${m[4]!.trim().split(/\s+/).at(-1)}` : '';
    return `${m[1]} ${m[2]} ${m[3]}${label}`;
  });
  const [unitStart = 0, modulesLoaded = 0, ipvsadmDone = 0] = lines(order).map(Number);
  return {
    forward,
    modules,
    table,
    vips,
    timeouts: timeouts.trim(),
    sysctls: pairs(sysctls),
    unit: pairs(unit),
    order: { unitStart, modulesLoaded, ipvsadmDone },
  };
}

/** The settings as the apply leaves them, and as the boot must bring them back. */
const APPLIED = {
  forward: '1',
  vips: [`client0 inet ${VIP4}/32 client0:lvs`, `client0 inet6 ${VIP6}/128`],
  timeouts: `Timeout (tcp tcpfin udp): ${TIMEOUTS.tcp} ${TIMEOUTS.tcpFin} ${TIMEOUTS.udp}`,
  sysctls: SYSCTLS,
};

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
  let dummy: LoadedStack;

  beforeAll(async () => {
    // A fresh persistent disk, forwarding off, systemd as PID 1 and no IPVS module loaded by the lab: a director as a
    // distribution boots it.
    rmSync(diskFile(labPaths(lab().dir), director()), { force: true });
    await reboot({ persistent: true, init: 'systemd', ipForward: false });
    await resetDirector(director().alias);
    stack = await synthNat();
    dummy = await synthDummy();
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
    // GIVEN a director with ip_forward off, no lvsform files, no VIP .17, and the kernel's own timeouts and sysctls
    // (the contrast: what the reboot below shows back cannot be what any boot gives)
    const fresh = await kernelState();
    expect({ forward: fresh.forward, vips: fresh.vips, timeouts: fresh.timeouts, sysctls: fresh.sysctls }).toEqual({
      forward: '0',
      vips: [],
      ...DEFAULTS,
    });
    // WHEN the stack is planned
    const first = await plan(stack);
    const text = renderPlan(first);
    // THEN the plan lists the host set-up, forwarding included, as changes
    expect(text).toContain('~ sysctl net.ipv4.ip_forward 0 -> 1');
    expect(text).toContain('+ file /etc/modules-load.d/lvsform-reboot-web.conf');
    expect(text).toContain('+ file /etc/sysctl.d/90-lvsform-reboot-web.conf');
    expect(text).toMatch(/~ file \/etc\/default\/ipvsadm AUTO="false" -> AUTO="true"/);
    expect(text).toMatch(/[+~] file \/etc\/ipvsadm\.rules/);
    expect(text).toContain(`+ file /etc/systemd/system/${UNIT}`);
    expect(text).toContain(`+ address ${VIP4}/32 on client0`);
    expect(text).toContain(`+ address ${VIP6}/128 on client0`);
    expect(text).toContain('~ timeouts tcp 900 -> 1800');
    expect(text).toContain('~ sysctl net.ipv4.vs.conn_reuse_mode 1 -> 0');
    expect(planToJson(first).directors[0]!.host_setup.map((i) => `${i.kind} ${i.name}`)).toContain('sysctl net.ipv4.ip_forward');
    // WHEN it is applied
    const report = await apply(stack);
    expect(report.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN forwarding, the VIPs, timeouts and sysctls are on now, and the boot files hold what the next boot needs
    const now = await kernelState();
    expect({ forward: now.forward, vips: now.vips, timeouts: now.timeouts, sysctls: now.sysctls }).toEqual(APPLIED);
    expect(now.unit['UnitFileState']).toBe('enabled');
    const files = (
      await sh(
        director().alias,
        `cat /etc/sysctl.d/90-lvsform-${STACK}.conf /etc/modules-load.d/lvsform-${STACK}.conf; grep ^AUTO= /etc/default/ipvsadm; cat /etc/ipvsadm.rules /etc/systemd/system/${UNIT}`,
      )
    ).stdout;
    expect(files).toContain('net.ipv4.ip_forward = 1\n');
    expect(files).toContain('net.ipv4.vs.expire_nodest_conn = 1\nnet.ipv4.vs.expire_quiescent_template = 1\n');
    expect(files).toContain(`ExecStart=ip addr replace ${VIP4}/32 dev client0 label client0:lvs\n`);
    expect(files).toContain('ExecStart=ipvsadm --set 1800 60 100\n');
    expect(files).toContain('ip_vs_rr\n');
    expect(files).toContain('AUTO="true"\n');
    expect(files).toContain(`# ipvsadm.rules\n${now.table}`);
    expect(now.table).toContain(`-A -t ${VIP4}:80 -s rr`);
    // AND a second plan has nothing left to do
    expect(planHasChanges(await plan(stack))).toBe(false);
    // WHEN a second stack places its VIPs on a dummy interface of the same director
    expect((await dummyState()).link).toMatch(/does not exist/);
    const second = await apply(dummy);
    expect(second.outcomes.map((o) => [o.status, o.error?.message])).toEqual([['applied', undefined]]);
    // THEN lvsform created it (NOARP) with both VIPs, and its own boot unit brings them back
    const made = await dummyState();
    expect({ noarp: made.link.includes('NOARP'), addresses: made.addresses }).toEqual(DUMMY_APPLIED);
    const unit = (await sh(director().alias, `cat /etc/systemd/system/lvsform-${DUMMY_STACK}.service`)).stdout;
    expect(unit).toContain(`ExecStart=-ip link add ${DUMMY} type dummy\n`);
    expect(unit).toContain(`ExecStart=ip addr replace ${DUMMY_VIP6}/128 dev ${DUMMY} nodad\n`);
    expect(planHasChanges(await plan(dummy))).toBe(false);
    expect(planHasChanges(await plan(stack))).toBe(false);
  });

  it("comes back after a reboot by the distribution's own boot, balances traffic, and plans no changes", async () => {
    // GIVEN the applied director
    const before = await kernelState();
    expect(before.table).toContain('-A -t 198.51.100.10:80 -s rr');
    expect(before.table).toContain(`-A -t [${VIP6}]:80 -s rr`);
    // WHEN it reboots (systemd as PID 1; the lab sets ip_forward 0 and loads no IPVS module)
    const { ms } = await reboot({});
    console.log(`reboot to ssh: ${(ms / 1000).toFixed(1)} s`);
    // THEN systemd booted it, and every unit of the boot succeeded (the failed ones are listed otherwise)
    const boot = await bootState();
    expect({ pid1: boot.pid1, system: boot.system, failed: boot.failed }).toEqual({ pid1: 'systemd', system: 'running', failed: [] });
    expect(boot.units).toEqual(Object.fromEntries(BOOT_UNITS.map((u) => [u, 'active/success'])));
    // AND the boot brought the set-up back: systemd-modules-load the modules from modules-load.d, systemd-sysctl
    // forwarding and the IPVS sysctls from sysctl.d, Debian's ipvsadm service the table from /etc/ipvsadm.rules,
    // lvsform's unit the VIPs and the timeouts — the values the apply set, not the kernel's defaults
    const after = await kernelState();
    expect({ forward: after.forward, vips: after.vips, timeouts: after.timeouts, sysctls: after.sysctls }).toEqual(APPLIED);
    expect({ modules: after.modules, table: after.table }).toEqual({ modules: ['ip_vs', 'ip_vs_rr'], table: before.table });
    expect(boot.journal['systemd-modules-load.service']).toContain("Inserted module 'ip_vs_rr'");
    expect(boot.journal['ipvsadm.service']).toContain('Loading IPVS configuration');
    // AND lvsform's unit ran in this boot and succeeded, after the IPVS modules were loaded and the table restored
    expect(after.unit).toEqual({ ActiveState: 'active', SubState: 'exited', Result: 'success', ExecMainStatus: '0', UnitFileState: 'enabled' });
    const at = (us: number) => `${(us / 1e6).toFixed(1)} s`;
    console.log(
      `boot: modules loaded ${at(after.order.modulesLoaded)}, ipvsadm restored ${at(after.order.ipvsadmDone)}, ${UNIT} started ${at(after.order.unitStart)}`,
    );
    expect(after.order.modulesLoaded, JSON.stringify(after.order)).toBeGreaterThan(0);
    expect(after.order.unitStart, JSON.stringify(after.order)).toBeGreaterThanOrEqual(after.order.modulesLoaded);
    expect(after.order.unitStart, JSON.stringify(after.order)).toBeGreaterThanOrEqual(after.order.ipvsadmDone);
    // AND each VIP balances real traffic over the three real servers, round robin: .10 (the lab's), .17 and ::17
    // (lvsform's, put back by its unit)
    for (const target of ['198.51.100.10:80', `${VIP4}:80`, `[${VIP6}]:80`]) {
      const t = await traffic({ director: director().alias, target, count: 12 });
      expect({ target, failures: t.failures, perServer: t.perServer }).toEqual({ target, failures: 0, perServer: { rs1: 4, rs2: 4, rs3: 4 } });
    }
    // AND the plan has no changes, host set-up included
    const again = await plan(stack);
    expect({ changes: planHasChanges(again), text: renderPlan(again) }).toMatchObject({ changes: false });
    // AND the second stack's dummy interface is back, NOARP, with both VIPs (its unit: `ip link add`, then the
    // addresses), .18 balances traffic through it, and its plan is empty too
    const back = await dummyState();
    expect({ noarp: back.link.includes('NOARP'), addresses: back.addresses }).toEqual(DUMMY_APPLIED);
    const t = await traffic({ director: director().alias, target: `${DUMMY_VIP4}:80`, count: 6 });
    expect({ failures: t.failures, perServer: t.perServer }).toEqual({ failures: 0, perServer: { rs1: 3, rs2: 3 } });
    const dummyAgain = await plan(dummy);
    expect({ changes: planHasChanges(dummyAgain), text: renderPlan(dummyAgain) }).toMatchObject({ changes: false });
    // AND doctor finds the settings of both stacks in place, their boot units present and enabled
    for (const s of [stack, dummy]) {
      const r = (await doctorDirectors([s.directors[0]!], { stack: s.stack }))[0]!;
      const settingsChecks = r.checks.filter((c) => /^(VIP|sysctl net\.ipv4\.vs|timeout|boot unit|sysctl file)/.test(c.name));
      expect(settingsChecks.filter((c) => c.status !== 'ok')).toEqual([]);
      expect(settingsChecks.map((c) => c.name)).toContain('boot unit');
    }
  });
});
