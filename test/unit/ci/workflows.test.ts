/**
 * The CI examples (examples/ci) run only commands and flags that exist: every `lvsform` command line in them is
 * checked against the CLI that buildProgram() builds, and the properties the docs promise are checked in the files.
 *
 * The files are read as text, not parsed as YAML: each `npx lvsform …` line (backslash continuations joined) is cut
 * at the first shell operator and split into words the way sh would for these simple lines.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../cli/main.ts';
import { commentMarker } from '../../../providers/ipvs/render/render-markdown.ts';

const ROOT = join(import.meta.dirname, '../../..');
const FILES = ['examples/ci/github/lvsform.yml', 'examples/ci/gitlab/.gitlab-ci.yml'] as const;
const text = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Splits the rest of a command line into words, stopping at the first unquoted shell operator or comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) words.push(cur);
      cur = '';
      has = false;
    } else if ('|&;<>)#'.includes(ch)) {
      if (ch === '>' && /^\d$/.test(cur)) cur = '';
      else if (has) words.push(cur);
      return words;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) words.push(cur);
  return words;
}

/** Every `npx lvsform …` command in a file, as words after `lvsform`. */
export function lvsformCommands(source: string): string[][] {
  const joined = source.replace(/\\\n\s*/g, ' ');
  const out: string[][] = [];
  for (const line of joined.split('\n')) {
    for (const m of line.matchAll(/\bnpx lvsform\s+(.*)$/g)) out.push(shellWords(m[1]!));
  }
  return out;
}

function findOption(cmd: Command, word: string): Option | undefined {
  return cmd.options.find((o) => o.long === word || o.short === word);
}

/** What is wrong with a command line against the CLI; empty when it would parse. */
export function checkCommand(program: Command, words: readonly string[]): string[] {
  const problems: string[] = [];
  let i = 0;
  while (words[i] === '-C' || words[i] === '--dir') i += 2;
  let cmd = program.commands.find((c) => c.name() === words[i]);
  if (!cmd) return [`no command "${words[i]}"`];
  i += 1;
  for (let sub = cmd.commands.find((c) => c.name() === words[i]); sub; sub = cmd.commands.find((c) => c.name() === words[i])) {
    cmd = sub;
    i += 1;
  }
  const positional: string[] = [];
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('-')) {
      positional.push(word);
      continue;
    }
    const [name, inline] = word.split('=', 2) as [string, string | undefined];
    const opt = findOption(cmd, name);
    if (!opt) {
      if (name !== '--help' && name !== '-h') problems.push(`${cmd.name()} has no option ${name}`);
      continue;
    }
    if (inline !== undefined) {
      if (!opt.required && !opt.optional) problems.push(`${cmd.name()} ${name} takes no value`);
      continue;
    }
    if (opt.required || opt.optional) {
      const next = words[i + 1];
      if (next === undefined || next.startsWith('-')) {
        if (opt.required) problems.push(`${cmd.name()} ${name} needs a value`);
        continue;
      }
      i += 1;
      while (opt.variadic && words[i + 1] !== undefined && !words[i + 1]!.startsWith('-')) i += 1;
    }
  }
  const args = cmd.registeredArguments;
  if (positional.length > args.length && !args.at(-1)?.variadic)
    problems.push(`${cmd.name()} takes ${args.length} argument(s), got ${positional.length}: ${positional.join(' ')}`);
  const needed = args.filter((a) => a.required).length;
  if (positional.length < needed) problems.push(`${cmd.name()} needs ${needed} argument(s), got ${positional.length}`);
  return problems;
}

describe('the command-line checker', () => {
  const program = buildProgram();
  const cases: [string, string, string[]][] = [
    ['a good plan', 'plan --stack web --out p --detailed-exitcode --max-deletes 3', []],
    ['an unknown option', 'plan --frobnicate', ['plan has no option --frobnicate']],
    ['an unknown command', 'deploy', ['no command "deploy"']],
    ['a missing value', 'plan --out', ['plan --out needs a value']],
    ['too many arguments', 'apply a b', ['apply takes 1 argument(s), got 2: a b']],
    ['a missing argument', 'show --markdown', ['show needs 1 argument(s), got 0']],
    ['a flag given a value', 'plan --json=yes', ['plan --json takes no value']],
    ['a repeated --director before a plan file', 'apply --director lb1 --director lb2 web.plan', []],
  ];
  it.each(cases)('%s', (_name, line, expected) => {
    // GIVEN a command line WHEN checked against the CLI THEN exactly these problems are found
    expect(checkCommand(program, shellWords(line))).toEqual(expected);
  });

  it('cuts a line at redirections, pipes and comments', () => {
    expect(shellWords(`plan --stack "$S" --out p 2> plan.err # note`)).toEqual(['plan', '--stack', '$S', '--out', 'p']);
  });
});

describe.each(FILES)('%s', (file) => {
  const source = text(file);
  const commands = lvsformCommands(source);

  it('runs lvsform plan, show --markdown and apply', () => {
    // GIVEN the workflow WHEN its lvsform commands are listed THEN it plans, renders Markdown and applies
    expect(commands.map((w) => w[0])).toEqual(expect.arrayContaining(['plan', 'show', 'apply']));
    expect(commands.some((w) => w[0] === 'show' && w.includes('--markdown'))).toBe(true);
  });

  it('uses only commands and flags the CLI has', () => {
    const program = buildProgram();
    const problems = commands.flatMap((w) => checkCommand(program, w).map((p) => `lvsform ${w.join(' ')}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('plans with --detailed-exitcode and --out, and keeps exit 2 from failing the job', () => {
    const plans = commands.filter((w) => w[0] === 'plan');
    expect(plans.length).toBeGreaterThan(0);
    for (const w of plans) expect(w).toEqual(expect.arrayContaining(['--detailed-exitcode', '--out', '--stack']));
    const at = source.indexOf('npx lvsform plan');
    expect(source.lastIndexOf('set +e', at)).toBeGreaterThan(-1);
    expect(source.indexOf('code=$?', at)).toBeGreaterThan(at);
  });

  it('guards every plan with --max-deletes or an explicit --allow-deletes', () => {
    for (const w of commands.filter((x) => x[0] === 'plan')) expect(w.includes('--max-deletes') || w.includes('--allow-deletes')).toBe(true);
  });

  it('applies a saved plan file, never a fresh unreviewed plan', () => {
    const applies = commands.filter((w) => w[0] === 'apply');
    expect(applies.length).toBeGreaterThan(0);
    for (const w of applies) {
      expect(w[1]).toMatch(/plan$/);
      expect(w).not.toContain('--auto-approve');
    }
  });

  it('never accepts a new host key', () => {
    expect(source).not.toContain('--accept-new-host-key');
    expect(source).toMatch(/known_hosts/);
  });

  it('names the stack once, in LVSFORM_STACK, and runs on Node 22 or 24', () => {
    // GIVEN the file WHEN the stack's name and the Node version are looked for
    // THEN "web" appears only as the value of LVSFORM_STACK, and Node is an LTS line still supported
    expect(source.match(/\bweb\b/g)).toEqual(['web']);
    expect(source).toMatch(/node-version: (22|24)\n|image: node:(22|24)-/);
    expect(source).not.toMatch(/node-version: 20|node:20/);
  });

  it('writes the same comment marker as lvsform when the plan fails', () => {
    expect(source.replaceAll('$LVSFORM_STACK', 'web')).toContain(commentMarker('web'));
    expect(source).toMatch(/LVSFORM_STACK: web/);
  });
});

describe('least permissions', () => {
  it('GitHub: nothing by default; plan writes pull requests, apply only reads', () => {
    // GIVEN the GitHub workflow WHEN its permission blocks are read
    const source = text(FILES[0]);
    const plan = source.slice(source.indexOf('\n  plan:'), source.indexOf('\n  apply:'));
    const apply = source.slice(source.indexOf('\n  apply:'));
    // THEN the workflow grants nothing, the plan job writes only pull requests, and the apply job writes nothing
    expect(source).toMatch(/^permissions: \{\}$/m);
    expect(plan).toMatch(/permissions:\n\s+contents: read\n\s+pull-requests: write\n/);
    expect(apply).toMatch(/permissions:\n(\s+[a-z-]+: read\n)+\s+#/);
    expect(apply).not.toMatch(/: write/);
  });

  it('GitLab: the apply job alone uses the protected key and the read-only token', () => {
    // GIVEN the GitLab pipeline WHEN its jobs' variables are read
    const source = text(FILES[1]);
    const plan = source.slice(source.indexOf('\nlvsform-plan:'), source.indexOf('\nlvsform-apply:'));
    const apply = source.slice(source.indexOf('\nlvsform-apply:'));
    // THEN the plan job has its own key and the note token, the apply job the protected key and the read token
    expect(plan).toContain('JOB_SSH_KEY: $LVSFORM_PLAN_SSH_KEY');
    expect(plan).toContain('LVSFORM_GITLAB_TOKEN: $LVSFORM_GITLAB_NOTE_TOKEN');
    expect(apply).toContain('JOB_SSH_KEY: $LVSFORM_SSH_KEY');
    expect(apply).toContain('LVSFORM_GITLAB_TOKEN: $LVSFORM_GITLAB_READ_TOKEN');
  });
});

describe('serialising applies per stack', () => {
  it('GitHub: the apply job has its own concurrency group for the workflow (one per stack) and is never cancelled', () => {
    // GIVEN the GitHub workflow WHEN its apply job is read THEN its group is the workflow's and it is never cancelled
    expect(text(FILES[0])).toMatch(/apply:[\s\S]*concurrency:\n\s+group: \$\{\{ github\.workflow \}\}-apply\n\s+cancel-in-progress: false/);
  });

  it('GitLab: the apply job has a resource group named after the stack variable', () => {
    // GIVEN the GitLab pipeline WHEN its apply job is read THEN its resource group is the stack's
    expect(text(FILES[1])).toMatch(/lvsform-apply:[\s\S]*resource_group: lvsform-\$LVSFORM_STACK\n/);
  });

  it('GitLab: the helper fetches the artifact of the job the pipeline defines', () => {
    const job = /PLAN_JOB = '([^']+)'/.exec(text('examples/ci/gitlab/lvsform-ci.mjs'))?.[1];
    expect(text(FILES[1])).toMatch(new RegExp(`^${job}:`, 'm'));
  });
});
