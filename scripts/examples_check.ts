// Runs every example the way its header says, each against a fresh database
// on the server DATABASE_URL names, and checks what it prints:
//
//   examples/deno.ts        deno run --allow-env --allow-net; fails without either flag
//   examples/bun-server.ts  serves GET /providers with masked keys; exits non-zero on drift
//   examples/node.mjs       imports the built package by its name (run `npm run build` first)
//
//   tsx scripts/with_postgres.ts -- tsx scripts/examples_check.ts   (npm run check:examples)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { maskSecret } from "../mod.ts";
import { createDatabase } from "../tests/_db.ts";
import { type ChildResult as Result, spawnCapture, spawnProcess } from "../tests/_spawn.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) {
  console.error("DATABASE_URL is not set: run `npm run check:examples`, which starts an embedded PostgreSQL");
  process.exit(2);
}

const KEYS = {
  openai: "sk-example-openai-0123456789abcdef",
  router1: "sk-or-example-first-000111",
  router2: "sk-or-example-second-000222",
};
const PROVIDER_ENV = {
  CODER_AIBRIDGE_OPENAI_KEY: KEYS.openai,
  CODER_AI_GATEWAY_PROVIDER_0_TYPE: "openrouter",
  CODER_AI_GATEWAY_PROVIDER_0_BASE_URL: "https://openrouter.ai/api/v1",
  CODER_AI_GATEWAY_PROVIDER_0_KEYS: `${KEYS.router1},${KEYS.router2}`,
};

let failures = 0;
function check(ok: boolean, what: string, detail = ""): void {
  console.log(`${ok ? "ok" : "not ok"} - ${what}`);
  if (!ok) {
    failures++;
    if (detail) console.log(detail.replace(/^/gm, "    "));
  }
}

/** The environment of an example: ours, without provider variables, plus `extra`. */
function exampleEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^CODER_AI(BRIDGE|_GATEWAY)_/.test(k)) env[k] = v;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

const noClearKey = (text: string) => Object.values(KEYS).every((k) => !text.includes(k));

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Result> {
  return spawnCapture(cmd, args, { cwd: root, env, timeoutMs });
}

/** Runs `fn` with a fresh, empty database (no schema: each example applies it), then drops it. */
async function withDatabase(label: string, fn: (url: string, sql: postgres.Sql) => Promise<void>): Promise<void> {
  const db = await createDatabase(serverUrl!, { prefix: `examples_${label}_` });
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await fn(db.url, sql);
  } finally {
    await sql.end();
    await db.drop();
  }
}

async function providerNames(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`select name from ai_providers where not deleted order by name`;
  return rows.map((r) => r.name);
}

/** The report formatReport prints for the two providers of PROVIDER_ENV, all new or all unchanged. */
function reportOk(stdout: string, action: "insert" | "unchanged"): boolean {
  const rows = stdout.split("\n");
  const row = (name: string, keys: string) =>
    rows.some((l) => new RegExp(`^${name}\\s+${name}\\s+${action}\\s+${keys.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`).test(l));
  const summary = action === "insert"
    ? /^2 insert \(3 keys\), 0 unchanged, 0 skip-deleted, 0 drift in \d+ ms$/m
    : /^0 insert \(0 keys\), 2 unchanged, 0 skip-deleted, 0 drift in \d+ ms$/m;
  return /^PROVIDER\s+TYPE\s+ACTION\s+KEYS$/m.test(stdout) &&
    row("openai", action === "insert" ? maskSecret(KEYS.openai) : "-") &&
    row("openrouter", action === "insert" ? `${maskSecret(KEYS.router1)}, ${maskSecret(KEYS.router2)}` : "-") &&
    summary.test(stdout);
}

const show = (r: Result) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

async function denoExample(): Promise<void> {
  await withDatabase("deno", async (url, sql) => {
    const deno = bin("deno");
    const env = exampleEnv({ DATABASE_URL: url, ...PROVIDER_ENV });
    const first = await run(deno, ["run", "--allow-env", "--allow-net", "examples/deno.ts"], env);
    check(
      first.code === 0 && reportOk(first.stdout, "insert"),
      "deno: `deno run --allow-env --allow-net examples/deno.ts` seeds and prints the report",
      show(first),
    );
    check(noClearKey(first.stdout + first.stderr), "deno: no key in clear in the output");
    check((await providerNames(sql)).join() === "openai,openrouter", "deno: both providers are in the database");

    // --allow-net narrowed to the database alone is enough.
    const db = new URL(url);
    const narrow = `--allow-net=${db.hostname}:${db.port || "5432"}`;
    const again = await run(deno, ["run", "--allow-env", narrow, "examples/deno.ts"], env);
    check(
      again.code === 0 && reportOk(again.stdout, "unchanged"),
      `deno: a second run with ${narrow} reports both providers unchanged`,
      show(again),
    );

    // Both flags are needed: each run without one fails and names it.
    const noEnv = await run(deno, ["run", "--no-prompt", "--allow-net", "examples/deno.ts"], env);
    check(noEnv.code !== 0 && noEnv.stderr.includes("--allow-env"), "deno: without --allow-env it fails and names the flag", show(noEnv));
    const noNet = await run(deno, ["run", "--no-prompt", "--allow-env", "examples/deno.ts"], env);
    check(noNet.code !== 0 && noNet.stderr.includes("--allow-net"), "deno: without --allow-net it fails and names the flag", show(noNet));
  });
}

interface Server {
  url: string | null;
  result: Promise<Result>;
  stop(): void;
}

/** Starts the Bun example and waits for its "listening on" line (or its exit). */
function startBunServer(env: Record<string, string>): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = (url: string | null): Server => ({ url, result: child.result, stop: () => child.kill("SIGTERM") });
    const child = spawnProcess(bin("bun"), ["examples/bun-server.ts"], {
      cwd: root,
      env,
      timeoutMs: 60_000,
      onStdout(stdout) {
        const m = /^listening on (http:\/\/\S+)$/m.exec(stdout);
        if (m) resolve(server(m[1]));
      },
    });
    child.result.then(() => resolve(server(null)), reject);
  });
}

async function bunExample(): Promise<void> {
  await withDatabase("bun", async (url, sql) => {
    const env = exampleEnv({ DATABASE_URL: url, PORT: "0", ...PROVIDER_ENV });
    const server = await startBunServer(env);
    check(server.url !== null, "bun: the server seeds, then listens", server.url === null ? show(await server.result) : "");
    if (server.url !== null) {
      try {
        const res = await fetch(new URL("/providers", server.url));
        const body = await res.text();
        let providers: { name: string; type: string; keys: string[] }[] = [];
        try {
          providers = (JSON.parse(body) as { providers: typeof providers }).providers;
        } catch {
          // checked below
        }
        check(
          res.status === 200 && (res.headers.get("content-type") ?? "").startsWith("application/json"),
          "bun: GET /providers answers JSON",
          body,
        );
        check(
          // Keys inserted together share created_at: compare them as a set.
          JSON.stringify(providers.map((p) => [p.name, p.type, [...p.keys].sort()])) ===
            JSON.stringify([
              ["openai", "openai", [maskSecret(KEYS.openai)]],
              ["openrouter", "openrouter", [maskSecret(KEYS.router1), maskSecret(KEYS.router2)].sort()],
            ]),
          "bun: it lists both providers with their keys masked",
          body,
        );
        check(noClearKey(body), "bun: no key in clear in the response");
        const missing = await fetch(new URL("/nothing-here", server.url));
        await missing.arrayBuffer();
        check(missing.status === 404, "bun: other paths answer 404");
      } finally {
        server.stop();
      }
    }
    const stopped = await server.result;
    check(stopped.code === 0, "bun: SIGTERM stops it cleanly", show(stopped));
    check(noClearKey(stopped.stdout + stopped.stderr), "bun: no key in clear in its output");

    // Drift: the stored openai row now differs from the environment.
    const drifted = await startBunServer({ ...env, CODER_AIBRIDGE_OPENAI_BASE_URL: "https://proxy.example.com/v1" });
    if (drifted.url !== null) drifted.stop();
    const r = await drifted.result;
    check(
      drifted.url === null && r.code !== 0 && r.stderr.includes("differs from the current environment configuration"),
      "bun: on drift it refuses to start, exits non-zero and says why",
      show(r),
    );
    check((await providerNames(sql)).join() === "openai,openrouter", "bun: the drifted start wrote nothing");
  });
}

async function nodeExample(): Promise<void> {
  if (!existsSync(join(root, "dist", "mod.js"))) {
    check(false, "node: the built package exists", "dist/mod.js is missing: run `npm run build` first");
    return;
  }
  await withDatabase("node", async (url, sql) => {
    const env = exampleEnv({ DATABASE_URL: url, ...PROVIDER_ENV });
    const r = await run(process.execPath, ["examples/node.mjs"], env);
    check(
      r.code === 0 && reportOk(r.stdout, "insert"),
      "node: `node examples/node.mjs` imports @aibridge/seed, seeds and prints the report",
      show(r),
    );
    check(noClearKey(r.stdout + r.stderr), "node: no key in clear in the output");
    check((await providerNames(sql)).join() === "openai,openrouter", "node: both providers are in the database");
  });
}

await denoExample();
await bunExample();
await nodeExample();
if (failures > 0) {
  console.log(`examples: ${failures} check(s) failed`);
  process.exit(1);
}
console.log("examples: the deno, bun and node examples behave as documented");
