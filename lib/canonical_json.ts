/**
 * The canonical form of a provider and its hash, byte-identical to the Go
 * original so a row seeded by either compares equal.
 *
 * @module
 */
import type { CanonicalAIProvider } from "./types.ts";

const HEX = "0123456789abcdef";

// Go's encoding/json string encoder, with its HTML-safe escaping on (the
// json.Marshal default). JSON.stringify differs on <, >, &, U+2028, U+2029
// and lone surrogates, so it cannot be used for the hash.
function goQuote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c < 0x20) {
      switch (c) {
        case 0x08:
          esc = "\\b";
          break;
        case 0x09:
          esc = "\\t";
          break;
        case 0x0a:
          esc = "\\n";
          break;
        case 0x0c:
          esc = "\\f";
          break;
        case 0x0d:
          esc = "\\r";
          break;
        default:
          esc = "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
      }
    } else if (c === 0x22) {
      esc = '\\"';
    } else if (c === 0x5c) {
      esc = "\\\\";
    } else if (c === 0x3c || c === 0x3e || c === 0x26) {
      esc = "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
    } else if (c === 0x2028 || c === 0x2029) {
      esc = "\\u202" + HEX[c & 0xf];
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair is written as raw UTF-8
        continue;
      }
      esc = "\\ufffd";
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      esc = "\\ufffd";
    }
    if (esc !== null) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/**
 * Writes the canonical form of a provider as JSON, exactly as Go's
 * `json.Marshal` writes the reference's canonical struct: keys `type`,
 * `base_url`, `bedrock_region` in that order, with Go's string escaping.
 *
 * @example
 * ```ts
 * import { canonicalJSON } from "@aibridge/seed";
 * canonicalJSON({ type: "openai", baseURL: "https://x/?a=1&b=2", bedrockRegion: "" });
 * // '{"type":"openai","base_url":"https://x/?a=1\\u0026b=2","bedrock_region":""}'
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
 * UTF-8 bytes of {@link canonicalJSON}, through Web Crypto.
 *
 * @example
 * ```ts
 * import { computeProviderHash } from "@aibridge/seed";
 * const hash = await computeProviderHash({ type: "openai", baseURL: "https://api.openai.com/v1", bedrockRegion: "" });
 * hash.length; // 64
 * ```
 *
 * @param canonical The provider's canonical fields.
 * @returns 64 lower-case hex digits.
 */
export async function computeProviderHash(canonical: CanonicalAIProvider): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJSON(canonical));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let hex = "";
  for (const b of digest) hex += HEX[b >> 4] + HEX[b & 0xf];
  return hex;
}
