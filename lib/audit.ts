/**
 * The audit interface: one entry per row the seed inserted, handed over
 * only after the transaction committed.
 *
 * @module
 */

/** One inserted row, attributed to the system. Secrets are masked. */
export interface AuditEntry {
  /** When the seed committed. */
  time: Date;
  /** Always `system`: the seed runs at start-up, with no user. */
  actor: "system";
  /** Always `create`: the seed only inserts. */
  action: "create";
  /** The table the row went into. */
  resourceType: "ai_provider" | "ai_provider_key";
  /** The row's id. */
  resourceId: string;
  /** The provider the row belongs to. */
  providerName: string;
  /** The row's values; keys and secrets masked with `maskSecret`. */
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
 * const audit = memoryAuditSink();
 * // await seedAIProvidersFromEnv(sql, { audit });
 * audit.entries.length; // 0 before any seed
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
