/**
 * Living beside a health checker, on the real kernel: a pool that leaves its weights to a checker (`runtimeManaged`)
 * keeps a weight changed by hand with `ipvsadm -e` (the next plan has no changes, exit 0 with --detailed-exitcode,
 * and no drift); a member added to the pool gets its declared weight while the hand-changed one keeps its own. The
 * contrast: without the prop, the same hand change is drift, and the plan reverts it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { destinationId, serviceId } from '../../providers/ipvs/model/model.ts';
import { resetDirector, sh } from './helpers.ts';
import { cliOn, labSsh, synthApp } from './ops-harness.ts';
import { alias, liveTable } from './stack-harness.ts';

const VIP = '198.51.100.20:80';

/** Stack rtw: one service whose pool leaves weights to a checker (or not), with two members or (`third`) three. */
function synthStack(opts: { runtimeManaged: boolean; third?: boolean }) {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'rtw');
    const lb1 = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const members = ['192.0.2.11', '192.0.2.12', ...(opts.third ? ['192.0.2.13'] : [])].map((address) => ({ address }));
    const pool = new RealServerPool(stack, 'web-pool', {
      forwarding: Forwarding.NAT,
      weight: 3,
      members,
      ...(opts.runtimeManaged ? { runtimeManaged: ['weight' as const] } : {}),
    });
    lb1.addVirtualService('web', { address: '198.51.100.20', port: 80, scheduler: Scheduler.WEIGHTED_ROUND_ROBIN, pools: [pool] });
  });
}

/** Weights of the service's real servers, read from the kernel. */
async function weights(): Promise<Record<string, number>> {
  const svc = (await liveTable(1)).services.find((s) => serviceId(s.key) === `tcp ${VIP}`);
  return Object.fromEntries((svc?.destinations ?? []).map((d) => [destinationId(d), d.weight]));
}

/** What a checker does when 192.0.2.11 fails its check. */
async function checkerSetsWeightZero(): Promise<void> {
  await sh(alias(1), `ipvsadm -e -t ${VIP} -r 192.0.2.11:80 -m -w 0`);
}

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('run-time managed weights on the lab', () => {
  it("leaves a checker's weight alone, and gives a new member its declared weight", async () => {
    // GIVEN the pool applied with its weights left to a checker, then the checker setting 192.0.2.11 to weight 0
    const v1 = await synthStack({ runtimeManaged: true });
    const applied = await cliOn(v1, ['apply', '--no-synth', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    await checkerSetsWeightZero();
    // WHEN planned
    const plan = await cliOn(v1, ['plan', '--no-synth', '--detailed-exitcode']);
    // THEN no changes (exit 0), no drift, and the weight is still 0
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain('No changes');
    expect(plan.stdout).not.toContain('Drift');
    expect(await weights()).toEqual({ '192.0.2.11:80': 0, '192.0.2.12:80': 3 });

    // WHEN a third member is added and applied
    const v2 = await synthStack({ runtimeManaged: true, third: true });
    const added = await cliOn(v2, ['apply', '--no-synth', '--auto-approve']);
    // THEN the new member has its declared weight, and the checker's 0 is left as it was
    expect(added.exitCode, added.stdout + added.stderr).toBe(0);
    expect(added.stdout).toContain('Plan: 1 to add, 0 to change, 0 to destroy.');
    expect(await weights()).toEqual({ '192.0.2.11:80': 0, '192.0.2.12:80': 3, '192.0.2.13:80': 3 });
    // AND the plan after it has nothing to do
    expect((await cliOn(v2, ['plan', '--no-synth', '--detailed-exitcode'])).exitCode).toBe(0);
  });

  it('without runtimeManaged, the same hand change is drift and the plan reverts it', async () => {
    // GIVEN the pool applied without runtimeManaged, then weight 0 set by hand on 192.0.2.11
    const v1 = await synthStack({ runtimeManaged: false });
    expect((await cliOn(v1, ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    await checkerSetsWeightZero();
    // WHEN planned
    const plan = await cliOn(v1, ['plan', '--no-synth', '--detailed-exitcode']);
    // THEN changes (exit 2): drift on the service, and the weight put back to 3
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toContain(`Drift on lb1`);
    expect(plan.stdout).toContain('~ weight: 0 -> 3');
  });
});
