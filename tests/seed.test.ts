// SPEC section 9: the seed's behaviours, each on a real PostgreSQL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, DriftError, memoryAuditSink, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { captureLogger, insertRow, snapshot, withDatabase } from "./_db.ts";

const LEGACY_OPENAI = { CODER_AIBRIDGE_OPENAI_BASE_URL: "https://api.openai.com/v1", CODER_AIBRIDGE_OPENAI_KEY: "sk-legacy" };
const LEGACY_BEDROCK = {
  CODER_AIBRIDGE_BEDROCK_REGION: "us-west-2",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIAEXAMPLE0001",
  CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: "bedrock-secret-0001",
  CODER_AIBRIDGE_BEDROCK_MODEL: "anthropic.claude-test",
};

test("1. empty config: no error and no transaction", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const report = await seedAIProvidersFromEnv(sql, { env: {} });
    assert.deepEqual(report.providers, []);
    assert.deepEqual(queries, [], "no statement at all, so no lock and no transaction");
  });
});

test("2. legacy OpenAI: one row, one key, post-commit logs; a second run changes nothing", async () => {
  await withDatabase(async ({ sql }) => {
    const logger = captureLogger();
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI, logger });
    const { providers, keys } = await snapshot(sql);
    assert.equal(providers.length, 1);
    assert.equal(providers[0].name, "openai");
    assert.equal(providers[0].type, "openai");
    assert.equal(providers[0].base_url, "https://api.openai.com/v1");
    assert.equal(providers[0].enabled, true);
    assert.equal(providers[0].deleted, false);
    assert.equal(providers[0].display_name, "openai");
    assert.deepEqual(keys.map((k) => k.api_key), ["sk-legacy"]);
    assert.equal(report.inserted, 1);
    assert.equal(report.keysInserted, 1);

    const seeded = logger.lines.find((l) => l.msg === "env-seeded ai provider");
    assert.deepEqual(seeded?.fields, {
      provider_id: providers[0].id,
      name: "openai",
      type: "openai",
      base_url: "https://api.openai.com/v1",
    });
    const key = logger.lines.find((l) => l.msg === "env-seeded ai provider key");
    assert.deepEqual(key?.fields, { key_id: keys[0].id, provider_id: providers[0].id, api_key: "s...y" });
    assert.ok(logger.lines.some((l) => l.msg === "seeded ai provider from environment" && l.fields.key_count === 1));

    const again = captureLogger();
    const second = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI, logger: again });
    assert.deepEqual(await snapshot(sql), { providers, keys });
    assert.equal(second.inserted, 0);
    assert.equal(second.unchanged, 1);
    assert.equal(again.lines.filter((l) => l.msg.startsWith("env-seeded")).length, 0);
  });
});

test("3. changing only the key is not drift; changing the base URL is drift", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    const before = await snapshot(sql);

    const rotated = await seedAIProvidersFromEnv(sql, { env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_OPENAI_KEY: "sk-rotated" } });
    assert.equal(rotated.unchanged, 1);
    assert.deepEqual(await snapshot(sql), before, "stored key unchanged, no second key");

    const err = await seedAIProvidersFromEnv(sql, {
      env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_OPENAI_BASE_URL: "https://proxy.example.com/v1" },
    }).then(() => null, (e) => e);
    assert.ok(err instanceof DriftError, `expected DriftError, got ${err}`);
    assert.equal(err.code, "drift");
    assert.equal(err.provider, "openai");
    assert.match(
      err.message,
      /AI provider "openai" already exists in the database and differs from the current environment configuration; update the provider through the API or remove the CODER_AIBRIDGE_\* env vars to stop seeding it/,
    );
    assert.deepEqual(err.fields, [{ field: "base_url", stored: "https://api.openai.com/v1", desired: "https://proxy.example.com/v1" }]);
    assert.deepEqual(await snapshot(sql), before);
  });
});

test("4. legacy Bedrock: rotating access key and secret is not drift; changing the region is", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_BEDROCK });
    const before = await snapshot(sql);
    const rotated = await seedAIProvidersFromEnv(sql, {
      env: {
        ...LEGACY_BEDROCK,
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIAROTATED0002",
        CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: "rotated-secret-2",
      },
    });
    assert.equal(rotated.unchanged, 1);
    assert.deepEqual(await snapshot(sql), before);

    await assert.rejects(
      seedAIProvidersFromEnv(sql, { env: { ...LEGACY_BEDROCK, CODER_AIBRIDGE_BEDROCK_REGION: "eu-central-1" } }),
      (e: unknown) => {
        assert.ok(e instanceof DriftError);
        assert.deepEqual(e.fields, [{ field: "bedrock_region", stored: "us-west-2", desired: "eu-central-1" }]);
        return true;
      },
    );
    assert.deepEqual(await snapshot(sql), before);
  });
});

test("5. legacy Bedrock only: an anthropic row with Bedrock settings and no key rows", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_BEDROCK });
    const { providers, keys } = await snapshot(sql);
    assert.equal(providers.length, 1);
    assert.equal(providers[0].name, "anthropic");
    assert.equal(providers[0].type, "anthropic");
    assert.equal(providers[0].base_url, "");
    assert.deepEqual(JSON.parse(providers[0].settings!), {
      _type: "bedrock",
      _version: 1,
      access_key: "AKIAEXAMPLE0001",
      access_key_secret: "bedrock-secret-0001",
      model: "anthropic.claude-test",
      region: "us-west-2",
      small_fast_model: "global.anthropic.claude-haiku-4-5-20251001-v1:0",
    });
    // Sorted keys, as the spec fixes the blob's layout.
    assert.equal(
      providers[0].settings,
      '{"_type":"bedrock","_version":1,"access_key":"AKIAEXAMPLE0001","access_key_secret":"bedrock-secret-0001","model":"anthropic.claude-test","region":"us-west-2","small_fast_model":"global.anthropic.claude-haiku-4-5-20251001-v1:0"}',
    );
    assert.deepEqual(keys, []);
  });
});

test("6. Anthropic key only, Bedrock model defaults applied: settings NULL and one key", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: { CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-only" } });
    const { providers, keys } = await snapshot(sql);
    assert.equal(providers.length, 1);
    assert.equal(providers[0].name, "anthropic");
    assert.equal(providers[0].base_url, "https://api.anthropic.com/");
    assert.equal(providers[0].settings, null);
    assert.deepEqual(keys.map((k) => k.api_key), ["sk-ant-only"]);
  });
});

test("7. Bedrock region and model without credentials: settings present, no keys", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, {
      env: { CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1", CODER_AIBRIDGE_BEDROCK_MODEL: "anthropic.claude-x" },
    });
    const { providers, keys } = await snapshot(sql);
    assert.equal(providers.length, 1);
    const settings = JSON.parse(providers[0].settings!);
    assert.equal(settings.region, "us-east-1");
    assert.equal(settings.model, "anthropic.claude-x");
    assert.equal("access_key" in settings, false, "empty credentials are absent");
    assert.equal("access_key_secret" in settings, false);
    assert.deepEqual(keys, []);
  });
});

test("8. indexed primary-openai with two keys and primary-anthropic with one", async () => {
  await withDatabase(async ({ sql }) => {
    const report = await seedAIProvidersFromEnv(sql, {
      env: {
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_NAME: "primary-openai",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-one, sk-two",
        CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://api.openai.com/v1/",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "anthropic",
        CODER_AIBRIDGE_PROVIDER_1_NAME: "primary-anthropic",
        CODER_AIBRIDGE_PROVIDER_1_KEY: "sk-ant-1",
      },
    });
    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(providers.map((p) => [p.name, p.type, p.settings]), [
      ["primary-anthropic", "anthropic", null],
      ["primary-openai", "openai", null],
    ]);
    assert.deepEqual(keys.map((k) => [k.provider, k.api_key]).sort(), [
      ["primary-anthropic", "sk-ant-1"],
      ["primary-openai", "sk-one"],
      ["primary-openai", "sk-two"],
    ]);
    assert.deepEqual(report.providers.map((p) => [p.name, p.action, p.keyCount]), [
      ["primary-anthropic", "inserted", 1],
      ["primary-openai", "inserted", 2],
    ]);
  });
});

test("9. indexed anthropic with Bedrock credentials: no key rows, settings hold the credentials", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, {
      env: {
        CODER_AI_GATEWAY_PROVIDER_0_TYPE: "anthropic",
        CODER_AI_GATEWAY_PROVIDER_0_NAME: "claude-bedrock",
        CODER_AI_GATEWAY_PROVIDER_0_BEDROCK_REGION: "us-east-2",
        CODER_AI_GATEWAY_PROVIDER_0_BEDROCK_MODEL: "anthropic.claude-y",
        CODER_AI_GATEWAY_PROVIDER_0_BEDROCK_ACCESS_KEY: "AKIAINDEXED00001",
        CODER_AI_GATEWAY_PROVIDER_0_BEDROCK_ACCESS_KEY_SECRET: "indexed-secret-01",
      },
    });
    const { providers, keys } = await snapshot(sql);
    assert.equal(providers.length, 1);
    assert.deepEqual(JSON.parse(providers[0].settings!), {
      _type: "bedrock",
      _version: 1,
      access_key: "AKIAINDEXED00001",
      access_key_secret: "indexed-secret-01",
      model: "anthropic.claude-y",
      region: "us-east-2",
    });
    assert.deepEqual(keys, []);
  });
});

test("10. legacy and indexed with the same name: error containing `conflicts`, nothing written", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const err = await seedAIProvidersFromEnv(sql, {
      env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-idx" },
    }).then(() => null, (e) => e);
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /conflicts/);
    assert.deepEqual(queries, []);
  });
});

test("11. name Bad_Name: error containing `invalid AI provider name`", async () => {
  await withDatabase(async ({ sql, queries }) => {
    await assert.rejects(
      seedAIProvidersFromEnv(sql, {
        env: { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "Bad_Name", CODER_AIBRIDGE_PROVIDER_0_KEY: "k1" },
      }),
      (e: unknown) => e instanceof ConfigError && /invalid AI provider name "Bad_Name"/.test(e.message),
    );
    // Through a ready config (no env checks), normalisation says the same.
    await assert.rejects(
      seedAIProvidersFromEnv(sql, { config: { providers: [{ type: "openai", name: "Bad_Name", keys: ["k1"] }] } }),
      (e: unknown) => e instanceof ConfigError && /invalid AI provider name "Bad_Name"/.test(e.message),
    );
    assert.deepEqual(queries, []);
  });
});

test("12. unknown type is skipped with a warning, the other provider is seeded", async () => {
  await withDatabase(async ({ sql }) => {
    const logger = captureLogger();
    const report = await seedAIProvidersFromEnv(sql, {
      config: {
        providers: [
          { type: "mistral", name: "mistral", keys: ["k-m"] },
          { type: "openai", name: "main", keys: ["k-o"] },
        ],
      },
      logger,
    });
    const { providers } = await snapshot(sql);
    assert.deepEqual(providers.map((p) => p.name), ["main"]);
    const warn = logger.lines.find((l) => l.msg === "skipping indexed AI provider with unsupported type");
    assert.deepEqual(warn?.fields, { name: "mistral", type: "mistral" });
    assert.equal(report.warnings.length, 1);
  });
});

test("13. a soft-deleted row is not resurrected", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    await sql`update ai_providers set deleted = true, enabled = false where name = 'openai'`;
    const logger = captureLogger();
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI, logger });
    const { providers } = await snapshot(sql);
    assert.equal(providers.length, 1);
    assert.equal(providers[0].deleted, true);
    assert.equal(providers.filter((p) => !p.deleted).length, 0, "no live row after re-seeding");
    assert.equal(report.skippedDeleted, 1);
    assert.deepEqual(report.providers.map((p) => p.action), ["skipped-deleted"]);
    assert.ok(
      logger.lines.some((l) =>
        l.level === "warn" && l.msg === "skipping env-seeded ai provider that was previously soft-deleted" && l.fields.name === "openai"
      ),
    );
  });
});

test("14. duplicate identical indexed entries give one row; conflicting ones an error", async () => {
  await withDatabase(async ({ sql }) => {
    const same = { type: "openai", name: "dup", baseURL: "https://a.example/v1", keys: ["k1"] };
    await seedAIProvidersFromEnv(sql, { config: { providers: [same, { ...same, keys: ["k2"] }] } });
    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(providers.map((p) => p.name), ["dup"]);
    assert.deepEqual(keys.map((k) => k.api_key), ["k1"], "the first entry wins");

    await assert.rejects(
      seedAIProvidersFromEnv(sql, { config: { providers: [same, { ...same, baseURL: "https://b.example/v1" }] } }),
      (e: unknown) => e instanceof ConfigError && /duplicate AI provider name "dup" with conflicting fields/.test(e.message),
    );
  });
});

test("15. a live row and a soft-deleted row share a name: the live one is compared", async () => {
  await withDatabase(async ({ sql }) => {
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://old.example/v1", deleted: true, enabled: false });
    const live = await insertRow(sql, { name: "openai", type: "openai", base_url: "https://api.openai.com/v1" });
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://older.example/v1", deleted: true, enabled: false });
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    assert.deepEqual(report.providers.map((p) => [p.name, p.action, p.providerId]), [["openai", "unchanged", live]]);
    assert.equal((await snapshot(sql)).keys.length, 0, "an existing provider never gets keys from the environment");

    await assert.rejects(
      seedAIProvidersFromEnv(sql, { env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_OPENAI_BASE_URL: "https://old.example/v1" } }),
      DriftError,
    );
  });
});

test("16. a disabled row that matches stays disabled and unchanged", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    await sql`update ai_providers set enabled = false where name = 'openai'`;
    const before = await snapshot(sql);
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    assert.equal(report.unchanged, 1);
    assert.deepEqual(await snapshot(sql), before);
    assert.equal(before.providers[0].enabled, false);
  });
});

test("18. a drift on the last provider leaves no row, no key and no audit entry", async () => {
  await withDatabase(async ({ sql }) => {
    await insertRow(sql, { name: "zz-last", type: "openai", base_url: "https://stored.example/v1" });
    const before = await snapshot(sql);
    const audit = memoryAuditSink();
    const logger = captureLogger();
    const err = await seedAIProvidersFromEnv(sql, {
      config: {
        providers: [
          { type: "openai", name: "aa-first", keys: ["k-a"] },
          { type: "anthropic", name: "mm-middle", keys: ["k-m"] },
          { type: "openai", name: "zz-last", baseURL: "https://wanted.example/v1", keys: ["k-z"] },
        ],
      },
      audit,
      logger,
    }).then(() => null, (e) => e);
    assert.ok(err instanceof DriftError);
    assert.equal(err.provider, "zz-last");
    assert.deepEqual(await snapshot(sql), before);
    assert.deepEqual(audit.entries, []);
    assert.equal(logger.lines.filter((l) => l.msg.includes("seeded")).length, 0);
  });
});

test("DriftError lists every drifted provider at once", async () => {
  await withDatabase(async ({ sql }) => {
    await insertRow(sql, { name: "one", type: "openai", base_url: "https://x/1" });
    await insertRow(sql, { name: "two", type: "openai", base_url: "https://x/2" });
    const err = await seedAIProvidersFromEnv(sql, {
      config: {
        providers: [{ type: "openai", name: "one", baseURL: "https://y/1" }, { type: "azure", name: "two", baseURL: "https://x/2" }],
      },
    }).then(() => null, (e) => e);
    assert.ok(err instanceof DriftError);
    assert.deepEqual(err.drifts, [
      { provider: "one", fields: [{ field: "base_url", stored: "https://x/1", desired: "https://y/1" }] },
      { provider: "two", fields: [{ field: "type", stored: "openai", desired: "azure" }] },
    ]);
    assert.equal(err.message.split("\n").length, 2);
  });
});

test("audit: one entry per inserted row after commit, in a deterministic order, secrets masked", async () => {
  await withDatabase(async ({ sql }) => {
    const audit = memoryAuditSink();
    await seedAIProvidersFromEnv(sql, {
      env: {
        ...LEGACY_OPENAI,
        ...LEGACY_BEDROCK,
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "google",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: "g-key-0001,g-key-0002",
      },
      audit,
    });
    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(
      audit.entries.map((e) => [e.resourceType, e.providerName]),
      [
        ["ai_provider", "anthropic"],
        ["ai_provider", "google"],
        ["ai_provider", "openai"],
        ["ai_provider_key", "google"],
        ["ai_provider_key", "google"],
        ["ai_provider_key", "openai"],
      ],
    );
    for (const e of audit.entries) {
      assert.equal(e.actor, "system");
      assert.equal(e.action, "create");
      assert.ok(e.time instanceof Date);
    }
    assert.deepEqual(new Set(audit.entries.map((e) => e.resourceId)), new Set([...providers.map((p) => p.id), ...keys.map((k) => k.id)]));
    const bedrock = audit.entries[0].fields;
    assert.equal(bedrock.bedrock_access_key, "AK...01");
    assert.equal(bedrock.bedrock_access_key_secret, "be...01");
    assert.deepEqual(audit.entries.slice(3).map((e) => e.fields.api_key), ["g-...01", "g-...02", "s...y"]);
  });
});

test("a failing audit sink does not undo the commit: logged at error level and reported", async () => {
  await withDatabase(async ({ sql }) => {
    const logger = captureLogger();
    const report = await seedAIProvidersFromEnv(sql, {
      env: LEGACY_OPENAI,
      logger,
      audit: {
        record(entry) {
          if (entry.resourceType === "ai_provider") throw new Error("audit store unavailable");
        },
      },
    });
    assert.equal((await snapshot(sql)).providers.length, 1);
    assert.deepEqual(report.auditFailures.map((f) => [f.resourceType, f.message]), [["ai_provider", "audit store unavailable"]]);
    const line = logger.lines.find((l) => l.level === "error");
    assert.equal(line?.fields.error, "audit store unavailable");
  });
});

test("the number of statements does not grow with providers or keys", async () => {
  const count = async (n: number) =>
    await withDatabase(async ({ sql, queries }) => {
      const providers = Array.from({ length: n }, (_, i) => ({ type: "openai", name: `p-${i}`, keys: [`key-${i}-a`, `key-${i}-b`] }));
      const report = await seedAIProvidersFromEnv(sql, { config: { providers } });
      assert.equal(report.inserted, n);
      assert.equal(report.keysInserted, 2 * n);
      return [...queries];
    });
  const one = await count(1);
  const hundred = await count(100);
  assert.deepEqual(hundred, one);
  assert.equal(
    one.length,
    8,
    `pre-read without the lock, begin, lock_timeout and application_name, lock, load under the lock, insert providers, insert keys, commit: ${
      one.join(" | ")
    }`,
  );
});

test("10,000 providers with 5 keys each seed in one batch, within the parameter limit", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const providers = Array.from({ length: 10_000 }, (_, i) => ({
      type: "openai-compat",
      name: `gw-${i}`,
      baseURL: `https://gw-${i}.example/v1`,
      keys: Array.from({ length: 5 }, (_, k) => `key-${i}-${k}`),
    }));
    const report = await seedAIProvidersFromEnv(sql, { config: { providers } });
    assert.equal(report.inserted, 10_000);
    assert.equal(report.keysInserted, 50_000);
    assert.equal(queries.length, 8, "the same 8 statements as for one provider");
    assert.equal(report.roundTrips, queries.length);
    const [{ count }] = await sql<{ count: number }[]>`select count(*)::int as count from ai_provider_keys`;
    assert.equal(count, 50_000);
  });
});

test("a database without the tables gets an error that says to run applySchema", async () => {
  await withDatabase(async ({ sql }) => {
    const err = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI }).then(() => null, (e) => e);
    assert.ok(err instanceof SeedError);
    assert.equal(err.code, "schema_missing");
    assert.match(err.message, /applySchema/);
  }, { schema: false });
});

test("encrypted settings on a matching row stop the seed with a clear error", async () => {
  await withDatabase(async ({ sql }) => {
    const id = await insertRow(sql, { name: "anthropic", type: "anthropic", base_url: "", settings: "ciphertext" });
    await sql`update ai_providers set settings_key_id = 'key-1' where id = ${id}`;
    await assert.rejects(seedAIProvidersFromEnv(sql, { env: LEGACY_BEDROCK }), (e: unknown) => {
      assert.ok(e instanceof SeedError);
      assert.equal(e.code, "settings_unreadable");
      assert.match(e.message, /"anthropic".*encrypted/);
      return true;
    });
  });
});
