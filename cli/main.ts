#!/usr/bin/env node
/**
 * The `aibridge-seed` command: `plan`, `check`, `apply`, `schema`, `encryption`, … (`aibridge-seed --help`).
 *
 * ```sh
 * npx @aibridge/seed check --json
 * deno run --allow-env --allow-net --allow-read jsr:@aibridge/seed/cli plan
 * bunx @aibridge/seed apply --lock-timeout 10s
 * ```
 *
 * This file only wires {@link runCli} to the real process; everything else
 * lives in `cli/mod.ts`, importable without side effects as `@aibridge/seed/run-cli`.
 *
 * @module
 */
import process from "node:process";
import { SeedError } from "../lib/errors.ts";
import { type EnvRecord, runtimeEnv } from "../lib/runtime_env.ts";
import { runCli } from "./mod.ts";

let env: EnvRecord = {};
let envError: SeedError | undefined;
try {
  env = runtimeEnv();
} catch (err) {
  // Deno without --allow-env. runCli reports it as any other error: one
  // line on stderr, and with --json the error document on stdout; --help,
  // --version and schema --print work without the environment.
  envError = new SeedError(
    "env_unreadable",
    "cannot read the environment; run Deno with --allow-env --allow-net (and --allow-read for --dotenv and *_FILE variables)",
    { cause: err },
  );
}
// exitCode rather than exit(): stdout may be a pipe that is still flushing.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env,
  envError,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
});
