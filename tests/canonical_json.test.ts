import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { canonicalJSON, computeProviderHash } from "../mod.ts";

// Expected outputs below are what Go's json.Marshal writes for
//   struct{ Type string `json:"type"`; BaseURL string `json:"base_url"`; BedrockRegion string `json:"bedrock_region"` }
// written out literally (String.raw keeps every backslash as one byte).

function withBaseURL(baseURL: string): string {
  return canonicalJSON({ type: "openai", baseURL, bedrockRegion: "" });
}

function utf8Hex(s: string): string {
  return Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, "0")).join("");
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

// Lone surrogates replaced by U+FFFD, as UTF-8 encoding (and canonicalJSON) does.
function toWellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

// --- layout --------------------------------------------------------------------

test("canonicalJSON writes type, base_url, bedrock_region in that order, no spaces", () => {
  assert.equal(
    canonicalJSON({ type: "openai", baseURL: "https://api.openai.com/v1/", bedrockRegion: "" }),
    String.raw`{"type":"openai","base_url":"https://api.openai.com/v1/","bedrock_region":""}`,
  );
});

test("canonicalJSON key order does not depend on the input object's key order", () => {
  assert.equal(
    canonicalJSON({ bedrockRegion: "us-east-1", baseURL: "https://b.example", type: "anthropic" }),
    String.raw`{"type":"anthropic","base_url":"https://b.example","bedrock_region":"us-east-1"}`,
  );
});

test("canonicalJSON writes empty strings as empty strings", () => {
  assert.equal(
    canonicalJSON({ type: "", baseURL: "", bedrockRegion: "" }),
    String.raw`{"type":"","base_url":"","bedrock_region":""}`,
  );
});

test("canonicalJSON does not escape '/' (Go does not)", () => {
  assert.equal(withBaseURL("a/b"), String.raw`{"type":"openai","base_url":"a/b","bedrock_region":""}`);
});

// --- Go's HTML-safe escapes ----------------------------------------------------

test("canonicalJSON escapes & < > as \\u0026 \\u003c \\u003e", () => {
  assert.equal(
    withBaseURL("https://x/?a=1&b=<2>"),
    String.raw`{"type":"openai","base_url":"https://x/?a=1\u0026b=\u003c2\u003e","bedrock_region":""}`,
  );
});

test("canonicalJSON escapes U+2028 and U+2029 as \\u2028 and \\u2029", () => {
  assert.equal(
    withBaseURL("x\u2028y\u2029z"),
    String.raw`{"type":"openai","base_url":"x\u2028y\u2029z","bedrock_region":""}`,
  );
});

test("canonicalJSON escapes special characters in every field, not only base_url", () => {
  assert.equal(
    canonicalJSON({ type: "a<b", baseURL: "c>d", bedrockRegion: "e&f\u2029" }),
    String.raw`{"type":"a\u003cb","base_url":"c\u003ed","bedrock_region":"e\u0026f\u2029"}`,
  );
});

// --- quotes, backslashes, control characters -----------------------------------

test("canonicalJSON escapes double quotes and backslashes", () => {
  assert.equal(
    withBaseURL('say "hi" \\ back\\slash'),
    String.raw`{"type":"openai","base_url":"say \"hi\" \\ back\\slash","bedrock_region":""}`,
  );
});

test("canonicalJSON writes \\n \\r \\t \\b \\f in their short form", () => {
  assert.equal(
    withBaseURL("1\n2\r3\t4\b5\f6"),
    String.raw`{"type":"openai","base_url":"1\n2\r3\t4\b5\f6","bedrock_region":""}`,
  );
});

test("canonicalJSON writes other control characters as \\u00xx with lower-case hex", () => {
  assert.equal(
    withBaseURL("\u0000\u0001\u000b\u000e\u001b\u001f"),
    String.raw`{"type":"openai","base_url":"\u0000\u0001\u000b\u000e\u001b\u001f","bedrock_region":""}`,
  );
});

test("canonicalJSON writes DEL (0x7f) raw, as one byte", () => {
  const out = withBaseURL("a\u007fb");
  assert.equal(out, '{"type":"openai","base_url":"a\u007fb","bedrock_region":""}');
  assert.ok(!out.includes("\\u007f"));
  assert.ok(utf8Hex(out).includes("617f62"));
});

// --- non-ASCII -----------------------------------------------------------------

test("canonicalJSON writes accented and CJK text raw", () => {
  assert.equal(withBaseURL("https://例え.jp/é日本"), '{"type":"openai","base_url":"https://例え.jp/é日本","bedrock_region":""}');
});

test("canonicalJSON writes an emoji (a valid surrogate pair) raw", () => {
  assert.equal(withBaseURL("\uD83C\uDF0D"), '{"type":"openai","base_url":"🌍","bedrock_region":""}');
});

test("canonicalJSON writes U+FFFD raw", () => {
  assert.equal(withBaseURL("\uFFFD"), '{"type":"openai","base_url":"\uFFFD","bedrock_region":""}');
});

test("canonicalJSON UTF-8 bytes for é 日本 🌍 DEL are exactly Go's bytes", () => {
  // printf '{"type":"openai","base_url":"\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x8c\x8d\x7f","bedrock_region":""}' | xxd -p
  assert.equal(
    utf8Hex(withBaseURL("é日本🌍\u007f")),
    "7b2274797065223a226f70656e6169222c22626173655f75726c223a22c3a9e697a5e69cacf09f8c8d7f222c22626564726f636b5f726567696f6e223a22227d",
  );
});

// --- lone surrogates -----------------------------------------------------------
// A JavaScript string reaches Postgres (and Go) as UTF-8, where a lone
// surrogate has already become U+FFFD; Go then writes that valid character
// raw. So canonicalJSON writes U+FFFD itself, never the escape \ufffd:
// a provider must compare equal to its own stored row.

test("canonicalJSON writes a lone surrogate as U+FFFD itself, not as the escape \\ufffd", () => {
  const out = withBaseURL("https://x/\uD800");
  assert.equal(out, '{"type":"openai","base_url":"https://x/\uFFFD","bedrock_region":""}');
  assert.ok(!out.includes("\\ufffd"));
  assert.ok(utf8Hex(out).includes("2f efbfbd 22".replaceAll(" ", "")), "U+FFFD as its three UTF-8 bytes");
});

test("canonicalJSON replaces a lone high surrogate inside the string with U+FFFD", () => {
  assert.equal(withBaseURL("a\uD800b"), '{"type":"openai","base_url":"a\uFFFDb","bedrock_region":""}');
});

test("canonicalJSON replaces a lone high surrogate at the end of the string with U+FFFD", () => {
  assert.equal(withBaseURL("a\uD83C"), '{"type":"openai","base_url":"a\uFFFD","bedrock_region":""}');
});

test("canonicalJSON replaces a lone low surrogate with U+FFFD", () => {
  assert.equal(withBaseURL("\uDC00x"), '{"type":"openai","base_url":"\uFFFDx","bedrock_region":""}');
});

test("canonicalJSON replaces a reversed pair (low then high) with two U+FFFD", () => {
  assert.equal(withBaseURL("\uDC00\uD800"), '{"type":"openai","base_url":"\uFFFD\uFFFD","bedrock_region":""}');
});

test("canonicalJSON keeps a valid pair that follows a lone high surrogate", () => {
  assert.equal(withBaseURL("\uD800\uD83C\uDF0D"), '{"type":"openai","base_url":"\uFFFD🌍","bedrock_region":""}');
});

test("canonicalJSON of a lone surrogate equals canonicalJSON of the UTF-8 the string becomes", () => {
  for (const s of ["\uD800", "a\uDFFFb", "\uDC00\uD800", "x\uD83C"]) {
    const roundTripped = new TextDecoder().decode(new TextEncoder().encode(s));
    assert.equal(withBaseURL(s), withBaseURL(roundTripped), JSON.stringify(s));
  }
});

// --- computeProviderHash -------------------------------------------------------

test("computeProviderHash returns 64 lower-case hex digits", async () => {
  const hash = await computeProviderHash({ type: "openai", baseURL: "https://api.openai.com/v1/", bedrockRegion: "" });
  assert.match(hash, /^[0-9a-f]{64}$/);
});

test("computeProviderHash is SHA-256 of the literal Go JSON (node:crypto, plain URL)", async () => {
  const expected = sha256Hex(String.raw`{"type":"openai","base_url":"https://api.openai.com/v1/","bedrock_region":""}`);
  assert.equal(
    await computeProviderHash({ type: "openai", baseURL: "https://api.openai.com/v1/", bedrockRegion: "" }),
    expected,
  );
});

test("computeProviderHash is SHA-256 of the literal Go JSON (node:crypto, escapes and non-ASCII)", async () => {
  const expected = sha256Hex(
    // Non-ASCII is kept out of String.raw: Bun's transpiler rewrites it there as \u00E9.
    String.raw`{"type":"anthropic","base_url":"https://b.example/?x=\u003c1\u003e\u0026y=\"` + "é" +
      String.raw`\"","bedrock_region":"eu-\u2028"}`,
  );
  assert.equal(
    await computeProviderHash({ type: "anthropic", baseURL: 'https://b.example/?x=<1>&y="é"', bedrockRegion: "eu-\u2028" }),
    expected,
  );
});

test("computeProviderHash matches sha256sum of the Go JSON with an escaped '&'", async () => {
  // printf '%s' '{"type":"openai","base_url":"https://x/?a=1\u0026b=2","bedrock_region":""}' | sha256sum
  assert.equal(
    await computeProviderHash({ type: "openai", baseURL: "https://x/?a=1&b=2", bedrockRegion: "" }),
    "46000ae493c43740c51a9fe78aaa362b8eccf391cb6a8c5b3664b1632a24558d",
  );
});

test("computeProviderHash matches sha256sum of the Go JSON with escaped '<' '>' and a region", async () => {
  // printf '%s' '{"type":"anthropic","base_url":"https://bedrock.example/\u003cvpc\u003e","bedrock_region":"eu-west-1"}' | sha256sum
  assert.equal(
    await computeProviderHash({ type: "anthropic", baseURL: "https://bedrock.example/<vpc>", bedrockRegion: "eu-west-1" }),
    "c6456f6f6f2d0a5fc892981116eab1f08b1e3cc17c107aa8aa1ec89756fd4200",
  );
});

test("computeProviderHash matches sha256sum of the Go JSON with raw UTF-8", async () => {
  // printf '%s' '{"type":"openai","base_url":"https://例え.jp/é🌍","bedrock_region":""}' | sha256sum
  assert.equal(
    await computeProviderHash({ type: "openai", baseURL: "https://例え.jp/é🌍", bedrockRegion: "" }),
    "eb976e58ae83ad4dee4d223ceeec7ee4b68e02358933120adfc838ae038d2f3a",
  );
});

test("computeProviderHash changes with each canonical field", async () => {
  const base = { type: "anthropic", baseURL: "https://b.example", bedrockRegion: "us-east-1" };
  const h = await computeProviderHash(base);
  assert.equal(await computeProviderHash({ ...base }), h);
  assert.notEqual(await computeProviderHash({ ...base, type: "bedrock" }), h);
  assert.notEqual(await computeProviderHash({ ...base, baseURL: "https://b.example/" }), h);
  assert.notEqual(await computeProviderHash({ ...base, bedrockRegion: "us-east-2" }), h);
});

test("computeProviderHash hashes a lone surrogate as U+FFFD, the character its stored row holds", async () => {
  assert.equal(
    await computeProviderHash({ type: "openai", baseURL: "\uD800", bedrockRegion: "" }),
    sha256Hex('{"type":"openai","base_url":"\uFFFD","bedrock_region":""}'),
  );
  assert.notEqual(
    await computeProviderHash({ type: "openai", baseURL: "\uD800", bedrockRegion: "" }),
    sha256Hex(String.raw`{"type":"openai","base_url":"\ufffd","bedrock_region":""}`),
    "not the escape Go writes for invalid UTF-8 bytes",
  );
  assert.equal(
    await computeProviderHash({ type: "openai", baseURL: "\uFFFD", bedrockRegion: "" }),
    sha256Hex('{"type":"openai","base_url":"\uFFFD","bedrock_region":""}'),
  );
});

// --- JSON.stringify comparison and properties ----------------------------------

test("JSON.stringify writes control characters exactly like Go (short forms, lower-case \\u00xx, raw DEL)", () => {
  // This is what makes the property below sound: the two encoders differ only
  // on < > & U+2028 U+2029 and lone surrogates.
  assert.equal(JSON.stringify('\b\f\n\r\t\u0000\u0001\u001f"\\/\u007f'), String.raw`"\b\f\n\r\t\u0000\u0001\u001f\"\\/` + '\u007f"');
  assert.equal(JSON.stringify("<>&\u2028\u2029"), '"<>&\u2028\u2029"');
  assert.equal(JSON.stringify("\uD800"), String.raw`"\ud800"`);
});

const NOT_GO_SAFE = /[<>&\u2028\u2029]/;
// Well-formed strings over the whole Unicode range, and Latin-1 strings rich
// in control characters.
const wellFormed = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "binary-ascii", maxLength: 40 }));
const plainString = wellFormed.filter((s) => !NOT_GO_SAFE.test(s));

test("property: without < > & U+2028 U+2029 or lone surrogates, canonicalJSON equals JSON.stringify", () => {
  fc.assert(
    fc.property(plainString, plainString, plainString, (type, baseURL, bedrockRegion) => {
      assert.equal(
        canonicalJSON({ type, baseURL, bedrockRegion }),
        JSON.stringify({ type, base_url: baseURL, bedrock_region: bedrockRegion }),
      );
    }),
    { numRuns: 500 },
  );
});

// Strings that concentrate on the characters Go treats specially.
const trickyUnit = fc.constantFrom(
  "<",
  ">",
  "&",
  "\u2028",
  "\u2029",
  "\uD800",
  "\uDBFF",
  "\uDC00",
  "\uDFFF",
  "\uD83C",
  "\uDF0D",
  '"',
  "\\",
  "\n",
  "\u0001",
  "\u007f",
  "a",
  "é",
  "🌍",
);
const trickyString = fc.oneof(fc.string({ unit: trickyUnit, maxLength: 30 }), wellFormed);

test("property: canonicalJSON is valid JSON that reads back as the input (lone surrogates as U+FFFD)", () => {
  fc.assert(
    fc.property(trickyString, trickyString, trickyString, (type, baseURL, bedrockRegion) => {
      const parsed: unknown = JSON.parse(canonicalJSON({ type, baseURL, bedrockRegion }));
      assert.deepEqual(parsed, {
        type: toWellFormed(type),
        base_url: toWellFormed(baseURL),
        bedrock_region: toWellFormed(bedrockRegion),
      });
    }),
    { numRuns: 500 },
  );
});

test("property: canonicalJSON never contains raw < > & U+2028 U+2029 or a lone surrogate", () => {
  fc.assert(
    fc.property(trickyString, (s) => {
      const out = canonicalJSON({ type: s, baseURL: s, bedrockRegion: s });
      assert.ok(!NOT_GO_SAFE.test(out), JSON.stringify(out));
      assert.equal(toWellFormed(out), out);
    }),
    { numRuns: 500 },
  );
});
