// Runs a TypeScript file as a separate OS process on the runtime the suite
// itself runs on (Node through tsx, Deno or Bun).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The runtime this process runs on. */
export type RuntimeName = "deno" | "bun" | "node";

/** Detects the runtime this process runs on. */
export function currentRuntime(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** Options of {@link runScript}. */
export interface RunOptions {
  /**
   * Deno's permission flags for the child, default `["-A"]`. Node and Bun
   * have no permission system and ignore this.
   */
  denoPermissions?: string[];
  /** The runtime the child runs on; default the suite's own. */
  runtime?: RuntimeName;
}

// The deno binary: this process itself on Deno, else the one npm installed.
function denoBinary(): string {
  return currentRuntime() === "deno" ? process.execPath : fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
}

/** The command that runs `script` (a path) on the current runtime, or on `options.runtime`. */
export function runtimeCommand(script: string, options: RunOptions = {}): [string, string[]] {
  const runtime = options.runtime ?? currentRuntime();
  if (runtime !== currentRuntime() && runtime !== "deno") throw new Error(`cannot start ${runtime} from ${currentRuntime()}`);
  switch (runtime) {
    case "deno":
      return [denoBinary(), ["run", "--no-prompt", ...(options.denoPermissions ?? ["-A"]), script]];
    case "bun":
      return [process.execPath, [script]];
    case "node":
      return [process.execPath, ["--import", "tsx", script]];
  }
}

/** Resolves a path relative to the tests folder. */
export function testPath(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

/** The outcome of a child process. */
export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `script` with `env` added to the environment, and collects its output. */
export function runScript(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  options: RunOptions = {},
): Promise<ChildResult> {
  const [cmd, baseArgs] = runtimeCommand(script, options);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...baseArgs, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
