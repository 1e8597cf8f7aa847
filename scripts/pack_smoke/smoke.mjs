// Runs in the scratch project of scripts/pack_check.sh, against the package
// installed from the tarball: the public surface is there (`.` and
// `./run-cli`), the exports map hides the internals, and a real seed works
// in the (empty) database DATABASE_URL names.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import postgres from "postgres";
import * as seed from "@aibridge/seed";
import { runCli } from "@aibridge/seed/run-cli";

const ok = (what) => console.log(`ok - ${what}`);

assert.match(import.meta.resolve("@aibridge/seed"), /\/node_modules\/@aibridge\/seed\/dist\/mod\.js$/);
ok("@aibridge/seed resolves to the installed dist/mod.js");
assert.match(import.meta.resolve("@aibridge/seed/run-cli"), /\/node_modules\/@aibridge\/seed\/dist\/cli\/mod\.js$/);
ok("@aibridge/seed/run-cli resolves to the installed dist/cli/mod.js");
for (const internal of ["@aibridge/seed/dist/lib/seed.js", "@aibridge/seed/dist/lib/_store.js", "@aibridge/seed/dist/cli/main.js"]) {
  await assert.rejects(import(internal), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" }, internal);
}
ok("internals are not importable (exports map)");

const FUNCTIONS = [
  "seedAIProvidersFromEnv",
  "planSeed",
  "countEntries",
  "summaryLine",
  "canonicalProvider",
  "isAIProviderType",
  "readAIBridgeConfig",
  "providersFromConfig",
  "computeProviderHash",
  "canonicalJSON",
  "maskSecret",
  "applySchema",
  "consoleLogger",
  "jsonLogger",
  "fieldsFirstLogger",
  "formatReport",
  "runtimeEnv",
  "parseDotenv",
  "memoryAuditSink",
];
for (const name of FUNCTIONS) assert.equal(typeof seed[name], "function", name);
assert.equal(typeof seed.SCHEMA_SQL, "string");
assert.equal(typeof seed.noopLogger.info, "function");
assert.equal(seed.LOCK_ID_AI_PROVIDERS_ENV_SEED, 10);
assert.deepEqual(seed.PLAN_ACTIONS, ["insert", "unchanged", "skip-deleted", "drift"]);
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

let printed = "";
const code = await runCli(["schema", "--print", "--json"], { stdout: (t) => (printed += t), stderr: () => {}, env: {}, isTTY: false });
assert.equal(code, 0);
assert.deepEqual(
  (({ version, command, ok, applied }) => ({ version, command, ok, applied }))(JSON.parse(printed)),
  { version: 2, command: "schema", ok: true, applied: false },
);
ok("runCli from @aibridge/seed/run-cli runs in-process (schema --print --json)");

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
  assert.deepEqual(first.counts, { insert: 1, keys: 1, unchanged: 0, skipDeleted: 0, drift: 0 });
  assert.deepEqual(first.entries.map((e) => [e.name, e.action, e.maskedKeys]), [["openai", "insert", ["sk-p...6789"]]]);
  assert.equal(first.lockTaken, true);
  assert.deepEqual(audit.entries.map((e) => e.resourceType), ["ai_provider", "ai_provider_key"]);
  const rows = await sql`select p.name, k.api_key from ai_providers p join ai_provider_keys k on k.provider_id = p.id`;
  assert.deepEqual(rows.map((r) => [r.name, r.api_key]), [["openai", "sk-pack-check-0123456789"]]);
  const again = await seed.seedAIProvidersFromEnv(sql);
  assert.deepEqual([again.counts.unchanged, again.lockTaken], [1, false]);
  process.env.CODER_AIBRIDGE_OPENAI_BASE_URL = "https://proxy.example.com/v1";
  await assert.rejects(seed.seedAIProvidersFromEnv(sql), seed.DriftError);
  ok("a real seed from process.env inserts, then finds nothing to do, then stops on drift");
} finally {
  await sql.end();
}
