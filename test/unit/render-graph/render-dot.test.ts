/**
 * `lvsform graph --format dot` drawn by Graphviz (`dot -Tsvg`): the picture has the nodes, edges and labels of the
 * graph, a syntax error is refused by the same harness, and no label, however made, breaks the DOT.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredGraph, legendStates, planGraph } from '../../../providers/ipvs/render/graph.ts';
import { dotText, renderDot } from '../../../providers/ipvs/render/render-dot.ts';
import { arbitraryGraph, PROPERTY_SEED } from './arbitrary-graph.ts';
import { sampleDesired, samplePlan } from './fixtures.ts';
import { collapse, count, dotToSvg, svgText } from './render-harness.ts';

/** A label line as Graphviz shows it: control characters and lone surrogates as spaces (see dotText). */
const shown = (line: string): string =>
  collapse(line.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, ' '));

describe('DOT through Graphviz', () => {
  it('draws a node for each director, service, pool and real server, and an edge for each link', () => {
    // GIVEN the desired state of two directors WHEN rendered as DOT and drawn by dot -Tsvg
    const g = desiredGraph('web', sampleDesired());
    const svg = dotToSvg(renderDot(g));
    // THEN the SVG has exactly the graph's node groups and edge groups
    expect(count(svg, /<g id="node\d+" class="node">/)).toBe(g.nodes.length);
    expect(count(svg, /<g id="edge\d+" class="edge">/)).toBe(g.edges.length);
  });

  it('shows every label line of every node, IPv6 addresses included', () => {
    // GIVEN the desired state WHEN drawn THEN each line of each label is text of the picture
    const g = desiredGraph('web', sampleDesired());
    const text = svgText(dotToSvg(renderDot(g)));
    for (const n of g.nodes) for (const line of n.lines) expect(text).toContain(collapse(line));
    expect(text).toContain('real [2001:db8::11]:80');
  });

  it('draws a plan with its legend and the sign of each state', () => {
    // GIVEN the sample plan WHEN drawn THEN the graph's nodes plus four legend entries are there, and the signs read
    const g = planGraph(samplePlan());
    const svg = dotToSvg(renderDot(g));
    expect(count(svg, /<g id="node\d+" class="node">/)).toBe(g.nodes.length + 4);
    expect(count(svg, /<g id="edge\d+" class="edge">/)).toBe(g.edges.length);
    expect(count(svg, /class="cluster"/)).toBe(1);
    const text = svgText(svg);
    for (const s of ['+ service tcp 198.51.100.11:80', '~ real 192.0.2.11:80', '- service tcp 198.51.100.12:80', '+ add', '- destroy']) {
      expect(text).toContain(s);
    }
  });

  it('colours an added node green and a destroyed one red', () => {
    // GIVEN the sample plan WHEN drawn THEN the added service is filled and outlined in the add colours
    const svg = dotToSvg(renderDot(planGraph(samplePlan())));
    const group = (label: string): string => svg.split('<g id="node').find((part) => svgText(part).includes(label)) ?? '';
    expect(group('+ service tcp 198.51.100.11:80')).toContain('fill="#e6ffec"');
    expect(group('- service tcp 198.51.100.12:80')).toContain('stroke="#cf222e"');
  });

  it('refuses a syntax error, so a broken rendering would fail these tests', () => {
    // GIVEN DOT with an edge to nowhere WHEN drawn THEN dot fails
    expect(() => dotToSvg('digraph "x" {\n  n0 -> ;\n}\n')).toThrow(/syntax error/);
  });

  it('refuses a label closed early, as an unescaped quote would do', () => {
    // GIVEN the DOT a renderer without escaping would write for a label with a quote WHEN drawn THEN dot fails
    expect(() => dotToSvg('digraph "x" {\n  n0 [label="say "hi" now"];\n}\n')).toThrow(/syntax error/);
  });

  it('keeps any label inside its string: the picture has every node, edge and label', () => {
    // GIVEN graphs whose labels mix quotes, backslashes, entities, brackets, new lines and arbitrary Unicode
    // WHEN rendered as DOT and drawn THEN dot accepts them and draws exactly their nodes, edges and label text
    fc.assert(
      fc.property(arbitraryGraph, (g) => {
        const svg = dotToSvg(renderDot(g));
        expect(count(svg, /<g id="node\d+" class="node">/)).toBe(g.nodes.length + (g.fromPlan ? legendStates(g).length : 0));
        expect(count(svg, /<g id="edge\d+" class="edge">/)).toBe(g.edges.length);
        const text = svgText(svg);
        for (const n of g.nodes) for (const line of n.lines) expect(text).toContain(shown(line));
      }),
      { seed: PROPERTY_SEED, numRuns: 25, endOnFailure: true },
    );
  }, 60_000);
});

describe('dotText', () => {
  const cases: [string, string, string][] = [
    ['a quote', 'say "hi"', 'say \\"hi\\"'],
    ['a backslash (no \\N, \\G or \\l expansion)', 'a\\N', 'a\\\\N'],
    ['a new line', 'a\nb', 'a b'],
    ['an entity', '&lt;', '&amp;lt;'],
  ];
  it.each(cases)('escapes %s', (_what, input, expected) => {
    expect(dotText(input)).toBe(expected);
  });
});
