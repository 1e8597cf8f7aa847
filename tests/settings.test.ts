// The settings column, written and read through the public surface: the
// bytes a seed stores for a Bedrock provider are exactly what Go's
// json.Marshal writes for Coder's settings map, and what is stored (by this
// library, by Coder, or by hand) reads back without drift
// (docs/behaviour.md, "Settings and canonical form").
import assert from "node:assert/strict";
import { test } from "node:test";
import { type AIBridgeConfig, planSeed, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { insertRow, snapshot, withDatabase } from "./_db.ts";

// Written out by hand from Go: json.Marshal(map[string]any{...}) sorts the
// keys, writes _version as a number, and escapes & < > U+2028 U+2029.
const GO_BYTES = String
  .raw`{"_type":"bedrock","_version":1,"access_key":"AKIA\u0026\u003c\u003e0001","access_key_secret":"s3cr\u0026t\u003c\u003e/+=\u2028","model":"anthropic.claude\u003cx\u003e","region":"us-west-2"}`;

const BEDROCK: AIBridgeConfig = {
  providers: [{
    type: "anthropic",
    name: "claude-aws",
    bedrockRegion: "us-west-2",
    bedrockAccessKeys: ["AKIA&<>0001"],
    bedrockAccessKeySecrets: ["s3cr&t<>/+=\u2028"],
    bedrockModel: "anthropic.claude<x>",
    bedrockSmallFastModel: "", // empty: left out of the settings
  }],
};

test("a seeded Bedrock provider's settings are exactly Go's json.Marshal bytes: sorted keys, Go escapes, empty values left out", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { config: BEDROCK });
    const [row] = (await snapshot(sql)).providers;
    assert.equal(row.settings, GO_BYTES);
    const parsed = JSON.parse(row.settings!);
    assert.deepEqual(Object.keys(parsed), ["_type", "_version", "access_key", "access_key_secret", "model", "region"]);
    assert.equal(parsed.access_key_secret, "s3cr&t<>/+=\u2028", "the escapes read back as the secret");
    assert.equal("small_fast_model" in parsed, false);
  });
});

test("settings written with every field keep the key order _type, _version, access_key, access_key_secret, model, region, small_fast_model", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, {
      config: {
        legacyBedrock: {
          region: "eu-west-1",
          accessKey: "AK",
          accessKeySecret: "SK",
          model: "m",
          smallFastModel: "s",
          baseURL: "https://b/",
        },
      },
    });
    const [row] = (await snapshot(sql)).providers;
    assert.equal(
      row.settings,
      '{"_type":"bedrock","_version":1,"access_key":"AK","access_key_secret":"SK","model":"m","region":"eu-west-1","small_fast_model":"s"}',
    );
    assert.equal(row.base_url, "https://b/");
  });
});

test("a seeded provider's own settings read back unchanged: a restart takes no lock, and the plan agrees", async () => {
  await withDatabase(async ({ sql }) => {
    await seedAIProvidersFromEnv(sql, { config: BEDROCK });
    const again = await seedAIProvidersFromEnv(sql, { config: BEDROCK });
    assert.deepEqual(again.entries.map((e) => [e.name, e.action]), [["claude-aws", "unchanged"]]);
    assert.equal(again.lockTaken, false);
    const plan = await planSeed(sql, { config: BEDROCK });
    assert.equal(plan.changes, false);
  });
});

test("settings another writer stored with another layout compare by their region: unchanged when it is equal", async () => {
  await withDatabase(async ({ sql }) => {
    // As JSON.stringify (or a hand-written UPDATE) would write it: other key
    // order, no Go escapes, blanks, and fields this library does not know.
    await insertRow(sql, {
      name: "claude-aws",
      type: "anthropic",
      base_url: "",
      settings: ' { "region": "us-west-2", "_version": 1, "_type": "bedrock", "access_key": "AKIA&<>0001", "extra": {"x": [1]} } ',
    });
    const report = await seedAIProvidersFromEnv(sql, { config: BEDROCK });
    assert.deepEqual(report.entries.map((e) => e.action), ["unchanged"]);
    assert.equal(report.lockTaken, false);
  });
});

test("stored settings decide the stored region: another region, no settings or non-Bedrock settings are drift on the region", async () => {
  await withDatabase(async ({ sql }) => {
    const rows = [
      { name: "other-region", settings: '{"_type":"bedrock","_version":1,"region":"eu-central-1"}', stored: "eu-central-1" },
      { name: "no-settings", settings: null, stored: "" },
      { name: "json-null", settings: "null", stored: "" },
      { name: "not-bedrock", settings: '{"_type":"vertex","region":"us-west-2"}', stored: "" },
      { name: "blank", settings: "  ", stored: "" },
    ];
    for (const r of rows) await insertRow(sql, { name: r.name, type: "anthropic", base_url: "", settings: r.settings });
    const plan = await planSeed(sql, {
      config: { providers: rows.map((r) => ({ type: "anthropic", name: r.name, bedrockRegion: "us-west-2" })) },
    });
    assert.deepEqual(
      plan.entries.map((e) => [e.name, e.action, e.drift]),
      [...rows].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => [
        r.name,
        "drift",
        [{ field: "bedrock_region", stored: r.stored, desired: "us-west-2" }],
      ]),
    );
  });
});

test("settings that are not a JSON object stop the plan and the seed with settings_unreadable, never echoing the value", async () => {
  for (
    const settings of ['{"region":"us-west-2","access_key_secret":"leaky-secret-0001"', '["leaky-secret-0001"]', '"leaky-secret-0001"']
  ) {
    await withDatabase(async ({ sql }) => {
      await insertRow(sql, { name: "claude-aws", type: "anthropic", base_url: "", settings });
      const before = await snapshot(sql);
      for (const run of [() => planSeed(sql, { config: BEDROCK }), () => seedAIProvidersFromEnv(sql, { config: BEDROCK })]) {
        await assert.rejects(run(), (e: unknown) => {
          assert.ok(e instanceof SeedError);
          assert.equal(e.code, "settings_unreadable", settings);
          assert.match(e.message, /"claude-aws"/);
          assert.ok(!e.message.includes("leaky-secret-0001"), "the stored value is not echoed");
          return true;
        });
      }
      assert.deepEqual(await snapshot(sql), before);
    });
  }
});

const LONE: AIBridgeConfig = { providers: [{ type: "openai", name: "lone", baseURL: "https://x/\uD800", keys: ["sk-lone-surrogate-01"] }] };

test("a row written from a base URL holding a lone surrogate compares unchanged with that base URL", async () => {
  await withDatabase(async ({ sql }) => {
    // As another writer (Coder, the host, psql) stores it: as UTF-8, where the lone surrogate is U+FFFD.
    await insertRow(sql, { name: "lone", type: "openai", base_url: "https://x/\uD800" });
    assert.equal((await snapshot(sql)).providers[0].base_url, "https://x/\uFFFD");
    const report = await seedAIProvidersFromEnv(sql, { config: LONE });
    assert.deepEqual(report.entries.map((e) => [e.action, e.drift]), [["unchanged", []]]);
    assert.equal(report.lockTaken, false);
  });
});

test("a base URL holding a lone surrogate seeds, and a restart finds its own row unchanged", async () => {
  await withDatabase(async ({ sql }) => {
    const first = await seedAIProvidersFromEnv(sql, { config: LONE }).catch((e: unknown) => e);
    assert.ok(!(first instanceof Error), `the seed failed: ${String(first)}`);
    assert.deepEqual((first as Awaited<ReturnType<typeof seedAIProvidersFromEnv>>).entries.map((e) => e.action), ["insert"]);
    const [row] = (await snapshot(sql)).providers;
    assert.equal(row.base_url, "https://x/\uFFFD", "stored as UTF-8, where the lone surrogate is U+FFFD");

    const again = await seedAIProvidersFromEnv(sql, { config: LONE });
    assert.deepEqual(again.entries.map((e) => [e.action, e.drift]), [["unchanged", []]]);
    assert.equal(again.lockTaken, false);
    assert.equal((await planSeed(sql, { config: LONE })).changes, false);
  });
});
