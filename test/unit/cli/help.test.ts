/**
 * `--help` of every command: the global flags (with -C's default as `.`), examples of that command, the link to the
 * docs; and the lab left out of an installed package, which ships without lab/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../../cli/help.ts';
import { buildProgram } from '../../../cli/main.ts';
import { allCommands, checkCommandWords, commandPath } from '../../../cli/usage.ts';
import { REPO, runCli } from '../bad-input/cli-helpers.ts';

const COMMANDS = allCommands(buildProgram()).map(commandPath);

describe('--help', () => {
  it.each(COMMANDS)('%s --help shows the global flags, examples and the docs', async (command) => {
    // GIVEN a command WHEN its help is asked for
    const res = await runCli([...command.split(' ').slice(1), '--help']);
    // THEN it exits 0 and shows the global flags, -C's default as `.`, its examples and the link to the docs
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--no-color/);
    // (the columns wrap with the width of the help, so any run of blanks may be a line break)
    expect(res.stdout).toMatch(/-C, --dir <path>\s+the project directory\s+\(where\s+cdktf\.json\s+is\)\s+\(default:\s+\.\)/);
    expect(res.stdout).toMatch(/\nExamples:\n {2}\$ lvsform /);
    expect(res.stdout).toMatch(/\nDocs: https:\/\/\S+#the-command-line\n$/);
  });

  it('every command has examples, and only commands the program has', () => {
    // GIVEN the commands of the program WHEN compared with the table of examples THEN they are the same set
    expect(Object.keys(EXAMPLES).sort()).toEqual([...COMMANDS].sort());
  });

  it.each(Object.entries(EXAMPLES).flatMap(([command, lines]) => lines.map((line) => [command, line] as const)))(
    '%s: the example `%s` names that command and is a command line the program accepts',
    (command, line) => {
      // GIVEN an example WHEN its words are read (quotes and redirections aside)
      const words = line
        .replace(/\s*[>|].*$/, '')
        .split(' ')
        .map((w) => w.replace(/^"|"$/g, ''));
      // THEN it names the command it illustrates, and every command word in it is one the program has
      expect(line.replace(/ -C \S+/, '').startsWith(command)).toBe(true);
      expect(() => checkCommandWords(buildProgram(), words.slice(1))).not.toThrow();
    },
  );

  it('the docs link of the help is the homepage of package.json', async () => {
    // GIVEN the package's homepage WHEN lvsform --help runs THEN its link points there
    const { homepage } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { homepage: string };
    const res = await runCli(['--help']);
    expect(res.stdout).toContain(`Docs: ${homepage.replace(/#.*$/, '')}#the-command-line`);
  });
});

describe('the lab in an installed package', () => {
  /** bin/, dist/ and package.json laid out as npm installs them (no lab/), with this clone's node_modules. */
  function installedLayout(): string {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-installed-')), 'lvsform');
    fs.mkdirSync(dir);
    for (const part of ['bin', 'dist/cli', 'dist/lib', 'dist/providers', 'package.json']) {
      fs.cpSync(path.join(REPO, part), path.join(dir, part), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  }
  const run = (dir: string, args: string[]) => {
    try {
      return { code: 0, stdout: execFileSync(process.execPath, [path.join(dir, 'bin/lvsform.mjs'), ...args], { encoding: 'utf8', stdio: 'pipe' }) };
    } catch (e) {
      const x = e as { status: number; stdout: string; stderr: string };
      return { code: x.status, stdout: x.stdout + x.stderr };
    }
  };

  it('is not listed by --help nor completed, and says why when called', () => {
    // GIVEN lvsform installed from its package (built dist/, no lab/ beside it)
    const dir = installedLayout();
    // WHEN --help and the completion script are printed, and the lab is called
    const help = run(dir, ['--help']);
    const completion = run(dir, ['completion', 'bash']);
    const lab = run(dir, ['lab', 'status']);
    // THEN the lab is neither listed nor completed, and calling it names why it is not there
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\n {2}plan /);
    expect(help.stdout).not.toMatch(/\n {2}lab /);
    expect(completion.stdout).toMatch(/'sub:'\) REPLY='init /);
    expect(completion.stdout).not.toMatch(/\blab\b/);
    expect(lab.code).toBe(1);
    expect(lab.stdout).toMatch(/Error \[LVS_LAB_UNAVAILABLE\]: the lab is not available here: this installation of lvsform has no lab\/ sources/);
  });

  it('is listed in a clone, where it runs', async () => {
    // GIVEN this clone (lab/ present) WHEN --help runs THEN the lab is listed
    const res = await runCli(['--help']);
    expect(res.stdout).toMatch(/\n {2}lab /);
  });
});
