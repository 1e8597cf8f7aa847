/**
 * The one model of a seed's decision: a plan, provider by provider, with
 * one vocabulary of actions and counts. `planSeed` returns it as it would
 * be executed; `seedAIProvidersFromEnv` returns the plan it executed plus
 * what only execution knows.
 *
 * @module
 */
import type { AuditEntry } from "./audit.ts";
import type { DriftField } from "./errors.ts";
import type { LogFields } from "./logger.ts";
import type { AIProviderType } from "./types.ts";

/**
 * What happens to one provider:
 *
 * - `insert`: no row has its name; it is (or would be) inserted with its keys;
 * - `unchanged`: a live row has the same type, base URL and Bedrock region;
 * - `skip-deleted`: an operator soft-deleted it; deletion is sticky;
 * - `drift`: a live row differs; a seed fails on it and writes nothing.
 */
export type PlanAction = "insert" | "unchanged" | "skip-deleted" | "drift";

/** Every {@link PlanAction}, in the order reports list them. */
export const PLAN_ACTIONS: readonly PlanAction[] = ["insert", "unchanged", "skip-deleted", "drift"];

/** The decision for one desired provider. */
export interface PlanEntry {
  /** Provider name. */
  name: string;
  /** Provider type (from the environment). */
  type: AIProviderType;
  /** What happens to it. */
  action: PlanAction;
  /** The row's id: the existing row's, the inserted row's after a seed, `null` for a planned insert. */
  providerId: string | null;
  /** With `insert`: the number of keys stored with it; otherwise 0. */
  keyCount: number;
  /** With `insert`: those keys, masked; otherwise empty. */
  maskedKeys: string[];
  /** With `drift`: every differing field with both values; otherwise empty. */
  drift: DriftField[];
}

/** A plan's entries counted by action. */
export interface PlanCounts {
  /** Providers with `insert`. */
  insert: number;
  /** Keys stored with them. */
  keys: number;
  /** Providers with `unchanged`. */
  unchanged: number;
  /** Providers with `skip-deleted`. */
  skipDeleted: number;
  /** Providers with `drift`. */
  drift: number;
}

/** A warning raised while reading or normalising the configuration. */
export interface SeedWarning {
  /** The message. */
  msg: string;
  /** Its structured fields (never a secret). */
  fields: LogFields;
}

/** Durations of a seed's (or plan's) phases, in milliseconds; 0 for a phase not reached. */
export interface SeedTimings {
  /** Reading and normalising the configuration. */
  normaliseMs: number;
  /** The read without the lock (the plan's only read; the seed's pre-read). */
  readMs: number;
  /** Waiting for the advisory lock, and reading under it. */
  lockWaitMs: number;
  /** The whole locked transaction, lock wait and commit included. */
  transactionMs: number;
  /** Post-commit logs and audit delivery. */
  auditMs: number;
  /** Everything. */
  totalMs: number;
}

/** What a seed would do (from `planSeed`) or did (the base of {@link SeedReport}). */
export interface SeedPlan {
  /** One entry per desired provider, in name order. */
  entries: PlanEntry[];
  /** The entries counted by action. */
  counts: PlanCounts;
  /**
   * Something is (or would be) inserted, or has drifted: the condition
   * `check` fails on.
   */
  changes: boolean;
  /** Configuration warnings (unknown fields, skipped types, ignored keys). */
  warnings: SeedWarning[];
  /** Phase durations. */
  timings: SeedTimings;
}

/** An audit entry the sink failed to record. The seed itself committed. */
export interface AuditFailure {
  /** Resource type of the entry. */
  resourceType: AuditEntry["resourceType"];
  /** Resource id of the entry; `""` when the failure concerned the delivery as a whole (e.g. the audit table could not be read). */
  resourceId: string;
  /** Why it failed. */
  message: string;
}

/** The outcome of a seed: the plan it executed, plus what only execution knows. */
export interface SeedReport extends SeedPlan {
  /**
   * Whether the seed took the advisory lock. `false` when the read without
   * the lock showed nothing to do (every provider unchanged or deleted),
   * or when nothing was configured.
   */
  lockTaken: boolean;
  /** Audit entries handed to the sink, this seed's and any an earlier run left undelivered. */
  auditDelivered: number;
  /** Audit entries the sink failed to record (kept for the next start when the audit table exists). */
  auditFailures: AuditFailure[];
  /** Statements sent to the database. */
  statements: number;
  /**
   * Round trips waited for: 0 with nothing configured, 1 for a restart
   * with nothing to do, 3 for a seed that inserts (plus 2 when an audit
   * sink receives entries through the audit table).
   */
  roundTrips: number;
}

/** Internal (not exported from `mod.ts`): zeroed timings for the seed and the plan to fill in. */
export function emptyTimings(): SeedTimings {
  return { normaliseMs: 0, readMs: 0, lockWaitMs: 0, transactionMs: 0, auditMs: 0, totalMs: 0 };
}

/**
 * Counts a plan's entries by action.
 *
 * @param entries The entries.
 * @returns Their counts.
 */
export function countEntries(entries: readonly PlanEntry[]): PlanCounts {
  const counts: PlanCounts = { insert: 0, keys: 0, unchanged: 0, skipDeleted: 0, drift: 0 };
  for (const e of entries) {
    if (e.action === "insert") {
      counts.insert++;
      counts.keys += e.keyCount;
    } else if (e.action === "unchanged") counts.unchanged++;
    else if (e.action === "skip-deleted") counts.skipDeleted++;
    else counts.drift++;
  }
  return counts;
}
