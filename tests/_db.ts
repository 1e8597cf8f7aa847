// Test database harness. Every test gets a database of its own on the
// server DATABASE_URL names (`npm test` starts an embedded one), and the
// database is dropped afterwards whatever the outcome. createDatabase and
// dropDatabase are the one place databases are created and dropped: the
// benchmark, the examples check and the pack check (through
// scripts/database.ts) use them too.
import postgres from "postgres";

/** A client with the full `postgres` typings. */
// deno-lint-ignore no-explicit-any
export type Sql = postgres.Sql<any>;

/** The server URL the suite runs against. */
export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "DATABASE_URL is not set: run the suite through `npm test` (which starts an embedded PostgreSQL) or point DATABASE_URL at a server",
    );
  }
  return url;
}

/** The URL of database `name` on `server` (default the test server). */
export function databaseUrl(name: string, server: string = serverUrl()): string {
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A database created by {@link createDatabase}. */
export interface Database {
  /** Its name. */
  name: string;
  /** Its URL, on the server it was created on. */
  url: string;
  /** Drops it, disconnecting whoever is still connected; once is enough, again does nothing. */
  drop(): Promise<void>;
}

/** Options of {@link createDatabase}. */
export interface CreateDatabaseOptions {
  /** The start of its name (lower-case letters, digits, `_`); a random suffix follows. Default `seed_test_`. */
  prefix?: string;
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checkName(name: string): string {
  if (!DATABASE_NAME.test(name)) throw new Error(`not a database name this harness creates: ${JSON.stringify(name)}`);
  return name;
}

async function admin<T>(server: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(server, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

/** Creates an empty database with a fresh name on `server` (default the test server). */
export async function createDatabase(server: string = serverUrl(), options: CreateDatabaseOptions = {}): Promise<Database> {
  const name = checkName(`${options.prefix ?? "seed_test_"}${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`);
  await admin(server, (sql) => sql.unsafe(`create database ${name}`));
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: databaseUrl(name, server),
    drop: () => (dropped ??= dropDatabase(name, server)),
  };
}

/** Drops database `name` on `server` (default the test server) if it exists, disconnecting its sessions. */
export async function dropDatabase(name: string, server: string = serverUrl()): Promise<void> {
  await admin(server, (sql) => sql.unsafe(`drop database if exists ${checkName(name)} with (force)`));
}

/** A per-test database. */
export interface TestDb {
  /** Its name. */
  name: string;
  /** Its URL. */
  url: string;
  /** A client connected to it. */
  sql: Sql;
  /** Every statement the client sent, in order. */
  queries: string[];
  /** Opens another client on the same database, closed with the database. */
  connect(options?: postgres.Options<Record<string, postgres.PostgresType>>): Sql;
}

/** Options of {@link withDatabase}. */
export interface WithDatabaseOptions extends CreateDatabaseOptions {
  /** Apply the schema first (default true). */
  schema?: boolean;
  /** The server; default the test server (DATABASE_URL). */
  server?: string;
}

/**
 * Runs `fn` with a fresh database (with the schema applied unless
 * `schema: false`), then drops it.
 */
export async function withDatabase<T>(fn: (db: TestDb) => Promise<T>, options: WithDatabaseOptions = {}): Promise<T> {
  const db = await createDatabase(options.server ?? serverUrl(), options);
  const { name, url } = db;
  const queries: string[] = [];
  const clients: Sql[] = [];
  const connect = (opts = {}) => {
    const c = postgres(url, { onnotice: () => {}, ...opts });
    clients.push(c);
    return c;
  };
  try {
    const sql = connect({ debug: (_conn: number, query: string) => queries.push(query.replace(/\s+/g, " ").trim()) });
    if (options.schema !== false) {
      // Loaded here, not above: creating and dropping databases (for
      // scripts/database.ts and the pack check) needs none of the library.
      const { applySchema } = await import("../mod.ts");
      await applySchema(sql);
      queries.length = 0;
    }
    return await fn({ name, url, sql, queries, connect });
  } finally {
    await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
    await db.drop();
  }
}

export { captureLogger, type LogLine } from "./_log.ts";

/** Inserts a provider row directly, as an operator or the API would. */
export async function insertRow(
  sql: Sql,
  row: { name: string; type: string; base_url: string; settings?: string | null; enabled?: boolean; deleted?: boolean },
): Promise<string> {
  const [r] = await sql<{ id: string }[]>`
    insert into ai_providers (type, name, display_name, enabled, deleted, base_url, settings)
    values (${row.type}::ai_provider_type, ${row.name}, ${row.name}, ${row.enabled ?? true}, ${row.deleted ?? false},
            ${row.base_url}, ${row.settings ?? null})
    returning id::text as id`;
  return r.id;
}

/** A row of `ai_providers`, as the tests read it. */
export interface ProviderRow {
  id: string;
  name: string;
  type: string;
  base_url: string;
  settings: string | null;
  enabled: boolean;
  deleted: boolean;
  display_name: string | null;
}

/** A row of `ai_provider_keys`, with its provider's name. */
export interface KeyRow {
  id: string;
  provider_id: string;
  api_key: string;
  provider: string;
}

/** Rows of both tables, for assertions. */
export async function snapshot(sql: Sql): Promise<{ providers: ProviderRow[]; keys: KeyRow[] }> {
  const providers = await sql<ProviderRow[]>`
    select id::text as id, name, type::text as type, base_url, settings, enabled, deleted, display_name
    from ai_providers order by name, deleted`;
  const keys = await sql<KeyRow[]>`
    select k.id::text as id, k.provider_id::text as provider_id, k.api_key, p.name as provider
    from ai_provider_keys k join ai_providers p on p.id = k.provider_id order by p.name, k.created_at, k.api_key`;
  return { providers: [...providers], keys: [...keys] };
}
