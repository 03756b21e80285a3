/**
 * Ownership across two stacks on a real director, through the CLI: one service has one owning stack. Stack own-a
 * applies a service; stack own-b, which declares the same service, plans it as "owned by stack `own-a`", and its
 * `apply --adopt` is refused with the director's table and both records byte-identical; own-b's own service applies
 * beside own-a's, whose record stays byte-identical.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { serviceId } from '../../providers/ipvs/model/model.ts';
import { resetDirector, sh } from './helpers.ts';
import type { LoadedStack } from '../../providers/ipvs/read/synth.ts';
import { labSsh, projectOf, synthApp } from './ops-harness.ts';
import { alias, cli, hostSnapshot, liveTable } from './stack-harness.ts';

const WEB = 'tcp 198.51.100.10:80';
const API = 'tcp 198.51.100.11:8080';

/** A stack on lab director 1 declaring web (shared with the other stack) and, if asked, api (its own). */
function synthStack(name: string, services: { web: boolean; api: boolean }) {
  return synthApp((app) => {
    const stack = new LvsStack(app, name);
    const lb1 = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const pool = new RealServerPool(stack, 'pool', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }] });
    if (services.web) lb1.addVirtualService('web', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
    if (services.api) lb1.addVirtualService('api', { address: '198.51.100.11', port: 8080, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
  });
}

/** The CLI on a synthesized stack; one lab director is enough (both stacks are on it). */
function cliOn(stack: LoadedStack, args: readonly string[]) {
  return cli(['-C', projectOf(stack), ...args], { directors: [1, 1] });
}

async function recordText(stack: string): Promise<string> {
  return (await sh(alias(1), `cat /var/lib/lvsform/${stack}.json`)).stdout;
}

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('ownership across two stacks on the lab', () => {
  it('plans a service another stack owns as owned by that stack, and changes nothing', async () => {
    // GIVEN stack own-a applied web
    const a = await synthStack('own-a', { web: true, api: false });
    const applied = await cliOn(a, ['apply', '--no-synth', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    const before = await hostSnapshot(1);
    // WHEN stack own-b, which declares web too, is planned
    const b = await synthStack('own-b', { web: true, api: false });
    const res = await cliOn(b, ['plan', '--no-synth']);
    // THEN the plan names own-a as web's owner, fails, and the director is byte-identical
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    expect(res.stdout).toContain(`${WEB} (owned by stack \`own-a\`)`);
    expect(res.stderr).toContain('Error [LVS_OWNED_BY_OTHER_STACK]');
    expect(await hostSnapshot(1)).toBe(before);
  });

  it('refuses apply --adopt of a service another stack owns; the table and both records stay byte-identical', async () => {
    // GIVEN stack own-a applied web, and stack own-b applied api of its own
    expect((await cliOn(await synthStack('own-a', { web: true, api: false }), ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    expect((await cliOn(await synthStack('own-b', { web: false, api: true }), ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    const before = await hostSnapshot(1);
    const recordA = await recordText('own-a');
    const recordB = await recordText('own-b');
    // WHEN own-b, now declaring web as well, is applied with --adopt
    const b = await synthStack('own-b', { web: true, api: true });
    const res = await cliOn(b, ['apply', '--no-synth', '--auto-approve', '--adopt']);
    // THEN it is refused naming own-a and how to release web; table and records are byte-identical
    expect(res.exitCode, res.stdout + res.stderr).toBe(1);
    expect(res.stderr).toContain('LVS_OWNED_BY_OTHER_STACK');
    expect(res.stderr).toContain(`${WEB} (owned by stack \`own-a\`)`);
    expect(res.stderr).toContain('lvsform destroy --stack own-a');
    expect(await hostSnapshot(1)).toBe(before);
    expect(await recordText('own-a')).toBe(recordA);
    expect(await recordText('own-b')).toBe(recordB);
  });

  it("applies a stack's own service beside another stack's and leaves that stack's record byte-identical", async () => {
    // GIVEN stack own-a applied web
    const a = await synthStack('own-a', { web: true, api: false });
    expect((await cliOn(a, ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    const recordA = await recordText('own-a');
    // WHEN stack own-b applies api, a service of its own
    const b = await synthStack('own-b', { web: false, api: true });
    const res = await cliOn(b, ['apply', '--no-synth', '--auto-approve']);
    // THEN it succeeds: the kernel holds both services as declared, own-b owns api, own-a's record is unchanged
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    const live = await liveTable(1);
    expect(live.services.map((s) => serviceId(s.key)).sort()).toEqual([WEB, API]);
    expect(Object.keys(JSON.parse(await recordText('own-b')).services)).toEqual([API]);
    expect(await recordText('own-a')).toBe(recordA);
    // AND a plan of own-a afterwards shows no changes (it does not see own-b's service as its own or as drift)
    const again = await cliOn(a, ['plan', '--no-synth', '--detailed-exitcode']);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
  });
});

describe('an ownership record the director does not confirm', () => {
  /**
   * The record's file made read-only by a bind mount onto it, holding a valid record that owns nothing: the lock and
   * the state directory still work (a read-only directory would refuse the lock first, and nothing would change), the
   * rename onto the mounted file fails (EBUSY), so the director never confirms the record.
   */
  const EMPTY = (stack: string) => JSON.stringify({ format: 1, stack, director: 'lb1', updated: '1970-01-01T00:00:00.000Z', services: {} });
  async function freezeRecord(stack: string): Promise<void> {
    const file = `/var/lib/lvsform/${stack}.json`;
    await sh(
      alias(1),
      `mkdir -p /var/lib/lvsform /run/lvsform-test && printf '%s\\n' '${EMPTY(stack)}' > /run/lvsform-test/${stack}.json && : > ${file} && mount --bind -o ro /run/lvsform-test/${stack}.json ${file}`,
    );
  }
  async function thawRecord(stack: string): Promise<void> {
    await sh(alias(1), `umount /var/lib/lvsform/${stack}.json; rm -rf /var/lib/lvsform/${stack}.json /var/lib/lvsform/.${stack}.json.tmp /run/lvsform-test`, {
      allowFailure: true,
    });
  }

  it('fails the apply with LVS_RECORD_WRITE, the table applied and verified, and applies once the record can be written', async () => {
    // GIVEN stack own-a's record file frozen by a read-only bind mount
    const a = await synthStack('own-a', { web: true, api: false });
    await freezeRecord('own-a');
    try {
      // WHEN own-a is applied
      const res = await cliOn(a, ['apply', '--no-synth', '--auto-approve']);
      // THEN the apply fails on the director with LVS_RECORD_WRITE naming it and what the host said ...
      expect(res.exitCode, res.stdout + res.stderr).toBe(1);
      expect(res.stderr).toMatch(
        /Error \[LVS_RECORD_WRITE\]: director lb1 \([^)]*\): the table was applied and verified, but the director did not confirm writing the ownership record \(the host said: .*(busy|Read-only)/i,
      );
      expect(res.stderr).toContain('/var/lib/lvsform');
      expect(res.stdout).toContain('Apply failed on 1 of 1 director(s)');
      // ... and the kernel holds web as declared (the batch ran and was verified); own-a's record still owns nothing
      expect((await liveTable(1)).services.map((s) => serviceId(s.key))).toEqual([WEB]);
      expect((await recordText('own-a')).trim()).toBe(EMPTY('own-a'));
    } finally {
      await thawRecord('own-a');
    }
    // AND once the record can be written, apply --adopt takes the services it created and records them
    const again = await cliOn(a, ['apply', '--no-synth', '--auto-approve', '--adopt']);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(Object.keys(JSON.parse(await recordText('own-a')).services)).toEqual([WEB]);
  });
});
