// `npm start`: the main job on an embedded default. Starts (or re-uses) an
// embedded PostgreSQL whose data lives in .data/postgres, applies the
// schema, seeds the providers of examples/demo.env merged with the real
// environment (the real environment wins), and prints the report.
import postgres from "postgres";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { applySchema, consoleLogger, formatReport, parseDotenv, seedAIProvidersFromEnv, SeedError } from "../mod.ts";
import { startEmbeddedPostgres } from "./embedded_postgres.ts";

const root = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const dataDir = root(".data/postgres");
const demo = parseDotenv(readFileSync(root("examples/demo.env"), "utf8"));
const env = { ...demo, ...process.env };

console.log(`PostgreSQL data: ${dataDir}`);
const server = await startEmbeddedPostgres(dataDir);
const sql = postgres(server.url, { onnotice: () => {}, max: 2 });
let code = 0;
try {
  await applySchema(sql);
  const report = await seedAIProvidersFromEnv(sql, { env, logger: consoleLogger({ level: "warn" }) });
  console.log(formatReport(report));
} catch (err) {
  code = 1;
  if (err instanceof SeedError) console.error(`error (${err.code}): ${err.message}`);
  else throw err;
} finally {
  await sql.end();
  await server.stop();
}
process.exit(code);
