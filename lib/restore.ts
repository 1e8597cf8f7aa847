/**
 * Undo a soft delete: bring a deleted provider back, with the keys still
 * attached to it, so the next seed sees it live. Deletion is sticky for
 * the seed (it never resurrects a provider); this runs only when asked.
 *
 * @module
 */
import {
  checkNames,
  deliverCommitted,
  lockNamed,
  type NamedRow,
  type NamedSnapshot,
  NamedStore,
  readNamed,
  type Refusal,
  refusalError,
  runCost,
  writeFailure,
} from "./_adopt_store.ts";
import { CallDeadline } from "./_deadline.ts";
import { lockOptions } from "./_options.ts";
import { failure } from "./_run.ts";
import { checkSchema } from "./_stored.ts";
import type { AuditEntry, AuditSink } from "./audit.ts";
import { SeedError } from "./errors.ts";
import { type Logger, noopLogger } from "./logger.ts";
import { type AuditFailure, emptyTimings, type SeedTimings } from "./report.ts";
import type { Sql } from "./types.ts";

/** Options of {@link restoreProviders}. */
export interface RestoreOptions {
  /**
   * Receives one entry (action `write`, `old_deleted`/`deleted` and
   * `old_enabled`/`enabled`) per restored provider, after the commit;
   * through the `ai_provider_audit` outbox when the table exists.
   */
  audit?: AuditSink;
  /** Receives one line per restored provider, after the commit. Default: none. */
  logger?: Logger;
  /** The deadline of the whole call in milliseconds; `0` for none. Default 60 000 (`DEFAULT_TIMEOUT_MS`). */
  timeoutMs?: number;
  /** How long to wait for advisory lock 10 (or, in a dry run, behind a lock on the tables); `0` waits forever. Default 30 000. */
  lockTimeoutMs?: number;
  /** Decide without writing: one lock-free read, the same checks and result, `written: false`. */
  dryRun?: boolean;
}

/** One provider {@link restoreProviders} brought (or, in a dry run, would bring) back. */
export interface RestoreEntry {
  /** Provider name. */
  name: string;
  /** The restored row's id: the most recently updated soft-deleted row of that name. */
  providerId: string;
  /** Its stored type. */
  type: string;
  /** Its stored base URL. */
  baseURL: string;
  /** Whether it was enabled while deleted (it is enabled once restored). */
  wasEnabled: boolean;
  /** The keys attached to it, which come back with it. */
  keyCount: number;
  /** How many soft-deleted rows have the name (the others stay deleted). */
  deletedRows: number;
}

/** The outcome of {@link restoreProviders}. */
export interface RestoreResult {
  /** One entry per named provider, in name order. */
  entries: RestoreEntry[];
  /** Whether the rows were written: `false` in a dry run. */
  written: boolean;
  /** Whether advisory lock 10 was taken (never in a dry run). */
  lockTaken: boolean;
  /** Audit entries handed to the sink (this call's, and any an earlier run left in the outbox). */
  auditDelivered: number;
  /** Audit entries the sink refused (kept in the outbox for the next run when the table exists). */
  auditFailures: AuditFailure[];
  /** Phase durations: `readMs` for a dry run; `lockWaitMs`, `transactionMs` and `auditMs` otherwise. */
  timings: SeedTimings;
  /** Statements sent. */
  statements: number;
  /** Round trips waited for. */
  roundTrips: number;
}

const DOING = "restore soft-deleted AI providers";

/**
 * The row to bring back for each name: its most recently updated
 * soft-deleted row (the read lists each name's rows most recent first).
 *
 * @throws {SeedError} `conflict` / `not_found` naming every refused provider; `stored_row_invalid` for `deleted = NULL`.
 */
function decide(snapshot: NamedSnapshot, wanted: readonly string[]): { entry: RestoreEntry; row: NamedRow }[] {
  const refusals: Refusal[] = [];
  const out: { entry: RestoreEntry; row: NamedRow }[] = [];
  for (const name of wanted) {
    const rows = snapshot.rows.filter((r) => r.name === name);
    const quoted = JSON.stringify(name);
    if (rows.some((r) => r.deleted === null)) {
      throw new SeedError(
        "stored_row_invalid",
        `AI provider ${quoted}: a row has deleted = NULL, so it is neither live nor deleted; set it to true or false`,
      );
    }
    const live = rows.find((r) => r.deleted === false);
    const deleted = rows.filter((r) => r.deleted === true);
    if (live !== undefined) {
      refusals.push({
        code: "conflict",
        line:
          `AI provider ${quoted} has a live row (id ${live.id}), so there is nothing to restore; soft-delete it first to bring back an older one`,
      });
    } else if (deleted.length === 0) {
      refusals.push({ code: "not_found", line: `AI provider ${quoted} has no soft-deleted row, so there is nothing to restore` });
    } else {
      const row = deleted[0];
      out.push({
        entry: {
          name,
          providerId: row.id,
          type: row.type ?? "",
          baseURL: row.base_url ?? "",
          wasEnabled: row.enabled === true,
          keyCount: row.key_count,
          deletedRows: deleted.length,
        },
        row,
      });
    }
  }
  if (refusals.length > 0) throw refusalError(DOING, refusals);
  return out;
}

/**
 * Brings soft-deleted providers back: for each name, its most recently
 * updated soft-deleted row gets `deleted = false`, `enabled = true` and
 * `updated_at = now()`. Nothing else changes: its keys are still attached
 * and come back with it, and its type, base URL and settings are what they
 * were, so the next seed compares it like any live row (`unchanged`, or
 * `drift` if the environment says otherwise; see `adoptProviders`).
 *
 * It runs under advisory lock 10 in one transaction of two round trips.
 * A name with a live row refuses the whole call (`conflict`), and so does
 * a name with no soft-deleted row (`not_found`), naming every such
 * provider; nothing is written for any of them. One audit entry per
 * restored provider (action `write`), after the commit.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, restoreProviders, seedAIProvidersFromEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * const env = { CODER_AIBRIDGE_PROVIDER_0_TYPE: "openai", CODER_AIBRIDGE_PROVIDER_0_NAME: "restore-example", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-restore-example" };
 * try {
 *   await applySchema(sql);
 *   await seedAIProvidersFromEnv(sql, { env });
 *   await sql`update ai_providers set deleted = true, enabled = false where name = 'restore-example'`; // deleted by mistake
 *   assert.equal((await seedAIProvidersFromEnv(sql, { env })).entries[0].action, "skip-deleted"); // deletion is sticky
 *
 *   const result = await restoreProviders(sql, ["restore-example"]);
 *   assert.deepEqual(result.entries.map((e) => [e.name, e.keyCount, e.wasEnabled]), [["restore-example", 1, false]]);
 *   assert.equal((await seedAIProvidersFromEnv(sql, { env })).entries[0].action, "unchanged"); // live again, with its key
 * } finally {
 *   await sql`delete from ai_provider_audit where entry::jsonb ->> 'providerName' = 'restore-example'`;
 *   await sql`delete from ai_providers where name = 'restore-example'`;
 *   await sql.end();
 * }
 * ```
 *
 * @param sql A `postgres` client, configured as the host likes.
 * @param names The providers to restore, by name (duplicates count once).
 * @param options Audit sink, logger, bounds, dry run.
 * @returns Per named provider, the row brought back; whether it was written; audit delivery and cost.
 * @throws {ConfigError} when a name or an option is invalid (nothing sent).
 * @throws {LockTimeoutError} when lock 10 is not granted within `lockTimeoutMs` (nothing written).
 * @throws {SeedError} `conflict` (a live row has the name, or one appeared meanwhile; nothing written), `not_found`
 *   (nothing written), `stored_row_invalid`, `timeout`, `commit_unknown`, `table_locked`, `schema_missing`,
 *   `schema_mismatch`, `permission_denied`, `database_error`.
 */
export async function restoreProviders(sql: Sql, names: readonly string[], options: RestoreOptions = {}): Promise<RestoreResult> {
  const started = performance.now();
  const timings = emptyTimings();
  try {
    const checked = lockOptions({ timeoutMs: options.timeoutMs, lockTimeoutMs: options.lockTimeoutMs });
    const wanted = checkNames(names, "restoreProviders");
    const logger = options.logger ?? noopLogger;
    timings.normaliseMs = performance.now() - started;
    const deadline = new CallDeadline(checked.timeoutMs, DOING);
    const store = new NamedStore(sql, deadline);
    const result = (
      entries: RestoreEntry[],
      written: boolean,
      delivery = { delivered: 0, failures: [] as AuditFailure[], statements: 0, roundTrips: 0 },
    ): RestoreResult => {
      timings.totalMs = performance.now() - started;
      return {
        entries,
        written,
        lockTaken: written,
        timings,
        ...runCost(store, delivery),
      };
    };

    if (options.dryRun === true) {
      const snapshot = await readNamed(sql, store, deadline, wanted, checked.lockTimeoutMs, DOING, timings);
      return result(decide(snapshot, wanted).map((d) => d.entry), false);
    }

    const t0 = performance.now();
    const tx = await lockNamed(sql, store, deadline, checked, wanted, { dbcryptKeys: false, doing: DOING });
    timings.lockWaitMs = performance.now() - t0;
    let decided: { entry: RestoreEntry; row: NamedRow }[];
    let entries: AuditEntry[];
    let outbox: boolean;
    try {
      checkSchema(tx.snapshot.columns, DOING);
      decided = decide(tx.snapshot, wanted);
      outbox = "ai_provider_audit.entry" in tx.snapshot.columns;
      const time = new Date();
      entries = decided.map(({ entry, row }) => ({
        time,
        actor: "system",
        action: "write",
        resourceType: "ai_provider",
        resourceId: entry.providerId,
        providerName: entry.name,
        fields: {
          id: entry.providerId,
          name: entry.name,
          type: row.type,
          base_url: row.base_url,
          old_deleted: true,
          deleted: false,
          old_enabled: entry.wasEnabled,
          enabled: true,
          key_count: entry.keyCount,
        },
      }));
      const delivered = options.audit === undefined;
      await tx.commit({
        dbcryptKey: null,
        updates: [],
        restores: decided.map((d) => d.entry.providerId),
        audit: outbox ? entries.map((e, position) => ({ id: crypto.randomUUID(), position, entry: JSON.stringify(e), delivered })) : [],
      });
      timings.transactionMs = performance.now() - t0;
    } catch (err) {
      await tx.rollback();
      throw writeFailure(err, DOING);
    }

    // After the commit, and only then.
    const t1 = performance.now();
    for (const { entry } of decided) {
      logger.info("restored soft-deleted ai provider", { provider_id: entry.providerId, name: entry.name, key_count: entry.keyCount });
    }
    const delivery = await deliverCommitted(sql, deadline, entries, outbox, options.audit, logger);
    timings.auditMs = performance.now() - t1;
    return result(decided.map((d) => d.entry), true, delivery);
  } catch (err) {
    throw failure(err, DOING, timings, started);
  }
}
