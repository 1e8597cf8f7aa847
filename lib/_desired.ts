/**
 * Internal. The first arrows of the data flow, shared by the plan and the
 * seed: options → environment → configuration → desired providers. Warnings
 * go to the host's logger and are kept for the result.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { type Logger, noopLogger } from "./logger.ts";
import { providersFromConfig } from "./providers_from_config.ts";
import { readAIBridgeConfig } from "./read_config.ts";
import type { SeedWarning } from "./report.ts";
import { type EnvRecord, runtimeEnv } from "./runtime_env.ts";
import type { AIBridgeConfig, DesiredAIProvider } from "./types.ts";

/** Where the configuration comes from: the inputs the plan and the seed share. */
export interface ConfigSource {
  /** The environment to read; default the runtime's own, read at call time. */
  env?: EnvRecord;
  /** A ready configuration that replaces reading `env`. */
  config?: AIBridgeConfig;
  /** Variable prefixes, original first. */
  prefixes?: readonly [string] | readonly [string, string];
  /** Receives log lines. */
  logger?: Logger;
  /** Every configuration warning is a problem of a `ConfigError` instead. */
  strict?: boolean;
}

/** The desired providers, the logger that records warnings, and the warnings. */
export interface Desired {
  /** Sorted by name. */
  providers: DesiredAIProvider[];
  /** The host's logger, recording warnings into `warnings`. */
  logger: Logger;
  /** Configuration warnings, in order. */
  warnings: SeedWarning[];
  /** The environment read (empty when `config` was given). */
  env: EnvRecord;
  /** The first variable prefix, for messages. */
  prefix: string;
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

/** A warning as one problem line: its message and its fields (names and counts, never a value). */
function warningProblem(warning: SeedWarning): string {
  const fields = Object.entries(warning.fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return fields.length === 0 ? warning.msg : `${warning.msg} (${fields.join(", ")})`;
}

/**
 * Reads the configuration (unless given) and normalises it. With `strict`,
 * unknown and misspelled variables are problems of the reader, and any
 * warning normalisation raises (a ready configuration's unsupported type,
 * dropped keys) is one too: nothing is sent.
 *
 * @throws {ConfigError} when the configuration is invalid.
 */
export async function desiredProviders(source: ConfigSource): Promise<Desired> {
  const warnings: SeedWarning[] = [];
  const strict = source.strict === true;
  const logger = recordingLogger(source.logger ?? noopLogger, warnings);
  // Under strict a configuration warning is recorded but not logged: it is
  // about to be an error. (recordingLogger's levels are own properties.)
  const reading: Logger = strict ? { ...logger, warn: (msg, fields) => void warnings.push({ msg, fields: fields ?? {} }) } : logger;
  const env = source.config === undefined ? source.env ?? runtimeEnv() : {};
  const config = source.config ?? readAIBridgeConfig(env, { logger: reading, prefixes: source.prefixes, strict });
  const providers = await providersFromConfig(config, reading);
  if (strict && warnings.length > 0) throw new ConfigError(warnings.map(warningProblem));
  return { providers, logger, warnings, env, prefix: (source.prefixes ?? ["CODER_AIBRIDGE_"])[0] };
}
