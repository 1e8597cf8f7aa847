// Seeds the AI providers configured in this process's environment into the
// database DATABASE_URL names, then prints what it did.
//
//   DATABASE_URL=postgres://user:pass@localhost:5432/app \
//   CODER_AIBRIDGE_OPENAI_KEY=sk-... \
//     deno run --allow-env --allow-net examples/deno.ts
//
// Those two permissions and no others: --allow-env because the library reads
// the whole environment (Deno.env.toObject()), --allow-net for Postgres (it
// may be narrowed to the database, --allow-net=localhost:5432). Deno loads
// modules, node_modules included, without --allow-read.
//
// In this repository the library comes from ../mod.ts and `postgres` from
// deno.json's import map. In your own project, import "npm:@aibridge/seed"
// (or the JSR package @aibridge/seed) and "npm:postgres@3".
import postgres from "postgres";
import { applySchema, consoleLogger, formatReport, seedAIProvidersFromEnv, SeedError } from "../mod.ts";

const url = Deno.env.get("DATABASE_URL");
if (!url) {
  console.error("set DATABASE_URL to the Postgres database to seed");
  Deno.exit(2);
}

const sql = postgres(url, { onnotice: () => {}, max: 1 });
try {
  await applySchema(sql);
  const report = await seedAIProvidersFromEnv(sql, { logger: consoleLogger({ level: "warn" }) });
  console.log(formatReport(report));
} catch (err) {
  // A SeedError has a stable code and never carries a key; anything else is unexpected.
  console.error(err instanceof SeedError ? `error (${err.code}): ${err.message}` : err);
  Deno.exitCode = 1;
} finally {
  await sql.end();
}
