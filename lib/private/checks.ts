import { describe } from './address.ts';

/** Why `value` is not an integer in [min, max], or undefined when it is. `what` names the prop. */
export function intOutOf(what: string, value: unknown, min: number, max: number, hint = ''): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  return `${what} must be an integer ${min}..${max}${hint}; got ${describe(value)}`;
}

export { SAFE_NAME } from './limits.ts';
