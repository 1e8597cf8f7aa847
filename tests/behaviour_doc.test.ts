// docs/behaviour.md cannot drift from the suite: every test it cites, as
// `file` › "name", is a test of that file (a name of a test written with a
// template literal may be cited as its template or as one of its names).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

/** A JavaScript string literal's body, its escapes resolved. */
function unescapeJs(body: string): string {
  return body.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\s\S])/g, (_all, e: string) => {
    if (e.startsWith("u{")) return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
    if (e[0] === "u" && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (e[0] === "x" && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", "0": "\0" } as Record<string, string>)[e] ?? e;
  });
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The tests a file declares: exact names, and templates (with their `${…}` parts). */
function testNames(source: string): { exact: Set<string>; templates: { text: string; pattern: RegExp }[] } {
  const exact = new Set<string>();
  const templates: { text: string; pattern: RegExp }[] = [];
  const literal = /\btest\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`)/g;
  for (const m of source.matchAll(literal)) {
    if (m[3] === undefined) {
      exact.add(unescapeJs(m[1] ?? m[2]));
      continue;
    }
    const parts = m[3].split(/(\$\{[^}]*\})/);
    const text = parts.map((p, i) => (i % 2 === 1 ? p : unescapeJs(p))).join("");
    const pattern = new RegExp(`^${parts.map((p, i) => (i % 2 === 1 ? ".+" : escapeRegExp(unescapeJs(p)))).join("")}$`, "s");
    templates.push({ text, pattern });
  }
  return { exact, templates };
}

/**
 * Every `file` › "name" the page cites, with Markdown's backslash escapes
 * resolved and the line breaks `deno fmt` wraps prose at read as spaces.
 */
function citations(doc: string): { file: string; name: string }[] {
  return [...doc.matchAll(/`([a-z_]+\.test\.ts)`\s+›\s+"((?:[^"\\]|\\.)*)"/g)].map((m) => ({
    file: m[1],
    name: m[2].replace(/\s+/g, " ").replace(/\\([\\`*_{}[\]()#+\-.!"'])/g, "$1"),
  }));
}

test("docs/behaviour.md cites only tests that exist, by file and exact name", () => {
  const doc = read("docs/behaviour.md");
  const cited = citations(doc);
  assert.ok(cited.length >= 60, `only ${cited.length} citations found: is the › "…" form still used?`);
  const byFile = new Map<string, ReturnType<typeof testNames>>();
  const missing: string[] = [];
  for (const { file, name } of cited) {
    if (!byFile.has(file)) {
      let source: string;
      try {
        source = read(`tests/${file}`);
      } catch {
        missing.push(`${file} (no such file)`);
        continue;
      }
      byFile.set(file, testNames(source));
    }
    const names = byFile.get(file)!;
    const found = names.exact.has(name) || names.templates.some((t) => t.text === name || t.pattern.test(name));
    if (!found) missing.push(`${file} › ${JSON.stringify(name)}`);
  }
  assert.deepEqual(missing, [], `docs/behaviour.md cites tests that do not exist (renamed?):\n${missing.join("\n")}`);
});

test("no test file cites the external specification's sections; they cite docs/behaviour.md", () => {
  for (const file of ["seed.test.ts", "seed_concurrency.test.ts", "schema.test.ts", "runtime_env.test.ts", "mask_secret.test.ts"]) {
    assert.doesNotMatch(read(`tests/${file}`), /SPEC section/, file);
  }
});

test("the citation reader resolves escapes the way the test runner names tests", () => {
  const names = testNames(
    String.raw`test("a \\u0026 b", () => {}); test('say \\" hi', () => {}); test(` + "`n ${x} of ${y}`" + ", () => {});",
  );
  assert.deepEqual([...names.exact], [String.raw`a \u0026 b`, String.raw`say \" hi`]);
  assert.equal(names.templates[0].text, "n ${x} of ${y}");
  assert.ok(names.templates[0].pattern.test("n 3 of 4"));
  const page = [
    "`x.test.ts` › " + String.raw`"say \\\" hi"`,
    "and `y.test.ts` ›",
    "  " + String.raw`"a \"q\"`,
    '  wrapped"',
  ].join("\n");
  assert.deepEqual(citations(page), [
    { file: "x.test.ts", name: String.raw`say \" hi` },
    { file: "y.test.ts", name: 'a "q" wrapped' },
  ]);
});
