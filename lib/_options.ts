/**
 * Internal. Checks the numeric and naming options shared by the seed, the
 * plan and `applySchema`, and fills in their defaults.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS, SEED_APPLICATION_NAME } from "./types.ts";

/** The checked lock and deadline options. */
export interface CheckedOptions {
  /** 0 waits forever. */
  lockTimeoutMs: number;
  /** 0 for no deadline. */
  timeoutMs: number;
  /** `null` keeps the connection's. */
  applicationName: string | null;
}

function checkMs(name: string, value: number, problems: string[]): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    problems.push(`${name} must be a whole number of milliseconds from 0 (no limit) to ${MAX_TIMEOUT_MS}, got ${value}`);
  }
}

/**
 * Checks `lockTimeoutMs`, `timeoutMs` and `applicationName`.
 *
 * @throws {ConfigError} naming each option that is out of range.
 */
export function lockOptions(
  options: { lockTimeoutMs?: number; timeoutMs?: number; applicationName?: string | null },
): CheckedOptions {
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const problems: string[] = [];
  checkMs("lockTimeoutMs", lockTimeoutMs, problems);
  checkMs("timeoutMs", timeoutMs, problems);
  const applicationName = options.applicationName === undefined ? SEED_APPLICATION_NAME : options.applicationName;
  if (
    applicationName !== null &&
    (typeof applicationName !== "string" || applicationName.length > 63 || [...applicationName].some((c) => c < " "))
  ) {
    problems.push("applicationName must be a string of at most 63 characters without control characters, or null");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { lockTimeoutMs, timeoutMs, applicationName };
}
