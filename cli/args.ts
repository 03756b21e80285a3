import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseUint } from '../providers/ipvs/model/canonical.ts';
import { LvsError } from '../providers/ipvs/model/errors.ts';

/**
 * The one parser of every numeric flag: a whole number from `min` to `max`, written in decimal digits only (so `1e3`,
 * `0x10`, ` 5` and `-1` are refused rather than read as something else). The message says what is taken; the CLI
 * adds the flag and the value given (usage.ts), so every numeric flag fails in the same words.
 */
export function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = parseUint(value, min, max);
    if (n === undefined) throw new InvalidArgumentError(`a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Collects a repeatable option's values: `--director lb1 --director lb2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `--director NAME`, repeatable. Not variadic: a variadic option would swallow the argument after it, so that
 * `apply --director lb1 web.plan` took the plan file for a director name.
 */
export function directorOption(): Option {
  return new Option('--director <name>', 'only this director (repeat for several: --director lb1 --director lb2)').argParser(collect);
}

/** `--connect-timeout SECONDS`: how long to wait for each director's SSH connection (OpenSSH ConnectTimeout). */
export function connectTimeoutOption(): Option {
  return new Option('--connect-timeout <seconds>', "seconds to wait for each director's SSH connection").default(10).argParser(intArg(1, 3600));
}

/**
 * Whether this run is read-only: the global `--read-only`, or `LVSFORM_READ_ONLY=1` (so a pull-request pipeline sets
 * it once for every step). Any other value of the variable is refused rather than guessed.
 */
export function readOnlyMode(program: Command): boolean {
  const env = process.env.LVSFORM_READ_ONLY;
  if (env !== undefined && !['', '0', '1'].includes(env)) {
    throw new LvsError('LVS_USAGE', `LVSFORM_READ_ONLY must be 1 (read-only) or 0 (not); got ${JSON.stringify(env)}`);
  }
  return Boolean(program.opts<{ readOnly?: boolean }>().readOnly) || env === '1';
}
