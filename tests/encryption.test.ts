// Encryption at rest on a real PostgreSQL: what the seed writes with keys
// (read back raw), a database written by one key set and read by another,
// rotation and decryption round trips, revocation (and a revocation a
// foreign key refuses), and the errors that write nothing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decryptValue, encodeBase64, keyDigest, type Keyring, parseEncryptionKeys } from "../lib/_dbcrypt.ts";
import {
  ConfigError,
  decryptAtRest,
  type EncryptionStatus,
  encryptionStatus,
  planSeed,
  rotateEncryptionKeys,
  seedAIProvidersFromEnv,
  SeedError,
} from "../mod.ts";
import { captureLogger, type Sql, withDatabase } from "./_db.ts";

/** A key of 32 bytes all equal to `byte`, as CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS holds it. */
function key(byte: number): string {
  return encodeBase64(new Uint8Array(32).fill(byte));
}

async function digestOf(base64: string): Promise<string> {
  return await keyDigest(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
}

async function keyringOf(...keys: string[]): Promise<Keyring> {
  return await parseEncryptionKeys(keys, "test");
}

const K1 = key(0x11);
const K2 = key(0x22);
const K3 = key(0x33);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const BEDROCK = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "bedrock",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "claude-bedrock",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_REGION: "eu-west-1",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY: "AKIAENCRYPTIONTEST01",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY_SECRET: "bedrock-secret-for-encryption-tests",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_MODEL: "anthropic.claude-enc-test",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_SMALL_FAST_MODEL: "anthropic.claude-enc-small",
};
const BEDROCK_SETTINGS =
  '{"_type":"bedrock","_version":1,"access_key":"AKIAENCRYPTIONTEST01","access_key_secret":"bedrock-secret-for-encryption-tests","model":"anthropic.claude-enc-test","region":"eu-west-1","small_fast_model":"anthropic.claude-enc-small"}';
const PROVIDERS = {
  ...BEDROCK,
  CODER_AIBRIDGE_OPENAI_KEY: "sk-enc-openai-0001",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "openrouter",
  CODER_AIBRIDGE_PROVIDER_1_KEYS: "or-enc-0001,or-enc-0002,or-enc-0003",
};
/** Every API key PROVIDERS stores, and its provider. */
const API_KEYS = [
  ["openai", "sk-enc-openai-0001"],
  ["openrouter", "or-enc-0001"],
  ["openrouter", "or-enc-0002"],
  ["openrouter", "or-enc-0003"],
];

interface RawKey {
  id: string;
  provider: string;
  api_key: string;
  api_key_key_id: string | null;
}
interface RawProvider {
  id: string;
  name: string;
  settings: string | null;
  settings_key_id: string | null;
}
interface RawDbcrypt {
  number: number;
  active_key_digest: string | null;
  revoked_key_digest: string | null;
  revoked: boolean;
  test: string;
}

/** The rows as stored, ciphertext and all, in a stable order (row ids do not change on a rewrite). */
async function raw(sql: Sql): Promise<{ providers: RawProvider[]; keys: RawKey[]; dbcrypt: RawDbcrypt[] }> {
  const providers = await sql<RawProvider[]>`select id::text as id, name, settings, settings_key_id from ai_providers order by name`;
  const keys = await sql<RawKey[]>`
    select k.id::text as id, p.name as provider, k.api_key, k.api_key_key_id
    from ai_provider_keys k join ai_providers p on p.id = k.provider_id order by k.id`;
  const dbcrypt = await sql<RawDbcrypt[]>`
    select number, active_key_digest, revoked_key_digest, revoked_at is not null as revoked, test from dbcrypt_keys order by number`;
  return { providers: [...providers], keys: [...keys], dbcrypt: [...dbcrypt] };
}

/** The plaintext of a stored value, checking that its key id is `digest` (null: plaintext). */
async function plain(keyring: Keyring, value: string, keyId: string | null): Promise<string> {
  if (keyId === null) return value;
  const k = keyring.byDigest.get(keyId);
  assert.ok(k !== undefined, `key ${keyId} is one of the test keys`);
  return await decryptValue(k, value);
}

/** Every API key as plaintext with its provider, sorted. */
async function plainKeys(sql: Sql, keyring: Keyring): Promise<string[][]> {
  const { keys } = await raw(sql);
  const out = await Promise.all(keys.map(async (k) => [k.provider, await plain(keyring, k.api_key, k.api_key_key_id)]));
  return out.sort((a, b) => (a.join() < b.join() ? -1 : 1));
}

async function assertRejectsCode(work: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<SeedError> {
  let caught: unknown;
  await assert.rejects(work, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof SeedError, `a SeedError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

test("a seed with keys writes base64 ciphertext under the primary's id, registers it once in dbcrypt_keys, and restarts without drift", async () => {
  await withDatabase(async ({ sql }) => {
    const d1 = await digestOf(K1);
    const keyring = await keyringOf(K1);
    const report = await seedAIProvidersFromEnv(sql, { env: { ...PROVIDERS, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K1 } });
    assert.deepEqual(report.counts, { insert: 3, keys: 4, unchanged: 0, skipDeleted: 0, drift: 0 });

    const rows = await raw(sql);
    assert.equal(rows.keys.length, 4);
    for (const k of rows.keys) {
      assert.match(k.api_key, BASE64);
      assert.equal(k.api_key_key_id, d1);
      assert.ok(!API_KEYS.some(([, v]) => k.api_key.includes(v)), "no API key in clear");
    }
    assert.deepEqual(await plainKeys(sql, keyring), API_KEYS);

    const bedrock = rows.providers.find((p) => p.name === "claude-bedrock")!;
    assert.match(bedrock.settings!, BASE64);
    assert.equal(bedrock.settings_key_id, d1);
    assert.equal(await plain(keyring, bedrock.settings!, bedrock.settings_key_id), BEDROCK_SETTINGS, "the bytes Go's json.Marshal writes");
    for (const name of ["openai", "openrouter"]) {
      const p = rows.providers.find((r) => r.name === name)!;
      assert.deepEqual([p.settings, p.settings_key_id], [null, null], "no settings: NULL value, NULL key id");
    }

    assert.equal(rows.dbcrypt.length, 1);
    const [row] = rows.dbcrypt;
    assert.deepEqual([row.number, row.active_key_digest, row.revoked_key_digest, row.revoked], [1, d1, null, false]);
    assert.equal(await plain(keyring, row.test, d1), "coder");

    const again = await seedAIProvidersFromEnv(sql, { env: { ...PROVIDERS, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K1 } });
    assert.deepEqual(again.entries.map((e) => e.action), ["unchanged", "unchanged", "unchanged"]);
    assert.equal(again.lockTaken, false);
    assert.deepEqual(await raw(sql), rows, "nothing rewritten, no second dbcrypt_keys row");
  });
});

test("a database written by one key set reads with another that lists the old key second; without the old key it is encryption_key_missing", async () => {
  await withDatabase(async ({ sql }) => {
    const [d1, d2] = [await digestOf(K1), await digestOf(K2)];
    await seedAIProvidersFromEnv(sql, { env: PROVIDERS, encryptionKeys: [K1] });
    const before = await raw(sql);

    // The new key first, the old one second: the old settings decrypt, no drift.
    const plan = await planSeed(sql, { env: PROVIDERS, encryptionKeys: [K2, K1] });
    assert.deepEqual(plan.entries.map((e) => [e.name, e.action]), [["claude-bedrock", "unchanged"], ["openai", "unchanged"], [
      "openrouter",
      "unchanged",
    ]]);
    const restart = await seedAIProvidersFromEnv(sql, { env: PROVIDERS, encryptionKeys: [K2, K1] });
    assert.equal(restart.counts.drift, 0);
    assert.equal(restart.lockTaken, false);
    assert.deepEqual(await raw(sql), before, "nothing written, the new key not registered");

    // A provider added now is written with the new key, registered as number 2.
    const added = await seedAIProvidersFromEnv(sql, {
      env: { ...PROVIDERS, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-enc-0001" },
      encryptionKeys: [K2, K1],
    });
    assert.equal(added.counts.insert, 1);
    const after = await raw(sql);
    assert.deepEqual(after.dbcrypt.map((r) => [r.number, r.active_key_digest]), [[1, d1], [2, d2]]);
    assert.equal(after.keys.find((k) => k.provider === "anthropic")!.api_key_key_id, d2);
    assert.equal(after.keys.filter((k) => k.api_key_key_id === d1).length, 4, "old values stay under the old key");

    // Without the old key, the Bedrock settings cannot be read: a typed error naming provider, key id and variable.
    for (const encryptionKeys of [[K2], []]) {
      await assertRejectsCode(
        planSeed(sql, { env: PROVIDERS, encryptionKeys }),
        "encryption_key_missing",
        /"claude-bedrock"/,
        new RegExp(d1),
        /CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS/,
      );
      await assertRejectsCode(
        seedAIProvidersFromEnv(sql, {
          env: { ...PROVIDERS, CODER_AIBRIDGE_PROVIDER_2_TYPE: "google", CODER_AIBRIDGE_PROVIDER_2_KEY: "g-enc-0001" },
          encryptionKeys,
        }),
        "encryption_key_missing",
        /"claude-bedrock"/,
        new RegExp(d1),
      );
    }
    // From the environment the same way.
    await assertRejectsCode(
      planSeed(sql, { env: { ...PROVIDERS, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K2 } }),
      "encryption_key_missing",
      new RegExp(d1),
    );
    assert.deepEqual(await raw(sql), after, "nothing written by the failed seeds");
  });
});

test("rotation re-encrypts plaintext and old-key values in batches, revokes the old key; decryption turns everything back and revokes", async () => {
  await withDatabase(async ({ sql }) => {
    const [d1, d2] = [await digestOf(K1), await digestOf(K2)];
    const keyring = await keyringOf(K1, K2);
    await seedAIProvidersFromEnv(sql, { env: PROVIDERS });
    // A blank key another writer stored: never encrypted.
    await sql`insert into ai_provider_keys (provider_id, api_key) select id, '   ' from ai_providers where name = 'openai'`;
    const plaintext = await raw(sql);
    assert.ok(plaintext.keys.every((k) => k.api_key_key_id === null));

    const logger = captureLogger();
    const first = await rotateEncryptionKeys(sql, { encryptionKeys: [K1], batchSize: 2, logger });
    assert.deepEqual(first, { primary: d1, registered: true, keys: 4, settings: 1, revoked: [], notRevoked: [] });
    let rows = await raw(sql);
    const blank = rows.keys.find((k) => k.api_key.trim() === "")!;
    assert.deepEqual([blank.api_key, blank.api_key_key_id], ["   ", null], "a blank value stays plaintext with a NULL key id");
    assert.ok(rows.keys.filter((k) => k !== blank).every((k) => k.api_key_key_id === d1 && BASE64.test(k.api_key)));
    assert.deepEqual(rows.providers.map((p) => p.settings_key_id), [d1, null, null]);
    assert.deepEqual((await plainKeys(sql, keyring)).filter(([, v]) => v.trim() !== ""), API_KEYS);
    assert.deepEqual(rows.dbcrypt.map((r) => [r.number, r.active_key_digest]), [[1, d1]]);
    assert.deepEqual(logger.lines.map((l) => l.msg), ["registered encryption key in dbcrypt_keys", "re-encrypted ai provider secrets"]);

    const idle = await rotateEncryptionKeys(sql, { encryptionKeys: [K1] });
    assert.deepEqual(
      idle,
      { primary: d1, registered: false, keys: 0, settings: 0, revoked: [], notRevoked: [] },
      "again: nothing left to do",
    );
    assert.deepEqual(await raw(sql), rows);

    const second = await rotateEncryptionKeys(sql, { encryptionKeys: [K2, K1], batchSize: 3 });
    assert.deepEqual(second, { primary: d2, registered: true, keys: 4, settings: 1, revoked: [d1], notRevoked: [] });
    rows = await raw(sql);
    assert.deepEqual(rows.dbcrypt.map((r) => [r.number, r.active_key_digest, r.revoked_key_digest, r.revoked]), [
      [1, null, d1, true],
      [2, d2, null, false],
    ]);
    assert.ok(rows.keys.filter((k) => k.api_key.trim() !== "").every((k) => k.api_key_key_id === d2));
    assert.equal(await plain(keyring, rows.providers[0].settings!, rows.providers[0].settings_key_id), BEDROCK_SETTINGS);

    // The seed reads the rotated database with the new key alone.
    const restart = await seedAIProvidersFromEnv(sql, { env: PROVIDERS, encryptionKeys: [K2] });
    assert.equal(restart.counts.unchanged, 3);

    const status: EncryptionStatus = await encryptionStatus(sql, { encryptionKeys: [K2] });
    assert.deepEqual(status.values, [
      { keyId: null, keys: 1, settings: 0, configured: true },
      { keyId: d2, keys: 4, settings: 1, configured: true },
    ]);
    assert.deepEqual(status.missing, []);

    const decrypted = await decryptAtRest(sql, { encryptionKeys: [K2], batchSize: 1 });
    assert.deepEqual(decrypted, { primary: null, registered: false, keys: 4, settings: 1, revoked: [d2], notRevoked: [] });
    rows = await raw(sql);
    assert.deepEqual(
      rows.keys.map((k) => [k.id, k.api_key, k.api_key_key_id]),
      plaintext.keys.map((k) => [k.id, k.api_key, null]),
      "the plaintext, byte for byte",
    );
    assert.deepEqual(rows.providers, plaintext.providers);
    assert.ok(rows.dbcrypt.every((r) => r.active_key_digest === null && r.revoked));
    assert.deepEqual(await decryptAtRest(sql, { encryptionKeys: [] }), {
      primary: null,
      registered: false,
      keys: 0,
      settings: 0,
      revoked: [],
      notRevoked: [],
    });

    // A revoked key never encrypts again; a new one does.
    for (const revoked of [K1, K2]) {
      await assertRejectsCode(rotateEncryptionKeys(sql, { encryptionKeys: [revoked] }), "encryption_key_revoked", /revoked/);
      await assertRejectsCode(
        seedAIProvidersFromEnv(sql, {
          env: { ...PROVIDERS, CODER_AIBRIDGE_PROVIDER_2_TYPE: "google", CODER_AIBRIDGE_PROVIDER_2_KEY: "g-enc-0002" },
          encryptionKeys: [revoked],
        }),
        "encryption_key_revoked",
      );
    }
    assert.deepEqual(await raw(sql), rows, "refused rotations and seeds write nothing");
    const fresh = await rotateEncryptionKeys(sql, { encryptionKeys: [K3] });
    assert.deepEqual([fresh.keys, fresh.settings, fresh.registered], [4, 1, true]);
    assert.deepEqual((await raw(sql)).dbcrypt.map((r) => r.number), [1, 2, 3]);
  });
});

test("a key another table still references is left active and listed; the unreferenced old key is revoked; the rotation commits", async () => {
  await withDatabase(async ({ sql }) => {
    const [d1, d2, d3] = [await digestOf(K1), await digestOf(K2), await digestOf(K3)];
    await seedAIProvidersFromEnv(sql, { env: PROVIDERS, encryptionKeys: [K1] });
    await seedAIProvidersFromEnv(sql, { env: { ...PROVIDERS, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-enc-0002" }, encryptionKeys: [K2, K1] });
    // Like Coder's user_links: a column referencing dbcrypt_keys(active_key_digest), holding a value under K1.
    await sql`create table user_links (user_id uuid primary key, oauth_access_token text not null,
      oauth_access_token_key_id text references dbcrypt_keys (active_key_digest))`;
    await sql`insert into user_links values (gen_random_uuid(), 'ciphertext-of-coder', ${d1})`;

    const logger = captureLogger();
    const result = await rotateEncryptionKeys(sql, { encryptionKeys: [K3, K2, K1], logger });
    assert.equal(result.primary, d3);
    assert.deepEqual([result.keys, result.settings], [5, 1]);
    assert.deepEqual(result.revoked, [d2]);
    assert.equal(result.notRevoked.length, 1);
    assert.equal(result.notRevoked[0].digest, d1);
    assert.match(result.notRevoked[0].reason, /user_links/);
    const warn = logger.lines.find((l) => l.level === "warn")!;
    assert.equal(warn.msg, "encryption key left active");
    assert.equal(warn.fields.digest, d1);

    const rows = await raw(sql);
    assert.deepEqual(rows.dbcrypt.map((r) => [r.number, r.active_key_digest, r.revoked_key_digest]), [
      [1, d1, null],
      [2, null, d2],
      [3, d3, null],
    ]);
    assert.ok(rows.keys.every((k) => k.api_key_key_id === d3), "committed despite the refused revocation");

    const status = await encryptionStatus(sql, { encryptionKeys: [K3] });
    assert.deepEqual(status.dbcryptKeys!.map((k) => [k.number, k.configured, k.testOk]), [[1, false, null], [2, false, null], [
      3,
      true,
      true,
    ]]);

    // Once Coder has moved its own values off the key, the next rotation revokes it.
    await sql`delete from user_links`;
    const next = await rotateEncryptionKeys(sql, { encryptionKeys: [K3] });
    assert.deepEqual(next, { primary: d3, registered: false, keys: 0, settings: 0, revoked: [d1], notRevoked: [] });
  });
});

test("a value whose key is not configured, or that does not decrypt, stops rotation and decryption with nothing written", async () => {
  await withDatabase(async ({ sql }) => {
    const d1 = await digestOf(K1);
    await seedAIProvidersFromEnv(sql, { env: PROVIDERS, encryptionKeys: [K1] });
    const before = await raw(sql);

    const missing = await assertRejectsCode(
      rotateEncryptionKeys(sql, { encryptionKeys: [K2] }),
      "encryption_key_missing",
      /"claude-bedrock"/,
      /"openai"/,
      new RegExp(`key ${d1}`),
      /CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS/,
      /nothing was written/,
    );
    assert.doesNotMatch(missing.message, new RegExp(K2.slice(0, 12)));
    await assertRejectsCode(decryptAtRest(sql, { encryptionKeys: [] }), "encryption_key_missing", new RegExp(d1));
    await assertRejectsCode(decryptAtRest(sql, { env: { CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K3 } }), "encryption_key_missing");
    assert.deepEqual(await raw(sql), before, "K2 not registered, nothing rewritten");

    // The row read last has a value altered outside the library: earlier
    // batches were rewritten before it fails, and are rolled back with it.
    const last = before.keys.at(-1)!;
    const altered = encodeBase64(crypto.getRandomValues(new Uint8Array(40)));
    await sql`update ai_provider_keys set api_key = ${altered} where id = ${last.id}::uuid`;
    const tampered = await raw(sql);
    const failed = await assertRejectsCode(
      rotateEncryptionKeys(sql, { encryptionKeys: [K2, K1], batchSize: 1 }),
      "decrypt_failed",
      new RegExp(`"${last.provider}"`),
      new RegExp(`key ${d1}`),
      /authentication failed/,
      /nothing was written/,
    );
    assert.doesNotMatch(failed.message, new RegExp(altered.slice(0, 16).replace(/[+/]/g, "\\$&")));
    await assertRejectsCode(decryptAtRest(sql, { encryptionKeys: [K1], batchSize: 1 }), "decrypt_failed");
    assert.deepEqual(await raw(sql), tampered, "all or nothing: no batch kept, no key registered");

    await assertRejectsCode(rotateEncryptionKeys(sql, { encryptionKeys: [] }), "config_invalid", /no encryption key is configured/);
  });
});

test("malformed keys are a ConfigError naming the variable or option and the position, never the key, before any statement", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const short = encodeBase64(new Uint8Array(31).fill(0x44));
    const urlSafe = K1.replace(/=+$/, "").replaceAll("+", "-");
    const notBase64 = "not-a-key-at-all!";
    const env = { ...PROVIDERS, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${K1},${short},${notBase64}` };
    const calls: [string, () => Promise<unknown>][] = [
      ["seed", () => seedAIProvidersFromEnv(sql, { env })],
      ["plan", () => planSeed(sql, { env })],
      ["rotate", () => rotateEncryptionKeys(sql, { env })],
      ["decrypt", () => decryptAtRest(sql, { env })],
      ["status", () => encryptionStatus(sql, { env })],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(() => null, (e: unknown) => e);
      assert.ok(err instanceof ConfigError, `${name}: ConfigError, got ${err}`);
      assert.deepEqual(err.problems.map((p) => p.replace(/ \(.*$/, "").replace(/ decodes to .*$/, "")), [
        "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: key at position 2",
        "CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: key at position 3 is not standard base64",
      ], name);
      assert.match(err.problems[0], /decodes to 31 bytes, must be 32/);
      for (const secret of [K1, short, notBase64]) assert.ok(!err.message.includes(secret), `${name}: no key in the message`);
    }
    const option = await rotateEncryptionKeys(sql, { encryptionKeys: [urlSafe] }).then(() => null, (e: unknown) => e);
    assert.ok(option instanceof ConfigError);
    assert.match(option.problems[0], /^encryptionKeys: key at position 1 is not standard base64/);
    assert.ok(!option.message.includes(urlSafe));
    assert.deepEqual(queries, [], "no statement was sent");
  });
});

test("status counts values per key id, plaintext under null, lists the dbcrypt_keys rows and the key ids nobody configured", async () => {
  await withDatabase(async ({ sql }) => {
    const [d1, d2] = [await digestOf(K1), await digestOf(K2)];
    const empty = await encryptionStatus(sql, { encryptionKeys: [] });
    assert.deepEqual(empty, { primary: null, configured: [], values: [], dbcryptKeys: [], missing: [] });

    await seedAIProvidersFromEnv(sql, { env: BEDROCK, encryptionKeys: [K1] });
    await seedAIProvidersFromEnv(sql, { env: { ...BEDROCK, CODER_AIBRIDGE_OPENAI_KEY: "sk-enc-openai-0002" }, encryptionKeys: [K2, K1] });
    // Without keys (the Bedrock provider, whose settings it could not read, left out): plaintext.
    await seedAIProvidersFromEnv(sql, { env: { CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-enc-0003" }, encryptionKeys: [] });

    const status = await encryptionStatus(sql, { env: { CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K1 } });
    assert.equal(status.primary, d1);
    assert.deepEqual(status.configured, [d1]);
    assert.deepEqual(status.values, [
      { keyId: null, keys: 1, settings: 0, configured: true },
      ...[{ keyId: d1, keys: 0, settings: 1, configured: true }, { keyId: d2, keys: 1, settings: 0, configured: false }].sort((a, b) =>
        a.keyId < b.keyId ? -1 : 1
      ),
    ]);
    assert.deepEqual(status.missing, [{ keyId: d2, providers: ["openai"] }]);
    assert.deepEqual(
      status.dbcryptKeys!.map((k) => [k.number, k.activeKeyDigest, k.revokedKeyDigest, k.revokedAt, k.configured, k.testOk]),
      [[1, d1, null, null, true, true], [2, d2, null, null, false, null]],
    );
    assert.ok(status.dbcryptKeys!.every((k) => !Number.isNaN(Date.parse(k.createdAt))));
    const serialised = JSON.stringify(status);
    for (const secret of [K1, K2, "sk-enc-openai-0002", "sk-ant-enc-0003", "AKIAENCRYPTIONTEST01"]) assert.ok(!serialised.includes(secret));
  });
});

test("rotation takes advisory lock 10: a holder makes it fail with LockTimeoutError naming the holder, or time out at its deadline", async () => {
  await withDatabase(async ({ sql, connect }) => {
    await seedAIProvidersFromEnv(sql, { env: PROVIDERS });
    const holder = connect({ max: 1 });
    const held = holder.reserve();
    const conn = await held;
    try {
      await conn.unsafe("begin");
      await conn.unsafe("select set_config('application_name', 'lock-holder-test', true), pg_advisory_xact_lock(10)");
      const err = await rotateEncryptionKeys(sql, { encryptionKeys: [K1], lockTimeoutMs: 300 }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof SeedError && err.code === "lock_timeout", `lock_timeout, got ${err}`);
      assert.match(err.message, /lock-holder-test/);
      // Waiting forever for the lock is still bounded by the deadline.
      const late = await rotateEncryptionKeys(sql, { encryptionKeys: [K1], lockTimeoutMs: 0, timeoutMs: 300 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(late instanceof SeedError && late.code === "timeout", `timeout, got ${late}`);
      // The client's deadline and the server's statement_timeout (set to the same deadline) race: either says timeout.
      assert.match(late.message, /^rotate the encryption keys: .*(timeoutMs 300 ms|statement timeout)/);
      assert.ok((await raw(sql)).keys.every((k) => k.api_key_key_id === null), "nothing written");
      await conn.unsafe("rollback");
    } finally {
      conn.release();
    }
    const done = await rotateEncryptionKeys(sql, { encryptionKeys: [K1], lockTimeoutMs: 300 });
    assert.equal(done.keys, 4);
  });
});
