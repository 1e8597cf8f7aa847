/**
 * Seed AI provider definitions (OpenAI, Anthropic, AWS Bedrock, Copilot and
 * OpenAI-compatible gateways) from environment variables into Postgres,
 * safely, when many replicas start at once.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, consoleLogger, planSeed, seedAIProvidersFromEnv } from "@aibridge/seed";
 *
 * const sql = postgres(process.env.DATABASE_URL!);
 * await applySchema(sql);
 * const plan = await planSeed(sql); // what would change, read-only
 * console.log(plan.entries);
 * const report = await seedAIProvidersFromEnv(sql, { logger: consoleLogger(), lockTimeoutMs: 30_000 });
 * console.log(report.providers, report.lockTaken);
 * await sql.end();
 * ```
 *
 * @module
 */
export { seedAIProvidersFromEnv } from "./lib/seed.ts";
export type { AuditFailure, SeedOptions, SeedReport, SeedReportEntry, SeedTimings } from "./lib/seed.ts";
export { planSeed } from "./lib/plan_seed.ts";
export type { PlanOptions, SeedPlan, SeedWarning } from "./lib/plan_seed.ts";
export { DEFAULT_ENV_PREFIXES, MAX_KEYS_PER_PROVIDER, readAIBridgeConfig } from "./lib/read_config.ts";
export type { ReadConfigOptions } from "./lib/read_config.ts";
export type { EnvRecord } from "./lib/runtime_env.ts";
export { runtimeEnv } from "./lib/runtime_env.ts";
export { providersFromConfig } from "./lib/providers_from_config.ts";
export { canonicalJSON, computeProviderHash } from "./lib/canonical_json.ts";
export { maskSecret } from "./lib/mask_secret.ts";
export { parseDotenv } from "./lib/dotenv.ts";
export { formatReport } from "./lib/format_report.ts";
export { applySchema, DEFAULT_LOCK_TIMEOUT_MS, SCHEMA_SQL, SEED_APPLICATION_NAME } from "./lib/store.ts";
export type { ApplySchemaOptions, Sql } from "./lib/store.ts";
export type { PlanAction, PlanEntry } from "./lib/plan.ts";
export { consoleLogger, jsonLogger, noopLogger } from "./lib/logger.ts";
export type { ConsoleLoggerOptions, LogFields, Logger, LogLevel } from "./lib/logger.ts";
export { memoryAuditSink } from "./lib/audit.ts";
export type { AuditEntry, AuditSink, MemoryAuditSink } from "./lib/audit.ts";
export { ConfigError, DriftError, LockTimeoutError, SeedError } from "./lib/errors.ts";
export type { DriftField, LockHolder, ProviderDrift, SeedErrorCode } from "./lib/errors.ts";
export { AI_PROVIDER_NAME_PATTERN, AI_PROVIDER_TYPES, LOCK_ID_AI_PROVIDERS_ENV_SEED } from "./lib/types.ts";
export type {
  AIBridgeConfig,
  AIProviderConfig,
  AIProviderType,
  BedrockSettings,
  CanonicalAIProvider,
  DesiredAIProvider,
  LegacyAnthropicConfig,
  LegacyBedrockConfig,
  LegacyOpenAIConfig,
} from "./lib/types.ts";
