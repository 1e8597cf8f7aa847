/**
 * The `settings` column: Bedrock settings as a JSON object, compatible with
 * Coder's encoding, and the Bedrock detection both config paths share.
 *
 * @module
 */
import type { BedrockSettings } from "./types.ts";

/**
 * Builds Bedrock settings; empty credentials are left out, so the runtime
 * falls back to the AWS credential chain instead of an empty key.
 */
export function newBedrockSettings(
  region: string,
  accessKey: string,
  accessKeySecret: string,
  model: string,
  smallFastModel: string,
): BedrockSettings {
  const s: BedrockSettings = { region, model, smallFastModel };
  if (accessKey !== "") s.accessKey = accessKey;
  if (accessKeySecret !== "") s.accessKeySecret = accessKeySecret;
  return s;
}

/**
 * Bedrock counts as configured when its base URL, region, access key or
 * secret is set. Models alone never count: they have defaults, and a default
 * must not turn every Anthropic deployment into a Bedrock one.
 */
export function isBedrockConfigured(baseURL: string, s: BedrockSettings): boolean {
  return baseURL !== "" || s.region !== "" || (s.accessKey ?? "") !== "" || (s.accessKeySecret ?? "") !== "";
}

/**
 * Encodes the settings column: `null` without Bedrock, else a JSON object
 * with sorted keys, empty values left out.
 */
export function encodeSettings(bedrock: BedrockSettings | null): string | null {
  if (bedrock === null) return null;
  const out: Record<string, string | number> = { _type: "bedrock", _version: 1 };
  const put = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== "") out[k] = v;
  };
  put("access_key", bedrock.accessKey);
  put("access_key_secret", bedrock.accessKeySecret);
  put("model", bedrock.model);
  put("region", bedrock.region);
  put("small_fast_model", bedrock.smallFastModel);
  return JSON.stringify(out);
}

/**
 * Reads the Bedrock region out of a stored settings value: `""` when there
 * are no Bedrock settings. Throws a plain `Error` (with no value in it, the
 * blob may hold secrets) when the value is not a JSON object.
 */
export function storedBedrockRegion(settings: string | null): string {
  if (settings === null || settings === "") return "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(settings);
  } catch {
    throw new Error("settings is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error("settings is not a JSON object");
  }
  const o = parsed as Record<string, unknown>;
  if (o._type !== "bedrock") return "";
  return typeof o.region === "string" ? o.region : "";
}
