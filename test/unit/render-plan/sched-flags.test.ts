/**
 * Scheduler flags in a plan read as ipvsadm names them for the service's scheduler (`sh-port`, not `flag-2`), in the
 * text plan, its Markdown form and a created service's summary: the names an operator wrote in the app.
 */
import { describe, expect, it } from 'vitest';
import type { SchedFlag, Service } from '../../../providers/ipvs/model/model.ts';
import { renderMarkdown } from '../../../providers/ipvs/render/render-markdown.ts';
import { renderDirectorPlan, serviceText } from '../../../providers/ipvs/render/render-plan.ts';
import { dest, director, plan, svc } from '../render-graph/fixtures.ts';

/** The service 198.51.100.40:443 with `scheduler` and `flags`. */
const flagged = (scheduler: string, flags: SchedFlag[]): Service => {
  const s = svc('198.51.100.40', [dest('192.0.2.11', 1, 443, 'droute')], scheduler, 443);
  return { ...s, config: { ...s.config, schedFlags: flags } };
};

describe('scheduler flags in a plan', () => {
  it.each([
    ['sh', ['flag-1', 'flag-2'], ['flag-1'], '["sh-fallback","sh-port"] -> ["sh-fallback"]'],
    ['mh', ['flag-2'], ['flag-1', 'flag-2'], '["mh-port"] -> ["mh-fallback","mh-port"]'],
    ['rr', ['flag-3'], [], '["flag-3"] -> []'],
  ] as const)('a changed %s service shows %s -> %s by name', (scheduler, before, after, shown) => {
    const d = director('lb1', [flagged(scheduler, [...before])], [flagged(scheduler, [...after])]);
    expect(renderDirectorPlan(d)).toContain(`~ config.schedFlags: ${shown}`);
    expect(renderMarkdown(plan([d]))).toContain(`config.schedFlags: ${shown}`);
  });

  it('a scheduler change shows each side with its own scheduler', () => {
    const d = director('lb1', [flagged('sh', ['flag-2'])], [flagged('mh', ['flag-1'])]);
    expect(renderDirectorPlan(d)).toContain('~ config.schedFlags: ["sh-port"] -> ["mh-fallback"]');
  });

  it('a created service lists its flags by name', () => {
    expect(serviceText(flagged('sh', ['flag-1', 'flag-2']))).toBe('scheduler=sh flags=sh-fallback,sh-port');
    expect(serviceText(flagged('wlc', ['flag-3']))).toBe('scheduler=wlc flags=flag-3');
  });
});
