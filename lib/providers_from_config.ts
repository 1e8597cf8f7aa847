/**
 * Normalises an {@link AIBridgeConfig} into the providers to seed: a port of
 * the reference's `providersFromEnv`.
 *
 * @module
 */
import { isBedrockConfigured, newBedrockSettings } from "./_settings.ts";
import { canonicalJSON, canonicalProvider } from "./canonical_json.ts";
import { ConfigError } from "./errors.ts";
import { type Logger, noopLogger } from "./logger.ts";
import {
  AI_PROVIDER_NAME_PATTERN,
  type AIBridgeConfig,
  type AIProviderType,
  type BedrockSettings,
  type DesiredAIProvider,
  isAIProviderType,
  MAX_AI_PROVIDER_NAME_LENGTH,
} from "./types.ts";

function desired(
  name: string,
  type: AIProviderType,
  baseURL: string,
  keys: string[],
  bedrock: BedrockSettings | null,
): DesiredAIProvider {
  return { name, type, baseURL, keys, bedrock };
}

/**
 * Turns a configuration into the providers the database should hold, sorted
 * by name: legacy OpenAI, legacy Anthropic or Bedrock, then the indexed
 * providers. Unknown indexed types are skipped with a warning; bearer keys on
 * Bedrock and Copilot providers are dropped with a warning.
 *
 * Unlike the reference, every problem is collected before throwing.
 *
 * @example
 * ```ts
 * import { providersFromConfig } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const providers = await providersFromConfig({
 *   legacyOpenAI: { baseURL: "https://api.openai.com/v1/", key: "sk-example" },
 * });
 * assert.equal(providers[0].name, "openai");
 * assert.deepEqual(providers[0].keys, ["sk-example"]);
 * ```
 *
 * @param config The configuration, e.g. from `readAIBridgeConfig`.
 * @param logger Receives the warnings.
 * @returns The desired providers, sorted by name (byte order).
 * @throws {ConfigError} on an invalid name, a name used by both a legacy and
 *   an indexed provider, or one name with conflicting fields.
 */
export function providersFromConfig(config: AIBridgeConfig, logger: Logger = noopLogger): Promise<DesiredAIProvider[]> {
  try {
    return Promise.resolve(normalise(config, logger));
  } catch (err) {
    return Promise.reject(err);
  }
}

function normalise(config: AIBridgeConfig, logger: Logger): DesiredAIProvider[] {
  const out = new Map<string, DesiredAIProvider>();
  const legacyNames = new Set<string>();
  const problems: string[] = [];
  const indexed: DesiredAIProvider[] = [];

  const openai = config.legacyOpenAI ?? {};
  if ((openai.key ?? "") !== "") {
    out.set("openai", desired("openai", "openai", openai.baseURL ?? "", [openai.key!], null));
    legacyNames.add("openai");
  }

  // Legacy Anthropic is seeded when either an Anthropic key or Bedrock is
  // configured; both config paths share one notion of "Bedrock configured".
  const lb = config.legacyBedrock ?? {};
  const anthropic = config.legacyAnthropic ?? {};
  const legacyBedrock = newBedrockSettings(
    lb.region ?? "",
    lb.accessKey ?? "",
    lb.accessKeySecret ?? "",
    lb.model ?? "",
    lb.smallFastModel ?? "",
  );
  const hasAnthropicKey = (anthropic.key ?? "") !== "";
  const hasLegacyBedrock = isBedrockConfigured(lb.baseURL ?? "", legacyBedrock);
  if (hasAnthropicKey || hasLegacyBedrock) {
    if (hasLegacyBedrock) {
      if (hasAnthropicKey) {
        logger.warn(
          "ignoring legacy Anthropic API key because Bedrock credentials are configured; Bedrock authenticates via access keys or credential chain",
          { provider: "anthropic" },
        );
      }
      // Bedrock-only deployments use the Bedrock base URL for custom VPC,
      // FIPS or proxy endpoints.
      out.set("anthropic", desired("anthropic", "anthropic", lb.baseURL ?? "", [], legacyBedrock));
    } else {
      out.set("anthropic", desired("anthropic", "anthropic", anthropic.baseURL ?? "", [anthropic.key!], null));
    }
    legacyNames.add("anthropic");
  }

  for (const p of config.providers ?? []) {
    const rawType = p.type ?? "";
    const name = (p.name ?? "") !== "" ? p.name! : rawType;
    if (name === "") {
      problems.push("indexed AI provider must have a name or type");
      continue;
    }
    // Bad names fail start-up here rather than becoming a row nobody can use.
    if (!AI_PROVIDER_NAME_PATTERN.test(name)) {
      problems.push(`invalid AI provider name ${JSON.stringify(name)}: must match ${AI_PROVIDER_NAME_PATTERN.source}`);
      continue;
    }
    if (name.length > MAX_AI_PROVIDER_NAME_LENGTH) {
      problems.push(
        `invalid AI provider name ${
          JSON.stringify(`${name.slice(0, 24)}…`)
        }: ${name.length} characters, at most ${MAX_AI_PROVIDER_NAME_LENGTH}`,
      );
      continue;
    }
    if (!isAIProviderType(rawType)) {
      logger.warn("skipping indexed AI provider with unsupported type", { name, type: rawType });
      continue;
    }
    const type = rawType;
    let baseURL = p.baseURL ?? "";
    let bedrock: BedrockSettings | null = null;
    if (type === "anthropic" || type === "bedrock") {
      const settings = newBedrockSettings(
        p.bedrockRegion ?? "",
        p.bedrockAccessKeys?.[0] ?? "",
        p.bedrockAccessKeySecrets?.[0] ?? "",
        p.bedrockModel ?? "",
        p.bedrockSmallFastModel ?? "",
      );
      if (isBedrockConfigured(p.bedrockBaseURL ?? "", settings)) {
        bedrock = settings;
        // Always take the Bedrock base URL, even empty (the runtime derives
        // the endpoint from the region), so removing BASE_URL later is not drift.
        baseURL = p.bedrockBaseURL ?? "";
      }
    }

    // Bearer keys live in ai_provider_keys, except for Bedrock (it signs
    // with the settings' access keys) and Copilot (request-time GitHub tokens).
    const given = p.keys ?? [];
    let keys: string[] = [];
    if (bedrock !== null) {
      if (given.length > 0) {
        logger.warn(
          "ignoring bearer keys configured on Bedrock AI provider; Bedrock authenticates via access keys or credential chain",
          { name, ignored_key_count: given.length },
        );
      }
    } else if (type === "copilot") {
      if (given.length > 0) {
        logger.warn(
          "ignoring bearer keys configured on Copilot AI provider; Copilot authenticates via request-time GitHub OAuth tokens",
          { name, ignored_key_count: given.length },
        );
      }
    } else {
      keys = [...given];
    }

    indexed.push(desired(name, type, baseURL, keys, bedrock));
  }

  for (const dp of indexed) {
    const name = dp.name;
    if (legacyNames.has(name)) {
      problems.push(
        `indexed AI provider ${JSON.stringify(name)} conflicts with the legacy env var of the same name; remove one or the other`,
      );
      continue;
    }
    const existing = out.get(name);
    if (existing !== undefined) {
      // Same name and same canonical form: the first one wins, silently.
      if (canonicalJSON(canonicalProvider(existing)) !== canonicalJSON(canonicalProvider(dp))) {
        problems.push(`duplicate AI provider name ${JSON.stringify(name)} with conflicting fields`);
      }
      continue;
    }
    out.set(name, dp);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  // Name order makes logs and audit entries deterministic across restarts.
  return [...out.keys()].sort(byteOrder).map((n) => out.get(n)!);
}

// Compares strings by UTF-16 code units, which matches byte order for names.
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
