/**
 * Targeting and guards on the real kernel, through the CLI: `apply --target` changes only the targeted service of a
 * two-service stack and leaves the other exactly as it was; `--max-deletes` refuses a plan that deletes too much and
 * the director stays byte-identical.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { serviceId, type Table } from '../../providers/ipvs/model/model.ts';
import { resetDirector } from './helpers.ts';
import { cliOn, labSsh, synthApp } from './ops-harness.ts';
import { alias, hostSnapshot, liveTable, saveText } from './stack-harness.ts';

const WEB = 'tcp 198.51.100.10:80';
const API = 'tcp 198.51.100.11:8080';

/** A stack of two services, web and api, in three versions: 1; 2 changes both; 3 drops api. */
function synthVersion(version: 1 | 2 | 3) {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'ci-target');
    const lb1 = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const web = new RealServerPool(stack, 'web-pool', {
      forwarding: Forwarding.NAT,
      members: [{ address: '192.0.2.11', weight: version === 1 ? 1 : 5 }, { address: '192.0.2.12' }],
    });
    lb1.addVirtualService('web', { address: '198.51.100.10', port: 80, scheduler: Scheduler.WEIGHTED_ROUND_ROBIN, pools: [web] });
    if (version === 3) return;
    const api = new RealServerPool(stack, 'api-pool', {
      forwarding: Forwarding.NAT,
      members: [
        { address: '192.0.2.21', port: 8080 },
        { address: '192.0.2.22', port: 8080 },
        ...(version === 2 ? [{ address: '192.0.2.23', port: 8080 }] : []),
      ],
    });
    lb1.addVirtualService('api', {
      address: '198.51.100.11',
      port: 8080,
      scheduler: version === 1 ? Scheduler.ROUND_ROBIN : Scheduler.LEAST_CONNECTION,
      pools: [api],
    });
  });
}

/** The `ipvsadm -S -n` lines of one service (its -A line and its -a lines), byte for byte. */
function serviceLines(save: string, vipPort: string): string[] {
  return save.split('\n').filter((l) => l.includes(` ${vipPort} `) || l.endsWith(` ${vipPort}`));
}

function service(table: Table, id: string) {
  return table.services.find((s) => serviceId(s.key) === id);
}

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('--target on the lab', () => {
  it('creates only the targeted service of two on an empty director', async () => {
    // GIVEN a two-service stack and an empty director
    const stack = await synthVersion(1);
    // WHEN applied with --target on the web service
    const res = await cliOn(stack, ['apply', '--no-synth', '--auto-approve', '--target', 'ci-target/lb1/web']);
    // THEN it succeeds, says what it targeted, and the kernel holds web exactly as declared and no api
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('Targeted: 1 of 2 services (--target ci-target/lb1/web)');
    const live = await liveTable(1);
    expect(live.services.map((s) => serviceId(s.key))).toEqual([WEB]);
    expect(service(live, WEB)).toEqual(service(stack.directors[0]!.table, WEB));
  });

  it('changes the targeted service and leaves the other exactly as it was, though the app changed both', async () => {
    // GIVEN version 1 applied, and version 2 changing both web (a weight) and api (scheduler, a new real server)
    expect((await cliOn(await synthVersion(1), ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    const apiBefore = serviceLines(await saveText(1), '198.51.100.11:8080');
    expect(apiBefore.length).toBe(3);
    const v2 = await synthVersion(2);
    // WHEN version 2 is applied with --target on web only
    const res = await cliOn(v2, ['apply', '--no-synth', '--auto-approve', '--target', 'ci-target/lb1/web']);
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    // THEN web is as version 2 declares it, read back from the kernel
    const live = await liveTable(1);
    expect(service(live, WEB)).toEqual(service(v2.directors[0]!.table, WEB));
    // AND api's ipvsadm lines are byte-identical to before
    expect(serviceLines(await saveText(1), '198.51.100.11:8080')).toEqual(apiBefore);
    // AND an untargeted plan still proposes api's changes (the targeted apply did not hide them)
    const plan = await cliOn(v2, ['plan', '--no-synth', '--json']);
    const changes = (JSON.parse(plan.stdout) as { directors: { changes: { service: string }[] }[] }).directors[0]!.changes;
    expect([...new Set(changes.map((c) => c.service))]).toEqual([API]);
  });

  it('refuses a target that matches nothing, naming the known construct paths, and changes nothing', async () => {
    // GIVEN an empty director
    const before = await hostSnapshot(1);
    // WHEN a misspelt target is applied
    const res = await cliOn(await synthVersion(1), ['apply', '--no-synth', '--auto-approve', '--target', 'ci-target/lb1/wbe']);
    // THEN it fails with LVS_TARGET_UNKNOWN naming the paths, and the director is as it was
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('Error [LVS_TARGET_UNKNOWN]');
    expect(res.stderr).toContain('ci-target/lb1/api, ci-target/lb1/web');
    expect(await hostSnapshot(1)).toBe(before);
  });
});

describe('--max-deletes on the lab', () => {
  it('refuses an apply that deletes more than allowed, leaving the director byte-identical', async () => {
    // GIVEN version 1 applied, and version 3 dropping api (1 service and its 2 real servers)
    expect((await cliOn(await synthVersion(1), ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    const before = await hostSnapshot(1);
    const v3 = await synthVersion(3);
    // WHEN applied with --max-deletes 2
    const res = await cliOn(v3, ['apply', '--no-synth', '--auto-approve', '--max-deletes', '2']);
    // THEN it is refused with the count, and the table, thresholds and ownership record are byte-identical
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('Error [LVS_TOO_MANY_DELETES]');
    expect(res.stderr).toContain('1 service(s) and 2 real server(s), 3 in all, more than --max-deletes 2');
    expect(await hostSnapshot(1)).toBe(before);
  });

  it('refuses to save a plan that deletes more than allowed', async () => {
    // GIVEN version 1 applied and version 3 dropping api
    expect((await cliOn(await synthVersion(1), ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), 'lvsform-ci-')), 'plan.json');
    // WHEN planned with --max-deletes 2 --out FILE
    const res = await cliOn(await synthVersion(3), ['plan', '--no-synth', '--max-deletes', '2', '--out', file]);
    // THEN it fails and writes no plan file
    expect([res.exitCode, res.stderr.includes('LVS_TOO_MANY_DELETES'), existsSync(file)]).toEqual([1, true, false]);
  });

  it('deletes them with --allow-deletes', async () => {
    // GIVEN version 1 applied
    expect((await cliOn(await synthVersion(1), ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    // WHEN version 3 is applied with --max-deletes 2 --allow-deletes
    const res = await cliOn(await synthVersion(3), ['apply', '--no-synth', '--auto-approve', '--max-deletes', '2', '--allow-deletes']);
    // THEN api is gone from the kernel and web remains
    expect(res.exitCode, res.stdout + res.stderr).toBe(0);
    expect((await liveTable(1)).services.map((s) => serviceId(s.key))).toEqual([WEB]);
  });
});
