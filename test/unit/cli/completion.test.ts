/**
 * `lvsform completion bash|zsh|fish`: each script is valid for its shell, and each completes what the program
 * defines (commands, subcommands, flags, a flag's choices, an argument's choices), run by the real shell.
 * zsh and fish are Debian packages (scripts/ensure-deps.sh installs them).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { completionScript } from '../../../cli/completion.ts';
import { buildProgram } from '../../../cli/main.ts';
import { runCli } from '../bad-input/cli-helpers.ts';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** The script for `shell`, written to a fresh file. */
function scriptFile(shell: (typeof SHELLS)[number]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-completion-')), `lvsform.${shell}`);
  fs.writeFileSync(file, completionScript(shell, buildProgram()));
  return file;
}

/** What bash completes for `words` (the last one is the word under the cursor), through the script's function. */
function bashComplete(words: string[]): string[] {
  const out = execFileSync(
    'bash',
    ['-c', 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _lvsform; printf "%s\\n" "${COMPREPLY[@]}"', 'bash', scriptFile('bash'), ...words],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('lvsform completion', () => {
  it.each(SHELLS)('prints a %s script through the CLI', async (shell) => {
    // GIVEN a shell WHEN lvsform completion SHELL runs
    const res = await runCli(['completion', shell]);
    // THEN it prints the script for that shell and exits 0
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(completionScript(shell, buildProgram()));
    expect(res.stdout).toMatch(new RegExp(`^(#compdef lvsform\\n)?# ${shell} completion for lvsform`));
  });

  it('the bash script is valid bash (bash -n)', () => {
    // GIVEN the bash script WHEN bash parses it without running it THEN it has no syntax error
    expect(() => execFileSync('bash', ['-n', scriptFile('bash')], { stdio: 'pipe' })).not.toThrow();
  });

  it('the zsh script is valid zsh (zsh -n)', () => {
    // GIVEN the zsh script WHEN zsh parses it without running it THEN it has no syntax error
    expect(() => execFileSync('zsh', ['-n', scriptFile('zsh')], { stdio: 'pipe' })).not.toThrow();
  });

  it('the fish script is valid fish (fish --no-execute)', () => {
    // GIVEN the fish script WHEN fish parses it without running it THEN it has no syntax error
    expect(() => execFileSync('fish', ['--no-execute', scriptFile('fish')], { stdio: 'pipe' })).not.toThrow();
  });

  it('a syntax error would be caught by the same check', () => {
    // GIVEN a bash script with an unclosed case WHEN bash -n reads it THEN it fails (so the checks above can fail)
    const file = `${scriptFile('bash')}.broken`;
    fs.writeFileSync(file, completionScript('bash', buildProgram()).replace(/\n {2}esac\n/, '\n'));
    expect(() => execFileSync('bash', ['-n', file], { stdio: 'pipe' })).toThrow();
  });
});

describe('bash completes', () => {
  const cases: [string, string[], string[]][] = [
    ['a command', ['lvsform', 'pl'], ['plan']],
    ['a flag of the command', ['lvsform', 'plan', '--o'], ['--out']],
    ['a flag after a flag and its value', ['lvsform', 'plan', '--out', 'x.plan', '--detailed'], ['--detailed-exitcode']],
    ['a command after a global flag and its value', ['lvsform', '-C', 'infra', 'sy'], ['synth']],
    ['the choices of a flag', ['lvsform', 'init', '--template', ''], ['nat', 'direct-routing', 'tunnel']],
    ['the choices of an argument', ['lvsform', 'completion', ''], ['bash', 'zsh', 'fish']],
    ['a subcommand', ['lvsform', 'lab', 'sto'], ['stop']],
    ['subcommands sharing a prefix', ['lvsform', 'lab', 'st'], ['stop', 'start', 'status']],
    ['a global flag on a subcommand', ['lvsform', 'status', '--no-c'], ['--no-color']],
  ];
  it.each(cases)('%s', (_name, words, expected) => {
    // GIVEN the words typed so far WHEN bash asks the script THEN it offers exactly these
    expect(bashComplete(words)).toEqual(expected);
  });

  it('every command of the program, from the program itself', () => {
    // GIVEN the commands the program has WHEN bash completes an empty word after lvsform
    const names = buildProgram()
      .commands.filter((c) => c.name() !== 'lab' || fs.existsSync(path.join(import.meta.dirname, '../../../lab/index.ts')))
      .map((c) => c.name());
    // THEN it offers each of them
    expect(bashComplete(['lvsform', '']).sort()).toEqual(names.sort());
  });

  it('a flag added to a command, without touching the completion code', () => {
    // GIVEN the program with one more flag on plan
    const program = buildProgram();
    program.commands.find((c) => c.name() === 'plan')?.option('--frobnicate-level <n>', 'a flag only this test has');
    const file = scriptFile('bash');
    fs.writeFileSync(file, completionScript('bash', program));
    // WHEN bash completes --frob after plan
    const out = execFileSync('bash', ['-c', 'source "$1"; COMP_WORDS=(lvsform plan --frob); COMP_CWORD=2; _lvsform; echo "${COMPREPLY[*]}"', 'bash', file], {
      encoding: 'utf8',
    });
    // THEN the new flag is offered
    expect(out.trim()).toBe('--frobnicate-level');
  });
});

describe('zsh completes', () => {
  it('the flags of plan and the choices of --template, through compadd', () => {
    // GIVEN the zsh script, with compadd and compdef standing in for zsh's completion system (they only print)
    const file = scriptFile('zsh');
    const run = (words: string[]) =>
      execFileSync(
        'zsh',
        [
          '-c',
          'compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; _files() { print FILES; }; source "$1"; shift; words=("$@"); CURRENT=$#; _lvsform',
          'zsh',
          file,
          ...words,
        ],
        { encoding: 'utf8' },
      )
        .split('\n')
        .filter(Boolean);
    // WHEN zsh's function runs for `lvsform plan --o` and `lvsform init --template ` and `lvsform plan --out `
    // THEN it offers plan's flags, the templates, and files for a file
    expect(run(['lvsform', 'plan', '--o'])).toEqual(expect.arrayContaining(['--out', '--json', '--dir']));
    expect(run(['lvsform', 'init', '--template', ''])).toEqual(['nat', 'direct-routing', 'tunnel']);
    expect(run(['lvsform', 'plan', '--out', ''])).toEqual(['FILES']);
  });
});

describe('fish completes', () => {
  it('commands, flags and choices, through fish itself (complete -C)', () => {
    // GIVEN the fish script, sourced into fish
    const file = scriptFile('fish');
    const complete = (line: string) =>
      execFileSync('fish', ['-c', 'source $argv[1]; complete -C $argv[2]', file, line], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[0]);
    // WHEN fish completes partial command lines THEN it offers what the program defines
    expect(complete('lvsform pl')).toEqual(['plan']);
    expect(complete('lvsform plan --o')).toEqual(['--out']);
    expect(complete('lvsform init --template ').sort()).toEqual(['direct-routing', 'nat', 'tunnel']);
    expect(complete('lvsform -C x completion ').sort()).toEqual(['bash', 'fish', 'zsh']);
  });
});
