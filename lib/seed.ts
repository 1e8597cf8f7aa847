/**
 * The main job: reconcile the providers of the environment with the
 * database, once, under an advisory lock, however many replicas start at
 * the same time.
 *
 * @module
 */
import type { AuditEntry, AuditSink } from "./audit.ts";
import { DriftError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { maskSecret } from "./mask_secret.ts";
import { type PlanEntry, planProviders } from "./plan.ts";
import { desiredFromOptions, type PlanOptions, type SeedWarning } from "./plan_seed.ts";
import { encodeSettings } from "./settings.ts";
import {
  client,
  databaseError,
  insertKeys,
  insertProviders,
  loadProviders,
  lockSeed,
  lockSettings,
  type NewKeyRow,
  type NewProviderRow,
  type Sql,
  withLockHolder,
} from "./store.ts";
import type { AIProviderType, DesiredAIProvider } from "./types.ts";

/** Options of {@link seedAIProvidersFromEnv}: the plan's inputs, plus audit and lock settings. */
export interface SeedOptions extends PlanOptions {
  /** Receives one entry per inserted row, after commit. */
  audit?: AuditSink;
  /**
   * How long to wait for the advisory lock, in milliseconds, before
   * rejecting with a `LockTimeoutError` that names the holder. `0` waits
   * forever. Default 30 000. A restart with nothing to do takes no lock at
   * all, so it never waits.
   */
  lockTimeoutMs?: number;
  /**
   * The `application_name` the seed transaction takes while it holds the
   * lock (`SET LOCAL`: the connection's own name is back after the
   * transaction), so `pg_stat_activity` and a blocked replica's
   * `LockTimeoutError` show who holds it. Default `aibridge-seed`; `null`
   * keeps the connection's name.
   */
  applicationName?: string | null;
}

/** What happened to one provider. */
export interface SeedReportEntry {
  /** Provider name. */
  name: string;
  /** Provider type. */
  type: AIProviderType;
  /** `inserted`, `unchanged` or `skipped-deleted`. */
  action: "inserted" | "unchanged" | "skipped-deleted";
  /** The row's id (`null` only for a provider not in the database). */
  providerId: string | null;
  /** Keys inserted with it. */
  keyCount: number;
  /** The inserted keys, masked. */
  maskedKeys: string[];
}

export type { SeedWarning };

/** An audit entry the sink failed to record. The seed itself committed. */
export interface AuditFailure {
  /** Resource type of the entry. */
  resourceType: AuditEntry["resourceType"];
  /** Resource id of the entry. */
  resourceId: string;
  /** Why it failed. */
  message: string;
}

/** Durations of the seed's phases, in milliseconds. */
export interface SeedTimings {
  /** Reading and normalising the configuration, hashing included. */
  normaliseMs: number;
  /** The read without the lock that decides whether the lock is needed. */
  preReadMs: number;
  /** Waiting for the advisory lock (0 when it was not taken). */
  lockWaitMs: number;
  /** The whole transaction, lock wait included (0 when there was none). */
  transactionMs: number;
  /** Post-commit logs and audit. */
  auditMs: number;
  /** Everything. */
  totalMs: number;
}

/** The outcome of a seed. */
export interface SeedReport {
  /** One entry per desired provider, in name order. */
  providers: SeedReportEntry[];
  /** Providers inserted. */
  inserted: number;
  /** Providers already present and unchanged. */
  unchanged: number;
  /** Providers skipped because an operator deleted them. */
  skippedDeleted: number;
  /** Key rows inserted. */
  keysInserted: number;
  /** Configuration warnings. */
  warnings: SeedWarning[];
  /** Audit entries the sink failed to record. */
  auditFailures: AuditFailure[];
  /**
   * Whether the seed took the advisory lock. `false` when the read without
   * the lock showed nothing to do (every provider unchanged or deleted),
   * or when nothing was configured.
   */
  lockTaken: boolean;
  /**
   * Statements sent to the database, each one round trip: 0 with nothing
   * configured, 1 for a restart with nothing to do, 8 for a seed that
   * inserts (pre-read, begin, settings, lock, read, providers, keys, commit).
   */
  roundTrips: number;
  /** Phase durations. */
  timings: SeedTimings;
}

const REPORT_ACTION = {
  insert: "inserted",
  unchanged: "unchanged",
  "skip-deleted": "skipped-deleted",
} as const;

/**
 * Reads the AI providers from the environment and reconciles them with the
 * `ai_providers` and `ai_provider_keys` tables:
 *
 * - a missing provider is inserted with its keys;
 * - an existing, equal provider is left alone (keys are never added to it);
 * - a provider an operator soft-deleted stays deleted;
 * - a provider whose type, base URL or Bedrock region differs rejects the
 *   whole seed with a {@link DriftError} listing every drifted provider and
 *   field, and nothing is written.
 *
 * It first reads the rows without a lock (one statement). When that read
 * shows every provider unchanged or deleted, which is every restart after
 * the first, the seed is done: no lock, no transaction, one round trip.
 * Otherwise it takes advisory lock 10 (the lock Coder takes, so both
 * serialise) in a transaction, waiting at most `lockTimeoutMs`, reads the
 * rows again and decides again on what it reads under the lock: drift and
 * inserts are only ever decided there.
 *
 * Log lines and audit entries for inserted rows are emitted only after the
 * commit. Keys are never logged or reported in clear.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, consoleLogger, seedAIProvidersFromEnv } from "@aibridge/seed";
 *
 * const sql = postgres(process.env.DATABASE_URL!);
 * await applySchema(sql);
 * const report = await seedAIProvidersFromEnv(sql, {
 *   env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-example" },
 *   logger: consoleLogger(),
 *   lockTimeoutMs: 10_000,
 * });
 * console.log(report.inserted, report.lockTaken); // 1 true on the first run, 0 false after
 * await sql.end();
 * ```
 *
 * @param sql A `postgres` client.
 * @param options Where the configuration comes from, logger, audit sink and lock settings.
 * @returns What happened per provider, which path was taken, and timings.
 * @throws {ConfigError} when the configuration or an option is invalid (nothing touched).
 * @throws {DriftError} when stored providers differ (nothing written).
 * @throws {LockTimeoutError} when the lock is not granted within `lockTimeoutMs` (nothing written).
 * @throws {SeedError} `schema_missing` when the tables do not exist.
 */
export async function seedAIProvidersFromEnv(sql: Sql, options: SeedOptions = {}): Promise<SeedReport> {
  const started = performance.now();
  const lock = lockSettings(options.lockTimeoutMs, options.applicationName);
  const warnings: SeedWarning[] = [];
  const { desired, logger } = await desiredFromOptions(options, warnings);
  const normalised = performance.now();

  const report: SeedReport = {
    providers: [],
    inserted: 0,
    unchanged: 0,
    skippedDeleted: 0,
    keysInserted: 0,
    warnings,
    auditFailures: [],
    lockTaken: false,
    roundTrips: 0,
    timings: { normaliseMs: normalised - started, preReadMs: 0, lockWaitMs: 0, transactionMs: 0, auditMs: 0, totalMs: 0 },
  };
  if (desired.length === 0) {
    report.timings.totalMs = performance.now() - started;
    return report;
  }

  // The pre-read. The seed only ever inserts and deletion is sticky, so
  // when a committed snapshot shows every provider present and equal (or
  // deleted), a run under the lock at that moment would write nothing
  // either: taking the lock would only make every restart of every replica
  // queue behind each other.
  let plan: PlanEntry[] | null = null;
  try {
    const rows = await loadProviders(client(sql));
    report.roundTrips++;
    // Unreadable settings are decided under the lock like everything else.
    plan = await planProviders(desired, rows).catch(() => null);
  } catch (err) {
    throw databaseError(err, "seed AI providers from the environment");
  }
  const preRead = performance.now();
  report.timings.preReadMs = preRead - normalised;

  let providerRows: NewProviderRow[] = [];
  let keyRows: NewKeyRow[] = [];
  if (plan !== null && plan.every((e) => e.action === "unchanged" || e.action === "skip-deleted")) {
    warnSkipped(plan, logger);
  } else {
    report.lockTaken = true;
    try {
      await client(sql).begin(async (tx) => {
        report.roundTrips++; // begin
        const t0 = performance.now();
        await lockSeed(tx, lock);
        report.roundTrips += 2; // settings, lock
        report.timings.lockWaitMs = performance.now() - t0;
        // Decide again on what the lock protects: a replica may have
        // inserted, or an operator changed a row, since the pre-read.
        const locked = await planProviders(desired, await loadProviders(tx));
        report.roundTrips++;
        plan = locked;
        warnSkipped(locked, logger);
        const drifts = locked.filter((e) => e.action === "drift").map((e) => ({ provider: e.name, fields: e.drift }));
        if (drifts.length > 0) throw new DriftError(drifts, (options.prefixes ?? ["CODER_AIBRIDGE_"])[0]);

        ({ providerRows, keyRows } = newRows(desired, locked));
        await insertProviders(tx, providerRows);
        await insertKeys(tx, keyRows);
        report.roundTrips += (providerRows.length > 0 ? 1 : 0) + (keyRows.length > 0 ? 1 : 0);
        const keyCounts = new Map<string, number>();
        for (const k of keyRows) keyCounts.set(k.providerId, (keyCounts.get(k.providerId) ?? 0) + 1);
        for (const row of providerRows) {
          logger.info("seeded ai provider from environment", { name: row.name, type: row.type, key_count: keyCounts.get(row.id) ?? 0 });
        }
      });
      report.roundTrips++; // commit
    } catch (err) {
      throw databaseError(await withLockHolder(sql, err), "seed AI providers from the environment");
    }
  }
  const committed = performance.now();
  if (report.lockTaken) report.timings.transactionMs = committed - preRead;

  // Only now, after the commit: a log line or audit entry emitted inside the
  // transaction would describe a row that a rollback may never have kept.
  const providerIds = new Map(providerRows.map((r) => [r.name, r.id]));
  const keysByProvider = new Map<string, string[]>();
  for (const k of keyRows) {
    const list = keysByProvider.get(k.providerId);
    if (list === undefined) keysByProvider.set(k.providerId, [maskSecret(k.apiKey)]);
    else list.push(maskSecret(k.apiKey));
  }
  const final: PlanEntry[] = plan ?? [];
  for (const entry of final) {
    const action = REPORT_ACTION[entry.action as keyof typeof REPORT_ACTION];
    const id = providerIds.get(entry.name) ?? entry.providerId;
    const masked = id !== null ? keysByProvider.get(id) ?? [] : [];
    report.providers.push({
      name: entry.name,
      type: entry.type,
      action,
      providerId: id,
      keyCount: action === "inserted" ? masked.length : 0,
      maskedKeys: action === "inserted" ? masked : [],
    });
  }
  report.inserted = providerRows.length;
  report.keysInserted = keyRows.length;
  report.unchanged = final.filter((e) => e.action === "unchanged").length;
  report.skippedDeleted = final.filter((e) => e.action === "skip-deleted").length;

  await emitAfterCommit(desired, providerRows, keyRows, logger, options.audit, report);
  const end = performance.now();
  report.timings.auditMs = end - committed;
  report.timings.totalMs = end - started;
  return report;
}

function warnSkipped(plan: PlanEntry[], logger: Logger): void {
  for (const entry of plan) {
    if (entry.action === "skip-deleted") {
      logger.warn("skipping env-seeded ai provider that was previously soft-deleted", { name: entry.name });
    }
  }
}

/** Builds the rows to insert, with ids generated here so one batch can carry them all. */
function newRows(desired: DesiredAIProvider[], plan: PlanEntry[]): { providerRows: NewProviderRow[]; keyRows: NewKeyRow[] } {
  const providerRows: NewProviderRow[] = [];
  const keyRows: NewKeyRow[] = [];
  plan.forEach((entry, i) => {
    if (entry.action !== "insert") return;
    const dp = desired[i];
    const id = crypto.randomUUID();
    providerRows.push({ id, type: dp.type, name: dp.name, baseURL: dp.baseURL, settings: encodeSettings(dp.bedrock) });
    for (const apiKey of dp.keys) {
      if (apiKey !== "") keyRows.push({ id: crypto.randomUUID(), providerId: id, apiKey });
    }
  });
  return { providerRows, keyRows };
}

async function emitAfterCommit(
  desired: DesiredAIProvider[],
  providerRows: NewProviderRow[],
  keyRows: NewKeyRow[],
  logger: Logger,
  audit: AuditSink | undefined,
  report: SeedReport,
): Promise<void> {
  const time = new Date();
  const byName = new Map(desired.map((d) => [d.name, d]));
  const nameById = new Map(providerRows.map((r) => [r.id, r.name]));
  const entries: AuditEntry[] = [];

  for (const row of providerRows) {
    const dp = byName.get(row.name)!;
    logger.info("env-seeded ai provider", { provider_id: row.id, name: row.name, type: row.type, base_url: row.baseURL });
    const fields: AuditEntry["fields"] = {
      id: row.id,
      name: row.name,
      display_name: row.name,
      type: row.type,
      base_url: row.baseURL,
      enabled: true,
    };
    if (dp.bedrock !== null) {
      fields.bedrock_region = dp.bedrock.region;
      fields.bedrock_model = dp.bedrock.model;
      fields.bedrock_small_fast_model = dp.bedrock.smallFastModel;
      fields.bedrock_access_key = dp.bedrock.accessKey === undefined ? null : maskSecret(dp.bedrock.accessKey);
      fields.bedrock_access_key_secret = dp.bedrock.accessKeySecret === undefined ? null : maskSecret(dp.bedrock.accessKeySecret);
    }
    entries.push({
      time,
      actor: "system",
      action: "create",
      resourceType: "ai_provider",
      resourceId: row.id,
      providerName: row.name,
      fields,
    });
  }
  for (const key of keyRows) {
    const masked = maskSecret(key.apiKey);
    logger.info("env-seeded ai provider key", { key_id: key.id, provider_id: key.providerId, api_key: masked });
    entries.push({
      time,
      actor: "system",
      action: "create",
      resourceType: "ai_provider_key",
      resourceId: key.id,
      providerName: nameById.get(key.providerId)!,
      fields: { id: key.id, provider_id: key.providerId, api_key: masked },
    });
  }

  if (audit === undefined) return;
  // A failing sink must not undo a committed seed: report it and go on.
  for (const entry of entries) {
    try {
      await audit.record(entry);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.error("failed to record audit entry for env-seeded ai provider", {
        resource_type: entry.resourceType,
        resource_id: entry.resourceId,
        error: message,
      });
      report.auditFailures.push({ resourceType: entry.resourceType, resourceId: entry.resourceId, message });
    }
  }
}
