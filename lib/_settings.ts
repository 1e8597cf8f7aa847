/**
 * Internal. The `settings` column: Bedrock settings as the JSON object
 * Coder's `encodeAIProviderSettings` writes (sorted keys, Go's string
 * escaping), reading the region back, and the one Bedrock test both config
 * paths share.
 *
 * @module
 */
import { goQuote } from "./_go_json.ts";
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
export function isBedrockConfigured(baseURL: string, s: Pick<BedrockSettings, "region" | "accessKey" | "accessKeySecret">): boolean {
  return baseURL !== "" || s.region !== "" || (s.accessKey ?? "") !== "" || (s.accessKeySecret ?? "") !== "";
}

/**
 * Encodes the settings column: `null` without Bedrock, else the bytes Go's
 * `json.Marshal` writes for Coder's settings map: keys sorted
 * (`_type`, `_version`, `access_key`, `access_key_secret`, `model`,
 * `region`, `small_fast_model`), empty values left out, strings escaped as
 * Go escapes them (`&` as `\u0026`, …).
 */
export function encodeSettings(bedrock: BedrockSettings | null): string | null {
  if (bedrock === null) return null;
  const parts = ['"_type":"bedrock"', '"_version":1'];
  const put = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== "") parts.push(`${goQuote(k)}:${goQuote(v)}`);
  };
  put("access_key", bedrock.accessKey);
  put("access_key_secret", bedrock.accessKeySecret);
  put("model", bedrock.model);
  put("region", bedrock.region);
  put("small_fast_model", bedrock.smallFastModel);
  return `{${parts.join(",")}}`;
}

/**
 * Reads the Bedrock region out of a stored (plaintext) settings value: `""`
 * when there are no Bedrock settings. Throws a plain `Error` whose message
 * holds no part of the value (it may hold secrets) when the value is not a
 * JSON object.
 */
export function storedBedrockRegion(settings: string | null): string {
  if (settings === null || settings.trim() === "") return "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(settings);
  } catch {
    throw new Error("settings is not valid JSON");
  }
  if (parsed === null) return "";
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error("settings is not a JSON object");
  }
  const o = parsed as Record<string, unknown>;
  if (o._type !== "bedrock") return "";
  return typeof o.region === "string" ? o.region : "";
}
