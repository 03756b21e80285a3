/**
 * Scheduler flags in a plan read as ipvsadm names them for the service's scheduler (`sh-port`, not `flag-2`), in the
 * text plan, its Markdown form and a created service's summary: the names an operator wrote in the app.
 */
import { describe, expect, it } from 'vitest';
import { type SchedFlag, type Service, normalizeTable } from '../../../providers/ipvs/model/model.ts';
import { diffTables } from '../../../providers/ipvs/plan/diff.ts';
import { drainItems, type DirectorPlan, type Plan } from '../../../providers/ipvs/plan/plan.ts';
import { renderMarkdown } from '../../../providers/ipvs/render/render-markdown.ts';
import { renderDirectorPlan, serviceText } from '../../../providers/ipvs/render/render-plan.ts';

const svc = (scheduler: string, schedFlags: SchedFlag[]): Service => ({
  key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.40', port: 443 },
  config: { scheduler, schedFlags, onePacket: false },
  destinations: [{ address: '192.0.2.11', port: 443, forwarding: { method: 'droute' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
});

function planOf(live: Service[], desired: Service[]): DirectorPlan {
  const l = normalizeTable({ services: live });
  const d = normalizeTable({ services: desired });
  const { changes, unmanaged, conflicts } = diffTables(l, d, { owned: new Set(['tcp 198.51.100.40:443']) });
  return {
    director: 'lb1',
    target: { name: 'lb1', transport: 'ssh', ssh: { host: '203.0.113.2', user: 'root' } },
    fingerprint: 'f'.repeat(64),
    changes,
    drift: [],
    unmanaged,
    conflicts,
    adopted: [],
    batch: '',
    drain: drainItems(changes),
    drainTimeout: 30,
    desired: d,
    paths: {},
  };
}

describe('scheduler flags in a plan', () => {
  it.each([
    ['sh', ['flag-1', 'flag-2'], ['flag-1'], '["sh-fallback","sh-port"] -> ["sh-fallback"]'],
    ['mh', ['flag-2'], ['flag-1', 'flag-2'], '["mh-port"] -> ["mh-fallback","mh-port"]'],
    ['rr', ['flag-3'], [], '["flag-3"] -> []'],
  ] as const)('a changed %s service shows %s -> %s by name', (scheduler, before, after, shown) => {
    const d = planOf([svc(scheduler, [...before])], [svc(scheduler, [...after])]);
    expect(renderDirectorPlan(d)).toContain(`~ config.schedFlags: ${shown}`);
    const plan: Plan = { formatVersion: 1, stack: 'web', createdAt: '2026-01-01T00:00:00.000Z', mode: 'apply', directors: [d] };
    expect(renderMarkdown(plan)).toContain(`config.schedFlags: ${shown}`);
  });

  it('a scheduler change shows each side with its own scheduler', () => {
    const d = planOf([svc('sh', ['flag-2'])], [svc('mh', ['flag-1'])]);
    expect(renderDirectorPlan(d)).toContain('~ config.schedFlags: ["sh-port"] -> ["mh-fallback"]');
  });

  it('a created service lists its flags by name', () => {
    expect(serviceText(svc('sh', ['flag-1', 'flag-2']))).toBe('scheduler=sh flags=sh-fallback,sh-port');
    expect(serviceText(svc('wlc', ['flag-3']))).toBe('scheduler=wlc flags=flag-3');
  });
});
