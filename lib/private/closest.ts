/**
 * "Did you mean": the known name nearest to a misspelt one. Pure, without imports: this file exists twice, byte for
 * byte, as providers/ipvs/model/closest.ts and lib/private/closest.ts (the construct library never imports the
 * provider), and a unit test holds the two copies equal, so a change is made in one and copied.
 */

/**
 * The known name nearest to `name` (case aside), when it is near enough: an edit distance of at most 2, or of a third of
 * the known name's length for longer names. Undefined when none is.
 */
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

/** Levenshtein distance: insertions, deletions and substitutions, one row at a time. */
export function editDistance(a: string, b: string): number {
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
