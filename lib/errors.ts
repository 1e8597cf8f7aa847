/**
 * Typed errors. Each carries a stable `code` and the fields a caller needs to
 * act on, and never a key, access key or secret, nor the database's host,
 * port, user or password.
 *
 * @module
 */
import type { SeedTimings } from "./report.ts";
import { LOCK_ID_AI_PROVIDERS_ENV_SEED } from "./types.ts";

/**
 * Stable codes of {@link SeedError}:
 *
 * - `config_invalid`: the configuration or an option is invalid ({@link ConfigError}); nothing was sent.
 * - `drift`: stored providers differ from the environment ({@link DriftError}); nothing was written.
 * - `lock_timeout`: advisory lock 10 was not granted in time ({@link LockTimeoutError}); nothing was written.
 * - `table_locked`: a read waited too long behind another session's lock on the tables (e.g. a migration); nothing was written.
 * - `timeout`: the seed's deadline (`timeoutMs`) passed before the commit was sent; nothing was written.
 * - `commit_unknown`: the connection failed or the deadline passed after the commit was sent: the rows may or may not
 *   have been committed. Run the seed again: it inserts only what is missing, and delivers any audit entry left undelivered.
 * - `schema_missing`: the tables do not exist; `schema_mismatch`: a table exists with a column missing or of another type.
 * - `stored_row_invalid`: a row this library did not write cannot be compared (a NULL column, two live rows of one name).
 * - `settings_unreadable`: a stored provider's settings cannot be decoded.
 * - `encryption_key_missing`: a stored value is encrypted with a key that is not configured; the message names the provider and key id.
 * - `decrypt_failed`: a stored value does not decrypt with the key its key id names.
 * - `encryption_key_revoked`: the first configured key was revoked in `dbcrypt_keys` and can never encrypt again.
 * - `permission_denied`: the database role lacks a right the seed needs; the message names it.
 * - `not_found`: `adoptProviders` or `restoreProviders` was given a provider that is not configured, has no row, or (adopt) is
 *   soft-deleted, or (restore) has no soft-deleted row; the message names each. Nothing was written.
 * - `conflict`: `restoreProviders` was given a provider that has a live row, or (either call) a row changed between the read
 *   under the lock and the write. Nothing was written.
 * - `env_unreadable`: the runtime's environment cannot be read (Deno without `--allow-env`).
 * - `database_error`: any other database failure before the commit was sent; nothing was written.
 */
export type SeedErrorCode =
  | "config_invalid"
  | "drift"
  | "lock_timeout"
  | "table_locked"
  | "timeout"
  | "commit_unknown"
  | "schema_missing"
  | "schema_mismatch"
  | "stored_row_invalid"
  | "settings_unreadable"
  | "encryption_key_missing"
  | "decrypt_failed"
  | "encryption_key_revoked"
  | "permission_denied"
  | "not_found"
  | "conflict"
  | "env_unreadable"
  | "database_error";

/**
 * Base class of every error this library throws. Match on `code`, which is
 * stable across releases, rather than on the message.
 */
export class SeedError extends Error {
  /** Stable machine-readable code. */
  readonly code: SeedErrorCode;
  /**
   * The phase durations reached before the failure, in the shape of a
   * report's, when the error comes out of a seed or plan; `null` otherwise.
   */
  timings: SeedTimings | null = null;

  /**
   * Creates an error with a stable code.
   *
   * @param code Stable code.
   * @param message Human-readable message with the fix.
   * @param options Optional `cause`.
   */
  constructor(code: SeedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SeedError";
    this.code = code;
  }
}

/**
 * The configuration is invalid. `problems` lists every problem found, one
 * line each, so an operator fixes them all in one go.
 */
export class ConfigError extends SeedError {
  /** One line per problem, naming the variable or provider involved. */
  readonly problems: string[];

  /**
   * Creates the error from its problems.
   *
   * @param problems One line per problem; at least one.
   */
  constructor(problems: string[]) {
    const head = problems.length === 1
      ? "invalid AI provider configuration"
      : `invalid AI provider configuration (${problems.length} problems)`;
    super("config_invalid", `${head}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** One field of a stored provider that differs from the environment. */
export interface DriftField {
  /** Column or setting: `type`, `base_url` or `bedrock_region`. */
  field: "type" | "base_url" | "bedrock_region";
  /** The value in the database. */
  stored: string;
  /** The value the environment asks for. */
  desired: string;
}

/** A provider whose stored row differs from the environment. */
export interface ProviderDrift {
  /** Provider name. */
  provider: string;
  /** Every differing field, with both values. */
  fields: DriftField[];
}

// A drifted row is never overwritten: the API may have changed it on
// purpose, so start-up stops and the operator decides which side wins.
function driftLine(drift: ProviderDrift, envPrefix: string): string {
  // The hint names the variables, never a command-line flag: the library
  // does not know how it was started.
  const fields = drift.fields
    .map((f) => `${f.field}: stored ${JSON.stringify(f.stored)}, environment ${JSON.stringify(f.desired)}`)
    .join("; ");
  return `AI provider ${
    JSON.stringify(drift.provider)
  } already exists in the database and differs from the current environment configuration; update the provider through the API or remove the ${envPrefix}* env vars to stop seeding it, or adopt the environment's values with adoptProviders (${fields})`;
}

/**
 * Stored providers differ from the environment configuration. Nothing was
 * written. `provider` and `fields` describe the first drifted provider in
 * name order; `drifts` lists all of them.
 */
export class DriftError extends SeedError {
  /** Name of the first drifted provider. */
  readonly provider: string;
  /** Differing fields of the first drifted provider. */
  readonly fields: DriftField[];
  /** Every drifted provider, in name order. */
  readonly drifts: ProviderDrift[];

  /**
   * Creates the error from every drifted provider.
   *
   * @param drifts Drifted providers, at least one, in name order.
   * @param envPrefix Variable prefix named in the hint.
   */
  constructor(drifts: ProviderDrift[], envPrefix = "CODER_AIBRIDGE_") {
    super("drift", drifts.map((d) => driftLine(d, envPrefix)).join("\n"));
    this.name = "DriftError";
    this.provider = drifts[0].provider;
    this.fields = drifts[0].fields;
    this.drifts = drifts;
  }
}

/** The backend that held the seed lock when a wait timed out. */
export interface LockHolder {
  /** Backend process id (`pg_stat_activity.pid`). */
  pid: number;
  /** Its `application_name` (this library's seed transactions say `aibridge-seed`). */
  applicationName: string;
  /** Its `state` in `pg_stat_activity` (e.g. `idle in transaction`). */
  state: string | null;
  /**
   * How long its transaction has been open (`now() - xact_start`), in
   * milliseconds: the longest it can have held a transaction-scoped lock.
   * `null` outside a transaction (a session-level lock held by an idle session).
   */
  heldForMs: number | null;
}

function holderText(holder: LockHolder | null): string {
  if (holder === null) return "its holder could not be seen any more (it has probably released it)";
  const held = holder.heldForMs === null ? "" : ` for ${Math.round(holder.heldForMs)} ms`;
  return `held by pid ${holder.pid} (application_name ${JSON.stringify(holder.applicationName)}, state ${
    holder.state ?? "unknown"
  })${held}`;
}

/**
 * The advisory lock was not granted within `lockTimeoutMs`. Nothing was
 * written. `holder` names the backend that held it, read from `pg_locks`
 * and `pg_stat_activity` right after the wait failed.
 */
export class LockTimeoutError extends SeedError {
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;
  /** The lock holder, when it could still be seen. */
  readonly holder: LockHolder | null;

  /**
   * Creates the error, naming the lock holder when known.
   *
   * @param timeoutMs The timeout that expired.
   * @param holder The backend holding the lock, if known.
   */
  constructor(timeoutMs: number, holder: LockHolder | null) {
    super(
      "lock_timeout",
      `timed out after ${timeoutMs} ms waiting for the AI provider seed lock (advisory lock ${LOCK_ID_AI_PROVIDERS_ENV_SEED}); ${
        holderText(holder)
      }; nothing was written. Retry, raise lockTimeoutMs, or end the blocking session (e.g. select pg_terminate_backend(pid))`,
    );
    this.name = "LockTimeoutError";
    this.timeoutMs = timeoutMs;
    this.holder = holder;
  }
}
