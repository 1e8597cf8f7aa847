/**
 * Every statement the library sends to Postgres lives in this file. Values
 * always travel as parameters of the `postgres` tagged template.
 *
 * @module
 */
import type postgres from "postgres";
import { ConfigError, type LockHolder, LockTimeoutError, SeedError } from "./errors.ts";
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

/** How long the seed and {@link applySchema} wait for the advisory lock by default: 30 s. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/**
 * The `application_name` the seed transaction takes while it holds the lock,
 * and the one the CLI gives its connection, so `pg_stat_activity` (and a
 * blocked replica's {@link LockTimeoutError}) says who holds lock 10.
 */
export const SEED_APPLICATION_NAME = "aibridge-seed";

/** Options of {@link applySchema}. */
export interface ApplySchemaOptions {
  /**
   * How long to wait for the advisory lock, in milliseconds; `0` waits
   * forever. Default {@link DEFAULT_LOCK_TIMEOUT_MS}.
   */
  lockTimeoutMs?: number;
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
 * const sql = postgres(Deno.env.get("DATABASE_URL")!);
 * await applySchema(sql, { lockTimeoutMs: 10_000 });
 * await sql.end();
 * ```
 *
 * @param sql A `postgres` client.
 * @param options How long to wait for the lock.
 * @returns Resolves once the schema exists.
 * @throws {LockTimeoutError} when the lock is not granted in time.
 */
export async function applySchema(sql: Sql, options: ApplySchemaOptions = {}): Promise<void> {
  const lock = lockSettings(options.lockTimeoutMs, SEED_APPLICATION_NAME);
  try {
    await client(sql).begin(async (tx) => {
      await lockSeed(tx, lock);
      await tx.unsafe(SCHEMA_SQL);
    });
  } catch (err) {
    throw await withLockHolder(sql, err);
  }
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

/** How the seed transaction waits for its lock and names itself. */
export interface LockSettings {
  /** `lock_timeout` in milliseconds; 0 waits forever. */
  lockTimeoutMs: number;
  /** `application_name` for the transaction; `null` keeps the connection's. */
  applicationName: string | null;
}

/**
 * Checks the lock options and fills in the defaults.
 *
 * @throws {ConfigError} when the timeout is not a whole number of
 *   milliseconds from 0 to 2^31 - 1 (Postgres' limit).
 */
export function lockSettings(lockTimeoutMs: number | undefined, applicationName: string | null | undefined): LockSettings {
  const ms = lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!Number.isInteger(ms) || ms < 0 || ms > 2_147_483_647) {
    throw new ConfigError([`lockTimeoutMs must be a whole number of milliseconds from 0 (wait forever) to 2147483647, got ${ms}`]);
  }
  return { lockTimeoutMs: ms, applicationName: applicationName === undefined ? SEED_APPLICATION_NAME : applicationName };
}

/**
 * Takes the seed's transaction-scoped advisory lock, waiting at most
 * `lockTimeoutMs`. Two statements: the settings, then the lock (a setting
 * must be in force before the wait starts, and one statement does not
 * promise the order in which it evaluates its functions).
 *
 * @throws {LockTimeoutError} without a holder when the wait expired; the
 *   caller names the holder with {@link withLockHolder} once the
 *   transaction has rolled back.
 */
export async function lockSeed(tx: Tx, settings: LockSettings): Promise<void> {
  // set_config(..., true) is SET LOCAL with the value as a parameter: both
  // settings end with the transaction and the host's connection keeps its
  // own. application_name is visible in pg_stat_activity meanwhile, which
  // is what names the holder to a replica that times out waiting.
  await tx`select set_config('lock_timeout', ${`${settings.lockTimeoutMs}ms`}, true),
    set_config('application_name', coalesce(${settings.applicationName}::text, current_setting('application_name')), true)`;
  try {
    await tx`select pg_advisory_xact_lock(${LOCK_ID_AI_PROVIDERS_ENV_SEED})`;
  } catch (err) {
    // 55P03 lock_not_available: lock_timeout expired while waiting.
    if ((err as { code?: unknown })?.code === "55P03") throw new LockTimeoutError(settings.lockTimeoutMs, null);
    throw err;
  }
}

/**
 * Reads who holds the seed lock in this database: the granted advisory lock
 * 10 in `pg_locks` (a bigint key is `classid` 0, `objid` 10, `objsubid` 1;
 * advisory locks are per database) joined with `pg_stat_activity`. Never
 * reads the holder's query text, which may carry anything.
 */
export async function findSeedLockHolder(sql: Sql): Promise<LockHolder | null> {
  const rows = await client(sql)<{ pid: number; application_name: string; state: string | null; held_for_ms: number | null }[]>`
    select a.pid, a.application_name, a.state,
           (extract(epoch from clock_timestamp() - a.xact_start) * 1000)::float8 as held_for_ms
    from pg_locks l
    join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid = 0 and l.objid = ${LOCK_ID_AI_PROVIDERS_ENV_SEED} and l.objsubid = 1
    order by a.xact_start nulls last
    limit 1`;
  if (rows.length === 0) return null;
  const r = rows[0];
  return { pid: r.pid, applicationName: r.application_name, state: r.state, heldForMs: r.held_for_ms };
}

/**
 * Completes a {@link LockTimeoutError} raised by {@link lockSeed} with the
 * lock's holder, read with a fresh statement after the failed transaction
 * rolled back; any other error passes through. A failure to read the
 * holder leaves it unknown rather than hiding the timeout.
 */
export async function withLockHolder(sql: Sql, err: unknown): Promise<unknown> {
  if (!(err instanceof LockTimeoutError) || err.holder !== null) return err;
  const holder = await findSeedLockHolder(sql).catch(() => null);
  return new LockTimeoutError(err.timeoutMs, holder);
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
