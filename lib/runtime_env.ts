/**
 * The one place that knows which runtime it runs on: reading the process
 * environment differs between Deno, Bun and Node.
 *
 * @module
 */
import { SeedError } from "./errors.ts";

/** A plain environment record. */
export type EnvRecord = Record<string, string | undefined>;

interface RuntimeGlobals {
  Deno?: { env: { toObject(): Record<string, string> } };
  Bun?: { env: Record<string, string | undefined> };
  process?: { env: Record<string, string | undefined> };
}

/**
 * Reads the current process environment, detected at call time:
 * `Deno.env.toObject()`, `Bun.env` or `process.env`. Returns a copy.
 *
 * @returns The environment.
 * @throws {SeedError} `env_unreadable` when Deno runs without `--allow-env`.
 */
export function runtimeEnv(): EnvRecord {
  const g = globalThis as unknown as RuntimeGlobals;
  if (g.Deno !== undefined) {
    try {
      return g.Deno.env.toObject();
    } catch (err) {
      throw new SeedError(
        "env_unreadable",
        "cannot read the environment: run Deno with --allow-env, or pass the variables as options.env",
        { cause: err },
      );
    }
  }
  if (g.Bun !== undefined) return { ...g.Bun.env };
  if (g.process !== undefined) return { ...g.process.env };
  return {};
}
