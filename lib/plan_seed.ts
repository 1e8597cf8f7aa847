/**
 * The dry run: what a seed would do against the database as it is now,
 * without taking the lock and without writing anything.
 *
 * @module
 */
import { Deadline } from "./_deadline.ts";
import { desiredProviders } from "./_desired.ts";
import { keyringFrom } from "./_keyring.ts";
import { planProviders } from "./_plan.ts";
import { checkSchema, storedProviders } from "./_stored.ts";
import { Store } from "./_store.ts";
import { failure, readSnapshot } from "./_run.ts";
import { lockOptions } from "./_options.ts";
import type { Logger } from "./logger.ts";
import { countEntries, emptyTimings, type SeedPlan } from "./report.ts";
import type { EnvRecord } from "./runtime_env.ts";
import type { AIBridgeConfig, Sql } from "./types.ts";

/** Where the configuration comes from, and the bounds of the read: the inputs {@link planSeed} and the seed share. */
export interface PlanOptions {
  /**
   * The environment to read. Default: the runtime's own (`Deno.env`,
   * `Bun.env` or `process.env`), read at call time.
   */
  env?: EnvRecord;
  /**
   * A ready configuration that replaces reading `env`. It skips the
   * environment checks and goes straight to normalisation.
   */
  config?: AIBridgeConfig;
  /** Variable prefixes, original first. Default `["CODER_AIBRIDGE_", "CODER_AI_GATEWAY_"]`. */
  prefixes?: readonly [string] | readonly [string, string];
  /** Receives log lines. Default: none (warnings are in the result too). */
  logger?: Logger;
  /**
   * Encryption keys (base64 of 32 bytes each, as Coder's
   * `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`): the first encrypts, all
   * decrypt. Default: that variable (or its `_FILE` twin) in `env`; none
   * means plaintext. `[]` turns encryption off whatever the environment says.
   */
  encryptionKeys?: string[];
  /**
   * The deadline of the whole call in milliseconds, from the first byte to
   * the result; `0` for none. Default 60 000 (`DEFAULT_TIMEOUT_MS`). When it
   * passes, the call rejects with a `SeedError` of code `timeout` (or
   * `commit_unknown` once a seed's commit was sent).
   */
  timeoutMs?: number;
  /**
   * How long a read (and the seed's lock) may wait behind another session's
   * lock, in milliseconds; `0` waits forever. Default 30 000
   * (`DEFAULT_LOCK_TIMEOUT_MS`).
   */
  lockTimeoutMs?: number;
  /**
   * Fail on every configuration warning instead of carrying it in the
   * result: a variable under a prefix that nothing reads
   * (`CODER_AIBRIDGE_OPENAI_KYE`), an unknown indexed field, a variable
   * whose prefix is a near miss (`CODER_AIBRIGDE_OPENAI_KEY`), and the
   * warnings of normalising a ready `config`. The call then rejects with a
   * `ConfigError` listing each, with its "did you mean", before any
   * statement is sent. Default `false`: they are warnings (in the result
   * and to the logger), and the call goes on.
   */
  strict?: boolean;
}

/**
 * Computes what `seedAIProvidersFromEnv` would do, without doing it:
 * same inputs, one read of the tables (a single round trip, one consistent
 * snapshot, bounded by `lockTimeoutMs` and `timeoutMs`, no advisory lock),
 * the same decision function. Writes nothing and emits no audit entry.
 * Unlike the seed, it reads and checks the tables even when nothing is
 * configured (an empty plan then says the tables are usable).
 *
 * The plan is a snapshot: a replica may insert between the plan and a
 * later seed, which then decides again under the lock.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, planSeed } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * try {
 *   await applySchema(sql);
 *   const env = { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "plan-example", CODER_AIBRIDGE_PROVIDER_0_KEYS: "sk-plan-example-1,sk-plan-example-2" };
 *   const plan = await planSeed(sql, { env });
 *   assert.deepEqual(plan.entries.map((e) => [e.name, e.action, e.keyCount]), [["plan-example", "insert", 2]]);
 *   assert.deepEqual(plan.counts, { insert: 1, keys: 2, unchanged: 0, skipDeleted: 0, drift: 0 });
 *   assert.equal(plan.changes, true); // `aibridge-seed check` would exit 2
 *   const [{ n }] = await sql`select count(*)::int as n from ai_providers where name = 'plan-example'`;
 *   assert.equal(n, 0); // a plan writes nothing
 * } finally {
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client, configured as the host likes.
 * @param options Where the configuration comes from, keys, bounds and a logger.
 * @returns One entry per desired provider, counts, warnings and timings.
 * @throws {ConfigError} when the configuration or an option is invalid, or under `strict` when it has a warning (no statement sent).
 * @throws {SeedError} `schema_missing`/`schema_mismatch` when the tables are not usable,
 *   `table_locked` when the read waits too long behind a lock, `timeout`, `stored_row_invalid`,
 *   `settings_unreadable`, `encryption_key_missing`, `decrypt_failed`.
 */
export async function planSeed(sql: Sql, options: PlanOptions = {}): Promise<SeedPlan> {
  const started = performance.now();
  const timings = emptyTimings();
  const doing = "plan the AI provider seed";
  try {
    const { lockTimeoutMs, timeoutMs } = lockOptions(options);
    const deadline = new Deadline(timeoutMs);
    const desired = await desiredProviders(options);
    const keyring = await keyringFrom(options.encryptionKeys, desired.env);
    const normalised = performance.now();
    timings.normaliseMs = normalised - started;
    // Read and checked even with nothing configured: a plan is also the
    // check that the tables are there and usable.
    const snapshot = await readSnapshot(new Store(sql, deadline), { columns: true, auditPending: false, lockTimeoutMs }, doing);
    timings.readMs = performance.now() - normalised;
    checkSchema(snapshot.columns ?? {}, doing);
    const entries = planProviders(desired.providers, await storedProviders(snapshot, desired.providers, keyring));
    const counts = countEntries(entries);
    timings.totalMs = performance.now() - started;
    return { entries, counts, changes: counts.insert > 0 || counts.drift > 0, warnings: desired.warnings, timings };
  } catch (err) {
    throw failure(err, doing, timings, started);
  }
}
