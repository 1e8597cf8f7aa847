// The --json contract (issue 11, point 5): every run that asked for JSON
// prints exactly one JSON document on stdout, errors included, whatever
// the runtime. Each error path runs as a child process of the bin
// (cli/main.ts) on Node, Deno and Bun, whichever runtime runs the suite.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import type { CliJsonDocument } from "../cli/_json.ts";
import { freePort } from "./_port.ts";
import { type ChildResult, currentRuntime, type RuntimeName, spawnCapture, testPath } from "./_spawn.ts";

const CLI = testPath("../cli/main.ts");
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

// Each runtime as the README runs the CLI: Node through tsx (the sources), Deno with the documented permissions, Bun as it is.
function command(runtime: RuntimeName, denoPermissions: string[]): [string, string[]] {
  const self = currentRuntime() === runtime ? process.execPath : undefined;
  switch (runtime) {
    case "node":
      return [self ?? "node", ["--import", "tsx", CLI]];
    case "deno":
      return [self ?? bin("deno"), ["run", "--no-prompt", ...denoPermissions, CLI]];
    case "bun":
      return [self ?? bin("bun"), [CLI]];
  }
}

// Only what each case sets: nothing of the runner's own database, providers or colours leaks in.
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  return { ...env, ...extra };
}

interface ErrorPath {
  what: string;
  argv: string[];
  env?: Record<string, string>;
  /** Deno's flags; default the documented --allow-env --allow-net --allow-read. */
  deno?: string[];
  /** The runtimes it applies to; default all three. */
  runtimes?: RuntimeName[];
  command: string | null;
  code: string;
  message: RegExp;
}

const DOCUMENTED = ["--allow-env", "--allow-net", "--allow-read"];

async function errorPaths(): Promise<ErrorPath[]> {
  // Nothing listens there: the connection is refused at once.
  const closed = `postgres://nobody:secret-password@127.0.0.1:${await freePort()}/none`;
  return [
    {
      what: "usage error (a bad option value)",
      argv: ["apply", "--lock-timeout", "soon", "--json"],
      command: "apply",
      code: "usage",
      message: /^--lock-timeout "soon" is not a duration/,
    },
    {
      what: "unknown command",
      argv: ["aply", "--json"],
      command: null,
      code: "usage",
      message: /^unknown command "aply" \(did you mean "apply"\?\); see aibridge-seed --help$/,
    },
    {
      what: "missing database URL",
      argv: ["plan", "--json"],
      env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-json-contract-0001" },
      command: "plan",
      code: "usage",
      message: /^no database to connect to: none of DATABASE_URL, DATABASE_URL_FILE, PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD is set/,
    },
    {
      what: "unreachable database",
      argv: ["check", "--json"],
      env: { DATABASE_URL: closed, CODER_AIBRIDGE_OPENAI_KEY: "sk-json-contract-0001" },
      command: "check",
      code: "database_error",
      message: /ECONNREFUSED|[Cc]onnection refused/,
    },
    {
      what: "missing dotenv file",
      argv: ["plan", "--json", "--dotenv", testPath("./fixtures/no-such.env")],
      env: { DATABASE_URL: closed },
      command: "plan",
      code: "usage",
      message: /^cannot read --dotenv ".*no-such\.env": file not found$/,
    },
    {
      what: "invalid configuration",
      argv: ["check", "--json"],
      env: { DATABASE_URL: closed, CODER_AIBRIDGE_PROVIDER_0_TYPE: "nope" },
      command: "check",
      code: "config_invalid",
      message: /^invalid AI provider configuration: provider 0: unknown TYPE "nope"/,
    },
    {
      what: "Deno without --allow-env",
      argv: ["apply", "--json"],
      env: { DATABASE_URL: closed, CODER_AIBRIDGE_OPENAI_KEY: "sk-json-contract-0001" },
      deno: ["--allow-net", "--allow-read"],
      runtimes: ["deno"],
      command: "apply",
      code: "env_unreadable",
      message: /^cannot read the environment; run Deno with --allow-env --allow-net/,
    },
  ];
}

/** Exactly one JSON document on stdout (JSON.parse accepts one value and nothing after it), one `error:` line on stderr. */
function oneDocument(result: ChildResult, where: string): CliJsonDocument {
  let doc: CliJsonDocument;
  try {
    doc = JSON.parse(result.stdout) as CliJsonDocument;
  } catch {
    throw new Error(`${where}: stdout is not exactly one JSON document (exit ${result.code}):\n${result.stdout}\nstderr: ${result.stderr}`);
  }
  assert.ok(result.stdout.endsWith("}\n"), `${where}: the document ends the output`);
  assert.equal(result.code, 1, `${where}: exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `${where}: one line on stderr, got:\n${result.stderr}`);
  assert.equal(lines[0], `error: ${doc.error?.message}`, `${where}: stderr says what the document says`);
  return doc;
}

test("every --json error path prints exactly one JSON document on stdout, on Node, Deno and Bun", async () => {
  const paths = await errorPaths();
  const runs = paths.flatMap((p) =>
    (p.runtimes ?? (["node", "deno", "bun"] as RuntimeName[])).map(async (runtime) => {
      const [cmd, args] = command(runtime, p.deno ?? DOCUMENTED);
      const result = await spawnCapture(cmd, [...args, ...p.argv], { cwd: ROOT, env: childEnv(p.env ?? {}), timeoutMs: 60_000 });
      return { p, runtime, result };
    })
  );
  const seen = new Set<string>();
  for (const { p, runtime, result } of await Promise.all(runs)) {
    const where = `${p.what} on ${runtime}`;
    const doc = oneDocument(result, where);
    assert.equal(doc.version, 2, where);
    assert.equal(doc.ok, false, where);
    assert.equal(doc.command, p.command, where);
    assert.equal(doc.error?.code, p.code, `${where}: ${doc.error?.message}`);
    assert.match(doc.error?.message ?? "", p.message, where);
    assert.ok(!(result.stdout + result.stderr).includes("secret-password"), `${where}: the URL's password is never echoed`);
    assert.ok(!(result.stdout + result.stderr).includes("sk-json-contract-0001"), `${where}: no key in clear`);
    seen.add(`${p.what} ${runtime}`);
  }
  assert.equal(seen.size, 6 * 3 + 1, "six error paths on three runtimes, and Deno without --allow-env");
});
