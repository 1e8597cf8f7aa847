// `aibridge-seed encryption rotate|decrypt|status`: exit codes, the --json
// documents and the human tables, with the keys from the environment or an
// --env-file; once as a child process, the details in-process.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeBase64, keyDigest } from "../lib/_dbcrypt.ts";
import { type CliIO, type CliJsonDocument, EXIT_ERROR, EXIT_OK, runCli } from "../cli/mod.ts";
import { withDatabase } from "./_db.ts";
import { runScript, testPath } from "./_spawn.ts";

const K1 = encodeBase64(new Uint8Array(32).fill(0x71));
const K2 = encodeBase64(new Uint8Array(32).fill(0x72));
const digest = async (k: string) => await keyDigest(Uint8Array.from(atob(k), (c) => c.charCodeAt(0)));

const PROVIDERS = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-enc-cli-openai",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "bedrock",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_REGION: "us-west-1",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY: "AKIAENCCLI",
  CODER_AIBRIDGE_PROVIDER_0_BEDROCK_ACCESS_KEY_SECRET: "enc-cli-secret",
};

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTTY: false };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

test("encryption status, rotate and decrypt print tables and counts, and one --json document each", async (t) => {
  await withDatabase(async ({ url, sql }) => {
    const [d1, d2] = [await digest(K1), await digest(K2)];
    const envFile = join(tmpdir(), `aibridge-enc-${crypto.randomUUID()}.env`);
    writeFileSync(envFile, `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS=${K1}\n`);
    t.after(() => rmSync(envFile, { force: true }));
    const base = { ...PROVIDERS, DATABASE_URL: url };
    assert.equal((await cli(["apply", "--env-file", envFile], base)).code, EXIT_OK);
    const [row] = await sql<{ api_key_key_id: string }[]>`select api_key_key_id from ai_provider_keys`;
    assert.equal(row.api_key_key_id, d1, "the key came from the env file");

    const status = await cli(["encryption", "status", "--env-file", envFile], base);
    assert.equal(status.code, EXIT_OK, status.stderr);
    assert.match(status.stdout, new RegExp(`^Encryption keys configured: primary ${d1}\\.`));
    assert.match(status.stdout, new RegExp(`KEY ID\\s+API KEYS\\s+SETTINGS\\s+CONFIGURED\\n${d1}\\s+1\\s+1\\s+yes \\(primary\\)`));
    assert.match(status.stdout, new RegExp(`NUMBER\\s+ACTIVE\\s+REVOKED\\s+CREATED\\s+REVOKED AT\\s+CONFIGURED\\s+TEST\\n1\\s+${d1}\\s+-`));

    // Another key set: status still exits 0 and says what is missing.
    const missing = await cli(["encryption", "status", "--json"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K2 });
    assert.equal(missing.code, EXIT_OK);
    const missingDoc = JSON.parse(missing.stdout) as CliJsonDocument;
    assert.deepEqual([missingDoc.command, missingDoc.action, missingDoc.ok], ["encryption", "status", true]);
    assert.deepEqual(missingDoc.encryption!.missing, [{ keyId: d1, providers: ["bedrock", "openai"] }]);
    const human = await cli(["encryption", "status"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K2 });
    assert.match(human.stdout, new RegExp(`not configured: key ${d1} encrypts values of "bedrock", "openai"`));

    // Rotation without the old key: exit 1, one line, an error document.
    const refused = await cli(["encryption", "rotate", "--json"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K2 });
    assert.equal(refused.code, EXIT_ERROR);
    assert.equal(refused.stderr.trimEnd().split("\n").length, 1);
    const refusedDoc = JSON.parse(refused.stdout) as CliJsonDocument;
    assert.equal(refusedDoc.ok, false);
    assert.equal(refusedDoc.error!.code, "encryption_key_missing");

    const rotated = await cli(["encryption", "rotate", "--json"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${K2},${K1}` });
    assert.equal(rotated.code, EXIT_OK, rotated.stderr);
    const doc = JSON.parse(rotated.stdout) as CliJsonDocument;
    assert.deepEqual(doc.rewrite, { primary: d2, registered: true, keys: 1, settings: 1, revoked: [d1], notRevoked: [] });

    const again = await cli(["encryption", "rotate"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K2 });
    assert.equal(again.stdout, `Rotated to key ${d2}: 0 API keys and 0 settings values re-encrypted.\n`);

    const revoked = await cli(["encryption", "status"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${K1},${K2}` });
    assert.equal(revoked.code, EXIT_OK);
    assert.match(revoked.stdout, new RegExp(`\nrevoked: the primary key ${d1} was revoked and can never encrypt again`));
    assert.doesNotMatch(revoked.stdout, /run aibridge-seed encryption rotate/);

    const decrypted = await cli(["encryption", "decrypt"], { ...base, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K2 });
    assert.equal(decrypted.code, EXIT_OK, decrypted.stderr);
    assert.equal(
      decrypted.stdout,
      `Decrypted: 1 API key and 1 settings value turned back to plaintext.\nRevoked in dbcrypt_keys: ${d2}.\n`,
    );
    const [plain] = await sql<{ api_key: string; api_key_key_id: string | null }[]>`select api_key, api_key_key_id from ai_provider_keys`;
    assert.deepEqual(plain, { api_key: "sk-enc-cli-openai", api_key_key_id: null });
  });
});

test("encryption needs rotate, decrypt or status; --help works with and without one", async () => {
  for (const args of [["encryption"], ["encryption", "bogus"], ["encryption", "status", "extra"]]) {
    const r = await cli(args, { DATABASE_URL: "postgres://localhost:1/none" });
    assert.equal(r.code, EXIT_ERROR, args.join(" "));
    assert.match(r.stderr, /^error: /);
  }
  for (const args of [["encryption", "--help"], ["encryption", "rotate", "--help"], ["help", "encryption"]]) {
    const r = await cli(args, {});
    assert.equal(r.code, EXIT_OK, args.join(" "));
    assert.match(r.stdout, /^Usage: aibridge-seed encryption rotate\|decrypt\|status/);
  }
  const top = await cli(["--help"], {});
  assert.match(top.stdout, /encryption rotate\|decrypt\|status/);
});

test("encryption status as a child process: exit 0 and one JSON document; a malformed key exits 1 naming the position only", async () => {
  await withDatabase(async ({ url }) => {
    const script = testPath("../cli/main.ts");
    const options = { denoPermissions: ["--allow-env", "--allow-net", "--allow-read"] };
    const ok = await runScript(
      script,
      { DATABASE_URL: url, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: K1 },
      ["encryption", "status", "--json"],
      options,
    );
    assert.equal(ok.code, 0, ok.stderr);
    const doc = JSON.parse(ok.stdout) as CliJsonDocument;
    assert.equal(doc.encryption!.primary, await digest(K1));
    assert.deepEqual(doc.encryption!.values, []);

    const bad = await runScript(script, { DATABASE_URL: url, CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: `${K1},${K2.slice(4)}` }, [
      "encryption",
      "rotate",
    ], options);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: invalid AI provider configuration: CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS: key at position 2 /);
    assert.ok(!bad.stderr.includes(K2.slice(4)) && !bad.stderr.includes(K1));
  });
});
