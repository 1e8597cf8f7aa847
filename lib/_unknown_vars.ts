/**
 * Internal. Finds the variables a typo kept from being read: names under
 * the provider prefixes that the reader does not know, and names whose
 * prefix is a near miss (`CODER_AIBRIGDE_…`, `CODER_AI_GATEWAYPROVIDER_…`,
 * `coder_aibridge_…`), each with a "did you mean" when a known name is
 * close. Only names are ever looked at and reported, never values: a
 * value may be a secret.
 *
 * @module
 */
import type { EnvRecord } from "./runtime_env.ts";

/** The warning for a variable under a prefix that nothing reads. */
export const UNKNOWN_VARIABLE_MESSAGE = "ignoring unknown AI provider variable (check for typos)";
/** The warning for a variable whose prefix is a near miss of a provider prefix. */
export const MISSPELLED_PREFIX_MESSAGE = "ignoring variable with a misspelled AI provider prefix (check for typos)";
/** The warning for an indexed provider field that nothing reads. */
export const UNKNOWN_FIELD_MESSAGE = "ignoring unknown AI provider field (check for typos)";

/** The names the reader knows, as it spells them (upper case). */
export interface KnownNames {
  /** The legacy single-provider suffixes, e.g. `OPENAI_KEY`. */
  legacySuffixes: readonly string[];
  /** The indexed fields, e.g. `TYPE`, `KEYS`. */
  fields: ReadonlySet<string>;
  /** The suffix of a variable's file twin, `_FILE`. */
  fileSuffix: string;
}

/** One variable the reader ignores, and the name it probably meant. */
export interface IgnoredVariable {
  /** {@link UNKNOWN_VARIABLE_MESSAGE} or {@link MISSPELLED_PREFIX_MESSAGE}. */
  msg: string;
  /** The variable's name, as set. */
  env: string;
  /** The known name closest to it, when one is close enough. */
  suggestion?: string;
}

// The Coder server's own settings under the same prefixes (its AI Gateway
// and AI Gateway Proxy options, CODER_AIBRIDGE_ENABLED and friends, each
// also under CODER_AI_GATEWAY_). The seed does not read them, but they are
// not typos: the seed usually runs with the server's environment.
const CODER_SERVER_SUFFIXES: readonly string[] = [
  "ENABLED",
  "INJECT_CODER_MCP_TOOLS",
  "RETENTION",
  "MAX_CONCURRENCY",
  "RATE_LIMIT",
  "STRUCTURED_LOGGING",
  "SEND_ACTOR_HEADERS",
  "ALLOW_BYOK",
  "CIRCUIT_BREAKER_ENABLED",
  "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
  "CIRCUIT_BREAKER_INTERVAL",
  "CIRCUIT_BREAKER_TIMEOUT",
  "CIRCUIT_BREAKER_MAX_REQUESTS",
  "PROXY_ENABLED",
  "PROXY_LISTEN_ADDR",
  "PROXY_TLS_CERT_FILE",
  "PROXY_TLS_KEY_FILE",
  "PROXY_CERT_FILE",
  "PROXY_KEY_FILE",
  "PROXY_UPSTREAM",
  "PROXY_UPSTREAM_CA",
  "PROXY_ALLOWED_PRIVATE_CIDRS",
  "PROXY_DUMP_DIR",
  "PROXY_DOMAIN_ALLOWLIST",
];
const CODER_SERVER_PREFIXES: readonly string[] = ["CODER_AIBRIDGE_", "CODER_AI_GATEWAY_"];

/**
 * The edit distance of `a` and `b` counting insertions, deletions,
 * substitutions and swaps of two neighbouring characters as one edit each
 * (Damerau-Levenshtein, optimal string alignment): `KYE` → `KEY` is 1,
 * `AIBRIGDE` → `AIBRIDGE` is 1, a dropped `_` is 1.
 */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: the distance of a's first i characters and b's first j.
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}

// How many edits still count as a typo of a name this long: one for a
// short name (TYPE, KEY), two from 5 characters, three from 13. More
// would suggest unrelated names.
function allowedEdits(length: number): number {
  return length <= 4 ? 1 : length <= 12 ? 2 : 3;
}

/** The candidate closest to `name` (compared in upper case), when within the allowed edits. */
function closest(name: string, candidates: Iterable<string>): { name: string; distance: number } | null {
  const upper = name.toUpperCase();
  let best: { name: string; distance: number } | null = null;
  for (const candidate of candidates) {
    const distance = editDistance(upper, candidate);
    if (distance <= allowedEdits(candidate.length) && (best === null || distance < best.distance)) best = { name: candidate, distance };
  }
  return best;
}

/**
 * The suggestion for an unknown indexed field, e.g. `TYPO` → `TYPE`,
 * `BASE_UR` → `BASE_URL`, `KEYS_FIEL` → `KEYS_FILE`.
 *
 * @param field The field as written after `PROVIDER_<N>_`, upper-cased.
 * @param known The fields the reader knows.
 * @returns The closest known field (or its `_FILE` twin), or `undefined`.
 */
export function closestField(field: string, known: KnownNames): string | undefined {
  return closest(field, fieldNames(known))?.name;
}

function fieldNames(known: KnownNames): string[] {
  return [...known.fields].flatMap((f) => [f, f + known.fileSuffix]);
}

/** Every name the reader knows after a prefix, with the index a misspelled indexed name carries. */
function suffixNames(rest: string, prefix: string, known: KnownNames): string[] {
  const names = known.legacySuffixes.flatMap((s) => [s, s + known.fileSuffix]);
  const index = /[0-9]+/.exec(rest)?.[0] ?? "0";
  names.push(...fieldNames(known).map((f) => `PROVIDER_${index}_${f}`));
  if (CODER_SERVER_PREFIXES.includes(prefix)) names.push(...CODER_SERVER_SUFFIXES);
  return names;
}

/** Whether the reader (or the Coder server, under its own prefixes) reads `rest` after `prefix`. */
function isKnownSuffix(rest: string, prefix: string, known: KnownNames): boolean {
  if (rest.startsWith("PROVIDER_")) return true; // the indexed reader checks these itself
  const plain = rest.endsWith(known.fileSuffix) ? rest.slice(0, -known.fileSuffix.length) : rest;
  if (known.legacySuffixes.includes(plain)) return true;
  return CODER_SERVER_PREFIXES.includes(prefix) && CODER_SERVER_SUFFIXES.includes(rest);
}

// How far a name's head may be from a prefix and still be taken for a
// misspelling of it: two edits for a prefix of 12 characters or more
// (CODER_AIBRIDGE_ has 15), one from 8, and only a difference of case
// below that, where one edit turns one short word into another.
function prefixEdits(prefix: string): number {
  return prefix.length >= 12 ? 2 : prefix.length >= 8 ? 1 : 0;
}

/**
 * The name `name` probably meant when its head is a near miss of one of
 * `prefixes`: every split of `name` whose head is within
 * {@link prefixEdits} of a prefix, ranked by the edits in the head plus how
 * well the rest names a known variable (0 known, 1 close, 2 not).
 */
function misspelledPrefix(name: string, prefixes: readonly string[], known: KnownNames): string | null {
  const upper = name.toUpperCase();
  let best: { score: number; offset: number; suggestion: string } | null = null;
  for (const prefix of prefixes) {
    const max = prefixEdits(prefix);
    for (let length = prefix.length - max; length <= prefix.length + max; length++) {
      if (length <= 0 || length >= upper.length) continue;
      const edits = editDistance(upper.slice(0, length), prefix);
      if (edits > max) continue;
      const rest = upper.slice(length);
      let fixed = rest;
      let restScore = 0;
      if (!isKnownSuffix(rest, prefix, known)) {
        const near = closest(rest, suffixNames(rest, prefix, known));
        restScore = near === null ? 2 : 1;
        if (near !== null) fixed = near.name;
      }
      const score = edits + restScore;
      const offset = Math.abs(length - prefix.length);
      if (best === null || score < best.score || (score === best.score && offset < best.offset)) {
        best = { score, offset, suggestion: prefix + fixed };
      }
    }
  }
  return best?.suggestion ?? null;
}

/**
 * Every variable set (to a non-empty value) that the reader ignores
 * because of a typo, in name order:
 *
 * - a name under one of `prefixes` that is neither a legacy variable (or
 *   its `_FILE` twin), nor an indexed `PROVIDER_` one (the indexed reader
 *   checks those, field by field), nor, under the default prefixes, one of
 *   the Coder server's own settings such as `CODER_AIBRIDGE_ENABLED`;
 * - a name whose head is a near miss of a prefix: a swap, a missing or
 *   extra character, a difference of case (`coder_aibridge_openai_key`).
 *
 * Any other name (`CODER_URL`, `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`,
 * `PATH`) is not looked at.
 *
 * @param env The environment.
 * @param prefixes The provider prefixes, original first.
 * @param known The names the reader knows.
 * @returns One entry per ignored variable: the message, the name, and the suggestion when one is close.
 */
export function ignoredVariables(env: EnvRecord, prefixes: readonly string[], known: KnownNames): IgnoredVariable[] {
  const out: IgnoredVariable[] = [];
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix !== undefined) {
      const rest = name.slice(prefix.length);
      if (isKnownSuffix(rest, prefix, known)) continue;
      const near = closest(rest, suffixNames(rest, prefix, known));
      out.push({ msg: UNKNOWN_VARIABLE_MESSAGE, env: name, ...(near === null ? {} : { suggestion: prefix + near.name }) });
      continue;
    }
    const suggestion = misspelledPrefix(name, prefixes, known);
    if (suggestion !== null) out.push({ msg: MISSPELLED_PREFIX_MESSAGE, env: name, suggestion });
  }
  return out;
}

/**
 * The problem line a warning about an ignored variable or field becomes
 * under `strict`, e.g. `unknown AI provider variable
 * CODER_AIBRIDGE_OPENAI_KYE (did you mean CODER_AIBRIDGE_OPENAI_KEY?)`.
 */
export function ignoredProblem(msg: string, env: string, suggestion: string | undefined): string {
  const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
  if (msg === MISSPELLED_PREFIX_MESSAGE) return `${env} has a misspelled AI provider prefix${hint}`;
  const what = msg === UNKNOWN_FIELD_MESSAGE ? "unknown AI provider field" : "unknown AI provider variable";
  return `${what} ${env}${hint}`;
}
