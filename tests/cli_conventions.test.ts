// `aibridge-seed` follows the command-line conventions (issue 11, point 4):
// help with no arguments, --version, warnings on stderr, the colour
// switches, "did you mean", the libpq variables, --connect-timeout, and
// --dotenv with its --env-file alias.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EXIT_ERROR, EXIT_OK, runCli } from "../cli/mod.ts";
import type { CliJsonDocument } from "../cli/_json.ts";
import { VERSION } from "../cli/_version.ts";
import { snapshot, withDatabase } from "./_db.ts";
import { runScript, testPath } from "./_spawn.ts";
import { memoryIO } from "./_cli_io.ts";

const CLI = testPath("../cli/main.ts");
const ESC = "\u001b";
const PROVIDERS = { CODER_AIBRIDGE_OPENAI_KEY: "sk-conventions-key-0001" };

test("cli/_version.ts's VERSION is package.json's and deno.json's version", () => {
  const read = (path: string) => JSON.parse(readFileSync(new URL(`../${path}`, import.meta.url), "utf8")) as { version: string };
  assert.equal(VERSION, read("package.json").version, "raise cli/_version.ts with package.json");
  assert.equal(VERSION, read("deno.json").version, "raise cli/_version.ts with deno.json");
});

test("no arguments print the help on stdout and exit 0; --version and version print the version, in --json too", async () => {
  const env = { DATABASE_URL: "", NO_COLOR: "" };
  const [bare, flag, command] = await Promise.all([
    runScript(CLI, env, [], { denoPermissions: ["--allow-env"] }),
    runScript(CLI, env, ["--version"], { denoPermissions: ["--allow-env"] }),
    runScript(CLI, env, ["version", "--json"], { denoPermissions: ["--allow-env"] }),
  ]);
  assert.equal(bare.code, EXIT_OK, bare.stderr);
  assert.match(bare.stdout, /^aibridge-seed: seed AI provider definitions[\s\S]*\nUsage: aibridge-seed <command> \[options\]\n/);
  assert.equal(bare.stderr, "");
  assert.equal(flag.code, EXIT_OK, flag.stderr);
  assert.equal(flag.stdout, `${VERSION}\n`);
  assert.equal(command.code, EXIT_OK, command.stderr);
  assert.deepEqual(JSON.parse(command.stdout), { version: 2, command: "version", ok: true, packageVersion: VERSION });

  // --version wins over a command; --help --json is one document too.
  const io = memoryIO({});
  assert.equal(await runCli(["plan", "--version"], io), EXIT_OK);
  assert.equal(io.out, `${VERSION}\n`);
  const help = memoryIO({});
  assert.equal(await runCli(["check", "--help", "--json"], help), EXIT_OK);
  const doc = JSON.parse(help.out) as CliJsonDocument;
  assert.deepEqual([doc.command, doc.ok], ["check", true]);
  assert.match(doc.help ?? "", /^Usage: aibridge-seed check/);
  // Options without a command are still a usage error.
  const missing = memoryIO({});
  assert.equal(await runCli(["--json"], missing), EXIT_ERROR);
  assert.equal(JSON.parse(missing.out).error.code, "usage");
});

test("unknown commands and options get a did-you-mean by edit distance; far-off ones get none", async () => {
  const cases: [string[], string][] = [
    [["aply"], 'error: unknown command "aply" (did you mean "apply"?); see aibridge-seed --help\n'],
    [["chekc"], 'error: unknown command "chekc" (did you mean "check"?); see aibridge-seed --help\n'],
    [["help", "shema"], 'error: unknown command "shema" (did you mean "schema"?); see aibridge-seed --help\n'],
    [["verison"], 'error: unknown command "verison" (did you mean "version"?); see aibridge-seed --help\n'],
    [["frobnicate"], 'error: unknown command "frobnicate"; see aibridge-seed --help\n'],
    [["plan", "--databse-url", "x"], "error: unknown option --databse-url (did you mean --database-url?); see aibridge-seed --help\n"],
    [["plan", "--no-colour"], "error: unknown option --no-colour (did you mean --no-color?); see aibridge-seed --help\n"],
    [["plan", "--dotnev=x.env"], "error: unknown option --dotnev (did you mean --dotenv?); see aibridge-seed --help\n"],
    [["plan", "--lock"], "error: unknown option --lock (did you mean --lock-timeout?); see aibridge-seed --help\n"],
    [["plan", "--nope"], "error: unknown option --nope; see aibridge-seed --help\n"],
    [
      ["encryption", "rotat"],
      'error: aibridge-seed encryption needs rotate, decrypt or status (did you mean "rotate"?); see aibridge-seed encryption --help\n',
    ],
  ];
  for (const [argv, expected] of cases) {
    const io = memoryIO({});
    assert.equal(await runCli(argv, io), EXIT_ERROR, argv.join(" "));
    assert.equal(io.err, expected);
    assert.equal(io.out, "");
  }
});

test("human mode: the table on stdout, warnings on stderr; --json: the warnings in the document, stderr empty", async () => {
  await withDatabase(async ({ url }) => {
    const env = { ...PROVIDERS, DATABASE_URL: url, CODER_AIBRIDGE_PROVIDER_0_TYPE: "google", CODER_AIBRIDGE_PROVIDER_0_TIMEOUT: "5" };
    const human = memoryIO(env);
    assert.equal(await runCli(["plan"], human), EXIT_OK, human.err);
    assert.match(human.out, /^PROVIDER\s+TYPE\s+ACTION\s+KEYS\n/);
    assert.doesNotMatch(human.out, /warning/);
    assert.match(human.err, /^warning: .*CODER_AIBRIDGE_PROVIDER_0_TIMEOUT/m);
    for (const line of human.err.trimEnd().split("\n")) assert.match(line, /^warning: /);

    const doc = memoryIO(env);
    assert.equal(await runCli(["plan", "--json"], doc), EXIT_OK, doc.err);
    assert.equal(doc.err, "");
    const warnings = (JSON.parse(doc.out) as CliJsonDocument).warnings ?? [];
    assert.ok(warnings.some((w) => JSON.stringify(w.fields).includes("CODER_AIBRIDGE_PROVIDER_0_TIMEOUT")), JSON.stringify(warnings));
  });
});

test("colours: on a terminal unless --no-color, NO_COLOR or TERM=dumb; FORCE_COLOR forces them on (0 or false: off)", async () => {
  await withDatabase(async ({ url }) => {
    const env = { ...PROVIDERS, DATABASE_URL: url };
    const coloured = async (argv: string[], extra: Record<string, string>, isTTY: boolean): Promise<boolean> => {
      const io = memoryIO({ ...env, ...extra }, isTTY);
      assert.equal(await runCli(argv, io), EXIT_OK, io.err);
      assert.match(io.out, /openai\s+openai\s+insert/);
      return io.out.includes(ESC);
    };
    const cases: [string, string[], Record<string, string>, boolean, boolean][] = [
      ["a terminal", ["plan"], {}, true, true],
      ["a pipe", ["plan"], {}, false, false],
      ["--no-color", ["plan", "--no-color"], {}, true, false],
      ["NO_COLOR=1", ["plan"], { NO_COLOR: "1" }, true, false],
      ["NO_COLOR empty", ["plan"], { NO_COLOR: "" }, true, true],
      ["TERM=dumb", ["plan"], { TERM: "dumb" }, true, false],
      ["FORCE_COLOR=1 on a pipe", ["plan"], { FORCE_COLOR: "1" }, false, true],
      ["FORCE_COLOR=1 over NO_COLOR and TERM=dumb", ["plan"], { FORCE_COLOR: "1", NO_COLOR: "1", TERM: "dumb" }, false, true],
      ["FORCE_COLOR=0 on a terminal", ["plan"], { FORCE_COLOR: "0" }, true, false],
      ["FORCE_COLOR=false on a terminal", ["plan"], { FORCE_COLOR: "false" }, true, false],
      ["--no-color over FORCE_COLOR", ["plan", "--no-color"], { FORCE_COLOR: "1" }, true, false],
    ];
    for (const [what, argv, extra, isTTY, expected] of cases) assert.equal(await coloured(argv, extra, isTTY), expected, what);
  });
});

test("without DATABASE_URL the CLI connects with PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (PGSSLMODE too), also from a --dotenv file", async () => {
  await withDatabase(async ({ sql, url }) => {
    const u = new URL(url);
    const libpq = {
      PGHOST: u.hostname,
      PGPORT: u.port,
      PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
      PGUSER: decodeURIComponent(u.username),
      PGPASSWORD: decodeURIComponent(u.password),
      PGSSLMODE: "disable",
    };
    const io = memoryIO({ ...PROVIDERS, ...libpq });
    assert.equal(await runCli(["apply"], io), EXIT_OK, io.err);
    assert.deepEqual((await snapshot(sql)).providers.map((p) => p.name), ["openai"]);

    const dir = mkdtempSync(join(tmpdir(), "aibridge-seed-libpq-"));
    try {
      const file = join(dir, "db.env");
      writeFileSync(file, Object.entries(libpq).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
      const fromFile = memoryIO(PROVIDERS);
      assert.equal(await runCli(["check", "--dotenv", file], fromFile), EXIT_OK, fromFile.err);
      assert.match(fromFile.out, /openai\s+openai\s+unchanged/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    for (
      const [extra, message] of [
        [{ PGPORT: "54x" }, 'error: PGPORT "54x" is not a port number\n'],
        [
          { PGSSLMODE: "sometimes" },
          'error: PGSSLMODE "sometimes" is not one of disable, allow, prefer, require, verify-ca, verify-full\n',
        ],
        [{ PGCONNECT_TIMEOUT: "soon" }, 'error: PGCONNECT_TIMEOUT "soon" is not a number of seconds\n'],
      ] as const
    ) {
      const bad = memoryIO({ ...PROVIDERS, ...libpq, ...extra });
      assert.equal(await runCli(["plan"], bad), EXIT_ERROR);
      assert.equal(bad.err, message);
    }
  });
});

test("--connect-timeout bounds the wait for a server that accepts and never answers; PGCONNECT_TIMEOUT (seconds) too", async () => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const env = { ...PROVIDERS, DATABASE_URL: `postgres://nobody:secret-password@127.0.0.1:${port}/none` };
    for (const [argv, extra] of [[["plan", "--connect-timeout", "300ms"], {}], [["plan"], { PGCONNECT_TIMEOUT: "1" }]] as const) {
      const io = memoryIO({ ...env, ...extra });
      const started = performance.now();
      assert.equal(await runCli([...argv], io), EXIT_ERROR);
      const elapsed = performance.now() - started;
      assert.match(io.err, /^error: plan the AI provider seed: no connection to the database within --connect-timeout \(CONNECT_TIMEOUT\)/);
      assert.ok(!io.err.includes("secret-password"));
      // Generous: well before the 10 s default, the 30 s lock timeout and the 60 s deadline.
      assert.ok(elapsed < 8000, `gave up after ${Math.round(elapsed)} ms`);
    }
    const bad = memoryIO(env);
    assert.equal(await runCli(["plan", "--connect-timeout", "soon"], bad), EXIT_ERROR);
    assert.match(bad.err, /^error: --connect-timeout "soon" is not a duration/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("--dotenv reads a dotenv file, --env-file is its alias, files are read in command-line order, and a missing one is named", async () => {
  await withDatabase(async ({ sql, url }) => {
    const dir = mkdtempSync(join(tmpdir(), "aibridge-seed-dotenv-"));
    try {
      const fixture = testPath("./fixtures/cli.env");
      const later = join(dir, "later.env");
      writeFileSync(later, "CODER_AIBRIDGE_OPENAI_BASE_URL=https://later.example/v1\n");
      const names = async (argv: string[]): Promise<string[] | undefined> => {
        const io = memoryIO({ DATABASE_URL: url });
        assert.equal(await runCli([...argv, "--json"], io), EXIT_OK, io.err);
        return (JSON.parse(io.out) as CliJsonDocument).entries?.map((e) => e.name);
      };
      assert.deepEqual(await names(["plan", "--dotenv", fixture]), ["openai", "openrouter"]);
      assert.deepEqual(await names(["plan", "--env-file", fixture]), ["openai", "openrouter"]);

      // Later files win, whichever of the two options named them.
      assert.deepEqual(await names(["apply", "--env-file", fixture, "--dotenv", later]), ["openai", "openrouter"]);
      const { providers } = await snapshot(sql);
      assert.equal(providers.find((p) => p.name === "openai")?.base_url, "https://later.example/v1");

      const missing = memoryIO({ DATABASE_URL: url });
      assert.equal(await runCli(["plan", "--dotenv", join(dir, "none.env"), "--json"], missing), EXIT_ERROR);
      const doc = JSON.parse(missing.out) as CliJsonDocument;
      assert.equal(doc.error?.code, "usage");
      assert.match(doc.error?.message ?? "", /^cannot read --dotenv ".*none\.env": file not found$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
