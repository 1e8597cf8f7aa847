// Child processes for the suite and its scripts: spawn a command and
// collect its output (spawnCapture), or keep it running and watch its output
// (spawnProcess); and run a TypeScript file as a separate OS process on the
// runtime the suite itself runs on (Node through tsx, Deno or Bun).
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

/** The outcome of a child process. */
export interface ChildResult {
  /** Its exit code; 1 when a signal ended it. */
  code: number;
  stdout: string;
  stderr: string;
  /** The signal that ended it, if one did. */
  signal?: string | null;
  /** Whether `timeoutMs` ran out and it was killed. */
  timedOut?: boolean;
}

/** Options of {@link spawnCapture} and {@link spawnProcess}. */
export interface SpawnOptions {
  /** The child's whole environment (not added to ours); default this process's. */
  env?: Record<string, string | undefined>;
  /** Its working folder; default ours. */
  cwd?: string;
  /** Written to its stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Kills it (SIGKILL) when it runs longer; the result then says `timedOut`. */
  timeoutMs?: number;
  /** Called as output arrives, with all of stdout so far. */
  onStdout?: (stdout: string) => void;
  /** Called as output arrives, with all of stderr so far. */
  onStderr?: (stderr: string) => void;
}

/** A running child. */
export interface SpawnedProcess {
  /** Its process id (undefined when it could not start). */
  pid: number | undefined;
  /** Its stdout so far. */
  stdout(): string;
  /** Its stderr so far. */
  stderr(): string;
  /** Settles when it has exited and its output is closed; rejects when it could not start. */
  result: Promise<ChildResult>;
  /** Sends it a signal (default SIGTERM) unless it has exited. */
  kill(signal?: NodeJS.Signals): void;
}

function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Starts `cmd` with `args` and collects its output as it runs. */
export function spawnProcess(cmd: string, args: string[], options: SpawnOptions = {}): SpawnedProcess {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    env: definedEnv(options.env ?? process.env),
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  let exited = false;
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    stdout += d;
    options.onStdout?.(stdout);
  });
  child.stderr!.on("data", (d: string) => {
    stderr += d;
    options.onStderr?.(stderr);
  });
  if (options.input !== undefined) {
    child.stdin!.on("error", () => {}); // a child that exits without reading it
    child.stdin!.end(options.input);
  }
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.on("exit", () => (exited = true));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, signal) => {
      exited = true;
      clearTimeout(timer);
      if (timedOut) stderr += `\n[killed after ${options.timeoutMs} ms]`;
      resolve({ code: code ?? 1, stdout, stderr, signal, timedOut });
    });
  });
  return {
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    result,
    kill(signal = "SIGTERM") {
      if (!exited) child.kill(signal);
    },
  };
}

/** Runs `cmd` with `args` to its end and returns its exit code and output. */
export function spawnCapture(cmd: string, args: string[], options: SpawnOptions = {}): Promise<ChildResult> {
  return spawnProcess(cmd, args, options).result;
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

/** Runs `script` with `env` added to the environment, and collects its output. */
export function runScript(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  options: RunOptions = {},
): Promise<ChildResult> {
  const [cmd, baseArgs] = runtimeCommand(script, options);
  return spawnCapture(cmd, [...baseArgs, ...args], { env: { ...process.env, ...env } });
}
