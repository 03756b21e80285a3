/**
 * `state list | show | rm` on the real kernel, through the CLI: a stack of two services is applied; list and show
 * see both; `state rm` lets go of one without touching the kernel (`ipvsadm -S -n` byte-identical, the record
 * without it); the next plan reports it as existing but not owned while the app declares it, and as not managed
 * (left alone) once the app drops it; destroy then removes only the other service.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Director, Forwarding, LvsStack, RealServerPool, Scheduler } from '../../lib/index.ts';
import { serviceId } from '../../providers/ipvs/model/model.ts';
import { resetDirector, sh } from './helpers.ts';
import { cliOn, labSsh, synthApp } from './ops-harness.ts';
import { alias, liveTable, saveText } from './stack-harness.ts';

const WEB = 'tcp 198.51.100.10:80';
const API = 'tcp 198.51.100.11:8080';

/** Stack state-lab: web and api on lb1, or (`withApi` false) web alone. */
function synthStack(withApi = true) {
  return synthApp((app) => {
    const stack = new LvsStack(app, 'state-lab');
    const lb1 = new Director(stack, 'lb1', { ssh: labSsh(1) });
    const web = new RealServerPool(stack, 'web-pool', { forwarding: Forwarding.NAT, members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }] });
    lb1.addVirtualService('web', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
    if (!withApi) return;
    const api = new RealServerPool(stack, 'api-pool', {
      forwarding: Forwarding.NAT,
      members: [
        { address: '192.0.2.21', port: 8080, weight: 3 },
        { address: '192.0.2.22', port: 8080 },
      ],
    });
    lb1.addVirtualService('api', { address: '198.51.100.11', port: 8080, scheduler: Scheduler.WEIGHTED_ROUND_ROBIN, pools: [api] });
  });
}

async function recordedServices(): Promise<string[]> {
  const text = (await sh(alias(1), 'cat /var/lib/lvsform/state-lab.json')).stdout;
  return Object.keys((JSON.parse(text) as { services: Record<string, unknown> }).services).sort();
}

beforeEach(async () => {
  await resetDirector(alias(1));
});

describe('state on the lab', () => {
  it('lists both owned services and shows one with its real servers as the kernel holds them', async () => {
    // GIVEN the two-service stack applied
    const stack = await synthStack();
    const applied = await cliOn(stack, ['apply', '--no-synth', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    // WHEN listed (text and JSON) and one service shown
    const list = await cliOn(stack, ['state', 'list', '--no-synth']);
    const json = await cliOn(stack, ['state', 'list', '--no-synth', '--json']);
    const show = await cliOn(stack, ['state', 'show', '--no-synth', 'lb1:tcp/198.51.100.11:8080']);
    // THEN the list names both, by path and identity, as applied
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/state-lab\/lb1\/api\s+lb1:tcp\/198\.51\.100\.11:8080\s+2 real server\(s\), as applied/);
    expect(list.stdout).toMatch(/state-lab\/lb1\/web\s+lb1:tcp\/198\.51\.100\.10:80\s+2 real server\(s\), as applied/);
    const doc = JSON.parse(json.stdout) as { directors: { services: { service: string; status: string }[] }[] };
    expect(doc.directors[0]!.services.map((s) => [s.service, s.status])).toEqual([
      [API, 'in-sync'],
      [WEB, 'in-sync'],
    ]);
    // AND show prints the service's path, scheduler and real servers read from the kernel
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toContain('construct path: state-lab/lb1/api');
    expect(show.stdout).toContain('scheduler=wrr');
    expect(show.stdout).toContain('192.0.2.21:8080  masq weight=3');
    expect(show.stdout).toContain('192.0.2.22:8080  masq weight=1');
  });

  it('state rm leaves the kernel byte-identical, drops the service from the record, and the next plans and destroy leave it', async () => {
    // GIVEN the two-service stack applied
    const stack = await synthStack();
    expect((await cliOn(stack, ['apply', '--no-synth', '--auto-approve'])).exitCode).toBe(0);
    const before = await saveText(1);
    expect(await recordedServices()).toEqual([WEB, API]);
    // WHEN api is removed from the state
    const rm = await cliOn(stack, ['state', 'rm', '--no-synth', '--auto-approve', 'state-lab/lb1/api']);
    // THEN it succeeds and says the app still declares it
    expect(rm.exitCode, rm.stdout + rm.stderr).toBe(0);
    expect(rm.stdout).toContain('lb1:tcp/198.51.100.11:8080 (state-lab/lb1/api)');
    expect(rm.stdout).toContain('Still declared by the app: state-lab/lb1/api');
    // AND the kernel table is byte-identical, and the record lists web only
    expect(await saveText(1)).toBe(before);
    expect(await recordedServices()).toEqual([WEB]);

    // WHEN planned with the app still declaring api
    const declared = await cliOn(stack, ['plan', '--no-synth', '--json']);
    // THEN api exists but is not owned (the adopt path), and nothing is proposed
    const d1 = (JSON.parse(declared.stdout) as { directors: { conflicts: string[]; changes: unknown[] }[] }).directors[0]!;
    expect([d1.conflicts, d1.changes]).toEqual([[API], []]);
    expect(declared.stderr).toContain('Error [LVS_NOT_OWNED]');

    // WHEN the app drops api and is planned
    const withoutApi = await synthStack(false);
    const dropped = await cliOn(withoutApi, ['plan', '--no-synth', '--detailed-exitcode']);
    // THEN api is listed as not managed and there is nothing to do (exit 0)
    expect(dropped.exitCode, dropped.stdout + dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain(`not managed (left alone): ${API}`);
    expect(dropped.stdout).toContain('No changes');

    // WHEN the stack is destroyed
    const destroyed = await cliOn(withoutApi, ['destroy', '--no-synth', '--auto-approve']);
    // THEN only web is gone: api is in the kernel exactly as before
    expect(destroyed.exitCode, destroyed.stdout + destroyed.stderr).toBe(0);
    expect((await liveTable(1)).services.map((s) => serviceId(s.key))).toEqual([API]);
    const apiLines = (save: string) => save.split('\n').filter((l) => l.includes('198.51.100.11:8080'));
    expect(apiLines(await saveText(1))).toEqual(apiLines(before));
  });
});
