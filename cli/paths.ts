/**
 * `-C DIR` and the paths the command line takes. Every option and argument that names a file or directory is declared
 * with pathOption or pathArgument, and one hook (resolvePaths, run before every action) resolves each relative one
 * against `-C DIR`, once; so `lvsform -C proj plan --out web.plan` saves proj/web.plan, as `git -C` and `make -C` read
 * their paths. Without `-C`, paths are left as typed (relative to the working directory).
 */
import { isAbsolute, resolve } from 'node:path';
import { Argument, type Command, Option } from 'commander';
import { LvsError } from '../providers/ipvs/model/errors.ts';

const pathOptions = new WeakSet<Option>();
const pathArguments = new WeakSet<Argument>();
/** Path options where `-` means standard input (left as it is, never resolved against `-C`). */
const stdinOptions = new WeakSet<Option>();

/** An option whose value is a path (resolved against `-C`); `stdin`: `-` names standard input. */
export function pathOption(flags: string, description: string, how: { stdin?: boolean } = {}): Option {
  const option = new Option(flags, description);
  pathOptions.add(option);
  if (how.stdin) stdinOptions.add(option);
  return option;
}

/** An argument that is a path (resolved against `-C`). */
export function pathArgument(name: string, description: string): Argument {
  const argument = new Argument(name, description);
  pathArguments.add(argument);
  return argument;
}

/** The working directory, or one clear error when it is gone (a shell left in a deleted directory). */
export function workingDirectory(): string {
  try {
    return process.cwd();
  } catch (e) {
    throw new LvsError('LVS_NO_WORKING_DIR', 'the directory lvsform was started in no longer exists (it was deleted or moved)', {
      cause: e,
      hint: 'cd to the project directory again, or pass -C with an absolute path.',
    });
  }
}

/** `path` as shown to a person: relative to the working directory when it is below it, else as it is. */
export function shownPath(path: string): string {
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    return path;
  }
  if (path === cwd) return '.';
  return path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

/**
 * The preAction hook: sets `-C` to the absolute project directory (the working directory when not given), and
 * resolves every relative path option and argument of `action` against it when `-C` was given.
 */
export function resolvePaths(program: Command, action: Command): void {
  const given = program.getOptionValue('dir') as string | undefined;
  if (given === '') throw new LvsError('LVS_USAGE', '-C (--dir) needs a directory; got an empty string');
  const base = given !== undefined && isAbsolute(given) ? resolve(given) : resolve(workingDirectory(), given ?? '.');
  program.setOptionValue('dir', base);
  if (given === undefined) return;
  const against = (value: unknown): unknown => (typeof value === 'string' && value !== '' && !isAbsolute(value) ? resolve(base, value) : value);
  for (const option of action.options) {
    if (!pathOptions.has(option)) continue;
    const key = option.attributeName();
    const value = action.getOptionValue(key);
    if (value !== undefined && !(value === '-' && stdinOptions.has(option))) action.setOptionValue(key, against(value));
  }
  action.registeredArguments.forEach((argument, i) => {
    if (pathArguments.has(argument) && i < action.processedArgs.length) action.processedArgs[i] = against(action.processedArgs[i]);
  });
}
