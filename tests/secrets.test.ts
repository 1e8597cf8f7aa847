// Keys, access keys and secrets never appear in clear in a log line, an
// error, a report or an audit entry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryAuditSink, seedAIProvidersFromEnv } from "../mod.ts";
import { captureLogger, insertRow, withDatabase } from "./_db.ts";

const SECRETS = [
  "sk-CANARY-legacy-openai-0001",
  "sk-CANARY-legacy-anthropic-0002",
  "AKIA-CANARY-legacy-0003",
  "CANARY-legacy-bedrock-secret-0004",
  "sk-CANARY-indexed-0005",
  "sk-CANARY-indexed-0006",
  "AKIA-CANARY-indexed-0007",
  "CANARY-indexed-secret-0008",
  "gh-CANARY-copilot-0009",
];

function assertNoSecret(where: string, text: string): void {
  for (const s of SECRETS) {
    assert.ok(!text.includes(s), `${where} contains the secret ${s.slice(0, 6)}…`);
    // Nor a long run of it (a partial leak), beyond what maskSecret shows.
    assert.ok(!text.includes(s.slice(4, -4)), `${where} contains the middle of a secret`);
  }
}

const serialise = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (x instanceof Error ? { ...x, name: x.name, message: x.message, stack: x.stack, cause: x.cause } : x));

test("no secret in logs, errors, reports or audit entries, through inserts, no-ops, drift and bad config", async () => {
  await withDatabase(async ({ sql }) => {
    const logger = captureLogger();
    const audit = memoryAuditSink();
    const captured: unknown[] = [];
    const env = {
      CODER_AIBRIDGE_OPENAI_KEY: SECRETS[0],
      CODER_AIBRIDGE_BEDROCK_REGION: "us-east-1",
      CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: SECRETS[2],
      CODER_AIBRIDGE_BEDROCK_ACCESS_KEY_SECRET: SECRETS[3],
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai-compat",
      CODER_AIBRIDGE_PROVIDER_0_NAME: "gateway",
      CODER_AIBRIDGE_PROVIDER_0_KEYS: `${SECRETS[4]},${SECRETS[5]}`,
      CODER_AIBRIDGE_PROVIDER_1_TYPE: "bedrock",
      CODER_AIBRIDGE_PROVIDER_1_BEDROCK_REGION: "eu-west-1",
      CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY: SECRETS[6],
      CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY_SECRET: SECRETS[7],
    };
    captured.push(await seedAIProvidersFromEnv(sql, { env, logger, audit }));
    captured.push(await seedAIProvidersFromEnv(sql, { env, logger, audit }));

    // Drift, with secrets in the environment.
    await insertRow(sql, { name: "drifty", type: "openai", base_url: "https://a.example" });
    const drift = await seedAIProvidersFromEnv(sql, {
      config: { providers: [{ type: "openai", name: "drifty", baseURL: "https://b.example", keys: [SECRETS[4]] }] },
      logger,
    }).catch((e) => e);
    assert.equal(drift.code, "drift");
    captured.push(drift);

    // Bad configuration of every kind that involves keys.
    const bad = [
      { CODER_AIBRIDGE_ANTHROPIC_KEY: SECRETS[1], CODER_AIBRIDGE_BEDROCK_ACCESS_KEY: SECRETS[2] },
      { CODER_AIBRIDGE_OPENAI_KEY: SECRETS[0], CODER_AI_GATEWAY_OPENAI_KEY: SECRETS[1] },
      { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KEYS: `${SECRETS[4]},${SECRETS[4]},,${SECRETS[5]}` },
      { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_KEY: SECRETS[4], CODER_AIBRIDGE_PROVIDER_0_KEYS: SECRETS[5] },
      { CODER_AIBRIDGE_PROVIDER_0_TYPE: "copilot", CODER_AIBRIDGE_PROVIDER_0_KEY: SECRETS[8] },
      {
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "bedrock",
        CODER_AIBRIDGE_PROVIDER_0_KEY: SECRETS[4],
        CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEYS: `${SECRETS[6]},${SECRETS[6]}`,
      },
      {
        CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
        CODER_AIBRIDGE_PROVIDER_0_KEYS: SECRETS.join(","),
        CODER_AIBRIDGE_PROVIDER_0_KEY_TYPO: SECRETS[5],
      },
    ];
    for (const e of bad) {
      const err = await seedAIProvidersFromEnv(sql, { env: e, logger }).catch((x) => x);
      assert.equal(err?.code, "config_invalid", `expected a ConfigError for ${Object.keys(e).join(",")}`);
      captured.push(err);
    }
    // Keys dropped with a warning (Copilot, Bedrock) through a ready config.
    captured.push(
      await seedAIProvidersFromEnv(sql, {
        config: { providers: [{ type: "copilot", name: "copilot", keys: [SECRETS[8]] }] },
        logger,
        audit,
      }),
    );

    assert.ok(logger.lines.length > 10 && audit.entries.length > 5, "the scan saw real output");
    assertNoSecret("a log line", serialise(logger.lines));
    assertNoSecret("an audit entry", serialise(audit.entries));
    captured.forEach((c, i) => {
      assertNoSecret(`captured value ${i}`, serialise(c));
      if (c instanceof Error) assertNoSecret(`error ${i} message`, `${c.message}\n${c.stack}`);
    });
  });
});
