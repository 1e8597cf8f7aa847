/**
 * The Coder-compatible schema and the function that creates it.
 *
 * @module
 */
import { databaseError } from "./_db_error.ts";
import { Deadline } from "./_deadline.ts";
import { Store } from "./_store.ts";
import { literal } from "./_transaction.ts";
import { LockTimeoutError, SeedError } from "./errors.ts";
import { lockOptions } from "./_options.ts";
import { AI_PROVIDER_NAME_PATTERN, AI_PROVIDER_TYPES, LOCK_ID_AI_PROVIDERS_ENV_SEED, SEED_APPLICATION_NAME, type Sql } from "./types.ts";

/**
 * The schema: the `ai_provider_type` enum, the `ai_providers` and
 * `ai_provider_keys` tables (as Coder has them), the `dbcrypt_keys` table
 * Coder's encryption at rest uses, with the key-id references Coder has,
 * and the `ai_provider_audit` table this library delivers audit entries
 * through (absent on a Coder database, where delivery happens after commit
 * only). Every statement is idempotent; {@link applySchema} runs it under
 * advisory lock 10 so several processes may apply it at once.
 */
export const SCHEMA_SQL: string = `
DO $$ BEGIN
  CREATE TYPE ai_provider_type AS ENUM (${AI_PROVIDER_TYPES.map((t) => `'${t}'`).join(", ")});
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS dbcrypt_keys (
  number integer PRIMARY KEY,
  active_key_digest text UNIQUE,
  revoked_key_digest text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  test text NOT NULL
);

CREATE TABLE IF NOT EXISTS ai_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type ai_provider_type NOT NULL,
  name text NOT NULL CONSTRAINT ai_providers_name_check CHECK (name ~ ${literal(AI_PROVIDER_NAME_PATTERN.source)}),
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

DO $$ BEGIN
  ALTER TABLE ai_providers ADD CONSTRAINT ai_providers_settings_key_id_fkey
    FOREIGN KEY (settings_key_id) REFERENCES dbcrypt_keys (active_key_digest);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

DO $$ BEGIN
  ALTER TABLE ai_provider_keys ADD CONSTRAINT ai_provider_keys_api_key_key_id_fkey
    FOREIGN KEY (api_key_key_id) REFERENCES dbcrypt_keys (active_key_digest);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE IF NOT EXISTS ai_provider_audit (
  id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  position integer NOT NULL,
  entry text NOT NULL,
  claim uuid,
  claimed_until timestamptz,
  delivered_at timestamptz
);

CREATE INDEX IF NOT EXISTS ai_provider_audit_undelivered_idx ON ai_provider_audit (created_at, position) WHERE delivered_at IS NULL;
`;

/** Options of {@link applySchema}. */
export interface ApplySchemaOptions {
  /**
   * How long to wait for the advisory lock, in milliseconds; `0` waits
   * forever. Default `DEFAULT_LOCK_TIMEOUT_MS` (30 s).
   */
  lockTimeoutMs?: number;
  /**
   * The deadline of the whole call in milliseconds (each DDL statement's
   * `statement_timeout`); `0` for none. Default `DEFAULT_TIMEOUT_MS` (60 s).
   */
  timeoutMs?: number;
}

/**
 * Creates the tables of {@link SCHEMA_SQL} when missing. Idempotent and safe
 * to run from several processes at once: the DDL runs in one transaction
 * under the seed's advisory lock, so concurrent runs take turns.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * try {
 *   await applySchema(sql, { lockTimeoutMs: 10_000 });
 *   await applySchema(sql); // again: nothing changes
 *   const tables = await sql`select table_name from information_schema.tables
 *     where table_schema = current_schema() and table_name in ('ai_providers', 'ai_provider_keys', 'dbcrypt_keys', 'ai_provider_audit')
 *     order by table_name`;
 *   assert.deepEqual(tables.map((t) => t.table_name), ["ai_provider_audit", "ai_provider_keys", "ai_providers", "dbcrypt_keys"]);
 * } finally {
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client.
 * @param options How long to wait for the lock.
 * @returns Resolves once the schema exists.
 * @throws {LockTimeoutError} when the lock is not granted in time.
 */
export async function applySchema(sql: Sql, options: ApplySchemaOptions = {}): Promise<void> {
  const { lockTimeoutMs, timeoutMs } = lockOptions({ lockTimeoutMs: options.lockTimeoutMs, timeoutMs: options.timeoutMs });
  // deno-lint-ignore no-explicit-any
  const client = sql as any;
  try {
    await client.begin(async (tx: { unsafe(q: string): Promise<unknown> }) => {
      // lock_timeout bounds the advisory lock and every table lock the DDL
      // asks for (an index or constraint on a busy table would otherwise
      // wait, lock 10 held, behind any open write); statement_timeout each
      // statement.
      await tx.unsafe(`select set_config('lock_timeout', '${lockTimeoutMs}ms', true),
        set_config('statement_timeout', '${timeoutMs}ms', true),
        set_config('application_name', ${literal(SEED_APPLICATION_NAME)}, true)`);
      try {
        await tx.unsafe(`select pg_advisory_xact_lock(${LOCK_ID_AI_PROVIDERS_ENV_SEED})`);
      } catch (err) {
        if ((err as { code?: unknown })?.code === "55P03") throw new LockTimeoutError(lockTimeoutMs, null);
        throw err;
      }
      await tx.unsafe(SCHEMA_SQL);
    });
  } catch (err) {
    if (err instanceof LockTimeoutError) {
      throw new LockTimeoutError(err.timeoutMs, await new Store(sql, new Deadline(10_000)).lockHolder());
    }
    if ((err as { code?: unknown })?.code === "55P03") {
      throw new SeedError(
        "table_locked",
        `apply the AI provider schema: waited more than ${lockTimeoutMs} ms for a lock on the tables (another session is writing to them or migrating them); nothing was changed. Retry, or raise lockTimeoutMs`,
      );
    }
    throw databaseError(err, "apply the AI provider schema");
  }
}
