// A Bun HTTP service that seeds the AI providers of its environment at
// start-up, before it serves anything, and refuses to start when a stored
// provider differs from the environment (drift). It serves GET /providers:
// the providers in the database, with their keys masked.
//
//   DATABASE_URL=postgres://user:pass@localhost:5432/app PORT=3000 \
//   CODER_AIBRIDGE_OPENAI_KEY=sk-... \
//     bun examples/bun-server.ts
//   curl http://127.0.0.1:3000/providers
//
// PORT defaults to 3000 (0 picks a free port) and HOST to 127.0.0.1. In this
// repository the library comes from ../mod.ts; in your own project, import
// "@aibridge/seed" after `bun add @aibridge/seed postgres`.
import postgres from "postgres";
import { applySchema, consoleLogger, formatReport, maskSecret, seedAIProvidersFromEnv, SeedError } from "../mod.ts";

const url = Bun.env.DATABASE_URL;
if (!url) {
  console.error("set DATABASE_URL to the Postgres database to seed");
  process.exit(2);
}
const sql = postgres(url, { onnotice: () => {} });

try {
  await applySchema(sql);
  const report = await seedAIProvidersFromEnv(sql, { logger: consoleLogger({ level: "warn" }) });
  console.log(formatReport(report));
} catch (err) {
  await sql.end();
  // On drift someone changed the provider through the API, or changed the
  // environment: an operator has to decide which side wins, so the service
  // does not start with a configuration nobody chose.
  console.error(err instanceof SeedError ? `refusing to start (${err.code}): ${err.message}` : err);
  process.exit(1);
}

/** A provider as GET /providers shows it. */
interface ProviderView {
  name: string;
  type: string;
  baseURL: string;
  enabled: boolean;
  keys: string[];
}

async function listProviders(): Promise<ProviderView[]> {
  const rows = await sql<{ name: string; type: string; base_url: string; enabled: boolean; api_keys: string[] }[]>`
    select p.name, p.type::text as type, p.base_url, p.enabled,
           coalesce(array_agg(k.api_key order by k.created_at, k.id) filter (where k.id is not null), '{}') as api_keys
    from ai_providers p left join ai_provider_keys k on k.provider_id = p.id
    where not p.deleted
    group by p.id
    order by p.name`;
  // Keys leave the process masked; Bedrock credentials (in `settings`) not at all.
  // With CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS set, api_key holds ciphertext
  // (api_key_key_id names its key): this masks the ciphertext, not the key.
  return rows.map((r) => ({ name: r.name, type: r.type, baseURL: r.base_url, enabled: r.enabled, keys: r.api_keys.map(maskSecret) }));
}

const server = Bun.serve({
  hostname: Bun.env.HOST ?? "127.0.0.1",
  port: Number(Bun.env.PORT ?? 3000),
  routes: {
    "/providers": { GET: async () => Response.json({ providers: await listProviders() }) },
  },
  fetch: () => new Response("not found\n", { status: 404 }),
});
console.log(`listening on ${server.url}`);

async function shutdown(): Promise<void> {
  await server.stop();
  await sql.end();
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
