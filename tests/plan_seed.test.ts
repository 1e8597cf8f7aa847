// planSeed: what a seed would do, read-only, on a real PostgreSQL.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, DriftError, planSeed, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { captureLogger, insertRow, snapshot, withDatabase } from "./_db.ts";

const BEDROCK_SETTINGS = '{"_type":"bedrock","_version":1,"model":"m","region":"us-west-2","small_fast_model":"s"}';

test("a plan on an empty database: every provider to insert, with masked keys; nothing written, one round trip", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const logger = captureLogger();
    const plan = await planSeed(sql, {
      env: {
        CODER_AIBRIDGE_OPENAI_KEY: "sk-plan-openai-0001",
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "google",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: "g-key-0001,g-key-0002",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "copilot",
      },
      logger,
    });
    assert.deepEqual(plan.entries.map((e) => [e.name, e.type, e.action, e.keyCount, e.maskedKeys, e.providerId, e.drift]), [
      ["copilot", "copilot", "insert", 0, [], null, []],
      ["google", "google", "insert", 2, ["g-...01", "g-...02"], null, []],
      ["openai", "openai", "insert", 1, ["sk...01"], null, []],
    ]);
    assert.equal(plan.changes, true);
    assert.deepEqual(plan.counts, { insert: 3, keys: 3, unchanged: 0, skipDeleted: 0, drift: 0 });
    assert.deepEqual(queries.length, 1, `one read, no transaction, no lock: ${queries.join(" | ")}`);
    // The read's own settings bound its wait (lock_timeout), but it takes no lock.
    assert.doesNotMatch(queries[0], /\bbegin\b|pg_advisory/i);
    assert.deepEqual(await snapshot(sql), { providers: [], keys: [] });
    assert.deepEqual(logger.lines, [], "no seed or audit log line");
    assert.ok(!JSON.stringify(plan).includes("sk-plan-openai-0001"), "keys only masked");
  });
});

test("a plan shows field-level drift with both values, for every drifted provider, and writes nothing", async () => {
  await withDatabase(async ({ sql }) => {
    const openai = await insertRow(sql, { name: "openai", type: "openai", base_url: "https://api.openai.com/v1" });
    const gateway = await insertRow(sql, { name: "gateway", type: "openai", base_url: "https://gw.example/v1" });
    const claude = await insertRow(sql, { name: "claude", type: "anthropic", base_url: "", settings: BEDROCK_SETTINGS });
    const before = await snapshot(sql);

    const plan = await planSeed(sql, {
      config: {
        legacyOpenAI: { baseURL: "https://proxy.example/v1", key: "sk-x" },
        providers: [
          { type: "azure", name: "gateway", baseURL: "https://azure.example/v1" },
          { type: "anthropic", name: "claude", bedrockRegion: "eu-central-1", bedrockModel: "m" },
        ],
      },
    });
    assert.deepEqual(plan.entries.map((e) => [e.name, e.action, e.providerId, e.drift]), [
      ["claude", "drift", claude, [{ field: "bedrock_region", stored: "us-west-2", desired: "eu-central-1" }]],
      ["gateway", "drift", gateway, [
        { field: "type", stored: "openai", desired: "azure" },
        { field: "base_url", stored: "https://gw.example/v1", desired: "https://azure.example/v1" },
      ]],
      ["openai", "drift", openai, [{ field: "base_url", stored: "https://api.openai.com/v1", desired: "https://proxy.example/v1" }]],
    ]);
    assert.equal(plan.counts.drift, 3);
    assert.equal(plan.changes, true);
    assert.deepEqual(await snapshot(sql), before);

    // The seed decides the same, under the lock, and lists the same drifts.
    const err = await seedAIProvidersFromEnv(sql, {
      config: {
        legacyOpenAI: { baseURL: "https://proxy.example/v1", key: "sk-x" },
        providers: [
          { type: "azure", name: "gateway", baseURL: "https://azure.example/v1" },
          { type: "anthropic", name: "claude", bedrockRegion: "eu-central-1", bedrockModel: "m" },
        ],
      },
    }).then(() => null, (e) => e);
    assert.ok(err instanceof DriftError);
    assert.deepEqual(err.drifts, plan.entries.map((e) => ({ provider: e.name, fields: e.drift })));
    assert.deepEqual(await snapshot(sql), before);
  });
});

test("unchanged, skip-deleted and insert side by side; no changes once applied", async () => {
  await withDatabase(async ({ sql }) => {
    await insertRow(sql, { name: "gone", type: "openai", base_url: "https://gone.example/v1", deleted: true, enabled: false });
    await insertRow(sql, { name: "kept", type: "openai", base_url: "https://kept.example/v1", enabled: false });
    const config = {
      providers: [
        { type: "openai", name: "gone", baseURL: "https://gone.example/v1", keys: ["k-gone"] },
        { type: "openai", name: "kept", baseURL: "https://kept.example/v1", keys: ["k-kept"] },
        { type: "openai", name: "new", baseURL: "https://new.example/v1", keys: ["k-new-0001"] },
      ],
    };
    const plan = await planSeed(sql, { config });
    assert.deepEqual(plan.entries.map((e) => [e.name, e.action, e.keyCount]), [
      ["gone", "skip-deleted", 0],
      ["kept", "unchanged", 0],
      ["new", "insert", 1],
    ]);
    assert.equal(plan.changes, true);

    // The seed applies exactly that plan.
    const report = await seedAIProvidersFromEnv(sql, { config });
    assert.deepEqual(report.entries.map((e) => [e.name, e.action, e.keyCount]), [
      ["gone", "skip-deleted", 0],
      ["kept", "unchanged", 0],
      ["new", "insert", 1],
    ]);
    assert.deepEqual(report.counts, plan.counts, "one vocabulary: the report counts what the plan counted");

    const after = await planSeed(sql, { config });
    assert.deepEqual(after.entries.map((e) => e.action), ["skip-deleted", "unchanged", "unchanged"]);
    assert.equal(after.changes, false, "a deleted provider is no change: deletion is sticky");
    assert.equal(after.entries[2].providerId, report.entries[2].providerId);
  });
});

test("a plan carries the configuration warnings", async () => {
  await withDatabase(async ({ sql }) => {
    const plan = await planSeed(sql, {
      env: {
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "k-1",
        CODER_AIBRIDGE_PROVIDER_0_TYPO: "x",
        CODER_AIBRIDGE_PROVIDER_1_TYPE: "copilot",
        CODER_AIBRIDGE_PROVIDER_1_KEY: "k-ignored",
      },
    }).catch((e) => e);
    // copilot with a key is a configuration problem in the env path …
    assert.ok(plan instanceof ConfigError);

    const ok = await planSeed(sql, {
      env: { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KEY: "k-1", CODER_AIBRIDGE_PROVIDER_0_TYPO: "x" },
    });
    assert.deepEqual(ok.warnings, [
      {
        msg: "ignoring unknown AI provider field (check for typos)",
        fields: { env: "CODER_AIBRIDGE_PROVIDER_0_TYPO", suggestion: "CODER_AIBRIDGE_PROVIDER_0_TYPE" },
      },
    ]);
    // … and the ready-config path warns and drops the keys instead.
    const dropped = await planSeed(sql, { config: { providers: [{ type: "copilot", keys: ["k-ignored"] }] } });
    assert.deepEqual(dropped.warnings.map((w) => w.fields), [{ name: "copilot", ignored_key_count: 1 }]);
    assert.deepEqual(dropped.entries.map((e) => [e.name, e.keyCount]), [["copilot", 0]]);
  });
});

test("nothing configured: an empty plan that still checks the tables; an invalid configuration: ConfigError and no statement", async () => {
  await withDatabase(async ({ sql, queries }) => {
    await assert.rejects(planSeed(sql, { env: { CODER_AIBRIDGE_PROVIDER_0_NAME: "x" } }), ConfigError);
    assert.deepEqual(queries, []);
    const plan = await planSeed(sql, { env: {} });
    assert.deepEqual(plan.entries, []);
    assert.equal(plan.changes, false);
    assert.ok(queries.length > 0, "the tables are read even with nothing configured");
  });
  await withDatabase(async ({ sql }) => {
    await assert.rejects(planSeed(sql, { env: {} }), (e: unknown) => e instanceof SeedError && e.code === "schema_missing");
  }, { schema: false });
});

test("a plan against a database without the tables says to create them", async () => {
  await withDatabase(async ({ sql }) => {
    await assert.rejects(planSeed(sql, { env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-x" } }), (e: unknown) => {
      assert.ok(e instanceof SeedError);
      assert.equal(e.code, "schema_missing");
      return true;
    });
  }, { schema: false });
});
