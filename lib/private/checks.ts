import { describe } from './address.ts';

/** Why `value` is not an integer in [min, max], or undefined when it is. `what` names the prop. */
export function intOutOf(what: string, value: unknown, min: number, max: number, hint = ''): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  return `${what} must be an integer ${min}..${max}${hint}; got ${describe(value)}`;
}

/** Characters safe in a shell word and a file name: the rule for director and stack names. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
