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
import { createInterface } from "node:readline";
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
// adopt and restore ask before they write, on a terminal only: the
// question goes to stderr (stdout may be a --json document), the answer
// comes from stdin; anything but y or yes is no.
function confirm(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let answer = "";
    let answered = false;
    // Closed without an answer (end of input, Ctrl-D): no.
    rl.on("close", () => {
      if (!answered) process.stderr.write("\n");
      resolve(answered && /^y(es)?$/i.test(answer));
    });
    rl.question(question, (text) => {
      answer = text.trim();
      answered = true;
      rl.close();
    });
  });
}

// exitCode rather than exit(): stdout may be a pipe that is still flushing.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env,
  envError,
  isTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
  confirm: process.stdin.isTTY === true ? confirm : undefined,
});
