/**
 * Usage errors in one shape. Commander reports a bad command line in several voices (its own sentence plus the whole
 * usage, a help page with exit 0 for an unknown command given `--help`); every one of them becomes one LvsError
 * `LVS_USAGE` naming the flag, the value and, for a misspelt name, the nearest known one, with a hint that names the
 * help of the command it was given to. main.ts prints it as it prints every other error (and as JSON with --json).
 */
import type { Command, CommanderError, Option } from 'commander';
import { closest } from '../providers/ipvs/model/closest.ts';
import { LvsError } from '../providers/ipvs/model/errors.ts';

/** `lvsform lab up`: the words that name `cmd` on the command line. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** The options `cmd` accepts: its own and, as commander reads them anywhere on the line, the root's. */
export function optionsOf(cmd: Command): Option[] {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root === cmd ? [...cmd.options] : [...cmd.options, ...root.options];
}

function flagsOf(option: Option): string[] {
  return [option.short, option.long].filter((f): f is string => typeof f === 'string');
}

function helpHint(cmd: Command): string {
  return cmd.commands.length > 0 && !cmd.parent
    ? 'Run `lvsform --help` for the commands and the global flags.'
    : `Run \`${commandPath(cmd)} --help\` for its usage and flags.`;
}

function nearCommand(cmd: Command, name: string): string {
  const near = closest(
    name,
    visibleCommands(cmd).flatMap((c) => [c.name(), ...c.aliases()]),
  );
  return near ? ` (did you mean ${near}?)` : '';
}

/** The subcommands `--help` lists (a hidden one, the lab outside a clone, is neither suggested nor completed). */
export function visibleCommands(cmd: Command): Command[] {
  const help = cmd.createHelp();
  return help.visibleCommands(cmd).filter((c) => c.name() !== 'help');
}

/** The usage error for an unknown command `name` given to `cmd`. */
export function unknownCommand(cmd: Command, name: string): LvsError {
  return new LvsError('LVS_USAGE', `${commandPath(cmd)} has no command "${name}"${nearCommand(cmd, name)}`, { hint: helpHint(cmd) });
}

/** Commander's sentence for `err`, raised while parsing `cmd`'s part of the line, as one LVS_USAGE error. */
export function usageError(cmd: Command, err: CommanderError): LvsError {
  const text = err.message.replace(/^error: /, '').trim();
  const hint = { hint: helpHint(cmd) };
  // "option '--connect-timeout <seconds>' argument '0' is invalid. a whole number from 1 to 3600"
  const invalid =
    /^option '(\S+)[^']*' argument '(.*)' is invalid\. (.*)$/s.exec(text) ??
    /^command-argument value '(.*)' is invalid for argument '(\S+)'\. (.*)$/s.exec(text);
  if (invalid) {
    const [flag, value] = err.code === 'commander.invalidArgument' && text.startsWith('option') ? [invalid[1], invalid[2]] : [`<${invalid[2]}>`, invalid[1]];
    return new LvsError('LVS_USAGE', `${flag} takes ${takes(invalid[3] ?? '')}; got "${value}"`, hint);
  }
  const unknownOption = /^unknown option '(.*)'/.exec(text);
  if (unknownOption) {
    const given = unknownOption[1] ?? '';
    const near = closest(given.split('=')[0] ?? given, optionsOf(cmd).flatMap(flagsOf));
    return new LvsError('LVS_USAGE', `${commandPath(cmd)} has no option ${given}${near ? ` (did you mean ${near}?)` : ''}`, hint);
  }
  const unknown = /^unknown command '(.*)'/.exec(text);
  if (unknown) return unknownCommand(cmd, unknown[1] ?? '');
  const missingValue = /^option '(\S+) ([^']*)' argument missing/.exec(text);
  if (missingValue) return new LvsError('LVS_USAGE', `${missingValue[1]} needs a value: ${missingValue[1]} ${missingValue[2]}`, hint);
  return new LvsError('LVS_USAGE', `${commandPath(cmd)}: ${text.replace(/\n[\s\S]*$/, '')}`, hint);
}

/** The parser's "what it takes" in one voice: commander's choices sentence becomes "one of a, b". */
function takes(reason: string): string {
  const choices = /^Allowed choices are (.*)\.$/.exec(reason.trim());
  return choices ? `one of ${choices[1]}` : reason.trim();
}

/**
 * The command words of `args` (argv after node and the script) checked before commander parses them: commander shows
 * the root help, exit 0, for `lvsform state list --help` when there is no `state`, so an unknown command would pass
 * for a known one in a script. Walks the command tree as commander does (skipping options and their values) and
 * throws the usage error at the first word that names no command.
 */
export function checkCommandWords(program: Command, args: readonly string[]): void {
  let cmd = program;
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? '';
    if (word === '--') return;
    if (word.startsWith('-') && word !== '-') {
      const option = optionsOf(cmd).find((o) => flagsOf(o).includes(word));
      if (option && (option.required || option.optional) && !word.includes('=')) i++;
      continue;
    }
    if (cmd.commands.length === 0) return;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) {
      if (word === 'help') return;
      throw unknownCommand(cmd, word);
    }
    cmd = sub;
  }
}

/** Every command under `program`, itself included (for settings that commander copies only at creation). */
export function allCommands(program: Command): Command[] {
  return [program, ...program.commands.flatMap(allCommands)];
}
