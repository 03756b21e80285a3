import { describe } from './address.ts';

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

/** The known name nearest to `name` (a small edit distance), for "did you mean". */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
