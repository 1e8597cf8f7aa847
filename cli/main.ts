#!/usr/bin/env node
/**
 * The `aibridge-seed` command: `plan`, `check`, `apply` and `schema`.
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
import { type EnvRecord, runtimeEnv } from "../lib/runtime_env.ts";
import { runCli } from "./mod.ts";

let env: EnvRecord | null = null;
try {
  env = runtimeEnv();
} catch {
  // Deno without --allow-env: one line, no stack trace.
  process.stderr.write(
    "error: cannot read the environment; run Deno with --allow-env --allow-net (and --allow-read for --env-file and *_FILE variables)\n",
  );
  process.exitCode = 1;
}
if (env !== null) {
  // exitCode rather than exit(): stdout may be a pipe that is still flushing.
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env,
    isTTY: process.stdout.isTTY === true,
  });
}
