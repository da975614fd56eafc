/** Typo help for fix messages: how far two words are apart, and the known word closest to a typo. */

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

/** The known value closest to `value` (the first of equals, in the order given). */
export function nearest(value: string, known: readonly string[]): string {
  return [...known].sort((x, y) => editDistance(value, x) - editDistance(value, y))[0];
}
