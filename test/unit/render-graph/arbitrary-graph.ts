/** Graphs with arbitrary labels, for the properties that no label breaks a renderer's syntax. */
import fc from 'fast-check';
import type { Graph, GraphNode, NodeKind, NodeState } from '../../../providers/ipvs/render/graph.ts';

/** Text the graph languages give meaning to, mixed with arbitrary Unicode. */
const NASTY = [
  '"',
  '\\',
  '\\n',
  '\\N',
  '#',
  '#35;',
  '#quot;',
  ';',
  '<b>',
  '</div><script>x()</script>',
  '&lt;',
  '&amp;',
  '[[',
  ']]',
  '((',
  '{{',
  '}}',
  '|',
  '%%',
  '%%{init: {}}%%',
  '```',
  '`',
  'end',
  '-->',
  '~~~',
  '\n',
  '\r\n',
  '\t',
  '[2001:db8::1]:80',
  'fe80::1%eth0',
  'subgraph',
  'class',
  'style',
  '\u2028',
  '\u0000',
  '\u{1F600}',
  'é',
  '\uD800',
];

export const arbitraryLabel: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ maxLength: 8 })), { maxLength: 6 })
  .map((parts) => parts.join(''));

export const arbitraryGraph: fc.Arbitrary<Graph> = fc
  .record({
    title: arbitraryLabel,
    fromPlan: fc.boolean(),
    nodes: fc.array(
      fc.record({
        kind: fc.constantFrom<NodeKind>('director', 'service', 'pool', 'real'),
        lines: fc.array(arbitraryLabel, { minLength: 1, maxLength: 3 }),
        state: fc.constantFrom<NodeState>('unchanged', 'add', 'change', 'replace', 'destroy'),
        parent: fc.nat(),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ title, fromPlan, nodes }) => {
    // The first node is a root; every other node hangs from an earlier one, so the graph is a tree like the real one.
    const out: GraphNode[] = nodes.map((n, i) => ({
      id: `n${i}`,
      kind: n.kind,
      lines: n.lines,
      state: n.state,
      ...(i === 0 ? {} : { parent: `n${n.parent % i}` }),
    }));
    return {
      title,
      fromPlan,
      nodes: out,
      edges: out.flatMap((n) => (n.parent === undefined ? [] : [{ from: n.parent, to: n.id, state: n.state }])),
    };
  });

export const PROPERTY_SEED = Number(process.env['PROPERTY_SEED'] ?? 23);
