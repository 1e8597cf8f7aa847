/**
 * A small dotenv reader for `--env-file` and the demo: `KEY=value` lines,
 * `#` comments, optional `export `, single or double quotes (double quotes
 * understand `\n`). No variable expansion.
 *
 * @module
 */

/**
 * Parses dotenv text into a record. Lines that are not assignments are
 * ignored.
 *
 * @example
 * ```ts
 * import { parseDotenv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseDotenv('A=1\n# note\nexport B="two words"\nC=3 # trailing comment'), { A: "1", B: "two words", C: "3" });
 * ```
 *
 * @param text The file's content.
 * @returns The variables, in file order (a later line wins).
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) continue;
    let value = m[2];
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.lastIndexOf(quote) > 0) {
      value = value.slice(1, value.lastIndexOf(quote));
      if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    out[m[1]] = value;
  }
  return out;
}
