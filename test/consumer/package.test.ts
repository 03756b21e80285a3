/**
 * lvsform as a user gets it: packed from a fresh copy of the working tree (as a git install would build it), the
 * tarball installed into new projects, then a JavaScript app under plain node, a TypeScript app checked and compiled by
 * a consumer's strict NodeNext tsc, CommonJS projects (a JavaScript app that require()s it, a TypeScript app under
 * tsx) and projects made by `lvsform init`; each synthesizes the golden bytes of its example. npm runs with
 * --prefer-offline, so a warm npm cache needs no network. Every directory is removed at the end.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.join(REPO, 'test/unit/examples/__golden__');
const EXAMPLES = ['nat-web', 'nat-cluster', 'direct-routing', 'tunnel', 'dual-stack-fwmark', 'two-directors'] as const;
const repoPkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const NPM = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

const golden = (name: string) => fs.readFileSync(path.join(GOLDEN, `${name}.cdk.tf.json`), 'utf8');
const stackFile = (outdir: string, name: string) => fs.readFileSync(path.join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8');

/** examples/nat-web as a consumer writes it, below the given import line (ESM `import` or CommonJS `require`). */
const natWeb = (importLine: string) => `${importLine}
const app = new App({ outdir: process.argv[2] });
const stack = new LvsStack(app, 'nat-web');
const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root' } });
const web = new RealServerPool(stack, 'web-pool', {
  forwarding: Forwarding.NAT,
  members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
});
lb1.addVirtualService('http', { address: '198.51.100.10', port: 80, scheduler: Scheduler.ROUND_ROBIN, pools: [web] });
app.synth();
`;

/** Runs a command; the environment has no LVSFORM_* variables (the examples read them) and no NODE_OPTIONS. */
async function run(file: string, args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LVSFORM_') && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')));
  return exec(file, [...args], { cwd, env: { ...base, ...env }, maxBuffer: 64 * 1024 * 1024 });
}

let work: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; entryCount: number; files: { path: string }[] };
let consumer: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-consumer-'));
  // A copy of the working tree's files (tracked and new, not ignored), with the clone's node_modules linked in:
  // packing it runs `prepack`, which builds dist/ from scratch, away from the clone's own dist/.
  const source = path.join(work, 'source');
  const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], REPO);
  for (const rel of stdout.split('\0').filter(Boolean)) {
    if (!fs.existsSync(path.join(REPO, rel))) continue;
    fs.mkdirSync(path.dirname(path.join(source, rel)), { recursive: true });
    fs.copyFileSync(path.join(REPO, rel), path.join(source, rel));
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(source, 'node_modules'));
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work, ...NPM], source);
  packed = (JSON.parse(pack.stdout) as (typeof packed & { filename: string })[])[0]!;
  tarball = path.join(work, (packed as unknown as { filename: string }).filename);

  consumer = path.join(work, 'consumer');
  fs.mkdirSync(consumer);
  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await run(
    'npm',
    ['install', ...NPM, tarball, `typescript@${repoPkg.devDependencies['typescript']}`, `@types/node@${repoPkg.devDependencies['@types/node']}`],
    consumer,
  );
}, 600_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build, the CLI, README and LICENSE, and no tests, benchmarks, scripts, lab or sources', () => {
    // GIVEN the tarball npm pack made WHEN its files are listed
    const files = packed.files.map((f) => f.path);
    // THEN it has what a user runs and reads, and nothing of the repository's own tooling
    expect(files).toEqual(
      expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/lvsform.mjs', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/cli/main.js']),
    );
    expect(files.filter((f) => /^(test|bench|scripts|lab|examples|docs|lib|providers|cli)\//.test(f) || /^dist\/lab\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(fs.readFileSync(path.join(consumer, 'node_modules/lvsform/LICENSE'), 'utf8')).toContain('Apache License');
  });

  it('installs a working lvsform command that answers --version', async () => {
    // GIVEN the installed package WHEN its command is asked for its version THEN it prints package.json's
    const { stdout } = await run(path.join(consumer, 'node_modules/.bin/lvsform'), ['--version'], consumer);
    expect(stdout.trim()).toBe(repoPkg.version);
  });

  it('brings neither tsx nor esbuild nor typescript as dependencies', () => {
    // GIVEN the installed package's dependencies WHEN listed THEN the TypeScript tooling is not among them
    const pkg = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules/lvsform/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toEqual(expect.arrayContaining(['tsx']));
    expect(fs.existsSync(path.join(consumer, 'node_modules/tsx'))).toBe(false);
    expect(fs.existsSync(path.join(consumer, 'node_modules/esbuild'))).toBe(false);
  });
});

describe('a JavaScript app under plain node', () => {
  it('synthesizes the golden nat-web', async () => {
    // GIVEN examples/nat-web written in plain JavaScript, importing the package by name
    fs.writeFileSync(path.join(consumer, 'nat-web.js'), natWeb("import { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from 'lvsform';"));
    const outdir = path.join(consumer, 'js-out');
    // WHEN node runs it
    await run(process.execPath, ['nat-web.js', outdir], consumer);
    // THEN it wrote the golden bytes
    expect(stackFile(outdir, 'nat-web')).toBe(golden('nat-web'));
  });
});

describe('CommonJS projects (no "type": "module", as npm init -y and cdktf make them)', () => {
  let cjs: string;
  let bare: string;

  beforeAll(async () => {
    // npm init -y's package.json (npm 11 writes "type": "commonjs"), and one with no "type" at all (older npm, or what
    // `npm install lvsform` leaves in a fresh directory): both make .js and tsx's .ts files CommonJS.
    cjs = path.join(work, 'cjs');
    fs.mkdirSync(cjs);
    await run('npm', ['init', '-y', ...NPM], cjs);
    await run('npm', ['install', ...NPM, tarball], cjs);
    bare = path.join(work, 'bare');
    fs.mkdirSync(bare);
    fs.writeFileSync(path.join(bare, 'package.json'), JSON.stringify({ name: 'bare', version: '1.0.0', private: true }));
    await run(
      'npm',
      [
        'install',
        ...NPM,
        tarball,
        `tsx@${repoPkg.devDependencies['tsx']}`,
        `typescript@${repoPkg.devDependencies['typescript']}`,
        `@types/node@${repoPkg.devDependencies['@types/node']}`,
      ],
      bare,
    );
  }, 600_000);

  it('a JavaScript app that require()s lvsform synthesizes the golden nat-web, with nothing on stderr', async () => {
    // GIVEN npm init -y's project and examples/nat-web written with require
    const type = (JSON.parse(fs.readFileSync(path.join(cjs, 'package.json'), 'utf8')) as { type?: string }).type;
    expect(type === undefined || type === 'commonjs').toBe(true);
    fs.writeFileSync(path.join(cjs, 'index.js'), natWeb("const { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } = require('lvsform');"));
    const outdir = path.join(cjs, 'out');
    // WHEN node runs it
    const { stderr } = await run(process.execPath, ['index.js', outdir], cjs);
    // THEN it wrote the golden bytes, and Node printed no warning (require of an ES module is stable from 20.19)
    expect(stackFile(outdir, 'nat-web')).toBe(golden('nat-web'));
    expect(stderr).toBe('');
  });

  it('a TypeScript app run by tsx synthesizes the golden nat-web, with nothing on stderr', async () => {
    // GIVEN a project without "type" and examples/nat-web in TypeScript with import syntax (tsx compiles it to require)
    fs.writeFileSync(path.join(bare, 'main.ts'), natWeb("import { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from 'lvsform';"));
    const outdir = path.join(bare, 'out');
    // WHEN tsx runs it
    const { stderr } = await run(path.join(bare, 'node_modules/.bin/tsx'), ['main.ts', outdir], bare);
    // THEN it wrote the golden bytes, without a warning
    expect(stackFile(outdir, 'nat-web')).toBe(golden('nat-web'));
    expect(stderr).toBe('');
  });

  it('the same TypeScript app type-checks under a strict NodeNext tsc in that CommonJS project', async () => {
    // GIVEN the app above and a NodeNext tsconfig (TypeScript 5.8+ lets a CommonJS file import an ES module's types)
    fs.writeFileSync(path.join(bare, 'check.ts'), natWeb("import { App, Director, Forwarding, LvsStack, RealServerPool, Scheduler } from 'lvsform';"));
    fs.writeFileSync(
      path.join(bare, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] },
        include: ['check.ts'],
      }),
    );
    // WHEN the project's tsc checks it (no skipLibCheck)
    const tsc = await run(path.join(bare, 'node_modules/.bin/tsc'), ['-p', bare], bare).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    // THEN the types resolved through the package's exports, with no error
    expect(tsc.stdout).toBe('');
  });
});

describe('a TypeScript app checked by a strict NodeNext tsc', () => {
  it('type-checks, compiles and synthesizes every example to its golden bytes', async () => {
    // GIVEN the examples' own sources, with the .js specifiers a consumer writes, and one call the types must refuse
    const ts = path.join(consumer, 'ts');
    for (const rel of ['reach.ts', ...EXAMPLES.map((n) => `${n}/app.ts`)]) {
      fs.mkdirSync(path.dirname(path.join(ts, rel)), { recursive: true });
      const text = fs.readFileSync(path.join(REPO, 'examples', rel), 'utf8').replace(/from '(\.\.?\/[^']+)\.ts'/g, "from '$1.js'");
      fs.writeFileSync(path.join(ts, rel), text);
    }
    fs.writeFileSync(
      path.join(ts, 'synth-all.ts'),
      `import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { App, Director, LvsStack, type SshProps } from 'lvsform';
${EXAMPLES.map((n, i) => `import { build as b${i} } from './${n}/app.js';`).join('\n')}

const builds = [${EXAMPLES.map((n, i) => `['${n}', b${i}]`).join(', ')}] as const;
for (const [name, build] of builds) {
  mkdirSync(process.argv[2]!, { recursive: true });
  const app = new App({ outdir: join(process.argv[2]!, name) });
  build(app);
  app.synth();
}
// The declarations are real types, not any: a port must be a number (checked by tsc, never run).
export function typed(): void {
  const ssh: SshProps = { host: '203.0.113.2', port: 22 };
  // @ts-expect-error port is a number
  new Director(new LvsStack(new App(), 'typed'), 'lb1', { ssh: { ...ssh, port: '22' } });
}
`,
    );
    fs.writeFileSync(
      path.join(ts, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'build', types: ['node'] },
        include: ['**/*.ts'],
        exclude: ['build'],
      }),
    );
    // WHEN the consumer's tsc checks and compiles it (no skipLibCheck) and node runs the result
    const tsc = await run(path.join(consumer, 'node_modules/.bin/tsc'), ['-p', ts], consumer).catch((e: { stdout: string }) => ({
      stdout: e.stdout,
      failed: true,
    }));
    expect(tsc.stdout).toBe('');
    const outdir = path.join(ts, 'out');
    await run(process.execPath, [path.join(ts, 'build/synth-all.js'), outdir], ts);
    // THEN each example wrote its golden bytes
    for (const name of EXAMPLES) expect(stackFile(path.join(outdir, name), name), name).toBe(golden(name));
  });
});

describe('a project made by lvsform init', () => {
  const templates = [
    ['nat', 'nat-web'],
    ['direct-routing', 'direct-routing'],
    ['tunnel', 'tunnel'],
  ] as const;

  it.each(templates)('template %s synthesizes the golden %s after npm install, and type-checks', async (template, example) => {
    // GIVEN a project made by the installed lvsform init, in a directory named after the example (the stack name)
    const dir = path.join(work, 'init', example);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    await run(path.join(consumer, 'node_modules/.bin/lvsform'), ['init', dir, '--template', template], work);
    // WHEN its dependencies are installed (lvsform from the tarball) and `lvsform synth` and its typecheck run
    await run('npm', ['install', ...NPM, tarball], dir);
    const synth = await run(path.join(dir, 'node_modules/.bin/lvsform'), ['synth'], dir);
    await run('npm', ['run', '--silent', 'typecheck'], dir);
    // THEN the stack has the golden bytes of the example of the same name
    expect(synth.stdout).toContain(`${example}: 1 director(s)`);
    expect(stackFile(path.join(dir, 'cdktf.out'), example)).toBe(golden(example));
  });
});
