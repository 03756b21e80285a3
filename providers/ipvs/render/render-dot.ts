/**
 * A graph as Graphviz DOT (`lvsform graph --format dot`, as `terraform graph` gives): `dot -Tsvg` draws it.
 *
 * Every label is a double-quoted DOT string built by `dotString`: a backslash and a quote are escaped, control
 * characters and lone surrogates become spaces, `&` is written `&amp;` (Graphviz decodes entities in labels, so `&lt;` would show as
 * `<`), and lines are joined with `\n`, so no label can end the string, start an escape sequence Graphviz expands
 * (`\N`, `\G`, `\l`) or turn into an HTML label. Node ids are the graph's own (`n0`, …).
 */
import { type Graph, type GraphNode, legendStates, type NodeKind, STATE_COLOURS, STATE_LEGEND, stateSign } from './graph.ts';

/** One line of text as the inside of a DOT double-quoted string (without the quotes). */
export function dotText(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/[\\"]/g, (c) => `\\${c}`);
}

/** Lines as one DOT string, quotes included; the lines are centred (`\n`). */
export function dotString(lines: readonly string[]): string {
  return `"${lines.map(dotText).join('\\n')}"`;
}

const SHAPES: Readonly<Record<NodeKind, string>> = { director: 'box3d', service: 'box', pool: 'folder', real: 'box' };

function nodeLine(n: GraphNode, fromPlan: boolean): string {
  const c = STATE_COLOURS[n.state];
  const [first = '', ...rest] = n.lines;
  const label = dotString([`${fromPlan ? stateSign(n.state) : ''}${first}`, ...rest]);
  const style = n.kind === 'real' ? 'rounded,filled' : 'filled';
  const dashed = n.state === 'destroy' ? ',dashed' : '';
  return `  ${n.id} [label=${label}, shape=${SHAPES[n.kind]}, style="${style}${dashed}", fillcolor="${c.fill}", color="${c.stroke}", fontcolor="${c.text}"];`;
}

/** The graph as DOT text, ending in a newline. */
export function renderDot(g: Graph): string {
  const out = [
    'digraph "lvsform" {',
    `  graph [rankdir=LR, fontname="Helvetica", fontsize=12, labelloc=t, label=${dotString([`lvsform: ${g.title}`])}];`,
    '  node [fontname="Helvetica", fontsize=10, penwidth=1.4];',
    '  edge [arrowsize=0.7];',
  ];
  for (const n of g.nodes) out.push(nodeLine(n, g.fromPlan));
  for (const e of g.edges) {
    const c = STATE_COLOURS[e.state];
    out.push(`  ${e.from} -> ${e.to} [color="${c.stroke}"${e.state === 'destroy' ? ', style=dashed' : ''}];`);
  }
  if (g.fromPlan) {
    out.push('  subgraph cluster_legend {', '    label="Legend"; style=dashed; color="#8c959f"; fontsize=10;');
    const shown = legendStates(g);
    shown.forEach((s, i) => {
      const c = STATE_COLOURS[s];
      out.push(
        `    legend${i} [label=${dotString([STATE_LEGEND[s]])}, shape=box, style=filled, fillcolor="${c.fill}", color="${c.stroke}", fontcolor="${c.text}"];`,
      );
    });
    // Invisible edges keep the legend in one column.
    for (let i = 1; i < shown.length; i++) out.push(`    legend${i - 1} -> legend${i} [style=invis];`);
    out.push('  }');
  }
  out.push('}', '');
  return out.join('\n');
}
