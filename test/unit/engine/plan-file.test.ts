import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../providers/ipvs/plan/plan.ts';
import { parsePlanFile, readPlanFile, writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';

const svc = {
  key: { kind: 'addr' as const, protocol: 'tcp' as const, address: '198.51.100.10', port: 80 },
  config: { scheduler: 'rr', schedFlags: [], onePacket: false },
  destinations: [],
};

const plan: Plan = {
  formatVersion: 1,
  stack: 'web',
  createdAt: '2026-01-01T00:00:00.000Z',
  mode: 'apply',
  directors: [
    {
      director: 'lb1',
      target: { name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2' } },
      fingerprint: 'f'.repeat(64),
      changes: [{ action: 'create', kind: 'service', serviceId: 'tcp 198.51.100.10:80', serviceKey: svc.key, after: svc }],
      drift: [],
      unmanaged: [],
      conflicts: [],
      adopted: [],
      batch: '-A -t 198.51.100.10:80 -s rr\n',
      drain: [],
      drainTimeout: 30,
      desired: { services: [] },
      paths: {},
    },
  ],
};

async function saved(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'lvsform-plan-')), 'plan.json');
  await writePlanFile(file, plan);
  return file;
}

describe('plan files', () => {
  it('round-trips a plan exactly', async () => {
    // GIVEN a written plan WHEN read back THEN it is the same plan
    expect(await readPlanFile(await saved(), 'web')).toEqual(plan);
  });

  it('refuses a truncated file', async () => {
    const file = await saved();
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    await expect(readPlanFile(file)).rejects.toMatchObject({ code: 'LVS_PLAN_CORRUPT' });
  });

  it('refuses an edited batch (digest mismatch)', async () => {
    const file = await saved();
    writeFileSync(file, readFileSync(file, 'utf8').replace('-s rr', '-s wrr'));
    await expect(readPlanFile(file)).rejects.toMatchObject({ code: 'LVS_PLAN_CORRUPT', message: expect.stringContaining('modified') });
  });

  it('refuses a plan of another stack', async () => {
    await expect(readPlanFile(await saved(), 'api')).rejects.toMatchObject({ code: 'LVS_PLAN_MISMATCH' });
  });

  it('refuses another format version', () => {
    const text = JSON.stringify({ kind: 'lvsform-plan', format_version: 0, digest: '0'.repeat(64), plan });
    expect(() => parsePlanFile(text, 'old.json')).toThrow(expect.objectContaining({ code: 'LVS_PLAN_FORMAT' }));
  });

  it('refuses a file that is not a plan', () => {
    expect(() => parsePlanFile('{"hello":1}', 'x.json')).toThrow(expect.objectContaining({ code: 'LVS_PLAN_CORRUPT' }));
  });
});
