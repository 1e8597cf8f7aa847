// Runs a TypeScript file as a separate OS process on the runtime the suite
// itself runs on (Node through tsx, Deno or Bun).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The command that runs `script` (a path) on the current runtime. */
export function runtimeCommand(script: string): [string, string[]] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return [process.execPath, ["run", "-A", script]];
  if (g.Bun !== undefined) return [process.execPath, [script]];
  return [process.execPath, ["--import", "tsx", script]];
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
export function runScript(script: string, env: Record<string, string>, args: string[] = []): Promise<ChildResult> {
  const [cmd, baseArgs] = runtimeCommand(script);
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
