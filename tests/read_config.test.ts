import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AIBridgeConfig,
  type AIProviderConfig,
  ConfigError,
  DEFAULT_ENV_PREFIXES,
  type EnvRecord,
  MAX_KEYS_PER_PROVIDER,
  readAIBridgeConfig,
  type ReadConfigOptions,
  SeedError,
} from "../mod.ts";
import { captureLogger } from "./_log.ts";

// --- helpers -------------------------------------------------------------------

/** Reads the env, expecting a ConfigError; returns it. */
function configError(env: EnvRecord, options?: ReadConfigOptions): ConfigError {
  let caught: unknown;
  try {
    readAIBridgeConfig(env, options);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

function problemsOf(env: EnvRecord, options?: ReadConfigOptions): string[] {
  return configError(env, options).problems;
}

function assertHasProblem(problems: string[], expected: string): void {
  assert.ok(problems.some((p) => p.includes(expected)), `no problem contains ${JSON.stringify(expected)}; got:\n${problems.join("\n")}`);
}

function assertHasProblemStarting(problems: string[], expected: string): void {
  assert.ok(
    problems.some((p) => p.startsWith(expected)),
    `no problem starts with ${JSON.stringify(expected)}; got:\n${problems.join("\n")}`,
  );
}

/** Builds indexed variables `<prefix>PROVIDER_<n>_<FIELD>` from a field map. */
function provider(n: number, fields: Record<string, string>, prefix = "CODER_AIBRIDGE_"): EnvRecord {
  const env: EnvRecord = {};
  for (const [field, value] of Object.entries(fields)) env[`${prefix}PROVIDER_${n}_${field}`] = value;
  return env;
}

const PREFIXES = ["CODER_AIBRIDGE_", "CODER_AI_GATEWAY_"] as const;
const ALL_TYPES = "openai, anthropic, azure, bedrock, google, openai-compat, openrouter, vercel, copilot";

const DEFAULT_LEGACY = {
  legacyOpenAI: { baseURL: "https://api.openai.com/v1/", key: "" },
  legacyAnthropic: { baseURL: "https://api.anthropic.com/", key: "" },
  legacyBedrock: {
    baseURL: "",
    region: "",
    accessKey: "",
    accessKeySecret: "",
    model: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    smallFastModel: "global.anthropic.claude-haiku-4-5-20251001-v1:0",
  },
} as const satisfies AIBridgeConfig;

/** An indexed provider as read, with every field at its empty default. */
function readProvider(fields: AIProviderConfig): AIProviderConfig {
  return {
    type: "",
    name: "",
    keys: [],
    baseURL: "",
    bedrockBaseURL: "",
    bedrockRegion: "",
    bedrockAccessKeys: [],
    bedrockAccessKeySecrets: [],
    bedrockModel: "",
    bedrockSmallFastModel: "",
    ...fields,
  };
}

// --- constants -----------------------------------------------------------------

test("DEFAULT_ENV_PREFIXES are CODER_AIBRIDGE_ then CODER_AI_GATEWAY_; MAX_KEYS_PER_PROVIDER is 5", () => {
  assert.deepEqual([...DEFAULT_ENV_PREFIXES], ["CODER_AIBRIDGE_", "CODER_AI_GATEWAY_"]);
  assert.equal(MAX_KEYS_PER_PROVIDER, 5);
});

// --- legacy variables ----------------------------------------------------------

test("an empty env yields every legacy default and no providers", () => {
  assert.deepEqual(readAIBridgeConfig({}), { ...DEFAULT_LEGACY, providers: [] });
});

test("variables with an undefined value are ignored", () => {
  assert.deepEqual(
    readAIBridgeConfig({ CODER_AIBRIDGE_OPENAI_KEY: undefined, CODER_AIBRIDGE_PROVIDER_0_TYPE: undefined }),
    { ...DEFAULT_LEGACY, providers: [] },
  );
});

for (const prefix of PREFIXES) {
  test(`${prefix}: every legacy variable is read into its field`, () => {
    const env: EnvRecord = {
      [`${prefix}OPENAI_BASE_URL`]: "https://openai.example/v1",
      [`${prefix}OPENAI_KEY`]: "sk-openai",
      [`${prefix}ANTHROPIC_BASE_URL`]: "https://anthropic.example/",
      [`${prefix}BEDROCK_BASE_URL`]: "https://bedrock.example/",
      [`${prefix}BEDROCK_REGION`]: "eu-west-1",
      [`${prefix}BEDROCK_ACCESS_KEY`]: "AKIAEXAMPLE",
      [`${prefix}BEDROCK_ACCESS_KEY_SECRET`]: "aws-secret",
      [`${prefix}BEDROCK_MODEL`]: "model-big",
      [`${prefix}BEDROCK_SMALL_FAST_MODEL`]: "model-small",
    };
    assert.deepEqual(readAIBridgeConfig(env), {
      legacyOpenAI: { baseURL: "https://openai.example/v1", key: "sk-openai" },
      legacyAnthropic: { baseURL: "https://anthropic.example/", key: "" },
      legacyBedrock: {
        baseURL: "https://bedrock.example/",
        region: "eu-west-1",
        accessKey: "AKIAEXAMPLE",
        accessKeySecret: "aws-secret",
        model: "model-big",
        smallFastModel: "model-small",
      },
      providers: [],
    });
  });

  test(`${prefix}ANTHROPIC_KEY is read into legacyAnthropic.key`, () => {
    const config = readAIBridgeConfig({ [`${prefix}ANTHROPIC_KEY`]: "sk-ant" });
    assert.deepEqual(config.legacyAnthropic, { baseURL: "https://api.anthropic.com/", key: "sk-ant" });
  });

  test(`${prefix}: an empty legacy value counts as unset and keeps the default`, () => {
    const config = readAIBridgeConfig({
      [`${prefix}OPENAI_BASE_URL`]: "",
      [`${prefix}ANTHROPIC_BASE_URL`]: "",
      [`${prefix}BEDROCK_MODEL`]: "",
      [`${prefix}BEDROCK_SMALL_FAST_MODEL`]: "",
    });
    assert.deepEqual(config, { ...DEFAULT_LEGACY, providers: [] });
  });
}

const LEGACY_SUFFIXES = [
  "OPENAI_BASE_URL",
  "OPENAI_KEY",
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_KEY",
  "BEDROCK_BASE_URL",
  "BEDROCK_REGION",
  "BEDROCK_ACCESS_KEY",
  "BEDROCK_ACCESS_KEY_SECRET",
  "BEDROCK_MODEL",
  "BEDROCK_SMALL_FAST_MODEL",
] as const;

test("the same legacy variable under both prefixes with equal values is fine", () => {
  for (const suffix of LEGACY_SUFFIXES) {
    const config = readAIBridgeConfig({ [`CODER_AIBRIDGE_${suffix}`]: "same-value", [`CODER_AI_GATEWAY_${suffix}`]: "same-value" });
    assert.ok(JSON.stringify(config).includes('"same-value"'), suffix);
  }
});

test("the same legacy variable under both prefixes with different values is a problem", () => {
  for (const suffix of LEGACY_SUFFIXES) {
    const problems = problemsOf({ [`CODER_AIBRIDGE_${suffix}`]: "value-one", [`CODER_AI_GATEWAY_${suffix}`]: "value-two" });
    assert.equal(problems.length, 1, `${suffix}: ${problems.join("\n")}`);
    assertHasProblem(problems, `CODER_AIBRIDGE_${suffix} and CODER_AI_GATEWAY_${suffix} are set to different values`);
  }
});

test("two legacy variables with different values under both prefixes are two problems", () => {
  const problems = problemsOf({
    CODER_AIBRIDGE_OPENAI_BASE_URL: "https://a/",
    CODER_AI_GATEWAY_OPENAI_BASE_URL: "https://b/",
    CODER_AIBRIDGE_BEDROCK_MODEL: "m1",
    CODER_AI_GATEWAY_BEDROCK_MODEL: "m2",
  });
  assert.equal(problems.length, 2);
  assertHasProblem(problems, "CODER_AIBRIDGE_OPENAI_BASE_URL and CODER_AI_GATEWAY_OPENAI_BASE_URL are set to different values");
  assertHasProblem(problems, "CODER_AIBRIDGE_BEDROCK_MODEL and CODER_AI_GATEWAY_BEDROCK_MODEL are set to different values");
});

test("a legacy variable set only under the alias prefix is read", () => {
  const config = readAIBridgeConfig({ CODER_AI_GATEWAY_OPENAI_KEY: "sk-alias", CODER_AIBRIDGE_OPENAI_BASE_URL: "https://o/" });
  assert.deepEqual(config.legacyOpenAI, { baseURL: "https://o/", key: "sk-alias" });
});

for (const bedrockVar of ["BEDROCK_BASE_URL", "BEDROCK_REGION", "BEDROCK_ACCESS_KEY", "BEDROCK_ACCESS_KEY_SECRET"]) {
  test(`ANTHROPIC_KEY together with ${bedrockVar} is a problem`, () => {
    const problems = problemsOf({ CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant", [`CODER_AIBRIDGE_${bedrockVar}`]: "value" });
    assert.equal(problems.length, 1, problems.join("\n"));
    assertHasProblem(problems, "CODER_AIBRIDGE_ANTHROPIC_KEY and CODER_AIBRIDGE_BEDROCK_* are mutually exclusive");
  });
}

test("ANTHROPIC_KEY with Bedrock set under the alias prefix is the same problem", () => {
  const problems = problemsOf({ CODER_AI_GATEWAY_ANTHROPIC_KEY: "sk-ant", CODER_AI_GATEWAY_BEDROCK_REGION: "us-east-1" });
  assertHasProblem(problems, "CODER_AIBRIDGE_ANTHROPIC_KEY and CODER_AIBRIDGE_BEDROCK_* are mutually exclusive");
});

test("ANTHROPIC_KEY with only the Bedrock model variables is not a problem (models never configure Bedrock)", () => {
  const config = readAIBridgeConfig({
    CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant",
    CODER_AIBRIDGE_BEDROCK_MODEL: "m",
    CODER_AIBRIDGE_BEDROCK_SMALL_FAST_MODEL: "s",
  });
  assert.equal(config.legacyAnthropic?.key, "sk-ant");
  assert.equal(config.legacyBedrock?.model, "m");
});

// --- indexed providers: reading ------------------------------------------------

test("an indexed provider's fields are all read", () => {
  const config = readAIBridgeConfig({
    ...provider(0, {
      TYPE: "anthropic",
      NAME: "claude",
      BASE_URL: "https://ignored.example/",
      BEDROCK_BASE_URL: "https://bedrock.example/",
      BEDROCK_REGION: "us-west-2",
      BEDROCK_ACCESS_KEYS: "AK1,AK2",
      BEDROCK_ACCESS_KEY_SECRETS: "S1,S2",
      BEDROCK_MODEL: "big",
      BEDROCK_SMALL_FAST_MODEL: "small",
    }),
    ...provider(1, { TYPE: "openai", KEYS: "sk-1,sk-2", BASE_URL: "https://o/" }),
    ...provider(2, { TYPE: "azure", NAME: "az", KEY: "sk-az" }),
    ...provider(3, {
      TYPE: "anthropic",
      NAME: "aws",
      BEDROCK_REGION: "eu-west-1",
      BEDROCK_ACCESS_KEY: "AK",
      BEDROCK_ACCESS_KEY_SECRET: "S",
    }),
  });
  assert.deepEqual(config.providers, [
    readProvider({
      type: "anthropic",
      name: "claude",
      baseURL: "https://ignored.example/",
      bedrockBaseURL: "https://bedrock.example/",
      bedrockRegion: "us-west-2",
      bedrockAccessKeys: ["AK1", "AK2"],
      bedrockAccessKeySecrets: ["S1", "S2"],
      bedrockModel: "big",
      bedrockSmallFastModel: "small",
    }),
    readProvider({ type: "openai", keys: ["sk-1", "sk-2"], baseURL: "https://o/" }),
    readProvider({ type: "azure", name: "az", keys: ["sk-az"] }),
    readProvider({ type: "anthropic", name: "aws", bedrockRegion: "eu-west-1", bedrockAccessKeys: ["AK"], bedrockAccessKeySecrets: ["S"] }),
  ]);
});

test("indexed providers are read under the alias prefix too", () => {
  const config = readAIBridgeConfig(provider(0, { TYPE: "openai", KEY: "sk-x" }, "CODER_AI_GATEWAY_"));
  assert.deepEqual(config.providers, [readProvider({ type: "openai", keys: ["sk-x"] })]);
});

test("legacy variables under one prefix and indexed ones under the other do not count as mixing", () => {
  const config = readAIBridgeConfig({
    CODER_AIBRIDGE_OPENAI_KEY: "sk-legacy",
    ...provider(0, { TYPE: "azure" }, "CODER_AI_GATEWAY_"),
  });
  assert.equal(config.legacyOpenAI?.key, "sk-legacy");
  assert.equal(config.providers?.[0]?.type, "azure");
});

test("indexed providers are ordered by number: 10 comes after 2 (0..10 all present)", () => {
  const env: EnvRecord = {};
  // Insert in an order where neither insertion order nor string order is numeric order.
  for (const i of [10, 1, 2, 0, 9, 3, 8, 4, 7, 5, 6]) {
    env[`CODER_AIBRIDGE_PROVIDER_${i}_NAME`] = `p${i}`;
    env[`CODER_AIBRIDGE_PROVIDER_${i}_TYPE`] = "openai";
  }
  const config = readAIBridgeConfig(env);
  assert.deepEqual(config.providers?.map((p) => p.name), ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"]);
});

test("a lower-case field suffix is accepted (upper-cased before reading)", () => {
  const config = readAIBridgeConfig({
    CODER_AIBRIDGE_PROVIDER_0_type: "openai",
    CODER_AIBRIDGE_PROVIDER_0_Name: "mixed-case",
    CODER_AIBRIDGE_PROVIDER_0_keys: "sk-a,sk-b",
    CODER_AIBRIDGE_PROVIDER_0_base_url: "https://o/",
  });
  assert.deepEqual(config.providers, [readProvider({ type: "openai", name: "mixed-case", keys: ["sk-a", "sk-b"], baseURL: "https://o/" })]);
});

test("keys are trimmed, in both KEY and KEYS, and Bedrock lists too", () => {
  const config = readAIBridgeConfig({
    ...provider(0, { TYPE: "openai", KEYS: "  sk-a , sk-b\t,sk-c  " }),
    ...provider(1, { TYPE: "azure", KEY: "\t sk-d \n" }),
    ...provider(2, { TYPE: "anthropic", NAME: "aws", BEDROCK_ACCESS_KEYS: " AK1 , AK2 ", BEDROCK_ACCESS_KEY_SECRETS: " S1 ,S2 " }),
  });
  assert.deepEqual(config.providers?.[0]?.keys, ["sk-a", "sk-b", "sk-c"]);
  assert.deepEqual(config.providers?.[1]?.keys, ["sk-d"]);
  assert.deepEqual(config.providers?.[2]?.bedrockAccessKeys, ["AK1", "AK2"]);
  assert.deepEqual(config.providers?.[2]?.bedrockAccessKeySecrets, ["S1", "S2"]);
});

test("five keys are accepted (the maximum)", () => {
  const config = readAIBridgeConfig(provider(0, { TYPE: "openai", KEYS: "k1,k2,k3,k4,k5" }));
  assert.deepEqual(config.providers?.[0]?.keys, ["k1", "k2", "k3", "k4", "k5"]);
});

// --- indexed providers: variable-name problems ---------------------------------

test("a variable with no '_' after the index is an invalid env var problem naming it", () => {
  const problems = problemsOf({ CODER_AIBRIDGE_PROVIDER_0: "openai" });
  assert.equal(problems.length, 1);
  assertHasProblemStarting(problems, "invalid env var: CODER_AIBRIDGE_PROVIDER_0");
  assert.match(problems[0]!, /^invalid env var: CODER_AIBRIDGE_PROVIDER_0\b/);
});

test("invalid env var names the variable upper-cased", () => {
  assertHasProblemStarting(problemsOf({ CODER_AIBRIDGE_PROVIDER_type: "openai" }), "invalid env var: CODER_AIBRIDGE_PROVIDER_TYPE");
});

for (const index of ["X", "-1", "1a", "1.5", ""]) {
  test(`the index ${JSON.stringify(index)} is not a non-negative integer: a parse number problem naming the variable`, () => {
    const name = `CODER_AIBRIDGE_PROVIDER_${index}_TYPE`;
    const problems = problemsOf({ [name]: "openai" });
    assert.equal(problems.length, 1, problems.join("\n"));
    assertHasProblemStarting(problems, `parse number: ${name.toUpperCase()}`);
  });
}

test("parse number names the variable upper-cased", () => {
  assertHasProblemStarting(problemsOf({ CODER_AIBRIDGE_PROVIDER_x_type: "openai" }), "parse number: CODER_AIBRIDGE_PROVIDER_X_TYPE");
});

test("a gap in the indices is a problem naming the first missing index and the variable after it", () => {
  const problems = problemsOf({
    ...provider(0, { TYPE: "openai" }),
    ...provider(1, { TYPE: "azure" }),
    ...provider(3, { TYPE: "google" }),
  });
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblemStarting(problems, "provider num 2 skipped: CODER_AIBRIDGE_PROVIDER_3_TYPE");
});

test("indices that do not start at 0: provider num 0 skipped", () => {
  assertHasProblemStarting(problemsOf(provider(1, { TYPE: "openai" })), "provider num 0 skipped: CODER_AIBRIDGE_PROVIDER_1_TYPE");
});

test("a gap after index 9 is caught by number, not by string order", () => {
  const env: EnvRecord = {};
  for (let i = 0; i <= 9; i++) Object.assign(env, provider(i, { TYPE: "openai", NAME: `p${i}` }));
  Object.assign(env, provider(11, { TYPE: "openai", NAME: "p11" }));
  assertHasProblemStarting(problemsOf(env), "provider num 10 skipped: CODER_AIBRIDGE_PROVIDER_11_");
});

test("KEY and KEYS set on one provider are mutually exclusive", () => {
  const problems = problemsOf({ ...provider(0, { TYPE: "azure" }), ...provider(1, { TYPE: "openai", KEY: "sk-a", KEYS: "sk-b,sk-c" }) });
  assert.deepEqual(problems, ["provider 1: KEY and KEYS are mutually exclusive, use one or the other"]);
});

test("BEDROCK_ACCESS_KEY and BEDROCK_ACCESS_KEYS both set: mutually exclusive", () => {
  const problems = problemsOf(
    provider(0, {
      TYPE: "anthropic",
      BEDROCK_REGION: "us-east-1",
      BEDROCK_ACCESS_KEY: "AK1",
      BEDROCK_ACCESS_KEYS: "AK2",
      BEDROCK_ACCESS_KEY_SECRET: "S1",
    }),
  );
  assert.deepEqual(problems, ["provider 0: BEDROCK_ACCESS_KEY and BEDROCK_ACCESS_KEYS are mutually exclusive, use one or the other"]);
});

test("BEDROCK_ACCESS_KEY_SECRET and BEDROCK_ACCESS_KEY_SECRETS both set: mutually exclusive", () => {
  const problems = problemsOf(
    provider(0, {
      TYPE: "anthropic",
      BEDROCK_REGION: "us-east-1",
      BEDROCK_ACCESS_KEY: "AK1",
      BEDROCK_ACCESS_KEY_SECRET: "S1",
      BEDROCK_ACCESS_KEY_SECRETS: "S2",
    }),
  );
  assert.deepEqual(problems, [
    "provider 0: BEDROCK_ACCESS_KEY_SECRET and BEDROCK_ACCESS_KEY_SECRETS are mutually exclusive, use one or the other",
  ]);
});

test("an unknown field is a warning with field env, not a problem", () => {
  const logger = captureLogger();
  const { lines } = logger;
  const config = readAIBridgeConfig(
    { ...provider(0, { TYPE: "openai", KEY: "sk-a" }), CODER_AIBRIDGE_PROVIDER_0_TYEP: "anthropic" },
    { logger },
  );
  assert.deepEqual(config.providers, [readProvider({ type: "openai", keys: ["sk-a"] })]);
  assert.deepEqual(lines, [
    {
      level: "warn",
      msg: "ignoring unknown AI provider field (check for typos)",
      fields: { env: "CODER_AIBRIDGE_PROVIDER_0_TYEP", suggestion: "CODER_AIBRIDGE_PROVIDER_0_TYPE" },
    },
  ]);
});

test("the unknown-field warning names the variable upper-cased", () => {
  const logger = captureLogger();
  const { lines } = logger;
  readAIBridgeConfig({ ...provider(0, { TYPE: "openai" }), CODER_AIBRIDGE_PROVIDER_0_base_ur: "x" }, { logger });
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0]?.fields, { env: "CODER_AIBRIDGE_PROVIDER_0_BASE_UR", suggestion: "CODER_AIBRIDGE_PROVIDER_0_BASE_URL" });
});

test("mixing the two prefixes for indexed providers is a problem", () => {
  const problems = problemsOf({ ...provider(0, { TYPE: "openai" }), ...provider(0, { TYPE: "azure" }, "CODER_AI_GATEWAY_") });
  assert.deepEqual(problems, [
    "cannot mix CODER_AIBRIDGE_PROVIDER_* and CODER_AI_GATEWAY_PROVIDER_* environment variables, please consolidate onto CODER_AI_GATEWAY_PROVIDER_*",
  ]);
});

// --- indexed providers: per-provider problems ----------------------------------

test("an indexed provider without TYPE is a problem naming the variable to set", () => {
  const problems = problemsOf(provider(0, { NAME: "nameless", KEY: "sk-a" }));
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblemStarting(problems, "provider 0: TYPE is required");
});

test("an unknown TYPE is a problem listing every valid type", () => {
  const problems = problemsOf({ ...provider(0, { TYPE: "openai" }), ...provider(1, { TYPE: "gpt", NAME: "x" }) });
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblem(problems, `provider 1: unknown TYPE "gpt" (must be one of: ${ALL_TYPES})`);
});

test("TYPE is case-sensitive: OpenAI is unknown", () => {
  assertHasProblem(problemsOf(provider(0, { TYPE: "OpenAI", NAME: "x" })), 'provider 0: unknown TYPE "OpenAI"');
});

for (const type of ["openai", "azure", "google", "openai-compat", "openrouter", "vercel", "copilot"]) {
  test(`BEDROCK_* fields on TYPE ${type} are a problem`, () => {
    const problems = problemsOf(provider(0, { TYPE: type, NAME: "gw", BEDROCK_MODEL: "m" }));
    assert.deepEqual(problems, ['provider 0 (gw): BEDROCK_* fields are only supported with TYPE "anthropic" or "bedrock"']);
  });
}

test("BEDROCK_* fields on anthropic and bedrock are accepted", () => {
  const config = readAIBridgeConfig({
    ...provider(0, { TYPE: "anthropic", BEDROCK_REGION: "us-east-1" }),
    ...provider(1, { TYPE: "bedrock", BEDROCK_REGION: "us-east-1" }),
  });
  assert.deepEqual(config.providers?.map((p) => [p.type, p.bedrockRegion]), [["anthropic", "us-east-1"], ["bedrock", "us-east-1"]]);
});

test("the problem label uses NAME, defaulting to TYPE", () => {
  const problems = problemsOf(provider(0, { TYPE: "openai", BEDROCK_REGION: "us-east-1" }));
  assert.deepEqual(problems, ['provider 0 (openai): BEDROCK_* fields are only supported with TYPE "anthropic" or "bedrock"']);
});

test('TYPE "bedrock" without BEDROCK_* fields is a problem', () => {
  const problems = problemsOf(provider(0, { TYPE: "bedrock" }));
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblemStarting(problems, 'provider 0 (bedrock): TYPE "bedrock" requires BEDROCK_* fields to be configured');
});

test('TYPE "bedrock" with only the model fields is still unconfigured', () => {
  const problems = problemsOf(provider(0, { TYPE: "bedrock", NAME: "br", BEDROCK_MODEL: "m", BEDROCK_SMALL_FAST_MODEL: "s" }));
  assertHasProblemStarting(problems, 'provider 0 (br): TYPE "bedrock" requires BEDROCK_* fields to be configured');
});

for (const [field, value] of [["BEDROCK_REGION", "us-east-1"], ["BEDROCK_BASE_URL", "https://b/"]] as const) {
  test(`TYPE "bedrock" configured by ${field} alone is accepted`, () => {
    const config = readAIBridgeConfig(provider(0, { TYPE: "bedrock", [field]: value }));
    assert.equal(config.providers?.length, 1);
  });
}

test('KEY/KEYS are not supported for TYPE "bedrock"', () => {
  for (const keyField of ["KEY", "KEYS"]) {
    const problems = problemsOf(provider(0, { TYPE: "bedrock", BEDROCK_REGION: "us-east-1", [keyField]: "sk-a" }));
    assert.deepEqual(problems, ['provider 0 (bedrock): KEY/KEYS are not supported for TYPE "bedrock" (use BEDROCK_* fields)'], keyField);
  }
});

test('KEY/KEYS are not supported for TYPE "copilot"', () => {
  for (const keyField of ["KEY", "KEYS"]) {
    const problems = problemsOf(provider(0, { TYPE: "copilot", NAME: "gh", [keyField]: "ghp-a" }));
    assert.equal(problems.length, 1, problems.join("\n"));
    assertHasProblemStarting(problems, 'provider 0 (gh): KEY/KEYS are not supported for TYPE "copilot"');
  }
});

test("copilot without keys is accepted", () => {
  assert.deepEqual(readAIBridgeConfig(provider(0, { TYPE: "copilot" })).providers, [readProvider({ type: "copilot" })]);
});

for (
  const [field, value] of [
    ["BEDROCK_REGION", "us-east-1"],
    ["BEDROCK_BASE_URL", "https://b/"],
  ] as const
) {
  test(`KEY/KEYS and BEDROCK_* (${field}) on anthropic are mutually exclusive`, () => {
    const problems = problemsOf(provider(0, { TYPE: "anthropic", NAME: "claude", KEY: "sk-ant", [field]: value }));
    assert.deepEqual(problems, ["provider 0 (claude): KEY/KEYS and BEDROCK_* fields are mutually exclusive"]);
  });
}

test("KEY/KEYS and BEDROCK access keys on anthropic are mutually exclusive", () => {
  const problems = problemsOf(provider(0, { TYPE: "anthropic", KEYS: "sk-ant", BEDROCK_ACCESS_KEY: "AK", BEDROCK_ACCESS_KEY_SECRET: "S" }));
  assert.deepEqual(problems, ["provider 0 (anthropic): KEY/KEYS and BEDROCK_* fields are mutually exclusive"]);
});

test("more than five keys on one provider is a problem", () => {
  const problems = problemsOf(provider(0, { TYPE: "openai", KEYS: "k1,k2,k3,k4,k5,k6" }));
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblemStarting(problems, "provider 0 (openai)");
  assertHasProblem(problems, "too many keys (6), maximum is 5");
});

test("more than five Bedrock access keys on one provider is a problem", () => {
  const problems = problemsOf(
    provider(0, { TYPE: "anthropic", BEDROCK_ACCESS_KEYS: "a1,a2,a3,a4,a5,a6", BEDROCK_ACCESS_KEY_SECRETS: "s1,s2,s3,s4,s5,s6" }),
  );
  assertHasProblemStarting(problems, "provider 0 (anthropic)");
  assertHasProblem(problems, "too many keys (6), maximum is 5");
});

test("an empty key is a problem naming its index, also when it is only blanks", () => {
  const problems = problemsOf(provider(0, { TYPE: "openai", KEYS: "sk-a,,sk-b,  " }));
  assert.equal(problems.length, 2, problems.join("\n"));
  assertHasProblem(problems, "key at index 1 is empty");
  assertHasProblem(problems, "key at index 3 is empty");
});

test("a repeated key is a problem naming its index, compared after trimming", () => {
  const problems = problemsOf(provider(0, { TYPE: "openai", KEYS: "sk-a,sk-b, sk-a " }));
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblemStarting(problems, "provider 0 (openai)");
  assertHasProblem(problems, "duplicate key at index 2");
});

test("a repeated Bedrock access key is a problem naming its index", () => {
  const problems = problemsOf(provider(0, { TYPE: "anthropic", BEDROCK_ACCESS_KEYS: "AK1,AK1", BEDROCK_ACCESS_KEY_SECRETS: "S1,S2" }));
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblem(problems, "duplicate key at index 1");
});

test("Bedrock access keys and secrets must come in equal numbers", () => {
  const problems = problemsOf(
    provider(0, { TYPE: "anthropic", NAME: "aws", BEDROCK_ACCESS_KEYS: "AK1,AK2", BEDROCK_ACCESS_KEY_SECRET: "S1" }),
  );
  assert.equal(problems.length, 1, problems.join("\n"));
  assertHasProblemStarting(problems, "provider 0 (aws)");
  assert.match(problems[0]!, /BEDROCK_ACCESS_KEY.*\b2\b.*BEDROCK_ACCESS_KEY_SECRET.*\b1\b/);
});

test("a Bedrock access key without a secret is a count mismatch", () => {
  const problems = problemsOf(provider(0, { TYPE: "anthropic", BEDROCK_ACCESS_KEY: "AK1" }));
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0]!, /BEDROCK_ACCESS_KEY.*\b1\b.*BEDROCK_ACCESS_KEY_SECRET.*\b0\b/);
});

test("two indexed providers with the same NAME are a problem", () => {
  const problems = problemsOf({
    ...provider(0, { TYPE: "openai", NAME: "x" }),
    ...provider(1, { TYPE: "azure", NAME: "y" }),
    ...provider(2, { TYPE: "openai", NAME: "x" }),
  });
  assert.deepEqual(problems, [
    'providers 0 and 2 have duplicate NAME "x" (multiple providers of the same type require unique NAME values)',
  ]);
});

test("two providers of the same type without NAME have the duplicate NAME of their type", () => {
  const problems = problemsOf({ ...provider(0, { TYPE: "openai" }), ...provider(1, { TYPE: "openai" }) });
  assert.deepEqual(problems, [
    'providers 0 and 1 have duplicate NAME "openai" (multiple providers of the same type require unique NAME values)',
  ]);
});

// --- all problems at once ------------------------------------------------------

test("three different mistakes yield one ConfigError listing all three", () => {
  const err = configError({
    CODER_AIBRIDGE_OPENAI_BASE_URL: "https://a/",
    CODER_AI_GATEWAY_OPENAI_BASE_URL: "https://b/",
    ...provider(0, { TYPE: "gpt", NAME: "first" }),
    ...provider(1, { TYPE: "openai", KEYS: "sk-a,sk-a" }),
  });
  assert.ok(err instanceof ConfigError);
  assert.ok(err instanceof SeedError);
  assert.ok(err instanceof Error);
  assert.equal(err.code, "config_invalid");
  assert.equal(err.problems.length, 3, err.problems.join("\n"));
  assertHasProblem(err.problems, "CODER_AIBRIDGE_OPENAI_BASE_URL and CODER_AI_GATEWAY_OPENAI_BASE_URL are set to different values");
  assertHasProblem(err.problems, 'provider 0: unknown TYPE "gpt"');
  assertHasProblem(err.problems, "duplicate key at index 1");
  for (const p of err.problems) assert.ok(err.message.includes(p), `message lacks ${p}`);
});

// --- custom prefixes -----------------------------------------------------------

test("a custom prefix replaces both defaults", () => {
  const config = readAIBridgeConfig(
    {
      MYGW_OPENAI_KEY: "sk-mine",
      MYGW_PROVIDER_0_TYPE: "azure",
      MYGW_PROVIDER_0_KEY: "sk-az",
      CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ignored",
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
      CODER_AI_GATEWAY_PROVIDER_0_TYPE: "google",
    },
    { prefixes: ["MYGW_"] },
  );
  assert.deepEqual(config, {
    ...DEFAULT_LEGACY,
    legacyOpenAI: { baseURL: "https://api.openai.com/v1/", key: "sk-mine" },
    providers: [readProvider({ type: "azure", keys: ["sk-az"] })],
  });
});

test("problems name the custom prefix", () => {
  const problems = problemsOf(
    { MYGW_PROVIDER_1_TYPE: "openai", MYGW_ANTHROPIC_KEY: "sk-ant", MYGW_BEDROCK_REGION: "us-east-1" },
    { prefixes: ["MYGW_"] },
  );
  assertHasProblemStarting(problems, "provider num 0 skipped: MYGW_PROVIDER_1_TYPE");
  assertHasProblem(problems, "MYGW_ANTHROPIC_KEY and MYGW_BEDROCK_* are mutually exclusive");
});

test("two custom prefixes: conflicting legacy values and mixing are reported with them", () => {
  const problems = problemsOf(
    { OLD_OPENAI_KEY: "sk-1", NEW_OPENAI_KEY: "sk-2", OLD_PROVIDER_0_TYPE: "openai", NEW_PROVIDER_0_TYPE: "azure" },
    { prefixes: ["OLD_", "NEW_"] },
  );
  assert.equal(problems.length, 2, problems.join("\n"));
  assertHasProblem(problems, "OLD_OPENAI_KEY and NEW_OPENAI_KEY are set to different values");
  assertHasProblem(problems, "cannot mix OLD_PROVIDER_* and NEW_PROVIDER_* environment variables, please consolidate onto NEW_PROVIDER_*");
});

// --- secrecy -------------------------------------------------------------------

test("no problem, error message or warning ever contains a key, access key or secret", () => {
  // Every secret carries the marker "Zq9x", which appears nowhere else.
  const secrets = [
    "sk-Zq9x-legacy-openai-0001",
    "sk-Zq9x-legacy-openai-0002",
    "sk-ant-Zq9x-0003",
    "AKIAZq9x0004",
    "aws-Zq9x-0005",
    "AKIAZq9x0006",
    "sk-Zq9x-aaaa1111",
    "sk-Zq9x-bbbb2222",
    "ghp-Zq9x-cccc3333",
    "sk-Zq9x-dddd4444",
    "AKIA-Zq9x-eeee",
    "aws-Zq9x-ffff",
    "sk-Zq9x-g1",
    "sk-Zq9x-g2",
    "sk-Zq9x-g3",
    "sk-Zq9x-g4",
    "sk-Zq9x-g5",
    "sk-Zq9x-g6",
    "AKIA-Zq9x-hhhh",
    "sk-Zq9x-iiii",
    "aws-Zq9x-jjjj",
    "aws-Zq9x-kkkk",
    "sk-Zq9x-llll",
    "sk-Zq9x-mmmm",
  ];
  const env: EnvRecord = {
    // Legacy: same variable, different secret values, under both prefixes.
    CODER_AIBRIDGE_OPENAI_KEY: "sk-Zq9x-legacy-openai-0001",
    CODER_AI_GATEWAY_OPENAI_KEY: "sk-Zq9x-legacy-openai-0002",
    // Legacy: Anthropic key together with Bedrock credentials.
    CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-Zq9x-0003",
    CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: "AKIAZq9x0004",
    CODER_AI_GATEWAY_BEDROCK_ACCESS_KEY: "AKIAZq9x0006",
    CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: "aws-Zq9x-0005",
    // Bad TYPE, duplicate and empty keys.
    ...provider(0, { TYPE: "nonsense", KEYS: "sk-Zq9x-aaaa1111, sk-Zq9x-aaaa1111,,sk-Zq9x-bbbb2222" }),
    // Keys on copilot.
    ...provider(1, { TYPE: "copilot", KEY: "ghp-Zq9x-cccc3333" }),
    // Keys on bedrock, duplicate access keys, access key / secret count mismatch.
    ...provider(2, {
      TYPE: "bedrock",
      KEY: "sk-Zq9x-dddd4444",
      BEDROCK_ACCESS_KEYS: "AKIA-Zq9x-eeee,AKIA-Zq9x-eeee",
      BEDROCK_ACCESS_KEY_SECRETS: "aws-Zq9x-ffff",
    }),
    // Too many keys, Bedrock access key on openai.
    ...provider(3, {
      TYPE: "openai",
      KEYS: "sk-Zq9x-g1,sk-Zq9x-g2,sk-Zq9x-g3,sk-Zq9x-g4,sk-Zq9x-g5,sk-Zq9x-g6",
      BEDROCK_ACCESS_KEY: "AKIA-Zq9x-hhhh",
    }),
    // KEY with Bedrock, both forms of the secret pair.
    ...provider(4, {
      TYPE: "anthropic",
      KEY: "sk-Zq9x-iiii",
      BEDROCK_REGION: "us-east-1",
      BEDROCK_ACCESS_KEY_SECRET: "aws-Zq9x-jjjj",
      BEDROCK_ACCESS_KEY_SECRETS: "aws-Zq9x-kkkk",
    }),
    // Unknown fields holding secrets; a duplicate NAME.
    ...provider(5, { TYPE: "openai", APIKEY: "sk-Zq9x-llll", KYE: "sk-Zq9x-mmmm" }),
  };
  const logger = captureLogger();
  const { lines } = logger;
  const err = configError(env, { logger });

  // The env really triggered the problems and warnings this test is about.
  const expectedFragments = [
    "CODER_AIBRIDGE_OPENAI_KEY and CODER_AI_GATEWAY_OPENAI_KEY are set to different values",
    "CODER_AIBRIDGE_BEDROCK_ACCESS_KEY and CODER_AI_GATEWAY_BEDROCK_ACCESS_KEY are set to different values",
    "CODER_AIBRIDGE_ANTHROPIC_KEY and CODER_AIBRIDGE_BEDROCK_* are mutually exclusive",
    'provider 0: unknown TYPE "nonsense"',
    "duplicate key at index 1",
    "key at index 2 is empty",
    'KEY/KEYS are not supported for TYPE "copilot"',
    'KEY/KEYS are not supported for TYPE "bedrock"',
    "too many keys (6), maximum is 5",
    'BEDROCK_* fields are only supported with TYPE "anthropic" or "bedrock"',
    "KEY/KEYS and BEDROCK_* fields are mutually exclusive",
    "provider 4: BEDROCK_ACCESS_KEY_SECRET and BEDROCK_ACCESS_KEY_SECRETS are mutually exclusive",
    'providers 3 and 5 have duplicate NAME "openai"',
  ];
  for (const fragment of expectedFragments) assertHasProblem(err.problems, fragment);
  assert.equal(lines.filter((l) => l.msg === "ignoring unknown AI provider field (check for typos)").length, 2);

  const outputs = [err.message, String(err.stack), ...err.problems, ...lines.map((l) => JSON.stringify({ msg: l.msg, ...l.fields }))];
  for (const out of outputs) {
    assert.ok(!out.includes("Zq9x"), `secret marker leaked in: ${out}`);
    for (const secret of secrets) assert.ok(!out.includes(secret), `secret ${secret} leaked in: ${out}`);
  }
});

test("an empty indexed value counts as unset, like an empty legacy one", () => {
  const config = readAIBridgeConfig({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KEY: "" });
  assert.deepEqual(config.providers?.[0].keys, []);
  // An empty variable under the other prefix does not count as mixing.
  const mixed = readAIBridgeConfig({ CODER_AI_GATEWAY_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "" });
  assert.equal(mixed.providers?.length, 1);
});

test("the same field set twice under different spellings is a problem naming both variables", () => {
  assert.throws(
    () =>
      readAIBridgeConfig({
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-first-value",
        CODER_AIBRIDGE_PROVIDER_00_key: "sk-second-value",
      }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 1);
      assert.match(
        e.problems[0],
        /^provider 0: KEY is set more than once \(CODER_AIBRIDGE_PROVIDER_00?_KEY and CODER_AIBRIDGE_PROVIDER_00?_KEY\)/,
      );
      assert.ok(!e.message.includes("sk-first-value") && !e.message.includes("sk-second-value"));
      return true;
    },
  );
});

test("leading zeros in an index are allowed, however many", () => {
  const config = readAIBridgeConfig({ CODER_AIBRIDGE_PROVIDER_0000000000_TYPE: "openai" });
  assert.equal(config.providers?.[0].type, "openai");
});
