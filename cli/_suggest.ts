/**
 * Internal. "Did you mean …?" for a mistyped command or option: the
 * candidate nearest by edit distance, when it is near enough to be a typo.
 *
 * @module
 */

/**
 * The optimal string alignment distance between `a` and `b`: insertions,
 * deletions, substitutions and transpositions of adjacent characters, each
 * counting 1 (`aplly` → `apply` is 1, `aplpy` → `apply` is 1).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate `word` was most likely meant as, or `undefined`: the nearest
 * one within a third of the word's length (at least 1, at most 3 edits), or
 * else the only candidate `word` is a prefix of (3 characters or more). Ties
 * go to the earlier candidate.
 *
 * @param word What was typed, e.g. `aply` or `--databse-url`.
 * @param candidates What it could have been, in order of preference.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.replace(/^-+/, "").length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(word, c);
    if (distance < bestDistance) [best, bestDistance] = [c, distance];
  }
  if (best !== undefined && bestDistance <= limit) return best;
  const bare = word.replace(/^-+/, "");
  const prefixed = bare.length >= 3 ? candidates.filter((c) => c.replace(/^-+/, "").startsWith(bare) && c.startsWith(word)) : [];
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** ` (did you mean "x"?)` for `suggest(word, candidates)` (an option unquoted), or the empty string. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggest(word, candidates);
  return s === undefined ? "" : ` (did you mean ${s.startsWith("-") ? s : JSON.stringify(s)}?)`;
}
