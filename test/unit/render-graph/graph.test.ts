/**
 * The graph value behind `lvsform graph` and the plan diagram: which nodes a desired state and a plan give, in which
 * state, and what the changed part keeps.
 */
import { describe, expect, it } from 'vitest';
import { changedPart, desiredGraph, type Graph, type NodeState, planGraph } from '../../../providers/ipvs/render/graph.ts';
import { dest, director, plan, sampleDesired, samplePlan, svc } from './fixtures.ts';

const stateOf = (g: Graph, first: string): NodeState | undefined => g.nodes.find((n) => n.lines[0] === first)?.state;

describe('desiredGraph', () => {
  it('has a node per director, service, pool of a service and real server, and an edge to each from its parent', () => {
    // GIVEN lb1 with a service over one pool and a service over two, lb2 with a service over one pool
    // WHEN drawn THEN 2 directors, 3 services, 4 pools and 6 real servers, each below its parent
    const g = desiredGraph('web', sampleDesired());
    const kinds = g.nodes.map((n) => n.kind);
    expect(['director', 'service', 'pool', 'real'].map((k) => kinds.filter((x) => x === k).length)).toEqual([2, 3, 4, 6]);
    expect(g.edges).toHaveLength(g.nodes.length - 2);
    for (const e of g.edges) expect(g.nodes.find((n) => n.id === e.to)?.parent).toBe(e.from);
  });

  it('puts a real server under the pool it comes from', () => {
    // GIVEN the IPv6 service over pools blue and green WHEN drawn THEN each real server hangs from its own pool
    const g = desiredGraph('web', sampleDesired());
    const parentLine = (first: string): string | undefined => {
      const n = g.nodes.find((x) => x.lines[0] === first);
      return g.nodes.find((x) => x.id === n?.parent)?.lines[0];
    };
    expect(parentLine('real [2001:db8::11]:80')).toBe('pool web/blue');
    expect(parentLine('real [2001:db8::12]:80')).toBe('pool web/green');
  });

  it('shows the forwarding method and the weight of each real server', () => {
    // GIVEN a real server of weight 2 under NAT WHEN drawn THEN its label says so
    const g = desiredGraph('web', sampleDesired());
    expect(g.nodes.find((n) => n.lines[0] === 'real 192.0.2.12:80')?.lines).toContain('masq weight=2');
  });

  it('gives ids that are identifiers whatever the addresses and paths are', () => {
    // GIVEN IPv6 addresses and construct paths with slashes WHEN drawn THEN every id is n and a number
    const g = desiredGraph('web', sampleDesired());
    for (const n of g.nodes) expect(n.id).toMatch(/^n\d+$/);
  });

  it('marks every node unchanged and is not drawn as a plan', () => {
    const g = desiredGraph('web', sampleDesired());
    expect(new Set(g.nodes.map((n) => n.state))).toEqual(new Set(['unchanged']));
    expect(g.fromPlan).toBe(false);
  });
});

describe('planGraph', () => {
  const g = planGraph(samplePlan());
  const cases: [string, NodeState][] = [
    ['service tcp 198.51.100.10:80', 'change'],
    ['real 192.0.2.11:80', 'change'],
    ['real 192.0.2.12:80', 'unchanged'],
    ['real 192.0.2.13:80', 'destroy'],
    ['service tcp 198.51.100.11:80', 'add'],
    ['real 192.0.2.21:80', 'add'],
    ['service tcp 198.51.100.12:80', 'destroy'],
    ['real 192.0.2.31:80', 'destroy'],
    ['service tcp [2001:db8::10]:80', 'unchanged'],
    ['service fwmark 7 inet6', 'unchanged'],
    ['real [2001:db8::22]:0', 'add'],
  ];
  it.each(cases)('draws %s as %s', (first, state) => {
    // GIVEN the sample plan WHEN drawn THEN the node has the state of its change
    expect(stateOf(g, first)).toBe(state);
  });

  it('says what changes in the label of a changed node', () => {
    // GIVEN a weight going from 1 to 3 WHEN drawn THEN the real server's label shows both values
    expect(g.nodes.find((n) => n.lines[0] === 'real 192.0.2.11:80')?.lines).toContain('weight: 1 → 3');
  });

  it('draws a delete and a create of the same real server as one replacement', () => {
    // GIVEN a plan whose changes delete and create the same real server
    const d = director('lb1', [svc('198.51.100.10', [dest('192.0.2.11')])], [svc('198.51.100.10', [dest('192.0.2.11')])]);
    const key = d.desired.services[0]!.key;
    const real = d.desired.services[0]!.destinations[0]!;
    const base = { kind: 'destination', serviceId: 'tcp 198.51.100.10:80', serviceKey: key, destinationId: '192.0.2.11:80', replace: true } as const;
    const replaced = { ...d, changes: [{ ...base, action: 'delete', before: real } as const, { ...base, action: 'create', after: real } as const] };
    // WHEN drawn THEN the real server is one node, replaced
    const nodes = planGraph(plan([replaced])).nodes.filter((n) => n.lines[0] === 'real 192.0.2.11:80');
    expect(nodes.map((n) => n.state)).toEqual(['replace']);
  });

  it('names the error of a director that could not be planned and draws nothing under it', () => {
    // GIVEN a director that could not be read WHEN drawn THEN its node carries the code and has no children
    const p = plan([director('lb1', [], [], { error: { code: 'LVS_LOCKED', message: 'locked' } })]);
    const pg = planGraph(p);
    expect(pg.nodes).toHaveLength(1);
    expect(pg.nodes[0]!.lines).toContain('could not be planned: LVS_LOCKED');
  });
});

describe('changedPart', () => {
  const g = changedPart(planGraph(samplePlan()));

  it('keeps what changes and the nodes above it', () => {
    // GIVEN the sample plan WHEN cut to its changes THEN the added real server of lb2 keeps its service and director
    const firsts = g.nodes.map((n) => n.lines[0]);
    expect(firsts).toEqual(expect.arrayContaining(['real [2001:db8::22]:0', 'service fwmark 7 inet6', 'director lb2']));
  });

  it('leaves out unchanged nodes under which nothing changes', () => {
    // GIVEN the unchanged IPv6 service and the unchanged real server 192.0.2.12 WHEN cut THEN neither is left
    const firsts = g.nodes.map((n) => n.lines[0]);
    expect(firsts).not.toContain('service tcp [2001:db8::10]:80');
    expect(firsts).not.toContain('real 192.0.2.12:80');
    expect(firsts).not.toContain('real [2001:db8::21]:0');
  });

  it('keeps only edges between kept nodes', () => {
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const e of g.edges) expect(ids.has(e.from) && ids.has(e.to)).toBe(true);
    expect(g.edges).toHaveLength(g.nodes.length - 2);
  });
});
