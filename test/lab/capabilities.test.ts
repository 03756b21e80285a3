/**
 * Capability checks on the real kernel: a director that lacks a scheduler module fails its plan before any change,
 * naming the feature, the construct path and what is missing, while the other directors of the stack are planned and
 * applied; `doctor` lists what each director has.
 *
 * Lab: director 3 of the run boots without ip_vs_ovf (the global setup's `skipModules`); on director 1 the test hides
 * ip_vs_mh itself (unloaded, its file emptied by a bind mount, as the doctor test does) and restores it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Scheduler } from '../../lib/index.ts';
import { serviceId, tableEquals } from '../../providers/ipvs/model/model.ts';
import { resetDirector, sh } from './helpers.ts';
import { alias, hostSnapshot, liveTable } from './stack-harness.ts';
import { buildStack, lvsform } from './faults-harness.ts';

const MH_KO = '/lib/modules/$(uname -r)/kernel/net/netfilter/ipvs/ip_vs_mh.ko';

interface PlanJson {
  directors: { name: string; error: { code: string; message: string; hint?: string } | null; changes: unknown[] }[];
}

beforeEach(async () => {
  await Promise.all([1, 3].map((n) => resetDirector(alias(n))));
});

describe('a director without a scheduler module', () => {
  it('fails the plan for that director only, naming ovf, the construct path and the hidden module', async () => {
    // GIVEN a stack asking for ovf on director 1 (which has it) and on director 3 (booted without ip_vs_ovf)
    const { dir } = await buildStack('caps', [1, 3], ({ lbs, pool }) => {
      for (const lb of lbs) lb.addVirtualService('overflow', { address: '198.51.100.10', port: 81, scheduler: Scheduler.WEIGHTED_OVERFLOW, pools: [pool] });
    });
    // WHEN it is planned
    const res = await lvsform(dir, ['plan', '--no-synth', '--json']);
    // THEN lb1 is planned and lb2 (director 3) fails with the stable code, the feature, the path and the module
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    const plan = JSON.parse(res.stdout) as PlanJson;
    expect(plan.directors.map((d) => [d.name, d.error?.code ?? null, d.changes.length])).toEqual([
      ['lb1', null, 3],
      ['lb2', 'LVS_CAPABILITY_MISSING', 0],
    ]);
    const message = plan.directors[1]!.error!.message;
    expect(message).toContain('caps/lb2/overflow: scheduler ovf: module ip_vs_ovf');
    expect(message).toMatch(/kernel 6\.\d+/);
    expect(plan.directors[1]!.error!.hint).toContain('lvsform doctor');
  });

  it('applies the directors that can, and leaves the one that cannot exactly as it was', async () => {
    // GIVEN a hand-made service on director 3 and the same ovf stack on directors 1 and 3
    await sh(alias(3), 'ipvsadm -A -t 198.51.100.20:80 -s rr && ipvsadm -a -t 198.51.100.20:80 -r 192.0.2.11:80 -m');
    const snapshot = await hostSnapshot(3);
    const { dir, stack } = await buildStack('caps', [1, 3], ({ lbs, pool }) => {
      for (const lb of lbs) {
        lb.addVirtualService('good', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
        lb.addVirtualService('overflow', { address: '198.51.100.10', port: 81, scheduler: Scheduler.WEIGHTED_OVERFLOW, pools: [pool] });
      }
    });
    // WHEN it is applied
    const res = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // THEN it exits 1, lb1's kernel holds both services, and director 3 is byte-identical (not even the good service)
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toMatch(/✗ lb2 .*LVS_CAPABILITY_MISSING|✗ lb2 .*lacks 1 feature/);
    expect(tableEquals(await liveTable(1), stack.directors[0]!.table)).toBe(true);
    expect(await hostSnapshot(3)).toBe(snapshot);
  });
});

describe('a scheduler module hidden on a running director', () => {
  it('fails the plan with mh named, and nothing is created', async () => {
    // GIVEN ip_vs_mh unloaded and its file emptied on director 1
    await sh(alias(1), `rmmod ip_vs_mh 2>/dev/null; : > /tmp/lvsform-empty.ko && mount --bind /tmp/lvsform-empty.ko ${MH_KO}`);
    try {
      const { dir } = await buildStack('caps', [1], ({ lbs, pool }) => {
        lbs[0]!.addVirtualService('maglev', { address: '198.51.100.10', port: 80, scheduler: Scheduler.maglevHash({ fallback: true }), pools: [pool] });
      });
      // WHEN it is applied
      const res = await lvsform(dir, ['apply', '--no-synth', '--auto-approve', '--json']);
      // THEN the outcome carries the missing module, and the kernel table is still empty
      expect(res.exitCode, res.stdout + res.stderr).toBe(1);
      const out = JSON.parse(res.stdout) as { outcomes: { error?: { code: string; message: string } }[] };
      expect(out.outcomes[0]!.error!.code).toBe('LVS_CAPABILITY_MISSING');
      expect(out.outcomes[0]!.error!.message).toContain(
        'caps/lb1/maglev: scheduler mh: module ip_vs_mh is listed in modules.dep but its file is missing or empty',
      );
      expect((await liveTable(1)).services.map((s) => serviceId(s.key))).toEqual([]);
    } finally {
      await sh(alias(1), `umount ${MH_KO}; rm -f /tmp/lvsform-empty.ko; modprobe ip_vs_mh`);
    }
  });
});

describe('doctor lists the capabilities', () => {
  it('prints the kernel, ipvsadm release, schedulers, flags and tunnel types', async () => {
    // GIVEN a stack on director 1
    const { dir } = await buildStack('caps', [1], ({ lbs, pool }) => {
      lbs[0]!.addVirtualService('good', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
    });
    // WHEN doctor runs
    const res = await lvsform(dir, ['doctor', '--no-synth']);
    // THEN the capability line shows what this director has
    expect(res.exitCode, res.stdout).toBe(0);
    expect(res.stdout).toMatch(
      /i capabilities: kernel 6\.\d+\S*; ipvsadm 1\.31: schedulers rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; scheduler flags yes; tunnel types ipip gue gre; SCTP yes/,
    );
  });
});
