/**
 * The one place that knows which runtime it runs on: reading the process
 * environment and reading a file differ between Deno, Bun and Node.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { SeedError } from "./errors.ts";

/** A plain environment record. */
export type EnvRecord = Record<string, string | undefined>;

interface RuntimeGlobals {
  Deno?: { env: { toObject(): Record<string, string> }; readTextFileSync(path: string): string };
  Bun?: { env: Record<string, string | undefined> };
  process?: { env: Record<string, string | undefined> };
}

/**
 * Reads the current process environment, detected at call time:
 * `Deno.env.toObject()`, `Bun.env` or `process.env`. Returns a copy.
 *
 * @example
 * ```ts
 * import { runtimeEnv } from "@aibridge/seed";
 * import assert from "node:assert/strict";
 * const env = runtimeEnv();
 * assert.equal(typeof env, "object");
 * ```
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

/**
 * Internal (not exported from `mod.ts`; the CLI and the config reader use it).
 * Reads a UTF-8 text file: `Deno.readTextFileSync` on Deno (which needs
 * `--allow-read`, asked for only when a file is actually read), `node:fs`
 * on Node and Bun. Synchronous, because reading the configuration is.
 *
 * The error thrown says why in a few words (`file not found`, `permission
 * denied`, …) and never carries the file's content: these files hold secrets.
 *
 * @param path The file's path, relative to the working directory or absolute.
 * @returns The file's content.
 * @throws {Error} with a short reason when the file cannot be read.
 */
export function readTextFile(path: string): string {
  const g = globalThis as unknown as RuntimeGlobals;
  try {
    if (g.Deno !== undefined) return g.Deno.readTextFileSync(path);
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(readFailure(err));
  }
}

// Node reports a `code` (ENOENT …), Deno an error class name (NotFound …).
function readFailure(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  switch (typeof e?.code === "string" ? e.code : typeof e?.name === "string" ? e.name : "") {
    case "ENOENT":
    case "NotFound":
      return "file not found";
    case "EACCES":
    case "EPERM":
    case "PermissionDenied":
      return "permission denied";
    case "NotCapable":
      return "Deno needs --allow-read to read it";
    case "EISDIR":
    case "IsADirectory":
      return "it is a directory, not a file";
    default:
      return "the file cannot be read";
  }
}
