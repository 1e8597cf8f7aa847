// `aibridge-seed`: run as a child process (cli/main.ts, on the runtime the
// suite runs on) for exit codes and --json output, and in-process (runCli)
// for the details of what it prints.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK, parseDuration, runCli } from "../cli/mod.ts";
import type { CliJsonDocument } from "../cli/_json.ts";
import { insertRow, snapshot, withDatabase } from "./_db.ts";
import { holdSeedLock } from "./_lock.ts";
import { type ChildResult, runScript, testPath } from "./_spawn.ts";
import { memoryIO } from "./_cli_io.ts";

const CLI = testPath("../cli/main.ts");

// Every variable the CLI could pick up from the test runner's own
// environment is pinned, so only what a test sets counts.
const CLEAN: Record<string, string> = {
  DATABASE_URL: "",
  DATABASE_URL_FILE: "",
  NO_COLOR: "",
  FORCE_COLOR: "",
  PGHOST: "",
  PGPORT: "",
  PGDATABASE: "",
  PGUSER: "",
  PGPASSWORD: "",
  PGSSLMODE: "",
  PGCONNECT_TIMEOUT: "",
  CODER_AIBRIDGE_OPENAI_KEY: "",
  CODER_AIBRIDGE_OPENAI_BASE_URL: "",
  CODER_AIBRIDGE_ANTHROPIC_KEY: "",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "",
  CODER_AIBRIDGE_PROVIDER_0_KEY: "",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "",
  CODER_AIBRIDGE_PROVIDER_0_NAME: "",
  CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "",
};

const PROVIDERS = {
  CODER_AIBRIDGE_OPENAI_KEY: "sk-cli-openai-key-0001",
  CODER_AIBRIDGE_PROVIDER_0_TYPE: "google",
  CODER_AIBRIDGE_PROVIDER_0_KEYS: "g-cli-key-0001,g-cli-key-0002",
};

// On Deno the CLI runs with exactly the permissions the README documents.
const DENO_PERMISSIONS = ["--allow-env", "--allow-net", "--allow-read"];

function cli(args: string[], env: Record<string, string>): Promise<ChildResult> {
  return runScript(CLI, { ...CLEAN, ...env }, args, { denoPermissions: DENO_PERMISSIONS });
}

function json(result: ChildResult): CliJsonDocument {
  try {
    return JSON.parse(result.stdout) as CliJsonDocument;
  } catch {
    throw new Error(`stdout is not one JSON document: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** Exit code 1 with exactly one `error: …` line on stderr and no stack trace. */
function assertOneErrorLine(result: ChildResult, pattern: RegExp): void {
  assert.equal(result.code, EXIT_ERROR, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
}

test("check exits 2 with changes pending, apply exits 0, then check exits 0 and apply takes no lock (child processes, --json)", async () => {
  await withDatabase(async ({ sql, url }) => {
    const env = { ...PROVIDERS, DATABASE_URL: url };

    const pending = await cli(["check", "--json"], env);
    assert.equal(pending.code, EXIT_CHANGES, pending.stderr);
    assert.equal(pending.stderr, "");
    const plan = json(pending);
    assert.equal(plan.version, 2);
    assert.equal(plan.command, "check");
    assert.equal(plan.ok, true);
    assert.equal(plan.changes, true);
    assert.deepEqual(plan.counts, { insert: 2, keys: 3, unchanged: 0, skipDeleted: 0, drift: 0 });
    assert.deepEqual(plan.entries, [
      { name: "google", type: "google", action: "insert", providerId: null, keyCount: 2, maskedKeys: ["g-...01", "g-...02"], drift: [] },
      { name: "openai", type: "openai", action: "insert", providerId: null, keyCount: 1, maskedKeys: ["sk-c...0001"], drift: [] },
    ]);
    assert.deepEqual(plan.warnings, []);
    assert.deepEqual(await snapshot(sql), { providers: [], keys: [] }, "check writes nothing");

    const applied = await cli(["apply", "--json"], env);
    assert.equal(applied.code, EXIT_OK, applied.stderr);
    const report = json(applied);
    assert.equal(report.command, "apply");
    assert.equal(report.changes, true);
    assert.equal(report.lockTaken, true);
    assert.equal(report.roundTrips, 3, "read; begin, settings, lock and read under it; inserts and commit");
    assert.deepEqual(report.counts, plan.counts, "apply did what check said");
    assert.deepEqual(report.entries?.map((e) => [e.name, e.action, e.keyCount]), [["google", "insert", 2], ["openai", "insert", 1]]);
    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(report.entries?.map((e) => e.providerId), providers.map((p) => p.id));
    assert.equal(keys.length, 3);

    const clean = await cli(["check", "--json"], env);
    assert.equal(clean.code, EXIT_OK, clean.stderr);
    assert.equal(json(clean).changes, false);
    assert.deepEqual(json(clean).entries?.map((e) => e.action), ["unchanged", "unchanged"]);

    const restart = await cli(["apply", "--json"], env);
    assert.equal(restart.code, EXIT_OK, restart.stderr);
    assert.equal(json(restart).lockTaken, false);
    assert.equal(json(restart).roundTrips, 1);

    for (const r of [pending, applied, clean, restart]) {
      for (const secret of ["sk-cli-openai-key-0001", "g-cli-key-0001", "g-cli-key-0002"]) {
        assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), "keys never in clear");
      }
    }
  });
});

test("drift: plan shows every differing field with both values, check exits 2, apply exits 1 and writes nothing", async () => {
  await withDatabase(async ({ sql, url }) => {
    await insertRow(sql, { name: "openai", type: "openai", base_url: "https://api.openai.com/v1" });
    await insertRow(sql, { name: "gateway", type: "openai", base_url: "https://gw.example/v1" });
    const before = await snapshot(sql);
    const env = {
      DATABASE_URL: url,
      CODER_AIBRIDGE_OPENAI_KEY: "sk-cli-openai-key-0001",
      CODER_AIBRIDGE_OPENAI_BASE_URL: "https://proxy.example/v1",
      CODER_AIBRIDGE_PROVIDER_0_TYPE: "azure",
      CODER_AIBRIDGE_PROVIDER_0_NAME: "gateway",
      CODER_AIBRIDGE_PROVIDER_0_BASE_URL: "https://azure.example/v1",
    };

    const [plan, check, apply] = await Promise.all([cli(["plan"], env), cli(["check", "--json"], env), cli(["apply"], env)]);

    assert.equal(plan.code, EXIT_OK, plan.stderr);
    assert.ok(!plan.stdout.includes(ESC), "no colours when stdout is not a terminal");
    const lines = plan.stdout.split("\n");
    assert.match(lines[0], /^PROVIDER\s+TYPE\s+ACTION\s+KEYS\s+DRIFT \(database -> environment\)$/);
    assert.match(lines[1], /^gateway\s+azure\s+drift\s+-\s+type: "openai" -> "azure"$/);
    assert.match(lines[2], /^\s+base_url: "https:\/\/gw.example\/v1" -> "https:\/\/azure.example\/v1"$/);
    assert.match(lines[3], /^openai\s+openai\s+drift\s+-\s+base_url: "https:\/\/api.openai.com\/v1" -> "https:\/\/proxy.example\/v1"$/);
    assert.match(plan.stdout, /Plan: 0 insert \(0 keys\), 0 unchanged, 0 skip-deleted, 2 drift in \d+ ms\./);
    assert.match(plan.stdout, /apply would fail and write nothing: 2 providers differ from the database/);

    assert.equal(check.code, EXIT_CHANGES, check.stderr);
    assert.deepEqual(json(check).entries?.map((e) => [e.name, e.drift]), [
      ["gateway", [
        { field: "type", stored: "openai", desired: "azure" },
        { field: "base_url", stored: "https://gw.example/v1", desired: "https://azure.example/v1" },
      ]],
      ["openai", [{ field: "base_url", stored: "https://api.openai.com/v1", desired: "https://proxy.example/v1" }]],
    ]);

    assertOneErrorLine(
      apply,
      /^error: AI provider "gateway" already exists in the database and differs from the current environment configuration; update the provider through the API or remove the CODER_AIBRIDGE_\* env vars to stop seeding it, or adopt the environment's values with `aibridge-seed adopt gateway` \(type: stored "openai", environment "azure"; base_url: .*\); AI provider "openai" already exists .*\(base_url: stored "https:\/\/api.openai.com\/v1", environment "https:\/\/proxy.example\/v1"\)$/,
    );
    assert.equal(apply.stdout, "");
    assert.deepEqual(await snapshot(sql), before);
  });
});

test("every error path exits 1 with one clear line and no stack trace", async () => {
  await withDatabase(async ({ url }) => {
    const [noUrl, badConfig, unknown, unreachable, noTables, badTimeout, notPostgres, badUrlFile] = await Promise.all([
      cli(["plan"], PROVIDERS),
      cli(["check"], { DATABASE_URL: url, CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "Bad_Name" }),
      cli(["frobnicate"], {}),
      cli(["check"], { ...PROVIDERS, DATABASE_URL: "postgres://nobody:secret-password@127.0.0.1:1/none" }),
      cli(["apply"], { ...PROVIDERS, DATABASE_URL: url }),
      cli(["apply", "--lock-timeout", "soon"], { ...PROVIDERS, DATABASE_URL: url }),
      cli(["plan", "--database-url", "mysql://root:secret-password@db/x"], PROVIDERS),
      cli(["plan"], { ...PROVIDERS, DATABASE_URL_FILE: testPath("./fixtures/secrets/no-such-file") }),
    ]);
    assertOneErrorLine(
      noUrl,
      /^error: no database to connect to: none of DATABASE_URL, DATABASE_URL_FILE, PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD is set; pass --database-url, set DATABASE_URL, or set the libpq variables$/,
    );
    assertOneErrorLine(badConfig, /invalid AI provider configuration: .*invalid AI provider name "Bad_Name"/);
    assertOneErrorLine(unknown, /unknown command "frobnicate"; see aibridge-seed --help/);
    assertOneErrorLine(unreachable, /ECONNREFUSED/);
    // The message names the missing tables; see docs/behaviour.md for the hint it gives.
    assertOneErrorLine(noTables, /the ai_providers tables do not exist in this database/);
    assertOneErrorLine(badTimeout, /--lock-timeout "soon" is not a duration/);
    assertOneErrorLine(notPostgres, /not a postgres:\/\/ or postgresql:\/\/ URL/);
    assertOneErrorLine(badUrlFile, /cannot read DATABASE_URL_FILE .*no-such-file.*: file not found/);
    for (const r of [unreachable, notPostgres]) assert.ok(!r.stderr.includes("secret-password"), "the URL's password is never echoed");
  }, { schema: false });
});

test("a held lock: apply --lock-timeout exits 1 naming the holder's pid, within the timeout", async () => {
  await withDatabase(async (db) => {
    const held = await holdSeedLock(db);
    let result: ChildResult;
    try {
      result = await cli(["apply", "--json", "--lock-timeout", "500ms"], { ...PROVIDERS, DATABASE_URL: db.url });
    } finally {
      await held.release();
    }
    assertOneErrorLine(result, new RegExp(`timed out after 500 ms .*held by pid ${held.pid} `));
    const doc = json(result);
    assert.equal(doc.ok, false);
    assert.equal(doc.error?.code, "lock_timeout");
    assert.equal(doc.error?.holder?.pid, held.pid);
    assert.equal(doc.error?.holder?.applicationName, "lock-holder-test");
    assert.deepEqual(await snapshot(db.sql), { providers: [], keys: [] });
  });
});

test("--env-file adds variables and the real environment wins", async () => {
  await withDatabase(async ({ sql, url }) => {
    const result = await cli(["apply", "--env-file", testPath("./fixtures/cli.env")], {
      DATABASE_URL: url,
      CODER_AIBRIDGE_OPENAI_BASE_URL: "https://from-env.example/v1",
    });
    assert.equal(result.code, EXIT_OK, result.stderr);
    const { providers, keys } = await snapshot(sql);
    assert.deepEqual(providers.map((p) => [p.name, p.base_url]), [
      ["openai", "https://from-env.example/v1"],
      ["openrouter", ""],
    ]);
    assert.deepEqual(keys.map((k) => k.api_key), ["sk-from-env-file-0001", "or-from-env-file-0001"]);

    // In-process: Node itself (nodejs/node#54232) stops with "node: <path>:
    // not found", exit 9, when a script argument --env-file names a missing
    // file, before the CLI runs. Deno and Bun pass it through.
    const io = memoryIO({ DATABASE_URL: url });
    assert.equal(await runCli(["plan", "--env-file", testPath("./fixtures/none.env")], io), EXIT_ERROR);
    assert.match(io.err, /^error: cannot read --env-file ".*none.env": file not found\n$/);
  });
});

test("schema applies the tables; schema --print needs no database; --help works everywhere", async () => {
  await withDatabase(async ({ sql, url }) => {
    const [applied, printed, help, planHelp, helpCheck] = await Promise.all([
      cli(["schema", "--json"], { DATABASE_URL: url }),
      cli(["schema", "--print"], {}),
      cli(["--help"], {}),
      cli(["plan", "--help"], {}),
      cli(["help", "check"], {}),
    ]);
    assert.equal(applied.code, EXIT_OK, applied.stderr);
    assert.deepEqual(json(applied), { version: 2, command: "schema", ok: true, applied: true });
    const [{ n }] = await sql<
      { n: number }[]
    >`select count(*)::int as n from pg_tables where tablename in ('ai_providers', 'ai_provider_keys')`;
    assert.equal(n, 2);

    assert.equal(printed.code, EXIT_OK, printed.stderr);
    assert.match(printed.stdout, /CREATE TABLE IF NOT EXISTS ai_providers/);

    for (const r of [help, planHelp, helpCheck]) assert.equal(r.code, EXIT_OK, r.stderr);
    assert.match(help.stdout, /Commands:\n\s+plan .*\n\s+check .*\n[\s\S]*apply[\s\S]*schema/);
    assert.match(planHelp.stdout, /^Usage: aibridge-seed plan \[options\]/);
    // plan's read is bounded too: by the deadline and by how long it may wait behind a lock on the tables.
    assert.match(planHelp.stdout, /--lock-timeout <time>/);
    assert.match(planHelp.stdout, /--timeout <time>/);
    assert.doesNotMatch(planHelp.stdout, /--print/);
    assert.match(helpCheck.stdout, /^Usage: aibridge-seed check/);
    assert.match(helpCheck.stdout, /2 {2}something would be inserted, or a stored provider has drifted/);
  }, { schema: false });
});

// --- in-process ---------------------------------------------------------------

const ESC = "\u001b";

/** A report's text with its durations blanked, for comparing two runs. */
function timeless(text: string): string {
  return text.replace(/\b\d+ ms\b/g, "N ms");
}

/** Shows the escape character as `<ESC>`, so patterns need no control character. */
function visible(text: string): string {
  return text.replaceAll(ESC, "<ESC>");
}

test("colours only on a terminal, and never with NO_COLOR set", async () => {
  await withDatabase(async ({ sql, url }) => {
    await insertRow(sql, { name: "gone", type: "openai", base_url: "https://x/v1", deleted: true, enabled: false });
    const env = { ...PROVIDERS, DATABASE_URL: url, CODER_AIBRIDGE_PROVIDER_0_NAME: "gone" };
    const tty = memoryIO(env, true);
    assert.equal(await runCli(["plan"], tty), EXIT_OK, tty.err);
    assert.match(visible(tty.out), /<ESC>\[32mopenai\s+openai\s+insert\s+sk-c\.\.\.0001<ESC>\[0m/, "insert in green");
    assert.match(visible(tty.out), /<ESC>\[33mgone\s+google\s+skip-deleted/, "skip-deleted in yellow");

    const noColor = memoryIO({ ...env, NO_COLOR: "1" }, true);
    assert.equal(await runCli(["plan"], noColor), EXIT_OK);
    assert.ok(!noColor.out.includes(ESC));
    assert.equal(timeless(noColor.out), timeless(visible(tty.out).replace(/<ESC>\[[0-9;]*m/g, "")), "the same text without colours");

    const pipe = memoryIO(env, false);
    assert.equal(await runCli(["plan"], pipe), EXIT_OK);
    assert.equal(timeless(pipe.out), timeless(noColor.out));
  });
});

test("apply's human report says which path the seed took; nothing configured is not an error", async () => {
  await withDatabase(async ({ url }) => {
    const first = memoryIO({ ...PROVIDERS, DATABASE_URL: url });
    assert.equal(await runCli(["apply"], first), EXIT_OK, first.err);
    assert.match(first.out, /^PROVIDER\s+TYPE\s+ACTION\s+KEYS\ngoogle\s+google\s+insert\s+g-\.\.\.01, g-\.\.\.02\n/);
    assert.match(
      first.out,
      /Applied: 2 insert \(3 keys\), 0 unchanged, 0 skip-deleted, 0 drift in \d+ ms\.\nSeed lock taken after \d+ ms; 3 round trips\.\n$/,
    );

    const again = memoryIO({ ...PROVIDERS, DATABASE_URL: url });
    assert.equal(await runCli(["apply"], again), EXIT_OK, again.err);
    assert.match(again.out, /^PROVIDER\s+TYPE\s+ACTION\s+KEYS\ngoogle\s+google\s+unchanged\s+-\n/);
    assert.match(
      again.out,
      /Applied: 0 insert \(0 keys\), 2 unchanged, 0 skip-deleted, 0 drift in \d+ ms\.\nSeed lock not needed: nothing to insert; 1 round trip\.\n$/,
    );

    const empty = memoryIO({ DATABASE_URL: url });
    assert.equal(await runCli(["check"], empty), EXIT_OK, empty.err);
    assert.match(empty.out, /No AI providers configured in the environment: nothing to seed\./);
  });
});

test("--json errors: one document on stdout with the code and the details, one line on stderr", async () => {
  const io = memoryIO({
    DATABASE_URL: "postgres://localhost:1/x",
    CODER_AIBRIDGE_PROVIDER_0_NAME: "x",
    CODER_AIBRIDGE_PROVIDER_2_TYPE: "y",
  });
  assert.equal(await runCli(["check", "--json"], io), EXIT_ERROR);
  const doc = JSON.parse(io.out) as CliJsonDocument;
  assert.equal(doc.command, "check");
  assert.equal(doc.ok, false);
  assert.equal(doc.error?.code, "config_invalid");
  assert.deepEqual(doc.error?.problems, [
    "provider num 1 skipped: CODER_AIBRIDGE_PROVIDER_2_TYPE (indices must run 0, 1, 2, … without gaps)",
    "provider 0: TYPE is required (set CODER_AIBRIDGE_PROVIDER_0_TYPE to one of: openai, anthropic, azure, bedrock, google, openai-compat, openrouter, vercel, copilot)",
    'provider 2: unknown TYPE "y" (must be one of: openai, anthropic, azure, bedrock, google, openai-compat, openrouter, vercel, copilot)',
  ]);
  assert.equal(io.err, `error: ${doc.error?.message}\n`, "the same one line on stderr");
  assert.match(
    io.err,
    /^error: invalid AI provider configuration \(3 problems\): provider num 1 skipped: .*; provider 0: .*; provider 2: /,
  );

  const usage = memoryIO({});
  assert.equal(await runCli(["schema", "--json", "--timeout", "1s"], usage), EXIT_ERROR);
  assert.deepEqual(JSON.parse(usage.out).error, {
    code: "usage",
    message: "--timeout does not apply to schema; see aibridge-seed schema --help",
  });
});

test("command-line mistakes: unknown option, missing value, stray argument, missing command", async () => {
  const cases: [string[], RegExp][] = [
    [["plan", "--nope"], /^error: unknown option --nope; see aibridge-seed --help\n$/],
    [["apply", "--lock-timeout"], /^error: --lock-timeout needs a value; see aibridge-seed --help\n$/],
    [["plan", "extra"], /^error: unexpected argument "extra"; see aibridge-seed plan --help\n$/],
    [["--lock-timeout", "5s"], /^error: missing command \(plan, check, apply, .*\); see aibridge-seed --help\n$/],
    [["help", "nope"], /^error: unknown command "nope"/],
  ];
  for (const [argv, expected] of cases) {
    const io = memoryIO({});
    assert.equal(await runCli(argv, io), EXIT_ERROR, argv.join(" "));
    assert.match(io.err, expected);
    assert.equal(io.out, "");
  }
});

test("--lock-timeout accepts 30s, 500ms, 2m, 1.5s and plain milliseconds; 0 waits forever", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2500"), 2500);
  assert.equal(parseDuration("0"), 0);
  for (const bad of ["", "soon", "-1s", "5h", "1e3", "3000000000"]) assert.throws(() => parseDuration(bad), /is not a duration/);
});

// --- unknown variables, --strict, nothing configured (issue 11) ---------------

const TYPO_SECRET = "sk-typo-cli-secret-0001";

test("check --strict with CODER_AIBRIGDE_OPENAI_KEY exits 1 naming it and the name it meant; plan and apply --strict too, nothing sent", async () => {
  await withDatabase(async ({ sql, url }) => {
    const env = { DATABASE_URL: url, CODER_AIBRIGDE_OPENAI_KEY: TYPO_SECRET };
    const [check, checkJson, plan, apply] = await Promise.all([
      cli(["check", "--strict"], env),
      cli(["check", "--strict", "--json"], env),
      cli(["plan", "--strict"], env),
      cli(["apply", "--strict"], { ...env, CODER_AIBRIDGE_PROVIDER_0_TYPE: "google", CODER_AIBRIDGE_PROVIDER_0_KEY: "g-strict-0001" }),
    ]);
    const line =
      /^error: invalid AI provider configuration: CODER_AIBRIGDE_OPENAI_KEY has a misspelled AI provider prefix \(did you mean CODER_AIBRIDGE_OPENAI_KEY\?\)$/;
    for (const r of [check, plan, apply]) {
      assertOneErrorLine(r, line);
      assert.equal(r.stdout, "");
    }
    assert.equal(checkJson.code, EXIT_ERROR);
    const doc = json(checkJson);
    assert.equal(doc.ok, false);
    assert.equal(doc.error?.code, "config_invalid");
    assert.deepEqual(doc.error?.problems, [
      "CODER_AIBRIGDE_OPENAI_KEY has a misspelled AI provider prefix (did you mean CODER_AIBRIDGE_OPENAI_KEY?)",
    ]);
    for (const r of [check, checkJson, plan, apply]) assert.ok(!(r.stdout + r.stderr).includes(TYPO_SECRET), "the value is never shown");
    assert.deepEqual(await snapshot(sql), { providers: [], keys: [] }, "apply --strict wrote nothing");
  });
});

test("check with only a typo and an unreachable database exits 1: it connects even with nothing configured", async () => {
  const result = await cli(["check"], {
    DATABASE_URL: "postgres://nobody:secret-password@127.0.0.1:1/none",
    CODER_AIBRIGDE_OPENAI_KEY: TYPO_SECRET,
  });
  // One error line; the typo's warning may come before it.
  assertOneErrorLine({ ...result, stderr: result.stderr.split("\n").filter((l) => !l.startsWith("warning: ")).join("\n") }, /ECONNREFUSED/);
  assert.ok(!(result.stdout + result.stderr).includes(TYPO_SECRET));
  assert.ok(!result.stderr.includes("secret-password"));
});

test("check with nothing configured exits 0 on a good database and says no provider is configured; without the tables it exits 1", async () => {
  await withDatabase(async ({ url }) => {
    const [human, doc] = await Promise.all([cli(["check"], { DATABASE_URL: url }), cli(["check", "--json"], { DATABASE_URL: url })]);
    assert.equal(human.code, EXIT_OK, human.stderr);
    assert.equal(
      human.stdout,
      "No AI providers configured in the environment: nothing to seed.\n" +
        "No CODER_AIBRIDGE_* or CODER_AI_GATEWAY_* provider variable is set; the ai_providers tables are present and usable.\n",
    );
    assert.equal(human.stderr, "");
    assert.equal(doc.code, EXIT_OK, doc.stderr);
    assert.deepEqual(json(doc).entries, []);
    assert.equal(json(doc).changes, false);
  });
  await withDatabase(async ({ url }) => {
    const missing = await cli(["check"], { DATABASE_URL: url });
    assertOneErrorLine(missing, /the ai_providers tables do not exist in this database|does not exist in this database/);
  }, { schema: false });
});

test("the typo warnings name the variable and the name it meant, in human and --json output, and never a value", async () => {
  await withDatabase(async ({ url }) => {
    const env = {
      DATABASE_URL: url,
      CODER_AIBRIGDE_OPENAI_KEY: TYPO_SECRET,
      CODER_AIBRIDGE_OPENAI_KYE: "sk-typo-cli-secret-0002",
      CODER_AI_GATEWAYPROVIDER_0_TYPE: "openai",
    };
    const human = memoryIO(env);
    assert.equal(await runCli(["check"], human), EXIT_OK, human.err);
    // Warnings may go to either stream; each names the variable and its suggestion.
    const text = human.out + human.err;
    assert.match(text, /No AI providers configured in the environment/);
    for (
      const [name, meant] of [
        ["CODER_AIBRIGDE_OPENAI_KEY", "CODER_AIBRIDGE_OPENAI_KEY"],
        ["CODER_AIBRIDGE_OPENAI_KYE", "CODER_AIBRIDGE_OPENAI_KEY"],
        ["CODER_AI_GATEWAYPROVIDER_0_TYPE", "CODER_AI_GATEWAY_PROVIDER_0_TYPE"],
      ]
    ) {
      assert.match(text, new RegExp(`warning: .*check for typos.*${name}.*${meant}`), name);
    }
    const doc = memoryIO(env);
    assert.equal(await runCli(["check", "--json"], doc), EXIT_OK, doc.err);
    assert.deepEqual((JSON.parse(doc.out) as CliJsonDocument).warnings?.map((w) => w.fields), [
      { env: "CODER_AIBRIDGE_OPENAI_KYE", suggestion: "CODER_AIBRIDGE_OPENAI_KEY" },
      { env: "CODER_AIBRIGDE_OPENAI_KEY", suggestion: "CODER_AIBRIDGE_OPENAI_KEY" },
      { env: "CODER_AI_GATEWAYPROVIDER_0_TYPE", suggestion: "CODER_AI_GATEWAY_PROVIDER_0_TYPE" },
    ]);
    for (const io of [human, doc]) {
      for (const secret of [TYPO_SECRET, "sk-typo-cli-secret-0002"]) assert.ok(!(io.out + io.err).includes(secret), secret);
    }
  });
});
