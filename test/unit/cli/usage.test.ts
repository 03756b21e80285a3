/**
 * Usage errors in one shape: every bad command line (a bad number, an unknown flag, command or choice, a missing value
 * or argument) prints one `Error [LVS_USAGE]: …` line and a hint naming the help of the command it was given to,
 * exits 1, and prints {"error": …} with --json; no usage page, no help with exit 0.
 */
import { InvalidArgumentError, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../cli/main.ts';
import { allCommands, commandPath } from '../../../cli/usage.ts';
import { runCli } from '../bad-input/cli-helpers.ts';

const cases: [string, string[], string, string][] = [
  ['a number below its range', ['plan', '--connect-timeout', '0'], '--connect-timeout takes a whole number from 1 to 3600; got "0"', 'lvsform plan'],
  ['a word for a number', ['plan', '--parallelism', 'abc'], '--parallelism takes a whole number from 1 to 1000; got "abc"', 'lvsform plan'],
  ['a number in exponent notation', ['status', '--interval', '1e3'], '--interval takes a whole number from 1 to 3600; got "1e3"', 'lvsform status'],
  ['a port above 65535', ['import', '--ssh-port', '70000'], '--ssh-port takes a whole number from 1 to 65535; got "70000"', 'lvsform import'],
  ['a short flag nobody has', ['-v'], 'lvsform has no option -v (did you mean -V?)', 'lvsform'],
  ['a misspelt flag', ['plan', '--detailed-exitcod'], 'lvsform plan has no option --detailed-exitcod (did you mean --detailed-exitcode?)', 'lvsform plan'],
  ['an unknown command', ['plna'], 'lvsform has no command "plna" (did you mean plan?)', 'lvsform'],
  ['an unknown command given --help', ['sttaus', 'list', '--help'], 'lvsform has no command "sttaus" (did you mean status?)', 'lvsform'],
  ['an unknown subcommand', ['lab', 'upp'], 'lvsform lab has no command "upp" (did you mean up?)', 'lvsform lab'],
  ['a choice that is not offered', ['init', '--template', 'dr'], '--template takes one of nat, direct-routing, tunnel; got "dr"', 'lvsform init'],
  ['an argument choice that is not offered', ['completion', 'tcsh'], '<shell> takes one of bash, zsh, fish; got "tcsh"', 'lvsform completion'],
  ['a flag without its value', ['plan', '--out'], '--out needs a value: --out <file>', 'lvsform plan'],
  ['a missing argument', ['show'], "lvsform show: missing required argument 'planfile'", 'lvsform show'],
];

describe('a bad command line', () => {
  it.each(cases)('%s: one LVS_USAGE line, a hint naming the help, exit 1', async (_name, argv, message, help) => {
    // GIVEN a bad command line WHEN lvsform runs it
    const res = await runCli(argv);
    // THEN it prints exactly the error and the hint (no usage page, nothing on stdout) and exits 1
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    const hint = help === 'lvsform' ? 'Run `lvsform --help` for the commands and the global flags.' : `Run \`${help} --help\` for its usage and flags.`;
    expect(res.stderr).toBe(`Error [LVS_USAGE]: ${message}\n  ${hint}\n`);
  });

  // (`completion` takes no --json: its case would be an unknown --json.)
  it.each(cases.filter(([, argv]) => argv[0] !== 'completion'))(
    '%s: with --json, the same error as one JSON document on stdout',
    async (_name, argv, message) => {
      // GIVEN the same line with --json (before a flag that lacks its value, so that the flag does not take it)
      const at = argv.at(-1) === '--out' ? argv.length - 1 : argv.length;
      // WHEN lvsform runs it
      const res = await runCli([...argv.slice(0, at), '--json', ...argv.slice(at)]);
      // THEN stdout holds {error: {code, message, hint}} and nothing else
      expect(res.code).toBe(1);
      const doc = JSON.parse(res.stdout) as { error: { code: string; message: string; hint: string } };
      expect(doc.error.code).toBe('LVS_USAGE');
      expect(doc.error.message).toBe(message);
      expect(doc.error.hint).toMatch(/--help/);
    },
  );

  it('an unknown command with --help neither shows the root help nor exits 0', async () => {
    // GIVEN a command lvsform does not have, asked for its help
    // WHEN lvsform runs it
    const res = await runCli(['frobnicate', 'list', '--help']);
    // THEN it is a usage error, not the root help page
    expect(res.code).toBe(1);
    expect(res.stdout).not.toMatch(/Usage:/);
    expect(res.stderr).toMatch(/^Error \[LVS_USAGE\]: lvsform has no command "frobnicate"\n/);
  });

  it('a known command with --help still shows its help and exits 0', async () => {
    // GIVEN a known command WHEN its help is asked for
    const res = await runCli(['-C', '/tmp', 'plan', '--help']);
    // THEN its help is printed and the exit code is 0
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: lvsform plan \[options\]/);
  });
});

/** The options of every command whose value is a number (they say so by a numeric default or their value's name). */
function numericOptions(): [string, Option][] {
  return allCommands(buildProgram()).flatMap((cmd) =>
    cmd.options
      .filter((o) => typeof o.defaultValue === 'number' || /<(n|k|seconds|port|ms)>/.test(o.flags))
      .map((o): [string, Option] => [`${commandPath(cmd)} ${o.long}`, o]),
  );
}

describe('numeric flags', () => {
  it('are found (the list below is not empty)', () => {
    // GIVEN the program WHEN its numeric flags are listed THEN the known ones are among them
    const names = numericOptions().map(([name]) => name);
    expect(names).toEqual(expect.arrayContaining(['lvsform plan --parallelism', 'lvsform status --count', 'lvsform import --ssh-port']));
  });

  it.each(numericOptions())('%s is read by the one whole-number parser', (_name, option) => {
    // GIVEN a numeric flag WHEN given values that are no whole number in decimal digits
    for (const bad of ['abc', '1.5', '1e3', '-1', '0x10', ' 5', '']) {
      // THEN each is refused in the same words
      expect(() => option.parseArg?.(bad, undefined), bad).toThrow(InvalidArgumentError);
      expect(() => option.parseArg?.(bad, undefined), bad).toThrow(/^a whole number from \d+ to \d+$/);
    }
  });
});
