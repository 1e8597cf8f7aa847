/**
 * Internal. "Did you mean …?" for a mistyped command or option: the
 * candidate nearest by edit distance (the optimal string alignment distance
 * the unknown-variable warnings use), when it is near enough to be a typo.
 *
 * @module
 */
import { editDistance } from "../lib/_unknown_vars.ts";

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
