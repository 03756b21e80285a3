/**
 * The edges of bad input on a real director: a hand-edited synthesized file that names an unknown resource type
 * (once read as "no services", so that a plan destroyed every owned service), a re-signed saved plan whose content is
 * malformed, and an app that synthesizes nothing after a good synth. Each is refused with its code and the director's
 * table and ownership record stay byte-identical.
 *
 * Lab: director 1 of the run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { Scheduler } from '../../lib/index.ts';
import { resetDirector } from './helpers.ts';
import { alias, hostSnapshot } from './stack-harness.ts';
import { buildStack, lvsform } from './faults-harness.ts';

beforeEach(async () => {
  await resetDirector(alias(1));
});

/** A stack with one service applied on director 1, and its project directory. */
async function applied(): Promise<string> {
  const { dir } = await buildStack('edges', [1], ({ lbs, pool }) => {
    lbs[0]!.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [pool] });
  });
  const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
  expect(run.exitCode, run.stdout + run.stderr).toBe(0);
  return dir;
}

describe('bad input at the edges changes nothing on the director', () => {
  it('an unknown lvsform_* resource type in cdk.tf.json is refused, and the owned service is not destroyed', async () => {
    // GIVEN an applied service, and its synthesized file edited so that the service sits under a misspelt type
    const dir = await applied();
    const file = path.join(dir, 'cdktf.out/stacks/edges/cdk.tf.json');
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.resource.lvsform_virtual_servce = doc.resource.lvsform_virtual_service;
    delete doc.resource.lvsform_virtual_service;
    fs.writeFileSync(file, JSON.stringify(doc));
    const before = await hostSnapshot(1);
    // WHEN it is applied
    const run = await lvsform(dir, ['apply', '--no-synth', '--auto-approve']);
    // THEN one LVS_SYNTH_INVALID naming the type, and the table and record are byte-identical
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/Error \[LVS_SYNTH_INVALID\]: .*unknown resource type "lvsform_virtual_servce"/);
    expect(await hostSnapshot(1)).toBe(before);
  });

  it('a re-signed saved plan with a malformed change is refused by apply, and nothing changes', async () => {
    // GIVEN an applied service and a saved plan, edited (a create without "after") and re-signed
    const dir = await applied();
    const out = path.join(dir, 'p.plan');
    const made = await lvsform(dir, ['plan', '--no-synth', '--out', out]);
    expect(made.exitCode, made.stderr).toBe(0);
    const saved = JSON.parse(fs.readFileSync(out, 'utf8'));
    saved.plan.directors[0].changes.push({
      action: 'create',
      kind: 'service',
      serviceId: 'tcp 198.51.100.10:81',
      serviceKey: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 81 },
    });
    saved.digest = createHash('sha256').update(JSON.stringify(saved.plan)).digest('hex');
    fs.writeFileSync(out, JSON.stringify(saved));
    const before = await hostSnapshot(1);
    // WHEN it is applied
    const run = await lvsform(dir, ['apply', out]);
    // THEN LVS_PLAN_CORRUPT with the JSON path, and the director is byte-identical
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/Error \[LVS_PLAN_CORRUPT\]: plan file .*p\.plan is malformed at plan\.directors\.0\.changes\.0\.after/);
    expect(await hostSnapshot(1)).toBe(before);
  });

  it('an app that synthesizes nothing after a good synth is refused, and the older output is not applied', async () => {
    // GIVEN an applied service, and the project's app replaced by one that writes nothing
    const dir = await applied();
    fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ app: 'true', output: 'cdktf.out' }));
    const before = await hostSnapshot(1);
    // WHEN it is applied (with synth)
    const run = await lvsform(dir, ['apply', '--auto-approve']);
    // THEN LVS_NOT_SYNTHESIZED, and the director is byte-identical
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/Error \[LVS_NOT_SYNTHESIZED\]: .*synthesized nothing in this run/);
    expect(await hostSnapshot(1)).toBe(before);
  });
});
