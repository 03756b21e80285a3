/**
 * Draws DOT and Mermaid text the way a reader's tools do, to prove the renderers' output is a picture and not only
 * text: DOT through Graphviz (`dot -Tsvg`), Mermaid through mermaid.js in headless Chromium (the browser build that
 * GitHub's and GitLab's renderers are built on). Both refuse a syntax error, so the same harness fails a broken input.
 *
 * Needs the Debian packages graphviz and chromium (scripts/install-lab-deps.sh, which npm test runs) and the npm package mermaid.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The SVG Graphviz draws from DOT text; throws with Graphviz's message on a syntax error. */
export function dotToSvg(dot: string): string {
  return execFileSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 15_000 });
}

export type MermaidResult = { readonly svg: string } | { readonly error: string };

/** The browser build of mermaid, found the way Node finds any dependency. */
function mermaidScript(): string {
  return readFileSync(createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js'), 'utf8');
}

/** A script-safe JSON literal: `<` written as `\u003c` so that no input can close the script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Renders each Mermaid text with `mermaid.render` in one headless Chromium (one browser start for many diagrams):
 * the SVG of each, serialized as XML, or the error mermaid raised. The page writes the results, base64-encoded JSON, into the DOM that
 * `--dump-dom` prints.
 */
export function mermaidToSvg(texts: readonly string[]): MermaidResult[] {
  // Directly under /tmp, not the test run's nested scratch directory: Chromium puts its singleton socket under TMPDIR,
  // and a Unix socket path longer than 107 bytes makes it abort ("Socket path too long").
  const dir = mkdtempSync('/tmp/lvsform-mm-');
  try {
    const page = join(dir, 'page.html');
    writeFileSync(
      page,
      `<!doctype html><html><head><meta charset="utf-8"></head><body><div id="result">pending</div>
<script>${mermaidScript().replace(/<\/script/gi, '<\\/script')}</script>
<script>
const inputs = ${scriptJson(texts)};
(async () => {
  const results = [];
  try {
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });
    for (let i = 0; i < inputs.length; i++) {
      try {
        await mermaid.parse(inputs[i]);
        const { svg } = await mermaid.render('diagram' + i, inputs[i]);
        // As XML, so that the SVG is also a well-formed file of its own (mermaid writes HTML, e.g. <br> unclosed).
        const element = new DOMParser().parseFromString(svg, 'text/html').querySelector('svg');
        results.push({ svg: new XMLSerializer().serializeToString(element) });
      } catch (e) {
        results.push({ error: String((e && e.message) || e) });
      }
    }
  } catch (e) {
    results.push({ error: 'harness: ' + String((e && e.message) || e) });
  }
  const bytes = new TextEncoder().encode(JSON.stringify(results));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  document.getElementById('result').textContent = 'done:' + btoa(bin);
})();
</script></body></html>`,
    );
    const out = execFileSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--virtual-time-budget=30000',
        '--dump-dom',
        `file://${page}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 150_000, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, TMPDIR: dir } },
    );
    const m = /done:([A-Za-z0-9+/=]+)/.exec(out);
    if (!m) throw new Error(`the page did not finish rendering; chromium printed: ${out.slice(0, 500)}`);
    return JSON.parse(Buffer.from(m[1]!, 'base64').toString('utf8')) as MermaidResult[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The number of times `pattern` occurs in `text`. */
export function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))].length;
}

/** The text an SVG shows: tags dropped, entities decoded, white space collapsed (as HTML and SVG lay it out). */
export function svgText(svg: string): string {
  return collapse(
    svg
      .replace(/<style[\s\S]*?<\/style>/g, ' ')
      .replace(/<br\s*\/?>/g, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos|nbsp);/gi, (_, e: string) => {
        const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };
        if (e[0] !== '#') return named[e.toLowerCase()]!;
        return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
      }),
  );
}

/** White space runs as one space, ends trimmed: how a label's text is compared with what the picture shows. */
export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
