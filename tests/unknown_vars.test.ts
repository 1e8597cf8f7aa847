// Unknown and misspelled variables (issue 11): every variable a typo kept
// from being read is a warning naming it, with a "did you mean" when a known
// name is close; under `strict` each is a problem of one ConfigError and
// nothing is sent. No warning or problem ever carries a value.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, planSeed, readAIBridgeConfig, seedAIProvidersFromEnv } from "../mod.ts";
import { editDistance } from "../lib/_unknown_vars.ts";
import { captureLogger, withDatabase } from "./_db.ts";

const UNKNOWN = "ignoring unknown AI provider variable (check for typos)";
const PREFIX = "ignoring variable with a misspelled AI provider prefix (check for typos)";
const FIELD = "ignoring unknown AI provider field (check for typos)";

/** The warnings `readAIBridgeConfig` logs for `env`, as [message, fields]. */
function warningsOf(env: Record<string, string>, prefixes?: readonly [string] | readonly [string, string]): [string, unknown][] {
  const logger = captureLogger();
  readAIBridgeConfig(env, { logger, prefixes });
  assert.ok(logger.lines.every((l) => l.level === "warn"));
  return logger.lines.map((l) => [l.msg, l.fields]);
}

// Each value is a secret-looking string of its own, so a leak is found by value.
const ISSUE_TYPOS: Record<string, string> = {
  CODER_AIBRIGDE_OPENAI_KEY: "sk-typo-secret-0001",
  CODER_AIBRIDGE_OPENAI_KYE: "sk-typo-secret-0002",
  CODER_AI_GATEWAYPROVIDER_0_TYPE: "openai",
  CODER_AIBRDIGE_ANTHROPIC_KEY: "sk-typo-secret-0003",
  coder_aibridge_openai_key: "sk-typo-secret-0004",
};

test("the issue's typos are warnings naming each variable, with the name it meant", () => {
  assert.deepEqual(warningsOf(ISSUE_TYPOS), [
    [PREFIX, { env: "CODER_AIBRDIGE_ANTHROPIC_KEY", suggestion: "CODER_AIBRIDGE_ANTHROPIC_KEY" }],
    [UNKNOWN, { env: "CODER_AIBRIDGE_OPENAI_KYE", suggestion: "CODER_AIBRIDGE_OPENAI_KEY" }],
    [PREFIX, { env: "CODER_AIBRIGDE_OPENAI_KEY", suggestion: "CODER_AIBRIDGE_OPENAI_KEY" }],
    [PREFIX, { env: "CODER_AI_GATEWAYPROVIDER_0_TYPE", suggestion: "CODER_AI_GATEWAY_PROVIDER_0_TYPE" }],
    [PREFIX, { env: "coder_aibridge_openai_key", suggestion: "CODER_AIBRIDGE_OPENAI_KEY" }],
  ]);
});

test("near misses of a prefix: a swap, a missing underscore or letter, an extra one, a wrong letter, mixed case, under either prefix", () => {
  const cases: [string, string][] = [
    ["CODER_AIBRIGDE_PROVIDER_0_TYPE", "CODER_AIBRIDGE_PROVIDER_0_TYPE"],
    ["CODER_AIBRIDGEOPENAI_KEY", "CODER_AIBRIDGE_OPENAI_KEY"],
    ["CODER_AI_BRIDGE_OPENAI_KEY", "CODER_AIBRIDGE_OPENAI_KEY"],
    ["CODER_AIBRIDFE_BEDROCK_REGION", "CODER_AIBRIDGE_BEDROCK_REGION"],
    ["CODER_AI_GATWAY_PROVIDER_0_KEY", "CODER_AI_GATEWAY_PROVIDER_0_KEY"],
    ["Coder_Ai_Gateway_Provider_0_Keys", "CODER_AI_GATEWAY_PROVIDER_0_KEYS"],
    // The prefix and the rest both misspelled: both are fixed.
    ["CODER_AIBRIGDE_OPENAI_KYE", "CODER_AIBRIDGE_OPENAI_KEY"],
    // A misspelled prefix of one of the Coder server's own settings.
    ["CODER_AIBRIGDE_ENABLED", "CODER_AIBRIDGE_ENABLED"],
  ];
  for (const [env, suggestion] of cases) {
    assert.deepEqual(warningsOf({ [env]: "v" }), [[PREFIX, { env, suggestion }]], env);
  }
});

test("unknown names under a prefix: a typo of a legacy variable, its _FILE twin or an indexed name, wrong case, or nothing close", () => {
  const cases: [string, string | undefined][] = [
    ["CODER_AIBRIDGE_OPENAI_KEYS", "CODER_AIBRIDGE_OPENAI_KEY"],
    ["CODER_AIBRIDGE__OPENAI_KEY", "CODER_AIBRIDGE_OPENAI_KEY"],
    ["CODER_AIBRIDGE_ANTHROPC_BASE_URL", "CODER_AIBRIDGE_ANTHROPIC_BASE_URL"],
    ["CODER_AI_GATEWAY_BEDROCK_ACCESS_KEY_SECRT", "CODER_AI_GATEWAY_BEDROCK_ACCESS_KEY_SECRET"],
    ["CODER_AIBRIDGE_OPENAI_KEY_FIEL", "CODER_AIBRIDGE_OPENAI_KEY_FILE"],
    ["CODER_AIBRIDGE_openai_key", "CODER_AIBRIDGE_OPENAI_KEY"],
    ["CODER_AIBRIDGE_PROVIDERS_0_TYPE", "CODER_AIBRIDGE_PROVIDER_0_TYPE"],
    ["CODER_AIBRIDGE_PROVIDER3_KEYS", "CODER_AIBRIDGE_PROVIDER_3_KEYS"],
    ["CODER_AI_GATEWAY_provider_0_type", "CODER_AI_GATEWAY_PROVIDER_0_TYPE"],
    ["CODER_AIBRIDGE_ENABLD", "CODER_AIBRIDGE_ENABLED"],
    ["CODER_AIBRIDGE_SOMETHING_ELSE", undefined],
  ];
  for (const [env, suggestion] of cases) {
    assert.deepEqual(warningsOf({ [env]: "v" }), [[UNKNOWN, suggestion === undefined ? { env } : { env, suggestion }]], env);
  }
});

test("an unknown indexed field names the variable and the field it meant", () => {
  const env = {
    CODER_AI_GATEWAY_PROVIDER_0_TYPE: "openai",
    CODER_AI_GATEWAY_PROVIDER_0_KYES: "sk-field-secret-0001",
    CODER_AI_GATEWAY_PROVIDER_0_BASE_URL_FIEL: "/run/secrets/url",
    CODER_AI_GATEWAY_PROVIDER_0_COLOUR: "blue",
  };
  assert.deepEqual(warningsOf(env), [
    [FIELD, { env: "CODER_AI_GATEWAY_PROVIDER_0_BASE_URL_FIEL", suggestion: "CODER_AI_GATEWAY_PROVIDER_0_BASE_URL_FILE" }],
    [FIELD, { env: "CODER_AI_GATEWAY_PROVIDER_0_COLOUR" }],
    [FIELD, { env: "CODER_AI_GATEWAY_PROVIDER_0_KYES", suggestion: "CODER_AI_GATEWAY_PROVIDER_0_KEYS" }],
  ]);
});

test("no warning for what is read, for the Coder server's own settings, for other CODER_* variables or for empty values", () => {
  const env: Record<string, string> = {
    CODER_AIBRIDGE_OPENAI_KEY: "sk-read-0001",
    CODER_AI_GATEWAY_ANTHROPIC_BASE_URL: "https://a.example/",
    CODER_AIBRIDGE_BEDROCK_MODEL: "m",
    CODER_AI_GATEWAY_PROVIDER_0_TYPE: "google",
    CODER_AI_GATEWAY_PROVIDER_0_KEYS: "g-1,g-2",
    // The Coder server's AI Gateway settings under both prefixes: not typos.
    CODER_AIBRIDGE_ENABLED: "true",
    CODER_AI_GATEWAY_ENABLED: "true",
    CODER_AIBRIDGE_RETENTION: "60d",
    CODER_AI_GATEWAY_STRUCTURED_LOGGING: "true",
    CODER_AIBRIDGE_CIRCUIT_BREAKER_FAILURE_THRESHOLD: "5",
    CODER_AIBRIDGE_PROXY_ENABLED: "true",
    CODER_AI_GATEWAY_PROXY_CERT_FILE: "/ca.crt",
    // Other variables, some of them close to a prefix in length only.
    CODER_URL: "https://coder.example",
    CODER_AGENT_TOKEN: "agent-token-0001",
    CODER_ACCESS_URL: "https://coder.example",
    CODER_API_RATE_LIMIT: "512",
    CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: "key-0001",
    CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS_FILE: "/run/secrets/keys",
    CODER_AI: "x",
    DATABASE_URL: "postgres://x",
    PATH: "/usr/bin",
    // Empty counts as unset, as everywhere.
    CODER_AIBRIGDE_OPENAI_KEY: "",
    CODER_AIBRIDGE_OPENAI_KYE: "",
  };
  assert.deepEqual(warningsOf(env), []);
});

test("custom prefixes: both checks follow them, and a short prefix only catches a difference of case", () => {
  assert.deepEqual(warningsOf({ ACME_AI_OPENAI_KYE: "v", ACME_IA_OPENAI_KEY: "v", CODER_AIBRIGDE_OPENAI_KEY: "v" }, ["ACME_AI_"]), [
    [UNKNOWN, { env: "ACME_AI_OPENAI_KYE", suggestion: "ACME_AI_OPENAI_KEY" }],
    [PREFIX, { env: "ACME_IA_OPENAI_KEY", suggestion: "ACME_AI_OPENAI_KEY" }],
  ]);
  // Under a custom prefix the Coder server's settings are unknown names like any other.
  assert.deepEqual(warningsOf({ ACME_AI_ENABLED: "v" }, ["ACME_AI_"]), [[UNKNOWN, { env: "ACME_AI_ENABLED" }]]);
  assert.deepEqual(warningsOf({ AI_OPENAI_KEY: "v", ai_OPENAI_KEY: "v", BI_OPENAI_KEY: "v" }, ["AI_"]), [
    [PREFIX, { env: "ai_OPENAI_KEY", suggestion: "AI_OPENAI_KEY" }],
  ]);
});

test("strict: every such warning is a problem of one ConfigError, with its did-you-mean, next to the other problems", () => {
  const logger = captureLogger();
  const err = (() => {
    try {
      readAIBridgeConfig({ ...ISSUE_TYPOS, CODER_AIBRIDGE_PROVIDER_0_TYPE: "nope", CODER_AIBRIDGE_PROVIDER_0_TYPO: "x" }, {
        logger,
        strict: true,
      });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.problems, [
    "unknown AI provider field CODER_AIBRIDGE_PROVIDER_0_TYPO (did you mean CODER_AIBRIDGE_PROVIDER_0_TYPE?)",
    'provider 0: unknown TYPE "nope" (must be one of: openai, anthropic, azure, bedrock, google, openai-compat, openrouter, vercel, copilot)',
    "CODER_AIBRDIGE_ANTHROPIC_KEY has a misspelled AI provider prefix (did you mean CODER_AIBRIDGE_ANTHROPIC_KEY?)",
    "unknown AI provider variable CODER_AIBRIDGE_OPENAI_KYE (did you mean CODER_AIBRIDGE_OPENAI_KEY?)",
    "CODER_AIBRIGDE_OPENAI_KEY has a misspelled AI provider prefix (did you mean CODER_AIBRIDGE_OPENAI_KEY?)",
    "CODER_AI_GATEWAYPROVIDER_0_TYPE has a misspelled AI provider prefix (did you mean CODER_AI_GATEWAY_PROVIDER_0_TYPE?)",
    "coder_aibridge_openai_key has a misspelled AI provider prefix (did you mean CODER_AIBRIDGE_OPENAI_KEY?)",
  ]);
  assert.deepEqual(logger.lines, [], "under strict nothing is logged as a warning");
  // A clean environment passes strict unchanged.
  assert.deepEqual(
    readAIBridgeConfig({ CODER_AIBRIDGE_OPENAI_KEY: "sk-1", CODER_AIBRIDGE_ENABLED: "true" }, { strict: true }).legacyOpenAI?.key,
    "sk-1",
  );
});

test("no warning, problem or error message carries a value", () => {
  const secrets = Object.values(ISSUE_TYPOS).filter((v) => v.startsWith("sk-"));
  const env = { ...ISSUE_TYPOS, CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KYE: "sk-typo-secret-0005" };
  secrets.push("sk-typo-secret-0005");
  const logger = captureLogger();
  readAIBridgeConfig(env, { logger });
  assert.equal(logger.lines.length, 6);
  let strictError: unknown;
  try {
    readAIBridgeConfig(env, { strict: true });
  } catch (e) {
    strictError = e;
  }
  assert.ok(strictError instanceof ConfigError);
  const text = JSON.stringify(logger.lines) + (strictError as Error).message + JSON.stringify(strictError.problems);
  for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} leaked`);
});

test("planSeed and the seed carry the warnings and go on; under strict they reject before any statement", async () => {
  await withDatabase(async ({ sql, queries }) => {
    const env = {
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
      CODER_AIBRIDGE_PROVIDER_0_NAME: "uv-openai",
      CODER_AIBRIDGE_OPENAI_KYE: "sk-uv-0001",
    };
    const expected = [{ msg: UNKNOWN, fields: { env: "CODER_AIBRIDGE_OPENAI_KYE", suggestion: "CODER_AIBRIDGE_OPENAI_KEY" } }];
    const logger = captureLogger();
    const plan = await planSeed(sql, { env, logger });
    assert.deepEqual(plan.warnings, expected);
    assert.deepEqual(logger.lines.map((l) => [l.level, l.msg]), [["warn", UNKNOWN]]);
    assert.deepEqual(plan.entries.map((e) => [e.name, e.action]), [["uv-openai", "insert"]]);

    queries.length = 0;
    for (const call of [() => planSeed(sql, { env, strict: true }), () => seedAIProvidersFromEnv(sql, { env, strict: true })]) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(e.problems, ["unknown AI provider variable CODER_AIBRIDGE_OPENAI_KYE (did you mean CODER_AIBRIDGE_OPENAI_KEY?)"]);
        return true;
      });
    }
    // A ready configuration's normalisation warnings count too.
    await assert.rejects(
      planSeed(sql, { config: { providers: [{ type: "copilot", keys: ["k-uv-ignored"] }] }, strict: true }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.problems[0], /^ignoring bearer keys configured on Copilot AI provider; .* \(name=copilot, ignored_key_count=1\)$/);
        return true;
      },
    );
    assert.deepEqual(queries, [], "nothing sent");

    const report = await seedAIProvidersFromEnv(sql, { env });
    assert.deepEqual(report.warnings, expected);
    assert.equal(report.counts.insert, 1);
  });
});

test("editDistance counts a swap of neighbours as one edit (optimal string alignment)", () => {
  assert.equal(editDistance("KYE", "KEY"), 1);
  assert.equal(editDistance("AIBRIGDE", "AIBRIDGE"), 1);
  assert.equal(editDistance("CODER_AI_GATEWAY", "CODER_AI_GATEWAY_"), 1);
  assert.equal(editDistance("", "ABC"), 3);
  assert.equal(editDistance("KITTEN", "SITTING"), 3);
  assert.equal(editDistance("SAME", "SAME"), 0);
});
