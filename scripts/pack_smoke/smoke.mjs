// Runs in the scratch project of scripts/pack_check.sh, against the package
// installed from the tarball: the public surface is there, the exports map
// hides the internals, and a real seed works in the (empty) database
// DATABASE_URL names.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import postgres from "postgres";
import * as seed from "@aibridge/seed";

const ok = (what) => console.log(`ok - ${what}`);

assert.match(import.meta.resolve("@aibridge/seed"), /\/node_modules\/@aibridge\/seed\/dist\/mod\.js$/);
ok("@aibridge/seed resolves to the installed dist/mod.js");
await assert.rejects(import("@aibridge/seed/dist/lib/seed.js"), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
ok("internals are not importable (exports map)");

const FUNCTIONS = [
  "seedAIProvidersFromEnv",
  "readAIBridgeConfig",
  "providersFromConfig",
  "computeProviderHash",
  "canonicalJSON",
  "maskSecret",
  "applySchema",
  "consoleLogger",
  "jsonLogger",
  "formatReport",
  "runtimeEnv",
  "parseDotenv",
  "memoryAuditSink",
];
for (const name of FUNCTIONS) assert.equal(typeof seed[name], "function", name);
assert.equal(typeof seed.SCHEMA_SQL, "string");
assert.equal(typeof seed.noopLogger.info, "function");
assert.equal(seed.LOCK_ID_AI_PROVIDERS_ENV_SEED, 10);
assert.equal(seed.AI_PROVIDER_TYPES.length, 9);
assert.ok(seed.AI_PROVIDER_NAME_PATTERN.test("primary-openai"));
for (const E of [seed.ConfigError, seed.DriftError, seed.LockTimeoutError]) assert.ok(E.prototype instanceof seed.SeedError, E.name);
ok("functions, constants and error classes are exported");

assert.equal(seed.maskSecret("sk-ant-api03-abcdefgh"), "sk-a...efgh");
assert.equal(seed.maskSecret("hélloworld🌍!"), "hé...🌍!");
const canonical = { type: "openai", baseURL: "https://example.com/v1?a=1&b=<2>", bedrockRegion: "" };
const json = seed.canonicalJSON(canonical);
assert.equal(json, '{"type":"openai","base_url":"https://example.com/v1?a=1\\u0026b=\\u003c2\\u003e","bedrock_region":""}');
assert.equal(await seed.computeProviderHash(canonical), createHash("sha256").update(json).digest("hex"));
assert.throws(() => seed.readAIBridgeConfig({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "nope" }), seed.ConfigError);
ok("maskSecret, canonicalJSON, computeProviderHash and readAIBridgeConfig behave as specified");

// An empty database of its own, created and dropped by pack_check.sh.
const url = process.env.DATABASE_URL;
assert.ok(url, "DATABASE_URL is set");
const sql = postgres(url, { onnotice: () => {} });
try {
  await seed.applySchema(sql);
  // No `env` option: the library reads process.env.
  process.env.CODER_AIBRIDGE_OPENAI_KEY = "sk-pack-check-0123456789";
  const audit = seed.memoryAuditSink();
  const first = await seed.seedAIProvidersFromEnv(sql, { audit });
  assert.equal(first.inserted, 1);
  assert.equal(first.keysInserted, 1);
  assert.equal(audit.entries.length, 2);
  const rows = await sql`select p.name, k.api_key from ai_providers p join ai_provider_keys k on k.provider_id = p.id`;
  assert.deepEqual(rows.map((r) => [r.name, r.api_key]), [["openai", "sk-pack-check-0123456789"]]);
  assert.equal((await seed.seedAIProvidersFromEnv(sql)).unchanged, 1);
  process.env.CODER_AIBRIDGE_OPENAI_BASE_URL = "https://proxy.example.com/v1";
  await assert.rejects(seed.seedAIProvidersFromEnv(sql), seed.DriftError);
  ok("a real seed from process.env inserts, then finds nothing to do, then stops on drift");
} finally {
  await sql.end();
}
