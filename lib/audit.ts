/**
 * The audit interface: one entry per row the seed inserted (or
 * `adoptProviders` / `restoreProviders` updated), handed over only after
 * the transaction committed.
 *
 * @module
 */

/** One inserted or updated row, attributed to the system. Secrets are masked. */
export interface AuditEntry {
  /** When the change was committed (taken just before the commit was sent). */
  time: Date;
  /** Always `system`: the seed runs at start-up, with no user. */
  actor: "system";
  /**
   * `create`: the seed inserted the row (it only ever inserts). `write`:
   * `adoptProviders` or `restoreProviders` updated an existing
   * `ai_provider` row, and `fields` holds the values before and after, as
   * `old_<field>` and `<field>`.
   */
  action: "create" | "write";
  /** The table the row went into. */
  resourceType: "ai_provider" | "ai_provider_key";
  /** The row's id. */
  resourceId: string;
  /** The provider the row belongs to. */
  providerName: string;
  /** The row's values (for `write`, old and new); keys and secrets masked with `maskSecret`. */
  fields: Record<string, string | number | boolean | null>;
}

/** Receives audit entries after commit. A rejection is logged, never undoes the seed. */
export interface AuditSink {
  /** Records one entry. */
  record(entry: AuditEntry): void | Promise<void>;
}

/** An {@link AuditSink} that keeps entries in memory. */
export interface MemoryAuditSink extends AuditSink {
  /** Entries recorded so far, in order. */
  readonly entries: AuditEntry[];
}

/**
 * An audit sink that keeps entries in an array, for tests and demos.
 *
 * @example
 * ```ts
 * import { memoryAuditSink } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const audit = memoryAuditSink(); // pass it as seedAIProvidersFromEnv(sql, { audit })
 * assert.equal(audit.entries.length, 0);
 * const fields = { id: "3f0c", name: "openai" };
 * await audit.record({ time: new Date(), actor: "system", action: "create", resourceType: "ai_provider", resourceId: "3f0c", providerName: "openai", fields });
 * assert.deepEqual(audit.entries.map((e) => [e.resourceType, e.providerName]), [["ai_provider", "openai"]]);
 * ```
 *
 * @returns A sink whose `entries` grows with every record.
 */
export function memoryAuditSink(): MemoryAuditSink {
  const entries: AuditEntry[] = [];
  return {
    entries,
    record(entry: AuditEntry): void {
      entries.push(entry);
    },
  };
}
