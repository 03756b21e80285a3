/**
 * A stack as a graph, before it is a picture: directors → virtual services → pools → real servers, each node with
 * what a plan does to it (add, change, replace, destroy, or nothing). `render-dot.ts` and `render-mermaid.ts` turn
 * this one value into text; neither knows a plan or a table.
 *
 * Node ids are generated (`n0`, `n1`, … in a fixed order), never taken from addresses or construct paths, so they are
 * identifiers in every graph language whatever the labels hold. The graph is a tree: a real server belongs to one
 * service (its weight and forwarding are per service), a pool shown under two services is shown twice.
 */
import type { Change } from '../model/change.ts';
import type { DirectorPlan, Plan } from '../plan/plan.ts';
import { type Destination, destinationId, type Service, serviceId, type Table } from '../model/model.ts';
import { describeTarget, type HostTarget } from '../model/host-target.ts';
import { destinationText, fieldValue, serviceText } from './render-plan.ts';

export type NodeState = 'unchanged' | 'add' | 'change' | 'replace' | 'destroy';
export type NodeKind = 'director' | 'service' | 'pool' | 'real';

export interface GraphNode {
  /** A safe identifier: `n` and a number. */
  readonly id: string;
  readonly kind: NodeKind;
  /** The lines of the label, first the name (address, construct path), then details; plain text, not escaped. */
  readonly lines: readonly string[];
  readonly state: NodeState;
  /** The id of the parent node; absent for a director. */
  readonly parent?: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** The state of the child the edge leads to (an added real server's edge is added too). */
  readonly state: NodeState;
}

export interface Graph {
  /** What the graph shows: `stack web` or `plan of stack web`. */
  readonly title: string;
  /** True when states come from a plan (the legend is drawn); false for the desired state alone. */
  readonly fromPlan: boolean;
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** The desired state of one director, as `LoadedStack` holds it, plus the pool of each real server when known. */
export interface GraphDirector {
  readonly name: string;
  readonly target: HostTarget;
  readonly table: Table;
  /** serviceId → construct path. */
  readonly paths: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** `serviceId -> destinationId` → construct path of the pool the real server comes from. */
  readonly pools?: ReadonlyMap<string, string>;
  /** Shown in the director's label (a director that could not be planned). */
  readonly note?: string;
}

/** What a plan does to one service and its real servers, gathered from its changes. */
interface ServiceEntry {
  service: Service;
  state: NodeState;
  fields: string[];
  reals: Map<string, { dest: Destination; state: NodeState; fields: string[] }>;
}

function pathOf(paths: GraphDirector['paths'], id: string): string | undefined {
  return paths instanceof Map ? paths.get(id) : (paths as Readonly<Record<string, string>>)[id];
}

function changeText(c: Change, field: string): string {
  return `${field.replace(/^config\./, '')}: ${fieldValue(c.before, field)} → ${fieldValue(c.after, field)}`;
}

/** A delete and a create of the same identity is one replacement; anything else keeps the stronger state. */
function merge(prev: NodeState | undefined, next: NodeState): NodeState {
  if (prev === undefined || prev === 'unchanged') return next;
  if ((prev === 'destroy' && next === 'add') || (prev === 'add' && next === 'destroy')) return 'replace';
  return prev;
}

/** Every service a director plan touches or keeps, with the state of each service and real server. */
function entriesOf(d: DirectorPlan): Map<string, ServiceEntry> {
  const out = new Map<string, ServiceEntry>();
  for (const s of d.desired.services) {
    const reals = new Map(s.destinations.map((x) => [destinationId(x), { dest: x, state: 'unchanged' as NodeState, fields: [] as string[] }]));
    out.set(serviceId(s.key), { service: s, state: 'unchanged', fields: [], reals });
  }
  const state = (a: Change['action']): NodeState => (a === 'create' ? 'add' : a === 'delete' ? 'destroy' : 'change');
  for (const c of d.changes) {
    const svc = c.kind === 'service' ? (c.after ?? c.before) : undefined;
    let entry = out.get(c.serviceId);
    if (!entry) {
      // A service being deleted is no longer desired: it comes from the change, with the real servers it takes along.
      const base = svc ?? ({ key: c.serviceKey, config: { scheduler: '?', schedFlags: [], onePacket: false }, destinations: [] } as Service);
      entry = { service: base, state: 'unchanged', fields: [], reals: new Map() };
      out.set(c.serviceId, entry);
    }
    if (c.kind === 'service') {
      entry.state = merge(entry.state, state(c.action));
      entry.fields.push(...(c.changedFields ?? []).map((f) => changeText(c, f)));
      if (c.action === 'delete') {
        for (const x of c.before?.destinations ?? []) {
          const id = destinationId(x);
          const r = entry.reals.get(id);
          if (r) r.state = merge(r.state, 'destroy');
          else entry.reals.set(id, { dest: x, state: 'destroy', fields: [] });
        }
      }
      continue;
    }
    const dest = (c.after ?? c.before)!;
    const r = entry.reals.get(c.destinationId) ?? { dest, state: 'unchanged' as NodeState, fields: [] as string[] };
    r.state = merge(r.state, state(c.action));
    r.fields.push(...(c.changedFields ?? []).map((f) => changeText(c, f)));
    entry.reals.set(c.destinationId, r);
  }
  return out;
}

class Builder {
  readonly nodes: GraphNode[] = [];
  readonly edges: GraphEdge[] = [];

  add(kind: NodeKind, lines: string[], state: NodeState, parent?: string): string {
    const id = `n${this.nodes.length}`;
    this.nodes.push({ id, kind, lines, state, ...(parent === undefined ? {} : { parent }) });
    if (parent !== undefined) this.edges.push({ from: parent, to: id, state });
    return id;
  }
}

function sortedById<T>(entries: Iterable<[string, T]>): [string, T][] {
  return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The pool a real server is shown under: its construct path, or none when unknown (a saved plan does not keep it). */
function addReals(b: Builder, serviceNode: string, sid: string, entry: ServiceEntry, pools: ReadonlyMap<string, string> | undefined): void {
  const poolNodes = new Map<string, string>();
  for (const [did, r] of sortedById(entry.reals)) {
    const pool = pools?.get(`${sid} -> ${did}`);
    let parent = serviceNode;
    if (pool !== undefined) {
      let node = poolNodes.get(pool);
      if (node === undefined) {
        const states = [...entry.reals].filter(([id]) => pools?.get(`${sid} -> ${id}`) === pool).map(([, x]) => x.state);
        const poolState: NodeState = states.every((s) => s === 'add') ? 'add' : states.every((s) => s === 'destroy') ? 'destroy' : 'unchanged';
        node = b.add('pool', [`pool ${pool}`], poolState, serviceNode);
        poolNodes.set(pool, node);
      }
      parent = node;
    }
    b.add('real', [`real ${did}`, destinationText(r.dest), ...r.fields], r.state, parent);
  }
}

function addDirector(b: Builder, d: GraphDirector, entries: Map<string, ServiceEntry>): void {
  const node = b.add('director', [`director ${d.name}`, describeTarget(d.target), ...(d.note ? [d.note] : [])], 'unchanged');
  for (const [sid, entry] of sortedById(entries)) {
    const path = pathOf(d.paths, sid);
    const lines = [`service ${sid}`, ...(path && path !== sid ? [path] : []), serviceText(entry.service), ...entry.fields];
    const svcNode = b.add('service', lines, entry.state, node);
    addReals(b, svcNode, sid, entry, d.pools);
  }
}

/** The desired state of a stack (what the app declares), every node unchanged. */
export function desiredGraph(stack: string, directors: readonly GraphDirector[]): Graph {
  const b = new Builder();
  for (const d of directors) {
    const entries = new Map<string, ServiceEntry>();
    for (const s of d.table.services) {
      const reals = new Map(s.destinations.map((x) => [destinationId(x), { dest: x, state: 'unchanged' as NodeState, fields: [] as string[] }]));
      entries.set(serviceId(s.key), { service: s, state: 'unchanged', fields: [], reals });
    }
    addDirector(b, d, entries);
  }
  return { title: `stack ${stack}`, fromPlan: false, nodes: b.nodes, edges: b.edges };
}

/** A plan as a graph: what each director will hold, with what is added, changed, replaced and destroyed. */
export function planGraph(plan: Plan, options: { pools?: ReadonlyMap<string, ReadonlyMap<string, string>> } = {}): Graph {
  const b = new Builder();
  for (const d of plan.directors) {
    const pools = options.pools?.get(d.director);
    const note = d.error ? `could not be planned: ${d.error.code}` : undefined;
    addDirector(
      b,
      { name: d.director, target: d.target, table: d.desired, paths: d.paths, ...(pools ? { pools } : {}), ...(note ? { note } : {}) },
      d.error ? new Map() : entriesOf(d),
    );
  }
  return { title: `${plan.mode === 'apply' ? 'plan' : `${plan.mode} plan`} of stack ${plan.stack}`, fromPlan: true, nodes: b.nodes, edges: b.edges };
}

/** Only what changes and the nodes above it (for the pull-request comment): the rest of the graph is left out. */
export function changedPart(g: Graph): Graph {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const keep = new Set<string>();
  for (const n of g.nodes) {
    if (n.state === 'unchanged') continue;
    for (let at: GraphNode | undefined = n; at && !keep.has(at.id); at = at.parent === undefined ? undefined : byId.get(at.parent)) keep.add(at.id);
  }
  return { ...g, nodes: g.nodes.filter((n) => keep.has(n.id)), edges: g.edges.filter((e) => keep.has(e.from) && keep.has(e.to)) };
}

/** The label of a state in the legend, with Terraform's signs. */
export const STATE_LEGEND: Readonly<Record<NodeState, string>> = {
  add: '+ add',
  change: '~ change',
  replace: '-/+ replace',
  destroy: '- destroy',
  unchanged: 'unchanged',
};

/** Terraform's colours: green adds, amber changes, red destroys; fill, border and text of each state. */
export const STATE_COLOURS: Readonly<Record<NodeState, { fill: string; stroke: string; text: string }>> = {
  add: { fill: '#e6ffec', stroke: '#1a7f37', text: '#0a3622' },
  change: { fill: '#fff8c5', stroke: '#9a6700', text: '#3b2300' },
  replace: { fill: '#ffe7d1', stroke: '#bc4c00', text: '#3d1300' },
  destroy: { fill: '#ffebe9', stroke: '#cf222e', text: '#4c0d0d' },
  unchanged: { fill: '#f6f8fa', stroke: '#57606a', text: '#1f2328' },
};

/** The sign a node's first label line gets in a plan graph, so that the state reads without colour too. */
export function stateSign(state: NodeState): string {
  return state === 'add' ? '+ ' : state === 'destroy' ? '- ' : state === 'change' ? '~ ' : state === 'replace' ? '-/+ ' : '';
}

/** The states the legend of a plan graph lists: add, change, destroy and unchanged always, replace when used. */
export function legendStates(g: Graph): NodeState[] {
  const replace = g.nodes.some((n) => n.state === 'replace');
  return (['add', 'change', 'replace', 'destroy', 'unchanged'] as const).filter((s) => s !== 'replace' || replace);
}
