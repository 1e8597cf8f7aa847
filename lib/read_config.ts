/**
 * Reads the AI provider configuration from a plain environment record.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { type EnvRecord, readTextFile } from "./runtime_env.ts";
import { type Logger, noopLogger } from "./logger.ts";
import {
  AI_PROVIDER_NAME_PATTERN,
  AI_PROVIDER_TYPES,
  type AIBridgeConfig,
  type AIProviderConfig,
  isAIProviderType,
  MAX_AI_PROVIDER_NAME_LENGTH,
} from "./types.ts";
import { isBedrockConfigured } from "./_settings.ts";
import { closestField, ignoredProblem, ignoredVariables, type KnownNames, UNKNOWN_FIELD_MESSAGE } from "./_unknown_vars.ts";

/** The default prefixes: the original and its newer alias. */
export const DEFAULT_ENV_PREFIXES: readonly [string, string] = ["CODER_AIBRIDGE_", "CODER_AI_GATEWAY_"];

/** Options of {@link readAIBridgeConfig}. */
export interface ReadConfigOptions {
  /**
   * Variable prefixes: the original first, then an optional newer alias.
   * Default `["CODER_AIBRIDGE_", "CODER_AI_GATEWAY_"]`.
   */
  prefixes?: readonly [string] | readonly [string, string];
  /** Receives warnings such as unknown indexed fields. */
  logger?: Logger;
  /**
   * Turns every warning about an unknown or misspelled variable into a
   * problem of the `ConfigError`, so that a typo fails instead of being
   * ignored. Default `false`.
   */
  strict?: boolean;
}

/** The most bearer keys (or Bedrock credentials) one provider may carry. */
export const MAX_KEYS_PER_PROVIDER = 5;

const LEGACY_DEFAULTS = {
  OPENAI_BASE_URL: "https://api.openai.com/v1/",
  ANTHROPIC_BASE_URL: "https://api.anthropic.com/",
  BEDROCK_MODEL: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
  BEDROCK_SMALL_FAST_MODEL: "global.anthropic.claude-haiku-4-5-20251001-v1:0",
} as const;

const LEGACY_SUFFIXES = [
  "OPENAI_BASE_URL",
  "OPENAI_KEY",
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_KEY",
  "BEDROCK_BASE_URL",
  "BEDROCK_REGION",
  "BEDROCK_ACCESS_KEY",
  "BEDROCK_ACCESS_KEY_SECRET",
  "BEDROCK_MODEL",
  "BEDROCK_SMALL_FAST_MODEL",
] as const;
type LegacySuffix = typeof LEGACY_SUFFIXES[number];

// Indexed fields, each with its single and list form where it has both.
const SINGLE_FIELDS = [
  "TYPE",
  "NAME",
  "BASE_URL",
  "BEDROCK_BASE_URL",
  "BEDROCK_REGION",
  "BEDROCK_MODEL",
  "BEDROCK_SMALL_FAST_MODEL",
] as const;
const LIST_FIELDS = [
  ["KEY", "KEYS"],
  ["BEDROCK_ACCESS_KEY", "BEDROCK_ACCESS_KEYS"],
  ["BEDROCK_ACCESS_KEY_SECRET", "BEDROCK_ACCESS_KEY_SECRETS"],
] as const;
const KNOWN_FIELDS = new Set<string>([...SINGLE_FIELDS, ...LIST_FIELDS.flat()]);

interface IndexedVar {
  index: number;
  field: string;
  fullName: string;
  value: string;
}

/** The suffix that turns any variable into "read my value from this file". */
const FILE_SUFFIX = "_FILE";

const KNOWN_NAMES: KnownNames = { legacySuffixes: LEGACY_SUFFIXES, fields: KNOWN_FIELDS, fileSuffix: FILE_SUFFIX };

// Docker and Kubernetes mount secrets as files; NAME_FILE names the file and
// its trimmed content is NAME's value. Only the path and a short reason ever
// reach a problem message: the content is a secret.
// A file that cannot be read leaves the variable unset (null), so the one
// problem it causes is not followed by "empty key" noise.
function readValueFile(variable: string, path: string, problems: string[]): string | null {
  try {
    return readTextFile(path).trim();
  } catch (err) {
    problems.push(`cannot read ${variable} (${JSON.stringify(path)}): ${(err as Error).message}`);
    return null;
  }
}

/**
 * Parses a plain environment record into an {@link AIBridgeConfig}: the legacy
 * single-provider variables (with their defaults) and the indexed
 * `PROVIDER_<N>_*` variables, under `CODER_AIBRIDGE_` or its alias
 * `CODER_AI_GATEWAY_`. An empty value counts as unset.
 *
 * Any of these variables may instead be given as `<NAME>_FILE`, the path of
 * a file whose trimmed content is the value (the Docker and Kubernetes
 * secrets convention), e.g. `CODER_AIBRIDGE_OPENAI_KEY_FILE` or
 * `CODER_AI_GATEWAY_PROVIDER_0_KEYS_FILE`. Setting both `NAME` and
 * `NAME_FILE` is a problem, and so is a file that cannot be read (the
 * problem names the variable and the path, never the content). On Deno,
 * reading such a file needs `--allow-read`; without `_FILE` variables no
 * file is read.
 *
 * A variable set under a prefix that nothing reads (`CODER_AIBRIDGE_OPENAI_KYE`),
 * an unknown indexed field (`…_PROVIDER_0_TYPO`) and a variable whose prefix
 * is a near miss of one (`CODER_AIBRIGDE_OPENAI_KEY`,
 * `CODER_AI_GATEWAYPROVIDER_0_TYPE`, `coder_aibridge_openai_key`) is a
 * warning with fields `{ env, suggestion? }`: the variable's name and, when
 * a known name is close, the name it probably meant. The Coder server's
 * own settings under the prefixes (`CODER_AIBRIDGE_ENABLED`, …) and every
 * other variable (`CODER_URL`, `CODER_EXTERNAL_TOKEN_ENCRYPTION_KEYS`) are
 * not warned about. With `strict`, each of these warnings is a problem instead.
 *
 * Every problem is collected before throwing, so one run shows them all.
 * No message ever contains a key or secret, and no warning a value.
 *
 * @example
 * ```ts
 * import { readAIBridgeConfig } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const config = readAIBridgeConfig({
 *   CODER_AI_GATEWAY_PROVIDER_0_TYPE: "openai",
 *   CODER_AI_GATEWAY_PROVIDER_0_KEYS: "sk-one,sk-two",
 * });
 * assert.deepEqual(config.providers?.[0].keys, ["sk-one", "sk-two"]);
 * ```
 *
 * @param env The environment, e.g. `process.env`.
 * @param options Prefixes, a logger for warnings, and `strict`.
 * @returns The configuration.
 * @throws {ConfigError} listing every problem found.
 */
export function readAIBridgeConfig(env: EnvRecord, options: ReadConfigOptions = {}): AIBridgeConfig {
  const prefixes = options.prefixes ?? DEFAULT_ENV_PREFIXES;
  const logger = options.logger ?? noopLogger;
  const problems: string[] = [];
  const primary = prefixes[0];
  // A variable nothing reads: a warning naming it, or under strict a problem.
  const ignored = (msg: string, name: string, suggestion: string | undefined): void => {
    if (options.strict === true) problems.push(ignoredProblem(msg, name, suggestion));
    else logger.warn(msg, suggestion === undefined ? { env: name } : { env: name, suggestion });
  };

  // One legacy variable under one prefix: its value, from the variable or
  // from the file its _FILE twin names.
  const legacyVar = (name: string): { value: string; from: string } | null => {
    const direct = env[name];
    const file = env[name + FILE_SUFFIX];
    const hasDirect = direct !== undefined && direct !== "";
    const hasFile = file !== undefined && file !== "";
    if (hasDirect && hasFile) {
      problems.push(`${name} and ${name}${FILE_SUFFIX} are both set; use one or the other`);
      return { value: direct, from: name };
    }
    if (hasFile) return { value: readValueFile(name + FILE_SUFFIX, file, problems) ?? "", from: name + FILE_SUFFIX };
    if (hasDirect) return { value: direct, from: name };
    return null;
  };

  const legacy = (suffix: LegacySuffix): string => {
    let value = "";
    let from = "";
    for (const prefix of prefixes) {
      const v = legacyVar(prefix + suffix);
      if (v === null || v.value === "") continue;
      if (from !== "" && v.value !== value) {
        problems.push(`${from} and ${v.from} are set to different values; keep one of them`);
        continue;
      }
      value = v.value;
      from = v.from;
    }
    if (value === "" && suffix in LEGACY_DEFAULTS) return LEGACY_DEFAULTS[suffix as keyof typeof LEGACY_DEFAULTS];
    return value;
  };

  const config: AIBridgeConfig = {
    legacyOpenAI: { baseURL: legacy("OPENAI_BASE_URL"), key: legacy("OPENAI_KEY") },
    legacyAnthropic: { baseURL: legacy("ANTHROPIC_BASE_URL"), key: legacy("ANTHROPIC_KEY") },
    legacyBedrock: {
      baseURL: legacy("BEDROCK_BASE_URL"),
      region: legacy("BEDROCK_REGION"),
      accessKey: legacy("BEDROCK_ACCESS_KEY"),
      accessKeySecret: legacy("BEDROCK_ACCESS_KEY_SECRET"),
      model: legacy("BEDROCK_MODEL"),
      smallFastModel: legacy("BEDROCK_SMALL_FAST_MODEL"),
    },
    providers: [],
  };
  const b = config.legacyBedrock!;
  if (
    config.legacyAnthropic!.key !== "" &&
    isBedrockConfigured(b.baseURL!, { region: b.region!, accessKey: b.accessKey, accessKeySecret: b.accessKeySecret })
  ) {
    problems.push(
      `${primary}ANTHROPIC_KEY and ${primary}BEDROCK_* are mutually exclusive; Bedrock authenticates with its access keys or the AWS credential chain, so unset ${primary}ANTHROPIC_KEY`,
    );
  }

  // Indexed providers, grouped by prefix so that mixing them is caught.
  const byPrefix = prefixes.map((prefix) => collectIndexed(env, prefix + "PROVIDER_", problems));
  let vars = byPrefix[0];
  let varPrefix = prefixes[0] + "PROVIDER_";
  if (byPrefix.length === 2 && byPrefix[1].length > 0) {
    if (byPrefix[0].length > 0) {
      problems.push(
        `cannot mix ${prefixes[0]}PROVIDER_* and ${prefixes[1]}PROVIDER_* environment variables, please consolidate onto ${
          prefixes[1]
        }PROVIDER_*`,
      );
    }
    vars = byPrefix[1];
    varPrefix = prefixes[1] + "PROVIDER_";
  }
  config.providers = buildProviders(vars, varPrefix, problems, ignored);
  for (const v of ignoredVariables(env, prefixes, KNOWN_NAMES)) ignored(v.msg, v.env, v.suggestion);

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function collectIndexed(env: EnvRecord, prefix: string, problems: string[]): IndexedVar[] {
  const out: IndexedVar[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined || value === "") continue;
    const rest = name.slice(prefix.length).toUpperCase();
    const fullName = name.toUpperCase();
    const sep = rest.indexOf("_");
    if (sep < 0) {
      problems.push(`invalid env var: ${fullName} (expected ${prefix}<N>_<FIELD>, e.g. ${prefix}0_TYPE)`);
      continue;
    }
    const num = rest.slice(0, sep);
    if (!/^[0-9]+$/.test(num) || num.replace(/^0+(?=.)/, "").length > 9) {
      problems.push(`parse number: ${fullName} (the part after ${prefix} must be a provider index 0, 1, 2, …)`);
      continue;
    }
    out.push({ index: Number(num), field: rest.slice(sep + 1), fullName, value });
  }
  out.sort((a, b) => a.index - b.index || (a.fullName < b.fullName ? -1 : a.fullName > b.fullName ? 1 : 0));
  return out;
}

function splitList(value: string): string[] {
  return value.split(",").map((k) => k.trim());
}

function buildProviders(
  vars: IndexedVar[],
  prefix: string,
  problems: string[],
  ignored: (msg: string, name: string, suggestion: string | undefined) => void,
): AIProviderConfig[] {
  // Group by index and check the indices run 0, 1, 2, … without a gap. The
  // providers around a gap are still checked, so every problem shows at once.
  const groups = new Map<number, IndexedVar[]>();
  let gapReported = false;
  for (const v of vars) {
    if (!groups.has(v.index)) {
      // vars are sorted by index, so the first index that is not the count
      // so far is the first gap.
      if (v.index !== groups.size && !gapReported) {
        problems.push(`provider num ${groups.size} skipped: ${v.fullName} (indices must run 0, 1, 2, … without gaps)`);
        gapReported = true;
      }
      groups.set(v.index, []);
    }
    groups.get(v.index)!.push(v);
  }

  const providers: AIProviderConfig[] = [];
  const seenNames = new Map<string, number>();
  groups.forEach((group, n) => {
    const fields = new Map<string, string>();
    const names = new Map<string, string>();
    for (const v of group) {
      // KEY_FILE (and any other field's _FILE twin) names a file holding the value.
      const fileOf = v.field.endsWith(FILE_SUFFIX) ? v.field.slice(0, -FILE_SUFFIX.length) : "";
      const fromFile = fileOf !== "" && KNOWN_FIELDS.has(fileOf);
      const field = fromFile ? fileOf : v.field;
      if (!KNOWN_FIELDS.has(field)) {
        const near = closestField(v.field, KNOWN_NAMES);
        ignored(UNKNOWN_FIELD_MESSAGE, v.fullName, near === undefined ? undefined : v.fullName.slice(0, -v.field.length) + near);
        continue;
      }
      const earlier = names.get(field);
      if (earlier !== undefined) {
        // PROVIDER_0_KEY and PROVIDER_00_key name the same field: keeping
        // one silently would drop the other's value.
        problems.push(
          earlier.endsWith(FILE_SUFFIX) !== fromFile
            ? `provider ${n}: ${earlier} and ${v.fullName} are both set; use one or the other`
            : `provider ${n}: ${field} is set more than once (${earlier} and ${v.fullName}); keep one`,
        );
        continue;
      }
      names.set(field, v.fullName);
      const value = fromFile ? readValueFile(v.fullName, v.value, problems) : v.value;
      if (value !== null) fields.set(field, value);
    }
    const type = fields.get("TYPE") ?? "";
    const name = fields.get("NAME") ?? "";
    const label = `provider ${n} (${name || type})`;
    const lists: string[][] = LIST_FIELDS.map(([one, many]) => {
      const single = fields.get(one);
      const multi = fields.get(many);
      if (single !== undefined && multi !== undefined) {
        problems.push(`provider ${n}: ${one} and ${many} are mutually exclusive, use one or the other`);
      }
      if (multi !== undefined) return splitList(multi);
      if (single !== undefined) return [single.trim()];
      return [];
    });
    const [keys, accessKeys, accessKeySecrets] = lists;

    const p: AIProviderConfig = {
      type,
      name,
      keys,
      baseURL: fields.get("BASE_URL") ?? "",
      bedrockBaseURL: fields.get("BEDROCK_BASE_URL") ?? "",
      bedrockRegion: fields.get("BEDROCK_REGION") ?? "",
      bedrockAccessKeys: accessKeys,
      bedrockAccessKeySecrets: accessKeySecrets,
      bedrockModel: fields.get("BEDROCK_MODEL") ?? "",
      bedrockSmallFastModel: fields.get("BEDROCK_SMALL_FAST_MODEL") ?? "",
    };
    providers.push(p);

    if (type === "") {
      problems.push(`provider ${n}: TYPE is required (set ${prefix}${n}_TYPE to one of: ${AI_PROVIDER_TYPES.join(", ")})`);
    } else if (!isAIProviderType(type)) {
      problems.push(`provider ${n}: unknown TYPE ${JSON.stringify(type)} (must be one of: ${AI_PROVIDER_TYPES.join(", ")})`);
    }
    const effectiveName = name || type;
    if (effectiveName.length > MAX_AI_PROVIDER_NAME_LENGTH) {
      problems.push(
        `provider ${n}: NAME is ${effectiveName.length} characters long, at most ${MAX_AI_PROVIDER_NAME_LENGTH} (the database's unique index cannot hold longer names)`,
      );
    } else if (effectiveName !== "" && !AI_PROVIDER_NAME_PATTERN.test(effectiveName)) {
      problems.push(
        `${label}: invalid AI provider name ${
          JSON.stringify(effectiveName)
        }: must match ${AI_PROVIDER_NAME_PATTERN.source} (lower-case letters, digits and single dashes)`,
      );
    }

    const anyBedrockField = [...fields.keys()].some((f) => f.startsWith("BEDROCK_"));
    const bedrockConfigured = isBedrockConfigured(p.bedrockBaseURL!, {
      region: p.bedrockRegion!,
      accessKey: accessKeys.find((k) => k !== ""),
      accessKeySecret: accessKeySecrets.find((k) => k !== ""),
    });
    const hasKeys = fields.has("KEY") || fields.has("KEYS");
    if (anyBedrockField && type !== "anthropic" && type !== "bedrock" && isAIProviderType(type)) {
      problems.push(`${label}: BEDROCK_* fields are only supported with TYPE "anthropic" or "bedrock"`);
    }
    if (type === "bedrock" && !bedrockConfigured) {
      problems.push(
        `${label}: TYPE "bedrock" requires BEDROCK_* fields to be configured (set BEDROCK_REGION, BEDROCK_BASE_URL or BEDROCK_ACCESS_KEY and BEDROCK_ACCESS_KEY_SECRET)`,
      );
    }
    if (hasKeys) {
      if (type === "bedrock") {
        problems.push(`${label}: KEY/KEYS are not supported for TYPE "bedrock" (use BEDROCK_* fields)`);
      } else if (type === "copilot") {
        problems.push(`${label}: KEY/KEYS are not supported for TYPE "copilot" (it authenticates with each request's GitHub token)`);
      } else if (type === "anthropic" && bedrockConfigured) {
        problems.push(`${label}: KEY/KEYS and BEDROCK_* fields are mutually exclusive`);
      }
    }

    checkList(`${label}: ${fields.has("KEYS") ? "KEYS" : "KEY"}`, keys, true, problems);
    checkList(`${label}: ${fields.has("BEDROCK_ACCESS_KEYS") ? "BEDROCK_ACCESS_KEYS" : "BEDROCK_ACCESS_KEY"}`, accessKeys, true, problems);
    checkList(
      `${label}: ${fields.has("BEDROCK_ACCESS_KEY_SECRETS") ? "BEDROCK_ACCESS_KEY_SECRETS" : "BEDROCK_ACCESS_KEY_SECRET"}`,
      accessKeySecrets,
      false,
      problems,
    );
    if (accessKeys.length !== accessKeySecrets.length) {
      problems.push(
        `${label}: BEDROCK_ACCESS_KEY(S) has ${accessKeys.length} entries but BEDROCK_ACCESS_KEY_SECRET(S) has ${accessKeySecrets.length}; give one secret per access key`,
      );
    }

    if (effectiveName !== "") {
      const first = seenNames.get(effectiveName);
      if (first !== undefined) {
        problems.push(
          `providers ${first} and ${n} have duplicate NAME ${
            JSON.stringify(effectiveName)
          } (multiple providers of the same type require unique NAME values)`,
        );
      } else {
        seenNames.set(effectiveName, n);
      }
    }
  });
  return providers;
}

// Keys are checked by position only: a message never repeats a key's value.
function checkList(label: string, list: string[], noDuplicates: boolean, problems: string[]): void {
  if (list.length > MAX_KEYS_PER_PROVIDER) {
    problems.push(`${label}: too many keys (${list.length}), maximum is ${MAX_KEYS_PER_PROVIDER}`);
  }
  const seen = new Set<string>();
  list.forEach((key, i) => {
    if (key === "") {
      problems.push(`${label}: key at index ${i} is empty`);
    } else if (noDuplicates && seen.has(key)) {
      problems.push(`${label}: duplicate key at index ${i}`);
    }
    seen.add(key);
  });
}
