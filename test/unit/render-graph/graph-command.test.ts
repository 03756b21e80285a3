/**
 * `lvsform graph` end to end, in process: the app is synthesized and drawn with its pools, a saved plan is drawn with
 * its changes, and a bad flag or director is refused before anything is drawn. No director is reached.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePlanFile } from '../../../providers/ipvs/plan/plan-file.ts';
import { appSource, CDKTF_JSON, project, runCli } from '../bad-input/cli-helpers.ts';
import { samplePlan } from './fixtures.ts';
import { dotToSvg, svgText } from './render-harness.ts';

const APP = appSource(`
const web = new RealServerPool(stack, 'web-pool', { members: [{ address: '2001:db8::11' }, { address: '2001:db8::12', weight: 3 }] });
lb1.addVirtualService('http', { address: '2001:db8::10', port: 80, pools: [web] });
`);

describe('lvsform graph', () => {
  it('synthesizes the app and draws director, service, pool and real servers as DOT that Graphviz draws', async () => {
    // GIVEN an app with one IPv6 service over a pool of two WHEN graphed
    const dir = project({ 'cdktf.json': CDKTF_JSON, 'app.ts': APP });
    const run = await runCli(['graph', '-C', dir]);
    // THEN it succeeds and the picture names each level, with the weights
    expect(run.code, run.stderr).toBe(0);
    const text = svgText(dotToSvg(run.stdout));
    for (const s of ['director lb1', 'service tcp [2001:db8::10]:80', 'pool web/web-pool', 'real [2001:db8::12]:80', 'masq weight=3']) {
      expect(text).toContain(s);
    }
  }, 60_000);

  it('draws a saved plan in Mermaid with the signs of its changes and a legend', async () => {
    // GIVEN a saved plan WHEN graphed with --format mermaid --plan THEN the added and destroyed services carry their signs
    const dir = project({});
    const file = path.join(dir, 'web.plan');
    await writePlanFile(file, samplePlan());
    const run = await runCli(['graph', '--format', 'mermaid', '--plan', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^---\n[\s\S]*\nflowchart LR\n/);
    expect(run.stdout).toContain('"+ service tcp 198.51.100.11:80');
    expect(run.stdout).toContain('"- service tcp 198.51.100.12:80');
    expect(run.stdout).toContain('subgraph legend ["Legend"]');
  });

  it('refuses a format it does not draw', async () => {
    const run = await runCli(['graph', '--format', 'svg', '--plan', 'x']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Error \[LVS_USAGE\]: --format takes one of dot, mermaid; got "svg"/);
    expect(run.stdout).toBe('');
  });

  it('refuses a director the plan does not have, naming those it has', async () => {
    const dir = project({});
    const file = path.join(dir, 'web.plan');
    await writePlanFile(file, samplePlan());
    const run = await runCli(['graph', '--plan', file, '--director', 'lb9']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Error [LVS_NO_DIRECTOR]: plan ${file} has no director "lb9" (it has: lb1, lb2)`);
    expect(run.stdout).toBe('');
  });
});
