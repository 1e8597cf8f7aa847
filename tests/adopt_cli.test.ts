// `aibridge-seed adopt <name>…` and `aibridge-seed restore <name>…`: the
// changes printed first, then a confirmation on a terminal or --yes, and
// a refusal without either; once as a child process (stdin is not a
// terminal there), the details in-process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CliIO, type CliJsonDocument, EXIT_ERROR, EXIT_OK, runCli } from "../cli/mod.ts";
import { seedAIProvidersFromEnv } from "../mod.ts";
import { snapshot, type Sql, withDatabase } from "./_db.ts";
import { runScript, testPath } from "./_spawn.ts";

const CLI = testPath("../cli/main.ts");

const PROVIDERS = {
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "main-openai",
  CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://proxy.example/v1",
  CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-adopt-cli-key-0001",
  CODER_AIBRIDGE_PROVIDER_1_TYPE: "google",
  CODER_AIBRIDGE_PROVIDER_1_NAME: "main-google",
  CODER_AIBRIDGE_PROVIDER_1_KEY: "g-adopt-cli-key-0001",
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  questions: string[];
}

/** runCli in-process; `answer` makes it a terminal that answers so (absent: not a terminal). */
async function cli(args: string[], env: Record<string, string>, answer?: boolean): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const questions: string[] = [];
  const io: CliIO = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, isTTY: false };
  if (answer !== undefined) {
    io.confirm = (q) => {
      questions.push(q);
      return Promise.resolve(answer);
    };
  }
  const code = await runCli(args, io);
  return { code, stdout, stderr, questions };
}

function json(stdout: string): CliJsonDocument {
  try {
    return JSON.parse(stdout) as CliJsonDocument;
  } catch {
    throw new Error(`stdout is not one JSON document: ${stdout}`);
  }
}

async function drifted(sql: Sql): Promise<void> {
  await seedAIProvidersFromEnv(sql, { env: PROVIDERS });
  await sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
}

test("adopt without --yes when stdin is not a terminal prints the changes, refuses with exit 1 saying to pass --yes, and writes nothing", async () => {
  await withDatabase(async ({ url, sql }) => {
    await drifted(sql);
    const before = await snapshot(sql);
    const env = { ...PROVIDERS, DATABASE_URL: url };
    const [child, inProcess, asJson] = await Promise.all([
      runScript(CLI, { ...env, NO_COLOR: "1" }, ["adopt", "main-openai"], {
        denoPermissions: ["--allow-env", "--allow-net", "--allow-read"],
      }),
      cli(["adopt", "main-openai"], env),
      cli(["adopt", "main-openai", "--json"], env),
    ]);
    for (const run of [child, inProcess]) {
      assert.equal(run.code, EXIT_ERROR, run.stderr);
      assert.match(run.stdout, /^PROVIDER\s+TYPE\s+ACTION\s+CHANGES \(database -> environment\)\n/);
      assert.match(run.stdout, /main-openai\s+openai\s+adopt\s+base_url: "https:\/\/old.example\/v1" -> "https:\/\/proxy.example\/v1"/);
      assert.match(
        run.stderr,
        /^error: adopt changes the database and stdin is not a terminal to ask on: pass --yes to go ahead; nothing was written\n$/,
      );
    }
    assert.equal(asJson.code, EXIT_ERROR);
    const doc = json(asJson.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.error?.code, "usage");
    assert.deepEqual(doc.adopt?.entries.map((e) => [e.name, e.action]), [["main-openai", "adopt"]]);
    assert.equal(doc.adopt?.written, false);
    assert.deepEqual(await snapshot(sql), before);
  });
});

test("adopt --yes adopts and prints what it wrote; --json prints one document; the next check finds no changes", async () => {
  await withDatabase(async ({ url, sql }) => {
    await drifted(sql);
    const env = { ...PROVIDERS, DATABASE_URL: url };
    const human = await cli(["adopt", "main-openai", "main-google", "--yes"], env);
    assert.equal(human.code, EXIT_OK, human.stderr);
    const lines = human.stdout.split("\n");
    assert.match(lines[0], /^PROVIDER\s+TYPE\s+ACTION\s+CHANGES \(database -> environment\)$/);
    assert.match(lines[1], /^main-google\s+google\s+unchanged\s+-$/);
    assert.match(lines[2], /^main-openai\s+openai\s+adopt\s+base_url: "https:\/\/old.example\/v1" -> "https:\/\/proxy.example\/v1"$/);
    assert.match(human.stdout, /\nAdopted: main-openai \(1 provider\) in \d+ ms; 1 provider was already as the environment says\.\n$/);
    assert.equal(human.stderr, "");
    assert.ok(!human.stdout.includes("sk-adopt-cli-key"), "no key");

    const check = await cli(["check", "--json"], env);
    assert.equal(check.code, EXIT_OK, check.stdout);

    await sql`update ai_providers set base_url = 'https://old.example/v1' where name = 'main-openai'`;
    const asJson = await cli(["adopt", "main-openai", "-y", "--json"], env);
    assert.equal(asJson.code, EXIT_OK, asJson.stderr);
    const doc = json(asJson.stdout);
    assert.equal(doc.command, "adopt");
    assert.equal(doc.ok, true);
    assert.equal(doc.adopt?.written, true);
    assert.deepEqual(doc.adopt?.entries[0].changes, [{
      field: "base_url",
      stored: "https://old.example/v1",
      desired: "https://proxy.example/v1",
    }]);
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from ai_provider_audit where entry::jsonb ->> 'action' = 'write'`;
    assert.equal(n, 2, "one audit entry per adoption, in the outbox");
  });
});

test("on a terminal adopt asks after printing the changes: no aborts with nothing written, yes adopts", async () => {
  await withDatabase(async ({ url, sql }) => {
    await drifted(sql);
    const before = await snapshot(sql);
    const env = { ...PROVIDERS, DATABASE_URL: url };
    const declined = await cli(["adopt", "main-openai"], env, false);
    assert.equal(declined.code, EXIT_ERROR);
    assert.deepEqual(declined.questions, [
      "Write the environment's values over 1 provider (main-openai)? Their keys stay as they are. [y/N] ",
    ]);
    assert.match(declined.stdout, /main-openai\s+openai\s+adopt\s+base_url:/);
    assert.equal(declined.stderr, "error: adopt declined: nothing was written\n");
    assert.deepEqual(await snapshot(sql), before);

    const declinedJson = await cli(["adopt", "main-openai", "--json"], env, false);
    assert.equal(json(declinedJson.stdout).error?.code, "aborted");
    assert.match(declinedJson.stderr, /main-openai\s+openai\s+adopt/, "with --json the changes are shown on stderr before the question");

    const accepted = await cli(["adopt", "main-openai"], env, true);
    assert.equal(accepted.code, EXIT_OK, accepted.stderr);
    assert.equal(accepted.questions.length, 1);
    assert.match(accepted.stdout, /\nAdopted: main-openai \(1 provider\) in \d+ ms\.\n$/);
    const [row] = await sql`select base_url from ai_providers where name = 'main-openai'`;
    assert.equal(row.base_url, "https://proxy.example/v1");

    // Nothing differs any more: nothing to ask.
    const again = await cli(["adopt", "main-openai"], env, true);
    assert.equal(again.code, EXIT_OK);
    assert.deepEqual(again.questions, []);
    assert.match(again.stdout, /Nothing to adopt: every named provider already matches the environment\.\n$/);
  });
});

test("adopt and restore refuse unknown names, a missing name list and a live provider with one error line and exit 1", async () => {
  await withDatabase(async ({ url, sql }) => {
    await drifted(sql);
    const env = { ...PROVIDERS, DATABASE_URL: url };
    const unknown = await cli(["adopt", "typo-openai", "--yes"], env);
    const none = await cli(["restore"], env);
    const live = await cli(["restore", "main-google", "--yes", "--json"], env);
    await sql`update ai_providers set deleted = true where name = 'main-google'`;
    const deleted = await cli(["adopt", "main-google", "--yes"], env);
    assert.equal(unknown.code, EXIT_ERROR);
    assert.match(unknown.stderr, /^error: adopt the environment's values for AI providers: AI provider "typo-openai" is not configured/);
    assert.equal(none.code, EXIT_ERROR);
    assert.match(none.stderr, /^error: aibridge-seed restore needs at least one provider name; see aibridge-seed restore --help\n$/);
    assert.equal(live.code, EXIT_ERROR);
    const doc = json(live.stdout);
    assert.equal(doc.error?.code, "conflict");
    assert.match(doc.error?.message ?? "", /AI provider "main-google" has a live row/);
    assert.equal(deleted.code, EXIT_ERROR);
    assert.match(
      deleted.stderr,
      /AI provider "main-google" was soft-deleted; bring it back with `aibridge-seed restore main-google` first/,
    );
  });
});

test("restore prints the row it brings back, asks or needs --yes, and the next check finds the provider unchanged", async () => {
  await withDatabase(async ({ url, sql }) => {
    await seedAIProvidersFromEnv(sql, { env: PROVIDERS });
    const seeded = await snapshot(sql);
    await sql`update ai_providers set deleted = true, enabled = false where name = 'main-openai'`;
    const deleted = await snapshot(sql);
    const env = { ...PROVIDERS, DATABASE_URL: url };

    const refused = await cli(["restore", "main-openai"], env);
    assert.equal(refused.code, EXIT_ERROR);
    assert.match(
      refused.stdout,
      /^PROVIDER\s+TYPE\s+ROW\s+KEYS\s+CHANGES\nmain-openai\s+openai\s+[0-9a-f-]{36}\s+1\s+deleted: true -> false\n\s+enabled: false -> true\n$/,
    );
    assert.match(refused.stderr, /pass --yes to go ahead/);
    const declined = await cli(["restore", "main-openai"], env, false);
    assert.equal(declined.code, EXIT_ERROR);
    assert.deepEqual(declined.questions, ["Restore 1 provider (main-openai) with their keys? [y/N] "]);
    assert.deepEqual(await snapshot(sql), deleted);

    const restored = await cli(["restore", "main-openai", "--yes"], env);
    assert.equal(restored.code, EXIT_OK, restored.stderr);
    assert.match(restored.stdout, /\nRestored: main-openai \(1 provider, 1 key\) in \d+ ms\.\n$/);
    assert.deepEqual(await snapshot(sql), seeded);
    const check = await cli(["check", "--json"], env);
    assert.equal(check.code, EXIT_OK, check.stdout);
    assert.deepEqual(json(check.stdout).entries?.map((e) => [e.name, e.action]), [["main-google", "unchanged"], [
      "main-openai",
      "unchanged",
    ]]);
  });
});
