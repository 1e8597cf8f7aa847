/**
 * The canonical form of a provider and its hash, byte-identical to the Go
 * original so a row seeded by either compares equal.
 *
 * @module
 */
import { goQuote, hex } from "./_go_json.ts";
import type { BedrockSettings, CanonicalAIProvider } from "./types.ts";

/**
 * The canonical (hashed) fields of a provider: its type, base URL and
 * Bedrock region (`""` without Bedrock). Credentials and models are left
 * out, so rotating a key or changing a model is never drift.
 *
 * @example
 * ```ts
 * import { canonicalProvider } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const canonical = canonicalProvider({ type: "openai", baseURL: "https://api.openai.com/v1/", bedrock: null });
 * assert.deepEqual(canonical, { type: "openai", baseURL: "https://api.openai.com/v1/", bedrockRegion: "" });
 * ```
 *
 * @param provider A provider's type, base URL and Bedrock settings.
 * @returns Its canonical fields.
 */
export function canonicalProvider(
  provider: { type: string; baseURL: string; bedrock: Pick<BedrockSettings, "region"> | null },
): CanonicalAIProvider {
  return { type: provider.type, baseURL: provider.baseURL, bedrockRegion: provider.bedrock?.region ?? "" };
}

/**
 * Writes the canonical form of a provider as JSON, exactly as Go's
 * `json.Marshal` writes the reference's canonical struct: keys `type`,
 * `base_url`, `bedrock_region` in that order, with Go's string escaping.
 *
 * @example
 * ```ts
 * import { canonicalJSON } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const json = canonicalJSON({ type: "openai", baseURL: "https://x/?a=1&b=2", bedrockRegion: "" });
 * assert.equal(json, '{"type":"openai","base_url":"https://x/?a=1\\u0026b=2","bedrock_region":""}');
 * ```
 *
 * @param canonical The provider's canonical fields.
 * @returns The JSON text.
 */
export function canonicalJSON(canonical: CanonicalAIProvider): string {
  return `{"type":${goQuote(canonical.type)},"base_url":${goQuote(canonical.baseURL)},"bedrock_region":${
    goQuote(canonical.bedrockRegion)
  }}`;
}

/**
 * Hashes the canonical form of a provider: lower-case hex SHA-256 of the
 * UTF-8 bytes of {@link canonicalJSON}, through Web Crypto. The seed itself
 * compares canonical bytes and never needs the hash; it is here for hosts
 * that store or compare it, byte-identical to the Go original's.
 *
 * @example
 * ```ts
 * import { computeProviderHash } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const hash = await computeProviderHash({ type: "openai", baseURL: "https://api.openai.com/v1", bedrockRegion: "" });
 * assert.match(hash, /^[0-9a-f]{64}$/);
 * ```
 *
 * @param canonical The provider's canonical fields.
 * @returns 64 lower-case hex digits.
 */
export async function computeProviderHash(canonical: CanonicalAIProvider): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJSON(canonical));
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
