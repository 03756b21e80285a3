/**
 * The command-line conventions Terraform users expect: --version, --no-color with NO_COLOR and FORCE_COLOR honoured
 * alike by every command, a repeatable --director that leaves a plan file alone, --connect-timeout, progress lines
 * for slow steps, and `lvsform init`.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { initProject } from '../../../cli/init-project.ts';
import { buildProgram } from '../../../cli/main.ts';
import { delayedProgress } from '../../../cli/progress.ts';
import { appSource, CDKTF_JSON, LIB, project, REPO, runCli, TSX } from '../bad-input/cli-helpers.ts';

const run = promisify(execFile);
const RUNNER = path.join(import.meta.dirname, 'run-cli.ts');
const ANSI = /\x1b\[\d+m/;

/** `lvsform ARGV` in a child process with exactly `env` (plus PATH and HOME). */
async function child(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(TSX, [RUNNER, ...argv], { env: { PATH: process.env['PATH'] ?? '', HOME: os.tmpdir(), ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** A project whose one director is reached over SSH on a closed loopback port: the connection is refused at once. */
function unreachableProject(): string {
  return project({
    'cdktf.json': CDKTF_JSON,
    'app.ts': [
      `import { App, LvsStack, Director } from ${JSON.stringify(LIB)};`,
      `const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });`,
      `new Director(new LvsStack(app, 'web'), 'lb1', { ssh: { host: '127.0.0.1', port: 1, user: 'root' } });`,
      `app.synth();`,
    ].join('\n'),
  });
}

describe('lvsform --version', () => {
  it('prints the version of package.json and exits 0', async () => {
    // GIVEN the package's own version
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    // WHEN lvsform --version runs
    const res = await runCli(['--version']);
    // THEN it prints exactly that version
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(version);
  });
});

describe('--director', () => {
  it('is repeatable: --director lb1 --director lb2 web.plan keeps both names and one plan file', () => {
    // GIVEN the apply command of the CLI
    const apply = buildProgram().commands.find((c) => c.name() === 'apply')!;
    // WHEN its options are parsed
    const { operands, unknown } = apply.parseOptions(['--director', 'lb1', '--director', 'lb2', 'web.plan']);
    // THEN both directors are kept and web.plan is the one operand
    expect(apply.opts<{ director?: string[] }>().director).toEqual(['lb1', 'lb2']);
    expect([operands, unknown]).toEqual([['web.plan'], []]);
  });

  it('does not swallow the plan file: apply --director lb1 web.plan reads web.plan', async () => {
    // GIVEN a directory without web.plan
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-director-'));
    const file = path.join(dir, 'web.plan');
    // WHEN apply is given --director and then the plan file
    const res = await runCli(['apply', '--director', 'lb1', file]);
    // THEN lvsform went for the plan file (and found none), not for a director called web.plan
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`Error [LVS_PLAN_MISSING]: cannot read plan file ${file}`);
  });
});

describe('colour', () => {
  it('doctor honours NO_COLOR over FORCE_COLOR, and FORCE_COLOR alone colours it, like every command', async () => {
    // GIVEN a project whose director refuses the connection (doctor prints a failed check)
    const dir = unreachableProject();
    // WHEN doctor runs with FORCE_COLOR=1, with NO_COLOR=1 too, and with --no-color
    const forced = await child(['-C', dir, 'doctor', '--connect-timeout', '2'], { FORCE_COLOR: '1' });
    const noColor = await child(['-C', dir, 'doctor', '--no-synth'], { FORCE_COLOR: '1', NO_COLOR: '1' });
    const flag = await child(['-C', dir, 'doctor', '--no-synth', '--no-color'], { FORCE_COLOR: '1' });
    // THEN only the first is coloured, and all three report the unreachable director and exit 1
    expect(forced.stdout).toMatch(ANSI);
    expect(noColor.stdout).not.toMatch(ANSI);
    expect(flag.stdout).not.toMatch(ANSI);
    for (const r of [forced, noColor, flag]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('reachable');
    }
  });
});

describe('progress', () => {
  it('prints a step that lasts longer than the delay, once, on the given stream', async () => {
    // GIVEN a progress reporter with a 50 ms delay
    const lines: string[] = [];
    const progress = delayedProgress((l) => lines.push(l), 50);
    // WHEN lb1 connects and nothing happens for 150 ms
    progress.step('lb1', 'connecting to lb1 (root@203.0.113.2)');
    await new Promise((r) => setTimeout(r, 150));
    // THEN one line says what lb1 waits for
    expect(lines.map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(['lb1: connecting to lb1 (root@203.0.113.2)…\n']);
  });

  it('prints nothing for steps that end before the delay', async () => {
    // GIVEN a progress reporter with a 50 ms delay
    const lines: string[] = [];
    const progress = delayedProgress((l) => lines.push(l), 50);
    // WHEN lb1 steps twice quickly and then goes idle, and lb2 steps and everything stops
    progress.step('lb1', 'connecting');
    progress.step('lb1', 'reading the live table');
    progress.idle('lb1');
    progress.step('lb2', 'connecting');
    progress.stop();
    await new Promise((r) => setTimeout(r, 120));
    // THEN nothing was printed
    expect(lines).toEqual([]);
  });
});

describe('lvsform init', () => {
  it('writes the six files of a new project, naming the stack after the directory', async () => {
    // GIVEN a directory that does not exist yet
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-init-')), 'edge-lb');
    // WHEN init runs there with the tunnel template
    const res = await runCli(['init', dir, '--template', 'tunnel']);
    // THEN the files are there, the stack is named after the directory, and lvsform is a dependency
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['.gitignore', 'README.md', 'cdktf.json', 'main.ts', 'package.json', 'tsconfig.json']);
    expect(fs.readFileSync(path.join(dir, 'main.ts'), 'utf8')).toContain("new LvsStack(app, 'edge-lb')");
    expect(fs.readFileSync(path.join(dir, 'main.ts'), 'utf8')).toContain('TunnelType.GUE');
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toEqual(['lvsform']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'cdktf.json'), 'utf8')).app).toBe('tsx main.ts');
  });

  it('quotes a directory with spaces and shell characters in its "Next:" lines', async () => {
    // GIVEN a directory whose name has a space, a quote and a dollar sign, below the working directory
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-init-'));
    const name = "lb infra's $HOME";
    // WHEN init runs there with that relative directory
    const res = await run(TSX, [RUNNER, 'init', name], { cwd: parent });
    // THEN its "cd" line is one shell word that names exactly that directory
    const cd = /^ {2}cd (.*)$/m.exec(res.stdout)?.[1] ?? '';
    expect(cd).toBe(`'lb infra'\\''s $HOME'`);
    const { stdout } = await run('sh', ['-c', `cd ${cd} && basename "$PWD"`], { cwd: parent });
    expect(stdout.trim()).toBe(name);
  });

  it("runs an app command from the project's node_modules/.bin without npx (tsx main.ts), as npm scripts do", async () => {
    // GIVEN a project whose node_modules has tsx, whose app is `tsx app.ts`, and a PATH without any node_modules/.bin
    const dir = project({ 'cdktf.json': JSON.stringify({ app: 'tsx app.ts', output: 'cdktf.out' }), 'app.ts': appSource('') });
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    const PATH = (process.env['PATH'] ?? '')
      .split(path.delimiter)
      .filter((p) => !p.includes('node_modules'))
      .join(path.delimiter);
    // WHEN lvsform synth runs there
    const res = await child(['-C', dir, 'synth'], { PATH });
    // THEN the app ran (its tsx found in the project) and wrote the stack
    expect(res.code, res.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'cdktf.out/stacks/web/cdk.tf.json'))).toBe(true);
    // (two tsx start-ups: the CLI's and the app's)
  }, 60_000);

  it('says how to install lvsform from its tarball kept in the repo, not `npm install` from the registry', async () => {
    // GIVEN a new directory
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-init-')), 'edge-lb');
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    // WHEN init runs there
    const res = await runCli(['init', dir]);
    // THEN its "Next:" lines and its README install the tarball from vendor/ (npm ci accepts file:vendor/…)
    const tgz = `vendor/lvsform-${version}.tgz`;
    expect(res.stdout).toContain(`  npm install ./${tgz}`);
    expect(res.stdout).not.toMatch(/^ {2}npm install$/m);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(`npm install ./${tgz}`);
    expect(readme).toContain('not on the npm registry yet');
  });

  it('refuses a directory that has one of its files, and writes nothing', async () => {
    // GIVEN a directory with a main.ts of its own
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-init-'));
    fs.writeFileSync(path.join(dir, 'main.ts'), '// mine\n');
    // WHEN init runs there
    const res = await runCli(['init', dir]);
    // THEN it fails with LVS_INIT_EXISTS and a hint, main.ts is unchanged and nothing else was written
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Error [LVS_INIT_EXISTS]');
    expect(res.stderr).toContain('main.ts');
    expect(fs.readdirSync(dir)).toEqual(['main.ts']);
    expect(fs.readFileSync(path.join(dir, 'main.ts'), 'utf8')).toBe('// mine\n');
  });

  it('uses documentation addresses only', async () => {
    // GIVEN each template WHEN it is written THEN every IPv4 address in main.ts is in a documentation range
    for (const template of ['nat', 'direct-routing', 'tunnel'] as const) {
      const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-init-')), template);
      await initProject(dir, template);
      const addresses = fs.readFileSync(path.join(dir, 'main.ts'), 'utf8').match(/\d+\.\d+\.\d+\.\d+/g) ?? [];
      expect(addresses.length).toBeGreaterThan(0);
      for (const a of addresses) expect(a).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
    }
  });
});
