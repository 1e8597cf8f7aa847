// The shared benchmark's "no-op x32" case, twice: with the seed call and
// without it. Each of N Node processes does what ../shared/bench's driver
// does (import mod.ts and postgres, say it is ready, read the config on
// stdin, connect, run a warm-up query, seed, end, exit); the processes
// are released together and the wall time runs from the release to the
// last exit. "without the seed" leaves out only the seed call: it is the
// floor that Node start-up work after the release (connecting, postgres.js
// fetching types, ending, exiting) sets on 2 CPUs, whatever the library does.
//
//   npm run bench:noop32                       (embedded PostgreSQL)
//   DATABASE_URL=… npm run bench:noop32        (your server)
//   BENCH_CONC=32 BENCH_RUNS=5 npm run bench:noop32
//
// Prints a table; docs/benchmarks.md explains it.
import { spawn } from "node:child_process";
import postgres from "postgres";
import { applySchema, seedAIProvidersFromEnv } from "../mod.ts";
import { median, sharedBenchProviders } from "./_bench.ts";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";
import { createDatabase } from "../tests/_db.ts";

const CONC = Number(process.env.BENCH_CONC ?? 32);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

// The child: the driver's steps, the seed call only when SEED=1.
const CHILD = `
import postgres from "postgres";
import { seedAIProvidersFromEnv } from "./mod.ts";
process.stdout.write('{"ready":true}\\n');
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const config = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const sql = postgres(process.env.DATABASE_URL, { onnotice: () => {} });
await sql.unsafe("select 1 /* bench-warmup */").simple();
if (process.env.SEED === "1") await seedAIProvidersFromEnv(sql, { config, logger: { debug() {}, info() {}, warn() {}, error() {} } });
await sql.end({ timeout: 5 });
process.exit(0);
`;

const server = process.env.DATABASE_URL ? null : await startEmbeddedPostgres();
const db = await createDatabase(process.env.DATABASE_URL ?? server!.url);
try {
  const config = { providers: sharedBenchProviders(10) };
  const sql = postgres(db.url, { onnotice: () => {} });
  await applySchema(sql);
  await seedAIProvidersFromEnv(sql, { config }); // every run after this one is a no-op
  await sql.end();

  const batch = async (seed: boolean): Promise<number> => {
    const children = Array.from({ length: CONC }, () => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", CHILD], {
        cwd: new URL("..", import.meta.url),
        env: { ...process.env, DATABASE_URL: db.url, SEED: seed ? "1" : "0" },
        stdio: ["pipe", "pipe", "inherit"],
      });
      const ready = new Promise((resolve) => child.stdout.once("data", resolve));
      const exited = new Promise<number>((resolve, reject) =>
        child.on("close", (code) => (code === 0 ? resolve(performance.now()) : reject(new Error(`child exited with ${code}`))))
      );
      return { child, ready, exited };
    });
    await Promise.all(children.map((c) => c.ready));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const released = performance.now();
    for (const c of children) c.child.stdin.end(JSON.stringify(config));
    return Math.max(...await Promise.all(children.map((c) => c.exited))) - released;
  };
  const rows: [string, number[]][] = [["with the seed call", []], ["without the seed call", []]];
  for (let r = 0; r < RUNS; r++) {
    rows[0][1].push(await batch(true));
    rows[1][1].push(await batch(false));
  }
  console.log(`| ${CONC} Node processes, released together (${RUNS} runs) | median wall ms, release → all exited | runs |`);
  console.log("| --- | ---: | --- |");
  for (const [name, xs] of rows) console.log(`| ${name} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(", ")} |`);
} finally {
  await db.drop();
  await server?.stop();
}
