// Replicas with encryption keys starting at the same moment, as separate
// OS processes, against one empty database: the primary is registered in
// dbcrypt_keys exactly once and every value is encrypted exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decryptValue, encodeBase64, parseEncryptionKeys } from "../lib/_dbcrypt.ts";
import { withDatabase } from "./_db.ts";
import { runScript, testPath } from "./_spawn.ts";

const PROCESSES = 6;
const KEY = encodeBase64(new Uint8Array(32).fill(0x5a));

test("concurrent encrypted seeds from several processes: one dbcrypt_keys row, every key and setting encrypted once", async () => {
  await withDatabase(async ({ sql, url }) => {
    const env = {
      SEED_TEST_DATABASE_URL: url,
      CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: KEY,
      CODER_AIBRIDGE_OPENAI_KEY: "sk-concurrent-enc-openai",
      CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-concurrent-enc-anthropic",
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openrouter",
      CODER_AIBRIDGE_PROVIDER_0_KEYS: "or-enc-1,or-enc-2,or-enc-3",
      CODER_AIBRIDGE_PROVIDER_1_TYPE: "bedrock",
      CODER_AIBRIDGE_PROVIDER_1_BEDROCK_REGION: "ap-south-1",
      CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY: "AKIACONCURRENTENC",
      CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY_SECRET: "concurrent-enc-secret",
    };
    const script = testPath("./fixtures/encryption_seed_process.ts");
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => runScript(script, env)));
    const outcomes = results.map((r) => {
      assert.equal(r.code, 0, `a replica failed: ${r.stdout}${r.stderr}`);
      return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { ok: boolean; insert: number; keys: number };
    });
    assert.equal(outcomes.reduce((n, o) => n + o.insert, 0), 4, "each provider inserted by one replica");
    assert.equal(outcomes.reduce((n, o) => n + o.keys, 0), 5);

    const keyring = await parseEncryptionKeys([KEY], "test");
    const digest = keyring.primary!.digest;
    const dbcrypt = await sql<{ number: number; active_key_digest: string; test: string }[]>`
      select number, active_key_digest, test from dbcrypt_keys order by number`;
    assert.deepEqual(dbcrypt.map((r) => [r.number, r.active_key_digest]), [[1, digest]], "registered exactly once");
    assert.equal(await decryptValue(keyring.primary!, dbcrypt[0].test), "coder");

    const keys = await sql<{ provider: string; api_key: string; api_key_key_id: string }[]>`
      select p.name as provider, k.api_key, k.api_key_key_id from ai_provider_keys k join ai_providers p on p.id = k.provider_id`;
    assert.ok(keys.every((k) => k.api_key_key_id === digest));
    // Decrypting once gives the key itself: nothing was encrypted twice.
    const plain = (await Promise.all(keys.map(async (k) => `${k.provider}=${await decryptValue(keyring.primary!, k.api_key)}`))).sort();
    assert.deepEqual(plain, [
      "anthropic=sk-concurrent-enc-anthropic",
      "openai=sk-concurrent-enc-openai",
      "openrouter=or-enc-1",
      "openrouter=or-enc-2",
      "openrouter=or-enc-3",
    ]);
    const [bedrock] = await sql<{ settings: string; settings_key_id: string }[]>`
      select settings, settings_key_id from ai_providers where type = 'bedrock'`;
    assert.equal(bedrock.settings_key_id, digest);
    const settings = JSON.parse(await decryptValue(keyring.primary!, bedrock.settings));
    assert.deepEqual([settings._type, settings.region, settings.access_key], ["bedrock", "ap-south-1", "AKIACONCURRENTENC"]);
  });
});
