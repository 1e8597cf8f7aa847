// The canary: recognisable API keys, Bedrock credentials and encryption
// keys go through seed, plan, rotate, status, decrypt, the CLI and every
// encryption error; none of them may appear in any output, log line,
// error, result or audit entry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeBase64 } from "../lib/_dbcrypt.ts";
import { runCli } from "../cli/mod.ts";
import { decryptAtRest, encryptionStatus, memoryAuditSink, planSeed, rotateEncryptionKeys, seedAIProvidersFromEnv } from "../mod.ts";
import { captureLogger, withDatabase } from "./_db.ts";
import { runScript, testPath } from "./_spawn.ts";

const ascii = (text: string) => new TextEncoder().encode(text.padEnd(32, "Z").slice(0, 32));
const RAW_KEYS = ["CANARY-ENCRYPTION-KEY-ALPHA", "CANARY-ENCRYPTION-KEY-BRAVO", "CANARY-ENCRYPTION-KEY-CHARLIE"].map(ascii);
const [KA, KB, KC] = RAW_KEYS.map(encodeBase64);
const MALFORMED = "CANARY-MALFORMED-KEY-NOT-BASE64!";
const SHORT = encodeBase64(new TextEncoder().encode("CANARY-SHORT-KEY-31-BYTES-LONG!")); // 31 bytes

const ENV = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-CANARY-openai-7f3a9c",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openrouter",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "or-CANARY-one-4d2e,or-CANARY-two-8b1f",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "bedrock",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_REGION: "us-east-2",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY: "AKIACANARYACCESS0042",
  CODER_AIBRIDGE_PROVIDER_1_BEDROCK_ACCESS_KEY_SECRET: "CANARY-bedrock-secret-9e8d7c",
};

/** Every secret, and enough of each that a partial leak is caught too. */
const SECRETS: string[] = [
  "sk-CANARY-openai-7f3a9c",
  "or-CANARY-one-4d2e",
  "or-CANARY-two-8b1f",
  "AKIACANARYACCESS0042",
  "CANARY-bedrock-secret-9e8d7c",
  KA,
  KB,
  KC,
  MALFORMED,
  SHORT,
  ...RAW_KEYS.map((k) => new TextDecoder().decode(k)),
  ...RAW_KEYS.map((k) => [...k].map((b) => b.toString(16).padStart(2, "0")).join("")),
];
const FRAGMENTS = [...SECRETS, ...[KA, KB, KC, SHORT].map((k) => k.slice(0, 16)), "CANARY-ENCRYPTION", "CANARY-MALFORMED", "CANARY-SHORT"];

function errorText(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const parts = [String(err), e?.stack ?? "", JSON.stringify(err) ?? ""];
  if (e?.cause !== undefined) parts.push(errorText(e.cause));
  return parts.join("\n");
}

test("canary: no API key, Bedrock secret or encryption key in any output, log, error, result or audit entry", async () => {
  await withDatabase(async ({ sql, url }) => {
    const seen: string[] = [];
    const logger = captureLogger();
    const audit = memoryAuditSink();
    const expectError = async (work: Promise<unknown>, code: string): Promise<void> => {
      const err = await work.then(() => null, (e: unknown) => e);
      assert.ok(err !== null, `expected ${code}`);
      assert.equal((err as { code?: string }).code, code, String(err));
      seen.push(errorText(err));
    };
    const io = (env: Record<string, string>) => ({
      stdout: (t: string) => void seen.push(t),
      stderr: (t: string) => void seen.push(t),
      env: { DATABASE_URL: url, ...env },
      isTTY: false,
    });

    // Seed with keys from the environment, then plan and seed again with a second key in front.
    seen.push(
      JSON.stringify(await seedAIProvidersFromEnv(sql, { env: { ...ENV, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: KA }, logger, audit })),
    );
    seen.push(JSON.stringify(await planSeed(sql, { env: { ...ENV, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${KB},${KA}` }, logger })));
    assert.equal(await runCli(["apply", "--json"], io({ ...ENV, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${KB},${KA}` })), 0);

    // Rotate to KB, in batches, with the status before and after.
    seen.push(JSON.stringify(await encryptionStatus(sql, { encryptionKeys: [KB, KA] })));
    seen.push(JSON.stringify(await rotateEncryptionKeys(sql, { encryptionKeys: [KB, KA], logger, batchSize: 1 })));
    seen.push(JSON.stringify(await encryptionStatus(sql, { encryptionKeys: [KB] })));

    // The CLI as a child process, keys in its environment.
    const cli = testPath("../cli/main.ts");
    const status = await runScript(cli, { DATABASE_URL: url, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${KB},${KC}` }, [
      "encryption",
      "status",
      "--json",
    ], {
      denoPermissions: ["--allow-env", "--allow-net", "--allow-read"],
    });
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout);
    assert.equal(doc.action, "status");
    assert.equal(doc.encryption.values.length, 1);
    seen.push(status.stdout, status.stderr);
    const refused = await runScript(cli, { DATABASE_URL: url, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: KC }, ["encryption", "rotate"], {
      denoPermissions: ["--allow-env", "--allow-net", "--allow-read"],
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: .*encryption_key_missing|^error: .*not configured/);
    seen.push(refused.stdout, refused.stderr);
    for (const action of ["status", "rotate"]) {
      assert.equal(await runCli(["encryption", action], io({ CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${KB},${MALFORMED},${SHORT}` })), 1);
      await runCli(["encryption", action, "--json"], io({ CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: KC }));
    }

    // Every encryption error.
    await expectError(rotateEncryptionKeys(sql, { encryptionKeys: [KC], logger }), "encryption_key_missing");
    await expectError(planSeed(sql, { env: ENV, encryptionKeys: [KC], logger }), "encryption_key_missing");
    await expectError(rotateEncryptionKeys(sql, { encryptionKeys: [KB, MALFORMED, SHORT] }), "config_invalid");
    await expectError(
      seedAIProvidersFromEnv(sql, { env: { ...ENV, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${MALFORMED},${KA}` } }),
      "config_invalid",
    );
    await expectError(rotateEncryptionKeys(sql, { encryptionKeys: [KA] }), "encryption_key_revoked");
    await expectError(
      seedAIProvidersFromEnv(sql, { env: { ...ENV, CODER_AIBRIDGE_ANTHROPIC_KEY: "sk-CANARY-openai-7f3a9c" }, encryptionKeys: [KA, KB] }),
      "encryption_key_revoked",
    );
    const [{ id }] = await sql<{ id: string }[]>`select id::text as id from ai_provider_keys order by id limit 1`;
    const [{ api_key: original }] = await sql<{ api_key: string }[]>`select api_key from ai_provider_keys where id = ${id}::uuid`;
    await sql`update ai_provider_keys set api_key = ${encodeBase64(ascii("CANARY-ENCRYPTION-KEY-ALPHA"))} where id = ${id}::uuid`;
    await expectError(rotateEncryptionKeys(sql, { encryptionKeys: [KC, KB], logger }), "decrypt_failed");
    await expectError(decryptAtRest(sql, { encryptionKeys: [KB], logger }), "decrypt_failed");
    await sql`update ai_provider_keys set api_key = ${original} where id = ${id}::uuid`;

    // And back to plaintext.
    seen.push(JSON.stringify(await decryptAtRest(sql, { encryptionKeys: [KB], logger })));
    seen.push(JSON.stringify(await encryptionStatus(sql, { encryptionKeys: [] })));

    seen.push(JSON.stringify(logger.lines), JSON.stringify(audit.entries));
    const outbox = await sql<{ entry: string }[]>`select entry from ai_provider_audit`;
    assert.ok(outbox.length > 0);
    seen.push(...outbox.map((r) => r.entry));
    const dbcrypt = await sql`select number, active_key_digest, revoked_key_digest, test from dbcrypt_keys`;
    seen.push(JSON.stringify(dbcrypt));

    const all = seen.join("\n");
    assert.ok(all.length > 5_000, "the canary saw real output");
    for (const secret of FRAGMENTS) assert.ok(!all.includes(secret), `leaked: ${secret.slice(0, 10)}…`);
    // The keys were really used: the raw rows were ciphertext under them, and now are plaintext again.
    const keys = await sql<{ api_key: string }[]>`select api_key from ai_provider_keys order by api_key`;
    assert.deepEqual(keys.map((k) => k.api_key), ["or-CANARY-one-4d2e", "or-CANARY-two-8b1f", "sk-CANARY-openai-7f3a9c"]);
  });
});
