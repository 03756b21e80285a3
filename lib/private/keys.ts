import { describe } from './address.ts';
import { closest } from './closest.ts';

/**
 * Refuses props keys the construct does not know. Apps run by tsx are not type-checked, so a misspelt prop
 * (`persistance`, `pool`) would otherwise be dropped without a word and the service synthesized without it.
 * Returns what is wrong (with a "did you mean"), or undefined when every key is known.
 */
export function unknownKey(what: string, value: object, known: readonly string[]): string | undefined {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    return `${what} has no prop ${describe(key)}${near ? ` (did you mean ${near}?)` : ''}; it takes ${known.join(', ')}`;
  }
  return undefined;
}

/** Why `value` is not a props object (null, an array, a number…), or undefined when it is one. */
export function notAnObject(what: string, value: unknown, example: string): string | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return undefined;
  return `${what} must be an object like ${example}; got ${Array.isArray(value) ? 'an array' : describe(value)}`;
}
