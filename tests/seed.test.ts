// The seed's core behaviours (docs/behaviour.md, "The seed"), each on a real PostgreSQL.
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

test("an empty configuration sends no statement and takes no lock", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const report = await seedAIProvidersFromEnv(sql, { env: {} });
    assert.deepEqual(report.entries, []);
    assert.deepEqual(report.counts, { insert: 0, keys: 0, unchanged: 0, skipDeleted: 0, drift: 0 });
    assert.equal(report.lockTaken, false);
    assert.equal(report.statements, 0);
    assert.equal(report.roundTrips, 0);
    assert.deepEqual(queries, [], "no statement at all, so no lock and no transaction");
  });
});

test("a legacy OpenAI key seeds one enabled openai row with its key, logs after the commit, and a second run changes nothing", async () => {
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
    assert.equal(report.counts.insert, 1);
    assert.equal(report.counts.keys, 1);
    assert.deepEqual(report.entries, [
      { name: "openai", type: "openai", action: "insert", providerId: providers[0].id, keyCount: 1, maskedKeys: ["s...y"], drift: [] },
    ]);

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
    assert.equal(second.counts.insert, 0);
    assert.equal(second.counts.unchanged, 1);
    assert.deepEqual(second.entries.map((e) => [e.action, e.providerId]), [["unchanged", providers[0].id]]);
    assert.equal(again.lines.filter((l) => l.msg.startsWith("env-seeded")).length, 0);
  });
});

test("rotating only the key is not drift; a changed base URL is drift and writes nothing", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    const before = await snapshot(sql);

    const rotated = await seedAIProvidersFromEnv(sql, { env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_OPENAI_KEY: "sk-rotated" } });
    assert.equal(rotated.counts.unchanged, 1);
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

test("rotating the Bedrock access key and secret is not drift; a changed Bedrock region is", async () => {
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
    assert.equal(rotated.counts.unchanged, 1);
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

test("legacy Bedrock alone seeds an anthropic row whose settings hold region, models and credentials, and no key rows", async () => {
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
    // Sorted keys, as Go's json.Marshal writes Coder's settings map.
    assert.equal(
      providers[0].settings,
      '{"_type":"bedrock","_version":1,"access_key":"AKIAEXAMPLE0001","access_key_secret":"bedrock-secret-0001","model":"anthropic.claude-test","region":"us-west-2","small_fast_model":"global.anthropic.claude-haiku-4-5-20251001-v1:0"}',
    );
    assert.deepEqual(keys, []);
  });
});

test("an Anthropic key alone, with the Bedrock model defaults, seeds NULL settings and one key", async () => {
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

test("a Bedrock region and model without credentials store settings without credentials, and no keys", async () => {
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

test("indexed providers are seeded with every key: two for primary-openai, one for primary-anthropic with NULL settings", async () => {
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
    assert.deepEqual(report.entries.map((e) => [e.name, e.action, e.keyCount]), [
      ["primary-anthropic", "insert", 1],
      ["primary-openai", "insert", 2],
    ]);
    assert.deepEqual(report.counts, { insert: 2, keys: 3, unchanged: 0, skipDeleted: 0, drift: 0 });
  });
});

test("an indexed anthropic provider with Bedrock credentials keeps them in its settings and gets no key rows", async () => {
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

test("a legacy and an indexed provider of the same name conflict, and nothing is sent", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const err = await seedAIProvidersFromEnv(sql, {
      env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-idx" },
    }).then(() => null, (e) => e);
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /conflicts/);
    assert.deepEqual(queries, []);
  });
});

test("an invalid provider name is a configuration error before any statement, from the environment or a ready config", async () => {
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

test("a provider of an unknown type is skipped with a warning and the others are seeded", async () => {
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

test("a soft-deleted provider is never resurrected: deletion is sticky", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    await sql`update ai_providers set deleted = true, enabled = false where name = 'openai'`;
    const logger = captureLogger();
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI, logger });
    const { providers } = await snapshot(sql);
    assert.equal(providers.length, 1);
    assert.equal(providers[0].deleted, true);
    assert.equal(providers.filter((p) => !p.deleted).length, 0, "no live row after re-seeding");
    assert.equal(report.counts.skipDeleted, 1);
    assert.deepEqual(report.entries.map((e) => e.action), ["skip-deleted"]);
    assert.ok(
      logger.lines.some((l) =>
        l.level === "warn" && l.msg === "skipping env-seeded ai provider that was previously soft-deleted" && l.fields.name === "openai"
      ),
    );
  });
});

test("identical duplicate entries seed one row with the first entry's keys; conflicting duplicates are an error", async () => {
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

test("the live row is compared even when soft-deleted rows share its name", async () => {
  await withDatabase(async ({ sql }) => {
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://old.example/v1", deleted: true, enabled: false });
    const live = await insertRow(sql, { name: "openai", type: "openai", base_url: "https://api.openai.com/v1" });
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://older.example/v1", deleted: true, enabled: false });
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    assert.deepEqual(report.entries.map((e) => [e.name, e.action, e.providerId]), [["openai", "unchanged", live]]);
    assert.equal((await snapshot(sql)).keys.length, 0, "an existing provider never gets keys from the environment");

    await assert.rejects(
      seedAIProvidersFromEnv(sql, { env: { ...LEGACY_OPENAI, CODER_AIBRIDGE_OPENAI_BASE_URL: "https://old.example/v1" } }),
      DriftError,
    );
  });
});

test("a disabled row that matches stays disabled and unchanged", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    await sql`update ai_providers set enabled = false where name = 'openai'`;
    const before = await snapshot(sql);
    const report = await seedAIProvidersFromEnv(sql, { env: LEGACY_OPENAI });
    assert.equal(report.counts.unchanged, 1);
    assert.deepEqual(await snapshot(sql), before);
    assert.equal(before.providers[0].enabled, false);
  });
});

test("a drift on the last provider leaves no row, no key, no audit entry and no seed log line behind", async () => {
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

test("a DriftError lists every drifted provider at once, one line each", async () => {
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

test("audit: one entry per inserted row after the commit, in a deterministic order, secrets masked", async () => {
  await withDatabase(async ({ sql }) => {
    const audit = memoryAuditSink();
    const report = await seedAIProvidersFromEnv(sql, {
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
    // Through the audit table: written in the transaction, then claimed and settled after it.
    assert.equal(report.auditDelivered, 6);
    assert.equal(report.roundTrips, 5, "read; begin, settings, lock and read; inserts and commit; claim; settle");
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
    assert.equal(report.auditDelivered, 1, "the key's entry was delivered");
    const line = logger.lines.find((l) => l.level === "error");
    assert.equal(line?.fields.error, "audit store unavailable");
  });
});

// The statements of a cold seed, in the order withDatabase's client sent
// them (however the store batches them into texts, one text per round trip
// or one per statement).
const COLD_SEED = [
  /^select set_config\('lock_timeout', .*'statement_timeout'/,
  /^select json_build_object\('pid', .* from ai_providers p\)/,
  /^begin isolation level read committed$/,
  /^select set_config\('lock_timeout', .*'idle_in_transaction_session_timeout'.*'application_name'/,
  /^select pg_advisory_xact_lock\(10\)$/,
  /^select json_build_object\('pid', .* from ai_providers p\)/,
  // What is left of the deadline, for the statements of the commit message.
  /^select set_config\('statement_timeout', .*'lock_timeout'/,
  // With the audit table each insert also writes its rows' audit entries.
  /^with r as \(.* insert into ai_providers .* insert into ai_provider_audit /,
  /^with k as \(.* insert into ai_provider_keys .* insert into ai_provider_audit /,
  /^commit$/,
];

/** The statements in the texts sent, each with its string literals blanked. */
function statementsOf(texts: readonly string[]): string[] {
  return texts.flatMap((t) => shape(t).split(/;\s*/)).map((t) => t.trim()).filter((t) => t !== "");
}

/** A statement's text with its string literals (the values, the ids, the timeouts, the `$j$` documents) blanked. */
function shape(statement: string): string {
  // A scan rather than a regular expression: a literal may hold megabytes.
  let out = "";
  let at = 0;
  for (;;) {
    const escaped = statement.indexOf("E'", at);
    const dollar = statement.indexOf("$j", at);
    if (escaped < 0 && dollar < 0) return out + statement.slice(at);
    if (dollar >= 0 && (escaped < 0 || dollar < escaped)) {
      // A dollar-quoted document: $j$…$j$ (or $j0$…$j0$ when the text holds "$j$").
      const tag = statement.slice(dollar, statement.indexOf("$", dollar + 1) + 1);
      const close = statement.indexOf(tag, dollar + tag.length);
      if (close < 0) return out;
      out += `${statement.slice(at, dollar)}$j$…$j$`;
      at = close + tag.length;
      continue;
    }
    out += `${statement.slice(at, escaped)}E'…'`;
    let i = escaped + 2;
    for (;;) {
      const quote = statement.indexOf("'", i);
      if (quote < 0) return out;
      if (statement[quote + 1] === "'") {
        i = quote + 2;
        continue;
      }
      at = quote + 1;
      break;
    }
  }
}

test("keys and base URLs holding quotes, backslashes, dollar-quote tags and lone surrogates are stored exactly (a lone surrogate as U+FFFD)", async () => {
  await withDatabase(async ({ sql }) => {
    const keys = [
      "sk-'quoted'-\\back\\slash",
      "sk-$j$-tag-$j0$-$j1$",
      "sk-ends-with-$j",
      "sk-lone-\ud800-surrogate",
      "sk-\\ud800-escape-text",
    ];
    const env = {
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
      CODER_AIBRIDGE_PROVIDER_0_NAME: "odd-values",
      CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://example.test/$j$/'v1'\\",
      CODER_AIBRIDGE_PROVIDER_0_KEYS: keys.join(","),
    };
    const report = await seedAIProvidersFromEnv(sql, { env });
    assert.equal(report.counts.keys, keys.length);
    const { providers, keys: stored } = await snapshot(sql);
    assert.equal(providers[0].base_url, "https://example.test/$j$/'v1'\\");
    assert.deepEqual(stored.map((k) => k.api_key).sort(), keys.map((k) => k.replace("\ud800", "\ufffd")).sort());
    assert.equal((await seedAIProvidersFromEnv(sql, { env })).entries[0].action, "unchanged");
  });
});

test("a cold seed sends the same statements in 3 round trips whatever the number of providers and keys", async () => {
  const seed = async (n: number) =>
    await withDatabase(async ({ sql, queries }) => {
      const providers = Array.from({ length: n }, (_, i) => ({ type: "openai", name: `p-${i}`, keys: [`key-${i}-a`, `key-${i}-b`] }));
      const report = await seedAIProvidersFromEnv(sql, { config: { providers } });
      assert.equal(report.counts.insert, n);
      assert.equal(report.counts.keys, 2 * n);
      return { statements: report.statements, roundTrips: report.roundTrips, sent: statementsOf(queries) };
    });
  const one = await seed(1);
  const hundred = await seed(100);
  assert.deepEqual(hundred, one);
  assert.equal(one.roundTrips, 3, "read; begin, settings, lock and read under it; inserts and commit");
  assert.equal(
    one.statements,
    10,
    "the read's two; four to take the lock; the deadline's settings, two inserts (each with its audit entries) and the commit",
  );
  assert.equal(one.sent.length, one.statements, `the report counts what was sent: ${one.sent.join(" | ")}`);
  one.sent.forEach((text, i) => assert.match(text, COLD_SEED[i]));
});

test("10,000 providers with 5 keys each seed in the same statements as one provider", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const providers = Array.from({ length: 10_000 }, (_, i) => ({
      type: "openai-compat",
      name: `gw-${i}`,
      baseURL: `https://gw-${i}.example/v1`,
      keys: Array.from({ length: 5 }, (_, k) => `key-${i}-${k}`),
    }));
    const report = await seedAIProvidersFromEnv(sql, { config: { providers } });
    assert.equal(report.counts.insert, 10_000);
    assert.equal(report.counts.keys, 50_000);
    const sent = statementsOf(queries);
    assert.equal(sent.length, COLD_SEED.length, "the same statements as for one provider");
    sent.forEach((text, i) => assert.match(text, COLD_SEED[i]));
    assert.equal(report.statements, COLD_SEED.length);
    assert.equal(report.roundTrips, 3);
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

test("settings encrypted with a key that is not configured stop the seed, naming the provider, the key id and the variable", async () => {
  await withDatabase(async ({ sql }) => {
    const before = await snapshot(sql);
    // As on a Coder database: the key is registered in dbcrypt_keys, and the row names it.
    await sql`insert into dbcrypt_keys (number, active_key_digest, test) values (1, 'key-1', 'not-checked')`;
    const id = await insertRow(sql, { name: "anthropic", type: "anthropic", base_url: "", settings: "ciphertext" });
    await sql`update ai_providers set settings_key_id = 'key-1' where id = ${id}`;
    await assert.rejects(seedAIProvidersFromEnv(sql, { env: LEGACY_BEDROCK }), (e: unknown) => {
      assert.ok(e instanceof SeedError);
      assert.equal(e.code, "encryption_key_missing");
      assert.match(e.message, /"anthropic".*key-1.*CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS/);
      return true;
    });
    assert.equal((await snapshot(sql)).keys.length, before.keys.length);
  });
});
