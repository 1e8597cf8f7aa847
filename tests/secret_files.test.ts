// `NAME_FILE` secrets: any variable read by readAIBridgeConfig may be given
// as the path of a file whose trimmed content is the value (the Docker and
// Kubernetes secrets convention). The files are checked in under
// tests/fixtures/secrets, one made-up value each, so the suite needs read
// permission only (Deno runs it without --allow-write).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, type EnvRecord, readAIBridgeConfig, seedAIProvidersFromEnv } from "../mod.ts";
import { captureLogger, snapshot, withDatabase } from "./_db.ts";
import { testPath } from "./_spawn.ts";

/** The path of a checked-in secret file. */
const secret = (name: string): string => testPath(`./fixtures/secrets/${name}`);

function problemsOf(env: EnvRecord): string[] {
  try {
    readAIBridgeConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

test("a legacy variable read from NAME_FILE: trimmed content is the value", () => {
  const config = readAIBridgeConfig({
    CODER_AIBRIDGE_OPENAI_KEY_FILE: secret("openai_key"), // "  sk-from-file\n\n"
    CODER_AIBRIDGE_OPENAI_BASE_URL_FILE: secret("openai_base_url"),
    CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_FILE: secret("bedrock_access_key"),
    CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET_FILE: secret("bedrock_secret"), // "secret-from-file\r\n"
    CODER_AIBRIDGE_BEDROCK_REGION: "us-west-2",
  });
  assert.deepEqual(config.legacyOpenAI, { baseURL: "https://proxy.example/v1", key: "sk-from-file" });
  assert.equal(config.legacyBedrock?.accessKey, "AKIAFILE0001");
  assert.equal(config.legacyBedrock?.accessKeySecret, "secret-from-file");
});

test("a legacy NAME_FILE under the alias prefix is read, and compared with the original prefix", () => {
  const path = secret("same_key"); // "sk-same\n"
  const same = readAIBridgeConfig({ CODER_AIBRIDGE_OPENAI_KEY: "sk-same", CODER_AI_GATEWAY_OPENAI_KEY_FILE: path });
  assert.equal(same.legacyOpenAI?.key, "sk-same");

  const problems = problemsOf({ CODER_AIBRIDGE_OPENAI_KEY: "sk-other", CODER_AI_GATEWAY_OPENAI_KEY_FILE: path });
  assert.deepEqual(problems, [
    "CODER_AIBRIDGE_OPENAI_KEY and CODER_AI_GATEWAY_OPENAI_KEY_FILE are set to different values; keep one of them",
  ]);
});

test("NAME and NAME_FILE both set is a problem that names both and neither value", () => {
  const problems = problemsOf({
    CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-ant-direct-value",
    CODER_AIBRIDGE_ANTHROPIC_KEY_FILE: secret("anthropic_key"),
  });
  assert.deepEqual(problems, [
    "CODER_AIBRIDGE_ANTHROPIC_KEY and CODER_AIBRIDGE_ANTHROPIC_KEY_FILE are both set; use one or the other",
  ]);
});

test("an unreadable file is a problem naming the variable and the path, and leaves the variable unset", () => {
  const missing = secret("no-such-file");
  const folder = testPath("./fixtures/secrets");
  const problems = problemsOf({
    CODER_AIBRIDGE_OPENAI_KEY_FILE: missing,
    CODER_AI_GATEWAY_PROVIDER_0_TYPE: "openai",
    CODER_AI_GATEWAY_PROVIDER_0_KEY_FILE: folder,
  });
  assert.deepEqual(problems, [
    `cannot read CODER_AIBRIDGE_OPENAI_KEY_FILE (${JSON.stringify(missing)}): file not found`,
    `cannot read CODER_AI_GATEWAY_PROVIDER_0_KEY_FILE (${JSON.stringify(folder)}): it is a directory, not a file`,
  ]);
});

test("indexed fields read from _FILE, under any field, with no unknown-field warning", () => {
  const logger = captureLogger();
  const config = readAIBridgeConfig({
    CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
    CODER_AIBRIDGE_PROVIDER_0_NAME_FILE: secret("name"), // "from-file\n"
    CODER_AIBRIDGE_PROVIDER_0_KEYS_FILE: secret("keys"), // "sk-one, sk-two\n"
    CODER_AIBRIDGE_PROVIDER_1_TYPE: "anthropic",
    CODER_AIBRIDGE_PROVIDER_1_key_file: secret("anthropic_indexed_key"), // lower case, like any field
    CODER_AIBRIDGE_PROVIDER_2_TYPE: "bedrock",
    CODER_AIBRIDGE_PROVIDER_2_BEDROCK_REGION: "eu-west-1",
    CODER_AIBRIDGE_PROVIDER_2_BEDROCK_ACCESS_KEY_FILE: secret("indexed_access_key"),
    CODER_AIBRIDGE_PROVIDER_2_BEDROCK_ACCESS_KEY_SECRET_FILE: secret("indexed_secret"),
  }, { logger });
  assert.deepEqual(logger.lines, [], "no warning: the _FILE twins of known fields are known");
  const [p0, p1, p2] = config.providers!;
  assert.equal(p0.name, "from-file");
  assert.deepEqual(p0.keys, ["sk-one", "sk-two"]);
  assert.deepEqual(p1.keys, ["sk-ant"]);
  assert.deepEqual(p2.bedrockAccessKeys, ["AKIAIDX0001"]);
  assert.deepEqual(p2.bedrockAccessKeySecrets, ["idx-secret-0001"]);
});

test("an unknown field with _FILE is still an unknown field, and its file is not read", () => {
  const logger = captureLogger();
  readAIBridgeConfig({ CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_TOKEN_FILE: "/nowhere" }, { logger });
  assert.deepEqual(logger.lines.map((l) => [l.msg, l.fields]), [
    ["ignoring unknown AI provider field (check for typos)", { env: "CODER_AIBRIDGE_PROVIDER_0_TOKEN_FILE" }],
  ]);
});

test("an indexed field and its _FILE twin both set is a problem; KEY_FILE with KEYS is the KEY/KEYS problem", () => {
  const path = secret("anthropic_key");
  assert.deepEqual(
    problemsOf({
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
      CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-direct-secret-0001",
      CODER_AIBRIDGE_PROVIDER_0_KEY_FILE: path,
    }),
    ["provider 0: CODER_AIBRIDGE_PROVIDER_0_KEY and CODER_AIBRIDGE_PROVIDER_0_KEY_FILE are both set; use one or the other"],
  );
  assert.deepEqual(
    problemsOf({
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
      CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-a,sk-b",
      CODER_AIBRIDGE_PROVIDER_0_KEY_FILE: path,
    }),
    ["provider 0: KEY and KEYS are mutually exclusive, use one or the other"],
  );
});

test("content read from a file is checked like a value and never appears in a problem", () => {
  const problems = problemsOf({
    CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
    CODER_AIBRIDGE_PROVIDER_0_KEYS_FILE: secret("duplicate_keys"),
    CODER_AIBRIDGE_PROVIDER_1_TYPE: "openai",
    CODER_AIBRIDGE_PROVIDER_1_NAME: "second",
    CODER_AIBRIDGE_PROVIDER_1_KEY_FILE: secret("blank"), // "  \n": trims to empty
  });
  assert.deepEqual(problems, ["provider 0 (openai): KEYS: duplicate key at index 1", "provider 1 (second): KEY: key at index 0 is empty"]);
  assert.ok(!problems.join("\n").includes("sk-very-secret-file-content"));
});

test("an empty NAME_FILE counts as unset, like an empty variable", () => {
  const config = readAIBridgeConfig({ CODER_AIBRIDGE_OPENAI_KEY_FILE: "", CODER_AIBRIDGE_PROVIDER_0_KEY_FILE: "" });
  assert.equal(config.legacyOpenAI?.key, "");
  assert.deepEqual(config.providers, []);
});

test("a seed with keys from files stores the files' contents (real PostgreSQL)", async () => {
  await withDatabase(async ({ sql }) => {
    const report = await seedAIProvidersFromEnv(sql, {
      env: {
        CODER_AIBRIDGE_OPENAI_KEY_FILE: secret("seed_openai_key"), // "sk-legacy-from-file\n"
        CODER_AI_GATEWAY_PROVIDER_0_TYPE: "google",
        CODER_AI_GATEWAY_PROVIDER_0_KEYS_FILE: secret("seed_google_keys"), // "g-key-0001,g-key-0002\n"
      },
    });
    assert.equal(report.counts.insert, 2);
    const { keys } = await snapshot(sql);
    assert.deepEqual(keys.map((k) => [k.provider, k.api_key]).sort(), [
      ["google", "g-key-0001"],
      ["google", "g-key-0002"],
      ["openai", "sk-legacy-from-file"],
    ]);
    assert.deepEqual(report.entries.map((e) => e.maskedKeys), [["g-...01", "g-...02"], ["sk...le"]]);
  });
});
