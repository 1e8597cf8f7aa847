// The documentation cannot drift from the code it describes: the --json
// schema in docs/cli.md is the source's text, verbatim; the README stays
// within its budget, names every SeedErrorCode and only the scoped npm
// package; docs/architecture.md maps every file of lib/ and cli/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

/** The text strictly between two marker lines of a source file. */
function between(source: string, begin: string, end: string): string {
  const start = source.indexOf(`${begin}\n`);
  const stop = source.indexOf(end);
  assert.ok(start >= 0 && stop > start, `markers ${JSON.stringify(begin)} … ${JSON.stringify(end)} not found in order`);
  return source.slice(start + begin.length + 1, stop);
}

/**
 * An exported interface or type alias with the JSDoc comment right above
 * it, exactly as the source has it.
 */
function declaration(source: string, name: string): string {
  const m = new RegExp(`\\n(/\\*\\*(?:(?!\\*/)[\\s\\S])*\\*/\\n)?export (interface|type) ${name}\\b`).exec(source);
  assert.ok(m !== null, `export ${name} not found`);
  const start = m.index + 1;
  const close = m[2] === "interface" ? "\n}\n" : ";\n";
  const stop = source.indexOf(close, start);
  assert.ok(stop > start, `the end of ${name} not found`);
  return source.slice(start, stop + close.length);
}

const fence = (code: string): string => "```ts\n" + code + "```\n";

function assertQuoted(doc: string, docPath: string, code: string, what: string): void {
  assert.ok(
    doc.includes(fence(code)),
    `${docPath} must show ${what} verbatim, in a \`\`\`ts fence of its own; paste this block:\n${fence(code)}`,
  );
}

test("docs/cli.md shows the --json document type exactly as cli/_json.ts declares it", () => {
  const block = between(read("cli/_json.ts"), "// --- document: begin ---", "// --- document: end ---");
  assert.match(block, /export interface CliJsonDocument \{/);
  assertQuoted(read("docs/cli.md"), "docs/cli.md", block, "the block between the document markers of cli/_json.ts");
});

test("docs/cli.md shows the types the --json document uses exactly as the library declares them", () => {
  const doc = read("docs/cli.md");
  const sources: Record<string, string[]> = {
    "lib/report.ts": ["PlanAction", "PlanEntry", "PlanCounts", "SeedWarning", "SeedTimings", "AuditFailure"],
    "lib/errors.ts": ["DriftField", "ProviderDrift", "LockHolder"],
    "lib/logger.ts": ["LogFields"],
    "lib/encryption.ts": [
      "EncryptionRewrite",
      "KeyNotRevoked",
      "EncryptionStatus",
      "KeyIdValues",
      "DbcryptKeyState",
      "MissingEncryptionKey",
    ],
    "lib/adopt.ts": ["AdoptResult", "AdoptEntry", "AdoptAction"],
    "lib/restore.ts": ["RestoreResult", "RestoreEntry"],
  };
  for (const [path, names] of Object.entries(sources)) {
    const source = read(path);
    for (const name of names) assertQuoted(doc, "docs/cli.md", declaration(source, name), `${name} (${path})`);
  }
});

test("the README stays within 12 KB and links the documents it moved out", () => {
  const readme = read("README.md");
  const bytes = new TextEncoder().encode(readme).length;
  assert.ok(bytes <= 12 * 1024, `README.md is ${bytes} bytes; at most ${12 * 1024}: move detail to docs/`);
  for (const link of ["docs/cli.md", "docs/behaviour.md", "docs/architecture.md", "docs/benchmarks.md", "CONTRIBUTING.md"]) {
    assert.ok(readme.includes(`](${link})`), `README.md links ${link}`);
  }
});

test("the README's error table lists every SeedErrorCode", () => {
  const source = read("lib/errors.ts");
  const union = /export type SeedErrorCode =([^;]+);/.exec(source);
  assert.ok(union !== null, "SeedErrorCode not found in lib/errors.ts");
  const codes = [...union[1].matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length > 0);
  const readme = read("README.md");
  const missing = codes.filter((code) => !new RegExp(`^\\| \`${code}\` +\\|`, "m").test(readme));
  assert.deepEqual(missing, [], `README.md's error table lacks a row for: ${missing.join(", ")}`);
});

test("no document tells users to run the unscoped aibridge-seed package from a registry", () => {
  for (const path of ["README.md", "CONTRIBUTING.md", "docs/cli.md"]) {
    const text = read(path);
    const unscoped = text.split("\n").filter((line) =>
      /\b(npx|bunx|bun x|npm exec|pnpm dlx|yarn dlx)\s+(--\S+\s+)*aibridge-seed\b/.test(line)
    );
    assert.deepEqual(unscoped, [], `${path}: use the package's name, @aibridge/seed`);
  }
});

test("docs/architecture.md maps every file of lib/ and cli/", () => {
  const doc = read("docs/architecture.md");
  const files = ["lib", "cli"].flatMap((dir) =>
    readdirSync(new URL(`../${dir}/`, import.meta.url)).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`)
  );
  files.push("mod.ts");
  const missing = files.filter((f) => !doc.includes(`\`${f}\``)).sort();
  assert.deepEqual(missing, [], `docs/architecture.md has no line for: ${missing.join(", ")}`);
});
