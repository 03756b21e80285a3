/**
 * A graph as a Mermaid flowchart (`lvsform graph --format mermaid`, and the diagram of the Markdown plan), which
 * GitHub and GitLab draw inline from a ```mermaid block.
 *
 * Labels are quoted (`n1["…"]`) and every character outside a small safe set is written as Mermaid's numeric entity
 * (`#35;` for `#`, `#34;` for a quote), so that no label can end the string, open a shape, start a comment (`%%`),
 * inject HTML (`<`), become a Markdown string (a backtick) or close the code fence it sits in. Lines are joined with
 * `<br>`, written by this module only. Node ids are the graph's own (`n0`, …); legend ids are `legend0`, ….
 */
import { type Graph, type GraphNode, legendStates, type NodeKind, type NodeState, STATE_COLOURS, STATE_LEGEND, stateSign } from './graph.ts';

/**
 * One line of text for inside a quoted Mermaid label: letters, digits, space and `.,:/=_+-()[]@~!?*|'` as they are
 * (inside quotes the parser takes anything but a quote, so these keep the source readable), everything else as an
 * entity.
 */
export function mermaidText(text: string): string {
  let out = '';
  // Mermaid turns a backslash and an n into a line break, whatever entity the backslash is written as: a zero-width
  // space between them keeps the two characters as they look.
  for (const ch of text.replace(/\\n/g, '\\\u200bn')) {
    if (/^[A-Za-z0-9 .,:/=_+\-()[\]@~!?*|']$/.test(ch)) out += ch;
    else {
      const cp = ch.codePointAt(0)!;
      // Control characters and lone surrogates have no entity worth showing: a space keeps the label readable.
      out += cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff) ? ' ' : `#${cp};`;
    }
  }
  // Before decoding entities Mermaid rewrites any line matching `style.*:\S*#.*;` or `classDef.*:\S*#.*;` (its
  // style statements), dropping a `;` from a label that holds those words, a colon and an entity: a letter of each
  // word as an entity keeps the label out of that rewrite.
  return out.replace(/style/g, 'styl#101;').replace(/classDef/g, 'classDe#102;');
}

/** Lines as one quoted Mermaid label; an empty one is a no-break space, as Mermaid refuses `""`. */
export function mermaidLabel(lines: readonly string[]): string {
  const text = lines.map(mermaidText).join('<br>');
  return `"${text === '' ? '#160;' : text}"`;
}

/** Opening and closing brackets of each kind's shape: director a subroutine box, pool a hexagon, real rounded. */
const SHAPES: Readonly<Record<NodeKind, readonly [string, string]>> = {
  director: ['[[', ']]'],
  service: ['[', ']'],
  pool: ['{{', '}}'],
  real: ['(', ')'],
};

function nodeLine(n: GraphNode, fromPlan: boolean): string {
  const [open, close] = SHAPES[n.kind];
  const [first = '', ...rest] = n.lines;
  return `  ${n.id}${open}${mermaidLabel([`${fromPlan ? stateSign(n.state) : ''}${first}`, ...rest])}${close}`;
}

function classDef(s: NodeState): string {
  const c = STATE_COLOURS[s];
  return `  classDef ${s} fill:${c.fill},stroke:${c.stroke},color:${c.text}${s === 'destroy' ? ',stroke-dasharray:5 3' : ''};`;
}

/** The graph as Mermaid text (no code fence), ending in a newline. */
export function renderMermaid(g: Graph): string {
  // Wider labels than the default 200 px, so that an address and a construct path stay on one line each.
  const out = ['---', 'config:', '  flowchart:', '    wrappingWidth: 400', '---', 'flowchart LR'];
  const states = (['add', 'change', 'replace', 'destroy', 'unchanged'] as const).filter((s) => g.nodes.some((n) => n.state === s) || g.fromPlan);
  // The legend first, so that the layout puts it above the graph rather than across its edges.
  if (g.fromPlan) {
    const shown = legendStates(g);
    out.push('  subgraph legend ["Legend"]', '    direction LR');
    shown.forEach((s, i) => out.push(`    legend${i}[${mermaidLabel([STATE_LEGEND[s]])}]`));
    out.push('  end', '  style legend fill:#ffffff,stroke:#8c959f,stroke-dasharray:4 3');
    shown.forEach((s, i) => out.push(`  class legend${i} ${s};`));
  }
  for (const n of g.nodes) out.push(nodeLine(n, g.fromPlan));
  for (const e of g.edges) out.push(`  ${e.from} --> ${e.to}`);
  // An invisible link puts the legend in a column of its own before the directors, off every edge; written after the
  // graph's edges so that linkStyle's numbering of those stays as it is.
  const first = g.nodes[0];
  if (g.fromPlan && first) out.push(`  legend ~~~ ${first.id}`);
  for (const s of states) out.push(classDef(s));
  for (const s of states) {
    const ids = g.nodes.filter((n) => n.state === s).map((n) => n.id);
    if (ids.length) out.push(`  class ${ids.join(',')} ${s};`);
  }
  // Edges take the colour of the child they lead to; linkStyle counts edges in the order they were written.
  for (const s of states) {
    const idx = g.edges.flatMap((e, i) => (e.state === s ? [i] : []));
    if (idx.length && s !== 'unchanged') out.push(`  linkStyle ${idx.join(',')} stroke:${STATE_COLOURS[s].stroke},stroke-width:2px;`);
  }
  out.push('');
  return out.join('\n');
}
