// What the first call in a fresh process costs. The shared benchmark
// (../shared/bench) times the seed call in a Node process that has just
// imported the library: V8 compiles each function the seed and postgres.js
// run on its first call, and runs it cold. This script times that call in
// three ways, each in fresh processes on a fresh connection (so a fresh
// server backend, as in the shared bench):
//
// - "first call": the shared bench's driver steps (import, connect, a
//   warm-up query, the timed seed call);
// - "--no-lazy": the same with `node --no-lazy`, which compiles every
//   function of a script when it loads (import takes longer); what the
//   call still pays is running code that never ran, and compiling what
//   loads only then (Node's Web Crypto internals, regular expressions);
// - "JS warmed": the same, after the process has seeded the same
//   configuration twice into a scratch database through another client,
//   so only the server side and the client's warm code remain.
//
// With GOREF=<path to the shared bench's goref binary> it also times the
// Go original's seed call (`GOREF_WARM=1 goref seed`) the same way.
//
//   npm run bench:firstcall                          (embedded PostgreSQL)
//   DATABASE_URL=… npm run bench:firstcall           (your server; it needs the right to create databases)
//   BENCH_SIZES=1,1000 BENCH_RUNS=9 GOREF=… npm run bench:firstcall
//   BENCH_SCHEMA=../shared/bench/goref/schema.sql …   (the shared bench's schema:
//                                                     no audit table, as in a Coder database)
//
// Prints a table; docs/benchmarks.md explains it.
import { spawn } from "node:child_process";
import postgres from "postgres";
import { applySchema, seedAIProvidersFromEnv } from "../mod.ts";
import { createDatabase } from "../tests/_db.ts";
import { median, sharedBenchProviders } from "./_bench.ts";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";

const SIZES = (process.env.BENCH_SIZES ?? "1,1000").split(",").map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const GOREF = process.env.GOREF ?? null;
const SCHEMA = process.env.BENCH_SCHEMA ?? null;

// Empties the tables (the audit table too, when applySchema made one).
const CLEAR = "truncate ai_providers cascade; " +
  "do $$ begin if to_regclass('ai_provider_audit') is not null then truncate ai_provider_audit; end if; end $$";

// The child: the driver's steps; with WARM_URL, two seeds into that
// database first, through a client of their own.
const CHILD = `
import postgres from "postgres";
import { seedAIProvidersFromEnv } from "./mod.ts";
const logger = { debug() {}, info() {}, warn() {}, error() {} };
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const config = JSON.parse(Buffer.concat(chunks).toString("utf8"));
if (process.env.WARM_URL) {
  const warm = postgres(process.env.WARM_URL, { onnotice: () => {} });
  await warm.unsafe(${JSON.stringify(CLEAR)}).simple();
  await seedAIProvidersFromEnv(warm, { config, logger });
  await seedAIProvidersFromEnv(warm, { config, logger });
  await warm.end({ timeout: 5 });
}
const sql = postgres(process.env.DATABASE_URL, { onnotice: () => {} });
await sql.unsafe("select 1 /* bench-warmup */").simple();
const start = performance.now();
await seedAIProvidersFromEnv(sql, { config, logger });
const elapsed = performance.now() - start;
await sql.end({ timeout: 5 });
process.stdout.write(JSON.stringify({ elapsed_ms: elapsed }) + "\\n");
process.exit(0);
`;

// One process; resolves to its seed call's milliseconds.
function run(command: string, args: string[], env: Record<string, string>, stdin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: new URL("..", import.meta.url),
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      const elapsed = code === 0 ? parsed(line) : null;
      if (elapsed === null) {
        reject(new Error(`${command} exited with ${code}:\n${err.trim().split("\n").slice(-20).join("\n")}\n${line}`));
      } else resolve(elapsed);
    });
    child.stdin.end(stdin);
  });
}

// The child's last line, {"elapsed_ms": …}; null when it is not that.
function parsed(line: string): number | null {
  try {
    const ms = (JSON.parse(line) as { elapsed_ms?: unknown }).elapsed_ms;
    return typeof ms === "number" ? ms : null;
  } catch {
    return null;
  }
}

const server = process.env.DATABASE_URL ? null : await startEmbeddedPostgres();
const base = process.env.DATABASE_URL ?? server!.url;
const db = await createDatabase(base);
const scratch = await createDatabase(base);
try {
  for (const d of [db, scratch]) {
    const sql = postgres(d.url, { onnotice: () => {} });
    if (SCHEMA === null) await applySchema(sql);
    else await sql.file(SCHEMA);
    await sql.end();
  }
  const admin = postgres(db.url, { onnotice: () => {} });
  const rows: string[] = [];
  for (const n of SIZES) {
    const config = JSON.stringify({ providers: sharedBenchProviders(n) });
    const cases: { name: string; cold: boolean }[] = [{ name: `cold seed, ${n}`, cold: true }];
    if (n === SIZES[0]) cases.push({ name: `no-op restart, ${n}`, cold: false });
    for (const c of cases) {
      const samples: Record<string, number[]> = { go: [], first: [], eager: [], warm: [] };
      const prepare = async (): Promise<void> => {
        await admin.unsafe(CLEAR).simple();
        if (!c.cold) await seedAIProvidersFromEnv(admin, { config: JSON.parse(config) });
      };
      const node = (warm: boolean, flags: string[] = []) =>
        run(process.execPath, [...flags, "--import", "tsx", "--input-type=module", "--eval", CHILD], {
          DATABASE_URL: db.url,
          ...(warm ? { WARM_URL: scratch.url } : {}),
        }, config);
      for (let r = 0; r < RUNS; r++) {
        // Taking turns, so that a drift of the machine falls on every column alike.
        if (GOREF !== null) {
          await prepare();
          // lib/pq asks for TLS unless told otherwise; a given sslmode is kept.
          const url = new URL(db.url);
          if (!url.searchParams.has("sslmode")) url.searchParams.set("sslmode", "disable");
          samples.go.push(await run(GOREF, ["seed"], { DATABASE_URL: url.toString(), GOREF_WARM: "1" }, config));
        }
        await prepare();
        samples.first.push(await node(false));
        await prepare();
        samples.eager.push(await node(false, ["--no-lazy"]));
        await prepare();
        samples.warm.push(await node(true));
      }
      const first = median(samples.first);
      const warm = median(samples.warm);
      const go = GOREF === null ? "–" : median(samples.go).toFixed(2);
      rows.push(
        `| ${c.name} | ${go} | ${first.toFixed(2)} | ${median(samples.eager).toFixed(2)} | ${warm.toFixed(2)} | ${
          (first - warm).toFixed(2)
        } |`,
      );
    }
  }
  await admin.end();
  console.log(`Seed call, median of ${RUNS} fresh processes each, fresh connection; schema: ${SCHEMA ?? "applySchema"}\n`);
  console.log("| case | Go original ms | first call ms | first call, --no-lazy ms | JS warmed ms | first-call cost ms |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);
} finally {
  // Each step even if one before it failed: no database or server is left behind.
  await db.drop().catch((err) => console.error(err));
  await scratch.drop().catch((err) => console.error(err));
  await server?.stop();
}
