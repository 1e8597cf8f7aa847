// parseDotenv: the dotenv reader behind the CLI's --env-file
// (docs/behaviour.md, "The command line").
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDotenv } from "../mod.ts";

test("parseDotenv reads KEY=value lines into a record, in file order", () => {
  const env = parseDotenv("A=1\nB=two\nC=https://example.com/v1?x=1");
  assert.deepEqual(env, { A: "1", B: "two", C: "https://example.com/v1?x=1" });
  assert.deepEqual(Object.keys(env), ["A", "B", "C"]);
});

test("parseDotenv does what its documentation example says", () => {
  assert.deepEqual(parseDotenv('A=1\n# note\nexport B="two words"'), { A: "1", B: "two words" });
});

test("parseDotenv skips blank lines and # comment lines, indented or not", () => {
  const text = ["# a comment", "", "   ", "  # an indented comment", "A=1", "#B=2", "  C=3  "].join("\n");
  assert.deepEqual(parseDotenv(text), { A: "1", C: "3" });
});

test("parseDotenv drops a trailing comment after blanks from an unquoted value, but keeps a # inside it", () => {
  assert.deepEqual(parseDotenv("A=value # the comment\nB=value\t# tab before it\nC=a#b\nD=#not-a-comment"), {
    A: "value",
    B: "value",
    C: "a#b",
    D: "#not-a-comment",
  });
});

test("parseDotenv accepts an export prefix", () => {
  assert.deepEqual(parseDotenv("export A=1\nexport   B='two'\nexportC=3"), { A: "1", B: "two", exportC: "3" });
});

test("parseDotenv trims blanks around the name, the = and an unquoted value; an empty value is the empty string", () => {
  assert.deepEqual(parseDotenv("  A = spaced out  \nB=\nC =   "), { A: "spaced out", B: "", C: "" });
});

test("parseDotenv takes single-quoted values literally", () => {
  assert.deepEqual(parseDotenv(String.raw`A='two words'` + "\n" + String.raw`B='keeps \n and # and "quotes"'`), {
    A: "two words",
    B: String.raw`keeps \n and # and "quotes"`,
  });
});

test('parseDotenv turns \\n into a newline and \\" into a quote inside double quotes', () => {
  const env = parseDotenv(String.raw`A="line one\nline two"` + "\n" + String.raw`B="say \"hi\""` + "\n" + 'C="a # b"');
  assert.equal(env.A, "line one\nline two");
  assert.equal(env.B, 'say "hi"');
  assert.equal(env.C, "a # b", "a # inside quotes is part of the value");
});

test("parseDotenv ends a quoted value at its last quote, so a comment after it is dropped", () => {
  assert.deepEqual(parseDotenv(`A="quoted" # comment\nB='x' trailing`), { A: "quoted", B: "x" });
});

test("parseDotenv keeps a lone quote as part of an unquoted value", () => {
  assert.deepEqual(parseDotenv(`A="unterminated\nB='\nC=it's`), { A: '"unterminated', B: "'", C: "it's" });
});

test("parseDotenv lets a later line win over an earlier one of the same name", () => {
  assert.deepEqual(parseDotenv("A=first\nB=kept\nA=second\nexport A=third"), { A: "third", B: "kept" });
});

test("parseDotenv ignores lines that are not assignments", () => {
  const text = ["just some words", "=no-name", "1ABC=starts with a digit", "NO_EQUALS_SIGN", "export", "A-B=dash in the name", "OK=1"].join(
    "\n",
  );
  assert.deepEqual(parseDotenv(text), { OK: "1" });
});

test("parseDotenv accepts letters, digits, _ and . in names, any case", () => {
  assert.deepEqual(parseDotenv("lower=1\n_UNDER=2\nA.B_9=3"), { lower: "1", _UNDER: "2", "A.B_9": "3" });
});

test("parseDotenv reads Windows line endings like Unix ones", () => {
  assert.deepEqual(parseDotenv('A=1\r\nB="two"\r\n# c\r\nC=3\r\n'), { A: "1", B: "two", C: "3" });
});

test("parseDotenv does no variable expansion", () => {
  assert.deepEqual(parseDotenv('A=1\nB=$A\nC="${A}"'), { A: "1", B: "$A", C: "${A}" });
});

test("parseDotenv of empty text is an empty record", () => {
  assert.deepEqual(parseDotenv(""), {});
  assert.deepEqual(parseDotenv("\n\n# only comments\n"), {});
});
