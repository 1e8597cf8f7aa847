/**
 * Every statement the library sends to Postgres lives in this file. Values
 * always travel as parameters of the `postgres` tagged template.
 *
 * @module
 */
import type postgres from "postgres";
import { SeedError } from "./errors.ts";
import { AI_PROVIDER_TYPES, LOCK_ID_AI_PROVIDERS_ENV_SEED } from "./types.ts";

/**
 * A `postgres` (porsager) client, as `postgres(url)` returns it. Described
 * by the few members the library uses, so the public types do not depend
 * on one version of the client's typings.
 */
export interface Sql {
  /** Runs a tagged-template query. */
  // deno-lint-ignore no-explicit-any
  (template: TemplateStringsArray, ...parameters: any[]): PromiseLike<unknown>;
  /** Runs a callback in a transaction. */
  // deno-lint-ignore no-explicit-any
  begin(callback: (tx: any) => unknown): Promise<unknown>;
  /** Closes the client's connections. */
  end(options?: { timeout?: number | null }): Promise<void>;
}

// The client's own typings, for the statements below.
// deno-lint-ignore no-explicit-any
type Client = postgres.Sql<any>;
/** A transaction handle, as `sql.begin` passes it. */
// deno-lint-ignore no-explicit-any
export type Tx = postgres.TransactionSql<any>;

/** The full client typings behind a {@link Sql}. */
export function client(sql: Sql): Client {
  return sql as unknown as Client;
}

/**
 * The Coder-compatible schema: the `ai_provider_type` enum and the
 * `ai_providers` and `ai_provider_keys` tables. Every statement is
 * idempotent; {@link applySchema} runs it under an advisory lock so several
 * processes may apply it at once.
 */
export const SCHEMA_SQL: string = `
DO $$ BEGIN
  CREATE TYPE ai_provider_type AS ENUM (${AI_PROVIDER_TYPES.map((t) => `'${t}'`).join(", ")});
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS ai_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type ai_provider_type NOT NULL,
  name text NOT NULL CONSTRAINT ai_providers_name_check CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  display_name text,
  enabled boolean NOT NULL DEFAULT true,
  deleted boolean NOT NULL DEFAULT false,
  base_url text NOT NULL,
  settings text,
  settings_key_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  icon text NOT NULL DEFAULT ''
);

CREATE UNIQUE INDEX IF NOT EXISTS ai_providers_name_live_idx ON ai_providers (name) WHERE deleted = false;

CREATE TABLE IF NOT EXISTS ai_provider_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider_id uuid NOT NULL REFERENCES ai_providers (id) ON DELETE CASCADE,
  api_key text NOT NULL,
  api_key_key_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS ai_provider_keys_provider_id_idx ON ai_provider_keys (provider_id);
`;

/**
 * Creates the tables of {@link SCHEMA_SQL} when missing. Idempotent and safe
 * to run from several processes at once: the DDL runs in one transaction
 * under the seed's advisory lock, so concurrent runs take turns.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema } from "@aibridge/seed";
 * const sql = postgres(Deno.env.get("DATABASE_URL")!);
 * await applySchema(sql);
 * await sql.end();
 * ```
 *
 * @param sql A `postgres` client.
 * @returns Resolves once the schema exists.
 */
export async function applySchema(sql: Sql): Promise<void> {
  await client(sql).begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID_AI_PROVIDERS_ENV_SEED})`;
    await tx.unsafe(SCHEMA_SQL);
  });
}

/** A row of `ai_providers`, as far as the seed reads it. */
export interface StoredProvider {
  id: string;
  name: string;
  type: string;
  base_url: string;
  settings: string | null;
  settings_key_id: string | null;
  enabled: boolean;
  deleted: boolean;
}

/** A new `ai_providers` row. */
export interface NewProviderRow {
  id: string;
  type: string;
  name: string;
  baseURL: string;
  settings: string | null;
}

/** A new `ai_provider_keys` row. */
export interface NewKeyRow {
  id: string;
  providerId: string;
  apiKey: string;
}

/** Takes the seed's transaction-scoped advisory lock; waits for it. */
export async function lockSeed(tx: Tx): Promise<void> {
  await tx`select pg_advisory_xact_lock(${LOCK_ID_AI_PROVIDERS_ENV_SEED})`;
}

/** Loads every provider row, deleted and disabled ones included. */
export async function loadProviders(tx: Tx | Client): Promise<StoredProvider[]> {
  return await tx<StoredProvider[]>`
    select id::text as id, name, type::text as type, base_url, settings, settings_key_id, enabled, deleted
    from ai_providers`;
}

// One statement for any number of rows: each column travels as one array
// parameter and unnest turns them back into rows, which keeps every batch
// far below the protocol's 65,535 parameters.
/** Inserts provider rows in one statement. */
export async function insertProviders(tx: Tx, rows: NewProviderRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into ai_providers (id, type, name, display_name, enabled, base_url, settings, settings_key_id)
    select r.id, r.type::ai_provider_type, r.name, r.name, true, r.base_url, r.settings, null
    from unnest(
      ${rows.map((r) => r.id)}::uuid[],
      ${rows.map((r) => r.type)}::text[],
      ${rows.map((r) => r.name)}::text[],
      ${rows.map((r) => r.baseURL)}::text[],
      ${rows.map((r) => r.settings)}::text[]
    ) as r(id, type, name, base_url, settings)`;
}

/** Inserts key rows in one statement. */
export async function insertKeys(tx: Tx, rows: NewKeyRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into ai_provider_keys (id, provider_id, api_key, api_key_key_id)
    select k.id, k.provider_id, k.api_key, null
    from unnest(
      ${rows.map((r) => r.id)}::uuid[],
      ${rows.map((r) => r.providerId)}::uuid[],
      ${rows.map((r) => r.apiKey)}::text[]
    ) as k(id, provider_id, api_key)`;
}

/**
 * Turns a database error into a {@link SeedError} that says what to do.
 * Never copies query parameters: they hold API keys.
 */
export function databaseError(err: unknown, doing: string): SeedError {
  if (err instanceof SeedError) return err;
  const code = (err as { code?: unknown })?.code;
  // postgres.js keeps `parameters` on its errors in debug mode; the cause
  // keeps only the message and the SQLSTATE.
  const cause = err instanceof Error ? Object.assign(new Error(err.message), { code }) : err;
  if (code === "42P01" || code === "42704") {
    return new SeedError(
      "schema_missing",
      `${doing}: the ai_providers tables do not exist in this database; create them with applySchema(sql) or \`aibridge-seed schema\` first`,
      { cause },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SeedError("database_error", `${doing}: ${message}`, { cause });
}
