import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { maskSecret } from "../mod.ts";

// The masking rule (docs/behaviour.md, "Secrets"), written out independently of the implementation:
// how many code points are shown at each end of a secret of n code points.
function shownAtEachEnd(n: number): number {
  return n >= 20 ? 4 : n >= 10 ? 2 : n >= 5 ? 1 : 0;
}

function codePoints(s: string): string[] {
  return Array.from(s);
}

// True when s holds an unpaired UTF-16 surrogate (i.e. a code point was split).
function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz";

// Any well-formed string (full Unicode range, no lone surrogates).
const anySecret = fc.string({ unit: "binary", maxLength: 64 });

// --- the documented examples ------------------------------------------------

const EXAMPLES: ReadonlyArray<readonly [string, string]> = [
  ["short", "s...t"],
  ["thisisquitelong", "th...ng"],
  ["sk-ant-api03-abcdefgh", "sk-a...efgh"],
  ["abcd", "..."],
  ["hélloworld🌍!", "hé...🌍!"],
];

for (const [secret, masked] of EXAMPLES) {
  test(`maskSecret(${JSON.stringify(secret)}) is ${JSON.stringify(masked)}`, () => {
    assert.equal(maskSecret(secret), masked);
  });
}

test("the empty string stays empty", () => {
  assert.equal(maskSecret(""), "");
});

// --- length boundaries ---------------------------------------------------------

const BOUNDARIES: ReadonlyArray<readonly [number, string]> = [
  [1, "..."],
  [2, "..."],
  [3, "..."],
  [4, "..."],
  [5, "a...e"],
  [9, "a...i"],
  [10, "ab...ij"],
  [19, "ab...rs"],
  [20, "abcd...qrst"],
  [26, "abcd...wxyz"],
];

for (const [length, masked] of BOUNDARIES) {
  test(`a secret of ${length} code points masks to ${JSON.stringify(masked)}`, () => {
    const secret = ALPHABET.slice(0, length);
    assert.equal(codePoints(secret).length, length);
    assert.equal(maskSecret(secret), masked);
  });
}

// --- code points, not UTF-16 units or graphemes --------------------------------

test("an emoji counts as one code point: four emoji (8 UTF-16 units) show nothing", () => {
  const secret = "🌍🔑🚀🎉";
  assert.equal(secret.length, 8);
  assert.equal(maskSecret(secret), "...");
});

test("an emoji counts as one code point: five emoji show one emoji at each end", () => {
  assert.equal(maskSecret("🌍🔑🚀🎉🐙"), "🌍...🐙");
});

test("an emoji counts as one code point: ten emoji show two whole emoji at each end", () => {
  assert.equal(maskSecret("😀😁😂🤣😃😄😅😆😉😊"), "😀😁...😉😊");
});

test("19 code points with an emoji (20 UTF-16 units) still show only 2 at each end", () => {
  const secret = "🔑" + ALPHABET.slice(0, 18);
  assert.equal(secret.length, 20);
  assert.equal(codePoints(secret).length, 19);
  assert.equal(maskSecret(secret), "🔑a...qr");
});

test("20 code points ending in an emoji show 4 code points at each end, emoji whole", () => {
  const secret = ALPHABET.slice(0, 19) + "🌍";
  assert.equal(maskSecret(secret), "abcd...qrs🌍");
});

test("a combining accent is its own code point (code points, not graphemes)", () => {
  // "e" + U+0301 is one grapheme but two code points: 5 code points in all.
  assert.equal(maskSecret("e\u0301abc"), "e...c");
});

test("a secret that already looks masked is returned unchanged (why 'never equals input' needs a filter)", () => {
  // 5 code points show 1 at each end: "a" + "..." + "b" is the input again.
  assert.equal(maskSecret("a...b"), "a...b");
  assert.equal(maskSecret("..."), "...");
});

// --- properties --------------------------------------------------------------

test("property: output is first k code points + '...' + last k code points, 2k+3 code points long", () => {
  fc.assert(
    fc.property(anySecret, (secret) => {
      const points = codePoints(secret);
      const n = points.length;
      const out = maskSecret(secret);
      if (n === 0) {
        assert.equal(out, "");
        return;
      }
      const k = shownAtEachEnd(n);
      assert.equal(codePoints(out).length, 2 * k + 3);
      assert.equal(out, points.slice(0, k).join("") + "..." + points.slice(n - k).join(""));
    }),
    { numRuns: 500 },
  );
});

test("property: for secrets without '.', the output never contains the hidden middle", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", minLength: 5, maxLength: 64 }).filter((s) => !s.includes(".")),
      (secret) => {
        const points = codePoints(secret);
        const k = shownAtEachEnd(points.length);
        const middle = points.slice(k, points.length - k).join("");
        const out = maskSecret(secret);
        assert.ok(!out.includes(middle), `${JSON.stringify(out)} contains ${JSON.stringify(middle)}`);
      },
    ),
    { numRuns: 500 },
  );
});

test("property: for non-empty secrets without '.', the output never equals the secret", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", minLength: 1, maxLength: 64 }).filter((s) => !s.includes(".")),
      (secret) => {
        assert.notEqual(maskSecret(secret), secret);
      },
    ),
    { numRuns: 500 },
  );
});

test("property: the output depends only on the ends, not on the hidden middle", () => {
  fc.assert(
    fc.property(
      fc.string({ unit: "binary", minLength: 5, maxLength: 64 }),
      fc.string({ unit: "binary", minLength: 64, maxLength: 64 }),
      (secret, replacement) => {
        const points = codePoints(secret);
        const n = points.length;
        const k = shownAtEachEnd(n);
        const other = points.slice(0, k).join("") + codePoints(replacement).slice(0, n - 2 * k).join("") +
          points.slice(n - k).join("");
        assert.equal(codePoints(other).length, n);
        assert.equal(maskSecret(other), maskSecret(secret));
      },
    ),
    { numRuns: 300 },
  );
});

test("property: a well-formed secret never yields a split surrogate pair", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), anySecret, (a, b) => {
      assert.equal(hasLoneSurrogate(maskSecret(a)), false);
      assert.equal(hasLoneSurrogate(maskSecret(b)), false);
    }),
    { numRuns: 300 },
  );
});
