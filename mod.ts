/**
 * Seed AI provider definitions (OpenAI, Anthropic, AWS Bedrock, Copilot and
 * OpenAI-compatible gateways) from environment variables into Postgres,
 * safely, when many replicas start at once.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { applySchema, planSeed, seedAIProvidersFromEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { onnotice: () => {} });
 * const env = { CODER_AIBRIDGE_PROVIDER_0_TYPE: "anthropic", CODER_AIBRIDGE_PROVIDER_0_NAME: "mod-example", CODER_AIBRIDGE_PROVIDER_0_KEY: "sk-ant-mod-example" };
 * try {
 *   await applySchema(sql); // only where the tables do not exist yet
 *   const plan = await planSeed(sql, { env }); // what a seed would do; writes nothing
 *   assert.deepEqual(plan.entries.map((e) => [e.name, e.action, e.maskedKeys]), [["mod-example", "insert", ["sk...le"]]]);
 *   const report = await seedAIProvidersFromEnv(sql, { env, lockTimeoutMs: 30_000 });
 *   assert.deepEqual(report.entries.map((e) => e.action), ["insert"]); // the plan it executed
 *   assert.equal(report.lockTaken, true);
 * } finally {
 *   await sql`delete from ai_provider_audit where entry::jsonb ->> 'providerName' = 'mod-example'`;
 *   await sql`delete from ai_providers where name = 'mod-example'`; // its keys go with it
 *   await sql.end();
 * }
 * ```
 *
 * @module
 */
export { seedAIProvidersFromEnv } from "./lib/seed.ts";
export type { SeedOptions } from "./lib/seed.ts";
export { planSeed } from "./lib/plan_seed.ts";
export type { PlanOptions } from "./lib/plan_seed.ts";
export { countEntries, PLAN_ACTIONS } from "./lib/report.ts";
export type { AuditFailure, PlanAction, PlanCounts, PlanEntry, SeedPlan, SeedReport, SeedTimings, SeedWarning } from "./lib/report.ts";
export { DEFAULT_ENV_PREFIXES, MAX_KEYS_PER_PROVIDER, readAIBridgeConfig } from "./lib/read_config.ts";
export type { ReadConfigOptions } from "./lib/read_config.ts";
export { runtimeEnv } from "./lib/runtime_env.ts";
export type { EnvRecord } from "./lib/runtime_env.ts";
export { providersFromConfig } from "./lib/providers_from_config.ts";
export { canonicalJSON, canonicalProvider, computeProviderHash } from "./lib/canonical_json.ts";
export { maskSecret } from "./lib/mask_secret.ts";
export { parseDotenv } from "./lib/dotenv.ts";
export { formatReport, summaryLine } from "./lib/format_report.ts";
export { adoptProviders } from "./lib/adopt.ts";
export type { AdoptAction, AdoptEntry, AdoptOptions, AdoptResult } from "./lib/adopt.ts";
export { restoreProviders } from "./lib/restore.ts";
export type { RestoreEntry, RestoreOptions, RestoreResult } from "./lib/restore.ts";
export { decryptAtRest, DEFAULT_ENCRYPTION_BATCH_SIZE, encryptionStatus, rotateEncryptionKeys } from "./lib/encryption.ts";
export type {
  DbcryptKeyState,
  EncryptionOptions,
  EncryptionRewrite,
  EncryptionStatus,
  EncryptionStatusOptions,
  KeyIdValues,
  KeyNotRevoked,
  MissingEncryptionKey,
} from "./lib/encryption.ts";
export { applySchema, SCHEMA_SQL } from "./lib/schema.ts";
export type { ApplySchemaOptions } from "./lib/schema.ts";
export { consoleLogger, fieldsFirstLogger, jsonLogger, noopLogger } from "./lib/logger.ts";
export type { ConsoleLoggerOptions, FieldsFirstLogger, LogFields, Logger, LogLevel } from "./lib/logger.ts";
export { memoryAuditSink } from "./lib/audit.ts";
export type { AuditEntry, AuditSink, MemoryAuditSink } from "./lib/audit.ts";
export { ConfigError, DriftError, LockTimeoutError, SeedError } from "./lib/errors.ts";
export type { DriftField, LockHolder, ProviderDrift, SeedErrorCode } from "./lib/errors.ts";
export {
  AI_PROVIDER_NAME_PATTERN,
  AI_PROVIDER_TYPES,
  DEFAULT_LOCK_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  isAIProviderType,
  LOCK_ID_AI_PROVIDERS_ENV_SEED,
  MAX_AI_PROVIDER_NAME_LENGTH,
  MAX_TIMEOUT_MS,
  SEED_APPLICATION_NAME,
} from "./lib/types.ts";
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
  Sql,
} from "./lib/types.ts";
