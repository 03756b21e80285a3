/**
 * The stage order, written once: who may import whom. Every import of every source file of the product (lib/,
 * providers/ipvs/, cli/, bin/) is checked against it, `import type` and `typeof import(…)` included (a type import
 * still brings the module into the build). The README's Architecture section points here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The provider's stages, in order: a folder of `providers/ipvs/` imports only its own files and those of the stages
 * listed before it. Folders on one line are peers and do not import each other either (what two peers share belongs
 * to an earlier stage).
 */
export const PROVIDER_STAGES: readonly (readonly string[])[] = [
  ['model'], // pure data: the table, changes, targets, the record, the set-up's data, limits, rules, error codes
  ['read'], // producers of the model: the synthesized JSON, ipvsadm text, /proc, keepalived
  ['plan'], // pure: diff, drain choice, set-up plan, guards, saved plans; no I/O
  ['render'], // pure: text, JSON, Markdown, graphs of plans and state
  ['host'], // the seam: the only stage that reaches a host
  ['apply', 'ops', 'import'], // policy and orchestration
];

/**
 * The areas of the product outside the provider, and what each may import besides itself. `lib/` (the constructs)
 * never imports the provider: the synthesized JSON is the contract. Nothing of the product imports `lab/`.
 */
export const AREAS: Readonly<Record<string, readonly string[]>> = {
  lib: [],
  providers: [], // within providers/ipvs/, PROVIDER_STAGES decide
  cli: ['providers'], // argument parsing and wiring only
  bin: [], // runs the built CLI in dist/ by its URL, imports nothing of the sources
};

export interface SourceFile {
  /** Repository-relative, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export interface ImportEdge {
  readonly from: string;
  readonly line: number;
  /** The specifier as written. */
  readonly specifier: string;
  /** Repository-relative path of a relative import; the package name (first segment) otherwise. */
  readonly to: string;
}

/** Every import of a file: static, `export … from`, dynamic, and type imports, with their lines. */
export function importsOf(file: SourceFile): ImportEdge[] {
  const info = ts.preProcessFile(file.text, true, true);
  return info.importedFiles.map((ref) => {
    const line = file.text.slice(0, ref.pos).split('\n').length;
    const specifier = ref.fileName;
    const to = specifier.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file.path), specifier)) : packageName(specifier);
    return { from: file.path, line, specifier, to };
  });
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** `providers/ipvs/<folder>/…` → the folder's stage index; undefined outside the provider's stages. */
function stageOf(path: string): { folder: string; rank: number } | undefined {
  const m = /^providers\/ipvs\/([^/]+)\//.exec(path);
  if (!m) return undefined;
  const folder = m[1]!;
  const rank = PROVIDER_STAGES.findIndex((stage) => stage.includes(folder));
  return rank < 0 ? undefined : { folder, rank };
}

function areaOf(path: string): string {
  return path.split('/')[0] ?? path;
}

/** Why an import breaks the order, or undefined when it keeps it. */
export function violation(edge: ImportEdge): string | undefined {
  const fromArea = areaOf(edge.from);
  // A package: only the construct library's own name is the product's (tsconfig paths map `lvsform` to lib/).
  const toArea = edge.specifier.startsWith('.') ? areaOf(edge.to) : edge.to === 'lvsform' ? 'lib' : undefined;
  if (toArea === undefined || toArea === fromArea) {
    if (fromArea !== 'providers' || toArea === undefined) return undefined;
    const a = stageOf(edge.from);
    const b = stageOf(edge.to);
    if (!a || !b) return `${edge.from} or ${edge.to} is in no stage of PROVIDER_STAGES`;
    if (a.folder === b.folder || b.rank < a.rank) return undefined;
    return b.rank === a.rank
      ? `${a.folder}/ and ${b.folder}/ are peers: what both need belongs to an earlier stage`
      : `${a.folder}/ imports ${b.folder}/, a later stage`;
  }
  if (toArea === 'lab') return 'the product never imports lab/';
  const allowed = AREAS[fromArea];
  if (allowed === undefined) return undefined; // not the product (test/, bench/, lab/, scripts/, examples/)
  if (allowed.includes(toArea)) return undefined;
  return `${fromArea}/ may not import ${toArea}/`;
}

/** Checks every import of the files: `file:line imports 'specifier' (resolved): why`, for each against the order. */
export function checkImportOrder(files: readonly SourceFile[]): string[] {
  const violations: string[] = [];
  for (const file of files) {
    for (const edge of importsOf(file)) {
      const why = violation(edge);
      if (why !== undefined) violations.push(`${edge.from}:${edge.line} imports '${edge.specifier}' (${edge.to}): ${why}`);
    }
  }
  return violations;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const PRODUCT = ['lib', 'providers/ipvs', 'cli', 'bin'];

function productFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
    }
  };
  for (const dir of PRODUCT) walk(dir);
  return out;
}

describe('the stage order', () => {
  it('holds for every import of the product', () => {
    // GIVEN every source file of lib/, providers/ipvs/, cli/ and bin/
    const files = productFiles();
    expect(files.length).toBeGreaterThan(100);
    // WHEN each import is checked against the stage order
    const violations = checkImportOrder(files);
    // THEN none goes against it
    expect(violations).toEqual([]);
  });

  it('names the file, the line and the import of each violation', () => {
    // GIVEN files that import against the order in each way it can be broken
    const files: SourceFile[] = [
      { path: 'providers/ipvs/plan/x.ts', text: "import { a } from '../model/a.ts';\nimport type { B } from '../host/b.ts';\n" },
      { path: 'providers/ipvs/render/y.ts', text: "export { c } from '../plan/c.ts';\nconst d = await import('../apply/d.ts');\n" },
      { path: 'providers/ipvs/ops/z.ts', text: "import { e } from '../apply/e.ts';\nimport { f } from '../../../lib/f.ts';\n" },
      { path: 'providers/ipvs/read/w.ts', text: "import { g } from 'lvsform';\n" },
      { path: 'lib/v.ts', text: "import { h } from '../providers/ipvs/model/h.ts';\n" },
      { path: 'cli/u.ts', text: "type L = typeof import('../lab/index.ts');\nimport { i } from '../providers/ipvs/ops/i.ts';\n" },
    ];
    // WHEN they are checked
    const violations = checkImportOrder(files);
    // THEN each import against the order is named, and nothing else
    expect(violations).toEqual([
      "providers/ipvs/plan/x.ts:2 imports '../host/b.ts' (providers/ipvs/host/b.ts): plan/ imports host/, a later stage",
      "providers/ipvs/render/y.ts:2 imports '../apply/d.ts' (providers/ipvs/apply/d.ts): render/ imports apply/, a later stage",
      "providers/ipvs/ops/z.ts:1 imports '../apply/e.ts' (providers/ipvs/apply/e.ts): ops/ and apply/ are peers: what both need belongs to an earlier stage",
      "providers/ipvs/ops/z.ts:2 imports '../../../lib/f.ts' (lib/f.ts): providers/ may not import lib/",
      "providers/ipvs/read/w.ts:1 imports 'lvsform' (lvsform): providers/ may not import lib/",
      "lib/v.ts:1 imports '../providers/ipvs/model/h.ts' (providers/ipvs/model/h.ts): lib/ may not import providers/",
      "cli/u.ts:1 imports '../lab/index.ts' (lab/index.ts): the product never imports lab/",
    ]);
  });
});
