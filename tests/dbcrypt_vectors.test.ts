import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ConfigError } from "../lib/errors.ts";
import {
  decodeBase64,
  DecryptFailure,
  decryptValue,
  encodeBase64,
  type EncryptionKey,
  encryptValue,
  keyDigest,
  parseEncryptionKeys,
  splitKeyList,
} from "../lib/_dbcrypt.ts";

// tests/fixtures/dbcrypt.json is a byte-identical copy of the shared
// vectors (shared/vectors/dbcrypt.json), produced with Go's crypto/aes,
// crypto/cipher (GCM), crypto/sha256, encoding/base64 and encoding/csv
// exactly as Coder's enterprise/dbcrypt and enterprise/cli/server.go use
// them. It is copied so the tests do not depend on where the repository is
// checked out.

interface EncryptVector {
  note: string;
  nonce_hex: string;
  plaintext: string;
  stored: string;
}

interface KeyVector {
  name: string;
  key_base64: string;
  key_hex: string;
  digest_sha256: string;
  digest: string;
  encrypt: EncryptVector[];
}

interface DecryptOnlyVector {
  note: string;
  key_base64: string;
  stored: string;
  plaintext: string;
}

interface MustFailVector {
  note: string;
  key_base64: string;
  stored: string;
  go_error: string;
}

interface KeyListVector {
  note: string;
  value: string;
  digests: string[];
  go_error?: string;
}

interface Vectors {
  cipher: string;
  nonce_bytes: number;
  tag_bytes: number;
  keys: KeyVector[];
  decrypt_only: DecryptOnlyVector[];
  must_fail: MustFailVector[];
  key_lists: KeyListVector[];
}

const vectors: Vectors = JSON.parse(readFileSync(new URL("./fixtures/dbcrypt.json", import.meta.url), "utf8"));

const SOURCE = "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS";

function fromHex(text: string): Uint8Array {
  assert.match(text, /^(?:[0-9a-f]{2})*$/);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function keyName(keyBase64: string): string {
  return vectors.keys.find((k) => k.key_base64 === keyBase64)?.name ?? "a key not listed in keys[]";
}

const imported = new Map<string, Promise<EncryptionKey>>();
function keyFor(keyBase64: string): Promise<EncryptionKey> {
  let key = imported.get(keyBase64);
  if (key === undefined) {
    key = parseEncryptionKeys([keyBase64], SOURCE).then((ring) => {
      assert.ok(ring.primary);
      return ring.primary;
    });
    imported.set(keyBase64, key);
  }
  return key;
}

// --- Vectors ----------------------------------------------------------------

test("the vectors describe AES-256-GCM with a 12-byte nonce and a 16-byte tag", () => {
  assert.equal(vectors.cipher, "AES-256-GCM");
  assert.equal(vectors.nonce_bytes, 12);
  assert.equal(vectors.tag_bytes, 16);
  assert.ok(vectors.keys.length > 0 && vectors.decrypt_only.length > 0 && vectors.must_fail.length > 0 && vectors.key_lists.length > 0);
});

for (const k of vectors.keys) {
  test(`key "${k.name}" has the key id Go computed, from raw bytes and from its base64`, async () => {
    const raw = fromHex(k.key_hex);
    assert.equal(encodeBase64(raw), k.key_base64);
    assert.equal(k.digest, k.digest_sha256.slice(0, 7));
    assert.equal(await keyDigest(raw), k.digest);
    const ring = await parseEncryptionKeys([k.key_base64], SOURCE);
    assert.equal(ring.primary?.digest, k.digest);
    assert.deepEqual([...ring.byDigest.keys()], [k.digest]);
  });

  for (const v of k.encrypt) {
    test(`sealing ${v.note} under key "${k.name}" with nonce ${v.nonce_hex} gives Go's stored value exactly`, async () => {
      const key = await keyFor(k.key_base64);
      assert.equal(await encryptValue(key, v.plaintext, fromHex(v.nonce_hex)), v.stored);
    });

    test(`opening Go's sealing of ${v.note} under key "${k.name}" with nonce ${v.nonce_hex} gives the plaintext back`, async () => {
      const key = await keyFor(k.key_base64);
      assert.equal(await decryptValue(key, v.stored), v.plaintext);
    });
  }
}

for (const v of vectors.decrypt_only) {
  test(`opening ${v.note} sealed by Go under key "${keyName(v.key_base64)}" gives its plaintext`, async () => {
    const key = await keyFor(v.key_base64);
    assert.equal(await decryptValue(key, v.stored), v.plaintext);
  });
}

for (const v of vectors.must_fail) {
  test(`opening a value with ${v.note} fails with DecryptFailure that does not quote the value`, async () => {
    const key = await keyFor(v.key_base64);
    // The reason this implementation gives: Go calls a value that is base64
    // but cannot hold a nonce and a tag either "too short" or an
    // authentication failure; here both are "too short".
    const decoded = decodeBase64(v.stored);
    const reason = v.go_error.includes("malformed encrypted field")
      ? "not base64"
      : decoded.ok && decoded.bytes.length < 28
      ? "too short"
      : "authentication failed";
    await assert.rejects(decryptValue(key, v.stored), (err: unknown) => {
      assert.ok(err instanceof DecryptFailure, `expected DecryptFailure, got ${String(err)}`);
      assert.equal(err.reason, reason);
      assert.equal(err.keyDigest, key.digest);
      assert.ok(!err.message.includes(v.stored), "the message quotes the stored value");
      for (const k of vectors.keys) {
        for (const e of k.encrypt) {
          if (e.plaintext !== "") assert.ok(!err.message.includes(e.plaintext), "the message quotes a plaintext");
        }
      }
      return true;
    });
  });
}

for (const v of vectors.key_lists) {
  if (v.go_error === undefined) {
    test(`key list with ${v.note} gives Go's key ids in order, primary first`, async () => {
      const ring = await parseEncryptionKeys(splitKeyList(v.value), SOURCE);
      assert.deepEqual(ring.keys.map((k) => k.digest), v.digests);
      assert.equal(ring.primary?.digest ?? null, v.digests[0] ?? null);
      assert.deepEqual([...ring.byDigest.keys()], v.digests);
      for (const [digest, key] of ring.byDigest) assert.equal(key.digest, digest);
    });
  } else {
    test(`key list with ${v.note} is rejected as Go rejects it, without quoting any key`, async () => {
      assert.deepEqual(v.digests, []);
      const fields = splitKeyList(v.value);
      await assert.rejects(parseEncryptionKeys(fields, SOURCE), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        assert.ok(err.problems.length > 0);
        for (const problem of err.problems) {
          assert.ok(problem.startsWith(`${SOURCE}: key at position `), problem);
          for (const text of [v.value, ...fields, ...fields.map((f) => f.trim())]) {
            if (text !== "") assert.ok(!problem.includes(text), "a problem quotes key text");
          }
        }
        for (const text of [v.value, ...fields]) {
          if (text !== "") assert.ok(!err.message.includes(text), "the message quotes key text");
        }
        return true;
      });
    });
  }
}

// --- Beyond the vectors -----------------------------------------------------

test("sealing without a nonce picks a fresh random one and still opens", async () => {
  const key = await keyFor(vectors.keys[0].key_base64);
  const first = await encryptValue(key, "coder");
  const second = await encryptValue(key, "coder");
  assert.notEqual(first, second);
  for (const stored of [first, second]) {
    const bytes = decodeBase64(stored);
    assert.ok(bytes.ok);
    assert.equal(bytes.bytes.length, 12 + "coder".length + 16);
    assert.equal(await decryptValue(key, stored), "coder");
  }
});

test("a leading byte order mark and non-ASCII text survive a round trip", async () => {
  const key = await keyFor(vectors.keys[0].key_base64);
  const text = "\uFEFFclé 🔑";
  assert.equal(await decryptValue(key, await encryptValue(key, text)), text);
});

test("sealing rejects a nonce that is not twelve bytes and text with a lone surrogate", async () => {
  const key = await keyFor(vectors.keys[0].key_base64);
  await assert.rejects(encryptValue(key, "x", new Uint8Array(16)), RangeError);
  await assert.rejects(encryptValue(key, "a\uD800b"), TypeError);
});

test("opening a value whose plaintext is not UTF-8 fails without mangling it", async () => {
  const key = await keyFor(vectors.keys[0].key_base64);
  const iv = new Uint8Array(12);
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key.cryptoKey, new Uint8Array([0x61, 0xff])));
  const stored = new Uint8Array(12 + sealed.length);
  stored.set(sealed, 12);
  await assert.rejects(
    decryptValue(key, encodeBase64(stored)),
    (err: unknown) => err instanceof DecryptFailure && err.reason === "not UTF-8",
  );
});

test("opening the empty string fails as too short", async () => {
  const key = await keyFor(vectors.keys[0].key_base64);
  await assert.rejects(decryptValue(key, ""), (err: unknown) => err instanceof DecryptFailure && err.reason === "too short");
});

test("base64 encoding matches btoa for every length around the block size", () => {
  for (let n = 0; n <= 40; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    const expected = btoa(String.fromCharCode(...bytes));
    assert.equal(encodeBase64(bytes), expected);
    const back = decodeBase64(expected);
    assert.ok(back.ok);
    assert.deepEqual([...back.bytes], [...bytes]);
  }
});

test("base64 decoding is strict about alphabet, padding and whitespace", () => {
  const key = vectors.keys[2].key_base64; // holds + and /
  const rejected = [
    key.replaceAll("+", "-").replaceAll("/", "_"),
    key.slice(0, -1),
    ` ${key}`,
    `${key}\n`,
    `${key.slice(0, 20)}\r\n${key.slice(20)}`,
    "YQ",
    "YQ=",
    "YQ===",
    "Y===",
    "====",
    "YQ==YQ==",
    "YQ=a",
    "YQ!=",
  ];
  for (const text of rejected) {
    const result = decodeBase64(text);
    assert.equal(result.ok, false, JSON.stringify(text));
    if (!result.ok) assert.ok(!result.problem.includes(text), "the problem quotes the input");
  }
  assert.ok(decodeBase64(key).ok);
  assert.ok(decodeBase64("").ok);
});

test("base64 decoding ignores unused trailing bits, as Go's StdEncoding does", () => {
  const canonical = decodeBase64("YQ==");
  const loose = decodeBase64("YR==");
  assert.ok(canonical.ok && loose.ok);
  assert.deepEqual([...loose.bytes], [...canonical.bytes]);
});

// These follow Go's encoding/csv Reader.Read (read from its source; Go is
// not run here): one record, no trimming, "" escapes a quote, \r\n is \n,
// blank lines first are skipped, later lines are ignored.
test("the key list is read as one CSV record exactly as Go reads it", () => {
  const cases: ReadonlyArray<readonly [string, string[]]> = [
    ["", []],
    ["a", ["a"]],
    ["a,b", ["a", "b"]],
    ["a,", ["a", ""]],
    [",", ["", ""]],
    [" a , b ", [" a ", " b "]],
    ['"a,b",c', ["a,b", "c"]],
    ['"a""b"', ['a"b']],
    ['"",a', ["", "a"]],
    ["a\r\n", ["a"]],
    ["a\r", ["a"]],
    ["a\n", ["a"]],
    ["a\nb", ["a"]],
    ["\n\r\na,b", ["a", "b"]],
    ['"a\nb",c', ["a\nb", "c"]],
    ['"a\r\nb"', ["a\nb"]],
    ["a\rb", ["a\rb"]],
  ];
  for (const [value, fields] of cases) assert.deepEqual(splitKeyList(value), fields, JSON.stringify(value));
});

test("a key list Go cannot read as CSV is a ConfigError naming the variable, never the text", () => {
  for (const value of ['ab"cd', '"abcd', '"ab"cd', '"ab" ,x', "\n", "\r\n\n"]) {
    assert.throws(
      () => splitKeyList(value),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, JSON.stringify(value));
        assert.equal(err.problems.length, 1);
        assert.ok(err.problems[0].startsWith(`${SOURCE}: `), err.problems[0]);
        assert.ok(!err.problems[0].includes("abcd") && !err.problems[0].includes("cd"));
        return true;
      },
    );
  }
  assert.throws(() => splitKeyList('x"', "--external-token-encryption-keys"), (err: unknown) => {
    return err instanceof ConfigError && err.problems[0].startsWith("--external-token-encryption-keys: ");
  });
});

test("every bad key is reported at once, by position and source, without its text", async () => {
  const good = vectors.keys.map((k) => k.key_base64);
  const short = "YWFhYWFhYWFhYWFhYWFhYQ==";
  const urlSafe = good[2].replaceAll("+", "-").replaceAll("/", "_");
  const keys = [good[0], "", short, urlSafe, good[1], good[0], ` ${good[3]}`];
  await assert.rejects(parseEncryptionKeys(keys, "--external-token-encryption-keys"), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.replace(/ \(.*$|;.*$/, "")), [
      "--external-token-encryption-keys: key at position 2 is empty",
      "--external-token-encryption-keys: key at position 3 decodes to 16 bytes, must be 32",
      "--external-token-encryption-keys: key at position 4 is not standard base64",
      "--external-token-encryption-keys: key at position 6 is the same key as position 1",
      "--external-token-encryption-keys: key at position 7 is not standard base64",
    ]);
    for (const text of [...keys.filter((k) => k !== ""), ...good, short.slice(0, 8)]) {
      assert.ok(!err.message.includes(text), "the message quotes a key");
    }
    return true;
  });
});

test("no keys make an empty keyring with no primary", async () => {
  const ring = await parseEncryptionKeys(splitKeyList(""), SOURCE);
  assert.equal(ring.primary, null);
  assert.deepEqual(ring.keys, []);
  assert.equal(ring.byDigest.size, 0);
});
