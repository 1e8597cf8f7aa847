/**
 * Domain types and constants shared by every step of the seed: the provider
 * types, the configuration read from the environment, and the normalised
 * providers that are reconciled with the database.
 *
 * @module
 */

/** Every provider type the `ai_provider_type` enum accepts, in enum order. */
export const AI_PROVIDER_TYPES = [
  "openai",
  "anthropic",
  "azure",
  "bedrock",
  "google",
  "openai-compat",
  "openrouter",
  "vercel",
  "copilot",
] as const;

/**
 * A provider type: `openai`, `anthropic`, the OpenAI-compatible `azure`,
 * `google`, `openai-compat`, `openrouter` and `vercel`, `bedrock` (Anthropic
 * served by AWS) and `copilot` (per-request GitHub token, never stores keys).
 */
export type AIProviderType = typeof AI_PROVIDER_TYPES[number];

/**
 * The pattern a provider name must match: lower-case letters and digits in
 * groups joined by single dashes. The database enforces the same check.
 */
export const AI_PROVIDER_NAME_PATTERN: RegExp = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * The Postgres advisory lock id taken for the seed transaction. It is the id
 * Coder uses, so this library and a Coder server serialise against each other.
 */
export const LOCK_ID_AI_PROVIDERS_ENV_SEED = 10;

/**
 * The longest provider name accepted, in characters. The database's unique
 * index on `name` cannot hold arbitrarily long values (a btree entry must fit
 * in a third of a page), so a longer name is a configuration error found
 * before anything is sent rather than a failed seed.
 */
export const MAX_AI_PROVIDER_NAME_LENGTH = 128;

/** How long the seed and `applySchema` wait for the advisory lock by default, in milliseconds: 30 s. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** The default deadline of a whole seed or plan, in milliseconds: 60 s. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The largest timeout any option accepts, in milliseconds: 2^31 - 1, the
 * limit of Postgres' timeout settings and of JavaScript timers.
 */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * The `application_name` the seed's transaction takes while it holds the
 * lock, so `pg_stat_activity` (and a blocked replica's `LockTimeoutError`)
 * says who holds lock 10.
 */
export const SEED_APPLICATION_NAME = "aibridge-seed";

/**
 * Tells whether a string is one of {@link AI_PROVIDER_TYPES}.
 *
 * @example
 * ```ts
 * import { isAIProviderType } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * assert.equal(isAIProviderType("openai"), true);
 * assert.equal(isAIProviderType("OpenAI"), false);
 * ```
 *
 * @param value Any string.
 * @returns Whether it names a provider type.
 */
export function isAIProviderType(value: string): value is AIProviderType {
  return (AI_PROVIDER_TYPES as readonly string[]).includes(value);
}

/**
 * A `postgres` (porsager) client, as `postgres(url)` returns it, with any
 * options the host chose. Described by the few members the library uses,
 * so the public types do not depend on one version of the client's typings.
 */
export interface Sql {
  /** Runs a tagged-template query. */
  // deno-lint-ignore no-explicit-any
  (template: TemplateStringsArray, ...parameters: any[]): PromiseLike<unknown>;
  /** Runs a query given as text. */
  // deno-lint-ignore no-explicit-any
  unsafe(query: string, parameters?: any[], options?: any): PromiseLike<unknown>;
  /** Reserves one connection of the pool. */
  reserve(): Promise<unknown>;
  /** Closes the client's connections. */
  end(options?: { timeout?: number | null }): Promise<void>;
}

/** The legacy single-provider OpenAI variables. */
export interface LegacyOpenAIConfig {
  /** Upstream endpoint. */
  baseURL?: string;
  /** Bearer API key; the provider is seeded only when it is set. */
  key?: string;
}

/** The legacy single-provider Anthropic variables. */
export interface LegacyAnthropicConfig {
  /** Upstream endpoint. */
  baseURL?: string;
  /** Bearer API key. */
  key?: string;
}

/** The legacy single-provider AWS Bedrock variables (Anthropic through AWS). */
export interface LegacyBedrockConfig {
  /** Custom Bedrock endpoint (VPC, FIPS or proxy). */
  baseURL?: string;
  /** AWS region. */
  region?: string;
  /** AWS access key id. */
  accessKey?: string;
  /** AWS secret access key. */
  accessKeySecret?: string;
  /** Main model id. */
  model?: string;
  /** Small, fast model id. */
  smallFastModel?: string;
}

/** One indexed provider, `<prefix>PROVIDER_<N>_*`. */
export interface AIProviderConfig {
  /** Provider type; see {@link AI_PROVIDER_TYPES}. */
  type?: string;
  /** Unique name; defaults to the type. */
  name?: string;
  /** Bearer API keys. */
  keys?: string[];
  /** Upstream endpoint. */
  baseURL?: string;
  /** Bedrock endpoint; replaces `baseURL` when Bedrock is configured. */
  bedrockBaseURL?: string;
  /** AWS region. */
  bedrockRegion?: string;
  /** AWS access key ids; only the first is used. */
  bedrockAccessKeys?: string[];
  /** AWS secret access keys; only the first is used. */
  bedrockAccessKeySecrets?: string[];
  /** Main model id. */
  bedrockModel?: string;
  /** Small, fast model id. */
  bedrockSmallFastModel?: string;
}

/**
 * The AI provider configuration of a deployment, as read from the
 * environment. Every field is optional: missing strings count as `""` and
 * missing lists as `[]`.
 */
export interface AIBridgeConfig {
  /** Legacy OpenAI variables. */
  legacyOpenAI?: LegacyOpenAIConfig;
  /** Legacy Anthropic variables. */
  legacyAnthropic?: LegacyAnthropicConfig;
  /** Legacy Bedrock variables. */
  legacyBedrock?: LegacyBedrockConfig;
  /** Indexed providers, in index order. */
  providers?: AIProviderConfig[];
}

/**
 * Bedrock settings of a provider, stored in the `settings` column. Empty
 * credentials are absent (the runtime then uses the AWS credential chain).
 */
export interface BedrockSettings {
  /** AWS region; may be empty when a Bedrock base URL is given. */
  region: string;
  /** AWS access key id, when configured. */
  accessKey?: string;
  /** AWS secret access key, when configured. */
  accessKeySecret?: string;
  /** Main model id (not part of the drift hash). */
  model: string;
  /** Small, fast model id (not part of the drift hash). */
  smallFastModel: string;
}

/**
 * The fields hashed to detect drift: exactly the operator-controlled inputs
 * that change runtime behaviour. Credentials and models are left out, so
 * rotating a key or changing a model is never drift.
 */
export interface CanonicalAIProvider {
  /** Provider type. */
  type: string;
  /** Upstream endpoint. */
  baseURL: string;
  /** Bedrock region, `""` without Bedrock. */
  bedrockRegion: string;
}

/** A provider the environment asks for, normalised. */
export interface DesiredAIProvider {
  /** Unique name. */
  name: string;
  /** Provider type. */
  type: AIProviderType;
  /** Upstream endpoint. */
  baseURL: string;
  /** Bearer keys to store with a new provider (never for Bedrock or Copilot). */
  keys: string[];
  /** Bedrock settings, or `null` for a non-Bedrock provider. */
  bedrock: BedrockSettings | null;
}
