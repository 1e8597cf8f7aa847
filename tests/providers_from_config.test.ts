import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type AIBridgeConfig,
  canonicalJSON,
  canonicalProvider,
  computeProviderHash,
  ConfigError,
  type DesiredAIProvider,
  type Logger,
  providersFromConfig,
  readAIBridgeConfig,
  SeedError,
} from "../mod.ts";
import { captureLogger } from "./_log.ts";

// --- helpers -------------------------------------------------------------------

/** Normalises the config, expecting a ConfigError; returns it. */
async function configError(config: AIBridgeConfig, logger?: Logger): Promise<ConfigError> {
  let caught: unknown;
  try {
    await providersFromConfig(config, logger);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

function assertHasProblem(problems: string[], expected: string): void {
  assert.ok(problems.some((p) => p.includes(expected)), `no problem contains ${JSON.stringify(expected)}; got:\n${problems.join("\n")}`);
}

function hashOf(type: string, baseURL: string, bedrockRegion = ""): Promise<string> {
  return computeProviderHash({ type, baseURL, bedrockRegion });
}

/**
 * Normalises the config and adds each provider's hash, computed from its
 * canonical form as the seed compares it (the providers themselves carry no
 * hash: the seed compares canonical bytes).
 */
async function hashed(config: AIBridgeConfig, logger?: Logger): Promise<(DesiredAIProvider & { hash: string })[]> {
  const providers = await providersFromConfig(config, logger);
  return await Promise.all(providers.map(async (p) => ({ ...p, hash: await computeProviderHash(canonicalProvider(p)) })));
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

function byName(providers: DesiredAIProvider[], name: string): DesiredAIProvider {
  const p = providers.find((x) => x.name === name);
  assert.ok(p, `no provider named ${name}`);
  return p;
}

const BEDROCK_WARNING = "ignoring bearer keys configured on Bedrock AI provider; Bedrock authenticates via access keys or credential chain";
const COPILOT_WARNING =
  "ignoring bearer keys configured on Copilot AI provider; Copilot authenticates via request-time GitHub OAuth tokens";
const LEGACY_KEY_WARNING =
  "ignoring legacy Anthropic API key because Bedrock credentials are configured; Bedrock authenticates via access keys or credential chain";

// --- empty ---------------------------------------------------------------------

test("an empty config yields no providers", async () => {
  assert.deepEqual(await providersFromConfig({}), []);
});

test("the defaults read from an empty env yield no providers", async () => {
  assert.deepEqual(await providersFromConfig(readAIBridgeConfig({})), []);
});

// --- legacy OpenAI -------------------------------------------------------------

test("legacy OpenAI with a key: name openai, type openai, its base URL, one key", async () => {
  const providers = await hashed({ legacyOpenAI: { baseURL: "https://api.openai.com/v1", key: "sk-legacy" } });
  assert.deepEqual(providers, [
    {
      name: "openai",
      type: "openai",
      baseURL: "https://api.openai.com/v1",
      keys: ["sk-legacy"],
      bedrock: null,
      // printf '%s' '{"type":"openai","base_url":"https://api.openai.com/v1","bedrock_region":""}' | sha256sum
      hash: "043661bcb20e16747ee0cc61e3f248f002e127d75cdc1efbdc693463856bac41",
    },
  ]);
});

test("legacy OpenAI without a key is not seeded, even with a base URL", async () => {
  assert.deepEqual(await providersFromConfig({ legacyOpenAI: { baseURL: "https://api.openai.com/v1", key: "" } }), []);
});

// --- legacy Anthropic and Bedrock ----------------------------------------------

test("legacy Anthropic with a key: name anthropic, its base URL and key, no Bedrock", async () => {
  const providers = await hashed({ legacyAnthropic: { baseURL: "https://api.anthropic.com/", key: "sk-ant" } });
  assert.deepEqual(providers, [
    {
      name: "anthropic",
      type: "anthropic",
      baseURL: "https://api.anthropic.com/",
      keys: ["sk-ant"],
      bedrock: null,
      hash: sha256Hex('{"type":"anthropic","base_url":"https://api.anthropic.com/","bedrock_region":""}'),
    },
  ]);
});

const LEGACY_BEDROCK_TRIGGERS = [
  ["baseURL", { baseURL: "https://bedrock.example/" }],
  ["region", { region: "us-east-1" }],
  ["accessKey", { accessKey: "AKIA1" }],
  ["accessKeySecret", { accessKeySecret: "aws-secret" }],
] as const;

for (const [field, bedrockFields] of LEGACY_BEDROCK_TRIGGERS) {
  test(`legacy Bedrock is configured by ${field} alone: anthropic with Bedrock settings, no key`, async () => {
    const providers = await hashed({
      legacyAnthropic: { baseURL: "https://api.anthropic.com/", key: "" },
      legacyBedrock: { model: "big", smallFastModel: "small", ...bedrockFields },
    });
    const baseURL = "baseURL" in bedrockFields ? bedrockFields.baseURL : "";
    const region = "region" in bedrockFields ? bedrockFields.region : "";
    const expectedBedrock: Record<string, string> = { region, model: "big", smallFastModel: "small" };
    if ("accessKey" in bedrockFields) expectedBedrock.accessKey = bedrockFields.accessKey;
    if ("accessKeySecret" in bedrockFields) expectedBedrock.accessKeySecret = bedrockFields.accessKeySecret;
    assert.deepEqual(providers, [
      {
        name: "anthropic",
        type: "anthropic",
        // The Bedrock base URL, even empty: never the Anthropic one.
        baseURL,
        keys: [],
        bedrock: expectedBedrock,
        hash: await hashOf("anthropic", baseURL, region),
      },
    ]);
  });
}

test("legacy Bedrock with every field: settings hold region, models and credentials", async () => {
  const providers = await hashed({
    legacyBedrock: {
      baseURL: "https://bedrock.example/",
      region: "us-east-1",
      accessKey: "AKIA1",
      accessKeySecret: "aws-secret",
      model: "big",
      smallFastModel: "small",
    },
  });
  assert.equal(providers.length, 1);
  assert.deepEqual(providers[0]!.bedrock, {
    region: "us-east-1",
    accessKey: "AKIA1",
    accessKeySecret: "aws-secret",
    model: "big",
    smallFastModel: "small",
  });
  // printf '%s' '{"type":"anthropic","base_url":"https://bedrock.example/","bedrock_region":"us-east-1"}'
  assert.equal(providers[0]!.hash, sha256Hex('{"type":"anthropic","base_url":"https://bedrock.example/","bedrock_region":"us-east-1"}'));
});

test("legacy Bedrock: empty credentials are absent from the settings, not empty strings", async () => {
  const [p] = await providersFromConfig({
    legacyBedrock: { region: "us-east-1", accessKey: "", accessKeySecret: "", model: "m", smallFastModel: "s" },
  });
  assert.ok(p?.bedrock);
  assert.equal("accessKey" in p.bedrock, false);
  assert.equal("accessKeySecret" in p.bedrock, false);
});

test("Bedrock models alone never configure Bedrock: Anthropic key plus the env defaults gives bedrock null", async () => {
  const config = readAIBridgeConfig({ CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant" });
  // The defaults really are present in the config.
  assert.notEqual(config.legacyBedrock?.model, "");
  assert.notEqual(config.legacyBedrock?.smallFastModel, "");
  const providers = await hashed(config);
  assert.deepEqual(providers, [
    {
      name: "anthropic",
      type: "anthropic",
      baseURL: "https://api.anthropic.com/",
      keys: ["sk-ant"],
      bedrock: null,
      hash: await hashOf("anthropic", "https://api.anthropic.com/"),
    },
  ]);
});

test("Bedrock models alone without an Anthropic key seed nothing", async () => {
  assert.deepEqual(await providersFromConfig({ legacyBedrock: { model: "big", smallFastModel: "small" } }), []);
});

test("legacy Anthropic key and Bedrock both given directly: Bedrock wins, key dropped with a warning", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const providers = await hashed(
    {
      legacyAnthropic: { baseURL: "https://api.anthropic.com/", key: "sk-ant-dropped" },
      legacyBedrock: { region: "eu-central-1", model: "m", smallFastModel: "s" },
    },
    logger,
  );
  assert.deepEqual(providers, [
    {
      name: "anthropic",
      type: "anthropic",
      baseURL: "",
      keys: [],
      bedrock: { region: "eu-central-1", model: "m", smallFastModel: "s" },
      hash: await hashOf("anthropic", "", "eu-central-1"),
    },
  ]);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, "warn");
  assert.equal(lines[0]!.msg, LEGACY_KEY_WARNING);
  assert.ok(!JSON.stringify(lines[0]).includes("sk-ant-dropped"));
});

test("legacy Bedrock without an Anthropic key logs no warning", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  await providersFromConfig({ legacyBedrock: { region: "eu-central-1" } }, logger);
  assert.deepEqual(lines, []);
});

// --- indexed: names and types --------------------------------------------------

test("an indexed provider's name defaults to its type", async () => {
  const providers = await hashed({ providers: [{ type: "openai", keys: ["sk-a"], baseURL: "https://o/" }] });
  assert.deepEqual(providers, [
    { name: "openai", type: "openai", baseURL: "https://o/", keys: ["sk-a"], bedrock: null, hash: await hashOf("openai", "https://o/") },
  ]);
});

test("an indexed provider with missing optional fields gets empty strings and lists", async () => {
  const providers = await hashed({ providers: [{ type: "vercel", name: "v" }] });
  assert.deepEqual(providers, [{ name: "v", type: "vercel", baseURL: "", keys: [], bedrock: null, hash: await hashOf("vercel", "") }]);
});

test("an indexed provider with neither name nor type is an error", async () => {
  const err = await configError({ providers: [{ keys: ["sk-a"] }] });
  assert.deepEqual(err.problems, ["indexed AI provider must have a name or type"]);
});

test("an invalid indexed name is an error: invalid AI provider name", async () => {
  const err = await configError({ providers: [{ type: "openai", name: "Bad_Name" }] });
  assert.equal(err.problems.length, 1);
  assertHasProblem(err.problems, 'invalid AI provider name "Bad_Name": must match ^[a-z0-9]+(-[a-z0-9]+)*$');
  assert.ok(err.message.includes("invalid AI provider name"));
});

for (const bad of ["-lead", "trail-", "dou--ble", "UPPER", "with space", "dot.ted", "ünï"]) {
  test(`the name ${JSON.stringify(bad)} does not match the name pattern`, async () => {
    const err = await configError({ providers: [{ type: "openai", name: bad }] });
    assertHasProblem(err.problems, `invalid AI provider name ${JSON.stringify(bad)}`);
  });
}

test("the name is checked before the type, as in the reference (type used as name)", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const err = await configError({ providers: [{ type: "OpenAI" }] }, logger);
  assertHasProblem(err.problems, 'invalid AI provider name "OpenAI"');
  assert.deepEqual(lines, []);
});

test("an unknown indexed type is skipped with a warning naming name and type; the others are kept", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const providers = await providersFromConfig(
    { providers: [{ type: "gpt", name: "x", keys: ["sk-x"] }, { type: "azure", name: "az", keys: ["sk-az"] }] },
    logger,
  );
  assert.deepEqual(providers.map((p) => p.name), ["az"]);
  assert.deepEqual(lines, [{
    level: "warn",
    msg: "skipping indexed AI provider with unsupported type",
    fields: { name: "x", type: "gpt" },
  }]);
});

test("an unknown type under a legacy name is skipped, not a conflict (reference order)", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const providers = await providersFromConfig(
    { legacyOpenAI: { baseURL: "https://o/", key: "sk-l" }, providers: [{ type: "gpt", name: "openai" }] },
    logger,
  );
  assert.deepEqual(providers.map((p) => p.name), ["openai"]);
  assert.equal(lines[0]?.msg, "skipping indexed AI provider with unsupported type");
});

// --- indexed: Bedrock ----------------------------------------------------------

test("Bedrock fields on anthropic replace the base URL with the (empty) Bedrock base URL", async () => {
  const providers = await hashed({
    providers: [{
      type: "anthropic",
      name: "claude",
      baseURL: "https://api.anthropic.com/",
      bedrockRegion: "us-west-2",
      bedrockModel: "m",
    }],
  });
  assert.deepEqual(providers, [
    {
      name: "claude",
      type: "anthropic",
      baseURL: "",
      keys: [],
      bedrock: { region: "us-west-2", model: "m", smallFastModel: "" },
      hash: await hashOf("anthropic", "", "us-west-2"),
    },
  ]);
});

test("Bedrock fields on anthropic replace the base URL with the given Bedrock base URL", async () => {
  const [p] = await hashed({
    providers: [{ type: "anthropic", baseURL: "https://api.anthropic.com/", bedrockBaseURL: "https://vpce.example/" }],
  });
  assert.equal(p?.baseURL, "https://vpce.example/");
  assert.deepEqual(p?.bedrock, { region: "", model: "", smallFastModel: "" });
  assert.equal(p?.hash, await hashOf("anthropic", "https://vpce.example/", ""));
});

test("Bedrock fields on type bedrock make a Bedrock provider", async () => {
  const [p] = await hashed({
    providers: [{ type: "bedrock", name: "aws", bedrockRegion: "ap-south-1", bedrockAccessKeys: ["AK"], bedrockAccessKeySecrets: ["S"] }],
  });
  assert.deepEqual(p, {
    name: "aws",
    type: "bedrock",
    baseURL: "",
    keys: [],
    bedrock: { region: "ap-south-1", accessKey: "AK", accessKeySecret: "S", model: "", smallFastModel: "" },
    hash: await hashOf("bedrock", "", "ap-south-1"),
  });
});

test("only the first Bedrock access key and secret are used", async () => {
  const [p] = await providersFromConfig({
    providers: [{
      type: "anthropic",
      bedrockRegion: "us-east-1",
      bedrockAccessKeys: ["AK1", "AK2"],
      bedrockAccessKeySecrets: ["S1", "S2"],
    }],
  });
  assert.equal(p?.bedrock?.accessKey, "AK1");
  assert.equal(p?.bedrock?.accessKeySecret, "S1");
});

test("a Bedrock access key alone configures Bedrock on anthropic", async () => {
  const [p] = await providersFromConfig({ providers: [{ type: "anthropic", baseURL: "https://a/", bedrockAccessKeys: ["AK1"] }] });
  assert.deepEqual(p?.bedrock, { region: "", accessKey: "AK1", model: "", smallFastModel: "" });
  assert.equal(p?.baseURL, "");
});

test("Bedrock models alone on anthropic do not configure Bedrock: base URL and keys are kept", async () => {
  const [p] = await hashed({
    providers: [{ type: "anthropic", baseURL: "https://a/", keys: ["sk-a"], bedrockModel: "m", bedrockSmallFastModel: "s" }],
  });
  assert.deepEqual(p, {
    name: "anthropic",
    type: "anthropic",
    baseURL: "https://a/",
    keys: ["sk-a"],
    bedrock: null,
    hash: await hashOf("anthropic", "https://a/"),
  });
});

test("Bedrock fields on a non-Bedrock type are ignored", async () => {
  const [p] = await hashed({
    providers: [{ type: "openai", baseURL: "https://o/", keys: ["sk-o"], bedrockRegion: "us-east-1", bedrockBaseURL: "https://b/" }],
  });
  assert.deepEqual(p, {
    name: "openai",
    type: "openai",
    baseURL: "https://o/",
    keys: ["sk-o"],
    bedrock: null,
    hash: await hashOf("openai", "https://o/"),
  });
});

// --- indexed: bearer keys ------------------------------------------------------

test("bearer keys on a Bedrock-configured anthropic provider are dropped with a warning", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const [p] = await providersFromConfig({
    providers: [{ type: "anthropic", name: "claude", keys: ["sk-1", "sk-2"], bedrockRegion: "us-east-1" }],
  }, logger);
  assert.deepEqual(p?.keys, []);
  assert.deepEqual(lines, [{ level: "warn", msg: BEDROCK_WARNING, fields: { name: "claude", ignored_key_count: 2 } }]);
});

test("bearer keys on a type bedrock provider are dropped with a warning", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const [p] = await providersFromConfig({ providers: [{ type: "bedrock", keys: ["sk-1"], bedrockRegion: "us-east-1" }] }, logger);
  assert.deepEqual(p?.keys, []);
  assert.deepEqual(lines, [{ level: "warn", msg: BEDROCK_WARNING, fields: { name: "bedrock", ignored_key_count: 1 } }]);
});

test("bearer keys on Copilot are dropped with a warning", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const [p] = await hashed({
    providers: [{ type: "copilot", name: "gh", keys: ["ghp-1", "ghp-2", "ghp-3"], baseURL: "https://c/" }],
  }, logger);
  assert.deepEqual(p, {
    name: "gh",
    type: "copilot",
    baseURL: "https://c/",
    keys: [],
    bedrock: null,
    hash: await hashOf("copilot", "https://c/"),
  });
  assert.deepEqual(lines, [{ level: "warn", msg: COPILOT_WARNING, fields: { name: "gh", ignored_key_count: 3 } }]);
});

test("Bedrock and Copilot providers without keys log no warning", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  await providersFromConfig({ providers: [{ type: "copilot" }, { type: "bedrock", bedrockRegion: "us-east-1" }] }, logger);
  assert.deepEqual(lines, []);
});

test("type bedrock without Bedrock configured keeps its keys and has no settings (as the reference)", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const [p] = await hashed({ providers: [{ type: "bedrock", baseURL: "https://b/", keys: ["sk-b"] }] }, logger);
  assert.deepEqual(p, {
    name: "bedrock",
    type: "bedrock",
    baseURL: "https://b/",
    keys: ["sk-b"],
    bedrock: null,
    hash: await hashOf("bedrock", "https://b/"),
  });
  assert.deepEqual(lines, []);
});

test("every bearer key of an OpenAI-compatible provider is kept, in order", async () => {
  for (const type of ["openai", "azure", "google", "openai-compat", "openrouter", "vercel"]) {
    const [p] = await providersFromConfig({ providers: [{ type, keys: ["k1", "k2", "k3"] }] });
    assert.deepEqual(p?.keys, ["k1", "k2", "k3"], type);
  }
});

// --- names shared between providers --------------------------------------------

test("an indexed provider with a legacy provider's name is an error: conflicts with the legacy env var", async () => {
  const err = await configError({ legacyOpenAI: { baseURL: "https://o/", key: "sk-l" }, providers: [{ type: "openai", keys: ["sk-i"] }] });
  assert.deepEqual(err.problems, [
    'indexed AI provider "openai" conflicts with the legacy env var of the same name; remove one or the other',
  ]);
});

test("an indexed anthropic conflicts with legacy Bedrock (which seeds the name anthropic)", async () => {
  const err = await configError({ legacyBedrock: { region: "us-east-1" }, providers: [{ type: "azure", name: "anthropic" }] });
  assertHasProblem(err.problems, 'indexed AI provider "anthropic" conflicts with the legacy env var');
});

test("the same name twice with the same canonical form: the first is kept silently", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const providers = await hashed(
    {
      providers: [
        { type: "openai", name: "x", baseURL: "https://o/", keys: ["sk-first"] },
        { type: "openai", name: "x", baseURL: "https://o/", keys: ["sk-second", "sk-third"] },
      ],
    },
    logger,
  );
  assert.deepEqual(providers, [
    { name: "x", type: "openai", baseURL: "https://o/", keys: ["sk-first"], bedrock: null, hash: await hashOf("openai", "https://o/") },
  ]);
  assert.deepEqual(lines, []);
});

test("the same name twice differing only in Bedrock models and credentials is not a conflict", async () => {
  const providers = await providersFromConfig({
    providers: [
      {
        type: "anthropic",
        name: "aws",
        bedrockRegion: "us-east-1",
        bedrockModel: "m1",
        bedrockAccessKeys: ["AK1"],
        bedrockAccessKeySecrets: ["S1"],
      },
      {
        type: "anthropic",
        name: "aws",
        bedrockRegion: "us-east-1",
        bedrockModel: "m2",
        bedrockAccessKeys: ["AK2"],
        bedrockAccessKeySecrets: ["S2"],
      },
    ],
  });
  assert.equal(providers.length, 1);
  assert.equal(providers[0]!.bedrock?.model, "m1");
  assert.equal(providers[0]!.bedrock?.accessKey, "AK1");
});

for (
  const [what, second] of [
    ["base URL", { type: "openai", name: "x", baseURL: "https://other/" }],
    ["type", { type: "azure", name: "x", baseURL: "https://o/" }],
  ] as const
) {
  test(`the same name twice with a different ${what} is an error: conflicting fields`, async () => {
    const err = await configError({ providers: [{ type: "openai", name: "x", baseURL: "https://o/" }, second] });
    assert.deepEqual(err.problems, ['duplicate AI provider name "x" with conflicting fields']);
  });
}

test("the same name twice with a different Bedrock region is an error: conflicting fields", async () => {
  const err = await configError({
    providers: [
      { type: "anthropic", name: "aws", bedrockRegion: "us-east-1" },
      { type: "anthropic", name: "aws", bedrockRegion: "us-east-2" },
    ],
  });
  assert.deepEqual(err.problems, ['duplicate AI provider name "aws" with conflicting fields']);
});

// --- ordering and hashes -------------------------------------------------------

test("the result is sorted by name in byte order", async () => {
  const providers = await providersFromConfig({
    legacyOpenAI: { baseURL: "https://o/", key: "sk-o" },
    providers: [
      { type: "openai", name: "zeta" },
      { type: "openai", name: "b0" },
      { type: "openai", name: "alpha" },
      { type: "openai", name: "b-1" },
      { type: "openai", name: "a1" },
      { type: "openai", name: "10x" },
      { type: "openai", name: "9" },
    ],
  });
  // "-" (0x2d) sorts before "0" (0x30); digits before letters.
  assert.deepEqual(providers.map((p) => p.name), ["10x", "9", "a1", "alpha", "b-1", "b0", "openai", "zeta"]);
});

test("each provider's canonical form is its type, base URL and Bedrock region, written as Go's JSON bytes", async () => {
  const providers = await providersFromConfig({
    legacyOpenAI: { baseURL: "https://api.openai.com/v1/", key: "sk-o" },
    legacyBedrock: { baseURL: "https://bedrock.example/", region: "us-east-1", accessKey: "AK", accessKeySecret: "S" },
    providers: [
      { type: "azure", name: "az", baseURL: "https://az.example/?a=1&b=<2>", keys: ["k"] },
      { type: "bedrock", name: "aws", bedrockRegion: "eu-west-1" },
      { type: "copilot", baseURL: "https://api.githubcopilot.com" },
    ],
  });
  assert.equal(providers.length, 5);
  for (const p of providers) {
    assert.equal("hash" in p, false, "a desired provider carries no hash");
    assert.deepEqual(canonicalProvider(p), { type: p.type, baseURL: p.baseURL, bedrockRegion: p.bedrock?.region ?? "" }, p.name);
    assert.equal(await computeProviderHash(canonicalProvider(p)), sha256Hex(canonicalJSON(canonicalProvider(p))), p.name);
  }
  // And, independently, against the literal Go JSON bytes.
  const az = canonicalJSON(canonicalProvider(byName(providers, "az")));
  assert.equal(az, String.raw`{"type":"azure","base_url":"https://az.example/?a=1\u0026b=\u003c2\u003e","bedrock_region":""}`);
  assert.equal(
    await computeProviderHash(canonicalProvider(byName(providers, "anthropic"))),
    sha256Hex('{"type":"anthropic","base_url":"https://bedrock.example/","bedrock_region":"us-east-1"}'),
  );
  assert.equal(
    await computeProviderHash(canonicalProvider(byName(providers, "aws"))),
    sha256Hex('{"type":"bedrock","base_url":"","bedrock_region":"eu-west-1"}'),
  );
});

test("keys and models do not change the hash; base URL and region do", async () => {
  const [a] = await hashed({
    providers: [{ type: "anthropic", bedrockRegion: "r1", bedrockModel: "m1", bedrockAccessKeys: ["A"], bedrockAccessKeySecrets: ["S"] }],
  });
  const [b] = await hashed({ providers: [{ type: "anthropic", bedrockRegion: "r1", bedrockModel: "m2" }] });
  const [c] = await hashed({ providers: [{ type: "anthropic", bedrockRegion: "r2" }] });
  const [d] = await hashed({ providers: [{ type: "openai", keys: ["k1"] }] });
  const [e] = await hashed({ providers: [{ type: "openai", keys: ["k2", "k3"] }] });
  assert.equal(a?.hash, b?.hash);
  assert.notEqual(a?.hash, c?.hash);
  assert.equal(d?.hash, e?.hash);
});

// --- errors --------------------------------------------------------------------

test("errors are ConfigError with code config_invalid, collecting every problem", async () => {
  const err = await configError({
    legacyOpenAI: { baseURL: "https://o/", key: "sk-o" },
    providers: [
      { type: "openai", name: "Bad_Name" },
      {},
      { type: "openai" },
      { type: "azure", name: "dup", baseURL: "https://1/" },
      { type: "azure", name: "dup", baseURL: "https://2/" },
    ],
  });
  assert.ok(err instanceof SeedError);
  assert.equal(err.code, "config_invalid");
  assert.equal(err.problems.length, 4, err.problems.join("\n"));
  assertHasProblem(err.problems, 'invalid AI provider name "Bad_Name"');
  assertHasProblem(err.problems, "indexed AI provider must have a name or type");
  assertHasProblem(err.problems, 'indexed AI provider "openai" conflicts with the legacy env var');
  assertHasProblem(err.problems, 'duplicate AI provider name "dup" with conflicting fields');
});

test("the input config is not modified", async () => {
  const config: AIBridgeConfig = {
    legacyOpenAI: { baseURL: "https://o/", key: "sk-o" },
    providers: [{ type: "openai", name: "x", keys: ["k1", "k2"] }, { type: "copilot", keys: ["g"] }],
  };
  const before = structuredClone(config);
  const providers = await providersFromConfig(config);
  byName(providers, "x").keys.push("mutated");
  assert.deepEqual(config, before);
});

test("no warning or error from normalisation contains a key, access key or secret", async () => {
  const logger = captureLogger();
  const { lines } = logger;
  const config: AIBridgeConfig = {
    legacyOpenAI: { baseURL: "https://o/", key: "sk-Zq9x-legacy" },
    legacyAnthropic: { baseURL: "https://a/", key: "sk-ant-Zq9x" },
    legacyBedrock: { region: "us-east-1", accessKey: "AKIAZq9x", accessKeySecret: "aws-Zq9x" },
    providers: [
      {
        type: "anthropic",
        name: "claude",
        keys: ["sk-Zq9x-1"],
        bedrockRegion: "us-east-1",
        bedrockAccessKeys: ["AKIA-Zq9x-2"],
        bedrockAccessKeySecrets: ["aws-Zq9x-3"],
      },
      { type: "copilot", keys: ["ghp-Zq9x-4"] },
      { type: "gpt", name: "unknown", keys: ["sk-Zq9x-5"] },
      { type: "openai", name: "openai", keys: ["sk-Zq9x-6"] },
      { type: "azure", name: "Bad_Name", keys: ["sk-Zq9x-7"] },
      { type: "azure", name: "claude", keys: ["sk-Zq9x-8"] },
    ],
  };
  const err = await configError(config, logger);
  // The config really produced warnings of each kind and errors.
  assert.deepEqual(lines.map((l) => l.msg), [
    LEGACY_KEY_WARNING,
    BEDROCK_WARNING,
    COPILOT_WARNING,
    "skipping indexed AI provider with unsupported type",
  ]);
  assert.equal(err.problems.length, 3, err.problems.join("\n"));
  for (const out of [err.message, String(err.stack), ...err.problems, ...lines.map((l) => JSON.stringify({ msg: l.msg, ...l.fields }))]) {
    assert.ok(!out.includes("Zq9x"), `secret leaked in: ${out}`);
  }
});
