/**
 * The dry run: what a seed would do against the database as it is now,
 * without taking the lock and without writing anything.
 *
 * @module
 */
import { type LogFields, type Logger, noopLogger } from "./logger.ts";
import { type PlanEntry, planProviders } from "./plan.ts";
import { providersFromConfig } from "./providers_from_config.ts";
import { readAIBridgeConfig } from "./read_config.ts";
import { type EnvRecord, runtimeEnv } from "./runtime_env.ts";
import { client, databaseError, loadProviders, type Sql } from "./store.ts";
import type { AIBridgeConfig, DesiredAIProvider } from "./types.ts";

/** Where the configuration comes from: the inputs {@link planSeed} and the seed share. */
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
}

/** A warning raised while reading or normalising the configuration. */
export interface SeedWarning {
  /** The message. */
  msg: string;
  /** Its structured fields (never a secret). */
  fields: LogFields;
}

/** What a seed would do, provider by provider. */
export interface SeedPlan {
  /**
   * One entry per desired provider, in name order: `insert` (with its key
   * count and masked keys), `unchanged`, `skip-deleted`, or `drift` (with
   * every differing field and both values).
   */
  entries: PlanEntry[];
  /** Configuration warnings (unknown fields, skipped types, ignored keys). */
  warnings: SeedWarning[];
  /**
   * `true` when a seed would insert something or fail on drift: the
   * condition `aibridge-seed check` exits 2 on.
   */
  changes: boolean;
  /** Providers that would be inserted. */
  toInsert: number;
  /** Key rows that would be inserted with them. */
  keysToInsert: number;
  /** Providers present and equal. */
  unchanged: number;
  /** Providers skipped because an operator deleted them. */
  skipDeleted: number;
  /** Providers whose stored row differs: a seed would fail on them. */
  drifted: number;
  /** Durations in milliseconds: normalising, reading the rows, everything. */
  timings: { normaliseMs: number; readMs: number; totalMs: number };
}

/** Wraps a logger so that warnings also land in `warnings`. */
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

/**
 * The first arrow of the data flow, shared by the plan and the seed: reads
 * the configuration (unless given) and normalises it. Warnings go to the
 * returned logger, which also records them in `warnings`.
 *
 * @throws {ConfigError} when the configuration is invalid.
 */
export async function desiredFromOptions(
  options: PlanOptions,
  warnings: SeedWarning[],
): Promise<{ desired: DesiredAIProvider[]; logger: Logger }> {
  const logger = recordingLogger(options.logger ?? noopLogger, warnings);
  const config = options.config ?? readAIBridgeConfig(options.env ?? runtimeEnv(), { logger, prefixes: options.prefixes });
  return { desired: await providersFromConfig(config, logger), logger };
}

/** Counts a plan's entries by action. */
function summarisePlan(entries: PlanEntry[], warnings: SeedWarning[], timings: SeedPlan["timings"]): SeedPlan {
  const count = (action: PlanEntry["action"]) => entries.filter((e) => e.action === action).length;
  const toInsert = count("insert");
  const drifted = count("drift");
  return {
    entries,
    warnings,
    changes: toInsert > 0 || drifted > 0,
    toInsert,
    keysToInsert: entries.reduce((n, e) => n + e.keyCount, 0),
    unchanged: count("unchanged"),
    skipDeleted: count("skip-deleted"),
    drifted,
    timings,
  };
}

/**
 * Computes what `seedAIProvidersFromEnv` would do, without doing it:
 * same inputs, one read of `ai_providers` (a single statement, so one
 * consistent snapshot, no transaction and no lock), the same decision
 * function. Writes nothing and emits no audit entry.
 *
 * The plan is a snapshot: a replica may insert between the plan and a
 * later seed, which then decides again under the lock.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { planSeed } from "@aibridge/seed";
 *
 * const sql = postgres(process.env.DATABASE_URL!);
 * const plan = await planSeed(sql, { env: { CODER_AIBRIDGE_OPENAI_KEY: "sk-example" } });
 * for (const entry of plan.entries) {
 *   console.log(entry.name, entry.action, entry.drift); // e.g. "openai insert []"
 * }
 * await sql.end();
 * ```
 *
 * @param sql A `postgres` client.
 * @param options Where the configuration comes from, and a logger.
 * @returns One entry per desired provider, warnings and counts.
 * @throws {ConfigError} when the configuration is invalid (no statement sent).
 * @throws {SeedError} `schema_missing` when the tables do not exist,
 *   `settings_unreadable` when a stored row's settings cannot be compared.
 */
export async function planSeed(sql: Sql, options: PlanOptions = {}): Promise<SeedPlan> {
  const started = performance.now();
  const warnings: SeedWarning[] = [];
  const { desired } = await desiredFromOptions(options, warnings);
  const normalised = performance.now();
  if (desired.length === 0) {
    return summarisePlan([], warnings, { normaliseMs: normalised - started, readMs: 0, totalMs: performance.now() - started });
  }
  let rows;
  try {
    rows = await loadProviders(client(sql));
  } catch (err) {
    throw databaseError(err, "plan the AI provider seed");
  }
  const read = performance.now();
  const entries = await planProviders(desired, rows);
  const end = performance.now();
  return summarisePlan(entries, warnings, { normaliseMs: normalised - started, readMs: read - normalised, totalMs: end - started });
}
