/**
 * The bad-input catalogue, continued: writes that destroy nothing. lvsform never removes or replaces a file or
 * directory it did not create (synth's output directory, `plan --out`, `import --out`, `init`), writes only regular
 * files, reads every relative path against `-C`, and ends in one clear error (never a stack trace) when standard
 * output is full or closed, when the working directory is gone, or when the app is killed. Each refused case asserts
 * the code, the message, and that the trees around it (project, its parent, the target) are byte-identical, symlinks
 * and modes included.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appSource, CDKTF_JSON, LIB, REPO, runCli } from './cli-helpers.ts';
import { GOOD_BODY } from './edges-helpers.ts';

const BIN = path.join(REPO, 'bin/lvsform.mjs');

/** A digest of everything under `root` (or of `root` itself), never following a symlink: names, modes, contents, link targets. */
function tree(root: string): string {
  if (!fs.lstatSync(root, { throwIfNoEntry: false })) return 'absent';
  const h = createHash('sha256');
  const walk = (p: string, rel: string): void => {
    const st = fs.lstatSync(p);
    h.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) h.update(`-> ${fs.readlinkSync(p)}`);
    else if (st.isFile()) h.update(fs.readFileSync(p));
    else if (st.isDirectory()) for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), `${rel}/${name}`);
    else h.update(`rdev ${st.rdev}`);
    h.update('\0');
  };
  walk(root, '.');
  return h.digest('hex');
}

/** A directory of its own (so that its digest is not disturbed by other tests) holding a project `proj` and a file of its own. */
function nest(files: Record<string, string>): { parent: string; dir: string } {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-writes-'));
  fs.writeFileSync(path.join(parent, 'keep.txt'), 'a file of the parent\n');
  const dir = path.join(parent, 'proj');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return { parent, dir };
}

/** A project with the good app of stack web (one director it never reaches), main.ts and package.json of its own, and node_modules. */
function goodProject(output?: string): { parent: string; dir: string } {
  const cdktf = output === undefined ? CDKTF_JSON : JSON.stringify({ ...JSON.parse(CDKTF_JSON), output });
  return nest({
    'cdktf.json': cdktf,
    'app.ts': appSource(GOOD_BODY),
    'main.ts': '// the source\n',
    'package.json': '{"name":"proj"}\n',
    'node_modules/some-dep/index.js': 'module.exports = 1;\n',
  });
}

/** A project whose app declares stack web with no director: its plan succeeds without reaching any host. */
function emptyStackProject(): { parent: string; dir: string } {
  return nest({
    'cdktf.json': CDKTF_JSON,
    'app.ts': [
      `import { App, LvsStack } from ${JSON.stringify(LIB)};`,
      `const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });`,
      `new LvsStack(app, 'web');`,
      `app.synth();`,
    ].join('\n'),
  });
}

function setOutput(dir: string, output: string): void {
  fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({ ...JSON.parse(CDKTF_JSON), output }));
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `lvsform ARGV` as a user runs it (node bin/lvsform.mjs, the built dist/), optionally through `sh -c PRELUDE`. */
function child(argv: readonly string[], options: { cwd?: string; stdout?: number; prelude?: string; onSpawn?: (c: ChildProcess) => void } = {}): Promise<Run> {
  const [cmd, args] = options.prelude
    ? ['sh', ['-c', `${options.prelude}; exec "$0" "$@"`, process.execPath, BIN, ...argv]]
    : [process.execPath, [BIN, ...argv]];
  return new Promise((done, fail) => {
    const c = spawn(cmd as string, args as string[], {
      cwd: options.cwd ?? os.tmpdir(),
      env: { PATH: process.env['PATH'] ?? '', HOME: os.tmpdir(), TMPDIR: os.tmpdir() },
      stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    c.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    options.onSpawn?.(c);
    c.on('error', fail);
    c.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** One error line with `code`, matching `message`, no stack trace, exit 1. */
function expectOneError(run: Run, code: string, message: RegExp): void {
  expect(run.code, run.stderr + run.stdout).toBe(1);
  expect(run.stderr.match(/^Error \[[A-Z_]+\]/gm) ?? [], run.stderr).toEqual([`Error [${code}]`]);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/Internal error| {4}at |node:internal/);
}

describe('synth never replaces a directory it did not write (cdktf.json "output")', () => {
  interface OutputCase {
    readonly name: string;
    /** Sets the output up in the project (or beside it); returns the places that must stay byte-identical. */
    readonly given: (p: { parent: string; dir: string }) => string[];
    readonly message: RegExp;
  }
  const cases: OutputCase[] = [
    {
      name: '"." (the project itself)',
      given: ({ dir }) => (setOutput(dir, '.'), []),
      message: /"output" of .*cdktf\.json is .*proj: that is the project directory; lvsform replaces only a directory it wrote/,
    },
    {
      name: '".." (the parent of the project)',
      given: ({ dir }) => (setOutput(dir, '..'), []),
      message: /is .*lvsform-writes-\w+: that is a parent of the project directory/,
    },
    {
      name: '"main.ts" (a source file)',
      given: ({ dir }) => (setOutput(dir, 'main.ts'), []),
      message: /is .*proj\/main\.ts: it is a file, not a directory/,
    },
    {
      name: 'an absolute path to a directory of other files',
      given: ({ dir }) => {
        const other = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-other-'));
        fs.mkdirSync(path.join(other, 'sub'));
        fs.writeFileSync(path.join(other, 'notes.txt'), 'mine\n');
        fs.writeFileSync(path.join(other, 'sub/data.bin'), 'data\n');
        setOutput(dir, other);
        return [other];
      },
      message: /is .*lvsform-other-\w+: it holds files lvsform did not write \(notes\.txt, sub\) and no synth manifest\.json/,
    },
    {
      name: '"node_modules"',
      given: ({ dir }) => (setOutput(dir, 'node_modules'), []),
      message: /is .*proj\/node_modules: it holds files lvsform did not write \(some-dep\)/,
    },
    {
      name: 'a symlink to the project',
      given: ({ dir }) => {
        fs.symlinkSync('.', path.join(dir, 'out-link'));
        setOutput(dir, 'out-link');
        return [];
      },
      message: /is .*proj\/out-link: that \(really .*proj, through a symbolic link\) is the project directory/,
    },
    {
      name: 'a symlink to a place that does not exist',
      given: ({ dir }) => {
        fs.symlinkSync('no-such-dir', path.join(dir, 'out-link'));
        setOutput(dir, 'out-link');
        return [];
      },
      message: /is .*proj\/out-link: it is a symbolic link to a place that does not exist/,
    },
    {
      name: '"/"',
      given: ({ dir }) => (setOutput(dir, '/'), []),
      message: /is \/: that is the root directory/,
    },
    {
      name: 'a path under a file ("main.ts/out")',
      given: ({ dir }) => (setOutput(dir, 'main.ts/out'), []),
      message: /is .*proj\/main\.ts\/out: .*proj\/main\.ts on its way is a file, not a directory/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: LVS_SYNTH_OUTPUT, project, parent and target byte-identical`, async () => {
      // GIVEN a project (main.ts, package.json, node_modules) whose cdktf.json names that output
      const p = goodProject();
      const targets = c.given(p);
      const before = [p.parent, ...targets].map(tree);
      // WHEN synth runs
      const run = await runCli(['-C', p.dir, 'synth']);
      // THEN one error names the place and why, and nothing anywhere changed
      expectOneError(run, 'LVS_SYNTH_OUTPUT', c.message);
      expect(run.stderr).toMatch(/Point "output" in cdktf\.json at a directory of its own/);
      expect([p.parent, ...targets].map(tree)).toEqual(before);
    });
  }

  it('an app that fails with a new nested output: the parents made for it are removed again', async () => {
    // GIVEN "output": "build/lvs" (neither exists) and an app that fails
    const p = goodProject('build/lvs');
    fs.writeFileSync(path.join(p.dir, 'app.ts'), 'process.exit(3);\n');
    const before = tree(p.parent);
    // WHEN synth runs
    const run = await runCli(['-C', p.dir, 'synth']);
    // THEN it fails and leaves no trace: no build/ directory
    expectOneError(run, 'LVS_SYNTH_FAILED', /failed with exit 3/);
    expect(tree(p.parent)).toBe(before);
  });

  it('the home directory: LVS_SYNTH_OUTPUT, nothing changed', async () => {
    // GIVEN HOME is a directory with files, and the output names it
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-home-'));
    fs.writeFileSync(path.join(home, '.profile'), 'export A=1\n');
    const p = goodProject(home);
    const before = [tree(p.parent), tree(home)];
    const saved = process.env['HOME'];
    process.env['HOME'] = home;
    try {
      // WHEN synth runs
      const run = await runCli(['-C', p.dir, 'synth']);
      // THEN it is refused as the home directory
      expectOneError(run, 'LVS_SYNTH_OUTPUT', /that is the home directory/);
    } finally {
      process.env['HOME'] = saved;
    }
    expect([tree(p.parent), tree(home)]).toEqual(before);
  });

  it('the directory changed while the app ran: checked again before the swap, nothing replaced', async () => {
    // GIVEN an app that, while it runs, puts a file of the user's into the (empty) output directory
    const p = goodProject('out');
    fs.mkdirSync(path.join(p.dir, 'out'));
    const body = `${GOOD_BODY}\n(process as any).getBuiltinModule('node:fs').writeFileSync('out/diary.txt', 'mine');`;
    fs.writeFileSync(path.join(p.dir, 'app.ts'), appSource(body));
    // WHEN synth runs
    const run = await runCli(['-C', p.dir, 'synth']);
    // THEN the swap is refused and the user's file is still there, with no synth directory left beside it
    expectOneError(run, 'LVS_SYNTH_OUTPUT', /out: it holds files lvsform did not write \(diary\.txt\)/);
    expect(fs.readFileSync(path.join(p.dir, 'out/diary.txt'), 'utf8')).toBe('mine');
    expect(fs.readdirSync(p.dir).filter((n) => n.includes('.synth-'))).toEqual([]);
  });
});

describe('synth output: the good paths still work', () => {
  it('a fresh output directory (and its missing parents) is created', async () => {
    // GIVEN "output": "build/lvs", which does not exist
    const p = goodProject('build/lvs');
    // WHEN synth runs THEN it writes there, and nothing else in the project changed
    const run = await runCli(['-C', p.dir, 'synth']);
    expect(run.code, run.stderr).toBe(0);
    expect(fs.existsSync(path.join(p.dir, 'build/lvs/stacks/web/cdk.tf.json'))).toBe(true);
    expect(fs.readdirSync(path.join(p.dir, 'build'))).toEqual(['lvs']);
  });

  it('an empty existing directory is used', async () => {
    // GIVEN "output": "out", an empty directory
    const p = goodProject('out');
    fs.mkdirSync(path.join(p.dir, 'out'));
    // WHEN synth runs THEN the output is there
    const run = await runCli(['-C', p.dir, 'synth']);
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readdirSync(path.join(p.dir, 'out')).sort()).toEqual(['manifest.json', 'stacks']);
  });

  it('an older output (with its manifest) is replaced whole', async () => {
    // GIVEN an earlier synth, to which a stack that is no longer in the app was added
    const p = goodProject();
    expect((await runCli(['-C', p.dir, 'synth'])).code).toBe(0);
    fs.mkdirSync(path.join(p.dir, 'cdktf.out/stacks/old'));
    fs.writeFileSync(path.join(p.dir, 'cdktf.out/stacks/old/cdk.tf.json'), '{}');
    // WHEN synth runs again THEN the output is this run's only
    const run = await runCli(['-C', p.dir, 'synth']);
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readdirSync(path.join(p.dir, 'cdktf.out/stacks'))).toEqual(['web']);
    expect(fs.readdirSync(p.dir).sort()).toEqual(['app.ts', 'cdktf.json', 'cdktf.out', 'main.ts', 'node_modules', 'package.json']);
  });

  it('a symlinked output directory: the real directory is replaced, the link is kept', async () => {
    // GIVEN "output": "out-link", a symlink to an earlier output elsewhere
    const p = goodProject('out-link');
    const real = path.join(p.parent, 'real-out');
    fs.mkdirSync(real);
    fs.symlinkSync(real, path.join(p.dir, 'out-link'));
    // WHEN synth runs (twice: into the empty directory, then over its own output)
    for (let i = 0; i < 2; i++) expect((await runCli(['-C', p.dir, 'synth'])).code).toBe(0);
    // THEN the link still points there and the output is in the real directory
    expect(fs.readlinkSync(path.join(p.dir, 'out-link'))).toBe(real);
    expect(fs.existsSync(path.join(real, 'stacks/web/cdk.tf.json'))).toBe(true);
    expect(fs.readdirSync(p.parent).sort()).toEqual(['keep.txt', 'proj', 'real-out']);
  });
});

describe('file outputs are written only as regular files, replacing only what lvsform wrote', () => {
  it('plan --out /dev/null: LVS_PLAN_OUT before anything is planned; /dev/null stays a device', async () => {
    // GIVEN a project WHEN planned with --out /dev/null (as root, a rename would make it a regular file)
    const p = goodProject();
    const before = [tree(p.parent), tree('/dev/null')];
    const run = await runCli(['-C', p.dir, 'plan', '--out', '/dev/null']);
    // THEN it is refused at once, naming the path and what it is
    expectOneError(run, 'LVS_PLAN_OUT', /cannot save the plan to \/dev\/null: it is a device; lvsform writes only regular files/);
    expect(run.stderr).toMatch(/nothing was planned/);
    expect([tree(p.parent), tree('/dev/null')]).toEqual(before);
  });

  it('plan --out onto a FIFO: LVS_PLAN_OUT, the FIFO untouched', async () => {
    // GIVEN a FIFO where the plan would go
    const p = goodProject();
    const fifo = path.join(p.dir, 'web.plan');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const before = tree(p.parent);
    // WHEN planned with --out there
    const run = await runCli(['-C', p.dir, 'plan', '--out', fifo]);
    // THEN refused; still a FIFO
    expectOneError(run, 'LVS_PLAN_OUT', /web\.plan: it is a FIFO \(named pipe\)/);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    expect(tree(p.parent)).toBe(before);
  });

  it('plan --out onto a symlink: LVS_PLAN_OUT, neither the link nor its target touched', async () => {
    // GIVEN web.plan -> main.ts
    const p = goodProject();
    fs.symlinkSync('main.ts', path.join(p.dir, 'web.plan'));
    const before = tree(p.parent);
    // WHEN planned with --out web.plan
    const run = await runCli(['-C', p.dir, 'plan', '--out', 'web.plan']);
    // THEN refused
    expectOneError(run, 'LVS_PLAN_OUT', /proj\/web\.plan: it is a symbolic link; lvsform writes only regular files/);
    expect(tree(p.parent)).toBe(before);
  });

  it('plan --out onto a file lvsform did not write: LVS_PLAN_OUT, the file untouched', async () => {
    // GIVEN --out main.ts, the project's source
    const p = goodProject();
    const before = tree(p.parent);
    // WHEN planned
    const run = await runCli(['-C', p.dir, 'plan', '--out', 'main.ts']);
    // THEN refused: it is not a plan file
    expectOneError(run, 'LVS_PLAN_OUT', /proj\/main\.ts: it exists and is not an lvsform plan file; lvsform replaces only files it wrote/);
    expect(tree(p.parent)).toBe(before);
  });

  it('plan --out over an earlier plan file replaces it (the good path)', async () => {
    // GIVEN a project with no director, planned once to web.plan
    const p = emptyStackProject();
    expect((await runCli(['-C', p.dir, 'plan', '--out', 'web.plan'])).code).toBe(0);
    const first = fs.readFileSync(path.join(p.dir, 'web.plan'), 'utf8');
    // WHEN planned again to the same file
    const run = await runCli(['-C', p.dir, 'plan', '--out', 'web.plan']);
    // THEN it is replaced by the new plan (0600), and no temporary file is left
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(p.dir, 'web.plan'), 'utf8')).not.toBe(first);
    expect(fs.statSync(path.join(p.dir, 'web.plan')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(p.dir).sort()).toEqual(['app.ts', 'cdktf.json', 'cdktf.out', 'web.plan']);
  });

  it('plan --out whose final write fails after the plan ran: LVS_PLAN_OUT, the earlier plan byte-identical, nothing half-written', async () => {
    // GIVEN a synthesized project with an earlier plan, and a file-size limit of 0 (every write fails with EFBIG)
    const p = emptyStackProject();
    expect((await runCli(['-C', p.dir, 'plan', '--out', 'web.plan'])).code).toBe(0);
    const before = tree(p.parent);
    // WHEN the plan runs (it needs no write until the end) and is saved over the earlier one
    const run = await child(['-C', p.dir, 'plan', '--no-synth', '--out', 'web.plan'], { prelude: 'ulimit -f 0' });
    // THEN one error says the write failed and the file was left as it was
    expectOneError(run, 'LVS_PLAN_OUT', /cannot save the plan to .*web\.plan: file too large \(EFBIG\); .*web\.plan was left as it was/);
    expect(tree(p.parent)).toBe(before);
  });

  it('import --out /dev/null: LVS_IMPORT_WRITE before the source is read', async () => {
    // GIVEN an ipvsadm-save file
    const p = nest({ 'web.save': '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n' });
    const before = [tree(p.parent), tree('/dev/null')];
    // WHEN imported to /dev/null with --force
    const run = await runCli(['-C', p.dir, 'import', '--save', 'web.save', '--local', '--out', '/dev/null', '--force']);
    // THEN refused: --force replaces regular files only
    expectOneError(run, 'LVS_IMPORT_WRITE', /cannot write the app to \/dev\/null: it is a device/);
    expect([tree(p.parent), tree('/dev/null')]).toEqual(before);
  });

  it('import --out onto a symlink, even with --force: LVS_IMPORT_WRITE, link and target untouched', async () => {
    // GIVEN app.ts -> main.ts
    const p = nest({ 'web.save': '-A -t 198.51.100.10:80 -s rr\n', 'main.ts': '// mine\n' });
    fs.symlinkSync('main.ts', path.join(p.dir, 'app.ts'));
    const before = tree(p.parent);
    // WHEN imported to app.ts with --force
    const run = await runCli(['-C', p.dir, 'import', '--save', 'web.save', '--local', '--out', 'app.ts', '--force']);
    // THEN refused
    expectOneError(run, 'LVS_IMPORT_WRITE', /proj\/app\.ts: it is a symbolic link/);
    expect(tree(p.parent)).toBe(before);
  });
});

describe('-C applies to every relative path, once', () => {
  it('-C DIR init writes into DIR, not the working directory', async () => {
    // GIVEN a working directory and a target directory
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-cwd-'));
    const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-c-')), 'lb-infra');
    // WHEN lvsform -C TARGET init runs there
    const run = await child(['-C', target, 'init'], { cwd });
    // THEN the project is in TARGET (named after it), and the working directory is still empty
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readdirSync(target).sort()).toEqual(['.gitignore', 'README.md', 'cdktf.json', 'main.ts', 'package.json', 'tsconfig.json']);
    expect(JSON.parse(fs.readFileSync(path.join(target, 'package.json'), 'utf8')).name).toBe('lb-infra');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('-C DIR init SUB writes into DIR/SUB', async () => {
    // GIVEN a directory WHEN lvsform -C DIR init sub runs elsewhere
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-cwd-'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-c-'));
    const run = await child(['-C', dir, 'init', 'sub'], { cwd });
    // THEN the files are in DIR/sub
    expect(run.code, run.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'sub/main.ts'))).toBe(true);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('-C DIR plan --out REL saves DIR/REL, and -C DIR show REL reads it', async () => {
    // GIVEN a project with no director, and another working directory
    const p = emptyStackProject();
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-cwd-'));
    // WHEN planned with a relative --out from there
    const plan = await child(['-C', p.dir, 'plan', '--out', 'web.plan'], { cwd });
    // THEN the plan is in the project, and show finds it by the same relative name
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`Saved the plan to ${path.join(p.dir, 'web.plan')}.`);
    expect(fs.readdirSync(cwd)).toEqual([]);
    const show = await child(['-C', p.dir, 'show', 'web.plan', '--json'], { cwd });
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).stack).toBe('web');
  });

  it('-C DIR import --save REL --out REL reads and writes in DIR', async () => {
    // GIVEN a save file in DIR, run from elsewhere
    const p = nest({ 'web.save': '-A -t 198.51.100.10:80 -s rr\n-a -t 198.51.100.10:80 -r 192.0.2.11:80 -m -w 1\n' });
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-cwd-'));
    // WHEN imported with relative paths
    const run = await child(['-C', p.dir, 'import', '--save', 'web.save', '--local', '--out', 'main.ts'], { cwd });
    // THEN main.ts is written in DIR
    expect(run.code, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(p.dir, 'main.ts'), 'utf8')).toContain("'198.51.100.10'");
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe('crashes: a full or closed output, init over a file, a deleted working directory, a killed app', () => {
  it('show PLAN > /dev/full: one LVS_OUTPUT_WRITE error naming ENOSPC, exit 1', async () => {
    // GIVEN a saved plan
    const p = emptyStackProject();
    expect((await runCli(['-C', p.dir, 'plan', '--out', 'web.plan'])).code).toBe(0);
    const before = tree(p.parent);
    // WHEN shown with standard output on /dev/full
    const full = fs.openSync('/dev/full', 'w');
    const run = await child(['show', path.join(p.dir, 'web.plan')], { stdout: full }).finally(() => fs.closeSync(full));
    // THEN one clear error, no stack trace
    expectOneError(run, 'LVS_OUTPUT_WRITE', /cannot write to standard output: no space left on device \(ENOSPC\)/);
    expect(tree(p.parent)).toBe(before);
  });

  it('import --save BIG | (a reader that closes at once): exits 141 quietly, as a program killed by SIGPIPE', async () => {
    // GIVEN a save file whose app is far larger than a pipe holds
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) lines.push(`-A -t 198.51.100.10:${1000 + i} -s rr`, `-a -t 198.51.100.10:${1000 + i} -r 192.0.2.11:${1000 + i} -m -w 1`);
    const p = nest({ 'big.save': `${lines.join('\n')}\n` });
    const before = tree(p.parent);
    // WHEN imported to standard output, whose reader has gone
    const run = await child(['import', '--save', path.join(p.dir, 'big.save'), '--local'], { onSpawn: (c) => c.stdout!.destroy() });
    // THEN it stops with the SIGPIPE status and prints nothing on standard error
    expect(run.code, run.stderr).toBe(141);
    expect(run.stderr).not.toMatch(/Error|EPIPE| {4}at /);
    expect(tree(p.parent)).toBe(before);
  });

  it('init X where X is a file: LVS_INIT_EXISTS, the file untouched', async () => {
    // GIVEN a file named like the project directory
    const p = nest({ 'lb-infra': 'a file\n' });
    const before = tree(p.parent);
    // WHEN init is asked to write there
    const run = await runCli(['-C', p.dir, 'init', 'lb-infra']);
    // THEN refused, naming the path
    expectOneError(run, 'LVS_INIT_EXISTS', /cannot write a new project into .*proj\/lb-infra: it is a file, not a directory/);
    expect(tree(p.parent)).toBe(before);
  });

  it('init X/Y where X is a file: LVS_INIT_EXISTS, nothing created', async () => {
    // GIVEN a file on the way WHEN init writes below it
    const p = nest({ 'lb-infra': 'a file\n' });
    const before = tree(p.parent);
    const run = await runCli(['-C', p.dir, 'init', 'lb-infra/sub']);
    // THEN refused
    expectOneError(run, 'LVS_INIT_EXISTS', /lb-infra\/sub: .*proj\/lb-infra on its way is a file, not a directory/);
    expect(tree(p.parent)).toBe(before);
  });

  it('init whose writes fail midway (a file-size limit): LVS_INIT_EXISTS, what it wrote removed again', async () => {
    // GIVEN a parent directory and a file-size limit of 0
    const p = nest({ 'keep.md': 'kept\n' });
    const before = tree(p.parent);
    // WHEN init writes a new project there
    const run = await child(['-C', p.dir, 'init', 'lb-infra'], { prelude: 'ulimit -f 0' });
    // THEN one error, and neither the files nor the directory it made are left
    expectOneError(run, 'LVS_INIT_EXISTS', /lb-infra: file too large \(EFBIG\); nothing was written/);
    expect(tree(p.parent)).toBe(before);
  });

  describe('a deleted working directory', () => {
    /** Runs `lvsform ARGV` from a directory that is removed just before. */
    function fromDeleted(argv: string[]): Promise<Run> {
      const gone = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-gone-'));
      return child(argv, { cwd: gone, prelude: `rmdir "${gone}"` });
    }

    it('--version and --help still work', async () => {
      // GIVEN a deleted working directory WHEN --version and --help run THEN both exit 0 with their text
      const version = await fromDeleted(['--version']);
      expect([version.code, version.stderr]).toEqual([0, '']);
      expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
      const help = await fromDeleted(['--help']);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^Usage: lvsform/);
    });

    it('synth: one LVS_NO_WORKING_DIR error', async () => {
      // GIVEN a deleted working directory WHEN synth runs THEN one clear error, no stack trace
      const run = await fromDeleted(['synth']);
      expectOneError(run, 'LVS_NO_WORKING_DIR', /the directory lvsform was started in no longer exists/);
      expect(run.stderr).toMatch(/pass -C with an absolute path/);
    });

    it('-C with an absolute path works', async () => {
      // GIVEN a project WHEN synthesized with -C ABS from a deleted directory THEN it works
      const p = goodProject();
      const run = await fromDeleted(['-C', p.dir, 'synth']);
      expect(run.code, run.stderr).toBe(0);
      expect(fs.existsSync(path.join(p.dir, 'cdktf.out/stacks/web/cdk.tf.json'))).toBe(true);
    });
  });

  it('an app killed by a signal: LVS_SYNTH_FAILED naming the signal, cdktf.out untouched', async () => {
    // GIVEN a synthesized project whose app is then killed by SIGKILL
    const p = goodProject();
    expect((await runCli(['-C', p.dir, 'synth'])).code).toBe(0);
    fs.writeFileSync(path.join(p.dir, 'cdktf.json'), JSON.stringify({ app: 'kill -KILL $$' }));
    const before = tree(p.parent);
    // WHEN synth runs
    const run = await runCli(['-C', p.dir, 'synth']);
    // THEN the error names the signal, not "exit undefined"
    expectOneError(run, 'LVS_SYNTH_FAILED', /the app \(kill -KILL \$\$\) was killed by signal SIGKILL/);
    expect(run.stderr).not.toMatch(/undefined/);
    expect(tree(p.parent)).toBe(before);
  });

  it('an app whose shell reports a signal as 128 + N: the exit and the signal it means', async () => {
    // GIVEN an app whose command is killed by SIGTERM inside the shell
    const p = goodProject();
    fs.writeFileSync(path.join(p.dir, 'cdktf.json'), JSON.stringify({ app: 'sh -c "kill -TERM \\$\\$"' }));
    const before = tree(p.parent);
    // WHEN synth runs THEN the exit status and its likely reading are named
    const run = await runCli(['-C', p.dir, 'synth']);
    expectOneError(run, 'LVS_SYNTH_FAILED', /failed with exit 143 \(as a shell reports a command killed by SIGTERM\)/);
    expect(tree(p.parent)).toBe(before);
  });
});
