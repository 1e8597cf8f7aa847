// Plain Node.js (20 or later) ESM, no TypeScript: seeds the AI providers
// configured in this process's environment into the database DATABASE_URL
// names, then prints what it did.
//
//   npm install @aibridge/seed postgres
//   DATABASE_URL=postgres://user:pass@localhost:5432/app \
//   CODER_AIBRIDGE_OPENAI_KEY=sk-... \
//     node node.mjs
//
// It imports the package by its name, so in this repository it runs against
// the built package (`npm run build`, found through package.json "exports").
import postgres from "postgres";
import { applySchema, consoleLogger, formatReport, seedAIProvidersFromEnv, SeedError } from "@aibridge/seed";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("set DATABASE_URL to the Postgres database to seed");
  process.exit(2);
}

const sql = postgres(url, { onnotice: () => {}, max: 1 });
try {
  await applySchema(sql);
  const report = await seedAIProvidersFromEnv(sql, { logger: consoleLogger({ level: "warn" }) });
  console.log(formatReport(report));
} catch (err) {
  // A SeedError has a stable code and never carries a key; anything else is unexpected.
  console.error(err instanceof SeedError ? `error (${err.code}): ${err.message}` : err);
  process.exitCode = 1;
} finally {
  await sql.end();
}
