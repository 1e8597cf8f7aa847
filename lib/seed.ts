/**
 * The main job: reconcile the providers of the environment with the
 * database, once, under an advisory lock, however many replicas start at
 * the same time.
 *
 * @module
 */
import type { AuditEntry, AuditSink } from "./audit.ts";
import { DriftError } from "./errors.ts";
import { type LogFields, type Logger, noopLogger } from "./logger.ts";
import { maskSecret } from "./mask_secret.ts";
import { type PlanEntry, planProviders } from "./plan.ts";
import { providersFromConfig } from "./providers_from_config.ts";
import { readAIBridgeConfig } from "./read_config.ts";
import { type EnvRecord, runtimeEnv } from "./runtime_env.ts";
import { encodeSettings } from "./settings.ts";
import {
  client,
  databaseError,
  insertKeys,
  insertProviders,
  loadProviders,
  lockSeed,
  type NewKeyRow,
  type NewProviderRow,
  type Sql,
} from "./store.ts";
import type { AIBridgeConfig, AIProviderType, DesiredAIProvider } from "./types.ts";

/** Options of {@link seedAIProvidersFromEnv}. */
export interface SeedOptions {
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
  /** Receives log lines. Default: none (warnings are in the report too). */
  logger?: Logger;
  /** Receives one entry per inserted row, after commit. */
  audit?: AuditSink;
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

/** A warning raised while reading or normalising the configuration. */
export interface SeedWarning {
  /** The message. */
  msg: string;
  /** Its structured fields (never a secret). */
  fields: LogFields;
}

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
  /** Waiting for the advisory lock. */
  lockWaitMs: number;
  /** The whole transaction, lock wait included. */
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
  /** Phase durations. */
  timings: SeedTimings;
}

/** Wraps a logger so that warnings also land in the report. */
function recordingLogger(inner: Logger, warnings: SeedWarning[]): Logger {
  return {
    debug: (msg, fields) => inner.debug(msg, fields),
    info: (msg, fields) => inner.info(msg, fields),
    warn: (msg, fields) => {
      warnings.push({ msg, fields: fields ?? {} });
      inner.warn(msg, fields);
    },
    error: (msg, fields) => inner.error(msg, fields),
  };
}

const REPORT_ACTION = {
  insert: "inserted",
  unchanged: "unchanged",
  "skip-deleted": "skipped-deleted",
} as const;

/**
 * Reads the AI providers from the environment and reconciles them with the
 * `ai_providers` and `ai_provider_keys` tables, in one transaction under
 * advisory lock 10 (the lock Coder takes, so both serialise):
 *
 * - a missing provider is inserted with its keys;
 * - an existing, equal provider is left alone (keys are never added to it);
 * - a provider an operator soft-deleted stays deleted;
 * - a provider whose type, base URL or Bedrock region differs rejects the
 *   whole seed with a {@link DriftError}, and nothing is written.
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
 * });
 * console.log(report.inserted); // 1 on the first run, 0 after
 * await sql.end();
 * ```
 *
 * @param sql A `postgres` client.
 * @param options Where the configuration comes from, logger and audit sink.
 * @returns What happened per provider, with timings.
 * @throws {ConfigError} when the configuration is invalid (nothing touched).
 * @throws {DriftError} when stored providers differ (nothing written).
 * @throws {SeedError} `schema_missing` when the tables do not exist.
 */
export async function seedAIProvidersFromEnv(sql: Sql, options: SeedOptions = {}): Promise<SeedReport> {
  const started = performance.now();
  const warnings: SeedWarning[] = [];
  const logger = recordingLogger(options.logger ?? noopLogger, warnings);

  const config = options.config ?? readAIBridgeConfig(options.env ?? runtimeEnv(), { logger, prefixes: options.prefixes });
  const desired = await providersFromConfig(config, logger);
  const normalised = performance.now();

  const report: SeedReport = {
    providers: [],
    inserted: 0,
    unchanged: 0,
    skippedDeleted: 0,
    keysInserted: 0,
    warnings,
    auditFailures: [],
    timings: { normaliseMs: normalised - started, lockWaitMs: 0, transactionMs: 0, auditMs: 0, totalMs: 0 },
  };
  if (desired.length === 0) {
    report.timings.totalMs = performance.now() - started;
    return report;
  }

  let plan: PlanEntry[] = [];
  let providerRows: NewProviderRow[] = [];
  let keyRows: NewKeyRow[] = [];
  try {
    await client(sql).begin(async (tx) => {
      const t0 = performance.now();
      await lockSeed(tx);
      report.timings.lockWaitMs = performance.now() - t0;
      plan = await planProviders(desired, await loadProviders(tx));

      for (const entry of plan) {
        if (entry.action === "skip-deleted") {
          logger.warn("skipping env-seeded ai provider that was previously soft-deleted", { name: entry.name });
        }
      }
      const drifts = plan.filter((e) => e.action === "drift").map((e) => ({ provider: e.name, fields: e.drift }));
      if (drifts.length > 0) throw new DriftError(drifts, (options.prefixes ?? ["CODER_AIBRIDGE_"])[0]);

      ({ providerRows, keyRows } = newRows(desired, plan));
      await insertProviders(tx, providerRows);
      await insertKeys(tx, keyRows);
      const keyCounts = new Map<string, number>();
      for (const k of keyRows) keyCounts.set(k.providerId, (keyCounts.get(k.providerId) ?? 0) + 1);
      for (const row of providerRows) {
        logger.info("seeded ai provider from environment", { name: row.name, type: row.type, key_count: keyCounts.get(row.id) ?? 0 });
      }
    });
  } catch (err) {
    throw databaseError(err, "seed AI providers from the environment");
  }
  const committed = performance.now();
  report.timings.transactionMs = committed - normalised;

  // Only now, after the commit: a log line or audit entry emitted inside the
  // transaction would describe a row that a rollback may never have kept.
  const providerIds = new Map(providerRows.map((r) => [r.name, r.id]));
  const keysByProvider = new Map<string, string[]>();
  for (const k of keyRows) {
    const list = keysByProvider.get(k.providerId);
    if (list === undefined) keysByProvider.set(k.providerId, [maskSecret(k.apiKey)]);
    else list.push(maskSecret(k.apiKey));
  }
  for (const entry of plan) {
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
  report.unchanged = plan.filter((e) => e.action === "unchanged").length;
  report.skippedDeleted = plan.filter((e) => e.action === "skip-deleted").length;

  await emitAfterCommit(desired, providerRows, keyRows, logger, options.audit, report);
  const end = performance.now();
  report.timings.auditMs = end - committed;
  report.timings.totalMs = end - started;
  return report;
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
