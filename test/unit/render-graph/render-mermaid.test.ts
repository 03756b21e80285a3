/**
 * `lvsform graph --format mermaid` and the diagram of the Markdown plan, drawn by mermaid.js in headless Chromium:
 * the picture has the nodes, edges and labels of the graph, a syntax error is refused by the same harness, and no
 * label, however made, breaks the Mermaid. One browser draws every diagram of this file (starting it is the slow part).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedPart, desiredGraph, type Graph, legendStates, planGraph } from '../../../providers/ipvs/render/graph.ts';
import { renderMarkdown } from '../../../providers/ipvs/render/render-markdown.ts';
import { mermaidText, renderMermaid } from '../../../providers/ipvs/render/render-mermaid.ts';
import { arbitraryGraph, PROPERTY_SEED } from './arbitrary-graph.ts';
import { director, plan, sampleDesired, samplePlan, svc, dest } from './fixtures.ts';
import { collapse, count, type MermaidResult, mermaidToSvg, svgText } from './render-harness.ts';

const NODE = /<g class="node default[^"]*"/;
const EDGE = /<path [^>]*class="[^"]*flowchart-link[^"]*"/;

/** The diagram of a Markdown plan: the text of its ```mermaid block. */
function markdownDiagram(md: string): string {
  const m = /```mermaid\n([\s\S]*?)\n```/.exec(md);
  if (!m) throw new Error('no mermaid block in the Markdown plan');
  return `${m[1]}\n`;
}

/**
 * A label line as the picture shows it: control characters and lone surrogates as spaces, a zero-width space inside
 * a backslash and an n (see mermaidText).
 */
const shown = (line: string): string =>
  collapse(
    line.replace(/\\n/g, '\\\u200bn').replace(/[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, ' '),
  );

const desired = desiredGraph('web', sampleDesired());
const planned = planGraph(samplePlan());
// A plan large enough for the diagram to be folded under <details>.
const large = plan([
  director(
    'lb1',
    [],
    Array.from({ length: 12 }, (_, i) => svc(`198.51.100.${i + 1}`, [dest('192.0.2.1'), dest('192.0.2.2')])),
  ),
]);
const samples: Graph[] = fc.sample(arbitraryGraph, { seed: PROPERTY_SEED, numRuns: 30 });

const inputs = {
  desired: renderMermaid(desired),
  plan: renderMermaid(planned),
  markdown: markdownDiagram(renderMarkdown(samplePlan())),
  folded: markdownDiagram(renderMarkdown(large)),
  // What a renderer without escaping would write for a label with a quote.
  brokenLabel: 'flowchart LR\n  n0["say "hi" now"]\n',
  brokenSyntax: 'flowchart LR\n  n0["a"] --> \n  n1[[[\n',
};
const keys = Object.keys(inputs) as (keyof typeof inputs)[];
let results: Record<keyof typeof inputs, MermaidResult>;
let sampleResults: MermaidResult[];

function svgOf(r: MermaidResult): string {
  if ('error' in r) throw new Error(`mermaid refused the diagram: ${r.error}`);
  return r.svg;
}

beforeAll(() => {
  const all = mermaidToSvg([...keys.map((k) => inputs[k]), ...samples.map(renderMermaid)]);
  results = Object.fromEntries(keys.map((k, i) => [k, all[i]!])) as typeof results;
  sampleResults = all.slice(keys.length);
}, 180_000);

describe('Mermaid through mermaid.js in Chromium', () => {
  it('draws a node for each director, service, pool and real server, and an edge for each link', () => {
    // GIVEN the desired state of two directors WHEN drawn THEN the SVG has exactly its nodes and edges
    const svg = svgOf(results.desired);
    expect(count(svg, NODE)).toBe(desired.nodes.length);
    expect(count(svg, EDGE)).toBe(desired.edges.length);
  });

  it('shows every label line of every node, IPv6 addresses included', () => {
    const text = svgText(svgOf(results.desired));
    for (const n of desired.nodes) for (const line of n.lines) expect(text).toContain(collapse(line));
    expect(text).toContain('real [2001:db8::11]:80');
  });

  it('draws a plan with its legend, coloured by state', () => {
    // GIVEN the sample plan WHEN drawn THEN its nodes and the legend's are there, each with the class of its state
    const svg = svgOf(results.plan);
    expect(count(svg, NODE)).toBe(planned.nodes.length + legendStates(planned).length);
    expect(count(svg, EDGE)).toBe(planned.edges.length);
    expect(count(svg, /<g class="node default add"/)).toBe(planned.nodes.filter((n) => n.state === 'add').length + 1);
    expect(count(svg, /<g class="node default destroy"/)).toBe(planned.nodes.filter((n) => n.state === 'destroy').length + 1);
    expect(svgText(svg)).toContain('Legend');
    expect(svgText(svg)).toContain('weight: 1 → 3');
  });

  it('draws the diagram of the Markdown plan: only what changes and the nodes above it', () => {
    const part = changedPart(planned);
    const svg = svgOf(results.markdown);
    expect(count(svg, NODE)).toBe(part.nodes.length + legendStates(part).length);
    expect(count(svg, EDGE)).toBe(part.edges.length);
  });

  it('draws the folded diagram of a large plan', () => {
    // GIVEN 12 new services with 2 real servers each (37 nodes) WHEN the Markdown's diagram is drawn THEN all are there
    expect(renderMarkdown(large)).toContain('<details><summary>Diagram of the changes (37 nodes)</summary>');
    expect(count(svgOf(results.folded), NODE)).toBe(37 + 4);
  });

  it('refuses a syntax error, so a broken rendering would fail these tests', () => {
    expect(results.brokenSyntax).toHaveProperty('error', expect.stringMatching(/Parse error/));
  });

  it('refuses a label closed early, as an unescaped quote would do', () => {
    expect(results.brokenLabel).toHaveProperty('error', expect.stringMatching(/Parse error|Lexical error/));
  });

  it('keeps any label inside its string: the picture has every node, edge and label', () => {
    // GIVEN graphs whose labels mix quotes, #, ;, <>, brackets, %%, backticks, new lines and arbitrary Unicode
    // WHEN drawn THEN mermaid accepts each and draws exactly its nodes, edges and label text
    samples.forEach((g, i) => {
      const svg = svgOf(sampleResults[i]!);
      expect(count(svg, NODE), `sample ${i}`).toBe(g.nodes.length + (g.fromPlan ? legendStates(g).length : 0));
      expect(count(svg, EDGE), `sample ${i}`).toBe(g.edges.length);
      const text = svgText(svg);
      for (const n of g.nodes) for (const line of n.lines) expect(text, `sample ${i}`).toContain(shown(line));
    });
  });
});

describe('mermaidText', () => {
  const cases: [string, string, string][] = [
    ['a quote', 'say "hi"', 'say #34;hi#34;'],
    ['a hash and a semicolon (entity syntax)', '#35;', '#35;35#59;'],
    ['HTML', '<b>', '#60;b#62;'],
    ['a backtick (Markdown strings, code fences)', '```', '#96;#96;#96;'],
    ['a comment start', '%%', '#37;#37;'],
    ['an IPv6 real server', '[2001:db8::1]:80', '[2001:db8::1]:80'],
    ['a new line', 'a\nb', 'a b'],
    ['the word style (a style statement to Mermaid)', 'style:#1;', 'styl#101;:#35;1#59;'],
    ['a backslash and an n (a line break to Mermaid)', 'a\\nb', 'a#92;#8203;nb'],
  ];
  it.each(cases)('escapes %s', (_what, input, expected) => {
    expect(mermaidText(input)).toBe(expected);
  });
});
