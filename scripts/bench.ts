// Benchmark: seed time, statements and memory by number of providers, for
// this library and for a row-by-row baseline shaped like the reference (one
// INSERT per provider and per key, as the Go original issues them).
//
//   npm run bench                 (embedded PostgreSQL, started and stopped here;
//                                  node --expose-gc --import tsx scripts/bench.ts)
//   DATABASE_URL=… npm run bench  (your server)
//   npm run bench -- --rtt 20     (through a TCP proxy adding 10 ms each way,
//                                  so round trips show as time; or BENCH_RTT_MS)
//   BENCH_SIZES=1,10 BENCH_RUNS=5 npm run bench
//
// Prints a table (docs/benchmarks.md explains it). Each case runs in a
// fresh database (tests/_db.ts createDatabase); times are the median of
// RUNS runs. "statements" are the messages the client sent (its debug
// hook); "round trips" are the seed report's, and for the baseline, whose
// every statement is awaited in turn, its statements.
import postgres from "postgres";
import { applySchema, type DesiredAIProvider, providersFromConfig, seedAIProvidersFromEnv } from "../mod.ts";
import { encodeSettings } from "../lib/_settings.ts";
import { median } from "./_bench.ts";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";
import { createDatabase } from "../tests/_db.ts";
import { type FaultProxy, startFaultProxy } from "../tests/_proxy.ts";

const SIZES = (process.env.BENCH_SIZES ?? "1,100,1000,10000").split(",").map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const KEYS_PER_PROVIDER = 2;
const rttArg = process.argv.indexOf("--rtt");
const RTT_MS = Number(rttArg >= 0 ? process.argv[rttArg + 1] : process.env.BENCH_RTT_MS ?? 0);
if (!Number.isFinite(RTT_MS) || RTT_MS < 0) throw new Error(`--rtt must be a number of milliseconds, got ${RTT_MS}`);

const server = process.env.DATABASE_URL ? null : await startEmbeddedPostgres();
const baseUrl = process.env.DATABASE_URL ?? server!.url;

function providersOf(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    type: "openai-compat",
    name: `gw-${i}`,
    baseURL: `https://gw-${i}.example/v1`,
    keys: Array.from({ length: KEYS_PER_PROVIDER }, (_, k) => `sk-bench-${i}-${k}`),
  }));
}

async function withFreshDb<T>(fn: (sql: postgres.Sql, count: () => number) => Promise<T>): Promise<T> {
  const db = await createDatabase(baseUrl, { prefix: "bench_" });
  let statements = 0;
  const proxy: FaultProxy | null = RTT_MS > 0 ? await startFaultProxy(db.url, { delayMs: RTT_MS / 2 }) : null;
  const sql = postgres(proxy?.url ?? db.url, { max: 1, onnotice: () => {}, debug: () => void statements++ });
  try {
    await applySchema(sql);
    statements = 0;
    return await fn(sql, () => statements);
  } finally {
    await sql.end();
    await proxy?.close();
    await db.drop();
  }
}

// The reference's write pattern: inside the locked transaction, one INSERT
// per provider and one per key, each awaited in turn.
async function rowByRowSeed(sql: postgres.Sql, desired: DesiredAIProvider[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(10)`;
    await tx`select id, name, type, base_url, settings, deleted from ai_providers`;
    for (const dp of desired) {
      const [row] = await tx`
        insert into ai_providers (id, type, name, display_name, enabled, base_url, settings)
        values (${crypto.randomUUID()}, ${dp.type}::ai_provider_type, ${dp.name}, ${dp.name}, true, ${dp.baseURL}, ${
        encodeSettings(dp.bedrock)
      })
        returning id`;
      for (const key of dp.keys) {
        await tx`insert into ai_provider_keys (id, provider_id, api_key) values (${crypto.randomUUID()}, ${row.id}, ${key})`;
      }
    }
  });
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

interface Row {
  providers: number;
  variant: string;
  ms: number;
  statements: number;
  roundTrips: number;
  heapMB: string;
}
const rows: Row[] = [];

for (const n of SIZES) {
  const config = { providers: providersOf(n) };
  const desired = await providersFromConfig(config);
  // Each case resolves to its round trips, or null when they are its statements.
  const cases: [string, (sql: postgres.Sql) => Promise<number | null>, boolean][] = [
    ["seed (insert all)", async (sql) => (await seedAIProvidersFromEnv(sql, { config })).roundTrips, false],
    ["seed (no-op restart)", async (sql) => (await seedAIProvidersFromEnv(sql, { config })).roundTrips, true],
    ["row-by-row baseline (insert all)", async (sql) => (await rowByRowSeed(sql, desired), null), false],
  ];
  for (const [variant, run, prefill] of cases) {
    const times: number[] = [];
    let statements = 0;
    let roundTrips: number | null = null;
    let heap = 0;
    for (let r = 0; r < RUNS; r++) {
      await withFreshDb(async (sql, count) => {
        if (prefill) await seedAIProvidersFromEnv(sql, { config });
        const before = count();
        (globalThis as { gc?: () => void }).gc?.();
        const heapBefore = process.memoryUsage().heapUsed;
        const t0 = performance.now();
        roundTrips = await run(sql);
        times.push(performance.now() - t0);
        heap = Math.max(heap, process.memoryUsage().heapUsed - heapBefore);
        statements = count() - before;
      });
    }
    rows.push({
      providers: n,
      variant,
      ms: median(times),
      statements,
      roundTrips: roundTrips ?? statements,
      heapMB: mb(Math.max(0, heap)),
    });
  }
}
await server?.stop();

const header = ["providers", "keys", "variant", "median ms", "statements", "round trips", "heap growth MB"];
const table = rows.map((r) => [
  String(r.providers),
  String(r.providers * KEYS_PER_PROVIDER),
  r.variant,
  r.ms.toFixed(1),
  String(r.statements),
  String(r.roundTrips),
  r.heapMB,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
console.log(
  `@aibridge/seed benchmark: ${RUNS} runs per case (median), ${KEYS_PER_PROVIDER} keys per provider, ${process.version}${
    RTT_MS > 0 ? `, ${RTT_MS} ms round-trip time (TCP proxy)` : ""
  }`,
);
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const t of table) console.log(line(t));
